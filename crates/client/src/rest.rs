//! [`RestClient`]: the Server REST API (SPEC §5) for rooms, tokens and live state.
//!
//! An app's backend uses it with its `app_id:app_key` (HTTP Basic auth) to create rooms and
//! mint the tokens that clients pass to [`crate::connect`]. Every call is one HTTP request; a
//! non-2xx answer becomes [`RestError::Api`] with the server's `{result, msg}`.
//! `https://` trusts the system's roots, or those of a [`crate::Tls`] ([`RestClient::with_tls`]).

use alcove_proto::api::{
    BreakoutRoomsResponse, CreateRoomRequest, CreateTokenRequest, ErrorResponse,
    Room as RoomRecord, RoomListResponse, RoomResponse, TokenResponse, UsersResponse,
};
use alcove_proto::ids::RoomId;
use alcove_proto::signal::{BreakoutRoomInfo, UserInfo};
use alcove_proto::ErrorCode;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The server answered with a non-2xx status (or a non-zero `result`).
    #[error("api error {status}: {msg} ({result})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error code (see [`alcove_proto::ErrorCode`]); −1 when the body was not
        /// an `{result, msg}` object (e.g. a proxy's error page).
        result: i32,
        /// The server's text, or the raw body when it was not `{result, msg}`.
        msg: String,
    },
    /// The request did not get an answer (connection refused, bad URL, undecodable body).
    #[error("transport error: {0}")]
    Transport(String),
}

impl RestError {
    /// The server's error code as a typed [`ErrorCode`], when it is one this build knows.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            RestError::Api { result, .. } => ErrorCode::from_code(*result),
            RestError::Transport(_) => None,
        }
    }
}

/// A client for the Server REST API, authenticated as one app. Cheap to clone.
#[derive(Clone)]
pub struct RestClient {
    /// The server's base URL without `/v1` and without a trailing slash.
    base_url: String,
    /// HTTP Basic user name.
    app_id: String,
    /// HTTP Basic password; never logged or printed.
    app_key: String,
    /// Pooled HTTP connections.
    http: reqwest::Client,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:7880`; a trailing `/` or
    /// `/v1` is tolerated), authenticating as `app_id:app_key`.
    pub fn new(base_url: &str, app_id: &str, app_key: &str) -> Self {
        let mut base = base_url.trim_end_matches('/');
        base = base.strip_suffix("/v1").unwrap_or(base);
        RestClient {
            base_url: base.to_owned(),
            app_id: app_id.to_owned(),
            app_key: app_key.to_owned(),
            // Invariant: reqwest builds a client around a ready rustls configuration (it reads
            // no other system state on build).
            http: crate::tls::Tls::system()
                .http_client()
                .expect("an HTTP client with a preconfigured TLS builds"),
        }
    }

    /// [`RestClient::new`] trusting the roots of `tls` for `https://` (a private CA, a
    /// self-signed development certificate).
    pub fn with_tls(
        base_url: &str,
        app_id: &str,
        app_key: &str,
        tls: &crate::tls::Tls,
    ) -> Result<Self, crate::tls::TlsError> {
        let mut c = RestClient::new(base_url, app_id, app_key);
        c.http = tls.http_client()?;
        Ok(c)
    }

    /// The server's base URL, as normalised by [`RestClient::new`].
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The signalling URL of the same server, for [`crate::connect`]:
    /// `http://h:p` → `ws://h:p/v1/signal` (`https` → `wss`).
    pub fn signal_url(&self) -> String {
        signal_url(&self.base_url)
    }

    /// `POST /v1/rooms`: creates a parent room.
    pub async fn create_room(&self, req: &CreateRoomRequest) -> Result<RoomRecord, RestError> {
        let res: RoomResponse = self.send(Method::POST, &["rooms"], Some(req)).await?;
        Ok(res.room)
    }

    /// `GET /v1/rooms`: the app's rooms, oldest first.
    pub async fn list_rooms(&self) -> Result<Vec<RoomRecord>, RestError> {
        let res: RoomListResponse = self.send(Method::GET, &["rooms"], None::<&()>).await?;
        Ok(res.rooms)
    }

    /// `GET /v1/rooms/{room_id}`.
    pub async fn get_room(&self, room_id: &RoomId) -> Result<RoomRecord, RestError> {
        let path = ["rooms", room_id.as_str()];
        let res: RoomResponse = self.send(Method::GET, &path, None::<&()>).await?;
        Ok(res.room)
    }

    /// `DELETE /v1/rooms/{room_id}`: deletes the room and ends its live family (connected
    /// clients get `roomDisconnected`).
    pub async fn delete_room(&self, room_id: &RoomId) -> Result<(), RestError> {
        let path = ["rooms", room_id.as_str()];
        let _: ErrorResponse = self.send(Method::DELETE, &path, None::<&()>).await?;
        Ok(())
    }

    /// `POST /v1/rooms/{room_id}/tokens`: mints a single-use token for [`crate::connect`].
    pub async fn create_token(
        &self,
        room_id: &RoomId,
        req: &CreateTokenRequest,
    ) -> Result<TokenResponse, RestError> {
        self.send(
            Method::POST,
            &["rooms", room_id.as_str(), "tokens"],
            Some(req),
        )
        .await
    }

    /// `GET /v1/rooms/{room_id}/users`: who is connected, and where.
    pub async fn users(&self, room_id: &RoomId) -> Result<Vec<UserInfo>, RestError> {
        let path = ["rooms", room_id.as_str(), "users"];
        let res: UsersResponse = self.send(Method::GET, &path, None::<&()>).await?;
        Ok(res.users)
    }

    /// `GET /v1/rooms/{room_id}/breakout-rooms`: live break-out rooms with members and pending
    /// invitations.
    pub async fn breakout_rooms(
        &self,
        room_id: &RoomId,
    ) -> Result<Vec<BreakoutRoomInfo>, RestError> {
        let path = ["rooms", room_id.as_str(), "breakout-rooms"];
        let res: BreakoutRoomsResponse = self.send(Method::GET, &path, None::<&()>).await?;
        Ok(res.breakout_rooms)
    }

    /// `base_url/v1/<segments…>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<Url, RestError> {
        let mut url = Url::parse(&self.base_url)
            .map_err(|e| RestError::Transport(format!("bad base url: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| RestError::Transport("bad base url: cannot hold a path".into()))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        Ok(url)
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, RestError> {
        let url = self.url(segments)?;
        tracing::debug!(%method, path = url.path(), "rest request");
        let mut req = self
            .http
            .request(method, url)
            .basic_auth(&self.app_id, Some(&self.app_key));
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| RestError::Transport(e.to_string()))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| RestError::Transport(e.to_string()))?;
        decode(status, &bytes)
    }
}

/// Turns an HTTP answer into the expected body or a [`RestError`].
fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, RestError> {
    if !status.is_success() {
        return Err(match serde_json::from_slice::<ErrorResponse>(body) {
            Ok(e) => RestError::Api {
                status: status.as_u16(),
                result: e.result,
                msg: e.msg,
            },
            Err(_) => RestError::Api {
                status: status.as_u16(),
                result: -1,
                msg: String::from_utf8_lossy(body).into_owned(),
            },
        });
    }
    // A 2xx that still says `result != 0` is an error too.
    if let Ok(e) = serde_json::from_slice::<ErrorResponse>(body) {
        if e.result != 0 {
            return Err(RestError::Api {
                status: status.as_u16(),
                result: e.result,
                msg: e.msg,
            });
        }
    }
    serde_json::from_slice(body)
        .map_err(|e| RestError::Transport(format!("undecodable response body: {e}")))
}

/// The signalling URL for a server base URL: `http://h:p` → `ws://h:p/v1/signal`,
/// `https://…` → `wss://…`; a trailing `/` or `/v1` is tolerated.
pub fn signal_url(base_url: &str) -> String {
    let mut base = base_url.trim_end_matches('/');
    base = base.strip_suffix("/v1").unwrap_or(base);
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{ws}/v1/signal")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::Role;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn base_url_is_normalised_and_paths_are_encoded() {
        for base in [
            "http://h:1",
            "http://h:1/",
            "http://h:1/v1",
            "http://h:1/v1/",
        ] {
            let c = RestClient::new(base, "a", "k");
            assert_eq!(c.base_url(), "http://h:1");
            let url = c.url(&["rooms", "r 1/x", "users"]).unwrap();
            assert_eq!(url.as_str(), "http://h:1/v1/rooms/r%201%2Fx/users");
        }
    }

    #[test]
    fn signal_url_follows_the_scheme() {
        assert_eq!(
            signal_url("http://127.0.0.1:7880"),
            "ws://127.0.0.1:7880/v1/signal"
        );
        assert_eq!(
            signal_url("https://alcove.example/v1/"),
            "wss://alcove.example/v1/signal"
        );
        assert_eq!(
            RestClient::new("http://h:1/", "a", "k").signal_url(),
            "ws://h:1/v1/signal"
        );
    }

    #[test]
    fn error_bodies_become_api_errors() {
        let body = br#"{"result":4404,"msg":"Not found"}"#;
        let err = decode::<RoomResponse>(StatusCode::NOT_FOUND, body).unwrap_err();
        assert_eq!(
            err,
            RestError::Api {
                status: 404,
                result: 4404,
                msg: "Not found".into()
            }
        );
        assert_eq!(err.code(), Some(ErrorCode::NotFound));

        let err = decode::<RoomResponse>(StatusCode::BAD_GATEWAY, b"<html>").unwrap_err();
        assert_eq!(
            err,
            RestError::Api {
                status: 502,
                result: -1,
                msg: "<html>".into()
            }
        );

        let err = decode::<ErrorResponse>(StatusCode::OK, br#"{"result":1138,"msg":"x"}"#);
        assert!(matches!(
            err,
            Err(RestError::Api {
                status: 200,
                result: 1138,
                ..
            })
        ));

        let ok = decode::<ErrorResponse>(StatusCode::OK, br#"{"result":0,"msg":"deleted"}"#);
        assert_eq!(ok.unwrap().msg, "deleted");

        let err = decode::<TokenResponse>(StatusCode::OK, br#"{"result":0}"#).unwrap_err();
        assert!(matches!(err, RestError::Transport(_)));
    }

    fn json_response(status: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// Serves one HTTP request on 127.0.0.1:0 with `response`, and hands back what it received.
    async fn one_shot_server(response: String) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            loop {
                let n = tcp.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= head_end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            tcp.write_all(response.as_bytes()).await.unwrap();
            tcp.shutdown().await.unwrap();
            String::from_utf8_lossy(&buf).to_string()
        });
        (format!("http://{addr}"), task)
    }

    #[tokio::test]
    async fn create_token_posts_json_with_basic_auth() {
        let body = r#"{"result":0,"token":"t0k","expires_at":1700000000}"#;
        let (base, server) = one_shot_server(json_response("200 OK", body)).await;
        let client = RestClient::new(&base, "app", "key");
        let req = CreateTokenRequest {
            name: "Ada".into(),
            role: Role::Moderator,
            user_ref: "u-1".into(),
            data: serde_json::json!({}),
        };
        let token = client.create_token(&"r-1".into(), &req).await.unwrap();
        assert_eq!(token.token, "t0k");
        let seen = server.await.unwrap();
        assert!(
            seen.starts_with("POST /v1/rooms/r-1/tokens HTTP/1.1\r\n"),
            "{seen}"
        );
        // base64("app:key")
        assert!(
            seen.to_ascii_lowercase()
                .contains("authorization: basic yxbwomtleq=="),
            "{seen}"
        );
        assert!(seen.contains(r#""role":"moderator""#), "{seen}");
    }

    #[tokio::test]
    async fn not_found_is_an_api_error() {
        let body = r#"{"result":4404,"msg":"Not found"}"#;
        let (base, _server) = one_shot_server(json_response("404 Not Found", body)).await;
        let err = RestClient::new(&base, "app", "key")
            .get_room(&"nope".into())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            RestError::Api {
                status: 404,
                result: 4404,
                msg: "Not found".into()
            }
        );
    }

    #[tokio::test]
    async fn refused_connection_is_a_transport_error() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = RestClient::new(&format!("http://{addr}"), "a", "k")
            .list_rooms()
            .await;
        assert!(matches!(err, Err(RestError::Transport(_))));
    }
}

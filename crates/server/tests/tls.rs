//! TLS on the HTTP port (`--tls-cert`, `--tls-key`): a test CA signs a certificate for
//! 127.0.0.1; REST over HTTPS with Basic auth, signalling over WSS, one break-out flow; plain
//! HTTP and clients that do not trust the CA are refused; shutdown still ends the families.
//!
//! HTTPS requests are written by hand over tokio-rustls (HTTP/1.1, `Connection: close`):
//! reqwest's rustls features would either bring in ring as a second crypto provider or, with
//! no provider, make every `reqwest::Client::new()` of these test builds panic.

use alcove_proto::signal::ServerFrame;
use alcove_server::{start, Config};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

type Wss = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// A test CA and, signed by it, a certificate for 127.0.0.1 and localhost: (CA in DER,
/// leaf certificate PEM, leaf key PEM).
fn test_pki() -> (CertificateDer<'static>, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Alcove test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    (ca.der().clone(), leaf.pem(), leaf_key.serialize_pem())
}

fn connector(trusted: Option<CertificateDer<'static>>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    if let Some(ca) = trusted {
        roots.add(ca).unwrap();
    }
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn tls(
    tls: &TlsConnector,
    addr: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    tls.connect(name, tcp).await
}

/// One HTTPS request; returns the status and the JSON body.
async fn https(
    c: &TlsConnector,
    addr: SocketAddr,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut s = tls(c, addr).await.expect("TLS handshake");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // The server may end the TLS session without close_notify after the response.
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head[9..12].parse().expect("a status code");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn send(ws: &mut Wss, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

async fn recv(ws: &mut Wss) -> ServerFrame {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(t))) => return ServerFrame::decode(&t).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// The next frame of type `ty` (skipping presence notifications).
async fn recv_type(ws: &mut Wss, ty: &str) -> ServerFrame {
    loop {
        let f = recv(ws).await;
        if f.msg.type_name() == ty {
            return f;
        }
    }
}

async fn wss(c: &TlsConnector, addr: SocketAddr, token: &str) -> Wss {
    let stream = tls(c, addr).await.expect("TLS handshake");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/v1/signal"), stream)
        .await
        .expect("WebSocket over TLS");
    send(
        &mut ws,
        json!({"type":"connect","id":0,"token":token,"versions":[1]}),
    )
    .await;
    assert_eq!(recv(&mut ws).await.msg.type_name(), "roomConnected");
    ws
}

#[tokio::test]
async fn rest_and_signalling_run_over_tls_with_a_break_out_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert_pem, key_pem) = test_pki();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.udp_listen = None;
    config.tls = Some((cert, key));
    let running = start(config).await.expect("server starts");
    let addr = running.addr;
    assert!(running.http_url().starts_with("https://"));
    assert!(running.signal_url().starts_with("wss://"));
    let creds = running.credentials.clone().unwrap();
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.app_id, creds.app_key));
    let c = connector(Some(ca));

    // REST over HTTPS, with Basic auth checked as over HTTP.
    let (status, _) = https(&c, addr, "ZGV2Ondyb25n", "GET", "/v1/rooms", None).await;
    assert_eq!(status, 401, "a wrong key is refused");
    let (status, room) = https(
        &c,
        addr,
        &auth,
        "POST",
        "/v1/rooms",
        Some(json!({"name":"tls","owner_ref":"t","settings":{}})),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["room"]["room_id"].as_str().unwrap().to_owned();
    let mut tokens = Vec::new();
    for (name, role) in [("Mo", "moderator"), ("Pat", "participant")] {
        let (status, t) = https(
            &c,
            addr,
            &auth,
            "POST",
            &format!("/v1/rooms/{room_id}/tokens"),
            Some(json!({"name":name,"role":role,"user_ref":name})),
        )
        .await;
        assert_eq!(status, 201, "{t}");
        tokens.push(t["token"].as_str().unwrap().to_owned());
    }

    // Signalling over WSS: create a break-out room, invite, join.
    let mut mo = wss(&c, addr, &tokens[0]).await;
    let mut pat = wss(&c, addr, &tokens[1]).await;
    send(&mut mo, json!({"type":"createBreakOutRoom","id":1,"participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":1})).await;
    let ack = recv_type(&mut mo, "ackCreateBreakOutRoom").await;
    assert_eq!(ack.msg.result(), Some(0));
    let (_, brs) = https(
        &c,
        addr,
        &auth,
        "GET",
        &format!("/v1/rooms/{room_id}/breakout-rooms"),
        None,
    )
    .await;
    let br = brs["breakout_rooms"][0]["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, users) = https(
        &c,
        addr,
        &auth,
        "GET",
        &format!("/v1/rooms/{room_id}/users"),
        None,
    )
    .await;
    let pat_id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Pat")
        .expect("Pat is connected")["clientId"]
        .clone();
    send(
        &mut mo,
        json!({"type":"inviteToBreakOutRoom","id":2,"clients":[pat_id],"room_id":br}),
    )
    .await;
    assert_eq!(
        recv_type(&mut mo, "ackInviteBreakOutRoom")
            .await
            .msg
            .result(),
        Some(0)
    );
    recv_type(&mut pat, "invitationForBreakoutRoom").await;
    send(&mut pat, json!({"type":"joinBreakoutRoom","id":1,"role":"participant","room_id":br,"stream_info":{"audio":true,"video":false}})).await;
    assert_eq!(
        recv_type(&mut pat, "connectedBreakoutRoom")
            .await
            .msg
            .result(),
        Some(0)
    );

    // Everything on the port is TLS: plain HTTP gets no HTTP answer.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut raw)).await;
    assert!(!raw.starts_with(b"HTTP/"), "plain HTTP answered");
    // A client that does not trust the CA cannot connect.
    assert!(tls(&connector(None), addr).await.is_err());

    // Shutdown ends the family over TLS too.
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("stops in time")
        .unwrap();
    assert_eq!(
        recv_type(&mut pat, "roomDisconnected").await.msg.result(),
        Some(4107)
    );
}

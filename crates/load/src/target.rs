//! The server under load: its URL, the app credentials, where clients bind, and (when it runs
//! on this machine) its process for CPU and memory readings.

use crate::procfs;
use alcove_client::proto::api::{CreateRoomRequest, RoomSettingsInput};
use alcove_client::proto::RoomId;
use alcove_client::RestClient;
use anyhow::Context;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Everything a scenario needs to reach the server.
#[derive(Debug, Clone)]
pub struct Target {
    /// REST client authenticated as the app.
    pub rest: RestClient,
    /// `ws://…/v1/signal`.
    pub signal_url: String,
    /// IP the clients' UDP sockets bind to (their ICE host candidate).
    pub bind_ip: IpAddr,
    /// The server's process, when known: CPU and RSS are read from `/proc/<pid>`.
    pub server_pid: Option<u32>,
    /// At most this many clients connect at the same time.
    pub connect_concurrency: usize,
}

impl Target {
    /// A target at `url` (e.g. `http://127.0.0.1:7880`) as app `app_id:app_key`; clients bind
    /// to 127.0.0.1; no server process.
    pub fn new(url: &str, app_id: &str, app_key: &str) -> Target {
        let rest = RestClient::new(url, app_id, app_key);
        Target {
            signal_url: rest.signal_url(),
            rest,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            server_pid: None,
            connect_concurrency: 8,
        }
    }

    /// Looks for the `alcove` process listening on the URL's port (see [`procfs::find_server`])
    /// and remembers it; returns it.
    pub fn find_server_pid(&mut self) -> Option<u32> {
        let port = url_port(self.rest.base_url())?;
        self.server_pid = procfs::find_server(port);
        self.server_pid
    }

    /// Creates a parent room with `settings` (a fresh one per run, so runs never interfere).
    pub async fn create_room(
        &self,
        name: &str,
        settings: RoomSettingsInput,
    ) -> anyhow::Result<RoomId> {
        let req = CreateRoomRequest {
            name: name.into(),
            owner_ref: "alcove-load".into(),
            settings,
            data: serde_json::Value::Null,
        };
        let room = self
            .rest
            .create_room(&req)
            .await
            .context("creating the parent room (REST)")?;
        Ok(room.room_id)
    }
}

/// `app_id` and `app_key` from `<dir>/dev-credentials.json` (written by `alcove serve`).
pub fn read_dev_credentials(dir: &Path) -> anyhow::Result<(String, String)> {
    let path = dir.join("dev-credentials.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (or give --app-id/--app-key)", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .with_context(|| format!("{} has no {k}", path.display()))
    };
    Ok((field("app_id")?, field("app_key")?))
}

/// The port of an `http://host:port` URL (80 without one).
fn url_port(url: &str) -> Option<u16> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((_, p)) if !p.ends_with(']') => p.parse().ok(),
        _ => Some(80),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_from_url() {
        assert_eq!(url_port("http://127.0.0.1:7880"), Some(7880));
        assert_eq!(url_port("http://[::1]:9000/v1"), Some(9000));
        assert_eq!(url_port("http://example.org"), Some(80));
        assert_eq!(url_port("ws://x:1"), None);
    }

    #[test]
    fn dev_credentials_are_read() {
        let dir = std::env::temp_dir().join(format!("alcove-load-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dev-credentials.json"),
            r#"{"app_id":"dev","app_key":"k3y"}"#,
        )
        .unwrap();
        assert_eq!(
            read_dev_credentials(&dir).unwrap(),
            ("dev".to_owned(), "k3y".to_owned())
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read_dev_credentials(&dir).is_err());
    }
}

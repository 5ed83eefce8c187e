//! No ICE password in the logs at any level: at `trace`, str0m's ICE agent (target `is`) prints
//! its credentials, password included, in its events. Under the `alcove` binary's filter
//! (`cli::log_filter`, here at `ALCOVE_LOG=trace`) none of those lines gets through, while a
//! second capture of the same run without that filter shows the passwords were there to leak.
//!
//! The global subscriber can be set once per process, so this file holds one test.

mod common;

use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::Role;
use common::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// A log sink in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every `pass: "…"` value in `text` (the `Debug` of str0m's `IceCreds`).
fn passwords(text: &str) -> Vec<String> {
    text.split("pass: \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|p| p.len() >= 16)
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ice_passwords_are_not_logged_at_trace() {
    let (filtered, raw) = (Captured::default(), Captured::default());
    let (f, r) = (filtered.clone(), raw.clone());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || f.clone())
                .with_filter(alcove_server::cli::log_filter(Some("trace"))),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || r.clone())
                .with_filter(EnvFilter::new("is=trace")),
        )
        .init();

    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut medias = Vec::new();
    let mut rooms = Vec::new();
    for (name, role) in [("Ada", Role::Moderator), ("Bob", Role::Participant)] {
        let token = s.token(&room, name, role).await;
        let (r, _events) = alcove_client::connect(&s.running.signal_url(), &token)
            .await
            .expect("connects");
        let mut media = r
            .start_media(std::net::Ipv4Addr::LOCALHOST.into(), None)
            .await
            .expect("sdp negotiated");
        assert!(
            media.wait_connected(Duration::from_secs(30)).await,
            "ICE and DTLS"
        );
        medias.push(media);
        rooms.push(r);
    }
    for r in rooms {
        r.close().await;
    }
    s.running.stop().await.unwrap();

    let raw = raw.text();
    let filtered = filtered.text();
    let secrets = passwords(&raw);
    assert!(
        !secrets.is_empty(),
        "the unfiltered capture holds ICE passwords (otherwise this test proves nothing)"
    );
    assert!(
        filtered.contains("TRACE"),
        "the filtered capture is at trace"
    );
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|p| filtered.contains(p.as_str()))
        .collect();
    assert!(leaked.is_empty(), "ICE passwords in the log: {leaked:?}");
    assert!(!filtered.contains("IceCreds"), "ICE credentials in the log");
}

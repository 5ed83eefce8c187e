//! STYLE rule 9 through a real server: with every log line captured at TRACE, under the same
//! filter as the `alcove` binary, a full flow (REST with Basic auth, connects, a break-out
//! room, an invitation, a join, media over ICE and DTLS, a bad token, a replayed token, a wrong
//! app key) logs no token, no app key and no signing secret at any level, and no client
//! address and no display name at DEBUG or above.
//!
//! The global subscriber can be set once per process, so this file holds one test.

mod common;

use alcove_client::RestClient;
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{ClientMessage, Role};
use common::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

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

/// Events of the test's own clients (the SDK and its HTTP stack), which run in this process
/// too; they are not the server's logs.
fn server_side(meta: &tracing::Metadata<'_>) -> bool {
    let t = meta.target();
    !["alcove_client", "reqwest", "hyper_util::client"]
        .iter()
        .any(|c| t.starts_with(c))
}

/// Captures everything of the server that the binary's filter lets through at `trace`, and
/// separately what is at `debug` or above.
fn capture() -> (Captured, Captured) {
    let (all, debug) = (Captured::default(), Captured::default());
    let (a, d) = (all.clone(), debug.clone());
    tracing_subscriber::registry()
        .with(alcove_server::cli::log_filter(Some("trace")))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || a.clone())
                .with_filter(filter_fn(server_side)),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || d.clone())
                .with_filter(filter_fn(|m| server_side(m) && *m.level() <= Level::DEBUG)),
        )
        .init();
    (all, debug)
}

const CREATE: &str = r#"{"id":0,"type":"createBreakOutRoom","participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":1}"#;

fn request(json: &str) -> ClientMessage {
    alcove_proto::signal::decode_client_frame(json)
        .expect("a valid request")
        .msg
}

#[tokio::test]
async fn tokens_keys_and_secrets_are_never_logged_nor_addresses_and_names_at_debug() {
    let (all, debug) = capture();
    let s = TestServer::start().await;
    let creds = s.running.credentials.clone().expect("dev credentials");
    let secret = s
        .running
        .state
        .store
        .meta("token_secret")
        .unwrap()
        .expect("a signing secret");
    let room = s.room(RoomSettingsInput::default()).await;

    // A moderator and a participant with distinctive names; a break-out room, an
    // invitation, a join and a leave.
    let mut tokens = Vec::new();
    let mut medias = Vec::new();
    let (ada_name, grace_name) = ("Ada Lovelace-Byron", "Grace Brewster Hopper");
    let ada_token = s.token(&room, ada_name, Role::Moderator).await;
    let grace_token = s.token(&room, grace_name, Role::Participant).await;
    tokens.push(ada_token.clone());
    tokens.push(grace_token.clone());
    let (ada, _ada_events) = alcove_client::connect(&s.running.signal_url(), &ada_token)
        .await
        .expect("Ada connects");
    let (grace, _grace_events) = alcove_client::connect(&s.running.signal_url(), &grace_token)
        .await
        .expect("Grace connects");
    // Media too: ICE, DTLS and SRTP from the clients' UDP addresses.
    for room in [&ada, &grace] {
        let mut media = room
            .start_media(std::net::Ipv4Addr::LOCALHOST.into(), None)
            .await
            .expect("sdp negotiated");
        assert!(media.wait_connected(Duration::from_secs(30)).await);
        medias.push(media);
    }
    let ack = ada.request(request(CREATE)).await.unwrap();
    assert_eq!(ack.msg.result(), Some(0));
    let br_id = s.rest.breakout_rooms(&room).await.unwrap()[0]
        .room_id
        .clone();
    let invite = format!(
        r#"{{"id":0,"type":"inviteToBreakOutRoom","clients":["{}"],"room_id":"{}"}}"#,
        grace.client_id(),
        br_id
    );
    assert_eq!(
        ada.request(request(&invite)).await.unwrap().msg.result(),
        Some(0)
    );
    let join = format!(
        r#"{{"id":0,"type":"joinBreakoutRoom","role":"participant","room_id":"{br_id}","stream_info":{{"audio":true,"video":false}}}}"#
    );
    assert_eq!(
        grace.request(request(&join)).await.unwrap().msg.result(),
        Some(0)
    );
    s.rest.users(&room).await.unwrap();
    s.rest.breakout_rooms(&room).await.unwrap();

    // Bad tokens: garbage, forged (a real token with another signature), replayed, expired
    // is covered elsewhere.
    let garbage = "v1.bm90LWEtdG9rZW4.c2VjcmV0LXNpZ25hdHVyZQ".to_owned();
    let forged = {
        let t = s.token(&room, "Mallory", Role::Participant).await;
        let (body, _) = t.rsplit_once('.').unwrap();
        format!("{body}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    };
    for bad in [&garbage, &forged, &ada_token] {
        let e = alcove_client::connect(&s.running.signal_url(), bad)
            .await
            .expect_err("refused");
        assert!(e.result().is_some(), "{e}");
        tokens.push(bad.clone());
    }

    // A wrong app key.
    let wrong_key = "wrong-key-3f9a1c77e2";
    let intruder = RestClient::new(&s.running.http_url(), &creds.app_id, wrong_key);
    assert!(intruder.list_rooms().await.is_err());

    grace.close().await;
    ada.close().await;
    s.rest.delete_room(&room).await.unwrap();
    s.running.stop().await.unwrap();

    let all = all.text();
    let debug = debug.text();
    assert!(all.contains("connect refused"), "the capture works");
    let mut leaks = Vec::new();
    for t in &tokens {
        let sig = t.rsplit('.').next().unwrap();
        if all.contains(t.as_str()) || all.contains(sig) {
            leaks.push(format!("token {t}"));
        }
    }
    for (what, s) in [
        ("app key", creds.app_key.as_str()),
        ("wrong app key", wrong_key),
        ("signing secret", secret.as_str()),
    ] {
        if all.contains(s) {
            leaks.push(what.to_owned());
        }
    }
    for (what, s) in [
        ("client address", "127.0.0.1"),
        ("display name", ada_name),
        ("display name", grace_name),
    ] {
        if let Some(line) = debug.lines().find(|l| l.contains(s)) {
            leaks.push(format!("{what} at debug or above: {line}"));
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

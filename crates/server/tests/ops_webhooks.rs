//! Webhooks to a real HTTP receiver on loopback: signed events of a break-out flow, retries
//! after a failing receiver, and a family that stays responsive while the receiver hangs.

mod common;

use alcove_proto::signal::{JoinRole, Role, RoomDefinition};
use alcove_server::webhook::WebhookConfig;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::{create, force_into, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One POST the receiver got.
#[derive(Debug)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// What the receiver answers to its n-th POST (0-based).
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    Hang,
}

/// A real HTTP server on 127.0.0.1:0 recording every POST.
async fn receiver(
    plan: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (String, mpsc::UnboundedReceiver<Hit>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let n = Arc::new(AtomicUsize::new(0));
    let plan = Arc::new(plan);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let n = n.fetch_add(1, Ordering::SeqCst);
            let reply = plan(n);
            async move {
                let _ = tx.send(Hit { headers, body });
                match reply {
                    Reply::Status(s) => StatusCode::from_u16(s).unwrap(),
                    Reply::Hang => {
                        std::future::pending::<()>().await;
                        StatusCode::OK
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

/// Registers `url` as the dev app's webhook; returns the secret.
async fn register(s: &TestServer, url: &str) -> String {
    let creds = s.running.credentials.clone().unwrap();
    let res = reqwest::Client::new()
        .put(format!("{}/v1/webhook", s.running.http_url()))
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .json(&json!({ "url": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["webhook"]["url"], url);
    body["webhook"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned()
}

fn verify(secret: &str, hit: &Hit) {
    let sig = hit.header("x-alcove-signature");
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|r| r.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header: {sig}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "signature verifies");
    let t: u64 = t.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(t.abs_diff(now) < 300, "recent timestamp");
    // A wrong secret does not verify.
    let mut other = Hmac::<Sha256>::new_from_slice(b"whsec_wrong").unwrap();
    other.update(format!("{t}.").as_bytes());
    other.update(&hit.body);
    assert!(other.verify_slice(&hex_bytes(v1)).is_err());
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Hit>, what: &str) -> Hit {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: no POST within 20 s"))
        .expect("receiver open")
}

fn def(rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants: 2,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

fn fast(c: &mut alcove_server::Config) {
    c.webhooks = WebhookConfig {
        queue: 256,
        attempts: 3,
        backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
    };
}

#[tokio::test]
async fn a_breakout_flow_is_posted_signed_and_in_order() {
    let (url, mut rx) = receiver(|_| Reply::Status(200)).await;
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), fast).await;
    let secret = register(&s, &url).await;
    let room = s.room(Default::default()).await;
    let ada = s.peer(&room, "Ada", Role::Moderator).await;
    let ben = s.peer(&room, "Ben", Role::Participant).await;
    let rooms = create(&ada, &def(1)).await;
    force_into(&ada, &rooms[0], &[&ben.id]).await;
    ada.room
        .destroy_all_break_out_session()
        .await
        .expect("destroy all");
    ben.room.close().await;
    ada.room.close().await;

    let mut events = Vec::new();
    loop {
        let hit = next(&mut rx, "the flow's events").await;
        verify(&secret, &hit);
        let body = hit.json();
        assert_eq!(hit.header("content-type"), "application/json");
        assert_eq!(
            hit.header("x-alcove-delivery"),
            body["id"].as_str().unwrap()
        );
        assert_eq!(
            hit.header("x-alcove-event"),
            body["event"].as_str().unwrap()
        );
        assert_eq!(body["room_id"], room.as_str());
        assert_eq!(body["app_id"], "dev");
        let done = body["event"] == "room_ended";
        events.push(body);
        if done {
            break;
        }
    }
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "room_started",
            "participant_joined",
            "participant_joined",
            "breakout_room_created",
            "member_moved",
            "member_moved",
            "breakout_room_destroyed",
            "participant_left",
            "participant_left",
            "room_ended"
        ],
        "{events:#?}"
    );
    let created = &events[3]["data"];
    assert_eq!(created["breakout_room_id"], rooms[0].as_str());
    assert_eq!(created["owner"]["name"], "Ada");
    let moved = &events[4]["data"];
    assert_eq!(moved["clientId"], ben.id.as_str());
    assert_eq!(moved["from"], "parent");
    assert_eq!(moved["to"]["breakout"], rooms[0].as_str());
    assert_eq!(
        events[5]["data"]["to"], "parent",
        "Ben is back before the room goes"
    );
    assert_eq!(events[6]["data"]["breakout_room_id"], rooms[0].as_str());
    assert_eq!(events[1]["data"]["name"], "Ada");
    assert_eq!(events[1]["data"]["role"], "moderator");
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_backoff() {
    // 500 to the first POST, then 200.
    let (url, mut rx) = receiver(|n| Reply::Status(if n == 0 { 500 } else { 200 })).await;
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), fast).await;
    let secret = register(&s, &url).await;
    let room = s.room(Default::default()).await;
    let _ada = s.peer(&room, "Ada", Role::Moderator).await;
    let first = next(&mut rx, "first attempt").await;
    let again = next(&mut rx, "retry").await;
    verify(&secret, &first);
    verify(&secret, &again);
    assert_eq!(first.json()["event"], "room_started");
    assert_eq!(first.header("x-alcove-attempt"), "1");
    assert_eq!(again.header("x-alcove-attempt"), "2");
    assert_eq!(first.body, again.body, "the same event, byte for byte");
    assert_eq!(
        first.header("x-alcove-delivery"),
        again.header("x-alcove-delivery")
    );
    // Then the next event, delivered at its first attempt.
    let joined = next(&mut rx, "participant_joined").await;
    assert_eq!(joined.json()["event"], "participant_joined");
    assert_eq!(joined.header("x-alcove-attempt"), "1");
}

#[tokio::test]
async fn a_receiver_that_always_fails_is_given_up_after_the_attempts() {
    let (url, mut rx) = receiver(|_| Reply::Status(503)).await;
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), fast).await;
    register(&s, &url).await;
    let room = s.room(Default::default()).await;
    let _ada = s.peer(&room, "Ada", Role::Moderator).await;
    for attempt in 1..=3 {
        let hit = next(&mut rx, "attempts").await;
        assert_eq!(hit.json()["event"], "room_started");
        assert_eq!(hit.header("x-alcove-attempt"), attempt.to_string());
    }
    // The fourth POST is the next event's first attempt, not a fourth try.
    let hit = next(&mut rx, "next event").await;
    assert_eq!(hit.json()["event"], "participant_joined");
    assert_eq!(hit.header("x-alcove-attempt"), "1");
}

#[tokio::test]
async fn a_hanging_receiver_never_slows_the_family() {
    let (url, mut rx) = receiver(|_| Reply::Hang).await;
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.webhooks = WebhookConfig {
            queue: 4,
            attempts: 5,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(600),
        };
    })
    .await;
    register(&s, &url).await;
    let room = s.room(Default::default()).await;
    let ada = s.peer(&room, "Ada", Role::Moderator).await;
    let ben = s.peer(&room, "Ben", Role::Participant).await;
    // The receiver took the first POST and hangs on it.
    let _stuck = next(&mut rx, "first POST").await;
    // Many events while the receiver hangs: each break-out operation is acked promptly.
    let mut slowest = Duration::ZERO;
    for round in 0..10 {
        let t = Instant::now();
        let rooms = create(&ada, &def(2)).await;
        force_into(&ada, &rooms[0], &[&ben.id]).await;
        let br = ada
            .room
            .join_breakout_room(&rooms[1], JoinRole::Moderator, Default::default())
            .await
            .expect("join");
        br.disconnect().await.expect("leave");
        ada.room
            .destroy_all_break_out_session()
            .await
            .expect("destroy all");
        let took = t.elapsed() / 5;
        slowest = slowest.max(took);
        assert!(
            took < Duration::from_secs(2),
            "round {round}: an operation took {took:?} while the receiver hangs"
        );
    }
    // Events beyond the queue's bound were dropped and counted, not waited for.
    let creds = s.running.credentials.clone().unwrap();
    let page = reqwest::Client::new()
        .get(format!("{}/metrics", s.running.http_url()))
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped: f64 = page
        .lines()
        .find(|l| l.starts_with("alcove_webhook_deliveries_total{outcome=\"dropped\"}"))
        .and_then(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0.0);
    // 10 rounds × (2 created + 2 destroyed + 4 moves) events, 4 queued, 1 in flight.
    assert!(dropped >= 60.0, "dropped {dropped}: {page}");
    eprintln!("slowest operation while the receiver hung: {slowest:?}; dropped {dropped}");
}

#[tokio::test]
async fn the_webhook_api_checks_its_input() {
    let s = TestServer::start().await;
    let creds = s.running.credentials.clone().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/webhook", s.running.http_url());
    let get = http
        .get(&url)
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    for bad in [
        json!({"url": "ftp://x"}),
        json!({"url": 3}),
        json!({"uri": "http://x"}),
    ] {
        let res = http
            .put(&url)
            .basic_auth(&creds.app_id, Some(&creds.app_key))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["result"], 4400);
    }
    let res = http
        .put(&url)
        .json(&json!({"url": "http://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let secret = register(&s, "https://hooks.example.com/alcove").await;
    assert!(secret.starts_with("whsec_"));
    let get: Value = http
        .get(&url)
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["webhook"]["url"], "https://hooks.example.com/alcove");
    assert!(
        get["webhook"].get("secret").is_none(),
        "the secret is shown once"
    );
    let second = register(&s, "https://hooks.example.com/alcove").await;
    assert_ne!(secret, second, "re-registering makes a new secret");
    let del = http
        .delete(&url)
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
}

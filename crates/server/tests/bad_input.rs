//! Bad input through a real socket: every malformed, unknown, oversize or unauthorised frame
//! gets a clear, typed answer; nothing panics; the family keeps working afterwards.

mod common;

use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{Role, ServerFrame, ServerMessage};
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw(s: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .expect("ws connect");
    ws
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next server frame (skipping pings); panics on close or timeout.
async fn recv(ws: &mut Ws) -> ServerFrame {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame in time");
        match m {
            Some(Ok(Message::Text(t))) => {
                return ServerFrame::decode(&t).expect("server frames decode")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// Waits for the close frame and returns its code.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return Some(f.code.into()),
            Some(Ok(Message::Close(None))) | None => return None,
            Some(Ok(_)) => continue,
            Some(Err(_)) => return None,
        }
    }
}

async fn connected(s: &TestServer, room: &alcove_proto::RoomId, role: Role) -> Ws {
    let token = s.token(room, "raw", role).await;
    let mut ws = raw(s).await;
    send(
        &mut ws,
        &format!(r#"{{"type":"connect","id":0,"token":"{token}","versions":[1]}}"#),
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(f.msg.type_name(), "roomConnected");
    ws
}

fn code(f: &ServerFrame) -> i32 {
    f.msg
        .result()
        .expect("frames answering bad input carry a result")
}

#[tokio::test]
async fn malformed_unknown_and_mistyped_frames_get_typed_errors_and_the_connection_survives() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut ws = connected(&s, &room, Role::Moderator).await;

    send(&mut ws, "{not json").await;
    let f = recv(&mut ws).await;
    assert_eq!((f.id, f.msg.type_name(), code(&f)), (None, "error", 4001));

    send(&mut ws, "[1,2,3]").await;
    assert_eq!(code(&recv(&mut ws).await), 4001, "not an object");

    send(&mut ws, r#"{"type":"pause"}"#).await;
    assert_eq!(code(&recv(&mut ws).await), 4001, "no id");

    send(&mut ws, r#"{"id":5,"type":"teleport"}"#).await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.id.map(|i| i.0), f.msg.type_name(), code(&f)),
        (Some(5), "error", 4002)
    );

    send(
        &mut ws,
        r#"{"id":6,"type":"inviteToBreakOutRoom","clients":"everyone","room_id":"x"}"#,
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.id.map(|i| i.0), f.msg.type_name(), code(&f)),
        (Some(6), "ackInviteBreakOutRoom", 1155),
        "wrong field type"
    );

    send(
        &mut ws,
        r#"{"id":7,"type":"joinBreakoutRoom","role":"participant"}"#,
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.id.map(|i| i.0), f.msg.type_name(), code(&f)),
        (Some(7), "failedJoinBreakOutRoom", 1734),
        "missing field"
    );

    send(
        &mut ws,
        r#"{"id":8,"type":"createBreakOutRoom","audio":true}"#,
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.msg.type_name(), code(&f)),
        ("ackCreateBreakOutRoom", 1724),
        "participants missing"
    );

    send(
        &mut ws,
        r#"{"id":9,"type":"createBreakOutRoom","participants":"two","audio":true}"#,
    )
    .await;
    assert_eq!(code(&recv(&mut ws).await), 1155);

    send(&mut ws, r#"{"id":10,"type":"createBreakOutRoom","participants":3,"audio":true,"video":false,"canvas":false,"max_rooms":1}"#).await;
    assert_eq!(code(&recv(&mut ws).await), 1734, "share missing");

    send(
        &mut ws,
        r#"{"id":11,"type":"rejectBreakOutRoom","room_id":"no-such-room"}"#,
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.msg.type_name(), code(&f)),
        ("ackRejectBreakoutRoom", 1736),
        "unknown room id"
    );

    send(
        &mut ws,
        r#"{"id":12,"type":"disconnect","room_id":"no-such-room"}"#,
    )
    .await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.msg.type_name(), code(&f)),
        ("didDisconnectedBreakoutRoom", 1736)
    );

    send(&mut ws, r#"{"id":13,"type":"connect","token":"x"}"#).await;
    assert_eq!(code(&recv(&mut ws).await), 4005, "connect twice");

    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(code(&recv(&mut ws).await), 4001, "binary");

    let big = format!(
        r#"{{"id":14,"type":"pause","pad":"{}"}}"#,
        "x".repeat(100 * 1024)
    );
    send(&mut ws, &big).await;
    assert_eq!(code(&recv(&mut ws).await), 4003, "over 64 KiB");

    // Still connected, family intact: a real operation works.
    send(&mut ws, r#"{"id":15,"type":"createBreakOutRoom","participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":1}"#).await;
    let f = recv(&mut ws).await;
    assert_eq!(
        (f.id.map(|i| i.0), f.msg.type_name(), code(&f)),
        (Some(15), "ackCreateBreakOutRoom", 0)
    );
    let brs = s.rest.breakout_rooms(&room).await.unwrap();
    assert_eq!(brs.len(), 1);

    // Over the 1 MiB transport limit: the connection is closed with 1009.
    let huge = "y".repeat(2 * 1024 * 1024);
    let _ = ws.send(Message::Text(huge.into())).await;
    assert_eq!(close_code(&mut ws).await, Some(1009));
    // The family survived the abusive client (who was its only member, so it ended cleanly).
    let mut again = connected(&s, &room, Role::Moderator).await;
    send(&mut again, r#"{"id":1,"type":"pause"}"#).await;
    assert_eq!(
        recv(&mut again).await.msg,
        ServerMessage::AckPause(alcove_proto::signal::Status::ok("Room paused"))
    );
}

#[tokio::test]
async fn requests_before_connect_are_refused_with_4004() {
    let s = TestServer::start().await;
    let mut ws = raw(&s).await;
    send(&mut ws, r#"{"id":1,"type":"pause"}"#).await;
    let f = recv(&mut ws).await;
    assert_eq!((f.id.map(|i| i.0), code(&f)), (Some(1), 4004));
}

/// Sends `connect` with `token` on a new connection; returns the answer's type and code and,
/// when refused, the close code that follows.
async fn try_token(s: &TestServer, token: &str) -> (&'static str, i32, Option<u16>) {
    let mut ws = raw(s).await;
    send(
        &mut ws,
        &serde_json::json!({"type":"connect","id":0,"token":token}).to_string(),
    )
    .await;
    let f = recv(&mut ws).await;
    let closed = if code(&f) != 0 {
        close_code(&mut ws).await
    } else {
        None
    };
    (f.msg.type_name(), code(&f), closed)
}

/// The claims of a token (the test reads them; clients treat tokens as opaque).
fn claims_of(token: &str) -> alcove_server::token::Claims {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = token.split('.').nth(1).expect("v1.<claims>.<mac>");
    serde_json::from_slice(&b64.decode(body).expect("base64url")).expect("claims")
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// Every refusal is decided by what the token is, never by how long the test took: tokens
/// live 15 minutes here, and the expired ones are signed with the server's own secret and an
/// expiry in the past (the server cannot tell them from tokens it minted, which is the point).
#[tokio::test]
async fn bad_tokens_are_refused_and_the_connection_closed() {
    let s = TestServer::start().await;
    let secret = s.running.state.store.token_secret().expect("the secret");
    let room = s.room(RoomSettingsInput::default()).await;
    let resign =
        |claims: &alcove_server::token::Claims| alcove_server::token::sign(&secret, claims);
    let past = |c: &mut alcove_server::token::Claims| {
        c.exp_ms = Some(unix_ms() - 60_000);
        c.exp = c.exp_ms.unwrap() / 1000;
    };

    assert_eq!(try_token(&s, "garbage").await, ("error", 4101, Some(1008)));
    let good = s.token(&room, "Ada", Role::Participant).await;
    // Forge: keep the signature, change the role in the claims.
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forged: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    forged["role"] = "moderator".into();
    let forged = format!("v1.{}.{}", b64.encode(forged.to_string()), parts[2]);
    assert_eq!(
        try_token(&s, &forged).await,
        ("error", 4101, Some(1008)),
        "forged"
    );

    // Used once: fine. Twice: 4103.
    assert_eq!(try_token(&s, &good).await, ("roomConnected", 0, None));
    assert_eq!(
        try_token(&s, &good).await,
        ("error", 4103, Some(1008)),
        "replayed"
    );
    // The same token once it has expired too: still 4103 (replay is checked before expiry).
    let mut used_then_expired = claims_of(&good);
    past(&mut used_then_expired);
    assert_eq!(
        try_token(&s, &resign(&used_then_expired)).await,
        ("error", 4103, Some(1008)),
        "replayed and expired since"
    );

    // Expired, never used: 4102, and an expired token is not used up by the attempt.
    let mut stale = claims_of(&s.token(&room, "Bob", Role::Participant).await);
    past(&mut stale);
    let stale = resign(&stale);
    assert_eq!(
        try_token(&s, &stale).await,
        ("error", 4102, Some(1008)),
        "expired"
    );
    assert_eq!(
        try_token(&s, &stale).await.1,
        4102,
        "expired again, not 4103"
    );

    // Room deleted after the token was minted.
    let doomed = s.token(&room, "Cy", Role::Participant).await;
    s.rest.delete_room(&room).await.unwrap();
    assert_eq!(try_token(&s, &doomed).await, ("error", 4104, Some(1008)));
    // Expired beats a deleted room; a replay beats both.
    let mut doomed_expired = claims_of(&doomed);
    past(&mut doomed_expired);
    assert_eq!(try_token(&s, &resign(&doomed_expired)).await.1, 4102);
    assert_eq!(try_token(&s, &good).await.1, 4103, "replayed, room deleted");

    // Unsupported protocol version: checked first, so the token is not used up.
    let room2 = s.room(RoomSettingsInput::default()).await;
    let t = s.token(&room2, "Di", Role::Participant).await;
    let mut ws = raw(&s).await;
    send(
        &mut ws,
        &serde_json::json!({"type":"connect","id":3,"token":t,"versions":[99]}).to_string(),
    )
    .await;
    assert_eq!(code(&recv(&mut ws).await), 4106);
    assert_eq!(try_token(&s, &t).await.1, 0, "the token survived the 4106");
}

/// Token lifetimes count milliseconds: a token minted with a 300 ms lifetime expires 300 ms
/// after minting (not at the end of a whole second). The wait is
/// for the wall clock to pass the token's own expiry, the same clock the server reads.
#[tokio::test]
async fn a_token_expires_to_the_millisecond() {
    let ttl = Duration::from_millis(300);
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.token_ttl = ttl).await;
    let room = s.room(RoomSettingsInput::default()).await;
    let req = alcove_proto::api::CreateTokenRequest {
        name: "Ada".into(),
        role: Role::Participant,
        user_ref: String::new(),
        data: serde_json::Value::Null,
    };
    let before = unix_ms();
    let minted = s.rest.create_token(&room, &req).await.expect("token");
    let after = unix_ms();
    let claims = claims_of(&minted.token);
    let exp_ms = claims.exp_ms.expect("new tokens carry exp_ms");
    assert!(
        (before + 300..=after + 300).contains(&exp_ms),
        "expiry {exp_ms} is 300 ms after minting ({before}..={after})"
    );
    assert_eq!(
        minted.expires_at,
        exp_ms.div_ceil(1000),
        "expires_at rounds up"
    );
    assert_eq!(claims.exp, minted.expires_at);

    // Wait (condition with a deadline) until the wall clock is past the expiry.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while unix_ms() < exp_ms {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stands still"
        );
        tokio::time::sleep(Duration::from_millis(exp_ms - unix_ms().min(exp_ms) + 1)).await;
    }
    assert_eq!(
        try_token(&s, &minted.token).await,
        ("error", 4102, Some(1008))
    );
}

#[tokio::test]
async fn a_full_room_refuses_connects_with_4105() {
    let s = TestServer::start().await;
    let room = s
        .room(RoomSettingsInput {
            participants: Some(1),
            moderators: Some(1),
            ..Default::default()
        })
        .await;
    let _a = s.peer(&room, "A", Role::Participant).await;
    let _m = s.peer(&room, "M", Role::Moderator).await;
    for role in [Role::Participant, Role::Viewer, Role::Moderator] {
        let t = s.token(&room, "late", role).await;
        let e = alcove_client::connect(&s.running.signal_url(), &t)
            .await
            .expect_err("refused");
        assert_eq!(e.result(), Some(4105), "{role:?}");
    }
}

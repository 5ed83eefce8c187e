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
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
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
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
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

#[tokio::test]
async fn bad_tokens_are_refused_and_the_connection_closed() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.token_ttl = Duration::from_secs(1)
    })
    .await;
    let room = s.room(RoomSettingsInput::default()).await;

    let try_token = |token: String| {
        let s = &s;
        async move {
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
    };
    assert_eq!(
        try_token("garbage".into()).await,
        ("error", 4101, Some(1008))
    );
    let good = s.token(&room, "Ada", Role::Participant).await;
    // Forge: keep the signature, change the role in the claims.
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = "moderator".into();
    let forged = format!("v1.{}.{}", b64.encode(claims.to_string()), parts[2]);
    assert_eq!(try_token(forged).await.1, 4101, "forged");
    // Used once: fine. Twice: 4103.
    assert_eq!(try_token(good.clone()).await.1, 0);
    assert_eq!(try_token(good).await.1, 4103, "replayed");
    // Expired.
    let stale = s.token(&room, "Bob", Role::Participant).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(try_token(stale).await.1, 4102, "expired");
    // Room deleted after the token was minted.
    let doomed = s.token(&room, "Cy", Role::Participant).await;
    s.rest.delete_room(&room).await.unwrap();
    assert_eq!(try_token(doomed).await.1, 4104);
    // Unsupported protocol version.
    let room2 = s.room(RoomSettingsInput::default()).await;
    let t = s.token(&room2, "Di", Role::Participant).await;
    let mut ws = raw(&s).await;
    send(
        &mut ws,
        &serde_json::json!({"type":"connect","id":3,"token":t,"versions":[99]}).to_string(),
    )
    .await;
    assert_eq!(code(&recv(&mut ws).await), 4106);
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

//! Two edge cases of the signalling frames, through a real socket (issue 9, low findings):
//! a frame with a duplicate key is refused with a typed error instead of "last key wins", and
//! a flood is closed with a close frame carrying 1008 that the client actually reads (not a
//! TCP reset, which a client reports as 1006).

mod common;

use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{Role, ServerFrame, ServerMessage};
use alcove_proto::ErrorCode;
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type TcpWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut TcpWs, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next server frame (skipping pings); `None` when the connection ends.
async fn recv(ws: &mut TcpWs) -> Option<ServerFrame> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame in time");
        match m {
            Some(Ok(Message::Text(t))) => {
                return Some(ServerFrame::decode(&t).expect("server frames decode"))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return None,
        }
    }
}

/// A raw WebSocket, connected with a fresh token.
async fn connected(s: &TestServer, room: &alcove_proto::RoomId, role: Role) -> TcpWs {
    let token = s.token(room, "raw", role).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .expect("ws connect");
    send(
        &mut ws,
        &format!(r#"{{"type":"connect","id":0,"token":"{token}","versions":[1]}}"#),
    )
    .await;
    match recv(&mut ws).await.expect("connect answered").msg {
        ServerMessage::RoomConnected(c) => assert_eq!(c.result, 0),
        other => panic!("not connected: {other:?}"),
    }
    ws
}

/// The answer with request id `id` (`None`: the next `error` without id), skipping
/// notifications.
async fn answer(ws: &mut TcpWs, id: Option<u64>) -> ServerFrame {
    loop {
        let f = recv(ws).await.expect("answered");
        let wanted = match id {
            Some(id) => f.id.map(|i| i.0) == Some(id),
            None => f.id.is_none() && matches!(f.msg, ServerMessage::Error(_)),
        };
        if wanted {
            return f;
        }
    }
}

#[tokio::test]
async fn a_frame_with_a_duplicate_type_is_refused_and_destroys_nothing() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut m = connected(&s, &room, Role::Moderator).await;
    send(
        &mut m,
        r#"{"type":"createBreakOutRoom","id":1,"participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":2}"#,
    )
    .await;
    assert_eq!(answer(&mut m, Some(1)).await.msg.result(), Some(0));
    assert_eq!(s.rest.breakout_rooms(&room).await.unwrap().len(), 2);

    // Last-key-wins would read this as destroyAllBreakOutSession.
    send(
        &mut m,
        r#"{"type":"pause","id":2,"type":"destroyAllBreakOutSession"}"#,
    )
    .await;
    let refused = answer(&mut m, None).await;
    let ServerMessage::Error(status) = &refused.msg else {
        panic!("not an error: {refused:?}");
    };
    assert_eq!(status.result, ErrorCode::MalformedFrame.code());
    assert!(
        status.msg.contains("duplicate key `type`"),
        "the text names the key: {}",
        status.msg
    );
    // A nested duplicate is refused the same way.
    send(
        &mut m,
        r#"{"type":"muteRoom","id":3,"audio":true,"audio":false}"#,
    )
    .await;
    let nested = answer(&mut m, None).await;
    assert_eq!(nested.msg.result(), Some(ErrorCode::MalformedFrame.code()));

    // Nothing ran: both rooms are alive, and the connection still works.
    send(&mut m, r#"{"type":"pause","id":4}"#).await;
    let ack = answer(&mut m, Some(4)).await;
    assert_eq!(ack.msg.type_name(), "ackPause");
    assert_eq!(s.rest.breakout_rooms(&room).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_flooding_client_reads_a_1008_close_frame_not_a_reset() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.request_rate = 10;
        c.request_burst = 20;
    })
    .await;
    let room = s.room(RoomSettingsInput::default()).await;
    let ws = connected(&s, &room, Role::Participant).await;
    let (mut sink, mut stream) = ws.split();
    // The attacker writes as fast as it can, without waiting for answers, until the server
    // closes; a separate task reads.
    let writer = tokio::spawn(async move {
        let mut i = 100u64;
        loop {
            i += 1;
            let m = Message::Text(format!(r#"{{"id":{i},"type":"muteRoom"}}"#).into());
            if sink.feed(m).await.is_err() {
                return;
            }
            if i.is_multiple_of(64) && sink.flush().await.is_err() {
                return;
            }
            if i > 2_000_000 {
                return;
            }
        }
    });
    let mut close = None;
    let mut error = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the server ends the flood in time")
        {
            Some(Ok(Message::Close(f))) => {
                close = f.map(|f| u16::from(f.code));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                error = Some(e.to_string());
                break;
            }
            None => break,
        }
    }
    writer.abort();
    assert_eq!(
        close,
        Some(1008),
        "the client read a close frame with 1008 (read error instead: {error:?})"
    );
}

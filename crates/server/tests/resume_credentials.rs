//! Resume credentials (issue 9, finding 2), through real sockets: a credential is refused
//! while its client is attached (the real client stays, untouched), works once, and the
//! resumed `roomConnected` carries the next one; the Rust SDK resumes through the rotation on
//! its own, drop after drop.

mod common;

use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{ClientMessage, Role, RoomConnected, ServerFrame, ServerMessage};
use alcove_proto::ErrorCode;
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type TcpWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How a `connect` was answered: the `roomConnected`, or the error code and the close code.
// A handful of these exist at a time, in a test: size does not matter.
#[allow(clippy::large_enum_variant)]
enum Answer {
    Connected(Box<RoomConnected>, TcpWs),
    Refused(i32, Option<u16>),
}

async fn connect_raw(s: &TestServer, body: &str) -> Answer {
    let (mut ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .expect("ws connect");
    ws.send(Message::Text(
        format!(r#"{{"type":"connect","id":1,{body},"versions":[1]}}"#).into(),
    ))
    .await
    .expect("send");
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("connect answered in time");
        let Some(Ok(Message::Text(t))) = m else {
            continue;
        };
        let f = ServerFrame::decode(&t).expect("server frames decode");
        match f.msg {
            ServerMessage::RoomConnected(c) if f.id.is_some() => {
                return Answer::Connected(Box::new(c), ws)
            }
            ServerMessage::Error(e) => {
                let close = loop {
                    match tokio::time::timeout(Duration::from_secs(10), ws.next())
                        .await
                        .expect("closed in time")
                    {
                        Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                        Some(Ok(_)) => continue,
                        _ => break None,
                    }
                };
                return Answer::Refused(e.result, close);
            }
            _ => continue,
        }
    }
}

/// Resumes with `credential`, retrying while the server still sees the old connection open
/// (4109), as the SDKs do. `Ok` with the resumed `roomConnected`, or the final refusal.
async fn resume(s: &TestServer, credential: &str) -> Result<(Box<RoomConnected>, TcpWs), i32> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match connect_raw(s, &format!(r#""resume":"{credential}""#)).await {
            Answer::Connected(c, ws) => return Ok((c, ws)),
            Answer::Refused(4109, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Answer::Refused(code, _) => return Err(code),
        }
    }
}

/// A raw client that keeps reading (so it answers pings, as every WebSocket client does) and
/// hands its text frames over.
struct Victim {
    sink: futures_util::stream::SplitSink<TcpWs, Message>,
    frames: mpsc::UnboundedReceiver<ServerFrame>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Victim {
    /// The transport ends without a closing handshake (both halves of the socket go).
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Victim {
    fn new(ws: TcpWs) -> Victim {
        let (sink, mut stream) = ws.split();
        let (tx, frames) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                if let Message::Text(t) = m {
                    let _ = tx.send(ServerFrame::decode(&t).expect("decodes"));
                }
            }
        });
        Victim {
            sink,
            frames,
            reader,
        }
    }

    async fn request(&mut self, id: u64, fields: &str) -> ServerFrame {
        self.sink
            .send(Message::Text(format!(r#"{{"id":{id},{fields}}}"#).into()))
            .await
            .expect("the victim's connection is open");
        loop {
            let f = tokio::time::timeout(Duration::from_secs(10), self.frames.recv())
                .await
                .expect("answered in time")
                .expect("the victim's connection is open");
            if f.id.map(|i| i.0) == Some(id) {
                return f;
            }
        }
    }
}

#[tokio::test]
async fn a_stolen_credential_is_refused_while_its_client_is_attached_and_the_client_stays() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut watcher = s.peer(&room, "Watcher", Role::Moderator).await;
    let token = s.token(&room, "Victim", Role::Participant).await;
    let Answer::Connected(connected, ws) = connect_raw(&s, &format!(r#""token":"{token}""#)).await
    else {
        panic!("the victim connects");
    };
    let stolen = connected.resume_token.clone().expect("a resume credential");
    let victim_id = connected.client_id.clone();
    let mut victim = Victim::new(ws);
    watcher.sync().await;

    // The thief tries again and again for longer than the server's liveness probe (3 s): the
    // victim answers its pings, so it is refused every time, with 4109 and close 1008.
    let started = Instant::now();
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(5) {
        match connect_raw(&s, &format!(r#""resume":"{stolen}""#)).await {
            Answer::Refused(code, close) => {
                assert_eq!(code, ErrorCode::ResumeWhileAttached.code());
                assert_eq!(close, Some(1008));
                refused += 1;
            }
            Answer::Connected(c, _) => {
                panic!("the thief took over {} while it was connected", c.client_id)
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(refused >= 10, "{refused} attempts");

    // The real client never noticed: same connection, still answered, still in the family.
    let ack = victim.request(7, r#""type":"pause""#).await;
    assert_eq!(ack.msg.type_name(), "ackPause");
    assert_eq!(ack.msg.result(), Some(0));
    let users = s.rest.users(&room).await.unwrap();
    assert!(users.iter().any(|u| u.client_id == victim_id));
    let notes = watcher.sync().await;
    assert!(common::left_in(&notes).is_empty(), "nobody left: {notes:?}");

    // The credential was not spent by the refusals: once the real client's transport is gone,
    // it resumes (here the thief would win the race: a bearer credential is only as safe as
    // the place it is kept; what matters is that an attached client cannot be taken over).
    drop(victim);
    let (resumed, _ws) = resume(&s, &stolen).await.expect("resumes after the drop");
    assert_eq!(resumed.client_id, victim_id);
}

#[tokio::test]
async fn a_resume_credential_works_once_and_the_next_one_comes_with_the_resume() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let token = s.token(&room, "Ada", Role::Participant).await;
    let Answer::Connected(first, ws) = connect_raw(&s, &format!(r#""token":"{token}""#)).await
    else {
        panic!("connects");
    };
    let r1 = first.resume_token.clone().unwrap();
    drop(ws); // the transport ends without a closing handshake: a drop

    let (second, ws) = resume(&s, &r1).await.expect("the first resume works");
    assert!(second.resumed);
    assert_eq!(second.client_id, first.client_id);
    let r2 = second.resume_token.clone().expect("the next credential");
    assert_ne!(r1, r2, "rotated on resume");
    drop(ws);

    // The used credential is refused (4108) once the server has seen the drop; the new one
    // works, and brings a third.
    assert_eq!(
        resume(&s, &r1).await.err(),
        Some(ErrorCode::ResumeFailed.code()),
        "a used credential cannot be used twice"
    );
    let (third, _ws) = resume(&s, &r2)
        .await
        .expect("the rotated credential works, after the refused replay");
    assert_eq!(third.client_id, first.client_id);
    assert_ne!(third.resume_token.as_deref(), Some(r2.as_str()));
}

#[tokio::test]
async fn the_rust_sdk_resumes_drop_after_drop_through_the_rotation() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut watcher = s.peer(&room, "Watcher", Role::Moderator).await;
    let mut ada = s.peer(&room, "Ada", Role::Participant).await;
    watcher.sync().await;
    for drop_no in 1..=3 {
        ada.room.drop_connection();
        // The SDK delivers each resumed `roomConnected` on its events.
        let resumed = loop {
            let f = ada
                .events
                .next_within(Duration::from_secs(20))
                .await
                .unwrap_or_else(|| panic!("resumed after drop {drop_no}"));
            if let ServerMessage::RoomConnected(c) = f.msg {
                break c;
            }
        };
        assert!(resumed.resumed);
        assert_eq!(resumed.client_id, ada.id);
        let ack = ada
            .room
            .request(ClientMessage::Pause)
            .await
            .unwrap_or_else(|e| panic!("works after drop {drop_no}: {e}"));
        assert_eq!(ack.msg.result(), Some(0));
    }
    let notes = watcher.sync().await;
    assert!(common::left_in(&notes).is_empty(), "Ada never left");
}

#[tokio::test]
async fn an_old_connection_that_no_longer_answers_gives_way_to_the_resume() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let token = s.token(&room, "Ada", Role::Participant).await;
    let Answer::Connected(first, half_open) =
        connect_raw(&s, &format!(r#""token":"{token}""#)).await
    else {
        panic!("connects");
    };
    // The old socket stays open but nothing reads it any more (a peer gone without a FIN, as
    // after a network change): it cannot answer the server's ping.
    let credential = first.resume_token.clone().unwrap();
    let started = Instant::now();
    let (resumed, _ws) = resume(&s, &credential)
        .await
        .expect("resumes once the server found the old transport dead");
    let took = started.elapsed();
    assert_eq!(resumed.client_id, first.client_id);
    assert!(
        took >= Duration::from_secs(2),
        "refused (4109) until the probe ran out: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(half_open);
}

//! Limits and abuse through a real socket: the per-connection request rate limit (4006, and
//! close 1008 for a flood) and a client that stops reading its socket. In every case the
//! others in the family are unaffected and the family keeps working.

mod common;

use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{ClientMessage, MediaFlags, Role, ServerFrame, ServerMessage};
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws<S> = tokio_tungstenite::WebSocketStream<S>;
type TcpWs = Ws<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A request the family answers without changing anything: `muteRoom` with no flag (1155).
const PROBE: &str = r#""type":"muteRoom""#;

async fn send<S>(ws: &mut Ws<S>, text: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next server frame (skipping pings); `None` when the connection ends.
async fn recv<S>(ws: &mut Ws<S>) -> Option<ServerFrame>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
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

/// Connects a raw WebSocket with a fresh token and returns it with its client id.
async fn connected(s: &TestServer, room: &alcove_proto::RoomId, role: Role) -> (TcpWs, String) {
    let token = s.token(room, "raw", role).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .expect("ws connect");
    send(
        &mut ws,
        &format!(r#"{{"type":"connect","id":0,"token":"{token}","versions":[1]}}"#),
    )
    .await;
    let id = match recv(&mut ws).await.expect("connect answered").msg {
        ServerMessage::RoomConnected(c) => c.client_id.0,
        other => panic!("not connected: {other:?}"),
    };
    (ws, id)
}

/// A request from the body of a raw frame (`"type":…` and its fields).
fn client_message(fields: &str) -> ClientMessage {
    alcove_proto::signal::decode_client_frame(&format!(r#"{{"id":0,{fields}}}"#))
        .expect("a valid request")
        .msg
}

fn result(f: &ServerFrame) -> i32 {
    f.msg.result().expect("answers carry a result")
}

const CREATE_ONE_BR: &str = r#""type":"createBreakOutRoom","participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":1"#;

#[tokio::test]
async fn a_request_flood_gets_4006_answers_and_the_polite_client_and_the_family_are_unaffected() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.request_rate = 10;
        c.request_burst = 20;
    })
    .await;
    let room = s.room(RoomSettingsInput::default()).await;
    // The flooder's bucket is created (full) during its connect, after this instant.
    let bucket_born_after = Instant::now();
    let (mut flooder, _) = connected(&s, &room, Role::Moderator).await;
    let mut polite = s.peer(&room, "Polite", Role::Participant).await;

    // The polite client sends one request every 150 ms (under 10/s) all through the flood.
    let polite_room = polite.room.clone();
    let polite_task = tokio::spawn(async move {
        let mut answers = Vec::new();
        for _ in 0..8 {
            let ack = polite_room
                .request(ClientMessage::MuteRoom(MediaFlags::default()))
                .await
                .expect("polite request answered");
            answers.push((ack.msg.type_name(), result(&ack)));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        answers
    });

    // 100 requests at once; the bucket holds 20.
    const N: u64 = 100;
    for i in 1..=N {
        flooder
            .feed(Message::Text(format!(r#"{{"id":{i},{PROBE}}}"#).into()))
            .await
            .unwrap();
    }
    flooder.flush().await.unwrap();

    let mut answers: HashMap<u64, ServerFrame> = HashMap::new();
    while answers.len() < N as usize {
        let f = recv(&mut flooder).await.expect("every request answered");
        let Some(id) = f.id else { continue };
        assert!(
            answers.insert(id.0, f).is_none(),
            "request {} answered twice",
            id.0
        );
    }
    let lived = bucket_born_after.elapsed();
    let limited = answers
        .values()
        .filter(|f| f.msg.type_name() == "error" && result(f) == 4006)
        .count();
    let served = answers
        .values()
        .filter(|f| f.msg.type_name() == "ackMuteRoom" && result(f) == 1155)
        .count();
    assert_eq!(limited + served, N as usize, "only 4006 or the real ack");
    // The full bucket serves the burst; beyond it, only what refilled (10/s) while the
    // bucket lived: a bound taken from the clock, so a slow machine cannot fail it.
    let refilled = (10.0 * lived.as_secs_f64()).ceil() as usize;
    assert!(
        (20..=20 + refilled).contains(&served),
        "the burst is served, then only what refilled in {lived:?}: {served}"
    );
    // The first requests found a full bucket.
    for i in 1..=20 {
        assert_eq!(answers[&i].msg.type_name(), "ackMuteRoom", "request {i}");
    }

    // Nothing more comes: exactly one answer per request.
    let extra = tokio::time::timeout(Duration::from_millis(300), flooder.next()).await;
    assert!(extra.is_err(), "an extra frame: {extra:?}");

    for (ty, code) in polite_task.await.unwrap() {
        assert_eq!(
            (ty, code),
            ("ackMuteRoom", 1155),
            "the polite client is served"
        );
    }

    // Once its bucket has refilled, the flooder is served again, and the family works. A
    // request refused meanwhile (4006) is not applied; it is retried (deadline 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 500;
    let f = loop {
        send(&mut flooder, &format!(r#"{{"id":{id},{CREATE_ONE_BR}}}"#)).await;
        let f = recv(&mut flooder).await.expect("answer");
        assert_eq!(f.id.map(|i| i.0), Some(id));
        if result(&f) != 4006 {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "still rate limited 10 s after the flood"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        id += 1;
    };
    assert_eq!(
        (f.msg.type_name(), result(&f)),
        ("ackCreateBreakOutRoom", 0)
    );
    assert_eq!(s.rest.breakout_rooms(&room).await.unwrap().len(), 1);
    assert_eq!(polite.notes().await, Vec::<&str>::new());
}

#[tokio::test]
async fn a_client_that_keeps_flooding_is_closed_with_1008() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.request_rate = 10;
        c.request_burst = 20;
    })
    .await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut polite = s.peer(&room, "Polite", Role::Moderator).await;
    let (mut flooder, flooder_id) = connected(&s, &room, Role::Participant).await;
    assert_eq!(polite.notes().await, ["usersUpdated"]);

    // More than 10× the sustained rate's worth for the 5 s window (10 × 10/s × 5 s = 500).
    let mut sent = 0;
    for i in 1..=600 {
        let m = Message::Text(format!(r#"{{"id":{i},{PROBE}}}"#).into());
        if flooder.feed(m).await.is_err() {
            break;
        }
        sent += 1;
    }
    let _ = flooder.flush().await;
    let (mut answered, mut close) = (0, None);
    loop {
        match tokio::time::timeout(Duration::from_secs(30), flooder.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Text(_))) => answered += 1,
            Some(Ok(Message::Close(f))) => {
                close = f.map(|f| u16::from(f.code));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    assert_eq!(
        close,
        Some(1008),
        "flood closed ({answered} of {sent} answered)"
    );
    assert!(answered <= 500, "nothing answered past the flood limit");

    // The family saw it leave and keeps working for the others.
    let notes = polite.sync().await;
    let left: Vec<_> = common::left_in(&notes).into_iter().map(|c| c.0).collect();
    assert_eq!(left, [flooder_id]);
    let ack = polite
        .room
        .request(client_message(CREATE_ONE_BR))
        .await
        .unwrap();
    assert_eq!(result(&ack), 0);
}

/// The TCP state (`/proc/net/tcp` `st`, 1 = ESTABLISHED) of the server's end of the
/// connection from `peer`; `None` once the socket is gone.
fn server_end_state(server: std::net::SocketAddr, peer: std::net::SocketAddr) -> Option<u8> {
    let hex = |a: std::net::SocketAddr| match a {
        std::net::SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        ),
        std::net::SocketAddr::V6(_) => unreachable!("the tests bind IPv4"),
    };
    let (local, remote) = (hex(server), hex(peer));
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[1] == local && f[2] == remote).then(|| u8::from_str_radix(f[3], 16).unwrap())
    })
}

/// A round trip that waited for the stalled client would last as long as it stalls (until
/// the end of the test); anything under this bound did not wait for it.
const STALL_BOUND: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_while_the_others_stay_prompt() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.outbound_bytes = 64 * 1024;
        c.request_rate = 100_000;
        c.request_burst = 100_000;
    })
    .await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut busy = s.peer(&room, &"B".repeat(100), Role::Moderator).await;
    let mut other = s.peer(&room, "Other", Role::Participant).await;

    // The stalled client (a moderator, so it hears about every break-out room): a small
    // receive buffer, and after its connect it never reads again.
    let token = s.token(&room, "Stalled", Role::Moderator).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(s.running.addr).await.unwrap();
    let stalled_addr = tcp.local_addr().unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(s.running.signal_url(), tcp)
        .await
        .expect("ws handshake");
    send(
        &mut stalled,
        &format!(r#"{{"type":"connect","id":0,"token":"{token}","versions":[1]}}"#),
    )
    .await;
    let stalled_id = match recv(&mut stalled).await.expect("connected").msg {
        ServerMessage::RoomConnected(c) => c.client_id,
        other => panic!("not connected: {other:?}"),
    };
    assert_eq!(server_end_state(s.running.addr, stalled_addr), Some(1));
    busy.sync().await;
    other.sync().await;

    // The busy moderator creates ten break-out rooms and destroys them, over and over: each
    // is ten notifications to every moderator, the stalled one included. Every round trip
    // is timed.
    let create = client_message(
        r#""type":"createBreakOutRoom","participants":2,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":10"#,
    );
    let destroy = client_message(r#""type":"destroyAllBreakOutSession""#);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut ops = 0;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stalled client was never dropped ({ops} operations)"
        );
        let msg = if ops % 2 == 0 { &create } else { &destroy };
        let t = Instant::now();
        let ack = busy.room.request(msg.clone()).await.expect("answered");
        slowest = slowest.max(t.elapsed());
        assert_eq!(result(&ack), 0);
        ops += 1;
        // The busy client reads its own notifications, as a well-behaved client does.
        while busy.events.try_next().is_some() {}
        if ops % 10 == 0 {
            let users = s.rest.users(&room).await.unwrap();
            if !users.iter().any(|u| u.client_id == stalled_id) {
                break;
            }
        }
    }
    // "Prompt" is not timed against the machine's speed (benchmarks measure that): a family
    // that waited for the stalled reader would wait as long as the stall lasts, so no round
    // trip may come near the seconds the stall lasts here.
    assert!(
        slowest < STALL_BOUND,
        "a round trip took {slowest:?} during the stall"
    );

    // The others saw it leave and are still served.
    let t = Instant::now();
    let notes = other.sync().await;
    assert!(t.elapsed() < STALL_BOUND);
    assert!(common::left_in(&notes).contains(&stalled_id));
    let ack = busy.room.request(destroy.clone()).await.expect("answered");
    assert_eq!(result(&ack), 0);

    // The server closed its end by itself, although the client still does not read.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_end_state(s.running.addr, stalled_addr) == Some(1) {
        assert!(
            Instant::now() < deadline,
            "the server still holds the stalled connection open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "{ops} operations, slowest {slowest:?}, {:?}",
        started.elapsed()
    );
    drop(stalled);
}

//! A class-size wave through real sockets, with a moderator that stops reading: a client is
//! never dropped because of a burst the server itself produced (its pending presence collapses
//! to the latest state), and only a client that does not read at all is.

mod common;

use alcove_client::UserList;
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{ClientMessage, Location, Role, ServerFrame, ServerMessage};
use common::{Peer, TestServer};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens a WebSocket whose receive buffer is tiny (so that not reading stalls the server's
/// writer quickly) and connects with protocol versions 1 and 2.
async fn raw_client(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    name: &str,
    role: Role,
) -> (Ws, UserList, std::net::SocketAddr) {
    let token = s.token(room, name, role).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(s.running.addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(s.running.signal_url(), tcp)
        .await
        .expect("ws handshake");
    let connect = format!(r#"{{"type":"connect","id":0,"token":"{token}","versions":[1,2]}}"#);
    ws.send(Message::Text(connect.into())).await.unwrap();
    let frame = next_frame(&mut ws).await.expect("connect answered");
    let ServerMessage::RoomConnected(c) = frame.msg else {
        panic!("not connected: {frame:?}")
    };
    assert_eq!(c.version, 2, "the server speaks protocol 2");
    (ws, UserList::new(c.users), local)
}

async fn next_frame<S>(ws: &mut S) -> Option<ServerFrame>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
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

fn request(id: u64, fields: &str) -> Message {
    Message::Text(format!(r#"{{"id":{id},{fields}}}"#).into())
}

fn wave(rooms: usize) -> String {
    format!(
        r#""type":"createAndInviteBreakoutRoom","participants":10,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":{rooms},"force_join":true"#
    )
}

const DESTROY_ALL: &str = r#""type":"destroyAllBreakOutSession""#;

fn class_settings(participants: u32, rooms: u32) -> RoomSettingsInput {
    RoomSettingsInput {
        participants: Some(participants),
        max_breakout_rooms: Some(rooms),
        max_active_talkers: Some(11),
        ..RoomSettingsInput::default()
    }
}

/// `n` SDK clients (protocol 2), connected a few at a time; each carries `data_bytes` of app
/// data in its token (shown to everyone in its presence).
async fn crowd(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    n: usize,
    data_bytes: usize,
) -> Vec<Peer> {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let name = format!("p{i:03}");
            let req = alcove_proto::api::CreateTokenRequest {
                name: name.clone(),
                role: Role::Participant,
                user_ref: format!("ref-{name}"),
                data: serde_json::json!({ "bio": "x".repeat(data_bytes) }),
            };
            let token = s.rest.create_token(room, &req).await.expect("token").token;
            let (room, events) = alcove_client::connect(&s.running.signal_url(), &token)
                .await
                .expect("connect");
            let id = room.client_id().clone();
            Peer {
                name,
                room,
                events,
                id,
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

async fn wait_all(peers: &mut [Peer], ty: &str) {
    for p in peers.iter_mut() {
        let got = p
            .events
            .wait_for(Duration::from_secs(30), |f| {
                f.msg.type_name() == ty && f.msg.result() == Some(0)
            })
            .await;
        assert!(got.is_some(), "{} got no {ty}", p.name);
    }
}

fn sorted(mut users: Vec<alcove_proto::signal::UserInfo>) -> Vec<alcove_proto::signal::UserInfo> {
    users.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    users
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_that_stops_reading_through_a_wave_of_300_stays_and_ends_with_the_right_list() {
    const PUPILS: usize = 300;
    const ROOMS: usize = 30;
    let s = TestServer::start().await;
    let room = s.room(class_settings(400, ROOMS as u32)).await;
    let (ws, mut list, _) = raw_client(&s, &room, "Teacher", Role::Moderator).await;
    let (mut to_server, mut from_server) = ws.split();

    // From here the teacher reads nothing: a crowd connects, the teacher sends 300 into 30
    // rooms and brings them back.
    let stopped = Instant::now();
    let mut pupils = crowd(&s, &room, PUPILS, 0).await;
    to_server.send(request(1, &wave(ROOMS))).await.unwrap();
    wait_all(&mut pupils, "connectedBreakoutRoom").await;
    to_server.send(request(2, DESTROY_ALL)).await.unwrap();
    wait_all(&mut pupils, "didDisconnectedBreakoutRoom").await;
    tokio::time::sleep_until((stopped + Duration::from_secs(3)).into()).await;
    let users = s.rest.users(&room).await.unwrap();
    assert_eq!(users.len(), PUPILS + 1, "the teacher is still connected");

    // The teacher reads again: both acks, and presence that ends in the right list.
    to_server
        .send(request(3, r#""type":"muteRoom""#))
        .await
        .unwrap();
    let mut acks = Vec::new();
    let mut frames = 0;
    let mut batches = 0;
    loop {
        let f = next_frame(&mut from_server).await.expect("still connected");
        frames += 1;
        if matches!(f.msg, ServerMessage::UsersUpdated(_)) {
            batches += 1;
        }
        assert!(
            !matches!(
                f.msg.type_name(),
                "userConnected" | "userMoved" | "userPaused" | "userDisconnected"
            ),
            "protocol 2 gets batched presence only"
        );
        list.apply(&f.msg);
        if let Some(id) = f.id {
            acks.push((id.0, f.msg.result()));
            if id.0 == 3 {
                break;
            }
        }
    }
    assert_eq!(acks[0], (1, Some(0)), "the wave was acknowledged");
    assert_eq!(acks[1], (2, Some(0)), "destroy-all was acknowledged");
    println!("the teacher received {frames} frames, {batches} of them usersUpdated");
    let now = s.rest.users(&room).await.unwrap();
    assert!(now
        .iter()
        .all(|u| u.location == Location::Parent && !u.paused));
    assert_eq!(sorted(list.users().to_vec()), sorted(now));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_once_it_makes_no_progress() {
    const PUPILS: usize = 100;
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.outbound_stall = Duration::from_secs(2);
    })
    .await;
    let room = s.room(class_settings(200, 10)).await;
    let mut teacher = s.peer(&room, "Teacher", Role::Moderator).await;
    // A viewer is never moved: all it is sent is presence, which collapses, so only the
    // no-progress rule can drop it.
    let (ws, _, addr) = raw_client(&s, &room, "Sleeper", Role::Viewer).await;
    // 2 KB of app data each: a wave is 200 KB of presence for the sleeper, so its socket
    // buffers (4 MB at most here) fill within a few waves.
    let mut pupils = crowd(&s, &room, PUPILS, 2000).await;

    let started = Instant::now();
    let mut waves = 0;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sleeper was never dropped ({waves} waves)"
        );
        let ack = teacher
            .room
            .request(decode(&wave(10)))
            .await
            .expect("answered");
        assert_eq!(ack.msg.result(), Some(0));
        wait_all(&mut pupils, "connectedBreakoutRoom").await;
        let ack = teacher
            .room
            .request(decode(DESTROY_ALL))
            .await
            .expect("answered");
        assert_eq!(ack.msg.result(), Some(0));
        wait_all(&mut pupils, "didDisconnectedBreakoutRoom").await;
        waves += 1;
        let users = s.rest.users(&room).await.unwrap();
        if users.len() == PUPILS + 1 {
            break;
        }
        assert_eq!(users.len(), PUPILS + 2);
    }
    // Nobody else was dropped, and the server closed the sleeper's socket by itself.
    let users = s.rest.users(&room).await.unwrap();
    assert!(users.iter().all(|u| u.name != "Sleeper"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_end_state(s.running.addr, addr) == Some(1) {
        assert!(
            Instant::now() < deadline,
            "the server still holds the sleeper's connection open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Everything the family sent the teacher before this probe's ack has arrived.
    teacher.sync().await;
    let list = teacher.room.users().await.unwrap();
    assert_eq!(sorted(list), sorted(users));
    drop(ws);
}

fn decode(fields: &str) -> ClientMessage {
    alcove_proto::signal::decode_client_frame(&format!(r#"{{"id":0,{fields}}}"#))
        .expect("a valid request")
        .msg
}

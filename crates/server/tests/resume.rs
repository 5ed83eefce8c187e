//! Resume after drops and restarts, with real sockets and real processes: a client whose
//! connection drops keeps its place (location, break-out membership, parent link, pending
//! invitations) for the grace period and its SDK lands it back there on its own; after
//! `kill -9` and a restart of the server, clients that come back within the grace period are
//! where they were.

mod common;

use alcove_client::{connect, ConnectionState, RestClient};
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::{Invitee, Location, Role, RoomDefinition, ServerMessage};
use common::TestServer;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn def(participants: u32, rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

async fn wait_state(room: &alcove_client::Room, want: ConnectionState) {
    let mut rx = room.connection_state();
    let ok = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| *s == want))
        .await
        .map(|r| r.is_ok());
    assert!(
        matches!(ok, Ok(true)),
        "connection state never became {want:?}: now {:?}",
        *rx.borrow()
    );
}

#[tokio::test]
async fn a_dropped_client_resumes_on_its_own_and_is_still_in_its_breakout_room() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut m = s.peer(&room, "M", Role::Moderator).await;
    let mut a = s.peer(&room, "A", Role::Participant).await;
    let b = s.peer(&room, "B", Role::Participant).await;
    let rooms = m
        .room
        .create_break_out_room(&def(2, 2))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    m.room
        .invite_to_break_out_room(&Invitee {
            clients: vec![a.id.clone()],
            room_id: rooms[0].clone(),
            force_join: true,
        })
        .await
        .unwrap();
    m.room
        .invite_to_break_out_room(&Invitee {
            clients: vec![b.id.clone()],
            room_id: rooms[1].clone(),
            force_join: false,
        })
        .await
        .unwrap();
    m.sync().await;
    a.sync().await;

    let mut state = a.room.connection_state();
    a.room.drop_connection();
    // The SDK notices, reconnects and resumes.
    tokio::time::timeout(
        Duration::from_secs(30),
        state.wait_for(|s| matches!(s, ConnectionState::Reconnecting(_))),
    )
    .await
    .unwrap()
    .unwrap();
    wait_state(&a.room, ConnectionState::Reconnected).await;
    let resumed = a
        .events
        .wait_for(Duration::from_secs(30), |f| {
            f.msg.type_name() == "roomConnected"
        })
        .await
        .expect("the resumed roomConnected is on Events");
    let ServerMessage::RoomConnected(rc) = resumed.msg else {
        unreachable!()
    };
    assert!(rc.resumed);
    assert_eq!(rc.client_id, a.id, "same client id");
    let me = rc.users.iter().find(|u| u.client_id == a.id).unwrap();
    assert_eq!(me.location, Location::Breakout(rooms[0].clone()));
    assert!(me.paused, "parent link still paused");
    // It works again: a request on the same Room handle.
    a.room
        .mute_room(alcove_proto::signal::MediaFlags {
            audio: true,
            video: false,
        })
        .await
        .unwrap();
    // Nobody saw A leave; the moderator sees A's mute.
    let notes = m.sync().await;
    let types: Vec<&str> = notes.iter().map(|f| f.msg.type_name()).collect();
    assert!(
        common::left_in(&notes).is_empty() && !types.contains(&"didDestroyedBreakoutRoom"),
        "{types:?}"
    );
    assert!(common::presence_of(&notes, &a.id)
        .iter()
        .any(|u| u.muted.audio));

    // B drops too and resumes: its pending invitation is still there.
    let mut b = b;
    b.room.drop_connection();
    wait_state(&b.room, ConnectionState::Reconnected).await;
    let f = b
        .events
        .wait_for(Duration::from_secs(30), |f| {
            f.msg.type_name() == "roomConnected"
        })
        .await
        .unwrap();
    let ServerMessage::RoomConnected(rc) = f.msg else {
        unreachable!()
    };
    assert_eq!(rc.invitations, vec![rooms[1].clone()]);
    b.room
        .join_breakout_room(
            &rooms[1],
            alcove_proto::signal::JoinRole::Participant,
            Default::default(),
        )
        .await
        .expect("the invitation survived the drop");
}

/// A drop keeps the client's place for the grace period, then the normal leave applies. No
/// fixed waits: the leave is waited for (with a deadline), and "not before the grace period"
/// is checked on the clock: the server starts counting when it notices the drop, which is
/// after the test dropped the connection, so the leave may never be seen earlier than
/// `grace` after that.
#[tokio::test]
async fn after_the_grace_period_the_normal_leave_applies() {
    use futures_util::{SinkExt, StreamExt};
    let grace = Duration::from_millis(1500);
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.resume_grace = grace).await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut m = s.peer(&room, "M", Role::Moderator).await;
    // A raw client that will vanish without a closing handshake and never come back.
    let token = s.token(&room, "A", Role::Participant).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .unwrap();
    let hello = serde_json::json!({"type": "connect", "id": 0, "token": token});
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        hello.to_string(),
    ))
    .await
    .unwrap();
    let first = ws.next().await.unwrap().unwrap();
    let rc: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(rc["type"], "roomConnected");
    assert!(
        rc["resume_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("r1.")),
        "a resume credential"
    );
    let a_id = alcove_proto::ClientId(rc["clientId"].as_str().unwrap().to_owned());
    let br = m
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    let inv = Invitee {
        clients: vec![a_id.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    m.room.invite_to_break_out_room(&inv).await.unwrap();
    m.sync().await;
    let dropped_at = Instant::now();
    drop(ws); // TCP closed, no WebSocket closing handshake: a drop, not a leave
    let users = s.rest.users(&room).await.unwrap();
    if dropped_at.elapsed() < grace {
        let a = users
            .iter()
            .find(|u| u.client_id == a_id)
            .expect("within the grace period A keeps its place");
        assert_eq!(
            a.location,
            alcove_proto::signal::Location::Breakout(br.clone())
        );
    } else {
        eprintln!("(the users query took longer than the grace period; its answer proves nothing)");
    }
    // The leave, when it comes, is the normal one: A's room empties and is destroyed.
    let mut types = Vec::new();
    let mut left_at = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(left_at.is_some() && types.contains(&"didDestroyedBreakoutRoom")) {
        let f = m
            .events
            .next_within(deadline.saturating_duration_since(Instant::now()))
            .await
            .unwrap_or_else(|| panic!("no leave within 30 s of the drop: {types:?}"));
        if f.id.is_none() {
            // Protocol 2: the leave is a `usersUpdated` batch naming A in `left`.
            if common::left_in(std::slice::from_ref(&f)).contains(&a_id) {
                left_at.get_or_insert(Instant::now());
            }
            types.push(f.msg.type_name());
        }
    }
    let waited = left_at.expect("seen") - dropped_at;
    assert!(
        waited >= grace,
        "A left {waited:?} after the drop, before its grace period ({grace:?}) ran out"
    );
    assert!(s
        .rest
        .users(&room)
        .await
        .unwrap()
        .iter()
        .all(|u| u.client_id != a_id));
    // Too late to resume.
    let (mut ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .unwrap();
    let again = serde_json::json!({"type": "connect", "id": 0, "resume": rc["resume_token"]});
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        again.to_string(),
    ))
    .await
    .unwrap();
    let f = ws.next().await.unwrap().unwrap();
    let err: serde_json::Value = serde_json::from_str(f.to_text().unwrap()).unwrap();
    assert_eq!(err["result"], 4108);
}

/// A server process (`alcove serve`), killed with SIGKILL when dropped.
struct Proc {
    child: Child,
    /// The HTTP address it bound (as it printed it).
    http: SocketAddr,
}

impl Proc {
    fn url(&self) -> String {
        format!("http://{}", self.http)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `alcove serve` on `listen` (port 0: the server binds a free port) with its media
/// socket on port 0, and returns once it has printed the address it bound. Ports are bound by
/// the server, never guessed by the test. The line comes after the server has bound its
/// sockets, opened the database and written the development credentials, so the server is
/// ready for requests (they queue on the bound listener until it accepts them).
async fn spawn_server(dir: &std::path::Path, listen: SocketAddr) -> Proc {
    use std::io::BufRead;
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = dir.join(format!("server-{}-{n}.log", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_alcove"))
        .args([
            "serve",
            "--listen",
            &listen.to_string(),
            "--udp-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("server log file"))
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        // Reads every line until the process ends (a closed pipe would fail its next print).
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split(" listening on http://").nth(1) {
                if let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok()) {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let got = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .expect("reader task");
    match got {
        Ok(http) => Proc { child, http },
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "server on {listen} did not come up ({e}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
}

/// Waits (deadline 10 s) until the server has saved the family state that `users` and the
/// pending `invitations` describe. Saves coalesce over 50 ms (driver.rs `SAVE_INTERVAL`): a
/// `kill -9` before the save would lose the last change, which is not what these tests are
/// about. The database is read, read-only, as the restarted server will read it.
async fn wait_saved(
    dir: &std::path::Path,
    room: &alcove_proto::RoomId,
    users: &[alcove_proto::signal::UserInfo],
    invitations: &[Vec<alcove_proto::ClientId>],
) {
    use rusqlite::{Connection, OpenFlags};
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::from("(nothing saved)");
    loop {
        let saved: Option<String> =
            Connection::open_with_flags(dir.join("alcove.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|c| {
                    c.query_row(
                        "SELECT snapshot FROM family_state WHERE room_id = ?1",
                        [&room.0],
                        |r| r.get(0),
                    )
                })
                .ok();
        if let Some(json) = saved {
            let snap: alcove_core::FamilySnapshot =
                serde_json::from_str(&json).expect("a saved snapshot parses");
            let places: Vec<_> = snap
                .clients
                .iter()
                .map(|c| (c.id.clone(), c.location.clone(), c.paused, c.muted))
                .collect();
            let want: Vec<_> = users
                .iter()
                .map(|u| (u.client_id.clone(), u.location.clone(), u.paused, u.muted))
                .collect();
            let invited: Vec<_> = snap
                .breakouts
                .iter()
                .map(|b| b.invitations.clone())
                .collect();
            if places == want && invited == invitations {
                return;
            }
            last = format!("{places:?} {invited:?}");
        }
        assert!(
            Instant::now() < deadline,
            "the family state was not saved within 10 s; last saved: {last}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn localhost_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn after_kill_9_and_a_restart_every_client_is_back_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), localhost_any_port()).await;
    let url = server.url();
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    let rest = RestClient::new(
        &url,
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap(),
    );
    let room = rest
        .create_room(&CreateRoomRequest {
            name: "restart".into(),
            owner_ref: "t".into(),
            settings: RoomSettingsInput::default(),
            data: serde_json::Value::Null,
        })
        .await
        .unwrap()
        .room_id;
    let mut peers = Vec::new();
    for (name, role) in [
        ("M", Role::Moderator),
        ("A", Role::Participant),
        ("B", Role::Participant),
        ("C", Role::Participant),
    ] {
        let t = rest
            .create_token(
                &room,
                &CreateTokenRequest {
                    name: name.into(),
                    role,
                    user_ref: name.into(),
                    data: serde_json::Value::Null,
                },
            )
            .await
            .unwrap();
        peers.push(connect(&rest.signal_url(), &t.token).await.unwrap());
    }
    let m = peers[0].0.clone();
    let rooms = m
        .create_break_out_room(&def(2, 2))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    let ids: Vec<_> = peers.iter().map(|(r, _)| r.client_id().clone()).collect();
    m.invite_to_break_out_room(&Invitee {
        clients: vec![ids[1].clone(), ids[2].clone()],
        room_id: rooms[0].clone(),
        force_join: true,
    })
    .await
    .unwrap();
    m.invite_to_break_out_room(&Invitee {
        clients: vec![ids[3].clone()],
        room_id: rooms[1].clone(),
        force_join: false,
    })
    .await
    .unwrap();
    peers[2].0.resume().await.unwrap(); // B resumes its parent link inside the BR
    let before = rest.users(&room).await.unwrap();
    let invitations = rest
        .breakout_rooms(&room)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.invitations)
        .collect::<Vec<_>>();
    assert_eq!(invitations, vec![vec![], vec![ids[3].clone()]]);

    // Once the state is saved: kill -9, then the same command on the same data dir and HTTP
    // address (the SDKs reconnect to the URL they know; the media port is the OS's pick).
    wait_saved(dir.path(), &room, &before, &invitations).await;
    let http = server.http;
    drop(server);
    let _server = spawn_server(dir.path(), http).await;
    for (r, _) in &peers {
        wait_state(r, ConnectionState::Reconnected).await;
    }
    let after = rest.users(&room).await.unwrap();
    assert_eq!(after.len(), 4, "everyone is back");
    for u in &before {
        let v = after
            .iter()
            .find(|x| x.client_id == u.client_id)
            .expect("same client ids");
        assert_eq!(
            (v.location.clone(), v.paused, v.muted),
            (u.location.clone(), u.paused, u.muted),
            "{} is where it was",
            u.name
        );
    }
    let brs = rest.breakout_rooms(&room).await.unwrap();
    assert_eq!(brs.len(), 2);
    assert_eq!(
        brs[1].invitations,
        vec![ids[3].clone()],
        "C's pending invitation survived the restart"
    );
    // And the family works: C accepts its invitation, the moderator destroys all.
    peers[3]
        .0
        .join_breakout_room(
            &rooms[1],
            alcove_proto::signal::JoinRole::Participant,
            Default::default(),
        )
        .await
        .unwrap();
    let ack = m.destroy_all_break_out_session().await.unwrap();
    assert_eq!(ack.result, 0);
}

/// Sends `name`-stamped Opus frames every 20 ms on `media` for `d` and returns the names of
/// the senders heard meanwhile (frames that arrived before the call are not counted).
async fn speak_and_listen(
    media: &mut alcove_client::media::Media,
    name: &str,
    d: Duration,
) -> std::collections::BTreeSet<String> {
    use alcove_client::media::synthetic_opus_frame;
    let start = std::time::Instant::now();
    while media.try_recv().is_some() {}
    let deadline = tokio::time::Instant::now() + d;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq: u32 = 0;
    let mut heard = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut payload = name.as_bytes().to_vec();
                payload.push(b':');
                payload.extend_from_slice(&seq.to_be_bytes());
                media.send_opus(&synthetic_opus_frame(&payload), -20);
                seq += 1;
            }
            f = media.recv() => match f {
                Some(f) if f.at >= start => {
                    let body = &f.data[1..];
                    let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
                    heard.insert(String::from_utf8_lossy(&body[..end]).into_owned());
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    heard
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// One listening window of [`hear_exactly`].
const WINDOW: Duration = Duration::from_millis(500);

/// Everyone in `peers` speaks and listens in windows of [`WINDOW`] until one window in which
/// each hears exactly its `want` (deadline 20 s: routes settle after a move or a restart, and a
/// loaded machine may skip a frame), then one more window in which nobody hears anyone outside
/// its `want`. Fails with what each heard last.
async fn hear_exactly(peers: &mut [(&mut alcove_client::media::Media, &str, &[&str])], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let want: Vec<_> = peers.iter().map(|(_, _, w)| names(w)).collect();
    loop {
        let heard = futures_util::future::join_all(
            peers
                .iter_mut()
                .map(|(m, name, _)| speak_and_listen(m, name, WINDOW)),
        )
        .await;
        if heard == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: wanted {want:?}, still hearing {heard:?} after 20 s"
        );
    }
    let heard = futures_util::future::join_all(
        peers
            .iter_mut()
            .map(|(m, name, _)| speak_and_listen(m, name, WINDOW)),
    )
    .await;
    for ((h, w), (_, name, _)) in heard.iter().zip(&want).zip(peers.iter()) {
        assert!(
            h.is_subset(w),
            "{what}: once settled, {name} heard {h:?}, more than {w:?}"
        );
    }
}

#[tokio::test]
async fn after_kill_9_and_a_restart_breakout_members_hear_each_other_on_new_connections() {
    use std::net::{IpAddr, Ipv4Addr};
    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), localhost_any_port()).await;
    let url = server.url();
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    let rest = RestClient::new(
        &url,
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap(),
    );
    let room = rest
        .create_room(&CreateRoomRequest {
            name: "restart-media".into(),
            owner_ref: "t".into(),
            settings: RoomSettingsInput::default(),
            data: serde_json::Value::Null,
        })
        .await
        .unwrap()
        .room_id;
    let mut peers = Vec::new();
    for (name, role) in [
        ("M", Role::Moderator),
        ("A", Role::Participant),
        ("B", Role::Participant),
    ] {
        let t = rest
            .create_token(
                &room,
                &CreateTokenRequest {
                    name: name.into(),
                    role,
                    user_ref: name.into(),
                    data: serde_json::Value::Null,
                },
            )
            .await
            .unwrap();
        let (r, events) = connect(&rest.signal_url(), &t.token).await.unwrap();
        let mut media = r.start_media(LOOPBACK, None).await.expect("sdp negotiated");
        assert!(
            media.wait_connected(Duration::from_secs(20)).await,
            "{name}: ICE + DTLS up"
        );
        peers.push((r, events, media));
    }
    let [(m, _me, mut m_media), (a, _ae, mut a_media), (b, _be, mut b_media)] =
        <[_; 3]>::try_from(peers).ok().unwrap();
    let br = m
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    m.invite_to_break_out_room(&Invitee {
        clients: vec![a.client_id().clone(), b.client_id().clone()],
        room_id: br.clone(),
        force_join: true,
    })
    .await
    .unwrap();

    // Everyone speaks: A and B hear each other, the moderator in the parent hears neither
    // (they are paused in their BR), and they do not hear the moderator.
    hear_exactly(
        &mut [
            (&mut m_media, "M", &[]),
            (&mut a_media, "A", &["B"]),
            (&mut b_media, "B", &["A"]),
        ],
        "before the restart",
    )
    .await;

    // Once the state is saved: kill -9, then the same command on the same data dir and HTTP
    // address.
    let users = rest.users(&room).await.unwrap();
    wait_saved(dir.path(), &room, &users, &[vec![]]).await;
    let http = server.http;
    drop(server);
    let _server = spawn_server(dir.path(), http).await;
    for r in [&m, &a, &b] {
        wait_state(r, ConnectionState::Reconnected).await;
    }
    // The app did nothing: each Media negotiated a new peer connection on its own.
    for (name, media) in [
        ("M", &mut m_media),
        ("A", &mut a_media),
        ("B", &mut b_media),
    ] {
        assert!(
            media.wait_restored(1, Duration::from_secs(20)).await,
            "{name}: media restored, now {:?}",
            media.state()
        );
        let st = media.state();
        assert_eq!(
            (st.renegotiations, st.ice_restarts),
            (1, 0),
            "{name}: a new peer connection, not an ICE restart: {st:?}"
        );
        assert_eq!(media.restarts(), 1);
    }
    let users = rest.users(&room).await.unwrap();
    for id in [a.client_id(), b.client_id()] {
        let u = users.iter().find(|u| &u.client_id == id).unwrap();
        assert_eq!(
            u.location,
            Location::Breakout(br.clone()),
            "{} in its BR",
            u.name
        );
    }
    hear_exactly(
        &mut [
            (&mut m_media, "M", &[]),
            (&mut a_media, "A", &["B"]),
            (&mut b_media, "B", &["A"]),
        ],
        "after the restart, the same as before",
    )
    .await;
    for (name, media) in [("M", &m_media), ("A", &a_media), ("B", &b_media)] {
        assert!(media.state().connected, "{name} connected");
    }
}

#[tokio::test]
async fn a_dropped_client_with_media_restarts_ice_on_its_kept_peer_connection() {
    use std::net::{IpAddr, Ipv4Addr};
    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let m = s.peer(&room, "M", Role::Moderator).await;
    let mut a = s.peer(&room, "A", Role::Participant).await;
    let b = s.peer(&room, "B", Role::Participant).await;
    let mut a_media = a.room.start_media(LOOPBACK, None).await.unwrap();
    let mut b_media = b.room.start_media(LOOPBACK, None).await.unwrap();
    assert!(a_media.wait_connected(Duration::from_secs(20)).await);
    assert!(b_media.wait_connected(Duration::from_secs(20)).await);
    let br = m
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    m.room
        .invite_to_break_out_room(&Invitee {
            clients: vec![a.id.clone(), b.id.clone()],
            room_id: br,
            force_join: true,
        })
        .await
        .unwrap();
    hear_exactly(
        &mut [(&mut a_media, "A", &["B"]), (&mut b_media, "B", &["A"])],
        "in the BR before the drop",
    )
    .await;

    a.room.drop_connection();
    wait_state(&a.room, ConnectionState::Reconnected).await;
    let f = a
        .events
        .wait_for(Duration::from_secs(30), |f| {
            f.msg.type_name() == "roomConnected"
        })
        .await
        .unwrap();
    let ServerMessage::RoomConnected(rc) = f.msg else {
        unreachable!()
    };
    assert!(
        rc.resumed && rc.media_kept,
        "the server kept A's peer connection"
    );
    assert!(
        a_media.wait_restored(1, Duration::from_secs(30)).await,
        "A restarted ICE: {:?}",
        a_media.state()
    );
    let st = a_media.state();
    assert_eq!((st.ice_restarts, st.renegotiations), (1, 0), "{st:?}");
    assert_eq!(b_media.restarts(), 0, "B's connection never dropped");
    // The same peer connection carries audio both ways after the restart.
    hear_exactly(
        &mut [(&mut a_media, "A", &["B"]), (&mut b_media, "B", &["A"])],
        "after the ICE restart",
    )
    .await;
    assert!(a_media.state().connected);
}

/// A client that resumes from a new network (its peer connection kept, ICE restarted from a
/// new local port) hears its room again although it says nothing itself: the server's direct
/// audio path (decision 0009) follows the pair the client nominates, not only where its own
/// RTP comes from. Then both directions work. The time from the restored connection to the
/// first frame heard is printed, not asserted.
#[tokio::test]
async fn a_client_resuming_from_a_new_port_hears_its_room_without_speaking() {
    use alcove_client::media::{synthetic_opus_frame, MediaOptions};
    use std::net::{IpAddr, Ipv4Addr};
    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut a = s.peer(&room, "A", Role::Participant).await;
    let b = s.peer(&room, "B", Role::Participant).await;
    let options = MediaOptions {
        new_port_on_restart: true,
        ..MediaOptions::default()
    };
    let mut a_media = a.room.start_media_with(LOOPBACK, options).await.unwrap();
    let mut b_media = b.room.start_media(LOOPBACK, None).await.unwrap();
    assert!(a_media.wait_connected(Duration::from_secs(20)).await);
    assert!(b_media.wait_connected(Duration::from_secs(20)).await);
    hear_exactly(
        &mut [(&mut a_media, "A", &["B"]), (&mut b_media, "B", &["A"])],
        "before the drop",
    )
    .await;

    a.room.drop_connection();
    wait_state(&a.room, ConnectionState::Reconnected).await;
    a.events
        .wait_for(Duration::from_secs(30), |f| {
            f.msg.type_name() == "roomConnected"
        })
        .await
        .unwrap();
    assert!(
        a_media.wait_restored(1, Duration::from_secs(30)).await,
        "A restarted ICE: {:?}",
        a_media.state()
    );
    assert_eq!(a_media.state().ice_restarts, 1);
    // Only B talks: A's new address is known to the server from A's nomination alone (and,
    // later, from A's RTCP).
    let restored = Instant::now();
    while a_media.try_recv().is_some() {}
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let first = loop {
        tokio::select! {
            _ = tick.tick() => b_media.send_opus(&synthetic_opus_frame(b"B:1"), -20),
            f = a_media.recv() => {
                if f.is_some_and(|f| f.data.get(1) == Some(&b'B')) {
                    break restored.elapsed();
                }
            }
            _ = tokio::time::sleep_until(deadline) => panic!("A never heard B from its new port"),
        }
    };
    println!(
        "A heard B {} ms after its ICE restart from a new port",
        first.as_millis()
    );
    hear_exactly(
        &mut [(&mut a_media, "A", &["B"]), (&mut b_media, "B", &["A"])],
        "after the move to a new port",
    )
    .await;
}

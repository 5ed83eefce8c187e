//! Connection hygiene (issue 9, finding 1), through real sockets:
//!
//! * the real `alcove` binary, run with a descriptor limit of 1,024 (`prlimit`), keeps
//!   answering `/healthz` and accepting a new signalling `connect` while 1,100 idle TCP
//!   connections are held against it;
//! * an idle connection, a slowloris request head and a WebSocket that never sends `connect`
//!   are closed after their timeouts, while a keep-alive client and a connected client are not;
//! * one address cannot hold more than its share: its oldest idle connection makes room.
//!
//! Loopback has a whole /8, so the tests open "attacker" connections from 127.0.0.2 and up
//! while the real client uses 127.0.0.1.

mod common;

use alcove_client::{connect, RestClient};
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::Role;
use common::TestServer;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A TCP connection to `server` from the loopback address `127.0.0.<from>`.
async fn tcp_from(from: u8, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)),
        0,
    ))?;
    socket.connect(server).await
}

/// `GET /healthz` on a new connection from `127.0.0.<from>`: the status line, or why not.
async fn healthz(from: u8, server: SocketAddr) -> Result<String, String> {
    let attempt = async {
        let mut s = tcp_from(from, server).await.map_err(|e| e.to_string())?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: alcove\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out).to_string();
        Ok(text.lines().next().unwrap_or("").to_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .unwrap_or_else(|_| Err("no answer within 5 s".into()))
}

/// Waits until the server ends the connection (EOF or reset); returns how long it took.
/// Panics after `within`.
async fn closed_within(s: &mut TcpStream, within: Duration, what: &str) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + within).into(), s.read(&mut buf)).await {
            Err(_) => panic!("{what}: still open after {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue,
        }
    }
}

/// A server process (`alcove serve`), killed when dropped.
struct Proc {
    child: Child,
    http: SocketAddr,
    log: std::path::PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `alcove serve` (the binary of `ALCOVE_BIN`, else this build's) under
/// `prlimit --nofile=LIMIT:LIMIT`, and returns once it printed the address it bound.
async fn spawn_limited(dir: &std::path::Path, nofile: u64) -> Proc {
    use std::io::BufRead;
    let bin = std::env::var("ALCOVE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_alcove").into());
    let log = dir.join("server.log");
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--udp-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("server log file"))
        .spawn()
        .expect("prlimit runs the server (util-linux)");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
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
        Ok(http) => Proc { child, http, log },
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "server did not come up ({e}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_1024_descriptors_1100_idle_connections_do_not_lock_out_health_checks_or_clients() {
    // This test process holds 1,100+ sockets itself.
    let (fds, _) = alcove_server::limit::raise_nofile_limit().expect("descriptor limit");
    assert!(
        fds >= 1_400,
        "the test needs 1,400 descriptors, the hard limit is {fds}"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_limited(dir.path(), 1024).await;
    let addr = server.http;
    let url = format!("http://{addr}");

    // A room and a token first (the REST client's own connections are not the point).
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
            name: "fd".into(),
            owner_ref: "t".into(),
            settings: RoomSettingsInput::default(),
            data: serde_json::Value::Null,
        })
        .await
        .expect("room")
        .room_id;
    let token = |name: &str| CreateTokenRequest {
        name: name.into(),
        role: Role::Participant,
        user_ref: name.into(),
        data: serde_json::Value::Null,
    };
    let early = rest
        .create_token(&room, &token("early"))
        .await
        .unwrap()
        .token;
    let late = rest
        .create_token(&room, &token("late"))
        .await
        .unwrap()
        .token;
    let (early, _early_events) = connect(&format!("ws://{addr}/v1/signal"), &early)
        .await
        .expect("a client connected before the flood");

    // 1,100 connections that send nothing, from five addresses (220 each: under the
    // per-address cap, over the total the server can hold with 1,024 descriptors).
    let mut idle = Vec::new();
    let mut failed = 0;
    for i in 0..1_100u32 {
        let from = 2 + (i % 5) as u8;
        match tokio::time::timeout(Duration::from_millis(500), tcp_from(from, addr)).await {
            Ok(Ok(s)) => idle.push(s),
            _ => failed += 1,
        }
    }
    assert!(
        failed <= 50,
        "{failed} of 1,100 idle connections were not even established"
    );

    // While they are held: health checks answer, and a new client connects.
    for _ in 0..3 {
        assert_eq!(
            healthz(1, addr).await.as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "/healthz with 1,100 idle connections held; server log:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
    }
    let (late, _late_events) = tokio::time::timeout(
        Duration::from_secs(10),
        connect(&format!("ws://{addr}/v1/signal"), &late),
    )
    .await
    .expect("connect answered in time")
    .expect("a new client connects while 1,100 idle connections are held");
    assert_eq!(
        late.users().await.unwrap().len(),
        2,
        "it sees the early client"
    );
    // The client connected before the flood was never evicted: it still gets answers.
    let ack = early
        .request(alcove_proto::signal::ClientMessage::Pause)
        .await
        .expect("the early client still works");
    assert_eq!(ack.msg.result(), Some(0));
    drop(idle);

    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(
        log.contains("open descriptor limit 1024"),
        "the server logs its descriptor limit:\n{log}"
    );
    assert!(
        !log.contains("Too many open files"),
        "the server never ran out of descriptors:\n{log}"
    );
}

#[tokio::test]
async fn idle_slow_and_silent_connections_are_closed_and_working_ones_are_not() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.idle_timeout = Duration::from_secs(2);
        c.header_timeout = Duration::from_secs(1);
        c.connect_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = s.running.addr;
    let room = s.room(RoomSettingsInput::default()).await;
    let connected = s.peer(&room, "Working", Role::Participant).await;

    // Opened at once: an idle connection, a slowloris one, a silent WebSocket, and a
    // keep-alive client that makes a request every 300 ms.
    let mut idle = tcp_from(2, addr).await.unwrap();
    let idle_opened = Instant::now();
    let mut slow = tcp_from(3, addr).await.unwrap();
    let (mut silent_ws, _) = tokio_tungstenite::connect_async(s.running.signal_url())
        .await
        .unwrap();
    let keep_alive = tokio::spawn(async move {
        let mut k = tcp_from(4, addr).await.unwrap();
        let start = Instant::now();
        let mut answered = 0;
        while start.elapsed() < Duration::from_secs(4) {
            k.write_all(b"GET /healthz HTTP/1.1\r\nHost: alcove\r\n\r\n")
                .await
                .expect("keep-alive connection open");
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(5), k.read(&mut buf))
                .await
                .expect("answered")
                .expect("read");
            assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
                "answered on the kept-alive connection"
            );
            answered += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        answered
    });
    let slowloris = tokio::spawn(async move {
        // A request head, one byte every 200 ms, never finished.
        let head = b"GET /healthz HTTP/1.1\r\nHost: alcove\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let start = Instant::now();
        for b in head {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            let mut buf = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
                _ => {}
            }
        }
        panic!("the slowloris head was read to the end without being closed");
    });

    let silent = tokio::time::timeout(Duration::from_secs(10), async {
        use futures_util::StreamExt;
        let start = Instant::now();
        loop {
            match silent_ws.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => {
                    return (start.elapsed(), f.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                _ => return (start.elapsed(), None),
            }
        }
    })
    .await
    .expect("the silent WebSocket is closed in time");
    assert_eq!(silent.1, Some(1008), "closed with 1008 after no connect");

    closed_within(&mut idle, Duration::from_secs(10), "idle connection").await;
    let idle_after = idle_opened.elapsed();
    assert!(
        idle_after >= Duration::from_millis(1_500),
        "closed by the idle timeout (2 s), not at once: {idle_after:?}"
    );
    let slow_after = slowloris.await.unwrap();
    assert!(
        slow_after < Duration::from_secs(4),
        "a request head dribbling a byte every 200 ms is cut by the header timeout (1 s): {slow_after:?}"
    );
    let answered = keep_alive.await.expect("keep-alive client never cut off");
    assert!(answered >= 5, "{answered} requests answered");

    // The connected client was idle for longer than every timeout above, and still works.
    let ack = connected
        .room
        .request(alcove_proto::signal::ClientMessage::Pause)
        .await
        .expect("the connected client still works");
    assert_eq!(ack.msg.result(), Some(0));
}

#[tokio::test]
async fn one_address_holds_its_share_and_its_oldest_idle_connection_makes_room() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| {
        c.max_connections_per_ip = 4;
    })
    .await;
    let addr = s.running.addr;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(tcp_from(9, addr).await.unwrap());
    }
    // The first six were closed to make room for the last four; a health check from the same
    // address closes one more and is answered.
    assert_eq!(healthz(9, addr).await.as_deref(), Ok("HTTP/1.1 200 OK"));
    for (i, s) in held.iter_mut().take(7).enumerate() {
        closed_within(s, Duration::from_secs(5), &format!("idle connection {i}")).await;
    }
    // Another address is not affected by 127.0.0.9's share.
    assert_eq!(healthz(10, addr).await.as_deref(), Ok("HTTP/1.1 200 OK"));
    let mut last = held.pop().unwrap();
    let mut buf = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(100), last.read(&mut buf))
            .await
            .is_err(),
        "the newest idle connection is still open"
    );
}

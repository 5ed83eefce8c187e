//! Measurements of cluster mode (docs/cluster.md, "Cost and measurements"), on a real Redis and
//! real `alcove` processes. Ignored by default (they take a minute and print numbers):
//!
//! ```text
//! cargo test -p alcove-server --test cluster_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `ALCOVE_BIN` runs another `alcove` binary (e.g. a release build) instead of the test build.

mod cluster_common;

use alcove_client::{connect, ConnectionState};
use alcove_proto::signal::{ClientMessage, Invitee, MediaFlags, Role, RoomDefinition};
use cluster_common::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LEASE_MS: u64 = 3000;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn cluster(dir: &std::path::Path, lease: u64) -> (Redis, Vec<Node>) {
    let redis = Redis::start(dir).await;
    let mut nodes = Vec::new();
    for n in ["n1", "n2", "n3"] {
        nodes.push(Node::start(dir, &redis.url(), n, lease).await);
    }
    (redis, nodes)
}

#[tokio::test]
#[ignore]
async fn bench_signalling_round_trip_bridged_vs_direct() {
    let dir = tempfile::tempdir().unwrap();
    let (_redis, nodes) = cluster(dir.path(), LEASE_MS).await;
    let rest = rest(dir.path(), &nodes[0].url());
    let room = create_room(&rest, "rtt").await;
    let t = token(&rest, &room, "first", Role::Moderator).await;
    let (first, _e) = connect(&nodes[0].signal_url(), &t).await.unwrap();
    let host = host_of(dir.path(), &nodes[0].url(), &room).await.unwrap();
    let owner = nodes.iter().find(|n| n.name == host).unwrap();
    let other = nodes.iter().find(|n| n.name != host).unwrap();
    let mut results = Vec::new();
    for (label, node) in [("direct", owner), ("bridged", other), ("direct", owner)] {
        let t = token(&rest, &room, label, Role::Participant).await;
        let (r, _e) = connect(&node.signal_url(), &t).await.unwrap();
        let mut rtts = Vec::new();
        for i in 0..1200 {
            let s = Instant::now();
            // `muteRoom` with no flag: answered at once (1155), changes nothing.
            let _ = r
                .request(ClientMessage::MuteRoom(MediaFlags::default()))
                .await
                .unwrap();
            if i >= 200 {
                rtts.push(s.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let p50 = pct(&mut rtts, 0.5);
        let p99 = pct(&mut rtts, 0.99);
        println!("signalling round trip {label} via {}: p50 {p50:.3} ms, p99 {p99:.3} ms (1000 requests)", node.name);
        results.push((label, p50));
        r.close().await;
    }
    let direct = (results[0].1 + results[2].1) / 2.0;
    println!(
        "added by the bridge (p50): {:+.3} ms",
        results[1].1 - direct
    );
    first.close().await;
}

/// One keep-alive HTTP/1.1 connection that posts the same token request again and again
/// (raw bytes: the test's own HTTP client, built in debug, would be the bottleneck); returns
/// how many tokens it got until `stop`.
async fn post_tokens(addr: std::net::SocketAddr, request: Vec<u8>, stop: Instant) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0;
    while Instant::now() < stop {
        s.write_all(&request).await.unwrap();
        buf.clear();
        // Read the head, then Content-Length bytes of body.
        let (head_end, len) = loop {
            let mut chunk = [0u8; 4096];
            let k = s.read(&mut chunk).await.unwrap();
            assert!(k > 0, "connection closed");
            buf.extend_from_slice(&chunk[..k]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                assert!(
                    head.starts_with("http/1.1 201") || head.starts_with("http/1.1 200"),
                    "{head}"
                );
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("content-length");
                break (i + 4, len);
            }
        };
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            let k = s.read(&mut chunk).await.unwrap();
            assert!(k > 0, "connection closed");
            buf.extend_from_slice(&chunk[..k]);
        }
        assert!(buf[head_end..].starts_with(b"{\"result\":0"));
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_rest_token_creation_across_three_nodes() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let (_redis, nodes) = cluster(dir.path(), LEASE_MS).await;
    let rest0 = rest(dir.path(), &nodes[0].url());
    let room = create_room(&rest0, "tokens").await;
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap()
    ));
    let body = r#"{"name":"Ada","role":"participant","user_ref":"u1"}"#;
    let run = Duration::from_secs(5);
    let start = Instant::now();
    let stop = start + run;
    let mut tasks = Vec::new();
    for node in &nodes {
        let request = format!(
            "POST /v1/rooms/{}/tokens HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            room.as_str(),
            node.http,
            body.len()
        )
        .into_bytes();
        for _ in 0..8 {
            tasks.push(tokio::spawn(post_tokens(node.http, request.clone(), stop)));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "REST token creation, 3 nodes × 8 keep-alive connections: {total} tokens in {secs:.1} s = {:.0} tokens/s",
        total as f64 / secs
    );
}

fn def() -> RoomDefinition {
    RoomDefinition {
        participants: 2,
        audio: true,
        max_rooms: 1,
        ..RoomDefinition::default()
    }
}

/// Per client: the time from `since` to the end of the first 250 ms window in which it heard
/// exactly its `want`.
async fn heard_again(
    peers: &mut [(&mut alcove_client::media::Media, &str, &[&str])],
    since: Instant,
) -> Vec<f64> {
    let want: Vec<std::collections::BTreeSet<String>> = peers
        .iter()
        .map(|(_, _, w)| w.iter().map(|s| s.to_string()).collect())
        .collect();
    let mut done: Vec<Option<f64>> = vec![None; peers.len()];
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.iter().any(Option::is_none) && Instant::now() < deadline {
        let heard = futures_util::future::join_all(
            peers
                .iter_mut()
                .map(|(m, name, _)| speak_and_listen(m, name, Duration::from_millis(250))),
        )
        .await;
        let t = since.elapsed().as_secs_f64();
        for (i, h) in heard.iter().enumerate() {
            if done[i].is_none() && *h == want[i] {
                done[i] = Some(t);
            }
        }
    }
    done.into_iter()
        .map(|d| d.expect("heard again within 30 s"))
        .collect()
}

#[tokio::test]
#[ignore]
async fn bench_kill_9_to_room_heard_again() {
    let mut all = Vec::new();
    for trial in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let (_redis, mut nodes) = cluster(dir.path(), LEASE_MS).await;
        let front = Front::start(&nodes.iter().map(|n| n.http).collect::<Vec<_>>()).await;
        let rest = rest(dir.path(), &front.url());
        let room = create_room(&rest, "kill").await;
        let mut peers = Vec::new();
        for (who, role) in [
            ("M", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
        ] {
            let t = token(&rest, &room, who, role).await;
            let (r, e) = connect(&front.signal_url(), &t).await.unwrap();
            let mut m = r.start_media(LOOPBACK, None).await.unwrap();
            assert!(m.wait_connected(Duration::from_secs(20)).await);
            peers.push((r, e, m));
        }
        let br = peers[0]
            .0
            .create_break_out_room(&def())
            .await
            .unwrap()
            .msg
            .data()
            .unwrap()
            .rooms[0]
            .clone();
        peers[0]
            .0
            .invite_to_break_out_room(&Invitee {
                clients: vec![
                    peers[1].0.client_id().clone(),
                    peers[2].0.client_id().clone(),
                ],
                room_id: br,
                force_join: true,
            })
            .await
            .unwrap();
        {
            let [(_, _, m), (_, _, a), (_, _, b)] = &mut peers[..] else {
                unreachable!()
            };
            hear_exactly(
                &mut [(m, "M", &[]), (a, "A", &["B"]), (b, "B", &["A"])],
                "before",
                Duration::from_secs(20),
            )
            .await;
        }
        let host = host_of(dir.path(), &front.url(), &room).await.unwrap();
        let owner = nodes.iter().position(|n| n.name == host).unwrap();
        front.remove(nodes[owner].http);
        let killed = Instant::now();
        nodes[owner].kill9();
        let [(_, _, m), (_, _, a), (_, _, b)] = &mut peers[..] else {
            unreachable!()
        };
        // M hears nobody before and after: only A and B measure "heard again".
        let times = heard_again(&mut [(a, "A", &["B"]), (b, "B", &["A"])], killed).await;
        let _ = m;
        println!("trial {trial}: kill -9 → heard again {times:?} s");
        all.extend(times);
        for (r, _, _) in &peers {
            assert_ne!(*r.connection_state().borrow(), ConnectionState::Closed);
        }
    }
    let p50 = pct(&mut all.clone(), 0.5);
    let p95 = pct(&mut all, 0.95);
    println!("kill -9 of the owner → break-out room heard again (lease {LEASE_MS} ms): p50 {p50:.2} s, p95 {p95:.2} s over {} clients", all.len());
}

#[tokio::test]
#[ignore]
async fn bench_drain_three_families_of_twenty() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path()).await;
    let mut n1 = Node::start(dir.path(), &redis.url(), "n1", LEASE_MS).await;
    let front = Front::start(&[n1.http]).await;
    let rest = rest(dir.path(), &front.url());
    // DRAIN_MEDIA=1: every client has media on, and counts as back once its media is
    // restored on the new owner.
    let media_on = std::env::var("DRAIN_MEDIA").is_ok_and(|v| v == "1");
    let mut rooms = Vec::new();
    let mut clients = Vec::new();
    for f in 0..3 {
        let room = create_room(&rest, &format!("drain-{f}")).await;
        for i in 0..20 {
            let role = if i == 0 {
                Role::Moderator
            } else {
                Role::Participant
            };
            let t = token(&rest, &room, &format!("u{i}"), role).await;
            let (r, e) = connect(&front.signal_url(), &t).await.unwrap();
            let media = if media_on {
                let mut m = r.start_media(LOOPBACK, None).await.unwrap();
                assert!(m.wait_connected(Duration::from_secs(30)).await);
                Some(m)
            } else {
                None
            };
            clients.push((r, e, media));
        }
        rooms.push(room);
    }
    let n2 = Node::start(dir.path(), &redis.url(), "n2", LEASE_MS).await;
    let n3 = Node::start(dir.path(), &redis.url(), "n3", LEASE_MS).await;
    front.add(n2.http);
    front.add(n3.http);
    front.remove(n1.http);
    let t = Instant::now();
    n1.sigterm();
    let status = n1.wait_exit(Duration::from_secs(30)).await;
    let exited = t.elapsed();
    assert!(status.is_some_and(|s| s.success()));
    for (r, _, media) in &mut clients {
        let mut st = r.connection_state();
        tokio::time::timeout(
            Duration::from_secs(30),
            st.wait_for(|s| *s == ConnectionState::Reconnected),
        )
        .await
        .expect("resumed")
        .unwrap();
        if let Some(m) = media {
            assert!(
                m.wait_restored(1, Duration::from_secs(30)).await,
                "media restored"
            );
        }
    }
    let all_back = t.elapsed();
    let mut lost = 0;
    for room in &rooms {
        lost += 20 - rest.users(room).await.unwrap().len();
    }
    println!(
        "drain of 3 families × 20 clients (media {}): node exited after {} ms, every client resumed after {} ms, {lost} clients lost",
        if media_on { "on" } else { "off" },
        exited.as_millis(),
        all_back.as_millis()
    );
    drop(n2);
    drop(n3);
}

/// Commands Redis has run so far (`INFO commandstats`, every command; scripts count once as
/// `evalsha`/`eval` plus the commands they run).
fn redis_calls(url: &str) -> u64 {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    let total: u64 = info
        .lines()
        .filter(|l| {
            l.starts_with("cmdstat_")
                && !l.starts_with("cmdstat_info")
                && !l.starts_with("cmdstat_client")
        })
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    total
}

#[tokio::test]
#[ignore]
async fn bench_redis_operations_per_join() {
    let dir = tempfile::tempdir().unwrap();
    // A lease far longer than the run and no heartbeat noise counted: heartbeats are
    // subtracted by measuring over quiet windows of the same length.
    let (redis, nodes) = cluster(dir.path(), 60_000).await;
    let url = redis.url();
    let rest0 = rest(dir.path(), &nodes[0].url());
    let room = create_room(&rest0, "ops").await;
    let quiet = |d: Duration| {
        let url = url.clone();
        async move {
            let a = redis_calls(&url);
            tokio::time::sleep(d).await;
            redis_calls(&url) - a
        }
    };
    let measure = |label: &'static str, calls: u64| println!("{label}: {calls} Redis commands");
    let a = redis_calls(&url);
    let t = token(&rest0, &room, "x", Role::Participant).await;
    measure("REST token creation", redis_calls(&url) - a);
    let a = redis_calls(&url);
    let (first, _e) = connect(&nodes[0].signal_url(), &t).await.unwrap();
    measure(
        "first join (placement + admission), ± heartbeats",
        redis_calls(&url) - a,
    );
    let host = host_of(dir.path(), &nodes[0].url(), &room).await.unwrap();
    let owner = nodes.iter().find(|n| n.name == host).unwrap();
    let other = nodes.iter().find(|n| n.name != host).unwrap();
    let mut keep = Vec::new();
    for (label, node) in [
        ("join on the owner", owner),
        ("join through another node", other),
    ] {
        let t = token(&rest0, &room, label, Role::Participant).await;
        let a = redis_calls(&url);
        let (r, e) = connect(&node.signal_url(), &t).await.unwrap();
        let n = redis_calls(&url) - a;
        println!("{label}: {n} Redis commands (heartbeats may add 3 per node-second)");
        keep.push((r, e));
    }
    let idle = quiet(Duration::from_secs(3)).await;
    println!(
        "idle cluster (3 nodes, 1 family): {:.1} Redis commands/s",
        idle as f64 / 3.0
    );
    first.close().await;
}

//! A flood of datagrams at the media port of a busy family, over real sockets: the server drops
//! and counts what it cannot take, its memory stays bounded, and the family's real clients
//! still hear each other afterwards.
//!
//! The flood has two parts: garbage from an address the server never saw (unroutable), and
//! STUN binding requests carrying the server ufrag of a real session of the family, which the
//! demux routes to that family (it cannot check their integrity; the session's ICE agent
//! rejects them). The second part is sent in `sendmmsg` batches, faster than a family can take
//! STUN requests, so the family's bound of queued bytes is reached. Its datagrams grow in size
//! within a batch, so none is merged into a GSO message: the kernel counts its receive-buffer
//! drops per packet, and every datagram sent can be accounted for.

mod common;

use alcove_client::media::{synthetic_opus_frame, Media};
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::Role;
use alcove_server::udp::stats::UdpStatsSnapshot;
use alcove_server::udp::{MediaSocket, TxBatch, FAMILY_QUEUE_BYTES};
use common::{Peer, TestServer};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Size of the garbage datagrams; the STUN ones are 1000 to 1511 bytes.
const FLOOD_DATAGRAM: usize = 1100;
/// Datagrams per send batch of the STUN flood.
const FLOOD_BATCH: usize = 512;
/// Flood datagrams sent at the family's ufrag: ≈ 375 MB, hundreds of times its bound.
const FLOOD_STUN: usize = 300_000;
/// Garbage datagrams from a stranger.
const FLOOD_GARBAGE: usize = 20_000;
/// Most the process may grow while the flood is absorbed. A server that queued what it cannot
/// take would grow by a large share of the flood's 350 MB.
const RSS_GROWTH_LIMIT_KIB: u64 = 64 * 1024;

/// Publishes `name`-stamped frames every 20 ms while `on` is set.
fn talk(media: Arc<Media>, name: &'static str, on: Arc<AtomicBool>) {
    on.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let mut seq: u32 = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if !on.load(Ordering::Relaxed) {
                return;
            }
            let mut payload = name.as_bytes().to_vec();
            payload.push(b':');
            payload.extend_from_slice(&seq.to_be_bytes());
            media.send_opus(&synthetic_opus_frame(&payload), -20);
            seq += 1;
        }
    });
}

async fn heard(media: &mut Media, d: Duration) -> BTreeSet<String> {
    let deadline = tokio::time::Instant::now() + d;
    let mut out = BTreeSet::new();
    while let Ok(Some(f)) = tokio::time::timeout_at(deadline, media.recv()).await {
        let body = &f.data[1..];
        let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
        out.insert(String::from_utf8_lossy(&body[..end]).into_owned());
    }
    out
}

async fn media_peer(s: &TestServer, room: &alcove_proto::RoomId, name: &str) -> (Peer, Media) {
    let p = s.peer(room, name, Role::Participant).await;
    let mut m = p
        .room
        .start_media(LOOPBACK, None)
        .await
        .expect("sdp negotiated");
    assert!(
        m.wait_connected(Duration::from_secs(5)).await,
        "{name}: ICE + DTLS up"
    );
    (p, m)
}

/// This process's resident set (server and clients live in it), KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Datagrams the kernel dropped on the full receive buffer of the socket bound to `addr` (the
/// last column of `/proc/net/udp`).
fn kernel_drops(addr: SocketAddr) -> u64 {
    let port = format!(":{:04X} ", addr.port());
    let table = std::fs::read_to_string("/proc/net/udp").expect("/proc/net/udp");
    let line = table
        .lines()
        .find(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").ends_with(&port))
        })
        .expect("the server's socket in /proc/net/udp");
    line.split_whitespace()
        .last()
        .and_then(|d| d.parse().ok())
        .expect("drops column")
}

/// A STUN binding request whose USERNAME names `ufrag` (no MESSAGE-INTEGRITY: it can be
/// routed, never accepted), padded to `size` bytes.
fn binding_request(ufrag: &str, size: usize) -> Vec<u8> {
    let username = format!("{ufrag}:flood");
    let mut attrs = vec![0x00, 0x06];
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    // PADDING (0x0026) up to the size.
    let pad = size - 20 - attrs.len() - 4;
    attrs.extend_from_slice(&[0x00, 0x26]);
    attrs.extend_from_slice(&(pad as u16).to_be_bytes());
    attrs.resize(attrs.len() + pad, 0);
    let mut m = vec![0x00, 0x01];
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    m.extend_from_slice(&[9; 12]);
    m.extend_from_slice(&attrs);
    assert_eq!(m.len(), size);
    m
}

/// The counters at a moment when the reader is between batches: every datagram it has read
/// is accounted for (routed or dropped with a reason). Media keeps flowing (RTCP, consent
/// checks), so such a moment is waited for, not assumed; a reader that loses count of some
/// datagrams never shows one.
async fn settled(s: &TestServer) -> UdpStatsSnapshot {
    let stats = || {
        s.running
            .state
            .families
            .media
            .as_ref()
            .expect("media enabled")
            .socket
            .stats()
            .snapshot()
    };
    let mut last = stats();
    for _ in 0..1000 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = stats();
        let accounted =
            now.routed + now.dropped_unroutable + now.dropped_overload + now.dropped_truncated;
        if now == last && now.received == accounted {
            return now;
        }
        last = now;
    }
    panic!("the reader's counters never added up: {last:?}");
}

/// `GET /metrics` over plain HTTP/1.1 with optional Basic credentials: (status line, body).
async fn get_metrics(addr: SocketAddr, basic: Option<(&str, &str)>) -> (String, String) {
    use base64::Engine;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = basic
        .map(|(id, key)| {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"));
            format!("Authorization: Basic {b}\r\n")
        })
        .unwrap_or_default();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: test\r\n{auth}Connection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("request");
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await.expect("response");
    let status = resp.lines().next().unwrap_or_default().to_owned();
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

fn metric(body: &str, name: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_a_busy_family_is_dropped_and_counted_memory_stays_bounded_and_clients_still_hear_each_other(
) {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let (_a, a_media) = media_peer(&s, &room, "A").await;
    let (_b, mut b_media) = media_peer(&s, &room, "B").await;
    let (_c, mut c_media) = media_peer(&s, &room, "C").await;
    let (_d, d_media) = media_peer(&s, &room, "D").await;
    let a_media = Arc::new(a_media);
    let d_media = Arc::new(d_media);
    let both = BTreeSet::from(["A".to_owned(), "D".to_owned()]);
    let talking = Arc::new(AtomicBool::new(true));
    talk(Arc::clone(&a_media), "A", Arc::clone(&talking));
    talk(Arc::clone(&d_media), "D", Arc::clone(&talking));

    // A busy family: B and C hear A and D.
    assert_eq!(heard(&mut b_media, Duration::from_millis(800)).await, both);
    assert_eq!(heard(&mut c_media, Duration::from_millis(100)).await, both);

    let shell = s.running.state.families.media.clone().expect("media");
    let ufrags = shell.demux.ufrags_of(&room);
    assert_eq!(ufrags.len(), 4, "one bound ufrag per session: {ufrags:?}");
    let server_udp = s.running.udp_addr().expect("udp");

    // Quiet before the flood, so that the counters below belong to it.
    talking.store(false, Ordering::Relaxed);
    let before = settled(&s).await;
    let kernel_before = kernel_drops(server_udp);
    let rss_before = rss_kib();

    // The flood, from two sockets the server has never seen. RSS is sampled while it runs.
    let flooding = Arc::new(AtomicBool::new(true));
    let sampler = {
        let flooding = Arc::clone(&flooding);
        tokio::task::spawn_blocking(move || {
            let mut peak = rss_kib();
            while flooding.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let stun: Vec<Vec<u8>> = (0..FLOOD_BATCH)
        .map(|i| binding_request(&ufrags[0], 1000 + i))
        .collect();
    let flood_socket = MediaSocket::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let garbage_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut garbage_sent = 0u64;
    let mut batch = TxBatch::default();
    for i in 0..FLOOD_STUN {
        batch.push(server_udp, stun[i % FLOOD_BATCH].clone());
        if batch.len() == FLOOD_BATCH {
            batch.flush(&flood_socket);
            // Yield now and then so the server's tasks run on this runtime too.
            tokio::task::yield_now().await;
        }
        if i % (FLOOD_STUN / FLOOD_GARBAGE) == 0 {
            // 0xFF: neither STUN, DTLS nor RTP; from an address no ufrag was seen from.
            if garbage_socket
                .send_to(&[0xFF; FLOOD_DATAGRAM], server_udp)
                .is_ok()
            {
                garbage_sent += 1;
            }
        }
    }
    batch.flush(&flood_socket);
    let stun_sent = flood_socket.stats().snapshot().sent;
    assert!(
        stun_sent > FLOOD_STUN as u64 / 2,
        "the flood went out ({stun_sent} of {FLOOD_STUN})"
    );

    // Media again: its datagrams also carry the kernel's latest drop count to the reader.
    talk(Arc::clone(&a_media), "A", Arc::clone(&talking));
    talk(Arc::clone(&d_media), "D", Arc::clone(&talking));
    tokio::time::sleep(Duration::from_millis(500)).await;
    flooding.store(false, Ordering::Relaxed);
    let rss_peak = sampler.await.expect("sampler");
    talking.store(false, Ordering::Relaxed);
    let after = settled(&s).await;

    let d = |f: fn(&UdpStatsSnapshot) -> u64| f(&after) - f(&before);
    let received = d(|s| s.received);
    let kernel = d(|s| s.dropped_kernel);
    let unroutable = d(|s| s.dropped_unroutable);
    let overload = d(|s| s.dropped_overload);
    let routed = d(|s| s.routed);
    let truncated = d(|s| s.dropped_truncated);
    let socket_drops = kernel_drops(server_udp) - kernel_before;
    eprintln!(
        "flood: {stun_sent} STUN + {garbage_sent} garbage sent; server received {received}, \
         kernel dropped {socket_drops} (reported {kernel}), routed {routed}, unroutable {unroutable}, overload {overload}, \
         most queued toward one family {} B; RSS {rss_before} → peak {rss_peak} KiB",
        after.queued_bytes_max
    );

    // Every datagram read is counted exactly once: routed, or dropped with its reason.
    assert_eq!(received, routed + unroutable + overload + truncated);
    // Every flood datagram was either read or dropped by the kernel on the server's socket.
    assert!(
        received + socket_drops >= stun_sent + garbage_sent,
        "{received} read + {socket_drops} kernel drops < {} sent",
        stun_sent + garbage_sent
    );
    // The kernel's drops reach the counters (as of the last datagram read), never more.
    assert!(kernel <= socket_drops);
    assert!(socket_drops == 0 || kernel > 0, "kernel drops are reported");
    // The flood was more than the server could take, and what it dropped it counted.
    assert!(
        overload + socket_drops > 0,
        "something of the flood was dropped"
    );
    assert!(
        unroutable > 0,
        "the garbage that reached the reader is unroutable"
    );
    // Bounded: never more than the family's bound queued toward it, and no growth with the flood.
    assert!(after.queued_bytes_max <= FAMILY_QUEUE_BYTES as u64);
    assert!(
        rss_peak.saturating_sub(rss_before) < RSS_GROWTH_LIMIT_KIB,
        "RSS grew from {rss_before} to {rss_peak} KiB during a flood of {} MB",
        (stun_sent * 1256 + garbage_sent * FLOOD_DATAGRAM as u64) / 1_000_000
    );
    assert!(
        shell.demux.remembered_addrs() <= 4 * alcove_server::udp::ADDRS_PER_UFRAG,
        "the demux remembers a bounded number of addresses"
    );

    // The counters an operator reads: GET /metrics, with app credentials only.
    let (status, _) = get_metrics(s.running.addr, None).await;
    assert!(status.contains("401"), "unauthenticated: {status}");
    let creds = s.running.credentials.clone().expect("dev credentials");
    let (status, body) = get_metrics(s.running.addr, Some((&creds.app_id, &creds.app_key))).await;
    assert!(status.contains("200"), "{status}");
    assert!(metric(&body, "alcove_udp_dropped_overload_total") >= after.dropped_overload);
    assert!(metric(&body, "alcove_udp_dropped_unroutable_total") >= after.dropped_unroutable);
    assert!(metric(&body, "alcove_udp_received_datagrams_total") >= after.received);

    // The family still works: B and C hear A and D again.
    talk(Arc::clone(&a_media), "A", Arc::clone(&talking));
    talk(Arc::clone(&d_media), "D", Arc::clone(&talking));
    while b_media.try_recv().is_some() {}
    while c_media.try_recv().is_some() {}
    let h = heard(&mut b_media, Duration::from_millis(1500)).await;
    assert_eq!(h, both, "B hears A and D after the flood");
    let h = heard(&mut c_media, Duration::from_millis(300)).await;
    assert_eq!(h, both, "C hears A and D after the flood");
    talking.store(false, Ordering::Relaxed);
    let sent_after = settled(&s).await;
    assert!(sent_after.sent > after.sent, "the server sends media again");
}

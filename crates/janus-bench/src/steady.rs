//! `steady`: K rooms × S members, everyone talking, against Janus's VideoRoom.
//!
//! The same load as `alcove-load steady`: every member publishes one Opus stream of 50 frames
//! per second (level −20, stamped with sender index, sequence number and send time) and hears
//! the S − 1 others of its room. In Janus terms each member has one session (one WebSocket)
//! with two handles: a publisher (our offer, audio send-only) and a multistream subscriber to
//! the S − 1 other feeds of its room (Janus's offer, our answer).
//!
//! Phases: create the K rooms → connect every publisher (ICE + DTLS up on both sides) →
//! connect every subscriber → settle → talk for T seconds → wait a grace period for frames in
//! flight → close. Server CPU is read at the start of talking and after the grace period, so
//! it covers the forwarding of every frame counted.

use crate::janus::{Handle, Jsep, Session, VIDEOROOM};
use crate::payload::Clock;
use crate::peer::{self, Peer, Phase, Received, Sent};
use crate::procfs;
use crate::stats::{self, Summary};
use anyhow::{anyhow, Context};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a peer connection may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of rooms (K).
    pub rooms: usize,
    /// Members per room (S), all talking.
    pub size: usize,
    /// Talking time (T).
    pub seconds: f64,
    /// Janus's WebSocket API, e.g. `ws://127.0.0.1:8188`.
    pub janus_url: String,
    /// Janus's process; found by name and port when `None`.
    pub janus_pid: Option<u32>,
    /// Address the clients' UDP sockets bind to (their ICE host candidate).
    pub bind_ip: IpAddr,
    /// At most this many members connect at the same time.
    pub connect_concurrency: usize,
    /// Quiet time between "everyone connected" and the first frame.
    pub settle: Duration,
    /// Time after the last frame for frames still in flight.
    pub grace: Duration,
}

/// The report: the same fields, with the same definitions, as `alcove-load steady`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `steady`.
    pub scenario: &'static str,
    /// `janus`.
    pub server: &'static str,
    /// Janus's version as its `info` request tells it.
    pub server_version: String,
    /// K.
    pub rooms: usize,
    /// S.
    pub size: usize,
    /// K × S.
    pub clients: usize,
    /// Talking time, seconds.
    pub seconds: f64,
    /// Time to create the rooms and bring up every peer connection, seconds.
    pub setup_seconds: f64,
    /// Peer connections per client (Janus: a publisher and a subscriber).
    pub peer_connections_per_client: usize,
    /// Frames handed to the senders' str0m writers during the talking time.
    pub frames_sent: u64,
    /// Σ over senders of frames sent × (S − 1): what the receivers should get.
    pub frames_expected: u64,
    /// Stamped frames the receivers got.
    pub frames_received: u64,
    /// `1 − received / expected` (0 when nothing was expected).
    pub loss: f64,
    /// Receiver × sender pairs of a room that never got a frame.
    pub silent_streams: usize,
    /// Frames received with a level other than −20 (the level must pass through).
    pub wrong_level_frames: u64,
    /// One-way latency (receive − send, same clock) of every frame received.
    pub latency: Option<Summary>,
    /// RFC 3550 interarrival jitter, one value per receiver × sender stream, at the end.
    pub jitter: Option<Summary>,
    /// Server process readings; `None` without a known process.
    pub server_process: Option<ServerProcess>,
}

/// `/proc/<pid>` readings of the server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerProcess {
    /// Its pid.
    pub pid: u32,
    /// utime + stime spent from the first frame to the end of the grace period, seconds.
    pub cpu_seconds: f64,
    /// `cpu_seconds` / (frames received / 10⁶): CPU per million forwarded frames.
    pub cpu_seconds_per_million_forwarded: Option<f64>,
    /// `cpu_seconds` / wall time of the same span: the cores it kept busy.
    pub cpu_cores: f64,
    /// RSS before any client connected, bytes.
    pub rss_idle_bytes: u64,
    /// Highest RSS seen while talking (sampled every 500 ms), bytes.
    pub rss_loaded_bytes: u64,
    /// `(rss_loaded − rss_idle) / clients`, bytes.
    pub rss_per_client_bytes: f64,
}

struct Member {
    index: u32,
    room: usize,
    session: Session,
    /// Kept for the run: its events (e.g. `hangup`) stay routed while it lives.
    _publisher: Handle,
    feed: u64,
    send: JoinHandle<Sent>,
    subscriber: Option<(Handle, JoinHandle<Received>)>,
}

/// Runs the scenario.
pub async fn run(cfg: &Config) -> anyhow::Result<Report> {
    anyhow::ensure!(
        cfg.rooms >= 1 && cfg.size >= 2,
        "need --rooms ≥ 1 and --size ≥ 2"
    );
    str0m::crypto::from_feature_flags().install_process_default();
    let clock = Clock::start();
    let clients = cfg.rooms * cfg.size;
    let pid = cfg
        .janus_pid
        .or_else(|| procfs::find_server(procfs::JANUS_COMM, ws_port(&cfg.janus_url)?));
    if pid.is_none() {
        eprintln!("janus-bench: no janus process found: no CPU or memory readings");
    }
    let rss_idle = pid.and_then(procfs::rss_bytes);
    let setup_started = Instant::now();

    // Rooms, from one admin session. Ids from the clock so that runs never collide.
    let admin = Session::connect(&cfg.janus_url).await?;
    let server_version = admin.info().await.unwrap_or_else(|_| "?".into());
    let admin_handle = admin.attach(VIDEOROOM).await?;
    let base = 1_000_000 + u64::from(clock_seconds() % 1_000_000) * 1_000;
    let rooms: Vec<u64> = (0..cfg.rooms as u64).map(|k| base + k).collect();
    for &room in &rooms {
        admin_handle
            .request(json!({
                "request": "create",
                "room": room,
                "description": format!("janus-bench {room}"),
                "publishers": cfg.size,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "permanent": false,
                "is_private": true,
                "notify_joining": false,
                "audiolevel_ext": true,
                "audiolevel_event": false,
            }))
            .await
            .with_context(|| format!("creating room {room}"))?;
    }

    let (phase_tx, phase_rx) = watch::channel(Phase::Idle);

    // Publishers.
    let mut members: Vec<Member> = stream::iter(0..clients)
        .map(|i| {
            let room = i / cfg.size;
            let offset = peer::FRAME_PERIOD.mul_f64(i as f64 / clients as f64);
            join_publisher(
                cfg,
                rooms[room],
                room,
                i as u32,
                offset,
                clock,
                phase_rx.clone(),
            )
        })
        .buffer_unordered(cfg.connect_concurrency.max(1))
        .collect::<Vec<anyhow::Result<Member>>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    members.sort_by_key(|m| m.index);
    eprintln!(
        "janus-bench: {clients} publishers up after {:.1} s",
        setup_started.elapsed().as_secs_f64()
    );

    // Subscribers: each member to the other feeds of its room.
    let feeds: Vec<(usize, u64)> = members.iter().map(|m| (m.room, m.feed)).collect();
    let subs: Vec<anyhow::Result<(u32, Handle, JoinHandle<Received>)>> = stream::iter(&members)
        .map(|m| {
            let others: Vec<u64> = feeds
                .iter()
                .filter(|(r, f)| *r == m.room && *f != m.feed)
                .map(|(_, f)| *f)
                .collect();
            let phase = phase_rx.clone();
            let room_id = rooms[m.room];
            async move {
                let (h, t) =
                    join_subscriber(cfg, &m.session, room_id, &others, clock, phase).await?;
                Ok((m.index, h, t))
            }
        })
        .buffer_unordered(cfg.connect_concurrency.max(1))
        .collect()
        .await;
    for s in subs {
        let (index, h, t) = s?;
        members[index as usize].subscriber = Some((h, t));
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    eprintln!("janus-bench: {clients} subscribers up, setup took {setup_seconds:.1} s");

    // Talk.
    tokio::time::sleep(cfg.settle).await;
    let start = Instant::now() + Duration::from_millis(50);
    let stop = start + Duration::from_secs_f64(cfg.seconds);
    let cpu0 = pid.and_then(procfs::cpu_time);
    let wall0 = Instant::now();
    phase_tx.send_replace(Phase::Talk { start, stop });
    let mut rss_peak = 0u64;
    let end = stop + cfg.grace;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500).min(end - Instant::now().min(end))).await;
        if let Some(r) = pid.and_then(procfs::rss_bytes) {
            rss_peak = rss_peak.max(r);
        }
    }
    let cpu1 = pid.and_then(procfs::cpu_time);
    let wall = wall0.elapsed().as_secs_f64();
    phase_tx.send_replace(Phase::Close);

    // Gather.
    let mut frames_sent = 0u64;
    let mut frames_expected = 0u64;
    let mut frames_received = 0u64;
    let mut wrong_level = 0u64;
    let mut latency_us: Vec<u32> = Vec::new();
    let mut jitters: Vec<f64> = Vec::new();
    let mut silent_streams = 0usize;
    let mut sent_by: Vec<u64> = vec![0; clients];
    let mut received: Vec<(usize, Received)> = Vec::new();
    for m in &mut members {
        let s = (&mut m.send).await.context("publisher task")?;
        sent_by[m.index as usize] = s.frames;
        frames_sent += s.frames;
        frames_expected += s.frames * (cfg.size as u64 - 1);
        if let Some((_, t)) = m.subscriber.as_mut() {
            received.push((m.room, t.await.context("subscriber task")?));
        }
    }
    for (room, r) in received {
        frames_received += r.frames;
        wrong_level += r.wrong_level;
        latency_us.extend_from_slice(&r.latency_us);
        // Every other member of the room is a stream this receiver should hear.
        let senders = room * cfg.size..(room + 1) * cfg.size;
        let heard = r.per_sender.len();
        silent_streams += (cfg.size - 1).saturating_sub(heard);
        for (sender, (_, j)) in &r.per_sender {
            debug_assert!(senders.contains(&(*sender as usize)));
            jitters.push(j.ms());
        }
    }

    // Leave: sessions (and their handles) first, then the rooms.
    for m in &members {
        let _ = m.session.destroy().await;
    }
    for &room in &rooms {
        let _ = admin_handle
            .request(json!({"request": "destroy", "room": room}))
            .await;
    }
    let _ = admin.destroy().await;

    let loss = if frames_expected == 0 {
        0.0
    } else {
        (1.0 - frames_received as f64 / frames_expected as f64).max(0.0)
    };
    let server_process = match (pid, cpu0, cpu1, rss_idle) {
        (Some(pid), Some(c0), Some(c1), Some(rss_idle)) => {
            let cpu_seconds = c1.saturating_sub(c0).as_secs_f64();
            let rss_loaded = rss_peak.max(rss_idle);
            Some(ServerProcess {
                pid,
                cpu_seconds,
                cpu_seconds_per_million_forwarded: (frames_received > 0)
                    .then(|| cpu_seconds / (frames_received as f64 / 1e6)),
                cpu_cores: cpu_seconds / wall,
                rss_idle_bytes: rss_idle,
                rss_loaded_bytes: rss_loaded,
                rss_per_client_bytes: (rss_loaded - rss_idle) as f64 / clients as f64,
            })
        }
        _ => None,
    };
    Ok(Report {
        scenario: "steady",
        server: "janus",
        server_version,
        rooms: cfg.rooms,
        size: cfg.size,
        clients,
        seconds: cfg.seconds,
        setup_seconds,
        peer_connections_per_client: 2,
        frames_sent,
        frames_expected,
        frames_received,
        loss,
        silent_streams,
        wrong_level_frames: wrong_level,
        latency: Summary::of_micros(&latency_us),
        jitter: Summary::of_ms(jitters),
        server_process,
    })
}

/// One member's session and publisher: join the room, publish an Opus send-only offer, and
/// wait until ICE + DTLS are up on both sides.
async fn join_publisher(
    cfg: &Config,
    room_id: u64,
    room: usize,
    index: u32,
    offset: Duration,
    clock: Clock,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<Member> {
    let session = Session::connect(&cfg.janus_url).await?;
    let mut publisher = session.attach(VIDEOROOM).await?;
    let (joined, _) = publisher
        .message(
            json!({"request": "join", "ptype": "publisher", "room": room_id, "display": format!("m{index}")}),
            None,
        )
        .await
        .with_context(|| format!("member {index}: joining room {room_id} as publisher"))?;
    let feed = joined
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("member {index}: no publisher id in {joined}"))?;
    let mut p = Peer::new(cfg.bind_ip).await?;
    let (offer, pending, mid) = p.offer_sendonly_audio()?;
    let (_, answer) = publisher
        .message(
            json!({"request": "publish", "audiocodec": "opus"}),
            Some(&Jsep {
                kind: "offer".into(),
                sdp: offer,
            }),
        )
        .await
        .with_context(|| format!("member {index}: publishing"))?;
    let answer = answer.ok_or_else(|| anyhow!("member {index}: no SDP answer to publish"))?;
    p.accept_answer(pending, &answer.sdp)?;
    let (up_tx, mut up_rx) = watch::channel(false);
    let send = tokio::spawn(peer::publish(p, mid, index, offset, clock, phase, up_tx));
    wait_up(&mut publisher, &mut up_rx)
        .await
        .with_context(|| format!("member {index}: publisher"))?;
    Ok(Member {
        index,
        room,
        session,
        _publisher: publisher,
        feed,
        send,
        subscriber: None,
    })
}

/// One member's subscriber to `feeds`: Janus offers one audio m-line per feed, str0m answers.
async fn join_subscriber(
    cfg: &Config,
    session: &Session,
    room_id: u64,
    feeds: &[u64],
    clock: Clock,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<(Handle, JoinHandle<Received>)> {
    let mut h = session.attach(VIDEOROOM).await?;
    let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
    let (_, offer) = h
        .message(
            json!({"request": "join", "ptype": "subscriber", "room": room_id, "streams": streams}),
            None,
        )
        .await
        .with_context(|| format!("subscribing in room {room_id}"))?;
    let offer = offer.ok_or_else(|| anyhow!("no SDP offer for the subscription"))?;
    let mut p = Peer::new(cfg.bind_ip).await?;
    let answer = p.answer(&offer.sdp)?;
    h.message(
        json!({"request": "start"}),
        Some(&Jsep {
            kind: "answer".into(),
            sdp: answer,
        }),
    )
    .await
    .context("starting the subscription")?;
    let (up_tx, mut up_rx) = watch::channel(false);
    let task = tokio::spawn(peer::subscribe(p, clock, phase, up_tx));
    wait_up(&mut h, &mut up_rx).await.context("subscriber")?;
    Ok((h, task))
}

/// Waits for str0m's `Connected` and Janus's `webrtcup`.
async fn wait_up(h: &mut Handle, up: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    tokio::time::timeout(CONNECT_TIMEOUT, up.wait_for(|c| *c))
        .await
        .map_err(|_| anyhow!("str0m not connected within {CONNECT_TIMEOUT:?}"))?
        .map_err(|_| anyhow!("peer task ended before connecting"))?;
    h.webrtc_up(CONNECT_TIMEOUT).await
}

/// The port of a `ws://host:port` URL (80 without one).
fn ws_port(url: &str) -> Option<u16> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))?;
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((_, p)) if !p.ends_with(']') => p.parse().ok(),
        _ => Some(80),
    }
}

fn clock_seconds() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() % u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

impl Report {
    /// The text report.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let pct = |x: f64| format!("{:.3} %", x * 100.0);
        s += &format!(
            "steady against {} {}: {} rooms × {} members = {} clients ({} peer connections each), {} s talking\n",
            self.server,
            self.server_version,
            self.rooms,
            self.size,
            self.clients,
            self.peer_connections_per_client,
            self.seconds
        );
        s += &format!("  setup          {:.1} s\n", self.setup_seconds);
        s += &format!(
            "  frames         sent {}  expected {}  received {}  loss {}  silent streams {}\n",
            self.frames_sent,
            self.frames_expected,
            self.frames_received,
            pct(self.loss),
            self.silent_streams
        );
        s += &format!("  latency        {}\n", stats::line(&self.latency));
        s += &format!("  jitter/stream  {}\n", stats::line(&self.jitter));
        match &self.server_process {
            Some(p) => {
                s += &format!(
                    "  server cpu     {:.2} s ({:.2} cores)  = {} s per million forwarded frames\n",
                    p.cpu_seconds,
                    p.cpu_cores,
                    p.cpu_seconds_per_million_forwarded
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_else(|| "-".into())
                );
                s += &format!(
                    "  server rss     idle {:.1} MiB  loaded {:.1} MiB  = {:.1} KiB per client\n",
                    p.rss_idle_bytes as f64 / 1048576.0,
                    p.rss_loaded_bytes as f64 / 1048576.0,
                    p.rss_per_client_bytes / 1024.0
                );
            }
            None => s += "  server         no process readings\n",
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_from_ws_url() {
        assert_eq!(ws_port("ws://127.0.0.1:8188"), Some(8188));
        assert_eq!(ws_port("ws://[::1]:9000/janus"), Some(9000));
        assert_eq!(ws_port("ws://localhost"), Some(80));
        assert_eq!(ws_port("http://x:1"), None);
    }
}

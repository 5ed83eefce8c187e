//! `steady`: K rooms × S members, everyone talking, against Janus's VideoRoom — `alcove-load
//! steady` (crates/load/src/scenario/steady.rs) with Janus in place of Alcove.
//!
//! An admin session (signalling only, like `alcove-load`'s moderator) creates K rooms (Opus,
//! `publishers` = S). Every member has one Janus session (one WebSocket) with two handles: a
//! publisher (our offer, audio send-only) and a multistream subscriber to the S − 1 other feeds
//! of its room (Janus's offer, our answer). Then every member talks at 50 frames/s. After a
//! warm-up, a measurement window `[w0, w1)` over *send* times starts: a frame counts when its
//! stamped send time is inside it, wherever it arrives. Receivers keep counting for a grace
//! period after `w1`.
//!
//! The definitions are `alcove-load`'s, field for field:
//!
//! * expected = Σ over receivers of the frames its room-mates sent in the window;
//! * loss = 1 − received / expected;
//! * jitter: RFC 3550 interarrival jitter per (receiver, sender) stream, on receive times
//!   against the stamped send times; mean, p95 and max over streams;
//! * latency: receive time − stamped send time (one process, one monotonic clock);
//! * server CPU (`/proc/<pid>/stat`, utime + stime) over the window per million forwarded
//!   frames, where forwarded = received by all clients; server RSS per connected client
//!   (members + the admin session) at the end of the window, and its growth since before any
//!   client connected.

use crate::janus::{Handle, Jsep, Session, VIDEOROOM};
use crate::payload::Clock;
use crate::peer::{self, Peer, Phase, Received, Sent, Talked, Voice};
use crate::procfs;
use crate::report::{Checks, Machine};
use crate::stats::{line, Summary};
use anyhow::{anyhow, Context};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long receivers keep counting after the window closes (as `alcove-load`).
pub const GRACE: Duration = Duration::from_millis(500);
/// How long a peer connection may take to come up (ICE + DTLS, both sides).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Participants' audio level in `alcove-load` (`scenario::PARTICIPANT_LEVEL`).
pub const PARTICIPANT_LEVEL: i8 = -30;

/// `steady` options: `alcove-load steady`'s, and where Janus is.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct SteadyConfig {
    /// Rooms (K).
    #[arg(long, default_value_t = 4)]
    pub rooms: u32,
    /// Members per room (S ≥ 2), all talking.
    #[arg(long, default_value_t = 5)]
    pub size: u32,
    /// Length of the measurement window, seconds (T).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seconds of talking before the window opens.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_secs: f64,
    /// The run fails when the loss is at or above this fraction.
    #[arg(long, default_value_t = 0.5)]
    pub max_loss: f64,
    /// RFC 6464 level of every frame (alcove-load's participants send −30).
    #[arg(long, default_value_t = PARTICIPANT_LEVEL, allow_negative_numbers = true)]
    pub level: i8,
}

impl Default for SteadyConfig {
    fn default() -> Self {
        SteadyConfig {
            rooms: 4,
            size: 5,
            seconds: 10.0,
            warmup_secs: 1.0,
            max_loss: 0.5,
            level: PARTICIPANT_LEVEL,
        }
    }
}

/// Where Janus is and how clients reach it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Janus's WebSocket API, e.g. `ws://127.0.0.1:8188`.
    pub url: String,
    /// Janus's process, for CPU and RSS.
    pub server_pid: Option<u32>,
    /// IP the clients' UDP sockets bind to (their ICE host candidate).
    pub bind_ip: IpAddr,
    /// At most this many members connect at the same time.
    pub connect_concurrency: usize,
}

impl Target {
    /// Looks for the `janus` process listening on the URL's port and remembers it.
    pub fn find_server_pid(&mut self) -> Option<u32> {
        self.server_pid = procfs::find_server(procfs::JANUS_COMM, ws_port(&self.url)?);
        self.server_pid
    }
}

/// Jitter over all streams, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct JitterReport {
    /// Streams (receiver, sender) measured.
    pub streams: usize,
    /// Mean of the streams' final jitter.
    pub mean_ms: f64,
    /// 95th percentile over streams.
    pub p95_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// Server and load-tool resource use over the window (`alcove-load`'s `Resources`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Resources {
    /// The server process, when known.
    pub server_pid: Option<u32>,
    /// Length of the span, seconds.
    pub span_s: f64,
    /// Server CPU seconds (user + system) in the span.
    pub server_cpu_s: Option<f64>,
    /// Load tool CPU seconds in the span.
    pub tool_cpu_s: Option<f64>,
    /// Server RSS before any client connected, bytes.
    pub server_rss_before: Option<u64>,
    /// Server RSS with every client connected, bytes.
    pub server_rss_loaded: Option<u64>,
}

/// The result of `steady`: `alcove-load`'s `SteadyReport` fields, plus what is Janus's own.
#[derive(Debug, Clone, Serialize)]
pub struct SteadyReport {
    /// `janus`.
    pub server: String,
    /// Janus's version (`info` request).
    pub server_version: String,
    /// The options it ran with.
    pub config: SteadyConfig,
    /// The Janus room ids.
    pub room_ids: Vec<u64>,
    /// Clients started (members + the admin session).
    pub clients: usize,
    /// Clients that connected (members with both peer connections up, + the admin session).
    pub connected: usize,
    /// Why the others did not.
    pub connect_failures: Vec<String>,
    /// Members that joined their room as publisher and subscriber.
    pub joined: usize,
    /// Peer connections per member (Janus's VideoRoom: a publisher and a subscriber).
    pub peer_connections_per_member: usize,
    /// Time to create the rooms and connect every member, seconds.
    pub setup_s: f64,
    /// Length of the window actually measured, seconds.
    pub window_s: f64,
    /// Frames members sent in the window.
    pub frames_sent: u64,
    /// Frames per second each talker actually sent in the window (nominal 50).
    pub send_rate_per_talker: f64,
    /// Frames receivers should have got (room-mates' sends).
    pub frames_expected: u64,
    /// Frames receivers got from room-mates.
    pub frames_received: u64,
    /// Frames receivers got from outside their room (must be 0).
    pub frames_foreign: u64,
    /// 1 − received / expected.
    pub loss: f64,
    /// Forwarded frames per second (received by all clients / window).
    pub forwarded_per_s: f64,
    /// Interarrival jitter.
    pub jitter: JitterReport,
    /// End-to-end latency.
    pub latency: Option<Summary>,
    /// Server CPU seconds per million forwarded frames.
    pub server_cpu_s_per_million: Option<f64>,
    /// Server RSS per connected client, KiB.
    pub server_rss_kib_per_client: Option<f64>,
    /// Server RSS growth since before connecting, per connected client, KiB.
    pub server_rss_growth_kib_per_client: Option<f64>,
    /// CPU and memory over the window.
    pub resources: Resources,
    /// Where the ceiling of this run is, from the CPU readings and the send rate.
    pub limits: Vec<String>,
    /// Sanity checks.
    pub checks: Checks,
    /// What to know when reading the numbers.
    pub notes: Vec<String>,
}

/// A member's subscriber handle and the task driving its peer connection.
type Subscription = (Handle, JoinHandle<Received>);

struct Member {
    index: u32,
    room: usize,
    session: Session,
    /// Kept for the run: its events stay routed while it lives.
    _publisher: Handle,
    feed: u64,
    voice: JoinHandle<Talked>,
    send: JoinHandle<Sent>,
    subscriber: Option<Subscription>,
}

/// Runs the scenario.
pub async fn run(target: &Target, cfg: &SteadyConfig) -> anyhow::Result<SteadyReport> {
    anyhow::ensure!(cfg.size >= 2, "--size must be at least 2");
    anyhow::ensure!(cfg.rooms >= 1, "--rooms must be at least 1");
    anyhow::ensure!(cfg.seconds > 0.0, "--seconds must be positive");
    str0m::crypto::from_feature_flags().install_process_default();
    let (k, s) = (cfg.rooms, cfg.size);
    let members = k * s;
    let clock = Clock::start();
    let pid = target.server_pid;
    let rss_before = pid.and_then(procfs::rss_bytes);
    let setup_started = Instant::now();

    // Rooms, from the admin session. Ids from the clock so that runs never collide.
    let admin = Session::connect(&target.url).await?;
    let server_version = admin.info().await.unwrap_or_else(|_| "?".into());
    let admin_handle = admin.attach(VIDEOROOM).await?;
    let base = 1_000_000 + u64::from(clock_seconds() % 1_000_000) * 1_000;
    let room_ids: Vec<u64> = (0..u64::from(k)).map(|r| base + r).collect();
    for &room in &room_ids {
        admin_handle
            .request(json!({
                "request": "create",
                "room": room,
                "description": format!("janus-bench {room}"),
                "publishers": s,
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
    let mut failures: Vec<String> = Vec::new();

    // Publishers. Member i (1..=K·S, index 0 is the admin as in alcove-load) is in room (i−1)/S.
    let room_of = |i: u32| ((i - 1) / s) as usize;
    let results: Vec<anyhow::Result<Member>> = stream::iter(1..=members)
        .map(|i| {
            let voice = Voice {
                sender: i,
                level: cfg.level,
                // alcove-load's golden-ratio spread of the send phases over the period.
                offset: peer::FRAME_INTERVAL.mul_f64((f64::from(i) * 0.618_033_988_75).fract()),
            };
            let room = room_of(i);
            join_publisher(target, room_ids[room], room, voice, clock, phase_rx.clone())
        })
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    let mut joined_members: Vec<Member> = Vec::new();
    for r in results {
        match r {
            Ok(m) => joined_members.push(m),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    joined_members.sort_by_key(|m| m.index);
    eprintln!(
        "janus-bench: {}/{members} publishers up after {:.1} s",
        joined_members.len(),
        setup_started.elapsed().as_secs_f64()
    );

    // Subscribers: each member to the other feeds of its room.
    let feeds: Vec<(usize, u64)> = joined_members.iter().map(|m| (m.room, m.feed)).collect();
    let subs: Vec<(u32, anyhow::Result<Subscription>)> = stream::iter(&joined_members)
        .map(|m| {
            let others: Vec<u64> = feeds
                .iter()
                .filter(|(r, f)| *r == m.room && *f != m.feed)
                .map(|(_, f)| *f)
                .collect();
            let phase = phase_rx.clone();
            let room_id = room_ids[m.room];
            async move {
                let r = join_subscriber(target, &m.session, room_id, &others, clock, phase).await;
                (m.index, r.with_context(|| format!("member {}", m.index)))
            }
        })
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    for (index, r) in subs {
        match r {
            Ok(sub) => {
                if let Some(m) = joined_members.iter_mut().find(|m| m.index == index) {
                    m.subscriber = Some(sub);
                }
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    let joined = joined_members
        .iter()
        .filter(|m| m.subscriber.is_some())
        .count();
    let setup_s = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "janus-bench: {joined}/{members} members up (publisher + subscriber), setup {setup_s:.1} s"
    );

    // Talk, warm up, measure.
    let talk_start = Instant::now();
    let window = Duration::from_secs_f64(cfg.seconds);
    let w0 = talk_start + Duration::from_secs_f64(cfg.warmup_secs) + Duration::from_millis(50);
    let w1 = w0 + window;
    phase_tx.send_replace(Phase::Talk {
        start: talk_start,
        start_ns: clock.ns(w0),
        end_ns: clock.ns(w1),
    });
    eprintln!(
        "janus-bench: talking; warm-up {:.1} s, window {:.1} s",
        cfg.warmup_secs, cfg.seconds
    );
    tokio::time::sleep_until(w0.into()).await;
    let span = Span::start(pid);
    tokio::time::sleep_until(w1.into()).await;
    let resources = span.end(pid, rss_before);
    tokio::time::sleep(GRACE).await;
    phase_tx.send_replace(Phase::Close);

    // Gather.
    let mut sent_by = vec![0u64; members as usize + 1];
    let mut media_down = 0usize;
    let mut ice_disconnects = 0u32;
    let mut refused = 0u64;
    let mut received: Vec<(u32, Received)> = Vec::new();
    for m in &mut joined_members {
        let talked = (&mut m.voice).await.context("talker task")?;
        sent_by[m.index as usize] = talked.in_window;
        let sent = (&mut m.send).await.context("publisher task")?;
        refused += sent.refused;
        ice_disconnects += sent.link.ice_disconnects;
        let mut down = !sent.link.connected;
        if let Some((_, t)) = m.subscriber.as_mut() {
            let r = t.await.context("subscriber task")?;
            ice_disconnects += r.link.ice_disconnects;
            down |= !r.link.connected;
            received.push((m.index, r));
        }
        if down && m.subscriber.is_some() {
            media_down += 1;
        }
    }

    // Leave: sessions (and their handles) first, then the rooms.
    for m in &joined_members {
        let _ = m.session.destroy().await;
    }
    for &room in &room_ids {
        let _ = admin_handle
            .request(json!({"request": "destroy", "room": room}))
            .await;
    }
    let _ = admin.destroy().await;

    let mut expected = 0u64;
    let mut frames_received = 0u64;
    let mut foreign = 0u64;
    let mut jitters = Vec::new();
    let mut latency_us: Vec<u32> = Vec::new();
    for (me, w) in &received {
        for sender in 1..=members {
            if sender == *me {
                continue;
            }
            let st = w.streams.get(&sender).copied().unwrap_or_default();
            if room_of(sender) == room_of(*me) {
                expected += sent_by[sender as usize];
                frames_received += st.received;
                if st.received > 1 {
                    jitters.push(st.jitter.ms());
                }
            } else {
                foreign += st.received;
            }
        }
        latency_us.extend_from_slice(&w.latency_us);
    }
    let frames_sent: u64 = sent_by.iter().sum();
    let send_rate_per_talker = frames_sent as f64 / f64::from(members) / window.as_secs_f64();
    let loss = if expected == 0 {
        1.0
    } else {
        1.0 - frames_received as f64 / expected as f64
    };
    let jitter = match Summary::of_ms(jitters) {
        Some(j) => JitterReport {
            streams: j.n,
            mean_ms: j.mean_ms,
            p95_ms: j.p95_ms,
            max_ms: j.max_ms,
        },
        None => JitterReport::default(),
    };
    let latency = Summary::of_micros(&latency_us);
    let forwarded = frames_received + foreign;
    let total = members as usize + 1;
    let connected = total.saturating_sub(failures.len());
    let server_cpu_s_per_million = resources
        .server_cpu_s
        .filter(|_| forwarded > 0)
        .map(|c| c / (forwarded as f64 / 1e6));
    let per_client = |b: u64| b as f64 / 1024.0 / connected.max(1) as f64;
    let server_rss_kib_per_client = resources.server_rss_loaded.map(per_client);
    let server_rss_growth_kib_per_client = resources
        .server_rss_loaded
        .zip(resources.server_rss_before)
        .map(|(a, b)| per_client(a.saturating_sub(b)));

    let mut checks = Checks::default();
    checks.check(
        "every client connected (Janus session, publisher and subscriber ICE + DTLS)",
        failures.is_empty() && media_down == 0,
        format!("{connected}/{total} connected, {media_down} with media down at the end"),
    );
    checks.check(
        "every member joined its room (publisher + subscriber)",
        joined == members as usize,
        format!("{joined}/{members}"),
    );
    checks.check(
        "frames were forwarded",
        frames_received > 0 && frames_sent > 0,
        format!("{frames_sent} sent, {frames_received} received"),
    );
    checks.check(
        "talkers sent at least half the nominal 50 frames/s (load tool not saturated)",
        send_rate_per_talker >= 25.0,
        format!("{send_rate_per_talker:.1} frames/s per talker ({refused} refused by str0m)"),
    );
    checks.check(
        &format!("loss below {:.0}%", cfg.max_loss * 100.0),
        loss < cfg.max_loss,
        format!("{:.3}% ({frames_received}/{expected})", loss * 100.0),
    );
    checks.check(
        "isolation: nothing heard from another room",
        foreign == 0,
        format!("{foreign} frames"),
    );
    checks.check(
        "no ICE disconnect",
        ice_disconnects == 0,
        format!("{ice_disconnects}"),
    );
    let nproc = Machine::this().nproc;
    let notes = vec![
        format!(
            "offered load: {members} talkers × {} receivers each × 50 frames/s = {} forwarded frames/s",
            s - 1,
            members * (s - 1) * 50
        ),
        format!(
            "the load tool ({} str0m peer connections: a publisher and a subscriber per member) \
             and Janus share {nproc} cores; see the CPU lines",
            2 * joined
        ),
    ];
    let mut limits = resources.limits(nproc);
    if send_rate_per_talker < 49.0 {
        limits.push(format!(
            "talkers sent {send_rate_per_talker:.1} of 50 frames/s: the load tool's send ticks ran late and were skipped (CPU contention in the load tool)"
        ));
    }
    Ok(SteadyReport {
        server: "janus".into(),
        server_version,
        config: cfg.clone(),
        room_ids,
        clients: total,
        connected,
        connect_failures: failures,
        joined,
        peer_connections_per_member: 2,
        setup_s,
        window_s: window.as_secs_f64(),
        frames_sent,
        send_rate_per_talker,
        frames_expected: expected,
        frames_received,
        frames_foreign: foreign,
        loss,
        forwarded_per_s: forwarded as f64 / window.as_secs_f64(),
        jitter,
        latency,
        server_cpu_s_per_million,
        server_rss_kib_per_client,
        server_rss_growth_kib_per_client,
        resources,
        limits,
        checks,
        notes,
    })
}

/// One member's session and publisher: join the room, publish an Opus send-only offer, and
/// wait until ICE + DTLS are up on both sides.
async fn join_publisher(
    target: &Target,
    room_id: u64,
    room: usize,
    voice: Voice,
    clock: Clock,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<Member> {
    let index = voice.sender;
    let session = Session::connect(&target.url).await?;
    let mut publisher = session.attach(VIDEOROOM).await?;
    let (joined, _) = publisher
        .message(
            json!({"request": "join", "ptype": "publisher", "room": room_id, "display": format!("m-{index}")}),
            None,
        )
        .await
        .with_context(|| format!("member {index}: joining room {room_id} as publisher"))?;
    let feed = joined
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("member {index}: no publisher id in {joined}"))?;
    let mut p = Peer::new(target.bind_ip).await?;
    let (offer, pending, mid) = p.offer_sendonly_audio()?;
    let (_, answer) = publisher
        .message(
            json!({"request": "publish", "audiocodec": "opus"}),
            Some(&Jsep {
                kind: "offer".into(),
                sdp: offer,
                rid_order: None,
            }),
        )
        .await
        .with_context(|| format!("member {index}: publishing"))?;
    let answer = answer.ok_or_else(|| anyhow!("member {index}: no SDP answer to publish"))?;
    p.accept_answer(pending, &answer.sdp)?;
    let (up_tx, mut up_rx) = watch::channel(false);
    let (frames_tx, frames_rx) = tokio::sync::mpsc::unbounded_channel();
    let send = tokio::spawn(peer::publish(
        p,
        mid,
        voice.level,
        frames_rx,
        phase.clone(),
        up_tx,
    ));
    let voice = tokio::spawn(peer::talk(voice, clock, phase, frames_tx));
    wait_up(&mut publisher, &mut up_rx)
        .await
        .with_context(|| format!("member {index}: publisher"))?;
    Ok(Member {
        index,
        room,
        session,
        _publisher: publisher,
        feed,
        voice,
        send,
        subscriber: None,
    })
}

/// One member's subscriber to `feeds`: Janus offers one audio m-line per feed, str0m answers.
async fn join_subscriber(
    target: &Target,
    session: &Session,
    room_id: u64,
    feeds: &[u64],
    clock: Clock,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<Subscription> {
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
    let mut p = Peer::new(target.bind_ip).await?;
    let answer = p.answer(&offer.sdp)?;
    h.message(
        json!({"request": "start"}),
        Some(&Jsep {
            kind: "answer".into(),
            sdp: answer,
            rid_order: None,
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
pub(crate) async fn wait_up(h: &mut Handle, up: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    tokio::time::timeout(CONNECT_TIMEOUT, up.wait_for(|c| *c))
        .await
        .map_err(|_| anyhow!("str0m not connected within {CONNECT_TIMEOUT:?}"))?
        .map_err(|_| anyhow!("peer task ended before connecting"))?;
    h.webrtc_up(CONNECT_TIMEOUT).await
}

/// Start of a measured span (`alcove-load`'s `Span`).
struct Span {
    at: Instant,
    server: Option<Duration>,
    tool: Option<Duration>,
}

impl Span {
    fn start(pid: Option<u32>) -> Span {
        Span {
            at: Instant::now(),
            server: pid.and_then(procfs::cpu_time),
            tool: procfs::cpu_time(std::process::id()),
        }
    }

    fn end(&self, pid: Option<u32>, rss_before: Option<u64>) -> Resources {
        let diff =
            |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?).as_secs_f64());
        Resources {
            server_pid: pid,
            span_s: self.at.elapsed().as_secs_f64(),
            server_cpu_s: diff(self.server, pid.and_then(procfs::cpu_time)),
            tool_cpu_s: diff(self.tool, procfs::cpu_time(std::process::id())),
            server_rss_before: rss_before,
            server_rss_loaded: pid.and_then(procfs::rss_bytes),
        }
    }
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

pub(crate) fn clock_seconds() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() % u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

impl Resources {
    /// What the CPU readings say about where this run's ceiling is (`alcove-load`'s rule; Janus
    /// spreads its handles over many threads, so one core is not its ceiling).
    pub fn limits(&self, nproc: usize) -> Vec<String> {
        let span = self.span_s.max(1e-9);
        let mut out = Vec::new();
        let server = self.server_cpu_s.map(|c| c / span);
        let tool = self.tool_cpu_s.map(|c| c / span);
        let busy = server.unwrap_or(0.0) + tool.unwrap_or(0.0);
        if busy >= 0.85 * nproc as f64 {
            out.push(format!(
                "server + load tool used {busy:.2} of {nproc} cores: the machine is saturated, so latency, jitter and loss include CPU contention"
            ));
        } else if let (Some(s), Some(t)) = (server, tool) {
            out.push(format!(
                "CPU headroom left: server {:.0}% and load tool {:.0}% of one core, {nproc} cores",
                s * 100.0,
                t * 100.0
            ));
        }
        if self.server_pid.is_none() {
            out.push("server CPU unknown: give --janus-pid".into());
        }
        out
    }

    /// Text lines for the report (`alcove-load`'s wording).
    pub fn text(&self, clients: usize, nproc: usize) -> String {
        let mut s = String::new();
        match self.server_pid {
            None => s.push_str("  server process: unknown (give --janus-pid)\n"),
            Some(pid) => {
                s.push_str(&format!("  server process: pid {pid}\n"));
                if let Some(cpu) = self.server_cpu_s {
                    s.push_str(&format!(
                        "  server CPU: {cpu:.2} s over {:.1} s = {:.0}% of one core\n",
                        self.span_s,
                        100.0 * cpu / self.span_s.max(1e-9)
                    ));
                }
                if let Some(rss) = self.server_rss_loaded {
                    let per = rss as f64 / clients.max(1) as f64;
                    s.push_str(&format!(
                        "  server RSS: {:.1} MiB with {clients} clients = {:.0} KiB per client",
                        rss as f64 / 1048576.0,
                        per / 1024.0
                    ));
                    if let Some(before) = self.server_rss_before {
                        let delta = rss.saturating_sub(before) as f64 / clients.max(1) as f64;
                        s.push_str(&format!(
                            " (growth since before connecting: {:.0} KiB per client)",
                            delta / 1024.0
                        ));
                    }
                    s.push('\n');
                }
            }
        }
        if let Some(tool) = self.tool_cpu_s {
            s.push_str(&format!(
                "  load tool CPU: {tool:.2} s over {:.1} s = {:.0}% of one core ({nproc} cores shared with the server)\n",
                self.span_s,
                100.0 * tool / self.span_s.max(1e-9)
            ));
        }
        s
    }
}

impl SteadyReport {
    /// Human-readable text, laid out as `alcove-load steady`'s.
    pub fn text(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "steady against {} {}: {} rooms × {} members, all talking, {:.1} s window\n",
            self.server, self.server_version, c.rooms, c.size, self.window_s
        );
        s.push_str(&format!(
            "  connected {}/{}, joined (publisher + subscriber) {}, setup {:.1} s\n",
            self.connected, self.clients, self.joined, self.setup_s
        ));
        s.push_str(&format!(
            "  frames sent {} ({:.1}/s per talker), expected at receivers {}, received {} ({:.0}/s forwarded), foreign {}\n",
            self.frames_sent,
            self.send_rate_per_talker,
            self.frames_expected,
            self.frames_received,
            self.forwarded_per_s,
            self.frames_foreign
        ));
        s.push_str(&format!("  loss {:.3}%\n", self.loss * 100.0));
        s.push_str(&format!(
            "  jitter (RFC 3550, {} streams): mean {:.3} ms, p95 {:.3} ms, max {:.3} ms\n",
            self.jitter.streams, self.jitter.mean_ms, self.jitter.p95_ms, self.jitter.max_ms
        ));
        s.push_str(&format!("  end-to-end latency {}\n", line(&self.latency)));
        if let Some(c) = self.server_cpu_s_per_million {
            s.push_str(&format!(
                "  server CPU per million forwarded frames: {c:.2} s\n"
            ));
        }
        if let Some(r) = self.server_rss_kib_per_client {
            s.push_str(&format!("  server RSS per connected client: {r:.0} KiB"));
            if let Some(g) = self.server_rss_growth_kib_per_client {
                s.push_str(&format!(" (growth since before connecting: {g:.0} KiB)"));
            }
            s.push('\n');
        }
        s.push_str(&self.resources.text(self.connected, Machine::this().nproc));
        for l in &self.limits {
            s.push_str(&format!("  limit: {l}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
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

    #[test]
    fn defaults_are_alcove_loads() {
        let c = SteadyConfig::default();
        assert_eq!(
            (c.rooms, c.size, c.seconds, c.warmup_secs),
            (4, 5, 10.0, 1.0)
        );
        assert_eq!(c.level, -30);
    }
}

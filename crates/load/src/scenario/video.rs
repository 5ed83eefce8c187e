//! `video`: P publishers send a synthetic VP8 camera (one stream, or simulcast in three layers
//! `q`/`h`/`f` at realistic sizes, [`crate::vp8`]) and R more receivers watch, everyone in the
//! parent room with `--video-slots` video slots (a publisher watches the others too).
//!
//! After a warm-up, a window over send times: what every publisher sent per layer (frames,
//! keyframes, keyframe requests it received, RTP packets and bytes str0m sent), what every
//! client received per video slot (frames, keyframes, layers, publishers, latency, RTP packets
//! and bytes), and the server's CPU and RSS over it ([`tally`] has the arithmetic, shared with
//! `janus-bench video`). Costs: server CPU seconds per forwarded megabit (RTP bytes the
//! receivers got), per million forwarded frames and per million forwarded RTP packets.
//!
//! What the server does with a simulcast camera is the server's business; the report says
//! which layer each receiver got from each publisher (`layer_pairs`) and how many frames of
//! other layers arrived (`other_layer_frames`), so a server that forwards one layer, chooses
//! per receiver, or mixes layers shows up as such.

pub mod client;
pub mod tally;

use crate::payload::Clock;
use crate::progress::Progress;
use crate::report::{Checks, Machine};
use crate::scenario::{Resources, ServerProbe, Span, GRACE};
use crate::target::Target;
use crate::vp8::{self, LAYERS};
use alcove_client::media::RtpCount;
use alcove_client::proto::api::RoomSettingsInput;
use client::{Snapshot, VideoClient, VideoSpec};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};
use tally::{PublisherCount, ReceiverCount, VideoTally};

/// How often str0m reports the RTP counters the window reads.
pub const RTP_STATS: Duration = Duration::from_millis(200);

/// `video` options (also `janus-bench video`'s).
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct VideoConfig {
    /// Clients publishing a camera (they watch the others too).
    #[arg(long, default_value_t = 4)]
    pub publishers: u32,
    /// Clients only watching.
    #[arg(long, default_value_t = 8)]
    pub receivers: u32,
    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seconds of video before the window opens.
    #[arg(long, default_value_t = 2.0)]
    pub warmup_secs: f64,
    /// Camera layers: 1 (one stream: the full layer, 1280×720 at 2 Mbit/s) or 3 (simulcast
    /// `q`, `h`, `f`).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub layers: u8,
    /// Video slots every client negotiates (at least the publishers − 1).
    #[arg(long, default_value_t = 4)]
    pub video_slots: usize,
    /// The run fails when the loss is at or above this fraction.
    #[arg(long, default_value_t = 0.5)]
    pub max_loss: f64,
    /// The highest layer every receiver asks for on every slot: Alcove `setVideoSlot`
    /// (`height` 720, `max_layer`), Janus `substream` (0, 1, 2). Default: none asked (Alcove's
    /// allocator decides; Janus's subscribers get the top layer).
    #[arg(long, value_enum)]
    pub max_layer: Option<MaxLayer>,
}

/// A layer a receiver asks for (`--max-layer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxLayer {
    /// `q`, 320×180.
    Low,
    /// `h`, 640×360.
    Medium,
    /// `f`, 1280×720.
    High,
}

impl MaxLayer {
    /// 0 (low) … 2 (high): the index into [`LAYERS`], Janus's substream.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            publishers: 4,
            receivers: 8,
            seconds: 10.0,
            warmup_secs: 2.0,
            layers: 3,
            video_slots: 4,
            max_loss: 0.5,
            max_layer: None,
        }
    }
}

/// The result of `video` (and of `janus-bench video`).
#[derive(Debug, Clone, Serialize)]
pub struct VideoReport {
    /// `alcove` or `janus`.
    pub server: String,
    /// The server's version, when it says.
    pub server_version: Option<String>,
    /// The options it ran with.
    pub config: VideoConfig,
    /// Clients started.
    pub clients: usize,
    /// Clients that connected.
    pub connected: usize,
    /// Why the others did not.
    pub connect_failures: Vec<String>,
    /// Peer connections per client (Alcove 1; Janus a publisher and a subscriber).
    pub peer_connections_per_client: usize,
    /// Length of the window actually measured, seconds.
    pub window_s: f64,
    /// Frames per second each publisher's layers actually sent (nominal 30).
    pub send_fps_per_layer: f64,
    /// The window's numbers.
    #[serde(flatten)]
    pub tally: VideoTally,
    /// Per publisher: what it sent in the window.
    pub publishers: Vec<PublisherCount>,
    /// Per receiver: what it got in the window, per slot.
    pub receivers: Vec<ReceiverCount>,
    /// Server CPU seconds per forwarded megabit (RTP bytes at the receivers).
    pub server_cpu_s_per_mbit: Option<f64>,
    /// Server CPU seconds per million forwarded frames.
    pub server_cpu_s_per_million_frames: Option<f64>,
    /// Server CPU seconds per million forwarded RTP packets.
    pub server_cpu_s_per_million_packets: Option<f64>,
    /// Server RSS per connected client, KiB.
    pub server_rss_kib_per_client: Option<f64>,
    /// Server RSS growth since before connecting, per connected client, KiB.
    pub server_rss_growth_kib_per_client: Option<f64>,
    /// CPU and memory over the window.
    pub resources: Resources,
    /// What the numbers say the server did with the layers.
    pub observations: Vec<String>,
    /// Where the ceiling of this run is.
    pub limits: Vec<String>,
    /// Sanity checks.
    pub checks: Checks,
    /// What to know when reading the numbers.
    pub notes: Vec<String>,
}

/// Runs the scenario.
pub async fn run(
    target: &Target,
    cfg: &VideoConfig,
    progress: &Progress,
) -> anyhow::Result<VideoReport> {
    cfg.validate()?;
    let (p, r) = (cfg.publishers, cfg.receivers);
    let total = (p + r) as usize;
    let clock = Clock::start();
    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let rss_before = probe.rss();
    let settings = RoomSettingsInput {
        participants: Some((p + r).max(100)),
        ..RoomSettingsInput::default()
    };
    let room_id = target.create_room("load-video", settings).await?;
    let specs: Vec<VideoSpec> = (1..=p + r)
        .map(|i| VideoSpec {
            index: i,
            publish: i <= p,
            layers: cfg.layers,
            video_slots: cfg.video_slots,
            max_layer: cfg.max_layer,
        })
        .collect();
    let pb = progress.bar(
        total as u64,
        "connecting (token+ws+ICE+DTLS, camera + video slots)",
    );
    let results: Vec<anyhow::Result<VideoClient>> = stream::iter(specs)
        .map(|spec| {
            let (pb, room_id) = (pb.clone(), room_id.clone());
            async move {
                let r = tokio::time::timeout(
                    crate::scenario::CONNECT_TIMEOUT,
                    VideoClient::connect(target, &room_id, spec, clock),
                )
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("not connected in time")));
                pb.inc(1);
                r
            }
        })
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    pb.finish_and_clear();
    let mut clients = Vec::new();
    let mut failures = Vec::new();
    for res in results {
        match res {
            Ok(c) => clients.push(c),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    clients.sort_by_key(|c| c.index);

    // Cameras on, warm up, window over send times.
    for c in clients.iter().filter(|c| c.index <= p) {
        c.publish(true);
    }
    let window = Duration::from_secs_f64(cfg.seconds);
    let w0 = Instant::now() + Duration::from_secs_f64(cfg.warmup_secs);
    let w1 = w0 + window;
    for c in &clients {
        c.window(clock.ns(w0), clock.ns(w1));
    }
    progress
        .wait(w0.saturating_duration_since(Instant::now()), "warm-up")
        .await;
    tokio::time::sleep_until(w0.into()).await;
    let before = snapshots(&clients).await;
    let span = Span::start(&probe);
    progress.wait(window, "measuring").await;
    tokio::time::sleep_until(w1.into()).await;
    let resources = span.end(&probe, rss_before);
    let after_w1 = snapshots(&clients).await;
    progress.wait(GRACE, "grace for frames in flight").await;
    for c in &clients {
        c.publish(false);
    }
    let after = snapshots(&clients).await;
    futures_util::future::join_all(clients.into_iter().map(VideoClient::close)).await;

    let (publishers, receivers) = counts(&before, &after_w1, &after, p);
    let media_down = after.iter().filter(|s| !s.media.connected).count();
    let ice_disconnects: u32 = after.iter().map(|s| s.media.ice_disconnects).sum();
    let mut report = VideoReport::new(
        "alcove",
        None,
        cfg,
        total,
        failures,
        1,
        window.as_secs_f64(),
        publishers,
        receivers,
        resources,
    );
    report.check_connected(media_down, ice_disconnects);
    Ok(report)
}

async fn snapshots(clients: &[VideoClient]) -> Vec<Snapshot> {
    futures_util::future::join_all(clients.iter().map(VideoClient::snapshot)).await
}

/// The window's counts: frames from the last snapshot (they count by send time, so frames in
/// flight at `w1` arrive in the grace), RTP counters and keyframe requests as differences
/// between `w0` and `w1`.
fn counts(
    w0: &[Snapshot],
    w1: &[Snapshot],
    end: &[Snapshot],
    publishers: u32,
) -> (Vec<PublisherCount>, Vec<ReceiverCount>) {
    let find =
        |v: &[Snapshot], i: u32| v.iter().find(|s| s.index == i).cloned().unwrap_or_default();
    let diff = |a: RtpCount, b: RtpCount| RtpCount {
        packets: b.packets.saturating_sub(a.packets),
        bytes: b.bytes.saturating_sub(a.bytes),
    };
    let mut pubs = Vec::new();
    let mut recv = Vec::new();
    for s in end {
        let (a, b) = (find(w0, s.index), find(w1, s.index));
        if s.index <= publishers {
            let mut pc = s.sent.clone();
            pc.keyframe_requests = std::array::from_fn(|l| {
                b.media.camera_keyframe_requests[l]
                    .saturating_sub(a.media.camera_keyframe_requests[l])
            });
            pc.rtp = std::array::from_fn(|l| diff(a.media.camera_sent[l], b.media.camera_sent[l]));
            // Without simulcast str0m counts the one stream on index 0: it is the full layer.
            if pc.frames[0] == 0 && pc.frames[2] > 0 && pc.rtp[2].packets == 0 {
                pc.rtp.swap(0, 2);
                pc.keyframe_requests.swap(0, 2);
            }
            pubs.push(pc);
        }
        let mut rc = s.received.clone();
        rc.rtp = diff(a.media.video_received, b.media.video_received);
        recv.push(rc);
    }
    (pubs, recv)
}

impl VideoConfig {
    /// Checks the options.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.publishers >= 1, "--publishers must be at least 1");
        anyhow::ensure!(
            self.publishers + self.receivers >= 2,
            "at least two clients"
        );
        anyhow::ensure!(self.seconds > 0.0, "--seconds must be positive");
        anyhow::ensure!(
            self.layers == 1 || self.layers == 3,
            "--layers must be 1 or 3"
        );
        anyhow::ensure!(
            (1..=16).contains(&self.video_slots)
                && self.video_slots + 1 >= self.publishers as usize,
            "--video-slots must be 1–16 and at least --publishers − 1 (every publisher shown)"
        );
        Ok(())
    }
}

impl VideoReport {
    /// The report of a window: numbers, costs, the checks every run makes (the caller adds the
    /// connection checks, [`VideoReport::check_connected`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        server: &str,
        server_version: Option<String>,
        cfg: &VideoConfig,
        clients: usize,
        connect_failures: Vec<String>,
        peer_connections_per_client: usize,
        window_s: f64,
        publishers: Vec<PublisherCount>,
        receivers: Vec<ReceiverCount>,
        resources: Resources,
    ) -> VideoReport {
        let tally = VideoTally::of(&publishers, &receivers, window_s);
        let connected = clients.saturating_sub(connect_failures.len());
        let layers_sent = if cfg.layers >= 3 { 3.0 } else { 1.0 };
        let send_fps_per_layer = tally.frames_sent.iter().sum::<u64>() as f64
            / layers_sent
            / publishers.len().max(1) as f64
            / window_s.max(1e-9);
        let cpu = resources.server_cpu_s;
        let per = |n: f64| cpu.filter(|_| n > 0.0).map(|c| c / n);
        let per_client = |b: u64| b as f64 / 1024.0 / connected.max(1) as f64;
        let mut r = VideoReport {
            server: server.into(),
            server_version,
            config: cfg.clone(),
            clients,
            connected,
            connect_failures,
            peer_connections_per_client,
            window_s,
            send_fps_per_layer,
            server_cpu_s_per_mbit: per(tally.forwarded_bytes as f64 * 8.0 / 1e6),
            server_cpu_s_per_million_frames: per(tally.forwarded_frames as f64 / 1e6),
            server_cpu_s_per_million_packets: per(tally.forwarded_packets as f64 / 1e6),
            server_rss_kib_per_client: resources.server_rss_loaded.map(per_client),
            server_rss_growth_kib_per_client: resources
                .server_rss_loaded
                .zip(resources.server_rss_before)
                .map(|(a, b)| per_client(a.saturating_sub(b))),
            observations: Vec::new(),
            limits: Vec::new(),
            checks: Checks::default(),
            notes: Vec::new(),
            publishers,
            receivers,
            resources,
            tally,
        };
        r.observe();
        r.check();
        r
    }

    fn observe(&mut self) {
        let t = &self.tally;
        let rids = LAYERS.map(|l| l.rid);
        let got: Vec<String> = (0..3)
            .filter(|l| t.layer_pairs[*l] > 0)
            .map(|l| format!("{} {}", rids[l], t.layer_pairs[l]))
            .collect();
        let pairs: u64 = t.layer_pairs.iter().sum();
        self.observations.push(format!(
            "layer received per (receiver, publisher) pair, of {pairs}: {}{}",
            if got.is_empty() {
                "none".into()
            } else {
                got.join(", ")
            },
            if t.layer_pairs[3] > 0 {
                format!(", nothing from {}", t.layer_pairs[3])
            } else {
                String::new()
            }
        ));
        if t.other_layer_frames > 0 {
            self.observations.push(format!(
                "{} frames of a second layer of the same publisher reached receivers (layer switches, or layers mixed on one slot)",
                t.other_layer_frames
            ));
        }
        if t.unstamped_frames > 0 {
            self.observations.push(format!(
                "{} frames arrived without a whole stamp (mangled: packets of different layers depacketized as one frame?)",
                t.unstamped_frames
            ));
        }
        let requests: u64 = t.keyframe_requests.iter().sum();
        let per_s = requests as f64 / self.window_s.max(1e-9) / self.publishers.len().max(1) as f64;
        self.observations.push(format!(
            "keyframe requests at publishers: {requests} in the window ({per_s:.2}/s per publisher)"
        ));
    }

    fn check(&mut self) {
        let t = self.tally.clone();
        let cfg = self.config.clone();
        self.checks.check(
            "frames were forwarded",
            t.frames_received > 0,
            format!(
                "{} sent, {} received",
                t.frames_sent.iter().sum::<u64>(),
                t.frames_received
            ),
        );
        self.checks.check(
            "every receiver got frames from every publisher",
            t.layer_pairs[3] == 0,
            format!(
                "{} (receiver, publisher) pairs got nothing",
                t.layer_pairs[3]
            ),
        );
        self.checks.check(
            "publishers sent at least half the nominal 30 frames/s per layer",
            self.send_fps_per_layer >= 15.0,
            format!("{:.1} frames/s", self.send_fps_per_layer),
        );
        self.checks.check(
            &format!("loss below {:.0}%", cfg.max_loss * 100.0),
            t.loss < cfg.max_loss,
            format!(
                "{:.3}% ({}/{})",
                t.loss * 100.0,
                t.frames_received,
                t.frames_expected
            ),
        );
        self.checks.check(
            "nobody got its own camera",
            t.foreign_frames == 0,
            format!("{} frames", t.foreign_frames),
        );
        let nproc = Machine::this().nproc;
        self.limits = self.resources.limits(nproc);
        if self.send_fps_per_layer < 29.0 {
            self.limits.push(format!(
                "publishers sent {:.1} of 30 frames/s per layer: the load tool's ticks ran late (CPU contention in the load tool)",
                self.send_fps_per_layer
            ));
        }
        let (d, k) = LAYERS[2].frame_sizes();
        self.notes.push(format!(
            "offered load: {} publishers × {} layer(s) at {} frames/s (f: {d} B delta, {k} B keyframe every {} frames), {} clients with {} video slots each",
            cfg.publishers,
            cfg.layers,
            vp8::FPS,
            vp8::KEYFRAME_EVERY,
            cfg.publishers + cfg.receivers,
            cfg.video_slots
        ));
        self.notes.push(format!(
            "bitrates and packets are str0m's RTP counters (header + payload, retransmissions included), read every {} ms at both ends of the window; frames are counted by stamped send time",
            RTP_STATS.as_millis()
        ));
    }

    /// Records the connection checks.
    pub fn check_connected(&mut self, media_down: usize, ice_disconnects: u32) {
        self.checks.check(
            "every client connected (ICE + DTLS) and stayed up",
            self.connect_failures.is_empty() && media_down == 0,
            format!(
                "{}/{} connected, {media_down} with media down at the end",
                self.connected, self.clients
            ),
        );
        self.checks.check(
            "no ICE disconnect",
            ice_disconnects == 0,
            format!("{ice_disconnects}"),
        );
    }

    /// Human-readable text.
    pub fn text(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "video against {}{}: {} publishers ({} layer{}) + {} receivers, {} video slots, {:.1} s window\n",
            self.server,
            self.server_version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            c.publishers,
            c.layers,
            if c.layers == 1 { "" } else { "s" },
            c.receivers,
            c.video_slots,
            self.window_s
        );
        s.push_str(&format!(
            "  connected {}/{} ({} peer connection(s) per client), {:.1} frames/s per layer sent\n",
            self.connected, self.clients, self.peer_connections_per_client, self.send_fps_per_layer
        ));
        s.push_str(&self.tally.text());
        let opt = |v: Option<f64>, unit: &str| match v {
            Some(v) => format!("{v:.3} {unit}"),
            None => "unknown".into(),
        };
        s.push_str(&format!(
            "  server CPU per forwarded Mbit: {}; per million forwarded frames: {}; per million packets: {}\n",
            opt(self.server_cpu_s_per_mbit, "s"),
            opt(self.server_cpu_s_per_million_frames, "s"),
            opt(self.server_cpu_s_per_million_packets, "s")
        ));
        if let Some(r) = self.server_rss_kib_per_client {
            s.push_str(&format!("  server RSS per connected client: {r:.0} KiB"));
            if let Some(g) = self.server_rss_growth_kib_per_client {
                s.push_str(&format!(" (growth since before connecting: {g:.0} KiB)"));
            }
            s.push('\n');
        }
        s.push_str(&self.resources.text(self.connected, Machine::this().nproc));
        for o in &self.observations {
            s.push_str(&format!("  observed: {o}\n"));
        }
        for l in &self.limits {
            s.push_str(&format!("  limit: {l}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s
    }
}

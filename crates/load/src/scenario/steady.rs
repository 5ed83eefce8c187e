//! `steady`: K break-out rooms of S members each, everyone talking, for T seconds.
//!
//! A moderator (signalling only, no media) creates the rooms and force-joins S members into
//! each with one `inviteToBreakOutRoom` per room ([`force_into_rooms`]). Then every member
//! talks at 50 frames/s. After a warm-up, a measurement window over *send* times
//! ([`measure_window`]) gives loss, jitter and latency per (receiver, room-mate) stream
//! ([`Tally`]); server CPU (`/proc/<pid>/stat`) over the window per million forwarded frames,
//! where forwarded = received by all clients; server RSS per connected client.

use crate::client::{ClientSpec, SimClient, Until};
use crate::payload::Clock;
use crate::progress::Progress;
use crate::report::{Checks, Machine};
use crate::scenario::{
    close_all, connect_all, force_into_rooms, measure_window, until_all, Resources, ServerProbe,
    Tally, PARTICIPANT_LEVEL, WAIT,
};
use crate::stats::{line, Summary};
use crate::target::Target;
use alcove_client::proto::api::RoomSettingsInput;
use alcove_client::proto::signal::Role;
use alcove_client::proto::RoomId;
use serde::Serialize;
use std::time::Duration;

pub use crate::scenario::{JitterReport, GRACE};

/// `steady` options.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct SteadyConfig {
    /// Break-out rooms.
    #[arg(long, default_value_t = 4)]
    pub rooms: u32,
    /// Members per room (2–15), all talking.
    #[arg(long, default_value_t = 5)]
    pub size: u32,
    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seconds of talking before the window opens.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_secs: f64,
    /// Audio receive slots each member negotiates (default: the room's 16).
    #[arg(long)]
    pub slots: Option<usize>,
    /// The run fails when the loss is at or above this fraction.
    #[arg(long, default_value_t = 0.5)]
    pub max_loss: f64,
}

impl Default for SteadyConfig {
    fn default() -> Self {
        SteadyConfig {
            rooms: 4,
            size: 5,
            seconds: 10.0,
            warmup_secs: 1.0,
            slots: None,
            max_loss: 0.5,
        }
    }
}

/// The result of `steady`.
#[derive(Debug, Clone, Serialize)]
pub struct SteadyReport {
    /// The options it ran with.
    pub config: SteadyConfig,
    /// The parent room.
    pub room_id: RoomId,
    /// Clients started (members + the moderator).
    pub clients: usize,
    /// Clients that connected.
    pub connected: usize,
    /// Why the others did not.
    pub connect_failures: Vec<String>,
    /// Members that got their `connectedBreakoutRoom`.
    pub joined: usize,
    /// Length of the window actually measured, seconds.
    pub window_s: f64,
    /// Frames members sent in the window.
    pub frames_sent: u64,
    /// Frames per second each talker actually sent in the window (nominal 50; less means the
    /// load tool's send ticks ran late and were skipped).
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

/// Runs the scenario.
pub async fn run(
    target: &Target,
    cfg: &SteadyConfig,
    progress: &Progress,
) -> anyhow::Result<SteadyReport> {
    anyhow::ensure!(
        (2..=15).contains(&cfg.size),
        "--size must be 2–15 (max_active_talkers 16 − 1)"
    );
    anyhow::ensure!((1..=100).contains(&cfg.rooms), "--rooms must be 1–100");
    anyhow::ensure!(cfg.seconds > 0.0, "--seconds must be positive");
    let (k, s) = (cfg.rooms, cfg.size);
    let members = k * s;
    let clock = Clock::start();
    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let rss_before = probe.rss();
    let settings = RoomSettingsInput {
        max_active_talkers: Some(16),
        participants: Some(members.max(100)),
        max_breakout_rooms: Some(k.max(10)),
        ..RoomSettingsInput::default()
    };
    let room_id = target.create_room("load-steady", settings).await?;
    // Index 0: the moderator, signalling only. Members 1..=K·S, room r holds 1+r·S .. 1+(r+1)·S.
    let mut specs = vec![ClientSpec {
        index: 0,
        name: "mod".into(),
        role: Role::Moderator,
        media: false,
        slots: None,
        level: -127,
        talking: false,
        log: false,
    }];
    specs.extend((1..=members).map(|i| ClientSpec {
        index: i,
        name: format!("m-{i}"),
        role: Role::Participant,
        media: true,
        slots: cfg.slots,
        level: PARTICIPANT_LEVEL,
        talking: false,
        log: false,
    }));
    let (clients, failures) = connect_all(target, &room_id, specs, clock, progress).await;
    let clients: Vec<SimClient> = clients.into_iter().map(|(c, _)| c).collect();
    let Some(lead) = clients.iter().find(|c| c.index == 0) else {
        close_all(clients).await;
        anyhow::bail!("the moderator did not connect: {failures:?}");
    };
    let room_of = |i: u32| (i - 1) / s;

    // Rooms, then one forced invite per room.
    let member_clients: Vec<&SimClient> = clients.iter().filter(|c| c.index > 0).collect();
    let groups: Vec<Vec<&SimClient>> = (0..k)
        .map(|r| {
            member_clients
                .iter()
                .copied()
                .filter(|c| room_of(c.index) == r)
                .collect()
        })
        .collect();
    if let Err(e) = force_into_rooms(lead, &groups, progress).await {
        close_all(clients).await;
        return Err(e);
    }
    let joined_at = until_all(
        member_clients.iter().copied(),
        |_| Until::JoinedBreakout { after: clock.epoch },
        WAIT,
        progress,
        "waiting for connectedBreakoutRoom",
    )
    .await;
    let joined = joined_at.iter().filter(|j| j.is_some()).count();

    // Talk, warm up, measure.
    for c in &member_clients {
        c.talk(true);
    }
    let senders = members as usize + 1;
    let measured = measure_window(
        &member_clients,
        clock,
        senders,
        Duration::from_secs_f64(cfg.warmup_secs),
        cfg.seconds,
        &probe,
        rss_before,
        None,
        progress,
    )
    .await;
    for c in &member_clients {
        c.talk(false);
    }
    let (summaries, resources, window) = (measured.summaries, measured.resources, measured.length);
    let media_down = summaries.iter().filter(|s| !s.media.connected).count();
    let ice_disconnects: u32 = summaries.iter().map(|s| s.media.ice_disconnects).sum();
    close_all(clients).await;

    let tally = Tally::of(
        &summaries,
        senders,
        |i| (i >= 1).then(|| room_of(i) as usize),
        |i| i >= 1,
    );
    let Tally {
        frames_sent,
        expected,
        received,
        foreign,
        loss,
        jitter,
        latency,
        ..
    } = tally;
    let send_rate_per_talker = frames_sent as f64 / f64::from(members) / window.as_secs_f64();
    let forwarded = received + foreign;
    let connected = clients_total(members) - failures.len();
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
    let total = clients_total(members);
    checks.check(
        "every client connected (token, signalling, ICE + DTLS)",
        failures.is_empty() && media_down == 0,
        format!("{connected}/{total} connected, {media_down} with media down at the end"),
    );
    checks.check(
        "every member was moved into its break-out room",
        joined == members as usize,
        format!("{joined}/{members}"),
    );
    checks.check(
        "frames were forwarded",
        received > 0 && frames_sent > 0,
        format!("{frames_sent} sent, {received} received"),
    );
    checks.check(
        "talkers sent at least half the nominal 50 frames/s (load tool not saturated)",
        send_rate_per_talker >= 25.0,
        format!("{send_rate_per_talker:.1} frames/s per talker"),
    );
    checks.check(
        &format!("loss below {:.0}%", cfg.max_loss * 100.0),
        loss < cfg.max_loss,
        format!("{:.3}% ({received}/{expected})", loss * 100.0),
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
            "the load tool ({members} str0m peer connections: SRTP, DTLS, ICE, plus stamping and counting) \
             and the server share {nproc} cores; see the CPU lines"
        ),
    ];
    let mut limits = resources.limits(nproc);
    if let Some(l) = latency.filter(|l| l.p50_ms > crate::scenario::wave::QUEUEING_MS) {
        limits.push(format!(
            "frames took {:.0} ms (p50) end to end: {} frames/s is at or beyond what the server \
             and the load tool process on this machine, so datagrams queue",
            l.p50_ms,
            members * (s - 1) * 50
        ));
    }
    if send_rate_per_talker < 49.0 {
        limits.push(format!(
            "talkers sent {send_rate_per_talker:.1} of 50 frames/s: the load tool's send ticks ran more than 5 ms late and were skipped (CPU contention in the load tool)"
        ));
    }
    Ok(SteadyReport {
        config: cfg.clone(),
        room_id,
        clients: total,
        connected,
        connect_failures: failures,
        joined,
        window_s: window.as_secs_f64(),
        frames_sent,
        send_rate_per_talker,
        frames_expected: expected,
        frames_received: received,
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

fn clients_total(members: u32) -> usize {
    members as usize + 1
}

impl SteadyReport {
    /// Human-readable text.
    pub fn text(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "steady: {} rooms × {} members, all talking, {:.1} s window\n",
            c.rooms, c.size, self.window_s
        );
        s.push_str(&format!(
            "  connected {}/{}, moved into their rooms {}\n",
            self.connected, self.clients, self.joined
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

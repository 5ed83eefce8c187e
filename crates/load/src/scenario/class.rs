//! `class`: a whole class in ONE family — one parent room, a moderator who force-joins
//! everyone into K break-out rooms of S, and in each room T talkers while the others listen.
//!
//! This is the family-size test: every client of the run is in the same family, so on a
//! server that runs a family on one task, everything here (signalling and every forwarded
//! frame) passes through that one task.
//!
//! * The moderator (signalling only) splits the class either with one forced
//!   `inviteToBreakOutRoom` per room ([`force_into_rooms`], the default) or, with
//!   `--one-request`, with one `createAndInviteBreakoutRoom` (`force_join`), which is the
//!   teacher's button but also the presence burst that `wave` measures.
//! * The first T members of each room (by index) talk at 50 frames/s; the rest listen.
//! * A measurement window over send times ([`measure_window`]): a listener in room X expects
//!   every frame the talkers of X stamped (a talker also hears the other talkers of its room);
//!   loss, jitter and latency as in `steady` ([`Tally`]); whether every listener heard every
//!   talker of its room; frames from other rooms (must be none).
//! * Server CPU per million forwarded frames and RSS per client, as `steady`; and the
//!   server's CPU sampled every `--sample-ms` per process and per thread ([`CpuTimeline`]):
//!   the run holds one family only, so an interval above 1.0 cores means that family's work
//!   (its task plus the connection and socket tasks serving it) used more than one core.

use crate::client::{ClientSpec, SimClient, Until};
use crate::payload::Clock;
use crate::progress::Progress;
use crate::report::{Checks, Machine};
use crate::scenario::{
    close_all, connect_all, force_into_rooms, measure_window, ms, until_all, CpuTimeline,
    JitterReport, Resources, ServerProbe, Span, Tally, Window, PARTICIPANT_LEVEL,
};
use crate::stats::{line, Summary};
use crate::target::Target;
use alcove_client::proto::api::RoomSettingsInput;
use alcove_client::proto::signal::{Role, RoomDefinition};
use alcove_client::proto::{ClientId, RoomId};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long the scenario waits for every member's `connectedBreakoutRoom`: a class of a
/// thousand takes longer to move than a seminar.
pub const JOIN_WAIT: Duration = Duration::from_secs(60);
/// The target for a class: less than 1% loss.
pub const TARGET_LOSS: f64 = 0.01;

/// `class` options.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct ClassConfig {
    /// Break-out rooms (1–100).
    #[arg(long, default_value_t = 100)]
    pub rooms: u32,
    /// Members per room (2–15).
    #[arg(long, default_value_t = 10)]
    pub size: u32,
    /// Talkers per room (the first ones by index); the others listen.
    #[arg(long, default_value_t = 2)]
    pub talkers: u32,
    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Seconds of talking before the window opens.
    #[arg(long, default_value_t = 2.0)]
    pub warmup_secs: f64,
    /// Audio receive slots each member negotiates (default: the room's 16).
    #[arg(long)]
    pub slots: Option<usize>,
    /// Split the class with one `createAndInviteBreakoutRoom` (`force_join`) instead of one
    /// forced `inviteToBreakOutRoom` per room.
    #[arg(long)]
    pub one_request: bool,
    /// Interval of the server CPU samples, milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub sample_ms: u64,
    /// The run fails when the loss is at or above this fraction (the target is below 1%).
    #[arg(long, default_value_t = TARGET_LOSS)]
    pub max_loss: f64,
}

impl Default for ClassConfig {
    fn default() -> Self {
        ClassConfig {
            rooms: 100,
            size: 10,
            talkers: 2,
            seconds: 60.0,
            warmup_secs: 2.0,
            slots: None,
            one_request: false,
            sample_ms: 1000,
            max_loss: TARGET_LOSS,
        }
    }
}

/// The result of `class`.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    /// The options it ran with.
    pub config: ClassConfig,
    /// The parent room (the one family).
    pub room_id: RoomId,
    /// Clients started (members + the moderator).
    pub clients: usize,
    /// Clients that connected (token, signalling, ICE + DTLS).
    pub connected: usize,
    /// How many failed to connect, and the first few reasons.
    pub connect_failed: usize,
    /// The first few connect failures.
    pub connect_failures: Vec<String>,
    /// Token → ICE + DTLS up, per connected client.
    pub connect: Option<Summary>,
    /// Seconds from the first connect to the last.
    pub connect_all_s: f64,
    /// Members assigned to a break-out room.
    pub assigned: usize,
    /// Members that got their `connectedBreakoutRoom`.
    pub joined: usize,
    /// First split request → each member's `connectedBreakoutRoom`.
    pub join_signal: Option<Summary>,
    /// First split request → the last `connectedBreakoutRoom`, seconds.
    pub split_s: Option<f64>,
    /// Why the split failed (no media was measured then).
    pub split_error: Option<String>,
    /// Talkers and listeners among the assigned members.
    pub talkers: usize,
    /// Members that only listen.
    pub listeners: usize,
    /// Length of the window actually measured, seconds.
    pub window_s: f64,
    /// Frames talkers sent in the window.
    pub frames_sent: u64,
    /// Frames per second each talker actually sent (nominal 50).
    pub send_rate_per_talker: f64,
    /// Frames receivers should have got (the talkers of their room).
    pub frames_expected: u64,
    /// Frames receivers got from the talkers of their room.
    pub frames_received: u64,
    /// Frames receivers got from outside their room (must be 0).
    pub frames_foreign: u64,
    /// 1 − received / expected.
    pub loss: f64,
    /// Receivers whose own loss was 1% or more.
    pub receivers_over_1pct_loss: usize,
    /// The worst receiver's loss.
    pub worst_receiver_loss: f64,
    /// Listeners that heard every talker of their room at least once in the window.
    pub listeners_hearing_all_talkers: usize,
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
    /// The server's CPU over the window, per interval and per thread.
    pub server_cpu: Option<CpuTimeline>,
    /// The server (one family) used more than one core in some interval of the window.
    pub more_than_one_core: Option<bool>,
    /// CPU and memory over the window.
    pub resources: Resources,
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
    cfg: &ClassConfig,
    progress: &Progress,
) -> anyhow::Result<ClassReport> {
    anyhow::ensure!(
        (2..=15).contains(&cfg.size),
        "--size must be 2–15 (max_active_talkers 16 − 1)"
    );
    anyhow::ensure!((1..=100).contains(&cfg.rooms), "--rooms must be 1–100");
    anyhow::ensure!(
        (1..=cfg.size).contains(&cfg.talkers),
        "--talkers must be 1–size"
    );
    anyhow::ensure!(cfg.seconds > 0.0, "--seconds must be positive");
    anyhow::ensure!(cfg.sample_ms >= 10, "--sample-ms must be at least 10");
    let (k, s) = (cfg.rooms, cfg.size);
    let members = k * s;
    let senders = members as usize + 1;
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
    let room_id = target.create_room("load-class", settings).await?;
    // Index 0: the moderator, signalling only. Members 1..=K·S.
    let mut specs = vec![ClientSpec {
        index: 0,
        name: "teacher".into(),
        role: Role::Moderator,
        media: false,
        slots: None,
        level: -127,
        talking: false,
        log: false,
    }];
    specs.extend((1..=members).map(|i| ClientSpec {
        index: i,
        name: format!("s-{i}"),
        role: Role::Participant,
        media: true,
        slots: cfg.slots,
        level: PARTICIPANT_LEVEL,
        talking: false,
        log: false,
    }));
    let connect_started = Instant::now();
    let (clients, failures) = connect_all(target, &room_id, specs, clock, progress).await;
    let connect_all_s = connect_started.elapsed().as_secs_f64();
    let connect =
        Summary::of_durations(&clients.iter().map(|(_, t)| t.total()).collect::<Vec<_>>());
    let clients: Vec<SimClient> = clients.into_iter().map(|(c, _)| c).collect();
    let Some(lead) = clients.iter().find(|c| c.index == 0) else {
        close_all(clients).await;
        anyhow::bail!("the moderator did not connect: {failures:?}");
    };
    let member_clients: Vec<&SimClient> = clients.iter().filter(|c| c.index > 0).collect();

    // The split: groups of members by room, in room order.
    let t0 = Instant::now();
    // A split the server does not acknowledge is a result at class size (a failed check),
    // not an aborted run; nothing is measured then.
    let (groups, split_error) = match split(lead, &member_clients, cfg, progress).await {
        Ok(g) => (g, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    let mut room_of: Vec<Option<usize>> = vec![None; senders];
    let mut talker: Vec<bool> = vec![false; senders];
    for (r, group) in groups.iter().enumerate() {
        for (pos, &i) in group.iter().enumerate() {
            room_of[i as usize] = Some(r);
            talker[i as usize] = pos < cfg.talkers as usize;
        }
    }
    let assigned: Vec<&SimClient> = member_clients
        .iter()
        .copied()
        .filter(|c| room_of[c.index as usize].is_some())
        .collect();
    let joined_at = until_all(
        assigned.iter().copied(),
        |_| Until::JoinedBreakout { after: t0 },
        JOIN_WAIT,
        progress,
        "waiting for connectedBreakoutRoom",
    )
    .await;
    let joined = joined_at.iter().filter(|j| j.is_some()).count();
    let join_times: Vec<Duration> = joined_at.iter().flatten().map(|t| *t - t0).collect();
    let join_signal = Summary::of_durations(&join_times);
    let split_s = join_times.iter().max().map(Duration::as_secs_f64);

    // Talk, warm up, measure.
    let talking: Vec<&SimClient> = assigned
        .iter()
        .copied()
        .filter(|c| talker[c.index as usize])
        .collect();
    for c in &talking {
        c.talk(true);
    }
    let measured = if split_error.is_none() {
        measure_window(
            &assigned,
            clock,
            senders,
            Duration::from_secs_f64(cfg.warmup_secs),
            cfg.seconds,
            &probe,
            rss_before,
            Some(Duration::from_millis(cfg.sample_ms)),
            progress,
        )
        .await
    } else {
        Window {
            summaries: Vec::new(),
            resources: Span::start(&probe).end(&probe, rss_before),
            length: Duration::ZERO,
            cpu: None,
        }
    };
    for c in &talking {
        c.talk(false);
    }
    let summaries = measured.summaries;
    let (resources, window) = (measured.resources, measured.length);
    let media_down = summaries.iter().filter(|s| !s.media.connected).count();
    let ice_disconnects: u32 = summaries.iter().map(|s| s.media.ice_disconnects).sum();
    let closed = summaries.iter().filter(|s| s.closed).count();
    let n_talkers = talking.len();
    let n_assigned = assigned.len();
    close_all(clients).await;

    let tally = Tally::of(
        &summaries,
        senders,
        |i| room_of.get(i as usize).copied().flatten(),
        |i| talker.get(i as usize).copied().unwrap_or(false),
    );
    // Every listener must hear every talker of its room.
    let talkers_of: Vec<Vec<u32>> = groups
        .iter()
        .map(|g| g.iter().take(cfg.talkers as usize).copied().collect())
        .collect();
    let listeners: Vec<_> = summaries
        .iter()
        .filter(|sm| !talker[sm.index as usize])
        .collect();
    let listeners_hearing_all_talkers = listeners
        .iter()
        .filter(|sm| {
            let Some(r) = room_of[sm.index as usize] else {
                return false;
            };
            let Some(w) = &sm.window else { return false };
            talkers_of[r]
                .iter()
                .all(|t| w.streams.get(*t as usize).is_some_and(|st| st.received > 0))
        })
        .count();
    let send_rate_per_talker =
        tally.frames_sent as f64 / n_talkers.max(1) as f64 / window.as_secs_f64().max(1e-9);
    let forwarded = tally.received + tally.foreign;
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
    let more_than_one_core = measured
        .cpu
        .as_ref()
        .filter(|c| !c.cores.is_empty())
        .map(|c| c.intervals_above_one_core > 0);
    let receivers_over_1pct_loss = tally.receiver_loss.iter().filter(|l| **l >= 0.01).count();
    let worst_receiver_loss = tally.receiver_loss.iter().copied().fold(0.0, f64::max);

    let total = clients_total(members);
    let mut checks = Checks::default();
    checks.check(
        "the split was acknowledged",
        split_error.is_none(),
        split_error.clone().unwrap_or_else(|| "ok".into()),
    );
    checks.check(
        "every client connected (token, signalling, ICE + DTLS)",
        failures.is_empty() && media_down == 0,
        format!("{connected}/{total} connected, {media_down} with media down at the end"),
    );
    checks.check(
        "every member was moved into its break-out room",
        joined == members as usize,
        format!("{joined}/{members} (assigned {n_assigned})"),
    );
    checks.check(
        "no client was disconnected by the server",
        closed == 0,
        format!("{closed}"),
    );
    checks.check(
        "frames were forwarded",
        tally.received > 0 && tally.frames_sent > 0,
        format!("{} sent, {} received", tally.frames_sent, tally.received),
    );
    checks.check(
        "talkers sent at least half the nominal 50 frames/s (load tool not saturated)",
        send_rate_per_talker >= 25.0,
        format!("{send_rate_per_talker:.1} frames/s per talker"),
    );
    checks.check(
        &format!("loss below {:.1}%", cfg.max_loss * 100.0),
        tally.loss < cfg.max_loss,
        format!(
            "{:.3}% ({}/{}); {receivers_over_1pct_loss} receivers at ≥ 1%, worst {:.1}%",
            tally.loss * 100.0,
            tally.received,
            tally.expected,
            worst_receiver_loss * 100.0
        ),
    );
    checks.check(
        "every listener heard every talker of its room",
        listeners_hearing_all_talkers == listeners.len(),
        format!("{listeners_hearing_all_talkers}/{}", listeners.len()),
    );
    checks.check(
        "isolation: nothing heard from another room",
        tally.foreign == 0,
        format!("{} frames", tally.foreign),
    );
    checks.check(
        "no ICE disconnect",
        ice_disconnects == 0,
        format!("{ice_disconnects}"),
    );

    let nproc = Machine::this().nproc;
    let per_talker_receivers = s - 1;
    let offered = u64::from(k) * u64::from(cfg.talkers) * u64::from(per_talker_receivers) * 50;
    let mut notes = vec![
        format!(
            "one family: {members} members + 1 moderator in one parent room, split into {k} rooms of {s}; \
             {} talkers per room, {} listeners",
            cfg.talkers,
            s - cfg.talkers
        ),
        format!(
            "offered load: {k} rooms × {} talkers × {per_talker_receivers} receivers × 50 frames/s = {offered} forwarded frames/s \
             (in: {} frames/s)",
            cfg.talkers,
            u64::from(k) * u64::from(cfg.talkers) * 50
        ),
        format!(
            "split with {}",
            if cfg.one_request {
                "one createAndInviteBreakoutRoom (force_join): the server assigns members at random; \
                 the talkers are the lowest indices of each room"
            } else {
                "one forced inviteToBreakOutRoom per room, one request at a time"
            }
        ),
        format!(
            "the load tool ({} str0m peer connections) and the server share {nproc} cores",
            connected.saturating_sub(1)
        ),
    ];
    if let Some(c) = &measured.cpu {
        notes.push(format!(
            "server CPU sampled every {:.1} s from /proc/<pid>/stat and /proc/<pid>/task/*/stat; \
             the server holds this one family only, so its process CPU is the family's work plus the \
             connection and socket tasks that serve it (tokio may run the family task on any worker \
             thread, so no single thread is the family)",
            c.interval_s
        ));
    }
    let mut limits = resources.limits(nproc);
    if let Some(l) = tally
        .latency
        .filter(|l| l.p50_ms > crate::scenario::wave::QUEUEING_MS)
    {
        limits.push(format!(
            "frames took {:.0} ms (p50) end to end: {offered} frames/s is beyond what the server \
             and the load tool process on this machine, so datagrams queue",
            l.p50_ms
        ));
    }
    if send_rate_per_talker < 49.0 {
        limits.push(format!(
            "talkers sent {send_rate_per_talker:.1} of 50 frames/s: the load tool's send ticks ran more than 5 ms late and were skipped (CPU contention in the load tool)"
        ));
    }
    if let Some(c) = &measured.cpu {
        if c.max_cores <= 1.0 && c.mean_cores >= 0.85 {
            limits.push(format!(
                "the server stayed at or below one core (mean {:.2}, max {:.2}) while busy: the family runs on one task",
                c.mean_cores, c.max_cores
            ));
        }
    }
    Ok(ClassReport {
        config: cfg.clone(),
        room_id,
        clients: total,
        connected,
        connect_failed: failures.len(),
        connect_failures: failures.into_iter().take(5).collect(),
        connect,
        connect_all_s,
        assigned: n_assigned,
        joined,
        join_signal,
        split_s,
        split_error,
        talkers: n_talkers,
        listeners: listeners.len(),
        window_s: window.as_secs_f64(),
        frames_sent: tally.frames_sent,
        send_rate_per_talker,
        frames_expected: tally.expected,
        frames_received: tally.received,
        frames_foreign: tally.foreign,
        loss: tally.loss,
        receivers_over_1pct_loss,
        worst_receiver_loss,
        listeners_hearing_all_talkers,
        forwarded_per_s: forwarded as f64 / window.as_secs_f64().max(1e-9),
        jitter: tally.jitter,
        latency: tally.latency,
        server_cpu_s_per_million,
        server_rss_kib_per_client,
        server_rss_growth_kib_per_client,
        server_cpu: measured.cpu,
        more_than_one_core,
        resources,
        limits,
        checks,
        notes,
    })
}

/// Moves the members into the rooms; the member indices of each room, in room order, sorted.
async fn split(
    lead: &SimClient,
    members: &[&SimClient],
    cfg: &ClassConfig,
    progress: &Progress,
) -> anyhow::Result<Vec<Vec<u32>>> {
    if !cfg.one_request {
        let groups: Vec<Vec<&SimClient>> = (0..cfg.rooms)
            .map(|r| {
                members
                    .iter()
                    .copied()
                    .filter(|c| (c.index - 1) / cfg.size == r)
                    .collect()
            })
            .collect();
        force_into_rooms(lead, &groups, progress).await?;
        return Ok(groups
            .iter()
            .map(|g| g.iter().map(|c| c.index).collect())
            .collect());
    }
    let def = RoomDefinition {
        participants: cfg.size,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: cfg.rooms,
        force_join: true,
        ..RoomDefinition::default()
    };
    let sp = progress.spinner("createAndInviteBreakoutRoom (force_join)");
    let ack = lead.room.create_and_invite_breakout_room(&def).await;
    sp.finish_and_clear();
    let result = match ack.as_ref().map(|a| a.msg.data()) {
        Ok(Some(r)) => r.clone(),
        Ok(None) => anyhow::bail!("createAndInviteBreakoutRoom: no rooms in the ack"),
        Err(e) => anyhow::bail!("createAndInviteBreakoutRoom: {e}"),
    };
    let index_of: HashMap<&ClientId, u32> =
        members.iter().map(|c| (&c.client_id, c.index)).collect();
    Ok(result
        .rooms
        .iter()
        .map(|br| {
            let mut idx: Vec<u32> = result
                .invitations
                .iter()
                .filter(|inv| &inv.room_id == br)
                .flat_map(|inv| inv.clients.iter())
                .filter_map(|c| index_of.get(c).copied())
                .collect();
            idx.sort_unstable();
            idx
        })
        .collect())
}

fn clients_total(members: u32) -> usize {
    members as usize + 1
}

impl ClassReport {
    /// Human-readable text.
    pub fn text(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "class: one family, {} rooms × {} members ({} talking), {:.1} s window\n",
            c.rooms, c.size, c.talkers, self.window_s
        );
        s.push_str(&format!(
            "  connected {}/{} in {:.1} s (token → ICE+DTLS {})\n",
            self.connected,
            self.clients,
            self.connect_all_s,
            line(&self.connect)
        ));
        for f in &self.connect_failures {
            s.push_str(&format!("    connect failure: {f}\n"));
        }
        if let Some(e) = &self.split_error {
            s.push_str(&format!("  split FAILED: {e}; nothing measured\n"));
        }
        s.push_str(&format!(
            "  moved into their rooms {}/{} (assigned {}); split request → connectedBreakoutRoom {}\n",
            self.joined,
            c.rooms * c.size,
            self.assigned,
            line(&self.join_signal)
        ));
        s.push_str(&format!(
            "  talkers {}, listeners {}; frames sent {} ({:.1}/s per talker), expected at receivers {}, received {} ({:.0}/s forwarded), foreign {}\n",
            self.talkers,
            self.listeners,
            self.frames_sent,
            self.send_rate_per_talker,
            self.frames_expected,
            self.frames_received,
            self.forwarded_per_s,
            self.frames_foreign
        ));
        s.push_str(&format!(
            "  loss {:.3}%; receivers at ≥ 1% loss: {}; worst receiver {:.2}%; listeners hearing every talker of their room: {}/{}\n",
            self.loss * 100.0,
            self.receivers_over_1pct_loss,
            self.worst_receiver_loss * 100.0,
            self.listeners_hearing_all_talkers,
            self.listeners
        ));
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
        if let Some(cpu) = &self.server_cpu {
            // Threads that did a tenth of a core or more: the family's work spread over them.
            let busy = cpu.threads.iter().filter(|t| t.cores >= 0.10).count();
            let verdict = if cpu.intervals_above_one_core > 0 {
                "the family used MORE than one core".to_owned()
            } else if busy >= 2 {
                format!(
                    "the family's work ran on {busy} threads, never more than one core's worth in an interval"
                )
            } else {
                "the family never used more than one core".to_owned()
            };
            s.push_str(&format!(
                "  server CPU per {:.1} s interval: mean {:.2} cores, max {:.2} cores, {} of {} intervals above one core → {verdict}\n",
                cpu.interval_s,
                cpu.mean_cores,
                cpu.max_cores,
                cpu.intervals_above_one_core,
                cpu.cores.len(),
            ));
            let per: Vec<String> = cpu.cores.iter().map(|c| format!("{c:.2}")).collect();
            s.push_str(&format!("    cores per interval: {}\n", per.join(" ")));
            for t in cpu.threads.iter().filter(|t| t.cpu_s > 0.0).take(8) {
                s.push_str(&format!(
                    "    thread {} {:<16} {:>7.2} s = {:>5.1}% of one core\n",
                    t.tid,
                    t.name,
                    t.cpu_s,
                    t.cores * 100.0
                ));
            }
        }
        s.push_str(&self.resources.text(self.connected, Machine::this().nproc));
        if let Some(t) = self.split_s {
            s.push_str(&format!(
                "  split took {:.0} ms to the last member\n",
                ms(Duration::from_secs_f64(t))
            ));
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

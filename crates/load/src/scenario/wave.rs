//! `wave`: everyone in one parent room, then one `createAndInviteBreakoutRoom` with
//! `force_join` moves every participant at once, and one `destroyAllBreakOutSession` brings
//! them all back.
//!
//! Per participant it measures, from the moderator's request:
//!
//! * **join signal** — until its `connectedBreakoutRoom` arrives;
//! * **new-room audio** — until its audio has switched to the new room: the first frame from a
//!   member of its room that arrives after the last frame from anyone outside it. (A member
//!   may already have been in one of its slots in the parent; its frames then flow on without
//!   a gap, and only the end of the parent's audio marks the switch.)
//! * **leave signal** — from `destroyAllBreakOutSession` until its `didDisconnectedBreakoutRoom`;
//! * **parent audio** — from `destroyAllBreakOutSession` until the first frame from anyone who
//!   was not in its break-out room (a moderator or another room's member).
//!
//! It also counts isolation violations: frames from outside the participant's room that arrive
//! more than [`ISOLATION_GRACE`] after its `connectedBreakoutRoom` and before the destroy.

use crate::client::{ClientSpec, Ctl, LogEntry, SimClient, Until};
use crate::payload::Clock;
use crate::progress::Progress;
use crate::report::Checks;
use crate::scenario::{
    close_all, connect_all, ms, until_all, Resources, ServerProbe, Span, MODERATOR_LEVEL,
    PARTICIPANT_LEVEL, WAIT,
};
use crate::stats::{line, Summary};
use crate::target::Target;
use alcove_client::proto::api::RoomSettingsInput;
use alcove_client::proto::signal::{CreateAndInviteResult, Role, RoomDefinition};
use alcove_client::proto::{ClientId, RoomId};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The parent's `max_active_talkers`: the most the server allows, so rooms can be large.
pub const MAX_ACTIVE_TALKERS: u32 = 16;
/// A median frame latency above this means frames queue somewhere (loopback is ~1 ms).
pub const QUEUEING_MS: f64 = 50.0;
/// Frames from the old room may still be in flight this long after `connectedBreakoutRoom`.
pub const ISOLATION_GRACE: Duration = Duration::from_millis(200);

/// `wave` options.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct WaveConfig {
    /// Moderators; they stay in the parent, the first one runs the wave.
    #[arg(long, default_value_t = 1)]
    pub moderators: u32,
    /// Participants moved by the wave.
    #[arg(long, default_value_t = 20)]
    pub participants: u32,
    /// Break-out rooms to create (each gets ceil(participants / rooms), at most 15).
    #[arg(long, default_value_t = 4)]
    pub rooms: u32,
    /// Everyone talks at 50 frames/s from the moment all are connected, and the audio switch
    /// times are measured; without it the clients still connect media but stay silent, and
    /// only signalling times are measured.
    #[arg(long)]
    pub talk: bool,
    /// Audio receive slots each client negotiates (default: the room's 16).
    #[arg(long)]
    pub slots: Option<usize>,
    /// Seconds everyone talks in the parent before the wave (talker slots settle).
    #[arg(long, default_value_t = 1.0)]
    pub settle_secs: f64,
    /// Seconds in the break-out rooms before destroyAllBreakOutSession.
    #[arg(long, default_value_t = 2.0)]
    pub hold_secs: f64,
}

impl Default for WaveConfig {
    fn default() -> Self {
        WaveConfig {
            moderators: 1,
            participants: 20,
            rooms: 4,
            talk: false,
            slots: None,
            settle_secs: 1.0,
            hold_secs: 2.0,
        }
    }
}

/// The result of `wave`.
#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    /// The options it ran with.
    pub config: WaveConfig,
    /// The parent room.
    pub room_id: RoomId,
    /// `participants` per break-out room asked for in the definition.
    pub per_room: u32,
    /// ceil(participants / rooms) was more than max_active_talkers − 1 and was capped.
    pub capped: bool,
    /// Clients started (moderators + participants).
    pub clients: usize,
    /// Clients that connected (ICE + DTLS up).
    pub connected: usize,
    /// Why the others did not.
    pub connect_failures: Vec<String>,
    /// Token → ICE + DTLS up, per client.
    pub connect: Option<Summary>,
    /// Members per created break-out room, as assigned by the server.
    pub room_sizes: Vec<usize>,
    /// Participants the server left in the parent.
    pub unassigned: usize,
    /// Round trip of createAndInviteBreakoutRoom, ms.
    pub create_and_invite_ack_ms: f64,
    /// Round trip of destroyAllBreakOutSession, ms.
    pub destroy_ack_ms: f64,
    /// Request → `connectedBreakoutRoom`.
    pub join_signal: Option<Summary>,
    /// Request → first audio from the new room (after the parent's audio ended).
    pub new_room_audio: Option<Summary>,
    /// Destroy → `didDisconnectedBreakoutRoom`.
    pub leave_signal: Option<Summary>,
    /// Destroy → first audio from someone outside the participant's break-out room.
    pub parent_audio: Option<Summary>,
    /// Destroy → first audio from a moderator.
    pub moderator_audio: Option<Summary>,
    /// End-to-end latency of the frames sent in the parent before the wave (as far as they
    /// arrived while logging): shows whether the server kept up with the crowded parent.
    pub latency_parent_before: Option<Summary>,
    /// End-to-end frame latency in the break-out rooms.
    pub latency_in_rooms: Option<Summary>,
    /// End-to-end frame latency in the parent after the return.
    pub latency_parent_after: Option<Summary>,
    /// Participants alone in their room (no new-room audio to wait for).
    pub alone: usize,
    /// Frames from outside a participant's room while it was in the room (after the grace).
    pub isolation_violations: u64,
    /// ICE disconnects over all clients (a move must cause none).
    pub ice_disconnects: u32,
    /// Moderators whose signalling connection was still open at the end (a teacher the server
    /// dropped, e.g. as a slow reader, loses control of the class).
    pub moderators_connected: usize,
    /// Server and load tool resources from the first connect to the end.
    pub resources: Resources,
    /// Where the ceiling of this run is, from the CPU readings.
    pub limits: Vec<String>,
    /// Sanity checks.
    pub checks: Checks,
    /// What to know when reading the numbers.
    pub notes: Vec<String>,
}

/// What one participant saw.
#[derive(Debug, Default)]
struct Seen {
    join_signal: Option<Duration>,
    new_room_audio: Option<Duration>,
    leave_signal: Option<Duration>,
    parent_audio: Option<Duration>,
    moderator_audio: Option<Duration>,
    violations: u64,
    /// End-to-end latency (µs) of frames sent in the parent before the wave, sent in the
    /// break-out room (and heard after the switch), and sent after the return.
    latency_us: [Vec<u32>; 3],
}

/// Runs the scenario.
pub async fn run(
    target: &Target,
    cfg: &WaveConfig,
    progress: &Progress,
) -> anyhow::Result<WaveReport> {
    anyhow::ensure!(cfg.moderators >= 1, "wave needs a moderator");
    anyhow::ensure!(cfg.participants >= 2, "wave needs at least 2 participants");
    anyhow::ensure!(cfg.rooms >= 1, "wave needs at least 1 room");
    let m = cfg.moderators;
    let n = cfg.participants;
    let wanted = n.div_ceil(cfg.rooms).max(2);
    let per_room = wanted.min(MAX_ACTIVE_TALKERS - 1);
    let capped = wanted > per_room;
    let mut notes = vec![format!(
        "one createAndInviteBreakoutRoom call (force_join) with participants = {per_room} \
         per room{}",
        if capped {
            format!(
                " (ceil({n}/{}) = {wanted} capped at max_active_talkers − 1 = {}; who does not fit stays in the parent)",
                cfg.rooms,
                MAX_ACTIVE_TALKERS - 1
            )
        } else {
            format!(" = ceil({n}/{})", cfg.rooms)
        }
    )];
    notes.push(format!(
        "moderators talk at {MODERATOR_LEVEL} dBov, participants at {PARTICIPANT_LEVEL} dBov: \
         the louder moderators win talker slots in the crowded parent"
    ));

    let clock = Clock::start();
    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let rss_before = probe.rss();
    let span = Span::start(&probe);
    let settings = RoomSettingsInput {
        max_active_talkers: Some(MAX_ACTIVE_TALKERS),
        moderators: Some(m.max(5)),
        participants: Some(n.max(100)),
        max_breakout_rooms: Some(cfg.rooms.max(10)),
        ..RoomSettingsInput::default()
    };
    let room_id = target.create_room("load-wave", settings).await?;
    let specs = (0..m + n)
        .map(|i| {
            let moderator = i < m;
            ClientSpec {
                index: i,
                name: if moderator {
                    format!("mod-{i}")
                } else {
                    format!("p-{}", i - m)
                },
                role: if moderator {
                    Role::Moderator
                } else {
                    Role::Participant
                },
                media: true,
                slots: cfg.slots,
                level: if moderator {
                    MODERATOR_LEVEL
                } else {
                    PARTICIPANT_LEVEL
                },
                // Talking starts once everyone is connected (below), so the connect times
                // measure connecting, not a parent room already full of talkers.
                talking: false,
                log: false,
            }
        })
        .collect();
    let (clients, failures) = connect_all(target, &room_id, specs, clock, progress).await;
    let connect =
        Summary::of_durations(&clients.iter().map(|(_, t)| t.total()).collect::<Vec<_>>());
    let clients: Vec<SimClient> = clients.into_iter().map(|(c, _)| c).collect();
    let Some(lead) = clients.iter().find(|c| c.index == 0) else {
        close_all(clients).await;
        anyhow::bail!("the moderator did not connect: {failures:?}");
    };
    let index_of: HashMap<ClientId, u32> = clients
        .iter()
        .map(|c| (c.client_id.clone(), c.index))
        .collect();
    let participants: Vec<&SimClient> = clients.iter().filter(|c| c.index >= m).collect();

    for p in &participants {
        p.ctl(Ctl::StartLog);
    }
    if cfg.talk {
        for c in &clients {
            c.talk(true);
        }
        progress
            .wait(
                Duration::from_secs_f64(cfg.settle_secs),
                "talking in the parent",
            )
            .await;
    }

    // The wave: one request moves everyone.
    let def = RoomDefinition {
        participants: per_room,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: cfg.rooms,
        force_join: true,
        ..RoomDefinition::default()
    };
    let sp = progress.spinner("createAndInviteBreakoutRoom");
    let t0 = Instant::now();
    let ack = lead.room.create_and_invite_breakout_room(&def).await;
    let create_ack = t0.elapsed();
    sp.finish_and_clear();
    // A failed request is a failed check, not an aborted run: an overloaded server that
    // does not answer in time is a result too.
    let mut request_errors: Vec<String> = Vec::new();
    let result = match ack.as_ref().map(|a| a.msg.data()) {
        Ok(Some(r)) => r.clone(),
        Ok(None) => {
            request_errors.push("createAndInviteBreakoutRoom: no rooms in the ack".into());
            no_rooms()
        }
        Err(e) => {
            request_errors.push(format!("createAndInviteBreakoutRoom: {e}"));
            no_rooms()
        }
    };
    // Sender index → its break-out room (by position in the ack's `rooms`).
    let mut room_of: HashMap<u32, usize> = HashMap::new();
    let mut room_sizes = Vec::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    for (k, br) in result.rooms.iter().enumerate() {
        let idx: Vec<u32> = result
            .invitations
            .iter()
            .filter(|inv| &inv.room_id == br)
            .flat_map(|inv| inv.clients.iter())
            .filter_map(|c| index_of.get(c).copied())
            .collect();
        for i in &idx {
            room_of.insert(*i, k);
        }
        room_sizes.push(idx.len());
        members.push(idx);
    }
    let room_ids: Vec<RoomId> = result.rooms.clone();
    let unassigned = result.unassigned.len();
    let assigned: Vec<&SimClient> = participants
        .iter()
        .copied()
        .filter(|p| room_of.contains_key(&p.index))
        .collect();
    let joined = until_all(
        assigned.iter().copied(),
        |_| Until::JoinedBreakout { after: t0 },
        WAIT,
        progress,
        "waiting for connectedBreakoutRoom",
    )
    .await;
    progress
        .wait(
            Duration::from_secs_f64(cfg.hold_secs),
            "in the break-out rooms",
        )
        .await;

    // Everyone back.
    let sp = progress.spinner("destroyAllBreakOutSession");
    let t1 = Instant::now();
    let destroy = lead.room.destroy_all_break_out_session().await;
    let destroy_ack = t1.elapsed();
    sp.finish_and_clear();
    if let Err(e) = destroy {
        request_errors.push(format!("destroyAllBreakOutSession: {e}"));
    }
    let left = until_all(
        assigned.iter().copied(),
        |_| Until::LeftBreakout { after: t1 },
        WAIT,
        progress,
        "waiting for didDisconnected…",
    )
    .await;
    if cfg.talk {
        progress
            .wait(Duration::from_secs(1), "back in the parent")
            .await;
    }

    // Collect and analyse.
    let mut seen = Vec::new();
    let mut alone = 0;
    let mut wrong_room = 0;
    for (p, (joined_at, left_at)) in assigned.iter().zip(joined.iter().zip(left.iter())) {
        // `assigned` holds only participants found in `room_of`.
        let k = room_of[&p.index];
        let log = p.take_log().await;
        let summary = p.summary().await;
        if summary
            .joined_breakout
            .as_ref()
            .is_some_and(|(_, r)| Some(r) != room_ids.get(k))
        {
            wrong_room += 1;
        }
        let others = members[k].len() - 1;
        if others == 0 {
            alone += 1;
        }
        let mut s = analyse(
            &log,
            &clock,
            |i| room_of.get(&i) == Some(&k),
            |i| i < m,
            t0,
            *joined_at,
            t1,
        );
        s.join_signal = joined_at.map(|t| t - t0);
        s.leave_signal = left_at.map(|t| t - t1);
        seen.push((others, s));
    }
    let n_assigned = assigned.len();
    let resources = span.end(&probe, rss_before);
    let mut ice_disconnects = 0;
    let mut media_down = 0;
    let mut moderators_connected = 0;
    for c in &clients {
        let s = c.summary().await;
        if c.index < m && !s.closed {
            moderators_connected += 1;
        }
        ice_disconnects += s.media.ice_disconnects;
        if !s.media.connected {
            media_down += 1;
        }
    }
    close_all(clients).await;

    let collect = |f: &dyn Fn(&Seen) -> Option<Duration>| {
        let v: Vec<Duration> = seen.iter().filter_map(|(_, s)| f(s)).collect();
        (Summary::of_durations(&v), v.len())
    };
    let (join_signal, n_join) = collect(&|s| s.join_signal);
    let (new_room_audio, n_new) = collect(&|s| s.new_room_audio);
    let (leave_signal, n_leave) = collect(&|s| s.leave_signal);
    let (parent_audio, n_parent) = collect(&|s| s.parent_audio);
    let (moderator_audio, _) = collect(&|s| s.moderator_audio);
    let violations: u64 = seen.iter().map(|(_, s)| s.violations).sum();
    let latency = |i: usize| {
        let all: Vec<u32> = seen
            .iter()
            .flat_map(|(_, s)| s.latency_us[i].iter().copied())
            .collect();
        Summary::of_micros(&all)
    };
    let (latency_parent_before, latency_in_rooms, latency_parent_after) =
        (latency(0), latency(1), latency(2));
    let not_alone = seen.iter().filter(|(o, _)| *o > 0).count();

    let total = (m + n) as usize;
    let connected = total - failures.len();
    let mut checks = Checks::default();
    checks.check(
        "every client connected (token, signalling, ICE + DTLS)",
        failures.is_empty() && media_down == 0,
        format!("{connected}/{total} connected, {media_down} with media down at the end"),
    );
    checks.check(
        "createAndInviteBreakoutRoom and destroyAllBreakOutSession acknowledged",
        request_errors.is_empty(),
        if request_errors.is_empty() {
            "both".to_owned()
        } else {
            request_errors.join("; ")
        },
    );
    let expect_assigned = (n as usize).min((per_room * cfg.rooms) as usize);
    checks.check(
        "the server assigned as many participants as fit",
        n_assigned == expect_assigned && room_sizes.len() == cfg.rooms as usize,
        format!(
            "{} assigned over {} rooms {room_sizes:?}, {unassigned} unassigned (expected {expect_assigned} assigned)",
            n_assigned,
            room_sizes.len()
        ),
    );
    checks.check(
        "every assigned participant got connectedBreakoutRoom for its room",
        n_join == n_assigned && wrong_room == 0,
        format!(
            "{n_join}/{} within {WAIT:?}, {wrong_room} for another room",
            n_assigned
        ),
    );
    checks.check(
        "every assigned participant got didDisconnectedBreakoutRoom",
        n_leave == n_assigned,
        format!("{n_leave}/{} within {WAIT:?}", n_assigned),
    );
    if cfg.talk {
        checks.check(
            "every participant with room-mates heard its new room",
            n_new == not_alone,
            format!("{n_new}/{not_alone}"),
        );
        checks.check(
            "every participant heard the parent again after destroyAll",
            n_parent == n_assigned,
            format!("{n_parent}/{}", n_assigned),
        );
        checks.check(
            "isolation: no audio from outside a break-out room while in it",
            violations == 0,
            format!("{violations} frames (after a {ISOLATION_GRACE:?} grace)"),
        );
    }
    checks.check(
        "no ICE disconnect through the moves",
        ice_disconnects == 0,
        format!("{ice_disconnects}"),
    );
    if cfg.talk {
        notes.push(format!(
            "the load tool and the server share {} cores: the parent forwards up to {} frames/s \
             before the wave (every client receives min(slots, talkers) streams at 50 frames/s)",
            crate::report::Machine::this().nproc,
            total
                * cfg
                    .slots
                    .unwrap_or(MAX_ACTIVE_TALKERS as usize)
                    .min(total - 1)
                * 50
        ));
    }

    let offered = total
        * cfg
            .slots
            .unwrap_or(MAX_ACTIVE_TALKERS as usize)
            .min(total - 1)
        * 50;
    let mut limits = resources.limits(crate::report::Machine::this().nproc);
    if let Some(l) = latency_parent_before.filter(|l| l.p50_ms > QUEUEING_MS) {
        limits.push(format!(
            "frames sent in the parent took {:.0} ms (p50) end to end: up to {offered} frames/s \
             offered in the parent is more than the server and the load tool process here, so \
             datagrams queue (the family's queue is unbounded) and the break-out requests wait \
             behind them (createAndInviteBreakoutRoom ack {:.0} ms)",
            l.p50_ms,
            ms(create_ack)
        ));
    }
    Ok(WaveReport {
        config: cfg.clone(),
        room_id,
        per_room,
        capped,
        clients: total,
        connected,
        connect_failures: failures,
        connect,
        room_sizes,
        unassigned,
        create_and_invite_ack_ms: ms(create_ack),
        destroy_ack_ms: ms(destroy_ack),
        join_signal,
        new_room_audio,
        leave_signal,
        parent_audio,
        moderator_audio,
        latency_parent_before,
        latency_in_rooms,
        latency_parent_after,
        alone,
        isolation_violations: violations,
        ice_disconnects,
        moderators_connected,
        limits,
        resources,
        checks,
        notes,
    })
}

/// What a failed createAndInviteBreakoutRoom leaves: nothing created, nobody assigned.
fn no_rooms() -> CreateAndInviteResult {
    CreateAndInviteResult {
        rooms: Vec::new(),
        invitations: Vec::new(),
        unassigned: Vec::new(),
        repeats: None,
    }
}

/// Reads one participant's arrival log (see the module docs for the definitions).
fn analyse(
    log: &[LogEntry],
    clock: &Clock,
    in_room: impl Fn(u32) -> bool,
    is_moderator: impl Fn(u32) -> bool,
    t0: Instant,
    joined: Option<Instant>,
    t1: Instant,
) -> Seen {
    let (t0n, t1n) = (clock.ns(t0), clock.ns(t1));
    let in_br = |e: &&LogEntry| (t0n..t1n).contains(&e.at_ns);
    // The switch: the last frame from outside the room before the grace ends.
    let grace_end = joined.map_or(t1n, |j| {
        (clock.ns(j) + ISOLATION_GRACE.as_nanos() as u64).min(t1n)
    });
    let last_out = log
        .iter()
        .filter(in_br)
        .filter(|e| e.at_ns < grace_end && !in_room(e.sender))
        .map(|e| e.at_ns)
        .max()
        .unwrap_or(t0n);
    let new_room_audio = log
        .iter()
        .filter(in_br)
        .find(|e| e.at_ns > last_out && in_room(e.sender))
        .map(|e| Duration::from_nanos(e.at_ns - t0n));
    let violations = log
        .iter()
        .filter(in_br)
        .filter(|e| e.at_ns >= grace_end && !in_room(e.sender))
        .count() as u64;
    let after = |pred: &dyn Fn(u32) -> bool| {
        log.iter()
            .find(|e| e.at_ns >= t1n && pred(e.sender))
            .map(|e| Duration::from_nanos(e.at_ns - t1n))
    };
    let lat =
        |e: &LogEntry| u32::try_from(e.at_ns.saturating_sub(e.sent_ns) / 1_000).unwrap_or(u32::MAX);
    // Phases by *send* time, so frames queued in an overloaded server count where they
    // were sent (a backlog shows as latency, not as a phase without frames).
    let latency_us = [
        log.iter().filter(|e| e.sent_ns < t0n).map(lat).collect(),
        log.iter()
            .filter(|e| (t0n..t1n).contains(&e.sent_ns))
            .filter(|e| e.at_ns > last_out && in_room(e.sender))
            .map(lat)
            .collect(),
        log.iter().filter(|e| e.sent_ns >= t1n).map(lat).collect(),
    ];
    Seen {
        new_room_audio,
        parent_audio: after(&|s| !in_room(s)),
        moderator_audio: after(&is_moderator),
        violations,
        latency_us,
        ..Seen::default()
    }
}

impl WaveReport {
    /// Human-readable text.
    pub fn text(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "wave: {} moderator(s) + {} participants into {} rooms ({} per room{}), talk: {}\n",
            c.moderators,
            c.participants,
            c.rooms,
            self.per_room,
            if self.capped { ", capped" } else { "" },
            c.talk
        );
        s.push_str(&format!(
            "  connected {}/{}; connect (token → ICE+DTLS up): {}\n",
            self.connected,
            self.clients,
            line(&self.connect)
        ));
        s.push_str(&format!(
            "  rooms {:?}, unassigned {}, alone {}\n",
            self.room_sizes, self.unassigned, self.alone
        ));
        s.push_str(&format!(
            "  moderators connected at the end: {}/{}\n",
            self.moderators_connected, c.moderators
        ));
        s.push_str(&format!(
            "  createAndInviteBreakoutRoom ack: {:.2} ms; destroyAllBreakOutSession ack: {:.2} ms\n",
            self.create_and_invite_ack_ms, self.destroy_ack_ms
        ));
        s.push_str(&format!(
            "  request → connectedBreakoutRoom        {}\n",
            line(&self.join_signal)
        ));
        if c.talk {
            s.push_str(&format!(
                "  request → first audio of the new room  {}\n",
                line(&self.new_room_audio)
            ));
        }
        s.push_str(&format!(
            "  destroy → didDisconnectedBreakoutRoom  {}\n",
            line(&self.leave_signal)
        ));
        if c.talk {
            s.push_str(&format!(
                "  destroy → first audio of the parent    {}\n",
                line(&self.parent_audio)
            ));
            s.push_str(&format!(
                "  destroy → first audio of a moderator   {}\n",
                line(&self.moderator_audio)
            ));
            s.push_str(&format!(
                "  latency of frames sent in the parent before the wave  {}\n",
                line(&self.latency_parent_before)
            ));
            s.push_str(&format!(
                "  latency of frames sent in the break-out rooms        {}\n",
                line(&self.latency_in_rooms)
            ));
            s.push_str(&format!(
                "  latency of frames sent in the parent after return    {}\n",
                line(&self.latency_parent_after)
            ));
            s.push_str(&format!(
                "  isolation violations: {}; ICE disconnects: {}\n",
                self.isolation_violations, self.ice_disconnects
            ));
        }
        s.push_str(
            &self
                .resources
                .text(self.connected, crate::report::Machine::this().nproc),
        );
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

    fn e(sender: u32, ms: u64) -> LogEntry {
        LogEntry {
            sender,
            seq: 0,
            sent_ns: ms * 1_000_000 - 1_000_000,
            at_ns: ms * 1_000_000,
        }
    }

    #[test]
    fn the_switch_is_the_first_member_frame_after_the_last_outside_frame() {
        let clock = Clock::start();
        let at = |ms: u64| clock.epoch + Duration::from_millis(ms);
        // Room = {1, 2}; 9 is a moderator. Member 1 was already heard in the parent.
        let log = vec![
            e(9, 1000),
            e(1, 1001),
            e(9, 1012), // last parent frame
            e(1, 1015), // switch
            e(2, 1016),
            e(1, 1020),
            e(9, 3005), // back in the parent
            e(2, 3006),
        ];
        let s = analyse(
            &log,
            &clock,
            |i| i == 1 || i == 2,
            |i| i == 9,
            at(1000),
            Some(at(1010)),
            at(3000),
        );
        assert_eq!(s.new_room_audio, Some(Duration::from_millis(15)));
        assert_eq!(s.parent_audio, Some(Duration::from_millis(5)));
        assert_eq!(s.moderator_audio, Some(Duration::from_millis(5)));
        assert_eq!(s.violations, 0);
    }

    #[test]
    fn late_outside_frames_are_violations() {
        let clock = Clock::start();
        let at = |ms: u64| clock.epoch + Duration::from_millis(ms);
        let log = vec![e(1, 1005), e(9, 1500), e(1, 1520)];
        let s = analyse(
            &log,
            &clock,
            |i| i == 1,
            |i| i == 9,
            at(1000),
            Some(at(1002)),
            at(3000),
        );
        assert_eq!(s.violations, 1);
        assert_eq!(s.new_room_audio, Some(Duration::from_millis(5)));
        assert_eq!(s.parent_audio, None);
    }
}

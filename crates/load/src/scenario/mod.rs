//! The scenarios, and what they share: connecting many clients with bounded concurrency,
//! closing them, forcing members into break-out rooms, a measurement window over stamped
//! frames and its tally (loss, jitter, latency), reading the server process.

pub mod class;
pub mod fresh_vs_move;
pub mod soak;
pub mod steady;
pub mod video;
pub mod wave;

use crate::client::{ClientSpec, ClientSummary, ConnectTimings, Ctl, SimClient, Until};
use crate::payload::Clock;
use crate::procfs;
use crate::progress::Progress;
use crate::stats::Summary;
use crate::target::Target;
use alcove_client::proto::signal::{Invitee, RoomDefinition};
use alcove_client::proto::RoomId;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long a scenario waits for a signalling notification or a first frame.
pub const WAIT: Duration = Duration::from_secs(10);
/// Audio level of moderators: louder than participants, so they win talker slots in a
/// crowded parent room (slots go to the loudest, and a louder speaker displaces the quietest).
pub const MODERATOR_LEVEL: i8 = -10;
/// Audio level of participants.
pub const PARTICIPANT_LEVEL: i8 = -30;

/// The longest one client's whole connect (token, signalling, `sdpOffer`, ICE + DTLS) may
/// take: a connect that hangs counts as failed instead of holding a concurrency slot forever
/// (seen at class size, where the connect phase stalled with every slot waiting).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects every spec (at most `target.connect_concurrency` at once, each within
/// [`CONNECT_TIMEOUT`]), with a progress bar. Clients that fail are reported, not fatal: the
/// caller's checks decide.
pub async fn connect_all(
    target: &Target,
    room: &RoomId,
    specs: Vec<ClientSpec>,
    clock: Clock,
    progress: &Progress,
) -> (Vec<(SimClient, ConnectTimings)>, Vec<String>) {
    let pb = progress.bar(specs.len() as u64, "connecting (token+ws+ICE+DTLS)");
    let results: Vec<anyhow::Result<(SimClient, ConnectTimings)>> = stream::iter(specs)
        .map(|spec| {
            let pb = pb.clone();
            async move {
                let name = spec.name.clone();
                let r = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    SimClient::connect(target, room, spec, clock),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!(
                        "{name}: not connected within {CONNECT_TIMEOUT:?}"
                    ))
                });
                pb.inc(1);
                r
            }
        })
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    pb.finish_and_clear();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    ok.sort_by_key(|(c, _)| c.index);
    (ok, failed)
}

/// Closes every client concurrently.
pub async fn close_all(clients: Vec<SimClient>) {
    futures_util::future::join_all(clients.into_iter().map(SimClient::close)).await;
}

/// Waits for `cond(client)` on every client at once, with a progress bar; the instants, in
/// the order of `clients` (`None`: not within `timeout`).
pub async fn until_all<'a>(
    clients: impl IntoIterator<Item = &'a SimClient>,
    cond: impl Fn(&SimClient) -> Until,
    timeout: Duration,
    progress: &Progress,
    msg: &str,
) -> Vec<Option<Instant>> {
    let clients: Vec<&SimClient> = clients.into_iter().collect();
    let pb = progress.bar(clients.len() as u64, msg);
    let out = futures_util::future::join_all(clients.iter().map(|c| {
        let pb = pb.clone();
        let cond = cond(c);
        async move {
            let r = c.until(cond, timeout).await;
            pb.inc(1);
            r
        }
    }))
    .await;
    pb.finish_and_clear();
    out
}

/// Creates one break-out room per group (`createBreakOutRoom`, audio only, room size = the
/// largest group) and moves each group into its room with one forced `inviteToBreakOutRoom`
/// per room, one request at a time (none for an empty group). The created rooms, in the order
/// of `groups`.
pub async fn force_into_rooms(
    lead: &SimClient,
    groups: &[Vec<&SimClient>],
    progress: &Progress,
) -> anyhow::Result<Vec<RoomId>> {
    let k = u32::try_from(groups.len())?;
    let size = groups.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let def = RoomDefinition {
        participants: u32::try_from(size)?,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: k,
        force_join: false,
        ..RoomDefinition::default()
    };
    let created = lead.room.create_break_out_room(&def).await;
    let rooms: Vec<RoomId> = match created.as_ref().ok().and_then(|a| a.msg.data()) {
        Some(r) => r.rooms.clone(),
        None => anyhow::bail!("createBreakOutRoom failed: {created:?}"),
    };
    anyhow::ensure!(
        rooms.len() == groups.len(),
        "createBreakOutRoom made {} rooms, asked for {k}",
        rooms.len()
    );
    let pb = progress.bar(u64::from(k), "inviteToBreakOutRoom (forced)");
    for (group, br) in groups.iter().zip(&rooms) {
        // A group whose members all failed to connect leaves its room empty.
        if group.is_empty() {
            pb.inc(1);
            continue;
        }
        let inv = Invitee {
            clients: group.iter().map(|c| c.client_id.clone()).collect(),
            room_id: br.clone(),
            force_join: true,
        };
        if let Err(e) = lead.room.invite_to_break_out_room(&inv).await {
            anyhow::bail!("inviteToBreakOutRoom failed: {e}");
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(rooms)
}

/// How long receivers keep counting after a measurement window closes.
pub const GRACE: Duration = Duration::from_millis(500);

/// What [`measure_window`] collected.
#[derive(Debug, Clone)]
pub struct Window {
    /// Every member's counters, in the order given.
    pub summaries: Vec<ClientSummary>,
    /// Server and load-tool CPU and memory over the window.
    pub resources: Resources,
    /// Length of the window.
    pub length: Duration,
    /// The server's CPU over the window, sampled (when asked for and the pid is known).
    pub cpu: Option<CpuTimeline>,
}

/// Warms up, then measures a window of `seconds` over *send* times on `members`: a frame
/// counts when its stamped send time is inside the window, wherever it arrives, so frames in
/// flight at either edge are neither lost nor double-counted. Receivers keep counting for
/// [`GRACE`] after the window. `senders` is the number of clients in the run (it sizes each
/// member's per-sender table). With `sample_every`, the server's CPU is also sampled per
/// process and per thread during the window. Talking is the caller's business.
#[allow(clippy::too_many_arguments)]
pub async fn measure_window(
    members: &[&SimClient],
    clock: Clock,
    senders: usize,
    warmup: Duration,
    seconds: f64,
    probe: &ServerProbe,
    rss_before: Option<u64>,
    sample_every: Option<Duration>,
    progress: &Progress,
) -> Window {
    progress.wait(warmup, "warming up").await;
    let length = Duration::from_secs_f64(seconds);
    let w0 = Instant::now() + Duration::from_millis(50);
    let w1 = w0 + length;
    for c in members {
        c.ctl(Ctl::Window {
            start_ns: clock.ns(w0),
            end_ns: clock.ns(w1),
            senders,
        });
    }
    tokio::time::sleep_until(w0.into()).await;
    let span = Span::start(probe);
    let sampler = sample_every
        .zip(probe.pid)
        .map(|(every, pid)| tokio::spawn(CpuTimeline::sample(pid, every, w1)));
    progress.wait(length, "measuring").await;
    tokio::time::sleep_until(w1.into()).await;
    let resources = span.end(probe, rss_before);
    let cpu = match sampler {
        Some(h) => h.await.ok(),
        None => None,
    };
    progress.wait(GRACE, "grace for frames in flight").await;
    let summaries = futures_util::future::join_all(members.iter().map(|c| c.summary())).await;
    Window {
        summaries,
        resources,
        length,
        cpu,
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

/// Loss, jitter and latency of a window, counted from every member's side.
///
/// * expected = Σ over receivers of the frames each talker of its room sent in the window
///   (each sender counts what it stamped, i.e. by sequence number);
/// * loss = 1 − received / expected;
/// * jitter: RFC 3550 interarrival jitter per (receiver, talker) stream, on receive times
///   against the stamped send times;
/// * latency: receive time − stamped send time (one process, one monotonic clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Frames the talkers sent in the window.
    pub frames_sent: u64,
    /// Frames receivers should have got (their room's talkers' sends).
    pub expected: u64,
    /// Frames receivers got from their room's talkers.
    pub received: u64,
    /// Frames receivers got from outside their room.
    pub foreign: u64,
    /// 1 − received / expected (1 when nothing was expected).
    pub loss: f64,
    /// Loss per receiver that expected anything, in the order of the summaries.
    pub receiver_loss: Vec<f64>,
    /// Interarrival jitter.
    pub jitter: JitterReport,
    /// End-to-end latency.
    pub latency: Option<Summary>,
}

impl Tally {
    /// Counts `summaries` (every connected member is a receiver, even one whose task ended
    /// early: it then received nothing, and its room's talkers' frames to it count as lost).
    /// `room_of(index)` is the member's room (`None`: not a member), `talker(index)` whether
    /// it talks; `senders` is the size of the index space.
    pub fn of(
        summaries: &[ClientSummary],
        senders: usize,
        room_of: impl Fn(u32) -> Option<usize>,
        talker: impl Fn(u32) -> bool,
    ) -> Tally {
        let mut sent_by = vec![0u64; senders];
        for sm in summaries {
            if let (Some(w), Some(slot)) = (&sm.window, sent_by.get_mut(sm.index as usize)) {
                *slot = w.sent;
            }
        }
        let talkers: Vec<(u32, Option<usize>)> = (0..senders)
            .filter_map(|i| u32::try_from(i).ok())
            .filter(|i| talker(*i))
            .map(|i| (i, room_of(i)))
            .collect();
        let mut t = Tally {
            frames_sent: talkers.iter().map(|(i, _)| sent_by[*i as usize]).sum(),
            ..Tally::default()
        };
        let mut jitters = Vec::new();
        let mut latency_us: Vec<u32> = Vec::new();
        let no_streams = Vec::new();
        for sm in summaries {
            let me = sm.index;
            let my_room = room_of(me);
            let streams = sm.window.as_ref().map_or(&no_streams, |w| &w.streams);
            let (mut exp, mut got) = (0u64, 0u64);
            for (i, stream) in streams.iter().enumerate() {
                let outside = u32::try_from(i).is_ok_and(|i| i != me && room_of(i) != my_room);
                if outside {
                    t.foreign += stream.received;
                }
            }
            for &(sender, room) in &talkers {
                if sender == me || room != my_room || my_room.is_none() {
                    continue;
                }
                let stream = streams.get(sender as usize);
                exp += sent_by[sender as usize];
                got += stream.map_or(0, |st| st.received);
                if let Some(st) = stream.filter(|st| st.received > 1) {
                    jitters.push(st.jitter.ms());
                }
            }
            t.expected += exp;
            t.received += got;
            if exp > 0 {
                t.receiver_loss.push(1.0 - got as f64 / exp as f64);
            }
            if let Some(w) = &sm.window {
                latency_us.extend_from_slice(&w.latency_us);
            }
        }
        t.loss = if t.expected == 0 {
            1.0
        } else {
            1.0 - t.received as f64 / t.expected as f64
        };
        if let Some(j) = Summary::of_ms(jitters) {
            t.jitter = JitterReport {
                streams: j.n,
                mean_ms: j.mean_ms,
                p95_ms: j.p95_ms,
                max_ms: j.max_ms,
            };
        }
        t.latency = Summary::of_micros(&latency_us);
        t
    }
}

/// The server's CPU over a window, sampled at a fixed interval from `/proc`: cores used per
/// interval (the process's utime + stime) and CPU seconds per thread.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuTimeline {
    /// Sampling interval, seconds.
    pub interval_s: f64,
    /// Cores the process used in each interval (1.0 = one core busy all the interval).
    pub cores: Vec<f64>,
    /// Mean over the intervals.
    pub mean_cores: f64,
    /// Busiest interval.
    pub max_cores: f64,
    /// Intervals in which the process used more than one core.
    pub intervals_above_one_core: usize,
    /// CPU seconds each thread used over the sampled span, busiest first.
    pub threads: Vec<ThreadShare>,
}

/// One server thread's CPU over the sampled span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadShare {
    /// Thread id.
    pub tid: u32,
    /// Thread name.
    pub name: String,
    /// CPU seconds.
    pub cpu_s: f64,
    /// Share of one core over the span.
    pub cores: f64,
}

impl CpuTimeline {
    /// Samples `pid` every `every` until `until`.
    pub async fn sample(pid: u32, every: Duration, until: Instant) -> CpuTimeline {
        let started = Instant::now();
        let threads_before = procfs::thread_cpu_times(pid);
        let mut last = (started, procfs::cpu_time(pid));
        let mut cores = Vec::new();
        let mut tick = tokio::time::interval_at((started + every).into(), every);
        while Instant::now() + every / 2 < until {
            tick.tick().await;
            let now = (Instant::now(), procfs::cpu_time(pid));
            if let (Some(a), Some(b)) = (last.1, now.1) {
                let dt = now.0.duration_since(last.0).as_secs_f64().max(1e-9);
                cores.push(b.saturating_sub(a).as_secs_f64() / dt);
            }
            last = now;
        }
        let span = started.elapsed().as_secs_f64().max(1e-9);
        let threads_after = procfs::thread_cpu_times(pid);
        CpuTimeline::from_samples(every, cores, &threads_before, &threads_after, span)
    }

    /// The timeline from per-interval core readings and two per-thread readings `span_s` apart.
    pub fn from_samples(
        every: Duration,
        cores: Vec<f64>,
        before: &[procfs::ThreadCpu],
        after: &[procfs::ThreadCpu],
        span_s: f64,
    ) -> CpuTimeline {
        let mut threads: Vec<ThreadShare> = after
            .iter()
            .map(|a| {
                let start = before
                    .iter()
                    .find(|b| b.tid == a.tid)
                    .map_or(Duration::ZERO, |b| b.cpu);
                let cpu_s = a.cpu.saturating_sub(start).as_secs_f64();
                ThreadShare {
                    tid: a.tid,
                    name: a.name.clone(),
                    cpu_s,
                    cores: cpu_s / span_s.max(1e-9),
                }
            })
            .collect();
        threads.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s));
        let mean_cores = if cores.is_empty() {
            0.0
        } else {
            cores.iter().sum::<f64>() / cores.len() as f64
        };
        CpuTimeline {
            interval_s: every.as_secs_f64(),
            mean_cores,
            max_cores: cores.iter().copied().fold(0.0, f64::max),
            intervals_above_one_core: cores.iter().filter(|c| **c > 1.0).count(),
            cores,
            threads,
        }
    }
}

/// Readings of the server process (all `None` without a pid).
#[derive(Debug, Clone, Copy)]
pub struct ServerProbe {
    /// The server's pid.
    pub pid: Option<u32>,
}

impl ServerProbe {
    /// CPU time used so far.
    pub fn cpu(&self) -> Option<Duration> {
        procfs::cpu_time(self.pid?)
    }

    /// Resident memory now.
    pub fn rss(&self) -> Option<u64> {
        procfs::rss_bytes(self.pid?)
    }
}

/// CPU time this process (the load tool) has used so far.
pub fn own_cpu() -> Option<Duration> {
    procfs::cpu_time(std::process::id())
}

/// Server and load-tool resource use over a measured span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Resources {
    /// The server process, when known.
    pub server_pid: Option<u32>,
    /// Length of the span, seconds.
    pub span_s: f64,
    /// Server CPU seconds (user + system) in the span.
    pub server_cpu_s: Option<f64>,
    /// Load tool CPU seconds in the span (includes the server when it runs in-process).
    pub tool_cpu_s: Option<f64>,
    /// Server RSS before any client connected, bytes.
    pub server_rss_before: Option<u64>,
    /// Server RSS with every client connected, bytes.
    pub server_rss_loaded: Option<u64>,
}

/// Start of a measured span.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    at: Instant,
    server: Option<Duration>,
    tool: Option<Duration>,
}

impl Span {
    /// Starts measuring now.
    pub fn start(probe: &ServerProbe) -> Span {
        Span {
            at: Instant::now(),
            server: probe.cpu(),
            tool: own_cpu(),
        }
    }

    /// Ends the span now.
    pub fn end(&self, probe: &ServerProbe, rss_before: Option<u64>) -> Resources {
        let diff =
            |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?).as_secs_f64());
        Resources {
            server_pid: probe.pid,
            span_s: self.at.elapsed().as_secs_f64(),
            server_cpu_s: diff(self.server, probe.cpu()),
            tool_cpu_s: diff(self.tool, own_cpu()),
            server_rss_before: rss_before,
            server_rss_loaded: probe.rss(),
        }
    }
}

impl Resources {
    /// What the CPU readings say about where this run's ceiling is.
    pub fn limits(&self, nproc: usize) -> Vec<String> {
        let span = self.span_s.max(1e-9);
        let mut out = Vec::new();
        let server = self.server_cpu_s.map(|c| c / span);
        let tool = self.tool_cpu_s.map(|c| c / span);
        if let Some(s) = server {
            if (0.85..1.2).contains(&s) && (tool.unwrap_or(0.0) + s) >= 0.85 * nproc as f64 {
                out.push(format!(
                    "the server used {:.0}% of one core while the load tool took the rest of the machine: \
                     a family's media runs on its shard tasks on every core, so here the server's ceiling \
                     is the cores the load tool leaves it",
                    s * 100.0
                ));
            } else if s >= 0.85 {
                out.push(format!(
                    "the server used {:.0}% of one core (a family's media shards run on every core)",
                    s * 100.0
                ));
            }
        }
        let busy = server.unwrap_or(0.0) + tool.unwrap_or(0.0);
        if busy >= 0.85 * nproc as f64 {
            out.push(format!(
                "server + load tool used {busy:.2} of {nproc} cores: the machine is saturated, so latency, jitter and loss include CPU contention"
            ));
        } else if let (Some(s), Some(t)) = (server, tool) {
            out.push(format!(
                "CPU used: server {:.0}% and load tool {:.0}% of one core, of {nproc} cores \
                 (other work on the machine takes the rest; see the load averages)",
                s * 100.0,
                t * 100.0
            ));
        }
        if self.server_pid.is_none() {
            out.push(
                "server CPU unknown; the load tool's CPU includes the server when both run in one process"
                    .into(),
            );
        }
        out
    }

    /// Text lines for the report.
    pub fn text(&self, clients: usize, nproc: usize) -> String {
        let mut s = String::new();
        match self.server_pid {
            None => s.push_str(
                "  server process: unknown (give --server-pid, or run `alcove serve` on this machine)\n",
            ),
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

/// Milliseconds of a duration, for JSON.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

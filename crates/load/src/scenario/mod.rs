//! The scenarios, and what they share: connecting many clients with bounded concurrency,
//! closing them, reading the server process.

pub mod fresh_vs_move;
pub mod soak;
pub mod steady;
pub mod wave;

use crate::client::{ClientSpec, ConnectTimings, SimClient, Until};
use crate::payload::Clock;
use crate::procfs;
use crate::progress::Progress;
use crate::target::Target;
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

/// Connects every spec (at most `target.connect_concurrency` at once), with a progress bar.
/// Clients that fail are reported, not fatal: the caller's checks decide.
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
                let r = SimClient::connect(target, room, spec, clock).await;
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
            if s >= 0.85 {
                out.push(format!(
                    "the server used {:.0}% of one core: all media of a family runs on that family's one task, so one core is the ceiling of one family",
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

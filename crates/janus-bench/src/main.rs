//! `janus-bench`: `alcove-load steady` and `alcove-load video` against Janus's VideoRoom
//! plugin, so that the two servers can be compared on the same machine with the same clients
//! and the same arithmetic.
//!
//! ```text
//! janus-bench steady --rooms 10 --size 5 --seconds 20 --json janus.json
//! janus-bench video --publishers 4 --receivers 8 --seconds 20 --layers 3 --json janus.json
//! ```
//!
//! `video` is `alcove-load video` (synthetic VP8 camera, one stream or simulcast q/h/f) with
//! the same camera, counting and report type ([`video`]); bench/janus/compare-video.sh runs
//! both servers with it.
//!
//! Janus must already run: bench/janus/start.sh starts it on loopback inside the benchmark's
//! network namespace, and this binary runs in the same namespace
//! (`ip netns exec alcove-bench janus-bench …`). bench/janus/compare.sh runs both servers and
//! prints the two reports side by side.
//!
//! Exit status (as `alcove-load`): 0 when every sanity check held, 1 when one failed, 2 when
//! the run broke off.

mod janus;
mod peer;
mod procfs;
mod report;
mod steady;
mod video;

// The frame stamp and the statistics are alcove-load's own, so both tools measure the same thing.
use alcove_load::{payload, stats};

use clap::{Parser, Subcommand};
use report::{Machine, Run, ScenarioReport};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use steady::{SteadyConfig, Target};

/// alcove-load's steady audio load against Janus's VideoRoom.
#[derive(Parser, Debug)]
#[command(name = "janus-bench", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Janus's WebSocket API (subprotocol janus-protocol).
    #[arg(long, global = true, default_value = "ws://127.0.0.1:8188")]
    janus: String,
    /// Janus's pid for CPU and RSS (default: the `janus` process listening on the URL's port).
    #[arg(long, global = true)]
    janus_pid: Option<u32>,
    /// IP the clients bind their UDP sockets to.
    #[arg(long, global = true, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind_ip: IpAddr,
    /// Members connecting at the same time.
    #[arg(long, global = true, default_value_t = 8)]
    connect_concurrency: usize,
    /// Also write the report as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// K rooms × S members talking for T seconds: loss, jitter, latency, server cost.
    Steady(SteadyConfig),
    /// P publishers of a synthetic VP8 camera (1 or 3 simulcast layers) and R receivers:
    /// `alcove-load video` against Janus.
    Video(alcove_load::scenario::video::VideoConfig),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JANUS_BENCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("janus-bench: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(main_async(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("janus-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the scenario; true when every check held.
async fn main_async(cli: Cli) -> anyhow::Result<bool> {
    let mut target = Target {
        url: cli.janus.clone(),
        server_pid: cli.janus_pid,
        bind_ip: cli.bind_ip,
        connect_concurrency: cli.connect_concurrency,
    };
    if target.server_pid.is_none() && target.find_server_pid().is_none() {
        eprintln!("janus-bench: no `janus` process listens on that port here; server CPU and RSS will be missing (--janus-pid)");
    }
    let machine = Machine::this();
    match &cli.scenario {
        Scenario::Steady(cfg) => {
            let report = steady::run(&target, cfg).await?;
            finish(&cli, machine, "steady", report)
        }
        Scenario::Video(cfg) => {
            let report = video::run(&target, cfg).await?;
            finish(&cli, machine, "video", report)
        }
    }
}

/// Prints the report, writes its JSON; true when every check held.
fn finish<R: ScenarioReport>(
    cli: &Cli,
    machine: Machine,
    scenario: &'static str,
    report: R,
) -> anyhow::Result<bool> {
    let out = Run {
        command: std::env::args().collect(),
        machine,
        load_average_after: report::load_average(),
        scenario,
        report,
    };
    print!("{}", out.text());
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    let failed = out.report.checks().failed();
    if !failed.is_empty() {
        eprintln!("janus-bench: {} check(s) failed", failed.len());
    }
    Ok(failed.is_empty())
}

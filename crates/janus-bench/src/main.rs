//! `janus-bench`: the steady audio load of `alcove-load`, against Janus's VideoRoom plugin, so
//! that the two servers can be compared on the same machine with the same clients.
//!
//! ```text
//! janus-bench steady --rooms 10 --size 5 --seconds 20 --json janus.json
//! ```
//!
//! Janus must already run (bench/janus/start.sh starts it on loopback inside the benchmark's
//! network namespace; run this binary in the same namespace: `ip netns exec alcove-bench …`).
//! bench/janus/compare.sh runs both servers and prints the two reports side by side.

mod janus;
mod payload;
mod peer;
mod procfs;
mod stats;
mod steady;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "janus-bench",
    version,
    about = "alcove-load's steady audio load against Janus's VideoRoom"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// K rooms × S members, everyone talking (50 Opus frames/s each) for T seconds.
    Steady(SteadyArgs),
}

#[derive(clap::Args, Debug)]
struct SteadyArgs {
    /// Number of rooms (K).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Members per room (S), all talking; each hears the S − 1 others.
    #[arg(long, default_value_t = 5)]
    size: usize,
    /// Talking time in seconds (T).
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Janus's WebSocket API.
    #[arg(long, default_value = "ws://127.0.0.1:8188")]
    janus: String,
    /// Janus's pid for CPU and memory readings (default: the `janus` process listening on the
    /// URL's port).
    #[arg(long)]
    janus_pid: Option<u32>,
    /// Address the clients' UDP sockets bind to.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind_ip: IpAddr,
    /// At most this many members connect at the same time.
    #[arg(long, default_value_t = 8)]
    connect_concurrency: usize,
    /// Quiet time between "everyone connected" and the first frame, milliseconds.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// Time after the last frame for frames in flight, milliseconds.
    #[arg(long, default_value_t = 1000)]
    grace_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JANUS_BENCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Steady(a) => {
            let cfg = steady::Config {
                rooms: a.rooms,
                size: a.size,
                seconds: a.seconds,
                janus_url: a.janus,
                janus_pid: a.janus_pid,
                bind_ip: a.bind_ip,
                connect_concurrency: a.connect_concurrency,
                settle: Duration::from_millis(a.settle_ms),
                grace: Duration::from_millis(a.grace_ms),
            };
            let report = steady::run(&cfg).await?;
            print!("{}", report.text());
            if let Some(path) = a.json {
                let text = serde_json::to_string_pretty(&report)?;
                std::fs::write(&path, text + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

//! `alcove-load`: runs one scenario against a running Alcove server and reports.
//! Exit status: 0 when every sanity check held, 1 when one failed, 2 when the run broke off.

use alcove_load::progress::Progress;
use alcove_load::report::Machine;
use alcove_load::{run, target, Run, Scenario, Target};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Load tool and benchmarks for Alcove: synthetic WebRTC clients through the Rust SDK.
#[derive(Debug, Parser)]
#[command(name = "alcove-load", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Server base URL.
    #[arg(
        long,
        global = true,
        env = "ALCOVE_URL",
        default_value = "http://127.0.0.1:7880"
    )]
    url: String,
    /// App id (default: from --creds-dir).
    #[arg(long, global = true, env = "ALCOVE_APP_ID")]
    app_id: Option<String>,
    /// App key (default: from --creds-dir).
    #[arg(long, global = true, env = "ALCOVE_APP_KEY", hide_env_values = true)]
    app_key: Option<String>,
    /// Data dir of the server holding dev-credentials.json.
    #[arg(long, global = true, default_value = "alcove-data")]
    creds_dir: PathBuf,
    /// Server pid for CPU and RSS (default: the `alcove` process listening on the URL's port).
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// IP the clients bind their UDP sockets to.
    #[arg(long, global = true, default_value = "127.0.0.1")]
    bind_ip: std::net::IpAddr,
    /// Clients connecting at the same time.
    #[arg(long, global = true, default_value_t = 8)]
    connect_concurrency: usize,
    /// Also write the report as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, global = true)]
    no_progress: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALCOVE_LOG")
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
            eprintln!("alcove-load: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(main_async(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("alcove-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the scenario; true when every check held.
async fn main_async(cli: Cli) -> anyhow::Result<bool> {
    let (app_id, app_key) = match (cli.app_id, cli.app_key) {
        (Some(id), Some(key)) => (id, key),
        _ => target::read_dev_credentials(&cli.creds_dir)?,
    };
    let mut target = Target::new(&cli.url, &app_id, &app_key);
    target.bind_ip = cli.bind_ip;
    target.connect_concurrency = cli.connect_concurrency;
    target.server_pid = cli.server_pid;
    if target.server_pid.is_none() && target.find_server_pid().is_none() {
        eprintln!("alcove-load: no `alcove` process listens on that port here; server CPU and RSS will be missing (--server-pid)");
    }
    let progress = Progress::stderr(!cli.no_progress);
    let machine = Machine::this();
    let report = run(&target, &cli.scenario, &progress).await?;
    let out = Run {
        command: std::env::args().collect(),
        machine,
        load_average_after: Machine::this().load_average,
        report,
    };
    print!("{}", out.text());
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    let failed = out.report.checks().failed();
    if !failed.is_empty() {
        eprintln!("alcove-load: {} check(s) failed", failed.len());
    }
    Ok(failed.is_empty())
}

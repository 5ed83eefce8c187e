//! `alcove`: run the server, or create rooms, tokens and apps from the shell.
//! Everything beyond argument parsing lives in the library (`alcove_server::cli`).

use alcove_server::cli::{self, Command, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The command line, with `alcove serve --config FILE` applied (flags > env > file).
    let Some(args) = alcove_server::config_file::parse()? else {
        return Ok(()); // --print-config
    };
    let filter = cli::log_filter(std::env::var("ALCOVE_LOG").ok().as_deref());
    let json = matches!(&args.command, Command::Serve(s) if s.ops.log_format == LogFormat::Json);
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    match args.command {
        Command::Serve(serve) => cli::serve(*serve).await,
        Command::Room(room) => cli::room(&args.client, room).await,
        Command::Token(token) => cli::token(&args.client, token).await,
        Command::App(app) => cli::app(&args.client, app).await,
    }
}

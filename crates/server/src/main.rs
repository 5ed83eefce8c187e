//! `alcove`: run the server, or create rooms, tokens and apps from the shell.
//! Everything beyond argument parsing lives in the library (`alcove_server::cli`).

use alcove_server::cli::{self, Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(cli::log_filter(std::env::var("ALCOVE_LOG").ok().as_deref()))
        .with_writer(std::io::stderr)
        .init();
    match args.command {
        Command::Serve(serve) => cli::serve(*serve).await,
        Command::Room(room) => cli::room(&args.client, room).await,
        Command::Token(token) => cli::token(&args.client, token).await,
        Command::App(app) => cli::app(&args.client, app).await,
    }
}

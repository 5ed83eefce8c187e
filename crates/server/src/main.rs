//! `alcove`: run the server, or create rooms and tokens from the shell.
//! Everything beyond argument parsing lives in the library (`alcove_server::cli`).

use alcove_server::cli::{self, Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALCOVE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match args.command {
        Command::Serve(serve) => cli::serve(serve).await,
        Command::Room(room) => cli::room(&args.client, room).await,
        Command::Token(token) => cli::token(&args.client, token).await,
    }
}

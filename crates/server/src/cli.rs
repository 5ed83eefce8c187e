//! The `alcove` command line: `serve`, `room` / `token` helpers that call the REST API with the
//! development credentials (or `--app-id` / `--app-key`), and `app` helpers that call the admin
//! API with the admin key of the data dir (or `--admin-key`).

use crate::http::admin::{AppCredentials, AppList, CreateApp, ADMIN_KEY_FILE};
use crate::{AppState, Config, Credentials, DEV_CREDENTIALS_FILE};
use alcove_client::RestClient;
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomMode, RoomSettingsInput};
use alcove_proto::signal::Role;
use alcove_proto::RoomId;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Alcove: self-hostable audio conferencing with break-out rooms.
#[derive(Debug, Parser)]
#[command(name = "alcove", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Where the REST helpers find the server and credentials.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (REST API, signalling WebSocket).
    Serve(Box<ServeArgs>),
    /// Create, list or delete rooms.
    #[command(subcommand)]
    Room(RoomCmd),
    /// Mint tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Create, list, re-key or delete apps (admin API; needs the admin key).
    #[command(subcommand)]
    App(AppCmd),
}

/// `alcove serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP + WebSocket listen address.
    #[arg(long, env = "ALCOVE_LISTEN", default_value = "127.0.0.1:7880")]
    pub listen: SocketAddr,
    /// Data directory (database, development credentials).
    #[arg(long, env = "ALCOVE_DATA_DIR", default_value = "alcove-data")]
    pub data_dir: PathBuf,
    /// Do not create the development app.
    #[arg(long, env = "ALCOVE_NO_DEV_APP", conflicts_with = "dev")]
    pub no_dev_app: bool,
    /// Development mode: the demo page may mint tokens for the shared demo room without
    /// credentials (`POST /demo/join`). Never in a real deployment.
    #[arg(long, env = "ALCOVE_DEV")]
    pub dev: bool,
    /// The URL browsers reach this server at (e.g. `https://alcove.example.com`, behind a
    /// proxy); the signalling URL of token answers and of the demo is made from it (default:
    /// the bound address).
    #[arg(long, env = "ALCOVE_PUBLIC_URL", value_parser = crate::config::parse_public_url)]
    pub public_url: Option<String>,
    /// UDP address of the media socket (ICE/DTLS/SRTP for every client).
    #[arg(long, env = "ALCOVE_UDP", default_value = "127.0.0.1:7881")]
    pub udp_listen: SocketAddr,
    /// IP put in the ICE host candidate (default: the UDP bind IP).
    #[arg(long, env = "ALCOVE_ADVERTISE_IP")]
    pub advertise_ip: Option<std::net::IpAddr>,
    /// TCP address for ICE over TCP (a passive TCP candidate next to the UDP one), for clients
    /// whose network blocks UDP, e.g. `0.0.0.0:443` (default: off; docs/deploy.md).
    #[arg(long, env = "ALCOVE_TCP_LISTEN")]
    pub tcp_listen: Option<SocketAddr>,
    /// TURN servers and credentials (`--turn-url`, `--turn-secret`, `--turn-ttl`).
    #[command(flatten)]
    pub turn: crate::turn::TurnArgs,
    /// Serve without media (signalling and REST only).
    #[arg(long, env = "ALCOVE_NO_MEDIA")]
    pub no_media: bool,
    /// Media shards per family: tasks that own its peer connections and forward its media,
    /// run on every core (0: one per core).
    #[arg(long, env = "ALCOVE_MEDIA_SHARDS", default_value_t = 0)]
    pub media_shards: usize,
    /// Send forwarded audio through str0m's per-stream send path instead of Alcove's direct
    /// SRTP path (slower per packet; for comparison and as a fallback).
    #[arg(long, env = "ALCOVE_STR0M_AUDIO_SEND")]
    pub str0m_audio_send: bool,
    /// Seconds a dropped client keeps its place waiting for its SDK to resume (also after a
    /// restart).
    #[arg(long, env = "ALCOVE_RESUME_GRACE", default_value_t = 30)]
    pub resume_grace: u64,
    /// TLS certificate chain (PEM): serve HTTPS and WSS only on the listen address.
    #[arg(long, env = "ALCOVE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM; PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, env = "ALCOVE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve the demo and the browser SDK from this folder (holding `demo/` and `sdk-js/src/`,
    /// e.g. the repository root) instead of the copies built into the binary.
    #[arg(long, env = "ALCOVE_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// An origin (`https://app.example.com`) allowed to load the SDK from `/sdk/` (CORS);
    /// repeat for several, `*` for any. The variable takes a comma-separated list.
    #[arg(long = "cors-origin", env = "ALCOVE_CORS_ORIGINS", value_delimiter = ',', value_parser = crate::http::web::parse_origin)]
    pub cors_origins: Vec<String>,
    /// Connection caps and timeouts.
    #[command(flatten)]
    pub connections: crate::config::ConnectionArgs,
    /// Cluster mode: the Redis every node shares (`redis://HOST:PORT`); without it the server
    /// is a single node on its embedded database (docs/cluster.md).
    #[arg(long, env = "ALCOVE_REDIS")]
    pub redis: Option<String>,
    /// Cluster mode: this node's name, unique in the cluster (default: the listen address).
    #[arg(long, env = "ALCOVE_NODE_ID", requires = "redis")]
    pub node_id: Option<String>,
    /// Cluster mode: milliseconds a node's hold on a family lasts without renewal; a dead
    /// node's families move to another node after at most this long.
    #[arg(long, env = "ALCOVE_LEASE_MS", default_value_t = crate::cluster::DEFAULT_LEASE_MS, value_parser = clap::value_parser!(u64).range(300..))]
    pub lease_ms: u64,
    /// Config file, logs and webhooks (issue 13, `config_file.rs`).
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `alcove serve` settings of the operators' features: the config file, the log format,
/// webhook delivery.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// A TOML file setting any of these flags by long name (`data-dir = "/var/lib/alcove"`).
    /// Flags and `ALCOVE_*` variables win over it (docs/configuration.md).
    #[arg(long, env = "ALCOVE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the settings in effect (as a config file) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Log lines as `text` (for people) or `json` (one object per line, for collectors).
    #[arg(long, env = "ALCOVE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Webhook events an app's queue holds; further events are dropped (and counted) while
    /// its receiver is slow.
    #[arg(long, env = "ALCOVE_WEBHOOK_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub webhook_queue: u64,
    /// POSTs per webhook event, the first included.
    #[arg(long, env = "ALCOVE_WEBHOOK_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub webhook_attempts: u32,
    /// Milliseconds before the first webhook retry; doubled for each further one.
    #[arg(long, env = "ALCOVE_WEBHOOK_BACKOFF_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub webhook_backoff_ms: u64,
    /// Seconds one webhook POST may take.
    #[arg(long, env = "ALCOVE_WEBHOOK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout: u64,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl OpsArgs {
    /// Puts the webhook settings into `config`.
    pub fn apply(&self, config: &mut Config) {
        config.webhooks = crate::webhook::WebhookConfig {
            queue: usize::try_from(self.webhook_queue).unwrap_or(usize::MAX),
            attempts: self.webhook_attempts,
            backoff: std::time::Duration::from_millis(self.webhook_backoff_ms),
            timeout: std::time::Duration::from_secs(self.webhook_timeout),
        };
    }
}

/// Server URL and credentials for the REST helpers.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server base URL.
    #[arg(
        long,
        global = true,
        env = "ALCOVE_URL",
        default_value = "http://127.0.0.1:7880"
    )]
    pub url: String,
    /// App id (default: the development app from the data dir).
    #[arg(long, global = true, env = "ALCOVE_APP_ID")]
    pub app_id: Option<String>,
    /// App key (default: the development app from the data dir).
    #[arg(long, global = true, env = "ALCOVE_APP_KEY", hide_env_values = true)]
    pub app_key: Option<String>,
    /// Admin key for `alcove app …` (default: the file `admin-key` in the data dir, which keeps
    /// it out of `ps`; prefer the file or the variable).
    #[arg(long, global = true, env = "ALCOVE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Data dir holding dev-credentials.json and admin-key.
    #[arg(
        long = "creds-dir",
        global = true,
        env = "ALCOVE_DATA_DIR",
        default_value = "alcove-data"
    )]
    pub creds_dir: PathBuf,
}

/// Room modes on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Break-out rooms allowed.
    Group,
    /// No break-out rooms.
    Lecture,
}

/// `alcove room …`.
#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// Create a room; prints its id.
    Create {
        /// Room name.
        #[arg(long, default_value = "demo")]
        name: String,
        /// Owner reference.
        #[arg(long, default_value = "cli")]
        owner_ref: String,
        /// group or lecture.
        #[arg(long, value_enum, default_value = "group")]
        mode: ModeArg,
        /// Audio slots per client (1–16).
        #[arg(long)]
        max_active_talkers: Option<u32>,
    },
    /// List rooms as JSON.
    List,
    /// Delete a room (ends its live session).
    Delete {
        /// The room id.
        room_id: String,
    },
}

/// Roles on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Moderator.
    Moderator,
    /// Participant.
    Participant,
    /// Viewer.
    Viewer,
}

/// `alcove token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Mint a token; prints it.
    Create {
        /// The room id.
        #[arg(long)]
        room: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum, default_value = "participant")]
        role: RoleArg,
        /// The app's user reference.
        #[arg(long, default_value = "")]
        user_ref: String,
    },
}

/// `alcove app …` (the admin API).
#[derive(Debug, Subcommand)]
pub enum AppCmd {
    /// Create an app; prints its credentials as JSON (the only time the key is shown).
    Create {
        /// The app id (default: a random `app-…`).
        #[arg(long = "id")]
        app_id: Option<String>,
    },
    /// List apps as JSON (ids, creation times, room counts; never keys).
    List,
    /// Give an app a new key (the old one stops working at once); prints the credentials.
    RotateKey {
        /// The app id.
        app_id: String,
    },
    /// Delete an app with its rooms (their live sessions end).
    Delete {
        /// The app id.
        app_id: String,
    },
}

/// Targets held at `debug` whatever `ALCOVE_LOG` says, because at `trace` they print secrets
/// (STYLE rule 9: tokens, keys and passwords are never logged, at any level):
/// `tungstenite` prints every frame it reads, and a `connect` frame carries the client's token;
/// `is` (str0m's ICE agent) prints its ICE credentials, password included, in its events.
const SECRET_LOGGING_TARGETS: &str = "tungstenite=debug,is=debug";

/// The log filter of the `alcove` binary: `spec` (the `ALCOVE_LOG` variable, in `EnvFilter`
/// syntax; `info` when unset or invalid), with the targets that log secrets at `trace` held at
/// `debug`.
pub fn log_filter(spec: Option<&str>) -> tracing_subscriber::EnvFilter {
    let spec = spec.unwrap_or("info");
    tracing_subscriber::EnvFilter::try_new(format!("{spec},{SECRET_LOGGING_TARGETS}"))
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("info,{SECRET_LOGGING_TARGETS}"))
        })
}

/// Runs the server until Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::new(args.data_dir.clone());
    config.listen = args.listen;
    config.dev_app = !args.no_dev_app;
    config.udp_listen = if args.no_media {
        None
    } else {
        Some(args.udp_listen)
    };
    config.advertise_ip = args.advertise_ip;
    config.turn = args.turn.config()?;
    config.tcp_listen = args.tcp_listen;
    config.media_shards = args.media_shards;
    config.str0m_audio_send = args.str0m_audio_send;
    config.resume_grace = std::time::Duration::from_secs(args.resume_grace);
    config.tls = args.tls_cert.zip(args.tls_key);
    args.connections.apply(&mut config);
    args.ops.apply(&mut config);
    if let Some(dir) = &args.web_dir {
        if !dir.join("demo").is_dir() || !dir.join("sdk-js/src").is_dir() {
            bail!(
                "--web-dir {}: needs demo/ and sdk-js/src/ inside (the repository root)",
                dir.display()
            );
        }
    }
    config.web_dir = args.web_dir;
    config.cors_origins = args.cors_origins;
    config.dev = args.dev;
    config.public_url = args.public_url;
    config.redis = args.redis;
    config.node_id = args.node_id;
    config.lease_ms = args.lease_ms;
    if let Some((cert, key)) = &config.tls {
        // Refuse to start on unreadable or mismatched files, before saying we listen.
        crate::tls_config(cert, key).await?;
    }
    let (http, ws) = if config.tls.is_some() {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // The bound address (port 0 resolved): the signalling URL is made from it.
    config.listen = addr;
    let media = crate::bind_media(&config).await?;
    let media_line = match &media {
        Some(m) => format!(
            "media:      udp {} (ICE candidate {}){}{}",
            m.local,
            m.candidate,
            m.tcp
                .as_ref()
                .map(|t| format!(", ICE-TCP {} (candidate {})", t.local, t.candidate))
                .unwrap_or_default(),
            m.turn
                .as_ref()
                .map(|t| format!(", TURN {}", t.urls.join(" ")))
                .unwrap_or_default(),
        ),
        None => "media:      disabled".to_owned(),
    };
    let admin_key = args.data_dir.join(ADMIN_KEY_FILE);
    let admin_key_existed = admin_key.exists();
    let (state, creds, created) = AppState::open(config, media)?;
    if state.config.dev {
        println!(
            "Alcove {} listening on {http}://{addr}   demo page: {http}://{addr}/",
            env!("CARGO_PKG_VERSION")
        );
    } else {
        println!(
            "Alcove {} listening on {http}://{addr}",
            env!("CARGO_PKG_VERSION")
        );
    }
    println!("  {media_line}");
    println!("  signalling: {ws}://{addr}/v1/signal    REST: {http}://{addr}/v1/rooms");
    match &state.config.web_dir {
        Some(dir) => println!("  web:        demo and /sdk/ from {}", dir.display()),
        None => println!("  web:        demo and /sdk/ built into this binary"),
    }
    if !state.config.cors_origins.is_empty() {
        println!("  /sdk/ CORS: {}", state.config.cors_origins.join(", "));
    }
    println!(
        "  data dir:   {} (database alcove.db)",
        args.data_dir.display()
    );
    // The admin key is never printed: only where it is.
    if admin_key_existed {
        println!(
            "  admin API:  {http}://{addr}/v1/admin/apps (key in {})",
            admin_key.display()
        );
    } else {
        println!(
            "  admin key:  created in {} (mode 0600; `alcove app …` reads it)",
            admin_key.display()
        );
    }
    let dev_file = args.data_dir.join(DEV_CREDENTIALS_FILE);
    match (&creds, created) {
        // The development app's key is printed once, when it is created.
        (Some(c), true) => {
            println!(
                "  created development app: app_id={} app_key={}",
                c.app_id, c.app_key
            );
            println!(
                "  (saved in {}; the CLI helpers read it)",
                dev_file.display()
            );
        }
        (Some(c), false) if state.config.dev_app => println!(
            "  development app: app_id={} (key in {})",
            c.app_id,
            dev_file.display()
        ),
        _ => {}
    }
    if state.config.dev_app && creds.is_some() {
        println!("  try:  alcove room create --name demo");
        println!("        alcove token create --room <room_id> --name Ada --role moderator");
    }
    if state.config.dev {
        println!(
            "  DEVELOPMENT MODE: the demo page mints tokens without credentials \
             (signalling URL {})",
            state.config.signal_url()
        );
        if !addr.ip().is_loopback() {
            println!(
                "  warning: development mode on {addr}: anyone who reaches this address can \
                 join the demo room as a moderator"
            );
        }
    } else {
        println!("  demo page:  joining needs development mode (`alcove serve --dev`)");
    }
    if let Some(c) = state.families.cluster.get() {
        println!(
            "  cluster:    node {} on Redis (lease {} ms); SIGTERM drains",
            c.node_id,
            c.lease.as_millis()
        );
    }
    let cluster = state.families.cluster.get().is_some();
    crate::run(state, listener, async move {
        if cluster {
            // Cluster mode: SIGTERM (an orchestrator stopping the node) drains it.
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    return;
                }
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

fn rest(args: &ClientArgs) -> anyhow::Result<RestClient> {
    let creds = match (&args.app_id, &args.app_key) {
        (Some(id), Some(key)) => Credentials {
            app_id: id.clone(),
            app_key: key.clone(),
        },
        (None, None) => {
            let path = args.creds_dir.join(DEV_CREDENTIALS_FILE);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "no --app-id/--app-key and no {} (run `alcove serve` first)",
                    path.display()
                )
            })?;
            serde_json::from_str(&text).context("reading development credentials")?
        }
        _ => bail!("give both --app-id and --app-key, or neither"),
    };
    Ok(RestClient::new(&args.url, &creds.app_id, &creds.app_key))
}

/// `alcove room …`.
pub async fn room(args: &ClientArgs, cmd: RoomCmd) -> anyhow::Result<()> {
    let client = rest(args)?;
    match cmd {
        RoomCmd::Create {
            name,
            owner_ref,
            mode,
            max_active_talkers,
        } => {
            let settings = RoomSettingsInput {
                mode: Some(match mode {
                    ModeArg::Group => RoomMode::Group,
                    ModeArg::Lecture => RoomMode::Lecture,
                }),
                max_active_talkers,
                ..RoomSettingsInput::default()
            };
            let req = CreateRoomRequest {
                name,
                owner_ref,
                settings,
                data: serde_json::Value::Null,
            };
            let room = client
                .create_room(&req)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", room.room_id);
        }
        RoomCmd::List => {
            let rooms = client
                .list_rooms()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&rooms)?);
        }
        RoomCmd::Delete { room_id } => {
            client
                .delete_room(&RoomId(room_id))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("deleted");
        }
    }
    Ok(())
}

/// The admin key: `--admin-key` / `ALCOVE_ADMIN_KEY`, else the file in the data dir.
fn admin_key(args: &ClientArgs) -> anyhow::Result<String> {
    if let Some(key) = &args.admin_key {
        return Ok(key.trim().to_owned());
    }
    let path = args.creds_dir.join(ADMIN_KEY_FILE);
    let key = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no --admin-key and no {} (run `alcove serve` first, or give --creds-dir)",
            path.display()
        )
    })?;
    Ok(key.trim().to_owned())
}

/// One admin API call: the JSON answer, or an error with the server's `msg`.
async fn admin_call<T: serde::de::DeserializeOwned>(
    args: &ClientArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<&CreateApp>,
) -> anyhow::Result<T> {
    let key = admin_key(args)?;
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let http = alcove_client::Tls::system()
        .http_client()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut req = http.request(method, &url).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await.with_context(|| format!("calling {url}"))?;
    let status = res.status();
    let text = res.text().await.context("reading the answer")?;
    if !status.is_success() {
        let msg = serde_json::from_str::<alcove_proto::api::ErrorResponse>(&text)
            .map(|e| format!("{} ({})", e.msg, e.result))
            .unwrap_or(text);
        bail!("{status}: {msg}");
    }
    serde_json::from_str(&text).with_context(|| format!("unexpected answer from {url}"))
}

/// `alcove app …`.
pub async fn app(args: &ClientArgs, cmd: AppCmd) -> anyhow::Result<()> {
    use reqwest::Method;
    let creds = |c: AppCredentials| -> anyhow::Result<()> {
        let c = Credentials {
            app_id: c.app_id,
            app_key: c.app_key,
        };
        println!("{}", serde_json::to_string_pretty(&c)?);
        Ok(())
    };
    match cmd {
        AppCmd::Create { app_id } => {
            let body = CreateApp { app_id };
            creds(admin_call(args, Method::POST, "/v1/admin/apps", Some(&body)).await?)?;
        }
        AppCmd::List => {
            let list: AppList = admin_call(args, Method::GET, "/v1/admin/apps", None).await?;
            println!("{}", serde_json::to_string_pretty(&list.apps)?);
        }
        AppCmd::RotateKey { app_id } => {
            let path = format!("/v1/admin/apps/{}/rotate-key", path_segment(&app_id)?);
            creds(admin_call(args, Method::POST, &path, None).await?)?;
        }
        AppCmd::Delete { app_id } => {
            let path = format!("/v1/admin/apps/{}", path_segment(&app_id)?);
            let done: alcove_proto::api::ErrorResponse =
                admin_call(args, Method::DELETE, &path, None).await?;
            println!("{}", done.msg);
        }
    }
    Ok(())
}

/// An app id as one URL path segment (ids are `A–Z a–z 0–9 _ . -`).
fn path_segment(id: &str) -> anyhow::Result<&str> {
    crate::http::admin::check_app_id(id)
        .map_err(|_| anyhow::anyhow!("`{id}` is not an app id (A–Z a–z 0–9 _ . -)"))?;
    Ok(id)
}

/// `alcove token …`.
pub async fn token(args: &ClientArgs, cmd: TokenCmd) -> anyhow::Result<()> {
    let client = rest(args)?;
    let TokenCmd::Create {
        room,
        name,
        role,
        user_ref,
    } = cmd;
    let role = match role {
        RoleArg::Moderator => Role::Moderator,
        RoleArg::Participant => Role::Participant,
        RoleArg::Viewer => Role::Viewer,
    };
    let req = CreateTokenRequest {
        name,
        role,
        user_ref,
        data: serde_json::Value::Null,
    };
    let t = client
        .create_token(&RoomId(room), &req)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", t.token);
    Ok(())
}

//! The Alcove server: a thin I/O shell around `alcove-core`.
//!
//! * [`http`]: the REST API (rooms, tokens) and the signalling WebSocket route.
//! * [`ws`]: one signalling connection: handshake, decode, hand requests to the family.
//! * [`driver`]: one task per live family, owning its `alcove_core::Family`.
//! * [`store`]: the embedded SQLite database (apps, rooms, used token ids, the signing secret).
//! * [`cluster`]: cluster mode on Redis (registry, placement, leases, the bridge, drain).
//! * [`token`]: signed, room-bound, single-use tokens.
//! * [`limit`]: the per-connection request rate limit, the connection caps, the descriptor
//!   limit.
//! * [`listen`]: the TCP edge: accept under the caps, idle / header / request timeouts.
//!
//! Entry points: [`run`] serves on a listener until a shutdown future resolves (used by
//! `main.rs`), [`start`] does the same in the background and returns the bound address (used
//! by tests and tools).

pub mod cli;
pub mod cluster;
pub mod config;
pub mod config_file;
pub mod driver;
pub mod http;
pub mod limit;
pub mod listen;
pub mod metrics;
pub mod observe;
pub mod outbound;
pub mod shard;
pub mod store;
pub mod token;
pub mod turn;
pub mod udp;
pub mod util;
pub mod webhook;
pub mod ws;

pub use config::Config;
pub use store::Credentials;

use alcove_proto::api::Room;
use alcove_proto::{ErrorCode, RoomId};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::info;

/// Shared state of the shell.
pub struct AppState {
    /// The configuration it was started with.
    pub config: Config,
    /// The embedded database (shared with the family tasks, which persist their state).
    pub store: Arc<store::Store>,
    /// Live families.
    pub families: Arc<driver::Families>,
    /// Token-signing secret (never logged).
    secret: Vec<u8>,
}

/// The development app's id.
pub const DEV_APP_ID: &str = "dev";
/// File in the data dir holding the development app's credentials.
pub const DEV_CREDENTIALS_FILE: &str = "dev-credentials.json";

impl AppState {
    /// Opens the data dir (creating it, the database, the secret and the development app on
    /// first start). Returns the state and the development credentials when known.
    pub fn open(
        config: Config,
        media: Option<driver::MediaShell>,
    ) -> anyhow::Result<(Arc<AppState>, Option<Credentials>, bool)> {
        // The process's rustls provider: aws-lc-rs (the only one built), for every HTTPS client
        // made without an explicit configuration (`reqwest::Client::new()`). Set once.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        let store = Arc::new(match &config.redis {
            Some(url) => {
                store::Store::redis(url).with_context(|| format!("connecting to Redis at {url}"))?
            }
            None => store::Store::open(&config.data_dir).context("opening the database")?,
        });
        let secret = store.token_secret()?;
        if let (Some(_), Some(shared)) = (&config.redis, store.meta("admin_key_hash")?) {
            // Every node of a cluster must have the same admin key: a node with another would
            // replace the shared hash and lock the others out.
            let path = config.data_dir.join(http::admin::ADMIN_KEY_FILE);
            let mine = std::fs::read_to_string(&path).ok();
            if let Some(key) = mine.as_deref().map(str::trim) {
                if !store::same_digest(&shared, &store::key_hash(key)) {
                    anyhow::bail!(
                        "{} is not this cluster's admin key: copy the file from a node that \
                         runs (every node of a cluster shares it)",
                        path.display()
                    );
                }
            }
        }
        if config.redis.is_some()
            && !config.data_dir.join(http::admin::ADMIN_KEY_FILE).exists()
            && store.meta("admin_key_hash")?.is_some()
        {
            anyhow::bail!(
                "this cluster has an admin key already: copy {} from the data dir of a node \
                 that runs into {} (every node of a cluster shares it)",
                http::admin::ADMIN_KEY_FILE,
                config.data_dir.display()
            );
        }
        // The admin API's key: `<data dir>/admin-key` (mode 0600), created on first start.
        http::admin::prepare_key(&store, &config.data_dir)?;
        let cred_path = config.data_dir.join(DEV_CREDENTIALS_FILE);
        let mut created = false;
        let creds = if config.dev_app && !store.app_exists(DEV_APP_ID)? {
            let c = store.create_app(DEV_APP_ID)?;
            // Mode 0600 from the file's creation on (no window in which others may read it).
            http::admin::write_private(&cred_path, &serde_json::to_string_pretty(&c)?, false)?;
            created = true;
            Some(c)
        } else {
            std::fs::read_to_string(&cred_path)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
        };
        let metrics = metrics::Metrics::new();
        let webhooks =
            webhook::Webhooks::new(Arc::clone(&store), config.webhooks, Arc::clone(&metrics));
        {
            // Histogram samples are folded into buckets every few seconds, scraped or not.
            let metrics = Arc::downgrade(&metrics);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    match metrics.upgrade() {
                        Some(m) => m.upkeep(),
                        None => break,
                    }
                }
            });
        }
        let families = Arc::new(driver::Families::new(
            media,
            Arc::clone(&store),
            secret.clone(),
            config.resume_grace,
            (metrics, webhooks),
        ));
        match (&config.redis, store.as_redis()) {
            (Some(_), Some(redis)) => {
                let node_id = config
                    .node_id
                    .clone()
                    .unwrap_or_else(|| config.listen.to_string());
                let url = config.public_url.clone().unwrap_or_else(|| {
                    let s = config.signal_url();
                    let s = s.strip_suffix("/v1/signal").unwrap_or(&s);
                    match s.strip_prefix("wss://") {
                        Some(r) => format!("https://{r}"),
                        None => format!("http://{}", s.strip_prefix("ws://").unwrap_or(s)),
                    }
                });
                let c = Arc::new(cluster::Cluster::new(
                    &cluster::ClusterConfig {
                        redis_url: config.redis.clone().unwrap_or_default(),
                        node_id,
                        lease: std::time::Duration::from_millis(config.lease_ms),
                    },
                    Arc::clone(redis),
                    secret.clone(),
                    url,
                    families.media.as_ref().map(|m| m.candidate),
                ));
                c.heartbeat().context("registering the node in Redis")?;
                cluster::spawn_heartbeat(Arc::clone(&c));
                let _ = families.cluster.set(c);
            }
            // Families live before a restart come back, each client waiting to resume.
            _ => families.restore_saved(),
        }
        if let Some(m) = &families.media {
            tokio::spawn(udp::recv_loop(Arc::clone(&m.socket), Arc::clone(&m.demux)));
        }
        Ok((
            Arc::new(AppState {
                config,
                store,
                families,
                secret,
            }),
            creds,
            created,
        ))
    }

    /// Verifies a token for a connect, in this order (docs/errors.md, "Connect (token)
    /// errors"): signature (4101), not used before (4103), not expired (4102), room (4104),
    /// then marks it used (4103 if another connect used it meanwhile). Replay comes before
    /// expiry so that a replayed token reports 4103 whether or not it has expired since.
    pub fn admit(&self, token: &str) -> Result<(token::Claims, Room), ErrorCode> {
        let claims = token::verify_signature(&self.secret, token)?;
        let internal = |e: store::StoreError| {
            tracing::error!("store: {e}");
            ErrorCode::Internal
        };
        if self.store.token_used(&claims.jti).map_err(internal)? {
            return Err(ErrorCode::TokenReused);
        }
        if claims.expired(util::unix_now_ms()) {
            return Err(ErrorCode::TokenExpired);
        }
        let room = match self.store.room(&claims.room_id) {
            Ok(Some((app, room))) if app == claims.app_id => room,
            Ok(_) => return Err(ErrorCode::RoomNotFound),
            Err(e) => return Err(internal(e)),
        };
        match self.store.use_token(&claims.jti, claims.exp) {
            Ok(true) => Ok((claims, room)),
            Ok(false) => Err(ErrorCode::TokenReused),
            Err(e) => Err(internal(e)),
        }
    }

    /// Verifies a resume credential: signature, then the room still exists for that app.
    pub fn admit_resume(&self, token: &str) -> Result<(token::ResumeClaims, Room), ErrorCode> {
        let claims = token::verify_resume(&self.secret, token)?;
        match self.store.room(&claims.room_id) {
            Ok(Some((app, room))) if app == claims.app_id => Ok((claims, room)),
            Ok(_) => Err(ErrorCode::ResumeFailed),
            Err(e) => {
                tracing::error!("store: {e}");
                Err(ErrorCode::Internal)
            }
        }
    }

    /// A room by id (any app).
    pub fn room(&self, room_id: &RoomId) -> Option<Room> {
        self.store.room(room_id).ok().flatten().map(|(_, r)| r)
    }
}

/// Serves on `listener` until `shutdown` resolves; then ends every live family (clients get
/// `roomDisconnected`) and returns once connections have closed. With `config.tls`, every
/// connection on `listener` is TLS (HTTPS, WSS).
///
/// Before serving, the process's descriptor soft limit is raised to its hard limit, and the
/// connection cap is kept under it (docs/security.md, "Connections and limits").
pub async fn run(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = &state.config;
    let max_total = match limit::raise_nofile_limit() {
        Some((fds, before)) => {
            let room = fds.saturating_sub(limit::reserved_descriptors(fds)).max(1);
            let max = config
                .max_connections
                .min(usize::try_from(room).unwrap_or(usize::MAX));
            info!(
                "open descriptor limit {fds} (was {before}): at most {max} connections, {} per address",
                config.max_connections_per_ip
            );
            max
        }
        None => config.max_connections,
    };
    let tracker = limit::ConnTracker::new(max_total, config.max_connections_per_ip);
    let timeouts = listen::EdgeTimeouts {
        idle: config.idle_timeout,
        header: config.header_timeout,
    };
    let tls = match &config.tls {
        Some((cert, key)) => {
            let tls = tls_config(cert, key).await?;
            Some(
                axum_server::tls_rustls::RustlsAcceptor::new(tls)
                    .handshake_timeout(config.header_timeout),
            )
        }
        None => None,
    };
    let listener = listen::spawn(listener, tracker, timeouts, tls)?;
    let app = http::app(Arc::clone(&state)).layer(axum::middleware::from_fn_with_state(
        config.request_timeout,
        listen::track_requests,
    ));
    let families = Arc::clone(&state.families);
    let shutdown = async move {
        shutdown.await;
        info!("shutting down");
        match families.cluster.get() {
            Some(c) => cluster::drain(c, &families).await,
            None => families.end_all(),
        }
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<listen::ConnInfo>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Loads a PEM certificate chain and private key for [`Config::tls`] (rustls, aws-lc-rs).
/// HTTP/1.1 only is offered (ALPN): the server speaks HTTP/1.1, WebSockets included.
pub async fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading the TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    let mut inner = (*config.get_inner()).clone();
    inner.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.reload_from_config(Arc::new(inner));
    Ok(config)
}

/// Binds the media socket of `config` (when media is enabled).
pub async fn bind_media(config: &Config) -> anyhow::Result<Option<driver::MediaShell>> {
    let Some(addr) = config.udp_listen else {
        return Ok(None);
    };
    let socket = tokio::net::UdpSocket::bind(addr)
        .await
        .with_context(|| format!("binding UDP {addr}"))?;
    // Larger kernel buffers, GRO, GSO and drop counting where the kernel has them.
    let socket = udp::MediaSocket::new(socket);
    let local = socket.local_addr()?;
    let ip = match config.advertise_ip {
        Some(ip) => ip,
        None if local.ip().is_unspecified() => {
            anyhow::bail!("UDP bound to {local}: give --advertise-ip, the address clients reach")
        }
        None => local.ip(),
    };
    let demux = Arc::new(udp::Demux::default());
    let tcp = match config.tcp_listen {
        Some(addr) => {
            if addr.port() == local.port() && addr.port() != 0 {
                anyhow::bail!(
                    "--tcp-listen {addr}: use another port than the UDP media socket ({local})"
                );
            }
            let t = udp::tcp::bind(addr, ip, Arc::clone(&demux))
                .await
                .with_context(|| format!("binding TCP {addr} (--tcp-listen)"))?;
            Some(t)
        }
        None => None,
    };
    Ok(Some(driver::MediaShell {
        socket: Arc::new(socket),
        local,
        candidate: SocketAddr::new(ip, local.port()),
        demux,
        tcp,
        shards: match config.media_shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        },
        turn: config.turn.clone(),
        paths: Arc::default(),
        str0m_audio: config.str0m_audio_send,
    }))
}

/// A server running in the background (tests, tools).
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Development app credentials, when the dev app is enabled.
    pub credentials: Option<Credentials>,
    /// The shared state (for inspection in tests).
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// `http://ADDR` (`https://` with TLS).
    pub fn http_url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The media socket's address, when media is enabled.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.state.families.media.as_ref().map(|m| m.local)
    }

    /// `ws://ADDR/v1/signal` (`wss://` with TLS).
    pub fn signal_url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/v1/signal", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }
}

/// Binds `config.listen` (port 0 picks a free port) and serves in the background.
pub async fn start(mut config: Config) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // The bound address (port 0 resolved): the signalling URL is made from it.
    config.listen = addr;
    let media = bind_media(&config).await?;
    let (state, credentials, _) = AppState::open(config, media)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(Arc::clone(&state), listener, async move {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        credentials,
        state,
        shutdown: Some(tx),
        task,
    })
}

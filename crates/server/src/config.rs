//! Server configuration: where to listen, where the data lives, token lifetime, limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `run()` needs to know; built by `main.rs` from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP + WebSocket listen address.
    pub listen: SocketAddr,
    /// Directory of the embedded database and the development credentials file.
    pub data_dir: PathBuf,
    /// How long a freshly minted token may be used to connect (SPEC: 15 minutes).
    pub token_ttl: Duration,
    /// Create a development app on first start and print its credentials.
    pub dev_app: bool,
    /// Bytes a connection's outbound queue may hold once its pending presence is collapsed to
    /// the latest state; a client that lets it fill beyond that is dropped.
    pub outbound_bytes: usize,
    /// How long a connection's outbound queue may stay non-empty without its writer finishing
    /// a send; a client that reads nothing for that long is dropped.
    pub outbound_stall: Duration,
    /// UDP address of the media socket (ICE, DTLS, SRTP); `None` disables media.
    pub udp_listen: Option<SocketAddr>,
    /// Media shards per family (tasks that own its peer connections and forward its media);
    /// 0 (the default): one per core.
    pub media_shards: usize,
    /// Audio slots send through str0m's send streams, not the direct SRTP path
    /// (`--str0m-audio-send`).
    pub str0m_audio_send: bool,
    /// IP given to clients in the ICE host candidate (default: the UDP bind IP; required when
    /// binding a wildcard address).
    pub advertise_ip: Option<std::net::IpAddr>,
    /// Folder holding `demo/` (served at `/`) and `sdk-js/src/` (served at `/sdk/`), for
    /// development; `None` (the default) serves the copies embedded in the binary.
    pub web_dir: Option<PathBuf>,
    /// Origins allowed to load `/sdk/` cross-origin (CORS), e.g. `https://app.example.com`;
    /// `*` allows any. Empty (the default): no CORS headers.
    pub cors_origins: Vec<String>,
    /// Requests per second a signalling connection may send, sustained (the refill rate of
    /// its token bucket). Requests over the limit get `error` 4006 and are not forwarded.
    pub request_rate: u32,
    /// Requests a signalling connection may send in one burst (the size of its token bucket).
    pub request_burst: u32,
    /// How long a dropped client keeps its place (location, break-out membership, parent
    /// link, invitations) waiting for its SDK to resume; also the window after a restart.
    pub resume_grace: Duration,
    /// TLS certificate chain and private key (PEM files). When set, everything on `listen`
    /// (REST, signalling, demo) is HTTPS / WSS; `None` serves plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Most connections (HTTP and WebSocket) open at once. The server also keeps it under its
    /// descriptor limit (see `limit::reserved_descriptors`).
    pub max_connections: usize,
    /// Most connections open at once from one source address (an IPv6 /64); 0: no cap.
    pub max_connections_per_ip: usize,
    /// How long a connection may sit without a request in progress (fresh or keep-alive).
    pub idle_timeout: Duration,
    /// How long a request head may take from its first byte to its end (slowloris).
    pub header_timeout: Duration,
    /// How long one HTTP request may take to be answered (a slow body included).
    pub request_timeout: Duration,
    /// How long a new signalling WebSocket may take to send `connect`.
    pub connect_timeout: Duration,

    // Development mode and the public address (docs/security.md, "Development mode").
    /// Development mode (`alcove serve --dev`): `POST /demo/join` mints tokens for the shared
    /// demo room without credentials. Off by default; never on in a real deployment.
    pub dev: bool,
    /// The URL browsers and SDKs reach this server at (`--public-url`, e.g.
    /// `https://alcove.example.com`), without a trailing `/`. The demo's signalling URL is made
    /// from it; `None`: from the bound address. A request's `Host` header is never used.
    pub public_url: Option<String>,

    // Cluster mode (docs/cluster.md).
    /// `--redis redis://HOST:PORT`: cluster mode, every node sharing this Redis; `None` (the
    /// default): a single node on its embedded SQLite database.
    pub redis: Option<String>,
    /// `--node-id`: this node's name in the cluster (default: the host name and port).
    pub node_id: Option<String>,
    /// `--lease-ms`: how long a node's hold on a family lasts without renewal (renewed every
    /// third of it); a dead node's families move after at most this long.
    pub lease_ms: u64,
    // Operators (issue 13): webhooks and logs.
    /// Webhook delivery: queue bound, attempts, backoff, timeout (`webhook.rs`).
    pub webhooks: crate::webhook::WebhookConfig,
    /// TURN servers and the secret to mint their credentials with (`--turn-url`,
    /// `--turn-secret`); `None` (the default): no `ice_servers` in `roomConnected`.
    pub turn: Option<crate::turn::TurnConfig>,
    /// TCP address of the ICE-over-TCP listener (`--tcp-listen`; a passive TCP candidate next
    /// to the UDP one); `None` (the default): media over UDP only.
    pub tcp_listen: Option<SocketAddr>,
}

impl Config {
    /// Defaults that work on a fresh machine: 127.0.0.1:7880, `./alcove-data`.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7880)),
            data_dir,
            token_ttl: Duration::from_secs(15 * 60),
            dev_app: true,
            outbound_bytes: 8 << 20,
            outbound_stall: Duration::from_secs(30),
            udp_listen: Some(SocketAddr::from(([127, 0, 0, 1], 7881))),
            media_shards: 0,
            str0m_audio_send: false,
            advertise_ip: None,
            web_dir: None,
            cors_origins: Vec::new(),
            request_rate: 50,
            request_burst: 100,
            resume_grace: Duration::from_secs(30),
            tls: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
            dev: false,
            public_url: None,
            redis: None,
            node_id: None,
            lease_ms: crate::cluster::DEFAULT_LEASE_MS,
            webhooks: crate::webhook::WebhookConfig::default(),
            turn: None,
            tcp_listen: None,
        }
    }
}

/// Default of [`Config::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default of [`Config::max_connections_per_ip`].
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;
/// Default of [`Config::idle_timeout`], in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 30;
/// Default of [`Config::header_timeout`], in seconds.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Default of [`Config::connect_timeout`], in seconds.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

/// The connection limits on the command line of `alcove serve` (flattened into its
/// arguments); docs/security.md, "Connections and limits".
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Most connections (HTTP and WebSocket) open at once; kept under the descriptor limit.
    #[arg(long, env = "ALCOVE_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most connections open at once from one address (IPv6: one /64); 0 for no cap. Raise it
    /// when many clients share an address (NAT); 0 behind a reverse proxy.
    #[arg(long, env = "ALCOVE_MAX_CONNECTIONS_PER_IP", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: usize,
    /// Seconds a connection may stay open with no request in progress.
    #[arg(long, env = "ALCOVE_IDLE_TIMEOUT", default_value_t = DEFAULT_IDLE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Seconds from the first byte of a request head to its end.
    #[arg(long, env = "ALCOVE_HEADER_TIMEOUT", default_value_t = DEFAULT_HEADER_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a new signalling WebSocket may take to send `connect`.
    #[arg(long, env = "ALCOVE_CONNECT_TIMEOUT", default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: u64,
}

impl ConnectionArgs {
    /// Puts these limits into `config`.
    pub fn apply(&self, config: &mut Config) {
        config.max_connections = self.max_connections;
        config.max_connections_per_ip = self.max_connections_per_ip;
        config.idle_timeout = Duration::from_secs(self.idle_timeout);
        config.header_timeout = Duration::from_secs(self.header_timeout);
        config.connect_timeout = Duration::from_secs(self.connect_timeout);
    }
}

// Development mode and the public address (docs/security.md, "Development mode").
impl Config {
    /// The signalling URL clients are told to use (the demo's `signal_url`): from
    /// [`Config::public_url`] (`https://h` → `wss://h/v1/signal`), else from the bound address
    /// `listen` (a wildcard address is replaced by `advertise_ip`, else by loopback). Never
    /// from a request.
    pub fn signal_url(&self) -> String {
        if let Some(url) = &self.public_url {
            let ws = match url.strip_prefix("https://") {
                Some(rest) => format!("wss://{rest}"),
                None => format!("ws://{}", url.strip_prefix("http://").unwrap_or(url)),
            };
            return format!("{ws}/v1/signal");
        }
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            let ip = match (self.advertise_ip, addr) {
                (Some(ip), _) => ip,
                (None, SocketAddr::V4(_)) => std::net::Ipv4Addr::LOCALHOST.into(),
                (None, SocketAddr::V6(_)) => std::net::Ipv6Addr::LOCALHOST.into(),
            };
            addr.set_ip(ip);
        }
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{addr}/v1/signal")
    }
}

/// Checks a `--public-url`: `http(s)://host[:port][/path]`, no query or fragment; returns it
/// without a trailing `/`.
pub fn parse_public_url(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}`: a public URL is http(s)://host[:port][/path]"))?;
    let host = rest.split('/').next().unwrap_or("");
    // Printable ASCII only, and nothing that could end a header value or a CSP source (the
    // URL goes into both; an international host is given in its `xn--` form).
    let bad = |c: char| {
        !c.is_ascii_graphic() || matches!(c, '?' | '#' | '@' | ';' | ',' | '\'' | '"' | '\\')
    };
    if host.is_empty() || rest.chars().any(bad) {
        return Err(format!(
            "`{s}`: a public URL is http(s)://host[:port][/path], without query, fragment or user"
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod public_url_tests {
    use super::*;

    #[test]
    fn the_signal_url_comes_from_the_configuration() {
        let mut c = Config::new(PathBuf::from("x"));
        c.listen = "127.0.0.1:7880".parse().unwrap();
        assert_eq!(c.signal_url(), "ws://127.0.0.1:7880/v1/signal");
        c.listen = "0.0.0.0:7880".parse().unwrap();
        assert_eq!(c.signal_url(), "ws://127.0.0.1:7880/v1/signal");
        c.advertise_ip = Some("192.0.2.7".parse().unwrap());
        assert_eq!(c.signal_url(), "ws://192.0.2.7:7880/v1/signal");
        c.public_url = Some(parse_public_url("https://alcove.example.com/rtc/").unwrap());
        assert_eq!(c.signal_url(), "wss://alcove.example.com/rtc/v1/signal");
        assert!(parse_public_url("alcove.example.com").is_err());
        assert!(parse_public_url("https://").is_err());
        assert!(parse_public_url("https://a.example?x=1").is_err());
        assert!(parse_public_url("https://u@a.example").is_err());
        assert!(parse_public_url("https://a.example; script-src *").is_err());
    }
}

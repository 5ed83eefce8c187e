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
            advertise_ip: None,
            web_dir: None,
            cors_origins: Vec::new(),
            request_rate: 50,
            request_burst: 100,
            resume_grace: Duration::from_secs(30),
            tls: None,
        }
    }
}

//! Server configuration: where to listen, where the data lives, token lifetime.

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
    /// Capacity of each connection's outbound queue; a client that lets it fill is dropped.
    pub outbound_queue: usize,
    /// UDP address of the media socket (ICE, DTLS, SRTP); `None` disables media.
    pub udp_listen: Option<SocketAddr>,
    /// IP given to clients in the ICE host candidate (default: the UDP bind IP; required when
    /// binding a wildcard address).
    pub advertise_ip: Option<std::net::IpAddr>,
    /// Folder holding `demo/` (served at `/`) and `sdk-js/src/` (served at `/sdk/`); the
    /// repository root by default.
    pub web_root: PathBuf,
}

impl Config {
    /// Defaults that work on a fresh machine: 127.0.0.1:7880, `./alcove-data`.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7880)),
            data_dir,
            token_ttl: Duration::from_secs(15 * 60),
            dev_app: true,
            outbound_queue: 1024,
            udp_listen: Some(SocketAddr::from(([127, 0, 0, 1], 7881))),
            advertise_ip: None,
            web_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
        }
    }
}

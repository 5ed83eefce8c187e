//! Harness of the cluster tests: a real `redis-server` on a loopback port (AOF on, in a
//! temporary folder, so that a restart keeps its data), real `alcove serve --redis …`
//! processes, and a small TCP front (one loopback port forwarding each new connection to the
//! next live node) standing in for a deployment's load balancer, so that clients keep one URL
//! while nodes die.
#![allow(dead_code)]

use alcove_client::RestClient;
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::Role;
use alcove_proto::RoomId;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cluster tests run one at a time: each starts Redis, three nodes and media clients, and
/// the machine has two cores.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A `redis-server` of the test's own.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts Redis on a free loopback port, its files in `dir`. The port is one the OS just
    /// gave a socket of ours (then closed); if another process takes it before Redis binds it,
    /// Redis fails to start and another port is tried.
    pub async fn start(dir: &Path) -> Redis {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .expect("bind")
                .local_addr()
                .expect("addr")
                .port();
            let mut r = Redis {
                child: None,
                port,
                dir: dir.to_path_buf(),
            };
            if r.spawn().await {
                return r;
            }
        }
        panic!("redis-server did not start (is it installed? apt-get install redis-server)");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) -> bool {
        let log = self.dir.join(format!("redis-{}.log", self.port));
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--protected-mode",
                "no",
                "--dir",
            ])
            .arg(&self.dir)
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if ping(self.port) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Kills Redis (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port with the same files.
    pub async fn restart(&mut self) {
        for _ in 0..50 {
            if self.spawn().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("redis-server did not come back on port {}", self.port);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

/// An `alcove serve --redis …` process, killed with SIGKILL when dropped.
pub struct Node {
    pub name: String,
    child: Option<Child>,
    pub http: SocketAddr,
    pub log: PathBuf,
}

impl Node {
    /// Starts a node (`dir` is shared by the nodes: the admin key and the development
    /// credentials), and returns once it printed the address it bound.
    pub async fn start(dir: &Path, redis: &str, name: &str, lease_ms: u64) -> Node {
        use std::io::BufRead;
        let log = dir.join(format!("node-{name}-{}.log", std::process::id()));
        let bin =
            std::env::var("ALCOVE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_alcove").into());
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--udp-listen",
                "127.0.0.1:0",
                "--redis",
                redis,
                "--node-id",
                name,
                "--lease-ms",
                &lease_ms.to_string(),
                "--max-connections-per-ip",
                "0",
                "--resume-grace",
                "30",
            ])
            .arg("--data-dir")
            .arg(dir)
            .env("ALCOVE_LOG", "info,alcove_server=debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("node log"))
            .spawn()
            .expect("alcove starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split(" listening on http://").nth(1) {
                    if let Some(a) = rest.split_whitespace().next().and_then(|a| a.parse().ok()) {
                        let _ = tx.send(a);
                    }
                }
            }
        });
        let got = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .expect("reader");
        match got {
            Ok(http) => Node {
                name: name.to_owned(),
                child: Some(child),
                http,
                log,
            },
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "node {name} did not come up ({e}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn signal_url(&self) -> String {
        format!("ws://{}/v1/signal", self.http)
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM (a drain); [`Node::wait_exit`] waits for the end.
    pub fn sigterm(&self) {
        if let Some(c) = &self.child {
            let ok = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .expect("kill runs")
                .success();
            assert!(ok, "SIGTERM sent");
        }
    }

    /// Waits (deadline `d`) for the process to exit; its exit status.
    pub async fn wait_exit(&mut self, d: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    return Some(status);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A TCP front on a loopback port: each new connection goes to the next live backend (round
/// robin; a backend that refuses is skipped). What a load balancer does for a deployment.
pub struct Front {
    pub addr: SocketAddr,
    backends: Arc<Mutex<Vec<(SocketAddr, bool)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Front {
    pub async fn start(backends: &[SocketAddr]) -> Front {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind front");
        let addr = listener.local_addr().expect("addr");
        let backends = Arc::new(Mutex::new(
            backends.iter().map(|a| (*a, true)).collect::<Vec<_>>(),
        ));
        let list = Arc::clone(&backends);
        let task = tokio::spawn(async move {
            let mut next = 0usize;
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let live: Vec<SocketAddr> = list
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, up)| *up)
                    .map(|(a, _)| *a)
                    .collect();
                let start = next;
                next += 1;
                tokio::spawn(async move {
                    for i in 0..live.len() {
                        let target = live[(start + i) % live.len()];
                        if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            return;
                        }
                    }
                });
            }
        });
        Front {
            addr,
            backends,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn signal_url(&self) -> String {
        format!("ws://{}/v1/signal", self.addr)
    }

    /// Adds a backend.
    pub fn add(&self, addr: SocketAddr) {
        self.backends.lock().unwrap().push((addr, true));
    }

    /// Stops sending new connections to `addr` (the balancer's health check saw it go).
    pub fn remove(&self, addr: SocketAddr) {
        for b in self.backends.lock().unwrap().iter_mut() {
            if b.0 == addr {
                b.1 = false;
            }
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The development app's REST client on `url` (credentials from the shared data dir).
pub fn rest(dir: &Path, url: &str) -> RestClient {
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("dev-credentials.json")).expect("dev credentials"),
    )
    .expect("json");
    RestClient::new(
        url,
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap(),
    )
}

/// The admin key of the shared data dir.
pub fn admin_key(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("admin-key"))
        .expect("admin key")
        .trim()
        .to_owned()
}

/// `GET {url}{path}` with the admin key; the JSON body.
pub async fn admin_get(dir: &Path, url: &str, path: &str) -> serde_json::Value {
    http()
        .get(format!("{url}{path}"))
        .bearer_auth(admin_key(dir))
        .send()
        .await
        .expect("admin request")
        .json()
        .await
        .expect("json")
}

/// `GET {url}/v1/rooms/{id}` with the app's credentials: the node hosting the family.
pub async fn host_of(dir: &Path, url: &str, room: &RoomId) -> Option<String> {
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dev-credentials.json")).unwrap())
            .unwrap();
    let v: serde_json::Value = http()
        .get(format!("{url}/v1/rooms/{}", room.as_str()))
        .basic_auth(creds["app_id"].as_str().unwrap(), creds["app_key"].as_str())
        .send()
        .await
        .expect("room request")
        .json()
        .await
        .expect("json");
    v["node"].as_str().map(str::to_owned)
}

/// Waits (deadline `d`) until `f` holds.
pub async fn until<F, Fut>(d: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + d;
    loop {
        if f().await {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within {d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn create_room(rest: &RestClient, name: &str) -> RoomId {
    rest.create_room(&CreateRoomRequest {
        name: name.into(),
        owner_ref: "cluster-tests".into(),
        settings: RoomSettingsInput::default(),
        data: serde_json::Value::Null,
    })
    .await
    .expect("create room")
    .room_id
}

pub async fn token(rest: &RestClient, room: &RoomId, name: &str, role: Role) -> String {
    rest.create_token(
        room,
        &CreateTokenRequest {
            name: name.into(),
            role,
            user_ref: name.into(),
            data: serde_json::Value::Null,
        },
    )
    .await
    .expect("token")
    .token
}

/// Sends `name`-stamped Opus frames every 20 ms on `media` for `d` and returns the names of
/// the senders heard meanwhile.
pub async fn speak_and_listen(
    media: &mut alcove_client::media::Media,
    name: &str,
    d: Duration,
) -> std::collections::BTreeSet<String> {
    use alcove_client::media::synthetic_opus_frame;
    let start = std::time::Instant::now();
    while media.try_recv().is_some() {}
    let deadline = tokio::time::Instant::now() + d;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq: u32 = 0;
    let mut heard = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut payload = name.as_bytes().to_vec();
                payload.push(b':');
                payload.extend_from_slice(&seq.to_be_bytes());
                media.send_opus(&synthetic_opus_frame(&payload), -20);
                seq += 1;
            }
            f = media.recv() => match f {
                Some(f) if f.at >= start => {
                    let body = &f.data[1..];
                    let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
                    heard.insert(String::from_utf8_lossy(&body[..end]).into_owned());
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    heard
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Everyone in `peers` speaks and listens in windows of 500 ms until one window in which each
/// hears exactly its `want` (deadline `d`). Returns how long that took.
pub async fn hear_exactly(
    peers: &mut [(&mut alcove_client::media::Media, &str, &[&str])],
    what: &str,
    d: Duration,
) -> Duration {
    let started = Instant::now();
    let deadline = started + d;
    let want: Vec<_> = peers.iter().map(|(_, _, w)| names(w)).collect();
    loop {
        let heard = futures_util::future::join_all(
            peers
                .iter_mut()
                .map(|(m, name, _)| speak_and_listen(m, name, Duration::from_millis(500))),
        )
        .await;
        if heard == want {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: wanted {want:?}, still hearing {heard:?} after {d:?}"
        );
    }
}

/// An HTTP client (rustls on aws-lc-rs, as the SDK makes it).
pub fn http() -> reqwest::Client {
    alcove_client::tls::http_client(&[]).expect("http client")
}

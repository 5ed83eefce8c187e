//! Cluster mode (`alcove serve --redis redis://HOST:PORT --node-id NAME`): several nodes share
//! one Redis; a family lives on one node at a time and any node serves any client.
//!
//! * **Registry.** Every node writes `alcove:node:{id}` (its URL, UDP address, load, whether it
//!   drains) every [`HEARTBEAT`], with a time-to-live of [`NODE_TTL`]: a node that stops
//!   reporting drops out by itself. `alcove:nodes` is the set of ids ever seen.
//! * **Placement and lease.** The first connect to a room places its family on the
//!   least-loaded live node that does not drain. The owner holds `alcove:lease:{room}` =
//!   `{node}:{generation}` with a time-to-live (`--lease-ms`), renewed every third of it; the
//!   generation comes from `INCR alcove:gen:{room}`. Every snapshot write and every renewal is
//!   a Lua script that succeeds only while the lease still holds the writer's
//!   `{node}:{generation}` (fencing): a node that lost its lease never writes again.
//! * **Bridge.** A client that reaches another node is served through it (`bridge.rs`): that
//!   node opens a WebSocket to the owner and pipes frames both ways.
//! * **Failover.** When a lease expires (its node died or lost Redis), the next connect or
//!   resume for the room places the family again, and the new owner restores it from the
//!   snapshot (clients waiting to resume, timers from the time left).
//! * **Drain.** SIGTERM: no new placements here, every family is saved, its lease released
//!   and its clients' connections closed so that their SDKs resume elsewhere.
//!
//! Redis calls are blocking with 500 ms timeouts (`store/redis_store.rs`); the periodic ones
//! (heartbeat, renewal) run on the blocking pool.

pub mod bridge;
pub mod http;

use crate::store::{RedisStore, StoreError};
use alcove_proto::RoomId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How often a node reports itself.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a node's report lives: three heartbeats.
pub const NODE_TTL: Duration = Duration::from_millis(3_500);
/// Default of `--lease-ms`.
pub const DEFAULT_LEASE_MS: u64 = 3_000;
/// Header a node sets on the WebSocket it opens to the owner of a room: `{node}.{hmac}`, the
/// HMAC of the node id under the cluster's shared secret (clients cannot make one).
pub const BRIDGE_HEADER: &str = "x-alcove-bridge";
/// Close code the owner side answers a bridged connect with when it does not hold the room
/// (it lost a placement race): the entry node looks the room up again.
pub const NOT_OWNER_CLOSE: u16 = 4000;

/// Cluster settings (from the command line).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT`.
    pub redis_url: String,
    /// This node's name, unique in the cluster.
    pub node_id: String,
    /// Lease time-to-live.
    pub lease: Duration,
}

/// A lease on a room's family: `{node}:{generation}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The fencing generation (grows with every placement of the room).
    pub generation: u64,
    value: String,
    room: RoomId,
}

impl Lease {
    /// The room it is on.
    pub fn room(&self) -> &RoomId {
        &self.room
    }
}

/// A node as the registry shows it (`GET /v1/nodes`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct NodeInfo {
    /// Its `--node-id`.
    pub node_id: String,
    /// Its HTTP URL (where other nodes bridge to).
    pub url: String,
    /// Its media socket's ICE candidate, when media is on.
    pub udp: Option<String>,
    /// Live families it hosts.
    pub families: u64,
    /// Signalling connections of its families.
    pub clients: u64,
    /// CPU used by the process over the last heartbeat, in percent of one core.
    pub cpu: f64,
    /// True while it drains (it takes no new family).
    pub draining: bool,
}

/// Where a connect for a room is served.
#[derive(Debug)]
pub enum Route {
    /// Here, under this lease (held already, or just taken).
    Local(Lease),
    /// On another node: bridge to it.
    Remote(NodeInfo),
    /// Another node holds the lease but is not in the registry (it died; its lease has not
    /// expired yet), or no node may take the room now: try again shortly.
    Wait,
    /// This is a bridged connect and another node holds the room: the entry node retries.
    NotOwner,
}

const ACQUIRE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local owner = string.match(cur, '^(.*):%d+$')
  if owner ~= ARGV[1] or ARGV[3] ~= '1' then return {0, cur} end
end
local g = redis.call('INCR', KEYS[2])
local v = ARGV[1] .. ':' .. g
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {1, v}
";
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";
const SAVE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0
";
/// Ends a lease: with a snapshot (handoff) it is saved, without one (the family ended) the
/// saved state is deleted; then the lease goes. Fenced like SAVE.
const FINISH: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[2]) end
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

fn lease_key(room: &RoomId) -> String {
    format!("alcove:lease:{}", room.as_str())
}
fn gen_key(room: &RoomId) -> String {
    format!("alcove:gen:{}", room.as_str())
}
fn node_key(node: &str) -> String {
    format!("alcove:node:{node}")
}

/// The owner part of a lease value `{node}:{generation}`.
fn lease_owner(value: &str) -> &str {
    value.rsplit_once(':').map_or(value, |(n, _)| n)
}

fn lease_of(room: &RoomId, value: String) -> Lease {
    let generation = value
        .rsplit_once(':')
        .and_then(|(_, g)| g.parse().ok())
        .unwrap_or(0);
    Lease {
        generation,
        value,
        room: room.clone(),
    }
}

/// This node's part in the cluster.
pub struct Cluster {
    /// This node's id.
    pub node_id: String,
    /// This node's HTTP URL.
    pub url: String,
    /// This node's ICE candidate.
    pub udp: Option<SocketAddr>,
    /// Lease time-to-live.
    pub lease: Duration,
    redis: Arc<RedisStore>,
    secret: Vec<u8>,
    draining: AtomicBool,
    /// Signalling connections served by families here.
    pub clients: AtomicUsize,
    /// Families live here (kept by the driver).
    pub families: AtomicUsize,
    /// Leases held here, by room.
    leases: Mutex<HashMap<RoomId, Lease>>,
    /// Placement decisions on this node, one at a time (so that two connects for one room do
    /// not both take it).
    pub(crate) place: tokio::sync::Mutex<()>,
    /// Tells bridges to drop their clients (drain).
    pub(crate) stop_bridges: tokio::sync::watch::Sender<bool>,
    /// For REST queries forwarded to the owner.
    pub(crate) http: reqwest::Client,
    cpu: Mutex<(Instant, u64)>,
}

impl Cluster {
    /// This node in a cluster on `redis` (the store's backend), reachable at `url`.
    pub fn new(
        config: &ClusterConfig,
        redis: Arc<RedisStore>,
        secret: Vec<u8>,
        url: String,
        udp: Option<SocketAddr>,
    ) -> Cluster {
        Cluster {
            node_id: config.node_id.clone(),
            url,
            udp,
            lease: config.lease,
            redis,
            secret,
            draining: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
            families: AtomicUsize::new(0),
            leases: Mutex::default(),
            place: tokio::sync::Mutex::new(()),
            stop_bridges: tokio::sync::watch::channel(false).0,
            // Made as the webhooks' client is (rustls on aws-lc-rs, the system's roots).
            http: alcove_client::tls::http_client(&[]).unwrap_or_default(),
            cpu: Mutex::new((Instant::now(), cpu_ticks())),
        }
    }

    /// The value of [`BRIDGE_HEADER`] this node sends.
    pub fn bridge_header(&self) -> String {
        format!("{}.{}", self.node_id, self.bridge_mac(&self.node_id))
    }

    fn bridge_mac(&self, node: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"alcove-bridge:");
        mac.update(node.as_bytes());
        crate::util::hex(&mac.finalize().into_bytes())
    }

    /// True when `value` (a [`BRIDGE_HEADER`]) was made by a node of this cluster.
    pub fn verify_bridge(&self, value: &str) -> bool {
        match value.rsplit_once('.') {
            Some((node, mac)) => crate::store::same_digest(&self.bridge_mac(node), mac),
            None => false,
        }
    }

    /// True while this node drains.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    fn lock_leases(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Lease>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lease this node holds on `room`, if any.
    pub fn held(&self, room: &RoomId) -> Option<Lease> {
        self.lock_leases().get(room).cloned()
    }

    /// Forgets the lease on `room` (released or lost).
    pub fn forget(&self, room: &RoomId, lease: &Lease) {
        let mut l = self.lock_leases();
        if l.get(room) == Some(lease) {
            l.remove(room);
        }
    }

    /// Takes the lease on `room` (`force`: even over a lease in this node's own name, left by
    /// an earlier run of it). `Err(current)` when another holds it.
    pub fn acquire(&self, room: &RoomId, force: bool) -> Result<Result<Lease, String>, StoreError> {
        let ttl = self.lease.as_millis().to_string();
        let (ok, value): (i64, String) = self.redis.with(|c| {
            redis::Script::new(ACQUIRE)
                .key(lease_key(room))
                .key(gen_key(room))
                .arg(&self.node_id)
                .arg(&ttl)
                .arg(if force { "1" } else { "0" })
                .invoke(c)
        })?;
        if ok == 1 {
            let lease = lease_of(room, value);
            info!(room = %room, generation = lease.generation, "lease taken");
            self.lock_leases().insert(room.clone(), lease.clone());
            Ok(Ok(lease))
        } else {
            Ok(Err(value))
        }
    }

    /// Renews a lease; false when it is no longer this node's.
    pub fn renew(&self, room: &RoomId, lease: &Lease) -> Result<bool, StoreError> {
        let ttl = self.lease.as_millis().to_string();
        let ok: i64 = self.redis.with(|c| {
            redis::Script::new(RENEW)
                .key(lease_key(room))
                .arg(&lease.value)
                .arg(&ttl)
                .invoke(c)
        })?;
        Ok(ok == 1)
    }

    /// Writes a family's snapshot if the lease is still this node's; false when fenced out.
    pub fn save_family(
        &self,
        room: &RoomId,
        lease: &Lease,
        snapshot: &str,
    ) -> Result<bool, StoreError> {
        let ok: i64 = self.redis.with(|c| {
            redis::Script::new(SAVE)
                .key(lease_key(room))
                .key(crate::store::family_key(room))
                .arg(&lease.value)
                .arg(snapshot)
                .invoke(c)
        })?;
        Ok(ok == 1)
    }

    /// Releases a lease: saves `snapshot` (a handoff) or deletes the saved state (`None`: the
    /// family ended). Fenced; false when the lease was no longer this node's.
    pub fn finish(
        &self,
        room: &RoomId,
        lease: &Lease,
        snapshot: Option<&str>,
    ) -> Result<bool, StoreError> {
        let ok: i64 = self.redis.with(|c| {
            redis::Script::new(FINISH)
                .key(lease_key(room))
                .key(crate::store::family_key(room))
                .arg(&lease.value)
                .arg(snapshot.unwrap_or(""))
                .invoke(c)
        })?;
        self.forget(room, lease);
        Ok(ok == 1)
    }

    /// Gives a lease back without touching the saved state (it was taken for a connect that
    /// was refused). Fenced.
    pub fn release(&self, room: &RoomId, lease: &Lease) -> Result<bool, StoreError> {
        let ok: i64 = self.redis.with(|c| {
            redis::Script::new(RELEASE)
                .key(lease_key(room))
                .arg(&lease.value)
                .invoke(c)
        })?;
        self.forget(room, lease);
        Ok(ok == 1)
    }

    /// The saved snapshot of a room's family, if any.
    pub fn snapshot(&self, room: &RoomId) -> Result<Option<String>, StoreError> {
        self.redis.family(room)
    }

    /// The node holding `room`'s lease, if any.
    pub fn owner(&self, room: &RoomId) -> Result<Option<String>, StoreError> {
        let v: Option<String> = self
            .redis
            .with(|c| redis::cmd("GET").arg(lease_key(room)).query(c))?;
        Ok(v.map(|v| lease_owner(&v).to_owned()))
    }

    /// One node of the registry, if it is live.
    pub fn node(&self, id: &str) -> Result<Option<NodeInfo>, StoreError> {
        let h: HashMap<String, String> = self
            .redis
            .with(|c| redis::cmd("HGETALL").arg(node_key(id)).query(c))?;
        Ok(node_from(id, &h))
    }

    /// Every live node, by id.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        let mut ids: Vec<String> = self
            .redis
            .with(|c| redis::cmd("SMEMBERS").arg("alcove:nodes").query(c))?;
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            if let Some(n) = self.node(&id)? {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Writes this node's registry entry (one heartbeat).
    pub fn heartbeat(&self) -> Result<(), StoreError> {
        let cpu = {
            let mut c = self.cpu.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let ticks = cpu_ticks();
            let secs = now.duration_since(c.0).as_secs_f64().max(0.001);
            let pct = ticks.saturating_sub(c.1) as f64 / secs; // 100 ticks per second
            *c = (now, ticks);
            pct
        };
        let fields = [
            ("url", self.url.clone()),
            ("udp", self.udp.map(|u| u.to_string()).unwrap_or_default()),
            (
                "families",
                self.families.load(Ordering::Relaxed).to_string(),
            ),
            ("clients", self.clients.load(Ordering::Relaxed).to_string()),
            ("cpu", format!("{cpu:.1}")),
            ("draining", u8::from(self.draining()).to_string()),
        ];
        let key = node_key(&self.node_id);
        let ttl = NODE_TTL.as_millis() as u64;
        self.redis.with(|c| {
            redis::pipe()
                .atomic()
                .hset_multiple(&key, &fields)
                .ignore()
                .pexpire(&key, ttl as i64)
                .ignore()
                .sadd("alcove:nodes", &self.node_id)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Removes this node from the registry (after a drain).
    pub fn leave(&self) -> Result<(), StoreError> {
        let key = node_key(&self.node_id);
        self.redis.with(|c| {
            redis::pipe()
                .del(&key)
                .ignore()
                .srem("alcove:nodes", &self.node_id)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Where a connect for `room` is served. `bridged`: the connect came from another node
    /// (which chose this one).
    ///
    /// Redis calls here block for at most their timeouts; the caller runs this on the blocking
    /// pool.
    pub fn route(&self, room: &RoomId, bridged: bool) -> Result<Route, StoreError> {
        // A lease held here (its family is live, or about to be spawned by another connect).
        if let Some(lease) = self.held(room) {
            return Ok(Route::Local(lease));
        }
        let current: Option<String> = self
            .redis
            .with(|c| redis::cmd("GET").arg(lease_key(room)).query(c))?;
        if let Some(cur) = current {
            let owner = lease_owner(&cur);
            if owner == self.node_id {
                // Ours, but no family here (an earlier run of this node): take it anew.
                if self.draining() {
                    return Ok(Route::Wait);
                }
                return Ok(match self.acquire(room, true)? {
                    Ok(lease) => Route::Local(lease),
                    Err(_) => Route::Wait,
                });
            }
            if bridged {
                return Ok(Route::NotOwner);
            }
            return Ok(match self.node(owner)? {
                Some(n) => Route::Remote(n),
                None => Route::Wait,
            });
        }
        // Nobody holds it: place it.
        let target = if bridged {
            // The entry node chose this one.
            (!self.draining()).then(|| self.node_id.clone())
        } else {
            self.least_loaded(room)?.map(|n| n.node_id)
        };
        let Some(target) = target else {
            return Ok(Route::Wait);
        };
        if target == self.node_id {
            return Ok(match self.acquire(room, false)? {
                Ok(lease) => Route::Local(lease),
                // Lost the race: look again.
                Err(_) => Route::Wait,
            });
        }
        Ok(match self.node(&target)? {
            Some(n) => Route::Remote(n),
            None => Route::Wait,
        })
    }

    /// The live node that does not drain with the fewest families (then clients, then a hash
    /// of the room, so that ties spread).
    fn least_loaded(&self, room: &RoomId) -> Result<Option<NodeInfo>, StoreError> {
        let nodes = self.nodes()?;
        Ok(nodes
            .into_iter()
            .filter(|n| !(n.draining || (n.node_id == self.node_id && self.draining())))
            .min_by_key(|n| {
                (
                    n.families,
                    n.clients,
                    fnv(room.as_str().as_bytes(), n.node_id.as_bytes()),
                )
            }))
    }

    /// Marks this node draining (it takes no new family) and reports it at once.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
        if let Err(e) = self.heartbeat() {
            warn!("reporting the drain: {e}");
        }
        let _ = self.stop_bridges.send(true);
    }
}

fn fnv(a: &[u8], b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for x in a.iter().chain(b) {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn node_from(id: &str, h: &HashMap<String, String>) -> Option<NodeInfo> {
    let url = h.get("url")?.clone();
    let num = |k: &str| h.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Some(NodeInfo {
        node_id: id.to_owned(),
        url,
        udp: h.get("udp").filter(|u| !u.is_empty()).cloned(),
        families: num("families"),
        clients: num("clients"),
        cpu: h.get("cpu").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        draining: h.get("draining").is_some_and(|d| d == "1"),
    })
}

/// CPU time of this process so far, in clock ticks (user + system; 0 where unknown).
fn cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the ')'.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// Heartbeats until the process ends (a failed one is logged; the registry entry expires if
/// they keep failing).
pub fn spawn_heartbeat(cluster: Arc<Cluster>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        let mut failing = false;
        loop {
            tick.tick().await;
            let c = Arc::clone(&cluster);
            match tokio::task::spawn_blocking(move || c.heartbeat()).await {
                Ok(Ok(())) => {
                    if failing {
                        info!("heartbeat: Redis answers again");
                    }
                    failing = false;
                }
                Ok(Err(e)) => {
                    if !failing {
                        warn!("heartbeat failed: {e}");
                    }
                    failing = true;
                }
                Err(_) => {}
            }
        }
    });
}

/// Runs `f` (blocking Redis calls) on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Redis(redis::RedisError::from((
            redis::ErrorKind::IoError,
            "blocking task failed",
            e.to_string(),
        )))),
    }
}

/// Drains this node (SIGTERM): no new family here, every live family saves its final
/// snapshot, releases its lease and closes its clients' connections resumable (their SDKs
/// resume on another node, which restores the family); bridges drop their clients the same
/// way. Returns once no family is left (at most 10 s), after leaving the registry.
pub async fn drain(cluster: &Arc<Cluster>, families: &crate::driver::Families) {
    let started = Instant::now();
    info!(families = families.live(), "draining");
    let c = Arc::clone(cluster);
    let _ = blocking(move || {
        c.start_draining();
        Ok(())
    })
    .await;
    families.handoff_all();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while families.live() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = families.live();
    if left > 0 {
        warn!(left, "drain: families still live after 10 s; ending them");
        families.end_all();
    }
    let c = Arc::clone(cluster);
    if let Err(e) = blocking(move || c.leave()).await {
        warn!("leaving the registry: {e}");
    }
    info!(ms = started.elapsed().as_millis() as u64, "drained");
}

//! Limits at the edge: the per-connection request rate limit (a token bucket, plus a flood
//! detector that tells the connection to close), the caps on open connections
//! ([`ConnTracker`]) and the process's descriptor limit ([`raise_nofile_limit`]).
//!
//! ## Request rate
//!
//! Every frame a connected client sends costs one token. The bucket holds `burst` tokens and
//! refills at `rate` per second. A frame that finds the bucket empty is refused (the
//! connection answers `error` 4006 and does not forward it). A client that sends more than
//! [`FLOOD_FACTOR`] times the sustained rate's worth of frames within one [`FLOOD_WINDOW`] is
//! flooding and is disconnected (close 1008). The limiter reads no clock: time comes in as
//! `now`, so it is tested without sleeping.

use futures_util::task::AtomicWaker;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Length of the window in which flooding is counted.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(5);
/// A connection sending more than this many times its sustained rate over a whole
/// [`FLOOD_WINDOW`] is closed.
pub const FLOOD_FACTOR: u64 = 10;

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle it.
    Allow,
    /// Over the limit: answer 4006, do not forward.
    Refuse,
    /// The client keeps flooding: close the connection.
    Flood,
}

/// One connection's token bucket and flood counter.
#[derive(Debug)]
pub struct RequestLimiter {
    /// Tokens per second (sustained rate).
    rate: f64,
    /// Bucket size.
    burst: f64,
    /// Tokens left, as of `last`.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
    /// Start of the current flood window.
    window_start: Instant,
    /// Frames seen since `window_start`.
    window_frames: u64,
    /// Frames allowed in one flood window before the connection is closed.
    flood_limit: u64,
}

impl RequestLimiter {
    /// A full bucket of `burst` tokens refilled at `rate` per second (both at least 1).
    pub fn new(rate: u32, burst: u32, now: Instant) -> RequestLimiter {
        let rate = rate.max(1);
        let burst = burst.max(1);
        RequestLimiter {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
            window_start: now,
            window_frames: 0,
            flood_limit: FLOOD_FACTOR * u64::from(rate) * FLOOD_WINDOW.as_secs(),
        }
    }

    /// Counts one frame received at `now` and says what to do with it.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if now.saturating_duration_since(self.window_start) >= FLOOD_WINDOW {
            self.window_start = now;
            self.window_frames = 0;
        }
        self.window_frames += 1;
        if self.window_frames > self.flood_limit {
            return Verdict::Flood;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Verdict::Allow
        } else {
            Verdict::Refuse
        }
    }
}

/// What a connection is doing, as far as the caps and idle timeouts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No request in progress: fresh, between keep-alive requests, or reading a request head.
    /// Idle timeouts apply; the connection may be evicted to make room for a new one.
    Idle = 0,
    /// A request is being served (its head was read). Bounded by the request timeout.
    Busy = 1,
    /// A WebSocket that has not completed `connect` (bounded by the connect timeout). May be
    /// evicted to make room for a new connection.
    WsPending = 2,
    /// A signalling connection whose client is in a family: never evicted, no idle timeout.
    Connected = 3,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            1 => Phase::Busy,
            2 => Phase::WsPending,
            3 => Phase::Connected,
            _ => Phase::Idle,
        }
    }

    /// Whether a connection in this phase may be closed to make room for a new one.
    pub fn evictable(self) -> bool {
        matches!(self, Phase::Idle | Phase::WsPending)
    }
}

/// The shared state of one open connection: its phase, and the switch that evicts it.
#[derive(Debug)]
pub struct ConnState {
    /// Admission order (older connections have smaller ids).
    id: u64,
    /// The source address it counts against (IPv6: its /64).
    key: IpAddr,
    phase: AtomicU8,
    /// Bumped on every phase change, so that the I/O wrapper restarts its idle clock.
    generation: std::sync::atomic::AtomicU32,
    evicted: AtomicBool,
    /// Whether it counts against its address's cap (until its client is connected).
    per_address: AtomicBool,
    /// Wakes the connection's reader when it is evicted.
    waker: AtomicWaker,
    tracker: Weak<ConnTracker>,
}

impl ConnState {
    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Enters `phase` (and restarts the idle clock). A connected client no longer counts
    /// against its address's cap.
    pub fn set_phase(&self, phase: Phase) {
        match self.tracker.upgrade() {
            Some(t) => t.lock().phase_changed(self, phase),
            None => self.phase.store(phase as u8, Ordering::Release),
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        // A reader waiting with an idle timer re-arms it for the new phase.
        self.waker.wake();
    }

    /// Changes on every [`ConnState::set_phase`].
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the tracker closed this connection to make room.
    pub fn evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Registers the task to wake when the connection is evicted or changes phase.
    pub fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }
}

/// One admitted connection: counts against the caps until dropped (with its socket).
#[derive(Debug)]
pub struct ConnGuard {
    state: Arc<ConnState>,
}

impl ConnGuard {
    /// The connection's shared state.
    pub fn state(&self) -> &Arc<ConnState> {
        &self.state
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(t) = self.state.tracker.upgrade() {
            t.release(&self.state);
        }
    }
}

/// Why a new connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every connection slot is taken by connections doing useful work.
    Total,
    /// Its source address holds its whole share, all doing useful work.
    PerAddress,
}

/// The caps on open connections: in total, and per source address (an IPv6 address counts
/// by its /64, what one host is usually given). The per-address cap counts the connections
/// that are not a connected client: HTTP requests, idle connections, WebSockets before
/// `connect`. A connected client has shown a valid token, and how many of those an address
/// may have is the rooms' business (a class behind one NAT).
///
/// A new connection over a cap is admitted by closing ("evicting") the oldest connection
/// that does no useful work (an idle HTTP connection, a WebSocket that has not sent
/// `connect`) of the same address (per-address cap) or of anyone (total cap). Only when
/// there is none is the new one refused. So connections that merely sit there can never
/// lock out a new client: they make room for it.
#[derive(Debug)]
pub struct ConnTracker {
    /// Most connections open at once.
    pub max_total: usize,
    /// Most connections open at once from one source address (0: no per-address cap).
    pub max_per_address: usize,
    // std Mutex: held for a map update or a scan, never across an await.
    inner: Mutex<TrackerInner>,
}

#[derive(Debug, Default)]
struct TrackerInner {
    next_id: u64,
    /// Live (not evicted) connections by admission order.
    live: BTreeMap<u64, Arc<ConnState>>,
    /// Live connections per source address key that count against its cap.
    per_key: HashMap<IpAddr, usize>,
    /// Ids of the live connections that may be evicted (oldest first), in all and per key:
    /// finding the one to evict never scans the connected clients.
    evictable: BTreeSet<u64>,
    evictable_by_key: HashMap<IpAddr, BTreeSet<u64>>,
}

impl TrackerInner {
    fn remove(&mut self, state: &ConnState) -> bool {
        if self.live.remove(&state.id).is_none() {
            return false;
        }
        self.set_evictable(state, false);
        self.uncount_address(state);
        true
    }

    fn set_evictable(&mut self, state: &ConnState, evictable: bool) {
        if evictable {
            self.evictable.insert(state.id);
            self.evictable_by_key
                .entry(state.key)
                .or_default()
                .insert(state.id);
        } else {
            self.evictable.remove(&state.id);
            if let Some(set) = self.evictable_by_key.get_mut(&state.key) {
                set.remove(&state.id);
                if set.is_empty() {
                    self.evictable_by_key.remove(&state.key);
                }
            }
        }
    }

    /// Records a phase change (under the tracker's lock, so that the sets and the phase agree).
    fn phase_changed(&mut self, state: &ConnState, phase: Phase) {
        state.phase.store(phase as u8, Ordering::Release);
        if !self.live.contains_key(&state.id) {
            return;
        }
        self.set_evictable(state, phase.evictable());
        if phase == Phase::Connected {
            self.uncount_address(state);
        }
    }

    fn uncount_address(&mut self, state: &ConnState) {
        if !state.per_address.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some(n) = self.per_key.get_mut(&state.key) {
            *n -= 1;
            if *n == 0 {
                self.per_key.remove(&state.key);
            }
        }
    }

    /// Evicts the oldest evictable connection (of `key`, when given). False when none.
    fn evict_one(&mut self, key: Option<IpAddr>) -> bool {
        let oldest = match key {
            Some(k) => self.evictable_by_key.get(&k).and_then(|s| s.first()),
            None => self.evictable.first(),
        };
        let Some(victim) = oldest.and_then(|id| self.live.get(id)).cloned() else {
            return false;
        };
        self.remove(&victim);
        victim.evicted.store(true, Ordering::Release);
        victim.waker.wake();
        true
    }
}

/// The address key a connection counts against: the address itself (IPv4), its /64 (IPv6).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl ConnTracker {
    /// A tracker with these caps (`max_total` at least 1; `max_per_address` 0 = none).
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<ConnTracker> {
        Arc::new(ConnTracker {
            max_total: max_total.max(1),
            max_per_address,
            inner: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip`, evicting an idle one if a cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let key = address_key(ip);
        let mut inner = self.lock();
        if self.max_per_address > 0
            && inner.per_key.get(&key).copied().unwrap_or(0) >= self.max_per_address
            && !inner.evict_one(Some(key))
        {
            return Err(Refusal::PerAddress);
        }
        if inner.live.len() >= self.max_total && !inner.evict_one(None) {
            return Err(Refusal::Total);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let state = Arc::new(ConnState {
            id,
            key,
            phase: AtomicU8::new(Phase::Idle as u8),
            generation: Default::default(),
            evicted: AtomicBool::new(false),
            per_address: AtomicBool::new(true),
            waker: AtomicWaker::new(),
            tracker: Arc::downgrade(self),
        });
        inner.live.insert(id, Arc::clone(&state));
        inner.set_evictable(&state, true);
        *inner.per_key.entry(key).or_insert(0) += 1;
        Ok(ConnGuard { state })
    }

    /// Evicts the oldest evictable connection (used when the process is out of descriptors).
    /// False when there is none.
    pub fn evict_oldest_idle(&self) -> bool {
        self.lock().evict_one(None)
    }

    fn release(&self, state: &ConnState) {
        self.lock().remove(state);
    }

    /// Connections open (not evicted).
    pub fn open(&self) -> usize {
        self.lock().live.len()
    }
}

/// Descriptors the server keeps for itself when it derives the connection cap from its
/// descriptor limit: the database, the media socket, the listener, logs, and connections
/// accepted but not yet closed after an eviction.
pub fn reserved_descriptors(limit: u64) -> u64 {
    64 + limit / 16
}

/// Raises this process's soft limit on open descriptors to its hard limit. Returns the limit
/// in force afterwards and the one before, or `None` where it cannot be read.
#[cfg(target_os = "linux")]
pub fn raise_nofile_limit() -> Option<(u64, u64)> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return Some((soft, soft));
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => Some((hard, soft)),
        Err(_) => Some((soft, soft)),
    }
}

/// Raises this process's soft limit on open descriptors (not supported on this platform).
#[cfg(not(target_os = "linux"))]
pub fn raise_nofile_limit() -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(l: &mut RequestLimiter, now: Instant, n: usize) -> [usize; 3] {
        let mut out = [0; 3];
        for _ in 0..n {
            match l.check(now) {
                Verdict::Allow => out[0] += 1,
                Verdict::Refuse => out[1] += 1,
                Verdict::Flood => out[2] += 1,
            }
        }
        out
    }

    #[test]
    fn a_burst_passes_then_requests_are_refused_until_the_bucket_refills() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        assert_eq!(count(&mut l, t0, 120), [100, 20, 0]);
        // 100 ms later: 5 tokens.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(count(&mut l, t1, 10), [5, 5, 0]);
        // Long idle: back to a full bucket, never more.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(count(&mut l, t2, 101), [100, 1, 0]);
    }

    #[test]
    fn a_polite_client_at_the_sustained_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        for i in 0..1_000u32 {
            let now = t0 + Duration::from_millis(20) * i;
            assert_eq!(l.check(now), Verdict::Allow, "request {i}");
        }
    }

    #[test]
    fn more_than_ten_times_the_rate_over_the_window_is_a_flood() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        // 10× the rate for a whole window is tolerated (refused, not closed) …
        let step = Duration::from_micros(2_000);
        let mut t = t0;
        for _ in 0..2_500 {
            assert_ne!(l.check(t), Verdict::Flood);
            t += step;
        }
        // … a new window starts; one frame more than 10× in it closes the connection.
        let t1 = t0 + FLOOD_WINDOW;
        let [_, _, flood] = count(&mut l, t1, 2_501);
        assert_eq!(flood, 1);
    }
}

#[cfg(test)]
mod conn_tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn over_the_total_cap_the_oldest_idle_connection_makes_room() {
        let t = ConnTracker::new(3, 0);
        let a = t.admit(ip(1)).unwrap();
        let b = t.admit(ip(2)).unwrap();
        let c = t.admit(ip(3)).unwrap();
        a.state().set_phase(Phase::Connected);
        let d = t.admit(ip(4)).expect("room made");
        assert!(!a.state().evicted(), "a connected client is never evicted");
        assert!(b.state().evicted(), "the oldest idle one went");
        assert!(!c.state().evicted());
        assert_eq!(t.open(), 3);
        // Everyone busy: refused.
        for g in [&c, &d] {
            g.state().set_phase(Phase::Busy);
        }
        assert_eq!(t.admit(ip(5)).unwrap_err(), Refusal::Total);
        // A closed connection frees its slot.
        drop(d);
        let _e = t.admit(ip(5)).expect("a free slot");
        drop(b);
        assert_eq!(
            t.open(),
            3,
            "an evicted guard's drop does not free a second slot"
        );
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let t = ConnTracker::new(100, 2);
        let a1 = t.admit(ip(1)).unwrap();
        let a2 = t.admit(ip(1)).unwrap();
        let b1 = t.admit(ip(2)).unwrap();
        // A third from the same address evicts that address's oldest idle connection, not b1.
        let a3 = t.admit(ip(1)).unwrap();
        assert!(a1.state().evicted());
        assert!(!b1.state().evicted());
        a2.state().set_phase(Phase::Connected);
        a3.state().set_phase(Phase::WsPending);
        // a2 connected no longer counts: a3 (a pending WebSocket) and a4 fill the share.
        let a4 = t.admit(ip(1)).unwrap();
        assert!(!a3.state().evicted());
        a4.state().set_phase(Phase::Busy);
        // A pending WebSocket is evictable, a busy request is not.
        let a5 = t.admit(ip(1)).unwrap();
        assert!(a3.state().evicted());
        a5.state().set_phase(Phase::Busy);
        assert_eq!(t.admit(ip(1)).unwrap_err(), Refusal::PerAddress);
        assert!(t.admit(ip(3)).is_ok());
        // Connected clients from one address are not capped by it (one NAT, one class).
        for _ in 0..10 {
            a5.state().set_phase(Phase::Connected);
        }
        let a6 = t.admit(ip(1)).expect("a5 connected: room for one more");
        a6.state().set_phase(Phase::Connected);
        drop(a6);
        assert_eq!(t.open(), 4, "a2, b1, a4, a5");
    }

    #[test]
    fn an_ipv6_host_counts_by_its_64() {
        let t = ConnTracker::new(100, 1);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let ga = t.admit(a).unwrap();
        ga.state().set_phase(Phase::Busy);
        assert_eq!(t.admit(b).unwrap_err(), Refusal::PerAddress);
        assert!(t.admit(other).is_ok());
    }
}

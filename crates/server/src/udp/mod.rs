//! The media socket: one UDP port for every peer connection of every family.
//!
//! Datagrams are demultiplexed to media shards without looking inside their Rtcs: a STUN
//! binding request names the server-side ICE ufrag in its USERNAME (`server:client`), and each
//! shard announces the ufrags of its sessions (`ShardOutput::IceBound`). The address a ufrag
//! was seen from is remembered, so DTLS and SRTP from that address go to the same shard.
//!
//! One reader task ([`recv_loop`]) reads batches ([`batch`]), routes every datagram of a batch
//! under one lock of the demux table and hands each shard **one** [`ShardMsg::Datagrams`]
//! per batch, so a shard task wakes once per batch, not once per packet. Nothing here waits
//! for a shard: each has a bound of bytes queued toward it ([`Inflight`]); a datagram over the
//! bound is dropped and counted ([`stats`]). Shards send with [`batch::TxBatch`].

pub mod batch;
pub mod stats;
pub mod tcp;

pub use batch::{MediaSocket, TxBatch};

use crate::shard::{ShardMsg, ShardSink};
use alcove_proto::RoomId;
use stats::UdpStats;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracing::{info, trace};

/// Most bytes queued toward one media shard (datagrams read, not yet taken by its task),
/// counting [`DATAGRAM_OVERHEAD`] per datagram: about 5,000 audio packets, a second of a
/// 100-talker shard's inbound audio. Beyond it the shard is not keeping up and datagrams are
/// dropped.
pub const FAMILY_QUEUE_BYTES: usize = 1 << 20;
/// What one queued datagram costs besides its bytes (its `Vec`, address, allocator header).
pub const DATAGRAM_OVERHEAD: usize = 64;
/// Most addresses remembered per ufrag (a client's candidates; the oldest seen is forgotten).
pub const ADDRS_PER_UFRAG: usize = 8;
/// How long an address stays with the ufrag that last named it in an authenticated STUN
/// request: another ufrag (even with valid credentials) cannot take it over meanwhile. ICE
/// consent checks come every ~5 s (RFC 7675), so a live client renews it well before.
pub const ADDRESS_HOLD: std::time::Duration = std::time::Duration::from_secs(30);
/// How often the reader logs its counters at `info` when something was dropped meanwhile.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// One received datagram on its way to a family.
#[derive(Debug)]
pub struct Datagram {
    /// Sender.
    pub source: SocketAddr,
    /// The datagram.
    pub contents: Vec<u8>,
    /// It came over ICE-TCP ([`tcp`]), not the UDP socket.
    pub tcp: bool,
}

/// The datagrams of one read batch for one family, and the bytes they hold of its bound.
#[derive(Debug)]
pub struct DatagramBatch {
    /// In arrival order.
    pub datagrams: Vec<Datagram>,
    /// What to give back to the family's [`Inflight`] once taken.
    pub reserved: usize,
}

/// The bytes queued toward one family, shared by the reader (which reserves) and the family
/// task (which releases what it takes).
#[derive(Debug, Default)]
pub struct Inflight {
    bytes: AtomicUsize,
}

impl Inflight {
    /// Reserves `n` bytes if that stays within `bound`; returns the total queued after, or
    /// `None` (nothing reserved).
    pub fn try_reserve(&self, n: usize, bound: usize) -> Option<usize> {
        self.bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b + n <= bound).then_some(b + n)
            })
            .ok()
            .map(|before| before + n)
    }

    /// Gives back `n` reserved bytes.
    pub fn release(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes queued now.
    pub fn queued(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }
}

/// ufrag → family and address → ufrag.
#[derive(Default)]
pub struct Demux {
    // std Mutex: locked once per read batch and per bind/unbind, never held across an await.
    inner: Mutex<DemuxInner>,
}

/// Where a ufrag's datagrams go.
struct Binding {
    room: RoomId,
    sink: Arc<ShardSink>,
    /// The session's ICE password: the key of its STUN requests' MESSAGE-INTEGRITY.
    key: Vec<u8>,
    /// Addresses seen naming this ufrag, oldest first (at most [`ADDRS_PER_UFRAG`]).
    addrs: VecDeque<SocketAddr>,
}

#[derive(Default)]
struct DemuxInner {
    ufrags: HashMap<String, Binding>,
    /// Address → the ufrag it last named in an authenticated STUN request, and when.
    addrs: HashMap<SocketAddr, (String, std::time::Instant)>,
}

/// Where the demux sends a datagram.
#[derive(Clone)]
struct Route {
    room: RoomId,
    sink: Arc<ShardSink>,
}

impl Demux {
    fn lock(&self) -> std::sync::MutexGuard<'_, DemuxInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session of `room`'s family answers to `ufrag` (ICE password `pass`); its datagrams
    /// go to `sink` (its shard) and count against the shard's bound.
    pub fn bind(&self, ufrag: String, pass: &str, room: RoomId, sink: Arc<ShardSink>) {
        let mut d = self.lock();
        if let Some(old) = d.ufrags.insert(
            ufrag,
            Binding {
                room,
                sink,
                key: pass.as_bytes().to_vec(),
                addrs: VecDeque::new(),
            },
        ) {
            for a in old.addrs {
                d.addrs.remove(&a);
            }
        }
    }

    /// The session behind `ufrag` is gone.
    pub fn unbind(&self, ufrag: &str) {
        let mut d = self.lock();
        if let Some(b) = d.ufrags.remove(ufrag) {
            for a in b.addrs {
                d.addrs.remove(&a);
            }
        }
    }

    /// The ufrags bound to `room`'s family (operators' debugging, tests).
    pub fn ufrags_of(&self, room: &RoomId) -> Vec<String> {
        let d = self.lock();
        let mut v: Vec<String> = d
            .ufrags
            .iter()
            .filter(|(_, b)| &b.room == room)
            .map(|(u, _)| u.clone())
            .collect();
        v.sort();
        v
    }

    /// Addresses remembered, over all ufrags.
    pub fn remembered_addrs(&self) -> usize {
        self.lock().addrs.len()
    }

    /// The family a datagram from `source` belongs to.
    #[cfg(test)]
    fn route(&self, source: SocketAddr, datagram: &[u8]) -> Option<RoomId> {
        self.route_at(source, datagram, std::time::Instant::now())
    }

    #[cfg(test)]
    fn route_at(
        &self,
        source: SocketAddr,
        datagram: &[u8],
        now: std::time::Instant,
    ) -> Option<RoomId> {
        self.lock().route(source, datagram, now).map(|r| r.room)
    }
}

impl DemuxInner {
    /// Where a datagram goes. A STUN request naming a bound ufrag goes to that ufrag's shard
    /// (its session answers or refuses it); its source address is learnt for that ufrag only
    /// when the request passes its MESSAGE-INTEGRITY check with the session's ICE password,
    /// and an address another ufrag holds (named in an authenticated request within
    /// [`ADDRESS_HOLD`]) is not taken over. Anything else goes where its address was learnt.
    fn route(
        &mut self,
        source: SocketAddr,
        datagram: &[u8],
        now: std::time::Instant,
    ) -> Option<Route> {
        if let Some(ufrag) = stun_server_ufrag(datagram) {
            let b = self.ufrags.get_mut(ufrag)?;
            let route = Route {
                room: b.room.clone(),
                sink: Arc::clone(&b.sink),
            };
            if !stun_integrity_ok(datagram, &b.key) {
                return Some(route);
            }
            match self.addrs.get(&source) {
                Some((u, _)) if u == ufrag => {
                    // Seen again: now the most recent of this ufrag's addresses.
                    if let Some(i) = b.addrs.iter().position(|a| *a == source) {
                        b.addrs.remove(i);
                    }
                    b.addrs.push_back(source);
                    self.addrs.insert(source, (ufrag.to_owned(), now));
                }
                Some((prev, at))
                    if self.ufrags.contains_key(prev)
                        && now.saturating_duration_since(*at) < ADDRESS_HOLD =>
                {
                    // Held by another live session: not taken over.
                    trace!(%source, "address held by another ufrag: not moved");
                }
                other => {
                    // New for this ufrag (possibly moved from a stale or gone one).
                    if let Some((prev, _)) = other.cloned() {
                        if let Some(pb) = self.ufrags.get_mut(&prev) {
                            pb.addrs.retain(|a| *a != source);
                        }
                    }
                    let Some(b) = self.ufrags.get_mut(ufrag) else {
                        return Some(route);
                    };
                    b.addrs.push_back(source);
                    if b.addrs.len() > ADDRS_PER_UFRAG {
                        if let Some(old) = b.addrs.pop_front() {
                            self.addrs.remove(&old);
                        }
                    }
                    self.addrs.insert(source, (ufrag.to_owned(), now));
                }
            }
            return Some(route);
        }
        let (ufrag, _) = self.addrs.get(&source)?;
        self.ufrags.get(ufrag).map(|b| Route {
            room: b.room.clone(),
            sink: Arc::clone(&b.sink),
        })
    }
}

/// True when STUN message `b` carries a MESSAGE-INTEGRITY (HMAC-SHA1, RFC 5389 §15.4) made
/// with `key`: the HMAC covers the message up to the attribute, with the header's length
/// counting up to the attribute's end. Compared in constant time.
pub fn stun_integrity_ok(b: &[u8], key: &[u8]) -> bool {
    use hmac::Mac;
    if b.len() < 20 {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let end = (20 + len).min(b.len());
    let mut i = 20;
    while i + 4 <= end {
        let ty = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if ty == 0x0008 {
            let Some(mac) = b.get(i + 4..i + 24).filter(|_| l == 20) else {
                return false;
            };
            let Ok(mut h) = hmac::Hmac::<sha1::Sha1>::new_from_slice(key) else {
                return false;
            };
            let covered = u16::try_from(i - 20 + 24).unwrap_or(u16::MAX);
            h.update(&b[..2]);
            h.update(&covered.to_be_bytes());
            h.update(&b[4..i]);
            return h.verify_slice(mac).is_ok();
        }
        i += 4 + ((l + 3) & !3);
    }
    false
}

/// The server-side ufrag of a STUN message (`USERNAME` = `server:client`), if it is one.
pub fn stun_server_ufrag(b: &[u8]) -> Option<&str> {
    if b.len() < 20 || b[0] & 0xC0 != 0 || b[4..8] != [0x21, 0x12, 0xA4, 0x42] {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let end = (20 + len).min(b.len());
    let mut i = 20;
    while i + 4 <= end {
        let ty = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let v = b.get(i + 4..i + 4 + l)?;
        if ty == 0x0006 {
            return std::str::from_utf8(v).ok()?.split(':').next();
        }
        i += 4 + ((l + 3) & !3);
    }
    None
}

/// Reads the media socket forever: a batch at a time, each datagram routed under one lock of
/// the demux table, one message per shard per batch, never waiting for a shard.
pub async fn recv_loop(socket: Arc<MediaSocket>, demux: Arc<Demux>) {
    let mut bufs = batch::RecvBuffers::for_socket(&socket);
    let mut out: Vec<(Route, DatagramBatch)> = Vec::new();
    let mut logged = socket.stats().snapshot();
    let mut last_log = tokio::time::Instant::now();
    loop {
        socket.recv_batch(&mut bufs).await;
        route_batch(&bufs, &demux, socket.stats(), FAMILY_QUEUE_BYTES, &mut out);
        let stats = socket.stats();
        for (route, batch) in out.drain(..) {
            let n = batch.datagrams.len() as u64;
            let reserved = batch.reserved;
            if route.sink.tx.send(ShardMsg::Datagrams(batch)).is_ok() {
                UdpStats::add(&stats.routed, n);
            } else {
                // The family ended; its ufrags go with it.
                route.sink.inflight.release(reserved);
                UdpStats::add(&stats.dropped_unroutable, n);
            }
        }
        if last_log.elapsed() >= LOG_EVERY {
            let now = stats.snapshot();
            if now.dropped_in() != logged.dropped_in() || now.send_dropped != logged.send_dropped {
                info!(
                    received = now.received,
                    routed = now.routed,
                    unroutable = now.dropped_unroutable,
                    overload = now.dropped_overload,
                    truncated = now.dropped_truncated,
                    kernel = now.dropped_kernel,
                    sent = now.sent,
                    send_dropped = now.send_dropped,
                    "media socket dropped datagrams (totals since start)"
                );
            }
            logged = now;
            last_log = tokio::time::Instant::now();
        }
    }
}

/// Routes the datagrams of one read batch: appends one [`DatagramBatch`] per shard to `out`,
/// within each shard's bound of `bound` queued bytes; counts the unroutable and the overload.
fn route_batch(
    bufs: &batch::RecvBuffers,
    demux: &Demux,
    stats: &UdpStats,
    bound: usize,
    out: &mut Vec<(Route, DatagramBatch)>,
) {
    let mut unroutable = 0;
    let mut overload = 0;
    let mut high = 0;
    {
        let mut d = demux.lock();
        let now = std::time::Instant::now();
        for r in &bufs.datagrams {
            let bytes = bufs.bytes(r);
            let Some(route) = d.route(r.source, bytes, now) else {
                trace!(n = bytes.len(), "udp datagram for no family");
                unroutable += 1;
                continue;
            };
            let cost = bytes.len() + DATAGRAM_OVERHEAD;
            let Some(queued) = route.sink.inflight.try_reserve(cost, bound) else {
                trace!(room = %route.room, "media shard over its bound: datagram dropped");
                overload += 1;
                route.sink.dropped.increment(1);
                continue;
            };
            high = high.max(queued);
            let datagram = Datagram {
                source: r.source,
                contents: bytes.to_vec(),
                tcp: false,
            };
            match out
                .iter_mut()
                .find(|(o, _)| Arc::ptr_eq(&o.sink, &route.sink))
            {
                Some((_, b)) => {
                    b.datagrams.push(datagram);
                    b.reserved += cost;
                }
                None => out.push((
                    route,
                    DatagramBatch {
                        datagrams: vec![datagram],
                        reserved: cost,
                    },
                )),
            }
        }
    }
    UdpStats::add(&stats.dropped_unroutable, unroutable);
    UdpStats::add(&stats.dropped_overload, overload);
    stats
        .queued_bytes_max
        .fetch_max(high as u64, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> Arc<ShardSink> {
        // Routing never sends: a sink whose receiver is gone is fine here.
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(ShardSink {
            tx,
            inflight: Inflight::default(),
            dropped: metrics::Counter::noop(),
        })
    }

    /// The ICE password every test ufrag is bound with.
    const PASS: &str = "the-ice-password-of-the-session";

    /// A binding request naming `username`, signed (MESSAGE-INTEGRITY) with [`PASS`].
    fn binding_request(username: &str) -> Vec<u8> {
        signed_request(username, PASS.as_bytes())
    }

    fn signed_request(username: &str, key: &[u8]) -> Vec<u8> {
        use hmac::Mac;
        let mut attr = vec![0x00, 0x06];
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&((attr.len() + 24) as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&attr);
        let mut h = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
        h.update(&m);
        m.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
        m.extend_from_slice(&h.finalize().into_bytes());
        m
    }

    #[test]
    fn only_an_authenticated_request_teaches_the_demux_an_address() {
        let d = Demux::default();
        d.bind("abcd".into(), PASS, RoomId::from("r1"), sink());
        let victim: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        // Unsigned, or signed with the wrong password: routed to the session (which refuses
        // it), but the address is not learnt.
        let mut unsigned = signed_request("abcd:x", b"wrong");
        assert_eq!(d.route(victim, &unsigned), Some(RoomId::from("r1")));
        unsigned.truncate(unsigned.len() - 24);
        assert_eq!(d.route(victim, &unsigned), Some(RoomId::from("r1")));
        assert_eq!(d.route(victim, &[0x80, 0]), None, "nothing learnt");
        assert_eq!(d.remembered_addrs(), 0);
        // A flood of spoofed sources without the password grows nothing.
        for p in 1000..31_000u16 {
            let a = SocketAddr::from(([10, 0, 0, 2], p));
            d.route(a, &signed_request("abcd:x", b"guess"));
        }
        assert_eq!(d.remembered_addrs(), 0);
        assert!(stun_integrity_ok(
            &binding_request("abcd:x"),
            PASS.as_bytes()
        ));
        assert_eq!(
            d.route(victim, &binding_request("abcd:x")),
            Some(RoomId::from("r1"))
        );
        assert_eq!(
            d.route(victim, &[0x80, 0]),
            Some(RoomId::from("r1")),
            "learnt"
        );
    }

    #[test]
    fn a_live_sessions_address_is_not_taken_by_another_ufrag() {
        let d = Demux::default();
        d.bind("good".into(), PASS, RoomId::from("victim"), sink());
        // The attacker knows its own session's password (it is in its SDP answer).
        d.bind(
            "evil".into(),
            "attacker-password",
            RoomId::from("attacker"),
            sink(),
        );
        let victim: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let t0 = std::time::Instant::now();
        d.route_at(victim, &binding_request("good:x"), t0);
        let spoofed = signed_request("evil:x", b"attacker-password");
        d.route_at(victim, &spoofed, t0 + std::time::Duration::from_secs(5));
        assert_eq!(
            d.route_at(victim, &[0x80, 0], t0 + std::time::Duration::from_secs(5)),
            Some(RoomId::from("victim")),
            "the victim's DTLS still reaches its own family"
        );
        // Once the victim has gone quiet for the hold time, the address may move (a new
        // session behind the same NAT mapping).
        let later = t0 + ADDRESS_HOLD + std::time::Duration::from_secs(1);
        d.route_at(victim, &spoofed, later);
        assert_eq!(
            d.route_at(victim, &[0x80, 0], later),
            Some(RoomId::from("attacker"))
        );
    }

    #[test]
    fn finds_the_server_ufrag_in_a_binding_request() {
        assert_eq!(
            stun_server_ufrag(&binding_request("abcd:efgh")),
            Some("abcd")
        );
        assert_eq!(stun_server_ufrag(&[0x80, 0, 0, 0]), None, "RTP is not STUN");
        assert_eq!(stun_server_ufrag(&[22, 254, 253]), None, "DTLS is not STUN");
        let mut truncated = binding_request("abcd:efgh");
        truncated.truncate(26);
        assert_eq!(stun_server_ufrag(&truncated), None);
    }

    #[test]
    fn addresses_follow_their_ufrag() {
        let d = Demux::default();
        d.bind("abcd".into(), PASS, RoomId::from("r1"), sink());
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(d.route(a, &[0x80, 0]), None, "unknown address before STUN");
        assert_eq!(
            d.route(a, &binding_request("abcd:x")),
            Some(RoomId::from("r1"))
        );
        assert_eq!(
            d.route(a, &[0x80, 0]),
            Some(RoomId::from("r1")),
            "SRTP follows"
        );
        d.unbind("abcd");
        assert_eq!(d.route(a, &[0x80, 0]), None);
    }

    #[test]
    fn a_ufrag_remembers_a_bounded_number_of_addresses_latest_first() {
        let d = Demux::default();
        d.bind("abcd".into(), PASS, RoomId::from("r1"), sink());
        let addr = |p: u16| SocketAddr::from(([10, 0, 0, 1], p));
        let stun = binding_request("abcd:x");
        // The real client, then a flood of binding requests from ever new ports.
        assert!(d.route(addr(1), &stun).is_some());
        for p in 100..10_100 {
            assert!(
                d.route(addr(p), &stun).is_some(),
                "STUN with the ufrag routes"
            );
        }
        assert_eq!(
            d.remembered_addrs(),
            ADDRS_PER_UFRAG,
            "bounded, not one per flood port"
        );
        assert_eq!(
            d.route(addr(1), &[0x80, 0]),
            None,
            "the oldest address was forgotten"
        );
        // The client's next consent check brings it back.
        assert!(d.route(addr(1), &stun).is_some());
        assert_eq!(d.route(addr(1), &[0x80, 0]), Some(RoomId::from("r1")));
        assert_eq!(d.remembered_addrs(), ADDRS_PER_UFRAG);
        d.unbind("abcd");
        assert_eq!(d.remembered_addrs(), 0);
        assert_eq!(d.ufrags_of(&RoomId::from("r1")), Vec::<String>::new());
    }

    #[test]
    fn an_address_moves_to_the_ufrag_it_names_last_once_the_old_one_is_quiet() {
        let d = Demux::default();
        d.bind("aaaa".into(), PASS, RoomId::from("r1"), sink());
        d.bind("bbbb".into(), PASS, RoomId::from("r2"), sink());
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let t0 = std::time::Instant::now();
        let later = t0 + ADDRESS_HOLD;
        d.route_at(a, &binding_request("aaaa:x"), t0);
        d.route_at(a, &binding_request("bbbb:x"), later);
        assert_eq!(d.route_at(a, &[0x80, 0], later), Some(RoomId::from("r2")));
        d.unbind("aaaa");
        assert_eq!(
            d.route(a, &[0x80, 0]),
            Some(RoomId::from("r2")),
            "not forgotten with aaaa"
        );
        assert_eq!(d.remembered_addrs(), 1);
    }

    #[test]
    fn the_bound_of_queued_bytes_holds_and_frees_up() {
        let f = Inflight::default();
        assert_eq!(f.try_reserve(600, 1000), Some(600));
        assert_eq!(
            f.try_reserve(600, 1000),
            None,
            "over the bound: nothing reserved"
        );
        assert_eq!(f.try_reserve(400, 1000), Some(1000), "exactly at the bound");
        f.release(1000);
        assert_eq!(f.queued(), 0);
    }

    #[tokio::test]
    async fn a_batch_is_one_message_per_shard_within_its_bound_and_every_datagram_counted() {
        let server = MediaSocket::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dst = server.local_addr().unwrap();
        let d = Demux::default();
        let (s1, s2) = (sink(), sink());
        let (f1, f2) = (&s1.inflight, &s2.inflight);
        d.bind("aaaa".into(), PASS, RoomId::from("r1"), Arc::clone(&s1));
        d.bind("bbbb".into(), PASS, RoomId::from("r2"), Arc::clone(&s2));
        let a = binding_request("aaaa:x");
        let b = binding_request("bbbb:x");
        // 10 for r1, 10 for r2, 5 garbage: all fit in one read batch.
        for i in 0..25 {
            match i % 5 {
                0 => stranger.send_to(&[0x80, 1, 2, 3], dst).await.unwrap(),
                1 | 3 => client.send_to(&a, dst).await.unwrap(),
                _ => client.send_to(&b, dst).await.unwrap(),
            };
        }
        let mut bufs = batch::RecvBuffers::for_socket(&server);
        let mut got = 0;
        let mut out = Vec::new();
        // Room for 6 of r1's datagrams only.
        let bound = 6 * (a.len() + DATAGRAM_OVERHEAD);
        while got < 25 {
            server.recv_batch(&mut bufs).await;
            got += bufs.datagrams.len();
            route_batch(&bufs, &d, server.stats(), bound, &mut out);
        }
        let s = server.stats().snapshot();
        assert_eq!(s.received, 25);
        assert_eq!(s.dropped_unroutable, 5, "garbage from an unknown address");
        assert_eq!(
            s.dropped_overload, 8,
            "r1 and r2 each over their bound by 4"
        );
        let n1: usize = out
            .iter()
            .filter(|(r, _)| r.room == RoomId::from("r1"))
            .map(|(_, b)| b.datagrams.len())
            .sum();
        assert_eq!(n1, 6);
        assert_eq!(f1.queued(), bound, "reserved until the family takes them");
        assert!(s.queued_bytes_max as usize <= bound);
        if s.recv_batches == 1 {
            assert_eq!(out.len(), 2, "one message per shard per batch");
        }
        let reserved: usize = out.iter().map(|(_, b)| b.reserved).sum();
        assert_eq!(reserved, f1.queued() + f2.queued());
    }
}

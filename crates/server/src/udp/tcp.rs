//! ICE over TCP (RFC 6544): the passive TCP listener of `--tcp-listen`, for clients whose
//! network blocks UDP.
//!
//! Each accepted connection carries STUN, DTLS and SRTP packets framed per RFC 4571 (a 2-byte
//! big-endian length before each packet). Its packets are routed like datagrams, by the same
//! [`Demux`] (a STUN request names the session's ufrag; the connection's peer address is
//! learnt from an authenticated one), and reach the same shard inputs, flagged as TCP: the
//! shard gives them to str0m as `Protocol::Tcp` on the TCP candidate, and str0m's transmits
//! back (`proto` TCP) come here through [`TcpConns::send`].
//!
//! Nothing here waits for a slow party: a shard hands a packet to the connection's bounded
//! write queue ([`WRITE_QUEUE`] packets) and a full queue drops it (counted in
//! [`TcpStats::send_dropped`]); a connection whose writer cannot deliver for
//! [`WRITE_STALL`] is closed. A connection that sends nothing routable within
//! [`FIRST_PACKET`] or nothing at all for [`IDLE`] is closed; at most [`MAX_CONNECTIONS`]
//! are open.

use super::{Datagram, DatagramBatch, Demux, DATAGRAM_OVERHEAD, FAMILY_QUEUE_BYTES};
use crate::shard::ShardMsg;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, trace};

/// Packets queued toward one TCP connection; beyond it packets to that client are dropped.
pub const WRITE_QUEUE: usize = 512;
/// A connection whose queued packets cannot be written for this long is closed.
pub const WRITE_STALL: Duration = Duration::from_secs(5);
/// A new connection must send a packet its session takes (a STUN request naming a bound
/// ufrag) within this time.
pub const FIRST_PACKET: Duration = Duration::from_secs(10);
/// A connection that sends nothing for this long is closed (ICE consent checks come every
/// ~5 s, RFC 7675).
pub const IDLE: Duration = Duration::from_secs(30);
/// Most TCP media connections open at once.
pub const MAX_CONNECTIONS: usize = 10_000;

/// The ICE-over-TCP listener as the media shards see it.
#[derive(Debug, Clone)]
pub struct TcpShell {
    /// The bound address.
    pub local: SocketAddr,
    /// The passive TCP host candidate given to clients (the advertised IP, the bound port).
    pub candidate: SocketAddr,
    /// The open connections (where shards send).
    pub conns: Arc<TcpConns>,
}

/// Binds `addr` for ICE over TCP and starts accepting; `ip` is the advertised address.
pub async fn bind(
    addr: SocketAddr,
    ip: std::net::IpAddr,
    demux: Arc<Demux>,
) -> std::io::Result<TcpShell> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let conns = Arc::new(TcpConns::default());
    tokio::spawn(accept_loop(listener, demux, Arc::clone(&conns)));
    Ok(TcpShell {
        local,
        candidate: SocketAddr::new(ip, local.port()),
        conns,
    })
}

/// Counters of the TCP media listener (read by tests and `GET /metrics` users).
#[derive(Debug, Default)]
pub struct TcpStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections refused at [`MAX_CONNECTIONS`].
    pub refused: AtomicU64,
    /// Packets received and routed to a shard.
    pub routed: AtomicU64,
    /// Packets received for no session, or over the shard's bound.
    pub dropped_in: AtomicU64,
    /// Packets sent (queued to a connection's writer).
    pub sent: AtomicU64,
    /// Packets not sent: the connection's write queue was full, or it is gone.
    pub send_dropped: AtomicU64,
    /// Connections closed because their writer stalled (a client that does not read).
    pub stalled: AtomicU64,
}

/// The open TCP media connections by peer address, and their counters.
#[derive(Debug, Default)]
pub struct TcpConns {
    // std Mutex: a map lookup per packet, never held across an await.
    writers: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    /// Counters.
    pub stats: TcpStats,
}

impl TcpConns {
    /// Queues `packet` (framed here) to the connection of `peer`; never waits. False when it
    /// was dropped (no such connection, or its queue is full).
    pub fn send(&self, peer: SocketAddr, packet: &[u8]) -> bool {
        let Ok(len) = u16::try_from(packet.len()) else {
            self.stats.send_dropped.fetch_add(1, Relaxed);
            return false;
        };
        let tx = self
            .writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&peer)
            .cloned();
        let Some(tx) = tx else {
            self.stats.send_dropped.fetch_add(1, Relaxed);
            return false;
        };
        let mut framed = Vec::with_capacity(2 + packet.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(packet);
        if tx.try_send(framed).is_ok() {
            self.stats.sent.fetch_add(1, Relaxed);
            true
        } else {
            self.stats.send_dropped.fetch_add(1, Relaxed);
            false
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.writers.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Accepts TCP media connections forever.
pub async fn accept_loop(listener: TcpListener, demux: Arc<Demux>, conns: Arc<TcpConns>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: wait a moment instead of spinning.
                debug!("tcp media accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if conns.stats.open.load(Relaxed) >= MAX_CONNECTIONS {
            conns.stats.refused.fetch_add(1, Relaxed);
            continue;
        }
        let _ = stream.set_nodelay(true);
        conns.stats.accepted.fetch_add(1, Relaxed);
        conns.stats.open.fetch_add(1, Relaxed);
        let (demux, conns) = (Arc::clone(&demux), Arc::clone(&conns));
        tokio::spawn(async move {
            serve(stream, peer, &demux, &conns).await;
            conns
                .writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&peer);
            conns.stats.open.fetch_sub(1, Relaxed);
            trace!(%peer, "tcp media connection closed");
        });
    }
}

/// Reads one connection's packets until it closes, idles or stalls.
async fn serve(stream: TcpStream, peer: SocketAddr, demux: &Demux, conns: &TcpConns) {
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    conns
        .writers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(peer, tx);
    let write = async {
        while let Some(b) = rx.recv().await {
            match tokio::time::timeout(WRITE_STALL, writer.write_all(&b)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    conns.stats.stalled.fetch_add(1, Relaxed);
                    return;
                }
            }
        }
    };
    let read = async {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut tmp = vec![0u8; 16 * 1024];
        let mut routed_any = false;
        // An absolute bound: junk sent every few seconds does not keep a connection open.
        let first_by = std::time::Instant::now() + FIRST_PACKET;
        loop {
            let limit = if routed_any {
                IDLE
            } else {
                first_by.saturating_duration_since(std::time::Instant::now())
            };
            let n = match tokio::time::timeout(limit, reader.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => n,
            };
            buf.extend_from_slice(&tmp[..n]);
            let mut packets = Vec::new();
            let mut at = 0;
            while buf.len() >= at + 2 {
                let len = usize::from(u16::from_be_bytes([buf[at], buf[at + 1]]));
                if buf.len() < at + 2 + len {
                    break;
                }
                packets.push(buf[at + 2..at + 2 + len].to_vec());
                at += 2 + len;
            }
            buf.drain(..at);
            if route(demux, conns, peer, packets) {
                routed_any = true;
            }
        }
    };
    // Either side ending ends the connection (the writer's queue is dropped with it).
    tokio::select! {
        _ = write => {}
        _ = read => {}
    }
}

/// Routes the packets of one read to their shards; true when any was routed.
fn route(demux: &Demux, conns: &TcpConns, peer: SocketAddr, packets: Vec<Vec<u8>>) -> bool {
    let mut out: Vec<(super::Route, DatagramBatch)> = Vec::new();
    let mut dropped = 0u64;
    {
        let mut d = demux.lock();
        let now = std::time::Instant::now();
        for p in packets {
            let Some(route) = d.route(peer, &p, now) else {
                dropped += 1;
                continue;
            };
            let cost = p.len() + DATAGRAM_OVERHEAD;
            if route
                .sink
                .inflight
                .try_reserve(cost, FAMILY_QUEUE_BYTES)
                .is_none()
            {
                dropped += 1;
                continue;
            }
            let datagram = Datagram {
                source: peer,
                contents: p,
                tcp: true,
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
    conns.stats.dropped_in.fetch_add(dropped, Relaxed);
    let mut any = false;
    for (route, batch) in out {
        let n = batch.datagrams.len() as u64;
        let reserved = batch.reserved;
        if route.sink.tx.send(ShardMsg::Datagrams(batch)).is_ok() {
            conns.stats.routed.fetch_add(n, Relaxed);
            any = true;
        } else {
            route.sink.inflight.release(reserved);
            conns.stats.dropped_in.fetch_add(n, Relaxed);
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_does_not_read_loses_packets_and_never_blocks_the_sender() {
        let conns = TcpConns::default();
        let peer: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        // A connection whose writer is stuck: nothing takes from its queue.
        let (tx, mut rx) = mpsc::channel(WRITE_QUEUE);
        conns.writers.lock().expect("lock").insert(peer, tx);
        let sent = (0..WRITE_QUEUE + 10)
            .filter(|i| conns.send(peer, &[*i as u8; 100]))
            .count();
        assert_eq!(sent, WRITE_QUEUE, "the queue's bound, then drops");
        assert_eq!(conns.stats.send_dropped.load(Relaxed), 10);
        // Framed per RFC 4571: the length, then the packet.
        let first = rx.try_recv().expect("a queued packet");
        assert_eq!(&first[..2], &100u16.to_be_bytes());
        assert_eq!(first.len(), 102);
        // No connection for that address: dropped and counted, not an error.
        assert!(!conns.send("127.0.0.1:1".parse().expect("addr"), b"x"));
        assert_eq!(conns.stats.send_dropped.load(Relaxed), 11);
    }
}

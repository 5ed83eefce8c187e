//! Batched datagram I/O on the media socket: many datagrams per system call in both directions.
//!
//! * **Receive**: one `recvmmsg` reads up to [`RECV_BATCH`] messages; with UDP GRO (Linux ≥ 5.0)
//!   one message may carry several datagrams of one sender, cut at the kernel's stride. The
//!   kernel's own drops on a full receive buffer arrive with every message (`SO_RXQ_OVFL`).
//! * **Send**: a family collects the `Output::Transmit`s of one wake-up in a [`TxBatch`] and
//!   flushes them with `sendmmsg`. Datagrams of equal size to one destination go out as one
//!   GSO message (`UDP_SEGMENT`, Linux ≥ 4.18) when the kernel and route allow it. A send
//!   never waits: on a full socket buffer the rest of the batch is dropped and counted, as
//!   the network would drop it.
//!
//! Everything goes through `nix`'s safe wrappers (the workspace forbids `unsafe`). Other
//! systems get the same interface one datagram per call.

use super::stats::UdpStats;
use std::io;
use std::net::SocketAddr;
use std::ops::Range;

/// Most messages one receive call reads.
pub const RECV_BATCH: usize = 32;
/// Receive buffer per message without GRO: larger datagrams are cut by the kernel and dropped.
const SLOT_PLAIN: usize = 2048;
/// Receive buffer per message with GRO: the largest coalesced message.
const SLOT_GRO: usize = 65_535;
/// Most messages one `sendmmsg` takes (the kernel's `UIO_MAXIOV`).
const SEND_MMSG_MAX: usize = 1024;
/// Most segments in one GSO message (the kernel's `UDP_MAX_SEGMENTS` before 6.9).
const GSO_MAX_SEGMENTS: usize = 64;
/// Most payload bytes in one GSO message (an IP packet's limit, less headers).
const GSO_MAX_BYTES: usize = 65_000;
/// Transmits a family collects before it flushes in the middle of a wake-up.
pub const TX_FLUSH_AT: usize = 512;

/// One datagram of a received batch: who sent it and where it lies in the batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The sender.
    pub source: SocketAddr,
    /// Its bytes in [`RecvBuffers::bytes`].
    pub range: Range<usize>,
}

/// The reader's buffers, allocated once: one slot per message, and the datagrams of the last
/// receive.
pub struct RecvBuffers {
    buf: Vec<u8>,
    slot: usize,
    /// The datagrams of the last [`MediaSocket::recv_batch`], in arrival order.
    pub datagrams: Vec<Received>,
}

impl RecvBuffers {
    /// Buffers for `socket` (large slots when it receives with GRO).
    pub fn for_socket(socket: &MediaSocket) -> RecvBuffers {
        let slot = if socket.gro { SLOT_GRO } else { SLOT_PLAIN };
        RecvBuffers {
            // Zeroed pages are mapped lazily: only the parts datagrams were written to count.
            buf: vec![0; slot * RECV_BATCH],
            slot,
            datagrams: Vec::with_capacity(RECV_BATCH),
        }
    }

    /// The bytes of one received datagram.
    pub fn bytes(&self, d: &Received) -> &[u8] {
        &self.buf[d.range.clone()]
    }
}

/// Splits a message of `len` bytes received at `offset` into its datagrams: one when `stride`
/// is `None` (no GRO), else pieces of `stride` bytes, the last one possibly shorter.
pub fn split_gro(
    offset: usize,
    len: usize,
    stride: Option<usize>,
) -> impl Iterator<Item = Range<usize>> {
    let step = match stride {
        Some(s) if s > 0 && s < len => s,
        _ => len.max(1),
    };
    (0..len)
        .step_by(step)
        .map(move |start| offset + start..offset + (start + step).min(len))
}

/// A datagram a family wants sent.
#[derive(Debug)]
struct Outgoing {
    destination: SocketAddr,
    contents: Vec<u8>,
}

/// The transmits of one family wake-up, flushed together.
#[derive(Debug, Default)]
pub struct TxBatch {
    items: Vec<Outgoing>,
}

impl TxBatch {
    /// Queues one datagram.
    pub fn push(&mut self, destination: SocketAddr, contents: Vec<u8>) {
        self.items.push(Outgoing {
            destination,
            contents,
        });
    }

    /// Datagrams queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sends everything queued on `socket` (never waiting) and empties the batch.
    pub fn flush(&mut self, socket: &MediaSocket) {
        if self.items.is_empty() {
            return;
        }
        socket.send_all(&self.items);
        self.items.clear();
    }
}

/// One message of a send plan: a datagram, or several of equal size (the last may be shorter)
/// to one destination sent as one GSO message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSend {
    /// Indices into the transmits, in the order their bytes go out.
    pub items: Vec<usize>,
    /// The GSO segment size, when `items` has more than one datagram.
    pub segment: Option<usize>,
}

/// Groups transmits (`(destination, length)`, in the order the family produced them) into
/// messages. Without `gso` every datagram is its own message, in order. With it, each
/// destination's datagrams keep their relative order, and a run of equal-size datagrams to one
/// destination (plus at most one shorter datagram ending it) becomes one GSO message of at
/// most [`GSO_MAX_SEGMENTS`] segments and [`GSO_MAX_BYTES`] bytes. Datagrams to different
/// destinations may be reordered: they are unrelated flows.
pub fn plan(transmits: &[(SocketAddr, usize)], gso: bool) -> Vec<PlannedSend> {
    if !gso {
        return (0..transmits.len())
            .map(|i| PlannedSend {
                items: vec![i],
                segment: None,
            })
            .collect();
    }
    let mut order: Vec<usize> = (0..transmits.len()).collect();
    // Stable: one destination's datagrams stay in order.
    order.sort_by_key(|&i| transmits[i].0);
    let mut out: Vec<PlannedSend> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let (dst, seg) = transmits[order[i]];
        let mut items = vec![order[i]];
        let mut total = seg;
        let mut j = i + 1;
        while j < order.len() && items.len() < GSO_MAX_SEGMENTS && seg > 0 {
            let (d, len) = transmits[order[j]];
            if d != dst || len > seg || total + len > GSO_MAX_BYTES {
                break;
            }
            items.push(order[j]);
            total += len;
            j += 1;
            if len < seg {
                // A shorter datagram can only be the last segment.
                break;
            }
        }
        let segment = (items.len() > 1).then_some(seg);
        out.push(PlannedSend { items, segment });
        i = j;
    }
    out
}

/// The media socket: a non-blocking UDP socket with batched I/O, what the kernel offers of
/// GSO and GRO, and the counters of everything that passed or was dropped.
#[derive(Debug)]
pub struct MediaSocket {
    io: tokio::net::UdpSocket,
    /// UDP GRO is on: a received message may hold several datagrams.
    gro: bool,
    /// UDP GSO may be used; cleared for good when the kernel refuses a GSO send.
    gso: std::sync::atomic::AtomicBool,
    stats: UdpStats,
}

impl MediaSocket {
    /// Wraps a bound socket: enlarges its buffers (up to the system's limits) and turns on
    /// GRO, drop counting and GSO where the kernel has them.
    pub fn new(io: tokio::net::UdpSocket) -> MediaSocket {
        let (gro, gso) = sys::configure(&io);
        tracing::debug!(gro, gso, "media socket");
        MediaSocket {
            io,
            gro,
            gso: std::sync::atomic::AtomicBool::new(gso),
            stats: UdpStats::default(),
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// The counters.
    pub fn stats(&self) -> &UdpStats {
        &self.stats
    }

    /// GSO is in use (`false` once the kernel refused it).
    pub fn gso(&self) -> bool {
        self.gso.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until datagrams are readable and reads a batch of them into `bufs.datagrams`
    /// (never empty on return). Counts what was received and what was cut.
    pub async fn recv_batch(&self, bufs: &mut RecvBuffers) {
        bufs.datagrams.clear();
        loop {
            if let Err(e) = self.io.readable().await {
                tracing::debug!("udp readable: {e}");
                continue;
            }
            match self
                .io
                .try_io(tokio::io::Interest::READABLE, || sys::recv(self, bufs))
            {
                Ok(()) if !bufs.datagrams.is_empty() => {
                    UdpStats::add(&self.stats.recv_batches, 1);
                    UdpStats::add(&self.stats.received, bufs.datagrams.len() as u64);
                    return;
                }
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // ICMP errors (port unreachable from a gone client) can surface here.
                Err(e) => tracing::debug!("udp recv: {e}"),
            }
        }
    }

    fn send_all(&self, items: &[Outgoing]) {
        let shape: Vec<(SocketAddr, usize)> = items
            .iter()
            .map(|o| (o.destination, o.contents.len()))
            .collect();
        let messages = plan(&shape, self.gso());
        sys::send(self, items, &messages);
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::{
        split_gro, MediaSocket, Outgoing, PlannedSend, Received, RecvBuffers, SEND_MMSG_MAX,
    };
    use crate::udp::stats::UdpStats;
    use nix::errno::Errno;
    use nix::sys::socket::{
        recvmmsg, sendmmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
        MultiHeaders, SockaddrStorage,
    };
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::Ordering::Relaxed;

    /// Receive and send buffers asked of the kernel (capped by `net.core.rmem_max` /
    /// `wmem_max`): bursts of a thousand clients fit, a flood is cut by the kernel.
    const SOCKET_BUFFER: usize = 4 << 20;

    /// Sets the socket up; returns (GRO on, GSO usable).
    pub fn configure(io: &tokio::net::UdpSocket) -> (bool, bool) {
        let _ = setsockopt(io, sockopt::RcvBuf, &SOCKET_BUFFER);
        let _ = setsockopt(io, sockopt::SndBuf, &SOCKET_BUFFER);
        let _ = setsockopt(io, sockopt::RxqOvfl, &1);
        let gro = setsockopt(io, sockopt::UdpGroSegment, &true).is_ok();
        // A kernel that knows UDP_SEGMENT answers this; the route's support shows at send time.
        let gso = nix::sys::socket::getsockopt(io, sockopt::UdpGsoSegment).is_ok();
        (gro, gso)
    }

    fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = a.as_sockaddr_in() {
            return Some(SocketAddr::V4((*v4).into()));
        }
        a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
    }

    /// One message of a `recvmmsg`, read out of its header.
    struct Message {
        source: Option<SocketAddr>,
        /// Where it starts in the buffer (its slot).
        offset: usize,
        len: usize,
        /// The GRO segment size, when the kernel merged datagrams.
        stride: Option<usize>,
        /// Longer than the slot: cut by the kernel.
        cut: bool,
    }

    /// One `recvmmsg` (MSG_DONTWAIT). Fills `bufs.datagrams`.
    pub fn recv(socket: &MediaSocket, bufs: &mut RecvBuffers) -> io::Result<()> {
        let slot = bufs.slot;
        let fd = socket.io.as_raw_fd();
        let mut messages: Vec<Message> = Vec::with_capacity(super::RECV_BATCH);
        let mut kernel_drops: Option<u32> = None;
        {
            // Headers are built per call: the kernel shrinks each header's control length to
            // what it wrote, and a reused header would lose the next GRO stride.
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(
                super::RECV_BATCH,
                Some(nix::cmsg_space!(i32, u32)),
            );
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = bufs
                .buf
                .chunks_mut(slot)
                .map(|c| [IoSliceMut::new(c)])
                .collect();
            let results = recvmmsg(
                fd,
                &mut headers,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map_err(io::Error::from)?;
            for (i, msg) in results.enumerate() {
                let mut stride = None;
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::UdpGroSegments(s) => {
                                stride = usize::try_from(s).ok()
                            }
                            ControlMessageOwned::RxqOvfl(n) => {
                                kernel_drops = Some(kernel_drops.unwrap_or(0).max(n))
                            }
                            _ => {}
                        }
                    }
                }
                let cut = msg.flags.contains(MsgFlags::MSG_TRUNC);
                let source = msg.address.as_ref().and_then(socket_addr);
                messages.push(Message {
                    source,
                    offset: i * slot,
                    len: msg.bytes.min(slot),
                    stride,
                    cut,
                });
            }
        }
        if let Some(n) = kernel_drops {
            socket.stats.dropped_kernel.fetch_max(u64::from(n), Relaxed);
        }
        for m in messages {
            let Some(source) = m.source.filter(|_| !m.cut) else {
                UdpStats::add(&socket.stats.dropped_truncated, 1);
                continue;
            };
            for range in split_gro(m.offset, m.len, m.stride) {
                bufs.datagrams.push(Received { source, range });
            }
        }
        Ok(())
    }

    /// Sends every planned message: one `sendmmsg` for the single datagrams, one per GSO
    /// segment size for the rest.
    pub fn send(socket: &MediaSocket, items: &[Outgoing], messages: &[PlannedSend]) {
        let singles: Vec<&PlannedSend> = messages.iter().filter(|m| m.segment.is_none()).collect();
        let mut full = send_group(socket, items, &singles, None).is_err();
        let mut sizes: Vec<usize> = messages.iter().filter_map(|m| m.segment).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for size in sizes {
            let group: Vec<&PlannedSend> = messages
                .iter()
                .filter(|m| m.segment == Some(size))
                .collect();
            if full {
                drop_rest(socket, &group);
                continue;
            }
            match send_group(socket, items, &group, Some(size)) {
                Ok(()) => {}
                Err(SendStop::Full) => full = true,
                Err(SendStop::GsoRefused(at)) => {
                    // The route cannot segment (no checksum offload, say): never try again.
                    socket.gso.store(false, Relaxed);
                    tracing::debug!("udp: GSO refused, sending datagrams one by one");
                    let rest: Vec<PlannedSend> = group[at..]
                        .iter()
                        .flat_map(|m| m.items.iter())
                        .map(|&i| PlannedSend {
                            items: vec![i],
                            segment: None,
                        })
                        .collect();
                    let rest: Vec<&PlannedSend> = rest.iter().collect();
                    full = send_group(socket, items, &rest, None).is_err();
                }
            }
        }
    }

    enum SendStop {
        /// The socket buffer is full: the rest was dropped.
        Full,
        /// The kernel refused GSO at this message of the group (nothing from it on was sent).
        GsoRefused(usize),
    }

    fn drop_rest(socket: &MediaSocket, group: &[&PlannedSend]) {
        let n: usize = group.iter().map(|m| m.items.len()).sum();
        UdpStats::add(&socket.stats.send_dropped, n as u64);
    }

    fn send_group(
        socket: &MediaSocket,
        items: &[Outgoing],
        group: &[&PlannedSend],
        segment: Option<usize>,
    ) -> Result<(), SendStop> {
        let fd = socket.io.as_raw_fd();
        let seg = segment.and_then(|s| u16::try_from(s).ok());
        let mut start = 0;
        while start < group.len() {
            let chunk = &group[start..(start + SEND_MMSG_MAX).min(group.len())];
            let iovs: Vec<Vec<IoSlice<'_>>> = chunk
                .iter()
                .map(|m| {
                    m.items
                        .iter()
                        .map(|&i| IoSlice::new(&items[i].contents))
                        .collect()
                })
                .collect();
            let addrs: Vec<Option<SockaddrStorage>> = chunk
                .iter()
                .map(|m| Some(SockaddrStorage::from(items[m.items[0]].destination)))
                .collect();
            let cmsg_buf = seg.map(|_| nix::cmsg_space!(u16));
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), cmsg_buf);
            let cmsgs: Vec<ControlMessage<'_>> = match &seg {
                Some(s) => vec![ControlMessage::UdpGsoSegments(s)],
                None => Vec::new(),
            };
            let result = sendmmsg(
                fd,
                &mut headers,
                &iovs,
                &addrs,
                &cmsgs,
                MsgFlags::MSG_DONTWAIT,
            )
            .map(|r| r.count());
            match result {
                Ok(n) if n > 0 => {
                    let sent: usize = chunk[..n].iter().map(|m| m.items.len()).sum();
                    UdpStats::add(&socket.stats.sent, sent as u64);
                    UdpStats::add(&socket.stats.send_calls, 1);
                    start += n;
                }
                Ok(_) | Err(Errno::EAGAIN) | Err(Errno::ENOBUFS) => {
                    // Full: drop the rest of this group, as a full link would; never wait.
                    drop_rest(socket, &group[start..]);
                    return Err(SendStop::Full);
                }
                Err(Errno::EIO) | Err(Errno::EINVAL) if seg.is_some() => {
                    return Err(SendStop::GsoRefused(start));
                }
                Err(e) => {
                    // The first message of the chunk failed (unreachable destination, say):
                    // drop it and go on with the others.
                    tracing::trace!("udp send: {e}");
                    drop_rest(socket, &group[start..start + 1]);
                    start += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    //! Portable fallback: one datagram per system call, same counting.
    use super::{MediaSocket, Outgoing, PlannedSend, Received, RecvBuffers};
    use crate::udp::stats::UdpStats;
    use std::io;

    pub fn configure(_io: &tokio::net::UdpSocket) -> (bool, bool) {
        (false, false)
    }

    pub fn recv(socket: &MediaSocket, bufs: &mut RecvBuffers) -> io::Result<()> {
        let slot = bufs.slot;
        for i in 0..super::RECV_BATCH {
            let offset = i * slot;
            match socket
                .io
                .try_recv_from(&mut bufs.buf[offset..offset + slot])
            {
                Ok((n, source)) => bufs.datagrams.push(Received {
                    source,
                    range: offset..offset + n,
                }),
                Err(e) if bufs.datagrams.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(())
    }

    pub fn send(socket: &MediaSocket, items: &[Outgoing], messages: &[PlannedSend]) {
        for m in messages {
            for &i in &m.items {
                let o = &items[i];
                match socket.io.try_send_to(&o.contents, o.destination) {
                    Ok(_) => {
                        UdpStats::add(&socket.stats.sent, 1);
                        UdpStats::add(&socket.stats.send_calls, 1);
                    }
                    Err(_) => UdpStats::add(&socket.stats.send_dropped, 1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_message_without_gro_is_one_datagram() {
        let r: Vec<_> = split_gro(4096, 120, None).collect();
        assert_eq!(r, vec![4096..4216]);
        let r: Vec<_> = split_gro(0, 120, Some(120)).collect();
        assert_eq!(
            r,
            vec![0..120],
            "a stride as long as the message is one datagram"
        );
    }

    #[test]
    fn a_gro_message_splits_at_its_stride_with_a_shorter_tail() {
        let r: Vec<_> = split_gro(100, 250, Some(100)).collect();
        assert_eq!(r, vec![100..200, 200..300, 300..350]);
        let r: Vec<_> = split_gro(0, 0, Some(100)).collect();
        assert!(r.is_empty(), "an empty message has no datagram");
    }

    #[test]
    fn without_gso_every_datagram_is_its_own_message_in_order() {
        let p = plan(&[(a(2), 100), (a(1), 100), (a(2), 100)], false);
        let items: Vec<_> = p.iter().map(|m| m.items.clone()).collect();
        assert_eq!(items, vec![vec![0], vec![1], vec![2]]);
        assert!(p.iter().all(|m| m.segment.is_none()));
    }

    #[test]
    fn equal_sizes_to_one_destination_become_one_gso_message_in_order() {
        // A fan-out: two packets to three receivers, interleaved as the family produces them.
        let t = [
            (a(1), 100),
            (a(2), 100),
            (a(3), 90),
            (a(1), 100),
            (a(2), 80),
            (a(3), 90),
        ];
        let p = plan(&t, true);
        assert_eq!(
            p,
            vec![
                PlannedSend {
                    items: vec![0, 3],
                    segment: Some(100)
                },
                PlannedSend {
                    items: vec![1, 4],
                    segment: Some(100)
                },
                PlannedSend {
                    items: vec![2, 5],
                    segment: Some(90)
                },
            ],
            "a shorter datagram may end a GSO message"
        );
    }

    #[test]
    fn a_longer_datagram_starts_a_new_message_and_nothing_is_lost_or_reordered() {
        let t = [
            (a(1), 80),
            (a(1), 100),
            (a(1), 100),
            (a(1), 120),
            (a(1), 50),
            (a(1), 50),
        ];
        let p = plan(&t, true);
        let items: Vec<_> = p.iter().map(|m| m.items.clone()).collect();
        assert_eq!(items, vec![vec![0], vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(p[0].segment, None);
        assert_eq!(p[2].segment, Some(120));
        let flat: Vec<usize> = items.concat();
        assert_eq!(flat, (0..t.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_gso_message_stays_within_the_kernels_limits() {
        let many: Vec<_> = (0..150).map(|_| (a(1), 1000)).collect();
        let p = plan(&many, true);
        assert!(p.iter().all(|m| m.items.len() <= GSO_MAX_SEGMENTS));
        assert!(p.iter().all(|m| m.items.len() * 1000 <= GSO_MAX_BYTES));
        assert_eq!(p.iter().map(|m| m.items.len()).sum::<usize>(), 150);
        let small: Vec<_> = (0..150).map(|_| (a(1), 10)).collect();
        let p = plan(&small, true);
        assert_eq!(p[0].items.len(), GSO_MAX_SEGMENTS);
        assert_eq!(p.len(), 3);
    }

    #[tokio::test]
    async fn a_batch_sent_is_received_whole_and_counted_on_both_sides() {
        let rx = MediaSocket::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let tx = MediaSocket::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let dst = rx.local_addr().unwrap();
        let mut batch = TxBatch::default();
        // Equal sizes (a GSO candidate) and odd sizes, all to one receiver.
        for i in 0..40u8 {
            let len = if i % 5 == 0 { 33 } else { 100 };
            batch.push(dst, vec![i; len]);
        }
        batch.flush(&tx);
        assert!(batch.is_empty());
        let sent = tx.stats().snapshot();
        assert_eq!(sent.sent + sent.send_dropped, 40);
        assert_eq!(
            sent.sent, 40,
            "a fresh socket buffer takes 40 small datagrams"
        );
        assert!(sent.send_calls < 40, "batched: {} calls", sent.send_calls);
        if tx.gso() {
            // One sendmmsg of the single datagrams, one of the GSO messages (all of size 100).
            assert_eq!(sent.send_calls, 2);
        }

        let mut bufs = RecvBuffers::for_socket(&rx);
        let mut got: Vec<Vec<u8>> = Vec::new();
        while got.len() < 40 {
            rx.recv_batch(&mut bufs).await;
            for d in &bufs.datagrams {
                assert_eq!(d.source, tx.local_addr().unwrap());
                got.push(bufs.bytes(d).to_vec());
            }
        }
        let mut firsts: Vec<u8> = got.iter().map(|d| d[0]).collect();
        firsts.sort_unstable();
        assert_eq!(firsts, (0..40).collect::<Vec<u8>>(), "every datagram once");
        for d in &got {
            let want = if d[0] % 5 == 0 { 33 } else { 100 };
            assert_eq!(
                d.len(),
                want,
                "datagram boundaries kept (GSO/GRO split right)"
            );
            assert!(d.iter().all(|b| *b == d[0]));
        }
        let r = rx.stats().snapshot();
        assert_eq!(r.received, 40);
        assert!(r.recv_batches <= r.received);
    }
}

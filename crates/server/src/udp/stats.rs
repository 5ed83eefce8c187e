//! Counters of the media socket: what came in, where it went, what was dropped and why.
//!
//! Every datagram the server reads is counted exactly once as routed to a family or dropped
//! (unroutable, overload, truncated); the kernel's own receive-buffer drops come from
//! `SO_RXQ_OVFL`. Every datagram a family asks to send is counted once as sent or send-dropped.
//! The counters only grow; they are read by `GET /metrics` (Prometheus text, appended to the
//! server's own metrics by `crate::metrics::page`) and summarised in the log when something
//! was dropped.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Monotonic counters of the media socket, shared by the reader and every family task.
#[derive(Debug, Default)]
pub struct UdpStats {
    /// Datagrams read from the socket (a GRO message counts each of its datagrams).
    pub received: AtomicU64,
    /// `recvmmsg` calls that returned at least one message.
    pub recv_batches: AtomicU64,
    /// Datagrams handed to a family.
    pub routed: AtomicU64,
    /// Datagrams from an unknown address that named no bound ufrag, or for a family that ended.
    pub dropped_unroutable: AtomicU64,
    /// Datagrams dropped because their family already had its bound of bytes queued.
    pub dropped_overload: AtomicU64,
    /// Datagrams larger than the receive buffer (cut by the kernel), dropped.
    pub dropped_truncated: AtomicU64,
    /// Datagrams the kernel dropped because the socket's receive buffer was full.
    pub dropped_kernel: AtomicU64,
    /// Datagrams sent (a GSO send counts each segment).
    pub sent: AtomicU64,
    /// `sendmmsg`/`sendmsg` calls that sent at least one message.
    pub send_calls: AtomicU64,
    /// Datagrams not sent: a full socket buffer (never waited for) or a send error.
    pub send_dropped: AtomicU64,
    /// The most bytes ever queued toward one family (never above the bound).
    pub queued_bytes_max: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStatsSnapshot {
    /// See [`UdpStats::received`].
    pub received: u64,
    /// See [`UdpStats::recv_batches`].
    pub recv_batches: u64,
    /// See [`UdpStats::routed`].
    pub routed: u64,
    /// See [`UdpStats::dropped_unroutable`].
    pub dropped_unroutable: u64,
    /// See [`UdpStats::dropped_overload`].
    pub dropped_overload: u64,
    /// See [`UdpStats::dropped_truncated`].
    pub dropped_truncated: u64,
    /// See [`UdpStats::dropped_kernel`].
    pub dropped_kernel: u64,
    /// See [`UdpStats::sent`].
    pub sent: u64,
    /// See [`UdpStats::send_calls`].
    pub send_calls: u64,
    /// See [`UdpStats::send_dropped`].
    pub send_dropped: u64,
    /// See [`UdpStats::queued_bytes_max`].
    pub queued_bytes_max: u64,
}

impl UdpStats {
    /// The counters now (each read on its own: a snapshot taken under load is not atomic).
    pub fn snapshot(&self) -> UdpStatsSnapshot {
        UdpStatsSnapshot {
            received: self.received.load(Relaxed),
            recv_batches: self.recv_batches.load(Relaxed),
            routed: self.routed.load(Relaxed),
            dropped_unroutable: self.dropped_unroutable.load(Relaxed),
            dropped_overload: self.dropped_overload.load(Relaxed),
            dropped_truncated: self.dropped_truncated.load(Relaxed),
            dropped_kernel: self.dropped_kernel.load(Relaxed),
            sent: self.sent.load(Relaxed),
            send_calls: self.send_calls.load(Relaxed),
            send_dropped: self.send_dropped.load(Relaxed),
            queued_bytes_max: self.queued_bytes_max.load(Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Relaxed);
        }
    }
}

impl UdpStatsSnapshot {
    /// Datagrams dropped on the receive side, for any reason.
    pub fn dropped_in(&self) -> u64 {
        self.dropped_unroutable
            + self.dropped_overload
            + self.dropped_truncated
            + self.dropped_kernel
    }

    /// The counters in Prometheus text exposition format (`GET /metrics`).
    pub fn prometheus(&self) -> String {
        let rows: [(&str, &str, &str, u64); 11] = [
            (
                "alcove_udp_received_datagrams_total",
                "counter",
                "Datagrams read from the media socket.",
                self.received,
            ),
            (
                "alcove_udp_recv_batches_total",
                "counter",
                "recvmmsg calls that returned datagrams.",
                self.recv_batches,
            ),
            (
                "alcove_udp_routed_datagrams_total",
                "counter",
                "Datagrams handed to a family.",
                self.routed,
            ),
            (
                "alcove_udp_dropped_unroutable_total",
                "counter",
                "Datagrams for no family (unknown address, unknown ufrag, ended family).",
                self.dropped_unroutable,
            ),
            (
                "alcove_udp_dropped_overload_total",
                "counter",
                "Datagrams dropped because their family's queue was at its bound.",
                self.dropped_overload,
            ),
            (
                "alcove_udp_dropped_truncated_total",
                "counter",
                "Datagrams larger than the receive buffer.",
                self.dropped_truncated,
            ),
            (
                "alcove_udp_dropped_kernel_total",
                "counter",
                "Datagrams the kernel dropped on a full receive buffer (SO_RXQ_OVFL).",
                self.dropped_kernel,
            ),
            (
                "alcove_udp_sent_datagrams_total",
                "counter",
                "Datagrams sent on the media socket.",
                self.sent,
            ),
            (
                "alcove_udp_send_calls_total",
                "counter",
                "sendmmsg/sendmsg calls.",
                self.send_calls,
            ),
            (
                "alcove_udp_send_dropped_total",
                "counter",
                "Datagrams not sent (full socket buffer or send error).",
                self.send_dropped,
            ),
            (
                "alcove_udp_family_queued_bytes_max",
                "gauge",
                "Most bytes ever queued toward one family.",
                self.queued_bytes_max,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_names_every_counter_once_with_its_value() {
        let s = UdpStatsSnapshot {
            received: 7,
            dropped_overload: 3,
            ..UdpStatsSnapshot::default()
        };
        let text = s.prometheus();
        assert!(text.contains("\nalcove_udp_received_datagrams_total 7\n"));
        assert!(text.contains("\nalcove_udp_dropped_overload_total 3\n"));
        assert_eq!(text.matches("# TYPE ").count(), 11);
        assert_eq!(s.dropped_in(), 3);
    }
}

/// Media paths in use: how many client transport addresses carried DTLS or SRTP (the path
/// ICE nominated) over each kind of path. A client counts once per address it uses (a new
/// peer connection after a server restart, or a network change, counts again).
#[derive(Debug, Default)]
pub struct PathStats {
    /// Directly over UDP.
    pub udp: AtomicU64,
    /// Over ICE-TCP (`--tcp-listen`).
    pub tcp: AtomicU64,
    /// Through a TURN relay: the source is a relayed candidate of the client's offer.
    pub relay: AtomicU64,
}

impl PathStats {
    /// `(udp, tcp, relay)` now.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.udp.load(Relaxed),
            self.tcp.load(Relaxed),
            self.relay.load(Relaxed),
        )
    }
}

/// The relayed candidates (`typ relay`) of an SDP offer, as addresses.
pub fn relay_candidates(sdp: &str) -> Vec<std::net::SocketAddr> {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
        .filter_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            let typ = t.iter().position(|x| *x == "typ")?;
            if t.get(typ + 1) != Some(&"relay") {
                return None;
            }
            let ip: std::net::IpAddr = t.get(4)?.parse().ok()?;
            let port: u16 = t.get(5)?.parse().ok()?;
            Some(std::net::SocketAddr::new(ip, port))
        })
        .collect()
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn relay_candidates_are_read_from_an_offer() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2122260223 192.0.2.5 50000 typ host\r\n\
                   a=candidate:2 1 udp 41885439 198.51.100.7 50123 typ relay raddr 0.0.0.0 rport 0\r\n\
                   a=candidate:3 1 tcp 1518280447 192.0.2.5 9 typ host tcptype active\r\n";
        assert_eq!(
            relay_candidates(sdp),
            vec!["198.51.100.7:50123".parse().expect("addr")]
        );
    }
}

//! The WebRTC side: str0m peers on UDP sockets, driven like `alcove-client`'s media
//! (crates/client/src/media.rs) — one `Rtc` per peer connection, one task per `Rtc`, Opus
//! written with the RFC 6464 audio level, `MediaData` events read on the receive side — and
//! counted like `alcove-load`'s clients (crates/load/src/client.rs).
//!
//! Janus's VideoRoom needs two peer connections per member: a publisher (our offer, one
//! send-only audio m-line) and a subscriber (Janus's offer, one receive-only audio m-line per
//! feed, our answer).

use crate::payload::{self, Clock, FrameBuf, Stamp};
use crate::stats::Jitter;
use anyhow::{anyhow, Context};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// One frame every 20 ms: 50 frames per second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);
/// RTP ticks per frame at 48 kHz.
const RTP_TICKS_PER_FRAME: u64 = 960;

/// What the peers do now. Sent to every peer task through a `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected, silent.
    Idle,
    /// Publishers talk from `start` (each at its own phase in the 20 ms period); everyone
    /// counts the frames stamped inside the window `[start_ns, end_ns)`.
    Talk {
        /// When talking starts.
        start: Instant,
        /// Window start, ns since the run's epoch (send time).
        start_ns: u64,
        /// Window end, ns since the run's epoch (send time).
        end_ns: u64,
    },
    /// Close the peer connection and hand back the counts.
    Close,
}

impl Phase {
    fn window(&self) -> Option<(u64, u64)> {
        match *self {
            Phase::Talk {
                start_ns, end_ns, ..
            } => Some((start_ns, end_ns)),
            _ => None,
        }
    }
}

/// A peer's socket and `Rtc`, before it is driven.
pub struct Peer {
    pub(crate) rtc: Rtc,
    pub(crate) socket: UdpSocket,
    pub(crate) local: SocketAddr,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").field("local", &self.local).finish()
    }
}

/// Connection facts of one peer connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// ICE and DTLS came up and the `Rtc` was still alive when told to close.
    pub connected: bool,
    /// Times str0m reported ICE `Disconnected`.
    pub ice_disconnects: u32,
}

/// What a member's voice ([`talk`]) produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct Talked {
    /// Frames stamped with a send time inside the window (what `alcove-load` counts).
    pub in_window: u64,
    /// Frames stamped in all.
    pub total: u64,
}

/// What a publisher's peer task ([`publish`]) did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    /// Frames written to str0m.
    pub written: u64,
    /// Frames str0m's writer refused (no Opus negotiated, or not connected).
    pub refused: u64,
    /// The connection.
    pub link: Link,
}

/// One sender's stream at one receiver, inside the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStats {
    /// Frames received that were sent inside the window.
    pub received: u64,
    /// RFC 3550 interarrival jitter.
    pub jitter: Jitter,
}

/// What a subscriber received.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Per sender index, frames sent inside the window.
    pub streams: HashMap<u32, StreamStats>,
    /// End-to-end latency of every frame sent inside the window, microseconds.
    pub latency_us: Vec<u32>,
    /// Frames received in all (any send time, stamped or not).
    pub total: u64,
    /// Frames without this tool's stamp.
    pub unstamped: u64,
    /// The connection.
    pub link: Link,
}

impl Peer {
    /// A fresh `Rtc` (Opus only) with a host candidate on a new UDP socket at `bind_ip`:0.
    pub async fn new(bind_ip: IpAddr) -> anyhow::Result<Peer> {
        let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
            .await
            .context("binding a UDP socket")?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .build(Instant::now());
        let cand = Candidate::host(local, "udp").map_err(|e| anyhow!("candidate: {e}"))?;
        rtc.add_local_candidate(cand);
        Ok(Peer { rtc, socket, local })
    }

    /// A fresh `Rtc` (VP8 only, RTP counters every `stats`) with a host candidate on a new UDP
    /// socket at `bind_ip`:0: the `video` scenario's peers.
    pub async fn new_video(bind_ip: IpAddr, stats: Duration) -> anyhow::Result<Peer> {
        let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
            .await
            .context("binding a UDP socket")?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_vp8(true)
            .set_stats_interval(Some(stats))
            .build(Instant::now());
        let cand = Candidate::host(local, "udp").map_err(|e| anyhow!("candidate: {e}"))?;
        rtc.add_local_candidate(cand);
        Ok(Peer { rtc, socket, local })
    }

    /// Publisher: an offer with one send-only video m-line, with simulcast layers `rids`
    /// (lowest first) when there are any.
    pub fn offer_sendonly_video(
        &mut self,
        rids: &[&str],
    ) -> anyhow::Result<(String, SdpPendingOffer, Mid)> {
        let simulcast = (!rids.is_empty()).then(|| {
            let mut s = str0m::media::Simulcast::new();
            for rid in rids {
                s.add_send_layer(str0m::media::SimulcastLayer::new(rid));
            }
            s
        });
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| anyhow!("str0m made no offer"))?;
        Ok((offer.to_sdp_string(), pending, mid))
    }

    /// Publisher: an offer with one send-only audio m-line.
    pub fn offer_sendonly_audio(&mut self) -> anyhow::Result<(String, SdpPendingOffer, Mid)> {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| anyhow!("str0m made no offer"))?;
        Ok((offer.to_sdp_string(), pending, mid))
    }

    /// Publisher: takes Janus's answer.
    pub fn accept_answer(&mut self, pending: SdpPendingOffer, sdp: &str) -> anyhow::Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp).context("Janus's SDP answer")?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .context("accepting Janus's answer")
    }

    /// Subscriber: answers Janus's offer.
    pub fn answer(&mut self, sdp: &str) -> anyhow::Result<String> {
        let offer = SdpOffer::from_sdp_string(sdp).context("Janus's SDP offer")?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .context("answering Janus's offer")?;
        Ok(answer.to_sdp_string())
    }
}

/// How a publisher talks.
#[derive(Debug, Clone, Copy)]
pub struct Voice {
    /// Index stamped in each frame.
    pub sender: u32,
    /// RFC 6464 level of every frame.
    pub level: i8,
    /// Offset of this sender's sends inside the 20 ms period.
    pub offset: Duration,
}

/// The send schedule: a tick every [`FRAME_INTERVAL`] from `first`. A late tick fires at once
/// and the ticks it missed are skipped, as tokio's `interval` with `MissedTickBehavior::Skip`
/// does in `alcove-load`.
#[derive(Debug, Clone, Copy)]
struct Ticks {
    next: Instant,
}

impl Ticks {
    fn advance(&mut self, now: Instant) {
        let behind = now.saturating_duration_since(self.next);
        let periods = behind.as_nanos() / FRAME_INTERVAL.as_nanos() + 1;
        self.next += FRAME_INTERVAL * u32::try_from(periods).unwrap_or(u32::MAX);
    }
}

/// Drives a publisher's peer connection, as `alcove-client`'s media task does: frames arrive
/// on `frames` (from [`talk`]) and are written at once with `level`; everything else is ICE,
/// DTLS, RTCP and timers.
pub async fn publish(
    peer: Peer,
    mid: Mid,
    level: i8,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
    mut phase: watch::Receiver<Phase>,
    up: watch::Sender<bool>,
) -> Sent {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut buf = vec![0u8; 2048];
    let mut sent = Sent::default();
    let mut rtp_seq: u64 = 0;
    let mut frames_open = true;
    loop {
        let mut on_event = |e: Event| match e {
            Event::Connected => {
                let _ = up.send(true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                sent.link.ice_disconnects += 1;
            }
            _ => {}
        };
        let Some(deadline) = drain(&mut rtc, &socket, &mut on_event) else {
            break;
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if !receive(&mut rtc, &buf[..n], source, local) {
                    break;
                }
            }
            f = frames.recv(), if frames_open => match f {
                Some(data) => {
                    if write_opus(&mut rtc, mid, level, rtp_seq, Instant::now(), data) {
                        sent.written += 1;
                    } else {
                        sent.refused += 1;
                    }
                    rtp_seq += 1;
                }
                None => frames_open = false,
            },
            c = phase.changed() => {
                let p = if c.is_err() { Phase::Close } else { *phase.borrow_and_update() };
                if p == Phase::Close {
                    sent.link.connected = *up.borrow() && rtc.is_alive();
                    rtc.disconnect();
                    return sent;
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    break;
                }
            }
        }
    }
    // The Rtc died before it was told to close.
    sent
}

/// A member's voice, as `alcove-load`'s client task: from the start of talking, a tick every
/// 20 ms at the member's phase; each tick stamps a frame (sender, sequence number, send time)
/// and hands it to the peer task. Counts the frames stamped inside the window.
pub async fn talk(
    voice: Voice,
    clock: Clock,
    mut phase: watch::Receiver<Phase>,
    frames: mpsc::UnboundedSender<Vec<u8>>,
) -> Talked {
    let mut frame = FrameBuf::new();
    let mut talked = Talked::default();
    let mut seq: u32 = 0;
    let mut ticks: Option<Ticks> = None;
    let mut window: Option<(u64, u64)> = None;
    loop {
        let next = ticks.map(|t| t.next);
        tokio::select! {
            c = phase.changed() => {
                let p = if c.is_err() { Phase::Close } else { *phase.borrow_and_update() };
                match p {
                    Phase::Idle => ticks = None,
                    Phase::Talk { start, .. } => {
                        window = p.window();
                        ticks = Some(Ticks { next: start + voice.offset });
                    }
                    Phase::Close => return talked,
                }
            }
            _ = sleep_until_opt(next) => {
                let now = Instant::now();
                let sent_ns = clock.ns(now);
                let stamp = Stamp {
                    sender: voice.sender,
                    seq,
                    sent_ns,
                };
                if frames.send(frame.stamp(stamp).to_vec()).is_err() {
                    return talked;
                }
                seq = seq.wrapping_add(1);
                talked.total += 1;
                if window.is_some_and(|(a, b)| (a..b).contains(&sent_ns)) {
                    talked.in_window += 1;
                }
                if let Some(t) = ticks.as_mut() {
                    t.advance(now);
                }
            }
        }
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Writes one Opus frame with its level; false when str0m refuses it.
fn write_opus(rtc: &mut Rtc, mid: Mid, level: i8, seq: u64, now: Instant, data: Vec<u8>) -> bool {
    let Some(w) = rtc.writer(mid) else {
        return false;
    };
    let Some(pt) = w
        .payload_params()
        .find(|p| p.spec().codec == Codec::Opus)
        .map(|p| p.pt())
    else {
        return false;
    };
    let t = MediaTime::new(seq * RTP_TICKS_PER_FRAME, Frequency::FORTY_EIGHT_KHZ);
    w.audio_level(level, level > -127)
        .write(pt, now, t, data)
        .is_ok()
}

/// Drives a subscriber: counts and times every stamped frame until `phase` says close.
pub async fn subscribe(
    peer: Peer,
    clock: Clock,
    mut phase: watch::Receiver<Phase>,
    up: watch::Sender<bool>,
) -> Received {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut buf = vec![0u8; 2048];
    let mut got = Received::default();
    let mut window: Option<(u64, u64)> = None;
    loop {
        let on_event = &mut |e: Event| match e {
            Event::Connected => {
                let _ = up.send(true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                got.link.ice_disconnects += 1;
            }
            Event::MediaData(d) => {
                let at = Instant::now();
                got.total += 1;
                let Some(st) = payload::parse(&d.data) else {
                    got.unstamped += 1;
                    return;
                };
                let Some((a, b)) = window else { return };
                if !(a..b).contains(&st.sent_ns) {
                    return;
                }
                let at_ns = clock.ns(at);
                let s = got.streams.entry(st.sender).or_default();
                s.received += 1;
                s.jitter.push(st.sent_ns, at_ns);
                let us = at_ns.saturating_sub(st.sent_ns) / 1_000;
                got.latency_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            _ => {}
        };
        let Some(deadline) = drain(&mut rtc, &socket, on_event) else {
            break;
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if !receive(&mut rtc, &buf[..n], source, local) {
                    break;
                }
            }
            c = phase.changed() => {
                let p = if c.is_err() { Phase::Close } else { *phase.borrow_and_update() };
                if p == Phase::Close {
                    got.link.connected = *up.borrow() && rtc.is_alive();
                    rtc.disconnect();
                    return got;
                }
                if let Some(w) = p.window() {
                    window = Some(w);
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    break;
                }
            }
        }
    }
    got
}

/// Polls `rtc` until it asks for a timeout: transmits go out on `socket`, events to
/// `on_event`. `None` when the `Rtc` is dead.
pub(crate) fn drain(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    on_event: &mut dyn FnMut(Event),
) -> Option<Instant> {
    loop {
        match rtc.poll_output() {
            Ok(str0m::Output::Timeout(t)) => return Some(t),
            Ok(str0m::Output::Transmit(t)) => {
                let _ = socket.try_send_to(&t.contents, t.destination);
            }
            Ok(str0m::Output::Event(e)) => on_event(e),
            Err(e) => {
                tracing::debug!("rtc error: {e}");
                return None;
            }
        }
        if !rtc.is_alive() {
            return None;
        }
    }
}

/// Feeds one datagram to `rtc`; false when the `Rtc` fails.
pub(crate) fn receive(rtc: &mut Rtc, data: &[u8], source: SocketAddr, local: SocketAddr) -> bool {
    let Ok(contents) = data.try_into() else {
        return true;
    };
    let input = str0m::Input::Receive(
        Instant::now(),
        Receive {
            proto: Protocol::Udp,
            source,
            destination: local,
            contents,
        },
    );
    rtc.handle_input(input).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_skip_what_they_missed() {
        let t0 = Instant::now();
        let mut t = Ticks { next: t0 };
        t.advance(t0);
        assert_eq!(t.next, t0 + FRAME_INTERVAL);
        // 75 ms late: one tick now, the next on the period grid after now.
        let late = t.next + Duration::from_millis(75);
        t.advance(late);
        assert_eq!(t.next, t0 + FRAME_INTERVAL * 5);
        assert!(t.next > late);
    }

    #[test]
    fn only_talk_has_a_window() {
        let now = Instant::now();
        let talk = Phase::Talk {
            start: now,
            start_ns: 5,
            end_ns: 9,
        };
        assert_eq!(talk.window(), Some((5, 9)));
        assert_eq!(Phase::Idle.window(), None);
        assert_eq!(Phase::Close.window(), None);
    }
}

//! The WebRTC side: str0m peers on UDP sockets, driven like `alcove-client`'s media
//! (crates/client/src/media.rs) — one `Rtc` per peer connection, one task per `Rtc`, Opus
//! written with the RFC 6464 audio level, `MediaData` events read on the receive side.
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
use str0m::{Candidate, Event, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// RFC 6464 level of every frame (dBov, as our load tool sends).
pub const AUDIO_LEVEL: i8 = -20;
/// One Opus frame every 20 ms.
pub const FRAME_PERIOD: Duration = Duration::from_millis(20);
/// RTP ticks per frame at 48 kHz.
const RTP_TICKS_PER_FRAME: u64 = 960;

/// When the publishers talk. Sent to every peer task through a `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected, silent.
    Idle,
    /// Send frames from `start` (plus the sender's own offset) until `stop`.
    Talk {
        /// First frame time (before the offset).
        start: Instant,
        /// No frame at or after this.
        stop: Instant,
    },
    /// Close the peer connection and return the counts.
    Close,
}

/// A peer's socket and `Rtc`, before it is driven.
pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").field("local", &self.local).finish()
    }
}

/// What a publisher did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    /// Frames handed to str0m's writer.
    pub frames: u64,
    /// Frames whose writer refused them (not connected yet, or no Opus negotiated).
    pub refused: u64,
    /// Whether ICE + DTLS came up.
    pub connected: bool,
}

/// What a subscriber received.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Frames carrying one of our stamps.
    pub frames: u64,
    /// Frames with a level extension other than [`AUDIO_LEVEL`] (should stay 0).
    pub wrong_level: u64,
    /// One-way latency of every frame (receive − send), microseconds.
    pub latency_us: Vec<u32>,
    /// Frames and RFC 3550 jitter per sender index.
    pub per_sender: HashMap<u32, (u64, Jitter)>,
    /// Whether ICE + DTLS came up.
    pub connected: bool,
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

/// Drives a publisher: connects, then talks as `phase` says. `sender` is the index stamped in
/// each frame; `offset` shifts its 20 ms schedule so that senders do not all send at once.
pub async fn publish(
    peer: Peer,
    mid: Mid,
    sender: u32,
    offset: Duration,
    clock: Clock,
    mut phase: watch::Receiver<Phase>,
    connected: watch::Sender<bool>,
) -> Sent {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut buf = vec![0u8; 2048];
    let mut frame = FrameBuf::new();
    let mut sent = Sent::default();
    let mut seq: u32 = 0;
    // The next frame's due time while talking.
    let mut next: Option<(Instant, Instant)> = None;
    loop {
        let mut on_event = |e: Event| {
            if matches!(e, Event::Connected) {
                let _ = connected.send(true);
            }
        };
        let mut deadline = match drain(&mut rtc, &socket, &mut on_event) {
            Some(d) => d,
            None => return sent,
        };
        let mut wrote = false;
        // Frames due now (a late task catches up at once, as tokio's interval does).
        while let Some((due, stop)) = next {
            let now = Instant::now();
            if due >= stop {
                next = None;
                break;
            }
            if due > now {
                break;
            }
            let stamp = Stamp {
                sender,
                seq,
                sent_ns: clock.ns(now),
            };
            let data = frame.stamp(stamp).to_vec();
            let ok = match rtc.writer(mid) {
                Some(w) => {
                    let pt = w
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .map(|p| p.pt());
                    match pt {
                        Some(pt) => {
                            let t = MediaTime::new(
                                u64::from(seq) * RTP_TICKS_PER_FRAME,
                                Frequency::FORTY_EIGHT_KHZ,
                            );
                            w.audio_level(AUDIO_LEVEL, true)
                                .write(pt, now, t, data)
                                .is_ok()
                        }
                        None => false,
                    }
                }
                None => false,
            };
            sent.connected = *connected.borrow();
            if ok {
                sent.frames += 1;
                wrote = true;
            } else {
                sent.refused += 1;
            }
            seq += 1;
            next = Some((due + FRAME_PERIOD, stop));
        }
        if wrote {
            // A written frame changes what str0m wants (its pacer asks for an immediate
            // timeout to send it): poll again and wait for the new deadline, not the old one.
            deadline = match drain(&mut rtc, &socket, &mut on_event) {
                Some(d) => d,
                None => return sent,
            };
        }
        let wake = match next {
            Some((due, _)) => deadline.min(due),
            None => deadline,
        };
        let wait = wake.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if !receive(&mut rtc, &buf[..n], source, local) {
                    return sent;
                }
            }
            c = phase.changed() => {
                if c.is_err() {
                    rtc.disconnect();
                    return sent;
                }
                let p = *phase.borrow_and_update();
                match p {
                    Phase::Idle => next = None,
                    Phase::Talk { start, stop } => next = Some((start + offset, stop)),
                    Phase::Close => {
                        rtc.disconnect();
                        return sent;
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    return sent;
                }
            }
        }
    }
}

/// Drives a subscriber: counts and times every stamped frame until `phase` says close.
pub async fn subscribe(
    peer: Peer,
    clock: Clock,
    mut phase: watch::Receiver<Phase>,
    connected: watch::Sender<bool>,
) -> Received {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut buf = vec![0u8; 2048];
    let mut got = Received::default();
    loop {
        let deadline = match drain(&mut rtc, &socket, &mut |e| match e {
            Event::Connected => {
                got.connected = true;
                let _ = connected.send(true);
            }
            Event::MediaData(d) => {
                let at = Instant::now();
                let Some(st) = payload::parse(&d.data) else {
                    return;
                };
                let recv_ns = clock.ns(at);
                got.frames += 1;
                if d.ext_vals.audio_level != Some(AUDIO_LEVEL) {
                    got.wrong_level += 1;
                }
                let us = recv_ns.saturating_sub(st.sent_ns) / 1_000;
                got.latency_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                let e = got.per_sender.entry(st.sender).or_default();
                e.0 += 1;
                e.1.push(st.sent_ns, recv_ns);
            }
            _ => {}
        }) {
            Some(d) => d,
            None => return got,
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if !receive(&mut rtc, &buf[..n], source, local) {
                    return got;
                }
            }
            c = phase.changed() => {
                if c.is_err() || matches!(*phase.borrow_and_update(), Phase::Close) {
                    rtc.disconnect();
                    return got;
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    return got;
                }
            }
        }
    }
}

/// Polls `rtc` until it asks for a timeout: transmits go out on `socket`, events to
/// `on_event`. `None` when the `Rtc` is dead.
fn drain(rtc: &mut Rtc, socket: &UdpSocket, on_event: &mut dyn FnMut(Event)) -> Option<Instant> {
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
fn receive(rtc: &mut Rtc, data: &[u8], source: SocketAddr, local: SocketAddr) -> bool {
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

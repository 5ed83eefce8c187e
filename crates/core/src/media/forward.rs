//! Datagrams, timers and forwarding: a datagram goes to the one session that accepts it; what
//! that session decrypts is forwarded, RTP packet by RTP packet, to the slots that map its
//! source; only the sessions written to (and those whose timer is due) are polled.

use super::{talkers, Sharing, KEYFRAME_THROTTLE};
use crate::family::Family;
use crate::io::Output;
use alcove_proto::signal::Role;
use alcove_proto::ClientId;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::media::{KeyframeRequestKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::Event;

impl Family {
    pub(crate) fn media_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        let Ok(contents) = contents.try_into() else {
            return;
        };
        let input = str0m::Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        // Fast path: the session this address last spoke to (checked, not trusted).
        let known = self
            .media
            .by_addr
            .get(&source)
            .filter(|c| {
                self.media
                    .sessions
                    .get(*c)
                    .is_some_and(|s| s.rtc.accepts(&input))
            })
            .cloned();
        let client = match known {
            Some(c) => c,
            None => {
                let Some(c) = self
                    .media
                    .sessions
                    .iter()
                    .find(|(_, s)| s.rtc.accepts(&input))
                    .map(|(c, _)| c.clone())
                else {
                    return;
                };
                self.media.by_addr.insert(source, c.clone());
                c
            }
        };
        if let Some(s) = self.media.sessions.get_mut(&client) {
            if s.rtc.handle_input(input).is_err() {
                s.rtc.disconnect();
            }
        }
        self.drive(&client, now);
    }

    /// Wakes the sessions whose str0m timer is due, and no others.
    pub(crate) fn media_timeout(&mut self, now: Instant) {
        let mut due: Vec<ClientId> = Vec::new();
        while let Some((t, _)) = self.media.timers.first() {
            if *t > now {
                break;
            }
            if let Some((_, c)) = self.media.timers.pop_first() {
                due.push(c);
            }
        }
        for c in due {
            if let Some(s) = self.media.sessions.get_mut(&c) {
                // Off the timer list until `drive` puts it back with its next deadline.
                s.timeout = now;
                if s.rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
                    s.rtc.disconnect();
                }
                self.media.timers.insert((now, c.clone()));
            }
            self.drive(&c, now);
        }
    }

    pub(super) fn flush_dirty(&mut self, now: Instant) {
        while let Some(c) = self.media.dirty.pop() {
            self.drive(&c, now);
        }
    }

    /// Polls one session until it wants a timeout; forwards what it received.
    pub(super) fn drive(&mut self, client: &ClientId, now: Instant) {
        let mut received: Vec<RtpPacket> = Vec::new();
        let mut keyframe_requests: Vec<Mid> = Vec::new();
        {
            let Some(s) = self.media.sessions.get_mut(client) else {
                return;
            };
            s.dirty = false;
            let before = s.timeout;
            loop {
                if !s.rtc.is_alive() {
                    s.timeout = now + Duration::from_secs(3600);
                    break;
                }
                match s.rtc.poll_output() {
                    Ok(str0m::Output::Timeout(t)) => {
                        s.timeout = t;
                        break;
                    }
                    Ok(str0m::Output::Transmit(t)) => {
                        self.outputs.push_back(Output::Transmit {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents.into(),
                        });
                    }
                    Ok(str0m::Output::Event(e)) => match e {
                        Event::RtpPacket(p) => received.push(p),
                        Event::KeyframeRequest(r) => keyframe_requests.push(r.mid),
                        _ => {}
                    },
                    Err(_) => {
                        s.rtc.disconnect();
                    }
                }
            }
            if s.timeout != before {
                self.media.timers.remove(&(before, client.clone()));
                self.media.timers.insert((s.timeout, client.clone()));
            }
        }
        for p in received {
            self.forward(client, now, p);
        }
        for mid in keyframe_requests {
            self.forward_keyframe_request(client, mid, now);
        }
    }

    /// Sends one RTP packet from `src` to everyone who should receive it.
    fn forward(&mut self, src: &ClientId, now: Instant, p: RtpPacket) {
        let Some(c) = self.clients.get(src) else {
            return;
        };
        if c.user.role == Role::Viewer {
            return;
        }
        let Some(s) = self.media.sessions.get_mut(src) else {
            return;
        };
        let mid = s
            .rtc
            .direct_api()
            .stream_rx(&p.header.ssrc)
            .map(|rx| rx.mid());
        let Some(spec) = s
            .rtc
            .codec_config()
            .find(|x| x.pt() == p.header.payload_type)
            .map(|x| x.spec())
        else {
            return;
        };
        let (seq, time, rate) = (*p.seq_no, p.time.numer(), p.time.frequency().get());
        if mid.is_some() && mid == s.mids.mic {
            let level = p.header.ext_vals.audio_level.unwrap_or(-127);
            let loud = f32::from(127 + level.max(-127));
            let was_active = s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS);
            s.loudness = 0.8 * s.loudness + 0.2 * loud;
            s.last_audio = Some(now);
            if !was_active && s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS) {
                // A new speaker: map it without waiting for the next tick.
                self.media.next_talkers = Some(now);
            }
            let ext = ExtensionValues {
                audio_level: Some(level),
                voice_activity: Some(level > -127),
                ..ExtensionValues::default()
            };
            // Taken out and put back: no allocation per packet.
            let targets = self.media.fanout.remove(src).unwrap_or_default();
            for (rx, slot) in &targets {
                let Some(r) = self.media.sessions.get_mut(rx) else {
                    continue;
                };
                let (Some(mid), Some(rw)) = (
                    r.mids.audio_slots.get(*slot).copied(),
                    r.rewrite.get_mut(*slot),
                ) else {
                    continue;
                };
                let out = rw.map(src, seq, time, rate, now);
                if r.write_slot(mid, spec, out, now, &p, Some(&ext)) {
                    self.media.mark_dirty(rx);
                }
            }
            if !targets.is_empty() {
                self.media.fanout.insert(src.clone(), targets);
            }
            return;
        }
        let kind = if mid.is_some() && mid == s.mids.share {
            Sharing::Share
        } else if mid.is_some() && mid == s.mids.canvas {
            Sharing::Canvas
        } else {
            return;
        };
        let location = c.location.clone();
        if self.media.sharing.get(&(kind, location)) != Some(src) {
            return;
        }
        // A gap in the sharer's own stream: receivers cannot decode on, ask for a keyframe.
        let gap = match s.video_in_seq.get(&kind) {
            Some(last) if seq <= *last => None,
            Some(last) => Some(seq != last + 1),
            None => Some(false),
        };
        if let Some(gap) = gap {
            s.video_in_seq.insert(kind, seq);
            if gap {
                self.request_keyframe(src, kind, now);
            }
        }
        let key = (src.clone(), kind);
        let receivers = self.media.video_fanout.remove(&key).unwrap_or_default();
        for rx in &receivers {
            let Some(r) = self.media.sessions.get_mut(rx) else {
                continue;
            };
            let slot_mid = match kind {
                Sharing::Share => r.mids.share_slot,
                Sharing::Canvas => r.mids.canvas_slot,
            };
            let Some(mid) = slot_mid else { continue };
            let out = r
                .video_rewrite
                .entry(kind)
                .or_insert_with(super::rewrite::Rewrite::video)
                .map(src, seq, time, rate, now);
            if r.write_slot(mid, spec, out, now, &p, None) {
                self.media.mark_dirty(rx);
            }
        }
        if !receivers.is_empty() {
            self.media.video_fanout.insert(key, receivers);
        }
    }

    fn forward_keyframe_request(&mut self, receiver: &ClientId, mid: Mid, now: Instant) {
        let Some(r) = self.media.sessions.get(receiver) else {
            return;
        };
        let kind = if Some(mid) == r.mids.share_slot {
            Sharing::Share
        } else if Some(mid) == r.mids.canvas_slot {
            Sharing::Canvas
        } else {
            return;
        };
        if let Some(src) = r.video_src.get(&kind).cloned() {
            self.request_keyframe(&src, kind, now);
        }
    }

    pub(super) fn request_keyframe(&mut self, src: &ClientId, kind: Sharing, now: Instant) {
        let Some(s) = self.media.sessions.get_mut(src) else {
            return;
        };
        if s.last_keyframe_request
            .get(&kind)
            .is_some_and(|t| now.saturating_duration_since(*t) < KEYFRAME_THROTTLE)
        {
            return;
        }
        let mid = match kind {
            Sharing::Share => s.mids.share,
            Sharing::Canvas => s.mids.canvas,
        };
        let Some(mid) = mid else { return };
        let mut api = s.rtc.direct_api();
        if let Some(rx) = api.stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
            s.last_keyframe_request.insert(kind, now);
            self.media.mark_dirty(src);
        }
    }
}

impl super::Session {
    /// Writes `p` on this session's slot stream `mid` with the slot's own sequence number and
    /// time (`out`), in this session's payload type for `spec`. Audio carries `ext` (its level)
    /// and is not NACKable; video (`ext` = `None`) is NACKable, answered from the send buffer.
    /// False when the session negotiated neither the codec nor the slot.
    fn write_slot(
        &mut self,
        mid: Mid,
        spec: str0m::format::CodecSpec,
        out: super::rewrite::Rewritten,
        now: Instant,
        p: &RtpPacket,
        ext: Option<&ExtensionValues>,
    ) -> bool {
        let Some(pt) = self.send_pt(spec) else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(mid, None) else {
            return false;
        };
        let w = RtpWrite::new(pt, out.seq.into(), out.time as u32, now, p.payload.clone())
            .marker(p.header.marker);
        tx.write_rtp(match ext {
            Some(ext) => w.ext_vals(ext.clone()),
            None => w.nackable(true),
        });
        true
    }
}

//! Datagrams, timers and forwarding on a shard: a datagram goes to the one session that
//! accepts it; what that session decrypts is forwarded, RTP packet by RTP packet, to the slots
//! that map its source — on this shard directly, on other shards as one shared
//! [`Forwarded`] each; only the sessions written to (and those whose timer is due) are polled.

use super::rewrite::Rewrite;
use super::shard::{Direct, Forwarded, Shard, ShardCommand, ShardInput, ShardOutput, StreamKind};
use super::{layers, shard, srtp, talkers, Sharing, KEYFRAME_THROTTLE};
use alcove_proto::signal::VideoLayer;
use alcove_proto::ClientId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::media::{KeyframeRequestKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionValues, RtpPacket, RtpWrite};
use str0m::Event;

impl Shard {
    pub(super) fn receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        // The direct audio path answers on the path the client uses: where its DTLS / SRTP
        // comes from, or where it nominates a pair (a binding request with USE-CANDIDATE:
        // after an ICE restart to a new network, before anything else arrives from there).
        let sets_path = is_dtls_or_srtp(contents) || nominates(contents);
        let Ok(contents) = contents.try_into() else {
            return;
        };
        let input = str0m::Input::Receive(
            now,
            Receive {
                proto: if Some(destination) == self.config.tcp_candidate {
                    Protocol::Tcp
                } else {
                    Protocol::Udp
                },
                source,
                destination,
                contents,
            },
        );
        // Fast path: the session this address last spoke to (checked, not trusted).
        let known = self
            .by_addr
            .get(&source)
            .filter(|c| self.sessions.get(*c).is_some_and(|s| s.rtc.accepts(&input)))
            .cloned();
        let client = match known {
            Some(c) => c,
            None => {
                let Some(c) = self
                    .sessions
                    .iter()
                    .find(|(_, s)| s.rtc.accepts(&input))
                    .map(|(c, _)| c.clone())
                else {
                    return;
                };
                self.by_addr.insert(source, c.clone());
                c
            }
        };
        if let Some(s) = self.sessions.get_mut(&client) {
            match s.rtc.handle_input(input) {
                Err(_) => s.rtc.disconnect(),
                Ok(()) if sets_path => s.path = Some((destination, source)),
                Ok(()) => {}
            }
        }
        self.drive(&client, now);
    }

    /// Wakes the sessions whose str0m timer is due, and no others.
    pub(super) fn timeout(&mut self, now: Instant) {
        let mut due: Vec<ClientId> = Vec::new();
        while let Some((t, _)) = self.timers.first() {
            if *t > now {
                break;
            }
            if let Some((_, c)) = self.timers.pop_first() {
                due.push(c);
            }
        }
        for c in due {
            if let Some(s) = self.sessions.get_mut(&c) {
                // Off the timer list until `drive` puts it back with its next deadline.
                s.timeout = now;
                if s.rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
                    s.rtc.disconnect();
                }
                self.timers.insert((now, c.clone()));
            }
            self.drive(&c, now);
        }
    }

    pub(super) fn flush_dirty(&mut self, now: Instant) {
        while let Some(c) = self.dirty.pop() {
            self.drive(&c, now);
        }
    }

    /// Polls one session until it wants a timeout; forwards what it received.
    fn drive(&mut self, client: &ClientId, now: Instant) {
        let mut received: Vec<RtpPacket> = Vec::new();
        let mut keyframe_requests: Vec<Mid> = Vec::new();
        let reallocate;
        {
            let Some(s) = self.sessions.get_mut(client) else {
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
                        if is_dtls_or_srtp(&t.contents) {
                            s.path = Some((t.source, t.destination));
                        }
                        self.outputs.push_back(ShardOutput::Transmit {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents.into(),
                        });
                    }
                    Ok(str0m::Output::Event(e)) => match e {
                        Event::RtpPacket(p) => received.push(p),
                        Event::KeyframeRequest(r) => keyframe_requests.push(r.mid),
                        // A fresh receiver report (`loss` is set only then): congestion evidence.
                        Event::MediaEgressStats(st) => {
                            if let Some(loss) = st.loss {
                                s.congestion.report(st.rtt, loss);
                            }
                        }
                        _ => {}
                    },
                    Err(_) => {
                        s.rtc.disconnect();
                    }
                }
            }
            if s.timeout != before {
                self.timers.remove(&(before, client.clone()));
                self.timers.insert((s.timeout, client.clone()));
            }
            if matches!(s.direct, Direct::Waiting) {
                if let Some(exported) = s.keys.as_ref().and_then(|k| k.get()) {
                    s.direct = match srtp::SrtpTx::new(exported, &srtp::provider()) {
                        Some(tx) => Direct::Ready(tx),
                        None => Direct::Off,
                    };
                }
            }
            reallocate = !s.mids.video_slots.is_empty() && now >= s.next_alloc;
        }
        if reallocate {
            self.allocate(client, now);
        }
        for p in received {
            self.forward(client, now, p);
        }
        for mid in keyframe_requests {
            self.forward_keyframe_request(client, mid, now);
        }
    }

    /// Sends one RTP packet of `src` (a session of this shard) to everyone who should receive
    /// it: this shard's receivers at once, each other shard that has receivers once.
    fn forward(&mut self, src: &ClientId, now: Instant, p: RtpPacket) {
        let Some(s) = self.sessions.get_mut(src) else {
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
        let kind = if mid.is_some() && mid == s.mids.mic {
            let level = p.header.ext_vals.audio_level.unwrap_or(-127);
            let loud = f32::from(127 + level.max(-127));
            let was_active = s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS);
            s.loudness = 0.8 * s.loudness + 0.2 * loud;
            s.last_audio = Some(now);
            if !was_active && s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS) {
                // A new speaker: the family maps it without waiting for the next tick.
                self.report_levels(now, true);
            } else if self.next_levels.is_none() {
                self.next_levels = Some(now + super::TALKER_INTERVAL);
            }
            StreamKind::Audio { level }
        } else if mid.is_some() && mid == s.mids.camera {
            // A camera counts as published while its packets arrive, wherever its publisher
            // is; it is forwarded only where the table maps it (never from a break-out room).
            let fresh = s
                .last_camera
                .is_none_or(|t| now.saturating_duration_since(t) >= shard::CAMERA_SILENCE);
            s.last_camera = Some(now);
            // The simulcast layer: the stream's RID (none: one stream, the top layer).
            let rid = s
                .rtc
                .direct_api()
                .stream_rx(&p.header.ssrc)
                .and_then(|rx| rx.rid());
            let layer = rid
                .as_ref()
                .and_then(|r| VideoLayer::from_rid(r))
                .map_or(layers::LAYERS - 1, VideoLayer::index);
            s.camera_rids[layer] = rid;
            let seq = *p.seq_no;
            let gap = match s.camera_in_seq[layer] {
                Some(last) if seq <= last => None,
                Some(last) => Some(seq != last + 1),
                None => Some(false),
            };
            if gap.is_some() {
                s.camera_in_seq[layer] = Some(seq);
            }
            if fresh {
                // A new camera: the family maps it without waiting for the next tick.
                self.report_levels(now, true);
            } else if self.next_levels.is_none() {
                self.next_levels = Some(now + super::TALKER_INTERVAL);
            }
            if !self.table.camera.contains_key(src) {
                return;
            }
            if gap == Some(true) {
                self.request_camera_keyframe(src, Some(layer), now);
            }
            StreamKind::Camera {
                layer: layer as u8,
                keyframe: layers::starts_keyframe(spec.codec, &p.payload),
            }
        } else {
            let kind = if mid.is_some() && mid == s.mids.share {
                Sharing::Share
            } else if mid.is_some() && mid == s.mids.canvas {
                Sharing::Canvas
            } else {
                return;
            };
            if !self.table.is_sharer(src, kind) {
                return;
            }
            let Some(s) = self.sessions.get_mut(src) else {
                return;
            };
            // A gap in the sharer's own stream: receivers cannot decode on, ask for a keyframe.
            let seq = *p.seq_no;
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
            StreamKind::Video(kind)
        };
        let packet = Forwarded {
            src: src.clone(),
            kind,
            spec,
            seq: *p.seq_no,
            time: p.time.numer(),
            rate: p.time.frequency().get(),
            marker: p.header.marker,
            payload: p.payload,
        };
        let remote: Vec<usize> = match kind {
            StreamKind::Audio { .. } => self.table.audio_shards(src, self.index).collect(),
            StreamKind::Video(k) => self.table.video_shards(src, k, self.index),
            StreamKind::Camera { .. } => self.table.camera_shards(src, self.index),
        };
        self.deliver(&packet, now);
        if !remote.is_empty() {
            let packet = Arc::new(packet);
            for shard in remote {
                self.outputs.push_back(ShardOutput::ToShard {
                    shard,
                    input: ShardInput::Forward {
                        now,
                        packet: Arc::clone(&packet),
                    },
                });
            }
        }
    }

    /// Writes a packet on the slots of this shard's receivers of its source.
    pub(super) fn deliver(&mut self, p: &Forwarded, now: Instant) {
        let table = Arc::clone(&self.table);
        match p.kind {
            StreamKind::Audio { level } => {
                let ext = ExtensionValues {
                    audio_level: Some(level),
                    voice_activity: Some(level > -127),
                    ..ExtensionValues::default()
                };
                for (rx, slot) in table.audio_on(&p.src, self.index) {
                    let Some(r) = self.sessions.get_mut(rx) else {
                        continue;
                    };
                    let (Some(mid), Some(rw)) = (
                        r.mids.audio_slots.get(*slot).copied(),
                        r.rewrite.get_mut(*slot),
                    ) else {
                        continue;
                    };
                    if matches!(r.direct, Direct::Waiting) {
                        // Its DTLS handshake has not finished: nothing can reach it yet, and a
                        // packet queued now would only arrive stale once it has.
                        continue;
                    }
                    let out = rw.map(&p.src, p.seq, p.time, p.rate, now);
                    if let Some(t) = r.send_direct(*slot, mid, &out, p, level) {
                        self.outputs.push_back(t);
                        self.audio_direct += 1;
                    } else if r.write_slot(mid, out, now, p, Some(&ext)) {
                        self.audio_str0m += 1;
                        self.mark_dirty(rx);
                    }
                }
            }
            StreamKind::Video(kind) => {
                for rx in table.video_on(&p.src, kind, self.index) {
                    let Some(r) = self.sessions.get_mut(rx) else {
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
                        .or_insert_with(Rewrite::video)
                        .map(&p.src, p.seq, p.time, p.rate, now);
                    if r.write_slot(mid, out, now, p, None) {
                        self.mark_dirty(rx);
                    }
                }
            }
            StreamKind::Camera { layer, keyframe } => {
                let layer = usize::from(layer);
                // One lookup per packet; the source's id is cloned only the first time.
                let fresh = match self.sources.get_mut(&p.src) {
                    Some(s) => {
                        s.packet(layer, p.payload.len(), now);
                        false
                    }
                    None => {
                        let mut s = layers::SourceLayers::default();
                        s.packet(layer, p.payload.len(), now);
                        self.sources.insert(p.src.clone(), s);
                        true
                    }
                };
                let mut want_key = false;
                for (rx, slot) in table.camera_on(&p.src, self.index) {
                    let Some(r) = self.sessions.get_mut(rx) else {
                        continue;
                    };
                    let (Some(mid), Some(rw), Some(current), Some(target)) = (
                        r.mids.video_slots.get(*slot).copied(),
                        r.camera_rewrite.get_mut(*slot),
                        r.layer_current.get_mut(*slot),
                        r.layer_target.get(*slot).copied(),
                    ) else {
                        continue;
                    };
                    if target != *current {
                        if target.is_none() {
                            // Nothing fits (or the slot is hidden): stop at once.
                            *current = None;
                        } else if target == Some(layer) && keyframe {
                            // The new layer starts at its keyframe, continuing the slot.
                            *current = target;
                            rw.unmap();
                        } else {
                            want_key = true;
                        }
                    }
                    if *current != Some(layer) {
                        continue;
                    }
                    let out = rw.map(&p.src, p.seq, p.time, p.rate, now);
                    if r.write_slot(mid, out, now, p, None) {
                        self.mark_dirty(rx);
                    }
                }
                if fresh {
                    // The first packet this shard sees of a camera: choose its layers now.
                    self.allocate_all(now);
                }
                if want_key {
                    self.camera_keyframe_for_switch(&p.src, now);
                }
            }
        }
    }

    /// Asks the camera publisher `src` (on any shard) for a keyframe of every layer a
    /// receiver of this shard waits to switch to.
    fn camera_keyframe_for_switch(&mut self, src: &ClientId, now: Instant) {
        let mut targets: Vec<usize> = Vec::new();
        for (rx, slot) in self.table.camera_on(src, self.index) {
            if let Some(r) = self.sessions.get(rx) {
                let (c, t) = (
                    r.layer_current.get(*slot).copied().flatten(),
                    r.layer_target.get(*slot).copied().flatten(),
                );
                if let Some(t) = t {
                    if c != Some(t) && !targets.contains(&t) {
                        targets.push(t);
                    }
                }
            }
        }
        for layer in targets {
            self.camera_keyframe(src, Some(layer), now);
        }
    }

    /// Asks `src` for a keyframe of its camera (`layer`: that simulcast layer, `None`: all),
    /// on its own shard or through the shard that holds it.
    pub(super) fn camera_keyframe(&mut self, src: &ClientId, layer: Option<usize>, now: Instant) {
        match self.table.shard_of.get(src).copied() {
            Some(shard) if shard != self.index => {
                self.outputs.push_back(ShardOutput::ToShard {
                    shard,
                    input: ShardInput::Command {
                        now,
                        cmd: ShardCommand::RequestCameraKeyframe {
                            src: src.clone(),
                            layer,
                        },
                    },
                });
            }
            _ => self.request_camera_keyframe(src, layer, now),
        }
    }

    /// A receiver asked for a keyframe on its share / canvas slot: ask the sharer shown there.
    fn forward_keyframe_request(&mut self, receiver: &ClientId, mid: Mid, now: Instant) {
        let Some(r) = self.sessions.get(receiver) else {
            return;
        };
        if let Some(slot) = r.mids.video_slots.iter().position(|m| *m == mid) {
            let Some(src) = self
                .table
                .camera_src
                .get(&(receiver.clone(), slot))
                .cloned()
            else {
                return;
            };
            // The layer the receiver decodes (or waits for).
            let layer = r.layer_target.get(slot).copied().flatten();
            self.camera_keyframe(&src, layer, now);
            return;
        }
        let kind = if Some(mid) == r.mids.share_slot {
            Sharing::Share
        } else if Some(mid) == r.mids.canvas_slot {
            Sharing::Canvas
        } else {
            return;
        };
        let Some(src) = self.table.video_src.get(&(receiver.clone(), kind)).cloned() else {
            return;
        };
        match self.table.shard_of.get(&src).copied() {
            Some(shard) if shard != self.index => {
                self.outputs.push_back(ShardOutput::ToShard {
                    shard,
                    input: ShardInput::Command {
                        now,
                        cmd: ShardCommand::RequestKeyframe { src, kind },
                    },
                });
            }
            _ => self.request_keyframe(&src, kind, now),
        }
    }

    /// Asks `src` (a session of this shard) for a keyframe, at most once per throttle period.
    pub(super) fn request_keyframe(&mut self, src: &ClientId, kind: Sharing, now: Instant) {
        let Some(s) = self.sessions.get_mut(src) else {
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
            self.mark_dirty(src);
        }
    }
}

impl Shard {
    /// Asks `src` (a session of this shard) for a keyframe of its camera layer `layer` (`None`:
    /// of every layer it sends), at most once per throttle period and layer.
    pub(super) fn request_camera_keyframe(
        &mut self,
        src: &ClientId,
        layer: Option<usize>,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(src) else {
            return;
        };
        let Some(mid) = s.mids.camera else { return };
        let layers: Vec<usize> = match layer {
            Some(l) if l < layers::LAYERS => vec![l],
            _ => (0..layers::LAYERS).collect(),
        };
        let mut asked = false;
        for l in layers {
            if s.last_camera_keyframe[l]
                .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_THROTTLE)
            {
                continue;
            }
            let rid = s.camera_rids[l];
            let mut api = s.rtc.direct_api();
            if let Some(rx) = api.stream_rx_by_mid(mid, rid) {
                rx.request_keyframe(KeyframeRequestKind::Pli);
                s.last_camera_keyframe[l] = Some(now);
                asked = true;
            }
        }
        if asked {
            self.mark_dirty(src);
        }
    }
}

impl super::shard::Session {
    /// Seals and addresses one audio packet on the direct path (`srtp.rs`); `None` when this
    /// session's audio goes through str0m (not ready, or off).
    fn send_direct(
        &mut self,
        slot: usize,
        mid: Mid,
        out: &super::rewrite::Rewritten,
        p: &Forwarded,
        level: i8,
    ) -> Option<ShardOutput> {
        if !matches!(self.direct, Direct::Ready(_)) {
            return None;
        }
        let (source, destination) = self.path?;
        let pt = self.send_pt(p.spec)?;
        if self.direct_slots.get(slot)?.is_none() {
            let ssrc = *self.rtc.direct_api().stream_tx_by_mid(mid, None)?.ssrc();
            let map = self.rtc.media(mid)?.remote_extmap();
            // One-byte headers only (RFC 8285: ids 1–14).
            let one_byte = |id: Option<u8>| id.filter(|i| (1..=14).contains(i));
            let exts = srtp::AudioExts {
                level: one_byte(map.id_of(Extension::AudioLevel)),
                mid: one_byte(map.id_of(Extension::RtpMid)).map(|id| (id, mid.to_string())),
            };
            self.direct_slots[slot] = Some((ssrc, exts));
        }
        let (ssrc, exts) = self.direct_slots.get(slot)?.as_ref()?;
        let mut header = [0u8; srtp::MAX_HEADER];
        let header_len = srtp::write_audio_header(
            &srtp::AudioHeader {
                pt: *pt,
                marker: p.marker,
                seq: out.seq as u16,
                time: out.time as u32,
                ssrc: *ssrc,
                level,
                exts,
            },
            &mut header,
        );
        let Direct::Ready(tx) = &mut self.direct else {
            return None;
        };
        let contents = tx.seal(&header[..header_len], &p.payload, out.seq)?;
        Some(ShardOutput::Transmit {
            source,
            destination,
            contents,
        })
    }

    /// Writes `p` on this session's slot stream `mid` with the slot's own sequence number and
    /// time (`out`), in this session's payload type for the packet's codec. Audio carries `ext`
    /// (its level) and is not NACKable; video (`ext` = `None`) is NACKable, answered from the
    /// send buffer. False when the session negotiated neither the codec nor the slot.
    fn write_slot(
        &mut self,
        mid: Mid,
        out: super::rewrite::Rewritten,
        now: Instant,
        p: &Forwarded,
        ext: Option<&ExtensionValues>,
    ) -> bool {
        let Some(pt) = self.send_pt(p.spec) else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(mid, None) else {
            return false;
        };
        let w = RtpWrite::new(
            pt,
            out.seq.into(),
            out.time as u32,
            now,
            Arc::clone(&p.payload),
        )
        .marker(p.marker);
        tx.write_rtp(match ext {
            Some(ext) => w.ext_vals(ext.clone()),
            None => w.nackable(true),
        });
        true
    }
}

impl Shard {
    /// Chooses the layer of every video slot of every session on this shard.
    pub(super) fn allocate_all(&mut self, now: Instant) {
        let rxs: Vec<ClientId> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.mids.video_slots.is_empty())
            .map(|(c, _)| c.clone())
            .collect();
        for rx in rxs {
            self.allocate(&rx, now);
        }
    }

    /// Chooses the layer of each of `rx`'s video slots ([`layers::allocate`]) from its
    /// preferences, the live layers of the publisher on each slot and its bandwidth estimate;
    /// tells str0m's estimator what it sends and would like to send; asks publishers for the
    /// keyframes a switch waits for.
    pub(super) fn allocate(&mut self, rx: &ClientId, now: Instant) {
        let table = Arc::clone(&self.table);
        let Some(r) = self.sessions.get_mut(rx) else {
            return;
        };
        r.next_alloc = now + layers::ALLOCATE_INTERVAL;
        let slots = r.mids.video_slots.len();
        let mut srcs: Vec<Option<ClientId>> = Vec::with_capacity(slots);
        let demands: Vec<layers::Demand> = (0..slots)
            .map(|slot| {
                let src = table.camera_src.get(&(rx.clone(), slot));
                srcs.push(src.cloned());
                let available = src
                    .and_then(|s| self.sources.get(s))
                    .map(|l| l.available(now))
                    .unwrap_or_default();
                layers::Demand {
                    want: src.and_then(|_| {
                        layers::wanted(r.video_prefs.get(slot).copied().unwrap_or_default())
                    }),
                    available,
                    current: r.layer_current.get(slot).copied().flatten(),
                }
            })
            .collect();
        let reserve = layers::RESERVE_BPS;
        let flowing = layers::flowing_bps(&demands) + reserve;
        let desired = layers::desired_bps(&demands) + reserve;
        let cuts = r.congestion.cuts();
        let budget = r.congestion.budget(now, flowing, desired);
        let cut = r.congestion.cuts() - cuts;
        let picks = layers::allocate(budget, reserve, &demands);
        let mut switches: Vec<(ClientId, usize)> = Vec::new();
        for (slot, pick) in picks.into_iter().enumerate() {
            if let Some(t) = r.layer_target.get_mut(slot) {
                *t = pick;
            }
            let current = r.layer_current.get(slot).copied().flatten();
            if pick.is_none() {
                if let Some(c) = r.layer_current.get_mut(slot) {
                    *c = None;
                }
            } else if pick != current {
                if let (Some(src), Some(l)) = (&srcs[slot], pick) {
                    switches.push((src.clone(), l));
                }
            }
        }
        self.congestion_cuts += cut;
        for (src, layer) in switches {
            self.camera_keyframe(&src, Some(layer), now);
        }
    }
}

/// DTLS (RFC 7983: first byte 20–63) or SRTP / SRTCP (128–191), not STUN.
fn is_dtls_or_srtp(contents: &[u8]) -> bool {
    matches!(contents.first(), Some(20..=63 | 128..=191))
}

/// A STUN binding request (RFC 8489) carrying USE-CANDIDATE (RFC 8445 §7.1.2): the controlling
/// client nominates the pair it arrived on. (Its integrity is str0m's to check: the path is
/// taken only when str0m accepted the request.)
fn nominates(contents: &[u8]) -> bool {
    const BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
    const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
    const USE_CANDIDATE: u16 = 0x0025;
    if contents.len() < 20 || contents[..2] != BINDING_REQUEST || contents[4..8] != MAGIC_COOKIE {
        return false;
    }
    let end =
        (20 + usize::from(u16::from_be_bytes([contents[2], contents[3]]))).min(contents.len());
    let mut at = 20;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([contents[at], contents[at + 1]]);
        let len = usize::from(u16::from_be_bytes([contents[at + 2], contents[at + 3]]));
        if kind == USE_CANDIDATE {
            return true;
        }
        // Values are padded to four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::nominates;

    fn stun(kind: [u8; 2], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in attrs {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut m = kind.to_vec();
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn use_candidate_is_found_after_padded_attributes() {
        let username: &[u8] = b"abcd:efg";
        let odd: &[u8] = b"xyz";
        assert!(nominates(&stun(
            [0, 1],
            &[(0x0006, username), (0x8029, odd), (0x0025, &[])]
        )));
        // A check without it, a response with it, a truncated or non-STUN datagram: no.
        assert!(!nominates(&stun(
            [0, 1],
            &[(0x0006, username), (0x8029, odd)]
        )));
        assert!(!nominates(&stun([1, 1], &[(0x0025, &[])])));
        let mut cut = stun([0, 1], &[(0x0006, username), (0x0025, &[])]);
        cut.truncate(26);
        assert!(!nominates(&cut));
        assert!(!nominates(&[0x80, 0x6F, 0, 1]));
        assert!(!nominates(&[]));
    }
}

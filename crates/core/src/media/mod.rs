//! The media plane of a family: one str0m `Rtc` per client (its single peer connection),
//! slot-based forwarding, active talkers, screen share and canvas.
//!
//! Who hears whom follows from the break-out state and nothing else:
//!
//! * a receiver in the parent hears every source *heard in the parent* unless its own parent
//!   link is paused;
//! * a receiver in break-out room X hears every member of X, plus (when its parent link is
//!   resumed) every source heard in the parent;
//! * a source is heard in the parent when its parent link is neither paused nor muted (audio).
//!
//! Screen share and canvas go to the members of the sharer's room only. A move is a slot
//! remap: [`talkers::assign`] re-maps a receiver's slots, `activeTalkersUpdated` tells it, the
//! next packet of the new room goes out on the same SSRC with continuous sequence numbers and
//! (through [`rewrite::Rewrite`]) continuous media time. No renegotiation, no ICE or DTLS.
//!
//! Everything here is sans-IO: datagrams come in on `Input::Receive`, go out as
//! `Output::Transmit`, and time comes from the inputs.

pub mod rewrite;
pub mod talkers;

use crate::family::Family;
use crate::io::Output;
use alcove_proto::api::RoomMode;
use alcove_proto::signal::{
    ActiveTalkersUpdated, Location, MediaMids, Role, SdpAnswer, SdpOffer, ServerMessage,
    SharingStarted, SharingStopped, Status, StopReason, Talker,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use rewrite::Rewrite;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::media::{KeyframeRequestKind, MediaData, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Rtc};
use talkers::Candidate as TalkerCandidate;

/// How often talker slots are re-evaluated (besides on every route change).
pub const TALKER_INTERVAL: Duration = Duration::from_millis(200);
/// A source that sent no audio for this long counts as silent.
const SILENCE_AFTER: Duration = Duration::from_millis(600);
/// At most one keyframe request per source and kind in this interval.
const KEYFRAME_THROTTLE: Duration = Duration::from_millis(500);

/// Where the family's UDP traffic arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaConfig {
    /// The address given to clients as the ICE host candidate.
    pub candidate: SocketAddr,
    /// The local address of the UDP socket (the `destination` of received datagrams).
    pub local: SocketAddr,
}

/// Share or canvas: the two one-at-a-time video kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Sharing {
    Share,
    Canvas,
}

/// The mids of one session, resolved.
#[derive(Debug, Clone, Default)]
struct Mids {
    mic: Option<Mid>,
    share: Option<Mid>,
    canvas: Option<Mid>,
    audio_slots: Vec<Mid>,
    share_slot: Option<Mid>,
    canvas_slot: Option<Mid>,
}

/// One client's peer connection and what it receives.
struct Session {
    rtc: Rtc,
    ufrag: String,
    mids: Mids,
    /// Audio slot → source.
    slots: Vec<Option<ClientId>>,
    rewrite: Vec<Rewrite>,
    /// Source shown in the share / canvas slot.
    video_src: BTreeMap<Sharing, ClientId>,
    video_rewrite: BTreeMap<Sharing, Rewrite>,
    /// Smoothed loudness of this client's microphone, 0–127.
    loudness: f32,
    last_audio: Option<Instant>,
    last_keyframe_request: BTreeMap<Sharing, Instant>,
    /// The talkers last announced to this client.
    announced: Option<(RoomId, Vec<Talker>)>,
    /// When str0m wants to be woken.
    timeout: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("ufrag", &self.ufrag)
            .field("slots", &self.slots)
            .finish()
    }
}

/// The media state of a family.
#[derive(Debug, Default)]
pub(crate) struct MediaState {
    config: Option<MediaConfig>,
    sessions: BTreeMap<ClientId, Session>,
    /// Who shares (screen / canvas) in which room.
    sharing: BTreeMap<(Sharing, Location), ClientId>,
    /// source → [(receiver, slot)]: the audio fan-out, rebuilt when slots change.
    fanout: BTreeMap<ClientId, Vec<(ClientId, usize)>>,
    next_talkers: Option<Instant>,
    /// Sessions written to since they were last polled.
    dirty: Vec<ClientId>,
    /// Where each client was at its last route (to tell a mover about running shares once).
    last_location: BTreeMap<ClientId, Location>,
    /// The session each remote address last reached (demultiplexing cache).
    by_addr: std::collections::HashMap<SocketAddr, ClientId>,
}

impl MediaState {
    pub(crate) fn new(config: Option<MediaConfig>) -> MediaState {
        if config.is_some() {
            // Installs str0m's crypto provider for the process; idempotent, no I/O.
            str0m::crypto::from_feature_flags().install_process_default();
        }
        MediaState {
            config,
            ..MediaState::default()
        }
    }

    /// The earliest time any session or the talker evaluation needs a tick.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let s = self.sessions.values().map(|s| s.timeout).min();
        match (s, self.next_talkers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when `client` has a negotiated peer connection.
    pub(crate) fn has_session(&self, client: &ClientId) -> bool {
        self.sessions.contains_key(client)
    }

    /// Number of negotiated sessions.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }
}

fn mid(s: &Option<String>) -> Option<Mid> {
    s.as_deref().map(Mid::from)
}

impl Family {
    // ----- signalling -----

    pub(crate) fn sdp_offer(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        offer: SdpOffer,
    ) {
        let fail = |code: ErrorCode, msg: String| {
            ServerMessage::SdpAnswer(SdpAnswer {
                result: code.code(),
                msg,
                sdp: String::new(),
            })
        };
        let Some(config) = self.media.config else {
            self.send(
                &caller,
                Some(id),
                fail(
                    ErrorCode::SdpRejected,
                    "media is disabled on this server".into(),
                ),
            );
            return;
        };
        let max = self.settings.max_active_talkers as usize;
        if offer.mids.audio_slots.len() > max {
            let msg = format!("at most {max} audio slots (max_active_talkers)");
            self.send(&caller, Some(id), fail(ErrorCode::SdpRejected, msg));
            return;
        }
        let sdp = match str0m::change::SdpOffer::from_sdp_string(&offer.sdp) {
            Ok(s) => s,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    fail(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        if self.media.sessions.contains_key(&caller) {
            self.reoffer(now, caller, id, sdp, &offer.mids);
            return;
        }
        // ICE credentials must be unguessable (RFC 8445): str0m draws them from its own secure
        // generator (not the family's seeded one); the ufrag is read back for demultiplexing.
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(now);
        match Candidate::host(config.candidate, "udp") {
            Ok(c) => {
                rtc.add_local_candidate(c);
            }
            Err(e) => {
                self.send(&caller, Some(id), {
                    let _ = e;
                    fail(ErrorCode::Internal, ErrorCode::Internal.message().into())
                });
                return;
            }
        }
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let answer = match rtc.sdp_api().accept_offer(sdp) {
            Ok(a) => a,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    fail(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        let mids = resolve_mids(&offer.mids);
        let all: Vec<&Mid> = mids
            .mic
            .iter()
            .chain(mids.share.iter())
            .chain(mids.canvas.iter())
            .chain(mids.audio_slots.iter())
            .chain(mids.share_slot.iter())
            .chain(mids.canvas_slot.iter())
            .collect();
        if let Some(missing) = all.iter().find(|m| rtc.media(***m).is_none()) {
            let msg = format!("SDP offer rejected: mid {missing} is not in the offer");
            self.send(&caller, Some(id), fail(ErrorCode::SdpRejected, msg));
            return;
        }
        let n = mids.audio_slots.len();
        self.media.sessions.insert(
            caller.clone(),
            Session {
                rtc,
                ufrag: ufrag.clone(),
                mids,
                slots: vec![None; n],
                rewrite: vec![Rewrite::default(); n],
                video_src: BTreeMap::new(),
                video_rewrite: BTreeMap::new(),
                loudness: 0.0,
                last_audio: None,
                last_keyframe_request: BTreeMap::new(),
                announced: None,
                timeout: now,
            },
        );
        let ack = SdpAnswer {
            result: 0,
            msg: "Success".into(),
            sdp: answer.to_sdp_string(),
        };
        self.send(&caller, Some(id), ServerMessage::SdpAnswer(ack));
        self.outputs.push_back(Output::IceBound {
            client: caller.clone(),
            ufrag,
        });
        self.drive(&caller, now);
        self.evaluate_talkers(now);
    }

    /// A second offer on a negotiated connection: an ICE restart after a resume (or any
    /// renegotiation that keeps the m-line layout). The slots and routing stay as they are.
    fn reoffer(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        sdp: str0m::change::SdpOffer,
        mids: &MediaMids,
    ) {
        let fail = |code: ErrorCode, msg: String| {
            ServerMessage::SdpAnswer(SdpAnswer {
                result: code.code(),
                msg,
                sdp: String::new(),
            })
        };
        let Some(s) = self.media.sessions.get_mut(&caller) else {
            return;
        };
        let same = resolve_mids(mids);
        if same.mic != s.mids.mic || same.audio_slots != s.mids.audio_slots {
            let code = ErrorCode::MediaAlreadyNegotiated;
            let msg = format!(
                "{}: a new offer must keep the m-line layout",
                code.message()
            );
            self.send(&caller, Some(id), fail(code, msg));
            return;
        }
        let answer = match s.rtc.sdp_api().accept_offer(sdp) {
            Ok(a) => a,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    fail(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        let ufrag = s.rtc.direct_api().local_ice_credentials().ufrag;
        let old = std::mem::replace(&mut s.ufrag, ufrag.clone());
        let ack = SdpAnswer {
            result: 0,
            msg: "Success".into(),
            sdp: answer.to_sdp_string(),
        };
        self.send(&caller, Some(id), ServerMessage::SdpAnswer(ack));
        if old != ufrag {
            self.outputs.push_back(Output::IceUnbound { ufrag: old });
            self.outputs.push_back(Output::IceBound {
                client: caller.clone(),
                ufrag,
            });
        }
        self.media.by_addr.retain(|_, c| c != &caller);
        self.drive(&caller, now);
    }

    pub(crate) fn start_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let ty = match kind {
            Sharing::Share => "startShare",
            Sharing::Canvas => "startCanvas",
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let location = c.location.clone();
        let allowed = match &location {
            Location::Parent => {
                self.settings.mode == RoomMode::Group || c.user.role == Role::Moderator
            }
            Location::Breakout(_) => true,
        } && match (&location, kind) {
            (Location::Parent, Sharing::Share) => self.settings.screen_share,
            (Location::Parent, Sharing::Canvas) => self.settings.canvas,
            (Location::Breakout(r), k) => self
                .breakouts
                .iter()
                .find(|b| &b.id == r)
                .map(|b| {
                    if k == Sharing::Share {
                        b.def.share
                    } else {
                        b.def.canvas
                    }
                })
                .unwrap_or(false),
        };
        let refused = if c.user.role == Role::Viewer {
            Some((ErrorCode::Unauthorized, "Viewers cannot publish".to_owned()))
        } else if !allowed {
            Some((
                ErrorCode::SharingNotAllowed,
                format!("{ty}: not enabled in this room"),
            ))
        } else {
            match self.media.sharing.get(&(kind, location.clone())) {
                Some(other) if other != &caller => Some((
                    ErrorCode::SharingBusy,
                    ErrorCode::SharingBusy.message().to_owned(),
                )),
                _ => None,
            }
        };
        if let Some((code, msg)) = refused {
            self.send(&caller, Some(id), ServerMessage::failure_for(ty, code, msg));
            return;
        }
        let fresh = self
            .media
            .sharing
            .insert((kind, location.clone()), caller.clone())
            .is_none();
        let ack = Status::ok("Success");
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStartShare(ack),
            Sharing::Canvas => ServerMessage::AckStartCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if fresh {
            let n = SharingStarted {
                room_id: self.location_room(&location),
                client_id: caller.clone(),
                name: c_name(self, &caller),
            };
            let msg = match kind {
                Sharing::Share => ServerMessage::ShareStarted(n),
                Sharing::Canvas => ServerMessage::CanvasStarted(n),
            };
            for m in self.members_of(&location) {
                if m != caller {
                    self.send(&m, None, msg.clone());
                }
            }
        }
        self.evaluate_talkers(now);
    }

    pub(crate) fn stop_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let key = self
            .media
            .sharing
            .iter()
            .find(|((k, _), c)| *k == kind && **c == caller)
            .map(|(k, _)| k.clone());
        let ack = match key {
            None => Status::err(ErrorCode::NotSharing),
            Some(_) => Status::ok("Success"),
        };
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStopShare(ack),
            Sharing::Canvas => ServerMessage::AckStopCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if let Some(key) = key {
            self.end_sharing(key, StopReason::Stopped);
            self.evaluate_talkers(now);
        }
    }

    fn end_sharing(&mut self, key: (Sharing, Location), reason: StopReason) {
        let Some(sharer) = self.media.sharing.remove(&key) else {
            return;
        };
        let (kind, location) = key;
        let n = SharingStopped {
            room_id: self.location_room(&location),
            client_id: sharer.clone(),
            reason,
        };
        let msg = match kind {
            Sharing::Share => ServerMessage::ShareStopped(n),
            Sharing::Canvas => ServerMessage::CanvasStopped(n),
        };
        for m in self.members_of(&location) {
            if m != sharer {
                self.send(&m, None, msg.clone());
            }
        }
    }

    /// Called on every route change: shares of clients that left their room end, slots are
    /// re-mapped at once.
    pub(crate) fn media_route_changed(&mut self, client: &ClientId) {
        let here = self.clients.get(client).map(|c| c.location.clone());
        let stale: Vec<(Sharing, Location)> = self
            .media
            .sharing
            .iter()
            .filter(|((_, loc), c)| *c == client && Some(loc) != here.as_ref())
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.end_sharing(key, StopReason::Left);
        }
        if here.is_none() {
            if let Some(s) = self.media.sessions.remove(client) {
                self.outputs
                    .push_back(Output::IceUnbound { ufrag: s.ufrag });
            }
            self.media.fanout.remove(client);
            self.media.last_location.remove(client);
        }
        if let Some(here) = here {
            let moved = self.media.last_location.get(client) != Some(&here);
            let first = !self.media.last_location.contains_key(client);
            self.media
                .last_location
                .insert(client.clone(), here.clone());
            // Entering a room (or connecting) where a share / canvas is running: say so.
            if moved || first {
                for kind in [Sharing::Share, Sharing::Canvas] {
                    let Some(sharer) = self.media.sharing.get(&(kind, here.clone())).cloned()
                    else {
                        continue;
                    };
                    if &sharer == client {
                        continue;
                    }
                    let n = SharingStarted {
                        room_id: self.location_room(&here),
                        client_id: sharer.clone(),
                        name: c_name(self, &sharer),
                    };
                    let msg = match kind {
                        Sharing::Share => ServerMessage::ShareStarted(n),
                        Sharing::Canvas => ServerMessage::CanvasStarted(n),
                    };
                    self.send(client, None, msg);
                }
            }
        }
        if !self.media.sessions.is_empty() {
            // Re-map once, at the end of the current input (a wave of moves is one evaluation).
            self.media.next_talkers = Some(self.last_now());
        }
    }

    /// Runs after every input: due talker evaluation, then pending writes are polled out.
    pub(crate) fn media_after_input(&mut self, now: Instant) {
        if self.media.next_talkers.is_some_and(|t| t <= now) {
            self.evaluate_talkers(now);
        }
        self.flush_dirty(now);
    }

    fn location_room(&self, location: &Location) -> RoomId {
        match location {
            Location::Parent => self.room_id.clone(),
            Location::Breakout(r) => r.clone(),
        }
    }

    fn members_of(&self, location: &Location) -> Vec<ClientId> {
        let mut v: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| &c.location == location)
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    }

    // ----- datagrams and time -----

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

    pub(crate) fn media_timeout(&mut self, now: Instant) {
        let due: Vec<ClientId> = self
            .media
            .sessions
            .iter()
            .filter(|(_, s)| s.timeout <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for c in due {
            if let Some(s) = self.media.sessions.get_mut(&c) {
                if s.rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
                    s.rtc.disconnect();
                }
            }
            self.drive(&c, now);
        }
    }

    fn flush_dirty(&mut self, now: Instant) {
        while let Some(c) = self.media.dirty.pop() {
            self.drive(&c, now);
        }
    }

    /// Polls one session until it wants a timeout; forwards what it received.
    fn drive(&mut self, client: &ClientId, now: Instant) {
        let mut received: Vec<MediaData> = Vec::new();
        let mut keyframe_requests: Vec<(Mid, KeyframeRequestKind)> = Vec::new();
        {
            let Some(s) = self.media.sessions.get_mut(client) else {
                return;
            };
            self.media.dirty.retain(|d| d != client);
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
                            contents: t.contents.to_vec(),
                        });
                    }
                    Ok(str0m::Output::Event(e)) => match e {
                        Event::MediaData(d) => received.push(d),
                        Event::KeyframeRequest(r) => keyframe_requests.push((r.mid, r.kind)),
                        _ => {}
                    },
                    Err(_) => {
                        s.rtc.disconnect();
                    }
                }
            }
        }
        for d in received {
            self.forward(client, now, d);
        }
        for (mid, kind) in keyframe_requests {
            self.forward_keyframe_request(client, mid, kind, now);
        }
    }

    /// Sends one frame from `src` to everyone who should receive it.
    fn forward(&mut self, src: &ClientId, now: Instant, d: MediaData) {
        let Some(c) = self.clients.get(src) else {
            return;
        };
        if c.user.role == Role::Viewer {
            return;
        }
        let location = c.location.clone();
        let Some(s) = self.media.sessions.get_mut(src) else {
            return;
        };
        if Some(d.mid) == s.mids.mic {
            let loud = d
                .ext_vals
                .audio_level
                .map(|l| f32::from(127 + l.max(-127)))
                .unwrap_or(0.0);
            let was_active = s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS);
            s.loudness = 0.8 * s.loudness + 0.2 * loud;
            s.last_audio = Some(now);
            let level = d.ext_vals.audio_level.unwrap_or(-127);
            if !was_active && s.loudness >= f32::from(talkers::ACTIVE_LOUDNESS) {
                // A new speaker: map it without waiting for the next tick.
                self.media.next_talkers = Some(now);
            }
            // Taken out and put back: no allocation per packet.
            let targets = self.media.fanout.remove(src).unwrap_or_default();
            for (rx, slot) in &targets {
                let (rx, slot) = (rx.clone(), *slot);
                let Some(r) = self.media.sessions.get_mut(&rx) else {
                    continue;
                };
                let (Some(mid), Some(rw)) = (
                    r.mids.audio_slots.get(slot).copied(),
                    r.rewrite.get_mut(slot),
                ) else {
                    continue;
                };
                let time = rw.map(src, d.time);
                if let Some(w) = r.rtc.writer(mid) {
                    if let Some(pt) = w.match_params(d.params) {
                        let _ = w.audio_level(level, level > -127).write(
                            pt,
                            d.network_time,
                            time,
                            d.data.clone(),
                        );
                        if !self.media.dirty.contains(&rx) {
                            self.media.dirty.push(rx);
                        }
                    }
                }
            }
            if !targets.is_empty() {
                self.media.fanout.insert(src.clone(), targets);
            }
            return;
        }
        let kind = if Some(d.mid) == s.mids.share {
            Sharing::Share
        } else if Some(d.mid) == s.mids.canvas {
            Sharing::Canvas
        } else {
            return;
        };
        if self.media.sharing.get(&(kind, location.clone())) != Some(src) {
            return;
        }
        if !d.contiguous {
            self.request_keyframe(src, kind, now);
        }
        let receivers: Vec<ClientId> = self
            .media
            .sessions
            .iter()
            .filter(|(_, r)| r.video_src.get(&kind) == Some(src))
            .map(|(c, _)| c.clone())
            .collect();
        for rx in receivers {
            let Some(r) = self.media.sessions.get_mut(&rx) else {
                continue;
            };
            let slot_mid = match kind {
                Sharing::Share => r.mids.share_slot,
                Sharing::Canvas => r.mids.canvas_slot,
            };
            let Some(mid) = slot_mid else { continue };
            let time = r.video_rewrite.entry(kind).or_default().map(src, d.time);
            if let Some(w) = r.rtc.writer(mid) {
                if let Some(pt) = w.match_params(d.params) {
                    let _ = w.write(pt, d.network_time, time, d.data.clone());
                    self.media.dirty.push(rx);
                }
            }
        }
    }

    fn forward_keyframe_request(
        &mut self,
        receiver: &ClientId,
        mid: Mid,
        _kind: KeyframeRequestKind,
        now: Instant,
    ) {
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

    fn request_keyframe(&mut self, src: &ClientId, kind: Sharing, now: Instant) {
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
        if let Some(mut w) = s.rtc.writer(mid) {
            if w.request_keyframe(None, KeyframeRequestKind::Pli).is_ok() {
                s.last_keyframe_request.insert(kind, now);
                self.media.dirty.push(src.clone());
            }
        }
    }

    // ----- who hears whom -----

    /// True when `src`'s audio reaches the parent room.
    fn heard_in_parent(&self, src: &ClientId) -> bool {
        self.clients
            .get(src)
            .is_some_and(|c| !c.paused && !c.muted.audio && c.user.role != Role::Viewer)
    }

    /// The sources `rx` may hear now.
    pub(crate) fn audible_sources(&self, rx: &ClientId) -> Vec<ClientId> {
        let Some(r) = self.clients.get(rx) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for s in self.clients.values() {
            if &s.id == rx || s.user.role == Role::Viewer {
                continue;
            }
            // Break-out rooms are isolated from each other: a receiver in a break-out room hears
            // its own room, plus (when resumed) the sources in the parent — never another
            // break-out room, even one whose member is resumed.
            let in_breakout = matches!(&r.location, Location::Breakout(_));
            let same_breakout = in_breakout && s.location == r.location;
            let parent_source = !in_breakout || s.location == Location::Parent;
            if same_breakout || (!r.paused && parent_source && self.heard_in_parent(&s.id)) {
                out.push(s.id.clone());
            }
        }
        out
    }

    fn evaluate_talkers(&mut self, now: Instant) {
        if self.media.sessions.is_empty() {
            self.media.next_talkers = None;
            return;
        }
        self.media.next_talkers = Some(now + TALKER_INTERVAL);
        // Loudness of every source, decayed when it fell silent.
        let loudness: BTreeMap<ClientId, u8> = self
            .media
            .sessions
            .iter()
            .map(|(c, s)| {
                let fresh = s
                    .last_audio
                    .is_some_and(|t| now.saturating_duration_since(t) < SILENCE_AFTER);
                (
                    c.clone(),
                    if fresh {
                        s.loudness.clamp(0.0, 127.0) as u8
                    } else {
                        0
                    },
                )
            })
            .collect();
        let receivers: Vec<ClientId> = self.media.sessions.keys().cloned().collect();
        let mut fanout_changed = false;
        let mut keyframes: Vec<(ClientId, Sharing)> = Vec::new();
        let mut announce: Vec<(ClientId, RoomId, Vec<Talker>)> = Vec::new();
        for rx in receivers {
            let candidates: Vec<TalkerCandidate<ClientId>> = self
                .audible_sources(&rx)
                .into_iter()
                .filter(|s| {
                    self.media
                        .sessions
                        .get(s)
                        .is_some_and(|x| x.mids.mic.is_some())
                })
                .map(|s| TalkerCandidate {
                    loudness: loudness.get(&s).copied().unwrap_or(0),
                    key: s,
                })
                .collect();
            let location = self.clients.get(&rx).map(|c| c.location.clone());
            let room = location.as_ref().map(|l| self.location_room(l));
            let names: BTreeMap<ClientId, String> = self
                .clients
                .values()
                .map(|c| (c.id.clone(), c.user.name.clone()))
                .collect();
            let Some(s) = self.media.sessions.get_mut(&rx) else {
                continue;
            };
            if talkers::assign(&mut s.slots, &candidates) {
                fanout_changed = true;
            }
            // Share / canvas slot: the current room's sharer (never oneself).
            for kind in [Sharing::Share, Sharing::Canvas] {
                let want = location
                    .as_ref()
                    .and_then(|l| self.media.sharing.get(&(kind, l.clone())))
                    .filter(|c| **c != rx)
                    .cloned();
                if s.video_src.get(&kind) != want.as_ref() {
                    match want {
                        Some(w) => {
                            s.video_src.insert(kind, w.clone());
                            keyframes.push((w, kind));
                        }
                        None => {
                            s.video_src.remove(&kind);
                        }
                    }
                }
            }
            let talkers: Vec<Talker> = s
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, k)| {
                    k.as_ref().map(|k| Talker {
                        client_id: k.clone(),
                        name: names.get(k).cloned().unwrap_or_default(),
                        slot: i as u32,
                    })
                })
                .collect();
            if let Some(room) = room {
                if s.announced.as_ref() != Some(&(room.clone(), talkers.clone())) {
                    s.announced = Some((room.clone(), talkers.clone()));
                    announce.push((rx.clone(), room, talkers));
                }
            }
        }
        if fanout_changed {
            let mut fanout: BTreeMap<ClientId, Vec<(ClientId, usize)>> = BTreeMap::new();
            for (rx, s) in &self.media.sessions {
                for (i, k) in s.slots.iter().enumerate() {
                    if let Some(k) = k {
                        fanout.entry(k.clone()).or_default().push((rx.clone(), i));
                    }
                }
            }
            self.media.fanout = fanout;
        }
        for (rx, room_id, talkers) in announce {
            self.send(
                &rx,
                None,
                ServerMessage::ActiveTalkersUpdated(ActiveTalkersUpdated { room_id, talkers }),
            );
        }
        for (src, kind) in keyframes {
            self.request_keyframe(&src, kind, now);
        }
    }

    /// Test and benchmark view: who is in `rx`'s audio slots.
    pub fn slots_of(&self, rx: &ClientId) -> Vec<Option<ClientId>> {
        self.media
            .sessions
            .get(rx)
            .map(|s| s.slots.clone())
            .unwrap_or_default()
    }

    /// Number of clients with a negotiated peer connection.
    pub fn media_sessions(&self) -> usize {
        self.media.session_count()
    }
}

/// A client-safe text for an SDP error: the parser's first line, without debug detail
/// (parser internals can include memory addresses).
fn sdp_error(detail: &str) -> String {
    let line = detail.lines().next().unwrap_or_default();
    let clean: String = line
        .chars()
        .take_while(|c| *c != '(' && *c != '{')
        .take(120)
        .collect();
    format!("SDP offer rejected: {}", clean.trim())
}

fn c_name(f: &Family, c: &ClientId) -> String {
    f.clients
        .get(c)
        .map(|c| c.user.name.clone())
        .unwrap_or_default()
}

fn resolve_mids(m: &MediaMids) -> Mids {
    Mids {
        mic: mid(&m.mic),
        share: mid(&m.share),
        canvas: mid(&m.canvas),
        audio_slots: m
            .audio_slots
            .iter()
            .map(|s| Mid::from(s.as_str()))
            .collect(),
        share_slot: mid(&m.share_slot),
        canvas_slot: mid(&m.canvas_slot),
    }
}

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
//! (through [`rewrite::Rewrite`]) media time that follows the wall clock. No renegotiation, no
//! ICE or DTLS.
//!
//! Packets are forwarded at the RTP level (str0m's RTP mode): an incoming packet is decrypted
//! once, its payload is shared (`Arc<[u8]>`) by every receiver, and each receiver's slot
//! stream re-encrypts it with the slot's own sequence number, time and SSRC. Nothing is
//! depacketized or re-packetized.
//!
//! The parts: `session.rs` (negotiation), `forward.rs` (datagrams, timers, forwarding,
//! keyframes), `sharing.rs` (screen share and canvas), this file (state, routes, talkers).
//! Everything here is sans-IO: datagrams come in on `Input::Receive`, go out as
//! `Output::Transmit`, and time comes from the inputs.

mod forward;
pub mod rewrite;
mod session;
mod sharing;
pub mod talkers;

use crate::family::Family;
use crate::io::Output;
use alcove_proto::signal::{
    ActiveTalkersUpdated, Location, MediaMids, Role, ServerMessage, Talker,
};
use alcove_proto::{ClientId, RoomId};
use rewrite::Rewrite;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::format::CodecSpec;
use str0m::media::{Mid, Pt};
use str0m::Rtc;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// Audio slot → source; changed only by the talker evaluation.
    slots: Vec<Option<ClientId>>,
    /// Audio slot → its sequence / time rewrite (lives as long as the session).
    rewrite: Vec<Rewrite>,
    /// Source shown in the share / canvas slot.
    video_src: BTreeMap<Sharing, ClientId>,
    video_rewrite: BTreeMap<Sharing, Rewrite>,
    /// The last sequence number received on this client's own share / canvas (to notice a
    /// gap and ask for a keyframe).
    video_in_seq: BTreeMap<Sharing, u64>,
    /// Smoothed loudness of this client's microphone, 0–127.
    loudness: f32,
    last_audio: Option<Instant>,
    last_keyframe_request: BTreeMap<Sharing, Instant>,
    /// The talkers last announced to this client.
    announced: Option<(RoomId, Vec<Talker>)>,
    /// A codec (as a source negotiated it) → this session's payload type for it; filled on
    /// first use, since the two sides of a forward may number a codec differently.
    send_pts: Vec<(CodecSpec, Option<Pt>)>,
    /// When str0m wants to be woken (mirrored in [`MediaState::timers`]).
    timeout: Instant,
    /// Written to since it was last polled (mirrored in [`MediaState::dirty`]).
    dirty: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("ufrag", &self.ufrag)
            .field("slots", &self.slots)
            .finish()
    }
}

impl Session {
    /// This session's payload type for `spec`, if it negotiated that codec.
    fn send_pt(&mut self, spec: CodecSpec) -> Option<Pt> {
        if let Some((_, pt)) = self.send_pts.iter().find(|(s, _)| *s == spec) {
            return *pt;
        }
        let params = str0m::format::PayloadParams::new(Pt::new_with_value(0), None, spec);
        let pt = self.rtc.codec_config().match_params(params).map(|p| p.pt());
        self.send_pts.push((spec, pt));
        pt
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
    fanout: HashMap<ClientId, Vec<(ClientId, usize)>>,
    /// (sharer, kind) → receivers: the share / canvas fan-out, rebuilt with the audio one.
    video_fanout: HashMap<(ClientId, Sharing), Vec<ClientId>>,
    next_talkers: Option<Instant>,
    /// Every session's str0m deadline, earliest first: a timer wakes only the sessions due.
    timers: BTreeSet<(Instant, ClientId)>,
    /// Sessions written to since they were last polled.
    dirty: Vec<ClientId>,
    /// Where each client was at its last route (to tell a mover about running shares once).
    last_location: BTreeMap<ClientId, Location>,
    /// The session each remote address last reached (demultiplexing cache).
    by_addr: HashMap<SocketAddr, ClientId>,
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
        let s = self.timers.first().map(|(t, _)| *t);
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

    /// Records that `client`'s session was written to and must be polled.
    fn mark_dirty(&mut self, client: &ClientId) {
        if let Some(s) = self.sessions.get_mut(client) {
            if !s.dirty {
                s.dirty = true;
                self.dirty.push(client.clone());
            }
        }
    }

    /// Removes a session with its timer entry.
    fn remove_session(&mut self, client: &ClientId) -> Option<Session> {
        let s = self.sessions.remove(client)?;
        self.timers.remove(&(s.timeout, client.clone()));
        Some(s)
    }
}

fn mid(s: &Option<String>) -> Option<Mid> {
    s.as_deref().map(Mid::from)
}

/// One receiver's next audio slots and share / canvas sources, decided before any is applied.
type Plan = (ClientId, Vec<Option<ClientId>>, [Option<ClientId>; 2]);

/// The audible set of one group of receivers: the same location and parent-link state hear
/// the same sources (each minus itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Audience {
    location: Location,
    paused: bool,
}

impl Family {
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
            self.end_sharing(key, alcove_proto::signal::StopReason::Left);
        }
        if here.is_none() {
            if let Some(s) = self.media.remove_session(client) {
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
                self.announce_running_shares(client, &here);
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

    // ----- who hears whom -----

    /// True when `src`'s audio reaches the parent room.
    fn heard_in_parent(&self, src: &ClientId) -> bool {
        self.clients
            .get(src)
            .is_some_and(|c| !c.paused && !c.muted.audio && c.user.role != Role::Viewer)
    }

    /// True when a receiver of `audience` may hear `src` (itself excepted by the caller).
    ///
    /// Break-out rooms are isolated from each other: a receiver in a break-out room hears its
    /// own room, plus (when resumed) the sources in the parent — never another break-out room,
    /// even one whose member is resumed.
    fn audible(&self, audience: &Audience, src: &ClientId) -> bool {
        let Some(s) = self.clients.get(src) else {
            return false;
        };
        if s.user.role == Role::Viewer {
            return false;
        }
        let in_breakout = matches!(audience.location, Location::Breakout(_));
        let same_breakout = in_breakout && s.location == audience.location;
        let parent_source = !in_breakout || s.location == Location::Parent;
        same_breakout || (!audience.paused && parent_source && self.heard_in_parent(src))
    }

    /// Re-maps every receiver's slots. Cost: O(sources) to find the speaking ones, O(speaking)
    /// per distinct audience (a location and parent-link state), and O(slots²) per receiver —
    /// linear in the family's size, not quadratic.
    fn evaluate_talkers(&mut self, now: Instant) {
        if self.media.sessions.is_empty() {
            self.media.next_talkers = None;
            return;
        }
        self.media.next_talkers = Some(now + TALKER_INTERVAL);
        // 1. Who speaks now, loudest first (ties by id, for determinism).
        let mut speaking: Vec<talkers::Candidate<ClientId>> = self
            .media
            .sessions
            .iter()
            .filter(|(_, s)| s.mids.mic.is_some())
            .filter_map(|(c, s)| {
                let l = current_loudness(s, now);
                (l >= talkers::ACTIVE_LOUDNESS).then(|| talkers::Candidate {
                    key: c.clone(),
                    loudness: l,
                })
            })
            .collect();
        speaking.sort_by_key(|c| std::cmp::Reverse(c.loudness));
        let loud: HashMap<&ClientId, u8> = speaking.iter().map(|c| (&c.key, c.loudness)).collect();
        // 2. The speakers each audience may hear (at most slots + 1 are ever looked at: one
        //    may be the receiver itself).
        let max_slots = self
            .media
            .sessions
            .values()
            .map(|s| s.slots.len())
            .max()
            .unwrap_or(0);
        let mut heard_by: HashMap<Audience, Vec<talkers::Candidate<ClientId>>> = HashMap::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(self.media.sessions.len());
        for (rx, s) in &self.media.sessions {
            let Some(c) = self.clients.get(rx) else {
                continue;
            };
            let audience = Audience {
                location: c.location.clone(),
                paused: c.paused,
            };
            let top = heard_by.entry(audience.clone()).or_insert_with(|| {
                speaking
                    .iter()
                    .filter(|c| self.audible(&audience, &c.key))
                    .take(max_slots + 1)
                    .cloned()
                    .collect()
            });
            let active: Vec<talkers::Candidate<ClientId>> =
                top.iter().filter(|c| &c.key != rx).cloned().collect();
            let mut slots = s.slots.clone();
            let keep = |k: &ClientId| {
                k != rx
                    && self.audible(&audience, k)
                    && self
                        .media
                        .sessions
                        .get(k)
                        .is_some_and(|x| x.mids.mic.is_some())
            };
            let loudness_of = |k: &ClientId| loud.get(k).copied().unwrap_or(0);
            // A free slot that carried nothing for the longest (or never) first: the receiver's
            // jitter buffer for it is empty, so a new talker is heard at once (protocol §13.5).
            let free_rank = |i: usize| s.rewrite.get(i).and_then(Rewrite::last_at);
            talkers::assign(&mut slots, keep, &active, loudness_of, free_rank);
            // Share / canvas slot: the current room's sharer (never oneself).
            let video = [Sharing::Share, Sharing::Canvas].map(|kind| {
                self.media
                    .sharing
                    .get(&(kind, c.location.clone()))
                    .filter(|sharer| *sharer != rx)
                    .cloned()
            });
            plans.push((rx.clone(), slots, video));
        }
        let mut fanout_changed = false;
        let mut keyframes: Vec<(ClientId, Sharing)> = Vec::new();
        let mut announce: Vec<(ClientId, RoomId, Vec<Talker>)> = Vec::new();
        for (rx, slots, video) in plans {
            let room = self
                .clients
                .get(&rx)
                .map(|c| self.location_room(&c.location));
            let talkers: Vec<Talker> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, k)| {
                    k.as_ref().map(|k| Talker {
                        client_id: k.clone(),
                        name: self
                            .clients
                            .get(k)
                            .map(|c| c.user.name.clone())
                            .unwrap_or_default(),
                        slot: i as u32,
                    })
                })
                .collect();
            let Some(s) = self.media.sessions.get_mut(&rx) else {
                continue;
            };
            if s.slots != slots {
                s.slots = slots;
                fanout_changed = true;
            }
            for (kind, want) in [Sharing::Share, Sharing::Canvas].into_iter().zip(video) {
                if s.video_src.get(&kind) != want.as_ref() {
                    fanout_changed = true;
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
            if let Some(room) = room {
                let same = s
                    .announced
                    .as_ref()
                    .is_some_and(|(r, t)| *r == room && *t == talkers);
                if !same {
                    s.announced = Some((room.clone(), talkers.clone()));
                    announce.push((rx, room, talkers));
                }
            }
        }
        if fanout_changed {
            self.rebuild_fanout();
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

    /// Rebuilds the source → receivers tables from every session's slots.
    fn rebuild_fanout(&mut self) {
        let mut fanout: HashMap<ClientId, Vec<(ClientId, usize)>> = HashMap::new();
        let mut video: HashMap<(ClientId, Sharing), Vec<ClientId>> = HashMap::new();
        for (rx, s) in &self.media.sessions {
            for (i, k) in s.slots.iter().enumerate() {
                if let Some(k) = k {
                    fanout.entry(k.clone()).or_default().push((rx.clone(), i));
                }
            }
            for (kind, src) in &s.video_src {
                video
                    .entry((src.clone(), *kind))
                    .or_default()
                    .push(rx.clone());
            }
        }
        self.media.fanout = fanout;
        self.media.video_fanout = video;
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

/// A session's microphone loudness now (0 once it has been silent for a while).
fn current_loudness(s: &Session, now: Instant) -> u8 {
    let fresh = s
        .last_audio
        .is_some_and(|t| now.saturating_duration_since(t) < SILENCE_AFTER);
    if fresh {
        s.loudness.clamp(0.0, 127.0) as u8
    } else {
        0
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

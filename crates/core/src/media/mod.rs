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
//! Screen share and canvas go to the members of the sharer's room only. Cameras are
//! forwarded in the parent room only (the seed's rule): a receiver in the parent sees, on its
//! video slots, the most relevant camera publishers in the parent (speakers first, then the
//! pinned ones, then recent speakers); a publisher in a break-out room keeps sending but is forwarded to nobody,
//! and a receiver in a break-out room gets nothing on its video slots. A move is a slot
//! remap: [`talkers::assign`] re-maps a receiver's slots, `activeTalkersUpdated` tells it, the
//! next packet of the new room goes out on the same SSRC with continuous sequence numbers and
//! (through [`rewrite::Rewrite`]) media time that follows the wall clock. No renegotiation, no
//! ICE or DTLS.
//!
//! # Two halves
//!
//! * [`MediaPlane`] (this file) is the family's half: it knows each client's route (where it
//!   is, its parent link — given to it as [`RouteFact`]s by the roster, never read from
//!   roster state), which shard holds each session, the loudness the shards report, who
//!   shares where, and each receiver's slots. Its talker evaluation decides who receives what
//!   and publishes that to every shard as a [`table::RouteTable`].
//! * [`shard::Shard`] holds sessions: datagrams in, RTP forwarded at the packet level (str0m's
//!   RTP mode: decrypted once, the payload shared as an `Arc<[u8]>`, each receiver's slot
//!   stream re-encrypting it with its own sequence number, time and SSRC — for audio slots
//!   the shard writes and seals the packet itself, `srtp.rs`), datagrams out. A
//!   packet whose receivers sit on other shards crosses to each of them once
//!   ([`shard::ShardInput::Forward`]), never through the family.
//!
//! The parts: `shard.rs` (a shard's state and loop), `session.rs` (negotiation),
//! `forward.rs` (datagrams, timers, forwarding, keyframes), `srtp.rs` (the direct audio send
//! path), `table.rs` (the published routes),
//! `rewrite.rs`, `talkers.rs`, this file. Everything is sans-IO.

pub mod congestion;
mod forward;
pub mod layers;
pub mod rewrite;
mod session;
pub mod shard;
mod srtp;
pub mod table;
pub mod talkers;

use alcove_proto::signal::{
    ActiveTalkersUpdated, Location, ServerMessage, Talker, VideoPublisher, VideoSlotsUpdated,
};
use alcove_proto::{ClientId, RoomId};
use shard::{Negotiated, ShardCommand};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use table::RouteTable;

/// How often talker slots are re-evaluated (besides on every route change).
pub const TALKER_INTERVAL: Duration = Duration::from_millis(200);
/// At most one keyframe request per source and kind in this interval.
const KEYFRAME_THROTTLE: Duration = Duration::from_millis(500);

/// Where the family's UDP traffic arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaConfig {
    /// The address given to clients as the ICE host candidate.
    pub candidate: SocketAddr,
    /// The local address of the UDP socket (the `destination` of received datagrams).
    pub local: SocketAddr,
    /// The passive TCP host candidate (ICE over TCP, `--tcp-listen`), if any. Received packets
    /// whose `destination` is this address are TCP (RFC 4571 frames, one packet each); it
    /// must differ from [`MediaConfig::local`].
    pub tcp_candidate: Option<SocketAddr>,
    /// Send audio slots through str0m's send streams instead of the direct path (`srtp.rs`):
    /// slower per packet; kept to compare the two (`--str0m-audio-send`).
    pub str0m_audio: bool,
}

/// Where a family's media shards run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shards {
    /// The family owns this many shards and runs them itself, inline, in index order, as part
    /// of each input (the simulation; deterministic).
    Inline(usize),
    /// This many shards run outside the family (the server: one task each). The family emits
    /// [`crate::Output::ToShard`] and takes [`crate::Input::Media`].
    External(usize),
}

impl Shards {
    /// The number of shards (at least one).
    pub fn count(self) -> usize {
        match self {
            Shards::Inline(n) | Shards::External(n) => n.max(1),
        }
    }
}

impl Default for Shards {
    fn default() -> Self {
        Shards::Inline(1)
    }
}

/// Share or canvas: the two one-at-a-time video kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sharing {
    /// Screen share.
    Share,
    /// Canvas.
    Canvas,
}

/// What the media plane needs to know of a client's place, given by the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteFact {
    /// Where it is.
    pub(crate) location: Location,
    /// Its parent link is paused.
    pub(crate) paused: bool,
    /// Its audio reaches the parent (parent link neither paused nor muted, not a viewer).
    pub(crate) heard_in_parent: bool,
    /// Viewers publish nothing; a client muted by a moderator is heard nowhere.
    pub(crate) viewer: bool,
    /// Display name (for `activeTalkersUpdated`).
    pub(crate) name: String,
    /// Its camera may be shown (not a viewer; a moderator's audio mute does not hide it).
    pub(crate) camera_allowed: bool,
    /// A moderator in the parent listening to this break-out room: it hears the room's members
    /// (on its slots before the parent's).
    pub(crate) listening: Option<Location>,
    /// While listening, the parent is not heard.
    pub(crate) listen_pauses_parent: bool,
    /// Its voice is also heard in this break-out room (talk-in).
    pub(crate) talk_into: Option<Location>,
    /// Its voice reaches these locations on a slot no talker takes over (audio broadcast).
    pub(crate) broadcast: Option<Reach>,
}

/// Where an audio broadcast is heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The parent and every break-out room, also rooms created during the broadcast.
    All,
    /// The parent and these break-out rooms.
    Rooms(Vec<Location>),
}

impl Reach {
    fn covers(&self, l: &Location) -> bool {
        match self {
            Reach::All => true,
            Reach::Rooms(v) => *l == Location::Parent || v.contains(l),
        }
    }
}

/// What a route change means for the roster.
#[derive(Debug, Default)]
pub(crate) struct RouteChange {
    /// Shares the client ran in a room it left (they ended; the roster tells that room).
    pub(crate) ended: Vec<(Sharing, Location, ClientId)>,
    /// The client entered this location (or connected there): tell it of running shares.
    pub(crate) entered: Option<Location>,
}

/// The family's record of one negotiated session.
#[derive(Debug, Clone)]
struct SessionInfo {
    shard: usize,
    has_mic: bool,
    /// Audio slot → source; changed only by the talker evaluation.
    slots: Vec<Option<ClientId>>,
    /// When each slot last lost its source (never: `None`), to rank free slots.
    freed: Vec<Option<Instant>>,
    /// Source shown in the share / canvas slot.
    video_src: BTreeMap<Sharing, ClientId>,
    /// The talkers last announced to this client.
    announced: Option<(RoomId, Vec<Talker>)>,
    /// Video slot → camera publisher; changed only by the talker evaluation.
    video_slots: Vec<Option<ClientId>>,
    /// The video slots last announced to this client.
    announced_video: Option<(RoomId, Vec<VideoPublisher>)>,
}

/// What the media plane asks of the family.
#[derive(Debug)]
pub(crate) enum MediaOut {
    /// Send this notification to a client.
    Send(ClientId, ServerMessage),
    /// Give this command to a shard.
    Shard(usize, ShardCommand),
}

/// One receiver's next audio slots, share / canvas sources and video slots, decided before
/// any is applied.
type Plan = (
    ClientId,
    Vec<Option<ClientId>>,
    [Option<ClientId>; 2],
    Vec<Option<ClientId>>,
);

/// The audible set of one group of receivers: the same location and parent-link state hear
/// the same sources (each minus itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Audience {
    location: Location,
    paused: bool,
    /// Listening to this break-out room from the parent.
    listening: Option<Location>,
    /// The parent paused while listening.
    listen_pauses_parent: bool,
}

/// The family's half of the media plane. See the module documentation.
#[derive(Debug)]
pub(crate) struct MediaPlane {
    config: Option<MediaConfig>,
    shards: usize,
    /// The parent room (a receiver in the parent hears "this room").
    parent: RoomId,
    routes: BTreeMap<ClientId, RouteFact>,
    sessions: BTreeMap<ClientId, SessionInfo>,
    /// Offers sent to a shard and not answered yet (client → shard).
    pending: BTreeMap<ClientId, usize>,
    /// Who shares (screen / canvas) in which room.
    sharing: BTreeMap<(Sharing, Location), ClientId>,
    /// Reported loudness and time of the last audio packet, per microphone.
    loudness: HashMap<ClientId, (u8, Option<Instant>)>,
    /// Cameras that send now, and since when (reported by the shards).
    cameras: BTreeMap<ClientId, Instant>,
    /// When each client was last seen speaking (ranks camera publishers).
    spoke: HashMap<ClientId, Instant>,
    /// The parent room's pinned clients in pin order, as the roster last gave them
    /// ([`MediaPlane::set_pins`]); ranks camera publishers right after the speakers.
    pins: Vec<ClientId>,
    /// The table last published to the shards.
    table: Arc<RouteTable>,
    table_stale: bool,
    next_talkers: Option<Instant>,
    out: VecDeque<MediaOut>,
}

impl MediaPlane {
    pub(crate) fn new(config: Option<MediaConfig>, shards: Shards, parent: RoomId) -> MediaPlane {
        let n = shards.count();
        MediaPlane {
            config,
            shards: n,
            parent,
            routes: BTreeMap::new(),
            sessions: BTreeMap::new(),
            pending: BTreeMap::new(),
            sharing: BTreeMap::new(),
            loudness: HashMap::new(),
            cameras: BTreeMap::new(),
            spoke: HashMap::new(),
            pins: Vec::new(),
            table: Arc::new(RouteTable::empty(n)),
            table_stale: false,
            next_talkers: None,
            out: VecDeque::new(),
        }
    }

    /// The media configuration, when media is enabled.
    pub(crate) fn config(&self) -> Option<MediaConfig> {
        self.config
    }

    /// The earliest time the talker evaluation needs a tick.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next_talkers
    }

    /// True when `client` has a negotiated peer connection.
    pub(crate) fn has_session(&self, client: &ClientId) -> bool {
        self.sessions.contains_key(client)
    }

    /// Number of negotiated sessions.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// `rx`'s audio slots.
    pub(crate) fn slots_of(&self, rx: &ClientId) -> Vec<Option<ClientId>> {
        self.sessions
            .get(rx)
            .map(|s| s.slots.clone())
            .unwrap_or_default()
    }

    /// `setVideoSlot`: hands the slot's rendered height and layer cap to the receiver's shard.
    /// Refused (with the reason) when the client negotiated no such video slot.
    pub(crate) fn set_video_slot(
        &mut self,
        client: &ClientId,
        req: &alcove_proto::signal::SetVideoSlot,
    ) -> Result<(), String> {
        let Some(s) = self.sessions.get(client) else {
            return Err("setVideoSlot: no media negotiated on this connection".to_owned());
        };
        let slot = req.slot as usize;
        if slot >= s.video_slots.len() {
            return Err(format!(
                "setVideoSlot: no video slot {slot} (this connection has {})",
                s.video_slots.len()
            ));
        }
        let pref = layers::SlotPref {
            height: Some(req.height),
            max: req
                .max_layer
                .unwrap_or(alcove_proto::signal::VideoLayer::High),
        };
        self.out.push_back(MediaOut::Shard(
            s.shard,
            ShardCommand::VideoSlot {
                client: client.clone(),
                slot,
                pref,
            },
        ));
        Ok(())
    }

    /// The next thing to do for the family.
    pub(crate) fn pop_out(&mut self) -> Option<MediaOut> {
        self.out.pop_front()
    }

    /// True when the talker evaluation is due at `now`.
    pub(crate) fn talkers_due(&self, now: Instant) -> bool {
        self.next_talkers.is_some_and(|t| t <= now)
    }

    // ----- negotiation -----

    /// Sends `client`'s offer to the shard that holds (or will hold) its session: its own,
    /// else the least loaded.
    pub(crate) fn offer(
        &mut self,
        client: ClientId,
        id: alcove_proto::RequestId,
        sdp: String,
        mids: alcove_proto::signal::MediaMids,
    ) {
        let shard = match self
            .sessions
            .get(&client)
            .map(|s| s.shard)
            .or_else(|| self.pending.get(&client).copied())
        {
            Some(s) => s,
            None => {
                let mut load = vec![0usize; self.shards];
                for s in self.sessions.values() {
                    load[s.shard] += 1;
                }
                for s in self.pending.values() {
                    load[*s] += 1;
                }
                (0..self.shards).min_by_key(|i| (load[*i], *i)).unwrap_or(0)
            }
        };
        if !self.sessions.contains_key(&client) {
            self.pending.insert(client.clone(), shard);
        }
        self.out.push_back(MediaOut::Shard(
            shard,
            ShardCommand::Offer {
                client,
                id,
                sdp,
                mids,
            },
        ));
    }

    /// A shard answered `client`'s offer. A new session counts from now; the answer of a
    /// client that left meanwhile ends the session at once (returns false: no ack to send).
    pub(crate) fn answered(
        &mut self,
        client: &ClientId,
        result: &Result<Negotiated, (alcove_proto::ErrorCode, String)>,
        now: Instant,
    ) -> bool {
        let shard = self.pending.remove(client);
        let Ok(n) = result else {
            return self.routes.contains_key(client);
        };
        if !self.routes.contains_key(client) {
            if let Some(shard) = shard.or_else(|| self.sessions.get(client).map(|s| s.shard)) {
                self.out.push_back(MediaOut::Shard(
                    shard,
                    ShardCommand::Remove {
                        client: client.clone(),
                    },
                ));
            }
            return false;
        }
        if let (Some(shard), false) = (shard, n.renegotiated) {
            self.sessions.insert(
                client.clone(),
                SessionInfo {
                    shard,
                    has_mic: n.has_mic,
                    slots: vec![None; n.audio_slots],
                    freed: vec![None; n.audio_slots],
                    video_src: BTreeMap::new(),
                    announced: None,
                    video_slots: vec![None; n.video_slots],
                    announced_video: None,
                },
            );
            self.table_stale = true;
            self.next_talkers = Some(now);
        }
        true
    }

    /// Loudness reported by a shard; `urgent` when a source just started speaking.
    pub(crate) fn levels(
        &mut self,
        levels: Vec<(ClientId, u8, Option<Instant>)>,
        urgent: bool,
        now: Instant,
    ) {
        for (c, l, at) in levels {
            if self.sessions.contains_key(&c) {
                self.loudness.insert(c, (l, at));
            }
        }
        if urgent && !self.sessions.is_empty() {
            self.next_talkers = Some(self.next_talkers.map_or(now, |t| t.min(now)));
        }
    }

    /// The roster's pin list changed (`pinUsers`, `unpinUsers`, a pinned client left, a
    /// restore): the video slots are re-mapped now.
    pub(crate) fn set_pins(&mut self, pins: Vec<ClientId>, now: Instant) {
        self.pins = pins;
        if !self.sessions.is_empty() {
            self.next_talkers = Some(self.next_talkers.map_or(now, |t| t.min(now)));
        }
    }

    /// Cameras that started or stopped sending, reported by a shard: re-mapped now.
    pub(crate) fn cameras(&mut self, live: Vec<(ClientId, bool)>, now: Instant) {
        for (c, on) in live {
            if on && self.sessions.contains_key(&c) {
                self.cameras.entry(c).or_insert(now);
            } else {
                self.cameras.remove(&c);
            }
        }
        if !self.sessions.is_empty() {
            self.next_talkers = Some(self.next_talkers.map_or(now, |t| t.min(now)));
        }
    }

    // ----- routes -----

    /// `client`'s route changed (`None`: it left the family). Shares it ran in a room it left
    /// end; slots are re-mapped at the end of the current input (a wave of moves is one
    /// evaluation).
    pub(crate) fn route(
        &mut self,
        client: &ClientId,
        fact: Option<RouteFact>,
        now: Instant,
    ) -> RouteChange {
        let here = fact.as_ref().map(|f| f.location.clone());
        let mut change = RouteChange::default();
        let stale: Vec<(Sharing, Location)> = self
            .sharing
            .iter()
            .filter(|((_, loc), c)| *c == client && Some(loc) != here.as_ref())
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(c) = self.sharing.remove(&key) {
                change.ended.push((key.0, key.1, c));
            }
        }
        let before = self.routes.get(client).map(|f| f.location.clone());
        match fact {
            Some(f) => {
                if before.as_ref() != Some(&f.location) {
                    change.entered = Some(f.location.clone());
                }
                self.routes.insert(client.clone(), f);
            }
            None => {
                self.routes.remove(client);
                self.loudness.remove(client);
                self.cameras.remove(client);
                self.spoke.remove(client);
                let shard = self
                    .sessions
                    .remove(client)
                    .map(|s| s.shard)
                    .or_else(|| self.pending.remove(client));
                if let Some(shard) = shard {
                    self.out.push_back(MediaOut::Shard(
                        shard,
                        ShardCommand::Remove {
                            client: client.clone(),
                        },
                    ));
                    self.table_stale = true;
                }
            }
        }
        if !self.sessions.is_empty() {
            self.next_talkers = Some(now);
        }
        change
    }

    // ----- sharing -----

    /// Who shares `kind` in `location`.
    pub(crate) fn sharer(&self, kind: Sharing, location: &Location) -> Option<&ClientId> {
        self.sharing.get(&(kind, location.clone()))
    }

    /// `client` shares `kind` in `location`; false when it already did.
    pub(crate) fn start_sharing(
        &mut self,
        kind: Sharing,
        location: Location,
        client: ClientId,
        now: Instant,
    ) -> bool {
        let fresh = self.sharing.insert((kind, location), client).is_none();
        self.table_stale = true;
        self.next_talkers = Some(now);
        fresh
    }

    /// Ends `client`'s `kind` share wherever it runs; returns where it ran.
    pub(crate) fn stop_sharing(
        &mut self,
        kind: Sharing,
        client: &ClientId,
        now: Instant,
    ) -> Option<Location> {
        let key = self
            .sharing
            .iter()
            .find(|((k, _), c)| *k == kind && *c == client)
            .map(|(k, _)| k.clone())?;
        self.sharing.remove(&key);
        self.table_stale = true;
        self.next_talkers = Some(now);
        Some(key.1)
    }

    // ----- who hears whom -----

    fn location_room(&self, location: &Location) -> RoomId {
        match location {
            Location::Parent => self.parent.clone(),
            Location::Breakout(r) => r.clone(),
        }
    }

    /// True when a receiver of `audience` may hear `src` (itself excepted by the caller).
    ///
    /// Break-out rooms are isolated from each other: a receiver in a break-out room hears its
    /// own room, plus (when resumed) the sources in the parent — never another break-out room,
    /// even one whose member is resumed.
    fn audible(&self, audience: &Audience, src: &ClientId) -> bool {
        let Some(s) = self.routes.get(src) else {
            return false;
        };
        if s.viewer {
            return false;
        }
        if s.broadcast
            .as_ref()
            .is_some_and(|r| r.covers(&audience.location))
        {
            return true;
        }
        let in_breakout = matches!(audience.location, Location::Breakout(_));
        let same_breakout = in_breakout && s.location == audience.location;
        let parent_source = !in_breakout || s.location == Location::Parent;
        let listened = audience.listening.is_some()
            && matches!(s.location, Location::Breakout(_))
            && audience.listening.as_ref() == Some(&s.location);
        let talked_into = s.talk_into.is_some()
            && (s.talk_into.as_ref() == Some(&audience.location)
                || s.talk_into == audience.listening);
        same_breakout
            || listened
            || talked_into
            || (!audience.paused
                && !audience.listen_pauses_parent
                && parent_source
                && s.heard_in_parent)
    }

    fn loudness_now(&self, c: &ClientId, now: Instant) -> u8 {
        match self.loudness.get(c) {
            Some((l, Some(at))) if now.saturating_duration_since(*at) < shard::SILENCE_AFTER => *l,
            _ => 0,
        }
    }

    /// Re-maps every receiver's slots. Cost: O(sources) to find the speaking ones, O(speaking)
    /// per distinct audience (a location and parent-link state), and O(slots²) per receiver —
    /// linear in the family's size, not quadratic. Publishes a new table to every shard when
    /// anything changed.
    pub(crate) fn evaluate_talkers(&mut self, now: Instant) {
        if self.sessions.is_empty() {
            self.next_talkers = None;
            if self.table_stale {
                self.publish();
            }
            return;
        }
        self.next_talkers = Some(now + TALKER_INTERVAL);
        // 1. Who speaks now, loudest first (ties by id, for determinism).
        let mut speaking: Vec<talkers::Candidate<ClientId>> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.has_mic)
            .filter_map(|(c, _)| {
                let l = self.loudness_now(c, now);
                (l >= talkers::ACTIVE_LOUDNESS).then(|| talkers::Candidate {
                    key: c.clone(),
                    loudness: l,
                })
            })
            .collect();
        // A broadcaster holds a slot whether it speaks or not, and no talker takes it over: it
        // ranks above every loudness.
        for (c, r) in &self.routes {
            if r.broadcast.is_some() && self.sessions.get(c).is_some_and(|s| s.has_mic) {
                speaking.retain(|x| &x.key != c);
                speaking.push(talkers::Candidate {
                    key: c.clone(),
                    loudness: u8::MAX,
                });
            }
        }
        speaking.sort_by_key(|c| std::cmp::Reverse(c.loudness));
        for c in &speaking {
            if c.loudness != u8::MAX || self.loudness_now(&c.key, now) >= talkers::ACTIVE_LOUDNESS {
                self.spoke.insert(c.key.clone(), now);
            }
        }
        let loud: HashMap<&ClientId, u8> = speaking.iter().map(|c| (&c.key, c.loudness)).collect();
        // Camera publishers shown in the parent, most relevant first: speaking (loudest
        // first), then pinned (in pin order), then by when they last spoke (most recent
        // first), then by when their camera started (earliest first), then by id
        // (`talkers::rank_cameras`). Cameras are forwarded in the parent only: a pinned client
        // in a break-out room is no candidate.
        let mut shown: Vec<talkers::CameraRank<&ClientId, Instant>> = self
            .cameras
            .iter()
            .filter(|(c, _)| self.sessions.contains_key(*c))
            .filter(|(c, _)| {
                self.routes
                    .get(*c)
                    .is_some_and(|r| r.camera_allowed && r.location == Location::Parent)
            })
            .map(|(c, started)| talkers::CameraRank {
                key: c,
                loudness: self.loudness_now(c, now),
                pinned: self.pins.iter().position(|p| p == c),
                last_spoke: self.spoke.get(c).copied(),
                started: *started,
            })
            .collect();
        talkers::rank_cameras(&mut shown);
        let max_video = self
            .sessions
            .values()
            .map(|s| s.video_slots.len())
            .max()
            .unwrap_or(0);
        let shown: Vec<ClientId> = shown
            .into_iter()
            .take(max_video + 1)
            .map(|c| c.key.clone())
            .collect();
        // 2. The speakers each audience may hear (at most slots + 1 are ever looked at: one
        //    may be the receiver itself).
        let max_slots = self
            .sessions
            .values()
            .map(|s| s.slots.len())
            .max()
            .unwrap_or(0);
        let mut heard_by: HashMap<Audience, Vec<talkers::Candidate<ClientId>>> = HashMap::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(self.sessions.len());
        for (rx, s) in &self.sessions {
            let Some(c) = self.routes.get(rx) else {
                continue;
            };
            let audience = Audience {
                location: c.location.clone(),
                paused: c.paused,
                listening: c.listening.clone(),
                listen_pauses_parent: c.listen_pauses_parent,
            };
            let top = heard_by.entry(audience.clone()).or_insert_with(|| {
                let mut heard: Vec<&talkers::Candidate<ClientId>> = speaking
                    .iter()
                    .filter(|c| self.audible(&audience, &c.key))
                    .collect();
                // Listening: the listened room's talkers before the parent's (stable: loudness
                // order within each).
                if audience.listening.is_some() {
                    heard.sort_by_key(|c| {
                        let from_room = self
                            .routes
                            .get(&c.key)
                            .is_some_and(|r| Some(&r.location) == audience.listening.as_ref());
                        (c.loudness != u8::MAX, !from_room)
                    });
                }
                heard.into_iter().take(max_slots + 1).cloned().collect()
            });
            let active: Vec<talkers::Candidate<ClientId>> =
                top.iter().filter(|c| &c.key != rx).cloned().collect();
            let mut slots = s.slots.clone();
            let keep = |k: &ClientId| {
                k != rx
                    && self.audible(&audience, k)
                    && self.sessions.get(k).is_some_and(|x| x.has_mic)
            };
            let loudness_of = |k: &ClientId| loud.get(k).copied().unwrap_or(0);
            // A free slot that carried nothing for the longest (or never) first: the receiver's
            // jitter buffer for it is empty, so a new talker is heard at once (protocol §13.5).
            let free_rank = |i: usize| s.freed.get(i).copied().flatten();
            talkers::assign(&mut slots, keep, &active, loudness_of, free_rank);
            // Share / canvas slot: the current room's sharer (never oneself).
            // Share / canvas slot: the current room's sharer (never oneself), unless a
            // broadcaster shares in the parent and its broadcast reaches this room: then its
            // share shows in every room it reaches while the broadcast lasts.
            let video = [Sharing::Share, Sharing::Canvas].map(|kind| {
                let broadcast = self
                    .sharing
                    .get(&(kind, Location::Parent))
                    .filter(|sharer| {
                        self.routes.get(*sharer).is_some_and(|r| {
                            r.broadcast.as_ref().is_some_and(|b| b.covers(&c.location))
                        })
                    });
                broadcast
                    .or_else(|| self.sharing.get(&(kind, c.location.clone())))
                    .filter(|sharer| *sharer != rx)
                    .cloned()
            });
            // Video slots: the parent's camera publishers (never oneself); nothing in a
            // break-out room.
            let mut cams = s.video_slots.clone();
            if c.location == Location::Parent {
                let ranked: Vec<ClientId> = shown.iter().filter(|k| *k != rx).cloned().collect();
                talkers::assign_video(&mut cams, &ranked);
            } else {
                cams.iter_mut().for_each(|s| *s = None);
            }
            plans.push((rx.clone(), slots, video, cams));
        }
        let mut keyframes: Vec<(ClientId, Sharing)> = Vec::new();
        let mut announce: Vec<(ClientId, RoomId, Vec<Talker>)> = Vec::new();
        let mut announce_video: Vec<(ClientId, RoomId, Vec<VideoPublisher>)> = Vec::new();
        for (rx, slots, video, cams) in plans {
            let publishers: Vec<VideoPublisher> = cams
                .iter()
                .enumerate()
                .filter_map(|(i, k)| {
                    k.as_ref().map(|k| VideoPublisher {
                        client_id: k.clone(),
                        name: self
                            .routes
                            .get(k)
                            .map(|c| c.name.clone())
                            .unwrap_or_default(),
                        slot: i as u32,
                    })
                })
                .collect();
            let room = self
                .routes
                .get(&rx)
                .map(|c| self.location_room(&c.location));
            let talkers: Vec<Talker> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, k)| {
                    k.as_ref().map(|k| Talker {
                        client_id: k.clone(),
                        name: self
                            .routes
                            .get(k)
                            .map(|c| c.name.clone())
                            .unwrap_or_default(),
                        slot: i as u32,
                    })
                })
                .collect();
            let Some(s) = self.sessions.get_mut(&rx) else {
                continue;
            };
            if s.slots != slots {
                for (i, (old, new)) in s.slots.iter().zip(&slots).enumerate() {
                    if old.is_some() && old != new {
                        s.freed[i] = Some(now);
                    }
                }
                s.slots = slots;
                self.table_stale = true;
            }
            for (kind, want) in [Sharing::Share, Sharing::Canvas].into_iter().zip(video) {
                if s.video_src.get(&kind) != want.as_ref() {
                    self.table_stale = true;
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
            if s.video_slots != cams {
                // The receiver's shard asks a newly shown publisher for a keyframe of the
                // layer it picks (see `layers.rs`).
                s.video_slots = cams;
                self.table_stale = true;
            }
            if let (Some(room), false) = (&room, s.video_slots.is_empty()) {
                let same = s
                    .announced_video
                    .as_ref()
                    .is_some_and(|(r, p)| r == room && *p == publishers);
                if !same {
                    s.announced_video = Some((room.clone(), publishers.clone()));
                    announce_video.push((rx.clone(), room.clone(), publishers));
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
        if self.table_stale {
            self.publish();
        }
        for (rx, room_id, talkers) in announce {
            self.out.push_back(MediaOut::Send(
                rx,
                ServerMessage::ActiveTalkersUpdated(ActiveTalkersUpdated { room_id, talkers }),
            ));
        }
        for (rx, room_id, publishers) in announce_video {
            self.out.push_back(MediaOut::Send(
                rx,
                ServerMessage::VideoSlotsUpdated(VideoSlotsUpdated {
                    room_id,
                    publishers,
                }),
            ));
        }
        for (src, kind) in keyframes {
            if let Some(shard) = self.sessions.get(&src).map(|s| s.shard) {
                self.out.push_back(MediaOut::Shard(
                    shard,
                    ShardCommand::RequestKeyframe { src, kind },
                ));
            }
        }
    }

    /// Builds the table from every session's slots and gives it to every shard.
    fn publish(&mut self) {
        let n = self.shards;
        let mut table = RouteTable::empty(n);
        for (c, s) in &self.sessions {
            table.shard_of.insert(c.clone(), s.shard);
        }
        for ((kind, _), sharer) in &self.sharing {
            if self.sessions.contains_key(sharer) {
                table
                    .video
                    .insert((sharer.clone(), *kind), vec![Vec::new(); n]);
            }
        }
        for (rx, s) in &self.sessions {
            for (i, k) in s.slots.iter().enumerate() {
                if let Some(k) = k {
                    table
                        .audio
                        .entry(k.clone())
                        .or_insert_with(|| vec![Vec::new(); n])[s.shard]
                        .push((rx.clone(), i));
                }
            }
            for (i, k) in s.video_slots.iter().enumerate() {
                if let Some(k) = k {
                    table
                        .camera
                        .entry(k.clone())
                        .or_insert_with(|| vec![Vec::new(); n])[s.shard]
                        .push((rx.clone(), i));
                    table.camera_src.insert((rx.clone(), i), k.clone());
                }
            }
            for (kind, src) in &s.video_src {
                if let Some(lists) = table.video.get_mut(&(src.clone(), *kind)) {
                    lists[s.shard].push(rx.clone());
                }
                table.video_src.insert((rx.clone(), *kind), src.clone());
            }
        }
        self.table = Arc::new(table);
        self.table_stale = false;
        for shard in 0..n {
            self.out.push_back(MediaOut::Shard(
                shard,
                ShardCommand::Table(Arc::clone(&self.table)),
            ));
        }
    }
}

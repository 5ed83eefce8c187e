//! [`Family`]: the state of one parent room and its break-out rooms, the input dispatch, the
//! queries and the invariant check. The break-out operations themselves are in `breakout.rs`.

use crate::io::{CloseReason, Input, NewClient, Output, Route};
use crate::rng::Rng;
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    BreakoutRoomInfo, JoinRole, Location, Muted, RoomConnected, RoomDefinition, RoomSummary,
    ServerFrame, ServerMessage, Status, UserInfo, UserRef,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How a family is set up.
#[derive(Debug, Clone)]
pub struct FamilyConfig {
    /// The parent room's id.
    pub room_id: RoomId,
    /// The parent room's name.
    pub room_name: String,
    /// The parent room's settings.
    pub settings: RoomSettings,
    /// Seed of the family's random generator (break-out ids, create-and-invite assignment,
    /// ICE credentials).
    pub seed: u64,
    /// Where media arrives; `None` disables the media plane (`sdpOffer` is refused).
    pub media: Option<crate::media::MediaConfig>,
    /// How many media shards, run by the family itself or outside it (default: one, inline).
    pub shards: crate::media::Shards,
    /// How long a dropped client keeps its place waiting for a `resume` (default 30 s; zero
    /// makes every drop an immediate leave).
    pub resume_grace: Duration,
    /// The server's clock (Unix milliseconds) at the instant given to [`Family::new`] or
    /// [`Family::restore`]: timers and broadcasts are stamped with absolute server times
    /// derived from it. The shell sets it from its wall clock; the default is a fixed date
    /// (2026-01-01), which keeps simulations reproducible.
    pub epoch_unix_ms: u64,
}

impl FamilyConfig {
    /// A config for room `room_id`.
    pub fn new(room_id: RoomId, room_name: &str, settings: RoomSettings, seed: u64) -> Self {
        FamilyConfig {
            room_id,
            room_name: room_name.to_owned(),
            settings,
            seed,
            media: None,
            shards: crate::media::Shards::default(),
            resume_grace: Duration::from_secs(30),
            epoch_unix_ms: 1_767_225_600_000,
        }
    }
}

/// One connected client.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// Connection order; gives user lists a stable order.
    pub seq: u64,
    pub id: ClientId,
    pub user: NewClient,
    /// Where it is: set to `Parent` at connect, changed only by join / leave / destroy.
    pub location: Location,
    /// Parent link paused: set by join and `pause`, cleared by leave and `resume`.
    pub paused: bool,
    /// Parent link muted: changed by `muteRoom` / `unmuteRoom`, cleared by destroy-all.
    pub muted: Muted,
    /// Set when its connection dropped; cleared by a resume; the client leaves when the grace
    /// period after it runs out.
    pub detached_at: Option<Instant>,
    /// Muted by a moderator (`muteMember`): its audio is forwarded nowhere.
    pub mod_muted: bool,
    /// The moderator who asked it to unmute since it was muted (`askToUnmute`).
    pub unmute_asked_by: Option<UserRef>,
    /// Its pending help request.
    pub help: Option<crate::facilitate::PendingHelp>,
    /// When it sent its recent broadcasts (rate limit).
    pub broadcasts: std::collections::VecDeque<Instant>,
    /// A moderator's listen-in (and talk-in).
    pub listening: Option<crate::listen::Listening>,
    /// A moderator's audio broadcast.
    pub broadcast: Option<crate::listen::Broadcast>,
}

impl Client {
    pub fn user_ref(&self) -> UserRef {
        UserRef {
            client_id: self.id.clone(),
            name: self.user.name.clone(),
        }
    }
}

/// One live break-out room.
#[derive(Debug, Clone)]
pub(crate) struct Breakout {
    pub id: RoomId,
    pub name: String,
    /// The creator; stays owner after it leaves or drops.
    pub owner: UserRef,
    pub def: RoomDefinition,
    /// Members in join order, with the role they joined as.
    pub members: Vec<(ClientId, JoinRole)>,
    /// Pending invitations, in invitation order.
    pub invitations: Vec<ClientId>,
    /// When it was created (for the never-joined timeout).
    pub created_at: Instant,
    /// Someone joined at least once (then it is destroyed when it empties, not on timeout).
    pub ever_joined: bool,
    /// Its timer, if it has one.
    pub timer: Option<crate::facilitate::Timer>,
}

impl Breakout {
    pub fn is_member(&self, c: &ClientId) -> bool {
        self.members.iter().any(|(m, _)| m == c)
    }

    /// Members that count against `participants` (everyone not joined as moderator).
    pub fn counted_members(&self) -> usize {
        self.members
            .iter()
            .filter(|(_, r)| *r == JoinRole::Participant)
            .count()
    }
}

/// The state machine of one family. See the crate documentation for the run-loop contract.
#[derive(Debug)]
pub struct Family {
    pub(crate) room_id: RoomId,
    pub(crate) room_name: String,
    pub(crate) settings: RoomSettings,
    pub(crate) rng: Rng,
    /// See [`FamilyConfig::resume_grace`].
    pub(crate) resume_grace: Duration,
    /// Connected clients by id.
    pub(crate) clients: BTreeMap<ClientId, Client>,
    /// Live break-out rooms in creation order.
    pub(crate) breakouts: Vec<Breakout>,
    /// Next "Breakout N" number; restarts at 1 when no break-out room is live.
    pub(crate) next_number: u32,
    next_seq: u64,
    pub(crate) outputs: VecDeque<Output>,
    /// Bumped by every input that may change break-out state (see `state_version`).
    state_version: u64,
    /// The family's half of the media plane: routes, sessions per shard, talkers, sharing.
    pub(crate) media: crate::media::MediaPlane,
    /// The shards, when the family runs them itself (empty otherwise).
    pub(crate) inline: crate::family_media::InlineShards,
    /// Who gets batched presence, and whose presence changed during the current input.
    pub(crate) presence: crate::presence::Presence,
    /// Pairs of participants (by user key) who were in a break-out room together
    /// (`meet_new`).
    pub(crate) met: std::collections::BTreeSet<(String, String)>,
    /// Where a broadcaster's share / canvas shows in a break-out room (kind, room, sharer), as
    /// last told to the rooms' members.
    pub(crate) broadcast_shares:
        std::collections::BTreeSet<(crate::media::Sharing, RoomId, ClientId)>,
    /// Rooms created, changed or removed during the current input (`breakoutRoomsUpdated`).
    pub(crate) room_list: crate::facilitate::RoomList,
    /// The parent room's pinned clients, first pinned first (`pinUsers`, see `pin.rs`): clients
    /// of the family only, at most `MAX_PINNED`; a client is removed when it leaves the family.
    /// Survives moves, drops and restarts (snapshot).
    pub(crate) pinned: Vec<ClientId>,
    /// An instant and the server's Unix milliseconds at it (see
    /// [`FamilyConfig::epoch_unix_ms`]).
    pub(crate) epoch: (Instant, u64),
    /// The latest time seen (creation time, then every input's `now`).
    last_now: Instant,
    /// Set once the parent ended; every later input is ignored.
    ended: bool,
}

impl Family {
    /// A family with no clients, created at `now`.
    pub fn new(config: FamilyConfig, now: Instant) -> Family {
        Family {
            room_id: config.room_id.clone(),
            room_name: config.room_name,
            settings: config.settings,
            rng: Rng::new(config.seed),
            resume_grace: config.resume_grace,
            clients: BTreeMap::new(),
            breakouts: Vec::new(),
            next_number: 1,
            next_seq: 0,
            outputs: VecDeque::new(),
            media: crate::media::MediaPlane::new(
                config.media,
                config.shards,
                config.room_id.clone(),
            ),
            inline: crate::family_media::InlineShards::new(config.shards, config.media, now),
            presence: crate::presence::Presence::default(),
            room_list: crate::facilitate::RoomList::default(),
            pinned: Vec::new(),
            met: std::collections::BTreeSet::new(),
            broadcast_shares: std::collections::BTreeSet::new(),
            epoch: (now, config.epoch_unix_ms),
            state_version: 0,
            last_now: now,
            ended: false,
        }
    }

    /// Applies one input. Follow with [`Family::poll_output`] until `Output::Timeout`.
    pub fn handle_input(&mut self, input: Input) {
        if self.ended {
            // Time still passes for an ended family, so the deadline it returns moves on and a
            // shell that keeps driving it is not woken again and again at the same instant.
            self.last_now = self.last_now.max(input.now());
            return;
        }
        let changes_state = !matches!(
            input,
            Input::Receive { .. } | Input::Timeout(_) | Input::Media { .. }
        );
        // Media inputs (datagrams, shard reports) change who is where only through the deadlines
        // the step's clock passed (a client or a room gone); see the sweeps below.
        let media_only = matches!(input, Input::Receive { .. } | Input::Media { .. });
        let clients_before = self.clients.len();
        let rooms_before = self.breakouts.len();
        let now = match input {
            Input::Connect {
                now,
                client,
                id,
                user,
                version,
            } => {
                let now = self.tick(now);
                self.connect(now, client, id, user, version);
                now
            }
            Input::Request {
                now,
                client,
                id,
                msg,
            } => {
                let now = self.tick(now);
                if self.clients.contains_key(&client) {
                    self.request(now, client, id, msg);
                }
                now
            }
            Input::Disconnected { now, client } => {
                let now = self.tick(now);
                self.leave_family(client);
                now
            }
            Input::Dropped { now, client } => {
                let now = self.tick(now);
                self.drop_client(now, client);
                now
            }
            Input::Resume {
                now,
                client,
                id,
                version,
            } => {
                let now = self.tick(now);
                self.resume(client, id, version);
                now
            }
            Input::Receive {
                now,
                source,
                destination,
                contents,
            } => {
                let now = self.tick(now);
                self.media_receive(now, source, destination, contents);
                now
            }
            Input::Media { now, event } => {
                let now = self.tick(now);
                self.media_event(now, event);
                now
            }
            Input::PlanLoaded {
                now,
                client,
                id,
                force_join,
                plan,
            } => {
                let now = self.tick(now);
                if self.clients.contains_key(&client) {
                    self.apply_plan(now, client, id, force_join, plan);
                }
                now
            }
            Input::Timeout(now) => {
                let now = self.tick(now);
                self.media_timeout(now);
                now
            }
            Input::End { now } => {
                let now = self.tick(now);
                self.end();
                now
            }
        };
        // Listen-ins and broadcasts that no longer hold end (a media input that removed no
        // client and no room changed neither: not looked at); then the room list and presence
        // batched for this input go out after everything the input caused.
        if !media_only
            || self.clients.len() != clients_before
            || self.breakouts.len() != rooms_before
        {
            self.listen_sweep();
            self.broadcast_share_sweep();
        }
        self.flush_room_list();
        self.flush_presence();
        self.media_after_input(now);
        if changes_state
            || self.clients.len() != clients_before
            || self.breakouts.len() != rooms_before
        {
            self.state_version += 1;
        }
    }

    /// The next output; `Output::Timeout` when there is nothing more to do now.
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        Output::Timeout(self.next_deadline())
    }

    /// The parent room's id.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// Connected clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// True when nobody is connected (the shell may drop the family), or it ended.
    pub fn is_idle(&self) -> bool {
        self.ended || self.clients.is_empty()
    }

    /// True once the parent room ended.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Everyone connected, in connection order, with location and parent-link state.
    pub fn users(&self) -> Vec<UserInfo> {
        let mut v: Vec<&Client> = self.clients.values().collect();
        v.sort_by_key(|c| c.seq);
        v.into_iter().map(user_info).collect()
    }

    /// One user's state.
    pub fn user(&self, client: &ClientId) -> Option<UserInfo> {
        self.clients.get(client).map(user_info)
    }

    /// Live break-out rooms with members and pending invitations, in creation order.
    pub fn breakout_rooms(&self) -> Vec<BreakoutRoomInfo> {
        self.breakouts
            .iter()
            .map(|b| self.breakout_info(b))
            .collect()
    }

    /// The parent room's pinned clients, first pinned first (`pinUsers`; protocol §13.9).
    pub fn pinned(&self) -> &[ClientId] {
        &self.pinned
    }

    /// Checks SPEC §3's invariants; `Err` names the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        for c in self.clients.values() {
            match &c.location {
                Location::Parent => {
                    if let Some(b) = self.breakouts.iter().find(|b| b.is_member(&c.id)) {
                        return Err(format!("{} in parent but member of {}", c.id, b.id));
                    }
                }
                Location::Breakout(r) => {
                    let holders: Vec<&RoomId> = self
                        .breakouts
                        .iter()
                        .filter(|b| b.is_member(&c.id))
                        .map(|b| &b.id)
                        .collect();
                    if holders != vec![r] {
                        return Err(format!("{} located in {r} but member of {holders:?}", c.id));
                    }
                }
            }
        }
        for c in self.clients.values() {
            if let Some(h) = &c.help {
                if c.location != Location::Breakout(h.room.clone()) {
                    return Err(format!(
                        "{} asks for help from {} but is not there",
                        c.id, h.room
                    ));
                }
            }
            if let Some(l) = &c.listening {
                if c.location != Location::Parent {
                    return Err(format!(
                        "{} listens to {} from outside the parent",
                        c.id, l.room
                    ));
                }
                match self.breakouts.iter().find(|b| b.id == l.room) {
                    None => return Err(format!("{} listens to a room that is gone", c.id)),
                    Some(b) if !b.def.allow_listen_in => {
                        return Err(format!("{} listens to {} which forbids it", c.id, b.id))
                    }
                    Some(_) => {}
                }
                if c.user.role != alcove_proto::signal::Role::Moderator {
                    return Err(format!("{} listens but is not a moderator", c.id));
                }
            }
            if c.broadcast.is_some() && c.location != Location::Parent {
                return Err(format!("{} broadcasts from outside the parent", c.id));
            }
            if c.unmute_asked_by.is_some() && !c.mod_muted {
                return Err(format!(
                    "{} asked to unmute but not muted by a moderator",
                    c.id
                ));
            }
        }
        for b in &self.breakouts {
            if b.timer
                .is_some_and(|t| t.warning_at.is_some_and(|w| w > t.ends_at))
            {
                return Err(format!("{} warns after its end", b.id));
            }
            if b.counted_members() > b.def.participants as usize {
                return Err(format!(
                    "{} holds more participants than {}",
                    b.id, b.def.participants
                ));
            }
            for (m, _) in &b.members {
                if !self.clients.contains_key(m) {
                    return Err(format!("{} has member {m} who is not connected", b.id));
                }
            }
            for i in &b.invitations {
                if !self.clients.contains_key(i) {
                    return Err(format!(
                        "{} has invitation for {i} who is not connected",
                        b.id
                    ));
                }
                if b.is_member(i) {
                    return Err(format!("{} has invitation for its member {i}", b.id));
                }
            }
            let mut inv = b.invitations.clone();
            inv.sort();
            inv.dedup();
            if inv.len() != b.invitations.len() {
                return Err(format!("{} has a duplicate invitation", b.id));
            }
            if !b.ever_joined && !b.members.is_empty() {
                return Err(format!("{} has members but never-joined", b.id));
            }
            if b.ever_joined && b.members.is_empty() {
                return Err(format!("{} emptied but not destroyed", b.id));
            }
        }
        if self.pinned.len() > alcove_proto::signal::MAX_PINNED {
            return Err(format!("{} clients pinned", self.pinned.len()));
        }
        for (i, p) in self.pinned.iter().enumerate() {
            if !self.clients.contains_key(p) {
                return Err(format!("{p} is pinned but not in the family"));
            }
            if self.pinned[..i].contains(p) {
                return Err(format!("{p} is pinned twice"));
            }
        }
        let mut ids: Vec<&RoomId> = self.breakouts.iter().map(|b| &b.id).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != self.breakouts.len() {
            return Err("two break-out rooms share an id".into());
        }
        if self.breakouts.len() > self.settings.max_breakout_rooms as usize {
            return Err("more live break-out rooms than the limit".into());
        }
        Ok(())
    }

    // ----- internals shared with breakout.rs -----

    fn tick(&mut self, now: Instant) -> Instant {
        // Time never runs backwards inside the family, whatever the shell feeds.
        let now = now.max(self.last_now);
        self.last_now = now;
        self.expire_never_joined(now);
        self.expire_timers(now);
        self.expire_detached(now);
        now
    }

    pub(crate) fn last_now(&self) -> Instant {
        self.last_now
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub(crate) fn set_next_seq(&mut self, seq: u64) {
        let highest = self.clients.values().map(|c| c.seq + 1).max().unwrap_or(0);
        self.next_seq = seq.max(highest);
    }

    /// Changes whenever the break-out state may have changed (not on media-only inputs): the
    /// shell persists a [`Family::snapshot`] when it moves.
    pub fn state_version(&self) -> u64 {
        self.state_version
    }

    fn next_deadline(&self) -> Instant {
        let grace = self.resume_grace;
        let detached = self
            .clients
            .values()
            .filter_map(|c| c.detached_at.map(|t| t + grace))
            .min();
        let breakouts = match detached {
            Some(d) => d.min(self.breakout_deadline()),
            None => self.breakout_deadline(),
        };
        [
            self.media.next_deadline(),
            self.inline.next_deadline(),
            self.timer_deadline(),
        ]
        .into_iter()
        .flatten()
        .fold(breakouts, Instant::min)
    }

    fn breakout_deadline(&self) -> Instant {
        self.breakouts
            .iter()
            .filter(|b| !b.ever_joined)
            .map(|b| b.created_at + self.empty_timeout())
            .min()
            .unwrap_or(self.last_now + Duration::from_secs(3600))
    }

    pub(crate) fn empty_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.breakout_empty_timeout))
    }

    pub(crate) fn is_moderator(&self, c: &ClientId) -> bool {
        self.clients.get(c).map(|c| c.user.role) == Some(alcove_proto::signal::Role::Moderator)
    }

    pub(crate) fn send(&mut self, to: &ClientId, id: Option<RequestId>, msg: ServerMessage) {
        if self.clients.contains_key(to) {
            self.outputs.push_back(Output::Send {
                to: to.clone(),
                frame: ServerFrame { id, msg },
            });
        }
    }

    /// Connected moderators, in connection order.
    pub(crate) fn moderators(&self) -> Vec<ClientId> {
        let mut v: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| c.user.role == alcove_proto::signal::Role::Moderator)
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    }

    pub(crate) fn route(&mut self, client: &ClientId) {
        let route = match self.clients.get(client) {
            Some(c) => Route {
                client: client.clone(),
                location: Some(c.location.clone()),
                paused: c.paused,
                muted: c.muted,
            },
            None => Route {
                client: client.clone(),
                location: None,
                paused: false,
                muted: Muted::default(),
            },
        };
        self.outputs.push_back(Output::Route(route));
        self.drop_help(client);
        self.media_route_changed(client);
    }

    pub(crate) fn breakout_info(&self, b: &Breakout) -> BreakoutRoomInfo {
        BreakoutRoomInfo {
            room_id: b.id.clone(),
            name: b.name.clone(),
            owner: b.owner.clone(),
            participants: b.def.participants,
            audio: b.def.audio,
            canvas: b.def.canvas,
            share: b.def.share,
            members: b
                .members
                .iter()
                .filter_map(|(m, _)| self.clients.get(m).map(Client::user_ref))
                .collect(),
            invitations: b.invitations.clone(),
            self_select: b.def.self_select,
            ends_at: b.timer.map(|t| self.unix_ms(t.ends_at)),
            warning_at: b.timer.and_then(|t| t.warning_at).map(|w| self.unix_ms(w)),
        }
    }

    fn connect(
        &mut self,
        now: Instant,
        client: ClientId,
        id: RequestId,
        user: NewClient,
        version: u32,
    ) {
        let _ = now;
        if self.clients.contains_key(&client) {
            return;
        }
        use alcove_proto::signal::Role;
        let (same_role, cap) = match user.role {
            Role::Moderator => (
                self.clients
                    .values()
                    .filter(|c| c.user.role == Role::Moderator)
                    .count(),
                self.settings.moderators,
            ),
            Role::Participant | Role::Viewer => (
                self.clients
                    .values()
                    .filter(|c| c.user.role != Role::Moderator)
                    .count(),
                self.settings.participants,
            ),
        };
        if same_role >= cap as usize {
            self.outputs.push_back(Output::Send {
                to: client.clone(),
                frame: ServerFrame {
                    id: Some(id),
                    msg: ServerMessage::Error(Status::err(ErrorCode::RoomFull)),
                },
            });
            self.outputs.push_back(Output::Close {
                client,
                reason: CloseReason::Refused,
            });
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let c = Client {
            seq,
            id: client.clone(),
            user,
            location: Location::Parent,
            paused: false,
            muted: Muted::default(),
            detached_at: None,
            mod_muted: false,
            unmute_asked_by: None,
            help: None,
            broadcasts: crate::facilitate::no_broadcasts(),
            listening: None,
            broadcast: None,
        };
        let info = user_info(&c);
        self.clients.insert(client.clone(), c);
        self.presence.connected(&client, version);
        let connected = RoomConnected {
            result: 0,
            version,
            client_id: client.clone(),
            room: RoomSummary {
                room_id: self.room_id.clone(),
                name: self.room_name.clone(),
                settings: self.settings.clone(),
            },
            users: self.users(),
            breakout_rooms: self.breakout_rooms(),
            invitations: Vec::new(),
            resumed: false,
            media_kept: false,
            resume_token: None,
            server_time: self.unix_ms(now),
            help_requests: if self.is_moderator(&client) {
                self.help_requests()
            } else {
                Vec::new()
            },
            muted_by_moderator: false,
            ice_servers: Vec::new(),
        };
        self.send(&client, Some(id), ServerMessage::RoomConnected(connected));
        self.announce_pins_to(&client);
        self.broadcast_presence(&client, ServerMessage::UserConnected(info));
        self.route(&client);
    }

    /// A dropped connection: keep the place for the grace period.
    fn drop_client(&mut self, now: Instant, client: ClientId) {
        if self.resume_grace.is_zero() {
            self.leave_family(client);
            return;
        }
        if let Some(c) = self.clients.get_mut(&client) {
            if c.detached_at.is_none() {
                c.detached_at = Some(now);
            }
        }
    }

    /// A new connection takes a client's place back.
    fn resume(&mut self, client: ClientId, id: RequestId, version: u32) {
        let Some(c) = self.clients.get_mut(&client) else {
            self.outputs.push_back(Output::Send {
                to: client.clone(),
                frame: ServerFrame {
                    id: Some(id),
                    msg: ServerMessage::Error(Status::err(ErrorCode::ResumeFailed)),
                },
            });
            self.outputs.push_back(Output::Close {
                client,
                reason: CloseReason::Refused,
            });
            return;
        };
        // Also accepted while still attached: the server may learn of the drop after the
        // client did (the shell has already replaced the old connection).
        c.detached_at = None;
        self.presence.connected(&client, version);
        let invitations = self
            .breakouts
            .iter()
            .filter(|b| b.invitations.contains(&client))
            .map(|b| b.id.clone())
            .collect();
        let connected = RoomConnected {
            result: 0,
            version,
            client_id: client.clone(),
            room: RoomSummary {
                room_id: self.room_id.clone(),
                name: self.room_name.clone(),
                settings: self.settings.clone(),
            },
            users: self.users(),
            breakout_rooms: self.breakout_rooms(),
            invitations,
            resumed: true,
            media_kept: self.media.has_session(&client),
            resume_token: None,
            server_time: self.unix_ms(self.last_now),
            help_requests: if self.is_moderator(&client) {
                self.help_requests()
            } else {
                Vec::new()
            },
            muted_by_moderator: self.clients.get(&client).is_some_and(|c| c.mod_muted),
            ice_servers: Vec::new(),
        };
        self.send(&client, Some(id), ServerMessage::RoomConnected(connected));
        self.announce_pins_to(&client);
        self.listen_resumed(&client);
        self.route(&client);
    }

    /// Dropped clients whose grace period is over leave the family.
    fn expire_detached(&mut self, now: Instant) {
        let grace = self.resume_grace;
        let due: Vec<ClientId> = self
            .clients
            .values()
            .filter(|c| c.detached_at.is_some_and(|t| now >= t + grace))
            .map(|c| c.id.clone())
            .collect();
        for c in due {
            self.leave_family(c);
        }
    }

    fn leave_family(&mut self, client: ClientId) {
        let Some(c) = self.clients.get(&client) else {
            return;
        };
        let user = c.user_ref();
        self.listen_leave(&client);
        if let Some(h) = self.clients.get_mut(&client).and_then(|c| c.help.take()) {
            self.help_left(&h.room, &client);
        }
        if let Some(Location::Breakout(r)) = self.clients.get(&client).map(|c| c.location.clone()) {
            self.remove_member(&client, &r);
        }
        for b in &mut self.breakouts {
            b.invitations.retain(|i| i != &client);
        }
        self.clients.remove(&client);
        self.broadcast_presence(&client, ServerMessage::UserDisconnected(user));
        self.route(&client);
        self.unpin_departed(&client);
        self.destroy_emptied();
    }

    fn end(&mut self) {
        let ids: Vec<RoomId> = self.breakouts.iter().map(|b| b.id.clone()).collect();
        for r in ids {
            self.destroy_breakout(&r);
        }
        let mut all: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        all.sort();
        for (_, c) in &all {
            self.send(
                c,
                None,
                ServerMessage::RoomDisconnected(Status::err(ErrorCode::RoomEnded)),
            );
        }
        for (_, c) in all {
            self.clients.remove(&c);
            self.outputs.push_back(Output::Close {
                client: c.clone(),
                reason: CloseReason::RoomEnded,
            });
            self.route(&c);
        }
        self.pinned.clear();
        self.ended = true;
    }

    fn expire_never_joined(&mut self, now: Instant) {
        let timeout = self.empty_timeout();
        let due: Vec<RoomId> = self
            .breakouts
            .iter()
            .filter(|b| !b.ever_joined && now >= b.created_at + timeout)
            .map(|b| b.id.clone())
            .collect();
        for r in due {
            self.destroy_breakout(&r);
        }
    }
}

pub(crate) fn user_info(c: &Client) -> UserInfo {
    UserInfo {
        client_id: c.id.clone(),
        name: c.user.name.clone(),
        role: c.user.role,
        user_ref: c.user.user_ref.clone(),
        data: c.user.data.clone(),
        location: c.location.clone(),
        paused: c.paused,
        muted: c.muted,
    }
}

//! [`World`]: one [`Family`] driven through its run-loop contract by simulated clients on a
//! virtual [`Clock`].
//!
//! The world is the core's only caller in tests (STYLE rule 2). It feeds one [`Input`] at a
//! time, drains [`Output`]s until [`Output::Timeout`], delivers every frame to the addressed
//! client's inbox, and after every step checks:
//!
//! * [`Family::check_invariants`] (SPEC §3's invariants);
//! * every request got exactly one acknowledgement, of its request's type, carrying its id,
//!   sent to the requester only, and before any other frame that request caused the requester;
//! * no frame goes to a client that is unknown or that left the family (closed its connection,
//!   was closed by the core, or stayed detached past the grace period); a frame addressed to a
//!   *detached* client (its connection was lost, [`World::drop_connection`]) is discarded, as
//!   on a real dead socket, and counted ([`World::discarded`]);
//! * a restart ([`World::restart`]) loses nothing: the family rebuilt from its snapshot, after
//!   a JSON round trip, has the same `users()` and `breakout_rooms()`;
//! * the media plane knows where everyone is: the last [`Route`] of every attached client
//!   equals its location and parent link (a detached one's too, unless a restart emptied the
//!   media plane and it was not routed since), and a client that left has a last route with no
//!   location (so nobody receives media from a room they are not in);
//! * the core never asks to be woken in the past.
//!
//! Any broken check panics with a message naming it, which fails the test.
//!
//! What it deliberately does not model: sockets, frame encoding and a lossy network (the core
//! takes decoded requests; encoding is `alcove-proto`'s, tested there).

use crate::clock::Clock;
use alcove_core::{CloseReason, Family, FamilyConfig, Input, NewClient, Output, Route};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    AckListPlans, AckSavePlan, BreakoutRoomInfo, ClientMessage, Location, Muted, Plan, PlanSummary,
    Role, ServerFrame, ServerMessage, UserInfo, UserRef,
};
use alcove_proto::{ClientId, RequestId, RoomId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The protocol version every simulated client negotiates unless it connects with
/// [`World::connect_as`].
pub const SIM_PROTOCOL_VERSION: u32 = 1;

/// What the family asked of its shell about plans (issue 10), as the server's driver gets it.
/// [`World::request`] answers these itself from the world's in-memory plan store, as the
/// server does from SQLite; [`World::request_to_shell`] hands them to the test instead.
#[derive(Debug, Clone, PartialEq)]
pub enum ShellCall {
    /// `Output::SavePlan`: store the plan, answer `ackSavePlan`.
    SavePlan {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// The plan to store.
        plan: Plan,
    },
    /// `Output::ListPlans`: answer `ackListPlans`.
    ListPlans {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
    },
    /// `Output::LoadPlan`: feed `Input::PlanLoaded` back.
    LoadPlan {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// The plan's name.
        name: String,
        /// Echo in `Input::PlanLoaded`.
        force_join: bool,
    },
}

/// Where a simulated client's connection stands.
///
/// In the family: `Connected` and `Detached`. Left it: `Dropped`, `Expired`, `Closed` (a
/// refused connect never was in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// `connect` sent, no answer yet (only inside one step).
    Connecting,
    /// `roomConnected` received.
    Connected,
    /// The core closed the connection.
    Closed(CloseReason),
    /// The client closed its connection on purpose ([`World::drop_client`],
    /// `Input::Disconnected`): it left the family.
    Dropped,
    /// The connection was lost ([`World::drop_connection`], `Input::Dropped`, or every client
    /// at a [`World::restart`]): the client keeps its place, and frames addressed to it are
    /// lost, until it resumes ([`World::resume`]) or the grace period runs out.
    Detached,
    /// A new connection presented the client's resume credential, no answer yet (only inside
    /// one step).
    Resuming,
    /// Detached until the grace period ran out: it left the family (the core routed it
    /// nowhere).
    Expired,
}

/// One simulated client: who it is and what it received.
#[derive(Debug)]
struct SimClient {
    /// Display name.
    name: String,
    /// Role from its token.
    role: Role,
    /// Connection state; frames may only arrive while `Connecting` or `Connected`.
    conn: Connection,
    /// Set once it received `roomConnected`; a client that never joined has no route.
    joined: bool,
    /// Frames received and not yet taken by the test; acknowledgements are removed by the
    /// call that made the request.
    inbox: Vec<ServerFrame>,
    /// Frames addressed to it while detached (lost with the dead connection).
    discarded: u64,
    /// The protocol version it negotiates (on connect and on every resume).
    version: u32,
}

/// A deterministic test world: one family, its clients, a virtual clock.
///
/// Determinism: the only clock read is the one `Instant::now()` in [`World::new`] (an
/// `Instant` cannot be made otherwise); every instant fed to the core is that base plus a
/// virtual offset. Randomness comes only from the family's seed. The same calls with the same
/// seed produce the same frames, in the same order, on every machine.
#[derive(Debug)]
pub struct World {
    clock: Clock,
    /// The family's configuration (a restart rebuilds the family with it, new seed).
    config: FamilyConfig,
    /// Restarts so far (each gives the rebuilt family a new seed, as the server does).
    restarts: u64,
    /// The instant of the last input fed to the family (or of its creation / restore).
    last_input: Instant,
    family: Family,
    /// Every client ever created, by id; ids are `c001`, `c002`, … so map order is creation
    /// order.
    clients: BTreeMap<ClientId, SimClient>,
    next_client: u32,
    next_request: u64,
    /// The instant of the core's last `Output::Timeout`.
    deadline: Instant,
    /// Every route output, in order.
    route_log: Vec<Route>,
    /// The last route per client: what the media plane currently believes.
    routes: BTreeMap<ClientId, Route>,
    /// Plan requests the family handed to its shell during the current step.
    shell_calls: Vec<ShellCall>,
    /// The shell's plan store (the server keeps it in SQLite per app): name → (plan, saved at
    /// in Unix ms).
    plans: BTreeMap<String, (Plan, u64)>,
}

impl World {
    /// A world with a fresh family whose parent room has `settings`, seeded with `seed`, and
    /// the default resume grace period ([`FamilyConfig::resume_grace`], 30 s).
    pub fn new(settings: RoomSettings, seed: u64) -> World {
        let config = FamilyConfig::new(RoomId::from("parent"), "Sim room", settings, seed);
        World::with_config(config)
    }

    /// A world whose dropped clients keep their place for `grace` (zero: a drop is a leave).
    pub fn with_resume_grace(settings: RoomSettings, seed: u64, grace: Duration) -> World {
        let mut config = FamilyConfig::new(RoomId::from("parent"), "Sim room", settings, seed);
        config.resume_grace = grace;
        World::with_config(config)
    }

    fn with_config(config: FamilyConfig) -> World {
        // The one wall-clock read of the simulation: the base of the virtual clock.
        let clock = Clock::starting_at(Instant::now());
        let family = Family::new(config.clone(), clock.now());
        let mut w = World {
            deadline: clock.now(),
            last_input: clock.now(),
            config,
            restarts: 0,
            clock,
            family,
            clients: BTreeMap::new(),
            next_client: 1,
            next_request: 1,
            route_log: Vec::new(),
            routes: BTreeMap::new(),
            shell_calls: Vec::new(),
            plans: BTreeMap::new(),
        };
        w.drain(None);
        w
    }

    /// A world with default settings (group mode, 6 active talkers, 10 rooms, 300 s timeout).
    pub fn with_defaults(seed: u64) -> World {
        World::new(RoomSettings::default(), seed)
    }

    /// The family under test, for queries (`users()`, `breakout_rooms()`, …).
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Virtual time since the world was made.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// The instant the core last asked to be woken at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The instant of the last input the family was fed (or of its creation or restore). It
    /// is behind [`World::now`] after an [`World::advance`] that ended between deadlines.
    pub fn last_input(&self) -> Instant {
        self.last_input
    }

    /// How long a dropped client keeps its place.
    pub fn resume_grace(&self) -> Duration {
        self.config.resume_grace
    }

    /// Server restarts so far ([`World::restart`]).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    // ----- driving -----

    /// Connects a new client; panics if the family refuses it.
    pub fn connect(&mut self, name: &str, role: Role) -> ClientId {
        match self.try_connect(name, role) {
            Ok((id, _)) => id,
            Err(frame) => panic!("connect of {name} ({role:?}) refused: {frame:?}"),
        }
    }

    /// Connects a new client: its id and its `roomConnected` ack, or on refusal the error
    /// frame (the connection is then closed; boxed to keep `Result` small).
    pub fn try_connect(
        &mut self,
        name: &str,
        role: Role,
    ) -> Result<(ClientId, ServerFrame), Box<ServerFrame>> {
        self.try_connect_as(NewClient::new(name, role), SIM_PROTOCOL_VERSION)
    }

    /// Connects a new client with the token's `user` (a `user_ref`, app data) and protocol
    /// `version` (3 gets the room list, `breakoutRoomsUpdated`); panics if refused.
    pub fn connect_as(&mut self, user: NewClient, version: u32) -> ClientId {
        let name = user.name.clone();
        match self.try_connect_as(user, version) {
            Ok((id, _)) => id,
            Err(frame) => panic!("connect of {name} refused: {frame:?}"),
        }
    }

    /// Connects a client with protocol version 3 (it gets `breakoutRoomsUpdated`).
    pub fn connect_v3(&mut self, name: &str, role: Role) -> ClientId {
        self.connect_as(NewClient::new(name, role), 3)
    }

    /// [`World::try_connect`] with the token's `user` and the negotiated protocol `version`.
    pub fn try_connect_as(
        &mut self,
        user: NewClient,
        version: u32,
    ) -> Result<(ClientId, ServerFrame), Box<ServerFrame>> {
        let name = user.name.clone();
        let role = user.role;
        let client = ClientId(format!("c{:03}", self.next_client));
        self.next_client += 1;
        let id = self.next_request_id();
        self.clients.insert(
            client.clone(),
            SimClient {
                name: name.clone(),
                role,
                conn: Connection::Connecting,
                joined: false,
                inbox: Vec::new(),
                discarded: 0,
                version,
            },
        );
        let input = Input::Connect {
            now: self.clock.now(),
            client: client.clone(),
            id,
            user,
            version,
        };
        let ack = self.step_expecting_ack(input, &client, id, "connect");
        match ack.msg {
            ServerMessage::RoomConnected(_) => Ok((client, ack)),
            _ => {
                let c = self.sim(&client);
                assert!(
                    matches!(c.conn, Connection::Closed(CloseReason::Refused)),
                    "refused connect of {client} was not closed: {:?}",
                    c.conn
                );
                Err(Box::new(ack))
            }
        }
    }

    /// Sends one request from `client` and returns its acknowledgement.
    ///
    /// Panics unless exactly one frame carries the request's id, it goes to `client`, it is of
    /// the request's acknowledgement type, and it is the first frame `client` received in this
    /// step. The acknowledgement is taken out of the inbox; notifications stay there.
    pub fn request(&mut self, client: &ClientId, msg: ClientMessage) -> ServerFrame {
        let c = self.sim(client);
        assert_eq!(
            c.conn,
            Connection::Connected,
            "{client} cannot send {}: not connected",
            msg.type_name()
        );
        let id = self.next_request_id();
        let ty = msg.type_name();
        let input = Input::Request {
            now: self.clock.now(),
            client: client.clone(),
            id,
            msg,
        };
        self.step_expecting_ack(input, client, id, ty)
    }

    /// The client closes its connection on purpose (`Input::Disconnected`): it leaves the
    /// family now. (For a lost connection see [`World::drop_connection`].)
    pub fn drop_client(&mut self, client: &ClientId) {
        let c = self.sim_mut(client);
        assert_eq!(
            c.conn,
            Connection::Connected,
            "{client} cannot drop: not connected"
        );
        c.conn = Connection::Dropped;
        let input = Input::Disconnected {
            now: self.clock.now(),
            client: client.clone(),
        };
        let frames = self.step(input);
        assert_no_acks(&frames, "a drop");
    }

    /// The client's connection is lost (`Input::Dropped`): it stays in the family, keeping its
    /// place, and receives nothing (frames to it are discarded) until it resumes; after the
    /// grace period the normal leave applies (the world wakes the core then, see
    /// [`World::advance`], and marks the client [`Connection::Expired`]).
    pub fn drop_connection(&mut self, client: &ClientId) {
        let c = self.sim_mut(client);
        assert_eq!(
            c.conn,
            Connection::Connected,
            "{client} cannot lose its connection: not connected"
        );
        c.conn = Connection::Detached;
        let input = Input::Dropped {
            now: self.clock.now(),
            client: client.clone(),
        };
        let frames = self.step(input);
        assert_no_acks(&frames, "a lost connection");
    }

    /// A new connection of a client that is not attached (detached, or gone: left, expired,
    /// closed) presents its resume credential (`Input::Resume`); returns the answer:
    /// `roomConnected` with `resumed: true` (the client is then [`Connection::Connected`]), or
    /// an error (the connection is then [`Connection::Closed`]). Frames the core addresses to
    /// the client in this step before its answer are discarded (it was still detached); the
    /// answer must be the only acknowledgement.
    pub fn resume(&mut self, client: &ClientId) -> ServerFrame {
        let c = self.sim_mut(client);
        assert!(
            !matches!(
                c.conn,
                Connection::Connected | Connection::Connecting | Connection::Resuming
            ),
            "{client} cannot resume: {:?}",
            c.conn
        );
        c.conn = Connection::Resuming;
        let version = c.version;
        let id = self.next_request_id();
        let input = Input::Resume {
            now: self.clock.now(),
            client: client.clone(),
            id,
            version,
        };
        let ack = self.step_expecting_ack(input, client, id, "connect");
        let conn = self.sim(client).conn;
        match &ack.msg {
            ServerMessage::RoomConnected(rc) => {
                assert!(rc.resumed, "resume of {client} answered without `resumed`");
                assert_eq!(&rc.client_id, client, "resume answered for another client");
                assert_eq!(conn, Connection::Connected);
            }
            _ => assert_eq!(
                conn,
                Connection::Closed(CloseReason::Refused),
                "refused resume of {client} was not closed"
            ),
        }
        ack
    }

    /// The server restarts now: the family is rebuilt with [`Family::restore`] from its
    /// [`Family::snapshot`] after a round trip through JSON (as the server stores it), with a
    /// new seed (the server draws one per family run; with the same seed the rebuilt family
    /// would hand out again the ids of rooms destroyed before the restart, since the snapshot
    /// does not carry the generator's state). Every client in the family is detached
    /// and must [`World::resume`] within the grace period; the media plane starts empty (the
    /// routes of the clients in the family are forgotten). Panics if the rebuilt family's
    /// `users()` or `breakout_rooms()` differ from the old one's.
    ///
    /// The snapshot is taken at [`World::now`], so quiet time since the family's last input
    /// counts towards the rooms' deadlines (see `tests/restart_keeps_room_deadlines.rs`).
    pub fn restart(&mut self) {
        self.restart_after(Duration::ZERO);
    }

    /// The server goes down now and comes back `downtime` later: the snapshot is taken at
    /// [`World::now`], the virtual clock moves on by `downtime` (nothing is fed to the family
    /// meanwhile), and the family is restored with `downtime` as the time since the snapshot,
    /// on a server clock that moved on too (the rebuilt family's epoch is the old one plus the
    /// virtual time passed, as the server reads its wall clock again). Otherwise as
    /// [`World::restart`]; with a downtime the rooms' timers and ages legitimately move, so
    /// only the rooms' ids, names, members and invitations must survive unchanged, and a room
    /// whose timer ran out during the downtime ends at the first step after the restore (fed
    /// here at once, as the server's family task does on its first wake-up).
    pub fn restart_after(&mut self, downtime: Duration) {
        let users = self.family.users();
        let rooms = self.family.breakout_rooms();
        let snapshot = self.family.snapshot(self.clock.now());
        let json = serde_json::to_string(&snapshot).expect("a snapshot serialises");
        let stored = serde_json::from_str(&json).expect("a stored snapshot parses");
        assert_eq!(
            snapshot, stored,
            "the snapshot's JSON round trip loses something"
        );
        self.restarts += 1;
        self.clock.advance(downtime);
        let mut config = self.config.clone();
        config.seed ^= self.restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        config.epoch_unix_ms = self
            .config
            .epoch_unix_ms
            .saturating_add(u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX));
        let now = self.clock.now();
        self.family = Family::restore(config, stored, now, downtime);
        self.last_input = now;
        for (id, c) in self.clients.iter_mut() {
            if matches!(c.conn, Connection::Connected | Connection::Detached) {
                c.conn = Connection::Detached;
                self.routes.remove(id);
            }
        }
        let frames = self.drain(None);
        assert!(frames.is_empty(), "a restore sent frames: {frames:?}");
        assert_eq!(self.family.users(), users, "a restart changed users()");
        // With downtime the server clock moved on: absolute times shift with it (the shell's
        // wall clock at the restore), so they are not compared.
        let strip = |v: Vec<BreakoutRoomInfo>| -> Vec<BreakoutRoomInfo> {
            v.into_iter()
                .map(|mut b| {
                    if !downtime.is_zero() {
                        b.ends_at = None;
                        b.warning_at = None;
                    }
                    b
                })
                .collect()
        };
        let due = self.deadline <= now;
        if !due {
            assert_eq!(
                strip(self.family.breakout_rooms()),
                strip(rooms),
                "a restart changed breakout_rooms()"
            );
        }
        if due {
            // A deadline passed during the downtime (a timer's end or warning): the first
            // wake-up handles it.
            let frames = self.step(Input::Timeout(now));
            assert_no_acks(&frames, "the first wake-up after a restore");
        }
        self.check_invariants();
    }

    /// Wakes the family at the current instant with `Input::Timeout(now)`, before the deadline
    /// it asked for (a spurious timer wake-up: nothing is due, so nothing may happen). Brings
    /// [`World::last_input`] up to [`World::now`].
    pub fn wake_now(&mut self) {
        let now = self.clock.now();
        let frames = self.step(Input::Timeout(now));
        assert!(
            frames.is_empty(),
            "a wake-up before the deadline sent {frames:?}"
        );
    }

    /// The parent room ends (REST delete or shutdown).
    pub fn end_parent(&mut self) {
        let input = Input::End {
            now: self.clock.now(),
        };
        let frames = self.step(input);
        assert_no_acks(&frames, "the end of the parent");
    }

    /// Lets `d` of virtual time pass, waking the core at every instant it asked for on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.clock.now() + d;
        while self.deadline <= target {
            let at = self.deadline;
            self.clock.advance_to(at);
            let frames = self.step(Input::Timeout(at));
            assert_no_acks(&frames, "a timeout");
            assert!(
                self.deadline > at,
                "woken at {at:?}, the core asks again for {:?}",
                self.deadline
            );
        }
        self.clock.advance_to(target);
    }

    // ----- conveniences for set-up (each asserts success) -----

    /// `owner` creates `max_rooms` rooms of `participants` places; returns their ids.
    pub fn create_rooms(
        &mut self,
        owner: &ClientId,
        participants: u32,
        max_rooms: u32,
    ) -> Vec<RoomId> {
        let ack = self.request(owner, crate::req::create(participants, max_rooms));
        assert_eq!(crate::req::result(&ack), 0, "create failed: {ack:?}");
        crate::req::rooms(&ack)
    }

    /// `by` invites `clients` to `room` (no force join); all must be invited.
    pub fn invite_to(&mut self, by: &ClientId, room: &RoomId, clients: &[&ClientId]) {
        let ack = self.request(by, crate::req::invite(room, clients, false));
        match &ack.msg {
            ServerMessage::AckInviteBreakOutRoom(a) if a.result == 0 && a.failed.is_empty() => {}
            _ => panic!("invite failed: {ack:?}"),
        }
    }

    /// `client` joins `room` as a participant; must succeed.
    pub fn join_room(&mut self, client: &ClientId, room: &RoomId) {
        let ack = self.request(
            client,
            crate::req::join(room, alcove_proto::signal::JoinRole::Participant),
        );
        assert!(
            matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
            "join of {client} failed: {ack:?}"
        );
    }

    /// `by` invites `client` to `room`, and `client` joins it.
    pub fn invite_and_join(&mut self, by: &ClientId, client: &ClientId, room: &RoomId) {
        self.invite_to(by, room, &[client]);
        self.join_room(client, room);
    }

    // ----- what clients saw -----

    /// Empties every client's inbox (benchmarks: keeps memory flat).
    pub fn take_all_inboxes(&mut self) {
        for c in self.clients.values_mut() {
            c.inbox.clear();
        }
    }

    /// Takes every frame `client` received since the last take (acknowledgements excepted: the
    /// requesting call returned those).
    pub fn take_inbox(&mut self, client: &ClientId) -> Vec<ServerFrame> {
        std::mem::take(&mut self.sim_mut(client).inbox)
    }

    /// Takes the notifications (frames without an id) `client` received since the last take.
    pub fn notifications(&mut self, client: &ClientId) -> Vec<ServerMessage> {
        let frames = self.take_inbox(client);
        frames
            .into_iter()
            .map(|f| {
                assert!(
                    f.id.is_none(),
                    "{client} holds an unclaimed acknowledgement: {f:?}"
                );
                f.msg
            })
            .collect()
    }

    /// Takes every client's notifications at once (clients with none are included, empty).
    pub fn drain_all(&mut self) -> Inboxes {
        let ids: Vec<ClientId> = self.clients.keys().cloned().collect();
        let mut by_client = BTreeMap::new();
        for id in ids {
            let n = self.notifications(&id);
            by_client.insert(id, n);
        }
        Inboxes { by_client }
    }

    /// Discards every pending notification of every client.
    pub fn clear_inboxes(&mut self) {
        for c in self.clients.values_mut() {
            c.inbox.clear();
        }
    }

    /// Every media routing change the core emitted, in order.
    pub fn route_log(&self) -> &[Route] {
        &self.route_log
    }

    /// The media plane's current routing for `client` (its last route).
    pub fn route(&self, client: &ClientId) -> Option<&Route> {
        self.routes.get(client)
    }

    /// Whether `listener` hears `speaker` under the current routing (SPEC §2–§4): a client
    /// receives media from its own room, plus the parent while its parent link is resumed; a
    /// client's audio reaches its own break-out room, plus the parent while its parent link is
    /// resumed and its audio not muted. A paused client in the parent is out of the parent both
    /// ways.
    pub fn hears(&self, listener: &ClientId, speaker: &ClientId) -> bool {
        if listener == speaker {
            return false;
        }
        let (Some(l), Some(s)) = (self.routes.get(listener), self.routes.get(speaker)) else {
            return false;
        };
        let (Some(l_loc), Some(s_loc)) = (&l.location, &s.location) else {
            return false;
        };
        let receives = |loc: &Location| -> bool {
            match loc {
                Location::Parent => !l.paused,
                b => b == l_loc,
            }
        };
        let reaches = |loc: &Location| -> bool {
            match loc {
                Location::Parent => !s.paused && !s.muted.audio,
                b => b == s_loc,
            }
        };
        let mut rooms = vec![Location::Parent];
        if let Location::Breakout(_) = l_loc {
            rooms.push(l_loc.clone());
        }
        rooms.iter().any(|r| receives(r) && reaches(r))
    }

    // ----- who is who -----

    /// The connection state of `client`.
    pub fn connection(&self, client: &ClientId) -> Connection {
        self.sim(client).conn
    }

    /// Whether `client` is connected now.
    pub fn is_connected(&self, client: &ClientId) -> bool {
        self.sim(client).conn == Connection::Connected
    }

    /// Connected (attached) clients, in connection order.
    pub fn connected(&self) -> Vec<ClientId> {
        self.with_connection(|c| c == Connection::Connected)
    }

    /// Detached clients (connection lost, place kept), in connection order.
    pub fn detached(&self) -> Vec<ClientId> {
        self.with_connection(|c| c == Connection::Detached)
    }

    /// Clients in the family (attached or detached), in connection order.
    pub fn in_family(&self) -> Vec<ClientId> {
        self.with_connection(|c| matches!(c, Connection::Connected | Connection::Detached))
    }

    /// Frames addressed to `client` while it was detached (lost with its connection).
    pub fn discarded(&self, client: &ClientId) -> u64 {
        self.sim(client).discarded
    }

    fn with_connection(&self, f: impl Fn(Connection) -> bool) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|(_, c)| f(c.conn))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The display name `client` connected with.
    pub fn name(&self, client: &ClientId) -> &str {
        &self.sim(client).name
    }

    /// The role `client` connected with.
    pub fn role(&self, client: &ClientId) -> Role {
        self.sim(client).role
    }

    /// `{clientId, name}` of `client`, as notifications name it.
    pub fn user_ref(&self, client: &ClientId) -> UserRef {
        UserRef {
            client_id: client.clone(),
            name: self.name(client).to_owned(),
        }
    }

    /// The family's view of a connected `client` (panics if it is not connected).
    pub fn user(&self, client: &ClientId) -> UserInfo {
        self.family
            .user(client)
            .unwrap_or_else(|| panic!("{client} is not in the family"))
    }

    /// Where `client` is (panics if it is not connected).
    pub fn location(&self, client: &ClientId) -> Location {
        self.user(client).location
    }

    /// A live break-out room, if it is live.
    pub fn breakout(&self, room: &RoomId) -> Option<BreakoutRoomInfo> {
        self.family
            .breakout_rooms()
            .into_iter()
            .find(|b| &b.room_id == room)
    }

    /// Ids of the live break-out rooms, in creation order.
    pub fn live_rooms(&self) -> Vec<RoomId> {
        self.family
            .breakout_rooms()
            .into_iter()
            .map(|b| b.room_id)
            .collect()
    }

    // ----- checks -----

    /// Checks the family's invariants and the world's own (see the module docs); panics with
    /// the first one broken. Runs after every step; tests may call it too.
    pub fn check_invariants(&self) {
        if let Err(e) = self.family.check_invariants() {
            panic!(
                "family invariant broken at +{:?}: {e}",
                self.clock.elapsed()
            );
        }
        let users = self.family.users();
        let family_ids: Vec<&ClientId> = users.iter().map(|u| &u.client_id).collect();
        let in_family = self.in_family();
        let sim_ids: Vec<&ClientId> = in_family.iter().collect();
        assert_eq!(
            family_ids, sim_ids,
            "the family's users are not the connected and detached clients"
        );
        for u in &users {
            let want = Route {
                client: u.client_id.clone(),
                location: Some(u.location.clone()),
                paused: u.paused,
                muted: u.muted,
            };
            let got = self.routes.get(&u.client_id);
            let detached = self.sim(&u.client_id).conn == Connection::Detached;
            assert!(
                got == Some(&want) || (detached && got.is_none()),
                "media routing of {} is stale (a client must receive media only from where it \
                 is): {got:?}, want {want:?}",
                u.client_id
            );
        }
        for (id, c) in &self.clients {
            if c.joined
                && matches!(
                    c.conn,
                    Connection::Dropped | Connection::Expired | Connection::Closed(_)
                )
            {
                let route = self.routes.get(id);
                assert!(
                    matches!(route, Some(Route { location: None, .. })),
                    "{id} left the family but its media route is {route:?}"
                );
            }
        }
        assert!(
            self.deadline > self.clock.now(),
            "the core asks to be woken in the past"
        );
    }

    // ----- internals -----

    fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    fn sim(&self, client: &ClientId) -> &SimClient {
        self.clients
            .get(client)
            .unwrap_or_else(|| panic!("unknown client {client}"))
    }

    fn sim_mut(&mut self, client: &ClientId) -> &mut SimClient {
        self.clients
            .get_mut(client)
            .unwrap_or_else(|| panic!("unknown client {client}"))
    }

    /// One input, drained and checked; returns the frames delivered, in order.
    fn step(&mut self, input: Input) -> Vec<(ClientId, ServerFrame)> {
        self.last_input = input.now();
        self.family.handle_input(input);
        let frames = self.drain(None);
        self.check_invariants();
        frames
    }

    /// A step that must produce exactly one acknowledgement, to `client` with `id`, of the
    /// acknowledgement type of `req_type`, delivered to `client` before anything else this step.
    /// Plan requests the family hands to its shell are served from the world's plan store on
    /// the way, as the server's driver does.
    fn step_expecting_ack(
        &mut self,
        input: Input,
        client: &ClientId,
        id: RequestId,
        req_type: &str,
    ) -> ServerFrame {
        let before = self.sim(client).inbox.len();
        self.last_input = input.now();
        self.family.handle_input(input);
        let mut frames = self.drain(Some((client, id)));
        self.serve_shell(&mut frames);
        self.check_ack(&frames, before, client, id, req_type)
    }

    /// The checks of [`World::step_expecting_ack`] on the frames of one step.
    fn check_ack(
        &mut self,
        frames: &[(ClientId, ServerFrame)],
        before: usize,
        client: &ClientId,
        id: RequestId,
        req_type: &str,
    ) -> ServerFrame {
        let acks: Vec<&(ClientId, ServerFrame)> =
            frames.iter().filter(|(_, f)| f.id.is_some()).collect();
        for (to, f) in &acks {
            assert!(
                to == client && f.id == Some(id),
                "acknowledgement to {to} with id {:?} while handling {req_type} #{id} of {client}: {f:?}",
                f.id
            );
        }
        assert_eq!(
            acks.len(),
            1,
            "{req_type} #{id} of {client} got {} acknowledgements: {acks:?}",
            acks.len()
        );
        let first = frames.iter().find(|(to, _)| to == client);
        assert!(
            matches!(first, Some((_, f)) if f.id == Some(id)),
            "{req_type} #{id} of {client}: a notification reached the caller before its ack: {first:?}"
        );
        let ack = self.sim_mut(client).inbox.remove(before);
        assert_eq!(ack.id, Some(id));
        let allowed = ack_types(req_type);
        assert!(
            allowed.contains(&ack.msg.type_name()),
            "{req_type} acknowledged with {} (expected one of {allowed:?})",
            ack.msg.type_name()
        );
        self.check_invariants();
        ack
    }

    /// The server's wall clock now (Unix ms): the family's epoch plus virtual time.
    pub fn unix_ms(&self) -> u64 {
        self.config
            .epoch_unix_ms
            .saturating_add(u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// `t` (an instant of this world) as the server's Unix ms.
    pub fn unix_ms_at(&self, t: Instant) -> u64 {
        let base = self.clock.now() - self.clock.elapsed();
        self.config.epoch_unix_ms.saturating_add(
            u64::try_from(t.saturating_duration_since(base).as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// Answers the plan requests of this step from the plan store, as the server's driver
    /// does (`ackSavePlan` / `ackListPlans` straight to the moderator; a loaded plan fed back
    /// as `Input::PlanLoaded`, whose frames join `frames`).
    fn serve_shell(&mut self, frames: &mut Vec<(ClientId, ServerFrame)>) {
        while !self.shell_calls.is_empty() {
            for call in std::mem::take(&mut self.shell_calls) {
                match call {
                    ShellCall::SavePlan { client, id, plan } => {
                        let at = self.unix_ms();
                        self.plans.insert(plan.name.clone(), (plan.clone(), at));
                        let msg = ServerMessage::AckSavePlan(AckSavePlan {
                            result: 0,
                            msg: "Success".into(),
                            plan: Some(plan),
                        });
                        self.shell_send(frames, client, id, msg);
                    }
                    ShellCall::ListPlans { client, id } => {
                        let plans = self.stored_plans();
                        let msg = ServerMessage::AckListPlans(AckListPlans {
                            result: 0,
                            msg: "Success".into(),
                            plans,
                        });
                        self.shell_send(frames, client, id, msg);
                    }
                    ShellCall::LoadPlan {
                        client,
                        id,
                        name,
                        force_join,
                    } => {
                        let plan = self.plans.get(&name).map(|(p, _)| p.clone());
                        self.family.handle_input(Input::PlanLoaded {
                            now: self.clock.now(),
                            client: client.clone(),
                            id,
                            force_join,
                            plan,
                        });
                        let more = self.drain(Some((&client, id)));
                        frames.extend(more);
                    }
                }
            }
        }
    }

    fn shell_send(
        &mut self,
        frames: &mut Vec<(ClientId, ServerFrame)>,
        client: ClientId,
        id: RequestId,
        msg: ServerMessage,
    ) {
        let frame = ServerFrame { id: Some(id), msg };
        let c = self.sim_mut(&client);
        if c.conn == Connection::Connected {
            c.inbox.push(frame.clone());
            frames.push((client, frame));
        }
    }

    /// The plans in the shell's store, as `ackListPlans` lists them (by name).
    pub fn stored_plans(&self) -> Vec<PlanSummary> {
        self.plans
            .values()
            .map(|(p, at)| PlanSummary {
                name: p.name.clone(),
                rooms: u32::try_from(p.rooms.len()).unwrap_or(u32::MAX),
                members: u32::try_from(p.rooms.iter().map(|r| r.members.len()).sum::<usize>())
                    .unwrap_or(u32::MAX),
                saved_at: *at,
            })
            .collect()
    }

    /// Puts `plan` into the shell's store directly (as if saved earlier by this app).
    pub fn store_plan(&mut self, plan: Plan) {
        let at = self.unix_ms();
        self.plans.insert(plan.name.clone(), (plan, at));
    }

    /// Sends a plan request (`savePlan`, `listPlans`, `applyPlan`) from `client` and hands what
    /// the family asks of its shell to the test instead of serving it: `Ok(call)` when the
    /// family passed the request to the shell (no frame went out), `Err(ack)` when the family
    /// answered itself (a refusal). Answer a [`ShellCall::LoadPlan`] with
    /// [`World::plan_loaded`].
    pub fn request_to_shell(
        &mut self,
        client: &ClientId,
        msg: ClientMessage,
    ) -> Result<ShellCall, Box<ServerFrame>> {
        assert!(self.is_connected(client), "{client} is not connected");
        let id = self.next_request_id();
        let ty = msg.type_name();
        let before = self.sim(client).inbox.len();
        let input = Input::Request {
            now: self.clock.now(),
            client: client.clone(),
            id,
            msg,
        };
        self.last_input = input.now();
        self.family.handle_input(input);
        let frames = self.drain(Some((client, id)));
        let mut calls = std::mem::take(&mut self.shell_calls);
        if calls.is_empty() {
            return Err(Box::new(self.check_ack(&frames, before, client, id, ty)));
        }
        assert_eq!(calls.len(), 1, "{ty} asked the shell for {calls:?}");
        assert!(
            frames.is_empty(),
            "{ty} handed to the shell and also sent {frames:?}"
        );
        self.check_invariants();
        Ok(calls.remove(0))
    }

    /// The shell's answer to a [`ShellCall::LoadPlan`]: `Input::PlanLoaded` with `plan` (`None`:
    /// the app has no plan of that name); returns the `ackApplyPlan`.
    pub fn plan_loaded(&mut self, call: &ShellCall, plan: Option<Plan>) -> ServerFrame {
        let ShellCall::LoadPlan {
            client,
            id,
            force_join,
            ..
        } = call
        else {
            panic!("not a LoadPlan: {call:?}")
        };
        let input = Input::PlanLoaded {
            now: self.clock.now(),
            client: client.clone(),
            id: *id,
            force_join: *force_join,
            plan,
        };
        let client = client.clone();
        self.step_expecting_ack(input, &client, *id, "applyPlan")
    }

    /// Polls until `Output::Timeout`, delivering frames and recording routes and closes.
    /// `connecting` names the client whose `connect` (or resume) is being answered, and the
    /// request id of the answer.
    fn drain(
        &mut self,
        connecting: Option<(&ClientId, RequestId)>,
    ) -> Vec<(ClientId, ServerFrame)> {
        let mut delivered = Vec::new();
        loop {
            match self.family.poll_output() {
                Output::Send { to, frame } => {
                    let c = self
                        .clients
                        .get_mut(&to)
                        .unwrap_or_else(|| panic!("frame to unknown client {to}: {frame:?}"));
                    let is_our_ack =
                        connecting.is_some_and(|(cl, id)| cl == &to && frame.id == Some(id));
                    match c.conn {
                        Connection::Connected => {}
                        Connection::Connecting => {
                            assert!(
                                is_our_ack,
                                "frame to {to} before its roomConnected: {frame:?}"
                            );
                        }
                        Connection::Detached => {
                            assert!(
                                frame.id.is_none(),
                                "acknowledgement to detached {to}: {frame:?}"
                            );
                            c.discarded += 1;
                            continue;
                        }
                        Connection::Resuming if is_our_ack => {}
                        Connection::Resuming => {
                            // Still detached in the core until its answer: the old connection
                            // is dead and the new one is not attached yet.
                            assert!(
                                frame.id.is_none(),
                                "acknowledgement to resuming {to} that is not its answer: {frame:?}"
                            );
                            c.discarded += 1;
                            continue;
                        }
                        Connection::Closed(_) | Connection::Dropped | Connection::Expired => {
                            panic!(
                                "frame to {to}, which left the family ({:?}): {frame:?}",
                                c.conn
                            )
                        }
                    }
                    if matches!(c.conn, Connection::Connecting | Connection::Resuming) {
                        if let ServerMessage::RoomConnected(_) = frame.msg {
                            c.conn = Connection::Connected;
                            c.joined = true;
                        }
                    }
                    c.inbox.push(frame.clone());
                    delivered.push((to, frame));
                }
                Output::Close { client, reason } => {
                    let c = self
                        .clients
                        .get_mut(&client)
                        .unwrap_or_else(|| panic!("close of unknown client {client}"));
                    assert!(
                        matches!(
                            c.conn,
                            Connection::Connected
                                | Connection::Connecting
                                | Connection::Resuming
                                | Connection::Detached
                        ),
                        "close of {client} whose connection is already {:?}",
                        c.conn
                    );
                    c.conn = Connection::Closed(reason);
                }
                Output::Route(r) => {
                    let c = self
                        .clients
                        .get_mut(&r.client)
                        .unwrap_or_else(|| panic!("route of unknown client {r:?}"));
                    if r.location.is_none() && c.conn == Connection::Detached {
                        // Its grace period ran out: the normal leave.
                        c.conn = Connection::Expired;
                    }
                    self.routes.insert(r.client.clone(), r.clone());
                    self.route_log.push(r);
                }
                Output::Timeout(at) => {
                    self.deadline = at;
                    return delivered;
                }
                Output::SavePlan { client, id, plan } => {
                    self.shell_calls
                        .push(ShellCall::SavePlan { client, id, plan });
                }
                Output::ListPlans { client, id } => {
                    self.shell_calls.push(ShellCall::ListPlans { client, id });
                }
                Output::LoadPlan {
                    client,
                    id,
                    name,
                    force_join,
                } => {
                    self.shell_calls.push(ShellCall::LoadPlan {
                        client,
                        id,
                        name,
                        force_join,
                    });
                }
                // Media-plane outputs (datagrams, ICE bindings) as the core grows them: this
                // world has no network and simulates signalling and routing only, so they are
                // dropped. (Unreachable while the core has no such output.)
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
}

fn assert_no_acks(frames: &[(ClientId, ServerFrame)], what: &str) {
    if let Some((to, f)) = frames.iter().find(|(_, f)| f.id.is_some()) {
        panic!("{what} produced an acknowledgement to {to}: {f:?}");
    }
}

/// The acknowledgement types a request of type `req_type` may be answered with.
pub fn ack_types(req_type: &str) -> &'static [&'static str] {
    match req_type {
        "connect" => &["roomConnected", "error"],
        "createBreakOutRoom" => &["ackCreateBreakOutRoom"],
        "createAndInviteBreakoutRoom" => &["ackCreateAndInviteBreakOutRoom"],
        "inviteToBreakOutRoom" => &["ackInviteBreakOutRoom"],
        "joinBreakoutRoom" => &["connectedBreakoutRoom", "failedJoinBreakOutRoom"],
        "rejectBreakOutRoom" => &["ackRejectBreakoutRoom"],
        "pause" => &["ackPause"],
        "resume" => &["ackResume"],
        "muteRoom" => &["ackMuteRoom"],
        "unmuteRoom" => &["ackUnmuteRoom"],
        "disconnect" | "clearAllBreakOutSession" => &["didDisconnectedBreakoutRoom"],
        "destroyAllBreakOutSession" => &["ackDestroyAllBreakOutSession"],
        "setBreakoutDuration" => &["ackSetBreakoutDuration"],
        "broadcastMessage" => &["ackBroadcastMessage"],
        "requestHelp" => &["ackRequestHelp"],
        "cancelHelp" => &["ackCancelHelp"],
        "dismissHelp" => &["ackDismissHelp"],
        "moveToBreakoutRoom" => &["ackMoveToBreakoutRoom"],
        "setSelfSelect" => &["ackSetSelfSelect"],
        "renameBreakoutRoom" => &["ackRenameBreakoutRoom"],
        "savePlan" => &["ackSavePlan"],
        "listPlans" => &["ackListPlans"],
        "applyPlan" => &["ackApplyPlan"],
        "muteMember" => &["ackMuteMember"],
        "askToUnmute" => &["ackAskToUnmute"],
        "unmuteSelf" => &["ackUnmuteSelf"],
        "listenTo" => &["ackListenTo"],
        "stopListening" => &["ackStopListening"],
        "talkTo" => &["ackTalkTo"],
        "startBroadcast" => &["ackStartBroadcast"],
        "stopBroadcast" => &["ackStopBroadcast"],
        "pinUsers" => &["ackPinUsers"],
        "unpinUsers" => &["ackUnpinUsers"],
        _ => &["error"],
    }
}

/// Every client's notifications, taken at once by [`World::drain_all`], with assertions that
/// name what a user would notice: who got which notification, and how many times.
#[derive(Debug, Default)]
pub struct Inboxes {
    by_client: BTreeMap<ClientId, Vec<ServerMessage>>,
}

impl Inboxes {
    /// What `client` received, in order.
    pub fn of(&self, client: &ClientId) -> &[ServerMessage] {
        self.by_client.get(client).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The `type`s `client` received, in order.
    pub fn types(&self, client: &ClientId) -> Vec<&'static str> {
        self.of(client)
            .iter()
            .map(ServerMessage::type_name)
            .collect()
    }

    /// Messages of `type` `ty` that `client` received, in order.
    pub fn find(&self, client: &ClientId, ty: &str) -> Vec<&ServerMessage> {
        self.of(client)
            .iter()
            .filter(|m| m.type_name() == ty)
            .collect()
    }

    /// The only message of type `ty` that `client` received (panics unless exactly one).
    pub fn one(&self, client: &ClientId, ty: &str) -> &ServerMessage {
        let found = self.find(client, ty);
        assert_eq!(
            found.len(),
            1,
            "{client} received {} `{ty}`: {:?}",
            found.len(),
            self.of(client)
        );
        found[0]
    }

    /// One entry per `ty` message sent, naming its recipient; sorted.
    pub fn recipients(&self, ty: &str) -> Vec<ClientId> {
        let mut v = Vec::new();
        for (c, msgs) in &self.by_client {
            for m in msgs {
                if m.type_name() == ty {
                    v.push(c.clone());
                }
            }
        }
        v.sort();
        v
    }

    /// Asserts that `ty` went to exactly `to` (a client listed twice must get it twice) and to
    /// nobody else.
    pub fn assert_sent(&self, ty: &str, to: &[&ClientId]) {
        let mut want: Vec<ClientId> = to.iter().map(|c| (*c).clone()).collect();
        want.sort();
        assert_eq!(self.recipients(ty), want, "recipients of `{ty}`");
    }

    /// Asserts that nobody received `ty`.
    pub fn assert_none(&self, ty: &str) {
        self.assert_sent(ty, &[]);
    }

    /// Asserts that `client` received exactly the `types`, in this order.
    pub fn assert_types(&self, client: &ClientId, types: &[&str]) {
        assert_eq!(self.types(client), types, "notifications of {client}");
    }

    /// Total notifications taken.
    pub fn len(&self) -> usize {
        self.by_client.values().map(Vec::len).sum()
    }

    /// True when nobody received anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The default parent mute state (nothing muted), for readable assertions.
pub const UNMUTED: Muted = Muted {
    audio: false,
    video: false,
};

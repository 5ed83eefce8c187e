//! Model test of the break-out lifecycle, with lost connections, resumes and server restarts
//! (STYLE tier c).
//!
//! A small reference model, written here in plain Rust and sharing no code with `alcove-core`
//! (only the wire types of `alcove-proto`), predicts for every random operation the
//! acknowledgement (its type and result code, and its whole content where the model can know
//! it), every notification to every client, and the resulting state. Long random sequences of
//! operations (several moderators racing, participants and a viewer; every request type with
//! valid and invalid arguments; leaves; lost connections and resumes; server restarts from the
//! family's snapshot; new connections refused or admitted; virtual time passing the empty-room
//! timeout and the resume grace period; sometimes the end of the parent) are applied to the
//! model and to the real core in a [`World`], and after every step:
//!
//! * the acknowledgement matches the model's (a resume's `roomConnected` whole: its users,
//!   rooms and pending invitations);
//! * every client received exactly the notifications the model predicts (as a multiset per
//!   client: none missing, none extra, none twice);
//! * `users()` and `breakout_rooms()` equal the model's state, and so do the attached and the
//!   detached clients;
//! * `Family::check_invariants` and the world's own checks pass (the `World` runs them after
//!   every step);
//! * over the whole run, nobody is told twice that a room was created or destroyed.
//!
//! The resume semantics the model holds the core to (`alcove_core::Input`, docs/architecture.md
//! "Drops, resume and restarts"): a client whose connection is lost keeps its location, parent
//! link, memberships and invitations and stays in the family (it counts for places, may be
//! invited, force-joined, moved back by destroy-all) but is told nothing until it resumes
//! (frames addressed to it are lost); a resume answers `roomConnected` with `resumed: true`,
//! the current users and rooms and its pending invitations, and tells nobody; when the grace
//! period (`GRACE`) passes the normal leave applies, with the notifications of a leave and the
//! auto-destroy of an emptied room; a resume after that is refused (4108). A restart rebuilds
//! the family from its snapshot (JSON round trip): nothing changes, every client is detached
//! and has the grace period from the restart. Deadlines falling at one instant: rooms nobody
//! joined first, then detached clients in id order.
//!
//! Issue 10's operations are in the generator too: `setBreakoutDuration` (timers, their
//! warnings and their end, as virtual time passes), `requestHelp` / `cancelHelp` /
//! `dismissHelp` (and requests answered by a moderator entering, dropped when the requester
//! leaves), `moveToBreakoutRoom` and the one-step switch of `joinBreakoutRoom` (a move never
//! routes the mover through the parent), `setSelfSelect` (joins without an invitation),
//! `renameBreakoutRoom`, `muteMember` / `askToUnmute` / `unmuteSelf`; after every step
//! [`check_facilitation_invariants`] holds. Every client negotiates protocol version 1, so the
//! room list (`breakoutRoomsUpdated`, version 3) is not part of the model (see
//! `tests/facilitation_rooms.rs`). Issue 14's `pinUsers` / `unpinUsers` are in it as what
//! they are on version 1: refused (5003, else 1155), telling nobody; pinning on version 4 is
//! checked by property in `tests/pin_property.rs`.
//!
//! What the model does not predict it checks by property: room ids (the core draws them from
//! its seeded generator; they must be fresh) and the create-and-invite deal (every eligible
//! participant exactly once, round-robin sizes, `unassigned` only when the rooms are full).
//!
//! Known core finding, kept out of this test: a restart gives rooms nobody joined extra time
//! when the family had no input for a while before it (`tests/restart_keeps_room_deadlines.rs`);
//! the `Restart` operation wakes the family at the current instant first.
//!
//! CI runs `CI_CASES` (2500) sequences of up to 60 operations, about 90 000 steps (about
//! 15 s of CPU in a debug build for this file). A long run, over a million steps
//! (`MODEL_OPS` bounds the operations per sequence; the step count and time are printed):
//!
//! ```sh
//! PROPTEST_CASES=20000 MODEL_OPS=100 cargo test -p alcove-sim --release --test model \
//!     the_core_behaves_like_the_model -- --nocapture
//! ```
//!
//! Last long run (release, 2 vCPU AMD EPYC VM shared with other builds, fuzzers and benches
//! at load 6-12, rustc 1.95): that command passed 20 000 sequences, 1 112 958 steps, in 15.7 s
//! (14.8 s CPU); `PROPTEST_CASES=100000` passed 5 601 744 steps in 107 s (73 s CPU).
//!
//! `MODEL_STATS=1` (with `--nocapture`) prints what the generator reached
//! (`the_generator_reaches_every_outcome`).

use alcove_proto::api::{BreakoutCreators, RoomSettings};
use alcove_proto::signal::{
    AckDestroyAllBreakOutSession, AckInviteBreakOutRoom, AckMuteMember, AckRequestHelp,
    AckSetBreakoutDuration, AskToUnmute, BreakoutInvitationWithdrawn, BreakoutRoomCreated,
    BreakoutRoomInfo, BreakoutRoomInviteRejected, BreakoutRoomInvited, BreakoutTimer,
    BreakoutTimerWarning, ClientMessage, ConnectedBreakoutRoom, DidDisconnectedBreakoutRoom,
    DidUserDisconnectedFromBreakoutRoom, DismissHelp, HelpOutcome, HelpReply, HelpRequest,
    HelpResolved, InvitationForBreakoutRoom, InviteFailure, Invitee, JoinRole, Joinee, LeaveReason,
    Location, MediaFlags, MemberMuted, MoveToBreakoutRoom, Msg, MuteAck, MuteMember, Muted,
    RenameBreakoutRoom, Role, RoomConnected, RoomDefinitionInput, RoomList, RoomRef, RoomSummary,
    ServerFrame, ServerMessage, SetBreakoutDuration, SetSelfSelect, Status, StreamInfo,
    UnmuteAsked, UserInfo, UserJoinedBreakoutRoom, UserMoved, UserMuted, UserPaused, UserRef,
    WithdrawReason,
};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::world::SIM_PROTOCOL_VERSION;
use alcove_sim::World;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

// ----- the parent room the model plays in -----

/// Empty-room timeout, in seconds: short, so that time advances cross it often.
const TIMEOUT: u64 = 30;
/// The server's clock at the start (Unix ms): `FamilyConfig`'s default epoch, which the world
/// keeps across restarts (plus the virtual time passed).
const EPOCH_MS: u64 = 1_767_225_600_000;

/// Seconds since the start as server Unix ms.
fn ms(secs: u64) -> u64 {
    EPOCH_MS + secs * 1000
}
/// Resume grace period, in seconds: unlike `TIMEOUT`, so the two deadlines are told apart.
const GRACE: u64 = 20;
/// `participants` may be 2 or 3.
const TALKERS: u32 = 4;
const MAX_ROOMS: u32 = 5;
const MODERATOR_PLACES: u32 = 3;
const PARTICIPANT_PLACES: u32 = 6;

fn settings(moderators_only: bool) -> RoomSettings {
    RoomSettings {
        max_active_talkers: TALKERS,
        moderators: MODERATOR_PLACES,
        participants: PARTICIPANT_PLACES,
        max_breakout_rooms: MAX_ROOMS,
        breakout_empty_timeout: TIMEOUT as u32,
        breakout_creators: if moderators_only {
            BreakoutCreators::ModeratorsOnly
        } else {
            BreakoutCreators::ModeratorsAndParticipants
        },
        ..RoomSettings::default()
    }
}

// ----- operations -----

/// A room definition, valid or with one mistake.
#[derive(Debug, Clone, Copy)]
enum Def {
    Valid {
        participants: u32,
        max_rooms: u32,
        audio: bool,
        canvas: bool,
        share: bool,
    },
    MissingParticipants,
    ParticipantsOne,
    ParticipantsText,
    OverCapacity,
    /// Index into `audio, video, canvas, share`.
    MissingKey(usize),
    /// Valid, without `max_rooms`: one room (the vendor's default).
    DefaultRooms,
    /// Index into `audio, canvas, share`.
    NotBool(usize),
    Video,
    NoRooms,
}

impl Def {
    fn json(self, force_join: bool) -> Value {
        let mut v = json!({
            "participants": 2, "audio": true, "video": false, "canvas": false, "share": true,
            "max_rooms": 1, "force_join": force_join,
        });
        match self {
            Def::Valid {
                participants,
                max_rooms,
                audio,
                canvas,
                share,
            } => {
                v["participants"] = json!(participants);
                v["max_rooms"] = json!(max_rooms);
                v["audio"] = json!(audio);
                v["canvas"] = json!(canvas);
                v["share"] = json!(share);
            }
            Def::MissingParticipants => {
                v.as_object_mut().map(|m| m.remove("participants"));
            }
            Def::ParticipantsOne => v["participants"] = json!(1),
            Def::ParticipantsText => v["participants"] = json!("2"),
            Def::OverCapacity => v["participants"] = json!(TALKERS),
            Def::MissingKey(k) => {
                let key = ["audio", "video", "canvas", "share"][k % 4];
                v.as_object_mut().map(|m| m.remove(key));
            }
            Def::NotBool(k) => v[["audio", "canvas", "share"][k % 3]] = json!("yes"),
            Def::Video => v["video"] = json!(true),
            Def::NoRooms => v["max_rooms"] = json!(0),
            Def::DefaultRooms => {
                v.as_object_mut().map(|m| m.remove("max_rooms"));
            }
        }
        v
    }

    /// The model's own reading of a definition: the refusal code, or (participants, rooms,
    /// audio, canvas, share).
    fn check(self) -> Result<(u32, u32, bool, bool, bool), ErrorCode> {
        match self {
            Def::Valid {
                participants,
                max_rooms,
                audio,
                canvas,
                share,
            } => Ok((participants, max_rooms, audio, canvas, share)),
            Def::MissingParticipants => Err(ErrorCode::ParticipantsMissing),
            Def::ParticipantsOne | Def::ParticipantsText => Err(ErrorCode::InvalidParameters),
            Def::OverCapacity => Err(ErrorCode::ParticipantsOverCapacity),
            Def::MissingKey(_) => Err(ErrorCode::RequiredParameterMissing),
            Def::NotBool(_) => Err(ErrorCode::InvalidParameters),
            Def::Video => Err(ErrorCode::VideoNotSupported),
            Def::NoRooms => Err(ErrorCode::InvalidParameters),
            Def::DefaultRooms => Ok((2, 1, true, false, true)),
        }
    }
}

/// One random operation. Indices pick among the clients and rooms that exist when the
/// operation runs (modulo their number), so every shrunk sequence is still meaningful.
#[derive(Debug, Clone)]
enum Op {
    Connect(Role),
    /// The client closes its connection (`Input::Disconnected`): it leaves now.
    Leave(usize),
    /// The client's connection is lost (`Input::Dropped`): it keeps its place.
    LoseConnection(usize),
    /// A new connection resumes a client: usually a detached one, sometimes one that is gone.
    Reconnect(usize),
    /// The server restarts from the family's snapshot: everyone detached.
    Restart,
    Create {
        actor: usize,
        def: Def,
        and_invite: bool,
        force_join: bool,
    },
    Invite {
        actor: usize,
        room: usize,
        clients: Vec<usize>,
        force_join: bool,
    },
    Join {
        actor: usize,
        room: usize,
        as_moderator: bool,
        video: bool,
    },
    Reject {
        actor: usize,
        room: usize,
    },
    Pause(usize),
    Resume(usize),
    Mute {
        actor: usize,
        audio: bool,
        video: bool,
    },
    Unmute {
        actor: usize,
        audio: bool,
        video: bool,
    },
    Disconnect {
        actor: usize,
        room: usize,
    },
    ClearAll(usize),
    DestroyAll(usize),
    Advance(u64),
    // --- issue 10 ---
    SetDuration {
        actor: usize,
        room: usize,
        duration: Option<u32>,
        warning: Option<u32>,
    },
    RequestHelp(usize),
    CancelHelp(usize),
    DismissHelp {
        actor: usize,
        target: usize,
    },
    Move {
        actor: usize,
        target: usize,
        room: usize,
    },
    SetSelfSelect {
        actor: usize,
        room: Option<usize>,
        on: bool,
    },
    Rename {
        actor: usize,
        room: usize,
        valid: bool,
    },
    MuteMember {
        actor: usize,
        target: usize,
        by_room: bool,
    },
    AskToUnmute {
        actor: usize,
        target: usize,
    },
    UnmuteSelf(usize),
    // --- issue 14 ---
    /// `pinUsers` / `unpinUsers`: every client here speaks protocol 1, so a moderator is
    /// refused with 1155 (pinning needs protocol 4), anyone else with 5003; nobody is told.
    Pin {
        actor: usize,
        target: usize,
        unpin: bool,
    },
}

fn def_strategy() -> impl Strategy<Value = Def> {
    prop_oneof![
        8 => (2u32..=3, 1u32..=3, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(participants, max_rooms, audio, canvas, share)| Def::Valid {
                participants,
                max_rooms,
                audio,
                canvas,
                share
            }
        ),
        1 => Just(Def::MissingParticipants),
        1 => Just(Def::ParticipantsOne),
        1 => Just(Def::ParticipantsText),
        1 => Just(Def::OverCapacity),
        1 => (0usize..4).prop_map(Def::MissingKey),
        1 => Just(Def::DefaultRooms),
        1 => (0usize..3).prop_map(Def::NotBool),
        1 => Just(Def::Video),
        1 => Just(Def::NoRooms),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        2 => prop_oneof![Just(Role::Moderator), Just(Role::Participant), Just(Role::Viewer)].prop_map(Op::Connect),
        1 => i().prop_map(Op::Leave),
        3 => i().prop_map(Op::LoseConnection),
        4 => i().prop_map(Op::Reconnect),
        1 => Just(Op::Restart),
        8 => (i(), def_strategy(), any::<bool>(), any::<bool>())
            .prop_map(|(actor, def, and_invite, force_join)| Op::Create { actor, def, and_invite, force_join }),
        8 => (i(), i(), prop::collection::vec(i(), 0..4), any::<bool>())
            .prop_map(|(actor, room, clients, force_join)| Op::Invite { actor, room, clients, force_join }),
        12 => (i(), i(), any::<bool>(), prop::bool::weighted(0.05))
            .prop_map(|(actor, room, as_moderator, video)| Op::Join { actor, room, as_moderator, video }),
        3 => (i(), i()).prop_map(|(actor, room)| Op::Reject { actor, room }),
        2 => i().prop_map(Op::Pause),
        2 => i().prop_map(Op::Resume),
        2 => (i(), any::<bool>(), any::<bool>()).prop_map(|(actor, audio, video)| Op::Mute { actor, audio, video }),
        2 => (i(), any::<bool>(), any::<bool>()).prop_map(|(actor, audio, video)| Op::Unmute { actor, audio, video }),
        5 => (i(), i()).prop_map(|(actor, room)| Op::Disconnect { actor, room }),
        2 => i().prop_map(Op::ClearAll),
        1 => i().prop_map(Op::DestroyAll),
        4 => (
            i(),
            i(),
            prop_oneof![
                1 => Just(None),
                1 => Just(Some(0u32)),
                4 => prop_oneof![Just(Some(5u32)), Just(Some(12)), Just(Some(40)), Just(Some(90))],
                1 => Just(Some(86_401u32)),
            ],
            prop_oneof![Just(None), Just(Some(0u32)), Just(Some(3)), Just(Some(20)), Just(Some(100)), Just(Some(86_401))],
        )
            .prop_map(|(actor, room, duration, warning)| Op::SetDuration { actor, room, duration, warning }),
        3 => i().prop_map(Op::RequestHelp),
        1 => i().prop_map(Op::CancelHelp),
        1 => (i(), i()).prop_map(|(actor, target)| Op::DismissHelp { actor, target }),
        5 => (i(), i(), i()).prop_map(|(actor, target, room)| Op::Move { actor, target, room }),
        2 => (i(), prop::option::weighted(0.7, i()), any::<bool>())
            .prop_map(|(actor, room, on)| Op::SetSelfSelect { actor, room, on }),
        1 => (i(), i(), prop::bool::weighted(0.8)).prop_map(|(actor, room, valid)| Op::Rename { actor, room, valid }),
        2 => (i(), i(), prop::bool::weighted(0.3))
            .prop_map(|(actor, target, by_room)| Op::MuteMember { actor, target, by_room }),
        2 => (i(), i()).prop_map(|(actor, target)| Op::AskToUnmute { actor, target }),
        2 => i().prop_map(Op::UnmuteSelf),
        1 => (i(), i(), any::<bool>()).prop_map(|(actor, target, unpin)| Op::Pin { actor, target, unpin }),
        4 => prop_oneof![
            4 => prop_oneof![Just(1u64), Just(5), Just(10)],
            2 => prop_oneof![Just(TIMEOUT - 1), Just(TIMEOUT), Just(TIMEOUT + 1)],
            2 => prop_oneof![Just(GRACE - 1), Just(GRACE), Just(GRACE + 1)],
            1 => Just(120u64),
        ]
        .prop_map(Op::Advance),
    ]
}

// ----- the reference model -----

#[derive(Debug, Clone)]
struct MClient {
    id: ClientId,
    name: String,
    role: Role,
    location: Location,
    paused: bool,
    muted: Muted,
    /// When its connection was lost (seconds since the start); `None` while attached.
    detached_at: Option<u64>,
    /// Muted by a moderator (`muteMember`).
    mod_muted: bool,
    /// The moderator who asked it to unmute since it was muted.
    asked_by: Option<UserRef>,
    /// Its pending help request: the room and when (seconds).
    help: Option<(RoomId, u64)>,
}

/// A room's timer, in seconds since the start.
#[derive(Debug, Clone, Copy)]
struct MTimer {
    ends_at: u64,
    warning_at: Option<u64>,
    warned: bool,
}

impl MTimer {
    /// `duration` from `now`, warning `warning` (default 60) before the end, at once when the
    /// warning is not shorter than the duration; 0: no warning.
    fn new(now: u64, duration: u32, warning: Option<u32>) -> MTimer {
        let ends_at = now + u64::from(duration);
        let w = u64::from(warning.unwrap_or(60));
        MTimer {
            ends_at,
            warning_at: (w > 0).then(|| ends_at.saturating_sub(w).max(now)),
            warned: false,
        }
    }

    /// When it next needs the family woken.
    fn deadline(&self) -> u64 {
        match self.warning_at {
            Some(w) if !self.warned => w.min(self.ends_at),
            _ => self.ends_at,
        }
    }
}

#[derive(Debug, Clone)]
struct MRoom {
    id: RoomId,
    name: String,
    owner: UserRef,
    participants: u32,
    audio: bool,
    canvas: bool,
    share: bool,
    /// Members in join order, with the role they joined as.
    members: Vec<(ClientId, JoinRole)>,
    invitations: Vec<ClientId>,
    /// Seconds since the start.
    created_at: u64,
    ever_joined: bool,
    /// Any participant may join without an invitation.
    self_select: bool,
    timer: Option<MTimer>,
}

/// The whole break-out state of one family, and the notifications the last step must have
/// caused.
#[derive(Debug)]
struct Model {
    settings: RoomSettings,
    /// Clients in the family (attached or detached) in connection order.
    clients: Vec<MClient>,
    /// Live rooms in creation order.
    rooms: Vec<MRoom>,
    /// Every room id ever created (ids are never reused).
    all_rooms: Vec<RoomId>,
    /// Every client id ever admitted.
    all_clients: Vec<ClientId>,
    next_number: u32,
    /// Seconds since the start.
    now: u64,
    /// The last restart, if any.
    restarted_at: Option<u64>,
    ended: bool,
    /// Expected notifications of the current step.
    out: Vec<(ClientId, ServerMessage)>,
}

impl Model {
    fn new(settings: RoomSettings) -> Model {
        Model {
            settings,
            clients: vec![],
            rooms: vec![],
            all_rooms: vec![],
            all_clients: vec![],
            next_number: 1,
            now: 0,
            restarted_at: None,
            ended: false,
            out: vec![],
        }
    }

    // --- queries ---

    fn client(&self, id: &ClientId) -> Option<&MClient> {
        self.clients.iter().find(|c| &c.id == id)
    }

    fn client_mut(&mut self, id: &ClientId) -> &mut MClient {
        self.clients
            .iter_mut()
            .find(|c| &c.id == id)
            .expect("model: known client")
    }

    fn room(&self, id: &RoomId) -> Option<&MRoom> {
        self.rooms.iter().find(|r| &r.id == id)
    }

    fn room_mut(&mut self, id: &RoomId) -> &mut MRoom {
        self.rooms
            .iter_mut()
            .find(|r| &r.id == id)
            .expect("model: live room")
    }

    /// Clients whose connection is up, in connection order.
    fn attached(&self) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|c| c.detached_at.is_none())
            .map(|c| c.id.clone())
            .collect()
    }

    /// Clients whose connection is lost and who keep their place, in connection order.
    fn detached(&self) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|c| c.detached_at.is_some())
            .map(|c| c.id.clone())
            .collect()
    }

    fn is_moderator(&self, id: &ClientId) -> bool {
        self.client(id).is_some_and(|c| c.role == Role::Moderator)
    }

    fn user_ref(&self, id: &ClientId) -> UserRef {
        let c = self.client(id).expect("model: known client");
        UserRef {
            client_id: c.id.clone(),
            name: c.name.clone(),
        }
    }

    fn moderators(&self) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|c| c.role == Role::Moderator)
            .map(|c| c.id.clone())
            .collect()
    }

    fn users(&self) -> Vec<UserInfo> {
        self.clients
            .iter()
            .map(|c| UserInfo {
                client_id: c.id.clone(),
                name: c.name.clone(),
                role: c.role,
                user_ref: String::new(),
                data: Value::Null,
                location: c.location.clone(),
                paused: c.paused,
                muted: c.muted,
            })
            .collect()
    }

    fn info(&self, r: &MRoom) -> BreakoutRoomInfo {
        BreakoutRoomInfo {
            room_id: r.id.clone(),
            name: r.name.clone(),
            owner: r.owner.clone(),
            participants: r.participants,
            audio: r.audio,
            canvas: r.canvas,
            share: r.share,
            members: r.members.iter().map(|(m, _)| self.user_ref(m)).collect(),
            invitations: r.invitations.clone(),
            self_select: r.self_select,
            ends_at: r.timer.map(|t| ms(t.ends_at)),
            warning_at: r.timer.and_then(|t| t.warning_at).map(ms),
        }
    }

    fn rooms_info(&self) -> Vec<BreakoutRoomInfo> {
        self.rooms.iter().map(|r| self.info(r)).collect()
    }

    fn counted(r: &MRoom) -> usize {
        r.members
            .iter()
            .filter(|(_, role)| *role == JoinRole::Participant)
            .count()
    }

    // --- notifications ---

    /// A notification to `to`; lost (never received) unless `to` is in the family and its
    /// connection is up.
    fn tell(&mut self, to: &ClientId, msg: ServerMessage) {
        if self.client(to).is_some_and(|c| c.detached_at.is_none()) {
            self.out.push((to.clone(), msg));
        }
    }

    fn tell_others(&mut self, except: &ClientId, msg: ServerMessage) {
        let to: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|c| &c.id != except)
            .map(|c| c.id.clone())
            .collect();
        for c in to {
            self.tell(&c, msg.clone());
        }
    }

    fn tell_moderators(&mut self, msg: ServerMessage) {
        for m in self.moderators() {
            self.tell(&m, msg.clone());
        }
    }

    // --- time and auto-destroy ---

    /// Time passes: every deadline on the way falls in time order. At one instant, rooms
    /// nobody joined go first (in creation order), then clients detached for the grace period
    /// leave (in id order), as a leave.
    fn advance(&mut self, secs: u64) {
        let target = self.now + secs;
        while !self.ended {
            let rooms = self
                .rooms
                .iter()
                .filter(|r| !r.ever_joined)
                .map(|r| r.created_at + TIMEOUT);
            let clients = self
                .clients
                .iter()
                .filter_map(|c| c.detached_at)
                .map(|t| t + GRACE);
            let timers = self
                .rooms
                .iter()
                .filter_map(|r| r.timer.map(|t| t.deadline()));
            let Some(at) = rooms
                .chain(clients)
                .chain(timers)
                .min()
                .filter(|&t| t <= target)
            else {
                break;
            };
            self.now = at;
            let due: Vec<RoomId> = self
                .rooms
                .iter()
                .filter(|r| !r.ever_joined && r.created_at + TIMEOUT <= at)
                .map(|r| r.id.clone())
                .collect();
            for r in due {
                self.auto_destroy(&r);
            }
            self.expire_timers(at);
            let mut due: Vec<ClientId> = self
                .clients
                .iter()
                .filter(|c| c.detached_at.is_some_and(|t| t + GRACE <= at))
                .map(|c| c.id.clone())
                .collect();
            due.sort();
            for c in due {
                let member = self
                    .client(&c)
                    .is_some_and(|x| x.location != Location::Parent);
                record(format!(
                    "grace ran out{}",
                    if member { " in a breakout room" } else { "" }
                ));
                if self.restarted_at.is_some_and(|r| r + GRACE == at) {
                    record("grace ran out after a restart".into());
                }
                let rooms = self.rooms.len();
                self.leave_family(&c);
                if self.rooms.len() < rooms {
                    record("grace ran out and a room emptied".into());
                }
            }
        }
        self.now = target;
    }

    fn auto_destroy(&mut self, room: &RoomId) {
        let pos = self
            .rooms
            .iter()
            .position(|r| &r.id == room)
            .expect("model: live room");
        let r = self.rooms.remove(pos);
        for i in &r.invitations {
            let n = BreakoutInvitationWithdrawn {
                room_id: r.id.clone(),
                reason: WithdrawReason::Destroyed,
            };
            self.tell(i, ServerMessage::BreakoutInvitationWithdrawn(n));
        }
        let mut to = vec![r.owner.client_id.clone()];
        for m in self.moderators() {
            if !to.contains(&m) {
                to.push(m);
            }
        }
        for c in to {
            self.tell(
                &c,
                ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
                    room_id: r.id.clone(),
                }),
            );
        }
    }

    fn destroy_emptied(&mut self) {
        let emptied: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|r| r.ever_joined && r.members.is_empty())
            .map(|r| r.id.clone())
            .collect();
        for r in emptied {
            self.auto_destroy(&r);
        }
    }

    fn end(&mut self) {
        let rooms: Vec<RoomId> = self.rooms.iter().map(|r| r.id.clone()).collect();
        for r in rooms {
            self.auto_destroy(&r);
        }
        let all: Vec<ClientId> = self.clients.iter().map(|c| c.id.clone()).collect();
        for c in &all {
            self.tell(
                c,
                ServerMessage::RoomDisconnected(Status::err(ErrorCode::RoomEnded)),
            );
        }
        self.clients.clear();
        self.ended = true;
    }

    // --- connections ---

    /// The model's answer to a connect; `id` is the id the world gave the connection.
    fn connect(&mut self, id: &ClientId, name: &str, role: Role) -> ServerMessage {
        let (taken, places) = match role {
            Role::Moderator => (
                self.clients
                    .iter()
                    .filter(|c| c.role == Role::Moderator)
                    .count(),
                self.settings.moderators,
            ),
            _ => (
                self.clients
                    .iter()
                    .filter(|c| c.role != Role::Moderator)
                    .count(),
                self.settings.participants,
            ),
        };
        if taken >= places as usize {
            return ServerMessage::Error(Status::err(ErrorCode::RoomFull));
        }
        self.clients.push(MClient {
            id: id.clone(),
            name: name.to_owned(),
            role,
            location: Location::Parent,
            paused: false,
            muted: Muted::default(),
            detached_at: None,
            mod_muted: false,
            asked_by: None,
            help: None,
        });
        self.all_clients.push(id.clone());
        let me = self.users().pop().expect("just pushed");
        self.tell_others(id, ServerMessage::UserConnected(me));
        ServerMessage::RoomConnected(RoomConnected {
            result: 0,
            version: SIM_PROTOCOL_VERSION,
            client_id: id.clone(),
            room: RoomSummary {
                room_id: RoomId::from("parent"),
                name: "Sim room".into(),
                settings: self.settings.clone(),
            },
            users: self.users(),
            breakout_rooms: self.rooms_info(),
            invitations: vec![],
            resumed: false,
            media_kept: false,
            resume_token: None,
            server_time: 0,
            help_requests: if role == Role::Moderator {
                self.help_requests()
            } else {
                vec![]
            },
            muted_by_moderator: false,
            ice_servers: Vec::new(),
        })
    }

    /// The connection is lost: the client keeps everything and is told nothing.
    fn lose_connection(&mut self, id: &ClientId) {
        let now = self.now;
        let me = self.client_mut(id);
        assert!(me.detached_at.is_none(), "model: losing an attached client");
        me.detached_at = Some(now);
        record(format!(
            "lost connection {:?}{}",
            me.role,
            if me.location != Location::Parent {
                " in a breakout room"
            } else {
                ""
            }
        ));
    }

    /// A new connection presents `id`'s resume credential: back with its place and pending
    /// invitations, or refused when it is no longer in the family.
    fn reconnect(&mut self, id: &ClientId) -> ServerMessage {
        let Some(c) = self.client(id) else {
            record("resume refused".into());
            return ServerMessage::Error(Status::err(ErrorCode::ResumeFailed));
        };
        assert!(
            c.detached_at.is_some(),
            "model: resuming an attached client"
        );
        record(format!(
            "resumed{}",
            if c.location != Location::Parent {
                " in a breakout room"
            } else {
                ""
            }
        ));
        if self.restarted_at.is_some_and(|r| self.now < r + GRACE) {
            record("resumed after a restart".into());
        }
        self.client_mut(id).detached_at = None;
        let invitations: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|r| r.invitations.contains(id))
            .map(|r| r.id.clone())
            .collect();
        if !invitations.is_empty() {
            record("resumed with invitations".into());
        }
        ServerMessage::RoomConnected(RoomConnected {
            result: 0,
            version: SIM_PROTOCOL_VERSION,
            client_id: id.clone(),
            room: RoomSummary {
                room_id: RoomId::from("parent"),
                name: "Sim room".into(),
                settings: self.settings.clone(),
            },
            users: self.users(),
            breakout_rooms: self.rooms_info(),
            invitations,
            resumed: true,
            media_kept: false,
            resume_token: None,
            server_time: 0,
            help_requests: if self.is_moderator(id) {
                self.help_requests()
            } else {
                vec![]
            },
            muted_by_moderator: self.client(id).is_some_and(|c| c.mod_muted),
            ice_servers: Vec::new(),
        })
    }

    /// The server restarts: everything kept, every client detached from now on.
    fn restart(&mut self) {
        record(format!(
            "restart with {} rooms",
            if self.rooms.is_empty() { "no" } else { "live" }
        ));
        self.restarted_at = Some(self.now);
        let now = self.now;
        for c in &mut self.clients {
            c.detached_at = Some(now);
        }
    }

    /// The normal leave: on purpose, or when the grace period of a lost connection ran out.
    fn leave_family(&mut self, id: &ClientId) {
        let c = self
            .client(id)
            .expect("model: a client in the family leaves")
            .clone();
        if let Some((room, _)) = self.client_mut(id).help.take() {
            self.help_resolved(&room, id, HelpOutcome::Left, None, Some(id));
        }
        if let Location::Breakout(r) = &c.location {
            self.remove_member(id, r);
        }
        for r in &mut self.rooms {
            r.invitations.retain(|i| i != id);
        }
        self.clients.retain(|x| &x.id != id);
        let gone = UserRef {
            client_id: c.id.clone(),
            name: c.name.clone(),
        };
        self.tell_others(id, ServerMessage::UserDisconnected(gone));
        self.destroy_emptied();
    }

    // --- break-out operations ---

    /// Create, up to the point where the rooms' ids are needed: `Err` is the refusal code,
    /// `Ok` the validated (participants, rooms, audio, canvas, share).
    fn check_create(
        &self,
        caller: &ClientId,
        def: Def,
    ) -> Result<(u32, u32, bool, bool, bool), ErrorCode> {
        let c = self.client(caller).expect("model: caller connected");
        match c.role {
            Role::Viewer => return Err(ErrorCode::Unauthorized),
            Role::Participant
                if self.settings.breakout_creators == BreakoutCreators::ModeratorsOnly =>
            {
                return Err(ErrorCode::Unauthorized)
            }
            _ => {}
        }
        if c.location != Location::Parent {
            return Err(ErrorCode::BreakoutNotAvailable);
        }
        let d = def.check()?;
        if self.rooms.len() + d.1 as usize > self.settings.max_breakout_rooms as usize {
            return Err(ErrorCode::RoomLimitExceeded);
        }
        Ok(d)
    }

    /// Create with the ids the core chose (checked fresh by the caller).
    fn create(&mut self, caller: &ClientId, d: (u32, u32, bool, bool, bool), ids: &[RoomId]) {
        let (participants, _, audio, canvas, share) = d;
        if self.rooms.is_empty() {
            self.next_number = 1;
        }
        let owner = self.user_ref(caller);
        for id in ids {
            let name = format!("Breakout {}", self.next_number);
            self.next_number += 1;
            self.rooms.push(MRoom {
                id: id.clone(),
                name: name.clone(),
                owner: owner.clone(),
                participants,
                audio,
                canvas,
                share,
                members: vec![],
                invitations: vec![],
                created_at: self.now,
                ever_joined: false,
                self_select: false,
                timer: None,
            });
            self.all_rooms.push(id.clone());
            let n = BreakoutRoomCreated {
                room_id: id.clone(),
                name,
                owner: owner.clone(),
                participants,
                audio,
                canvas,
                share,
            };
            self.tell_moderators(ServerMessage::BreakoutRoomCreated(n));
        }
    }

    /// Who create-and-invite may deal out, in connection order.
    fn eligible(&self, caller: &ClientId) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|c| {
                c.role == Role::Participant && c.location == Location::Parent && &c.id != caller
            })
            .map(|c| c.id.clone())
            .collect()
    }

    fn invite(
        &mut self,
        caller: &ClientId,
        room: &RoomId,
        clients: &[ClientId],
        force: bool,
    ) -> ServerMessage {
        let fail = |code: ErrorCode| {
            ServerMessage::AckInviteBreakOutRoom(AckInviteBreakOutRoom {
                result: code.code(),
                msg: String::new(),
                invited: vec![],
                failed: vec![],
            })
        };
        let Some(r) = self.room(room) else {
            return fail(ErrorCode::BreakoutRoomNotFound);
        };
        if &r.owner.client_id != caller && !self.is_moderator(caller) {
            return fail(ErrorCode::Unauthorized);
        }
        if clients.is_empty() {
            return fail(ErrorCode::InvalidParameters);
        }
        let mut free = (r.participants as usize).saturating_sub(Self::counted(r));
        let mut invited: Vec<ClientId> = vec![];
        let mut failed: Vec<InviteFailure> = vec![];
        for c in clients {
            if invited.contains(c) || failed.iter().any(|f| &f.client_id == c) {
                continue;
            }
            let code = match self.client(c) {
                None => Some(ErrorCode::ClientNotConnected),
                Some(_) if r.members.iter().any(|(m, _)| m == c) => Some(ErrorCode::AlreadyMember),
                Some(x) if force && x.location != Location::Parent => {
                    Some(ErrorCode::AlreadyInBreakoutRoom)
                }
                Some(_) if force && free == 0 => Some(ErrorCode::BreakoutRoomFull),
                Some(_) => None,
            };
            match code {
                Some(code) => failed.push(InviteFailure {
                    client_id: c.clone(),
                    result: code.code(),
                    msg: code.message().to_owned(),
                }),
                None => {
                    if force {
                        free -= 1;
                    }
                    invited.push(c.clone());
                }
            }
        }
        let ack = ServerMessage::AckInviteBreakOutRoom(AckInviteBreakOutRoom {
            result: 0,
            msg: "Success".into(),
            invited: invited.clone(),
            failed,
        });
        if !invited.is_empty() {
            let requestor = self.user_ref(caller);
            self.apply_invitations(&requestor, room, &invited, force);
        }
        ack
    }

    fn apply_invitations(
        &mut self,
        requestor: &UserRef,
        room: &RoomId,
        clients: &[ClientId],
        force: bool,
    ) {
        let r = self.room_mut(room);
        for c in clients {
            if !r.invitations.contains(c) {
                r.invitations.push(c.clone());
            }
        }
        for c in clients {
            let n = InvitationForBreakoutRoom {
                room_id: room.clone(),
                requestor: requestor.clone(),
                force_join: force,
            };
            self.tell(c, ServerMessage::InvitationForBreakoutRoom(n));
        }
        let n = BreakoutRoomInvited {
            room_id: room.clone(),
            clients: clients.to_vec(),
            requestor: requestor.clone(),
        };
        self.tell_moderators(ServerMessage::BreakoutRoomInvited(n));
        if force {
            for c in clients {
                let msg = self.move_into(c, room, JoinRole::Participant);
                self.tell(c, msg);
            }
        }
    }

    /// Moves `c` into `room`; returns its `connectedBreakoutRoom` (the caller decides whether
    /// it is an ack or a notification, and queues it before the notices that follow it).
    fn move_into(&mut self, c: &ClientId, room: &RoomId, role: JoinRole) -> ServerMessage {
        let r = self.room_mut(room);
        let earlier: Vec<ClientId> = r.members.iter().map(|(m, _)| m.clone()).collect();
        r.members.push((c.clone(), role));
        r.invitations.retain(|i| i != c);
        r.ever_joined = true;
        let me = self.client_mut(c);
        me.location = Location::Breakout(room.clone());
        let was_paused = std::mem::replace(&mut me.paused, true);
        let name = me.name.clone();
        let info = self.info(self.room(room).expect("live"));
        let n = UserJoinedBreakoutRoom {
            client_id: c.clone(),
            name,
            room_id: room.clone(),
        };
        for m in earlier {
            self.tell(&m, ServerMessage::UserJoinedBreakoutRoom(n.clone()));
        }
        let moved = UserMoved {
            client_id: c.clone(),
            location: Location::Breakout(room.clone()),
        };
        self.tell_others(c, ServerMessage::UserMoved(moved));
        if !was_paused {
            self.tell_others(
                c,
                ServerMessage::UserPaused(UserPaused {
                    client_id: c.clone(),
                    paused: true,
                }),
            );
        }
        self.drop_stale_help(c);
        if self.is_moderator(c) {
            self.answer_help(c, room);
        }
        ServerMessage::ConnectedBreakoutRoom(ConnectedBreakoutRoom {
            result: 0,
            room: info,
        })
    }

    fn join(&mut self, c: &ClientId, room: &RoomId, role: JoinRole, video: bool) -> ServerMessage {
        let me = self.client(c).expect("caller connected");
        let moderator = me.role == Role::Moderator;
        let viewer = me.role == Role::Viewer;
        let code = if video {
            Some(ErrorCode::VideoNotSupported)
        } else if me.location == Location::Breakout(room.clone()) {
            Some(ErrorCode::AlreadyInBreakoutRoom)
        } else {
            match self.room(room) {
                None => Some(ErrorCode::BreakoutRoomNotFound),
                Some(r)
                    if !(moderator || r.invitations.contains(c) || (r.self_select && !viewer)) =>
                {
                    Some(ErrorCode::NotInvited)
                }
                Some(_) if role == JoinRole::Moderator && !moderator => {
                    Some(ErrorCode::RoleNotAllowed)
                }
                Some(r)
                    if role == JoinRole::Participant
                        && Self::counted(r) >= r.participants as usize =>
                {
                    Some(ErrorCode::BreakoutRoomFull)
                }
                Some(_) => None,
            }
        };
        match code {
            Some(code) => ServerMessage::FailedJoinBreakOutRoom(Status::err(code)),
            None => {
                if self
                    .client(c)
                    .is_some_and(|x| x.location != Location::Parent)
                {
                    record("join switches rooms".into());
                }
                self.switch_into(c, room, role, true)
            }
        }
    }

    /// Into `room` in one step: from the parent a join; from another room out of it (its
    /// members told), into `room` (parent link paused throughout), then
    /// `didDisconnectedBreakoutRoom {old, moved, room}`, and the old room auto-destroyed if
    /// emptied. Returns the `connectedBreakoutRoom` when `as_ack`, else sends it.
    fn switch_into(
        &mut self,
        c: &ClientId,
        room: &RoomId,
        role: JoinRole,
        as_ack: bool,
    ) -> ServerMessage {
        let from = self.client(c).expect("connected").location.clone();
        if let Location::Breakout(old) = &from {
            self.remove_member(c, old);
        }
        let msg = self.move_into(c, room, role);
        if !as_ack {
            self.tell(c, msg.clone());
        }
        if let Location::Breakout(old) = from {
            let n = DidDisconnectedBreakoutRoom::because(
                Some(old),
                LeaveReason::Moved,
                Location::Breakout(room.clone()),
            );
            self.tell(c, ServerMessage::DidDisconnectedBreakoutRoom(n));
            self.destroy_emptied();
        }
        msg
    }

    fn reject(&mut self, c: &ClientId, room: &RoomId) -> ServerMessage {
        match self.room(room) {
            None => {
                return ServerMessage::AckRejectBreakoutRoom(Status::err(
                    ErrorCode::BreakoutRoomNotFound,
                ))
            }
            Some(r) if !r.invitations.contains(c) => {
                return ServerMessage::AckRejectBreakoutRoom(Status::err(ErrorCode::NotInvited))
            }
            Some(_) => {}
        }
        self.room_mut(room).invitations.retain(|i| i != c);
        let u = self.user_ref(c);
        let n = BreakoutRoomInviteRejected {
            room_id: room.clone(),
            client_id: u.client_id,
            name: u.name,
        };
        self.tell_moderators(ServerMessage::BreakoutRoomInviteRejected(n));
        ServerMessage::AckRejectBreakoutRoom(Status::ok("Success"))
    }

    fn set_paused(&mut self, c: &ClientId, paused: bool) -> ServerMessage {
        let me = self.client_mut(c);
        let changed = me.paused != paused;
        me.paused = paused;
        if changed {
            self.tell_others(
                c,
                ServerMessage::UserPaused(UserPaused {
                    client_id: c.clone(),
                    paused,
                }),
            );
        }
        if paused {
            ServerMessage::AckPause(Status::ok("Room paused"))
        } else {
            ServerMessage::AckResume(Status::ok("Room resumed"))
        }
    }

    fn set_muted(&mut self, c: &ClientId, audio: bool, video: bool, mute: bool) -> ServerMessage {
        if !audio && !video {
            let s = MuteAck {
                result: ErrorCode::InvalidParameters.code(),
                msg: String::new(),
                muted: None,
            };
            return if mute {
                ServerMessage::AckMuteRoom(s)
            } else {
                ServerMessage::AckUnmuteRoom(s)
            };
        }
        let me = self.client_mut(c);
        let before = me.muted;
        if audio {
            me.muted.audio = mute;
        }
        if video {
            me.muted.video = mute;
        }
        let after = me.muted;
        if before != after {
            self.tell_others(
                c,
                ServerMessage::UserMuted(UserMuted {
                    client_id: c.clone(),
                    muted: after,
                }),
            );
        }
        let ack = |msg: &str| MuteAck {
            result: 0,
            msg: msg.into(),
            muted: Some(after),
        };
        if mute {
            ServerMessage::AckMuteRoom(ack("Room muted"))
        } else {
            ServerMessage::AckUnmuteRoom(ack("Room unmuted"))
        }
    }

    fn remove_member(&mut self, c: &ClientId, room: &RoomId) {
        let name = self.client(c).expect("connected").name.clone();
        let r = self.room_mut(room);
        r.members.retain(|(m, _)| m != c);
        let left: Vec<ClientId> = r.members.iter().map(|(m, _)| m.clone()).collect();
        let n = DidUserDisconnectedFromBreakoutRoom {
            client_id: c.clone(),
            name,
            room: room.clone(),
        };
        for m in left {
            self.tell(
                &m,
                ServerMessage::DidUserDisconnectedFromBreakoutRoom(n.clone()),
            );
        }
    }

    /// Back to the parent after disconnect / clear all: auto-resume, mute kept.
    fn leave(&mut self, c: &ClientId, room: &RoomId) {
        self.remove_member(c, room);
        let me = self.client_mut(c);
        me.location = Location::Parent;
        let was_paused = std::mem::replace(&mut me.paused, false);
        self.drop_stale_help(c);
        self.tell_others(
            c,
            ServerMessage::UserMoved(UserMoved {
                client_id: c.clone(),
                location: Location::Parent,
            }),
        );
        if was_paused {
            self.tell_others(
                c,
                ServerMessage::UserPaused(UserPaused {
                    client_id: c.clone(),
                    paused: false,
                }),
            );
        }
    }

    fn disconnect(&mut self, c: &ClientId, room: &RoomId) -> ServerMessage {
        let fail = |code: ErrorCode| {
            ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom {
                room_id: None,
                moderator_id: String::new(),
                msg: String::new(),
                result: code.code(),
                reason: None,
                location: None,
            })
        };
        if self.room(room).is_none() {
            return fail(ErrorCode::BreakoutRoomNotFound);
        }
        if self.client(c).expect("connected").location != Location::Breakout(room.clone()) {
            return fail(ErrorCode::NotInBreakoutRoom);
        }
        self.leave(c, room);
        self.destroy_emptied();
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
            Some(room.clone()),
            LeaveReason::Left,
            Location::Parent,
        ))
    }

    fn clear_all(&mut self, c: &ClientId) -> ServerMessage {
        match self.client(c).expect("connected").location.clone() {
            Location::Breakout(room) => {
                self.leave(c, &room);
                let owner = self
                    .room(&room)
                    .expect("live until destroy_emptied")
                    .owner
                    .client_id
                    .clone();
                if &owner != c {
                    let here = self
                        .client(&owner)
                        .map(|o| o.location.clone())
                        .unwrap_or(Location::Parent);
                    let n = DidDisconnectedBreakoutRoom::because(
                        Some(room.clone()),
                        LeaveReason::OwnerNotice,
                        here,
                    );
                    self.tell(&owner, ServerMessage::DidDisconnectedBreakoutRoom(n));
                }
                self.destroy_emptied();
                ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
                    Some(room),
                    LeaveReason::Left,
                    Location::Parent,
                ))
            }
            Location::Parent => {
                if self.client(c).expect("connected").paused {
                    self.set_paused(c, false);
                }
                ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
                    None,
                    LeaveReason::Left,
                    Location::Parent,
                ))
            }
        }
    }

    // --- issue 10 ---

    /// Pending help requests, oldest first (then in connection order).
    fn help_requests(&self) -> Vec<HelpRequest> {
        let mut v: Vec<(u64, usize, HelpRequest)> = self
            .clients
            .iter()
            .filter_map(|c| {
                let (room, at) = c.help.clone()?;
                let seq = self.all_clients.iter().position(|x| x == &c.id)?;
                Some((
                    at,
                    seq,
                    HelpRequest {
                        room_id: room,
                        client_id: c.id.clone(),
                        name: c.name.clone(),
                        at: ms(at),
                    },
                ))
            })
            .collect();
        v.sort_by_key(|(at, seq, _)| (*at, *seq));
        v.into_iter().map(|(_, _, h)| h).collect()
    }

    /// `helpResolved` to every moderator but `except`.
    fn help_resolved(
        &mut self,
        room: &RoomId,
        c: &ClientId,
        outcome: HelpOutcome,
        by: Option<UserRef>,
        except: Option<&ClientId>,
    ) {
        record(format!("help {outcome:?}"));
        let n = HelpResolved {
            room_id: room.clone(),
            client_id: c.clone(),
            outcome,
            by,
        };
        for m in self.moderators() {
            if Some(&m) != except {
                self.tell(&m, ServerMessage::HelpResolved(n.clone()));
            }
        }
    }

    /// `c` is no longer in the room it asked from: its request is dropped.
    fn drop_stale_help(&mut self, c: &ClientId) {
        let Some(me) = self.client(c) else { return };
        let stale = match (&me.help, &me.location) {
            (Some((r, _)), Location::Breakout(here)) => r != here,
            (Some(_), Location::Parent) => true,
            (None, _) => false,
        };
        if stale {
            let (room, _) = self.client_mut(c).help.take().expect("pending");
            self.help_resolved(&room, c, HelpOutcome::Left, None, None);
        }
    }

    /// A moderator entered `room`: every request of the room is answered.
    fn answer_help(&mut self, moderator: &ClientId, room: &RoomId) {
        let by = self.user_ref(moderator);
        let asking: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|c| c.help.as_ref().is_some_and(|(r, _)| r == room))
            .map(|c| c.id.clone())
            .collect();
        for c in asking {
            self.client_mut(&c).help = None;
            let reply = HelpReply {
                room_id: room.clone(),
                by: by.clone(),
            };
            self.tell(&c, ServerMessage::HelpAnswered(reply));
            self.help_resolved(room, &c, HelpOutcome::Answered, Some(by.clone()), None);
        }
    }

    /// Members of `room` (if live) and every moderator, each once, `except` excluded.
    fn room_and_moderators(&self, room: &RoomId, except: Option<&ClientId>) -> Vec<ClientId> {
        let mut to: Vec<ClientId> = self
            .room(room)
            .map(|r| r.members.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default();
        for m in self.moderators() {
            if !to.contains(&m) {
                to.push(m);
            }
        }
        to.retain(|c| Some(c) != except);
        to
    }

    /// Timers due at `now`: warnings (once), then rooms whose end came.
    fn expire_timers(&mut self, now: u64) {
        let mut warn = vec![];
        let mut end = vec![];
        for r in &mut self.rooms {
            let Some(t) = r.timer.as_mut() else { continue };
            if now >= t.ends_at {
                end.push(r.id.clone());
            } else if !t.warned && t.warning_at.is_some_and(|w| now >= w) {
                t.warned = true;
                warn.push((r.id.clone(), t.ends_at));
            }
        }
        for (room, ends_at) in warn {
            record("timer warning".into());
            let n = BreakoutTimerWarning {
                room_id: room.clone(),
                ends_at: ms(ends_at),
            };
            for c in self.room_and_moderators(&room, None) {
                self.tell(&c, ServerMessage::BreakoutTimerWarning(n.clone()));
            }
        }
        for room in end {
            self.end_room(&room);
        }
    }

    /// The timer ran out: members back in the parent (reset), invitations withdrawn
    /// (`timeout`), the room destroyed.
    fn end_room(&mut self, room: &RoomId) {
        record(format!(
            "timer ended a room{}",
            if self.room(room).is_some_and(|r| r.members.is_empty()) {
                " with nobody in it"
            } else {
                ""
            }
        ));
        let members: Vec<ClientId> = self
            .room(room)
            .expect("live")
            .members
            .iter()
            .map(|(m, _)| m.clone())
            .collect();
        for m in &members {
            let n = DidDisconnectedBreakoutRoom::because(
                Some(room.clone()),
                LeaveReason::Timeout,
                Location::Parent,
            );
            self.tell(m, ServerMessage::DidDisconnectedBreakoutRoom(n));
        }
        self.room_mut(room).members.clear();
        for m in &members {
            self.return_to_parent_reset(m);
        }
        let pos = self.rooms.iter().position(|r| &r.id == room).expect("live");
        let r = self.rooms.remove(pos);
        for i in &r.invitations {
            let n = BreakoutInvitationWithdrawn {
                room_id: r.id.clone(),
                reason: WithdrawReason::Timeout,
            };
            self.tell(i, ServerMessage::BreakoutInvitationWithdrawn(n));
        }
        let mut to = vec![r.owner.client_id.clone()];
        for m in self.moderators() {
            if !to.contains(&m) {
                to.push(m);
            }
        }
        for c in to {
            let n = RoomRef {
                room_id: r.id.clone(),
            };
            self.tell(&c, ServerMessage::DidDestroyedBreakoutRoom(n));
        }
    }

    fn set_duration(
        &mut self,
        c: &ClientId,
        room: &RoomId,
        duration: Option<u32>,
        warning: Option<u32>,
    ) -> ServerMessage {
        let fail = |code: ErrorCode| {
            ServerMessage::AckSetBreakoutDuration(AckSetBreakoutDuration {
                result: code.code(),
                msg: String::new(),
                timer: None,
            })
        };
        if !self.is_moderator(c) {
            return fail(ErrorCode::Unauthorized);
        }
        if self.room(room).is_none() {
            return fail(ErrorCode::BreakoutRoomNotFound);
        }
        if duration.is_some_and(|d| d > 86_400) || warning.is_some_and(|w| w > 86_400) {
            return fail(ErrorCode::InvalidParameters);
        }
        let now = self.now;
        let timer = match duration {
            None | Some(0) => None,
            Some(d) => Some(MTimer::new(now, d, warning)),
        };
        record(format!(
            "timer {}",
            if timer.is_some() { "set" } else { "cleared" }
        ));
        self.room_mut(room).timer = timer;
        let frame = BreakoutTimer {
            room_id: room.clone(),
            ends_at: timer.map(|t| ms(t.ends_at)),
            warning_at: timer.and_then(|t| t.warning_at).map(ms),
        };
        for to in self.room_and_moderators(room, Some(c)) {
            self.tell(&to, ServerMessage::BreakoutTimer(frame.clone()));
        }
        // A warning due at once goes out in the same step.
        self.expire_timers(now);
        ServerMessage::AckSetBreakoutDuration(AckSetBreakoutDuration {
            result: 0,
            msg: "Success".into(),
            timer: Some(frame),
        })
    }

    fn request_help(&mut self, c: &ClientId) -> ServerMessage {
        let now = self.now;
        let me = self.client(c).expect("connected");
        let Location::Breakout(room) = me.location.clone() else {
            return ServerMessage::AckRequestHelp(AckRequestHelp {
                result: ErrorCode::NotInBreakoutRoom.code(),
                msg: String::new(),
                request: None,
                already_pending: false,
            });
        };
        let already = me.help.is_some();
        if !already {
            self.client_mut(c).help = Some((room, now));
        }
        record(format!(
            "help requested{}",
            if already { " again" } else { "" }
        ));
        let me = self.client(c).expect("connected");
        let (room, at) = me.help.clone().expect("pending");
        let request = HelpRequest {
            room_id: room,
            client_id: c.clone(),
            name: me.name.clone(),
            at: ms(at),
        };
        if !already {
            for m in self.moderators() {
                if &m != c {
                    self.tell(&m, ServerMessage::HelpRequested(request.clone()));
                }
            }
        }
        ServerMessage::AckRequestHelp(AckRequestHelp {
            result: 0,
            msg: "Success".into(),
            request: Some(request),
            already_pending: already,
        })
    }

    fn cancel_help(&mut self, c: &ClientId) -> ServerMessage {
        let Some((room, _)) = self.client_mut(c).help.take() else {
            return ServerMessage::AckCancelHelp(Status::err(ErrorCode::NoHelpRequest));
        };
        self.help_resolved(&room, c, HelpOutcome::Cancelled, None, Some(c));
        ServerMessage::AckCancelHelp(Status::ok("Success"))
    }

    fn dismiss_help(&mut self, c: &ClientId, target: &ClientId) -> ServerMessage {
        if !self.is_moderator(c) {
            return ServerMessage::AckDismissHelp(Status::err(ErrorCode::Unauthorized));
        }
        let pending = self.client(target).and_then(|t| t.help.clone());
        let Some((room, _)) = pending else {
            return ServerMessage::AckDismissHelp(Status::err(ErrorCode::NoHelpRequest));
        };
        self.client_mut(target).help = None;
        let by = self.user_ref(c);
        let reply = HelpReply {
            room_id: room.clone(),
            by: by.clone(),
        };
        self.tell(target, ServerMessage::HelpDismissed(reply));
        self.help_resolved(&room, target, HelpOutcome::Dismissed, Some(by), Some(c));
        ServerMessage::AckDismissHelp(Status::ok("Success"))
    }

    fn move_to(&mut self, c: &ClientId, target: &ClientId, room: &RoomId) -> ServerMessage {
        let code = if !self.is_moderator(c) {
            Some(ErrorCode::Unauthorized)
        } else {
            match (self.room(room), self.client(target)) {
                (None, _) => Some(ErrorCode::BreakoutRoomNotFound),
                (_, None) => Some(ErrorCode::ClientNotConnected),
                (Some(r), _) if r.members.iter().any(|(m, _)| m == target) => {
                    Some(ErrorCode::AlreadyMember)
                }
                (Some(r), Some(t))
                    if t.role != Role::Moderator && Self::counted(r) >= r.participants as usize =>
                {
                    Some(ErrorCode::BreakoutRoomFull)
                }
                _ => None,
            }
        };
        if let Some(code) = code {
            return ServerMessage::AckMoveToBreakoutRoom(Status::err(code));
        }
        let role = if self.is_moderator(target) {
            JoinRole::Moderator
        } else {
            JoinRole::Participant
        };
        record(format!(
            "moved from {}",
            if self
                .client(target)
                .is_some_and(|t| t.location == Location::Parent)
            {
                "the parent"
            } else {
                "a room"
            }
        ));
        self.switch_into(target, room, role, false);
        ServerMessage::AckMoveToBreakoutRoom(Status::ok("Success"))
    }

    fn set_self_select(&mut self, c: &ClientId, room: Option<&RoomId>, on: bool) -> ServerMessage {
        if !self.is_moderator(c) {
            return ServerMessage::AckSetSelfSelect(Status::err(ErrorCode::Unauthorized));
        }
        if room.is_some_and(|r| self.room(r).is_none()) {
            return ServerMessage::AckSetSelfSelect(Status::err(ErrorCode::BreakoutRoomNotFound));
        }
        for r in &mut self.rooms {
            if room.is_none_or(|x| x == &r.id) {
                r.self_select = on;
            }
        }
        ServerMessage::AckSetSelfSelect(Status::ok("Success"))
    }

    fn rename(&mut self, c: &ClientId, room: &RoomId, name: Option<&str>) -> ServerMessage {
        let code = if !self.is_moderator(c) {
            Some(ErrorCode::Unauthorized)
        } else if self.room(room).is_none() {
            Some(ErrorCode::BreakoutRoomNotFound)
        } else if name.is_none() {
            Some(ErrorCode::InvalidParameters)
        } else {
            None
        };
        if let Some(code) = code {
            return ServerMessage::AckRenameBreakoutRoom(Status::err(code));
        }
        self.room_mut(room).name = name.expect("valid").to_owned();
        ServerMessage::AckRenameBreakoutRoom(Status::ok("Success"))
    }

    /// Sets or clears `c`'s moderator mute and tells it, its room's members and every
    /// moderator (but `except`: the muting moderator, whose ack says it).
    fn set_mod_muted(
        &mut self,
        c: &ClientId,
        muted: bool,
        by: Option<UserRef>,
        except: Option<&ClientId>,
    ) {
        let me = self.client_mut(c);
        me.mod_muted = muted;
        me.asked_by = None;
        let mut to = vec![c.clone()];
        let room = match &self.client(c).expect("known").location {
            Location::Breakout(r) => Some(r.clone()),
            Location::Parent => None,
        };
        let audience = match room {
            Some(r) => self.room_and_moderators(&r, None),
            None => self.moderators(),
        };
        for x in audience {
            if !to.contains(&x) {
                to.push(x);
            }
        }
        let n = MemberMuted {
            client_id: c.clone(),
            muted,
            by,
        };
        for x in to {
            if Some(&x) != except {
                self.tell(&x, ServerMessage::MemberMuted(n.clone()));
            }
        }
    }

    fn mute_member(&mut self, c: &ClientId, target: Result<&ClientId, &RoomId>) -> ServerMessage {
        let fail = |code: ErrorCode| {
            ServerMessage::AckMuteMember(AckMuteMember {
                result: code.code(),
                msg: String::new(),
                muted: vec![],
            })
        };
        if !self.is_moderator(c) {
            return fail(ErrorCode::Unauthorized);
        }
        let targets: Vec<ClientId> = match target {
            Ok(t) if self.client(t).is_none() => return fail(ErrorCode::ClientNotConnected),
            Ok(t) => vec![t.clone()],
            Err(r) => match self.room(r) {
                None => return fail(ErrorCode::BreakoutRoomNotFound),
                Some(r) => r
                    .members
                    .iter()
                    .filter(|(m, _)| !self.is_moderator(m))
                    .map(|(m, _)| m.clone())
                    .collect(),
            },
        };
        let newly: Vec<ClientId> = targets
            .into_iter()
            .filter(|t| self.client(t).is_some_and(|x| !x.mod_muted))
            .collect();
        record(format!("muted {} members", newly.len().min(2)));
        let by = self.user_ref(c);
        for t in &newly {
            self.set_mod_muted(t, true, Some(by.clone()), Some(c));
        }
        ServerMessage::AckMuteMember(AckMuteMember {
            result: 0,
            msg: "Success".into(),
            muted: newly,
        })
    }

    fn ask_to_unmute(&mut self, c: &ClientId, target: &ClientId) -> ServerMessage {
        if !self.is_moderator(c) {
            return ServerMessage::AckAskToUnmute(Status::err(ErrorCode::Unauthorized));
        }
        let Some(t) = self.client(target) else {
            return ServerMessage::AckAskToUnmute(Status::err(ErrorCode::ClientNotConnected));
        };
        let by = self.user_ref(c);
        if t.mod_muted {
            self.client_mut(target).asked_by = Some(by.clone());
        }
        self.tell(target, ServerMessage::UnmuteAsked(UnmuteAsked { by }));
        ServerMessage::AckAskToUnmute(Status::ok("Success"))
    }

    fn unmute_self(&mut self, c: &ClientId) -> ServerMessage {
        let me = self.client(c).expect("connected");
        if !me.mod_muted {
            return ServerMessage::AckUnmuteSelf(Status::ok("Success"));
        }
        let Some(by) = me.asked_by.clone() else {
            record("unmuteSelf before being asked".into());
            return ServerMessage::AckUnmuteSelf(Status::err(ErrorCode::MutedByModerator));
        };
        record("unmuted self".into());
        self.set_mod_muted(c, false, Some(by), None);
        ServerMessage::AckUnmuteSelf(Status::ok("Success"))
    }

    /// `pinUsers` / `unpinUsers` on protocol 1: refused (5003 first, then 1155), nothing told.
    fn pin(&self, c: &ClientId, unpin: bool) -> ServerMessage {
        let code = if self.is_moderator(c) {
            ErrorCode::InvalidParameters
        } else {
            ErrorCode::Unauthorized
        };
        let status = Status::err(code);
        if unpin {
            ServerMessage::AckUnpinUsers(status)
        } else {
            ServerMessage::AckPinUsers(status)
        }
    }

    /// Destroy-all's and the timer's return: back in the parent, resumed, unmuted (the parent
    /// mute and a moderator's mute cleared); a help request is dropped.
    fn return_to_parent_reset(&mut self, m: &ClientId) {
        if self.client(m).is_some_and(|x| x.mod_muted) {
            // The room is gone (or emptied) by now: the member and the moderators hear of it.
            self.set_mod_muted(m, false, None, None);
        }
        let me = self.client_mut(m);
        me.location = Location::Parent;
        let was_paused = std::mem::replace(&mut me.paused, false);
        let was_muted = std::mem::take(&mut me.muted);
        self.tell_others(
            m,
            ServerMessage::UserMoved(UserMoved {
                client_id: m.clone(),
                location: Location::Parent,
            }),
        );
        if was_paused {
            self.tell_others(
                m,
                ServerMessage::UserPaused(UserPaused {
                    client_id: m.clone(),
                    paused: false,
                }),
            );
        }
        if was_muted != Muted::default() {
            self.tell_others(
                m,
                ServerMessage::UserMuted(UserMuted {
                    client_id: m.clone(),
                    muted: Muted::default(),
                }),
            );
        }
        self.drop_stale_help(m);
    }

    fn destroy_all(&mut self, c: &ClientId) -> ServerMessage {
        if !self.is_moderator(c) {
            return ServerMessage::AckDestroyAllBreakOutSession(AckDestroyAllBreakOutSession {
                result: ErrorCode::Unauthorized.code(),
                msg: Msg::Text(String::new()),
            });
        }
        let rooms: Vec<RoomId> = self.rooms.iter().map(|r| r.id.clone()).collect();
        for r in std::mem::take(&mut self.rooms) {
            let notice =
                ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
                    Some(r.id.clone()),
                    LeaveReason::Destroyed,
                    Location::Parent,
                ));
            if !r.members.iter().any(|(m, _)| m == &r.owner.client_id) {
                let here = self
                    .client(&r.owner.client_id)
                    .map(|o| o.location.clone())
                    .unwrap_or(Location::Parent);
                let owner_notice = ServerMessage::DidDisconnectedBreakoutRoom(
                    DidDisconnectedBreakoutRoom::because(
                        Some(r.id.clone()),
                        LeaveReason::OwnerNotice,
                        here,
                    ),
                );
                self.tell(&r.owner.client_id, owner_notice);
            }
            for (m, _) in &r.members {
                self.tell(m, notice.clone());
                self.return_to_parent_reset(m);
            }
            for i in &r.invitations {
                let n = BreakoutInvitationWithdrawn {
                    room_id: r.id.clone(),
                    reason: WithdrawReason::DestroyedAll,
                };
                self.tell(i, ServerMessage::BreakoutInvitationWithdrawn(n));
            }
            for m in self.moderators() {
                if &m != c {
                    let n = RoomRef {
                        room_id: r.id.clone(),
                    };
                    self.tell(&m, ServerMessage::DidDestroyedBreakoutRoom(n));
                }
            }
        }
        ServerMessage::AckDestroyAllBreakOutSession(AckDestroyAllBreakOutSession {
            result: 0,
            msg: Msg::Data(RoomList { rooms }),
        })
    }
}

// ----- running a sequence against both -----

/// Acks are compared whole on success; on failure by type and code only (the readable `msg`
/// is the core's to word).
fn assert_ack(step: usize, op: &str, got: &ServerMessage, want: &ServerMessage) {
    record(format!("{} {}", got.type_name(), got.result().unwrap_or(0)));
    if let ServerMessage::AckInviteBreakOutRoom(a) = got {
        for f in &a.failed {
            record(format!("invitee failed {}", f.result));
        }
    }
    let code = |m: &ServerMessage| m.result().unwrap_or(0);
    if code(want) == 0 {
        assert_eq!(got, want, "step {step} ({op}): ack");
    } else {
        assert_eq!(
            (got.type_name(), code(got)),
            (want.type_name(), code(want)),
            "step {step} ({op}): failure ack {got:?}"
        );
    }
}

fn sorted_json(msgs: impl IntoIterator<Item = ServerMessage>) -> Vec<String> {
    let mut v: Vec<String> = msgs
        .into_iter()
        .map(|m| serde_json::to_string(&m).expect("serialisable"))
        .collect();
    v.sort();
    v
}

/// Everyone received exactly what the model says (as a multiset per client), and nobody hears
/// of a room's creation or destruction twice over the run.
fn assert_notifications(step: usize, op: &str, w: &mut World, m: &mut Model, r: &mut Runner) {
    let got = w.drain_all();
    let mut want: BTreeMap<ClientId, Vec<ServerMessage>> = BTreeMap::new();
    for (to, msg) in std::mem::take(&mut m.out) {
        want.entry(to).or_default().push(msg);
    }
    for c in &r.everyone {
        for msg in got.of(c) {
            record(format!("notification {}", msg.type_name()));
        }
        let g = sorted_json(got.of(c).iter().cloned());
        let e = sorted_json(want.remove(c).unwrap_or_default());
        assert_eq!(g, e, "step {step} ({op}): notifications of {c}");
        for msg in got.of(c) {
            let slot = match msg {
                ServerMessage::BreakoutRoomCreated(n) => {
                    r.created.entry((c.clone(), n.room_id.clone()))
                }
                ServerMessage::DidDestroyedBreakoutRoom(n) => {
                    r.destroyed.entry((c.clone(), n.room_id.clone()))
                }
                _ => continue,
            };
            let n = slot.or_insert(0);
            *n += 1;
            assert_eq!(*n, 1, "step {step} ({op}): {c} told twice: {msg:?}");
        }
    }
    assert!(
        want.is_empty(),
        "step {step} ({op}): the model told unknown clients {want:?}"
    );
}

/// What a run keeps besides the world and the model.
#[derive(Default)]
struct Runner {
    /// Every client admitted, in order.
    everyone: Vec<ClientId>,
    /// Connects attempted (for names).
    names: u32,
    /// `breakoutRoomCreated` per (recipient, room), over the run.
    created: BTreeMap<(ClientId, RoomId), u32>,
    /// `didDestroyedBreakoutRoom` per (recipient, room), over the run.
    destroyed: BTreeMap<(ClientId, RoomId), u32>,
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[i % items.len()].clone())
    }
}

/// True for one value of `i` in `n`: picks the rare branch of a random choice.
fn one_in(i: usize, n: usize) -> bool {
    matches!(i % n, 0)
}

/// A room for an operation: usually a live one, sometimes a destroyed one or one that never
/// existed.
fn pick_room(m: &Model, i: usize) -> RoomId {
    let live: Vec<RoomId> = m.rooms.iter().map(|r| r.id.clone()).collect();
    if !one_in(i, 5) && !live.is_empty() {
        return live[(i / 5) % live.len()].clone();
    }
    let mut others: Vec<RoomId> = m
        .all_rooms
        .iter()
        .filter(|r| !live.contains(r))
        .cloned()
        .collect();
    others.push(RoomId::from("no-such-room"));
    others[(i / 5) % others.len()].clone()
}

/// A room `c` holds an invitation to (usually), else as [`pick_room`].
fn pick_invited_room(m: &Model, c: &ClientId, i: usize) -> RoomId {
    let invited: Vec<RoomId> = m
        .rooms
        .iter()
        .filter(|r| r.invitations.contains(c))
        .map(|r| r.id.clone())
        .collect();
    if !one_in(i, 3) && !invited.is_empty() {
        invited[(i / 3) % invited.len()].clone()
    } else {
        pick_room(m, i / 3)
    }
}

/// An invitee: usually a connected client, sometimes a dropped one or an unknown id.
fn pick_invitee(m: &Model, i: usize) -> ClientId {
    let connected: Vec<ClientId> = m.clients.iter().map(|c| c.id.clone()).collect();
    if !one_in(i, 6) && !connected.is_empty() {
        return connected[(i / 6) % connected.len()].clone();
    }
    let mut others: Vec<ClientId> = m
        .all_clients
        .iter()
        .filter(|c| !connected.contains(c))
        .cloned()
        .collect();
    others.push(ClientId::from("c999"));
    others[(i / 6) % others.len()].clone()
}

/// Applies one operation to both the world and the model and compares the acknowledgement.
fn apply(step: usize, label: &str, op: Op, w: &mut World, m: &mut Model, r: &mut Runner) {
    let attached = m.attached();
    let detached = m.detached();
    // With nobody attached, a request becomes a resume (of a detached client) or a connect.
    let op = if attached.is_empty()
        && !matches!(
            op,
            Op::Connect(_) | Op::Advance(_) | Op::Reconnect(_) | Op::Restart
        ) {
        if detached.is_empty() {
            Op::Connect(Role::Moderator)
        } else {
            Op::Reconnect(1 + 6 * step)
        }
    } else {
        op
    };
    let actor = |i: usize| pick(&attached, i).expect("someone is attached");
    match op {
        Op::Connect(role) => {
            r.names += 1;
            let prefix = match role {
                Role::Moderator => "M",
                Role::Participant => "P",
                Role::Viewer => "V",
            };
            let name = format!("{prefix}{}", r.names);
            match w.try_connect(&name, role) {
                Ok((id, mut ack)) => {
                    let want = m.connect(&id, &name, role);
                    server_time_checked(&mut ack.msg);
                    assert_eq!(ack.msg, want, "step {step} ({label}): roomConnected");
                    r.everyone.push(id);
                }
                Err(frame) => {
                    let want = m.connect(&ClientId::from("refused"), &name, role);
                    assert_eq!(frame.msg, want, "step {step} ({label}): refused connect");
                }
            }
        }
        Op::Leave(i) => {
            let c = actor(i);
            w.drop_client(&c);
            m.leave_family(&c);
        }
        Op::LoseConnection(i) => {
            let c = actor(i);
            w.drop_connection(&c);
            m.lose_connection(&c);
        }
        Op::Reconnect(i) => {
            // Usually a detached client; sometimes one that left (on purpose, or when its
            // grace period ran out), whose credential no longer opens anything.
            let gone: Vec<ClientId> = m
                .all_clients
                .iter()
                .filter(|c| m.client(c).is_none())
                .cloned()
                .collect();
            let target = if !one_in(i, 6) && !detached.is_empty() {
                pick(&detached, i / 6)
            } else {
                pick(&gone, i / 6).or_else(|| pick(&detached, i / 6))
            };
            if let Some(c) = target {
                let mut ack = w.resume(&c);
                let want = m.reconnect(&c);
                server_time_checked(&mut ack.msg);
                assert_eq!(ack.msg, want, "step {step} ({label}): resume of {c}");
            }
        }
        Op::Restart => {
            w.restart();
            m.restart();
        }
        Op::Advance(secs) => {
            w.advance(Duration::from_secs(secs));
            m.advance(secs);
        }
        Op::Create {
            actor: i,
            def,
            and_invite,
            force_join,
        } => {
            let c = actor(i);
            let Value::Object(raw) = def.json(force_join) else {
                unreachable!("definitions are objects")
            };
            let raw = RoomDefinitionInput(raw);
            let eligible = m.eligible(&c);
            let msg = if and_invite {
                ClientMessage::CreateAndInviteBreakoutRoom(raw)
            } else {
                ClientMessage::CreateBreakOutRoom(raw)
            };
            let ack = w.request(&c, msg);
            check_create(
                step, label, m, &c, def, and_invite, force_join, &eligible, &ack,
            );
        }
        Op::Invite {
            actor: i,
            room,
            clients,
            force_join,
        } => {
            let c = actor(i);
            let room = pick_room(m, room);
            let clients: Vec<ClientId> = clients.iter().map(|&x| pick_invitee(m, x)).collect();
            let msg = ClientMessage::InviteToBreakOutRoom(Invitee {
                clients: clients.clone(),
                room_id: room.clone(),
                force_join,
            });
            let ack = w.request(&c, msg);
            let want = m.invite(&c, &room, &clients, force_join);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Join {
            actor: i,
            room,
            as_moderator,
            video,
        } => {
            let c = actor(i);
            let room = pick_invited_room(m, &c, room);
            let role = if as_moderator {
                JoinRole::Moderator
            } else {
                JoinRole::Participant
            };
            let msg = ClientMessage::JoinBreakoutRoom(Joinee {
                role,
                room_id: room.clone(),
                stream_info: StreamInfo { audio: true, video },
            });
            let ack = w.request(&c, msg);
            let want = m.join(&c, &room, role, video);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Reject { actor: i, room } => {
            let c = actor(i);
            let room = pick_invited_room(m, &c, room);
            let ack = w.request(
                &c,
                ClientMessage::RejectBreakOutRoom(RoomRef {
                    room_id: room.clone(),
                }),
            );
            let want = m.reject(&c, &room);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Pause(i) | Op::Resume(i) => {
            let c = actor(i);
            let pause = matches!(op, Op::Pause(_));
            let ack = w.request(
                &c,
                if pause {
                    ClientMessage::Pause
                } else {
                    ClientMessage::Resume
                },
            );
            let want = m.set_paused(&c, pause);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Mute {
            actor: i,
            audio,
            video,
        }
        | Op::Unmute {
            actor: i,
            audio,
            video,
        } => {
            let c = actor(i);
            let mute = matches!(op, Op::Mute { .. });
            let flags = MediaFlags { audio, video };
            let msg = if mute {
                ClientMessage::MuteRoom(flags)
            } else {
                ClientMessage::UnmuteRoom(flags)
            };
            let ack = w.request(&c, msg);
            let want = m.set_muted(&c, audio, video, mute);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Disconnect { actor: i, room } => {
            let c = actor(i);
            // Usually the caller's own room.
            let room = match (&m.client(&c).expect("connected").location, room % 3) {
                (Location::Breakout(own), 1 | 2) => own.clone(),
                _ => pick_room(m, room / 3),
            };
            let ack = w.request(
                &c,
                ClientMessage::Disconnect(RoomRef {
                    room_id: room.clone(),
                }),
            );
            let want = m.disconnect(&c, &room);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::ClearAll(i) => {
            let c = actor(i);
            let ack = w.request(&c, ClientMessage::ClearAllBreakOutSession);
            let want = m.clear_all(&c);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::DestroyAll(i) => {
            let c = actor(i);
            let ack = w.request(&c, ClientMessage::DestroyAllBreakOutSession);
            let want = m.destroy_all(&c);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::SetDuration {
            actor: i,
            room,
            duration,
            warning,
        } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let room = pick_room(m, room);
            let msg = ClientMessage::SetBreakoutDuration(SetBreakoutDuration {
                room_id: room.clone(),
                duration,
                warning,
            });
            let ack = w.request(&c, msg);
            let want = m.set_duration(&c, &room, duration, warning);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::RequestHelp(i) => {
            // Usually someone in a break-out room.
            let inside: Vec<ClientId> = attached
                .iter()
                .filter(|x| m.client(x).is_some_and(|x| x.location != Location::Parent))
                .cloned()
                .collect();
            let c = match pick(&inside, i / 4) {
                Some(c) if !one_in(i, 4) => c,
                _ => actor(i),
            };
            let ack = w.request(&c, ClientMessage::RequestHelp);
            let want = m.request_help(&c);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::CancelHelp(i) => {
            // Usually someone asking.
            let asking: Vec<ClientId> = attached
                .iter()
                .filter(|x| m.client(x).is_some_and(|x| x.help.is_some()))
                .cloned()
                .collect();
            let c = match pick(&asking, i / 3) {
                Some(c) if !one_in(i, 3) => c,
                _ => actor(i),
            };
            let ack = w.request(&c, ClientMessage::CancelHelp);
            let want = m.cancel_help(&c);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::DismissHelp { actor: i, target } => {
            let c = pick_moderator_mostly(m, &attached, i);
            // Usually someone asking.
            let asking: Vec<ClientId> = m
                .clients
                .iter()
                .filter(|x| x.help.is_some())
                .map(|x| x.id.clone())
                .collect();
            let t = match pick(&asking, target / 3) {
                Some(t) if !one_in(target, 3) => t,
                _ => pick_invitee(m, target / 3),
            };
            let ack = w.request(
                &c,
                ClientMessage::DismissHelp(DismissHelp {
                    client_id: t.clone(),
                }),
            );
            let want = m.dismiss_help(&c, &t);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Move {
            actor: i,
            target,
            room,
        } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let t = pick_invitee(m, target);
            let room = pick_room(m, room);
            let msg = ClientMessage::MoveToBreakoutRoom(MoveToBreakoutRoom {
                client_id: t.clone(),
                room_id: room.clone(),
            });
            let log = w.route_log().len();
            let ack = w.request(&c, msg);
            let want = m.move_to(&c, &t, &room);
            assert_ack(step, label, &ack.msg, &want);
            // A move from a room never routes the mover through the parent.
            if ack.msg.result() == Some(0) {
                for r in &w.route_log()[log..] {
                    if r.client == t {
                        assert!(
                            r.paused && matches!(r.location, Some(Location::Breakout(_))),
                            "step {step} ({label}): {t} routed through the parent: {r:?}"
                        );
                    }
                }
            }
        }
        Op::SetSelfSelect { actor: i, room, on } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let room = room.map(|r| pick_room(m, r));
            let msg = ClientMessage::SetSelfSelect(SetSelfSelect {
                room_id: room.clone(),
                on,
            });
            let ack = w.request(&c, msg);
            let want = m.set_self_select(&c, room.as_ref(), on);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Rename {
            actor: i,
            room,
            valid,
        } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let room = pick_room(m, room);
            let name = if valid {
                format!(" Room {step} ")
            } else {
                "  \u{7} ".to_owned()
            };
            let msg = ClientMessage::RenameBreakoutRoom(RenameBreakoutRoom {
                room_id: room.clone(),
                name: name.clone(),
            });
            let ack = w.request(&c, msg);
            let clean = valid.then(|| name.trim().to_owned());
            let want = m.rename(&c, &room, clean.as_deref());
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::MuteMember {
            actor: i,
            target,
            by_room,
        } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let (msg, want) = if by_room {
                let room = pick_room(m, target);
                let msg = MuteMember {
                    client_id: None,
                    room_id: Some(room.clone()),
                };
                (msg, Err(room))
            } else {
                let t = pick_invitee(m, target);
                let msg = MuteMember {
                    client_id: Some(t.clone()),
                    room_id: None,
                };
                (msg, Ok(t))
            };
            let ack = w.request(&c, ClientMessage::MuteMember(msg));
            let want = m.mute_member(&c, want.as_ref());
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::AskToUnmute { actor: i, target } => {
            let c = pick_moderator_mostly(m, &attached, i);
            // Usually someone muted by a moderator.
            let muted: Vec<ClientId> = m
                .clients
                .iter()
                .filter(|x| x.mod_muted)
                .map(|x| x.id.clone())
                .collect();
            let t = match pick(&muted, target / 3) {
                Some(t) if !one_in(target, 3) => t,
                _ => pick_invitee(m, target / 3),
            };
            let ack = w.request(
                &c,
                ClientMessage::AskToUnmute(AskToUnmute {
                    client_id: t.clone(),
                }),
            );
            let want = m.ask_to_unmute(&c, &t);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::UnmuteSelf(i) => {
            // Usually someone muted by a moderator.
            let muted: Vec<ClientId> = attached
                .iter()
                .filter(|x| m.client(x).is_some_and(|x| x.mod_muted))
                .cloned()
                .collect();
            let c = match pick(&muted, i / 2) {
                Some(c) if !one_in(i, 2) => c,
                _ => actor(i),
            };
            let ack = w.request(&c, ClientMessage::UnmuteSelf);
            let want = m.unmute_self(&c);
            assert_ack(step, label, &ack.msg, &want);
        }
        Op::Pin {
            actor: i,
            target,
            unpin,
        } => {
            let c = pick_moderator_mostly(m, &attached, i);
            let req = alcove_proto::signal::PinUsers {
                client_ids: vec![pick_invitee(m, target)],
            };
            let msg = if unpin {
                ClientMessage::UnpinUsers(req)
            } else {
                ClientMessage::PinUsers(req)
            };
            let ack = w.request(&c, msg);
            let want = m.pin(&c, unpin);
            assert_ack(step, label, &ack.msg, &want);
        }
    }
}

/// Issue 10's invariants, on the core's state after every step (besides
/// `Family::check_invariants`, which the world runs): no live room is past its timer's end;
/// a warning is never after the end, and one already sent is not in the future; a self-select
/// room never holds more participants than its places; a help request is pending only for a
/// client inside the room it asked from; an ask to unmute is held only by a member muted by a
/// moderator.
fn check_facilitation_invariants(step: usize, label: &str, w: &World, m: &Model) {
    let now = ms(m.now);
    for b in w.family().breakout_rooms() {
        let r = m.room(&b.room_id).expect("compared above");
        if let Some(end) = b.ends_at {
            assert!(
                end > now,
                "step {step} ({label}): {} is past its end",
                b.room_id
            );
            if let Some(warn) = b.warning_at {
                assert!(warn <= end, "step {step} ({label}): warning after the end");
            }
            if r.timer.is_some_and(|t| t.warned) {
                assert!(
                    b.warning_at.is_some_and(|w| w <= now),
                    "step {step} ({label}): warned but warning_at in the future"
                );
            }
        }
        if b.self_select {
            assert!(
                Model::counted(r) <= b.participants as usize,
                "step {step} ({label}): self-select room over capacity"
            );
        }
    }
    for c in &m.clients {
        if let Some((room, _)) = &c.help {
            assert_eq!(
                &c.location,
                &Location::Breakout(room.clone()),
                "step {step} ({label}): {} asks for help from a room it is not in",
                c.id
            );
        }
        assert!(
            c.asked_by.is_none() || c.mod_muted,
            "step {step} ({label}): {} asked to unmute but not muted",
            c.id
        );
    }
}

/// The caller of a moderators-only operation: usually an attached moderator, sometimes anyone.
fn pick_moderator_mostly(m: &Model, attached: &[ClientId], i: usize) -> ClientId {
    let mods: Vec<ClientId> = attached
        .iter()
        .filter(|c| m.is_moderator(c))
        .cloned()
        .collect();
    match pick(&mods, i / 5) {
        Some(c) if !one_in(i, 5) => c,
        _ => pick(attached, i).expect("someone is attached"),
    }
}

/// Runs `ops` (after a fixed prelude of two moderators, three participants and a viewer) on a
/// world and the model, comparing after every step; with `end`, the parent ends at the end.
/// Returns the number of steps run (the prelude's included, the end's not).
fn run(seed: u64, moderators_only: bool, ops: &[Op], end: bool) -> u64 {
    let settings = settings(moderators_only);
    let mut w = World::with_resume_grace(settings.clone(), seed, Duration::from_secs(GRACE));
    let mut m = Model::new(settings);
    let mut r = Runner::default();
    let prelude = [
        Op::Connect(Role::Moderator),
        Op::Connect(Role::Moderator),
        Op::Connect(Role::Participant),
        Op::Connect(Role::Participant),
        Op::Connect(Role::Participant),
        Op::Connect(Role::Viewer),
    ];
    let mut steps = 0;
    for (step, op) in prelude.iter().chain(ops.iter()).cloned().enumerate() {
        let label = format!("{op:?}");
        apply(step, &label, op, &mut w, &mut m, &mut r);
        steps += 1;
        assert_notifications(step, &label, &mut w, &mut m, &mut r);
        assert_eq!(
            w.connected(),
            m.attached(),
            "step {step} ({label}): attached clients"
        );
        assert_eq!(
            w.detached(),
            m.detached(),
            "step {step} ({label}): detached clients"
        );
        assert_eq!(
            w.family().users(),
            m.users(),
            "step {step} ({label}): users()"
        );
        assert_eq!(
            w.family().breakout_rooms(),
            m.rooms_info(),
            "step {step} ({label}): breakout_rooms()"
        );
        w.check_invariants();
        check_facilitation_invariants(step, &label, &w, &m);
    }
    if end {
        w.end_parent();
        m.end();
        assert_notifications(usize::MAX, "end of the parent", &mut w, &mut m, &mut r);
        assert!(w.family().users().is_empty() && w.family().breakout_rooms().is_empty());
    }
    steps
}

/// Create / create-and-invite: the model decides the code; on success the ids come from the
/// core (checked fresh) and the deal is checked by property, then applied to the model.
#[allow(clippy::too_many_arguments)]
fn check_create(
    step: usize,
    label: &str,
    m: &mut Model,
    caller: &ClientId,
    def: Def,
    and_invite: bool,
    force_join: bool,
    eligible: &[ClientId],
    ack: &ServerFrame,
) {
    let ty = if and_invite {
        "ackCreateAndInviteBreakOutRoom"
    } else {
        "ackCreateBreakOutRoom"
    };
    let got_code = ack.msg.result().unwrap_or(-1);
    record(format!("{} {got_code}", ack.msg.type_name()));
    match m.check_create(caller, def) {
        Err(code) => {
            assert_eq!(
                (ack.msg.type_name(), got_code),
                (ty, code.code()),
                "step {step} ({label}): {ack:?}"
            );
        }
        Ok(d) => {
            assert_eq!(
                (ack.msg.type_name(), got_code),
                (ty, 0),
                "step {step} ({label}): {ack:?}"
            );
            let rooms = alcove_sim::req::rooms(ack);
            assert_eq!(rooms.len(), d.1 as usize, "step {step}: one id per room");
            for (i, r) in rooms.iter().enumerate() {
                assert!(
                    !m.all_rooms.contains(r) && !rooms[..i].contains(r),
                    "step {step}: room id {r} reused"
                );
            }
            m.create(caller, d, &rooms);
            if !and_invite {
                return;
            }
            let ServerMessage::AckCreateAndInviteBreakOutRoom(a) = &ack.msg else {
                unreachable!()
            };
            let result = a.msg.data().expect("success carries data");
            assert_eq!(
                result
                    .invitations
                    .iter()
                    .map(|i| i.room_id.clone())
                    .collect::<Vec<_>>(),
                rooms
            );
            let capacity = rooms.len() * d.0 as usize;
            let dealt = eligible.len().min(capacity);
            for (i, inv) in result.invitations.iter().enumerate() {
                let size = dealt / rooms.len() + usize::from(i < dealt % rooms.len());
                assert_eq!(
                    inv.clients.len(),
                    size,
                    "step {step}: round-robin size of room {i}"
                );
            }
            assert_eq!(
                result.unassigned.len(),
                eligible.len() - dealt,
                "step {step}: unassigned"
            );
            let mut all: Vec<ClientId> = result
                .invitations
                .iter()
                .flat_map(|i| i.clients.clone())
                .collect();
            all.extend(result.unassigned.iter().cloned());
            all.sort();
            let mut want = eligible.to_vec();
            want.sort();
            assert_eq!(
                all, want,
                "step {step}: every eligible participant exactly once"
            );
            let requestor = m.user_ref(caller);
            for inv in &result.invitations {
                if !inv.clients.is_empty() {
                    m.apply_invitations(&requestor, &inv.room_id, &inv.clients, force_join);
                }
            }
        }
    }
}

// ----- coverage of the generator -----

thread_local! {
    /// Outcomes seen, when a test asks for them (see `the_generator_reaches_every_outcome`).
    static STATS: std::cell::RefCell<Option<BTreeMap<String, u64>>> = const { std::cell::RefCell::new(None) };
}

fn record(key: String) {
    STATS.with(|s| {
        if let Some(map) = s.borrow_mut().as_mut() {
            *map.entry(key).or_insert(0) += 1;
        }
    });
}

fn sequence_strategy() -> impl Strategy<Value = (u64, bool, Vec<Op>, bool)> {
    (
        any::<u64>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(op_strategy(), 1..max_ops()),
        prop::bool::weighted(0.2),
    )
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Sequences per run (`PROPTEST_CASES`, default `CI_CASES`).
fn cases() -> u32 {
    env_or("PROPTEST_CASES", CI_CASES as usize) as u32
}

/// Operations per sequence, exclusive bound (`MODEL_OPS`, default 60).
fn max_ops() -> usize {
    env_or("MODEL_OPS", 60).max(2)
}

/// The sequences CI runs (see the module documentation for the time they take).
const CI_CASES: u32 = 2500;

#[test]
fn the_core_behaves_like_the_model() {
    use proptest::test_runner::TestRunner;
    let config = ProptestConfig {
        cases: cases(),
        max_shrink_iters: 20_000,
        source_file: Some(file!()),
        test_name: Some("model::the_core_behaves_like_the_model"),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let steps = std::cell::Cell::new(0u64);
    let started = std::time::Instant::now();
    let result = runner.run(&sequence_strategy(), |(seed, moderators_only, ops, end)| {
        steps.set(steps.get() + run(seed, moderators_only, &ops, end));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    // Shown with `--nocapture`: the figures a long run reports.
    println!(
        "model: {} sequences, {} steps, {:.1?}",
        cases(),
        steps.get(),
        started.elapsed()
    );
}

/// Guards the generator: a few hundred sequences must reach every success and every error
/// code of SPEC §3 and every notification, or the model test would silently test less.
#[test]
fn the_generator_reaches_every_outcome() {
    use proptest::test_runner::{Config, TestRunner};
    STATS.with(|s| *s.borrow_mut() = Some(BTreeMap::new()));
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    runner
        .run(&sequence_strategy(), |(seed, moderators_only, ops, end)| {
            run(seed, moderators_only, &ops, end);
            Ok(())
        })
        .expect("the model agrees");
    let seen = STATS.with(|s| s.borrow_mut().take()).unwrap_or_default();
    let want = [
        "ackCreateBreakOutRoom 0",
        "ackCreateBreakOutRoom 1155",
        "ackCreateBreakOutRoom 1724",
        "ackCreateBreakOutRoom 1725",
        "ackCreateBreakOutRoom 1726",
        "ackCreateBreakOutRoom 1734",
        "ackCreateBreakOutRoom 1735",
        "ackCreateBreakOutRoom 5003",
        "ackCreateBreakOutRoom 5067",
        "ackCreateAndInviteBreakOutRoom 0",
        "ackCreateAndInviteBreakOutRoom 1726",
        "ackCreateAndInviteBreakOutRoom 5003",
        "ackCreateAndInviteBreakOutRoom 5067",
        "ackInviteBreakOutRoom 0",
        "ackInviteBreakOutRoom 1155",
        "ackInviteBreakOutRoom 1736",
        "ackInviteBreakOutRoom 5003",
        "invitee failed 1738",
        "invitee failed 1739",
        "invitee failed 1740",
        "invitee failed 1743",
        "connectedBreakoutRoom 0",
        "failedJoinBreakOutRoom 1735",
        "failedJoinBreakOutRoom 1736",
        "failedJoinBreakOutRoom 1737",
        "failedJoinBreakOutRoom 1738",
        "failedJoinBreakOutRoom 1739",
        "failedJoinBreakOutRoom 1742",
        "ackRejectBreakoutRoom 0",
        "ackRejectBreakoutRoom 1736",
        "ackRejectBreakoutRoom 1737",
        "ackPause 0",
        "ackResume 0",
        "ackMuteRoom 0",
        "ackMuteRoom 1155",
        "ackUnmuteRoom 0",
        "ackUnmuteRoom 1155",
        "didDisconnectedBreakoutRoom 0",
        "didDisconnectedBreakoutRoom 1736",
        "didDisconnectedBreakoutRoom 1741",
        "ackDestroyAllBreakOutSession 0",
        "ackDestroyAllBreakOutSession 5003",
        "notification breakoutRoomCreated",
        "notification invitationForBreakoutRoom",
        "notification breakoutRoomInvited",
        "notification connectedBreakoutRoom",
        "notification userJoinedBreakoutRoom",
        "notification breakoutRoomInviteRejected",
        "notification didDisconnectedBreakoutRoom",
        "notification didUserDisconnectedFromBreakoutRoom",
        "notification didDestroyedBreakoutRoom",
        "notification breakoutInvitationWithdrawn",
        "notification userConnected",
        "notification userDisconnected",
        "notification userMoved",
        "notification userPaused",
        "notification userMuted",
        "notification roomDisconnected",
        "lost connection Moderator",
        "lost connection Participant",
        "lost connection Participant in a breakout room",
        "lost connection Viewer",
        "resumed",
        "resumed in a breakout room",
        "resumed with invitations",
        "resumed after a restart",
        "resume refused",
        "restart with live rooms",
        "restart with no rooms",
        "grace ran out",
        "grace ran out in a breakout room",
        "grace ran out and a room emptied",
        "grace ran out after a restart",
        // issue 10
        "ackSetBreakoutDuration 0",
        "ackSetBreakoutDuration 1155",
        "ackSetBreakoutDuration 1736",
        "ackSetBreakoutDuration 5003",
        "timer set",
        "timer cleared",
        "timer warning",
        "timer ended a room",
        "notification breakoutTimer",
        "notification breakoutTimerWarning",
        "ackRequestHelp 0",
        "ackRequestHelp 1741",
        "help requested again",
        "ackCancelHelp 0",
        "ackCancelHelp 1760",
        "ackDismissHelp 0",
        "ackDismissHelp 1760",
        "ackDismissHelp 5003",
        "help Answered",
        "help Cancelled",
        "help Dismissed",
        "help Left",
        "notification helpRequested",
        "notification helpResolved",
        "notification helpAnswered",
        "notification helpDismissed",
        "ackMoveToBreakoutRoom 0",
        "ackMoveToBreakoutRoom 1736",
        "ackMoveToBreakoutRoom 1738",
        "ackMoveToBreakoutRoom 1740",
        "ackMoveToBreakoutRoom 1743",
        "ackMoveToBreakoutRoom 5003",
        "moved from a room",
        "moved from the parent",
        "join switches rooms",
        "ackSetSelfSelect 0",
        "ackSetSelfSelect 1736",
        "ackSetSelfSelect 5003",
        "ackRenameBreakoutRoom 0",
        "ackRenameBreakoutRoom 1155",
        "ackRenameBreakoutRoom 1736",
        "ackRenameBreakoutRoom 5003",
        "ackMuteMember 0",
        "ackMuteMember 1736",
        "ackMuteMember 1740",
        "ackMuteMember 5003",
        "muted 2 members",
        "notification memberMuted",
        "ackAskToUnmute 0",
        "ackAskToUnmute 1740",
        "ackAskToUnmute 5003",
        "notification unmuteAsked",
        "ackUnmuteSelf 0",
        "ackUnmuteSelf 1762",
        "unmuted self",
        "ackPinUsers 1155",
        "ackPinUsers 5003",
        "ackUnpinUsers 1155",
        "ackUnpinUsers 5003",
    ];
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|k| !seen.contains_key(*k))
        .collect();
    if std::env::var_os("MODEL_STATS").is_some() {
        println!("{seen:#?}");
    }
    assert!(
        missing.is_empty(),
        "never reached: {missing:?}\nseen: {seen:#?}"
    );
}

#[test]
fn a_long_hand_written_session_matches_the_model() {
    // A fixed sequence through every operation, so a model bug shows up without luck.
    let ops = vec![
        Op::Create {
            actor: 0,
            def: Def::Valid {
                participants: 2,
                max_rooms: 2,
                audio: true,
                canvas: true,
                share: false,
            },
            and_invite: true,
            force_join: false,
        },
        Op::Join {
            actor: 2,
            room: 1,
            as_moderator: false,
            video: false,
        },
        Op::Join {
            actor: 3,
            room: 1,
            as_moderator: false,
            video: false,
        },
        Op::Reject { actor: 4, room: 0 },
        Op::Resume(2),
        Op::Mute {
            actor: 2,
            audio: true,
            video: false,
        },
        Op::Join {
            actor: 1,
            room: 1,
            as_moderator: true,
            video: false,
        },
        Op::Invite {
            actor: 0,
            room: 1,
            clients: vec![1, 2, 3, 4, 5],
            force_join: true,
        },
        Op::Advance(TIMEOUT),
        Op::Disconnect { actor: 2, room: 1 },
        Op::ClearAll(3),
        Op::Leave(4),
        Op::Connect(Role::Participant),
        Op::Create {
            actor: 2,
            def: Def::Valid {
                participants: 3,
                max_rooms: 3,
                audio: false,
                canvas: false,
                share: true,
            },
            and_invite: false,
            force_join: false,
        },
        Op::Invite {
            actor: 2,
            room: 1,
            clients: vec![0, 3, 6],
            force_join: false,
        },
        Op::DestroyAll(5),
        Op::DestroyAll(0),
        Op::Create {
            actor: 0,
            def: Def::Valid {
                participants: 2,
                max_rooms: 3,
                audio: true,
                canvas: false,
                share: false,
            },
            and_invite: true,
            force_join: true,
        },
        Op::Advance(TIMEOUT + 1),
        Op::Pause(0),
        Op::Unmute {
            actor: 0,
            audio: true,
            video: true,
        },
    ];
    run(17, false, &ops, true);
}

#[test]
fn a_hand_written_session_with_lost_connections_and_restarts_matches_the_model() {
    // Indices pick among the attached (actors), detached or gone (resumes) clients and the
    // live rooms at the time, as in the random sequences.
    let ops = vec![
        Op::Create {
            actor: 0,
            def: Def::Valid {
                participants: 2,
                max_rooms: 2,
                audio: true,
                canvas: false,
                share: true,
            },
            and_invite: false,
            force_join: false,
        },
        // Two participants forced into the first room, one invited to the second.
        Op::Invite {
            actor: 0,
            room: 1,
            clients: vec![13, 19],
            force_join: true,
        },
        Op::Invite {
            actor: 1,
            room: 6,
            clients: vec![25],
            force_join: false,
        },
        // A member of the first room and the invitee lose their connections.
        Op::LoseConnection(2),
        Op::LoseConnection(3),
        Op::Advance(GRACE - 1),
        Op::Reconnect(1),
        // The owner loses its connection, then the server restarts.
        Op::LoseConnection(0),
        Op::Restart,
        Op::Reconnect(1),
        Op::Reconnect(7),
        // Whoever did not come back leaves now, with the notifications of a leave.
        Op::Advance(GRACE),
        Op::Reconnect(0),
        // A moderator joins the first room; its member drops and is moved back by destroy-all.
        Op::Join {
            actor: 0,
            room: 6,
            as_moderator: true,
            video: false,
        },
        Op::LoseConnection(1),
        Op::DestroyAll(0),
        Op::Reconnect(1),
        Op::Connect(Role::Participant),
        Op::Advance(TIMEOUT),
    ];
    run(23, false, &ops, true);
}

/// The server's clock in `roomConnected` is the simulation's epoch plus simulated time: checked
/// to be after the epoch, then cleared so the model's frame (which does not keep a clock)
/// compares equal.
fn server_time_checked(msg: &mut ServerMessage) {
    if let ServerMessage::RoomConnected(rc) = msg {
        assert!(
            rc.server_time >= 1_767_225_600_000,
            "server_time {} is before the family's epoch",
            rc.server_time
        );
        rc.server_time = 0;
    }
}

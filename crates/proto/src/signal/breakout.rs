//! Break-out request payloads and the acknowledgements and notifications they cause.
//!
//! Requests: create / create-and-invite (a room definition), invite, join, reject, pause,
//! resume, mute, unmute, disconnect, clear all, destroy all. The shapes follow SPEC §3.

use crate::error_code::ErrorCode;
use crate::ids::{ClientId, RoomId};
use crate::signal::presence::{BreakoutRoomInfo, UserRef};
use crate::signal::Msg;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A room definition exactly as the client sent it (create and create-and-invite).
///
/// It is kept raw so that validation follows the contract's order, after the caller's mode and
/// location checks: see [`RoomDefinitionInput::parse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomDefinitionInput(pub Map<String, Value>);

/// `max_rooms` of a room definition that omits it: one room, as the vendor's SDK creates.
pub const DEFAULT_MAX_ROOMS: u32 = 1;

/// A validated room definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomDefinition {
    /// Participant places per break-out room (moderators joining as moderator do not count).
    pub participants: u32,
    /// Audio enabled (always carried; kept for the contract).
    pub audio: bool,
    /// Video: must be false.
    pub video: bool,
    /// Canvas streaming allowed in the room.
    pub canvas: bool,
    /// Screen share allowed in the room.
    pub share: bool,
    /// How many rooms to create ([`DEFAULT_MAX_ROOMS`] when the request omits it).
    pub max_rooms: u32,
    /// Create-and-invite only: move invitees at once.
    pub force_join: bool,
    /// Timer in seconds from creation (Alcove; absent: no timer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Seconds before the end when the warning goes out (Alcove; absent: 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<u32>,
    /// Any participant may join without an invitation (Alcove).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_select: bool,
    /// Create-and-invite's assignment policy (Alcove).
    #[serde(default, skip_serializing_if = "AssignPolicy::is_random")]
    pub policy: AssignPolicy,
    /// Moderators may listen to and talk into the room from the parent (Alcove; default
    /// true). Members always see who listens (`monitoredBy`).
    #[serde(default = "allowed", skip_serializing_if = "is_allowed")]
    pub allow_listen_in: bool,
}

fn allowed() -> bool {
    true
}

fn is_allowed(b: &bool) -> bool {
    *b
}

/// How create-and-invite distributes the parent's participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignPolicy {
    /// At random, round-robin (the seed's behaviour).
    #[default]
    Random,
    /// Minimise pairs of participants who were in a break-out room together before.
    MeetNew,
}

impl AssignPolicy {
    /// True for the default policy.
    pub fn is_random(&self) -> bool {
        *self == AssignPolicy::Random
    }
}

impl Default for RoomDefinition {
    /// Two places, audio only, one room, no timer, invitations (not forced), random policy.
    fn default() -> Self {
        RoomDefinition {
            participants: 2,
            audio: true,
            video: false,
            canvas: false,
            share: false,
            max_rooms: 1,
            force_join: false,
            duration: None,
            warning: None,
            self_select: false,
            policy: AssignPolicy::Random,
            allow_listen_in: true,
        }
    }
}

impl RoomDefinition {
    /// The definition as the raw input a client would send.
    pub fn to_input(&self) -> RoomDefinitionInput {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => RoomDefinitionInput(m),
            _ => RoomDefinitionInput::default(),
        }
    }
}

impl RoomDefinitionInput {
    /// Validates the definition against a parent whose `max_active_talkers` is given, in the
    /// contract's order: `participants` present (1724), an integer ≥ 2 (1155), at most
    /// `max_active_talkers − 1` (1725); `audio`, `video`, `canvas`, `share` present (1734) and
    /// of the right type (1155); `video` false (1735); `max_rooms` an integer ≥ 1 (1155) when
    /// given, 1 when absent or `null` (as the vendor's SDK). `force_join` is optional (default
    /// false).
    pub fn parse(&self, max_active_talkers: u32) -> Result<RoomDefinition, (ErrorCode, String)> {
        let m = &self.0;
        let participants = match m.get("participants") {
            None | Some(Value::Null) => {
                return Err((
                    ErrorCode::ParticipantsMissing,
                    ErrorCode::ParticipantsMissing.message().into(),
                ))
            }
            Some(v) => v,
        };
        let participants = match participants.as_u64() {
            Some(n) if n >= 2 => n,
            _ => {
                return Err((
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `participants` must be an integer ≥ 2".into(),
                ))
            }
        };
        if participants > u64::from(max_active_talkers.saturating_sub(1)) {
            return Err((
                ErrorCode::ParticipantsOverCapacity,
                format!(
                    "{}: at most {} (max_active_talkers − 1)",
                    ErrorCode::ParticipantsOverCapacity.message(),
                    max_active_talkers.saturating_sub(1)
                ),
            ));
        }
        for key in ["audio", "video", "canvas", "share"] {
            if matches!(m.get(key), None | Some(Value::Null)) {
                return Err((
                    ErrorCode::RequiredParameterMissing,
                    format!("Required parameter missing: `{key}`"),
                ));
            }
        }
        let flag = |key: &str| -> Result<bool, (ErrorCode, String)> {
            match m.get(key) {
                Some(Value::Bool(b)) => Ok(*b),
                None | Some(Value::Null) if key == "force_join" => Ok(false),
                _ => Err((
                    ErrorCode::InvalidParameters,
                    format!("Invalid options/parameters: `{key}` must be a boolean"),
                )),
            }
        };
        let audio = flag("audio")?;
        let video = flag("video")?;
        let canvas = flag("canvas")?;
        let share = flag("share")?;
        let force_join = flag("force_join")?;
        if video {
            return Err((
                ErrorCode::VideoNotSupported,
                ErrorCode::VideoNotSupported.message().into(),
            ));
        }
        let max_rooms = match m.get("max_rooms") {
            None | Some(Value::Null) => Some(DEFAULT_MAX_ROOMS),
            Some(v) => v
                .as_u64()
                .filter(|n| *n >= 1)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        };
        let max_rooms = match max_rooms {
            Some(n) => n,
            _ => {
                return Err((
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `max_rooms` must be an integer ≥ 1".into(),
                ))
            }
        };
        let max = crate::signal::facilitate::MAX_DURATION_SECS;
        let seconds = |key: &str, min: u64| -> Result<Option<u32>, (ErrorCode, String)> {
            match m.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n >= min && n <= u64::from(max) => Ok(u32::try_from(n).ok()),
                    _ => Err((
                        ErrorCode::InvalidParameters,
                        format!(
                            "Invalid options/parameters: `{key}` must be an integer from {min} to {max} (seconds)"
                        ),
                    )),
                },
            }
        };
        let duration = seconds("duration", 1)?;
        let warning = seconds("warning", 0)?;
        let self_select = match m.get("self_select") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err((
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `self_select` must be a boolean".into(),
                ))
            }
        };
        let policy = match m.get("policy") {
            None | Some(Value::Null) => AssignPolicy::Random,
            Some(Value::String(p)) if p == "random" => AssignPolicy::Random,
            Some(Value::String(p)) if p == "meet_new" => AssignPolicy::MeetNew,
            Some(_) => {
                return Err((
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `policy` must be \"random\" or \"meet_new\""
                        .into(),
                ))
            }
        };
        let allow_listen_in = match m.get("allow_listen_in") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err((
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `allow_listen_in` must be a boolean".into(),
                ))
            }
        };
        self.names()?;
        Ok(RoomDefinition {
            // Bounded above by max_active_talkers − 1 (a u32) just above.
            participants: u32::try_from(participants).unwrap_or(u32::MAX),
            audio,
            video,
            canvas,
            share,
            max_rooms,
            force_join,
            duration,
            warning,
            self_select,
            policy,
            allow_listen_in,
        })
    }

    /// The optional `names` of the rooms to create, in order (Alcove): each 1 to 64
    /// characters once trimmed, control characters removed. Rooms beyond the list are named
    /// "Breakout N".
    pub fn names(&self) -> Result<Vec<String>, (ErrorCode, String)> {
        let bad = || {
            (
                ErrorCode::InvalidParameters,
                "Invalid options/parameters: `names` must be an array of names of 1 to 64 characters"
                    .to_owned(),
            )
        };
        match self.0.get("names") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) if a.len() <= 1000 => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .and_then(crate::signal::facilitate::clean_name)
                        .ok_or_else(bad)
                })
                .collect(),
            Some(_) => Err(bad()),
        }
    }
}

/// `inviteToBreakOutRoom` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    /// Client ids of the users to invite.
    pub clients: Vec<ClientId>,
    /// The break-out room.
    pub room_id: RoomId,
    /// Move the invitees into the room at once.
    #[serde(default)]
    pub force_join: bool,
}

/// The role asked for when joining a break-out room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinRole {
    /// Join as a participant (counts against `participants`).
    Participant,
    /// Join as a moderator (moderators only; does not count).
    Moderator,
}

/// `streamInfo` of `joinBreakoutRoom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// Join with audio.
    #[serde(default = "yes")]
    pub audio: bool,
    /// Join with video: must be false (1735).
    #[serde(default)]
    pub video: bool,
}

fn yes() -> bool {
    true
}

impl Default for StreamInfo {
    fn default() -> Self {
        StreamInfo {
            audio: true,
            video: false,
        }
    }
}

/// `joinBreakoutRoom` payload: the joinee plus the stream info.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joinee {
    /// `participant` or `moderator`.
    pub role: JoinRole,
    /// The break-out room to join.
    pub room_id: RoomId,
    /// What the joiner publishes.
    #[serde(default)]
    pub stream_info: StreamInfo,
}

/// A payload that names one room: reject, disconnect, `didDestroyedBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRef {
    /// The room.
    pub room_id: RoomId,
}

/// `{audio, video}` flags of `muteRoom` / `unmuteRoom`; at least one must be true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MediaFlags {
    /// Audio flag.
    #[serde(default)]
    pub audio: bool,
    /// Video flag.
    #[serde(default)]
    pub video: bool,
}

/// `msg` of a successful `ackCreateBreakOutRoom` / `ackDestroyAllBreakOutSession`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList {
    /// Room ids, in creation order.
    pub rooms: Vec<RoomId>,
}

/// Seed `ackCreateBreakOutRoom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckCreateBreakOutRoom {
    /// 0 on success.
    pub result: i32,
    /// `{rooms}` on success, a text on failure.
    pub msg: Msg<RoomList>,
}

/// Seed `breakoutRoomCreated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutRoomCreated {
    /// The new room.
    pub room_id: RoomId,
    /// "Breakout 1", "Breakout 2", …
    pub name: String,
    /// Who created it.
    pub owner: UserRef,
    /// Participant places.
    pub participants: u32,
    /// Audio enabled.
    pub audio: bool,
    /// Canvas allowed.
    pub canvas: bool,
    /// Screen share allowed.
    pub share: bool,
}

/// One invitee that could not be invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteFailure {
    /// The client.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Error code.
    pub result: i32,
    /// Why.
    pub msg: String,
}

/// Seed `ackInviteBreakOutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckInviteBreakOutRoom {
    /// 0 when the request as a whole was accepted (individual invitees may still fail).
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// Clients that now hold an invitation (or, with force join, were moved).
    #[serde(default)]
    pub invited: Vec<ClientId>,
    /// Clients that could not be invited, each with its reason.
    #[serde(default)]
    pub failed: Vec<InviteFailure>,
}

/// Seed `invitationForBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationForBreakoutRoom {
    /// The break-out room.
    pub room_id: RoomId,
    /// Who invited.
    pub requestor: UserRef,
    /// True when the invitee is being moved at once.
    pub force_join: bool,
}

/// Seed `breakoutRoomInvited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutRoomInvited {
    /// The break-out room.
    pub room_id: RoomId,
    /// Who was invited.
    pub clients: Vec<ClientId>,
    /// Who invited.
    pub requestor: UserRef,
}

/// One room's share of a create-and-invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInvitations {
    /// The break-out room.
    pub room_id: RoomId,
    /// Who was assigned to it.
    pub clients: Vec<ClientId>,
}

/// `msg` of a successful `ackCreateAndInviteBreakOutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAndInviteResult {
    /// Room ids, in creation order.
    pub rooms: Vec<RoomId>,
    /// Assignment per room.
    pub invitations: Vec<RoomInvitations>,
    /// Participants that did not fit and stay in the parent.
    pub unassigned: Vec<ClientId>,
    /// With `policy: "meet_new"`: pairs of participants put together again who were in a
    /// break-out room together before (the assignment keeps it as low as it can).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u32>,
}

/// Seed `ackCreateAndInviteBreakOutRoom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckCreateAndInviteBreakOutRoom {
    /// 0 on success.
    pub result: i32,
    /// The assignment on success, a text on failure.
    pub msg: Msg<CreateAndInviteResult>,
}

/// Seed `connectedBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedBreakoutRoom {
    /// Always 0 (failures are `failedJoinBreakOutRoom`).
    pub result: i32,
    /// The room joined, with its members (the joiner included).
    #[serde(flatten)]
    pub room: BreakoutRoomInfo,
}

/// Seed `userJoinedBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserJoinedBreakoutRoom {
    /// Who joined.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
    /// The break-out room.
    pub room_id: RoomId,
}

/// Seed `breakoutRoomInviteRejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutRoomInviteRejected {
    /// The break-out room.
    pub room_id: RoomId,
    /// Who rejected.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
}

/// Seed `didDisconnectedBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidDisconnectedBreakoutRoom {
    /// The break-out room left (null when a clear-all found the caller in none).
    pub room_id: Option<RoomId>,
    /// Always "" (kept for the contract).
    #[serde(rename = "moderatorId", default)]
    pub moderator_id: String,
    /// "Breakout Room disconnected" or the error text.
    pub msg: String,
    /// 0 on success.
    pub result: i32,
    /// Why (on success): `left`, `moved`, `destroyed`, `timeout`, or `owner_notice` when the
    /// receiver is not the one leaving but the room's owner told that a member left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<super::facilitate::LeaveReason>,
    /// Where the receiver is now (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<super::presence::Location>,
}

impl DidDisconnectedBreakoutRoom {
    /// The success shape for `room_id`.
    pub fn ok(room_id: Option<RoomId>) -> Self {
        DidDisconnectedBreakoutRoom {
            room_id,
            moderator_id: String::new(),
            msg: "Breakout Room disconnected".into(),
            result: 0,
            reason: None,
            location: None,
        }
    }

    /// The success shape for `room_id`, saying why and where the receiver is now.
    pub fn because(
        room_id: Option<RoomId>,
        reason: super::facilitate::LeaveReason,
        location: super::presence::Location,
    ) -> Self {
        DidDisconnectedBreakoutRoom {
            reason: Some(reason),
            location: Some(location),
            ..DidDisconnectedBreakoutRoom::ok(room_id)
        }
    }
}

/// Ack of `muteRoom` / `unmuteRoom`: the status plus the resulting parent mute state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteAck {
    /// 0 on success.
    pub result: i32,
    /// "Room muted" / "Room unmuted" or the error text.
    pub msg: String,
    /// The caller's parent mute state after the request (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<super::presence::Muted>,
}

/// Seed `didUserDisconnectedFromBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidUserDisconnectedFromBreakoutRoom {
    /// Who left.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
    /// The break-out room left.
    pub room: RoomId,
}

/// Ack of `destroyAllBreakOutSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckDestroyAllBreakOutSession {
    /// 0 on success.
    pub result: i32,
    /// `{rooms}` destroyed on success, a text on failure.
    pub msg: Msg<RoomList>,
}

/// Why an invitation was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    /// `destroyAllBreakOutSession`.
    DestroyedAll,
    /// The room was auto-destroyed (emptied, never joined, parent ended).
    Destroyed,
    /// The room's timer ran out (Alcove).
    Timeout,
}

/// Alcove `breakoutInvitationWithdrawn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutInvitationWithdrawn {
    /// The break-out room of the withdrawn invitation.
    pub room_id: RoomId,
    /// Why.
    pub reason: WithdrawReason,
}

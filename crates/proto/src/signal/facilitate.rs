//! Facilitation frames (Alcove, beyond the seed): timers, broadcast messages, help requests,
//! moves between break-out rooms, self-select, names, reusable plans and moderation inside
//! rooms. Every request is answered by exactly one acknowledgement; `docs/breakouts.md` holds
//! each operation's rules and `docs/protocol.md` each frame.
//!
//! Times on the wire (`ends_at`, `warning_at`, `at`, `server_time`) are absolute server times
//! in Unix milliseconds; a client corrects its own clock with `roomConnected.server_time`.

use crate::ids::{ClientId, RoomId};
use crate::signal::breakout::RoomInvitations;
use crate::signal::presence::UserRef;
use serde::{Deserialize, Serialize};

/// The longest broadcast text, in characters (after trimming).
pub const MAX_BROADCAST_CHARS: usize = 1000;
/// The longest break-out room or plan name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 64;
/// The longest timer a room may have, in seconds (24 hours).
pub const MAX_DURATION_SECS: u32 = 24 * 3600;
/// The warning before a timer's end when none is given, in seconds.
pub const DEFAULT_WARNING_SECS: u32 = 60;

/// `setBreakoutDuration`: set, change or clear a room's timer (moderators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBreakoutDuration {
    /// The break-out room.
    pub room_id: RoomId,
    /// Seconds from now until the room ends; `null` or 0 clears the timer.
    #[serde(default)]
    pub duration: Option<u32>,
    /// Seconds before the end when the warning goes out (default 60; 0: no warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<u32>,
}

/// A room's timer: `breakoutTimer` notification, and the payload of `ackSetBreakoutDuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutTimer {
    /// The break-out room.
    pub room_id: RoomId,
    /// When the room ends (Unix ms); `null` when it has no timer.
    pub ends_at: Option<u64>,
    /// When the warning goes out (Unix ms); `null` when none will.
    pub warning_at: Option<u64>,
}

/// Ack of `setBreakoutDuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckSetBreakoutDuration {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The timer as it now is (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<BreakoutTimer>,
}

/// `breakoutTimerWarning`: the room ends soon (once per timer, to members and moderators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutTimerWarning {
    /// The break-out room.
    pub room_id: RoomId,
    /// When it ends (Unix ms).
    pub ends_at: u64,
}

/// `broadcastMessage`: a text from a moderator into rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastMessage {
    /// The text (1 to 1,000 characters once trimmed; control characters other than newline
    /// and tab are removed).
    pub text: String,
    /// Rooms to reach: break-out room ids and/or the parent room's id; absent: every break-out
    /// room and the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<RoomId>>,
}

/// Ack of `broadcastMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckBroadcastMessage {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// How many clients it reached (the caller excluded).
    #[serde(default)]
    pub recipients: u32,
}

/// `broadcastReceived`: a moderator's broadcast text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastReceived {
    /// The moderator who sent it.
    pub from: UserRef,
    /// The text, as sanitised by the server.
    pub text: String,
    /// When it was sent (Unix ms).
    pub at: u64,
    /// The room of the receiver it was delivered in.
    pub room_id: RoomId,
}

/// A pending help request: `helpRequested`, and an entry of `roomConnected.help_requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpRequest {
    /// The break-out room asking.
    pub room_id: RoomId,
    /// Who asked.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
    /// When (Unix ms; a repeated press keeps the first time).
    pub at: u64,
}

/// Ack of `requestHelp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequestHelp {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The request as pending now (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HelpRequest>,
    /// True when a request was already pending (the press coalesced; moderators were not
    /// told again).
    #[serde(default)]
    pub already_pending: bool,
}

/// `dismissHelp`: a moderator closes a help request without joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DismissHelp {
    /// The requester.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
}

/// `helpAnswered` / `helpDismissed` to the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpReply {
    /// The requester's break-out room.
    pub room_id: RoomId,
    /// The moderator who joined or dismissed.
    pub by: UserRef,
}

/// How a help request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelpOutcome {
    /// A moderator joined the requester's room.
    Answered,
    /// A moderator dismissed it.
    Dismissed,
    /// The requester cancelled it.
    Cancelled,
    /// The requester left the room (or the family), or the room ended.
    Left,
}

/// `helpResolved` to every moderator: a request left the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpResolved {
    /// The break-out room that asked.
    pub room_id: RoomId,
    /// The requester.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Why it ended.
    pub outcome: HelpOutcome,
    /// The moderator who answered or dismissed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserRef>,
}

/// `moveToBreakoutRoom`: a moderator moves a client into a break-out room in one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveToBreakoutRoom {
    /// Who to move (in the parent or in another break-out room).
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Where to.
    pub room_id: RoomId,
}

/// `setSelfSelect`: turn self-select on or off for one room, or for every live room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSelfSelect {
    /// The room; absent: every live break-out room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    /// On or off.
    pub on: bool,
}

/// `renameBreakoutRoom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameBreakoutRoom {
    /// The room.
    pub room_id: RoomId,
    /// Its new display name (1 to 64 characters once trimmed).
    pub name: String,
}

/// A break-out room as every client sees it (the room list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutRoomSummary {
    /// The room.
    pub room_id: RoomId,
    /// Display name.
    pub name: String,
    /// Members now (moderators included).
    pub members: u32,
    /// Participant places.
    pub participants: u32,
    /// Any participant may join without an invitation.
    pub self_select: bool,
    /// When its timer ends (Unix ms), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<u64>,
}

/// `breakoutRoomsUpdated` to every client: rooms that appeared or changed (name, member
/// count, self-select, timer) and rooms that are gone, batched per family step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BreakoutRoomsUpdated {
    /// Rooms created or changed, in creation order.
    pub rooms: Vec<BreakoutRoomSummary>,
    /// Rooms destroyed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<RoomId>,
}

/// `savePlan`: keep the current assignment under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavePlan {
    /// Plan name (1 to 64 characters once trimmed); saving under an existing name replaces it.
    pub name: String,
}

/// One room of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRoom {
    /// Display name.
    pub name: String,
    /// Participant places.
    pub participants: u32,
    /// Canvas allowed.
    #[serde(default)]
    pub canvas: bool,
    /// Screen share allowed.
    #[serde(default)]
    pub share: bool,
    /// Timer, in seconds from when the plan is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Self-select.
    #[serde(default)]
    pub self_select: bool,
    /// Who belongs here: users' `user_ref` (or their name when the app set none).
    pub members: Vec<String>,
}

/// A saved assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Its name.
    pub name: String,
    /// Its rooms.
    pub rooms: Vec<PlanRoom>,
}

/// A plan as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Name.
    pub name: String,
    /// Rooms in it.
    pub rooms: u32,
    /// Members assigned in it.
    pub members: u32,
    /// When it was saved (Unix ms).
    pub saved_at: u64,
}

/// Ack of `savePlan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckSavePlan {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The plan as saved (on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

/// Ack of `listPlans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckListPlans {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The app's plans, by name.
    #[serde(default)]
    pub plans: Vec<PlanSummary>,
}

/// `applyPlan`: create the plan's rooms and invite (or move) its members who are connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPlan {
    /// The plan's name.
    pub name: String,
    /// Move members into their rooms at once instead of inviting them.
    #[serde(default)]
    pub force_join: bool,
}

/// Ack of `applyPlan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckApplyPlan {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// Rooms created, in plan order.
    #[serde(default)]
    pub rooms: Vec<RoomId>,
    /// Who was invited (or moved) where.
    #[serde(default)]
    pub invitations: Vec<RoomInvitations>,
    /// Plan members not connected now (or not in the parent), by user reference.
    #[serde(default)]
    pub unmatched: Vec<String>,
}

/// `muteMember`: a moderator mutes one member, or everyone in a break-out room
/// (server-enforced: their audio is no longer forwarded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteMember {
    /// One client (give this or `room_id`).
    #[serde(rename = "clientId", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// Every member of this room except moderators (give this or `clientId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
}

/// Ack of `muteMember`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckMuteMember {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// Who is muted by a moderator now because of this request.
    #[serde(default)]
    pub muted: Vec<ClientId>,
}

/// `memberMuted`: a client's moderator mute changed (to it, its room's members and every
/// moderator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMuted {
    /// Whose.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Muted by a moderator (its audio is dropped by the server) or not.
    pub muted: bool,
    /// The moderator who muted, or who asked before the member unmuted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserRef>,
}

/// `askToUnmute`: a moderator asks a member to unmute; the member decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskToUnmute {
    /// The member.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
}

/// `unmuteAsked` to the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmuteAsked {
    /// The moderator asking.
    pub by: UserRef,
}

/// Why a client left a break-out room (`didDisconnectedBreakoutRoom.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It left on its own (`disconnect`, `clearAllBreakOutSession`).
    Left,
    /// A moderator moved it to another room (`moveToBreakoutRoom`), or it switched rooms.
    Moved,
    /// Every room was destroyed (`destroyAllBreakOutSession`).
    Destroyed,
    /// The room's timer ran out.
    Timeout,
    /// Not a move: the receiver owns the room and is told that a member left it.
    OwnerNotice,
}

/// Removes control characters and surrounding space; `None` when the result is empty or
/// longer than [`MAX_NAME_CHARS`].
pub fn clean_name(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let n = cleaned.chars().count();
    (1..=MAX_NAME_CHARS)
        .contains(&n)
        .then(|| cleaned.to_owned())
}

/// Removes control characters other than newline and tab, and surrounding space; `None` when
/// the result is empty or longer than [`MAX_BROADCAST_CHARS`].
pub fn clean_text(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let cleaned = cleaned.trim();
    let n = cleaned.chars().count();
    (1..=MAX_BROADCAST_CHARS)
        .contains(&n)
        .then(|| cleaned.to_owned())
}

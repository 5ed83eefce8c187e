//! WebSocket signalling frames.
//!
//! Every frame is one JSON object with a string `type`. A client request also carries a numeric
//! `id`; the server answers every request with exactly one acknowledgement that carries the same
//! `id`. Server frames without an `id` are notifications. Field names and `type` names follow the
//! break-out contract (the seed's method and callback names).
//!
//! ```json
//! {"type":"rejectBreakOutRoom","id":7,"room_id":"br-9f2c"}
//! {"type":"ackRejectBreakoutRoom","id":7,"result":0,"msg":"Success"}
//! ```
//!
//! Decoding a client frame never panics: [`decode_client_frame`] classifies every failure into an
//! [`ErrorCode`] and, where the frame named a known `type`, the acknowledgement to answer with.

pub mod breakout;
pub mod facilitate;
pub mod listen;
pub mod media;
pub mod pin;
pub mod presence;
mod strict;

use crate::error_code::ErrorCode;
use crate::ids::RequestId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use breakout::*;
pub use facilitate::*;
pub use listen::*;
pub use media::*;
pub use pin::*;
pub use presence::*;

/// The largest signalling frame the server accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// A request from a client: its `id` plus the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Request id chosen by the client; echoed in the acknowledgement.
    pub id: RequestId,
    /// The request itself; its `type` is flattened into the same object.
    #[serde(flatten)]
    pub msg: ClientMessage,
}

/// Every client → server request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    /// First frame on a connection: present a token and the protocol versions spoken.
    /// Answered by [`ServerMessage::RoomConnected`] or [`ServerMessage::Error`].
    #[serde(rename = "connect")]
    Connect(Connect),
    /// Seed `createBreakOutRoom(roomDefinition)`.
    #[serde(rename = "createBreakOutRoom")]
    CreateBreakOutRoom(RoomDefinitionInput),
    /// Seed `inviteToBreakOutRoom(invitee)`.
    #[serde(rename = "inviteToBreakOutRoom")]
    InviteToBreakOutRoom(Invitee),
    /// Seed `createAndInviteBreakoutRoom(roomDefinition)`.
    #[serde(rename = "createAndInviteBreakoutRoom")]
    CreateAndInviteBreakoutRoom(RoomDefinitionInput),
    /// Seed `joinBreakoutRoom(joinee, streamInfo)`.
    #[serde(rename = "joinBreakoutRoom")]
    JoinBreakoutRoom(Joinee),
    /// Seed `rejectBreakOutRoom(roomId)`.
    #[serde(rename = "rejectBreakOutRoom")]
    RejectBreakOutRoom(RoomRef),
    /// Seed `pause()`.
    #[serde(rename = "pause")]
    Pause,
    /// Seed `resume()`.
    #[serde(rename = "resume")]
    Resume,
    /// Seed `muteRoom({audio, video})`.
    #[serde(rename = "muteRoom")]
    MuteRoom(MediaFlags),
    /// Seed `unmuteRoom({audio, video})`.
    #[serde(rename = "unmuteRoom")]
    UnmuteRoom(MediaFlags),
    /// Seed `EnxRoom.disconnect()` on a break-out room handle.
    #[serde(rename = "disconnect")]
    Disconnect(RoomRef),
    /// Seed `clearAllBreakOutSession()`.
    #[serde(rename = "clearAllBreakOutSession")]
    ClearAllBreakOutSession,
    /// Seed `destroyAllBreakOutSession()`.
    #[serde(rename = "destroyAllBreakOutSession")]
    DestroyAllBreakOutSession,
    /// The connection's one SDP offer (media); answered by `sdpAnswer`.
    #[serde(rename = "sdpOffer")]
    SdpOffer(SdpOffer),
    /// Start screen sharing in the current room; answered by `ackStartShare`.
    #[serde(rename = "startShare")]
    StartShare,
    /// Stop screen sharing; answered by `ackStopShare`.
    #[serde(rename = "stopShare")]
    StopShare,
    /// Start the canvas stream in the current room; answered by `ackStartCanvas`.
    #[serde(rename = "startCanvas")]
    StartCanvas,
    /// Stop the canvas stream; answered by `ackStopCanvas`.
    #[serde(rename = "stopCanvas")]
    StopCanvas,
    /// Set, change or clear a break-out room's timer (moderators).
    #[serde(rename = "setBreakoutDuration")]
    SetBreakoutDuration(SetBreakoutDuration),
    /// A text from a moderator into every room (or the chosen ones).
    #[serde(rename = "broadcastMessage")]
    BroadcastMessage(BroadcastMessage),
    /// A member of a break-out room asks the moderators for help.
    #[serde(rename = "requestHelp")]
    RequestHelp,
    /// The requester withdraws its help request.
    #[serde(rename = "cancelHelp")]
    CancelHelp,
    /// A moderator closes a help request without joining.
    #[serde(rename = "dismissHelp")]
    DismissHelp(DismissHelp),
    /// A moderator moves a client into a break-out room in one step.
    #[serde(rename = "moveToBreakoutRoom")]
    MoveToBreakoutRoom(MoveToBreakoutRoom),
    /// Turn self-select on or off for one room or all (moderators).
    #[serde(rename = "setSelfSelect")]
    SetSelfSelect(SetSelfSelect),
    /// Rename a break-out room (moderators).
    #[serde(rename = "renameBreakoutRoom")]
    RenameBreakoutRoom(RenameBreakoutRoom),
    /// Save the current assignment as a named plan (moderators).
    #[serde(rename = "savePlan")]
    SavePlan(SavePlan),
    /// List the app's saved plans (moderators).
    #[serde(rename = "listPlans")]
    ListPlans,
    /// Create a saved plan's rooms and invite its members (moderators).
    #[serde(rename = "applyPlan")]
    ApplyPlan(ApplyPlan),
    /// A moderator mutes one member or a whole break-out room (server-enforced).
    #[serde(rename = "muteMember")]
    MuteMember(MuteMember),
    /// A moderator asks a member to unmute.
    #[serde(rename = "askToUnmute")]
    AskToUnmute(AskToUnmute),
    /// A member muted by a moderator unmutes after being asked to.
    #[serde(rename = "unmuteSelf")]
    UnmuteSelf,
    /// A moderator in the parent hears a break-out room.
    #[serde(rename = "listenTo")]
    ListenTo(ListenTo),
    /// Stop listening (and talking) in.
    #[serde(rename = "stopListening")]
    StopListening,
    /// While listening, speak into the room (or stop).
    #[serde(rename = "talkTo")]
    TalkTo(TalkTo),
    /// A moderator's voice into every room.
    #[serde(rename = "startBroadcast")]
    StartBroadcast(StartBroadcast),
    /// End the audio broadcast.
    #[serde(rename = "stopBroadcast")]
    StopBroadcast,
    /// How large a video slot is rendered, and the highest layer wanted there.
    #[serde(rename = "setVideoSlot")]
    SetVideoSlot(SetVideoSlot),
    /// A moderator pins clients' cameras (protocol version 4); answered by `ackPinUsers`.
    #[serde(rename = "pinUsers")]
    PinUsers(PinUsers),
    /// A moderator unpins clients' cameras (protocol version 4); answered by `ackUnpinUsers`.
    #[serde(rename = "unpinUsers")]
    UnpinUsers(PinUsers),
}

impl ClientMessage {
    /// Every `type` a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "connect",
        "createBreakOutRoom",
        "inviteToBreakOutRoom",
        "createAndInviteBreakoutRoom",
        "joinBreakoutRoom",
        "rejectBreakOutRoom",
        "pause",
        "resume",
        "muteRoom",
        "unmuteRoom",
        "disconnect",
        "clearAllBreakOutSession",
        "destroyAllBreakOutSession",
        "sdpOffer",
        "startShare",
        "stopShare",
        "startCanvas",
        "stopCanvas",
        "setBreakoutDuration",
        "broadcastMessage",
        "requestHelp",
        "cancelHelp",
        "dismissHelp",
        "moveToBreakoutRoom",
        "setSelfSelect",
        "renameBreakoutRoom",
        "savePlan",
        "listPlans",
        "applyPlan",
        "muteMember",
        "askToUnmute",
        "unmuteSelf",
        "listenTo",
        "stopListening",
        "talkTo",
        "startBroadcast",
        "stopBroadcast",
        "setVideoSlot",
        "pinUsers",
        "unpinUsers",
    ];

    /// The wire `type` of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Connect(_) => "connect",
            ClientMessage::CreateBreakOutRoom(_) => "createBreakOutRoom",
            ClientMessage::InviteToBreakOutRoom(_) => "inviteToBreakOutRoom",
            ClientMessage::CreateAndInviteBreakoutRoom(_) => "createAndInviteBreakoutRoom",
            ClientMessage::JoinBreakoutRoom(_) => "joinBreakoutRoom",
            ClientMessage::RejectBreakOutRoom(_) => "rejectBreakOutRoom",
            ClientMessage::Pause => "pause",
            ClientMessage::Resume => "resume",
            ClientMessage::MuteRoom(_) => "muteRoom",
            ClientMessage::UnmuteRoom(_) => "unmuteRoom",
            ClientMessage::Disconnect(_) => "disconnect",
            ClientMessage::ClearAllBreakOutSession => "clearAllBreakOutSession",
            ClientMessage::DestroyAllBreakOutSession => "destroyAllBreakOutSession",
            ClientMessage::SdpOffer(_) => "sdpOffer",
            ClientMessage::StartShare => "startShare",
            ClientMessage::StopShare => "stopShare",
            ClientMessage::StartCanvas => "startCanvas",
            ClientMessage::StopCanvas => "stopCanvas",
            ClientMessage::SetBreakoutDuration(_) => "setBreakoutDuration",
            ClientMessage::BroadcastMessage(_) => "broadcastMessage",
            ClientMessage::RequestHelp => "requestHelp",
            ClientMessage::CancelHelp => "cancelHelp",
            ClientMessage::DismissHelp(_) => "dismissHelp",
            ClientMessage::MoveToBreakoutRoom(_) => "moveToBreakoutRoom",
            ClientMessage::SetSelfSelect(_) => "setSelfSelect",
            ClientMessage::RenameBreakoutRoom(_) => "renameBreakoutRoom",
            ClientMessage::SavePlan(_) => "savePlan",
            ClientMessage::ListPlans => "listPlans",
            ClientMessage::ApplyPlan(_) => "applyPlan",
            ClientMessage::MuteMember(_) => "muteMember",
            ClientMessage::AskToUnmute(_) => "askToUnmute",
            ClientMessage::UnmuteSelf => "unmuteSelf",
            ClientMessage::ListenTo(_) => "listenTo",
            ClientMessage::StopListening => "stopListening",
            ClientMessage::TalkTo(_) => "talkTo",
            ClientMessage::StartBroadcast(_) => "startBroadcast",
            ClientMessage::StopBroadcast => "stopBroadcast",
            ClientMessage::SetVideoSlot(_) => "setVideoSlot",
            ClientMessage::PinUsers(_) => "pinUsers",
            ClientMessage::UnpinUsers(_) => "unpinUsers",
        }
    }
}

/// The `connect` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connect {
    /// A token minted by `POST /v1/rooms/{room_id}/tokens` (empty when resuming).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Instead of a token: the `resume_token` of an earlier connection, to take back that
    /// client's place after a drop (within the grace period, also across a server restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// Protocol versions the client speaks; the server picks the newest it shares.
    #[serde(default = "default_versions")]
    pub versions: Vec<u32>,
}

/// A `connect` without `versions` comes from a client written before the list existed: it
/// speaks version 1 (not the newest, which it may not understand).
fn default_versions() -> Vec<u32> {
    vec![1]
}

/// A frame from the server: an acknowledgement (with the request's `id`) or a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFrame {
    /// The id of the request this frame acknowledges; absent on notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The message; its `type` is flattened into the same object.
    #[serde(flatten)]
    pub msg: ServerMessage,
}

/// Every server → client message. Each seed callback is exactly one variant (see
/// `docs/protocol.md` for the table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    /// Ack of `connect`: the room, the user list with locations, live break-out rooms.
    #[serde(rename = "roomConnected")]
    RoomConnected(RoomConnected),
    /// A request that could not be decoded or is not allowed on this connection.
    #[serde(rename = "error")]
    Error(Status),
    /// Seed `ackCreateBreakOutRoom`.
    #[serde(rename = "ackCreateBreakOutRoom")]
    AckCreateBreakOutRoom(AckCreateBreakOutRoom),
    /// Seed `breakoutRoomCreated` (to every moderator of the parent, one per room).
    #[serde(rename = "breakoutRoomCreated")]
    BreakoutRoomCreated(BreakoutRoomCreated),
    /// Seed `ackInviteBreakOutRoom`.
    #[serde(rename = "ackInviteBreakOutRoom")]
    AckInviteBreakOutRoom(AckInviteBreakOutRoom),
    /// Seed `invitationForBreakoutRoom` (to each invitee).
    #[serde(rename = "invitationForBreakoutRoom")]
    InvitationForBreakoutRoom(InvitationForBreakoutRoom),
    /// Seed `breakoutRoomInvited` (to every moderator).
    #[serde(rename = "breakoutRoomInvited")]
    BreakoutRoomInvited(BreakoutRoomInvited),
    /// Seed `ackCreateAndInviteBreakOutRoom`.
    #[serde(rename = "ackCreateAndInviteBreakOutRoom")]
    AckCreateAndInviteBreakOutRoom(AckCreateAndInviteBreakOutRoom),
    /// Seed `connectedBreakoutRoom`: join ack, or unsolicited on a forced join.
    #[serde(rename = "connectedBreakoutRoom")]
    ConnectedBreakoutRoom(ConnectedBreakoutRoom),
    /// Seed `failedJoinBreakOutRoom`: join ack on failure.
    #[serde(rename = "failedJoinBreakOutRoom")]
    FailedJoinBreakOutRoom(Status),
    /// Seed `userJoinedBreakoutRoom` (to everyone already in the BR).
    #[serde(rename = "userJoinedBreakoutRoom")]
    UserJoinedBreakoutRoom(UserJoinedBreakoutRoom),
    /// Seed `ackRejectBreakoutRoom`.
    #[serde(rename = "ackRejectBreakoutRoom")]
    AckRejectBreakoutRoom(Status),
    /// Seed `breakoutRoomInviteRejected` (to every moderator).
    #[serde(rename = "breakoutRoomInviteRejected")]
    BreakoutRoomInviteRejected(BreakoutRoomInviteRejected),
    /// Seed `ackPause`.
    #[serde(rename = "ackPause")]
    AckPause(Status),
    /// Seed `ackResume`.
    #[serde(rename = "ackResume")]
    AckResume(Status),
    /// Seed `ackMuteRoom`.
    #[serde(rename = "ackMuteRoom")]
    AckMuteRoom(MuteAck),
    /// Seed `ackUnmuteRoom`.
    #[serde(rename = "ackUnmuteRoom")]
    AckUnmuteRoom(MuteAck),
    /// Seed `didDisconnectedBreakoutRoom`: ack of `disconnect` / `clearAllBreakOutSession`, and
    /// notification to a BR's owner (clear all, destroy all) and to members moved back.
    #[serde(rename = "didDisconnectedBreakoutRoom")]
    DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom),
    /// Seed `didUserDisconnectedFromBreakoutRoom` (to everyone left in the BR).
    #[serde(rename = "didUserDisconnectedFromBreakoutRoom")]
    DidUserDisconnectedFromBreakoutRoom(DidUserDisconnectedFromBreakoutRoom),
    /// Seed `didDestroyedBreakoutRoom` (auto-destroy: to the owner and every moderator).
    #[serde(rename = "didDestroyedBreakoutRoom")]
    DidDestroyedBreakoutRoom(RoomRef),
    /// Ack of `destroyAllBreakOutSession` (the seed names no ack; Alcove's name).
    #[serde(rename = "ackDestroyAllBreakOutSession")]
    AckDestroyAllBreakOutSession(AckDestroyAllBreakOutSession),
    /// Alcove: a pending invitation was withdrawn because its BR was destroyed.
    #[serde(rename = "breakoutInvitationWithdrawn")]
    BreakoutInvitationWithdrawn(BreakoutInvitationWithdrawn),
    /// Presence: a user connected to the family.
    #[serde(rename = "userConnected")]
    UserConnected(UserInfo),
    /// Presence: a user left the family.
    #[serde(rename = "userDisconnected")]
    UserDisconnected(UserRef),
    /// Presence: a user's location changed (parent ⇄ break-out room).
    #[serde(rename = "userMoved")]
    UserMoved(UserMoved),
    /// Presence: a user's parent link was paused or resumed.
    #[serde(rename = "userPaused")]
    UserPaused(UserPaused),
    /// Presence: a user's parent mute state changed.
    #[serde(rename = "userMuted")]
    UserMuted(UserMuted),
    /// Presence, batched (protocol version 2): the latest state of every user whose presence
    /// changed in one family step, and who left. Replaces the five presence frames above for
    /// clients that negotiated it. Shared, not copied, between its recipients.
    #[serde(rename = "usersUpdated")]
    UsersUpdated(std::sync::Arc<UsersUpdated>),
    /// The connection to the room ends (room deleted, server shutdown); sent before closing.
    #[serde(rename = "roomDisconnected")]
    RoomDisconnected(Status),
    /// Ack of `sdpOffer`.
    #[serde(rename = "sdpAnswer")]
    SdpAnswer(SdpAnswer),
    /// Ack of `startShare`.
    #[serde(rename = "ackStartShare")]
    AckStartShare(Status),
    /// Ack of `stopShare`.
    #[serde(rename = "ackStopShare")]
    AckStopShare(Status),
    /// Ack of `startCanvas`.
    #[serde(rename = "ackStartCanvas")]
    AckStartCanvas(Status),
    /// Ack of `stopCanvas`.
    #[serde(rename = "ackStopCanvas")]
    AckStopCanvas(Status),
    /// Someone in the receiver's room started a screen share.
    #[serde(rename = "shareStarted")]
    ShareStarted(SharingStarted),
    /// The screen share in the receiver's room stopped.
    #[serde(rename = "shareStopped")]
    ShareStopped(SharingStopped),
    /// Someone in the receiver's room started a canvas stream.
    #[serde(rename = "canvasStarted")]
    CanvasStarted(SharingStarted),
    /// The canvas stream in the receiver's room stopped.
    #[serde(rename = "canvasStopped")]
    CanvasStopped(SharingStopped),
    /// Who is in which of the receiver's audio slots.
    #[serde(rename = "activeTalkersUpdated")]
    ActiveTalkersUpdated(ActiveTalkersUpdated),
    /// Whose camera is on which of the receiver's video slots (protocol version 4 on).
    #[serde(rename = "videoSlotsUpdated")]
    VideoSlotsUpdated(VideoSlotsUpdated),
    /// Ack of `setVideoSlot`.
    #[serde(rename = "ackSetVideoSlot")]
    AckSetVideoSlot(Status),
    /// Ack of `setBreakoutDuration`.
    #[serde(rename = "ackSetBreakoutDuration")]
    AckSetBreakoutDuration(AckSetBreakoutDuration),
    /// A room's timer was set, changed or cleared (to its members and every moderator).
    #[serde(rename = "breakoutTimer")]
    BreakoutTimer(BreakoutTimer),
    /// A room's timer ends soon (once; to its members and every moderator).
    #[serde(rename = "breakoutTimerWarning")]
    BreakoutTimerWarning(BreakoutTimerWarning),
    /// Ack of `broadcastMessage`.
    #[serde(rename = "ackBroadcastMessage")]
    AckBroadcastMessage(AckBroadcastMessage),
    /// A moderator's broadcast text.
    #[serde(rename = "broadcastReceived")]
    BroadcastReceived(BroadcastReceived),
    /// Ack of `requestHelp`.
    #[serde(rename = "ackRequestHelp")]
    AckRequestHelp(AckRequestHelp),
    /// Ack of `cancelHelp`.
    #[serde(rename = "ackCancelHelp")]
    AckCancelHelp(Status),
    /// A member asks for help (to every moderator, once per request).
    #[serde(rename = "helpRequested")]
    HelpRequested(HelpRequest),
    /// Ack of `dismissHelp`.
    #[serde(rename = "ackDismissHelp")]
    AckDismissHelp(Status),
    /// To the requester: a moderator joined its room.
    #[serde(rename = "helpAnswered")]
    HelpAnswered(HelpReply),
    /// To the requester: a moderator dismissed its request.
    #[serde(rename = "helpDismissed")]
    HelpDismissed(HelpReply),
    /// To every moderator: a help request left the queue.
    #[serde(rename = "helpResolved")]
    HelpResolved(HelpResolved),
    /// Ack of `moveToBreakoutRoom`.
    #[serde(rename = "ackMoveToBreakoutRoom")]
    AckMoveToBreakoutRoom(Status),
    /// Ack of `setSelfSelect`.
    #[serde(rename = "ackSetSelfSelect")]
    AckSetSelfSelect(Status),
    /// Ack of `renameBreakoutRoom`.
    #[serde(rename = "ackRenameBreakoutRoom")]
    AckRenameBreakoutRoom(Status),
    /// The room list changed (to every client, batched per family step). Shared, not copied, between its recipients.
    #[serde(rename = "breakoutRoomsUpdated")]
    BreakoutRoomsUpdated(std::sync::Arc<BreakoutRoomsUpdated>),
    /// Ack of `savePlan`.
    #[serde(rename = "ackSavePlan")]
    AckSavePlan(AckSavePlan),
    /// Ack of `listPlans`.
    #[serde(rename = "ackListPlans")]
    AckListPlans(AckListPlans),
    /// Ack of `applyPlan`.
    #[serde(rename = "ackApplyPlan")]
    AckApplyPlan(AckApplyPlan),
    /// Ack of `muteMember`.
    #[serde(rename = "ackMuteMember")]
    AckMuteMember(AckMuteMember),
    /// A client's moderator mute changed.
    #[serde(rename = "memberMuted")]
    MemberMuted(MemberMuted),
    /// Ack of `askToUnmute`.
    #[serde(rename = "ackAskToUnmute")]
    AckAskToUnmute(Status),
    /// To a member: a moderator asks it to unmute.
    #[serde(rename = "unmuteAsked")]
    UnmuteAsked(UnmuteAsked),
    /// Ack of `unmuteSelf`.
    #[serde(rename = "ackUnmuteSelf")]
    AckUnmuteSelf(Status),
    /// Ack of `listenTo`.
    #[serde(rename = "ackListenTo")]
    AckListenTo(ListenState),
    /// Ack of `stopListening`.
    #[serde(rename = "ackStopListening")]
    AckStopListening(ListenState),
    /// Ack of `talkTo`.
    #[serde(rename = "ackTalkTo")]
    AckTalkTo(ListenState),
    /// Ack of `startBroadcast`.
    #[serde(rename = "ackStartBroadcast")]
    AckStartBroadcast(ListenState),
    /// Ack of `stopBroadcast`.
    #[serde(rename = "ackStopBroadcast")]
    AckStopBroadcast(ListenState),
    /// To a break-out room's members: who listens to or talks into it.
    #[serde(rename = "monitoredBy")]
    MonitoredBy(MonitoredBy),
    /// A moderator's audio broadcast started or stopped.
    #[serde(rename = "audioBroadcast")]
    AudioBroadcast(AudioBroadcast),
    /// To a moderator: the server ended its listen-in or broadcast (it left the parent, or the
    /// room ended); its state after.
    #[serde(rename = "listeningChanged")]
    ListeningChanged(ListenState),
    /// Ack of `pinUsers`.
    #[serde(rename = "ackPinUsers")]
    AckPinUsers(Status),
    /// Ack of `unpinUsers`.
    #[serde(rename = "ackUnpinUsers")]
    AckUnpinUsers(Status),
    /// The parent room's pinned clients (the vendor's `update-pin-users`; protocol version 4).
    #[serde(rename = "updatePinUsers")]
    UpdatePinUsers(UpdatePinUsers),
}

impl ServerMessage {
    /// The wire `type` of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::RoomConnected(_) => "roomConnected",
            ServerMessage::Error(_) => "error",
            ServerMessage::AckCreateBreakOutRoom(_) => "ackCreateBreakOutRoom",
            ServerMessage::BreakoutRoomCreated(_) => "breakoutRoomCreated",
            ServerMessage::AckInviteBreakOutRoom(_) => "ackInviteBreakOutRoom",
            ServerMessage::InvitationForBreakoutRoom(_) => "invitationForBreakoutRoom",
            ServerMessage::BreakoutRoomInvited(_) => "breakoutRoomInvited",
            ServerMessage::AckCreateAndInviteBreakOutRoom(_) => "ackCreateAndInviteBreakOutRoom",
            ServerMessage::ConnectedBreakoutRoom(_) => "connectedBreakoutRoom",
            ServerMessage::FailedJoinBreakOutRoom(_) => "failedJoinBreakOutRoom",
            ServerMessage::UserJoinedBreakoutRoom(_) => "userJoinedBreakoutRoom",
            ServerMessage::AckRejectBreakoutRoom(_) => "ackRejectBreakoutRoom",
            ServerMessage::BreakoutRoomInviteRejected(_) => "breakoutRoomInviteRejected",
            ServerMessage::AckPause(_) => "ackPause",
            ServerMessage::AckResume(_) => "ackResume",
            ServerMessage::AckMuteRoom(_) => "ackMuteRoom",
            ServerMessage::AckUnmuteRoom(_) => "ackUnmuteRoom",
            ServerMessage::DidDisconnectedBreakoutRoom(_) => "didDisconnectedBreakoutRoom",
            ServerMessage::DidUserDisconnectedFromBreakoutRoom(_) => {
                "didUserDisconnectedFromBreakoutRoom"
            }
            ServerMessage::DidDestroyedBreakoutRoom(_) => "didDestroyedBreakoutRoom",
            ServerMessage::AckDestroyAllBreakOutSession(_) => "ackDestroyAllBreakOutSession",
            ServerMessage::BreakoutInvitationWithdrawn(_) => "breakoutInvitationWithdrawn",
            ServerMessage::UserConnected(_) => "userConnected",
            ServerMessage::UserDisconnected(_) => "userDisconnected",
            ServerMessage::UserMoved(_) => "userMoved",
            ServerMessage::UserPaused(_) => "userPaused",
            ServerMessage::UserMuted(_) => "userMuted",
            ServerMessage::UsersUpdated(_) => "usersUpdated",
            ServerMessage::RoomDisconnected(_) => "roomDisconnected",
            ServerMessage::SdpAnswer(_) => "sdpAnswer",
            ServerMessage::AckStartShare(_) => "ackStartShare",
            ServerMessage::AckStopShare(_) => "ackStopShare",
            ServerMessage::AckStartCanvas(_) => "ackStartCanvas",
            ServerMessage::AckStopCanvas(_) => "ackStopCanvas",
            ServerMessage::ShareStarted(_) => "shareStarted",
            ServerMessage::ShareStopped(_) => "shareStopped",
            ServerMessage::CanvasStarted(_) => "canvasStarted",
            ServerMessage::CanvasStopped(_) => "canvasStopped",
            ServerMessage::ActiveTalkersUpdated(_) => "activeTalkersUpdated",
            ServerMessage::VideoSlotsUpdated(_) => "videoSlotsUpdated",
            ServerMessage::AckSetBreakoutDuration(_) => "ackSetBreakoutDuration",
            ServerMessage::BreakoutTimer(_) => "breakoutTimer",
            ServerMessage::BreakoutTimerWarning(_) => "breakoutTimerWarning",
            ServerMessage::AckBroadcastMessage(_) => "ackBroadcastMessage",
            ServerMessage::BroadcastReceived(_) => "broadcastReceived",
            ServerMessage::AckRequestHelp(_) => "ackRequestHelp",
            ServerMessage::AckCancelHelp(_) => "ackCancelHelp",
            ServerMessage::HelpRequested(_) => "helpRequested",
            ServerMessage::AckDismissHelp(_) => "ackDismissHelp",
            ServerMessage::HelpAnswered(_) => "helpAnswered",
            ServerMessage::HelpDismissed(_) => "helpDismissed",
            ServerMessage::HelpResolved(_) => "helpResolved",
            ServerMessage::AckMoveToBreakoutRoom(_) => "ackMoveToBreakoutRoom",
            ServerMessage::AckSetSelfSelect(_) => "ackSetSelfSelect",
            ServerMessage::AckRenameBreakoutRoom(_) => "ackRenameBreakoutRoom",
            ServerMessage::BreakoutRoomsUpdated(_) => "breakoutRoomsUpdated",
            ServerMessage::AckSavePlan(_) => "ackSavePlan",
            ServerMessage::AckListPlans(_) => "ackListPlans",
            ServerMessage::AckApplyPlan(_) => "ackApplyPlan",
            ServerMessage::AckMuteMember(_) => "ackMuteMember",
            ServerMessage::MemberMuted(_) => "memberMuted",
            ServerMessage::AckAskToUnmute(_) => "ackAskToUnmute",
            ServerMessage::UnmuteAsked(_) => "unmuteAsked",
            ServerMessage::AckUnmuteSelf(_) => "ackUnmuteSelf",
            ServerMessage::AckListenTo(_) => "ackListenTo",
            ServerMessage::AckStopListening(_) => "ackStopListening",
            ServerMessage::AckTalkTo(_) => "ackTalkTo",
            ServerMessage::AckStartBroadcast(_) => "ackStartBroadcast",
            ServerMessage::AckStopBroadcast(_) => "ackStopBroadcast",
            ServerMessage::MonitoredBy(_) => "monitoredBy",
            ServerMessage::AudioBroadcast(_) => "audioBroadcast",
            ServerMessage::ListeningChanged(_) => "listeningChanged",
            ServerMessage::AckSetVideoSlot(_) => "ackSetVideoSlot",
            ServerMessage::AckPinUsers(_) => "ackPinUsers",
            ServerMessage::AckUnpinUsers(_) => "ackUnpinUsers",
            ServerMessage::UpdatePinUsers(_) => "updatePinUsers",
        }
    }

    /// The `result` this message carries, where it carries one (acks and errors).
    pub fn result(&self) -> Option<i32> {
        match self {
            ServerMessage::RoomConnected(m) => Some(m.result),
            ServerMessage::Error(s)
            | ServerMessage::FailedJoinBreakOutRoom(s)
            | ServerMessage::AckRejectBreakoutRoom(s)
            | ServerMessage::AckPause(s)
            | ServerMessage::AckResume(s)
            | ServerMessage::RoomDisconnected(s)
            | ServerMessage::AckStartShare(s)
            | ServerMessage::AckStopShare(s)
            | ServerMessage::AckStartCanvas(s)
            | ServerMessage::AckStopCanvas(s)
            | ServerMessage::AckCancelHelp(s)
            | ServerMessage::AckDismissHelp(s)
            | ServerMessage::AckMoveToBreakoutRoom(s)
            | ServerMessage::AckSetSelfSelect(s)
            | ServerMessage::AckRenameBreakoutRoom(s)
            | ServerMessage::AckAskToUnmute(s)
            | ServerMessage::AckUnmuteSelf(s)
            | ServerMessage::AckSetVideoSlot(s)
            | ServerMessage::AckPinUsers(s)
            | ServerMessage::AckUnpinUsers(s) => Some(s.result),
            ServerMessage::SdpAnswer(a) => Some(a.result),
            ServerMessage::AckCreateBreakOutRoom(a) => Some(a.result),
            ServerMessage::AckInviteBreakOutRoom(a) => Some(a.result),
            ServerMessage::AckCreateAndInviteBreakOutRoom(a) => Some(a.result),
            ServerMessage::ConnectedBreakoutRoom(a) => Some(a.result),
            ServerMessage::DidDisconnectedBreakoutRoom(a) => Some(a.result),
            ServerMessage::AckDestroyAllBreakOutSession(a) => Some(a.result),
            ServerMessage::AckMuteRoom(a) | ServerMessage::AckUnmuteRoom(a) => Some(a.result),
            ServerMessage::AckListenTo(a)
            | ServerMessage::AckStopListening(a)
            | ServerMessage::AckTalkTo(a)
            | ServerMessage::AckStartBroadcast(a)
            | ServerMessage::AckStopBroadcast(a) => Some(a.result),
            ServerMessage::AckSetBreakoutDuration(a) => Some(a.result),
            ServerMessage::AckBroadcastMessage(a) => Some(a.result),
            ServerMessage::AckRequestHelp(a) => Some(a.result),
            ServerMessage::AckSavePlan(a) => Some(a.result),
            ServerMessage::AckListPlans(a) => Some(a.result),
            ServerMessage::AckApplyPlan(a) => Some(a.result),
            ServerMessage::AckMuteMember(a) => Some(a.result),
            _ => None,
        }
    }

    /// The failure acknowledgement for a request of `type` `req_type`, with `code` and `msg`.
    /// Every request type has exactly one acknowledgement type; unknown types get `error`.
    pub fn failure_for(req_type: &str, code: ErrorCode, msg: impl Into<String>) -> ServerMessage {
        let msg = msg.into();
        let status = Status {
            result: code.code(),
            msg: msg.clone(),
        };
        match req_type {
            "createBreakOutRoom" => ServerMessage::AckCreateBreakOutRoom(AckCreateBreakOutRoom {
                result: code.code(),
                msg: Msg::Text(msg),
            }),
            "createAndInviteBreakoutRoom" => {
                ServerMessage::AckCreateAndInviteBreakOutRoom(AckCreateAndInviteBreakOutRoom {
                    result: code.code(),
                    msg: Msg::Text(msg),
                })
            }
            "inviteToBreakOutRoom" => ServerMessage::AckInviteBreakOutRoom(AckInviteBreakOutRoom {
                result: code.code(),
                msg,
                invited: vec![],
                failed: vec![],
            }),
            "joinBreakoutRoom" => ServerMessage::FailedJoinBreakOutRoom(status),
            "rejectBreakOutRoom" => ServerMessage::AckRejectBreakoutRoom(status),
            "pause" => ServerMessage::AckPause(status),
            "resume" => ServerMessage::AckResume(status),
            "muteRoom" => ServerMessage::AckMuteRoom(MuteAck {
                result: code.code(),
                msg,
                muted: None,
            }),
            "unmuteRoom" => ServerMessage::AckUnmuteRoom(MuteAck {
                result: code.code(),
                msg,
                muted: None,
            }),
            "disconnect" | "clearAllBreakOutSession" => {
                ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom {
                    room_id: None,
                    moderator_id: String::new(),
                    msg,
                    result: code.code(),
                    reason: None,
                    location: None,
                })
            }
            "destroyAllBreakOutSession" => {
                ServerMessage::AckDestroyAllBreakOutSession(AckDestroyAllBreakOutSession {
                    result: code.code(),
                    msg: Msg::Text(msg),
                })
            }
            "sdpOffer" => ServerMessage::SdpAnswer(SdpAnswer {
                result: code.code(),
                msg,
                sdp: String::new(),
            }),
            "startShare" => ServerMessage::AckStartShare(status),
            "stopShare" => ServerMessage::AckStopShare(status),
            "startCanvas" => ServerMessage::AckStartCanvas(status),
            "stopCanvas" => ServerMessage::AckStopCanvas(status),
            "setVideoSlot" => ServerMessage::AckSetVideoSlot(status),
            "pinUsers" => ServerMessage::AckPinUsers(status),
            "unpinUsers" => ServerMessage::AckUnpinUsers(status),
            "listenTo" => ServerMessage::AckListenTo(ListenState::failed(code, msg)),
            "stopListening" => ServerMessage::AckStopListening(ListenState::failed(code, msg)),
            "talkTo" => ServerMessage::AckTalkTo(ListenState::failed(code, msg)),
            "startBroadcast" => ServerMessage::AckStartBroadcast(ListenState::failed(code, msg)),
            "stopBroadcast" => ServerMessage::AckStopBroadcast(ListenState::failed(code, msg)),
            "setBreakoutDuration" => {
                ServerMessage::AckSetBreakoutDuration(AckSetBreakoutDuration {
                    result: code.code(),
                    msg,
                    timer: None,
                })
            }
            "broadcastMessage" => ServerMessage::AckBroadcastMessage(AckBroadcastMessage {
                result: code.code(),
                msg,
                recipients: 0,
            }),
            "requestHelp" => ServerMessage::AckRequestHelp(AckRequestHelp {
                result: code.code(),
                msg,
                request: None,
                already_pending: false,
            }),
            "cancelHelp" => ServerMessage::AckCancelHelp(status),
            "dismissHelp" => ServerMessage::AckDismissHelp(status),
            "moveToBreakoutRoom" => ServerMessage::AckMoveToBreakoutRoom(status),
            "setSelfSelect" => ServerMessage::AckSetSelfSelect(status),
            "renameBreakoutRoom" => ServerMessage::AckRenameBreakoutRoom(status),
            "savePlan" => ServerMessage::AckSavePlan(AckSavePlan {
                result: code.code(),
                msg,
                plan: None,
            }),
            "listPlans" => ServerMessage::AckListPlans(AckListPlans {
                result: code.code(),
                msg,
                plans: vec![],
            }),
            "applyPlan" => ServerMessage::AckApplyPlan(AckApplyPlan {
                result: code.code(),
                msg,
                rooms: vec![],
                invitations: vec![],
                unmatched: vec![],
            }),
            "muteMember" => ServerMessage::AckMuteMember(AckMuteMember {
                result: code.code(),
                msg,
                muted: vec![],
            }),
            "askToUnmute" => ServerMessage::AckAskToUnmute(status),
            "unmuteSelf" => ServerMessage::AckUnmuteSelf(status),
            _ => ServerMessage::Error(status),
        }
    }
}

/// `{result, msg}`: the plain acknowledgement shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// 0 on success, else an [`ErrorCode`] number.
    pub result: i32,
    /// A human-readable message.
    pub msg: String,
}

impl Status {
    /// A success with `msg`.
    pub fn ok(msg: &str) -> Status {
        Status {
            result: 0,
            msg: msg.to_owned(),
        }
    }

    /// A failure with `code`'s default message.
    pub fn err(code: ErrorCode) -> Status {
        Status {
            result: code.code(),
            msg: code.message().to_owned(),
        }
    }

    /// A failure with `code` and a message of its own.
    pub fn err_msg(code: ErrorCode, msg: impl Into<String>) -> Status {
        Status {
            result: code.code(),
            msg: msg.into(),
        }
    }
}

/// An ack `msg` that is structured data on success and a text on failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Msg<T> {
    /// Success payload.
    Data(T),
    /// Failure text (or a plain success text).
    Text(String),
}

impl<T> Msg<T> {
    /// The data, when this is a success payload.
    pub fn data(&self) -> Option<&T> {
        match self {
            Msg::Data(t) => Some(t),
            Msg::Text(_) => None,
        }
    }
}

/// Why a client frame could not be turned into a request.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// The request id, when the frame had a readable one.
    pub id: Option<RequestId>,
    /// The acknowledgement to send back (its `result` is the error code); boxed to keep the
    /// `Result` small on the success path.
    pub reply: Box<ServerMessage>,
}

/// Decodes one client text frame. Never panics; every failure names the ack to send.
///
/// * not a JSON object, or no numeric `id` → `error` 4001;
/// * `type` missing or unknown → `error` 4002;
/// * a known `type` with a missing field → that type's ack with 1734;
/// * a known `type` with a field of the wrong type → that type's ack with 1155.
///
/// `createBreakOutRoom` and `createAndInviteBreakoutRoom` keep their definition raw: the core
/// validates it in the contract's order (see [`RoomDefinitionInput::parse`]).
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    // Duplicate keys are refused, at every depth: with "last wins" a frame could say one thing
    // to a proxy or a log reader and another to the server
    // (`{"type":"pause","type":"destroyAllBreakOutSession"}`).
    let value: Value = serde_json::from_str::<strict::StrictValue>(text)
        .map(|v| v.0)
        .map_err(|e| {
            protocol_error(
                None,
                ErrorCode::MalformedFrame,
                format!("malformed frame: {e}"),
            )
        })?;
    let Value::Object(mut obj) = value else {
        return Err(protocol_error(
            None,
            ErrorCode::MalformedFrame,
            "malformed frame: not a JSON object",
        ));
    };
    let id = match obj.remove("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => RequestId(n.as_u64().unwrap_or(0)),
        _ => {
            return Err(protocol_error(
                None,
                ErrorCode::MalformedFrame,
                "malformed frame: `id` must be a non-negative integer",
            ))
        }
    };
    let ty = match obj.remove("type") {
        Some(Value::String(s)) => s,
        _ => {
            return Err(protocol_error(
                Some(id),
                ErrorCode::UnknownMessageType,
                "missing `type`",
            ))
        }
    };
    let fail = |code: ErrorCode, msg: String| DecodeError {
        id: Some(id),
        reply: Box::new(ServerMessage::failure_for(&ty, code, msg)),
    };
    let field_err = |e: serde_json::Error| {
        let text = e.to_string();
        if text.starts_with("missing field") {
            fail(
                ErrorCode::RequiredParameterMissing,
                format!("Required parameter missing: {text}"),
            )
        } else {
            fail(
                ErrorCode::InvalidParameters,
                format!("Invalid options/parameters: {text}"),
            )
        }
    };
    let body = Value::Object(obj.clone());
    let msg = match ty.as_str() {
        "connect" => ClientMessage::Connect(serde_json::from_value(body).map_err(field_err)?),
        "createBreakOutRoom" => ClientMessage::CreateBreakOutRoom(RoomDefinitionInput(obj)),
        "createAndInviteBreakoutRoom" => {
            ClientMessage::CreateAndInviteBreakoutRoom(RoomDefinitionInput(obj))
        }
        "inviteToBreakOutRoom" => {
            ClientMessage::InviteToBreakOutRoom(serde_json::from_value(body).map_err(field_err)?)
        }
        "joinBreakoutRoom" => {
            ClientMessage::JoinBreakoutRoom(serde_json::from_value(body).map_err(field_err)?)
        }
        "rejectBreakOutRoom" => {
            ClientMessage::RejectBreakOutRoom(serde_json::from_value(body).map_err(field_err)?)
        }
        "pause" => ClientMessage::Pause,
        "resume" => ClientMessage::Resume,
        "muteRoom" => ClientMessage::MuteRoom(serde_json::from_value(body).map_err(field_err)?),
        "unmuteRoom" => ClientMessage::UnmuteRoom(serde_json::from_value(body).map_err(field_err)?),
        "disconnect" => ClientMessage::Disconnect(serde_json::from_value(body).map_err(field_err)?),
        "clearAllBreakOutSession" => ClientMessage::ClearAllBreakOutSession,
        "destroyAllBreakOutSession" => ClientMessage::DestroyAllBreakOutSession,
        "sdpOffer" => ClientMessage::SdpOffer(serde_json::from_value(body).map_err(field_err)?),
        "startShare" => ClientMessage::StartShare,
        "stopShare" => ClientMessage::StopShare,
        "startCanvas" => ClientMessage::StartCanvas,
        "stopCanvas" => ClientMessage::StopCanvas,
        "setBreakoutDuration" => {
            ClientMessage::SetBreakoutDuration(serde_json::from_value(body).map_err(field_err)?)
        }
        "broadcastMessage" => {
            ClientMessage::BroadcastMessage(serde_json::from_value(body).map_err(field_err)?)
        }
        "requestHelp" => ClientMessage::RequestHelp,
        "cancelHelp" => ClientMessage::CancelHelp,
        "dismissHelp" => {
            ClientMessage::DismissHelp(serde_json::from_value(body).map_err(field_err)?)
        }
        "moveToBreakoutRoom" => {
            ClientMessage::MoveToBreakoutRoom(serde_json::from_value(body).map_err(field_err)?)
        }
        "setSelfSelect" => {
            ClientMessage::SetSelfSelect(serde_json::from_value(body).map_err(field_err)?)
        }
        "renameBreakoutRoom" => {
            ClientMessage::RenameBreakoutRoom(serde_json::from_value(body).map_err(field_err)?)
        }
        "savePlan" => ClientMessage::SavePlan(serde_json::from_value(body).map_err(field_err)?),
        "listPlans" => ClientMessage::ListPlans,
        "applyPlan" => ClientMessage::ApplyPlan(serde_json::from_value(body).map_err(field_err)?),
        "muteMember" => ClientMessage::MuteMember(serde_json::from_value(body).map_err(field_err)?),
        "askToUnmute" => {
            ClientMessage::AskToUnmute(serde_json::from_value(body).map_err(field_err)?)
        }
        "unmuteSelf" => ClientMessage::UnmuteSelf,
        "listenTo" => ClientMessage::ListenTo(serde_json::from_value(body).map_err(field_err)?),
        "stopListening" => ClientMessage::StopListening,
        "talkTo" => ClientMessage::TalkTo(serde_json::from_value(body).map_err(field_err)?),
        "startBroadcast" => {
            ClientMessage::StartBroadcast(serde_json::from_value(body).map_err(field_err)?)
        }
        "stopBroadcast" => ClientMessage::StopBroadcast,
        "setVideoSlot" => {
            ClientMessage::SetVideoSlot(serde_json::from_value(body).map_err(field_err)?)
        }
        "pinUsers" => ClientMessage::PinUsers(serde_json::from_value(body).map_err(field_err)?),
        "unpinUsers" => ClientMessage::UnpinUsers(serde_json::from_value(body).map_err(field_err)?),
        other => {
            return Err(protocol_error(
                Some(id),
                ErrorCode::UnknownMessageType,
                format!("unknown message type `{}`", truncate(other, 64)),
            ))
        }
    };
    Ok(ClientFrame { id, msg })
}

fn protocol_error(id: Option<RequestId>, code: ErrorCode, msg: impl Into<String>) -> DecodeError {
    DecodeError {
        id,
        reply: Box::new(ServerMessage::Error(Status {
            result: code.code(),
            msg: msg.into(),
        })),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl ClientFrame {
    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        // Serialising plain data structs to a String cannot fail (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerFrame {
    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        // Serialising plain data structs to a String cannot fail (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes a server frame (used by clients).
    pub fn decode(text: &str) -> Result<ServerFrame, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Helper for raw request bodies: an object map (used by fixtures and tests).
pub type RawBody = Map<String, Value>;

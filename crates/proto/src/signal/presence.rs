//! Presence and room state: who is connected, where, and in which parent-link state.

use crate::api::RoomSettings;
use crate::ids::{ClientId, RoomId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user's role in the parent room, fixed by its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the session: creates, invites, destroys all.
    Moderator,
    /// Takes part; may create break-out rooms unless the room restricts it.
    Participant,
    /// Listens; never creates.
    Viewer,
}

/// Where a client is: the parent room, or one break-out room.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// In the parent room.
    Parent,
    /// In the named break-out room.
    Breakout(RoomId),
}

/// Parent mute state of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Muted {
    /// Its audio does not reach the parent.
    pub audio: bool,
    /// Its video does not reach the parent.
    pub video: bool,
}

/// `{clientId, name}`: a user named in a notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// The client.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Its display name.
    pub name: String,
}

/// A connected user as others see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The client.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Display name.
    pub name: String,
    /// Role in the parent.
    pub role: Role,
    /// The app's reference for the user.
    pub user_ref: String,
    /// App data from the token.
    #[serde(default)]
    pub data: Value,
    /// Where the user is.
    pub location: Location,
    /// Parent link paused.
    pub paused: bool,
    /// Parent link muted.
    pub muted: Muted,
}

/// A live break-out room with its members and pending invitations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakoutRoomInfo {
    /// The room.
    pub room_id: RoomId,
    /// "Breakout N".
    pub name: String,
    /// Creator (stays the owner after it leaves or drops).
    pub owner: UserRef,
    /// Participant places.
    pub participants: u32,
    /// Audio enabled.
    pub audio: bool,
    /// Canvas allowed.
    pub canvas: bool,
    /// Screen share allowed.
    pub share: bool,
    /// Members now, in join order.
    pub members: Vec<UserRef>,
    /// Clients holding a pending invitation.
    pub invitations: Vec<ClientId>,
}

/// Ack of `connect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomConnected {
    /// Always 0 (failures are `error`).
    pub result: i32,
    /// Negotiated protocol version.
    pub version: u32,
    /// This connection's client id.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// The parent room.
    pub room: RoomSummary,
    /// Everyone connected, this client included.
    pub users: Vec<UserInfo>,
    /// Live break-out rooms of the family.
    pub breakout_rooms: Vec<BreakoutRoomInfo>,
    /// Break-out rooms this client holds a pending invitation to (after a resume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invitations: Vec<RoomId>,
    /// True when this answers a `resume`: the client kept its place (location, parent link,
    /// invitations) through the drop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// After a resume: the server still has this client's peer connection (an ICE restart on
    /// the same connection restores media); false means negotiate a new one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub media_kept: bool,
    /// Secret to `resume` this client's place after a drop (set by the server shell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
}

/// The parent room as a connected client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// Room id.
    pub room_id: RoomId,
    /// Name.
    pub name: String,
    /// Settings.
    pub settings: RoomSettings,
}

/// `userMoved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMoved {
    /// Who moved.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Where to.
    pub location: Location,
}

/// `userPaused`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPaused {
    /// Who.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// New paused state.
    pub paused: bool,
}

/// `userMuted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMuted {
    /// Who.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// New mute state.
    pub muted: Muted,
}

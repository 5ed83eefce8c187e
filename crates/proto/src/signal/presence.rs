//! Presence and room state: who is connected, where, and in which parent-link state.

use crate::api::RoomSettings;
use crate::ids::{ClientId, RoomId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user's role in the parent room, fixed by its token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// In the parent room.
    Parent,
    /// In the named break-out room.
    Breakout(RoomId),
}

/// Parent mute state of a client.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Muted {
    /// Its audio does not reach the parent.
    pub audio: bool,
    /// Its video does not reach the parent.
    pub video: bool,
}

/// `{clientId, name}`: a user named in a notification.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// The client.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Its display name.
    pub name: String,
}

/// A connected user as others see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Any participant may join without an invitation.
    #[serde(default)]
    pub self_select: bool,
    /// When its timer ends (Unix ms), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<u64>,
    /// When its timer's warning goes out (Unix ms), if one will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_at: Option<u64>,
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
    /// The server's clock when it sent this frame (Unix ms): clients correct their own clock
    /// with it so timers count down right.
    #[serde(default)]
    pub server_time: u64,
    /// Pending help requests (moderators only; empty for others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub help_requests: Vec<super::facilitate::HelpRequest>,
    /// True when a moderator muted this client and it has not unmuted since (after a resume).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted_by_moderator: bool,
    /// TURN servers with time-limited credentials minted for this client (set by the server
    /// shell when it is configured with `--turn-url` and `--turn-secret`); fresh ones in every
    /// `roomConnected`, the resumed ones included. Empty (omitted) without TURN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServer>,
}

/// One entry of `roomConnected.ice_servers`: what a browser passes to `RTCPeerConnection` as
/// an `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `turn:` / `turns:` URLs (RFC 7065), e.g. `turn:turn.example.com:443?transport=tcp`.
    pub urls: Vec<String>,
    /// The TURN username: `expiry:clientref` (expiry in Unix seconds), coturn's REST scheme.
    pub username: String,
    /// The TURN password: base64(HMAC-SHA1(shared secret, username)).
    pub credential: String,
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

/// `usersUpdated` (protocol version 2): presence batched per family step.
///
/// `users` holds the latest state of every user whose presence changed (connected, moved,
/// paused or resumed, muted or unmuted), the recipient included, in connection order; `left`
/// the users who left the family. A client applies it to its user list: an entry replaces the
/// user's state (or adds the user), a `left` id removes it. When several steps are merged for a
/// client that reads slowly, the latest state wins, and a user is in at most one of the lists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsersUpdated {
    /// Users whose presence changed, with their state after the step.
    #[serde(default)]
    pub users: Vec<UserInfo>,
    /// Users who left the family.
    #[serde(default)]
    pub left: Vec<ClientId>,
}

impl UsersUpdated {
    /// True when it tells nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.left.is_empty()
    }

    /// One user's entry as it appears in `users` (JSON text), for a sender that encodes each
    /// entry once and shares it between many recipients (see [`UsersUpdated::encode_parts`]).
    pub fn encode_user(user: &UserInfo) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(user).unwrap_or_default()
    }

    /// The whole `usersUpdated` notification frame from entries already encoded with
    /// [`UsersUpdated::encode_user`]: the same text as encoding the `ServerFrame`.
    pub fn encode_parts<'a>(
        users: impl IntoIterator<Item = &'a str>,
        left: impl IntoIterator<Item = &'a ClientId>,
    ) -> String {
        let mut out = String::from(r#"{"type":"usersUpdated","users":["#);
        for (i, u) in users.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(u);
        }
        out.push_str(r#"],"left":["#);
        for (i, c) in left.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(c).unwrap_or_default());
        }
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{ServerFrame, ServerMessage};
    use std::sync::Arc;

    fn user(id: &str, location: Location) -> UserInfo {
        UserInfo {
            client_id: ClientId(id.into()),
            name: format!("N \"{id}\""),
            role: Role::Participant,
            user_ref: "u-1".into(),
            data: serde_json::json!({"k": [1, 2]}),
            location,
            paused: true,
            muted: Muted::default(),
        }
    }

    #[test]
    fn encoding_from_parts_equals_encoding_the_frame() {
        for batch in [
            UsersUpdated::default(),
            UsersUpdated {
                users: vec![user("c-1", Location::Parent)],
                left: vec![],
            },
            UsersUpdated {
                users: vec![
                    user("c-1", Location::Parent),
                    user("c-2", Location::Breakout(RoomId("r-br1".into()))),
                ],
                left: vec![ClientId("c-3".into()), ClientId("c-4".into())],
            },
        ] {
            let frame = ServerFrame {
                id: None,
                msg: ServerMessage::UsersUpdated(Arc::new(batch.clone())),
            };
            let users: Vec<String> = batch.users.iter().map(UsersUpdated::encode_user).collect();
            let parts = UsersUpdated::encode_parts(users.iter().map(String::as_str), &batch.left);
            assert_eq!(parts, frame.encode());
            assert_eq!(ServerFrame::decode(&parts).unwrap(), frame);
        }
    }
}

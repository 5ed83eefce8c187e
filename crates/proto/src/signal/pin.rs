//! Pinned cameras (issue 14, protocol version 4): a moderator pins clients of the family so
//! that, on every receiver's video slots in the parent room, their cameras rank right after the
//! active speakers (`docs/protocol.md` §13.9).
//!
//! The pin list belongs to the parent room: one list for the whole family, kept in pin order,
//! at most [`MAX_PINNED`] clients. It survives moves (a pinned client in a break-out room is
//! simply not shown, since cameras are forwarded in the parent only) and ends for a client when
//! it leaves the family. Every protocol-4 client learns the list from `updatePinUsers` (the
//! vendor's `update-pin-users` room management event).

use crate::ids::{ClientId, RoomId};
use serde::{Deserialize, Serialize};

/// The most clients pinned at once in one parent room.
pub const MAX_PINNED: usize = 16;

/// `pinUsers` / `unpinUsers` request (moderators, protocol version 4): the clients to pin (in
/// this order, after those already pinned) or to unpin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinUsers {
    /// Client ids of this family; at least one.
    #[serde(rename = "clientIds")]
    pub client_ids: Vec<ClientId>,
}

/// `updatePinUsers` notification: the parent room's pinned clients, in pin order (empty: none).
/// Sent to every protocol-4 client of the family when the list changes, and after
/// `roomConnected` (connect or resume) when it is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePinUsers {
    /// The parent room.
    pub room_id: RoomId,
    /// The pinned clients, first pinned first.
    #[serde(rename = "clientIds")]
    pub client_ids: Vec<ClientId>,
}

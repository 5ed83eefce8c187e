//! The typed camera-video calls (issue 14, protocol version 4): how a video slot is rendered
//! (`setVideoSlot`) and the moderators' pinned cameras (`pinUsers`, `unpinUsers`). The rules
//! are in `docs/protocol.md` §13.9; the frames in `alcove_proto::signal::{media, pin}`.
//!
//! Like the other typed calls, each sends one request through [`Room::request`] and checks its
//! acknowledgement: a non-zero `result` becomes [`Error::Refused`], an acknowledgement of the
//! wrong type [`Error::Protocol`].
//!
//! | request | call | acknowledgement |
//! |---|---|---|
//! | `setVideoSlot` | [`Room::set_video_slot`] | `ackSetVideoSlot` |
//! | `pinUsers` | [`Room::pin_users`] | `ackPinUsers` |
//! | `unpinUsers` | [`Room::unpin_users`] | `ackUnpinUsers` |
//!
//! Every protocol-4 client learns the pin list from `updatePinUsers` on [`crate::Events`]; it is
//! kept as [`crate::RoomState::pinned`]. Which camera shows on which video slot arrives as
//! `videoSlotsUpdated` (see [`crate::media`]).

use crate::client::Room;
use crate::error::{check_result, unexpected, Error};
use alcove_proto::ids::ClientId;
use alcove_proto::signal::{
    ClientMessage, PinUsers, ServerMessage, SetVideoSlot, Status, VideoLayer,
};

impl Room {
    /// `setVideoSlot`: video slot `slot` (an index into the offer's video slots) is rendered
    /// `height` device pixels high (`0`: not shown, nothing is forwarded on it), and wants at
    /// most `max_layer` (`None`: the highest). It holds across publishers and moves until the
    /// next call for the slot. Refused: 1155 (no such video slot, no media negotiated yet, or
    /// protocol 1–3).
    pub async fn set_video_slot(
        &self,
        slot: u32,
        height: u32,
        max_layer: Option<VideoLayer>,
    ) -> Result<Status, Error> {
        let msg = ClientMessage::SetVideoSlot(SetVideoSlot {
            slot,
            height,
            max_layer,
        });
        match check_result(self.request(msg).await?.msg)? {
            ServerMessage::AckSetVideoSlot(s) => Ok(s),
            other => Err(unexpected("ackSetVideoSlot", &other)),
        }
    }

    /// `pinUsers` (moderators): pins `clients`' cameras, after those already pinned and in
    /// this order, so that on every receiver's video slots in the parent they rank right after
    /// the active speakers. Every protocol-4 client gets `updatePinUsers`. Refused, in order:
    /// 5003 (not a moderator), 1155 (protocol 1–3, or `clients` empty), 5126 (a client that is
    /// not in the family), 1155 (more than 16 would be pinned); a refusal changes nothing.
    pub async fn pin_users(&self, clients: &[ClientId]) -> Result<Status, Error> {
        let msg = ClientMessage::PinUsers(PinUsers {
            client_ids: clients.to_vec(),
        });
        match check_result(self.request(msg).await?.msg)? {
            ServerMessage::AckPinUsers(s) => Ok(s),
            other => Err(unexpected("ackPinUsers", &other)),
        }
    }

    /// `unpinUsers` (moderators): unpins `clients` (one not pinned is no change). Refused like
    /// [`Room::pin_users`], without the bound.
    pub async fn unpin_users(&self, clients: &[ClientId]) -> Result<Status, Error> {
        let msg = ClientMessage::UnpinUsers(PinUsers {
            client_ids: clients.to_vec(),
        });
        match check_result(self.request(msg).await?.msg)? {
            ServerMessage::AckUnpinUsers(s) => Ok(s),
            other => Err(unexpected("ackUnpinUsers", &other)),
        }
    }
}

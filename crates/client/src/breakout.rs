//! The typed break-out calls, one per method of the break-out contract
//! (`reference/seed-breakout-room.md`), and the [`BreakoutRoom`] handle.
//!
//! Each call sends one request through [`Room::request`] and checks its acknowledgement: a
//! non-zero `result` becomes [`Error::Refused`] (with the acknowledgement attached), an
//! acknowledgement of the wrong type [`Error::Protocol`]. The notifications a call causes
//! (`breakoutRoomCreated`, `invitationForBreakoutRoom`, …) arrive on [`crate::Events`].
//!
//! | contract method | call | acknowledgement |
//! |---|---|---|
//! | `createBreakOutRoom` | [`Room::create_break_out_room`] | `ackCreateBreakOutRoom` |
//! | `inviteToBreakOutRoom` | [`Room::invite_to_break_out_room`] | `ackInviteBreakOutRoom` |
//! | `createAndInviteBreakoutRoom` | [`Room::create_and_invite_breakout_room`] | `ackCreateAndInviteBreakOutRoom` |
//! | `joinBreakoutRoom` | [`Room::join_breakout_room`] | `connectedBreakoutRoom` / `failedJoinBreakOutRoom` |
//! | `rejectBreakOutRoom` | [`Room::reject_break_out_room`] | `ackRejectBreakoutRoom` |
//! | `pause` / `resume` | [`Room::pause`] / [`Room::resume`] | `ackPause` / `ackResume` |
//! | `muteRoom` / `unmuteRoom` | [`Room::mute_room`] / [`Room::unmute_room`] | `ackMuteRoom` / `ackUnmuteRoom` |
//! | `EnxRoom.disconnect` | [`BreakoutRoom::disconnect`] | `didDisconnectedBreakoutRoom` |
//! | `clearAllBreakOutSession` | [`Room::clear_all_break_out_session`] | `didDisconnectedBreakoutRoom` |
//! | `destroyAllBreakOutSession` | [`Room::destroy_all_break_out_session`] | `ackDestroyAllBreakOutSession` |

use crate::client::Room;
use crate::error::{check_result, unexpected, Error};
use alcove_proto::ids::RoomId;
use alcove_proto::signal::{
    AckCreateAndInviteBreakOutRoom, AckCreateBreakOutRoom, AckDestroyAllBreakOutSession,
    AckInviteBreakOutRoom, ClientMessage, ConnectedBreakoutRoom, DidDisconnectedBreakoutRoom,
    Invitee, JoinRole, Joinee, MediaFlags, MuteAck, RoomDefinition, RoomRef, ServerMessage, Status,
    StreamInfo,
};

impl Room {
    /// Sends `msg` and returns its acknowledgement, refusing a non-zero `result`.
    async fn call(&self, msg: ClientMessage) -> Result<ServerMessage, Error> {
        check_result(self.request(msg).await?.msg)
    }

    /// Seed `createBreakOutRoom(roomDefinition)`: creates `def.max_rooms` break-out rooms owned
    /// by this client. The room ids are in the ack's `msg` (`ack.msg.data()`).
    /// Every moderator of the parent gets `breakoutRoomCreated`, one per room.
    pub async fn create_break_out_room(
        &self,
        def: &RoomDefinition,
    ) -> Result<AckCreateBreakOutRoom, Error> {
        match self
            .call(ClientMessage::CreateBreakOutRoom(def.to_input()))
            .await?
        {
            ServerMessage::AckCreateBreakOutRoom(ack) => Ok(ack),
            other => Err(unexpected("ackCreateBreakOutRoom", &other)),
        }
    }

    /// Seed `inviteToBreakOutRoom(invitee)`. A `result` of 0 means the request was accepted;
    /// invitees that could not be invited are listed in the ack's `failed`.
    pub async fn invite_to_break_out_room(
        &self,
        invitee: &Invitee,
    ) -> Result<AckInviteBreakOutRoom, Error> {
        match self
            .call(ClientMessage::InviteToBreakOutRoom(invitee.clone()))
            .await?
        {
            ServerMessage::AckInviteBreakOutRoom(ack) => Ok(ack),
            other => Err(unexpected("ackInviteBreakOutRoom", &other)),
        }
    }

    /// Seed `createAndInviteBreakoutRoom(roomDefinition)`: creates the rooms and spreads the
    /// parent's participants over them (`def.force_join` moves them at once).
    pub async fn create_and_invite_breakout_room(
        &self,
        def: &RoomDefinition,
    ) -> Result<AckCreateAndInviteBreakOutRoom, Error> {
        match self
            .call(ClientMessage::CreateAndInviteBreakoutRoom(def.to_input()))
            .await?
        {
            ServerMessage::AckCreateAndInviteBreakOutRoom(ack) => Ok(ack),
            other => Err(unexpected("ackCreateAndInviteBreakOutRoom", &other)),
        }
    }

    /// Seed `joinBreakoutRoom(joinee, streamInfo)`: moves this client into the break-out room
    /// (its parent link is paused). `failedJoinBreakOutRoom` becomes [`Error::Refused`].
    pub async fn join_breakout_room(
        &self,
        room_id: &RoomId,
        role: JoinRole,
        stream_info: StreamInfo,
    ) -> Result<BreakoutRoom, Error> {
        let joinee = Joinee {
            role,
            room_id: room_id.clone(),
            stream_info,
        };
        match self.call(ClientMessage::JoinBreakoutRoom(joinee)).await? {
            ServerMessage::ConnectedBreakoutRoom(info) => Ok(self.breakout_room(info)),
            other => Err(unexpected("connectedBreakoutRoom", &other)),
        }
    }

    /// A handle for a break-out room this client was moved into without asking: a forced join
    /// announces itself as an unsolicited `connectedBreakoutRoom` on [`crate::Events`]; pass
    /// its payload here.
    pub fn breakout_room(&self, info: ConnectedBreakoutRoom) -> BreakoutRoom {
        BreakoutRoom {
            room: self.clone(),
            info,
        }
    }

    /// Seed `rejectBreakOutRoom(roomId)`: declines a pending invitation.
    pub async fn reject_break_out_room(&self, room_id: &RoomId) -> Result<Status, Error> {
        let msg = ClientMessage::RejectBreakOutRoom(RoomRef {
            room_id: room_id.clone(),
        });
        match self.call(msg).await? {
            ServerMessage::AckRejectBreakoutRoom(status) => Ok(status),
            other => Err(unexpected("ackRejectBreakoutRoom", &other)),
        }
    }

    /// Seed `pause()`: stops parent media in both directions.
    pub async fn pause(&self) -> Result<Status, Error> {
        match self.call(ClientMessage::Pause).await? {
            ServerMessage::AckPause(status) => Ok(status),
            other => Err(unexpected("ackPause", &other)),
        }
    }

    /// Seed `resume()`: restores parent media (sending stays off while muted).
    pub async fn resume(&self) -> Result<Status, Error> {
        match self.call(ClientMessage::Resume).await? {
            ServerMessage::AckResume(status) => Ok(status),
            other => Err(unexpected("ackResume", &other)),
        }
    }

    /// Seed `muteRoom({audio, video})`: this client's media selected by `flags` stops reaching
    /// the parent room. At least one flag must be true.
    /// The ack echoes the resulting mute state (`muted`).
    pub async fn mute_room(&self, flags: MediaFlags) -> Result<MuteAck, Error> {
        match self.call(ClientMessage::MuteRoom(flags)).await? {
            ServerMessage::AckMuteRoom(status) => Ok(status),
            other => Err(unexpected("ackMuteRoom", &other)),
        }
    }

    /// Seed `unmuteRoom({audio, video})`: reverses [`Room::mute_room`] for `flags`.
    /// The ack echoes the resulting mute state (`muted`).
    pub async fn unmute_room(&self, flags: MediaFlags) -> Result<MuteAck, Error> {
        match self.call(ClientMessage::UnmuteRoom(flags)).await? {
            ServerMessage::AckUnmuteRoom(status) => Ok(status),
            other => Err(unexpected("ackUnmuteRoom", &other)),
        }
    }

    /// Seed `clearAllBreakOutSession()`: leaves every break-out room this client is in and
    /// resumes the parent. `room_id` in the ack is `None` when it was in none.
    pub async fn clear_all_break_out_session(&self) -> Result<DidDisconnectedBreakoutRoom, Error> {
        match self.call(ClientMessage::ClearAllBreakOutSession).await? {
            ServerMessage::DidDisconnectedBreakoutRoom(ack) => Ok(ack),
            other => Err(unexpected("didDisconnectedBreakoutRoom", &other)),
        }
    }

    /// Seed `destroyAllBreakOutSession()` (moderators only): destroys every break-out room of
    /// the parent; members return to the parent, resumed and unmuted. The destroyed room ids
    /// are in the ack's `msg`.
    pub async fn destroy_all_break_out_session(
        &self,
    ) -> Result<AckDestroyAllBreakOutSession, Error> {
        match self.call(ClientMessage::DestroyAllBreakOutSession).await? {
            ServerMessage::AckDestroyAllBreakOutSession(ack) => Ok(ack),
            other => Err(unexpected("ackDestroyAllBreakOutSession", &other)),
        }
    }
}

/// The handle of a break-out room this client is in (the seed's break-out `EnxRoom`).
///
/// It rides on the parent's connection (SPEC §2.1: one connection per client for the whole
/// family), so it keeps that connection open while it lives, like a [`Room`] clone.
#[derive(Debug, Clone)]
pub struct BreakoutRoom {
    /// The parent-room handle whose connection carries this room's requests.
    room: Room,
    /// The `connectedBreakoutRoom` payload as received at join; never updated.
    info: ConnectedBreakoutRoom,
}

impl BreakoutRoom {
    /// The break-out room's id.
    pub fn room_id(&self) -> &RoomId {
        &self.info.room.room_id
    }

    /// The `connectedBreakoutRoom` payload received at join (name, owner, members, …).
    pub fn info(&self) -> &ConnectedBreakoutRoom {
        &self.info
    }

    /// The parent-room handle.
    pub fn parent(&self) -> &Room {
        &self.room
    }

    /// Seed `EnxRoom.disconnect()`: leaves the break-out room and returns to the parent
    /// (parent link resumed). Acknowledged with `didDisconnectedBreakoutRoom`.
    pub async fn disconnect(&self) -> Result<DidDisconnectedBreakoutRoom, Error> {
        let msg = ClientMessage::Disconnect(RoomRef {
            room_id: self.room_id().clone(),
        });
        match self.room.call(msg).await? {
            ServerMessage::DidDisconnectedBreakoutRoom(ack) => Ok(ack),
            other => Err(unexpected("didDisconnectedBreakoutRoom", &other)),
        }
    }
}

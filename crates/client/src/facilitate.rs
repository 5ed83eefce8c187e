//! The typed facilitation calls (issue 10, protocol version 3): room timers, broadcast
//! messages, help requests, one-step moves, self-select, names, reusable plans and moderation
//! inside rooms. The rules are in `docs/breakouts.md`; the frames in
//! `alcove_proto::signal::facilitate`.
//!
//! Like the break-out calls, each sends one request through [`Room::request`] and checks its
//! acknowledgement: a non-zero `result` becomes [`Error::Refused`], an acknowledgement of the
//! wrong type [`Error::Protocol`]. The notifications a call causes arrive on [`crate::Events`]
//! (typed by [`crate::FacilitationEvent`]) and update [`crate::RoomState`].
//!
//! | request | call | acknowledgement |
//! |---|---|---|
//! | `createBreakOutRoom` with `names` | [`Room::create_break_out_room_named`] | `ackCreateBreakOutRoom` |
//! | `createAndInviteBreakoutRoom` with `names` | [`Room::create_and_invite_breakout_room_named`] | `ackCreateAndInviteBreakOutRoom` |
//! | `setBreakoutDuration` | [`Room::set_breakout_duration`] | `ackSetBreakoutDuration` |
//! | `broadcastMessage` | [`Room::broadcast_message`] | `ackBroadcastMessage` |
//! | `requestHelp` | [`Room::request_help`] | `ackRequestHelp` |
//! | `cancelHelp` | [`Room::cancel_help`] | `ackCancelHelp` |
//! | `dismissHelp` | [`Room::dismiss_help`] | `ackDismissHelp` |
//! | `moveToBreakoutRoom` | [`Room::move_to_breakout_room`] | `ackMoveToBreakoutRoom` |
//! | `setSelfSelect` | [`Room::set_self_select`] | `ackSetSelfSelect` |
//! | `renameBreakoutRoom` | [`Room::rename_breakout_room`] | `ackRenameBreakoutRoom` |
//! | `savePlan` | [`Room::save_plan`] | `ackSavePlan` |
//! | `listPlans` | [`Room::list_plans`] | `ackListPlans` |
//! | `applyPlan` | [`Room::apply_plan`] | `ackApplyPlan` |
//! | `muteMember {clientId}` | [`Room::mute_member`] | `ackMuteMember` |
//! | `muteMember {room_id}` | [`Room::mute_breakout_room_members`] | `ackMuteMember` |
//! | `askToUnmute` | [`Room::ask_to_unmute`] | `ackAskToUnmute` |
//! | `unmuteSelf` | [`Room::unmute_self`] | `ackUnmuteSelf` |
//! | `listenTo` | [`Room::listen_to`] | `ackListenTo` |
//! | `stopListening` | [`Room::stop_listening`] | `ackStopListening` |
//! | `talkTo` | [`Room::talk_to`] | `ackTalkTo` |
//! | `startBroadcast` | [`Room::start_broadcast`] | `ackStartBroadcast` |
//! | `stopBroadcast` | [`Room::stop_broadcast`] | `ackStopBroadcast` |
//!
//! Listen-in, talk-in and audio broadcast (issue 11) change only the routes of the caller's one
//! peer connection: nothing to renegotiate. Their acknowledgements are all [`ListenState`],
//! the caller's state after the request; the notifications (`monitoredBy`, `audioBroadcast`,
//! `listeningChanged`) are typed by [`crate::ListenEvent`].

use crate::client::Room;
use crate::error::{check_result, unexpected, Error};
use alcove_proto::ids::{ClientId, RoomId};
use alcove_proto::signal::{
    AckApplyPlan, AckBroadcastMessage, AckCreateAndInviteBreakOutRoom, AckCreateBreakOutRoom,
    AckListPlans, AckMuteMember, AckRequestHelp, AckSavePlan, AckSetBreakoutDuration, ApplyPlan,
    AskToUnmute, BroadcastMessage, ClientMessage, DismissHelp, ListenState, ListenTo,
    MoveToBreakoutRoom, MuteMember, ParentWhileListening, RenameBreakoutRoom, RoomDefinition,
    RoomDefinitionInput, SavePlan, ServerMessage, SetBreakoutDuration, SetSelfSelect,
    StartBroadcast, Status, TalkTo,
};

/// A definition with the optional `names` array (each name becomes one room's display name,
/// in order; the rest are "Breakout N").
fn named(def: &RoomDefinition, names: &[&str]) -> RoomDefinitionInput {
    let mut input = def.to_input();
    input.0.insert(
        "names".into(),
        serde_json::Value::Array(
            names
                .iter()
                .map(|n| serde_json::Value::String((*n).to_owned()))
                .collect(),
        ),
    );
    input
}

impl Room {
    /// Sends `msg` and returns its acknowledgement, refusing a non-zero `result`.
    async fn call_facilitation(&self, msg: ClientMessage) -> Result<ServerMessage, Error> {
        check_result(self.request(msg).await?.msg)
    }

    /// `createBreakOutRoom` with names: like [`Room::create_break_out_room`], the rooms
    /// named from `names` in order (1 to 64 characters each once trimmed, else 1155); rooms
    /// beyond the list are "Breakout N". The definition's `duration`, `warning` and
    /// `self_select` apply to every room.
    pub async fn create_break_out_room_named(
        &self,
        def: &RoomDefinition,
        names: &[&str],
    ) -> Result<AckCreateBreakOutRoom, Error> {
        let msg = ClientMessage::CreateBreakOutRoom(named(def, names));
        match self.call_facilitation(msg).await? {
            ServerMessage::AckCreateBreakOutRoom(ack) => Ok(ack),
            other => Err(unexpected("ackCreateBreakOutRoom", &other)),
        }
    }

    /// `createAndInviteBreakoutRoom` with names: like
    /// [`Room::create_and_invite_breakout_room`], the rooms named from `names` in order.
    pub async fn create_and_invite_breakout_room_named(
        &self,
        def: &RoomDefinition,
        names: &[&str],
    ) -> Result<AckCreateAndInviteBreakOutRoom, Error> {
        let msg = ClientMessage::CreateAndInviteBreakoutRoom(named(def, names));
        match self.call_facilitation(msg).await? {
            ServerMessage::AckCreateAndInviteBreakOutRoom(ack) => Ok(ack),
            other => Err(unexpected("ackCreateAndInviteBreakOutRoom", &other)),
        }
    }

    /// `setBreakoutDuration` (moderators): the room ends `duration` seconds from now
    /// (1 to 86,400; `None` or 0 clears the timer), with a warning `warning` seconds before
    /// the end (default 60; 0: none). The ack's `timer` holds the absolute server times; the
    /// room's members and every other moderator get `breakoutTimer`.
    /// Refused: 5003 (not a moderator), 1736 (no such live room), 1155 (out of range).
    pub async fn set_breakout_duration(
        &self,
        room_id: &RoomId,
        duration: Option<u32>,
        warning: Option<u32>,
    ) -> Result<AckSetBreakoutDuration, Error> {
        let msg = ClientMessage::SetBreakoutDuration(SetBreakoutDuration {
            room_id: room_id.clone(),
            duration,
            warning,
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckSetBreakoutDuration(ack) => Ok(ack),
            other => Err(unexpected("ackSetBreakoutDuration", &other)),
        }
    }

    /// `broadcastMessage` (moderators): `text` to every client in `rooms` (break-out room ids
    /// and/or the parent's id; `None`: every break-out room and the parent), the caller
    /// excluded; each gets `broadcastReceived`. The ack counts the `recipients`.
    /// Refused: 5003, 1155 (text empty or over 1,000 characters, `rooms` empty), 1736 (unknown
    /// room), 4006 (more than 10 in a minute).
    pub async fn broadcast_message(
        &self,
        text: &str,
        rooms: Option<&[RoomId]>,
    ) -> Result<AckBroadcastMessage, Error> {
        let msg = ClientMessage::BroadcastMessage(BroadcastMessage {
            text: text.to_owned(),
            rooms: rooms.map(<[RoomId]>::to_vec),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckBroadcastMessage(ack) => Ok(ack),
            other => Err(unexpected("ackBroadcastMessage", &other)),
        }
    }

    /// `requestHelp`: asks the moderators for help from the break-out room this client is in
    /// (every moderator gets `helpRequested`). Pressing again while a request is pending is
    /// acknowledged with `already_pending: true` and tells nobody. Refused: 1741 (not in a
    /// break-out room).
    pub async fn request_help(&self) -> Result<AckRequestHelp, Error> {
        match self.call_facilitation(ClientMessage::RequestHelp).await? {
            ServerMessage::AckRequestHelp(ack) => Ok(ack),
            other => Err(unexpected("ackRequestHelp", &other)),
        }
    }

    /// `cancelHelp`: withdraws this client's pending help request (moderators get
    /// `helpResolved`, outcome `cancelled`). Refused: 1760 (none pending).
    pub async fn cancel_help(&self) -> Result<Status, Error> {
        match self.call_facilitation(ClientMessage::CancelHelp).await? {
            ServerMessage::AckCancelHelp(s) => Ok(s),
            other => Err(unexpected("ackCancelHelp", &other)),
        }
    }

    /// `dismissHelp` (moderators): closes `client`'s help request without joining; the
    /// requester gets `helpDismissed`, the other moderators `helpResolved`. Refused: 5003,
    /// 1760 (no request pending from that client).
    pub async fn dismiss_help(&self, client: &ClientId) -> Result<Status, Error> {
        let msg = ClientMessage::DismissHelp(DismissHelp {
            client_id: client.clone(),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckDismissHelp(s) => Ok(s),
            other => Err(unexpected("ackDismissHelp", &other)),
        }
    }

    /// `moveToBreakoutRoom` (moderators): moves `client` into `room_id` in one step, from the
    /// parent (a forced join) or from another break-out room (never through the parent). The
    /// client gets an unsolicited `connectedBreakoutRoom`, then, when it came from another
    /// room, `didDisconnectedBreakoutRoom` with reason `moved`. Refused: 5003, 1736 (no such
    /// room), 1740 (client not connected), 1743 (already in that room), 1738 (room full).
    pub async fn move_to_breakout_room(
        &self,
        client: &ClientId,
        room_id: &RoomId,
    ) -> Result<Status, Error> {
        let msg = ClientMessage::MoveToBreakoutRoom(MoveToBreakoutRoom {
            client_id: client.clone(),
            room_id: room_id.clone(),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckMoveToBreakoutRoom(s) => Ok(s),
            other => Err(unexpected("ackMoveToBreakoutRoom", &other)),
        }
    }

    /// `setSelfSelect` (moderators): lets any participant join `room_id` (`None`: every live
    /// break-out room) without an invitation, or stops it. Everyone's room list is updated.
    /// Refused: 5003, 1736.
    pub async fn set_self_select(
        &self,
        room_id: Option<&RoomId>,
        on: bool,
    ) -> Result<Status, Error> {
        let msg = ClientMessage::SetSelfSelect(SetSelfSelect {
            room_id: room_id.cloned(),
            on,
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckSetSelfSelect(s) => Ok(s),
            other => Err(unexpected("ackSetSelfSelect", &other)),
        }
    }

    /// `renameBreakoutRoom` (moderators): the room's display name becomes `name` (1 to 64
    /// characters once trimmed). Everyone's room list is updated. Refused: 5003, 1736, 1155.
    pub async fn rename_breakout_room(
        &self,
        room_id: &RoomId,
        name: &str,
    ) -> Result<Status, Error> {
        let msg = ClientMessage::RenameBreakoutRoom(RenameBreakoutRoom {
            room_id: room_id.clone(),
            name: name.to_owned(),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckRenameBreakoutRoom(s) => Ok(s),
            other => Err(unexpected("ackRenameBreakoutRoom", &other)),
        }
    }

    /// `savePlan` (moderators): stores the live break-out rooms and who is in (or invited to)
    /// each as the app's plan `name`, replacing a plan of that name. The ack holds the plan.
    /// Refused: 5003, 1155 (bad name), 1736 (no live room), 1138 (store failure).
    pub async fn save_plan(&self, name: &str) -> Result<AckSavePlan, Error> {
        let msg = ClientMessage::SavePlan(SavePlan {
            name: name.to_owned(),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckSavePlan(ack) => Ok(ack),
            other => Err(unexpected("ackSavePlan", &other)),
        }
    }

    /// `listPlans` (moderators): the app's saved plans, by name. Refused: 5003.
    pub async fn list_plans(&self) -> Result<AckListPlans, Error> {
        match self.call_facilitation(ClientMessage::ListPlans).await? {
            ServerMessage::AckListPlans(ack) => Ok(ack),
            other => Err(unexpected("ackListPlans", &other)),
        }
    }

    /// `applyPlan` (moderators): creates the plan's rooms (names, timers, self-select) and
    /// invites its members who are connected in the parent (`force_join`: moves them). The
    /// ack lists the rooms, who went where, and the members not found. Refused: 5003, 1761
    /// (no such plan), then create's checks (5067, 1726, 1725).
    pub async fn apply_plan(&self, name: &str, force_join: bool) -> Result<AckApplyPlan, Error> {
        let msg = ClientMessage::ApplyPlan(ApplyPlan {
            name: name.to_owned(),
            force_join,
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckApplyPlan(ack) => Ok(ack),
            other => Err(unexpected("ackApplyPlan", &other)),
        }
    }

    /// `muteMember {clientId}` (moderators): the server stops forwarding `client`'s audio
    /// until it unmutes after being asked ([`Room::ask_to_unmute`]). The ack's `muted` lists it
    /// when it was not muted already; it, its room's members and every moderator get
    /// `memberMuted`. Refused: 5003, 1740.
    pub async fn mute_member(&self, client: &ClientId) -> Result<AckMuteMember, Error> {
        self.mute(MuteMember {
            client_id: Some(client.clone()),
            room_id: None,
        })
        .await
    }

    /// `muteMember {room_id}` (moderators): mutes every member of the break-out room except
    /// moderators. Refused: 5003, 1736.
    pub async fn mute_breakout_room_members(
        &self,
        room_id: &RoomId,
    ) -> Result<AckMuteMember, Error> {
        self.mute(MuteMember {
            client_id: None,
            room_id: Some(room_id.clone()),
        })
        .await
    }

    /// `muteMember` with exactly the payload given (both or neither field is refused 1155).
    pub async fn mute_member_raw(&self, m: MuteMember) -> Result<AckMuteMember, Error> {
        self.mute(m).await
    }

    async fn mute(&self, m: MuteMember) -> Result<AckMuteMember, Error> {
        match self.call_facilitation(ClientMessage::MuteMember(m)).await? {
            ServerMessage::AckMuteMember(ack) => Ok(ack),
            other => Err(unexpected("ackMuteMember", &other)),
        }
    }

    /// `askToUnmute` (moderators): `client` gets `unmuteAsked` and may then
    /// [`Room::unmute_self`]. Refused: 5003, 1740.
    pub async fn ask_to_unmute(&self, client: &ClientId) -> Result<Status, Error> {
        let msg = ClientMessage::AskToUnmute(AskToUnmute {
            client_id: client.clone(),
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckAskToUnmute(s) => Ok(s),
            other => Err(unexpected("ackAskToUnmute", &other)),
        }
    }

    /// `unmuteSelf`: ends this client's moderator mute once a moderator asked
    /// (`memberMuted {muted: false}` to the same audience as the mute). Not muted by a
    /// moderator: acknowledged, nothing else. Refused: 1762 (muted and not asked).
    pub async fn unmute_self(&self) -> Result<Status, Error> {
        match self.call_facilitation(ClientMessage::UnmuteSelf).await? {
            ServerMessage::AckUnmuteSelf(s) => Ok(s),
            other => Err(unexpected("ackUnmuteSelf", &other)),
        }
    }

    /// `listenTo` (moderators in the parent): hear the break-out room `room_id` without
    /// leaving the parent. `parent` says what of the parent stays audible meanwhile
    /// ([`ParentWhileListening::Mixed`]: its talkers on the slots after the room's;
    /// [`ParentWhileListening::Paused`]: nothing). Listening to another room switches in one
    /// step (talk-in off in the new room); the same room again changes `parent` only. The
    /// room's members (and the previous room's, on a switch) get `monitoredBy`.
    /// Refused: 5003 (not a moderator), 1765 (not in the parent), 1736 (no such live room),
    /// 1763 (the room was created with `allow_listen_in: false`).
    pub async fn listen_to(
        &self,
        room_id: &RoomId,
        parent: ParentWhileListening,
    ) -> Result<ListenState, Error> {
        let msg = ClientMessage::ListenTo(ListenTo {
            room_id: room_id.clone(),
            parent,
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckListenTo(s) => Ok(s),
            other => Err(unexpected("ackListenTo", &other)),
        }
    }

    /// `stopListening`: ends listening and talking in (the room's members get `monitoredBy`).
    /// Never refused; a no-op when not listening.
    pub async fn stop_listening(&self) -> Result<ListenState, Error> {
        match self.call_facilitation(ClientMessage::StopListening).await? {
            ServerMessage::AckStopListening(s) => Ok(s),
            other => Err(unexpected("ackStopListening", &other)),
        }
    }

    /// `talkTo` (moderators listening to `room_id`): this client's voice also goes into the
    /// room (`on`) or no longer. `parent: false` whispers: while talking in, the parent does not
    /// hear this client. The room's members get `monitoredBy` when it changed.
    /// Refused: 5003, 1765, 1764 (not listening to that room).
    pub async fn talk_to(
        &self,
        room_id: &RoomId,
        on: bool,
        parent: bool,
    ) -> Result<ListenState, Error> {
        let msg = ClientMessage::TalkTo(TalkTo {
            room_id: room_id.clone(),
            on,
            parent,
        });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckTalkTo(s) => Ok(s),
            other => Err(unexpected("ackTalkTo", &other)),
        }
    }

    /// `startBroadcast` (moderators in the parent): this client's voice into the parent and
    /// every break-out room (`None`, also rooms created meanwhile) or the listed ones, on a
    /// slot no talker takes over. Every client reached but the caller gets `audioBroadcast`
    /// (once; calling again changes the rooms only). The ack's `broadcasting` lists the rooms.
    /// Refused: 5003, 1765, 1155 (`rooms` empty), 1736 (a room that is not live).
    pub async fn start_broadcast(&self, rooms: Option<Vec<RoomId>>) -> Result<ListenState, Error> {
        let msg = ClientMessage::StartBroadcast(StartBroadcast { rooms });
        match self.call_facilitation(msg).await? {
            ServerMessage::AckStartBroadcast(s) => Ok(s),
            other => Err(unexpected("ackStartBroadcast", &other)),
        }
    }

    /// `stopBroadcast`: ends this client's broadcast (everyone told of its start gets
    /// `audioBroadcast {on: false}`). Never refused.
    pub async fn stop_broadcast(&self) -> Result<ListenState, Error> {
        match self.call_facilitation(ClientMessage::StopBroadcast).await? {
            ServerMessage::AckStopBroadcast(s) => Ok(s),
            other => Err(unexpected("ackStopBroadcast", &other)),
        }
    }
}

//! The break-out operations of SPEC §3: create, invite, create-and-invite, join, reject,
//! pause / resume, mute / unmute, disconnect, clear all, destroy all, and auto-destroy.
//!
//! Each operation checks its preconditions in the contract's order, answers with exactly one
//! acknowledgement, then applies its effects and emits its notifications. Acknowledgements are
//! always queued before the notifications they cause.

use crate::family::{Breakout, Family};
use alcove_proto::api::{BreakoutCreators, RoomMode};
use alcove_proto::signal::AssignPolicy;
use alcove_proto::signal::{
    AckCreateAndInviteBreakOutRoom, AckCreateBreakOutRoom, AckDestroyAllBreakOutSession,
    AckInviteBreakOutRoom, BreakoutInvitationWithdrawn, BreakoutRoomCreated,
    BreakoutRoomInviteRejected, BreakoutRoomInvited, ClientMessage, ConnectedBreakoutRoom,
    CreateAndInviteResult, DidDisconnectedBreakoutRoom, DidUserDisconnectedFromBreakoutRoom,
    InvitationForBreakoutRoom, InviteFailure, Invitee, JoinRole, Joinee, LeaveReason, Location,
    MediaFlags, Msg, MuteAck, Muted, Role, RoomDefinition, RoomDefinitionInput, RoomInvitations,
    RoomList, RoomRef, ServerMessage, Status, UserJoinedBreakoutRoom, UserMoved, UserMuted,
    UserPaused, UserRef, WithdrawReason,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use std::time::Instant;

impl Family {
    pub(crate) fn request(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        msg: ClientMessage,
    ) {
        match msg {
            ClientMessage::Connect(_) => {
                let fail = ServerMessage::Error(Status::err(ErrorCode::AlreadyConnected));
                self.send(&caller, Some(id), fail);
            }
            ClientMessage::CreateBreakOutRoom(def) => self.create(now, caller, id, def, false),
            ClientMessage::CreateAndInviteBreakoutRoom(def) => {
                self.create(now, caller, id, def, true)
            }
            ClientMessage::InviteToBreakOutRoom(inv) => self.invite(caller, id, inv),
            ClientMessage::JoinBreakoutRoom(j) => self.join(caller, id, j),
            ClientMessage::RejectBreakOutRoom(r) => self.reject(caller, id, r),
            // Others are told only of a change (as for mute): pausing a paused link is acked
            // but is no news to anybody.
            ClientMessage::Pause => {
                let changed = self.set_paused(&caller, true);
                self.send(
                    &caller,
                    Some(id),
                    ServerMessage::AckPause(Status::ok("Room paused")),
                );
                if changed {
                    self.notify_paused(&caller);
                }
            }
            ClientMessage::Resume => {
                let changed = self.set_paused(&caller, false);
                self.send(
                    &caller,
                    Some(id),
                    ServerMessage::AckResume(Status::ok("Room resumed")),
                );
                if changed {
                    self.notify_paused(&caller);
                }
            }
            ClientMessage::MuteRoom(f) => self.mute(caller, id, f, true),
            ClientMessage::UnmuteRoom(f) => self.mute(caller, id, f, false),
            ClientMessage::Disconnect(r) => self.disconnect(caller, id, r),
            ClientMessage::ClearAllBreakOutSession => self.clear_all(caller, id),
            ClientMessage::DestroyAllBreakOutSession => self.destroy_all(caller, id),
            ClientMessage::SdpOffer(o) => self.sdp_offer(caller, id, o),
            ClientMessage::StartShare => {
                self.start_sharing(now, caller, id, crate::media::Sharing::Share)
            }
            ClientMessage::StopShare => {
                self.stop_sharing(now, caller, id, crate::media::Sharing::Share)
            }
            ClientMessage::StartCanvas => {
                self.start_sharing(now, caller, id, crate::media::Sharing::Canvas)
            }
            ClientMessage::StopCanvas => {
                self.stop_sharing(now, caller, id, crate::media::Sharing::Canvas)
            }
            ClientMessage::SetBreakoutDuration(r) => self.set_duration(now, caller, id, r),
            ClientMessage::BroadcastMessage(b) => self.broadcast_message(now, caller, id, b),
            ClientMessage::RequestHelp => self.request_help(now, caller, id),
            ClientMessage::CancelHelp => self.cancel_help(caller, id),
            ClientMessage::DismissHelp(d) => self.dismiss_help(caller, id, d),
            ClientMessage::MoveToBreakoutRoom(m) => self.move_to_breakout(caller, id, m),
            ClientMessage::SetSelfSelect(s) => self.set_self_select(caller, id, s),
            ClientMessage::RenameBreakoutRoom(r) => self.rename(caller, id, r),
            ClientMessage::SavePlan(p) => self.save_plan(caller, id, p),
            ClientMessage::ListPlans => self.list_plans(caller, id),
            ClientMessage::ApplyPlan(p) => self.load_plan(caller, id, p),
            ClientMessage::MuteMember(m) => self.mute_member(caller, id, m),
            ClientMessage::AskToUnmute(a) => self.ask_to_unmute(caller, id, a),
            ClientMessage::UnmuteSelf => self.unmute_self(caller, id),
            ClientMessage::ListenTo(l) => self.listen_to(caller, id, l),
            ClientMessage::StopListening => self.stop_listening(caller, id),
            ClientMessage::TalkTo(t) => self.talk_to(caller, id, t),
            ClientMessage::StartBroadcast(b) => self.start_broadcast(caller, id, b),
            ClientMessage::StopBroadcast => self.stop_broadcast(caller, id),
            ClientMessage::SetVideoSlot(r) => self.set_video_slot(caller, id, r),
            ClientMessage::PinUsers(p) => self.pin_users(now, caller, id, p),
            ClientMessage::UnpinUsers(p) => self.unpin_users(now, caller, id, p),
        }
    }

    /// Remembers that `client` meets every participant already in `room` (for `meet_new`).
    fn record_meetings(&mut self, client: &ClientId, room: &RoomId) {
        let Some(me) = self
            .clients
            .get(client)
            .map(|c| crate::plans::user_key(&c.user))
        else {
            return;
        };
        let Some(b) = self.find(room) else { return };
        let others: Vec<String> = b
            .members
            .iter()
            .filter(|(m, r)| *r == JoinRole::Participant && m != client)
            .filter_map(|(m, _)| self.clients.get(m).map(|c| crate::plans::user_key(&c.user)))
            .collect();
        for o in others {
            if self.met.len() >= crate::meet::MAX_PAIRS {
                return;
            }
            if o != me {
                self.met.insert(crate::meet::pair(&me, &o));
            }
        }
    }

    /// Where `client` is (the parent when unknown).
    pub(crate) fn location_of(&self, client: &ClientId) -> Location {
        self.clients
            .get(client)
            .map(|c| c.location.clone())
            .unwrap_or(Location::Parent)
    }

    fn find(&self, room: &RoomId) -> Option<&Breakout> {
        self.breakouts.iter().find(|b| &b.id == room)
    }

    fn find_mut(&mut self, room: &RoomId) -> Option<&mut Breakout> {
        self.breakouts.iter_mut().find(|b| &b.id == room)
    }

    pub(crate) fn user_of(&self, c: &ClientId) -> UserRef {
        match self.clients.get(c) {
            Some(cl) => cl.user_ref(),
            None => UserRef {
                client_id: c.clone(),
                name: String::new(),
            },
        }
    }

    // ----- create / create-and-invite -----

    fn create(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        input: RoomDefinitionInput,
        and_invite: bool,
    ) {
        let fail = |code: ErrorCode, msg: String| -> ServerMessage {
            let ty = if and_invite {
                "createAndInviteBreakoutRoom"
            } else {
                "createBreakOutRoom"
            };
            ServerMessage::failure_for(ty, code, msg)
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let checked = (|| {
            match c.user.role {
                Role::Viewer => {
                    return Err((
                        ErrorCode::Unauthorized,
                        "Viewers cannot create Break-Out Rooms".to_owned(),
                    ))
                }
                Role::Participant
                    if self.settings.breakout_creators == BreakoutCreators::ModeratorsOnly =>
                {
                    return Err((
                        ErrorCode::Unauthorized,
                        "Only moderators may create Break-Out Rooms in this room".to_owned(),
                    ))
                }
                _ => {}
            }
            if self.settings.mode == RoomMode::Lecture {
                return Err((
                    ErrorCode::BreakoutNotAvailable,
                    "Break-Out Room not supported in a Room in lecture mode".to_owned(),
                ));
            }
            if c.location != Location::Parent {
                return Err((
                    ErrorCode::BreakoutNotAvailable,
                    "Break-Out Room cannot be created from inside a Break-Out Room".to_owned(),
                ));
            }
            let def = input.parse(self.settings.max_active_talkers)?;
            let limit = self.settings.max_breakout_rooms as usize;
            if self.breakouts.len() + def.max_rooms as usize > limit {
                return Err((
                    ErrorCode::RoomLimitExceeded,
                    format!(
                        "{}: {} live, {} requested, limit {limit}",
                        ErrorCode::RoomLimitExceeded.message(),
                        self.breakouts.len(),
                        def.max_rooms
                    ),
                ));
            }
            Ok(def)
        })();
        let def = match checked {
            Ok(def) => def,
            Err((code, msg)) => {
                self.send(&caller, Some(id), fail(code, msg));
                return;
            }
        };
        let owner = c.user_ref();
        let names = input.names().unwrap_or_default();
        let rooms = self.create_rooms(now, &owner, def, &names);
        if !and_invite {
            let ack = AckCreateBreakOutRoom {
                result: 0,
                msg: Msg::Data(RoomList {
                    rooms: rooms.clone(),
                }),
            };
            self.send(&caller, Some(id), ServerMessage::AckCreateBreakOutRoom(ack));
            self.notify_created(&rooms);
            return;
        }
        // Distribute the parent's participants (not the caller) at random, round-robin, so
        // rooms fill evenly up to `participants` each; who does not fit stays in the parent.
        let mut pool: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| {
                c.user.role == Role::Participant && c.location == Location::Parent && c.id != caller
            })
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        pool.sort();
        let mut pool: Vec<ClientId> = pool.into_iter().map(|(_, c)| c).collect();
        self.rng.shuffle(&mut pool);
        let (assignment, unassigned, repeats) = match def.policy {
            AssignPolicy::Random => {
                let capacity = rooms.len() * def.participants as usize;
                let unassigned = if pool.len() > capacity {
                    pool.split_off(capacity)
                } else {
                    Vec::new()
                };
                let mut assignment: Vec<Vec<ClientId>> = vec![Vec::new(); rooms.len()];
                for (i, c) in pool.into_iter().enumerate() {
                    assignment[i % rooms.len()].push(c);
                }
                (assignment, unassigned, None)
            }
            AssignPolicy::MeetNew => {
                let keyed: Vec<(ClientId, String)> = pool
                    .into_iter()
                    .filter_map(|c| {
                        let key = crate::plans::user_key(&self.clients.get(&c)?.user);
                        Some((c, key))
                    })
                    .collect();
                let (a, u, repeats) =
                    crate::meet::assign(&keyed, rooms.len(), def.participants as usize, &self.met);
                (a, u, Some(repeats))
            }
        };
        let invitations: Vec<RoomInvitations> = rooms
            .iter()
            .zip(assignment.iter())
            .map(|(r, cs)| RoomInvitations {
                room_id: r.clone(),
                clients: cs.clone(),
            })
            .collect();
        let ack = AckCreateAndInviteBreakOutRoom {
            result: 0,
            msg: Msg::Data(CreateAndInviteResult {
                rooms: rooms.clone(),
                invitations: invitations.clone(),
                unassigned,
                repeats,
            }),
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckCreateAndInviteBreakOutRoom(ack),
        );
        self.notify_created(&rooms);
        for inv in invitations {
            if !inv.clients.is_empty() {
                self.apply_invitations(&owner, &inv.room_id, &inv.clients, def.force_join);
            }
        }
    }

    /// Creates `def.max_rooms` rooms named from `names` (then "Breakout N"), with the
    /// definition's timer and self-select.
    pub(crate) fn create_rooms(
        &mut self,
        now: Instant,
        owner: &UserRef,
        def: RoomDefinition,
        names: &[String],
    ) -> Vec<RoomId> {
        if self.breakouts.is_empty() {
            self.next_number = 1;
        }
        let mut rooms = Vec::new();
        for i in 0..def.max_rooms as usize {
            let id = loop {
                let candidate = RoomId(format!(
                    "{}-br{:012x}",
                    self.room_id,
                    self.rng.next_u64() >> 16
                ));
                if self.find(&candidate).is_none() {
                    break candidate;
                }
            };
            let name = match names.get(i) {
                Some(n) => n.clone(),
                None => format!("Breakout {}", self.next_number),
            };
            self.next_number += 1;
            self.breakouts.push(Breakout {
                id: id.clone(),
                name,
                owner: owner.clone(),
                def,
                members: Vec::new(),
                invitations: Vec::new(),
                created_at: now,
                ever_joined: false,
                timer: def
                    .duration
                    .map(|d| crate::facilitate::Timer::new(now, d, def.warning)),
            });
            self.room_list.changed(&id);
            rooms.push(id);
        }
        rooms
    }

    pub(crate) fn notify_created(&mut self, rooms: &[RoomId]) {
        let mods = self.moderators();
        for r in rooms {
            let Some(b) = self.find(r) else { continue };
            let n = BreakoutRoomCreated {
                room_id: b.id.clone(),
                name: b.name.clone(),
                owner: b.owner.clone(),
                participants: b.def.participants,
                audio: b.def.audio,
                canvas: b.def.canvas,
                share: b.def.share,
            };
            for m in &mods {
                self.send(m, None, ServerMessage::BreakoutRoomCreated(n.clone()));
            }
        }
    }

    // ----- invite -----

    fn invite(&mut self, caller: ClientId, id: RequestId, inv: Invitee) {
        let fail = |code: ErrorCode, msg: &str| {
            ServerMessage::failure_for("inviteToBreakOutRoom", code, msg.to_owned())
        };
        let Some(b) = self.find(&inv.room_id) else {
            let m = fail(
                ErrorCode::BreakoutRoomNotFound,
                ErrorCode::BreakoutRoomNotFound.message(),
            );
            self.send(&caller, Some(id), m);
            return;
        };
        let is_moderator = self.is_moderator(&caller);
        if b.owner.client_id != caller && !is_moderator {
            let m = fail(
                ErrorCode::Unauthorized,
                "Only the Break-Out Room's owner or a moderator may invite",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        if inv.clients.is_empty() {
            let m = fail(
                ErrorCode::InvalidParameters,
                "Invalid options/parameters: `clients` is empty",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let mut invited: Vec<ClientId> = Vec::new();
        let mut failed: Vec<InviteFailure> = Vec::new();
        let mut free = (b.def.participants as usize).saturating_sub(b.counted_members());
        for c in &inv.clients {
            if invited.contains(c) || failed.iter().any(|f| &f.client_id == c) {
                continue;
            }
            let refuse = match self.clients.get(c) {
                None => Some(ErrorCode::ClientNotConnected),
                Some(_) if b.is_member(c) => Some(ErrorCode::AlreadyMember),
                Some(cl) if inv.force_join && cl.location != Location::Parent => {
                    Some(ErrorCode::AlreadyInBreakoutRoom)
                }
                Some(_) if inv.force_join && free == 0 => Some(ErrorCode::BreakoutRoomFull),
                Some(_) => None,
            };
            match refuse {
                Some(code) => failed.push(InviteFailure {
                    client_id: c.clone(),
                    result: code.code(),
                    msg: code.message().to_owned(),
                }),
                None => {
                    if inv.force_join {
                        free -= 1;
                    }
                    invited.push(c.clone());
                }
            }
        }
        let requestor = self.user_of(&caller);
        let ack = AckInviteBreakOutRoom {
            result: 0,
            msg: "Success".into(),
            invited: invited.clone(),
            failed,
        };
        self.send(&caller, Some(id), ServerMessage::AckInviteBreakOutRoom(ack));
        if !invited.is_empty() {
            self.apply_invitations(&requestor, &inv.room_id, &invited, inv.force_join);
        }
    }

    /// Records the invitations (already validated), notifies invitees and moderators, and with
    /// `force_join` moves every invitee into the room.
    pub(crate) fn apply_invitations(
        &mut self,
        requestor: &UserRef,
        room: &RoomId,
        clients: &[ClientId],
        force_join: bool,
    ) {
        if let Some(b) = self.find_mut(room) {
            for c in clients {
                if !b.invitations.contains(c) {
                    b.invitations.push(c.clone());
                }
            }
        }
        for c in clients {
            let n = InvitationForBreakoutRoom {
                room_id: room.clone(),
                requestor: requestor.clone(),
                force_join,
            };
            self.send(c, None, ServerMessage::InvitationForBreakoutRoom(n));
        }
        let n = BreakoutRoomInvited {
            room_id: room.clone(),
            clients: clients.to_vec(),
            requestor: requestor.clone(),
        };
        for m in self.moderators() {
            self.send(&m, None, ServerMessage::BreakoutRoomInvited(n.clone()));
        }
        if force_join {
            for c in clients {
                self.move_into(c, room, JoinRole::Participant, None);
            }
        }
    }

    // ----- join / reject -----

    fn join(&mut self, caller: ClientId, id: RequestId, j: Joinee) {
        let fail = |code: ErrorCode, msg: &str| {
            ServerMessage::FailedJoinBreakOutRoom(Status {
                result: code.code(),
                msg: msg.to_owned(),
            })
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let refused = if j.stream_info.video {
            Some(ErrorCode::VideoNotSupported)
        } else if c.location == Location::Breakout(j.room_id.clone()) {
            Some(ErrorCode::AlreadyInBreakoutRoom)
        } else {
            match self.find(&j.room_id) {
                None => Some(ErrorCode::BreakoutRoomNotFound),
                Some(b) => {
                    let moderator = c.user.role == Role::Moderator;
                    let self_select = b.def.self_select && c.user.role != Role::Viewer;
                    if !moderator && !self_select && !b.invitations.contains(&caller) {
                        Some(ErrorCode::NotInvited)
                    } else if j.role == JoinRole::Moderator && !moderator {
                        Some(ErrorCode::RoleNotAllowed)
                    } else if j.role == JoinRole::Participant
                        && b.counted_members() >= b.def.participants as usize
                    {
                        Some(ErrorCode::BreakoutRoomFull)
                    } else {
                        None
                    }
                }
            }
        };
        if let Some(code) = refused {
            self.send(&caller, Some(id), fail(code, code.message()));
            return;
        }
        // From another break-out room: one step, never through the parent.
        self.switch_into(&caller, &j.room_id, j.role, Some(id));
    }

    /// Moves a client (validated: in the parent, room live, place free) into a break-out room:
    /// consumes its invitation, auto-pauses its parent link, acknowledges with
    /// `connectedBreakoutRoom` (with the request id, or unsolicited on a forced join), tells the
    /// room's members and re-routes its media.
    pub(crate) fn move_into(
        &mut self,
        client: &ClientId,
        room: &RoomId,
        role: JoinRole,
        id: Option<RequestId>,
    ) {
        let user = self.user_of(client);
        if role == JoinRole::Participant {
            self.record_meetings(client, room);
        }
        let Some(b) = self.find_mut(room) else { return };
        let earlier: Vec<ClientId> = b.members.iter().map(|(m, _)| m.clone()).collect();
        b.members.push((client.clone(), role));
        b.invitations.retain(|i| i != client);
        b.ever_joined = true;
        let location = Location::Breakout(room.clone());
        let was_paused = match self.clients.get_mut(client) {
            Some(c) => {
                c.location = location.clone();
                std::mem::replace(&mut c.paused, true)
            }
            None => return,
        };
        let info = match self.find(room) {
            Some(b) => self.breakout_info(b),
            None => return,
        };
        let ack = ConnectedBreakoutRoom {
            result: 0,
            room: info,
        };
        self.send(client, id, ServerMessage::ConnectedBreakoutRoom(ack));
        let n = UserJoinedBreakoutRoom {
            client_id: client.clone(),
            name: user.name.clone(),
            room_id: room.clone(),
        };
        for m in earlier {
            self.send(&m, None, ServerMessage::UserJoinedBreakoutRoom(n.clone()));
        }
        self.broadcast_presence(
            client,
            ServerMessage::UserMoved(UserMoved {
                client_id: client.clone(),
                location,
            }),
        );
        self.room_list.changed(room);
        if !was_paused {
            self.notify_paused(client);
        } else {
            self.route(client);
        }
        self.answer_help(client, room);
        self.tell_entrant_monitored(client, room);
    }

    fn reject(&mut self, caller: ClientId, id: RequestId, r: RoomRef) {
        let code = match self.find(&r.room_id) {
            None => Some(ErrorCode::BreakoutRoomNotFound),
            Some(b) if !b.invitations.contains(&caller) => Some(ErrorCode::NotInvited),
            Some(_) => None,
        };
        if let Some(code) = code {
            self.send(
                &caller,
                Some(id),
                ServerMessage::AckRejectBreakoutRoom(Status::err(code)),
            );
            return;
        }
        if let Some(b) = self.find_mut(&r.room_id) {
            b.invitations.retain(|i| i != &caller);
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckRejectBreakoutRoom(Status::ok("Success")),
        );
        let user = self.user_of(&caller);
        let n = BreakoutRoomInviteRejected {
            room_id: r.room_id,
            client_id: user.client_id,
            name: user.name,
        };
        for m in self.moderators() {
            self.send(
                &m,
                None,
                ServerMessage::BreakoutRoomInviteRejected(n.clone()),
            );
        }
    }

    // ----- parent link: pause / resume / mute / unmute -----

    /// Sets the paused flag; returns whether it changed.
    fn set_paused(&mut self, client: &ClientId, paused: bool) -> bool {
        match self.clients.get_mut(client) {
            Some(c) if c.paused != paused => {
                c.paused = paused;
                true
            }
            _ => false,
        }
    }

    /// Tells everyone else the client's paused state and re-routes (call after a change).
    fn notify_paused(&mut self, client: &ClientId) {
        let Some(c) = self.clients.get(client) else {
            return;
        };
        let n = UserPaused {
            client_id: client.clone(),
            paused: c.paused,
        };
        self.broadcast_presence(client, ServerMessage::UserPaused(n));
        self.route(client);
    }

    fn mute(&mut self, caller: ClientId, id: RequestId, f: MediaFlags, mute: bool) {
        let ty = if mute { "muteRoom" } else { "unmuteRoom" };
        if !f.audio && !f.video {
            let m = ServerMessage::failure_for(
                ty,
                ErrorCode::InvalidParameters,
                "Invalid options/parameters: set `audio` and/or `video` to true",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let Some(c) = self.clients.get_mut(&caller) else {
            return;
        };
        let before = c.muted;
        if f.audio {
            c.muted.audio = mute;
        }
        if f.video {
            c.muted.video = mute;
        }
        let after = c.muted;
        let ack = MuteAck {
            result: 0,
            msg: if mute { "Room muted" } else { "Room unmuted" }.to_owned(),
            muted: Some(after),
        };
        let ack = if mute {
            ServerMessage::AckMuteRoom(ack)
        } else {
            ServerMessage::AckUnmuteRoom(ack)
        };
        self.send(&caller, Some(id), ack);
        if before != after {
            self.notify_muted(&caller);
        }
    }

    fn notify_muted(&mut self, client: &ClientId) {
        let Some(c) = self.clients.get(client) else {
            return;
        };
        let n = UserMuted {
            client_id: client.clone(),
            muted: c.muted,
        };
        self.broadcast_presence(client, ServerMessage::UserMuted(n));
        self.route(client);
    }

    // ----- leaving: disconnect / clear all -----

    fn disconnect(&mut self, caller: ClientId, id: RequestId, r: RoomRef) {
        // A failed disconnect still names the room it was asked about.
        let fail = |code: ErrorCode| {
            ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom {
                room_id: Some(r.room_id.clone()),
                moderator_id: String::new(),
                msg: code.message().to_owned(),
                result: code.code(),
                reason: None,
                location: None,
            })
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        if self.find(&r.room_id).is_none() {
            self.send(&caller, Some(id), fail(ErrorCode::BreakoutRoomNotFound));
            return;
        }
        if c.location != Location::Breakout(r.room_id.clone()) {
            self.send(&caller, Some(id), fail(ErrorCode::NotInBreakoutRoom));
            return;
        }
        let ack = DidDisconnectedBreakoutRoom::because(
            Some(r.room_id.clone()),
            LeaveReason::Left,
            Location::Parent,
        );
        self.send(
            &caller,
            Some(id),
            ServerMessage::DidDisconnectedBreakoutRoom(ack),
        );
        self.leave_breakout(&caller, &r.room_id);
        self.destroy_emptied();
    }

    fn clear_all(&mut self, caller: ClientId, id: RequestId) {
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        match c.location.clone() {
            Location::Breakout(room) => {
                let ack = DidDisconnectedBreakoutRoom::because(
                    Some(room.clone()),
                    LeaveReason::Left,
                    Location::Parent,
                );
                self.send(
                    &caller,
                    Some(id),
                    ServerMessage::DidDisconnectedBreakoutRoom(ack),
                );
                self.leave_breakout(&caller, &room);
                if let Some(owner) = self.find(&room).map(|b| b.owner.client_id.clone()) {
                    if owner != caller {
                        let here = self.location_of(&owner);
                        let n = DidDisconnectedBreakoutRoom::because(
                            Some(room.clone()),
                            LeaveReason::OwnerNotice,
                            here,
                        );
                        self.send(&owner, None, ServerMessage::DidDisconnectedBreakoutRoom(n));
                    }
                }
                self.destroy_emptied();
            }
            Location::Parent => {
                let ack =
                    DidDisconnectedBreakoutRoom::because(None, LeaveReason::Left, Location::Parent);
                self.send(
                    &caller,
                    Some(id),
                    ServerMessage::DidDisconnectedBreakoutRoom(ack),
                );
                if self.set_paused(&caller, false) {
                    self.notify_paused(&caller);
                }
            }
        }
    }

    /// A member leaves its break-out room for the parent (auto-resume); the members left are
    /// told. Does not destroy an emptied room: callers follow with `destroy_emptied`.
    fn leave_breakout(&mut self, client: &ClientId, room: &RoomId) {
        self.remove_member(client, room);
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        c.location = Location::Parent;
        let was_paused = std::mem::replace(&mut c.paused, false);
        self.broadcast_presence(
            client,
            ServerMessage::UserMoved(UserMoved {
                client_id: client.clone(),
                location: Location::Parent,
            }),
        );
        if was_paused {
            self.notify_paused(client);
        } else {
            self.route(client);
        }
    }

    /// Removes a member from a room's member list and tells the members left.
    pub(crate) fn remove_member(&mut self, client: &ClientId, room: &RoomId) {
        for (to, n) in self.remove_member_quietly(client, room) {
            self.send(&to, None, n);
        }
    }

    /// Removes a member from a room's member list and returns the notices for the members
    /// left, for the caller to send when its own ack has gone out.
    pub(crate) fn remove_member_quietly(
        &mut self,
        client: &ClientId,
        room: &RoomId,
    ) -> Vec<(ClientId, ServerMessage)> {
        let user = self.user_of(client);
        let Some(b) = self.find_mut(room) else {
            return Vec::new();
        };
        b.members.retain(|(m, _)| m != client);
        self.room_list.changed(room);
        let Some(b) = self.find(room) else {
            return Vec::new();
        };
        let n = DidUserDisconnectedFromBreakoutRoom {
            client_id: client.clone(),
            name: user.name,
            room: room.clone(),
        };
        b.members
            .iter()
            .map(|(m, _)| {
                (
                    m.clone(),
                    ServerMessage::DidUserDisconnectedFromBreakoutRoom(n.clone()),
                )
            })
            .collect()
    }

    // ----- destroy -----

    fn destroy_all(&mut self, caller: ClientId, id: RequestId) {
        if !self.is_moderator(&caller) {
            let m = ServerMessage::failure_for(
                "destroyAllBreakOutSession",
                ErrorCode::Unauthorized,
                "Only moderators may destroy all Break-Out Rooms",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let rooms: Vec<RoomId> = self.breakouts.iter().map(|b| b.id.clone()).collect();
        let ack = AckDestroyAllBreakOutSession {
            result: 0,
            msg: Msg::Data(RoomList {
                rooms: rooms.clone(),
            }),
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckDestroyAllBreakOutSession(ack),
        );
        for room in rooms {
            let Some(pos) = self.breakouts.iter().position(|b| b.id == room) else {
                continue;
            };
            let b = self.breakouts.remove(pos);
            self.room_list.removed(&room);
            let owner = b.owner.client_id.clone();
            if !b.is_member(&owner) {
                let here = self.location_of(&owner);
                let notice = DidDisconnectedBreakoutRoom::because(
                    Some(room.clone()),
                    LeaveReason::OwnerNotice,
                    here,
                );
                self.send(
                    &owner,
                    None,
                    ServerMessage::DidDisconnectedBreakoutRoom(notice),
                );
            }
            let notice =
                ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
                    Some(room.clone()),
                    LeaveReason::Destroyed,
                    Location::Parent,
                ));
            for (m, _) in &b.members {
                self.send(m, None, notice.clone());
                self.return_to_parent_reset(m);
            }
            self.withdraw(&b, WithdrawReason::DestroyedAll);
            // Alcove: every other moderator learns the room is gone (their break-out panels
            // would otherwise keep it); the caller has its ack.
            for m in self.moderators() {
                if m != caller {
                    let n = RoomRef {
                        room_id: room.clone(),
                    };
                    self.send(&m, None, ServerMessage::DidDestroyedBreakoutRoom(n));
                }
            }
        }
    }

    /// Destroy-all's and the timer's return: back in the parent, resumed and unmuted (the
    /// parent mute and a moderator's mute both cleared).
    pub(crate) fn return_to_parent_reset(&mut self, client: &ClientId) {
        self.set_mod_muted(client, false, None, None);
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        c.location = Location::Parent;
        let was_paused = std::mem::replace(&mut c.paused, false);
        let was_muted = std::mem::take(&mut c.muted);
        self.broadcast_presence(
            client,
            ServerMessage::UserMoved(UserMoved {
                client_id: client.clone(),
                location: Location::Parent,
            }),
        );
        if was_paused {
            let n = UserPaused {
                client_id: client.clone(),
                paused: false,
            };
            self.broadcast_presence(client, ServerMessage::UserPaused(n));
        }
        if was_muted != Muted::default() {
            let n = UserMuted {
                client_id: client.clone(),
                muted: Muted::default(),
            };
            self.broadcast_presence(client, ServerMessage::UserMuted(n));
        }
        self.route(client);
    }

    fn withdraw(&mut self, b: &Breakout, reason: WithdrawReason) {
        for i in &b.invitations {
            let n = BreakoutInvitationWithdrawn {
                room_id: b.id.clone(),
                reason,
            };
            self.send(i, None, ServerMessage::BreakoutInvitationWithdrawn(n));
        }
    }

    /// Auto-destroys every room that emptied after someone had joined it.
    pub(crate) fn destroy_emptied(&mut self) {
        let emptied: Vec<RoomId> = self
            .breakouts
            .iter()
            .filter(|b| b.ever_joined && b.members.is_empty())
            .map(|b| b.id.clone())
            .collect();
        for r in emptied {
            self.destroy_breakout(&r);
        }
    }

    /// Auto-destroy: removes an empty room (or, when the parent ends, any room), withdraws its
    /// invitations, and tells the owner and every moderator with `didDestroyedBreakoutRoom`.
    pub(crate) fn destroy_breakout(&mut self, room: &RoomId) {
        self.destroy_breakout_because(room, WithdrawReason::Destroyed);
    }

    /// [`Family::destroy_breakout`], withdrawing invitations with `reason`.
    pub(crate) fn destroy_breakout_because(&mut self, room: &RoomId, reason: WithdrawReason) {
        let Some(pos) = self.breakouts.iter().position(|b| &b.id == room) else {
            return;
        };
        let b = self.breakouts.remove(pos);
        self.room_list.removed(room);
        self.withdraw(&b, reason);
        let mut to = vec![b.owner.client_id.clone()];
        for m in self.moderators() {
            if !to.contains(&m) {
                to.push(m);
            }
        }
        for c in to {
            self.send(
                &c,
                None,
                ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
                    room_id: room.clone(),
                }),
            );
        }
    }
}

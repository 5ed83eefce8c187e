//! Facilitation (issue 10): room timers, broadcast messages, help requests, one-step moves,
//! self-select, names and the room list, and moderation inside rooms. The rules are in
//! `docs/breakouts.md` §8; each operation answers with exactly one acknowledgement, queued
//! before the notifications it causes.

use crate::family::{Breakout, Family};
use alcove_proto::signal::{
    clean_name, clean_text, AckBroadcastMessage, AckMuteMember, AckRequestHelp,
    AckSetBreakoutDuration, AskToUnmute, BreakoutRoomSummary, BreakoutRoomsUpdated, BreakoutTimer,
    BreakoutTimerWarning, BroadcastMessage, BroadcastReceived, DidDisconnectedBreakoutRoom,
    DismissHelp, HelpOutcome, HelpReply, HelpRequest, HelpResolved, JoinRole, LeaveReason,
    Location, MemberMuted, MoveToBreakoutRoom, MuteMember, RenameBreakoutRoom, Role, ServerMessage,
    SetBreakoutDuration, SetSelfSelect, Status, UnmuteAsked, UserRef, WithdrawReason,
    DEFAULT_WARNING_SECS, MAX_DURATION_SECS,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Broadcasts a moderator may send per [`BROADCAST_WINDOW`].
pub(crate) const BROADCASTS_PER_WINDOW: usize = 10;
/// The sliding window of the broadcast rate limit.
pub(crate) const BROADCAST_WINDOW: Duration = Duration::from_secs(60);

/// A pending help request (kept on the requester).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingHelp {
    pub room: RoomId,
    pub at: Instant,
}

/// A room's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timer {
    pub ends_at: Instant,
    /// `None`: no warning (0 s asked for).
    pub warning_at: Option<Instant>,
    /// The warning went out.
    pub warned: bool,
}

impl Timer {
    /// A timer of `duration` from `now`, warning `warning` before the end (default 60 s).
    pub(crate) fn new(now: Instant, duration: u32, warning: Option<u32>) -> Timer {
        let ends_at = now + Duration::from_secs(u64::from(duration));
        let warning = warning.unwrap_or(DEFAULT_WARNING_SECS);
        let warning_at = (warning > 0).then(|| {
            ends_at
                .checked_sub(Duration::from_secs(u64::from(warning)))
                .unwrap_or(now)
                .max(now)
        });
        Timer {
            ends_at,
            warning_at,
            warned: false,
        }
    }

    /// The next instant this timer needs the family woken.
    pub(crate) fn deadline(&self) -> Instant {
        match self.warning_at {
            Some(w) if !self.warned => w.min(self.ends_at),
            _ => self.ends_at,
        }
    }
}

/// The room-list batch of the current input (sent as one `breakoutRoomsUpdated`).
#[derive(Debug, Default)]
pub(crate) struct RoomList {
    pub changed: Vec<RoomId>,
    pub removed: Vec<RoomId>,
}

impl RoomList {
    pub(crate) fn changed(&mut self, room: &RoomId) {
        if !self.changed.contains(room) {
            self.changed.push(room.clone());
        }
    }

    pub(crate) fn removed(&mut self, room: &RoomId) {
        self.changed.retain(|r| r != room);
        if !self.removed.contains(room) {
            self.removed.push(room.clone());
        }
    }
}

impl Family {
    // ----- clock -----

    /// `t` as server Unix milliseconds.
    pub(crate) fn unix_ms(&self, t: Instant) -> u64 {
        let base = self.epoch.0;
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if t >= base {
            self.epoch.1.saturating_add(ms(t - base))
        } else {
            self.epoch.1.saturating_sub(ms(base - t))
        }
    }

    pub(crate) fn timer_frame(&self, b: &Breakout) -> BreakoutTimer {
        BreakoutTimer {
            room_id: b.id.clone(),
            ends_at: b.timer.map(|t| self.unix_ms(t.ends_at)),
            warning_at: b.timer.and_then(|t| t.warning_at).map(|w| self.unix_ms(w)),
        }
    }

    /// Members of `room` then every moderator, each once, `except` excluded.
    fn room_and_moderators(&self, room: &RoomId, except: Option<&ClientId>) -> Vec<ClientId> {
        let mut to: Vec<ClientId> = self
            .breakouts
            .iter()
            .find(|b| &b.id == room)
            .map(|b| b.members.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default();
        for m in self.moderators() {
            if !to.contains(&m) {
                to.push(m);
            }
        }
        to.retain(|c| Some(c) != except);
        to
    }

    // ----- timers -----

    pub(crate) fn set_duration(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        r: SetBreakoutDuration,
    ) {
        let fail = |code: ErrorCode, msg: &str| {
            ServerMessage::failure_for("setBreakoutDuration", code, msg.to_owned())
        };
        if !self.is_moderator(&caller) {
            let m = fail(
                ErrorCode::Unauthorized,
                "Only moderators may set a room's timer",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        if !self.breakouts.iter().any(|b| b.id == r.room_id) {
            let m = fail(
                ErrorCode::BreakoutRoomNotFound,
                ErrorCode::BreakoutRoomNotFound.message(),
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let range = format!(
            "Invalid options/parameters: `duration` and `warning` are seconds, at most {MAX_DURATION_SECS}"
        );
        if r.duration.is_some_and(|d| d > MAX_DURATION_SECS)
            || r.warning.is_some_and(|w| w > MAX_DURATION_SECS)
        {
            self.send(
                &caller,
                Some(id),
                fail(ErrorCode::InvalidParameters, &range),
            );
            return;
        }
        let timer = match r.duration {
            None | Some(0) => None,
            Some(d) => Some(Timer::new(now, d, r.warning)),
        };
        let Some(b) = self.breakouts.iter_mut().find(|b| b.id == r.room_id) else {
            return;
        };
        // The room list shows the end only: listed again when the end moved.
        let end_moved = b.timer.map(|t| t.ends_at) != timer.map(|t| t.ends_at);
        b.timer = timer;
        // The room's configured length (what a saved plan keeps).
        b.def.duration = timer.and(r.duration);
        b.def.warning = r.warning;
        let frame = self.timer_frame_of(&r.room_id);
        let ack = AckSetBreakoutDuration {
            result: 0,
            msg: "Success".into(),
            timer: Some(frame.clone()),
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckSetBreakoutDuration(ack),
        );
        for c in self.room_and_moderators(&r.room_id, Some(&caller)) {
            self.send(&c, None, ServerMessage::BreakoutTimer(frame.clone()));
        }
        if end_moved {
            self.room_list.changed(&r.room_id);
        }
    }

    fn timer_frame_of(&self, room: &RoomId) -> BreakoutTimer {
        match self.breakouts.iter().find(|b| &b.id == room) {
            Some(b) => self.timer_frame(b),
            None => BreakoutTimer {
                room_id: room.clone(),
                ends_at: None,
                warning_at: None,
            },
        }
    }

    /// The earliest timer deadline (warning or end) of any room.
    pub(crate) fn timer_deadline(&self) -> Option<Instant> {
        self.breakouts
            .iter()
            .filter_map(|b| b.timer.map(|t| t.deadline()))
            .min()
    }

    /// Sends due warnings and ends rooms whose timer ran out.
    pub(crate) fn expire_timers(&mut self, now: Instant) {
        let mut warn: Vec<RoomId> = Vec::new();
        let mut end: Vec<RoomId> = Vec::new();
        for b in &mut self.breakouts {
            let Some(t) = b.timer.as_mut() else { continue };
            if now >= t.ends_at {
                end.push(b.id.clone());
            } else if !t.warned && t.warning_at.is_some_and(|w| now >= w) {
                t.warned = true;
                warn.push(b.id.clone());
            }
        }
        for room in warn {
            let Some(ends_at) = self
                .breakouts
                .iter()
                .find(|b| b.id == room)
                .and_then(|b| b.timer)
                .map(|t| self.unix_ms(t.ends_at))
            else {
                continue;
            };
            let n = BreakoutTimerWarning {
                room_id: room.clone(),
                ends_at,
            };
            for c in self.room_and_moderators(&room, None) {
                self.send(&c, None, ServerMessage::BreakoutTimerWarning(n.clone()));
            }
        }
        for room in end {
            self.end_room(&room, LeaveReason::Timeout);
        }
    }

    /// Ends one room: every member back in the parent (resumed, unmuted), invitations
    /// withdrawn, the room destroyed (`didDestroyedBreakoutRoom` to owner and moderators).
    pub(crate) fn end_room(&mut self, room: &RoomId, reason: LeaveReason) {
        let Some(b) = self.breakouts.iter().find(|b| &b.id == room) else {
            return;
        };
        let members: Vec<ClientId> = b.members.iter().map(|(m, _)| m.clone()).collect();
        for m in &members {
            let n =
                DidDisconnectedBreakoutRoom::because(Some(room.clone()), reason, Location::Parent);
            self.send(m, None, ServerMessage::DidDisconnectedBreakoutRoom(n));
        }
        if let Some(b) = self.breakouts.iter_mut().find(|b| &b.id == room) {
            b.members.clear();
        }
        for m in &members {
            self.return_to_parent_reset(m);
        }
        self.destroy_breakout_because(room, WithdrawReason::Timeout);
    }

    // ----- broadcast -----

    pub(crate) fn broadcast_message(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        b: BroadcastMessage,
    ) {
        let fail = |code: ErrorCode, msg: &str| {
            ServerMessage::failure_for("broadcastMessage", code, msg.to_owned())
        };
        if !self.is_moderator(&caller) {
            let m = fail(ErrorCode::Unauthorized, "Only moderators may broadcast");
            self.send(&caller, Some(id), m);
            return;
        }
        let Some(text) = clean_text(&b.text) else {
            let m = fail(
                ErrorCode::InvalidParameters,
                "Invalid options/parameters: `text` must be 1 to 1000 characters",
            );
            self.send(&caller, Some(id), m);
            return;
        };
        let parent = Location::Parent;
        let targets: Vec<Location> = match &b.rooms {
            None => std::iter::once(parent)
                .chain(
                    self.breakouts
                        .iter()
                        .map(|b| Location::Breakout(b.id.clone())),
                )
                .collect(),
            Some(rooms) if rooms.is_empty() => {
                let m = fail(
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: `rooms` is empty",
                );
                self.send(&caller, Some(id), m);
                return;
            }
            Some(rooms) => {
                let mut out = Vec::new();
                for r in rooms {
                    let l = if r == &self.room_id {
                        Location::Parent
                    } else if self.breakouts.iter().any(|b| &b.id == r) {
                        Location::Breakout(r.clone())
                    } else {
                        let m = fail(
                            ErrorCode::BreakoutRoomNotFound,
                            &format!("{}: {r}", ErrorCode::BreakoutRoomNotFound.message()),
                        );
                        self.send(&caller, Some(id), m);
                        return;
                    };
                    if !out.contains(&l) {
                        out.push(l);
                    }
                }
                out
            }
        };
        let Some(c) = self.clients.get_mut(&caller) else {
            return;
        };
        while c
            .broadcasts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= BROADCAST_WINDOW)
        {
            c.broadcasts.pop_front();
        }
        if c.broadcasts.len() >= BROADCASTS_PER_WINDOW {
            let m = fail(
                ErrorCode::RateLimited,
                &format!(
                    "{}: at most {BROADCASTS_PER_WINDOW} broadcasts a minute",
                    ErrorCode::RateLimited.message()
                ),
            );
            self.send(&caller, Some(id), m);
            return;
        }
        c.broadcasts.push_back(now);
        let from = c.user_ref();
        let at = self.unix_ms(now);
        let mut to: Vec<(u64, ClientId, RoomId)> = self
            .clients
            .values()
            .filter(|c| c.id != caller && c.detached_at.is_none() && targets.contains(&c.location))
            .map(|c| {
                let room = match &c.location {
                    Location::Parent => self.room_id.clone(),
                    Location::Breakout(r) => r.clone(),
                };
                (c.seq, c.id.clone(), room)
            })
            .collect();
        to.sort();
        let ack = AckBroadcastMessage {
            result: 0,
            msg: "Success".into(),
            recipients: u32::try_from(to.len()).unwrap_or(u32::MAX),
        };
        self.send(&caller, Some(id), ServerMessage::AckBroadcastMessage(ack));
        for (_, c, room_id) in to {
            let n = BroadcastReceived {
                from: from.clone(),
                text: text.clone(),
                at,
                room_id,
            };
            self.send(&c, None, ServerMessage::BroadcastReceived(n));
        }
    }

    // ----- help -----

    fn help_frame(&self, client: &ClientId) -> Option<HelpRequest> {
        let c = self.clients.get(client)?;
        let h = c.help.as_ref()?;
        Some(HelpRequest {
            room_id: h.room.clone(),
            client_id: client.clone(),
            name: c.user.name.clone(),
            at: self.unix_ms(h.at),
        })
    }

    /// Pending help requests, oldest first.
    pub(crate) fn help_requests(&self) -> Vec<HelpRequest> {
        let mut v: Vec<(Instant, u64, HelpRequest)> = self
            .clients
            .values()
            .filter_map(|c| {
                let h = c.help.as_ref()?;
                Some((h.at, c.seq, self.help_frame(&c.id)?))
            })
            .collect();
        v.sort_by_key(|a| (a.0, a.1));
        v.into_iter().map(|(_, _, h)| h).collect()
    }

    pub(crate) fn request_help(&mut self, now: Instant, caller: ClientId, id: RequestId) {
        let Some(c) = self.clients.get_mut(&caller) else {
            return;
        };
        let Location::Breakout(room) = c.location.clone() else {
            let m = ServerMessage::failure_for(
                "requestHelp",
                ErrorCode::NotInBreakoutRoom,
                "Only a member of a Break-Out Room can ask for help",
            );
            self.send(&caller, Some(id), m);
            return;
        };
        let already = c.help.is_some();
        if !already {
            c.help = Some(PendingHelp { room, at: now });
        }
        let request = self.help_frame(&caller);
        let ack = AckRequestHelp {
            result: 0,
            msg: "Success".into(),
            request: request.clone(),
            already_pending: already,
        };
        self.send(&caller, Some(id), ServerMessage::AckRequestHelp(ack));
        if let (false, Some(r)) = (already, request) {
            for m in self.moderators() {
                if m != caller {
                    self.send(&m, None, ServerMessage::HelpRequested(r.clone()));
                }
            }
        }
    }

    pub(crate) fn cancel_help(&mut self, caller: ClientId, id: RequestId) {
        let Some(h) = self.clients.get_mut(&caller).and_then(|c| c.help.take()) else {
            let m = ServerMessage::AckCancelHelp(Status::err(ErrorCode::NoHelpRequest));
            self.send(&caller, Some(id), m);
            return;
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckCancelHelp(Status::ok("Success")),
        );
        self.help_resolved(
            &h.room,
            &caller,
            HelpOutcome::Cancelled,
            None,
            Some(&caller),
        );
    }

    pub(crate) fn dismiss_help(&mut self, caller: ClientId, id: RequestId, d: DismissHelp) {
        if !self.is_moderator(&caller) {
            let m = ServerMessage::failure_for(
                "dismissHelp",
                ErrorCode::Unauthorized,
                "Only moderators may dismiss a help request",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let Some(h) = self
            .clients
            .get_mut(&d.client_id)
            .and_then(|c| c.help.take())
        else {
            let m = ServerMessage::AckDismissHelp(Status::err(ErrorCode::NoHelpRequest));
            self.send(&caller, Some(id), m);
            return;
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckDismissHelp(Status::ok("Success")),
        );
        let by = self.user_of(&caller);
        let reply = HelpReply {
            room_id: h.room.clone(),
            by: by.clone(),
        };
        self.send(&d.client_id, None, ServerMessage::HelpDismissed(reply));
        self.help_resolved(
            &h.room,
            &d.client_id,
            HelpOutcome::Dismissed,
            Some(by),
            Some(&caller),
        );
    }

    /// Tells every moderator (but `except`) that `client`'s request left the queue.
    fn help_resolved(
        &mut self,
        room: &RoomId,
        client: &ClientId,
        outcome: HelpOutcome,
        by: Option<UserRef>,
        except: Option<&ClientId>,
    ) {
        let n = HelpResolved {
            room_id: room.clone(),
            client_id: client.clone(),
            outcome,
            by,
        };
        for m in self.moderators() {
            if Some(&m) != except {
                self.send(&m, None, ServerMessage::HelpResolved(n.clone()));
            }
        }
    }

    /// `client` leaves the family with a pending request (already taken off it).
    pub(crate) fn help_left(&mut self, room: &RoomId, client: &ClientId) {
        self.help_resolved(room, client, HelpOutcome::Left, None, Some(client));
    }

    /// A moderator entered `room`: every pending request of the room is answered.
    pub(crate) fn answer_help(&mut self, moderator: &ClientId, room: &RoomId) {
        if !self.is_moderator(moderator) {
            return;
        }
        let mut answered: Vec<(u64, ClientId)> = Vec::new();
        for c in self.clients.values_mut() {
            if c.help.as_ref().is_some_and(|h| &h.room == room) {
                c.help = None;
                answered.push((c.seq, c.id.clone()));
            }
        }
        answered.sort();
        let by = self.user_of(moderator);
        for (_, c) in answered {
            let reply = HelpReply {
                room_id: room.clone(),
                by: by.clone(),
            };
            self.send(&c, None, ServerMessage::HelpAnswered(reply));
            self.help_resolved(room, &c, HelpOutcome::Answered, Some(by.clone()), None);
        }
    }

    /// `client` is no longer in the room it asked from: its request is dropped.
    pub(crate) fn drop_help(&mut self, client: &ClientId) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        let stale = match (&c.help, &c.location) {
            (Some(h), Location::Breakout(r)) => &h.room != r,
            (Some(_), Location::Parent) => true,
            (None, _) => false,
        };
        if stale {
            if let Some(h) = c.help.take() {
                self.help_resolved(&h.room, client, HelpOutcome::Left, None, None);
            }
        }
    }

    // ----- one-step moves -----

    pub(crate) fn move_to_breakout(
        &mut self,
        caller: ClientId,
        id: RequestId,
        mv: MoveToBreakoutRoom,
    ) {
        let code = if !self.is_moderator(&caller) {
            Some(ErrorCode::Unauthorized)
        } else {
            match (
                self.breakouts.iter().find(|b| b.id == mv.room_id),
                self.clients.get(&mv.client_id),
            ) {
                (None, _) => Some(ErrorCode::BreakoutRoomNotFound),
                (_, None) => Some(ErrorCode::ClientNotConnected),
                (Some(b), Some(_)) if b.is_member(&mv.client_id) => Some(ErrorCode::AlreadyMember),
                (Some(b), Some(t))
                    if t.user.role != Role::Moderator
                        && b.counted_members() >= b.def.participants as usize =>
                {
                    Some(ErrorCode::BreakoutRoomFull)
                }
                _ => None,
            }
        };
        if let Some(code) = code {
            let msg = match code {
                ErrorCode::Unauthorized => "Only moderators may move a client",
                c => c.message(),
            };
            let m = ServerMessage::failure_for("moveToBreakoutRoom", code, msg);
            self.send(&caller, Some(id), m);
            return;
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckMoveToBreakoutRoom(Status::ok("Success")),
        );
        let role = if self.is_moderator(&mv.client_id) {
            JoinRole::Moderator
        } else {
            JoinRole::Participant
        };
        self.switch_into(&mv.client_id, &mv.room_id, role, None);
    }

    /// Moves a client (validated) into `room` in one step: from the parent, a join; from
    /// another break-out room, out of it and into `room` without passing through the parent
    /// (its parent link stays paused, its media is re-routed once).
    pub(crate) fn switch_into(
        &mut self,
        client: &ClientId,
        room: &RoomId,
        role: JoinRole,
        id: Option<RequestId>,
    ) {
        let from = match self.clients.get(client) {
            Some(c) => c.location.clone(),
            None => return,
        };
        let Location::Breakout(old) = from else {
            self.move_into(client, room, role, id);
            return;
        };
        // Out of the old room without a word yet: the mover's ack (when it asked) goes first.
        let notices = self.remove_member_quietly(client, &old);
        self.move_into(client, room, role, id);
        for (to, n) in notices {
            self.send(&to, None, n);
        }
        let n = DidDisconnectedBreakoutRoom::because(
            Some(old.clone()),
            LeaveReason::Moved,
            Location::Breakout(room.clone()),
        );
        self.send(client, None, ServerMessage::DidDisconnectedBreakoutRoom(n));
        self.destroy_emptied();
    }

    // ----- self-select, names, the room list -----

    pub(crate) fn set_self_select(&mut self, caller: ClientId, id: RequestId, s: SetSelfSelect) {
        let code = if !self.is_moderator(&caller) {
            Some(ErrorCode::Unauthorized)
        } else if s
            .room_id
            .as_ref()
            .is_some_and(|r| !self.breakouts.iter().any(|b| &b.id == r))
        {
            Some(ErrorCode::BreakoutRoomNotFound)
        } else {
            None
        };
        if let Some(code) = code {
            self.send(
                &caller,
                Some(id),
                ServerMessage::AckSetSelfSelect(Status::err(code)),
            );
            return;
        }
        let mut changed = Vec::new();
        for b in &mut self.breakouts {
            if s.room_id.as_ref().is_none_or(|r| r == &b.id) && b.def.self_select != s.on {
                b.def.self_select = s.on;
                changed.push(b.id.clone());
            }
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckSetSelfSelect(Status::ok("Success")),
        );
        for r in changed {
            self.room_list.changed(&r);
        }
    }

    pub(crate) fn rename(&mut self, caller: ClientId, id: RequestId, r: RenameBreakoutRoom) {
        let name = clean_name(&r.name);
        let code = if !self.is_moderator(&caller) {
            Some(ErrorCode::Unauthorized)
        } else if !self.breakouts.iter().any(|b| b.id == r.room_id) {
            Some(ErrorCode::BreakoutRoomNotFound)
        } else if name.is_none() {
            Some(ErrorCode::InvalidParameters)
        } else {
            None
        };
        let (Some(name), None) = (name, code) else {
            let code = code.unwrap_or(ErrorCode::InvalidParameters);
            let msg = match code {
                ErrorCode::InvalidParameters => {
                    "Invalid options/parameters: `name` must be 1 to 64 characters"
                }
                c => c.message(),
            };
            let m = ServerMessage::failure_for("renameBreakoutRoom", code, msg);
            self.send(&caller, Some(id), m);
            return;
        };
        let mut renamed = false;
        if let Some(b) = self.breakouts.iter_mut().find(|b| b.id == r.room_id) {
            renamed = b.name != name;
            b.name = name;
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckRenameBreakoutRoom(Status::ok("Success")),
        );
        // Only a changed room is listed again.
        if renamed {
            self.room_list.changed(&r.room_id);
        }
    }

    pub(crate) fn room_summary(&self, b: &Breakout) -> BreakoutRoomSummary {
        BreakoutRoomSummary {
            room_id: b.id.clone(),
            name: b.name.clone(),
            members: u32::try_from(b.members.len()).unwrap_or(u32::MAX),
            participants: b.def.participants,
            self_select: b.def.self_select,
            ends_at: b.timer.map(|t| self.unix_ms(t.ends_at)),
        }
    }

    /// Sends this input's room-list changes to every client as one shared frame.
    pub(crate) fn flush_room_list(&mut self) {
        // A timer set by this input whose warning is due at once (warning ≥ duration) warns
        // now, after the input's acknowledgement: the family never asks to be woken at the
        // present instant.
        let now = self.last_now();
        self.expire_timers(now);
        if self.room_list.changed.is_empty() && self.room_list.removed.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.room_list);
        let rooms: Vec<BreakoutRoomSummary> = self
            .breakouts
            .iter()
            .filter(|b| list.changed.contains(&b.id))
            .map(|b| self.room_summary(b))
            .collect();
        let removed: Vec<RoomId> = list
            .removed
            .into_iter()
            .filter(|r| !self.breakouts.iter().any(|b| &b.id == r))
            .collect();
        if rooms.is_empty() && removed.is_empty() {
            return;
        }
        let batch = Arc::new(BreakoutRoomsUpdated { rooms, removed });
        let mut to: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| self.presence.gets_room_list(&c.id))
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        to.sort();
        for (_, c) in to {
            self.send(
                &c,
                None,
                ServerMessage::BreakoutRoomsUpdated(Arc::clone(&batch)),
            );
        }
    }

    // ----- moderation inside rooms -----

    /// Who hears of `client`'s moderator mute: itself, every moderator, its room's members.
    fn mute_audience(&self, client: &ClientId) -> Vec<ClientId> {
        let mut to = vec![client.clone()];
        if let Some(Location::Breakout(r)) = self.clients.get(client).map(|c| c.location.clone()) {
            for m in self.room_and_moderators(&r, None) {
                if !to.contains(&m) {
                    to.push(m);
                }
            }
        } else {
            for m in self.moderators() {
                if !to.contains(&m) {
                    to.push(m);
                }
            }
        }
        to
    }

    /// Sets or clears `client`'s moderator mute, tells its audience (but `caller`, whose ack
    /// says it) and re-routes; returns whether it changed.
    pub(crate) fn set_mod_muted(
        &mut self,
        client: &ClientId,
        muted: bool,
        by: Option<UserRef>,
        caller: Option<&ClientId>,
    ) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        if c.mod_muted == muted {
            return false;
        }
        c.mod_muted = muted;
        c.unmute_asked_by = None;
        let n = MemberMuted {
            client_id: client.clone(),
            muted,
            by,
        };
        for to in self.mute_audience(client) {
            if Some(&to) != caller {
                self.send(&to, None, ServerMessage::MemberMuted(n.clone()));
            }
        }
        self.route(client);
        true
    }

    pub(crate) fn mute_member(&mut self, caller: ClientId, id: RequestId, m: MuteMember) {
        let fail = |code: ErrorCode, msg: &str| {
            ServerMessage::failure_for("muteMember", code, msg.to_owned())
        };
        if !self.is_moderator(&caller) {
            let f = fail(ErrorCode::Unauthorized, "Only moderators may mute a member");
            self.send(&caller, Some(id), f);
            return;
        }
        let targets: Vec<ClientId> = match (&m.client_id, &m.room_id) {
            (Some(c), None) => {
                if !self.clients.contains_key(c) {
                    let f = fail(
                        ErrorCode::ClientNotConnected,
                        ErrorCode::ClientNotConnected.message(),
                    );
                    self.send(&caller, Some(id), f);
                    return;
                }
                vec![c.clone()]
            }
            (None, Some(r)) => match self.breakouts.iter().find(|b| &b.id == r) {
                Some(b) => b
                    .members
                    .iter()
                    .filter(|(c, _)| !self.is_moderator(c))
                    .map(|(c, _)| c.clone())
                    .collect(),
                None => {
                    let f = fail(
                        ErrorCode::BreakoutRoomNotFound,
                        ErrorCode::BreakoutRoomNotFound.message(),
                    );
                    self.send(&caller, Some(id), f);
                    return;
                }
            },
            _ => {
                let f = fail(
                    ErrorCode::InvalidParameters,
                    "Invalid options/parameters: give exactly one of `clientId` and `room_id`",
                );
                self.send(&caller, Some(id), f);
                return;
            }
        };
        let newly: Vec<ClientId> = targets
            .into_iter()
            .filter(|c| self.clients.get(c).is_some_and(|c| !c.mod_muted))
            .collect();
        let ack = AckMuteMember {
            result: 0,
            msg: "Success".into(),
            muted: newly.clone(),
        };
        self.send(&caller, Some(id), ServerMessage::AckMuteMember(ack));
        let by = self.user_of(&caller);
        for c in newly {
            self.set_mod_muted(&c, true, Some(by.clone()), Some(&caller));
        }
    }

    pub(crate) fn ask_to_unmute(&mut self, caller: ClientId, id: RequestId, a: AskToUnmute) {
        let code = if !self.is_moderator(&caller) {
            Some(ErrorCode::Unauthorized)
        } else if !self.clients.contains_key(&a.client_id) {
            Some(ErrorCode::ClientNotConnected)
        } else {
            None
        };
        if let Some(code) = code {
            self.send(
                &caller,
                Some(id),
                ServerMessage::AckAskToUnmute(Status::err(code)),
            );
            return;
        }
        let by = self.user_of(&caller);
        // Muted by a moderator: the ask is the permission to unmute. Otherwise it is only a
        // request to unmute the microphone the member muted itself.
        if let Some(c) = self.clients.get_mut(&a.client_id).filter(|c| c.mod_muted) {
            c.unmute_asked_by = Some(by.clone());
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckAskToUnmute(Status::ok("Success")),
        );
        self.send(
            &a.client_id,
            None,
            ServerMessage::UnmuteAsked(UnmuteAsked { by }),
        );
    }

    pub(crate) fn unmute_self(&mut self, caller: ClientId, id: RequestId) {
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        if !c.mod_muted {
            self.send(
                &caller,
                Some(id),
                ServerMessage::AckUnmuteSelf(Status::ok("Success")),
            );
            return;
        }
        let Some(by) = c.unmute_asked_by.clone() else {
            let m = ServerMessage::AckUnmuteSelf(Status::err(ErrorCode::MutedByModerator));
            self.send(&caller, Some(id), m);
            return;
        };
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckUnmuteSelf(Status::ok("Success")),
        );
        // The member is told too: its SDK keeps its moderator-mute state from these frames.
        self.set_mod_muted(&caller, false, Some(by), None);
    }
}

/// An empty rate-limit history (for new and restored clients).
pub(crate) fn no_broadcasts() -> VecDeque<Instant> {
    VecDeque::new()
}

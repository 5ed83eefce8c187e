//! Listen-in, talk-in and audio broadcast (issue 11): a moderator in the parent hears a
//! break-out room, speaks into it, or speaks into every room at once, without leaving the
//! parent. Each is a change of the moderator's route facts (the media plane decides who hears
//! whom from them); members of a room listened to always get `monitoredBy`.
//!
//! The state lives on the moderator's client. [`Family::listen_sweep`] runs after every input
//! and ends what no longer holds (the moderator left the parent or the family, the room is
//! gone), so no path can leave a stale listener.

use crate::family::Family;
use alcove_proto::signal::{
    AudioBroadcast, ListenState, ListenTo, Location, MonitoredBy, ParentWhileListening, Role,
    ServerMessage, StartBroadcast, StopReason, TalkTo,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use std::collections::BTreeSet;

/// A moderator's listen-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listening {
    pub room: RoomId,
    pub parent: ParentWhileListening,
    /// Talking into the room.
    pub talking: bool,
    /// While talking in, still heard in the parent.
    pub talk_parent: bool,
}

/// A moderator's audio broadcast: `None` reaches every break-out room (also ones created
/// during it), `Some` the listed ones; the parent always.
pub(crate) type Broadcast = Option<Vec<RoomId>>;

impl Family {
    fn listen_state(&self, client: &ClientId, result: i32, msg: &str) -> ListenState {
        let c = self.clients.get(client);
        let listening = c.and_then(|c| c.listening.as_ref());
        ListenState {
            result,
            msg: msg.to_owned(),
            listening: listening.map(|l| l.room.clone()),
            talking: listening.is_some_and(|l| l.talking),
            broadcast: c.is_some_and(|c| c.broadcast.is_some()),
            broadcasting: match c.and_then(|c| c.broadcast.as_ref()) {
                None => Vec::new(),
                Some(None) => self.breakouts.iter().map(|b| b.id.clone()).collect(),
                Some(Some(rooms)) => rooms.clone(),
            },
        }
    }

    fn listen_refused(&mut self, caller: &ClientId, id: RequestId, ty: &str, code: ErrorCode) {
        let m = ServerMessage::failure_for(ty, code, code.message());
        self.send(caller, Some(id), m);
    }

    /// Checks shared by every listen-in request: a moderator, in the parent.
    fn listen_allowed(&self, caller: &ClientId) -> Result<(), ErrorCode> {
        let c = self.clients.get(caller).ok_or(ErrorCode::NotConnected)?;
        if c.user.role != Role::Moderator {
            return Err(ErrorCode::Unauthorized);
        }
        if c.location != Location::Parent {
            return Err(ErrorCode::NotInParent);
        }
        Ok(())
    }

    pub(crate) fn listen_to(&mut self, caller: ClientId, id: RequestId, l: ListenTo) {
        let checked = self.listen_allowed(&caller).and_then(|()| {
            match self.breakouts.iter().find(|b| b.id == l.room_id) {
                None => Err(ErrorCode::BreakoutRoomNotFound),
                Some(b) if !b.def.allow_listen_in => Err(ErrorCode::ListenInNotAllowed),
                Some(_) => Ok(()),
            }
        });
        if let Err(code) = checked {
            self.listen_refused(&caller, id, "listenTo", code);
            return;
        }
        let before = self
            .clients
            .get(&caller)
            .and_then(|c| c.listening.as_ref())
            .map(|l| l.room.clone());
        if let Some(c) = self.clients.get_mut(&caller) {
            let same = before.as_ref() == Some(&l.room_id);
            let (talking, talk_parent) = match &c.listening {
                Some(old) if same => (old.talking, old.talk_parent),
                _ => (false, true),
            };
            c.listening = Some(Listening {
                room: l.room_id.clone(),
                parent: l.parent,
                talking,
                talk_parent,
            });
        }
        let ack = self.listen_state(&caller, 0, "Success");
        self.send(&caller, Some(id), ServerMessage::AckListenTo(ack));
        self.route(&caller);
        if let Some(old) = before.filter(|r| r != &l.room_id) {
            self.tell_monitored(&old);
        }
        self.tell_monitored(&l.room_id);
    }

    pub(crate) fn stop_listening(&mut self, caller: ClientId, id: RequestId) {
        let was = self
            .clients
            .get_mut(&caller)
            .and_then(|c| c.listening.take());
        let ack = self.listen_state(&caller, 0, "Success");
        self.send(&caller, Some(id), ServerMessage::AckStopListening(ack));
        if let Some(l) = was {
            self.route(&caller);
            self.tell_monitored(&l.room);
        }
    }

    pub(crate) fn talk_to(&mut self, caller: ClientId, id: RequestId, t: TalkTo) {
        let checked = self.listen_allowed(&caller).and_then(|()| {
            let listening = self
                .clients
                .get(&caller)
                .and_then(|c| c.listening.as_ref())
                .map(|l| &l.room);
            if listening != Some(&t.room_id) {
                return Err(ErrorCode::NotListening);
            }
            Ok(())
        });
        if let Err(code) = checked {
            self.listen_refused(&caller, id, "talkTo", code);
            return;
        }
        let mut changed = false;
        if let Some(l) = self
            .clients
            .get_mut(&caller)
            .and_then(|c| c.listening.as_mut())
        {
            changed = l.talking != t.on || (t.on && l.talk_parent != t.parent);
            l.talking = t.on;
            l.talk_parent = !t.on || t.parent;
        }
        let ack = self.listen_state(&caller, 0, "Success");
        self.send(&caller, Some(id), ServerMessage::AckTalkTo(ack));
        if changed {
            self.route(&caller);
            self.tell_monitored(&t.room_id);
        }
    }

    pub(crate) fn start_broadcast(&mut self, caller: ClientId, id: RequestId, b: StartBroadcast) {
        let checked = self.listen_allowed(&caller).and_then(|()| match &b.rooms {
            Some(rooms) if rooms.is_empty() => Err(ErrorCode::InvalidParameters),
            Some(rooms)
                if rooms
                    .iter()
                    .any(|r| !self.breakouts.iter().any(|x| &x.id == r)) =>
            {
                Err(ErrorCode::BreakoutRoomNotFound)
            }
            _ => Ok(()),
        });
        if let Err(code) = checked {
            self.listen_refused(&caller, id, "startBroadcast", code);
            return;
        }
        let was_on = self
            .clients
            .get(&caller)
            .is_some_and(|c| c.broadcast.is_some());
        let reach: Broadcast = b.rooms.map(|mut r| {
            r.dedup();
            r
        });
        if let Some(c) = self.clients.get_mut(&caller) {
            c.broadcast = Some(reach);
        }
        let ack = self.listen_state(&caller, 0, "Success");
        self.send(&caller, Some(id), ServerMessage::AckStartBroadcast(ack));
        self.route(&caller);
        if !was_on {
            self.tell_broadcast(&caller, true);
        }
    }

    pub(crate) fn stop_broadcast(&mut self, caller: ClientId, id: RequestId) {
        // Who heard it is computed before it ends, so everyone told of the start hears the end.
        let was = self
            .clients
            .get(&caller)
            .is_some_and(|c| c.broadcast.is_some());
        if was {
            self.tell_broadcast(&caller, false);
        }
        if let Some(c) = self.clients.get_mut(&caller) {
            c.broadcast = None;
        }
        let ack = self.listen_state(&caller, 0, "Success");
        self.send(&caller, Some(id), ServerMessage::AckStopBroadcast(ack));
        if was {
            self.route(&caller);
        }
    }

    /// `audioBroadcast` to every client (but the broadcaster) in a location the broadcast
    /// reaches.
    fn tell_broadcast(&mut self, from: &ClientId, on: bool) {
        let Some(c) = self.clients.get(from) else {
            return;
        };
        let reach = c.broadcast.clone().flatten();
        let n = AudioBroadcast {
            from: c.user_ref(),
            on,
        };
        let mut to: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|x| &x.id != from)
            .filter(|x| match (&x.location, &reach) {
                (Location::Parent, _) | (_, None) => true,
                (Location::Breakout(r), Some(rooms)) => rooms.contains(r),
            })
            .map(|x| (x.seq, x.id.clone()))
            .collect();
        to.sort();
        for (_, c) in to {
            self.send(&c, None, ServerMessage::AudioBroadcast(n.clone()));
        }
    }

    /// Who monitors `room` now.
    pub(crate) fn monitored_by(&self, room: &RoomId) -> MonitoredBy {
        let mut mods: Vec<(u64, &crate::family::Client)> = self
            .clients
            .values()
            .filter(|c| c.listening.as_ref().is_some_and(|l| &l.room == room))
            .map(|c| (c.seq, c))
            .collect();
        mods.sort_by_key(|(s, _)| *s);
        MonitoredBy {
            room_id: room.clone(),
            moderators: mods.iter().map(|(_, c)| c.user_ref()).collect(),
            talking: mods
                .iter()
                .filter(|(_, c)| c.listening.as_ref().is_some_and(|l| l.talking))
                .map(|(_, c)| c.id.clone())
                .collect(),
        }
    }

    /// `monitoredBy` to every member of `room` (if it is live).
    pub(crate) fn tell_monitored(&mut self, room: &RoomId) {
        let Some(b) = self.breakouts.iter().find(|b| &b.id == room) else {
            return;
        };
        let members: Vec<ClientId> = b.members.iter().map(|(m, _)| m.clone()).collect();
        let n = self.monitored_by(room);
        for m in members {
            self.send(&m, None, ServerMessage::MonitoredBy(n.clone()));
        }
    }

    /// A client entered `room`: if anyone monitors it, it is told at once.
    pub(crate) fn tell_entrant_monitored(&mut self, client: &ClientId, room: &RoomId) {
        let n = self.monitored_by(room);
        if !n.moderators.is_empty() {
            self.send(client, None, ServerMessage::MonitoredBy(n));
        }
    }

    /// Ends every listen-in and broadcast that no longer holds: the moderator is not in the
    /// parent, or the room listened to is gone; drops ended rooms from broadcasts. Runs after
    /// every input.
    pub(crate) fn listen_sweep(&mut self) {
        let live: Vec<RoomId> = self.breakouts.iter().map(|b| b.id.clone()).collect();
        let mut ended: Vec<(ClientId, Option<RoomId>, bool)> = Vec::new();
        for c in self.clients.values_mut() {
            let away = c.location != Location::Parent;
            let mut stop_listen = None;
            if let Some(l) = &c.listening {
                if away || !live.contains(&l.room) {
                    stop_listen = Some(l.room.clone());
                }
            }
            let mut stop_broadcast = false;
            if let Some(reach) = c.broadcast.as_mut() {
                if away {
                    stop_broadcast = true;
                } else if let Some(rooms) = reach.as_mut() {
                    rooms.retain(|r| live.contains(r));
                }
            }
            if stop_listen.is_some() || stop_broadcast {
                ended.push((c.id.clone(), stop_listen, stop_broadcast));
            }
        }
        for (c, room, broadcast) in ended {
            if broadcast {
                self.tell_broadcast(&c, false);
                if let Some(cl) = self.clients.get_mut(&c) {
                    cl.broadcast = None;
                }
            }
            if room.is_some() {
                if let Some(cl) = self.clients.get_mut(&c) {
                    cl.listening = None;
                }
            }
            let state = self.listen_state(&c, 0, "Listening ended");
            self.send(&c, None, ServerMessage::ListeningChanged(state));
            self.route(&c);
            if let Some(r) = room {
                self.tell_monitored(&r);
            }
        }
    }

    /// Screen share and canvas broadcast: a broadcaster sharing in the parent is shown in the
    /// share / canvas slot of every room its broadcast reaches (the media plane routes it).
    /// Compares who is shown where with the last step and tells each room's members:
    /// `shareStarted` / `canvasStarted` for the broadcaster's share when it starts showing, and
    /// when it stops `shareStopped` then, if the room has its own sharer, `shareStarted` for
    /// that one again. Runs after every input, after [`Family::listen_sweep`].
    pub(crate) fn broadcast_share_sweep(&mut self) {
        use crate::media::Sharing;
        let mut shown: BTreeSet<(Sharing, RoomId, ClientId)> = BTreeSet::new();
        for kind in [Sharing::Share, Sharing::Canvas] {
            let Some(sharer) = self.media.sharer(kind, &Location::Parent).cloned() else {
                continue;
            };
            let Some(Some(reach)) = self.clients.get(&sharer).map(|c| c.broadcast.as_ref()) else {
                continue;
            };
            for b in &self.breakouts {
                if reach.as_ref().is_none_or(|r| r.contains(&b.id)) {
                    shown.insert((kind, b.id.clone(), sharer.clone()));
                }
            }
        }
        if shown == self.broadcast_shares {
            return;
        }
        let before = std::mem::replace(&mut self.broadcast_shares, shown.clone());
        for (kind, room, sharer) in before.difference(&shown) {
            if !self.breakouts.iter().any(|b| &b.id == room) {
                continue;
            }
            let here = Location::Breakout(room.clone());
            self.tell_room_share(*kind, &here, sharer, Some(StopReason::Stopped));
            if let Some(own) = self.media.sharer(*kind, &here).cloned() {
                self.tell_room_share(*kind, &here, &own, None);
            }
        }
        for (kind, room, sharer) in shown.difference(&before) {
            let here = Location::Breakout(room.clone());
            self.tell_room_share(*kind, &here, sharer, None);
        }
    }

    /// The broadcaster whose share shows in `room` now, if any.
    pub(crate) fn broadcast_sharer(
        &self,
        kind: crate::media::Sharing,
        room: &RoomId,
    ) -> Option<ClientId> {
        self.broadcast_shares
            .iter()
            .find(|(k, r, _)| *k == kind && r == room)
            .map(|(_, _, s)| s.clone())
    }

    /// A client leaves the family: its listen-in and broadcast end first (members told).
    pub(crate) fn listen_leave(&mut self, client: &ClientId) {
        let (room, broadcast) = match self.clients.get(client) {
            Some(c) => (
                c.listening.as_ref().map(|l| l.room.clone()),
                c.broadcast.is_some(),
            ),
            None => return,
        };
        if broadcast {
            self.tell_broadcast(client, false);
        }
        if let Some(c) = self.clients.get_mut(client) {
            c.listening = None;
            c.broadcast = None;
        }
        if let Some(r) = room {
            self.tell_monitored(&r);
        }
    }

    /// A client took its place back (resume): `roomConnected` does not carry listen-in, and
    /// notifications sent while it was away are lost, so it is told its listening state
    /// (`listeningChanged`, when it listens or broadcasts) and who monitors the room it is in
    /// (`monitoredBy`, when anyone does).
    pub(crate) fn listen_resumed(&mut self, client: &ClientId) {
        let Some(c) = self.clients.get(client) else {
            return;
        };
        let active = c.listening.is_some() || c.broadcast.is_some();
        let room = match &c.location {
            Location::Breakout(r) => Some(r.clone()),
            Location::Parent => None,
        };
        if active {
            let state = self.listen_state(client, 0, "Listening kept");
            self.send(client, None, ServerMessage::ListeningChanged(state));
        }
        if let Some(r) = room {
            self.tell_entrant_monitored(client, &r);
        }
    }
}

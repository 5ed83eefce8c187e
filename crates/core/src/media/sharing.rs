//! Screen share and canvas: one sharer of each kind per room, shown in the share / canvas
//! slot of every other member of that room.

use super::{c_name, Sharing};
use crate::family::Family;
use alcove_proto::api::RoomMode;
use alcove_proto::signal::{
    Location, Role, ServerMessage, SharingStarted, SharingStopped, Status, StopReason,
};
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::time::Instant;

impl Family {
    pub(crate) fn start_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let ty = match kind {
            Sharing::Share => "startShare",
            Sharing::Canvas => "startCanvas",
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let location = c.location.clone();
        let allowed = match &location {
            Location::Parent => {
                self.settings.mode == RoomMode::Group || c.user.role == Role::Moderator
            }
            Location::Breakout(_) => true,
        } && match (&location, kind) {
            (Location::Parent, Sharing::Share) => self.settings.screen_share,
            (Location::Parent, Sharing::Canvas) => self.settings.canvas,
            (Location::Breakout(r), k) => self
                .breakouts
                .iter()
                .find(|b| &b.id == r)
                .map(|b| {
                    if k == Sharing::Share {
                        b.def.share
                    } else {
                        b.def.canvas
                    }
                })
                .unwrap_or(false),
        };
        let refused = if c.user.role == Role::Viewer {
            Some((ErrorCode::Unauthorized, "Viewers cannot publish".to_owned()))
        } else if !allowed {
            Some((
                ErrorCode::SharingNotAllowed,
                format!("{ty}: not enabled in this room"),
            ))
        } else {
            match self.media.sharing.get(&(kind, location.clone())) {
                Some(other) if other != &caller => Some((
                    ErrorCode::SharingBusy,
                    ErrorCode::SharingBusy.message().to_owned(),
                )),
                _ => None,
            }
        };
        if let Some((code, msg)) = refused {
            self.send(&caller, Some(id), ServerMessage::failure_for(ty, code, msg));
            return;
        }
        let fresh = self
            .media
            .sharing
            .insert((kind, location.clone()), caller.clone())
            .is_none();
        let ack = Status::ok("Success");
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStartShare(ack),
            Sharing::Canvas => ServerMessage::AckStartCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if fresh {
            let n = SharingStarted {
                room_id: self.location_room(&location),
                client_id: caller.clone(),
                name: c_name(self, &caller),
            };
            let msg = match kind {
                Sharing::Share => ServerMessage::ShareStarted(n),
                Sharing::Canvas => ServerMessage::CanvasStarted(n),
            };
            for m in self.members_of(&location) {
                if m != caller {
                    self.send(&m, None, msg.clone());
                }
            }
        }
        self.evaluate_talkers(now);
    }

    pub(crate) fn stop_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let key = self
            .media
            .sharing
            .iter()
            .find(|((k, _), c)| *k == kind && **c == caller)
            .map(|(k, _)| k.clone());
        let ack = match key {
            None => Status::err(ErrorCode::NotSharing),
            Some(_) => Status::ok("Success"),
        };
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStopShare(ack),
            Sharing::Canvas => ServerMessage::AckStopCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if let Some(key) = key {
            self.end_sharing(key, StopReason::Stopped);
            self.evaluate_talkers(now);
        }
    }

    pub(super) fn end_sharing(&mut self, key: (Sharing, Location), reason: StopReason) {
        let Some(sharer) = self.media.sharing.remove(&key) else {
            return;
        };
        let (kind, location) = key;
        let n = SharingStopped {
            room_id: self.location_room(&location),
            client_id: sharer.clone(),
            reason,
        };
        let msg = match kind {
            Sharing::Share => ServerMessage::ShareStopped(n),
            Sharing::Canvas => ServerMessage::CanvasStopped(n),
        };
        for m in self.members_of(&location) {
            if m != sharer {
                self.send(&m, None, msg.clone());
            }
        }
    }

    /// Tells `client`, which just entered `here` (or connected), about the shares running there.
    pub(super) fn announce_running_shares(&mut self, client: &ClientId, here: &Location) {
        for kind in [Sharing::Share, Sharing::Canvas] {
            let Some(sharer) = self.media.sharing.get(&(kind, here.clone())).cloned() else {
                continue;
            };
            if &sharer == client {
                continue;
            }
            let n = SharingStarted {
                room_id: self.location_room(here),
                client_id: sharer.clone(),
                name: c_name(self, &sharer),
            };
            let msg = match kind {
                Sharing::Share => ServerMessage::ShareStarted(n),
                Sharing::Canvas => ServerMessage::CanvasStarted(n),
            };
            self.send(client, None, msg);
        }
    }
}

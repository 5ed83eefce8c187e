//! Presence: telling every client who is connected, where, and in which parent-link state.
//!
//! Operations report each change of a client's presence through
//! [`Family::broadcast_presence`]. A client that negotiated protocol version 1 gets the
//! change at once as its own frame (`userConnected`, `userDisconnected`, `userMoved`,
//! `userPaused`, `userMuted`), as it always did. A client on version 2
//! ([`ProtocolVersion::supports_users_updated`]) gets nothing then: the family records who
//! changed, and at the end of the input ([`Family::flush_presence`]) sends one `usersUpdated`
//! with the latest state of each of them (and who left) to every such client. A wave that moves
//! 500 clients is then one frame per recipient, not a thousand, and the frame is the same
//! shared value for every recipient.
//!
//! The seed's own callbacks to the clients an operation concerns (`connectedBreakoutRoom`,
//! `userJoinedBreakoutRoom`, …) are not presence and are sent as before. Because the batch goes
//! out at the end of the input, it follows the input's acknowledgement and every callback the
//! input caused.

use crate::family::Family;
use alcove_proto::signal::{ServerMessage, UsersUpdated};
use alcove_proto::version::ProtocolVersion;
use alcove_proto::ClientId;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Who gets batched presence, and what changed during the current input.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    /// Connected clients on protocol version 2 or later: added at connect and resume, removed
    /// when the client leaves. A client restored after a restart is not in it until it resumes
    /// (frames to a detached client are discarded by the shell anyway).
    batched: BTreeSet<ClientId>,
    /// Clients whose presence changed during this input (sent in connection order); emptied
    /// by [`Family::flush_presence`].
    changed: BTreeSet<ClientId>,
    /// Clients who left the family during this input; emptied by [`Family::flush_presence`].
    left: Vec<ClientId>,
    /// Clients answered with `roomConnected` during this input (connect, resume): that answer
    /// already holds everyone's state after the input, so they get no batch for it.
    fresh: Vec<ClientId>,
    /// Connected clients on protocol version 3 or later: they get `breakoutRoomsUpdated`.
    room_list: BTreeSet<ClientId>,
    /// Connected clients on protocol version 4 or later: they may negotiate video slots.
    video_slots: BTreeSet<ClientId>,
    /// Connected clients on protocol version 4 or later: they may pin (moderators) and get
    /// `updatePinUsers`.
    pins: BTreeSet<ClientId>,
}

impl Presence {
    /// Records the version a client negotiated at connect or resume, where it is answered
    /// with `roomConnected` (so it needs no batch for this input).
    pub(crate) fn connected(&mut self, client: &ClientId, version: u32) {
        self.fresh.push(client.clone());
        if ProtocolVersion(version).supports_users_updated() {
            self.batched.insert(client.clone());
        } else {
            self.batched.remove(client);
        }
        if ProtocolVersion(version).supports_room_list() {
            self.room_list.insert(client.clone());
        } else {
            self.room_list.remove(client);
        }
        if ProtocolVersion(version).supports_video_slots() {
            self.video_slots.insert(client.clone());
        } else {
            self.video_slots.remove(client);
        }
        if ProtocolVersion(version).supports_pinning() {
            self.pins.insert(client.clone());
        } else {
            self.pins.remove(client);
        }
    }

    /// True when `client` negotiated pinning (`pinUsers`, `updatePinUsers`).
    pub(crate) fn gets_pins(&self, client: &ClientId) -> bool {
        self.pins.contains(client)
    }

    /// True when `client` negotiated camera video (`videoSlotsUpdated`).
    pub(crate) fn gets_video_slots(&self, client: &ClientId) -> bool {
        self.video_slots.contains(client)
    }

    /// True when `client` negotiated the room list (`breakoutRoomsUpdated`).
    pub(crate) fn gets_room_list(&self, client: &ClientId) -> bool {
        self.room_list.contains(client)
    }
}

impl Family {
    /// Reports a change of `subject`'s presence. `msg` is the version-1 frame for it; it goes
    /// to every version-1 client but the subject, and the change is recorded for the batch.
    pub(crate) fn broadcast_presence(&mut self, subject: &ClientId, msg: ServerMessage) {
        match &msg {
            ServerMessage::UserDisconnected(_) => {
                self.presence.changed.remove(subject);
                self.presence.batched.remove(subject);
                if !self.presence.left.contains(subject) {
                    self.presence.left.push(subject.clone());
                }
            }
            _ => {
                if !self.presence.changed.contains(subject) {
                    self.presence.changed.insert(subject.clone());
                }
            }
        }
        // Every connected client batched (the usual case once SDKs speak version 2): nobody to
        // send the single frame to.
        if self.presence.batched.len() >= self.clients.len() {
            return;
        }
        let mut to: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| &c.id != subject && !self.presence.batched.contains(&c.id))
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        to.sort();
        for (_, c) in to {
            self.send(&c, None, msg.clone());
        }
    }

    /// End of an input: one `usersUpdated` to every batched client, if any presence changed.
    pub(crate) fn flush_presence(&mut self) {
        if self.presence.changed.is_empty() && self.presence.left.is_empty() {
            self.presence.fresh.clear();
            return;
        }
        let fresh = std::mem::take(&mut self.presence.fresh);
        let changed = std::mem::take(&mut self.presence.changed);
        let left = std::mem::take(&mut self.presence.left);
        let mut users: Vec<(u64, alcove_proto::signal::UserInfo)> = changed
            .iter()
            .filter_map(|c| self.clients.get(c))
            .map(|c| (c.seq, crate::family::user_info(c)))
            .collect();
        users.sort_by_key(|(seq, _)| *seq);
        let batch = UsersUpdated {
            users: users.into_iter().map(|(_, u)| u).collect(),
            left,
        };
        if batch.is_empty() || self.presence.batched.is_empty() {
            return;
        }
        let batch = Arc::new(batch);
        let mut to: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| self.presence.batched.contains(&c.id) && !fresh.contains(&c.id))
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        to.sort();
        for (_, c) in to {
            self.send(&c, None, ServerMessage::UsersUpdated(Arc::clone(&batch)));
        }
    }
}

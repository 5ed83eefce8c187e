//! [`RoomState`]: what a connection knows of its family beyond the user list, kept up to date
//! from the frames it reads: the room list (`roomConnected.breakout_rooms`, then every
//! `breakoutRoomsUpdated`), where this client is, its moderator mute, the pending help
//! requests (moderators), the server's clock, and listen-in (issue 11): what this client
//! listens to, talks into and broadcasts to (from its acknowledgements and `listeningChanged`),
//! and who monitors the room it is in (`monitoredBy`). A resume's `roomConnected` starts the
//! listen-in state afresh; the server then repeats it (`listeningChanged` when this client
//! still listens or broadcasts, `monitoredBy` when its room is monitored). The parent room's
//! pinned cameras (issue 14) follow `updatePinUsers`; a `roomConnected` starts with none (the
//! server repeats a non-empty list right after it).
//!
//! Where this client is follows `connectedBreakoutRoom` (acknowledgement or forced join) and
//! `didDisconnectedBreakoutRoom` as the server means it: the frame's `location` is the
//! receiver's location afterwards, so a `moved` notice (out of room A, already in room B) is
//! not a return to the parent, and an `owner_notice` (a member left a room this client owns)
//! does not move this client at all.

use alcove_proto::ids::{ClientId, RoomId};
use alcove_proto::signal::{
    BreakoutRoomInfo, BreakoutRoomSummary, HelpRequest, LeaveReason, ListenState, Location,
    MonitoredBy, RoomConnected, ServerMessage,
};

/// The family as this connection last heard it (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct RoomState {
    /// This client.
    me: ClientId,
    /// Live break-out rooms, in creation order.
    rooms: Vec<BreakoutRoomSummary>,
    /// Where this client is.
    location: Location,
    /// A moderator muted this client and it has not unmuted since.
    muted_by_moderator: bool,
    /// Pending help requests (moderators only), oldest first.
    help_requests: Vec<HelpRequest>,
    /// `roomConnected.server_time` of the latest connect or resume (Unix ms).
    server_time: u64,
    /// Server clock minus local clock, in ms, once the driver noted its clock.
    clock_offset_ms: Option<i64>,
    /// The break-out room this client listens to (moderators).
    listening: Option<RoomId>,
    /// Talking into it.
    talking: bool,
    /// Broadcasting, to these break-out rooms (and the parent).
    broadcasting: Option<Vec<RoomId>>,
    /// The latest non-empty `monitoredBy` per room this client is in.
    monitors: Vec<MonitoredBy>,
    /// The parent room's pinned clients, first pinned first (the latest `updatePinUsers`).
    pinned: Vec<ClientId>,
}

/// A room-list entry from a `roomConnected` room.
pub(crate) fn summary(b: &BreakoutRoomInfo) -> BreakoutRoomSummary {
    BreakoutRoomSummary {
        room_id: b.room_id.clone(),
        name: b.name.clone(),
        members: u32::try_from(b.members.len()).unwrap_or(u32::MAX),
        participants: b.participants,
        self_select: b.self_select,
        ends_at: b.ends_at,
    }
}

impl RoomState {
    /// The state a `roomConnected` (first connect or resume) describes.
    pub fn from_connected(rc: &RoomConnected) -> RoomState {
        let location = rc
            .users
            .iter()
            .find(|u| u.client_id == rc.client_id)
            .map_or(Location::Parent, |u| u.location.clone());
        RoomState {
            me: rc.client_id.clone(),
            rooms: rc.breakout_rooms.iter().map(summary).collect(),
            location,
            muted_by_moderator: rc.muted_by_moderator,
            help_requests: rc.help_requests.clone(),
            server_time: rc.server_time,
            clock_offset_ms: None,
            listening: None,
            talking: false,
            broadcasting: None,
            monitors: Vec::new(),
            pinned: Vec::new(),
        }
    }

    /// The parent room's pinned clients, first pinned first, as the latest `updatePinUsers`
    /// said (protocol 4; empty until then).
    pub fn pinned(&self) -> &[ClientId] {
        &self.pinned
    }

    /// Live break-out rooms, in creation order: name, member count, places, self-select, the
    /// end of the timer (absolute server Unix ms).
    pub fn rooms(&self) -> &[BreakoutRoomSummary] {
        &self.rooms
    }

    /// One live break-out room.
    pub fn room(&self, room_id: &RoomId) -> Option<&BreakoutRoomSummary> {
        self.rooms.iter().find(|r| &r.room_id == room_id)
    }

    /// Where this client is now.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// True while a moderator's mute holds this client's audio (until it unmutes after being
    /// asked, or its room ends).
    pub fn muted_by_moderator(&self) -> bool {
        self.muted_by_moderator
    }

    /// Pending help requests, oldest first (moderators; always empty for others).
    pub fn help_requests(&self) -> &[HelpRequest] {
        &self.help_requests
    }

    /// The break-out room this client listens to from the parent ([`crate::Room::listen_to`]),
    /// until it stops or the server ends it (`listeningChanged`).
    pub fn listening(&self) -> Option<&RoomId> {
        self.listening.as_ref()
    }

    /// True while this client talks into the room it listens to ([`crate::Room::talk_to`]).
    pub fn talking(&self) -> bool {
        self.talking
    }

    /// While this client broadcasts ([`crate::Room::start_broadcast`]): the break-out rooms
    /// its voice reaches as the server last said (the parent always; a broadcast to every room
    /// lists the rooms live at the time). `None` when not broadcasting.
    pub fn broadcasting(&self) -> Option<&[RoomId]> {
        self.broadcasting.as_deref()
    }

    /// The moderators listening to (and talking into) `room_id`, as the latest `monitoredBy`
    /// said; `None` when nobody does. The server tells the members of a room only, so this
    /// knows the room this client is in (an entry is dropped when it leaves the room).
    pub fn monitored_by(&self, room_id: &RoomId) -> Option<&MonitoredBy> {
        self.monitors.iter().find(|m| &m.room_id == room_id)
    }

    /// Every room this client knows to be monitored (at most the room it is in).
    pub fn monitored(&self) -> &[MonitoredBy] {
        &self.monitors
    }

    /// Server clock minus local clock in ms (from `roomConnected.server_time`), once known.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        self.clock_offset_ms
    }

    /// The server's clock (Unix ms) at local clock `local_ms` (Unix ms): `local_ms` corrected
    /// by [`RoomState::clock_offset_ms`] (uncorrected while unknown).
    pub fn server_time_at(&self, local_ms: u64) -> u64 {
        let offset = self.clock_offset_ms.unwrap_or(0);
        u64::try_from(i128::from(local_ms) + i128::from(offset)).unwrap_or(0)
    }

    /// How long until the server-time instant `at_ms` (e.g. a room's `ends_at`), seen from
    /// local clock `local_ms`, in ms; 0 when it has passed.
    pub fn ms_until(&self, at_ms: u64, local_ms: u64) -> u64 {
        at_ms.saturating_sub(self.server_time_at(local_ms))
    }

    /// Records the local clock (Unix ms) at which the latest `roomConnected` arrived: the
    /// offset to the server's clock follows.
    pub fn note_clock(&mut self, local_ms: u64) {
        let offset = i128::from(self.server_time) - i128::from(local_ms);
        self.clock_offset_ms = Some(i64::try_from(offset).unwrap_or(0));
    }

    fn upsert(&mut self, r: BreakoutRoomSummary) {
        match self.rooms.iter_mut().find(|x| x.room_id == r.room_id) {
            Some(x) => *x = r,
            None => self.rooms.push(r),
        }
    }

    fn remove(&mut self, room: &RoomId) {
        self.rooms.retain(|r| &r.room_id != room);
        self.monitors.retain(|m| &m.room_id != room);
    }

    /// `monitoredBy` is sent to a room's members only: keep the entry of the room this client
    /// is in.
    fn prune_monitors(&mut self) {
        let here = match &self.location {
            Location::Breakout(r) => Some(r.clone()),
            _ => None,
        };
        self.monitors.retain(|m| Some(&m.room_id) == here.as_ref());
    }

    /// A listen-in state from an acknowledgement or from `listeningChanged`.
    fn apply_listen(&mut self, s: &ListenState) {
        if s.result != 0 {
            return;
        }
        self.listening = s.listening.clone();
        self.talking = s.talking;
        self.broadcasting = s.broadcast.then(|| s.broadcasting.clone());
    }

    /// Applies one frame (notification or acknowledgement); returns whether it was one this
    /// state follows.
    pub fn apply(&mut self, msg: &ServerMessage) -> bool {
        match msg {
            ServerMessage::BreakoutRoomsUpdated(batch) => {
                for r in &batch.rooms {
                    self.upsert(r.clone());
                }
                for r in &batch.removed {
                    self.remove(r);
                }
            }
            ServerMessage::DidDestroyedBreakoutRoom(r) => self.remove(&r.room_id),
            ServerMessage::ConnectedBreakoutRoom(c) if c.result == 0 => {
                self.location = Location::Breakout(c.room.room_id.clone());
                self.upsert(summary(&c.room));
                self.prune_monitors();
            }
            ServerMessage::DidDisconnectedBreakoutRoom(d) if d.result == 0 => {
                match (d.reason, &d.location) {
                    // Someone else left a room this client owns: it stays where it is.
                    (Some(LeaveReason::OwnerNotice), _) => {}
                    (_, Some(l)) => self.location = l.clone(),
                    // A server that does not say: the seed's meaning, back in the parent.
                    (_, None) => {
                        if d.room_id.is_none()
                            || d.room_id.as_ref().map(|r| Location::Breakout(r.clone()))
                                == Some(self.location.clone())
                        {
                            self.location = Location::Parent;
                        }
                    }
                }
                self.prune_monitors();
            }
            ServerMessage::AckListenTo(s)
            | ServerMessage::AckStopListening(s)
            | ServerMessage::AckTalkTo(s)
            | ServerMessage::AckStartBroadcast(s)
            | ServerMessage::AckStopBroadcast(s)
            | ServerMessage::ListeningChanged(s) => self.apply_listen(s),
            ServerMessage::MonitoredBy(m) => {
                self.monitors.retain(|x| x.room_id != m.room_id);
                if !m.moderators.is_empty() {
                    self.monitors.push(m.clone());
                }
            }
            ServerMessage::UpdatePinUsers(u) => self.pinned = u.client_ids.clone(),
            ServerMessage::MemberMuted(m) if m.client_id == self.me => {
                self.muted_by_moderator = m.muted;
            }
            ServerMessage::HelpRequested(h) => {
                self.help_requests.retain(|x| x.client_id != h.client_id);
                self.help_requests.push(h.clone());
            }
            ServerMessage::HelpResolved(h) => {
                self.help_requests.retain(|x| x.client_id != h.client_id);
            }
            ServerMessage::RoomConnected(rc) if rc.result == 0 => {
                let offset = self.clock_offset_ms;
                *self = RoomState::from_connected(rc);
                self.clock_offset_ms = offset;
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::api::RoomSettings;
    use alcove_proto::signal::{
        BreakoutRoomsUpdated, ConnectedBreakoutRoom, DidDisconnectedBreakoutRoom, HelpOutcome,
        HelpResolved, MemberMuted, Muted, Role, RoomSummary, UserInfo, UserRef,
    };
    use std::sync::Arc;

    fn info(id: &str, members: usize) -> BreakoutRoomInfo {
        BreakoutRoomInfo {
            room_id: id.into(),
            name: format!("room {id}"),
            owner: UserRef {
                client_id: "m".into(),
                name: "M".into(),
            },
            participants: 3,
            audio: true,
            canvas: false,
            share: false,
            members: (0..members)
                .map(|i| UserRef {
                    client_id: ClientId(format!("x{i}")),
                    name: String::new(),
                })
                .collect(),
            invitations: vec![],
            self_select: true,
            ends_at: Some(5_000),
            warning_at: Some(4_000),
        }
    }

    fn connected(location: Location) -> RoomConnected {
        RoomConnected {
            result: 0,
            version: 3,
            client_id: "me".into(),
            room: RoomSummary {
                room_id: "r".into(),
                name: "r".into(),
                settings: RoomSettings::default(),
            },
            users: vec![UserInfo {
                client_id: "me".into(),
                name: "Me".into(),
                role: Role::Participant,
                user_ref: String::new(),
                data: serde_json::Value::Null,
                location,
                paused: false,
                muted: Muted::default(),
            }],
            breakout_rooms: vec![info("a", 2), info("b", 0)],
            invitations: vec![],
            resumed: false,
            media_kept: false,
            resume_token: None,
            server_time: 1_000_000,
            help_requests: vec![],
            muted_by_moderator: true,
            ice_servers: Vec::new(),
        }
    }

    fn summary_of(id: &str, members: u32) -> BreakoutRoomSummary {
        BreakoutRoomSummary {
            room_id: id.into(),
            name: format!("room {id}"),
            members,
            participants: 3,
            self_select: false,
            ends_at: None,
        }
    }

    #[test]
    fn starts_from_room_connected_and_follows_the_room_list() {
        let mut s = RoomState::from_connected(&connected(Location::Breakout("a".into())));
        assert_eq!(s.location(), &Location::Breakout("a".into()));
        assert!(s.muted_by_moderator());
        assert_eq!(s.rooms().len(), 2);
        assert_eq!(s.room(&"a".into()).unwrap().members, 2);
        assert_eq!(s.room(&"a".into()).unwrap().ends_at, Some(5_000));
        assert!(s.apply(&ServerMessage::BreakoutRoomsUpdated(Arc::new(
            BreakoutRoomsUpdated {
                rooms: vec![summary_of("b", 1), summary_of("c", 0)],
                removed: vec!["a".into()],
            }
        ))));
        let ids: Vec<&str> = s.rooms().iter().map(|r| r.room_id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(s.room(&"b".into()).unwrap().members, 1);
        assert!(!s.room(&"b".into()).unwrap().self_select);
        s.apply(&ServerMessage::DidDestroyedBreakoutRoom(
            alcove_proto::signal::RoomRef {
                room_id: "b".into(),
            },
        ));
        assert_eq!(s.rooms().len(), 1);
    }

    #[test]
    fn pins_follow_update_pin_users_and_a_room_connected_starts_without() {
        let mut s = RoomState::from_connected(&connected(Location::Parent));
        assert!(s.pinned().is_empty());
        let update = |ids: &[&str]| {
            ServerMessage::UpdatePinUsers(alcove_proto::signal::UpdatePinUsers {
                room_id: "r".into(),
                client_ids: ids.iter().map(|c| ClientId::from(*c)).collect(),
            })
        };
        assert!(s.apply(&update(&["b", "a"])));
        assert_eq!(s.pinned(), [ClientId::from("b"), ClientId::from("a")]);
        assert!(s.apply(&update(&[])));
        assert!(s.pinned().is_empty());
        s.apply(&update(&["a"]));
        s.apply(&ServerMessage::RoomConnected(connected(Location::Parent)));
        assert!(s.pinned().is_empty(), "a resume starts afresh");
    }

    #[test]
    fn a_moved_notice_is_not_a_return_to_the_parent() {
        let mut s = RoomState::from_connected(&connected(Location::Breakout("a".into())));
        // Moved from a to b: connectedBreakoutRoom for b, then the notice about a.
        s.apply(&ServerMessage::ConnectedBreakoutRoom(
            ConnectedBreakoutRoom {
                result: 0,
                room: info("b", 1),
            },
        ));
        s.apply(&ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::because(
                Some("a".into()),
                LeaveReason::Moved,
                Location::Breakout("b".into()),
            ),
        ));
        assert_eq!(s.location(), &Location::Breakout("b".into()));
        // An owner notice about a room it owns does not move it either.
        s.apply(&ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::because(
                Some("a".into()),
                LeaveReason::OwnerNotice,
                Location::Breakout("b".into()),
            ),
        ));
        assert_eq!(s.location(), &Location::Breakout("b".into()));
        // The timer's end: back in the parent.
        s.apply(&ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::because(
                Some("b".into()),
                LeaveReason::Timeout,
                Location::Parent,
            ),
        ));
        assert_eq!(s.location(), &Location::Parent);
        // A server that gives no location: the seed's meaning.
        s.apply(&ServerMessage::ConnectedBreakoutRoom(
            ConnectedBreakoutRoom {
                result: 0,
                room: info("c", 1),
            },
        ));
        s.apply(&ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::ok(Some("c".into())),
        ));
        assert_eq!(s.location(), &Location::Parent);
    }

    #[test]
    fn moderator_mute_and_help_queue_follow_their_frames() {
        let mut s = RoomState::from_connected(&connected(Location::Parent));
        s.apply(&ServerMessage::MemberMuted(MemberMuted {
            client_id: "someone".into(),
            muted: false,
            by: None,
        }));
        assert!(s.muted_by_moderator(), "someone else's unmute");
        s.apply(&ServerMessage::MemberMuted(MemberMuted {
            client_id: "me".into(),
            muted: false,
            by: None,
        }));
        assert!(!s.muted_by_moderator());
        let h = HelpRequest {
            room_id: "a".into(),
            client_id: "p".into(),
            name: "P".into(),
            at: 7,
        };
        s.apply(&ServerMessage::HelpRequested(h.clone()));
        assert_eq!(s.help_requests(), [h]);
        s.apply(&ServerMessage::HelpResolved(HelpResolved {
            room_id: "a".into(),
            client_id: "p".into(),
            outcome: HelpOutcome::Cancelled,
            by: None,
        }));
        assert!(s.help_requests().is_empty());
    }

    #[test]
    fn the_clock_offset_corrects_local_time() {
        let mut s = RoomState::from_connected(&connected(Location::Parent));
        assert_eq!(s.clock_offset_ms(), None);
        // The local clock is 400 ms behind the server's.
        s.note_clock(999_600);
        assert_eq!(s.clock_offset_ms(), Some(400));
        assert_eq!(s.server_time_at(1_000_600), 1_001_000);
        assert_eq!(s.ms_until(1_002_000, 1_000_600), 1_000);
        assert_eq!(s.ms_until(1_000_000, 1_000_600), 0);
        // A resume keeps the offset until the driver notes its clock again.
        let mut again = connected(Location::Parent);
        again.server_time = 2_000_000;
        s.apply(&ServerMessage::RoomConnected(again));
        assert_eq!(s.clock_offset_ms(), Some(400));
        s.note_clock(1_999_000);
        assert_eq!(s.clock_offset_ms(), Some(1_000));
    }

    fn listen(listening: Option<&str>, talking: bool, broadcasting: &[&str]) -> ListenState {
        ListenState {
            result: 0,
            msg: "Success".into(),
            listening: listening.map(RoomId::from),
            talking,
            broadcast: false,
            broadcasting: broadcasting.iter().map(|r| RoomId::from(*r)).collect(),
        }
    }

    fn broadcasting(listening: Option<&str>, talking: bool, rooms: &[&str]) -> ListenState {
        ListenState {
            broadcast: true,
            ..listen(listening, talking, rooms)
        }
    }

    #[test]
    fn listening_talking_and_broadcasting_follow_acks_and_listening_changed() {
        let mut s = RoomState::from_connected(&connected(Location::Parent));
        assert_eq!(s.listening(), None);
        assert!(s.apply(&ServerMessage::AckListenTo(listen(Some("a"), false, &[]))));
        assert_eq!(s.listening(), Some(&RoomId::from("a")));
        s.apply(&ServerMessage::AckTalkTo(listen(Some("a"), true, &[])));
        assert!(s.talking());
        // A refused request changes nothing.
        let mut refused = listen(None, false, &[]);
        refused.result = 1764;
        s.apply(&ServerMessage::AckTalkTo(refused));
        assert!(s.talking());
        // A broadcast to every room while none is live: on, to no break-out room.
        s.apply(&ServerMessage::AckStartBroadcast(broadcasting(
            Some("a"),
            true,
            &[],
        )));
        assert_eq!(s.broadcasting(), Some(&[][..]));
        s.apply(&ServerMessage::AckStartBroadcast(broadcasting(
            Some("a"),
            true,
            &["a", "b"],
        )));
        assert_eq!(s.broadcasting().map(<[RoomId]>::len), Some(2));
        // Room a ends: listening ends, the broadcast goes on (in the parent, list empty).
        s.apply(&ServerMessage::ListeningChanged(broadcasting(
            None,
            false,
            &[],
        )));
        assert_eq!(s.listening(), None);
        assert!(!s.talking());
        assert_eq!(s.broadcasting(), Some(&[][..]));
        s.apply(&ServerMessage::AckStopBroadcast(listen(None, false, &[])));
        assert_eq!(s.broadcasting(), None);
        // Leaving the parent ends a broadcast.
        s.apply(&ServerMessage::AckStartBroadcast(broadcasting(
            None,
            false,
            &[],
        )));
        s.apply(&ServerMessage::ConnectedBreakoutRoom(
            ConnectedBreakoutRoom {
                result: 0,
                room: info("b", 1),
            },
        ));
        s.apply(&ServerMessage::ListeningChanged(listen(None, false, &[])));
        assert_eq!(s.broadcasting(), None);
    }

    #[test]
    fn monitored_by_keeps_the_room_this_client_is_in() {
        let mut s = RoomState::from_connected(&connected(Location::Breakout("a".into())));
        let ada = UserRef {
            client_id: "m".into(),
            name: "Ada".into(),
        };
        let by = |room: &str, mods: Vec<UserRef>, talking: Vec<ClientId>| {
            ServerMessage::MonitoredBy(MonitoredBy {
                room_id: room.into(),
                moderators: mods,
                talking,
            })
        };
        assert!(s.apply(&by("a", vec![ada.clone()], vec![])));
        assert_eq!(
            s.monitored_by(&"a".into()).unwrap().moderators,
            std::slice::from_ref(&ada)
        );
        s.apply(&by("a", vec![ada.clone()], vec!["m".into()]));
        assert_eq!(s.monitored().len(), 1);
        assert_eq!(
            s.monitored_by(&"a".into()).unwrap().talking,
            [ClientId::from("m")]
        );
        // Nobody any more.
        s.apply(&by("a", vec![], vec![]));
        assert_eq!(s.monitored_by(&"a".into()), None);
        // Monitored, then this client leaves the room: it hears no more of it.
        s.apply(&by("a", vec![ada], vec![]));
        s.apply(&ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::because(
                Some("a".into()),
                LeaveReason::Left,
                Location::Parent,
            ),
        ));
        assert!(s.monitored().is_empty());
    }
}

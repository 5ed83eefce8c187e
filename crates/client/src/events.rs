//! [`Events`]: every frame the server sends on a connection, in arrival order.
//!
//! Acknowledgements are in the stream too, next to notifications, so the stream maps one to one
//! to the seed's callbacks (`ackCreateBreakOutRoom`, `invitationForBreakoutRoom`, …). The
//! `roomConnected` answer to `connect` is not in it: [`crate::Room::connected`] holds it.
//! The stream ends (`None`) once the connection is closed and every frame received before that
//! has been taken.
//!
//! [`FacilitationEvent`] types the notifications of facilitation (protocol version 3: timers,
//! broadcasts, help, the room list, moderation, and why this client left a break-out room);
//! [`Events::wait_for_event`] waits for one of them. [`ListenEvent`] types those of listen-in,
//! talk-in and audio broadcast (issue 11); [`Events::wait_for_listen_event`] waits for one.

use alcove_proto::ids::RoomId;
use alcove_proto::signal::{
    AudioBroadcast, BreakoutRoomsUpdated, BreakoutTimer, BreakoutTimerWarning, BroadcastReceived,
    ConnectedBreakoutRoom, HelpReply, HelpRequest, HelpResolved, LeaveReason, ListenState,
    Location, MemberMuted, MonitoredBy, ServerFrame, ServerMessage, UnmuteAsked,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The frames a connection received, in arrival order. Returned by [`crate::connect`].
#[derive(Debug)]
pub struct Events {
    /// Fed by the connection task; closed when the connection ends.
    rx: mpsc::UnboundedReceiver<ServerFrame>,
}

impl Events {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ServerFrame>) -> Events {
        Events { rx }
    }

    /// The next frame; `None` once the connection is closed and every frame has been taken.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        self.rx.recv().await
    }

    /// The next frame if one has already arrived; never waits.
    pub fn try_next(&mut self) -> Option<ServerFrame> {
        self.rx.try_recv().ok()
    }

    /// The next frame, waiting at most `d`; `None` on timeout or when the stream ended.
    pub async fn next_within(&mut self, d: Duration) -> Option<ServerFrame> {
        tokio::time::timeout(d, self.rx.recv()).await.ok().flatten()
    }

    /// Every frame that arrives in the next `d` (returns early if the stream ends).
    pub async fn drain_for(&mut self, d: Duration) -> Vec<ServerFrame> {
        let deadline = Instant::now() + d;
        let mut frames = Vec::new();
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            frames.push(frame);
        }
        frames
    }

    /// The first frame within `d` for which `pred` is true. Frames that do not match are taken
    /// from the stream and dropped. `None` on timeout or when the stream ended.
    pub async fn wait_for(
        &mut self,
        d: Duration,
        mut pred: impl FnMut(&ServerFrame) -> bool,
    ) -> Option<ServerFrame> {
        let deadline = Instant::now() + d;
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if pred(&frame) {
                return Some(frame);
            }
        }
        None
    }

    /// The first [`FacilitationEvent`] within `d` for which `pred` is true. Every frame taken
    /// before it (typed or not) is dropped. `None` on timeout or when the stream ended.
    pub async fn wait_for_event(
        &mut self,
        d: Duration,
        mut pred: impl FnMut(&FacilitationEvent) -> bool,
    ) -> Option<FacilitationEvent> {
        let deadline = Instant::now() + d;
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if let Some(e) = FacilitationEvent::from_frame(&frame) {
                if pred(&e) {
                    return Some(e);
                }
            }
        }
        None
    }

    /// The first [`ListenEvent`] within `d` for which `pred` is true. Every frame taken before
    /// it (typed or not) is dropped. `None` on timeout or when the stream ended.
    pub async fn wait_for_listen_event(
        &mut self,
        d: Duration,
        mut pred: impl FnMut(&ListenEvent) -> bool,
    ) -> Option<ListenEvent> {
        let deadline = Instant::now() + d;
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if let Some(e) = ListenEvent::from_frame(&frame) {
                if pred(&e) {
                    return Some(e);
                }
            }
        }
        None
    }
}

/// A listen-in, talk-in or audio-broadcast notification (issue 11), typed (frames without an
/// id only). The acknowledgements of [`crate::Room::listen_to`] and the other calls are their
/// return values, not events.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ListenEvent {
    /// `monitoredBy` (members of a break-out room): the moderators listening to this client's
    /// room, and those of them talking into it, changed (empty lists: nobody now); also on
    /// entering a monitored room.
    MonitoredBy(MonitoredBy),
    /// `audioBroadcast`: a moderator's voice reaches this client's room now (`on`), or no
    /// longer.
    AudioBroadcast(AudioBroadcast),
    /// `listeningChanged` (the moderator): the server ended this client's listen-in or
    /// broadcast (it left the parent, or the room listened to ended); the state after.
    ListeningChanged(ListenState),
}

impl ListenEvent {
    /// The typed event a frame carries; `None` for acknowledgements (frames with an id) and for
    /// every other notification.
    pub fn from_frame(frame: &ServerFrame) -> Option<ListenEvent> {
        if frame.id.is_some() {
            return None;
        }
        Self::from_message(&frame.msg)
    }

    /// The typed event a notification's message carries, if it is one of these.
    pub fn from_message(msg: &ServerMessage) -> Option<ListenEvent> {
        Some(match msg {
            ServerMessage::MonitoredBy(m) => ListenEvent::MonitoredBy(m.clone()),
            ServerMessage::AudioBroadcast(b) => ListenEvent::AudioBroadcast(b.clone()),
            ServerMessage::ListeningChanged(s) => ListenEvent::ListeningChanged(s.clone()),
            _ => return None,
        })
    }
}

/// This client left a break-out room without asking (`didDisconnectedBreakoutRoom` as a
/// notification), or, with reason `owner_notice`, a member left a room this client owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftBreakoutRoom {
    /// The room left.
    pub room_id: Option<RoomId>,
    /// Why: `moved` (into another room: see `location`), `destroyed`, `timeout`, `left`, or
    /// `owner_notice`. `None` from a server older than protocol version 3.
    pub reason: Option<LeaveReason>,
    /// Where the receiver is now. `None` from an older server.
    pub location: Option<Location>,
}

impl LeftBreakoutRoom {
    /// True when the receiver is back in the parent because of this frame: not for a `moved`
    /// notice (it is in another break-out room already) nor an `owner_notice` (it did not
    /// move). An older server's frame without a reason means the parent, as in the seed.
    pub fn returned_to_parent(&self) -> bool {
        match (self.reason, &self.location) {
            (Some(LeaveReason::OwnerNotice | LeaveReason::Moved), _) => false,
            (_, Some(l)) => *l == Location::Parent,
            (_, None) => true,
        }
    }
}

/// A facilitation notification, typed (frames without an id only).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FacilitationEvent {
    /// `breakoutTimer`: a room's timer was set, changed or cleared (`ends_at` null).
    BreakoutTimer(BreakoutTimer),
    /// `breakoutTimerWarning`: the room ends at `ends_at` (once per timer).
    BreakoutTimerWarning(BreakoutTimerWarning),
    /// `broadcastReceived`: a moderator's text.
    BroadcastReceived(BroadcastReceived),
    /// `helpRequested` (moderators): a member of a break-out room asks for help.
    HelpRequested(HelpRequest),
    /// `helpAnswered` (the requester): a moderator joined its room.
    HelpAnswered(HelpReply),
    /// `helpDismissed` (the requester): a moderator closed its request without joining.
    HelpDismissed(HelpReply),
    /// `helpResolved` (moderators): a request left the queue (answered, dismissed, cancelled,
    /// left).
    HelpResolved(HelpResolved),
    /// `breakoutRoomsUpdated`: rooms created or changed, and rooms removed, in one step.
    BreakoutRoomsUpdated(Arc<BreakoutRoomsUpdated>),
    /// `memberMuted`: a client's moderator mute changed (this client's or another's).
    MemberMuted(MemberMuted),
    /// `unmuteAsked`: a moderator asks this client to unmute ([`crate::Room::unmute_self`]).
    UnmuteAsked(UnmuteAsked),
    /// An unsolicited `connectedBreakoutRoom`: this client was moved into a room (forced join,
    /// `moveToBreakoutRoom`, a plan applied with `force_join`).
    MovedIntoBreakoutRoom(Box<ConnectedBreakoutRoom>),
    /// An unsolicited `didDisconnectedBreakoutRoom`: see [`LeftBreakoutRoom`].
    LeftBreakoutRoom(LeftBreakoutRoom),
}

impl FacilitationEvent {
    /// The typed event a frame carries; `None` for acknowledgements (frames with an id) and for
    /// every other notification.
    pub fn from_frame(frame: &ServerFrame) -> Option<FacilitationEvent> {
        if frame.id.is_some() {
            return None;
        }
        Self::from_message(&frame.msg)
    }

    /// The typed event a notification's message carries, if it is one of these.
    pub fn from_message(msg: &ServerMessage) -> Option<FacilitationEvent> {
        Some(match msg {
            ServerMessage::BreakoutTimer(t) => FacilitationEvent::BreakoutTimer(t.clone()),
            ServerMessage::BreakoutTimerWarning(w) => {
                FacilitationEvent::BreakoutTimerWarning(w.clone())
            }
            ServerMessage::BroadcastReceived(b) => FacilitationEvent::BroadcastReceived(b.clone()),
            ServerMessage::HelpRequested(h) => FacilitationEvent::HelpRequested(h.clone()),
            ServerMessage::HelpAnswered(h) => FacilitationEvent::HelpAnswered(h.clone()),
            ServerMessage::HelpDismissed(h) => FacilitationEvent::HelpDismissed(h.clone()),
            ServerMessage::HelpResolved(h) => FacilitationEvent::HelpResolved(h.clone()),
            ServerMessage::BreakoutRoomsUpdated(b) => {
                FacilitationEvent::BreakoutRoomsUpdated(Arc::clone(b))
            }
            ServerMessage::MemberMuted(m) => FacilitationEvent::MemberMuted(m.clone()),
            ServerMessage::UnmuteAsked(u) => FacilitationEvent::UnmuteAsked(u.clone()),
            ServerMessage::ConnectedBreakoutRoom(c) => {
                FacilitationEvent::MovedIntoBreakoutRoom(Box::new(c.clone()))
            }
            ServerMessage::DidDisconnectedBreakoutRoom(d) if d.result == 0 => {
                FacilitationEvent::LeftBreakoutRoom(LeftBreakoutRoom {
                    room_id: d.room_id.clone(),
                    reason: d.reason,
                    location: d.location.clone(),
                })
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{DidDisconnectedBreakoutRoom, Status};

    fn frame(msg: &str) -> ServerFrame {
        ServerFrame {
            id: None,
            msg: ServerMessage::AckPause(Status::ok(msg)),
        }
    }

    fn text(f: &ServerFrame) -> &str {
        match &f.msg {
            ServerMessage::AckPause(s) => &s.msg,
            _ => "",
        }
    }

    const SHORT: Duration = Duration::from_millis(30);

    #[tokio::test]
    async fn frames_come_out_in_order_then_none_after_close() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        assert_eq!(ev.try_next(), None);
        tx.send(frame("a")).unwrap();
        tx.send(frame("b")).unwrap();
        drop(tx);
        assert_eq!(ev.try_next(), Some(frame("a")));
        assert_eq!(ev.next().await, Some(frame("b")));
        assert_eq!(ev.next().await, None);
    }

    #[tokio::test]
    async fn next_within_times_out() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        assert_eq!(ev.next_within(SHORT).await, None);
    }

    #[tokio::test]
    async fn drain_for_collects_everything_until_the_deadline() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        tx.send(frame("a")).unwrap();
        tx.send(frame("b")).unwrap();
        let got = ev.drain_for(SHORT).await;
        assert_eq!(got, vec![frame("a"), frame("b")]);
        // The sender is still alive: the deadline, not the end of the stream, stopped it.
        assert_eq!(ev.try_next(), None);
    }

    #[tokio::test]
    async fn wait_for_skips_frames_that_do_not_match() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        for m in ["a", "b", "c"] {
            tx.send(frame(m)).unwrap();
        }
        assert_eq!(
            ev.wait_for(SHORT, |f| text(f) == "b").await,
            Some(frame("b"))
        );
        assert_eq!(ev.try_next(), Some(frame("c")));
        assert_eq!(ev.wait_for(SHORT, |f| text(f) == "z").await, None);
    }

    fn left(reason: LeaveReason, location: Location) -> LeftBreakoutRoom {
        let d = DidDisconnectedBreakoutRoom::because(Some("a".into()), reason, location);
        let f = ServerFrame {
            id: None,
            msg: ServerMessage::DidDisconnectedBreakoutRoom(d),
        };
        match FacilitationEvent::from_frame(&f) {
            Some(FacilitationEvent::LeftBreakoutRoom(l)) => l,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_moved_or_owner_notice_is_not_a_return_to_the_parent() {
        let b = Location::Breakout("b".into());
        assert!(!left(LeaveReason::Moved, b.clone()).returned_to_parent());
        assert!(!left(LeaveReason::OwnerNotice, Location::Parent).returned_to_parent());
        assert!(left(LeaveReason::Timeout, Location::Parent).returned_to_parent());
        assert!(left(LeaveReason::Destroyed, Location::Parent).returned_to_parent());
        let legacy = LeftBreakoutRoom {
            room_id: None,
            reason: None,
            location: None,
        };
        assert!(legacy.returned_to_parent());
    }

    #[tokio::test]
    async fn wait_for_event_types_notifications_and_skips_acks() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        let warning = ServerMessage::BreakoutTimerWarning(BreakoutTimerWarning {
            room_id: "a".into(),
            ends_at: 9,
        });
        // The same message as an acknowledgement (with an id) is not an event.
        tx.send(ServerFrame {
            id: Some(alcove_proto::RequestId(1)),
            msg: warning.clone(),
        })
        .unwrap();
        tx.send(frame("x")).unwrap();
        tx.send(ServerFrame {
            id: None,
            msg: warning,
        })
        .unwrap();
        let got = ev.wait_for_event(SHORT, |_| true).await;
        assert_eq!(
            got,
            Some(FacilitationEvent::BreakoutTimerWarning(
                BreakoutTimerWarning {
                    room_id: "a".into(),
                    ends_at: 9
                }
            ))
        );
        assert_eq!(ev.wait_for_event(SHORT, |_| true).await, None);
    }

    #[tokio::test]
    async fn listen_events_are_typed_and_acks_are_not_events() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        let state = ListenState {
            result: 0,
            msg: "Listening ended".into(),
            listening: None,
            talking: false,
            broadcast: false,
            broadcasting: vec![],
        };
        tx.send(ServerFrame {
            id: Some(alcove_proto::RequestId(3)),
            msg: ServerMessage::AckStopListening(state.clone()),
        })
        .unwrap();
        tx.send(ServerFrame {
            id: None,
            msg: ServerMessage::MonitoredBy(MonitoredBy {
                room_id: "a".into(),
                moderators: vec![],
                talking: vec![],
            }),
        })
        .unwrap();
        tx.send(ServerFrame {
            id: None,
            msg: ServerMessage::ListeningChanged(state.clone()),
        })
        .unwrap();
        let got = ev
            .wait_for_listen_event(SHORT, |e| matches!(e, ListenEvent::ListeningChanged(_)))
            .await;
        assert_eq!(got, Some(ListenEvent::ListeningChanged(state)));
    }
}

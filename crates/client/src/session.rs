//! [`ClientSession`]: the signalling state of one client connection, without any I/O.
//!
//! It numbers requests, remembers which are still waiting for their acknowledgement, tells
//! acknowledgements from notifications, and runs the `connect` handshake. It owns no socket, no
//! clock and no task: the async client in `client.rs` drives it, and a deterministic test world
//! can drive it just the same (quinn's `quinn-proto` / `quinn` split).
//!
//! The contract, in `handle_*` / `poll_*` form:
//!
//! * [`ClientSession::new`] queues the `connect` frame (id 0);
//!   [`ClientSession::request`] queues one request (ids 1, 2, 3, …);
//! * the caller sends every frame [`ClientSession::poll_transmit`] hands out, in order;
//! * every frame received goes to [`ClientSession::handle_frame`] (or
//!   [`ClientSession::handle_text`]); the end of the connection to [`ClientSession::handle_closed`];
//! * after each `handle_*`, the caller drains [`ClientSession::poll_event`] until it is `None`.
//!
//! Timeouts are the caller's business: the session never gives up on a request by itself.

use crate::error::{check_result, Error};
use crate::state::RoomState;
use crate::users::UserList;
use alcove_proto::ids::{ClientId, RequestId};
use alcove_proto::signal::{
    ClientFrame, ClientMessage, Connect, RoomConnected, ServerFrame, ServerMessage,
};
use alcove_proto::version::ProtocolVersion;
use std::collections::{BTreeMap, VecDeque};

/// The request id of the `connect` frame; later requests count up from 1.
pub const CONNECT_REQUEST_ID: RequestId = RequestId(0);

/// Where the connection is in its life.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// `connect` queued or sent; waiting for `roomConnected`.
    Connecting,
    /// `roomConnected` received: requests may flow.
    Connected(ClientId),
    /// Refused at connect, or the connection ended. Final.
    Closed,
}

/// Something the session has to tell its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The server accepted `connect`: requests may now be sent.
    Connected(Box<RoomConnected>),
    /// The server refused `connect` ([`Error::Refused`]) or answered it with something else
    /// ([`Error::Protocol`]). The session is closed.
    ConnectFailed(Error),
    /// The acknowledgement of request `id` (its `result` may be non-zero).
    Ack(RequestId, ServerFrame),
    /// A notification: a frame without an `id`.
    Notification(ServerFrame),
    /// A frame with an `id` that answers no outstanding request (a second answer, or an answer
    /// to a request sent before `connect` completed).
    Stray(ServerFrame),
    /// A frame that could not be decoded. When it carried the id of an outstanding request,
    /// that request is finished (`ack_of`) and will get no other answer.
    Garbled {
        /// The outstanding request the frame answered, if its id could be read.
        ack_of: Option<RequestId>,
        /// What was wrong with it.
        error: String,
    },
    /// The connection ended; these requests were never answered and never will be.
    Closed {
        /// The outstanding requests, oldest first.
        unanswered: Vec<RequestId>,
    },
}

/// The signalling state of one client connection (sans-IO). See the module docs for the
/// calling contract.
#[derive(Debug)]
pub struct ClientSession {
    /// Connecting → Connected → Closed, or Connecting → Closed on a refusal.
    state: State,
    /// The id the next request gets; starts at 1 (0 is the `connect`), never reused.
    next_id: u64,
    /// Requests sent and not yet acknowledged, with their `type`. An entry is removed by its
    /// acknowledgement, by a garbled frame carrying its id, or when the connection closes.
    outstanding: BTreeMap<RequestId, &'static str>,
    /// Frames queued for the wire, oldest first.
    transmit: VecDeque<ClientFrame>,
    /// Events for the driver, oldest first.
    events: VecDeque<SessionEvent>,
    /// Who is in the family: set from `roomConnected`, then kept up to date by every presence
    /// notification (version 1's per-user frames or version 2's `usersUpdated`).
    users: UserList,
    /// The room list, this client's location, moderator mute, help queue and the server's
    /// clock: set from `roomConnected`, then kept up to date by every frame.
    room_state: Option<RoomState>,
}

impl ClientSession {
    /// A new session that will present `token`; the `connect` frame is queued at once.
    pub fn new(token: &str) -> ClientSession {
        Self::with_connect(Connect {
            token: token.to_owned(),
            resume: None,
            versions: ProtocolVersion::supported(),
        })
    }

    /// A session that takes back an earlier connection's place with its `resume_token`.
    pub fn resuming(resume_token: &str) -> ClientSession {
        Self::with_connect(Connect {
            token: String::new(),
            resume: Some(resume_token.to_owned()),
            versions: ProtocolVersion::supported(),
        })
    }

    fn with_connect(connect: Connect) -> ClientSession {
        let connect = ClientFrame {
            id: CONNECT_REQUEST_ID,
            msg: ClientMessage::Connect(connect),
        };
        ClientSession {
            state: State::Connecting,
            next_id: 1,
            outstanding: BTreeMap::new(),
            transmit: VecDeque::from([connect]),
            events: VecDeque::new(),
            users: UserList::default(),
            room_state: None,
        }
    }

    /// This client's id, once connected.
    pub fn client_id(&self) -> Option<&ClientId> {
        match &self.state {
            State::Connected(id) => Some(id),
            _ => None,
        }
    }

    /// The family's users as this connection last heard (empty before `roomConnected`).
    pub fn users(&self) -> &UserList {
        &self.users
    }

    /// The room list, location, moderator mute, help queue and server clock as this
    /// connection last heard (`None` before `roomConnected`).
    pub fn state(&self) -> Option<&RoomState> {
        self.room_state.as_ref()
    }

    /// Records the local clock (Unix ms) at which `roomConnected` arrived, so that
    /// [`RoomState::clock_offset_ms`] is known. The driver calls it right after
    /// [`SessionEvent::Connected`]; the session itself reads no clock.
    pub fn note_clock(&mut self, local_ms: u64) {
        if let Some(s) = self.room_state.as_mut() {
            s.note_clock(local_ms);
        }
    }

    /// True once `roomConnected` arrived and until the connection ends.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    /// True when the connection ended or `connect` was refused.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Request ids still waiting for their acknowledgement, oldest first.
    pub fn outstanding(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.outstanding.keys().copied()
    }

    /// Queues a request and returns its id.
    ///
    /// Fails with [`Error::Protocol`] before `roomConnected` and with [`Error::Closed`] once the
    /// connection ended. Any message is passed on as it is, even a second `connect` (the server
    /// refuses that one with 4005; useful when testing the server).
    pub fn request(&mut self, msg: ClientMessage) -> Result<RequestId, Error> {
        match self.state {
            State::Closed => return Err(Error::Closed),
            State::Connecting => {
                return Err(Error::Protocol("request before `roomConnected`".into()))
            }
            State::Connected(_) => {}
        }
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.outstanding.insert(id, msg.type_name());
        self.transmit.push_back(ClientFrame { id, msg });
        Ok(id)
    }

    /// The next frame to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<ClientFrame> {
        self.transmit.pop_front()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Takes in one text frame from the server.
    pub fn handle_text(&mut self, text: &str) {
        match ServerFrame::decode(text) {
            Ok(frame) => self.handle_frame(frame),
            Err(e) => {
                // Salvage the id, so that the request it answers fails now rather than at its
                // timeout.
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64))
                    .map(RequestId);
                let ack_of = match (&self.state, id) {
                    (State::Connecting, Some(CONNECT_REQUEST_ID)) => {
                        self.state = State::Closed;
                        let error = Error::Protocol(format!("undecodable connect answer: {e}"));
                        self.events.push_back(SessionEvent::ConnectFailed(error));
                        return;
                    }
                    (_, Some(id)) => self.outstanding.remove(&id).map(|_| id),
                    (_, None) => None,
                };
                self.events.push_back(SessionEvent::Garbled {
                    ack_of,
                    error: format!("undecodable server frame: {e}"),
                });
            }
        }
    }

    /// Takes in one decoded frame from the server.
    pub fn handle_frame(&mut self, frame: ServerFrame) {
        if let Some(state) = self.room_state.as_mut() {
            state.apply(&frame.msg);
        }
        let Some(id) = frame.id else {
            self.users.apply(&frame.msg);
            self.events.push_back(SessionEvent::Notification(frame));
            return;
        };
        if self.state == State::Connecting && id == CONNECT_REQUEST_ID {
            self.handle_connect_answer(frame.msg);
            return;
        }
        match self.outstanding.remove(&id) {
            Some(_) => self.events.push_back(SessionEvent::Ack(id, frame)),
            None => self.events.push_back(SessionEvent::Stray(frame)),
        }
    }

    /// The connection ended (either side closed, or the transport failed).
    pub fn handle_closed(&mut self) {
        if self.state == State::Connecting {
            self.events
                .push_back(SessionEvent::ConnectFailed(Error::Closed));
        }
        self.state = State::Closed;
        self.transmit.clear();
        let unanswered: Vec<RequestId> =
            std::mem::take(&mut self.outstanding).into_keys().collect();
        self.events.push_back(SessionEvent::Closed { unanswered });
    }

    fn handle_connect_answer(&mut self, msg: ServerMessage) {
        match check_result(msg) {
            Ok(ServerMessage::RoomConnected(connected)) => {
                self.state = State::Connected(connected.client_id.clone());
                self.users = UserList::new(connected.users.clone());
                self.room_state = Some(RoomState::from_connected(&connected));
                self.events
                    .push_back(SessionEvent::Connected(Box::new(connected)));
            }
            Ok(other) => {
                self.state = State::Closed;
                let error = crate::error::unexpected("roomConnected", &other);
                self.events.push_back(SessionEvent::ConnectFailed(error));
            }
            Err(refused) => {
                self.state = State::Closed;
                self.events.push_back(SessionEvent::ConnectFailed(refused));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::api::RoomSettings;
    use alcove_proto::signal::{RoomSummary, Status};
    use alcove_proto::ErrorCode;

    fn room_connected() -> ServerFrame {
        ServerFrame {
            id: Some(CONNECT_REQUEST_ID),
            msg: ServerMessage::RoomConnected(RoomConnected {
                result: 0,
                version: 1,
                client_id: "c-1".into(),
                room: RoomSummary {
                    room_id: "r-1".into(),
                    name: "standup".into(),
                    settings: RoomSettings::default(),
                },
                users: vec![],
                breakout_rooms: vec![],
                invitations: vec![],
                resumed: false,
                media_kept: false,
                resume_token: None,
                server_time: 0,
                help_requests: Vec::new(),
                muted_by_moderator: false,
                ice_servers: Vec::new(),
            }),
        }
    }

    fn ack(id: u64, msg: &str) -> ServerFrame {
        ServerFrame {
            id: Some(RequestId(id)),
            msg: ServerMessage::AckPause(Status::ok(msg)),
        }
    }

    fn events(s: &mut ClientSession) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn connected() -> ClientSession {
        let mut s = ClientSession::new("tok");
        s.poll_transmit();
        s.handle_frame(room_connected());
        assert!(matches!(events(&mut s)[..], [SessionEvent::Connected(_)]));
        s
    }

    #[test]
    fn connect_frame_is_queued_first_with_id_zero_and_the_token() {
        let mut s = ClientSession::new("tok-123");
        let frame = s.poll_transmit().unwrap();
        assert_eq!(frame.id, RequestId(0));
        let json: serde_json::Value = serde_json::from_str(&frame.encode()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type":"connect","id":0,"token":"tok-123","versions":[1,2,3,4]})
        );
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn requests_before_room_connected_are_refused() {
        let mut s = ClientSession::new("tok");
        assert!(matches!(
            s.request(ClientMessage::Pause),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn room_connected_sets_the_client_id() {
        let s = connected();
        assert_eq!(s.client_id(), Some(&ClientId::from("c-1")));
        assert!(s.is_connected());
    }

    #[test]
    fn refused_connect_reports_the_code_and_closes() {
        let mut s = ClientSession::new("tok");
        s.handle_frame(ServerFrame {
            id: Some(RequestId(0)),
            msg: ServerMessage::Error(Status::err(ErrorCode::TokenReused)),
        });
        match &events(&mut s)[..] {
            [SessionEvent::ConnectFailed(e)] => assert_eq!(e.code(), Some(ErrorCode::TokenReused)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(s.is_closed());
        assert_eq!(s.request(ClientMessage::Pause), Err(Error::Closed));
    }

    #[test]
    fn close_before_room_connected_fails_the_connect() {
        let mut s = ClientSession::new("tok");
        s.handle_closed();
        assert_eq!(
            events(&mut s),
            vec![
                SessionEvent::ConnectFailed(Error::Closed),
                SessionEvent::Closed { unanswered: vec![] }
            ]
        );
    }

    #[test]
    fn request_ids_count_up_from_one() {
        let mut s = connected();
        assert_eq!(s.request(ClientMessage::Pause), Ok(RequestId(1)));
        assert_eq!(s.request(ClientMessage::Resume), Ok(RequestId(2)));
        assert_eq!(s.poll_transmit().map(|f| f.id), Some(RequestId(1)));
        assert_eq!(s.poll_transmit().map(|f| f.id), Some(RequestId(2)));
        assert_eq!(
            s.outstanding().collect::<Vec<_>>(),
            vec![RequestId(1), RequestId(2)]
        );
    }

    #[test]
    fn acks_are_matched_by_id_in_any_order() {
        let mut s = connected();
        s.request(ClientMessage::Pause).unwrap();
        s.request(ClientMessage::Resume).unwrap();
        s.handle_frame(ack(2, "second"));
        s.handle_frame(ack(1, "first"));
        assert_eq!(
            events(&mut s),
            vec![
                SessionEvent::Ack(RequestId(2), ack(2, "second")),
                SessionEvent::Ack(RequestId(1), ack(1, "first")),
            ]
        );
        assert_eq!(s.outstanding().count(), 0);
    }

    #[test]
    fn frames_without_id_are_notifications_and_unknown_ids_are_stray() {
        let mut s = connected();
        s.request(ClientMessage::Pause).unwrap();
        let note = ServerFrame {
            id: None,
            msg: ServerMessage::AckPause(Status::ok("x")),
        };
        s.handle_frame(note.clone());
        s.handle_frame(ack(9, "nobody asked"));
        s.handle_frame(ack(1, "mine"));
        s.handle_frame(ack(1, "again"));
        assert_eq!(
            events(&mut s),
            vec![
                SessionEvent::Notification(note),
                SessionEvent::Stray(ack(9, "nobody asked")),
                SessionEvent::Ack(RequestId(1), ack(1, "mine")),
                SessionEvent::Stray(ack(1, "again")),
            ]
        );
    }

    #[test]
    fn garbled_frame_with_an_outstanding_id_finishes_that_request() {
        let mut s = connected();
        s.request(ClientMessage::Pause).unwrap();
        s.handle_text(r#"{"type":"fromTheFuture","id":1}"#);
        s.handle_text("not json");
        let evs = events(&mut s);
        assert!(matches!(
            &evs[..],
            [
                SessionEvent::Garbled {
                    ack_of: Some(RequestId(1)),
                    ..
                },
                SessionEvent::Garbled { ack_of: None, .. }
            ]
        ));
        assert_eq!(s.outstanding().count(), 0);
    }

    #[test]
    fn handle_text_decodes_the_wire_format() {
        let mut s = connected();
        s.request(ClientMessage::Pause).unwrap();
        s.handle_text(r#"{"type":"ackPause","id":1,"result":0,"msg":"Room paused"}"#);
        assert_eq!(
            events(&mut s),
            vec![SessionEvent::Ack(RequestId(1), ack(1, "Room paused"))]
        );
    }

    #[test]
    fn closing_lists_unanswered_requests_and_refuses_new_ones() {
        let mut s = connected();
        s.request(ClientMessage::Pause).unwrap();
        s.request(ClientMessage::Resume).unwrap();
        s.handle_frame(ack(1, "ok"));
        s.handle_closed();
        let evs = events(&mut s);
        assert_eq!(
            evs.last(),
            Some(&SessionEvent::Closed {
                unanswered: vec![RequestId(2)]
            })
        );
        assert_eq!(s.request(ClientMessage::Pause), Err(Error::Closed));
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn a_second_connect_is_passed_on_as_a_request() {
        let mut s = connected();
        let again = ClientMessage::Connect(Connect {
            token: "t".into(),
            resume: None,
            versions: vec![1],
        });
        assert_eq!(s.request(again), Ok(RequestId(1)));
    }
}

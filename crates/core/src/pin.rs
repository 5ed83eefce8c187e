//! Pinned cameras (issue 14): the parent room's pin list, the moderator requests that change
//! it (`pinUsers`, `unpinUsers`) and who is told (`updatePinUsers`).
//!
//! The list is roster state: it names clients of the family, in pin order, at most
//! [`MAX_PINNED`]. It survives moves and drops (a detached client keeps its pin until it leaves)
//! and a restart (it is in the snapshot); a client that leaves the family is unpinned and
//! everyone is told. The media plane gets a copy on every change and ranks the cameras with it
//! (`media::talkers::rank_cameras`): speakers first, then the pinned, then recent speakers. It
//! never reads this file's state.

use crate::family::Family;
use alcove_proto::signal::{PinUsers, ServerMessage, Status, UpdatePinUsers, MAX_PINNED};
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::time::Instant;

impl Family {
    /// `pinUsers`: appends the named clients to the pin list (in request order; those already
    /// pinned keep their place). Checked in this order: the caller is a moderator (5003), on
    /// protocol 4 (1155), names at least one client (1155), every one of them is in the family
    /// (5126), and the list stays within [`MAX_PINNED`] (1155). A refused request changes
    /// nothing.
    pub(crate) fn pin_users(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        req: PinUsers,
    ) {
        let checked = self.check_pin_request(&caller, &req, "pin");
        let ack = match checked {
            Err(status) => status,
            Ok(()) => {
                let mut next = self.pinned.clone();
                for c in req.client_ids {
                    if !next.contains(&c) {
                        next.push(c);
                    }
                }
                if next.len() > MAX_PINNED {
                    Status::err_msg(
                        ErrorCode::InvalidParameters,
                        format!(
                            "pinUsers: at most {MAX_PINNED} pinned clients ({} would be)",
                            next.len()
                        ),
                    )
                } else {
                    self.send(
                        &caller,
                        Some(id),
                        ServerMessage::AckPinUsers(Status::ok("Success")),
                    );
                    self.set_pinned(next, now);
                    return;
                }
            }
        };
        self.send(&caller, Some(id), ServerMessage::AckPinUsers(ack));
    }

    /// `unpinUsers`: removes the named clients from the pin list (one not pinned is no
    /// change). Checked like `pinUsers`, without the bound.
    pub(crate) fn unpin_users(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        req: PinUsers,
    ) {
        if let Err(status) = self.check_pin_request(&caller, &req, "unpin") {
            self.send(&caller, Some(id), ServerMessage::AckUnpinUsers(status));
            return;
        }
        self.send(
            &caller,
            Some(id),
            ServerMessage::AckUnpinUsers(Status::ok("Success")),
        );
        let mut next = self.pinned.clone();
        next.retain(|c| !req.client_ids.contains(c));
        self.set_pinned(next, now);
    }

    /// The checks `pinUsers` and `unpinUsers` share, in order; `verb` names the request in the
    /// texts.
    fn check_pin_request(
        &self,
        caller: &ClientId,
        req: &PinUsers,
        verb: &str,
    ) -> Result<(), Status> {
        if !self.is_moderator(caller) {
            return Err(Status::err_msg(
                ErrorCode::Unauthorized,
                format!("Only moderators may {verb} cameras"),
            ));
        }
        if !self.presence.gets_pins(caller) {
            return Err(Status::err_msg(
                ErrorCode::InvalidParameters,
                format!("{verb}Users: pinning needs protocol version 4"),
            ));
        }
        if req.client_ids.is_empty() {
            return Err(Status::err_msg(
                ErrorCode::InvalidParameters,
                format!("{verb}Users: `clientIds` is empty"),
            ));
        }
        if let Some(unknown) = req
            .client_ids
            .iter()
            .find(|c| !self.clients.contains_key(*c))
        {
            return Err(Status::err_msg(
                ErrorCode::PinInvalidClient,
                format!(
                    "{}: {} is not in this room",
                    ErrorCode::PinInvalidClient.message(),
                    truncate(&unknown.0, 64)
                ),
            ));
        }
        Ok(())
    }

    /// A client left the family: it is unpinned (everyone is told).
    pub(crate) fn unpin_departed(&mut self, client: &ClientId) {
        if self.pinned.contains(client) {
            let mut next = self.pinned.clone();
            next.retain(|c| c != client);
            let now = self.last_now();
            self.set_pinned(next, now);
        }
    }

    /// Replaces the pin list; when it changed, the media plane re-ranks and every protocol-4
    /// client of the family gets `updatePinUsers`.
    fn set_pinned(&mut self, next: Vec<ClientId>, now: Instant) {
        if next == self.pinned {
            return;
        }
        self.pinned = next;
        self.media.set_pins(self.pinned.clone(), now);
        let mut to: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| self.presence.gets_pins(&c.id))
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        to.sort();
        let msg = self.pin_update();
        for (_, c) in to {
            self.send(&c, None, msg.clone());
        }
    }

    /// After `roomConnected` (connect or resume): a protocol-4 client learns a non-empty pin
    /// list (an empty one is what it assumes).
    pub(crate) fn announce_pins_to(&mut self, client: &ClientId) {
        if !self.pinned.is_empty() && self.presence.gets_pins(client) {
            let msg = self.pin_update();
            self.send(client, None, msg);
        }
    }

    fn pin_update(&self) -> ServerMessage {
        ServerMessage::UpdatePinUsers(UpdatePinUsers {
            room_id: self.room_id.clone(),
            client_ids: self.pinned.clone(),
        })
    }
}

/// At most `max` characters of `s` (an id quoted in an error text stays short).
fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Family, FamilyConfig, Input, NewClient, Output};
    use alcove_proto::api::RoomSettings;
    use alcove_proto::signal::{ClientMessage, PinUsers, Role, ServerFrame, ServerMessage};
    use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
    use std::time::{Duration, Instant};

    /// A family without media and a fixed clock origin.
    struct Fam {
        f: Family,
        now: Instant,
        next: u64,
    }

    impl Fam {
        #[allow(clippy::disallowed_methods)] // a test's fixed origin, not the core reading a clock
        fn new() -> Fam {
            let now = Instant::now();
            let config =
                FamilyConfig::new(RoomId::from("parent"), "Pins", RoomSettings::default(), 3);
            Fam {
                f: Family::new(config, now),
                now,
                next: 1,
            }
        }

        /// Everything sent since the last call, as (recipient, frame).
        fn drain(&mut self) -> Vec<(ClientId, ServerFrame)> {
            let mut out = Vec::new();
            loop {
                match self.f.poll_output() {
                    Output::Timeout(_) => return out,
                    Output::Send { to, frame } => out.push((to, frame)),
                    _ => {}
                }
            }
        }

        fn connect(&mut self, name: &str, role: Role, version: u32) -> ClientId {
            let client = ClientId(format!("c-{name}"));
            self.f.handle_input(Input::Connect {
                now: self.now,
                client: client.clone(),
                id: RequestId(0),
                user: NewClient::new(name, role),
                version,
            });
            self.drain();
            client
        }

        /// Sends `msg` from `client`: its ack's (result, msg) and the other frames.
        fn request(
            &mut self,
            client: &ClientId,
            msg: ClientMessage,
        ) -> ((i32, String), Vec<(ClientId, ServerFrame)>) {
            let id = RequestId(self.next);
            self.next += 1;
            self.f.handle_input(Input::Request {
                now: self.now,
                client: client.clone(),
                id,
                msg,
            });
            let mut frames = self.drain();
            let i = frames
                .iter()
                .position(|(to, f)| to == client && f.id == Some(id))
                .expect("an ack");
            assert!(
                frames[..i].iter().all(|(to, _)| to != client),
                "the ack comes first"
            );
            let (_, ack) = frames.remove(i);
            let status = match ack.msg {
                ServerMessage::AckPinUsers(s) | ServerMessage::AckUnpinUsers(s) => {
                    (s.result, s.msg)
                }
                other => panic!("not a pin ack: {other:?}"),
            };
            assert_eq!(self.f.check_invariants(), Ok(()));
            (status, frames)
        }
    }

    fn pin(ids: &[&ClientId]) -> ClientMessage {
        ClientMessage::PinUsers(PinUsers {
            client_ids: ids.iter().map(|c| (*c).clone()).collect(),
        })
    }

    fn unpin(ids: &[&ClientId]) -> ClientMessage {
        ClientMessage::UnpinUsers(PinUsers {
            client_ids: ids.iter().map(|c| (*c).clone()).collect(),
        })
    }

    /// The `updatePinUsers` lists in `frames`, by recipient.
    fn updates(frames: &[(ClientId, ServerFrame)]) -> Vec<(ClientId, Vec<ClientId>)> {
        frames
            .iter()
            .filter_map(|(to, f)| match &f.msg {
                ServerMessage::UpdatePinUsers(u) => Some((to.clone(), u.client_ids.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn refusals_come_in_the_documented_order_and_change_nothing() {
        let mut w = Fam::new();
        let m = w.connect("m", Role::Moderator, 4);
        let old = w.connect("old", Role::Moderator, 3);
        let p = w.connect("p", Role::Participant, 4);
        let code = |r: ((i32, String), Vec<(ClientId, ServerFrame)>)| {
            assert!(updates(&r.1).is_empty(), "a refusal tells nobody");
            r.0 .0
        };
        let unauthorized = ErrorCode::Unauthorized.code();
        let invalid = ErrorCode::InvalidParameters.code();
        assert_eq!(code(w.request(&p, pin(&[&m]))), unauthorized);
        assert_eq!(code(w.request(&p, unpin(&[&m]))), unauthorized);
        // The moderator check comes first: a participant naming nobody is still 5003.
        assert_eq!(code(w.request(&p, pin(&[]))), unauthorized);
        assert_eq!(code(w.request(&old, pin(&[&m]))), invalid);
        assert_eq!(code(w.request(&m, pin(&[]))), invalid);
        assert_eq!(code(w.request(&m, unpin(&[]))), invalid);
        let nobody = ClientId::from("c-nobody");
        let ((result, msg), _) = w.request(&m, pin(&[&p, &nobody]));
        assert_eq!(result, 5126);
        assert_eq!(msg, "Invalid client to pin: c-nobody is not in this room");
        assert_eq!(code(w.request(&m, unpin(&[&nobody]))), 5126);
        assert!(w.f.pinned.is_empty(), "all or none: p was not pinned");
    }

    #[test]
    fn pins_append_in_order_and_everyone_on_protocol_4_is_told() {
        let mut w = Fam::new();
        let m = w.connect("m", Role::Moderator, 4);
        let a = w.connect("a", Role::Participant, 4);
        let b = w.connect("b", Role::Participant, 4);
        let v1 = w.connect("v1", Role::Participant, 1);
        let ((r, _), frames) = w.request(&m, pin(&[&b, &a, &b]));
        assert_eq!(r, 0);
        let want = vec![b.clone(), a.clone()];
        assert_eq!(
            updates(&frames),
            vec![
                (m.clone(), want.clone()),
                (a.clone(), want.clone()),
                (b.clone(), want.clone())
            ],
            "every protocol-4 client, the caller included, in connection order; not {v1}"
        );
        // Pinning again keeps the order and tells nobody; a new one goes last.
        let ((r, _), frames) = w.request(&m, pin(&[&a]));
        assert_eq!((r, updates(&frames).len()), (0, 0));
        let ((r, _), frames) = w.request(&m, pin(&[&m]));
        assert_eq!(r, 0);
        assert_eq!(updates(&frames)[0].1, vec![b.clone(), a.clone(), m.clone()]);
        // Unpinning one not pinned is no change; unpinning b keeps a before m.
        let ((r, _), frames) = w.request(&m, unpin(&[&v1]));
        assert_eq!((r, updates(&frames).len()), (0, 0));
        let ((r, _), frames) = w.request(&m, unpin(&[&b]));
        assert_eq!(r, 0);
        assert_eq!(updates(&frames)[0].1, vec![a.clone(), m.clone()]);
    }

    #[test]
    fn at_most_sixteen_are_pinned() {
        let mut w = Fam::new();
        let m = w.connect("m", Role::Moderator, 4);
        let many: Vec<ClientId> = (0..17)
            .map(|i| w.connect(&format!("p{i}"), Role::Participant, 4))
            .collect();
        let refs: Vec<&ClientId> = many.iter().collect();
        let ((r, msg), _) = w.request(&m, pin(&refs));
        assert_eq!(r, ErrorCode::InvalidParameters.code());
        assert_eq!(msg, "pinUsers: at most 16 pinned clients (17 would be)");
        assert!(w.f.pinned.is_empty());
        let ((r, _), _) = w.request(&m, pin(&refs[..16]));
        assert_eq!(r, 0);
        let ((r, _), _) = w.request(&m, pin(&[&m]));
        assert_eq!(r, ErrorCode::InvalidParameters.code());
        // Pinning one already pinned is fine at the bound.
        let ((r, _), _) = w.request(&m, pin(&refs[3..4]));
        assert_eq!(r, 0);
        assert_eq!(w.f.pinned.len(), 16);
    }

    #[test]
    fn a_client_leaving_is_unpinned_and_a_newcomer_learns_the_list() {
        let mut w = Fam::new();
        let m = w.connect("m", Role::Moderator, 4);
        let a = w.connect("a", Role::Participant, 4);
        let b = w.connect("b", Role::Participant, 4);
        w.request(&m, pin(&[&a, &b]));
        w.f.handle_input(Input::Disconnected {
            now: w.now,
            client: a.clone(),
        });
        let frames = w.drain();
        assert_eq!(
            updates(&frames),
            vec![(m.clone(), vec![b.clone()]), (b.clone(), vec![b.clone()])]
        );
        assert_eq!(w.f.check_invariants(), Ok(()));
        // A newcomer on protocol 4 learns the list right after roomConnected.
        w.f.handle_input(Input::Connect {
            now: w.now,
            client: ClientId::from("c-new"),
            id: RequestId(0),
            user: NewClient::new("new", Role::Participant),
            version: 4,
        });
        let frames: Vec<(ClientId, ServerFrame)> = w
            .drain()
            .into_iter()
            .filter(|(to, _)| to.0 == "c-new")
            .collect();
        let types: Vec<&str> = frames.iter().map(|(_, f)| f.msg.type_name()).collect();
        assert_eq!(types[..2], ["roomConnected", "updatePinUsers"]);
        assert_eq!(updates(&frames)[0].1, vec![b.clone()]);
    }

    #[test]
    fn pins_survive_a_restart_and_the_resume_tells_them_again() {
        let mut w = Fam::new();
        let m = w.connect("m", Role::Moderator, 4);
        let a = w.connect("a", Role::Participant, 4);
        let b = w.connect("b", Role::Participant, 4);
        w.request(&m, pin(&[&b, &a]));
        let snap = w.f.snapshot(w.now);
        assert_eq!(snap.pinned, vec![b.clone(), a.clone()]);
        // Through JSON, as the store keeps it; a damaged copy names a stranger and b twice.
        let mut json: serde_json::Value = serde_json::to_value(&snap).expect("serialises");
        json["pinned"] = serde_json::json!(["c-b", "c-stranger", "c-a", "c-b"]);
        let snap: crate::FamilySnapshot = serde_json::from_value(json).expect("parses");
        let config = FamilyConfig::new(RoomId::from("parent"), "Pins", RoomSettings::default(), 4);
        let later = w.now + Duration::from_secs(2);
        w.f = Family::restore(config, snap, later, Duration::from_secs(2));
        w.now = later;
        assert_eq!(w.f.pinned, vec![b.clone(), a.clone()]);
        assert_eq!(w.f.check_invariants(), Ok(()));
        w.f.handle_input(Input::Resume {
            now: w.now,
            client: m.clone(),
            id: RequestId(9),
            version: 4,
        });
        let frames = w.drain();
        let types: Vec<&str> = frames.iter().map(|(_, f)| f.msg.type_name()).collect();
        assert_eq!(types[..2], ["roomConnected", "updatePinUsers"]);
        assert_eq!(
            updates(&frames),
            vec![(m.clone(), vec![b.clone(), a.clone()])]
        );
        // A snapshot without pins (an older server's) restores with none.
        let mut json = serde_json::to_value(w.f.snapshot(w.now)).expect("serialises");
        json.as_object_mut().expect("an object").remove("pinned");
        let snap: crate::FamilySnapshot = serde_json::from_value(json).expect("parses");
        let config = FamilyConfig::new(RoomId::from("parent"), "Pins", RoomSettings::default(), 5);
        let f = Family::restore(config, snap, w.now, Duration::ZERO);
        assert!(f.pinned.is_empty());
    }
}

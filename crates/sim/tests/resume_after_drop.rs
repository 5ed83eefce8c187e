//! A dropped client keeps its place (location, break-out membership, parent link, invitations)
//! for the grace period and takes it back with `resume`; when the grace period runs out the
//! normal leave applies. A family rebuilt from a snapshot (server restart) gives every client
//! the same chance.

use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Location, Role, ServerMessage};
use alcove_proto::{ClientId, RequestId, RoomId};
use alcove_sim::req;
use std::time::{Duration, Instant};

struct F {
    f: Family,
    now: Instant,
    id: u64,
    sent: Vec<(ClientId, Option<RequestId>, ServerMessage)>,
}

impl F {
    fn new() -> F {
        let now = Instant::now();
        let config = FamilyConfig::new(RoomId::from("p"), "t", RoomSettings::default(), 1);
        F {
            f: Family::new(config, now),
            now,
            id: 0,
            sent: vec![],
        }
    }
    fn input(&mut self, i: Input) {
        self.f.handle_input(i);
        loop {
            match self.f.poll_output() {
                Output::Timeout(_) => break,
                Output::Send { to, frame } => self.sent.push((to, frame.id, frame.msg)),
                _ => {}
            }
        }
        self.f.check_invariants().expect("invariants");
    }
    fn next(&mut self) -> RequestId {
        self.id += 1;
        RequestId(self.id)
    }
    fn connect(&mut self, c: &str, role: Role) -> ClientId {
        let id = self.next();
        let client = ClientId::from(c);
        self.input(Input::Connect {
            now: self.now,
            client: client.clone(),
            id,
            user: NewClient::new(c, role),
            version: 1,
        });
        client
    }
    fn request(&mut self, c: &ClientId, msg: ClientMessage) -> ServerMessage {
        let id = self.next();
        self.input(Input::Request {
            now: self.now,
            client: c.clone(),
            id,
            msg,
        });
        self.sent
            .iter()
            .find(|(_, i, _)| *i == Some(id))
            .map(|x| x.2.clone())
            .expect("ack")
    }
    fn resume(&mut self, c: &ClientId) -> ServerMessage {
        let id = self.next();
        self.input(Input::Resume {
            now: self.now,
            client: c.clone(),
            id,
            version: 1,
        });
        self.sent
            .iter()
            .find(|(_, i, _)| *i == Some(id))
            .map(|x| x.2.clone())
            .expect("ack")
    }
    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.input(Input::Timeout(self.now));
    }
    fn location(&self, c: &ClientId) -> Option<Location> {
        self.f.user(c).map(|u| u.location)
    }
}

fn setup() -> (F, ClientId, ClientId, ClientId, RoomId) {
    let mut t = F::new();
    let m = t.connect("m", Role::Moderator);
    let a = t.connect("a", Role::Participant);
    let b = t.connect("b", Role::Participant);
    let ack = t.request(&m, req::create(2, 2));
    let ServerMessage::AckCreateBreakOutRoom(ack) = ack else {
        panic!()
    };
    let rooms = ack.msg.data().unwrap().rooms.clone();
    let inv = Invitee {
        clients: vec![a.clone()],
        room_id: rooms[0].clone(),
        force_join: true,
    };
    t.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    let inv = Invitee {
        clients: vec![b.clone()],
        room_id: rooms[1].clone(),
        force_join: false,
    };
    t.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    (t, m, a, b, rooms[0].clone())
}

#[test]
fn a_dropped_member_resumes_within_the_grace_period_and_is_still_in_its_breakout_room() {
    let (mut t, _m, a, b, br) = setup();
    t.input(Input::Dropped {
        now: t.now,
        client: a.clone(),
    });
    t.input(Input::Dropped {
        now: t.now,
        client: b.clone(),
    });
    t.sent.clear();
    t.advance(Duration::from_secs(20));
    assert!(
        t.sent
            .iter()
            .all(|(_, _, m)| m.type_name() != "userDisconnected"),
        "nobody leaves during the grace period"
    );
    let ServerMessage::RoomConnected(rc) = t.resume(&a) else {
        panic!("resume answered")
    };
    assert!(rc.resumed);
    assert_eq!(rc.client_id, a);
    let me = rc.users.iter().find(|u| u.client_id == a).unwrap();
    assert_eq!(
        me.location,
        Location::Breakout(br.clone()),
        "back in its break-out room"
    );
    assert!(me.paused);
    let ServerMessage::RoomConnected(rc) = t.resume(&b) else {
        panic!()
    };
    assert_eq!(
        rc.invitations.len(),
        1,
        "its pending invitation is still there"
    );
    // Resumed clients stay past the original grace deadline.
    t.advance(Duration::from_secs(60));
    assert_eq!(t.location(&a), Some(Location::Breakout(br)));
}

#[test]
fn when_the_grace_period_runs_out_the_normal_leave_applies() {
    let (mut t, m, a, _b, br) = setup();
    t.input(Input::Dropped {
        now: t.now,
        client: a.clone(),
    });
    t.sent.clear();
    t.advance(Duration::from_secs(31));
    assert_eq!(t.location(&a), None, "gone");
    let to_m: Vec<&str> = t
        .sent
        .iter()
        .filter(|(to, _, _)| to == &m)
        .map(|(_, _, msg)| msg.type_name())
        .collect();
    assert!(
        to_m.contains(&"didDestroyedBreakoutRoom"),
        "its room emptied and was destroyed: {to_m:?}"
    );
    assert!(to_m.contains(&"userDisconnected"));
    assert!(t.f.breakout_rooms().iter().all(|r| r.room_id != br));
    match t.resume(&a) {
        ServerMessage::Error(s) => assert_eq!(s.result, 4108),
        other => panic!("late resume answered {other:?}"),
    }
}

#[test]
fn a_family_restored_from_a_snapshot_waits_for_everyone_to_resume() {
    let (t, _m, a, b, br) = setup();
    let snap = t.f.snapshot(t.now);
    let json = serde_json::to_string(&snap).unwrap();
    let config = FamilyConfig::new(RoomId::from("p"), "t", RoomSettings::default(), 2);
    let now = Instant::now();
    let mut r = F {
        f: Family::restore(
            config,
            serde_json::from_str(&json).unwrap(),
            now,
            Duration::ZERO,
        ),
        now,
        id: 100,
        sent: vec![],
    };
    r.f.check_invariants().unwrap();
    assert_eq!(r.f.breakout_rooms().len(), 2);
    let ServerMessage::RoomConnected(rc) = r.resume(&a) else {
        panic!()
    };
    assert_eq!(
        rc.users.iter().find(|u| u.client_id == a).unwrap().location,
        Location::Breakout(br)
    );
    assert!(!rc.media_kept, "media does not survive a restart");
    let ServerMessage::RoomConnected(rc) = r.resume(&b) else {
        panic!()
    };
    assert_eq!(rc.invitations.len(), 1);
    // The moderator never comes back: it leaves after the grace period; the others stay.
    r.advance(Duration::from_secs(31));
    assert_eq!(r.f.client_count(), 2);
}

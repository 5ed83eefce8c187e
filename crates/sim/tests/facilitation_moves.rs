//! Issue 10, moves in one step (spec "Moves in one step"): a moderator moves a client from
//! break-out room A to B, or from the parent to B; a member switches rooms with
//! `joinBreakoutRoom` (invited, self-select, or moderator). The mover's parent link stays paused
//! throughout: no route of the move ever puts it in the parent, and at the media level it never
//! hears the parent. A is destroyed when the move empties it. Refusals: 1738, 1743, 1740,
//! 5003, 1736, and 1739 for the room one is in.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    ClientMessage, ConnectedBreakoutRoom, DidDisconnectedBreakoutRoom, Invitee, JoinRole,
    LeaveReason, Location, Role, RoomDefinition, ServerMessage,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld, World};
use std::collections::BTreeSet;
use std::time::Duration;

struct Cast {
    w: World,
    mia: ClientId,
    pat: ClientId,
    quinn: ClientId,
    rhea: ClientId,
    a: RoomId,
    b: RoomId,
}

/// Mia (moderator, parent); Pat and Quinn in A; Rhea in the parent; B empty, 2 places, alive
/// (never joined).
fn cast() -> Cast {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rhea = w.connect("Rhea", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    let (a, b) = (rooms[0].clone(), rooms[1].clone());
    w.invite_and_join(&mia, &pat, &a);
    w.invite_and_join(&mia, &quinn, &a);
    w.clear_inboxes();
    Cast {
        w,
        mia,
        pat,
        quinn,
        rhea,
        a,
        b,
    }
}

/// Every route the core emitted for `client` since `from` (an index into the route log) keeps
/// it out of the parent: never located there, never with its parent link resumed.
fn never_in_the_parent(w: &World, client: &ClientId, from: usize) {
    for r in &w.route_log()[from..] {
        if &r.client == client {
            assert!(
                matches!(r.location, Some(Location::Breakout(_))) && r.paused,
                "the move routed {client} through the parent: {r:?}"
            );
        }
    }
}

fn moved(from: &RoomId, to: &RoomId) -> ServerMessage {
    ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
        Some(from.clone()),
        LeaveReason::Moved,
        Location::Breakout(to.clone()),
    ))
}

#[test]
fn moderator_moves_a_member_from_a_to_b_in_one_step() {
    let mut c = cast();
    let log = c.w.route_log().len();
    let ack = c.w.request(&c.mia, req::move_to(&c.pat, &c.b));
    assert_eq!(req::result(&ack), 0, "{ack:?}");
    never_in_the_parent(&c.w, &c.pat, log);
    assert!(
        c.w.route_log()[log..]
            .iter()
            .filter(|r| r.client == c.pat)
            .count()
            == 1,
        "re-routed once"
    );
    let inb = c.w.drain_all();
    // Pat: connectedBreakoutRoom (no id) for B, then didDisconnectedBreakoutRoom {A, moved, B}.
    let types: Vec<&str> = inb
        .types(&c.pat)
        .into_iter()
        .filter(|t| ["connectedBreakoutRoom", "didDisconnectedBreakoutRoom"].contains(t))
        .collect();
    assert_eq!(
        types,
        ["connectedBreakoutRoom", "didDisconnectedBreakoutRoom"]
    );
    match inb.one(&c.pat, "connectedBreakoutRoom") {
        ServerMessage::ConnectedBreakoutRoom(ConnectedBreakoutRoom { result, room }) => {
            assert_eq!((*result, &room.room_id), (0, &c.b))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        inb.one(&c.pat, "didDisconnectedBreakoutRoom"),
        &moved(&c.a, &c.b)
    );
    // A's remaining member is told Pat left.
    assert_eq!(
        inb.find(&c.quinn, "didUserDisconnectedFromBreakoutRoom")
            .len(),
        1
    );
    let u = c.w.user(&c.pat);
    assert_eq!(u.location, Location::Breakout(c.b.clone()));
    assert!(u.paused, "the parent link stayed paused");
    assert!(c.w.breakout(&c.a).is_some(), "A still has Quinn");
    assert!(!c.w.hears(&c.pat, &c.mia) && !c.w.hears(&c.mia, &c.pat));
}

#[test]
fn a_emptied_by_a_move_is_destroyed() {
    let mut c = cast();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&c.pat, &c.b))),
        0
    );
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&c.quinn, &c.b))),
        0
    );
    assert!(c.w.breakout(&c.a).is_none(), "A emptied and destroyed");
    let inb = c.w.drain_all();
    inb.assert_sent("didDestroyedBreakoutRoom", &[&c.mia]);
    assert_eq!(
        inb.one(&c.quinn, "didDisconnectedBreakoutRoom"),
        &moved(&c.a, &c.b)
    );
}

#[test]
fn moderator_moves_from_the_parent_a_forced_join_consuming_the_invitation() {
    let mut c = cast();
    c.w.invite_to(&c.mia, &c.b, &[&c.rhea]);
    c.w.clear_inboxes();
    let log = c.w.route_log().len();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&c.rhea, &c.b))),
        0
    );
    let u = c.w.user(&c.rhea);
    assert_eq!(u.location, Location::Breakout(c.b.clone()));
    assert!(u.paused);
    let info = c.w.breakout(&c.b).expect("live");
    assert!(info.invitations.is_empty(), "the invitation is consumed");
    // From the parent the route goes straight to B, paused.
    never_in_the_parent(&c.w, &c.rhea, log);
    let inb = c.w.drain_all();
    assert_eq!(inb.find(&c.rhea, "connectedBreakoutRoom").len(), 1);
    assert!(inb.find(&c.rhea, "didDisconnectedBreakoutRoom").is_empty());
}

#[test]
fn a_moderator_target_joins_as_moderator_and_takes_no_place() {
    let mut c = cast();
    let max = c.w.connect("Max", Role::Moderator);
    // A is full (2 of 2); a moderator still fits.
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&max, &c.a))),
        0
    );
    let info = c.w.breakout(&c.a).expect("live");
    assert_eq!(info.members.len(), 3);
    // A participant does not (1738).
    let ack = c.w.request(&c.mia, req::move_to(&c.rhea, &c.a));
    assert_eq!(req::result(&ack), 1738);
}

#[test]
fn move_refusals() {
    let mut c = cast();
    let rhea = c.rhea.clone();
    let (a, b) = (c.a.clone(), c.b.clone());
    let gone = c.w.connect("Gone", Role::Participant);
    c.w.drop_client(&gone);
    c.w.clear_inboxes();
    for (who, msg, code) in [
        (c.pat.clone(), req::move_to(&rhea, &b), 5003),
        (c.rhea.clone(), req::move_to(&rhea, &b), 5003),
        (
            c.mia.clone(),
            req::move_to(&rhea, &RoomId::from("nope")),
            1736,
        ),
        (
            c.mia.clone(),
            req::move_to(&ClientId("c999".into()), &b),
            1740,
        ),
        (c.mia.clone(), req::move_to(&gone, &b), 1740),
        (c.mia.clone(), req::move_to(&c.pat.clone(), &a), 1743),
        (c.mia.clone(), req::move_to(&rhea, &a), 1738),
    ] {
        let log = c.w.route_log().len();
        let ack = c.w.request(&who, msg);
        assert_eq!(req::result(&ack), code, "{ack:?}");
        assert_eq!(c.w.route_log().len(), log, "a refused move moved someone");
        assert!(c.w.drain_all().is_empty());
    }
}

#[test]
fn a_member_switches_rooms_with_join_when_invited() {
    let mut c = cast();
    c.w.invite_to(&c.mia, &c.b, &[&c.pat]);
    c.w.clear_inboxes();
    let log = c.w.route_log().len();
    let ack = c.w.request(&c.pat, req::join(&c.b, JoinRole::Participant));
    match &ack.msg {
        ServerMessage::ConnectedBreakoutRoom(cb) => {
            assert_eq!((cb.result, &cb.room.room_id), (0, &c.b))
        }
        other => panic!("{other:?}"),
    }
    never_in_the_parent(&c.w, &c.pat, log);
    let inb = c.w.drain_all();
    assert_eq!(
        inb.one(&c.pat, "didDisconnectedBreakoutRoom"),
        &moved(&c.a, &c.b)
    );
    assert!(
        inb.find(&c.pat, "connectedBreakoutRoom").is_empty(),
        "the ack said it"
    );
    assert!(c.w.breakout(&c.b).expect("live").invitations.is_empty());
    // Joining the room one is in: 1739.
    let ack = c.w.request(&c.pat, req::join(&c.b, JoinRole::Participant));
    assert_eq!(req::result(&ack), 1739);
    // Back to A without an invitation: 1737.
    let ack = c.w.request(&c.pat, req::join(&c.a, JoinRole::Participant));
    assert_eq!(req::result(&ack), 1737);
}

#[test]
fn a_member_switches_into_a_self_select_room_and_a_moderator_anywhere() {
    let mut c = cast();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::set_self_select(Some(&c.b), true))),
        0
    );
    let ack =
        c.w.request(&c.quinn, req::join(&c.b, JoinRole::Participant));
    assert!(
        matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
        "{ack:?}"
    );
    assert_eq!(c.w.location(&c.quinn), Location::Breakout(c.b.clone()));
    // A full self-select room: 1738.
    let ack = c.w.request(&c.rhea, req::join(&c.b, JoinRole::Participant));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    let ack = c.w.request(&c.pat, req::join(&c.b, JoinRole::Participant));
    assert_eq!(req::result(&ack), 1738);
    // A moderator switches between rooms freely.
    let ack = c.w.request(&c.mia, req::join(&c.a, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    c.w.clear_inboxes();
    let log = c.w.route_log().len();
    let ack = c.w.request(&c.mia, req::join(&c.b, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    never_in_the_parent(&c.w, &c.mia, log);
    assert_eq!(
        c.w.drain_all().one(&c.mia, "didDisconnectedBreakoutRoom"),
        &moved(&c.a, &c.b)
    );
}

// ----- media: the mover never hears the parent, at any step -----

fn round(w: &mut MediaWorld, talkers: &[(&ClientId, &str)], ms: u64) {
    for _ in 0..ms / 20 {
        for (c, name) in talkers {
            w.talk(c, format!("{name}:").as_bytes());
        }
        w.pump(Duration::from_millis(20));
    }
}

fn heard(w: &mut MediaWorld, c: &ClientId) -> BTreeSet<String> {
    w.take_heard(c).iter().map(|h| stamp(&h.data)).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_mover_never_hears_the_parent_while_moved_or_switching() {
    let mut w = MediaWorld::new(RoomSettings::default(), 13);
    let m = w.join("M", Role::Moderator);
    let p = w.join("P", Role::Participant);
    let a1 = w.join("A1", Role::Participant);
    let b1 = w.join("B1", Role::Participant);
    let x = w.join("X", Role::Participant);
    let ack = w.request(
        &m,
        req::create_with(RoomDefinition {
            ..req::definition(3, 2)
        }),
    );
    let rooms = req::rooms(&ack);
    let (ra, rb) = (rooms[0].clone(), rooms[1].clone());
    for (who, room) in [(&a1, &ra), (&b1, &rb), (&x, &ra)] {
        let inv = Invitee {
            clients: vec![who.clone()],
            room_id: room.clone(),
            force_join: true,
        };
        assert_eq!(
            w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
                .msg
                .result(),
            Some(0)
        );
    }
    let all = [(&m, "M"), (&p, "P"), (&a1, "A1"), (&b1, "B1"), (&x, "X")];
    round(&mut w, &all, 600);
    for (c, _) in all {
        heard(&mut w, c);
    }
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &x), set(&["A1"]), "X in A hears only A1");

    // Moved A -> B by the moderator, everyone talking: after the move input and at every
    // step after it, X hears nobody from the parent.
    assert_eq!(w.request(&m, req::move_to(&x, &rb)).msg.result(), Some(0));
    let parent = set(&["M", "P"]);
    for _ in 0..30 {
        round(&mut w, &all, 20);
        let h = heard(&mut w, &x);
        assert!(
            h.is_disjoint(&parent),
            "X heard the parent during the move: {h:?}"
        );
    }
    round(&mut w, &all, 400);
    heard(&mut w, &x);
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &x), set(&["B1"]), "X now hears B");
    assert!(!heard(&mut w, &m).contains("X"), "the parent never hears X");

    // Switch back B -> A with joinBreakoutRoom (self-select on A).
    assert_eq!(
        w.request(&m, req::set_self_select(Some(&ra), true))
            .msg
            .result(),
        Some(0)
    );
    let ack = w.request(&x, req::join(&ra, JoinRole::Participant));
    assert!(
        matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
        "{ack:?}"
    );
    for _ in 0..30 {
        round(&mut w, &all, 20);
        let h = heard(&mut w, &x);
        assert!(
            h.is_disjoint(&parent),
            "X heard the parent during the switch: {h:?}"
        );
        assert!(!heard(&mut w, &m).contains("X"));
    }
    round(&mut w, &all, 400);
    heard(&mut w, &x);
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &x), set(&["A1"]));

    // From the parent: P is moved straight into B and never hears... the parent after it.
    assert_eq!(w.request(&m, req::move_to(&p, &rb)).msg.result(), Some(0));
    round(&mut w, &all, 600);
    heard(&mut w, &p);
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &p), set(&["B1"]));
}

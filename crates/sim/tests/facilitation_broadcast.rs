//! Issue 10, broadcast (spec "Broadcast"): a moderator's text reaches every connected client
//! located in the chosen rooms (break-out ids and/or the parent's id; all when absent), the
//! caller excluded, each told its own room; the text is sanitised; 1155 / 1736 / 5003; at most
//! 10 per 60 s per moderator (sliding), then 4006, and allowed again once the window passed.

use alcove_proto::signal::{BroadcastReceived, Role, ServerMessage};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, World};
use std::time::Duration;

struct Cast {
    w: World,
    mia: ClientId,
    max: ClientId,
    pat: ClientId,
    quinn: ClientId,
    rhea: ClientId,
    vic: ClientId,
    b1: RoomId,
    b2: RoomId,
}

/// Mia, Max (moderators, parent); Pat in B1; Quinn in B2; Rhea (parent); Vic (viewer, parent).
fn cast() -> Cast {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rhea = w.connect("Rhea", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let rooms = w.create_rooms(&mia, 2, 2);
    let (b1, b2) = (rooms[0].clone(), rooms[1].clone());
    w.invite_and_join(&mia, &pat, &b1);
    w.invite_and_join(&mia, &quinn, &b2);
    w.clear_inboxes();
    Cast {
        w,
        mia,
        max,
        pat,
        quinn,
        rhea,
        vic,
        b1,
        b2,
    }
}

fn recipients(ack: &alcove_proto::signal::ServerFrame) -> u32 {
    match &ack.msg {
        ServerMessage::AckBroadcastMessage(a) => {
            assert_eq!(a.result, 0, "{a:?}");
            a.recipients
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn to_everyone_caller_excluded_each_told_its_room() {
    let mut c = cast();
    let ack =
        c.w.request(&c.mia, req::broadcast("Five minutes left", None));
    assert_eq!(recipients(&ack), 5);
    let inb = c.w.drain_all();
    inb.assert_sent(
        "broadcastReceived",
        &[&c.max, &c.pat, &c.quinn, &c.rhea, &c.vic],
    );
    let parent = RoomId::from("parent");
    for (who, room) in [
        (&c.max, &parent),
        (&c.rhea, &parent),
        (&c.vic, &parent),
        (&c.pat, &c.b1),
        (&c.quinn, &c.b2),
    ] {
        assert_eq!(
            inb.one(who, "broadcastReceived"),
            &ServerMessage::BroadcastReceived(BroadcastReceived {
                from: c.w.user_ref(&c.mia),
                text: "Five minutes left".into(),
                at: c.w.unix_ms(),
                room_id: room.clone(),
            }),
            "{who}"
        );
    }
}

#[test]
fn to_chosen_rooms_only_including_the_parent_by_its_id() {
    let mut c = cast();
    let ack =
        c.w.request(&c.mia, req::broadcast("B1 only", Some(&[&c.b1])));
    assert_eq!(recipients(&ack), 1);
    c.w.drain_all().assert_sent("broadcastReceived", &[&c.pat]);

    let parent = RoomId::from("parent");
    let ack =
        c.w.request(&c.max, req::broadcast("hi", Some(&[&parent, &c.b2])));
    assert_eq!(recipients(&ack), 4);
    c.w.drain_all()
        .assert_sent("broadcastReceived", &[&c.mia, &c.quinn, &c.rhea, &c.vic]);

    // A moderator inside a room gets it there; a detached client does not.
    c.w.request(
        &c.max,
        req::join(&c.b1, alcove_proto::signal::JoinRole::Moderator),
    );
    c.w.drop_connection(&c.pat);
    c.w.clear_inboxes();
    let ack =
        c.w.request(&c.mia, req::broadcast("B1 again", Some(&[&c.b1, &c.b1])));
    assert_eq!(recipients(&ack), 1);
    let inb = c.w.drain_all();
    inb.assert_sent("broadcastReceived", &[&c.max]);
    assert_eq!(
        c.w.discarded(&c.pat),
        0,
        "nothing was addressed to the detached Pat"
    );
}

#[test]
fn text_is_trimmed_and_control_characters_removed() {
    let mut c = cast();
    let ack = c.w.request(
        &c.mia,
        req::broadcast("  \u{7}Line one\n\tline\u{1b} two\r  ", Some(&[&c.b1])),
    );
    assert_eq!(recipients(&ack), 1);
    let inb = c.w.drain_all();
    match inb.one(&c.pat, "broadcastReceived") {
        ServerMessage::BroadcastReceived(b) => assert_eq!(b.text, "Line one\n\tline two"),
        other => panic!("{other:?}"),
    }
    // Exactly 1000 characters after trimming is fine; 1001 is not.
    let long = "é".repeat(1000);
    let ack =
        c.w.request(&c.mia, req::broadcast(&format!("  {long}  "), None));
    assert_eq!(recipients(&ack), 5);
    c.w.clear_inboxes();
    let ack = c.w.request(&c.mia, req::broadcast(&"x".repeat(1001), None));
    assert_eq!(req::result(&ack), 1155);
}

#[test]
fn refusals_1155_1736_5003_send_nothing() {
    let mut c = cast();
    let b1 = c.b1.clone();
    for (who, msg, code) in [
        (c.mia.clone(), req::broadcast("   \u{0}\u{7}  ", None), 1155),
        (c.mia.clone(), req::broadcast("", None), 1155),
        (c.mia.clone(), req::broadcast("hi", Some(&[])), 1155),
        (
            c.mia.clone(),
            req::broadcast("hi", Some(&[&b1, &RoomId::from("nope")])),
            1736,
        ),
        (c.pat.clone(), req::broadcast("hi", None), 5003),
        (c.rhea.clone(), req::broadcast("hi", None), 5003),
        (c.vic.clone(), req::broadcast("hi", None), 5003),
    ] {
        let ack = c.w.request(&who, msg);
        assert_eq!(req::result(&ack), code, "{ack:?}");
        assert!(
            c.w.drain_all().is_empty(),
            "a refused broadcast sent something"
        );
    }
}

#[test]
fn ten_a_minute_per_moderator_then_4006_then_allowed_again() {
    let mut c = cast();
    for i in 0..10 {
        let ack =
            c.w.request(&c.mia, req::broadcast(&format!("m{i}"), Some(&[&c.b1])));
        assert_eq!(req::result(&ack), 0, "broadcast {i}");
        c.w.advance(Duration::from_secs(5));
    }
    // +50 s: the 11th within the window is refused and reaches nobody.
    c.w.clear_inboxes();
    let ack = c.w.request(&c.mia, req::broadcast("too many", None));
    assert_eq!(req::result(&ack), 4006);
    assert!(c.w.drain_all().is_empty());
    // Another moderator has its own budget.
    assert_eq!(
        req::result(&c.w.request(&c.max, req::broadcast("mine", Some(&[&c.b1])))),
        0
    );
    // The window slides: at +60 s the first one (sent at +0) has left it.
    c.w.advance(Duration::from_secs(9));
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::broadcast("still", None))),
        4006
    );
    c.w.advance(Duration::from_secs(1));
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::broadcast("again", Some(&[&c.b1])))),
        0
    );
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::broadcast("and", Some(&[&c.b1])))),
        4006,
        "only one left the window"
    );
    c.w.advance(Duration::from_secs(60));
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::broadcast("later", Some(&[&c.b1])))),
        0
    );
    // Refused broadcasts did not use up the budget: invalid ones do not count either.
    let _ = (&c.b2, &c.quinn);
}

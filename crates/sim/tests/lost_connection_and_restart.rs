//! The world's lost connections and restarts (`World::drop_connection`, `World::resume`,
//! `World::restart`): a detached client stays in the family and is told nothing (frames
//! addressed to it are discarded), resumes with its place and pending invitations, and leaves
//! as by a leave when the grace period runs out, after which nothing may be addressed to it.

use alcove_core::CloseReason;
use alcove_proto::signal::{Location, Role, ServerMessage};
use alcove_proto::ErrorCode;
use alcove_sim::{req, Connection, World};
use std::time::Duration;

#[test]
fn a_detached_client_is_told_nothing_and_resumes_where_it_was() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();

    w.drop_connection(&pat);
    assert_eq!(w.connection(&pat), Connection::Detached);
    assert_eq!(w.detached(), vec![pat.clone()]);
    assert_eq!(w.in_family(), vec![mia.clone(), pat.clone(), quinn.clone()]);
    assert!(
        w.drain_all().is_empty(),
        "nobody is told of a lost connection"
    );

    // While detached: invited (the invitation is kept), others move; it receives nothing.
    w.invite_to(&mia, &rooms[1], &[&pat]);
    w.invite_and_join(&mia, &quinn, &rooms[0]);
    assert!(w.take_inbox(&pat).is_empty());
    assert!(w.discarded(&pat) >= 3, "invitation, userJoined, userMoved…");
    w.clear_inboxes();

    w.advance(Duration::from_secs(29));
    let ack = w.resume(&pat);
    let ServerMessage::RoomConnected(rc) = ack.msg else {
        panic!("resume answered {ack:?}")
    };
    assert!(rc.resumed);
    assert_eq!(rc.invitations, vec![rooms[1].clone()]);
    assert!(!rc.media_kept);
    assert_eq!(w.connection(&pat), Connection::Connected);
    assert_eq!(w.location(&pat), Location::Breakout(rooms[0].clone()));
    assert!(w.drain_all().is_empty(), "nobody is told of a resume");
    // Its old grace deadline no longer applies.
    w.advance(Duration::from_secs(60));
    assert_eq!(w.connection(&pat), Connection::Connected);
}

#[test]
fn when_the_grace_period_runs_out_it_leaves_and_nothing_more_is_addressed_to_it() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();

    w.drop_connection(&pat);
    w.advance(Duration::from_secs(29));
    assert_eq!(w.connection(&pat), Connection::Detached);
    w.advance(Duration::from_secs(1));
    assert_eq!(w.connection(&pat), Connection::Expired);
    assert!(w.route(&pat).is_some_and(|r| r.location.is_none()));
    let n = w.drain_all();
    n.assert_sent("userDisconnected", &[&mia]);
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia]);
    assert!(
        w.live_rooms().is_empty(),
        "its room emptied and was destroyed"
    );

    // Later frames to everyone never reach it (the world would panic on one addressed to it).
    let quinn = w.connect("Quinn", Role::Participant);
    assert_eq!(w.drain_all().recipients("userConnected"), vec![mia.clone()]);

    let ack = w.resume(&pat);
    assert_eq!(req::result(&ack), ErrorCode::ResumeFailed.code());
    assert_eq!(w.connection(&pat), Connection::Closed(CloseReason::Refused));
    assert_eq!(w.in_family(), vec![mia, quinn]);
}

#[test]
fn with_no_grace_period_a_lost_connection_is_a_leave() {
    let mut w = World::with_resume_grace(Default::default(), 5, Duration::ZERO);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    w.drop_connection(&pat);
    assert_eq!(w.connection(&pat), Connection::Expired);
    w.drain_all().assert_sent("userDisconnected", &[&mia]);
}

#[test]
fn a_restart_detaches_everyone_and_keeps_every_place() {
    let mut w = World::with_defaults(6);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.invite_to(&mia, &rooms[1], &[&quinn]);
    w.drop_connection(&quinn);
    w.advance(Duration::from_secs(10));
    w.clear_inboxes();

    let users = w.family().users();
    w.restart();
    assert_eq!(w.restarts(), 1);
    assert_eq!(w.family().users(), users);
    assert_eq!(w.detached(), vec![mia.clone(), pat.clone(), quinn.clone()]);
    assert!(w.connected().is_empty());

    // Everyone has the grace period from the restart, Quinn too (its drop was before).
    w.advance(Duration::from_secs(25));
    for c in [&mia, &pat] {
        let ack = w.resume(c);
        assert!(
            matches!(ack.msg, ServerMessage::RoomConnected(_)),
            "{ack:?}"
        );
    }
    let ServerMessage::RoomConnected(rc) = w.resume(&quinn).msg else {
        panic!("Quinn's resume refused")
    };
    assert_eq!(rc.invitations, vec![rooms[1].clone()]);
    assert_eq!(w.location(&pat), Location::Breakout(rooms[0].clone()));
    assert!(w.drain_all().is_empty());

    // A second restart, and only Mia comes back: Pat's room empties and is destroyed.
    w.restart();
    let _ = w.resume(&mia);
    w.advance(Duration::from_secs(30));
    assert_eq!(w.in_family(), vec![mia.clone()]);
    assert_eq!(w.connection(&pat), Connection::Expired);
    let n = w.drain_all();
    assert_eq!(n.find(&mia, "userDisconnected").len(), 2);
    assert_eq!(n.find(&mia, "didDestroyedBreakoutRoom").len(), 1);
    assert_eq!(w.live_rooms(), vec![rooms[1].clone()]);
}

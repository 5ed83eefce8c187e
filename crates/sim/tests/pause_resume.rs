//! `pause()` / `resume()` of the parent link: `ackPause {0, "Room paused"}` /
//! `ackResume {0, "Room resumed"}`; everyone else sees the paused state change once
//! (`userPaused`), and only when it changes; media follows: a resumed member of a break-out
//! room hears the parent and is heard there, a paused one neither.

use alcove_proto::signal::{ClientMessage, Role, ServerMessage, Status, UserPaused};
use alcove_sim::World;

#[test]
fn a_member_resumes_and_pauses_the_parent_from_a_breakout_room() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();
    assert!(!w.hears(&pat, &mia) && !w.hears(&mia, &pat));

    let ack = w.request(&pat, ClientMessage::Resume);
    assert_eq!(
        ack.msg,
        ServerMessage::AckResume(Status::ok("Room resumed"))
    );
    assert!(!w.user(&pat).paused);
    let n = w.drain_all();
    let resumed = ServerMessage::UserPaused(UserPaused {
        client_id: pat.clone(),
        paused: false,
    });
    assert_eq!(n.of(&mia), std::slice::from_ref(&resumed));
    assert_eq!(n.of(&quinn), [resumed]);
    assert!(n.of(&pat).is_empty());
    assert!(
        w.hears(&pat, &mia) && w.hears(&mia, &pat),
        "resumed: parent both ways"
    );
    assert!(w.hears(&quinn, &pat));

    let ack = w.request(&pat, ClientMessage::Pause);
    assert_eq!(ack.msg, ServerMessage::AckPause(Status::ok("Room paused")));
    assert!(w.user(&pat).paused);
    let n = w.drain_all();
    n.assert_sent("userPaused", &[&mia, &quinn]);
    assert!(!w.hears(&pat, &mia) && !w.hears(&mia, &pat));
}

#[test]
fn pausing_twice_acks_twice_but_tells_the_others_once() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();

    assert_eq!(
        w.request(&pat, ClientMessage::Pause).msg,
        ServerMessage::AckPause(Status::ok("Room paused"))
    );
    assert_eq!(
        w.request(&pat, ClientMessage::Pause).msg,
        ServerMessage::AckPause(Status::ok("Room paused"))
    );
    let n = w.drain_all();
    n.assert_sent("userPaused", &[&mia]);

    w.request(&pat, ClientMessage::Resume);
    w.request(&pat, ClientMessage::Resume);
    let n = w.drain_all();
    n.assert_sent("userPaused", &[&mia]);
    let ServerMessage::UserPaused(p) = n.one(&mia, "userPaused") else {
        unreachable!()
    };
    assert!(!p.paused);
}

#[test]
fn resuming_when_never_paused_tells_nobody() {
    let mut w = World::with_defaults(3);
    let _mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    assert_eq!(
        w.request(&pat, ClientMessage::Resume).msg,
        ServerMessage::AckResume(Status::ok("Room resumed"))
    );
    assert!(w.drain_all().is_empty());
}

#[test]
fn a_client_in_the_parent_who_pauses_leaves_the_parent_audio_both_ways() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    assert!(w.hears(&pat, &mia));
    w.request(&pat, ClientMessage::Pause);
    assert!(!w.hears(&pat, &mia) && !w.hears(&mia, &pat));
    w.request(&pat, ClientMessage::Resume);
    assert!(w.hears(&pat, &mia) && w.hears(&mia, &pat));
}

#[test]
fn every_pause_change_reaches_the_media_plane() {
    let mut w = World::with_defaults(5);
    let _mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.request(&pat, ClientMessage::Pause);
    assert!(w.route(&pat).unwrap().paused);
    w.request(&pat, ClientMessage::Resume);
    assert!(!w.route(&pat).unwrap().paused);
}

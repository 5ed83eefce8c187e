//! `clearAllBreakOutSession()`: the caller leaves the break-out room it is in and resumes the
//! parent: as `disconnect()` (ack, `didUserDisconnectedFromBreakoutRoom` to those left), plus
//! `didDisconnectedBreakoutRoom {room_id}` to the room's owner. From the parent it only
//! resumes: ack with no room.

use alcove_proto::signal::{
    ClientMessage, DidDisconnectedBreakoutRoom, LeaveReason, Location, Role, ServerMessage,
};
use alcove_sim::World;

#[test]
fn a_member_clears_all_and_the_owner_is_told() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.invite_and_join(&mia, &quinn, &room);
    w.clear_inboxes();

    let ack = w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    let disconnected = DidDisconnectedBreakoutRoom::because(
        Some(room.clone()),
        LeaveReason::Left,
        Location::Parent,
    );
    assert_eq!(
        ack.msg,
        ServerMessage::DidDisconnectedBreakoutRoom(disconnected.clone())
    );
    assert_eq!(disconnected.msg, "Breakout Room disconnected");
    // The owner is told too, but as a notice: it is not the one who moves (it stays where it
    // is, here the parent), which the frame says.
    let owner_notice = DidDisconnectedBreakoutRoom::because(
        Some(room.clone()),
        LeaveReason::OwnerNotice,
        Location::Parent,
    );
    let u = w.user(&pat);
    assert_eq!(u.location, Location::Parent);
    assert!(!u.paused);

    let n = w.drain_all();
    assert_eq!(
        n.find(&mia, "didDisconnectedBreakoutRoom"),
        [&ServerMessage::DidDisconnectedBreakoutRoom(owner_notice)]
    );
    n.assert_sent("didDisconnectedBreakoutRoom", &[&mia]);
    n.assert_sent("didUserDisconnectedFromBreakoutRoom", &[&quinn]);
    n.assert_sent("userMoved", &[&mia, &max, &quinn]);
    n.assert_sent("userPaused", &[&mia, &max, &quinn]);
    n.assert_none("didDestroyedBreakoutRoom");
}

#[test]
fn the_owner_clearing_all_gets_only_its_ack() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.request(
        &mia,
        alcove_sim::req::join(&room, alcove_proto::signal::JoinRole::Moderator),
    );
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();
    w.request(&mia, ClientMessage::ClearAllBreakOutSession);
    let n = w.drain_all();
    n.assert_none("didDisconnectedBreakoutRoom");
    n.assert_sent("didUserDisconnectedFromBreakoutRoom", &[&pat]);
}

#[test]
fn the_last_member_clearing_all_destroys_the_room() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();
    w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    assert!(w.live_rooms().is_empty());
    let n = w.drain_all();
    assert_eq!(
        n.types(&mia),
        [
            "userMoved",
            "userPaused",
            "didDisconnectedBreakoutRoom",
            "didDestroyedBreakoutRoom"
        ]
    );
    n.assert_none("didUserDisconnectedFromBreakoutRoom");
}

#[test]
fn from_the_parent_it_only_resumes() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.create_rooms(&mia, 3, 1);
    w.clear_inboxes();

    let ack = w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    assert_eq!(
        ack.msg,
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
            None,
            LeaveReason::Left,
            Location::Parent
        ))
    );
    assert!(w.drain_all().is_empty(), "nothing changed, nobody told");

    w.request(&pat, ClientMessage::Pause);
    w.clear_inboxes();
    w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    assert!(!w.user(&pat).paused);
    let n = w.drain_all();
    n.assert_sent("userPaused", &[&mia]);
    assert_eq!(n.len(), 1);
}

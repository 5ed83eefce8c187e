//! A break-out room nobody joined is destroyed `breakout_empty_timeout` seconds (default 300)
//! after it was created: `didDestroyedBreakoutRoom` to the owner and every moderator, pending
//! invitations withdrawn. A room someone joined is not subject to the timeout.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Role, RoomRef, ServerMessage, WithdrawReason};
use alcove_sim::World;
use std::time::Duration;

#[test]
fn an_unjoined_room_lives_exactly_the_default_five_minutes() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let owner = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&owner, 2, 1).remove(0);
    w.invite_to(&owner, &room, &[&pat]);
    w.clear_inboxes();

    w.advance(Duration::from_millis(299_999));
    assert!(w.breakout(&room).is_some(), "alive until the timeout");
    assert!(w.drain_all().is_empty());

    w.advance(Duration::from_millis(1));
    assert!(w.breakout(&room).is_none(), "destroyed at 300 s");
    let n = w.drain_all();
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia, &max, &owner]);
    assert_eq!(
        n.of(&mia),
        [ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
            room_id: room.clone()
        })]
    );
    n.assert_sent("breakoutInvitationWithdrawn", &[&pat]);
    let ServerMessage::BreakoutInvitationWithdrawn(wd) = n.one(&pat, "breakoutInvitationWithdrawn")
    else {
        unreachable!()
    };
    assert_eq!(
        (wd.room_id.clone(), wd.reason),
        (room, WithdrawReason::Destroyed)
    );
    assert_eq!(n.len(), 4);

    w.advance(Duration::from_secs(3600));
    assert!(w.drain_all().is_empty(), "destroyed once");
}

#[test]
fn the_core_asks_to_be_woken_at_the_deadline() {
    let settings = RoomSettings {
        breakout_empty_timeout: 30,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 2);
    let mia = w.connect("Mia", Role::Moderator);
    let created = w.now();
    w.create_rooms(&mia, 2, 1);
    assert_eq!(w.deadline(), created + Duration::from_secs(30));
}

#[test]
fn each_room_has_its_own_deadline() {
    let settings = RoomSettings {
        breakout_empty_timeout: 30,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 3);
    let mia = w.connect("Mia", Role::Moderator);
    let first = w.create_rooms(&mia, 2, 1).remove(0);
    w.advance(Duration::from_secs(20));
    let second = w.create_rooms(&mia, 2, 1).remove(0);
    w.clear_inboxes();

    w.advance(Duration::from_secs(10));
    assert_eq!(w.live_rooms(), vec![second.clone()]);
    assert_eq!(
        w.notifications(&mia),
        [ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
            room_id: first
        })]
    );
    w.advance(Duration::from_secs(19));
    assert_eq!(w.live_rooms(), vec![second.clone()]);
    w.advance(Duration::from_secs(1));
    assert!(w.live_rooms().is_empty());
    assert_eq!(
        w.notifications(&mia),
        [ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
            room_id: second
        })]
    );
}

#[test]
fn one_long_advance_destroys_every_expired_room_once() {
    let settings = RoomSettings {
        breakout_empty_timeout: 30,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 4);
    let mia = w.connect("Mia", Role::Moderator);
    w.create_rooms(&mia, 2, 3);
    w.advance(Duration::from_secs(5));
    w.create_rooms(&mia, 2, 2);
    w.clear_inboxes();
    w.advance(Duration::from_secs(7200));
    assert!(w.live_rooms().is_empty());
    let n = w.drain_all();
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia; 5]);
}

#[test]
fn a_joined_room_outlives_the_timeout() {
    let settings = RoomSettings {
        breakout_empty_timeout: 30,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 5);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.advance(Duration::from_secs(29));
    w.invite_and_join(&mia, &pat, &room);
    w.advance(Duration::from_secs(3600));
    assert!(w.breakout(&room).is_some());
    assert_eq!(
        w.location(&pat),
        alcove_proto::signal::Location::Breakout(room)
    );
}

#[test]
fn a_request_after_the_deadline_sees_the_room_gone() {
    let settings = RoomSettings {
        breakout_empty_timeout: 30,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 6);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_to(&mia, &room, &[&pat]);
    w.advance(Duration::from_secs(30));
    let ack = w.request(
        &pat,
        alcove_sim::req::join(&room, alcove_proto::signal::JoinRole::Participant),
    );
    assert_eq!(alcove_sim::req::result(&ack), 1736);
}

//! Any moderator may join any live break-out room without an invitation, as moderator or as
//! participant; an invitation it held is consumed; members already inside are told.

use alcove_proto::signal::{JoinRole, Location, Role, ServerMessage, UserJoinedBreakoutRoom};
use alcove_sim::{req, World};

#[test]
fn a_moderator_joins_a_room_it_was_not_invited_to() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&pat, 2, 1).remove(0);
    w.invite_and_join(&pat, &pat, &room);
    w.clear_inboxes();

    let ack = w.request(&max, req::join(&room, JoinRole::Moderator));
    let ServerMessage::ConnectedBreakoutRoom(c) = &ack.msg else {
        panic!("{ack:?}")
    };
    assert_eq!(c.room.members, vec![w.user_ref(&pat), w.user_ref(&max)]);
    assert_eq!(w.location(&max), Location::Breakout(room.clone()));
    assert!(w.user(&max).paused);
    let n = w.drain_all();
    assert_eq!(
        n.find(&pat, "userJoinedBreakoutRoom"),
        [&ServerMessage::UserJoinedBreakoutRoom(
            UserJoinedBreakoutRoom {
                client_id: max.clone(),
                name: "Max".into(),
                room_id: room.clone(),
            }
        )]
    );
    n.assert_sent("userJoinedBreakoutRoom", &[&pat]);
    n.assert_sent("userMoved", &[&mia, &pat]);
    assert!(w.hears(&max, &pat) && w.hears(&pat, &max));
}

#[test]
fn a_held_invitation_is_consumed_when_a_moderator_joins() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_to(&mia, &room, &[&max]);
    w.request(&max, req::join(&room, JoinRole::Participant));
    assert!(w.breakout(&room).unwrap().invitations.is_empty());
}

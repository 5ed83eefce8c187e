//! Connections that drop in the middle of a break-out session: a member that drops leaves its
//! room (those left get `didUserDisconnectedFromBreakoutRoom`, everyone gets
//! `userDisconnected`), its invitations vanish, an owner that drops leaves its rooms alive
//! (and is no longer told anything), and later invitations of a dropped client are 1740.

use alcove_proto::signal::{
    ClientMessage, DidUserDisconnectedFromBreakoutRoom, JoinRole, Role, ServerMessage, UserRef,
};
use alcove_proto::ErrorCode;
use alcove_sim::{req, Connection, World};
use std::time::Duration;

#[test]
fn a_member_drops_and_the_members_left_are_told() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.invite_and_join(&mia, &quinn, &room);
    w.clear_inboxes();

    w.drop_client(&pat);
    assert_eq!(w.connection(&pat), Connection::Dropped);
    assert_eq!(w.breakout(&room).unwrap().members, vec![w.user_ref(&quinn)]);
    let n = w.drain_all();
    assert_eq!(
        n.of(&quinn),
        [
            ServerMessage::DidUserDisconnectedFromBreakoutRoom(
                DidUserDisconnectedFromBreakoutRoom {
                    client_id: pat.clone(),
                    name: "Pat".into(),
                    room: room.clone(),
                }
            ),
            ServerMessage::UserDisconnected(UserRef {
                client_id: pat.clone(),
                name: "Pat".into()
            }),
        ]
    );
    n.assert_sent("userDisconnected", &[&mia, &quinn, &ros]);
    assert_eq!(n.len(), 4);
    assert_eq!(
        w.route(&pat).unwrap().location,
        None,
        "no media to or from a dropped client"
    );
    assert!(!w.hears(&quinn, &pat));
}

#[test]
fn a_dropped_invitee_loses_its_invitations_silently() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 2);
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.invite_to(&mia, &rooms[1], &[&pat]);
    w.clear_inboxes();
    w.drop_client(&pat);
    for r in &rooms {
        assert!(w.breakout(r).unwrap().invitations.is_empty());
    }
    assert_eq!(w.drain_all().types(&mia), ["userDisconnected"]);

    let ack = w.request(&mia, req::invite(&rooms[0], &[&pat], false));
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!()
    };
    assert_eq!(a.failed[0].result, ErrorCode::ClientNotConnected.code());
}

#[test]
fn an_owner_who_drops_leaves_its_room_alive_and_moderators_are_told_of_its_end() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&olga, 3, 1).remove(0);
    w.invite_and_join(&olga, &pat, &room);
    w.drop_client(&olga);
    let b = w
        .breakout(&room)
        .expect("the room outlives its owner's connection");
    assert_eq!(b.owner.client_id, olga, "the owner stays the owner");
    w.clear_inboxes();

    // Only a moderator can invite now.
    let quinn = w.connect("Quinn", Role::Participant);
    w.invite_to(&mia, &room, &[&quinn]);
    w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    assert!(w.breakout(&room).is_none());
    let n = w.drain_all();
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia]);
    n.assert_sent("didDisconnectedBreakoutRoom", &[]);
    n.assert_sent("breakoutInvitationWithdrawn", &[&quinn]);
}

#[test]
fn a_moderator_member_drops_last_and_the_other_moderators_are_told() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.request(&mia, req::join(&room, JoinRole::Moderator));
    w.clear_inboxes();
    w.drop_client(&mia);
    assert!(w.live_rooms().is_empty());
    let n = w.drain_all();
    assert_eq!(
        n.types(&max),
        ["userDisconnected", "didDestroyedBreakoutRoom"]
    );
}

#[test]
fn everyone_drops_and_the_family_is_idle() {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.drop_client(&pat);
    w.drop_client(&mia);
    assert!(w.family().is_idle());
    assert_eq!(
        w.live_rooms(),
        vec![rooms[1].clone()],
        "the unjoined room waits for its timeout"
    );
    w.advance(Duration::from_secs(300));
    assert!(w.live_rooms().is_empty());
}

#[test]
fn a_client_reconnecting_is_a_new_client_in_the_parent() {
    let mut w = World::with_defaults(6);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.request(&mia, req::join(&room, JoinRole::Moderator));
    w.invite_and_join(&mia, &pat, &room);
    w.drop_client(&pat);
    let pat2 = w.connect("Pat", Role::Participant);
    assert_ne!(pat, pat2);
    assert_eq!(w.location(&pat2), alcove_proto::signal::Location::Parent);
    assert_eq!(
        req::result(&w.request(&pat2, req::join(&room, JoinRole::Participant))),
        1737
    );
}

//! `inviteToBreakOutRoom` with `force_join`: every invitee that can be moved is invited and
//! moved at once (as by `joinBreakoutRoom`: location, auto-pause, `connectedBreakoutRoom`,
//! `userJoinedBreakoutRoom`); an invitee in another room (1739) or beyond the room's free
//! places (1738) is listed in `failed` and gets nothing.

use alcove_proto::signal::{
    ConnectedBreakoutRoom, InvitationForBreakoutRoom, JoinRole, Location, Role, ServerMessage,
};
use alcove_proto::ErrorCode;
use alcove_sim::{req, World};

#[test]
fn invitees_are_moved_at_once() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.clear_inboxes();

    let ack = w.request(&mia, req::invite(&room, &[&pat, &quinn], true));
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!("{ack:?}")
    };
    assert_eq!((a.result, a.msg.as_str()), (0, "Success"));
    assert_eq!(a.invited, vec![pat.clone(), quinn.clone()]);
    assert!(a.failed.is_empty());

    for c in [&pat, &quinn] {
        let u = w.user(c);
        assert_eq!(u.location, Location::Breakout(room.clone()));
        assert!(u.paused);
    }
    let b = w.breakout(&room).unwrap();
    assert_eq!(b.members, vec![w.user_ref(&pat), w.user_ref(&quinn)]);
    assert!(
        b.invitations.is_empty(),
        "a forced invitation is consumed by the move"
    );

    let n = w.drain_all();
    let invitation = ServerMessage::InvitationForBreakoutRoom(InvitationForBreakoutRoom {
        room_id: room.clone(),
        requestor: w.user_ref(&mia),
        force_join: true,
    });
    // Pat: told, moved (unsolicited connectedBreakoutRoom), then sees Quinn join and move.
    assert_eq!(
        n.types(&pat),
        [
            "invitationForBreakoutRoom",
            "connectedBreakoutRoom",
            "userJoinedBreakoutRoom",
            "userMoved",
            "userPaused"
        ]
    );
    assert_eq!(n.of(&pat)[0], invitation);
    let ServerMessage::ConnectedBreakoutRoom(ConnectedBreakoutRoom {
        result: 0,
        room: info,
    }) = &n.of(&pat)[1]
    else {
        panic!()
    };
    assert_eq!(info.room_id, room);
    // Quinn: told, sees Pat move, then is moved itself.
    assert_eq!(
        n.types(&quinn),
        [
            "invitationForBreakoutRoom",
            "userMoved",
            "userPaused",
            "connectedBreakoutRoom"
        ]
    );
    n.assert_sent("connectedBreakoutRoom", &[&pat, &quinn]);
    n.assert_sent("userJoinedBreakoutRoom", &[&pat]);
    n.assert_sent("breakoutRoomInvited", &[&mia, &max]);
    n.assert_sent("invitationForBreakoutRoom", &[&pat, &quinn]);
    assert_eq!(
        n.types(&ros),
        ["userMoved", "userPaused", "userMoved", "userPaused"]
    );
    assert!(w.hears(&pat, &quinn) && !w.hears(&pat, &ros));
}

#[test]
fn an_invitee_in_another_room_fails_with_1739_and_gets_nothing() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();

    let ack = w.request(&mia, req::invite(&rooms[1], &[&pat, &quinn], true));
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!()
    };
    assert_eq!(a.invited, vec![quinn.clone()]);
    assert_eq!(a.failed.len(), 1);
    assert_eq!(
        (&a.failed[0].client_id, a.failed[0].result),
        (&pat, ErrorCode::AlreadyInBreakoutRoom.code())
    );
    assert_eq!(w.location(&pat), Location::Breakout(rooms[0].clone()));
    assert!(w.breakout(&rooms[1]).unwrap().invitations.is_empty());
    let n = w.drain_all();
    n.assert_sent("invitationForBreakoutRoom", &[&quinn]);
    assert!(n.find(&pat, "invitationForBreakoutRoom").is_empty());
    assert!(n.find(&pat, "connectedBreakoutRoom").is_empty());
}

#[test]
fn invitees_beyond_the_free_places_fail_with_1738() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let sam = w.connect("Sam", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.request(&mia, req::join(&room, JoinRole::Moderator)); // a moderator takes no place
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();

    let ack = w.request(&mia, req::invite(&room, &[&quinn, &ros, &sam], true));
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!()
    };
    assert_eq!(a.invited, vec![quinn.clone()], "one free place");
    let failed: Vec<_> = a
        .failed
        .iter()
        .map(|f| (f.client_id.clone(), f.result))
        .collect();
    assert_eq!(failed, vec![(ros.clone(), 1738), (sam.clone(), 1738)]);
    let b = w.breakout(&room).unwrap();
    assert_eq!(b.members.len(), 3);
    let n = w.drain_all();
    n.assert_sent("invitationForBreakoutRoom", &[&quinn]);
    n.assert_sent("connectedBreakoutRoom", &[&quinn]);
    n.assert_sent("userJoinedBreakoutRoom", &[&mia, &pat]);
    assert_eq!(w.location(&ros), Location::Parent);
}

#[test]
fn a_paused_invitee_is_moved_without_a_second_pause_notice() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.request(&pat, alcove_proto::signal::ClientMessage::Pause);
    w.clear_inboxes();
    w.request(&mia, req::invite(&room, &[&pat], true));
    let n = w.drain_all();
    assert_eq!(
        n.types(&mia),
        ["breakoutRoomInvited", "userMoved"],
        "already paused: no userPaused"
    );
    assert!(w.user(&pat).paused);
}

//! The break-out flow: the owner invites users, each invitee is told, every moderator is told;
//! an invitee joins: it gets `connectedBreakoutRoom`, those already in the room get
//! `userJoinedBreakoutRoom`, everyone else sees it move and pause; its invitation is consumed
//! and it hears only its break-out room.

use alcove_proto::signal::{
    AckInviteBreakOutRoom, BreakoutRoomInvited, ConnectedBreakoutRoom, InvitationForBreakoutRoom,
    JoinRole, Location, Role, ServerMessage, UserJoinedBreakoutRoom, UserMoved, UserPaused,
};
use alcove_sim::{req, World};

#[test]
fn invite_then_join_one_after_the_other() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.clear_inboxes();

    // Invite.
    let ack = w.request(&mia, req::invite(&room, &[&pat, &quinn], false));
    assert_eq!(
        ack.msg,
        ServerMessage::AckInviteBreakOutRoom(AckInviteBreakOutRoom {
            result: 0,
            msg: "Success".into(),
            invited: vec![pat.clone(), quinn.clone()],
            failed: vec![],
        })
    );
    let n = w.drain_all();
    let invitation = ServerMessage::InvitationForBreakoutRoom(InvitationForBreakoutRoom {
        room_id: room.clone(),
        requestor: w.user_ref(&mia),
        force_join: false,
    });
    assert_eq!(n.of(&pat), std::slice::from_ref(&invitation));
    assert_eq!(n.of(&quinn), [invitation]);
    let invited = ServerMessage::BreakoutRoomInvited(BreakoutRoomInvited {
        room_id: room.clone(),
        clients: vec![pat.clone(), quinn.clone()],
        requestor: w.user_ref(&mia),
    });
    assert_eq!(n.of(&mia), std::slice::from_ref(&invited));
    assert_eq!(n.of(&max), [invited]);
    assert!(n.of(&ros).is_empty() && n.of(&vic).is_empty());
    assert_eq!(
        w.breakout(&room).unwrap().invitations,
        vec![pat.clone(), quinn.clone()]
    );
    assert_eq!(
        w.location(&pat),
        Location::Parent,
        "an invitation alone moves nobody"
    );

    // Pat joins first: nobody is in the room to be told.
    let ack = w.request(&pat, req::join(&room, JoinRole::Participant));
    let ServerMessage::ConnectedBreakoutRoom(ConnectedBreakoutRoom {
        result: 0,
        room: info,
    }) = &ack.msg
    else {
        panic!("expected connectedBreakoutRoom, got {ack:?}");
    };
    assert_eq!(info.room_id, room);
    assert_eq!(info.name, "Breakout 1");
    assert_eq!(info.members, vec![w.user_ref(&pat)]);
    assert_eq!(
        info.invitations,
        vec![quinn.clone()],
        "Pat's invitation is consumed"
    );
    let pat_user = w.user(&pat);
    assert_eq!(pat_user.location, Location::Breakout(room.clone()));
    assert!(pat_user.paused, "joining pauses the parent link");
    let n = w.drain_all();
    n.assert_none("userJoinedBreakoutRoom");
    let moved = ServerMessage::UserMoved(UserMoved {
        client_id: pat.clone(),
        location: Location::Breakout(room.clone()),
    });
    let paused = ServerMessage::UserPaused(UserPaused {
        client_id: pat.clone(),
        paused: true,
    });
    for other in [&mia, &max, &quinn, &ros, &vic] {
        assert_eq!(
            n.of(other),
            [moved.clone(), paused.clone()],
            "presence seen by {other}"
        );
    }
    assert!(n.of(&pat).is_empty());

    // Quinn joins: Pat, already inside, is told.
    w.join_room(&quinn, &room);
    let n = w.drain_all();
    let joined = ServerMessage::UserJoinedBreakoutRoom(UserJoinedBreakoutRoom {
        client_id: quinn.clone(),
        name: "Quinn".into(),
        room_id: room.clone(),
    });
    n.assert_sent("userJoinedBreakoutRoom", &[&pat]);
    assert_eq!(n.find(&pat, "userJoinedBreakoutRoom"), [&joined]);
    n.assert_sent("userMoved", &[&mia, &max, &pat, &ros, &vic]);
    n.assert_sent("userPaused", &[&mia, &max, &pat, &ros, &vic]);
    let b = w.breakout(&room).unwrap();
    assert_eq!(b.members, vec![w.user_ref(&pat), w.user_ref(&quinn)]);
    assert!(b.invitations.is_empty());

    // What the users notice: Pat and Quinn hear each other and not the parent, and back.
    assert!(w.hears(&pat, &quinn) && w.hears(&quinn, &pat));
    for parent in [&mia, &max, &ros, &vic] {
        assert!(!w.hears(&pat, parent) && !w.hears(parent, &pat));
    }
    assert!(w.hears(&mia, &ros), "the parent goes on");
}

#[test]
fn the_owner_who_is_a_participant_may_invite() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let room = w.create_rooms(&pat, 2, 1).remove(0);
    w.clear_inboxes();

    w.invite_to(&pat, &room, &[&quinn]);
    let n = w.drain_all();
    assert_eq!(
        n.of(&quinn),
        [ServerMessage::InvitationForBreakoutRoom(
            InvitationForBreakoutRoom {
                room_id: room.clone(),
                requestor: w.user_ref(&pat),
                force_join: false,
            }
        )]
    );
    n.assert_sent("breakoutRoomInvited", &[&mia]);
    assert!(
        n.of(&pat).is_empty(),
        "the participant owner gets only the ack"
    );
}

#[test]
fn a_moderator_who_does_not_own_the_room_may_invite() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.clear_inboxes();
    w.invite_to(&max, &room, &[&pat]);
    let n = w.drain_all();
    n.assert_sent("invitationForBreakoutRoom", &[&pat]);
    n.assert_sent("breakoutRoomInvited", &[&mia, &max]);
    let ServerMessage::BreakoutRoomInvited(b) = n.one(&mia, "breakoutRoomInvited") else {
        unreachable!()
    };
    assert_eq!(b.requestor, w.user_ref(&max));
}

#[test]
fn inviting_again_keeps_a_single_invitation_and_invites_may_be_held_for_several_rooms() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.invite_to(&mia, &rooms[1], &[&pat]);
    assert_eq!(
        w.breakout(&rooms[0]).unwrap().invitations,
        vec![pat.clone()]
    );
    assert_eq!(
        w.breakout(&rooms[1]).unwrap().invitations,
        vec![pat.clone()]
    );
    w.join_room(&pat, &rooms[1]);
    assert_eq!(
        w.breakout(&rooms[0]).unwrap().invitations,
        vec![pat.clone()],
        "joining one room leaves the other invitation pending"
    );
    // One room at a time: joining the other room switches in one step (out of rooms[1],
    // which empties and is destroyed, straight into rooms[0]).
    assert_eq!(
        req::result(&w.request(&pat, req::join(&rooms[0], JoinRole::Participant))),
        0
    );
    assert_eq!(w.user(&pat).location, Location::Breakout(rooms[0].clone()));
    assert!(w.user(&pat).paused, "never back in the parent on the way");
    assert!(w.breakout(&rooms[1]).is_none(), "the emptied room is gone");
}

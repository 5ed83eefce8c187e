//! `disconnect()` on a break-out room handle: the member returns to the parent, its parent
//! link auto-resumed: ack `didDisconnectedBreakoutRoom {room_id, moderatorId:"", msg:"Breakout
//! Room disconnected", result:0}`; everyone left in the room gets
//! `didUserDisconnectedFromBreakoutRoom {clientId, name, room}`; everyone else sees it move back
//! and resume. Not a member: 1741; unknown room: 1736.

use alcove_proto::signal::{
    DidDisconnectedBreakoutRoom, DidUserDisconnectedFromBreakoutRoom, LeaveReason, Location, Role,
    ServerMessage, UserMoved, UserPaused,
};
use alcove_proto::RoomId;
use alcove_sim::{req, World};

#[test]
fn a_member_disconnects_and_is_back_in_the_parent_resumed() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.invite_and_join(&mia, &quinn, &room);
    w.clear_inboxes();

    let ack = w.request(&pat, req::disconnect(&room));
    assert_eq!(
        ack.msg,
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom {
            room_id: Some(room.clone()),
            moderator_id: String::new(),
            msg: "Breakout Room disconnected".into(),
            result: 0,
            reason: Some(LeaveReason::Left),
            location: Some(Location::Parent),
        })
    );
    let u = w.user(&pat);
    assert_eq!(u.location, Location::Parent);
    assert!(!u.paused, "auto-resumed");
    assert_eq!(w.breakout(&room).unwrap().members, vec![w.user_ref(&quinn)]);

    let n = w.drain_all();
    let left =
        ServerMessage::DidUserDisconnectedFromBreakoutRoom(DidUserDisconnectedFromBreakoutRoom {
            client_id: pat.clone(),
            name: "Pat".into(),
            room: room.clone(),
        });
    let moved = ServerMessage::UserMoved(UserMoved {
        client_id: pat.clone(),
        location: Location::Parent,
    });
    let resumed = ServerMessage::UserPaused(UserPaused {
        client_id: pat.clone(),
        paused: false,
    });
    assert_eq!(n.of(&quinn), [left, moved.clone(), resumed.clone()]);
    assert_eq!(n.of(&mia), [moved.clone(), resumed.clone()]);
    assert_eq!(n.of(&ros), [moved, resumed]);
    assert!(n.of(&pat).is_empty());
    n.assert_none("didDestroyedBreakoutRoom");

    assert!(w.hears(&pat, &mia) && w.hears(&mia, &pat) && w.hears(&pat, &ros));
    assert!(!w.hears(&pat, &quinn) && !w.hears(&quinn, &pat));
}

#[test]
fn a_member_who_had_resumed_sees_no_second_resume() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.invite_and_join(&mia, &quinn, &room);
    w.request(&pat, alcove_proto::signal::ClientMessage::Resume);
    w.clear_inboxes();
    w.request(&pat, req::disconnect(&room));
    let n = w.drain_all();
    assert_eq!(n.types(&mia), ["userMoved"]);
    n.assert_none("userPaused");
}

#[test]
fn disconnecting_from_a_room_one_is_not_in_is_1741_and_an_unknown_room_1736() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();

    for (who, room, code) in [
        (&pat, &rooms[1], 1741),
        (&mia, &rooms[0], 1741),
        (&pat, &RoomId::from("nope"), 1736),
        (&mia, &RoomId::from("nope"), 1736),
    ] {
        let ack = w.request(who, req::disconnect(room));
        let ServerMessage::DidDisconnectedBreakoutRoom(d) = &ack.msg else {
            panic!("{ack:?}")
        };
        assert_eq!(d.result, code, "{who} disconnecting from {room}");
        assert!(!d.msg.is_empty());
    }
    assert_eq!(w.location(&pat), Location::Breakout(rooms[0].clone()));
    assert!(w.drain_all().is_empty());
}

//! Invitation errors: the request as a whole fails for an unknown room (1736), a caller who is
//! neither the owner nor a moderator (5003, see authorization.rs) and an empty `clients` list
//! (1155); single invitees fail inside a successful ack: not connected 1740, already a member
//! 1743. A failed invitee gets nothing and is not listed to the moderators.

use alcove_proto::signal::{AckInviteBreakOutRoom, InviteFailure, Role, ServerMessage};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::{req, World};

fn failure(client: &ClientId, code: ErrorCode) -> InviteFailure {
    InviteFailure {
        client_id: client.clone(),
        result: code.code(),
        msg: code.message().to_owned(),
    }
}

#[test]
fn an_unknown_room_is_1736() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    let ack = w.request(
        &mia,
        req::invite(&RoomId::from("no-such-room"), &[&pat], false),
    );
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!("{ack:?}")
    };
    assert_eq!(a.result, 1736);
    assert!(a.invited.is_empty() && a.failed.is_empty());
    assert!(w.drain_all().is_empty());
}

#[test]
fn a_destroyed_room_is_1736() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.request(
        &mia,
        alcove_proto::signal::ClientMessage::DestroyAllBreakOutSession,
    );
    w.clear_inboxes();
    assert_eq!(
        req::result(&w.request(&mia, req::invite(&room, &[&pat], true))),
        1736
    );
    assert!(w.drain_all().is_empty());
}

#[test]
fn an_empty_client_list_is_1155() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.clear_inboxes();
    let ack = w.request(&mia, req::invite(&room, &[], false));
    assert_eq!(req::result(&ack), 1155);
    assert!(w.drain_all().is_empty());
}

#[test]
fn invitees_not_connected_or_already_members_fail_alone() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let gone = w.connect("Gone", Role::Participant);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.drop_client(&gone);
    w.clear_inboxes();

    let ghost = ClientId::from("c999");
    let ack = w.request(
        &max,
        req::invite(&room, &[&ghost, &pat, &quinn, &gone, &quinn], false),
    );
    assert_eq!(
        ack.msg,
        ServerMessage::AckInviteBreakOutRoom(AckInviteBreakOutRoom {
            result: 0,
            msg: "Success".into(),
            invited: vec![quinn.clone()],
            failed: vec![
                failure(&ghost, ErrorCode::ClientNotConnected),
                failure(&pat, ErrorCode::AlreadyMember),
                failure(&gone, ErrorCode::ClientNotConnected),
            ],
        }),
        "a client listed twice is invited once"
    );
    let n = w.drain_all();
    n.assert_sent("invitationForBreakoutRoom", &[&quinn]);
    n.assert_sent("breakoutRoomInvited", &[&mia, &max]);
    let ServerMessage::BreakoutRoomInvited(b) = n.one(&mia, "breakoutRoomInvited") else {
        unreachable!()
    };
    assert_eq!(
        b.clients,
        vec![quinn.clone()],
        "only the invited are listed"
    );
    assert!(n.of(&pat).is_empty(), "a failed invitee gets nothing");
    assert_eq!(n.len(), 3);
    assert_eq!(w.breakout(&room).unwrap().invitations, vec![quinn.clone()]);
}

#[test]
fn when_every_invitee_fails_nobody_is_told() {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.clear_inboxes();
    let ghost = ClientId::from("c999");
    let ack = w.request(&mia, req::invite(&room, &[&ghost], false));
    let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
        panic!()
    };
    assert_eq!((a.result, a.invited.len(), a.failed.len()), (0, 0, 1));
    assert!(w.drain_all().is_empty());
    assert!(w.breakout(&room).unwrap().invitations.is_empty());
}

#[test]
fn without_force_join_a_client_in_another_room_may_be_invited() {
    let mut w = World::with_defaults(6);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();
    w.invite_to(&mia, &rooms[1], &[&pat]);
    let n = w.drain_all();
    n.assert_sent("invitationForBreakoutRoom", &[&pat]);
    assert_eq!(
        w.location(&pat),
        Location::Breakout(rooms[0].clone()),
        "not moved"
    );
}

use alcove_proto::signal::Location;

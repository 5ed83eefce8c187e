//! `rejectBreakOutRoom`: an invitee turns an invitation down: `ackRejectBreakoutRoom
//! {result:0, msg:"Success"}`, every moderator gets `breakoutRoomInviteRejected {room_id,
//! clientId, name}`, the invitation is gone (a later join is 1737). Without an invitation: 1737;
//! an unknown room: 1736.

use alcove_proto::signal::{BreakoutRoomInviteRejected, JoinRole, Role, ServerMessage, Status};
use alcove_proto::{ErrorCode, RoomId};
use alcove_sim::{req, World};

#[test]
fn an_invitee_rejects_and_every_moderator_is_told() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let owner = w.connect("Olga", Role::Participant);
    let room = w.create_rooms(&owner, 2, 1).remove(0);
    w.invite_to(&owner, &room, &[&pat, &quinn]);
    w.clear_inboxes();

    let ack = w.request(&pat, req::reject(&room));
    assert_eq!(
        ack.msg,
        ServerMessage::AckRejectBreakoutRoom(Status::ok("Success"))
    );
    assert_eq!(w.breakout(&room).unwrap().invitations, vec![quinn.clone()]);
    let n = w.drain_all();
    let rejected = ServerMessage::BreakoutRoomInviteRejected(BreakoutRoomInviteRejected {
        room_id: room.clone(),
        client_id: pat.clone(),
        name: "Pat".into(),
    });
    assert_eq!(n.of(&mia), std::slice::from_ref(&rejected));
    assert_eq!(n.of(&max), [rejected]);
    assert_eq!(
        n.len(),
        2,
        "not the owner (a participant), not the invitee, nobody else"
    );

    assert_eq!(
        req::result(&w.request(&pat, req::join(&room, JoinRole::Participant))),
        1737
    );
    w.join_room(&quinn, &room);
}

#[test]
fn rejecting_without_an_invitation_is_1737_and_an_unknown_room_1736() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_to(&mia, &room, &[&pat]);
    w.request(&pat, req::reject(&room));
    w.clear_inboxes();

    let again = w.request(&pat, req::reject(&room));
    assert_eq!(
        again.msg,
        ServerMessage::AckRejectBreakoutRoom(Status::err(ErrorCode::NotInvited))
    );
    let unknown = w.request(&pat, req::reject(&RoomId::from("nope")));
    assert_eq!(
        unknown.msg,
        ServerMessage::AckRejectBreakoutRoom(Status::err(ErrorCode::BreakoutRoomNotFound))
    );
    let never = w.request(&mia, req::reject(&room));
    assert_eq!(
        req::result(&never),
        1737,
        "a moderator holds no invitation either"
    );
    assert!(w.drain_all().is_empty());
}

#[test]
fn a_member_cannot_reject_the_room_it_is_in() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    assert_eq!(req::result(&w.request(&pat, req::reject(&room))), 1737);
}

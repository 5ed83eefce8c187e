//! `joinBreakoutRoom` refusals, each answered by `failedJoinBreakOutRoom {result, msg}` with
//! its code, in this order of checks: video 1735; already in that break-out room 1739; room
//! unknown 1736; no invitation 1737; a participant claiming `moderator` 1742; room full 1738.
//! A refused join changes nothing (the invitation stays) and tells nobody.

use alcove_proto::signal::{JoinRole, Location, Role, ServerMessage, Status};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::{req, World};

fn assert_refused(
    w: &mut World,
    who: &ClientId,
    msg: alcove_proto::signal::ClientMessage,
    code: ErrorCode,
) {
    let before_users = w.family().users();
    let before_rooms = w.family().breakout_rooms();
    let ack = w.request(who, msg);
    assert_eq!(
        ack.msg,
        ServerMessage::FailedJoinBreakOutRoom(Status {
            result: code.code(),
            msg: code.message().to_owned()
        })
    );
    assert_eq!(
        w.family().users(),
        before_users,
        "a refused join moves nobody"
    );
    assert_eq!(w.family().breakout_rooms(), before_rooms);
    assert!(w.drain_all().is_empty(), "a refused join tells nobody");
}

struct Cast {
    w: World,
    mia: ClientId,
    pat: ClientId,
    quinn: ClientId,
    ros: ClientId,
    rooms: Vec<RoomId>,
}

fn cast() -> Cast {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.clear_inboxes();
    Cast {
        w,
        mia,
        pat,
        quinn,
        ros,
        rooms,
    }
}

#[test]
fn video_is_1735() {
    let Cast {
        mut w,
        pat,
        mia,
        rooms,
        ..
    } = cast();
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &pat,
        req::join_with_video(&rooms[0], JoinRole::Participant),
        ErrorCode::VideoNotSupported,
    );
    assert_eq!(
        w.breakout(&rooms[0]).unwrap().invitations,
        vec![pat.clone()],
        "the invitation stays"
    );
}

#[test]
fn joining_the_room_one_is_in_is_1739() {
    let Cast {
        mut w,
        pat,
        mia,
        rooms,
        ..
    } = cast();
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::AlreadyInBreakoutRoom,
    );
    // A moderator too.
    w.request(&mia, req::join(&rooms[0], JoinRole::Moderator));
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &mia,
        req::join(&rooms[0], JoinRole::Moderator),
        ErrorCode::AlreadyInBreakoutRoom,
    );
}

#[test]
fn joining_another_room_from_a_room_without_an_invitation_is_1737() {
    let Cast {
        mut w,
        pat,
        mia,
        rooms,
        ..
    } = cast();
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[1], JoinRole::Participant),
        ErrorCode::NotInvited,
    );
    assert_eq!(
        w.user(&pat).location,
        Location::Breakout(rooms[0].clone()),
        "still where it was"
    );
}

#[test]
fn an_unknown_or_destroyed_room_is_1736() {
    let Cast {
        mut w,
        pat,
        mia,
        rooms,
        ..
    } = cast();
    assert_refused(
        &mut w,
        &pat,
        req::join(&RoomId::from("nope"), JoinRole::Participant),
        ErrorCode::BreakoutRoomNotFound,
    );
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.request(
        &mia,
        alcove_proto::signal::ClientMessage::DestroyAllBreakOutSession,
    );
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::BreakoutRoomNotFound,
    );
    assert_refused(
        &mut w,
        &mia,
        req::join(&rooms[0], JoinRole::Moderator),
        ErrorCode::BreakoutRoomNotFound,
    );
}

#[test]
fn a_participant_without_invitation_is_1737() {
    let Cast {
        mut w,
        pat,
        quinn,
        mia,
        rooms,
        ..
    } = cast();
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::NotInvited,
    );
    // An invitation to another room does not count.
    w.invite_to(&mia, &rooms[1], &[&quinn]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &quinn,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::NotInvited,
    );
}

#[test]
fn a_viewer_without_invitation_is_1737() {
    let Cast { mut w, rooms, .. } = cast();
    let vic = w.connect("Vic", Role::Viewer);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &vic,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::NotInvited,
    );
}

#[test]
fn a_participant_claiming_moderator_is_1742() {
    let Cast {
        mut w,
        pat,
        mia,
        rooms,
        ..
    } = cast();
    w.invite_to(&mia, &rooms[0], &[&pat]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[0], JoinRole::Moderator),
        ErrorCode::RoleNotAllowed,
    );
    // The order: without an invitation, 1737 comes first.
    assert_refused(
        &mut w,
        &pat,
        req::join(&rooms[1], JoinRole::Moderator),
        ErrorCode::NotInvited,
    );
}

#[test]
fn a_full_room_is_1738_and_moderators_joining_as_moderator_take_no_place() {
    let Cast {
        mut w,
        pat,
        quinn,
        ros,
        mia,
        rooms,
    } = cast();
    let max = w.connect("Max", Role::Moderator);
    w.invite_to(&mia, &rooms[0], &[&pat, &quinn, &ros]);
    w.request(&mia, req::join(&rooms[0], JoinRole::Moderator));
    w.join_room(&pat, &rooms[0]);
    w.join_room(&quinn, &rooms[0]);
    w.clear_inboxes();

    assert_refused(
        &mut w,
        &ros,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::BreakoutRoomFull,
    );
    assert_eq!(
        w.breakout(&rooms[0]).unwrap().invitations,
        vec![ros.clone()]
    );
    // A moderator asking for a participant place is refused as well…
    assert_refused(
        &mut w,
        &max,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::BreakoutRoomFull,
    );
    // …but may join as moderator, beyond `participants`.
    let ack = w.request(&max, req::join(&rooms[0], JoinRole::Moderator));
    assert!(
        matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
        "{ack:?}"
    );
    assert_eq!(w.breakout(&rooms[0]).unwrap().members.len(), 4);

    // A place frees up when someone leaves.
    w.request(&pat, req::disconnect(&rooms[0]));
    w.join_room(&ros, &rooms[0]);
    assert_eq!(w.location(&ros), Location::Breakout(rooms[0].clone()));
}

#[test]
fn a_moderator_joining_as_participant_takes_a_place() {
    let Cast {
        mut w,
        pat,
        quinn,
        mia,
        rooms,
        ..
    } = cast();
    w.request(&mia, req::join(&rooms[0], JoinRole::Participant));
    w.invite_to(&mia, &rooms[0], &[&pat, &quinn]);
    w.join_room(&pat, &rooms[0]);
    w.clear_inboxes();
    assert_refused(
        &mut w,
        &quinn,
        req::join(&rooms[0], JoinRole::Participant),
        ErrorCode::BreakoutRoomFull,
    );
}

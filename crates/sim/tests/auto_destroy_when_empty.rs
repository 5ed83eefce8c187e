//! A break-out room whose last member leaves (disconnect, clear all, or a dropped connection)
//! is destroyed at once: `didDestroyedBreakoutRoom {room_id}` to the owner and every moderator
//! of the parent (exactly once each), its pending invitations withdrawn
//! (`breakoutInvitationWithdrawn`) so a late join is 1736.

use alcove_proto::signal::{
    BreakoutInvitationWithdrawn, ClientMessage, JoinRole, Role, RoomRef, ServerMessage,
    WithdrawReason,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, World};

struct Cast {
    w: World,
    mia: ClientId,
    max: ClientId,
    owner: ClientId,
    pat: ClientId,
    late: ClientId,
    bystander: ClientId,
    room: RoomId,
}

fn cast(seed: u64) -> Cast {
    let mut w = World::with_defaults(seed);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let owner = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let late = w.connect("Late", Role::Participant);
    let bystander = w.connect("Ben", Role::Participant);
    let room = w.create_rooms(&owner, 3, 1).remove(0);
    w.invite_to(&owner, &room, &[&pat, &late]);
    w.join_room(&pat, &room);
    w.clear_inboxes();
    Cast {
        w,
        mia,
        max,
        owner,
        pat,
        late,
        bystander,
        room,
    }
}

fn assert_destroyed(c: &mut Cast) {
    let room = c.room.clone();
    assert!(c.w.breakout(&room).is_none());
    let n = c.w.drain_all();
    n.assert_sent("didDestroyedBreakoutRoom", &[&c.mia, &c.max, &c.owner]);
    for m in [&c.mia, &c.max, &c.owner] {
        assert_eq!(
            n.find(m, "didDestroyedBreakoutRoom"),
            [&ServerMessage::DidDestroyedBreakoutRoom(RoomRef {
                room_id: room.clone()
            })]
        );
    }
    assert_eq!(
        n.find(&c.late, "breakoutInvitationWithdrawn"),
        [&ServerMessage::BreakoutInvitationWithdrawn(
            BreakoutInvitationWithdrawn {
                room_id: room.clone(),
                reason: WithdrawReason::Destroyed,
            }
        )]
    );
    n.assert_sent("breakoutInvitationWithdrawn", &[&c.late]);
    assert!(n.find(&c.bystander, "didDestroyedBreakoutRoom").is_empty());
    let late = c.late.clone();
    assert_eq!(
        req::result(&c.w.request(&late, req::join(&room, JoinRole::Participant))),
        1736
    );
}

#[test]
fn the_last_member_disconnecting_destroys_the_room() {
    let mut c = cast(1);
    let (pat, room) = (c.pat.clone(), c.room.clone());
    c.w.request(&pat, req::disconnect(&room));
    assert_destroyed(&mut c);
}

#[test]
fn the_last_member_clearing_all_destroys_the_room() {
    let mut c = cast(2);
    let pat = c.pat.clone();
    c.w.request(&pat, ClientMessage::ClearAllBreakOutSession);
    assert_destroyed(&mut c);
}

#[test]
fn the_last_member_dropping_destroys_the_room() {
    let mut c = cast(3);
    let pat = c.pat.clone();
    c.w.drop_client(&pat);
    assert_destroyed(&mut c);
}

#[test]
fn a_room_with_members_left_lives_on() {
    let mut c = cast(4);
    let (pat, late, room) = (c.pat.clone(), c.late.clone(), c.room.clone());
    c.w.join_room(&late, &room);
    c.w.request(&pat, req::disconnect(&room));
    assert!(c.w.breakout(&room).is_some());
    c.w.drain_all().assert_none("didDestroyedBreakoutRoom");
    c.w.request(&late, req::disconnect(&room));
    assert!(c.w.breakout(&room).is_none());
    c.w.drain_all()
        .assert_sent("didDestroyedBreakoutRoom", &[&c.mia, &c.max, &c.owner]);
}

#[test]
fn a_moderator_owner_is_told_once() {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.request(&mia, req::join(&room, JoinRole::Moderator));
    w.clear_inboxes();
    w.request(&mia, req::disconnect(&room));
    let n = w.drain_all();
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia, &max]);
}

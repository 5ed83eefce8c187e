//! When the parent room ends, every break-out room is destroyed (`didDestroyedBreakoutRoom` to
//! its owner and every moderator, exactly once per room), pending invitations are withdrawn,
//! everyone gets `roomDisconnected` (4107) and every connection is closed; nothing happens
//! after.

use alcove_core::CloseReason;
use alcove_proto::signal::{Role, ServerMessage, Status, WithdrawReason};
use alcove_proto::ErrorCode;
use alcove_sim::{Connection, World};
use std::time::Duration;

#[test]
fn ending_the_parent_destroys_every_room_and_closes_everyone() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let mine = w.create_rooms(&mia, 3, 2);
    let hers = w.create_rooms(&olga, 3, 1).remove(0);
    w.invite_and_join(&mia, &pat, &mine[0]);
    w.invite_to(&olga, &hers, &[&quinn]);
    w.clear_inboxes();

    w.end_parent();
    assert!(w.family().has_ended());
    assert!(w.family().breakout_rooms().is_empty());
    assert!(w.family().users().is_empty());

    let n = w.drain_all();
    n.assert_sent(
        "didDestroyedBreakoutRoom",
        &[&mia, &mia, &mia, &max, &max, &max, &olga],
    );
    let ServerMessage::DidDestroyedBreakoutRoom(d) = n.one(&olga, "didDestroyedBreakoutRoom")
    else {
        unreachable!()
    };
    assert_eq!(d.room_id, hers);
    let ServerMessage::BreakoutInvitationWithdrawn(wd) =
        n.one(&quinn, "breakoutInvitationWithdrawn")
    else {
        unreachable!()
    };
    assert_eq!(
        (wd.room_id.clone(), wd.reason),
        (hers, WithdrawReason::Destroyed)
    );
    n.assert_sent("breakoutInvitationWithdrawn", &[&quinn]);
    n.assert_sent("roomDisconnected", &[&mia, &max, &olga, &pat, &quinn, &vic]);
    for c in [&mia, &max, &olga, &pat, &quinn, &vic] {
        assert_eq!(
            n.of(c).last(),
            Some(&ServerMessage::RoomDisconnected(Status::err(
                ErrorCode::RoomEnded
            )))
        );
        assert_eq!(w.connection(c), Connection::Closed(CloseReason::RoomEnded));
        assert_eq!(
            w.route(c).unwrap().location,
            None,
            "{c} receives no media any more"
        );
    }
    n.assert_none("userDisconnected");

    w.advance(Duration::from_secs(3600));
    assert!(w.drain_all().is_empty());
}

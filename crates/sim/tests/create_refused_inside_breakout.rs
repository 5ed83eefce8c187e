//! A client inside a break-out room cannot create another one (its location must be the
//! parent): create and create-and-invite are refused with 5067.

use alcove_proto::signal::{JoinRole, Role};
use alcove_sim::{req, World};

#[test]
fn a_member_of_a_breakout_room_cannot_create_rooms() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 1);
    w.request(&mia, req::join(&rooms[0], JoinRole::Moderator));
    w.invite_and_join(&mia, &pat, &rooms[0]);
    w.clear_inboxes();

    for who in [&mia, &pat] {
        assert_eq!(req::result(&w.request(who, req::create(2, 1))), 5067);
        assert_eq!(
            req::result(&w.request(who, req::create_and_invite(2, 1, false))),
            5067
        );
    }
    assert_eq!(w.live_rooms(), rooms);
    assert!(w.drain_all().is_empty());

    // Back in the parent, the same client may create again.
    w.request(&pat, req::disconnect(&rooms[0]));
    assert_eq!(req::result(&w.request(&pat, req::create(2, 1))), 0);
}

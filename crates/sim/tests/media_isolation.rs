//! Isolation (SPEC §4): a member of break-out room A never hears room B, nor the parent while
//! its parent link is paused; the parent never hears a paused member.

use alcove_proto::signal::{ClientMessage, Role};
use alcove_sim::World;

#[test]
fn rooms_do_not_hear_each_other() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let ps: Vec<_> = (0..5)
        .map(|i| w.connect(&format!("P{i}"), Role::Participant))
        .collect();
    let rooms = w.create_rooms(&mia, 2, 2);
    w.invite_and_join(&mia, &ps[0], &rooms[0]);
    w.invite_and_join(&mia, &ps[1], &rooms[0]);
    w.invite_and_join(&mia, &ps[2], &rooms[1]);
    w.invite_and_join(&mia, &ps[3], &rooms[1]);
    let everyone: Vec<_> = std::iter::once(mia.clone())
        .chain(ps.iter().cloned())
        .collect();
    let group = |c: &alcove_proto::ClientId| -> u8 {
        match ps.iter().position(|p| p == c) {
            Some(0 | 1) => 1,
            Some(2 | 3) => 2,
            _ => 0,
        }
    };
    for l in &everyone {
        for s in &everyone {
            if l != s {
                assert_eq!(w.hears(l, s), group(l) == group(s), "{l} hears {s}?");
            }
        }
    }
    // A resumed member of room A hears the parent, still not room B.
    w.request(&ps[0], ClientMessage::Resume);
    assert!(w.hears(&ps[0], &mia) && w.hears(&ps[4], &ps[0]));
    assert!(!w.hears(&ps[0], &ps[2]) && !w.hears(&ps[2], &ps[0]));
}

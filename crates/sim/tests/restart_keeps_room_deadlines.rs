//! A restart must not give a break-out room nobody joined more time: SPEC §3 auto-destroys "a
//! BR nobody joined within `breakout_empty_timeout`", counted from its creation.
//!
//! Found by the model test and fixed: `Family::snapshot(now)` measures room ages at the
//! snapshot's instant (not the family's last input), and `Family::restore(…, since_snapshot)`
//! adds the downtime the server measured on the wall clock (`taken_at_unix_ms`).

use alcove_proto::signal::{Role, ServerMessage};
use alcove_sim::World;
use std::time::Duration;

/// A moderator creates one room at 0 s (default settings: 300 s empty timeout), nothing
/// happens until `restart_at`, the server restarts, the moderator resumes at once.
fn quiet_family_restarted_at(restart_at: u64, wake_first: bool) -> (World, alcove_proto::RoomId) {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.advance(Duration::from_secs(restart_at));
    assert!(w.breakout(&room).is_some(), "alive before its deadline");
    if wake_first {
        w.wake_now();
    }
    w.restart();
    let ack = w.resume(&mia);
    assert!(matches!(ack.msg, ServerMessage::RoomConnected(_)));
    w.clear_inboxes();
    (w, room)
}

#[test]
fn a_room_nobody_joined_is_destroyed_on_time_after_a_restart() {
    let (mut w, room) = quiet_family_restarted_at(200, false);
    // 300 s after its creation.
    w.advance(Duration::from_secs(100));
    if w.breakout(&room).is_some() {
        let mut lived = 300;
        while w.breakout(&room).is_some() {
            w.advance(Duration::from_secs(1));
            lived += 1;
        }
        panic!(
            "a room nobody joined outlived breakout_empty_timeout (300 s) by the restart's gap: \
             destroyed {lived} s after its creation"
        );
    }
}

/// The control: the same restart when the family has seen the current instant (its last
/// input is "now") keeps the deadline, so the gap alone makes the difference.
#[test]
fn with_no_gap_since_the_last_input_the_deadline_is_kept() {
    let (mut w, room) = quiet_family_restarted_at(200, true);
    w.advance(Duration::from_secs(99));
    assert!(
        w.breakout(&room).is_some(),
        "alive 299 s after its creation"
    );
    w.advance(Duration::from_secs(1));
    assert!(
        w.breakout(&room).is_none(),
        "destroyed 300 s after its creation"
    );
    let n = w.drain_all();
    assert_eq!(n.recipients("didDestroyedBreakoutRoom").len(), 1);
}

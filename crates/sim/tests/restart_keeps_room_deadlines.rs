//! A restart must not give a break-out room nobody joined more time: SPEC §3 auto-destroys "a
//! BR nobody joined within `breakout_empty_timeout`", counted from its creation.
//!
//! CORE FINDING (open, the test below that shows it is `#[ignore]`d so CI stays green):
//! `Family::snapshot` (crates/core/src/snapshot.rs:71) measures each room's `age_ms` against
//! `self.last_now()`, the time of the family's last input, not the time of the snapshot, and
//! `Family::restore` (snapshot.rs:173-175) sets `created_at = now - age_ms` at the restore's
//! `now`. Every instant between the family's last input and the restore is therefore not
//! counted, and every room nobody joined lives that much longer than `breakout_empty_timeout`.
//! In the server the gap is the quiet time since the last state change (the snapshot is saved
//! after a change) plus the downtime: a room created at 0 s in a family that then stays quiet,
//! with a restart at 200 s, is destroyed at 500 s instead of 300 s. A `snapshot(now)` (or
//! persisting the creation instant on a clock that survives the process) would fix it.
//!
//! Run the failing case with
//! `cargo test -p alcove-sim --test restart_keeps_room_deadlines -- --ignored`.

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
#[ignore = "core finding: snapshot ages are measured at the last input, see the module docs"]
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

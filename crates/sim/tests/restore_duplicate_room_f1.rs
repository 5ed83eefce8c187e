//! Fuzz finding F1 (`fuzz/README.md`), replayed by `cargo test`: a damaged snapshot (a corrupt
//! database row) that holds the same break-out room twice. `Family::restore` used to restore
//! both copies, and everything that looks a room up by id then acted on the first one only:
//!
//! * a member kept in the second copy outlived its leave (`remove_member` took it out of the
//!   first copy), and `check_invariants` failed with "has member … who is not connected";
//! * an overdue second copy survived the never-joined timeout (the timeout destroyed the first
//!   copy), and the family asked to be woken in the past.
//!
//! The fix keeps the first room of an id (and `check_invariants` requires unique ids). These
//! are the two minimised fuzz inputs (`fuzz/corpus/family_inputs/finding-F1-*`) written out as
//! scenarios, driven through the run-loop contract with the invariants checked after every
//! input.

use alcove_core::{Family, FamilyConfig, FamilySnapshot, Input, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Location, Role};
use alcove_proto::RoomId;
use alcove_sim::{req, World};
use std::time::{Duration, Instant};

fn config(seed: u64) -> FamilyConfig {
    FamilyConfig::new(
        RoomId::from("parent"),
        "Sim room",
        RoomSettings::default(),
        seed,
    )
}

/// Drains the outputs after an input at `now`; returns the deadline the core asks for, which
/// must lie after `now`. The invariants must hold.
fn drain(f: &mut Family, now: Instant, what: &str) -> Instant {
    loop {
        if let Output::Timeout(at) = f.poll_output() {
            if let Err(e) = f.check_invariants() {
                panic!("{what}: invariants broken: {e}");
            }
            assert!(at > now, "{what}: woken at {now:?}, asks again for {at:?}");
            return at;
        }
    }
}

/// Room ids are unique, and locations and memberships agree.
fn consistent(f: &Family, what: &str) {
    let rooms = f.breakout_rooms();
    let mut ids: Vec<&RoomId> = rooms.iter().map(|r| &r.room_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rooms.len(), "{what}: two rooms share an id");
    for u in f.users() {
        if let Location::Breakout(id) = &u.location {
            let r = rooms
                .iter()
                .find(|r| &r.room_id == id)
                .unwrap_or_else(|| panic!("{what}: {} is in a room that is gone", u.client_id));
            assert!(
                r.members.iter().any(|m| m.client_id == u.client_id),
                "{what}: {} is located in {id} but not a member",
                u.client_id
            );
        }
    }
}

/// Restores `snap` at `now` and returns the family and its first deadline.
fn restore(snap: FamilySnapshot, now: Instant) -> (Family, Instant) {
    let mut f = Family::restore(config(99), snap, now, Duration::ZERO);
    f.check_invariants()
        .expect("a restored family keeps the invariants");
    consistent(&f, "after the restore");
    // A freshly restored family may ask to be woken at once (fuzz/README.md, observations).
    let at = loop {
        if let Output::Timeout(at) = f.poll_output() {
            break at;
        }
    };
    (f, at)
}

#[test]
fn a_duplicated_room_restores_once_and_its_members_leave_cleanly() {
    // A create-and-invite with force_join puts four participants into two rooms of two.
    let mut w = World::with_defaults(11);
    let mia = w.connect("Mia", Role::Moderator);
    for name in ["P1", "P2", "P3", "P4"] {
        w.connect(name, Role::Participant);
    }
    let ack = w.request(&mia, req::create_and_invite(2, 2, true));
    assert_eq!(ack.msg.result(), Some(0), "{ack:?}");
    let mut snap = w.family().snapshot(w.now());
    assert_eq!(snap.breakouts.len(), 2);
    assert!(snap.breakouts.iter().all(|b| b.members.len() == 2));

    // The damage: the second room allows one participant, and appears twice.
    snap.breakouts[1].def.participants = 1;
    let twin = snap.breakouts[1].clone();
    snap.breakouts.push(twin);
    let dropped = snap.breakouts[1].members[1].0.clone();

    let start = w.now();
    let (mut f, mut at) = restore(snap, start);
    assert_eq!(f.breakout_rooms().len(), 2, "the twin is not restored");
    let placed = f.users().into_iter().find(|u| u.client_id == dropped);
    assert_eq!(
        placed.map(|u| u.location),
        Some(Location::Parent),
        "the member over the damaged room's capacity waits in the parent, not in the twin"
    );

    // Nobody resumes: every client's grace period (30 s) runs out and each leaves the family.
    let mut now = start;
    while !f.users().is_empty() {
        assert!(
            now < start + Duration::from_secs(120),
            "clients outlived their grace"
        );
        now = at.max(now);
        f.handle_input(Input::Timeout(now));
        at = drain(&mut f, now, "a grace period running out");
        consistent(&f, "after a leave");
    }
    assert!(f.breakout_rooms().is_empty(), "emptied rooms are destroyed");
}

#[test]
fn an_overdue_twin_does_not_outlive_the_room_or_ask_for_a_past_wake_up() {
    // Two rooms nobody joined (default never-joined timeout: 300 s).
    let mut w = World::with_defaults(12);
    let mia = w.connect("Mia", Role::Moderator);
    let rooms = w.create_rooms(&mia, 2, 2);
    let mut snap = w.family().snapshot(w.now());
    // The damage: a second copy of the first room, older than the timeout.
    let mut twin = snap.breakouts[0].clone();
    twin.age_ms = 400_000;
    snap.breakouts.push(twin);

    let start = w.now();
    let (mut f, _) = restore(snap, start);
    assert_eq!(f.breakout_rooms().len(), 2, "the twin is not restored");

    // The moderator resumes at once; from then on every wake-up lies in the future, and the
    // rooms expire 300 s after their creation (not at once, not never).
    f.handle_input(Input::Resume {
        now: start,
        client: mia.clone(),
        id: alcove_proto::RequestId(1),
        version: 1,
    });
    let mut at = drain(&mut f, start, "the resume");
    let mut now = start;
    while !f.breakout_rooms().is_empty() {
        assert!(
            now < start + Duration::from_secs(301),
            "rooms nobody joined outlived the timeout: {:?}",
            f.breakout_rooms()
        );
        now = at.max(now);
        f.handle_input(Input::Timeout(now));
        at = drain(&mut f, now, "a wake-up");
        consistent(&f, "after a wake-up");
    }
    assert!(
        now >= start + Duration::from_secs(299),
        "the rooms {rooms:?} expired {:?} after the restore, before their timeout",
        now - start
    );
}

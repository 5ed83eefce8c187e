//! A slot's media time follows the wall clock (protocol §13.5): when a slot that was idle for
//! N ms gets a talker again, its RTP time advances by N ms ± one frame — for a new talker on
//! the slot and for the same talker after a silence — so a receiver's jitter buffer never
//! reads the new audio as seconds late. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role};
use alcove_proto::ClientId;
use alcove_sim::media::{stamp, Heard};
use alcove_sim::{req, MediaWorld};
use std::time::Duration;

const FRAME_TICKS: u64 = 960; // 20 ms at 48 kHz

fn talk(w: &mut MediaWorld, who: &ClientId, name: &str, ms: u64) {
    for _ in 0..ms / 20 {
        w.talk(who, format!("{name}:").as_bytes());
        w.pump(Duration::from_millis(20));
    }
}

/// The first frame of `next` after the start, and the last frame heard before it on the same
/// slot (whoever sent it).
fn edge<'a>(heard: &'a [Heard], next: &str) -> (&'a Heard, &'a Heard) {
    let first_next = heard
        .iter()
        .position(|h| stamp(&h.data) == next && h.at > heard[0].at)
        .expect("the next talker was heard");
    let slot = heard[first_next].slot;
    let last = heard[..first_next]
        .iter()
        .rev()
        .find(|h| h.slot == slot)
        .expect("the slot carried a talker before");
    (last, &heard[first_next])
}

fn check(last: &Heard, first: &Heard, what: &str) {
    assert_eq!(last.slot, first.slot, "{what}: same slot");
    let gap = first.at.duration_since(last.at);
    let gap_ticks = gap.as_micros() as u64 * 48_000 / 1_000_000;
    let advance = first.time - last.time;
    assert!(
        advance.abs_diff(gap_ticks) <= FRAME_TICKS,
        "{what}: idle {gap:?} ({gap_ticks} ticks) but the slot's time advanced {advance} ticks"
    );
}

#[test]
fn a_new_talker_on_an_idle_slot_continues_at_wall_time() {
    for idle_ms in [200u64, 1_100, 3_300] {
        // Two slots, both used before: the new talker must take one that was used.
        let settings = RoomSettings {
            max_active_talkers: 3,
            ..RoomSettings::default()
        };
        let mut w = MediaWorld::new(settings, 11);
        let m = w.join("M", Role::Moderator);
        let a = w.join("A", Role::Participant);
        let b = w.join("B", Role::Participant);
        let c = w.join("C", Role::Participant);
        let d = w.join("D", Role::Participant);
        for _ in 0..20 {
            for (who, name) in [(&a, "A"), (&c, "C"), (&d, "D")] {
                w.talk(who, format!("{name}:").as_bytes());
            }
            w.pump(Duration::from_millis(20));
        }
        assert!(
            w.family().slots_of(&m).iter().all(Option::is_some),
            "every slot of M used"
        );
        // A leaves the parent for a break-out room: M's slot falls idle.
        let ack = w.request(&m, req::create(2, 1));
        let room_id = req::rooms(&ack)[0].clone();
        let inv = Invitee {
            clients: vec![a.clone(), c.clone()],
            room_id,
            force_join: true,
        };
        assert_eq!(
            w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
                .msg
                .result(),
            Some(0)
        );
        w.pump(Duration::from_millis(idle_ms));
        // B speaks: it takes a slot that fell idle.
        talk(&mut w, &b, "B", 200);
        let heard = w.take_heard(&m);
        let (last, first) = edge(&heard, "B");
        check(last, first, &format!("new talker after {idle_ms} ms"));
    }
}

#[test]
fn the_same_talker_after_silence_continues_at_wall_time() {
    let mut w = MediaWorld::new(RoomSettings::default(), 12);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    talk(&mut w, &a, "A", 400);
    // A's sender stops for 2 s and its RTP clock stands still meanwhile (the peer's media
    // time only advances per frame sent), as a source that paused its track does.
    w.pump(Duration::from_millis(2_000));
    talk(&mut w, &a, "A2", 200);
    let heard = w.take_heard(&m);
    let (last, first) = edge(&heard, "A2");
    check(last, first, "same talker after 2 s");
}

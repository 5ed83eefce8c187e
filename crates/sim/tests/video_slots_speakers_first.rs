//! Video slots (issue 14): a receiver's video slots show the parent's camera publishers, the
//! active speakers first, then the most recent speakers; an occupant that stays among the most
//! relevant keeps its slot. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Role, ServerMessage, VideoPublisher};
use alcove_proto::ClientId;
use alcove_sim::MediaWorld;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A VP8 key frame's first bytes, then 120 bytes of `tag` (who sent it).
fn frame(tag: u8) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend(std::iter::repeat_n(tag, 120));
    f
}

/// `ms` of virtual time: every camera in `cams` sends a frame every 40 ms, every client in
/// `talkers` talks every 20 ms.
fn round(w: &mut MediaWorld, cams: &[(&ClientId, u8)], talkers: &[&ClientId], ms: u64) {
    for i in 0..ms / 20 {
        for t in talkers {
            w.talk(t, b"T:");
        }
        if i % 2 == 0 {
            for (c, tag) in cams {
                w.camera_frame(c, &frame(*tag));
            }
        }
        w.pump(Duration::from_millis(20));
    }
}

/// `rx`'s latest `videoSlotsUpdated`: publisher → slot.
fn last_map(w: &mut MediaWorld, rx: &ClientId) -> BTreeMap<ClientId, usize> {
    let last = w
        .take_frames(rx)
        .into_iter()
        .filter_map(|f| match f.msg {
            ServerMessage::VideoSlotsUpdated(v) => Some(v.publishers),
            _ => None,
        })
        .last()
        .expect("a videoSlotsUpdated");
    last.into_iter()
        .map(
            |VideoPublisher {
                 slot, client_id, ..
             }| (client_id, slot as usize),
        )
        .collect()
}

/// (slot, tag) of every frame `rx` decoded on its video slots since the last call.
fn seen(w: &mut MediaWorld, rx: &ClientId) -> BTreeSet<(usize, u8)> {
    w.take_video_seen(rx)
        .into_iter()
        .map(|(slot, f)| (slot, f[10]))
        .collect()
}

#[test]
fn speakers_first_then_recent_speakers_and_slots_stay_put() {
    let mut w = MediaWorld::new(RoomSettings::default(), 41);
    let r = w.join_with_camera("R", Role::Participant, 2);
    let a = w.join_with_camera("A", Role::Participant, 2);
    let b = w.join_with_camera("B", Role::Participant, 2);
    let c = w.join_with_camera("C", Role::Participant, 2);
    let cams = [(&a, b'A'), (&b, b'B'), (&c, b'C')];

    // Nobody speaks: the two earliest cameras (ties by id) fill R's two slots.
    round(&mut w, &cams, &[], 400);
    let map = last_map(&mut w, &r);
    assert_eq!(map.keys().collect::<Vec<_>>(), vec![&a, &b], "{map:?}");
    let (slot_a, slot_b) = (map[&a], map[&b]);
    seen(&mut w, &r);
    round(&mut w, &cams, &[], 400);
    assert_eq!(
        seen(&mut w, &r),
        BTreeSet::from([(slot_a, b'A'), (slot_b, b'B')]),
        "R decodes A and B on their slots, nothing of C"
    );

    // C speaks: it takes the slot of the less relevant of A and B (B); A stays put.
    round(&mut w, &cams, &[&c], 400);
    let map = last_map(&mut w, &r);
    assert_eq!(
        map,
        BTreeMap::from([(a.clone(), slot_a), (c.clone(), slot_b)])
    );
    seen(&mut w, &r);
    round(&mut w, &cams, &[&c], 400);
    assert_eq!(
        seen(&mut w, &r),
        BTreeSet::from([(slot_a, b'A'), (slot_b, b'C')])
    );

    // C falls silent, then B speaks and falls silent: B and C are the two most recent
    // speakers, so B replaces A and C keeps its slot.
    round(&mut w, &cams, &[], 800);
    round(&mut w, &cams, &[&b], 300);
    round(&mut w, &cams, &[], 800);
    let map = last_map(&mut w, &r);
    assert_eq!(
        map,
        BTreeMap::from([(b.clone(), slot_a), (c.clone(), slot_b)])
    );
    seen(&mut w, &r);
    round(&mut w, &cams, &[], 400);
    assert_eq!(
        seen(&mut w, &r),
        BTreeSet::from([(slot_a, b'B'), (slot_b, b'C')])
    );

    // Nobody is shown their own camera.
    let own: Vec<_> = w.take_video_seen(&a);
    assert!(
        own.iter().all(|(_, f)| f[10] != b'A'),
        "A never sees itself"
    );
}

//! Simulcast (issue 14): a receiver gets one layer of a simulcast camera per video slot — the
//! highest by default, the one its rendered height asks for after `setVideoSlot`, nothing for a
//! hidden slot — and a receiver whose link is throttled moves down to a lower layer and keeps
//! hearing, and comes back up when the link recovers; a receiver on a good link keeps the top
//! layer. Real str0m peers (the server's TWCC estimator against a simulated bottleneck),
//! virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Role, SetVideoSlot, VideoLayer};
use alcove_proto::ClientId;
use alcove_sim::{MediaWorld, SIMULCAST_RIDS};
use std::time::Duration;

/// A VP8 key frame whose byte 10 is `tag` and byte 11 the layer (`q`, `h`, `f`), `len` long.
fn frame(tag: u8, layer: u8, len: usize) -> Vec<u8> {
    let mut f = vec![
        0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, tag, layer,
    ];
    f.resize(len, tag);
    f
}

/// Layer sizes per frame at 25 fps: about 30, 70 and 190 kbit/s on the wire.
const SIZES: [usize; 3] = [100, 300, 900];

/// The throttling test's: a top layer of about 310 kbit/s.
const SIZES_BIG: [usize; 3] = [100, 300, 1500];

thread_local! {
    /// This test thread's publisher sends [`SIZES_BIG`].
    static BIG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `ms` of virtual time: `p` sends its three layers every 40 ms and talks every 20 ms.
fn run(w: &mut MediaWorld, p: &ClientId, ms: u64) {
    let sizes = if BIG.with(|b| b.get()) {
        SIZES_BIG
    } else {
        SIZES
    };
    let frames: Vec<Vec<u8>> = SIMULCAST_RIDS
        .iter()
        .zip(sizes)
        .map(|(rid, len)| frame(b'P', rid.as_bytes()[0], len))
        .collect();
    for i in 0..ms / 20 {
        w.talk(p, b"P:");
        if i % 2 == 0 {
            w.camera_layer_frame(p, [&frames[0], &frames[1], &frames[2]]);
        }
        w.pump(Duration::from_millis(20));
    }
}

/// The layers of the frames `rx` decoded since the last call, in order.
fn layers_seen(w: &mut MediaWorld, rx: &ClientId) -> Vec<char> {
    w.take_video_seen(rx)
        .into_iter()
        .map(|(_, f)| {
            assert_eq!(f.get(10), Some(&b'P'), "only P's camera is on the slot");
            char::from(f[11])
        })
        .collect()
}

/// The layer `rx` ends up with (`None`: no frames) after `settle` ms, then one more second in
/// which the slot changes layer at most once (no flapping).
fn layer_after(w: &mut MediaWorld, p: &ClientId, rx: &ClientId, settle: u64) -> Option<char> {
    run(w, p, settle);
    layers_seen(w, rx);
    run(w, p, 1000);
    let seen = layers_seen(w, rx);
    let switches = seen.windows(2).filter(|x| x[0] != x[1]).count();
    assert!(switches <= 1, "a settled slot does not flap: {seen:?}");
    seen.last().copied()
}

fn set_slot(w: &mut MediaWorld, rx: &ClientId, height: u32, max: Option<VideoLayer>) {
    let ack = w.request(
        rx,
        ClientMessage::SetVideoSlot(SetVideoSlot {
            slot: 0,
            height,
            max_layer: max,
        }),
    );
    assert_eq!(ack.msg.result(), Some(0), "{:?}", ack.msg);
}

#[test]
fn the_rendered_height_and_the_cap_choose_the_layer() {
    let mut w = MediaWorld::new(RoomSettings::default(), 51);
    let p = w.join_with_simulcast("P", Role::Participant, 1);
    let r = w.join_with_camera("R", Role::Participant, 1);
    // Nothing reported: the top layer (once the estimator has probed up to it).
    assert_eq!(layer_after(&mut w, &p, &r, 5000), Some('f'));
    set_slot(&mut w, &r, 120, None);
    assert_eq!(layer_after(&mut w, &p, &r, 300), Some('q'));
    set_slot(&mut w, &r, 360, None);
    assert_eq!(layer_after(&mut w, &p, &r, 300), Some('h'));
    set_slot(&mut w, &r, 1080, Some(VideoLayer::Medium));
    assert_eq!(layer_after(&mut w, &p, &r, 300), Some('h'));
    // Hidden: nothing is forwarded.
    set_slot(&mut w, &r, 0, None);
    assert_eq!(layer_after(&mut w, &p, &r, 100), None);
    // Shown again: the estimate fell while nothing was sent; it probes back up to the top.
    set_slot(&mut w, &r, 720, None);
    assert_eq!(layer_after(&mut w, &p, &r, 8000), Some('f'));

    // A slot the connection does not have: a typed error, nothing changes.
    let ack = w.request(
        &r,
        ClientMessage::SetVideoSlot(SetVideoSlot {
            slot: 3,
            height: 100,
            max_layer: None,
        }),
    );
    assert_eq!(ack.msg.result(), Some(1155), "{:?}", ack.msg);
    assert_eq!(layer_after(&mut w, &p, &r, 100), Some('f'));
}

#[test]
fn a_throttled_receiver_goes_down_a_layer_keeps_hearing_and_recovers() {
    BIG.with(|b| b.set(true));
    let mut w = MediaWorld::new(RoomSettings::default(), 52);
    let p = w.join_with_simulcast("P", Role::Participant, 1);
    let slow = w.join_with_camera("S", Role::Participant, 1);
    let good = w.join_with_camera("G", Role::Participant, 1);
    assert_eq!(layer_after(&mut w, &p, &slow, 5000), Some('f'));
    assert_eq!(layer_after(&mut w, &p, &good, 0), Some('f'));

    // 250 kbit/s towards S: the top layer (~310 kbit/s on the wire) no longer fits.
    w.throttle(&slow, Some(250_000));
    let down = layer_after(&mut w, &p, &slow, 5000);
    assert!(
        matches!(down, Some('q') | Some('h')),
        "S moved to a lower layer, got {down:?} (drops on its link: {})",
        w.shaped_drops
    );
    assert_eq!(
        layer_after(&mut w, &p, &good, 0),
        Some('f'),
        "G keeps the top"
    );

    // Audio keeps flowing beside the lower layer.
    w.take_heard(&slow);
    run(&mut w, &p, 2000);
    let heard = w.take_heard(&slow).len();
    assert!(heard >= 90, "S hears P: {heard} of 100 frames in 2 s");

    // A link that carries the audio but not the audio and the lowest layer: audio only, and
    // the audio keeps flowing (no padding, no probes take its room).
    w.throttle(&slow, Some(40_000));
    run(&mut w, &p, 8000);
    layers_seen(&mut w, &slow);
    w.take_heard(&slow);
    run(&mut w, &p, 2000);
    let seen = layers_seen(&mut w, &slow);
    let heard = w.take_heard(&slow).len();
    assert!(seen.is_empty(), "S is on audio only: it got {seen:?}");
    assert!(
        heard >= 95,
        "S hears P on audio only: {heard} of 100 frames in 2 s"
    );
    assert_eq!(
        layer_after(&mut w, &p, &good, 0),
        Some('f'),
        "G keeps the top"
    );

    // The link recovers: video comes back, layer by layer, up to the top.
    w.throttle(&slow, None);
    let mut waited = 0;
    while layer_after(&mut w, &p, &slow, 1000) != Some('f') {
        waited += 2;
        assert!(waited <= 90, "S is back on the top layer within 90 s");
    }
    println!("S back on the top layer {waited} s after its link recovered");
}

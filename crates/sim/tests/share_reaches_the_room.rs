//! A screen share reaches every other member of the sharer's room on the share slot, frame for
//! frame, whole (frames that span several RTP packets arrive intact); nobody outside the room
//! receives it. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Role};
use alcove_sim::MediaWorld;
use std::time::Duration;

/// A VP8 key frame's first bytes (P bit clear, show frame, start code), then `n` bytes of `tag`.
fn frame(tag: u8, n: usize) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend(std::iter::repeat_n(tag, n));
    f
}

#[test]
fn a_share_reaches_the_other_members_whole() {
    let mut w = MediaWorld::new(RoomSettings::default(), 21);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let ack = w.request(&a, ClientMessage::StartShare);
    assert_eq!(ack.msg.result(), Some(0), "{ack:?}");
    w.pump(Duration::from_millis(100));
    let mut sent = Vec::new();
    for i in 0..30u8 {
        // Every third frame spans several packets.
        let f = frame(i, if i % 3 == 0 { 3000 } else { 200 });
        w.share_frame(&a, &f);
        sent.push(f);
        w.pump(Duration::from_millis(33));
    }
    w.pump(Duration::from_millis(300));
    let seen = w.take_share_seen(&m);
    assert!(
        seen.len() >= 25,
        "M received {} of 30 shared frames",
        seen.len()
    );
    for f in &seen {
        assert!(sent.iter().any(|s| s[..] == f[..]), "a frame arrived whole");
    }
    assert!(
        w.take_share_seen(&a).is_empty(),
        "A does not see its own share"
    );
}

//! A receiver in a break-out room gets nothing on its video slots (issue 14: cameras are for
//! the parent room only), whether its parent link is paused or resumed; `videoSlotsUpdated`
//! tells it so with the room's id and no publishers. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role, ServerMessage, VideoSlotsUpdated};
use alcove_proto::ClientId;
use alcove_sim::{req, MediaWorld};
use std::time::Duration;

/// A VP8 key frame's first bytes, then 120 bytes of `tag` (who sent it).
fn frame(tag: u8) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend(std::iter::repeat_n(tag, 120));
    f
}

/// `ms` of virtual time: every camera in `cams` sends a frame every 40 ms.
fn round(w: &mut MediaWorld, cams: &[(&ClientId, u8)], ms: u64) {
    for i in 0..ms / 20 {
        if i % 2 == 0 {
            for (c, tag) in cams {
                w.camera_frame(c, &frame(*tag));
            }
        }
        w.pump(Duration::from_millis(20));
    }
}

fn last_update(w: &mut MediaWorld, rx: &ClientId) -> Option<VideoSlotsUpdated> {
    w.take_frames(rx)
        .into_iter()
        .filter_map(|f| match f.msg {
            ServerMessage::VideoSlotsUpdated(v) => Some(v),
            _ => None,
        })
        .last()
}

#[test]
fn a_receiver_in_a_breakout_room_sees_no_camera() {
    let mut w = MediaWorld::new(RoomSettings::default(), 44);
    let m = w.join_with_camera("M", Role::Moderator, 4);
    let a = w.join_with_camera("A", Role::Participant, 4);
    let r = w.join_with_camera("R", Role::Participant, 4);
    let cams = [(&m, b'M'), (&a, b'A')];
    round(&mut w, &cams, 600);
    assert!(
        !w.take_video_seen(&r).is_empty(),
        "R sees the parent's cameras"
    );

    let ack = w.request(&m, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![r.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    assert_eq!(
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
            .msg
            .result(),
        Some(0)
    );
    round(&mut w, &cams, 100);
    let update = last_update(&mut w, &r).expect("R is told its video slots emptied");
    assert_eq!(update.room_id, br);
    assert!(update.publishers.is_empty(), "{update:?}");
    w.take_video_seen(&r);
    round(&mut w, &cams, 800);
    assert!(
        w.take_video_seen(&r).is_empty(),
        "nothing on R's video slots"
    );

    // Resuming the parent link brings back the parent's audio, not its cameras.
    assert_eq!(w.request(&r, ClientMessage::Resume).msg.result(), Some(0));
    round(&mut w, &cams, 800);
    assert!(
        w.take_video_seen(&r).is_empty(),
        "still nothing once resumed"
    );
    assert!(last_update(&mut w, &r).is_none_or(|u| u.publishers.is_empty()));
}

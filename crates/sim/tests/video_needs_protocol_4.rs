//! Camera video is protocol 4 (issue 14): a client that negotiated an older version and offers
//! a camera or video slots is refused with 1750 and a message saying why; more than 16 video
//! slots are refused too. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Role, MAX_VIDEO_SLOTS};
use alcove_sim::MediaWorld;

#[test]
fn video_slots_need_protocol_4_and_at_most_16() {
    let mut w = MediaWorld::new(RoomSettings::default(), 45);
    let refused = w
        .try_join_with_camera("Old", Role::Participant, 4, 3)
        .expect_err("a protocol 3 client cannot offer video slots");
    assert_eq!(refused.result, 1750);
    assert_eq!(
        refused.msg,
        "camera and video slots need protocol version 4"
    );
    let refused = w
        .try_join_with_camera("Many", Role::Participant, MAX_VIDEO_SLOTS + 1, 4)
        .expect_err("17 video slots are too many");
    assert_eq!(refused.result, 1750);
    assert_eq!(refused.msg, "at most 16 video slots");
    w.try_join_with_camera("Ok", Role::Participant, MAX_VIDEO_SLOTS, 4)
        .expect("16 video slots on protocol 4");
}

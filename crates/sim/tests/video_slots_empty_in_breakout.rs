//! A receiver in a break-out room gets nothing on its video slots (issue 14: cameras are for
//! the parent room only), whether its parent link is paused or resumed; `videoSlotsUpdated`
//! tells it so with the room's id and no publishers. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role};
use alcove_sim::{req, MediaWorld};

#[test]
fn a_receiver_in_a_breakout_room_sees_no_camera() {
    let mut w = MediaWorld::new(RoomSettings::default(), 44);
    let m = w.join_with_camera("M", Role::Moderator, 4);
    let a = w.join_with_camera("A", Role::Participant, 4);
    let r = w.join_with_camera("R", Role::Participant, 4);
    let cams = [(&m, b'M'), (&a, b'A')];
    w.cameras_for(&cams, 600);
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
    w.cameras_for(&cams, 100);
    let update = w
        .last_video_slots(&r)
        .expect("R is told its video slots emptied");
    assert_eq!(update.room_id, br);
    assert!(update.publishers.is_empty(), "{update:?}");
    w.take_video_seen(&r);
    w.cameras_for(&cams, 800);
    assert!(
        w.take_video_seen(&r).is_empty(),
        "nothing on R's video slots"
    );

    // Resuming the parent link brings back the parent's audio, not its cameras.
    assert_eq!(w.request(&r, ClientMessage::Resume).msg.result(), Some(0));
    w.cameras_for(&cams, 800);
    assert!(
        w.take_video_seen(&r).is_empty(),
        "still nothing once resumed"
    );
    assert!(w
        .last_video_slots(&r)
        .is_none_or(|u| u.publishers.is_empty()));
}

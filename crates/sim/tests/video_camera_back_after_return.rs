//! A camera publisher that returns from a break-out room to the parent is seen again (issue
//! 14), on the same peer connection, with no renegotiation: its camera never stopped sending,
//! only its forwarding did. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role};
use alcove_proto::ClientId;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;

#[test]
fn a_camera_is_seen_again_after_its_publisher_returns() {
    let mut w = MediaWorld::new(RoomSettings::default(), 43);
    let m = w.join_with_camera("M", Role::Moderator, 4);
    let a = w.join_with_camera("A", Role::Participant, 4);
    let b = w.join_with_camera("B", Role::Participant, 4);
    let cams = [(&a, b'A'), (&b, b'B')];
    w.cameras_for(&cams, 400);

    let ack = w.request(&m, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![a.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    assert_eq!(
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
            .msg
            .result(),
        Some(0)
    );
    w.cameras_for(&cams, 200);
    w.camera_tags_seen(&m);
    w.cameras_for(&cams, 600);
    assert_eq!(
        w.camera_tags_seen(&m),
        BTreeSet::from([b'B']),
        "A is not seen in its BR"
    );

    // A leaves the break-out room: back in the parent, seen again.
    w.take_frames(&m);
    assert_eq!(w.request(&a, req::disconnect(&br)).msg.result(), Some(0));
    w.cameras_for(&cams, 100);
    assert_eq!(
        w.last_video_slots(&m).map(|v| v
            .publishers
            .into_iter()
            .map(|p| p.client_id)
            .collect::<BTreeSet<ClientId>>()),
        Some(BTreeSet::from([a.clone(), b.clone()])),
        "M's video slots show A again in the step of its return"
    );
    w.camera_tags_seen(&m);
    w.camera_tags_seen(&a);
    w.cameras_for(&cams, 600);
    assert_eq!(w.camera_tags_seen(&m), BTreeSet::from([b'A', b'B']));
    assert_eq!(
        w.camera_tags_seen(&a),
        BTreeSet::from([b'B']),
        "A sees B again"
    );
}

//! Cameras are forwarded in the parent room only (issue 14, the seed's rule): a publisher
//! forced into a break-out room keeps sending its camera, but nobody receives it — not the
//! parent, not the other members of its break-out room. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role};
use alcove_proto::ClientId;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;

#[test]
fn a_camera_in_a_breakout_room_reaches_nobody() {
    let mut w = MediaWorld::new(RoomSettings::default(), 42);
    let m = w.join_with_camera("M", Role::Moderator, 4);
    let a = w.join_with_camera("A", Role::Participant, 4);
    let b = w.join_with_camera("B", Role::Participant, 4);
    let c = w.join_with_camera("C", Role::Participant, 4);
    let cams = [(&a, b'A'), (&b, b'B'), (&c, b'C')];
    w.cameras_for(&cams, 400);
    for x in [&m, &a, &b, &c] {
        w.camera_tags_seen(x);
    }
    w.cameras_for(&cams, 400);
    assert_eq!(w.camera_tags_seen(&m), BTreeSet::from([b'A', b'B', b'C']));
    assert_eq!(w.camera_tags_seen(&c), BTreeSet::from([b'A', b'B']));

    // A and B are forced into one break-out room; both keep sending their cameras.
    let ack = w.request(&m, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![a.clone(), b.clone()],
        room_id: br,
        force_join: true,
    };
    let ack = w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    assert_eq!(ack.msg.result(), Some(0));
    w.cameras_for(&cams, 100);
    assert_eq!(
        w.last_video_slots(&m).map(|v| v
            .publishers
            .into_iter()
            .map(|p| p.client_id)
            .collect::<BTreeSet<ClientId>>()),
        Some(BTreeSet::from([c.clone()])),
        "the parent's video slots drop A and B in the step of the move"
    );
    for x in [&m, &a, &b, &c] {
        w.camera_tags_seen(x);
    }
    w.cameras_for(&cams, 1000);
    assert_eq!(
        w.camera_tags_seen(&m),
        BTreeSet::from([b'C']),
        "M sees only C"
    );
    assert_eq!(w.camera_tags_seen(&c), BTreeSet::new(), "C sees nobody");
    assert_eq!(w.camera_tags_seen(&a), BTreeSet::new(), "A does not see B");
    assert_eq!(w.camera_tags_seen(&b), BTreeSet::new(), "B does not see A");
}

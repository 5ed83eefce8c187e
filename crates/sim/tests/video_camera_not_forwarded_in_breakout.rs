//! Cameras are forwarded in the parent room only (issue 14, the seed's rule): a publisher
//! forced into a break-out room keeps sending its camera, but nobody receives it — not the
//! parent, not the other members of its break-out room. Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role, ServerMessage};
use alcove_proto::ClientId;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;
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

/// The publishers whose frames `rx` decoded on its video slots since the last call.
fn seen(w: &mut MediaWorld, rx: &ClientId) -> BTreeSet<u8> {
    w.take_video_seen(rx)
        .into_iter()
        .map(|(_, f)| f[10])
        .collect()
}

/// The publishers of `rx`'s latest `videoSlotsUpdated`.
fn mapped(w: &mut MediaWorld, rx: &ClientId) -> Option<BTreeSet<ClientId>> {
    w.take_frames(rx)
        .into_iter()
        .filter_map(|f| match f.msg {
            ServerMessage::VideoSlotsUpdated(v) => {
                Some(v.publishers.into_iter().map(|p| p.client_id).collect())
            }
            _ => None,
        })
        .last()
}

#[test]
fn a_camera_in_a_breakout_room_reaches_nobody() {
    let mut w = MediaWorld::new(RoomSettings::default(), 42);
    let m = w.join_with_camera("M", Role::Moderator, 4);
    let a = w.join_with_camera("A", Role::Participant, 4);
    let b = w.join_with_camera("B", Role::Participant, 4);
    let c = w.join_with_camera("C", Role::Participant, 4);
    let cams = [(&a, b'A'), (&b, b'B'), (&c, b'C')];
    round(&mut w, &cams, 400);
    for x in [&m, &a, &b, &c] {
        seen(&mut w, x);
    }
    round(&mut w, &cams, 400);
    assert_eq!(seen(&mut w, &m), BTreeSet::from([b'A', b'B', b'C']));
    assert_eq!(seen(&mut w, &c), BTreeSet::from([b'A', b'B']));

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
    round(&mut w, &cams, 100);
    assert_eq!(
        mapped(&mut w, &m),
        Some(BTreeSet::from([c.clone()])),
        "the parent's video slots drop A and B in the step of the move"
    );
    for x in [&m, &a, &b, &c] {
        seen(&mut w, x);
    }
    round(&mut w, &cams, 1000);
    assert_eq!(seen(&mut w, &m), BTreeSet::from([b'C']), "M sees only C");
    assert_eq!(seen(&mut w, &c), BTreeSet::new(), "C sees nobody");
    assert_eq!(seen(&mut w, &a), BTreeSet::new(), "A does not see B");
    assert_eq!(seen(&mut w, &b), BTreeSet::new(), "B does not see A");
}

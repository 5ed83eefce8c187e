//! Pinned cameras (issue 14): with one video slot and three camera publishers, the camera a
//! moderator pins is shown over a recent speaker; a speaker still beats the pin; unpinning
//! restores the order by last spoken; a pinned client in a break-out room is not shown and is
//! shown again, as pinned, on its return. A participant may not pin (5003), nor may anyone pin
//! a client that is not in the family (5126). Real str0m peers, virtual time.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    ClientMessage, Invitee, PinUsers, Role, ServerFrame, ServerMessage, VideoPublisher,
};
use alcove_proto::{ClientId, ErrorCode};
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;
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

/// Who `rx`'s one video slot shows by its latest `videoSlotsUpdated` since the last call
/// (`None`: unchanged since then).
fn shown(w: &mut MediaWorld, rx: &ClientId) -> Option<Option<ClientId>> {
    w.last_video_slots(rx).map(|v| {
        assert!(v.publishers.iter().all(|p| p.slot == 0), "one slot: {v:?}");
        v.publishers.first().map(|p| p.client_id.clone())
    })
}

/// The tags of the frames `rx` decodes on its slot during 400 ms, after 600 ms to settle: a
/// publisher whose packets never reached the receiver's shard (C here, shown to nobody before
/// it is pinned) is forwarded from that shard's next layer allocation, up to 500 ms later
/// (measured: about 500 ms with the default three shards, at once with one shard).
fn decoded(w: &mut MediaWorld, rx: &ClientId, cams: &[(&ClientId, u8)]) -> BTreeSet<u8> {
    round(w, cams, &[], 600);
    w.camera_tags_seen(rx);
    round(w, cams, &[], 400);
    w.camera_tags_seen(rx)
}

fn pins(ids: &[&ClientId]) -> PinUsers {
    PinUsers {
        client_ids: ids.iter().map(|c| (*c).clone()).collect(),
    }
}

fn result(ack: &ServerFrame) -> i32 {
    ack.msg.result().expect("an ack carries a result")
}

/// The pin list of the latest `updatePinUsers` among `frames`.
fn pin_list(frames: &[ServerFrame]) -> Option<Vec<ClientId>> {
    frames.iter().rev().find_map(|f| match &f.msg {
        ServerMessage::UpdatePinUsers(u) => Some(u.client_ids.clone()),
        _ => None,
    })
}

/// The publishers of the latest `videoSlotsUpdated` among `frames`.
fn slot_map(frames: &[ServerFrame]) -> Option<Vec<VideoPublisher>> {
    frames.iter().rev().find_map(|f| match &f.msg {
        ServerMessage::VideoSlotsUpdated(v) => Some(v.publishers.clone()),
        _ => None,
    })
}

#[test]
fn a_pinned_silent_camera_shows_over_a_recent_speaker_but_not_over_a_speaker() {
    let mut w = MediaWorld::new(RoomSettings::default(), 47);
    // R, the moderator, watches on one video slot and films nothing.
    let r = w.join_with_camera("R", Role::Moderator, 1);
    let a = w.join_with_camera("A", Role::Participant, 1);
    let b = w.join_with_camera("B", Role::Participant, 1);
    let c = w.join_with_camera("C", Role::Participant, 1);
    let cams = [(&a, b'A'), (&b, b'B'), (&c, b'C')];

    // B spoke last: R's slot shows B.
    round(&mut w, &cams, &[], 400);
    round(&mut w, &cams, &[&b], 300);
    round(&mut w, &cams, &[], 800);
    w.take_frames(&r);
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'B']));

    // Refused: a participant may not pin (5003); nobody may pin a stranger (5126). Nothing
    // changes and nobody is told.
    let ack = w.request(&a, ClientMessage::PinUsers(pins(&[&a])));
    assert_eq!(
        (ack.msg.type_name(), result(&ack)),
        ("ackPinUsers", ErrorCode::Unauthorized.code())
    );
    let stranger = ClientId::from("c-stranger");
    let ack = w.request(&r, ClientMessage::PinUsers(pins(&[&c, &stranger])));
    assert_eq!(result(&ack), 5126);
    let ack = w.request(&r, ClientMessage::UnpinUsers(pins(&[&stranger])));
    assert_eq!((ack.msg.type_name(), result(&ack)), ("ackUnpinUsers", 5126));
    round(&mut w, &cams, &[], 200);
    for x in [&r, &a, &b, &c] {
        assert_eq!(pin_list(&w.take_frames(x)), None, "nobody told");
    }
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'B']));

    // R pins C, which never spoke: C takes the slot from the recent speaker B, in the step of
    // the request; everyone learns the list.
    let ack = w.request(&r, ClientMessage::PinUsers(pins(&[&c])));
    assert_eq!((ack.msg.type_name(), result(&ack)), ("ackPinUsers", 0));
    let r_frames = w.take_frames(&r);
    assert_eq!(pin_list(&r_frames), Some(vec![c.clone()]));
    let last_map = slot_map(&r_frames).expect("R's slots changed with the pin");
    assert_eq!(last_map[0].client_id, c);
    for x in [&a, &b, &c] {
        assert_eq!(pin_list(&w.take_frames(x)), Some(vec![c.clone()]));
    }
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'C']));

    // Unpinned: the order by last spoken is back, B shows again.
    let ack = w.request(&r, ClientMessage::UnpinUsers(pins(&[&c])));
    assert_eq!((ack.msg.type_name(), result(&ack)), ("ackUnpinUsers", 0));
    round(&mut w, &cams, &[], 100);
    assert_eq!(shown(&mut w, &r), Some(Some(b.clone())));
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'B']));

    // Pinned again; then A speaks: a speaker beats the pin. A falls silent: the pin is back,
    // though A is now the most recent speaker.
    assert_eq!(
        result(&w.request(&r, ClientMessage::PinUsers(pins(&[&c])))),
        0
    );
    round(&mut w, &cams, &[], 100);
    assert_eq!(shown(&mut w, &r), Some(Some(c.clone())));
    round(&mut w, &cams, &[&a], 300);
    assert_eq!(shown(&mut w, &r), Some(Some(a.clone())), "a speaker first");
    w.camera_tags_seen(&r);
    round(&mut w, &cams, &[&a], 400);
    assert_eq!(w.camera_tags_seen(&r), BTreeSet::from([b'A']));
    round(&mut w, &cams, &[], 1000);
    assert_eq!(shown(&mut w, &r), Some(Some(c.clone())), "then the pinned");
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'C']));

    // The pinned C moves into a break-out room: no candidate there (cameras are parent-only),
    // so the most recent speaker A shows; back in the parent, C ranks as pinned again.
    let ack = w.request(&r, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![c.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    assert_eq!(
        result(&w.request(&r, ClientMessage::InviteToBreakOutRoom(inv))),
        0
    );
    round(&mut w, &cams, &[], 100);
    assert_eq!(shown(&mut w, &r), Some(Some(a.clone())));
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'A']));
    assert_eq!(result(&w.request(&c, req::disconnect(&br))), 0);
    round(&mut w, &cams, &[], 100);
    let frames = w.take_frames(&r);
    assert_eq!(pin_list(&frames), None, "the pin list did not change");
    assert_eq!(
        w.family().pinned(),
        std::slice::from_ref(&c),
        "C kept its pin"
    );
    let back = slot_map(&frames).expect("R's slot changed with C's return");
    assert_eq!(back[0].client_id, c);
    assert_eq!(decoded(&mut w, &r, &cams), BTreeSet::from([b'C']));

    // C leaves the family: unpinned, everyone left is told, A shows.
    w.leave(&c);
    round(&mut w, &cams[..2], &[], 100);
    let frames = w.take_frames(&r);
    assert_eq!(pin_list(&frames), Some(vec![]));
    assert_eq!(pin_list(&w.take_frames(&b)), Some(vec![]));
    assert_eq!(decoded(&mut w, &r, &cams[..2]), BTreeSet::from([b'A']));
}

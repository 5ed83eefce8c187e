//! Camera video through the SFU with Rust clients (issue 14, first stage): real server, ICE,
//! DTLS-SRTP and VP8 frames over UDP on 127.0.0.1. Each publisher stamps its frames with its
//! name; a receiver tells from the frames on its video slots whose camera it sees. Cameras are
//! forwarded in the parent room only: a publisher moved into a break-out room is seen by
//! nobody, sees nothing, and is seen again on its return, on the same peer connection. A
//! moderator's pin puts a camera on a receiver's one video slot, and the unpin gives the slot
//! back (`pinUsers` / `unpinUsers`, `setVideoSlot`, through the Rust SDK's typed calls).

mod common;

use alcove_client::media::{synthetic_vp8_frame, Media, MediaOptions};
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{Role, RoomDefinition, ServerMessage, VideoLayer, DEFAULT_VIDEO_SLOTS};
use alcove_proto::{ClientId, ErrorCode};
use common::{Peer, TestServer};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The clients: their media and the tag their camera stamps (`None`: no camera).
struct Cast {
    media: Vec<(Media, Option<u8>)>,
}

impl Cast {
    /// Every camera sends one frame.
    fn film(&self) {
        for (m, tag) in &self.media {
            if let Some(t) = tag {
                m.send_camera_frame(&synthetic_vp8_frame(&[*t; 200]));
            }
        }
    }

    /// The publishers (tags) of the frames decoded on client `i`'s video slots during `d`,
    /// every camera filming at 25 fps meanwhile.
    async fn seen(&mut self, i: usize, d: Duration) -> BTreeSet<u8> {
        let end = Instant::now() + d;
        let mut out = BTreeSet::new();
        while Instant::now() < end {
            self.film();
            tokio::time::sleep(Duration::from_millis(40)).await;
            while let Some(f) = self.media[i].0.try_recv_video() {
                out.insert(f.data[10]);
            }
        }
        out
    }

    /// Watches client `i` in windows of [`WINDOW`] until one in which it sees exactly `want`
    /// (deadline 20 s), then checks that the next window shows nobody outside `want`. No
    /// fixed wait decides the outcome: a slow machine only takes more windows.
    async fn sees_exactly(&mut self, i: usize, want: &[u8], what: &str) {
        let want: BTreeSet<u8> = want.iter().copied().collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.seen(i, WINDOW).await;
            if s == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: wanted {want:?}, still seeing {s:?} after 20 s"
            );
        }
        let s = self.seen(i, WINDOW).await;
        assert!(s.is_subset(&want), "{what}: once settled, saw {s:?}");
    }
}

const WINDOW: Duration = Duration::from_millis(600);

async fn camera_peer(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    name: &str,
    role: Role,
) -> (Peer, Media) {
    peer_with_slots(s, room, name, role, DEFAULT_VIDEO_SLOTS).await
}

/// A peer whose offer has a camera m-line and `video_slots` video slots; ICE and DTLS up.
async fn peer_with_slots(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    name: &str,
    role: Role,
    video_slots: usize,
) -> (Peer, Media) {
    let p = s.peer(room, name, role).await;
    let options = MediaOptions {
        video_slots,
        ..MediaOptions::default()
    };
    let mut m = p
        .room
        .start_media_with(LOOPBACK, options)
        .await
        .expect("sdp negotiated with a camera and video slots");
    assert!(
        m.wait_connected(Duration::from_secs(20)).await,
        "{name}: ICE + DTLS up"
    );
    assert_eq!(m.video_slot_count(), video_slots);
    (p, m)
}

#[tokio::test]
async fn cameras_are_seen_in_the_parent_only_and_again_after_a_return() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let (m, m_media) = camera_peer(&s, &room, "M", Role::Moderator).await;
    let (a, a_media) = camera_peer(&s, &room, "A", Role::Participant).await;
    let (_b, b_media) = camera_peer(&s, &room, "B", Role::Participant).await;
    let (mi, ai, bi) = (0, 1, 2);
    let mut cast = Cast {
        media: vec![
            (m_media, None),
            (a_media, Some(b'A')),
            (b_media, Some(b'B')),
        ],
    };

    cast.sees_exactly(mi, b"AB", "parent: M sees A and B").await;
    cast.sees_exactly(ai, b"B", "parent: A sees B, not itself")
        .await;

    // A is forced into a break-out room and keeps filming: nobody sees it, it sees nobody.
    let def = RoomDefinition {
        participants: 2,
        max_rooms: 1,
        ..RoomDefinition::default()
    };
    let br = common::create(&m, &def).await;
    common::force_into(&m, &br[0], &[&a.id]).await;
    cast.sees_exactly(mi, b"B", "A in a BR: M sees only B")
        .await;
    cast.sees_exactly(bi, b"", "A in a BR: B sees nobody").await;
    cast.sees_exactly(ai, b"", "in a BR, A sees no camera")
        .await;

    // A returns to the parent: seen again and seeing again, on the same peer connection.
    a.room.clear_all_break_out_session().await.expect("back");
    cast.sees_exactly(mi, b"AB", "A back: M sees A and B").await;
    cast.sees_exactly(ai, b"B", "A back: A sees B").await;
    for (name, (media, _)) in ["M", "A", "B"].iter().zip(&cast.media) {
        let st = media.state();
        assert!(st.connected, "{name} still connected");
        assert_eq!(st.ice_disconnects, 0, "{name}: no ICE disconnect");
        assert_eq!(st.renegotiations, 0, "{name}: no renegotiation");
    }
}

/// Watches receiver `i` (peer `rx`) until its latest `videoSlotsUpdated` puts on slot 0 a
/// publisher for which `want` holds and, in one window, it decodes exactly that publisher's tag
/// (deadline 20 s); returns the publisher. `tags` maps publishers to the tags they film.
async fn slot_shows(
    cast: &mut Cast,
    i: usize,
    rx: &mut Peer,
    tags: &[(&ClientId, u8)],
    want: impl Fn(&ClientId) -> bool,
    what: &str,
) -> ClientId {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut on_slot: Option<ClientId> = None;
    loop {
        let seen = cast.seen(i, WINDOW).await;
        while let Some(f) = rx.events.try_next() {
            if let ServerMessage::VideoSlotsUpdated(v) = f.msg {
                on_slot = v
                    .publishers
                    .iter()
                    .find(|p| p.slot == 0)
                    .map(|p| p.client_id.clone());
            }
        }
        if let Some(p) = on_slot.as_ref().filter(|p| want(p)) {
            let tag = tags.iter().find(|(c, _)| *c == p).map(|(_, t)| *t);
            if tag.is_some_and(|t| seen == BTreeSet::from([t])) {
                return p.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: slot 0 shows {on_slot:?}, decoded {seen:?} after 20 s"
        );
    }
}

#[tokio::test]
async fn a_pinned_camera_takes_the_one_video_slot_and_the_unpin_gives_it_back() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    // M, the moderator, watches on one video slot and films nothing.
    let (mut m, m_media) = peer_with_slots(&s, &room, "M", Role::Moderator, 1).await;
    let (a, a_media) = camera_peer(&s, &room, "A", Role::Participant).await;
    let (mut b, b_media) = camera_peer(&s, &room, "B", Role::Participant).await;
    let (c, c_media) = camera_peer(&s, &room, "C", Role::Participant).await;
    let tags = [(&a.id, b'A'), (&b.id, b'B'), (&c.id, b'C')];
    let mut cast = Cast {
        media: vec![
            (m_media, None),
            (a_media, Some(b'A')),
            (b_media, Some(b'B')),
            (c_media, Some(b'C')),
        ],
    };

    // Nobody speaks: the slot shows one of the three (the earliest camera) and keeps it.
    let first = slot_shows(&mut cast, 0, &mut m, &tags, |_| true, "before any pin").await;

    // setVideoSlot through the typed call: accepted for slot 0, refused for a slot M lacks.
    let ack = m
        .room
        .set_video_slot(0, 360, Some(VideoLayer::Medium))
        .await
        .expect("slot 0 exists");
    assert_eq!(ack.result, 0);
    let err = m.room.set_video_slot(7, 360, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidParameters), "{err:?}");

    // Refused pins: a participant (5003), a client that is not in the room (5126).
    let err = a.room.pin_users(&[b.id.clone()]).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized), "{err:?}");
    let nobody = ClientId::from("c-nobody");
    let err = m.room.pin_users(&[nobody]).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::PinInvalidClient), "{err:?}");
    assert_eq!(err.result(), Some(5126));

    // M pins another camera: it takes the slot; everyone learns the pin list.
    let pinned = [&a.id, &b.id, &c.id]
        .into_iter()
        .find(|p| **p != first)
        .expect("two others")
        .clone();
    let ack = m
        .room
        .pin_users(std::slice::from_ref(&pinned))
        .await
        .expect("pinned");
    assert_eq!(ack.result, 0);
    let shown = slot_shows(&mut cast, 0, &mut m, &tags, |p| *p == pinned, "pinned").await;
    assert_eq!(shown, pinned);
    let told = b
        .events
        .wait_for(Duration::from_secs(10), |f| {
            matches!(&f.msg, ServerMessage::UpdatePinUsers(u) if u.client_ids == std::slice::from_ref(&pinned))
        })
        .await;
    assert!(told.is_some(), "B got updatePinUsers");
    assert_eq!(
        b.room.state().await.expect("state").pinned(),
        std::slice::from_ref(&pinned)
    );

    // Unpinned: the earliest camera has the slot again.
    let ack = m
        .room
        .unpin_users(std::slice::from_ref(&pinned))
        .await
        .expect("unpinned");
    assert_eq!(ack.result, 0);
    slot_shows(&mut cast, 0, &mut m, &tags, |p| *p == first, "unpinned").await;
    assert!(m.room.state().await.expect("state").pinned().is_empty());
}

//! Camera video through the SFU with Rust clients (issue 14, first stage): real server, ICE,
//! DTLS-SRTP and VP8 frames over UDP on 127.0.0.1. Each publisher stamps its frames with its
//! name; a receiver tells from the frames on its video slots whose camera it sees. Cameras are
//! forwarded in the parent room only: a publisher moved into a break-out room is seen by
//! nobody, sees nothing, and is seen again on its return, on the same peer connection.

mod common;

use alcove_client::media::{synthetic_vp8_frame, Media, MediaOptions};
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{Role, RoomDefinition, DEFAULT_VIDEO_SLOTS};
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
    let p = s.peer(room, name, role).await;
    let options = MediaOptions {
        video_slots: DEFAULT_VIDEO_SLOTS,
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
    assert_eq!(m.video_slot_count(), DEFAULT_VIDEO_SLOTS);
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

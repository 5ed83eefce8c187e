//! Real media through the SFU with Rust clients: ICE, DTLS-SRTP and Opus frames over UDP on
//! 127.0.0.1. Each sender stamps its frames with its name, so a receiver can tell exactly whom
//! it hears; moves between rooms must change who is heard without a new connection.

mod common;

use alcove_client::media::{synthetic_opus_frame, Media};
use alcove_proto::api::RoomSettingsInput;
use alcove_proto::signal::{Invitee, Role, RoomDefinition, ServerMessage};
use common::{Peer, TestServer};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Publishes `name`-stamped frames every 20 ms until `stop` fires.
fn talk(media: Arc<Media>, name: &'static str, stop: Arc<Notify>) {
    tokio::spawn(async move {
        let mut seq: u32 = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let mut payload = name.as_bytes().to_vec();
                    payload.push(b':');
                    payload.extend_from_slice(&seq.to_be_bytes());
                    media.send_opus(&synthetic_opus_frame(&payload), -20);
                    seq += 1;
                }
                _ = stop.notified() => return,
            }
        }
    });
}

/// Names of the senders heard on `media` during `d`.
async fn heard(media: &mut Media, d: Duration) -> BTreeSet<String> {
    let deadline = tokio::time::Instant::now() + d;
    let mut out = BTreeSet::new();
    while let Ok(Some(f)) = tokio::time::timeout_at(deadline, media.recv()).await {
        out.insert(sender(&f.data));
    }
    out
}

fn sender(frame: &[u8]) -> String {
    let body = &frame[1..];
    let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

async fn drain(media: &mut Media) {
    while media.try_recv().is_some() {}
}

/// One listening window of [`hears_exactly`].
const WINDOW: Duration = Duration::from_millis(500);

/// Waits for the routes to settle: listens in windows of [`WINDOW`] (frames queued before a
/// window do not count) until one window in which `media` hears exactly `want` (deadline
/// 20 s), then checks that the next window holds nobody outside `want`. No fixed wait decides
/// the outcome: a slow machine only takes more windows.
async fn hears_exactly(media: &mut Media, want: &[&str], what: &str) {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        drain(media).await;
        let h = heard(media, WINDOW).await;
        if h == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: wanted {want:?}, still hearing {h:?} after 20 s"
        );
    }
    let h = heard(media, WINDOW).await;
    assert!(
        h.is_subset(&want),
        "{what}: once settled, heard {h:?}, more than {want:?}"
    );
}

async fn media_peer(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    name: &str,
    role: Role,
) -> (Peer, Media) {
    let p = s.peer(room, name, role).await;
    let mut m = p
        .room
        .start_media(LOOPBACK, None)
        .await
        .expect("sdp negotiated");
    assert!(
        m.wait_connected(Duration::from_secs(20)).await,
        "{name}: ICE + DTLS up"
    );
    (p, m)
}

#[tokio::test]
async fn breakout_members_hear_only_their_room_and_the_parent_again_after_leaving() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let (m, mut m_media) = media_peer(&s, &room, "M", Role::Moderator).await;
    let (a, a_media) = media_peer(&s, &room, "A", Role::Participant).await;
    let (mut b, mut b_media) = media_peer(&s, &room, "B", Role::Participant).await;
    let (_c, c_media) = media_peer(&s, &room, "C", Role::Participant).await;
    let a_media = Arc::new(a_media);
    let c_media = Arc::new(c_media);
    let stop = Arc::new(Notify::new());
    talk(Arc::clone(&a_media), "A", Arc::clone(&stop));
    talk(Arc::clone(&c_media), "C", Arc::clone(&stop));

    // Everyone in the parent: B hears A and C.
    hears_exactly(&mut b_media, &["A", "C"], "parent: B hears A and C").await;

    // A goes into a break-out room first (forced join): the parent stops hearing A.
    let def = RoomDefinition {
        participants: 2,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: 1,
        force_join: false,
        ..RoomDefinition::default()
    };
    let br = m
        .room
        .create_break_out_room(&def)
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    let inv = Invitee {
        clients: vec![a.id.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    m.room.invite_to_break_out_room(&inv).await.unwrap();
    hears_exactly(
        &mut b_media,
        &["C"],
        "A is in the BR, paused: the parent hears only C",
    )
    .await;

    // Now B is moved in: the first frame from A at B measures the move (a slot remap).
    drain(&mut b_media).await;
    let asked = Instant::now();
    let inv = Invitee {
        clients: vec![b.id.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    m.room.invite_to_break_out_room(&inv).await.unwrap();
    let first = loop {
        let f = tokio::time::timeout(Duration::from_secs(20), b_media.recv())
            .await
            .expect("audio after the move")
            .unwrap();
        if sender(&f.data) == "A" {
            break f.at;
        }
    };
    eprintln!(
        "move: invite(force_join) sent → first audio from the new room at B: {:?}",
        first - asked
    );
    hears_exactly(&mut b_media, &["A"], "in the BR, paused: B hears only A").await;
    hears_exactly(
        &mut m_media,
        &["C"],
        "the parent does not hear the paused BR members",
    )
    .await;

    // B resumes its parent link: it hears the parent (C) again, A too.
    b.room.resume().await.unwrap();
    hears_exactly(&mut b_media, &["A", "C"], "resumed: BR + parent").await;

    // B leaves: back in the parent, it hears C, and A stays inaudible (A is paused in its BR).
    let notes = b.sync().await;
    assert!(notes
        .iter()
        .any(|f| f.msg.type_name() == "activeTalkersUpdated"));
    let handle = b.room.breakout_room(
        match notes.iter().find_map(|f| match &f.msg {
            ServerMessage::ConnectedBreakoutRoom(c) => Some(c.clone()),
            _ => None,
        }) {
            Some(c) => c,
            None => panic!("B saw its forced connectedBreakoutRoom"),
        },
    );
    handle.disconnect().await.unwrap();
    hears_exactly(
        &mut b_media,
        &["C"],
        "back in the parent: B hears C, not the paused A",
    )
    .await;

    // The same peer connection carried every move.
    for (name, media) in [("B", &b_media), ("M", &m_media)] {
        let st = media.state();
        assert!(st.connected, "{name} still connected");
        assert_eq!(
            st.ice_disconnects, 0,
            "{name}: no ICE disconnect through the moves"
        );
    }
    stop.notify_waiters();
}

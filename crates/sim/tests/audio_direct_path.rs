//! Audio slots seal and send forwarded packets themselves (the direct SRTP path,
//! `crates/core/src/media/srtp.rs`) instead of going through str0m's send streams. Real str0m
//! peers decrypt what the server sends, so a wrong key, IV, header or rollover counter would
//! leave them deaf. The same script run with the path off (`str0m_audio`) must give every
//! listener exactly the same frames on the same slots at the same media times.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld};
use std::time::Duration;

const NAMES: [&str; 5] = ["M", "A", "B", "C", "D"];

/// Each listener's frames: (slot, who, media time), sorted.
type Heard = Vec<(String, Vec<(usize, String, u64)>)>;

/// Talk in the parent, split into a break-out room, talk, come back; what everyone heard and
/// the audio packets forwarded (direct, through str0m).
fn script(str0m_audio: bool, shards: usize) -> (Heard, (u64, u64)) {
    let mut w = MediaWorld::with_audio_path(RoomSettings::default(), 7, shards, str0m_audio);
    let ids = w.join_class(&NAMES);
    let talk = |w: &mut MediaWorld, frames: usize| {
        for i in 0..frames {
            for (k, c) in ids.iter().enumerate() {
                // Frames of different sizes, so a misplaced header or tag shows.
                let pad = "x".repeat((i * 7 + k) % 90);
                w.talk(c, format!("{}:{i}:{pad}", NAMES[k]).as_bytes());
            }
            w.pump(Duration::from_millis(20));
        }
    };
    talk(&mut w, 40);
    let ack = w.request(&ids[0], req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: ids[1..3].to_vec(),
        room_id: br,
        force_join: true,
    };
    let ack = w.request(&ids[0], ClientMessage::InviteToBreakOutRoom(inv));
    assert_eq!(ack.msg.result(), Some(0));
    talk(&mut w, 40);
    let ack = w.request(&ids[0], ClientMessage::DestroyAllBreakOutSession);
    assert_eq!(ack.msg.result(), Some(0));
    talk(&mut w, 40);
    let heard = ids
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let mut frames: Vec<(usize, String, u64)> = w
                .take_heard(c)
                .iter()
                .map(|h| (h.slot, stamp(&h.data), h.time))
                .collect();
            // Frames of several slots arriving at one instant may come in either order.
            frames.sort();
            (NAMES[k].to_string(), frames)
        })
        .collect();
    (heard, w.family().inline_audio_forwarded())
}

#[test]
fn direct_path_carries_all_audio_and_peers_hear_what_str0m_would_send() {
    for shards in [1, 2] {
        let (direct, (sealed, via_str0m)) = script(false, shards);
        let (reference, (sealed_ref, via_str0m_ref)) = script(true, shards);
        assert!(sealed > 1000, "direct path sent {sealed} packets");
        assert_eq!(via_str0m, 0, "no audio through str0m when the path is on");
        assert_eq!(
            sealed_ref, 0,
            "nothing sealed directly when the path is off"
        );
        assert_eq!(via_str0m_ref, sealed, "both paths forward the same packets");
        for ((who, got), (_, want)) in direct.iter().zip(reference.iter()) {
            assert!(
                got.len() > 100,
                "{who} heard {} frames on the direct path",
                got.len()
            );
            assert_eq!(got, want, "{who} heard something else on the direct path");
        }
    }
}

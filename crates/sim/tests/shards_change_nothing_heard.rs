//! The media shards are an implementation detail: the same script of moves, pauses, mutes and
//! departures gives every listener exactly the same sources, round after round, whether the
//! family's sessions sit on one shard or are spread over two or three (packets then cross
//! between shards). Runs in simulated time with real str0m peers, shards inline.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;
use std::time::Duration;

const NAMES: [&str; 7] = ["M", "A", "B", "C", "D", "E", "F"];

/// Each listener and the sources it heard, in one round.
type Round = Vec<(String, BTreeSet<String>)>;

/// Who heard whom in each round of the script, for one shard count, and the sessions per shard.
fn script(shards: usize) -> (Vec<Round>, Vec<usize>) {
    let mut w = MediaWorld::with_shards(RoomSettings::default(), 41, shards);
    let ids = w.join_class(&NAMES);
    let spread = w.family().inline_shard_sessions();
    let mut present: Vec<bool> = vec![true; NAMES.len()];
    let mut rounds = Vec::new();
    let round = |w: &mut MediaWorld, present: &[bool]| {
        for _ in 0..20 {
            for (i, c) in ids.iter().enumerate() {
                if present[i] {
                    w.talk(c, format!("{}:", NAMES[i]).as_bytes());
                }
            }
            w.pump(Duration::from_millis(20));
        }
        // What each listener heard in the second half of the round (after the slots settled).
        for c in ids.iter() {
            let _ = w.take_heard(c);
        }
        for _ in 0..10 {
            for (i, c) in ids.iter().enumerate() {
                if present[i] {
                    w.talk(c, format!("{}:", NAMES[i]).as_bytes());
                }
            }
            w.pump(Duration::from_millis(20));
        }
        let heard: Round = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| present[*i])
            .map(|(i, c)| {
                let from: BTreeSet<String> =
                    w.take_heard(c).iter().map(|h| stamp(&h.data)).collect();
                (NAMES[i].to_string(), from)
            })
            .collect();
        heard
    };
    rounds.push(round(&mut w, &present));
    // Two break-out rooms: A, B, C into one; D, E into the other.
    let ack = w.request(&ids[0], req::create(3, 2));
    let brs = req::rooms(&ack);
    for (members, br) in [(&ids[1..4], &brs[0]), (&ids[4..6], &brs[1])] {
        let inv = Invitee {
            clients: members.to_vec(),
            room_id: br.clone(),
            force_join: true,
        };
        let ack = w.request(&ids[0], ClientMessage::InviteToBreakOutRoom(inv));
        assert_eq!(ack.msg.result(), Some(0));
    }
    rounds.push(round(&mut w, &present));
    // B resumes its parent link; E mutes it after resuming.
    w.request(&ids[2], ClientMessage::Resume);
    w.request(&ids[5], ClientMessage::Resume);
    w.request(&ids[5], req::mute(true, false));
    rounds.push(round(&mut w, &present));
    // C leaves its room; F leaves the family.
    w.request(&ids[3], req::disconnect(&brs[0]));
    w.leave(&ids[6]);
    present[6] = false;
    rounds.push(round(&mut w, &present));
    // Everyone back.
    w.request(&ids[0], ClientMessage::DestroyAllBreakOutSession);
    rounds.push(round(&mut w, &present));
    (rounds, spread)
}

#[test]
fn one_two_or_three_shards_give_every_listener_the_same_sources() {
    let (one, spread1) = script(1);
    assert_eq!(spread1, vec![NAMES.len()]);
    // Sanity: the script is not trivially silent, and rooms are isolated.
    let in_br = &one[1];
    let a = in_br.iter().find(|(n, _)| n == "A").map(|(_, h)| h.clone());
    assert_eq!(
        a,
        Some(["B", "C"].iter().map(|s| s.to_string()).collect()),
        "A in the first break-out room hears B and C only"
    );
    for shards in [2, 3] {
        let (many, spread) = script(shards);
        assert_eq!(spread.len(), shards);
        assert!(
            spread.iter().all(|n| *n >= NAMES.len() / shards),
            "sessions are spread over the shards: {spread:?}"
        );
        for (i, (r1, rn)) in one.iter().zip(&many).enumerate() {
            assert_eq!(
                r1, rn,
                "round {i}: {shards} shards hear differently than one"
            );
        }
    }
}

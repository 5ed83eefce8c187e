//! Media in simulated time: real str0m peers (ICE, DTLS, SRTP) against the family core on an
//! in-memory network. Who hears whom follows every break-out move, on the same peer
//! connection, with no renegotiation.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role, RoomRef, ServerMessage};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;
use std::time::Duration;

/// Everyone in `talkers` talks for `ms` of virtual time; returns who each listener heard.
fn round(w: &mut MediaWorld, talkers: &[(&alcove_proto::ClientId, &str)], ms: u64) {
    for _ in 0..ms / 20 {
        for (c, name) in talkers {
            w.talk(c, format!("{name}:").as_bytes());
        }
        w.pump(Duration::from_millis(20));
    }
}

fn heard(w: &mut MediaWorld, c: &alcove_proto::ClientId) -> BTreeSet<String> {
    w.take_heard(c).iter().map(|h| stamp(&h.data)).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn who_hears_whom_follows_every_move_on_one_peer_connection() {
    let mut w = MediaWorld::new(RoomSettings::default(), 7);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let b = w.join("B", Role::Participant);
    let c = w.join("C", Role::Participant);
    let all = [(&m, "M"), (&a, "A"), (&b, "B"), (&c, "C")];
    round(&mut w, &all, 400);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(
        heard(&mut w, &a),
        set(&["M", "B", "C"]),
        "parent: A hears everyone else"
    );

    // A and B are forced into a break-out room.
    let ack = w.request(&m, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![a.clone(), b.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    let ack = w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    assert_eq!(ack.msg.result(), Some(0));
    round(&mut w, &all, 100);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &a), set(&["B"]), "BR, paused: A hears only B");
    assert_eq!(heard(&mut w, &b), set(&["A"]));
    assert_eq!(
        heard(&mut w, &m),
        set(&["C"]),
        "the parent hears no paused BR member"
    );
    assert_eq!(heard(&mut w, &c), set(&["M"]));

    // A resumes the parent link: A hears the parent too, and the parent hears A.
    assert_eq!(w.request(&a, ClientMessage::Resume).msg.result(), Some(0));
    round(&mut w, &all, 100);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &a), set(&["B", "M", "C"]));
    assert_eq!(
        heard(&mut w, &c),
        set(&["M", "A"]),
        "resumed A is heard in the parent; paused B is not"
    );
    // A mutes its parent link: still hears the parent, no longer heard there.
    let mute = ClientMessage::MuteRoom(alcove_proto::signal::MediaFlags {
        audio: true,
        video: false,
    });
    assert_eq!(w.request(&a, mute).msg.result(), Some(0));
    round(&mut w, &all, 100);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(
        heard(&mut w, &c),
        set(&["M"]),
        "muted A is not heard in the parent"
    );
    assert_eq!(
        heard(&mut w, &a),
        set(&["B", "M", "C"]),
        "but still hears it"
    );

    // B leaves: back in the parent it hears M and C (A is muted there).
    let ack = w.request(
        &b,
        ClientMessage::Disconnect(RoomRef {
            room_id: br.clone(),
        }),
    );
    assert_eq!(ack.msg.result(), Some(0));
    round(&mut w, &all, 100);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &b), set(&["M", "C"]));

    // Every move was announced to the mover as a slot map; nobody renegotiated.
    let frames = w.take_frames(&a);
    assert!(frames
        .iter()
        .any(|f| matches!(&f.msg, ServerMessage::ActiveTalkersUpdated(u) if u.room_id == br)));
    assert_eq!(w.family().media_sessions(), 4);
}

#[test]
fn a_breakout_member_hears_its_first_new_room_frame_within_one_frame_period() {
    let mut w = MediaWorld::new(RoomSettings::default(), 11);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let b = w.join("B", Role::Participant);
    let ack = w.request(&m, req::create(2, 1));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![a.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    let talkers = [(&a, "A"), (&m, "M")];
    round(&mut w, &talkers, 400);
    heard(&mut w, &b);
    let inv = Invitee {
        clients: vec![b.clone()],
        room_id: br,
        force_join: true,
    };
    w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    // One frame period later, B already hears A.
    round(&mut w, &talkers, 20);
    round(&mut w, &talkers, 20);
    assert!(
        heard(&mut w, &b).contains("A"),
        "the move is a remap: the next frame of A reaches B"
    );
}

#[test]
fn breakout_rooms_never_hear_each_other_even_when_both_members_resume() {
    let mut w = MediaWorld::new(RoomSettings::default(), 13);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let b = w.join("B", Role::Participant);
    let ack = w.request(&m, req::create(2, 2));
    let rooms = req::rooms(&ack);
    for (who, room) in [(&a, &rooms[0]), (&b, &rooms[1])] {
        let inv = Invitee {
            clients: vec![who.clone()],
            room_id: room.clone(),
            force_join: true,
        };
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
        assert_eq!(w.request(who, ClientMessage::Resume).msg.result(), Some(0));
    }
    let all = [(&m, "M"), (&a, "A"), (&b, "B")];
    round(&mut w, &all, 200);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(
        heard(&mut w, &a),
        set(&["M"]),
        "A (room 1, resumed) hears the parent, not room 2"
    );
    assert_eq!(
        heard(&mut w, &b),
        set(&["M"]),
        "B (room 2, resumed) hears the parent, not room 1"
    );
    assert_eq!(
        heard(&mut w, &m),
        set(&["A", "B"]),
        "the parent hears both resumed members"
    );
}

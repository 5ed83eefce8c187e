//! `createBreakOutRoom`: a moderator or a participant creates `max_rooms` rooms named
//! "Breakout 1", "Breakout 2", … owned by the caller; the ack lists the rooms; every moderator
//! of the parent (and nobody else) gets one `breakoutRoomCreated` per room.

use alcove_proto::signal::{
    AckCreateBreakOutRoom, BreakoutRoomCreated, BreakoutRoomInfo, Msg, Role, RoomList,
    ServerMessage,
};
use alcove_sim::{req, World};

#[test]
fn moderator_creates_rooms_and_every_moderator_is_told_once_per_room() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    w.clear_inboxes();

    let ack = w.request(&mia, req::create(3, 2));
    let rooms = req::rooms(&ack);
    assert_eq!(rooms.len(), 2);
    assert_ne!(rooms[0], rooms[1]);
    assert_eq!(
        ack.msg,
        ServerMessage::AckCreateBreakOutRoom(AckCreateBreakOutRoom {
            result: 0,
            msg: Msg::Data(RoomList {
                rooms: rooms.clone()
            }),
        })
    );

    let expected: Vec<BreakoutRoomInfo> = rooms
        .iter()
        .enumerate()
        .map(|(i, r)| BreakoutRoomInfo {
            room_id: r.clone(),
            name: format!("Breakout {}", i + 1),
            owner: w.user_ref(&mia),
            participants: 3,
            audio: true,
            canvas: false,
            share: true,
            members: vec![],
            invitations: vec![],
            self_select: false,
            ends_at: None,
            warning_at: None,
        })
        .collect();
    assert_eq!(w.family().breakout_rooms(), expected);

    let n = w.drain_all();
    n.assert_sent("breakoutRoomCreated", &[&mia, &mia, &max, &max]);
    assert_eq!(n.len(), 4, "nothing but breakoutRoomCreated: {n:?}");
    for m in [&mia, &max] {
        let created: Vec<ServerMessage> = expected
            .iter()
            .map(|b| {
                ServerMessage::BreakoutRoomCreated(BreakoutRoomCreated {
                    room_id: b.room_id.clone(),
                    name: b.name.clone(),
                    owner: w.user_ref(&mia),
                    participants: 3,
                    audio: true,
                    canvas: false,
                    share: true,
                })
            })
            .collect();
        assert_eq!(
            n.of(m),
            created.as_slice(),
            "one breakoutRoomCreated per room, in order"
        );
    }
    assert!(n.of(&pat).is_empty());
    assert!(n.of(&vic).is_empty());
    // Creating does not move anybody.
    assert!(w
        .family()
        .users()
        .iter()
        .all(|u| u.location == alcove_proto::signal::Location::Parent));
}

#[test]
fn participant_creates_and_owns_the_room_and_only_moderators_are_told() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    w.clear_inboxes();

    let rooms = w.create_rooms(&pat, 2, 1);
    let b = w.breakout(&rooms[0]).expect("room is live");
    assert_eq!(b.owner, w.user_ref(&pat));
    assert_eq!(b.name, "Breakout 1");

    let n = w.drain_all();
    n.assert_sent("breakoutRoomCreated", &[&mia]);
    assert!(
        n.of(&pat).is_empty(),
        "the participant creator is no moderator: only the ack"
    );
    assert!(n.of(&quinn).is_empty());
}

#[test]
fn names_continue_while_rooms_live_and_restart_when_none_is_left() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let first = w.create_rooms(&mia, 2, 2);
    let second = w.create_rooms(&mia, 2, 1);
    assert_eq!(w.breakout(&second[0]).unwrap().name, "Breakout 3");
    let all: Vec<_> = first.iter().chain(second.iter()).cloned().collect();
    assert_eq!(
        w.live_rooms(),
        all,
        "live rooms are listed in creation order"
    );

    let ack = w.request(
        &mia,
        alcove_proto::signal::ClientMessage::DestroyAllBreakOutSession,
    );
    assert_eq!(req::rooms(&ack), all);
    let again = w.create_rooms(&mia, 2, 1);
    assert_eq!(w.breakout(&again[0]).unwrap().name, "Breakout 1");
    assert!(!all.contains(&again[0]), "a new room never reuses an id");
}

#[test]
fn a_moderator_inside_a_breakout_room_is_still_told() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 1);
    w.request(
        &max,
        req::join(&rooms[0], alcove_proto::signal::JoinRole::Moderator),
    );
    w.clear_inboxes();

    w.create_rooms(&pat, 2, 1);
    let n = w.drain_all();
    n.assert_sent("breakoutRoomCreated", &[&mia, &max]);
}

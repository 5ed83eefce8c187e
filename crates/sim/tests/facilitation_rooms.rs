//! Issue 10, self-select, names and the room list (spec "Self-select", "Names and the room
//! list"): a self-select room takes any participant without an invitation (capacity 1738);
//! `setSelfSelect` for one room or all; definition `names` and `renameBreakoutRoom` (1155,
//! 1736, 5003); `breakoutRoomsUpdated` to every version-3 client, once per input, with only the
//! rooms that changed.

use alcove_proto::signal::{
    BreakoutRoomSummary, BreakoutRoomsUpdated, ClientMessage, JoinRole, Role, RoomDefinition,
    ServerMessage,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, Inboxes, World};
use std::time::Duration;

fn selfselect(participants: u32, rooms: u32) -> RoomDefinition {
    RoomDefinition {
        self_select: true,
        ..req::definition(participants, rooms)
    }
}

#[test]
fn self_select_rooms_take_participants_without_an_invitation_up_to_capacity() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rhea = w.connect("Rhea", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let ack = w.request(&mia, req::create_with(selfselect(2, 2)));
    let rooms = req::rooms(&ack);
    let (b1, b2) = (rooms[0].clone(), rooms[1].clone());
    assert!(w.breakout(&b1).expect("live").self_select);
    w.join_room(&pat, &b1);
    w.join_room(&quinn, &b1);
    assert_eq!(
        req::result(&w.request(&rhea, req::join(&b1, JoinRole::Participant))),
        1738
    );
    w.join_room(&rhea, &b2);
    // A viewer needs an invitation even in a self-select room.
    assert_eq!(
        req::result(&w.request(&vic, req::join(&b2, JoinRole::Participant))),
        1737
    );
    // role: moderator stays for moderators.
    let olga = w.connect("Olga", Role::Participant);
    assert_eq!(
        req::result(&w.request(&olga, req::join(&b2, JoinRole::Moderator))),
        1742
    );
}

#[test]
fn set_self_select_for_one_room_or_all() {
    let mut w = World::with_defaults(1);
    let mia = w.connect_v3("Mia", Role::Moderator);
    let pat = w.connect_v3("Pat", Role::Participant);
    let rooms = w.create_rooms(&mia, 2, 3);
    w.clear_inboxes();
    assert_eq!(
        req::result(&w.request(&pat, req::join(&rooms[0], JoinRole::Participant))),
        1737
    );
    // One room.
    assert_eq!(
        req::result(&w.request(&mia, req::set_self_select(Some(&rooms[1]), true))),
        0
    );
    let inb = w.drain_all();
    let upd = one_update(&inb, &pat);
    assert_eq!(ids(&upd), vec![rooms[1].clone()]);
    assert!(upd.rooms[0].self_select);
    assert_eq!(
        inb.one(&mia, "breakoutRoomsUpdated"),
        inb.one(&pat, "breakoutRoomsUpdated"),
        "the list update goes to everyone, the caller too"
    );
    // All rooms: only those that changed are listed.
    assert_eq!(
        req::result(&w.request(&mia, req::set_self_select(None, true))),
        0
    );
    let upd = one_update(&w.drain_all(), &pat);
    assert_eq!(ids(&upd), vec![rooms[0].clone(), rooms[2].clone()]);
    w.join_room(&pat, &rooms[0]);
    w.clear_inboxes();
    // Off for all, then nothing changes: no update.
    assert_eq!(
        req::result(&w.request(&mia, req::set_self_select(None, false))),
        0
    );
    assert_eq!(ids(&one_update(&w.drain_all(), &mia)).len(), 3);
    assert_eq!(
        req::result(&w.request(&mia, req::set_self_select(None, false))),
        0
    );
    w.drain_all().assert_none("breakoutRoomsUpdated");
    // Refusals.
    assert_eq!(
        req::result(&w.request(&pat, req::set_self_select(None, true))),
        5003
    );
    assert_eq!(
        req::result(&w.request(&mia, req::set_self_select(Some(&RoomId::from("x")), true))),
        1736
    );
    assert!(w.family().breakout_rooms().iter().all(|b| !b.self_select));
}

#[test]
fn names_from_the_definition_then_breakout_n_and_rename() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let ack = w.request(
        &mia,
        req::create_named(req::definition(2, 3), &["  Red\u{7} ", "Blue"]),
    );
    assert_eq!(req::result(&ack), 0, "{ack:?}");
    let names: Vec<String> = w
        .family()
        .breakout_rooms()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["Red", "Blue", "Breakout 3"]);
    let b = req::rooms(&ack)[0].clone();
    for bad in [
        vec!["".to_string()],
        vec!["x".repeat(65)],
        vec!["\u{1}\u{2}".to_string()],
    ] {
        let names: Vec<&str> = bad.iter().map(String::as_str).collect();
        let ack = w.request(&mia, req::create_named(req::definition(2, 1), &names));
        assert_eq!(req::result(&ack), 1155, "{bad:?}");
    }
    let mut raw = req::definition(2, 1).to_input();
    raw.0.insert("names".into(), serde_json::json!("Red"));
    assert_eq!(
        req::result(&w.request(&mia, ClientMessage::CreateBreakOutRoom(raw))),
        1155
    );
    assert_eq!(w.live_rooms().len(), 3);

    assert_eq!(
        req::result(&w.request(&mia, req::rename(&b, "  Crimson  "))),
        0
    );
    assert_eq!(w.breakout(&b).expect("live").name, "Crimson");
    assert_eq!(
        req::result(&w.request(&mia, req::rename(&b, &"y".repeat(64)))),
        0
    );
    for bad in ["", "   ", &"y".repeat(65)] {
        assert_eq!(req::result(&w.request(&mia, req::rename(&b, bad))), 1155);
    }
    assert_eq!(
        req::result(&w.request(&mia, req::rename(&RoomId::from("x"), "Z"))),
        1736
    );
    assert_eq!(req::result(&w.request(&pat, req::rename(&b, "Mine"))), 5003);
    assert_eq!(w.breakout(&b).expect("live").name, "y".repeat(64));
}

fn updates(inb: &Inboxes, c: &ClientId) -> Vec<BreakoutRoomsUpdated> {
    inb.find(c, "breakoutRoomsUpdated")
        .into_iter()
        .map(|m| match m {
            ServerMessage::BreakoutRoomsUpdated(u) => (**u).clone(),
            _ => unreachable!(),
        })
        .collect()
}

fn one_update(inb: &Inboxes, c: &ClientId) -> BreakoutRoomsUpdated {
    let mut u = updates(inb, c);
    assert_eq!(u.len(), 1, "{c}: one update per input: {u:?}");
    u.remove(0)
}

fn ids(u: &BreakoutRoomsUpdated) -> Vec<RoomId> {
    u.rooms.iter().map(|r| r.room_id.clone()).collect()
}

#[test]
fn the_room_list_goes_to_every_version_3_client_once_per_input_with_only_changed_rooms() {
    let mut w = World::with_defaults(1);
    let mia = w.connect_v3("Mia", Role::Moderator);
    let pat = w.connect_v3("Pat", Role::Participant);
    let vic = w.connect_v3("Vic", Role::Viewer);
    let old = w.connect("Old", Role::Participant); // version 1: no room list
    let quinn = w.connect_v3("Quinn", Role::Participant);
    let ack = w.request(&mia, req::create_named(req::definition(3, 3), &["A", "B"]));
    let rooms = req::rooms(&ack);
    let inb = w.drain_all();
    inb.assert_sent("breakoutRoomsUpdated", &[&mia, &pat, &vic, &quinn]);
    let upd = one_update(&inb, &vic);
    let start = w.unix_ms();
    assert_eq!(
        upd.rooms,
        vec![
            BreakoutRoomSummary {
                room_id: rooms[0].clone(),
                name: "A".into(),
                members: 0,
                participants: 3,
                self_select: false,
                ends_at: None
            },
            BreakoutRoomSummary {
                room_id: rooms[1].clone(),
                name: "B".into(),
                members: 0,
                participants: 3,
                self_select: false,
                ends_at: None
            },
            BreakoutRoomSummary {
                room_id: rooms[2].clone(),
                name: "Breakout 3".into(),
                members: 0,
                participants: 3,
                self_select: false,
                ends_at: None
            },
        ]
    );
    assert!(upd.removed.is_empty());

    // A force-joining invite of two into A: one update, A only, members 2.
    let inv = alcove_proto::signal::Invitee {
        clients: vec![pat.clone(), quinn.clone()],
        room_id: rooms[0].clone(),
        force_join: true,
    };
    assert_eq!(
        req::result(&w.request(&mia, ClientMessage::InviteToBreakOutRoom(inv))),
        0
    );
    let inb = w.drain_all();
    assert!(inb.find(&old, "breakoutRoomsUpdated").is_empty());
    let upd = one_update(&inb, &vic);
    assert_eq!(ids(&upd), vec![rooms[0].clone()]);
    assert_eq!(upd.rooms[0].members, 2);

    // A plain invite changes no room: no update.
    w.invite_to(&mia, &rooms[1], &[&old]);
    w.drain_all().assert_none("breakoutRoomsUpdated");

    // A timer shows in the list.
    let ack = w.request(&mia, req::set_duration(&rooms[2], Some(120), None));
    assert_eq!(req::result(&ack), 0);
    let upd = one_update(&w.drain_all(), &pat);
    assert_eq!(ids(&upd), vec![rooms[2].clone()]);
    assert_eq!(upd.rooms[0].ends_at, Some(start + 120_000));

    // Rename: one room.
    assert_eq!(
        req::result(&w.request(&mia, req::rename(&rooms[1], "Bee"))),
        0
    );
    let upd = one_update(&w.drain_all(), &quinn);
    assert_eq!(upd.rooms[0].name, "Bee");

    // A move A -> B: A and B change in one update.
    assert_eq!(
        req::result(&w.request(&mia, req::move_to(&pat, &rooms[1]))),
        0
    );
    let upd = one_update(&w.drain_all(), &vic);
    assert_eq!(ids(&upd), vec![rooms[0].clone(), rooms[1].clone()]);
    assert_eq!((upd.rooms[0].members, upd.rooms[1].members), (1, 1));

    // The last member leaves A: A is removed (listed under removed only).
    assert_eq!(
        req::result(&w.request(&quinn, req::disconnect(&rooms[0]))),
        0
    );
    let upd = one_update(&w.drain_all(), &vic);
    assert!(upd.rooms.is_empty(), "{upd:?}");
    assert_eq!(upd.removed, vec![rooms[0].clone()]);

    // The timer ends room 3 (never joined... it has a timer): removed, in one update.
    w.advance(Duration::from_secs(120));
    let inb = w.drain_all();
    let upd = one_update(&inb, &mia);
    assert_eq!(upd.removed, vec![rooms[2].clone()]);

    // Destroy-all: every remaining room removed in one update.
    assert_eq!(
        req::result(&w.request(&mia, ClientMessage::DestroyAllBreakOutSession)),
        0
    );
    let upd = one_update(&w.drain_all(), &pat);
    assert_eq!(upd.removed, vec![rooms[1].clone()]);
    assert!(w.live_rooms().is_empty());
}

#[test]
fn a_version_3_client_connecting_late_gets_no_stale_update_and_the_list_in_room_connected() {
    let mut w = World::with_defaults(1);
    let mia = w.connect_v3("Mia", Role::Moderator);
    let rooms = w.create_rooms(&mia, 2, 2);
    w.clear_inboxes();
    let (pat, rc) = w
        .try_connect_as(alcove_core::NewClient::new("Pat", Role::Participant), 3)
        .expect("connects");
    match rc.msg {
        ServerMessage::RoomConnected(rc) => {
            assert_eq!(rc.version, 3);
            let ids: Vec<RoomId> = rc
                .breakout_rooms
                .iter()
                .map(|b| b.room_id.clone())
                .collect();
            assert_eq!(ids, rooms);
        }
        other => panic!("{other:?}"),
    }
    w.drain_all().assert_none("breakoutRoomsUpdated");
    let _ = pat;
}

//! Every seed flow end to end: real server, real WebSockets, the Rust SDK. Each test asserts
//! the exact acknowledgement and that every notification reaches exactly the right clients.

// Peers are addressed by index (p[0] is the first moderator, …) to mirror the scenario text.
#![allow(clippy::needless_range_loop)]

mod common;

use alcove_proto::api::{RoomMode, RoomSettingsInput};
use alcove_proto::signal::{
    Invitee, JoinRole, Location, MediaFlags, Msg, Muted, Role, RoomDefinition, ServerMessage,
    StreamInfo,
};
use alcove_proto::{ErrorCode, RoomId};
use common::{breakout_notes, left_in, of_type, presence_of, Peer, TestServer};

fn def(participants: u32, max_rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants,
        audio: true,
        video: false,
        canvas: true,
        share: true,
        max_rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

async fn group(server: &TestServer) -> RoomId {
    server.room(RoomSettingsInput::default()).await
}

/// Connects `names` with `role`, then drains everyone's presence so tests start clean.
async fn setup(server: &TestServer, room: &RoomId, people: &[(&str, Role)]) -> Vec<Peer> {
    let mut peers = Vec::new();
    for (name, role) in people {
        peers.push(server.peer(room, name, *role).await);
    }
    for p in peers.iter_mut() {
        p.sync().await;
    }
    peers
}

fn invitee(clients: &[&Peer], room: &RoomId, force_join: bool) -> Invitee {
    Invitee {
        clients: clients.iter().map(|p| p.id.clone()).collect(),
        room_id: room.clone(),
        force_join,
    }
}

#[tokio::test]
async fn create_acks_room_ids_and_notifies_every_moderator_once_per_room() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("V", Role::Viewer),
        ],
    )
    .await;
    let ack = p[2]
        .room
        .create_break_out_room(&def(3, 2))
        .await
        .expect("participant may create");
    assert_eq!(ack.result, 0);
    let rooms = ack.msg.data().expect("rooms").rooms.clone();
    assert_eq!(rooms.len(), 2);
    for m in 0..2 {
        let notes = p[m].sync().await;
        let created = of_type(&notes, "breakoutRoomCreated");
        assert_eq!(
            created.len(),
            2,
            "moderator {m} gets one breakoutRoomCreated per room"
        );
        for (i, c) in created.iter().enumerate() {
            let ServerMessage::BreakoutRoomCreated(c) = c else {
                unreachable!()
            };
            assert_eq!(c.room_id, rooms[i]);
            assert_eq!(c.name, format!("Breakout {}", i + 1));
            assert_eq!(c.owner.client_id, p[2].id);
            assert_eq!(c.owner.name, "P1");
            assert_eq!(
                (c.participants, c.audio, c.canvas, c.share),
                (3, true, true, true)
            );
        }
    }
    assert!(
        p[2].notes().await.is_empty(),
        "the participant creator gets only its ack"
    );
    assert!(p[3].notes().await.is_empty(), "viewers get nothing");
    let listed = s.rest.breakout_rooms(&room).await.expect("rest");
    assert_eq!(
        listed.iter().map(|b| b.room_id.clone()).collect::<Vec<_>>(),
        rooms
    );
}

#[tokio::test]
async fn create_errors_carry_the_contract_codes() {
    let s = TestServer::start().await;
    let lecture = s
        .room(RoomSettingsInput {
            mode: Some(RoomMode::Lecture),
            ..Default::default()
        })
        .await;
    let l = setup(&s, &lecture, &[("M", Role::Moderator)]).await;
    let e = l[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(ErrorCode::BreakoutNotAvailable),
        "5067 in a lecture room"
    );
    assert_eq!(e.result(), Some(5067));
    let e = l[0]
        .room
        .create_and_invite_breakout_room(&def(2, 1))
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(5067), "create-and-invite too");

    let room = s
        .room(RoomSettingsInput {
            max_active_talkers: Some(6),
            ..Default::default()
        })
        .await;
    let mut p = setup(&s, &room, &[("M", Role::Moderator), ("V", Role::Viewer)]).await;
    let e = p[0]
        .room
        .create_break_out_room(&def(6, 1))
        .await
        .unwrap_err();
    assert_eq!(
        e.result(),
        Some(1725),
        "participants over max_active_talkers − 1"
    );
    let e = p[0]
        .room
        .create_break_out_room(&def(11, 11))
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1725));
    let e = p[0]
        .room
        .create_break_out_room(&def(5, 11))
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1726), "over 10 rooms");
    p[0].room
        .create_break_out_room(&def(5, 8))
        .await
        .expect("8 rooms");
    let e = p[0]
        .room
        .create_break_out_room(&def(5, 3))
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1726), "8 live + 3 > 10");
    let e = p[1]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(5003), "viewers never create");
    let mut video = def(2, 1);
    video.video = true;
    let e = p[0].room.create_break_out_room(&video).await.unwrap_err();
    assert_eq!(e.result(), Some(1735));
    // Nobody was told about refused creates: only the 8 rooms.
    let notes = p[0].sync().await;
    assert_eq!(of_type(&notes, "breakoutRoomCreated").len(), 8);
    assert!(p[1].notes().await.is_empty());
}

#[tokio::test]
async fn invite_without_force_join_notifies_invitees_and_moderators_and_join_moves_them() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
            ("C", Role::Participant),
        ],
    )
    .await;
    let br = p[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    for m in 0..2 {
        p[m].sync().await;
    }
    let ack = p[0]
        .room
        .invite_to_break_out_room(&invitee(&[&p[2], &p[3]], &br, false))
        .await
        .unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Success"));
    assert_eq!(ack.invited, vec![p[2].id.clone(), p[3].id.clone()]);
    assert!(ack.failed.is_empty());
    for i in [2, 3] {
        let notes = p[i].sync().await;
        assert_eq!(breakout_notes(&notes), vec!["invitationForBreakoutRoom"]);
        let ServerMessage::InvitationForBreakoutRoom(inv) = &notes[0].msg else {
            unreachable!()
        };
        assert_eq!(inv.room_id, br);
        assert_eq!(inv.requestor.client_id, p[0].id);
        assert_eq!(inv.requestor.name, "M1");
        assert!(!inv.force_join);
    }
    for m in 0..2 {
        let notes = p[m].sync().await;
        assert_eq!(
            breakout_notes(&notes),
            vec!["breakoutRoomInvited"],
            "moderator {m}"
        );
        let ServerMessage::BreakoutRoomInvited(n) = &notes[0].msg else {
            unreachable!()
        };
        assert_eq!(n.clients, vec![p[2].id.clone(), p[3].id.clone()]);
        assert_eq!(n.requestor.client_id, p[0].id);
    }
    assert!(
        p[4].notes().await.is_empty(),
        "C was not invited and hears nothing"
    );

    // A joins: ack connectedBreakoutRoom with the members; nobody was in the BR yet.
    let a_br = p[2]
        .room
        .join_breakout_room(&br, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap();
    assert_eq!(a_br.info().result, 0);
    assert_eq!(a_br.info().room.room_id, br);
    assert_eq!(
        a_br.info()
            .room
            .members
            .iter()
            .map(|m| m.client_id.clone())
            .collect::<Vec<_>>(),
        vec![p[2].id.clone()]
    );
    // B joins: A (already inside) gets userJoinedBreakoutRoom; nobody else does.
    p[3].room
        .join_breakout_room(&br, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap();
    let a_notes = p[2].sync().await;
    assert_eq!(breakout_notes(&a_notes), vec!["userJoinedBreakoutRoom"]);
    let ServerMessage::UserJoinedBreakoutRoom(j) = &of_type(&a_notes, "userJoinedBreakoutRoom")[0]
    else {
        unreachable!()
    };
    assert_eq!(
        (j.client_id.clone(), j.name.as_str(), j.room_id.clone()),
        (p[3].id.clone(), "B", br.clone())
    );
    for i in [0, 1, 4] {
        let notes = p[i].sync().await;
        assert!(
            breakout_notes(&notes).is_empty(),
            "{} sees only presence",
            p[i].name
        );
        // Presence (protocol 2, one usersUpdated per join): A and B moved and were
        // auto-paused.
        assert_eq!(of_type(&notes, "usersUpdated").len(), 2);
        for who in [&p[2].id, &p[3].id] {
            let seen = presence_of(&notes, who);
            assert_eq!(seen.len(), 1);
            assert_eq!(seen[0].location, Location::Breakout(br.clone()));
            assert!(seen[0].paused);
        }
    }
    let users = s.rest.users(&room).await.unwrap();
    let a = users.iter().find(|u| u.client_id == p[2].id).unwrap();
    assert_eq!(a.location, Location::Breakout(br.clone()));
    assert!(a.paused, "joining auto-pauses the parent");
    let brs = s.rest.breakout_rooms(&room).await.unwrap();
    assert_eq!(brs[0].members.len(), 2);
    assert!(brs[0].invitations.is_empty(), "invitations consumed");
}

#[tokio::test]
async fn force_join_moves_invitees_at_once() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
            ("C", Role::Participant),
        ],
    )
    .await;
    let br = p[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    p[0].sync().await;
    let ack = p[0]
        .room
        .invite_to_break_out_room(&invitee(&[&p[1], &p[2], &p[3]], &br, true))
        .await
        .unwrap();
    assert_eq!(ack.invited, vec![p[1].id.clone(), p[2].id.clone()]);
    assert_eq!(ack.failed.len(), 1, "the third does not fit");
    assert_eq!(
        (ack.failed[0].client_id.clone(), ack.failed[0].result),
        (p[3].id.clone(), 1738)
    );
    let a = p[1].sync().await;
    assert_eq!(
        breakout_notes(&a),
        vec![
            "invitationForBreakoutRoom",
            "connectedBreakoutRoom",
            "userJoinedBreakoutRoom"
        ]
    );
    let ServerMessage::InvitationForBreakoutRoom(inv) = &a[0].msg else {
        unreachable!()
    };
    assert!(inv.force_join);
    let b = p[2].sync().await;
    assert_eq!(
        breakout_notes(&b),
        vec!["invitationForBreakoutRoom", "connectedBreakoutRoom"]
    );
    let ServerMessage::ConnectedBreakoutRoom(c) = &of_type(&b, "connectedBreakoutRoom")[0] else {
        unreachable!()
    };
    let handle = p[2].room.breakout_room(c.clone());
    assert!(
        breakout_notes(&p[3].sync().await).is_empty(),
        "the refused invitee gets nothing"
    );
    assert_eq!(
        breakout_notes(&p[0].sync().await),
        vec!["breakoutRoomInvited"]
    );
    // The forced member can leave through its handle.
    let left = handle.disconnect().await.unwrap();
    assert_eq!(left.room_id, Some(br.clone()));
    assert_eq!(
        breakout_notes(&p[1].sync().await),
        vec!["didUserDisconnectedFromBreakoutRoom"]
    );
}

#[tokio::test]
async fn create_and_invite_spreads_participants_at_random_and_leaves_the_rest() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut people = vec![
        ("M", Role::Moderator),
        ("M2", Role::Moderator),
        ("V", Role::Viewer),
    ];
    let names = ["P1", "P2", "P3", "P4", "P5", "P6"];
    for n in names {
        people.push((n, Role::Participant));
    }
    let mut p = setup(&s, &room, &people).await;
    let mut d = def(2, 2);
    d.force_join = true;
    let ack = p[0].room.create_and_invite_breakout_room(&d).await.unwrap();
    let result = ack.msg.data().unwrap().clone();
    assert_eq!(result.rooms.len(), 2);
    let assigned: Vec<_> = result
        .invitations
        .iter()
        .flat_map(|i| i.clients.clone())
        .collect();
    assert_eq!(assigned.len(), 4, "2 rooms × 2 places");
    assert_eq!(result.unassigned.len(), 2);
    for inv in &result.invitations {
        assert_eq!(inv.clients.len(), 2, "rooms fill evenly");
    }
    let participant_ids: Vec<_> = p[3..].iter().map(|x| x.id.clone()).collect();
    let mut all: Vec<_> = assigned
        .iter()
        .chain(result.unassigned.iter())
        .cloned()
        .collect();
    all.sort();
    let mut expect = participant_ids.clone();
    expect.sort();
    assert_eq!(
        all, expect,
        "exactly the participants; never moderators or viewers"
    );
    // Moderators: 2 created + 2 invited.
    for m in 0..2 {
        let notes = p[m].sync().await;
        assert_eq!(
            breakout_notes(&notes),
            vec![
                "breakoutRoomCreated",
                "breakoutRoomCreated",
                "breakoutRoomInvited",
                "breakoutRoomInvited"
            ]
        );
    }
    let users = s.rest.users(&room).await.unwrap();
    for peer in p[3..].iter_mut() {
        let notes = breakout_notes(&peer.sync().await);
        let u = users.iter().find(|u| u.client_id == peer.id).unwrap();
        if assigned.contains(&peer.id) {
            assert_eq!(
                notes[..2],
                ["invitationForBreakoutRoom", "connectedBreakoutRoom"]
            );
            assert!(matches!(u.location, Location::Breakout(_)));
        } else {
            assert!(
                notes.is_empty(),
                "unassigned participants are not told anything"
            );
            assert_eq!(u.location, Location::Parent);
        }
    }
    assert!(breakout_notes(&p[2].sync().await).is_empty(), "viewer");
}

#[tokio::test]
async fn failed_joins_say_why() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
            ("C", Role::Participant),
        ],
    )
    .await;
    let rooms = p[0]
        .room
        .create_break_out_room(&def(2, 2))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    let (r1, r2) = (rooms[0].clone(), rooms[1].clone());
    let e = p[1]
        .room
        .join_breakout_room(&r1, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1737), "no invitation");
    assert!(matches!(
        *e_ack(&e),
        ServerMessage::FailedJoinBreakOutRoom(_)
    ));
    let e = p[1]
        .room
        .join_breakout_room(
            &RoomId::from("nope"),
            JoinRole::Participant,
            StreamInfo::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1736), "unknown room");
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[1], &p[2], &p[3]], &r1, false))
        .await
        .unwrap();
    let e = p[1]
        .room
        .join_breakout_room(&r1, JoinRole::Moderator, StreamInfo::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.result(),
        Some(1742),
        "a participant cannot claim moderator"
    );
    p[1].room
        .join_breakout_room(&r1, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap();
    p[2].room
        .join_breakout_room(&r1, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap();
    let e = p[3]
        .room
        .join_breakout_room(&r1, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1738), "room full");
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[1]], &r2, false))
        .await
        .unwrap();
    let e = p[1]
        .room
        .join_breakout_room(&r1, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1739), "already in that break-out room");
    // A moderator needs no invitation and does not count when joining as moderator.
    p[0].room
        .join_breakout_room(&r1, JoinRole::Moderator, StreamInfo::default())
        .await
        .expect("moderator joins a full room");
    let brs = s.rest.breakout_rooms(&room).await.unwrap();
    assert_eq!(brs[0].members.len(), 3);
}

fn e_ack(e: &alcove_client::Error) -> Box<ServerMessage> {
    match e {
        alcove_client::Error::Refused { ack, .. } => ack.clone(),
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn reject_acks_and_tells_every_moderator() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
        ],
    )
    .await;
    let br = p[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[2]], &br, false))
        .await
        .unwrap();
    for i in 0..4 {
        p[i].sync().await;
    }
    let ack = p[2].room.reject_break_out_room(&br).await.unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Success"));
    for m in 0..2 {
        let notes = p[m].sync().await;
        assert_eq!(breakout_notes(&notes), vec!["breakoutRoomInviteRejected"]);
        let ServerMessage::BreakoutRoomInviteRejected(r) = &notes[0].msg else {
            unreachable!()
        };
        assert_eq!(
            (r.room_id.clone(), r.client_id.clone(), r.name.as_str()),
            (br.clone(), p[2].id.clone(), "A")
        );
    }
    assert!(p[2].notes().await.is_empty());
    assert!(p[3].notes().await.is_empty());
    let e = p[2].room.reject_break_out_room(&br).await.unwrap_err();
    assert_eq!(e.result(), Some(1737), "nothing left to reject");
    let e = p[2]
        .room
        .join_breakout_room(&br, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.result(),
        Some(1737),
        "a rejected invitation cannot be used"
    );
}

#[tokio::test]
async fn pause_resume_mute_unmute_ack_and_show_in_presence() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[("M", Role::Moderator), ("A", Role::Participant)],
    )
    .await;
    let ack = p[1].room.pause().await.unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Room paused"));
    let ack = p[1].room.resume().await.unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Room resumed"));
    let ack = p[1]
        .room
        .mute_room(MediaFlags {
            audio: true,
            video: false,
        })
        .await
        .unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Room muted"));
    let e = p[1]
        .room
        .mute_room(MediaFlags::default())
        .await
        .unwrap_err();
    assert_eq!(e.result(), Some(1155), "at least one flag");
    let notes = p[0].sync().await;
    // Protocol 2: one usersUpdated per change, each with A's state after it; the refused
    // mute changed nothing and is not news.
    assert_eq!(of_type(&notes, "usersUpdated").len(), 3);
    let seen: Vec<_> = presence_of(&notes, &p[1].id)
        .iter()
        .map(|u| {
            format!(
                "paused={} muted={}/{}",
                u.paused, u.muted.audio, u.muted.video
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            "paused=true muted=false/false",
            "paused=false muted=false/false",
            "paused=false muted=true/false"
        ]
    );
    let ack = p[1]
        .room
        .unmute_room(MediaFlags {
            audio: true,
            video: true,
        })
        .await
        .unwrap();
    assert_eq!((ack.result, ack.msg.as_str()), (0, "Room unmuted"));
    let users = s.rest.users(&room).await.unwrap();
    assert_eq!(users[1].muted, Muted::default());
    let notes = p[0].sync().await;
    assert_eq!(of_type(&notes, "usersUpdated").len(), 1);
    assert_eq!(presence_of(&notes, &p[1].id)[0].muted, Muted::default());
}

#[tokio::test]
async fn disconnect_returns_to_parent_resumed_and_last_leaver_destroys_with_notice() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("M2", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
        ],
    )
    .await;
    let br = p[2]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    p[2].room
        .invite_to_break_out_room(&invitee(&[&p[3]], &br, false))
        .await
        .expect("the owner may invite");
    let a = p[2]
        .room
        .join_breakout_room(&br, JoinRole::Participant, StreamInfo::default())
        .await;
    assert_eq!(
        a.unwrap_err().result(),
        Some(1737),
        "even the owner needs an invitation as a participant"
    );
    let b = p[3]
        .room
        .join_breakout_room(&br, JoinRole::Participant, StreamInfo::default())
        .await
        .unwrap();
    let m = p[0]
        .room
        .join_breakout_room(&br, JoinRole::Moderator, StreamInfo::default())
        .await
        .unwrap();
    for i in 0..4 {
        p[i].sync().await;
    }
    let ack = b.disconnect().await.unwrap();
    assert_eq!(ack.room_id, Some(br.clone()));
    assert_eq!(
        (ack.result, ack.msg.as_str(), ack.moderator_id.as_str()),
        (0, "Breakout Room disconnected", "")
    );
    let m_notes = p[0].sync().await;
    assert_eq!(
        breakout_notes(&m_notes),
        vec!["didUserDisconnectedFromBreakoutRoom"]
    );
    let ServerMessage::DidUserDisconnectedFromBreakoutRoom(d) = &m_notes[0].msg else {
        unreachable!()
    };
    assert_eq!(
        (d.client_id.clone(), d.name.as_str(), d.room.clone()),
        (p[3].id.clone(), "B", br.clone())
    );
    let users = s.rest.users(&room).await.unwrap();
    let bu = users.iter().find(|u| u.client_id == p[3].id).unwrap();
    assert_eq!(
        (bu.location.clone(), bu.paused),
        (Location::Parent, false),
        "back in the parent, resumed"
    );
    assert!(breakout_notes(&p[1].sync().await).is_empty());
    assert!(breakout_notes(&p[2].sync().await).is_empty());
    // The last member leaves: the room is destroyed; owner (A) and every moderator are told once.
    m.disconnect().await.unwrap();
    for i in [0, 1, 2] {
        let notes = p[i].sync().await;
        assert_eq!(
            breakout_notes(&notes),
            vec!["didDestroyedBreakoutRoom"],
            "{}",
            p[i].name
        );
        let ServerMessage::DidDestroyedBreakoutRoom(r) =
            &of_type(&notes, "didDestroyedBreakoutRoom")[0]
        else {
            unreachable!()
        };
        assert_eq!(r.room_id, br);
    }
    assert!(breakout_notes(&p[3].sync().await).is_empty());
    assert!(s.rest.breakout_rooms(&room).await.unwrap().is_empty());
    let e = b.disconnect().await.unwrap_err();
    assert_eq!(e.result(), Some(1736), "gone");
}

#[tokio::test]
async fn clear_all_leaves_the_room_and_tells_its_owner() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
        ],
    )
    .await;
    let br = p[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[1], &p[2]], &br, true))
        .await
        .unwrap();
    for i in 0..3 {
        p[i].sync().await;
    }
    let ack = p[1].room.clear_all_break_out_session().await.unwrap();
    assert_eq!(ack.room_id, Some(br.clone()));
    let owner = p[0].sync().await;
    assert_eq!(breakout_notes(&owner), vec!["didDisconnectedBreakoutRoom"]);
    let ServerMessage::DidDisconnectedBreakoutRoom(d) = &owner[owner
        .iter()
        .position(|f| f.msg.type_name() == "didDisconnectedBreakoutRoom")
        .unwrap()]
    .msg
    else {
        unreachable!()
    };
    assert_eq!(d.room_id, Some(br.clone()));
    assert_eq!(
        breakout_notes(&p[2].sync().await),
        vec!["didUserDisconnectedFromBreakoutRoom"]
    );
    // In the parent already: still one ack, room_id null, parent resumed.
    p[1].room.pause().await.unwrap();
    let ack = p[1].room.clear_all_break_out_session().await.unwrap();
    assert_eq!((ack.room_id, ack.result), (None, 0));
    let users = s.rest.users(&room).await.unwrap();
    assert!(
        !users
            .iter()
            .find(|u| u.client_id == p[1].id)
            .unwrap()
            .paused
    );
}

#[tokio::test]
async fn destroy_all_brings_everyone_back_resumed_unmuted_and_withdraws_invitations() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("M2", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
            ("C", Role::Participant),
        ],
    )
    .await;
    let rooms = p[2]
        .room
        .create_break_out_room(&def(2, 2))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[2]], &rooms[0], true))
        .await
        .unwrap();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[3]], &rooms[1], true))
        .await
        .unwrap();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[4]], &rooms[1], false))
        .await
        .unwrap();
    p[2].room
        .mute_room(MediaFlags {
            audio: true,
            video: true,
        })
        .await
        .unwrap();
    for i in 0..5 {
        p[i].sync().await;
    }
    let e = p[2].room.destroy_all_break_out_session().await.unwrap_err();
    assert_eq!(e.result(), Some(5003), "only moderators destroy all");
    let ack = p[1].room.destroy_all_break_out_session().await.unwrap();
    assert_eq!(ack.result, 0);
    assert_eq!(
        ack.msg,
        Msg::Data(alcove_proto::signal::RoomList {
            rooms: rooms.clone()
        })
    );
    // A: owner of both rooms and member of the first: one notice per room.
    let a = p[2].sync().await;
    assert_eq!(
        breakout_notes(&a),
        vec!["didDisconnectedBreakoutRoom", "didDisconnectedBreakoutRoom"]
    );
    // B: member of room 2.
    assert_eq!(
        breakout_notes(&p[3].sync().await),
        vec!["didDisconnectedBreakoutRoom"]
    );
    // C: pending invitation withdrawn.
    let c = p[4].sync().await;
    assert_eq!(breakout_notes(&c), vec!["breakoutInvitationWithdrawn"]);
    assert_eq!(
        breakout_notes(&p[0].sync().await),
        vec!["didDestroyedBreakoutRoom", "didDestroyedBreakoutRoom"],
        "every other moderator learns each room is gone"
    );
    assert!(
        breakout_notes(&p[1].sync().await).is_empty(),
        "the caller has its ack"
    );
    let users = s.rest.users(&room).await.unwrap();
    for u in &users {
        assert_eq!(
            (u.location.clone(), u.paused, u.muted),
            (Location::Parent, false, Muted::default()),
            "{}",
            u.name
        );
    }
    assert!(s.rest.breakout_rooms(&room).await.unwrap().is_empty());
}

#[tokio::test]
async fn dropping_the_last_member_auto_destroys_and_deleting_the_room_ends_the_family() {
    let s = TestServer::start().await;
    let room = group(&s).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("A", Role::Participant),
            ("B", Role::Participant),
        ],
    )
    .await;
    let br = p[0]
        .room
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    p[0].room
        .invite_to_break_out_room(&invitee(&[&p[1]], &br, true))
        .await
        .unwrap();
    p[0].sync().await;
    p[1].room.close().await;
    let notes = p[0].sync().await;
    assert_eq!(breakout_notes(&notes), vec!["didDestroyedBreakoutRoom"]);
    assert_eq!(left_in(&notes), vec![p[1].id.clone()]);
    // Deleting the room ends the live family: everyone gets roomDisconnected 4107.
    s.rest.delete_room(&room).await.unwrap();
    for peer in p.iter_mut().filter(|x| x.name != "A") {
        let f = peer
            .events
            .wait_for(std::time::Duration::from_secs(30), |f| {
                f.msg.type_name() == "roomDisconnected"
            })
            .await;
        let f = f.expect("roomDisconnected");
        assert_eq!(f.msg.result(), Some(4107));
    }
}

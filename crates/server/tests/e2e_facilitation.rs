//! Facilitation (issue 10) end to end: real server, real WebSockets, the Rust SDK. For each
//! operation, what the other clients notice (the exact notifications, from `Peer::sync`) and
//! the exact error codes for bad inputs and unauthorised callers. Timers run on short
//! durations and are waited for with deadlines; nothing sleeps to decide an outcome.

// Peers are addressed by index (p[0] is the first moderator, …) to mirror the scenario text.
#![allow(clippy::needless_range_loop)]

mod common;

use alcove_client::{Error, FacilitationEvent};
use alcove_proto::api::{RoomMode, RoomSettingsInput};
use alcove_proto::signal::{
    HelpOutcome, Invitee, JoinRole, LeaveReason, Location, MediaFlags, MuteMember, Role,
    RoomDefinition, ServerFrame, ServerMessage, WithdrawReason,
};
use alcove_proto::{ClientId, RoomId};
use common::{create, force_into, of_type, Peer, TestServer};
use std::time::{Duration, Instant};

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

/// Connects `people`, then drains everyone's presence so tests start clean.
async fn setup(server: &TestServer, room: &RoomId, people: &[(&str, Role)]) -> Vec<Peer> {
    let mut peers = Vec::new();
    for (name, role) in people {
        peers.push(server.peer(room, name, *role).await);
    }
    for p in peers.iter_mut() {
        p.sync_all().await;
    }
    peers
}

async fn invite(m: &Peer, room: &RoomId, who: &[&ClientId]) {
    m.room
        .invite_to_break_out_room(&Invitee {
            clients: who.iter().map(|c| (*c).clone()).collect(),
            room_id: room.clone(),
            force_join: false,
        })
        .await
        .expect("invite");
}

/// The types of `frames` without presence (`usersUpdated` and version 1's per-user frames);
/// the room list (`breakoutRoomsUpdated`) stays in.
fn breakout_notes(frames: &[ServerFrame]) -> Vec<&'static str> {
    frames
        .iter()
        .map(|f| f.msg.type_name())
        .filter(|t| {
            !matches!(
                *t,
                "userConnected"
                    | "userDisconnected"
                    | "userMoved"
                    | "userPaused"
                    | "userMuted"
                    | "usersUpdated"
            )
        })
        .collect()
}

/// The facilitation and seed notifications since the last sync (presence filtered out).
async fn notes(p: &mut Peer) -> Vec<&'static str> {
    breakout_notes(&p.sync_all().await)
}

/// The error code of a refused call.
fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> i32 {
    match r {
        Err(e) => e.result().unwrap_or_else(|| panic!("not refused: {e:?}")),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// Every frame `p` receives until `done` holds for one (that one included), within `secs`.
async fn until(
    p: &mut Peer,
    secs: u64,
    mut done: impl FnMut(&ServerFrame) -> bool,
) -> Vec<ServerFrame> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut out: Vec<ServerFrame> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(f) = p.events.next_within(left).await else {
            panic!(
                "{}: condition not met within {secs} s; got {:?}",
                p.name,
                out.iter().map(|f| f.msg.type_name()).collect::<Vec<_>>()
            );
        };
        let stop = done(&f);
        out.push(f);
        if stop {
            return out;
        }
    }
}

fn is(ty: &'static str) -> impl Fn(&ServerFrame) -> bool {
    move |f| f.id.is_none() && f.msg.type_name() == ty
}

// ----- timers -----

#[tokio::test]
async fn set_breakout_duration_tells_members_and_moderators_and_refuses_bad_input() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
        ],
    )
    .await;
    let br = create(&p[0], &def(3, 1)).await.remove(0);
    let p1 = p[2].id.clone();
    force_into(&p[0], &br, &[&p1]).await;
    for i in 0..4 {
        p[i].sync_all().await;
    }

    let now = p[0].room.server_now_ms().await.unwrap();
    let ack = p[0]
        .room
        .set_breakout_duration(&br, Some(600), Some(30))
        .await
        .unwrap();
    let timer = ack.timer.expect("the timer in the ack");
    let ends_at = timer.ends_at.expect("ends_at");
    assert!(
        ends_at.abs_diff(now + 600_000) < 5_000,
        "ends_at {ends_at} is about now {now} + 600 s"
    );
    assert_eq!(timer.warning_at, Some(ends_at - 30_000));
    for i in [1, 2] {
        let frames = p[i].sync_all().await;
        let t = of_type(&frames, "breakoutTimer");
        assert_eq!(t.len(), 1, "{}: one breakoutTimer", p[i].name);
        assert_eq!(t[0], &ServerMessage::BreakoutTimer(timer.clone()));
    }
    let caller = p[0].sync_all().await;
    assert!(
        of_type(&caller, "breakoutTimer").is_empty(),
        "the caller has its ack"
    );
    let parent = p[3].sync_all().await;
    assert!(
        of_type(&parent, "breakoutTimer").is_empty(),
        "P2 is not a member"
    );
    let list = of_type(&parent, "breakoutRoomsUpdated");
    assert_eq!(list.len(), 1, "the room list shows the timer to everyone");
    let ServerMessage::BreakoutRoomsUpdated(u) = list[0] else {
        unreachable!()
    };
    assert_eq!(u.rooms.len(), 1);
    assert_eq!(u.rooms[0].ends_at, Some(ends_at));
    let st = p[3].room.state().await.unwrap();
    assert_eq!(
        st.room(&br).unwrap().ends_at,
        Some(ends_at),
        "P2's room list"
    );
    assert!(st.ms_until(ends_at, now_ms()) > 590_000);

    // A client connecting now gets the timer in roomConnected.
    let late = s.peer(&room, "L", Role::Participant).await;
    let info = &late.room.connected().breakout_rooms[0];
    assert_eq!(
        (info.ends_at, info.warning_at),
        (Some(ends_at), Some(ends_at - 30_000))
    );
    late.room.close().await;

    // Cleared: nulls everywhere.
    let ack = p[0]
        .room
        .set_breakout_duration(&br, None, None)
        .await
        .unwrap();
    let cleared = ack.timer.unwrap();
    assert_eq!((cleared.ends_at, cleared.warning_at), (None, None));
    let frames = p[2].sync_all().await;
    assert_eq!(
        of_type(&frames, "breakoutTimer"),
        vec![&ServerMessage::BreakoutTimer(cleared.clone())]
    );
    let ack = p[0]
        .room
        .set_breakout_duration(&br, Some(0), None)
        .await
        .unwrap();
    assert_eq!(ack.timer.unwrap().ends_at, None, "0 clears too");

    // Refusals, in the rule's order.
    assert_eq!(
        code(p[2].room.set_breakout_duration(&br, Some(60), None).await),
        5003
    );
    let nope = RoomId::from("nope");
    assert_eq!(
        code(p[0].room.set_breakout_duration(&nope, Some(60), None).await),
        1736
    );
    assert_eq!(
        code(
            p[0].room
                .set_breakout_duration(&br, Some(86_401), None)
                .await
        ),
        1155
    );
    assert_eq!(
        code(
            p[0].room
                .set_breakout_duration(&br, Some(60), Some(86_401))
                .await
        ),
        1155
    );
    // The limits themselves are allowed; a warning as long as the timer is due at once.
    let now = p[0].room.server_now_ms().await.unwrap();
    let t = p[0]
        .room
        .set_breakout_duration(&br, Some(86_400), Some(86_400))
        .await
        .expect("the limits are allowed")
        .timer
        .unwrap();
    assert!(
        t.warning_at.unwrap().abs_diff(now) < 5_000,
        "warning_at = now"
    );
    // Refused requests told nobody.
    let frames = p[1].sync_all().await;
    assert_eq!(
        of_type(&frames, "breakoutTimer").len(),
        3,
        "clear, clear, the limits"
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_timer_warns_once_per_timer_then_ends_the_room_and_returns_members_unmuted() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    // A room whose warning is due in 1 s (an hour's timer, warned 3599 s before its end).
    let mut d = def(3, 1);
    d.duration = Some(3600);
    d.warning = Some(3599);
    let br = create(&p[0], &d).await.remove(0);
    let (p1, p2, p3) = (p[1].id.clone(), p[2].id.clone(), p[3].id.clone());
    force_into(&p[0], &br, &[&p1, &p2]).await;
    invite(&p[0], &br, &[&p3]).await; // still pending when the room ends
                                      // P1 is muted in the parent and by the moderator: the end clears both.
    p[1].room
        .mute_room(MediaFlags {
            audio: true,
            video: false,
        })
        .await
        .unwrap();
    p[0].room.mute_member(&p1).await.unwrap();
    let first = until(&mut p[1], 20, is("breakoutTimerWarning")).await;
    let Some(ServerMessage::BreakoutTimerWarning(w)) = first.last().map(|f| &f.msg) else {
        unreachable!()
    };
    assert_eq!(w.room_id, br);

    // A changed timer re-arms the warning: 3 s, warned 2 s before the end.
    let ack = p[0]
        .room
        .set_breakout_duration(&br, Some(3), Some(2))
        .await
        .unwrap();
    let ends_at = ack.timer.unwrap().ends_at.unwrap();
    // P2's help request is dropped when the room ends.
    p[2].room.request_help().await.unwrap();
    let rest = until(&mut p[1], 20, |f| {
        f.id.is_none() && f.msg.type_name() == "didDisconnectedBreakoutRoom"
    })
    .await;
    let Some(ServerMessage::DidDisconnectedBreakoutRoom(left)) = rest.last().map(|f| &f.msg) else {
        unreachable!()
    };
    assert_eq!(left.room_id.as_ref(), Some(&br));
    assert_eq!(left.reason, Some(LeaveReason::Timeout));
    assert_eq!(left.location, Some(Location::Parent));
    let warnings: Vec<_> = of_type(&rest, "breakoutTimerWarning");
    assert_eq!(
        warnings,
        vec![&ServerMessage::BreakoutTimerWarning(
            alcove_proto::signal::BreakoutTimerWarning {
                room_id: br.clone(),
                ends_at
            }
        )],
        "exactly one warning for the changed timer"
    );
    // Not before its end (server clock; the client's offset is measured at connect).
    let at = p[1].room.server_now_ms().await.unwrap();
    assert!(at + 1_000 >= ends_at, "ended at {at}, due {ends_at}");
    let after = p[1].sync_all().await;
    let muted: Vec<_> = of_type(&rest, "memberMuted")
        .into_iter()
        .chain(of_type(&after, "memberMuted"))
        .cloned()
        .collect();
    assert!(
        muted
            .iter()
            .any(|m| matches!(m, ServerMessage::MemberMuted(m) if m.client_id == p1 && !m.muted)),
        "P1 told its moderator mute is over: {muted:?}"
    );
    let st = p[1].room.state().await.unwrap();
    assert_eq!(st.location(), &Location::Parent);
    assert!(!st.muted_by_moderator());
    assert!(st.rooms().is_empty(), "P1's room list is empty");

    // P2 (member) too; P3's invitation is withdrawn; the moderator (owner) sees it destroyed.
    let f2 = p[2].sync_all().await;
    let left2 = of_type(&f2, "didDisconnectedBreakoutRoom");
    assert_eq!(left2.len(), 1);
    assert!(
        matches!(left2[0], ServerMessage::DidDisconnectedBreakoutRoom(d)
        if d.reason == Some(LeaveReason::Timeout) && d.location == Some(Location::Parent))
    );
    assert_eq!(
        of_type(&f2, "breakoutTimerWarning").len(),
        2,
        "one per timer"
    );
    let f3 = p[3].sync_all().await;
    let w = of_type(&f3, "breakoutInvitationWithdrawn");
    assert_eq!(w.len(), 1);
    assert!(matches!(w[0], ServerMessage::BreakoutInvitationWithdrawn(x)
        if x.room_id == br && x.reason == WithdrawReason::Timeout));
    assert!(
        of_type(&f3, "breakoutTimerWarning").is_empty(),
        "P3 is no member"
    );
    let f0 = p[0].sync_all().await;
    assert_eq!(
        of_type(&f0, "breakoutTimerWarning").len(),
        2,
        "moderators: one per timer"
    );
    assert_eq!(
        of_type(&f0, "didDestroyedBreakoutRoom"),
        vec![&ServerMessage::DidDestroyedBreakoutRoom(
            alcove_proto::signal::RoomRef {
                room_id: br.clone()
            }
        )]
    );
    let help: Vec<_> = of_type(&f0, "helpResolved");
    assert!(
        matches!(help[..], [ServerMessage::HelpResolved(h)] if h.client_id == p2 && h.outcome == HelpOutcome::Left),
        "the room's end drops its help requests: {help:?}"
    );
    let removed: Vec<_> = of_type(&f0, "breakoutRoomsUpdated")
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::BreakoutRoomsUpdated(u) => Some(u.removed.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(removed, vec![br.clone()]);
    for u in s.rest.users(&room).await.unwrap() {
        assert_eq!(u.location, Location::Parent, "{}", u.name);
        assert!(!u.paused, "{} resumed", u.name);
        assert!(!u.muted.audio, "{} unmuted", u.name);
    }
    assert!(s.rest.breakout_rooms(&room).await.unwrap().is_empty());
}

// ----- broadcast -----

fn received(frames: &[ServerFrame]) -> Vec<alcove_proto::signal::BroadcastReceived> {
    of_type(frames, "broadcastReceived")
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::BroadcastReceived(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn broadcast_reaches_every_chosen_room_but_the_caller_and_is_rate_limited() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
            ("V", Role::Viewer),
        ],
    )
    .await;
    let rooms = create(&p[0], &def(2, 2)).await;
    let (a, b) = (rooms[0].clone(), rooms[1].clone());
    let (p1, p2) = (p[2].id.clone(), p[3].id.clone());
    force_into(&p[0], &a, &[&p1]).await;
    force_into(&p[0], &b, &[&p2]).await;
    for i in 0..6 {
        p[i].sync_all().await;
    }

    // Everywhere: text trimmed, control characters but \n and \t removed.
    let ack = p[0]
        .room
        .broadcast_message("  Five\u{7} minutes\n\tleft  ", None)
        .await
        .unwrap();
    assert_eq!(ack.recipients, 5, "M2, P1, P2, P3, V");
    let want_room = [None, None, Some(&a), Some(&b), None, None];
    for i in 1..6 {
        let got = received(&p[i].sync_all().await);
        assert_eq!(got.len(), 1, "{} gets it once", p[i].name);
        assert_eq!(got[0].text, "Five minutes\n\tleft");
        assert_eq!(got[0].from.client_id, p[0].id);
        assert_eq!(got[0].from.name, "M1");
        assert_eq!(
            &got[0].room_id,
            want_room[i].unwrap_or(&room),
            "{}: its room",
            p[i].name
        );
    }
    assert!(
        received(&p[0].sync_all().await).is_empty(),
        "not the caller"
    );

    // Chosen rooms: one break-out room; the parent by its id.
    let ack = p[0]
        .room
        .broadcast_message("to A", Some(std::slice::from_ref(&a)))
        .await
        .unwrap();
    assert_eq!(ack.recipients, 1);
    let ack = p[0]
        .room
        .broadcast_message("to the parent", Some(std::slice::from_ref(&room)))
        .await
        .unwrap();
    assert_eq!(ack.recipients, 3, "M2, P3, V");
    let texts = |f: Vec<alcove_proto::signal::BroadcastReceived>| -> Vec<String> {
        f.into_iter().map(|b| b.text).collect()
    };
    assert_eq!(texts(received(&p[2].sync_all().await)), ["to A"]);
    assert!(
        received(&p[3].sync_all().await).is_empty(),
        "B heard nothing"
    );
    assert_eq!(texts(received(&p[4].sync_all().await)), ["to the parent"]);
    assert_eq!(texts(received(&p[1].sync_all().await)), ["to the parent"]);

    // The typed event on the SDK side.
    p[0].room.broadcast_message("typed", None).await.unwrap();
    let e = p[5]
        .events
        .wait_for_event(
            Duration::from_secs(10),
            |e| matches!(e, FacilitationEvent::BroadcastReceived(b) if b.text == "typed"),
        )
        .await;
    assert!(
        matches!(e, Some(FacilitationEvent::BroadcastReceived(b)) if b.room_id == room && b.from.name == "M1")
    );

    // Refusals.
    assert_eq!(code(p[2].room.broadcast_message("hi", None).await), 5003);
    assert_eq!(code(p[5].room.broadcast_message("hi", None).await), 5003);
    assert_eq!(code(p[0].room.broadcast_message("", None).await), 1155);
    assert_eq!(
        code(p[0].room.broadcast_message(" \u{7} \n ", None).await),
        1155
    );
    let long = "x".repeat(1001);
    assert_eq!(code(p[0].room.broadcast_message(&long, None).await), 1155);
    p[0].room
        .broadcast_message(&"é".repeat(1000), Some(std::slice::from_ref(&a)))
        .await
        .expect("1000 characters (not bytes) pass");
    assert_eq!(
        code(p[0].room.broadcast_message("hi", Some(&[])).await),
        1155
    );
    let nope = RoomId::from("nope");
    assert_eq!(
        code(
            p[0].room
                .broadcast_message("hi", Some(&[a.clone(), nope]))
                .await
        ),
        1736
    );

    // Rate limit: 10 a minute per moderator; M2 has sent none yet.
    for i in 0..10 {
        p[1].room
            .broadcast_message(&format!("n{i}"), Some(std::slice::from_ref(&a)))
            .await
            .unwrap_or_else(|e| panic!("broadcast {i}: {e}"));
    }
    let e = p[1]
        .room
        .broadcast_message("n10", Some(std::slice::from_ref(&a)))
        .await;
    assert_eq!(code(e), 4006, "the 11th in a minute");
    // Per moderator: M1 (5 sent) may still send.
    p[0].room
        .broadcast_message("M1 still", Some(std::slice::from_ref(&a)))
        .await
        .unwrap();
    let got = texts(received(&p[2].sync_all().await));
    assert_eq!(
        got.len(),
        13,
        "'typed', the 1000-char one, 10 from M2, M1's: {got:?}"
    );
    assert!(
        !got.contains(&"n10".to_owned()),
        "the refused one was not delivered"
    );
}

// ----- help -----

#[tokio::test]
async fn help_requests_coalesce_cancel_dismiss_and_are_answered_by_a_moderator_joining() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    let a = create(&p[0], &def(3, 1)).await.remove(0);
    let (p1, p2, p3) = (p[2].id.clone(), p[3].id.clone(), p[4].id.clone());
    force_into(&p[0], &a, &[&p1, &p2]).await;
    for i in 0..5 {
        p[i].sync_all().await;
    }

    assert_eq!(
        code(p[4].room.request_help().await),
        1741,
        "not in a break-out room"
    );
    let ack = p[2].room.request_help().await.unwrap();
    assert!(!ack.already_pending);
    let req = ack.request.expect("the request");
    assert_eq!(
        (&req.room_id, &req.client_id, req.name.as_str()),
        (&a, &p1, "P1")
    );
    for m in [0, 1] {
        assert_eq!(
            of_type(&p[m].sync_all().await, "helpRequested"),
            vec![&ServerMessage::HelpRequested(req.clone())],
            "{}",
            p[m].name
        );
    }
    assert!(
        notes(&mut p[3]).await.is_empty(),
        "other members are not told"
    );
    // A second press coalesces: same request, nobody told again.
    let again = p[2].room.request_help().await.unwrap();
    assert!(again.already_pending);
    assert_eq!(again.request.as_ref(), Some(&req), "the first time is kept");
    assert!(of_type(&p[0].sync_all().await, "helpRequested").is_empty());
    // A moderator connecting now sees the queue; so does the SDK's state.
    let mut m3 = s.peer(&room, "M3", Role::Moderator).await;
    assert_eq!(m3.room.connected().help_requests, vec![req.clone()]);
    assert_eq!(
        m3.room.state().await.unwrap().help_requests(),
        std::slice::from_ref(&req)
    );
    assert!(m3.room.connected().server_time > 0);
    assert!(
        p[2].room.connected().help_requests.is_empty(),
        "participants get none"
    );

    // Cancel.
    p[2].room.cancel_help().await.unwrap();
    for m in 0..2 {
        let r = of_type(&p[m].sync_all().await, "helpResolved")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>();
        assert!(
            matches!(&r[..], [ServerMessage::HelpResolved(h)] if h.client_id == p1 && h.outcome == HelpOutcome::Cancelled && h.by.is_none()),
            "{r:?}"
        );
    }
    m3.sync_all().await;
    assert!(m3.room.state().await.unwrap().help_requests().is_empty());
    assert_eq!(code(p[2].room.cancel_help().await), 1760);

    // Dismiss.
    p[2].room.request_help().await.unwrap();
    assert_eq!(code(p[4].room.dismiss_help(&p1).await), 5003);
    assert_eq!(code(p[3].room.dismiss_help(&p1).await), 5003);
    assert_eq!(
        code(p[0].room.dismiss_help(&p2).await),
        1760,
        "P2 asked nothing"
    );
    assert_eq!(
        code(p[0].room.dismiss_help(&ClientId::from("nobody")).await),
        1760
    );
    for i in 0..5 {
        p[i].sync_all().await;
    }
    p[0].room.dismiss_help(&p1).await.unwrap();
    let f = p[2].sync_all().await;
    let d = of_type(&f, "helpDismissed");
    assert!(
        matches!(d[..], [ServerMessage::HelpDismissed(r)] if r.room_id == a && r.by.client_id == p[0].id)
    );
    let r = p[1].sync_all().await;
    let r = of_type(&r, "helpResolved");
    assert!(matches!(r[..], [ServerMessage::HelpResolved(h)]
        if h.outcome == HelpOutcome::Dismissed && h.by.as_ref().map(|b| &b.client_id) == Some(&p[0].id)));
    assert!(
        of_type(&p[0].sync_all().await, "helpResolved").is_empty(),
        "not the dismissing moderator"
    );
    assert!(notes(&mut p[3]).await.is_empty());

    // Answered by a moderator joining the room: both requests at once.
    p[2].room.request_help().await.unwrap();
    p[3].room.request_help().await.unwrap();
    for i in 0..5 {
        p[i].sync_all().await;
    }
    p[1].room
        .join_breakout_room(&a, JoinRole::Moderator, Default::default())
        .await
        .unwrap();
    for i in [2, 3] {
        let f = p[i].sync_all().await;
        let ans = of_type(&f, "helpAnswered");
        assert!(
            matches!(ans[..], [ServerMessage::HelpAnswered(r)] if r.room_id == a && r.by.client_id == p[1].id),
            "{}: {ans:?}",
            p[i].name
        );
    }
    let f = p[0].sync_all().await;
    let answered: Vec<_> = of_type(&f, "helpResolved")
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::HelpResolved(h) if h.outcome == HelpOutcome::Answered => {
                Some(h.client_id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(answered, vec![p1.clone(), p2.clone()]);

    // The requester leaving its room drops the request.
    p[2].room.request_help().await.unwrap();
    p[0].sync_all().await;
    p[2].room.clear_all_break_out_session().await.unwrap();
    let f = p[0].sync_all().await;
    let r = of_type(&f, "helpResolved");
    assert!(
        matches!(r[..], [ServerMessage::HelpResolved(h)] if h.client_id == p1 && h.outcome == HelpOutcome::Left)
    );
    // Leaving the family drops it too.
    p[3].room.request_help().await.unwrap();
    p[0].sync_all().await;
    p[3].room.close().await;
    let f = p[0].sync_all().await;
    let r = of_type(&f, "helpResolved");
    assert!(
        matches!(r[..], [ServerMessage::HelpResolved(h)] if h.client_id == p2 && h.outcome == HelpOutcome::Left),
        "{r:?}"
    );
    let _ = p3;
}

// ----- moves in one step -----

#[tokio::test]
async fn move_to_breakout_room_switches_in_one_step_and_refuses_bad_moves() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    let rooms = create(&p[0], &def(2, 2)).await;
    let (a, b) = (rooms[0].clone(), rooms[1].clone());
    let (p1, p2, p3) = (p[2].id.clone(), p[3].id.clone(), p[4].id.clone());
    force_into(&p[0], &a, &[&p1, &p2]).await;
    invite(&p[0], &b, &[&p1]).await;
    for i in 0..5 {
        p[i].sync_all().await;
    }

    // P1 from A to B.
    p[0].room.move_to_breakout_room(&p1, &b).await.unwrap();
    let f = p[2].sync_all().await;
    let seq: Vec<_> = breakout_notes(&f);
    assert_eq!(
        seq,
        [
            "connectedBreakoutRoom",
            "didDisconnectedBreakoutRoom",
            "breakoutRoomsUpdated"
        ],
        "P1: into B, then the notice about A"
    );
    let ServerMessage::ConnectedBreakoutRoom(c) = of_type(&f, "connectedBreakoutRoom")[0] else {
        unreachable!()
    };
    assert_eq!(c.room.room_id, b);
    let ServerMessage::DidDisconnectedBreakoutRoom(d) =
        of_type(&f, "didDisconnectedBreakoutRoom")[0]
    else {
        unreachable!()
    };
    assert_eq!(d.room_id.as_ref(), Some(&a));
    assert_eq!(d.reason, Some(LeaveReason::Moved));
    assert_eq!(d.location, Some(Location::Breakout(b.clone())));
    let st = p[2].room.state().await.unwrap();
    assert_eq!(
        st.location(),
        &Location::Breakout(b.clone()),
        "a moved notice is no return to the parent"
    );
    let me = s
        .rest
        .users(&room)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.client_id == p1)
        .unwrap();
    assert_eq!(me.location, Location::Breakout(b.clone()));
    assert!(me.paused, "the parent link stayed paused");
    let p1_presence = common::presence_of(&p[4].sync_all().await, &p1);
    assert!(
        p1_presence.iter().all(|u| u.location != Location::Parent),
        "never seen in the parent: {p1_presence:?}"
    );
    let f = p[3].sync_all().await;
    let gone = of_type(&f, "didUserDisconnectedFromBreakoutRoom");
    assert!(
        matches!(gone[..], [ServerMessage::DidUserDisconnectedFromBreakoutRoom(u)] if u.client_id == p1)
    );
    let brs = s.rest.breakout_rooms(&room).await.unwrap();
    let rb = brs.iter().find(|r| r.room_id == b).unwrap();
    assert!(
        rb.invitations.is_empty(),
        "the invitation to B was consumed"
    );
    p[0].sync_all().await;

    // P2 too: A is emptied and destroyed.
    p[0].room.move_to_breakout_room(&p2, &b).await.unwrap();
    let f = p[0].sync_all().await;
    assert!(of_type(&f, "didDestroyedBreakoutRoom")
        .iter()
        .any(|m| matches!(m, ServerMessage::DidDestroyedBreakoutRoom(r) if r.room_id == a)));
    let removed: Vec<RoomId> = of_type(&f, "breakoutRoomsUpdated")
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::BreakoutRoomsUpdated(u) => Some(u.removed.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(removed, vec![a.clone()]);

    // Refusals.
    assert_eq!(
        code(p[0].room.move_to_breakout_room(&p3, &b).await),
        1738,
        "B is full"
    );
    assert_eq!(
        code(p[0].room.move_to_breakout_room(&p1, &b).await),
        1743,
        "already there"
    );
    assert_eq!(
        code(
            p[0].room
                .move_to_breakout_room(&ClientId::from("ghost"), &b)
                .await
        ),
        1740
    );
    assert_eq!(
        code(p[0].room.move_to_breakout_room(&p3, &a).await),
        1736,
        "A is gone"
    );
    assert_eq!(code(p[4].room.move_to_breakout_room(&p3, &b).await), 5003);
    assert_eq!(code(p[2].room.move_to_breakout_room(&p3, &b).await), 5003);
    // A moderator target joins as a moderator: a full room takes it.
    p[0].room.move_to_breakout_room(&p[1].id, &b).await.unwrap();
    let f = p[1].sync_all().await;
    let ServerMessage::ConnectedBreakoutRoom(c) = of_type(&f, "connectedBreakoutRoom")[0] else {
        unreachable!()
    };
    assert_eq!(c.room.room_id, b);
    // From the parent it is a forced join: P3 into a new room.
    let c = create(&p[0], &def(2, 1)).await.remove(0);
    p[0].room.move_to_breakout_room(&p3, &c).await.unwrap();
    let ev = p[4]
        .events
        .wait_for_event(Duration::from_secs(10), |e| {
            matches!(e, FacilitationEvent::MovedIntoBreakoutRoom(_))
        })
        .await;
    assert!(matches!(ev, Some(FacilitationEvent::MovedIntoBreakoutRoom(x)) if x.room.room_id == c));
}

#[tokio::test]
async fn join_from_one_breakout_room_to_another_is_one_step_and_self_select_needs_no_invitation() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
            ("V", Role::Viewer),
        ],
    )
    .await;
    let mut open = def(2, 1);
    open.self_select = true;
    let a = create(&p[0], &open).await.remove(0);
    let b = create(&p[0], &def(2, 1)).await.remove(0);
    for i in 0..5 {
        let f = p[i].sync_all().await;
        let list: Vec<_> = of_type(&f, "breakoutRoomsUpdated");
        assert_eq!(
            list.len(),
            2,
            "{}: one room-list update per create",
            p[i].name
        );
    }
    let st = p[4].room.state().await.unwrap();
    assert!(st.room(&a).unwrap().self_select && !st.room(&b).unwrap().self_select);

    // Self-select: a participant joins A uninvited; B still needs an invitation; viewers never.
    let br = p[1]
        .room
        .join_breakout_room(&a, JoinRole::Participant, Default::default())
        .await
        .unwrap();
    assert_eq!(br.room_id(), &a);
    let e = p[1]
        .room
        .join_breakout_room(&b, JoinRole::Participant, Default::default())
        .await;
    assert_eq!(code(e), 1737, "B is not self-select");
    let e = p[4]
        .room
        .join_breakout_room(&a, JoinRole::Participant, Default::default())
        .await;
    assert_eq!(code(e), 1737, "viewers are never self-selecting");
    let e = p[1]
        .room
        .join_breakout_room(&a, JoinRole::Participant, Default::default())
        .await;
    assert_eq!(code(e), 1739, "the room it is in");

    // setSelfSelect for B: everyone's room list says so.
    for i in 0..5 {
        p[i].sync_all().await;
    }
    p[0].room.set_self_select(Some(&b), true).await.unwrap();
    for i in 0..5 {
        let f = p[i].sync_all().await;
        let list = of_type(&f, "breakoutRoomsUpdated");
        assert!(
            matches!(list[..], [ServerMessage::BreakoutRoomsUpdated(u)] if u.rooms.len() == 1 && u.rooms[0].room_id == b && u.rooms[0].self_select && u.removed.is_empty()),
            "{}: {list:?}",
            p[i].name
        );
    }
    // P1 switches from A to B by joining: the ack, then the notice about A; A is destroyed.
    let before = p[1].sync_all().await;
    assert!(before.is_empty());
    let joined = p[1]
        .room
        .join_breakout_room(&b, JoinRole::Participant, Default::default())
        .await
        .unwrap();
    assert_eq!(joined.room_id(), &b);
    let f = p[1].sync_all().await;
    let d = of_type(&f, "didDisconnectedBreakoutRoom");
    assert!(
        matches!(d[..], [ServerMessage::DidDisconnectedBreakoutRoom(x)]
        if x.room_id.as_ref() == Some(&a) && x.reason == Some(LeaveReason::Moved) && x.location == Some(Location::Breakout(b.clone())))
    );
    assert_eq!(
        p[1].room.state().await.unwrap().location(),
        &Location::Breakout(b.clone())
    );
    let f = p[0].sync_all().await;
    assert_eq!(
        of_type(&f, "didDestroyedBreakoutRoom").len(),
        1,
        "A emptied"
    );
    // Capacity applies: P2 takes B's last place, P3 is refused.
    p[2].room
        .join_breakout_room(&b, JoinRole::Participant, Default::default())
        .await
        .unwrap();
    let e = p[3]
        .room
        .join_breakout_room(&b, JoinRole::Participant, Default::default())
        .await;
    assert_eq!(code(e), 1738);

    // Refusals and the all-rooms form.
    assert_eq!(code(p[1].room.set_self_select(Some(&b), false).await), 5003);
    assert_eq!(
        code(p[0].room.set_self_select(Some(&a), false).await),
        1736,
        "A is gone"
    );
    let c = create(&p[0], &open).await.remove(0);
    p[0].room.set_self_select(None, false).await.unwrap();
    p[3].sync_all().await;
    let st = p[3].room.state().await.unwrap();
    assert!(
        st.rooms().iter().all(|r| !r.self_select),
        "{:?}",
        st.rooms()
    );
    let e = p[3]
        .room
        .join_breakout_room(&c, JoinRole::Participant, Default::default())
        .await;
    assert_eq!(code(e), 1737, "self-select is off everywhere");
}

// ----- names and the room list -----

#[tokio::test]
async fn names_and_renames_reach_every_clients_room_list() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("P", Role::Participant),
            ("V", Role::Viewer),
        ],
    )
    .await;
    let ack = p[0]
        .room
        .create_break_out_room_named(&def(2, 3), &["Red", "  Blue\u{7}  "])
        .await
        .unwrap();
    let rooms = ack.msg.data().unwrap().rooms.clone();
    for i in 0..3 {
        let f = p[i].sync_all().await;
        let list = of_type(&f, "breakoutRoomsUpdated");
        assert_eq!(list.len(), 1, "{}: one update for the create", p[i].name);
        let ServerMessage::BreakoutRoomsUpdated(u) = list[0] else {
            unreachable!()
        };
        let names: Vec<_> = u.rooms.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Red", "Blue", "Breakout 3"], "{}", p[i].name);
        assert!(u
            .rooms
            .iter()
            .all(|r| r.members == 0 && r.participants == 2));
    }
    let e = p[0]
        .room
        .create_break_out_room_named(&def(2, 1), &[""])
        .await;
    assert_eq!(code(e), 1155);
    let long = "n".repeat(65);
    let e = p[0]
        .room
        .create_break_out_room_named(&def(2, 1), &[&long])
        .await;
    assert_eq!(code(e), 1155);

    p[0].room
        .rename_breakout_room(&rooms[2], "  Green ")
        .await
        .unwrap();
    for i in 0..3 {
        let f = p[i].sync_all().await;
        let list = of_type(&f, "breakoutRoomsUpdated");
        assert!(
            matches!(list[..], [ServerMessage::BreakoutRoomsUpdated(u)] if u.rooms.len() == 1 && u.rooms[0].name == "Green"),
            "{}: only the renamed room: {list:?}",
            p[i].name
        );
    }
    let st = p[2].room.state().await.unwrap();
    let names: Vec<_> = st.rooms().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Red", "Blue", "Green"], "the viewer's room list");
    assert_eq!(
        code(p[1].room.rename_breakout_room(&rooms[0], "Mine").await),
        5003
    );
    assert_eq!(
        code(
            p[0].room
                .rename_breakout_room(&RoomId::from("nope"), "X")
                .await
        ),
        1736
    );
    assert_eq!(
        code(p[0].room.rename_breakout_room(&rooms[0], " \u{7} ").await),
        1155
    );
    assert_eq!(
        code(p[0].room.rename_breakout_room(&rooms[0], &long).await),
        1155
    );
    // Member counts: a join changes only that room's entry.
    let br = rooms[0].clone();
    force_into(&p[0], &br, &[&p[1].id.clone()]).await;
    let f = p[2].sync_all().await;
    let list = of_type(&f, "breakoutRoomsUpdated");
    assert!(
        matches!(list[..], [ServerMessage::BreakoutRoomsUpdated(u)] if u.rooms.len() == 1 && u.rooms[0].room_id == br && u.rooms[0].members == 1)
    );
    // A late joiner starts from roomConnected.
    let late = s.peer(&room, "L", Role::Participant).await;
    let st = late.room.state().await.unwrap();
    let names: Vec<_> = st
        .rooms()
        .iter()
        .map(|r| (r.name.as_str(), r.members))
        .collect();
    assert_eq!(names, [("Red", 1), ("Blue", 0), ("Green", 0)]);
}

// ----- moderation inside rooms -----

fn mutes(frames: &[ServerFrame]) -> Vec<(ClientId, bool)> {
    of_type(frames, "memberMuted")
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::MemberMuted(x) => Some((x.client_id.clone(), x.muted)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn mute_member_ask_to_unmute_and_unmute_self() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M1", Role::Moderator),
            ("M2", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    let a = create(&p[0], &def(3, 1)).await.remove(0);
    let (p1, p2, p3) = (p[2].id.clone(), p[3].id.clone(), p[4].id.clone());
    force_into(&p[0], &a, &[&p1, &p2]).await;
    for i in 0..5 {
        p[i].sync_all().await;
    }

    let ack = p[0].room.mute_member(&p1).await.unwrap();
    assert_eq!(ack.muted, vec![p1.clone()]);
    for i in [1, 2, 3] {
        let f = p[i].sync_all().await;
        assert_eq!(mutes(&f), vec![(p1.clone(), true)], "{}", p[i].name);
        let ServerMessage::MemberMuted(m) = of_type(&f, "memberMuted")[0] else {
            unreachable!()
        };
        assert_eq!(m.by.as_ref().map(|b| &b.client_id), Some(&p[0].id));
    }
    assert!(
        mutes(&p[4].sync_all().await).is_empty(),
        "P3 (parent) is not told"
    );
    assert!(p[2].room.state().await.unwrap().muted_by_moderator());
    // Again: nothing new.
    let ack = p[0].room.mute_member(&p1).await.unwrap();
    assert!(ack.muted.is_empty(), "already muted");
    assert!(mutes(&p[3].sync_all().await).is_empty());

    // Unmuting oneself needs an ask.
    assert_eq!(code(p[2].room.unmute_self().await), 1762);
    p[4].room.unmute_self().await.expect("not muted: a no-op");
    assert!(
        breakout_notes(&p[1].sync_all().await).is_empty(),
        "nobody told of the no-op"
    );
    p[0].room.ask_to_unmute(&p1).await.unwrap();
    let ev = p[2]
        .events
        .wait_for_event(Duration::from_secs(10), |e| {
            matches!(e, FacilitationEvent::UnmuteAsked(_))
        })
        .await;
    assert!(matches!(ev, Some(FacilitationEvent::UnmuteAsked(u)) if u.by.client_id == p[0].id));
    p[2].room.unmute_self().await.unwrap();
    for i in [1, 2, 3] {
        let f = p[i].sync_all().await;
        assert_eq!(mutes(&f), vec![(p1.clone(), false)], "{}", p[i].name);
        let ServerMessage::MemberMuted(m) = of_type(&f, "memberMuted")[0] else {
            unreachable!()
        };
        assert_eq!(
            m.by.as_ref().map(|b| &b.client_id),
            Some(&p[0].id),
            "by: the asker"
        );
    }
    assert!(!p[2].room.state().await.unwrap().muted_by_moderator());

    // The whole room: every member but moderators.
    p[1].room
        .join_breakout_room(&a, JoinRole::Moderator, Default::default())
        .await
        .unwrap();
    let ack = p[0].room.mute_breakout_room_members(&a).await.unwrap();
    assert_eq!(ack.muted, vec![p1.clone(), p2.clone()]);
    let f = p[3].sync_all().await;
    assert_eq!(mutes(&f), vec![(p1.clone(), true), (p2.clone(), true)]);

    // A resumed client learns it is still muted.
    p[3].room.drop_connection();
    let back = p[3]
        .events
        .wait_for(
            Duration::from_secs(20),
            |f| matches!(&f.msg, ServerMessage::RoomConnected(rc) if rc.resumed),
        )
        .await;
    let Some(ServerFrame {
        msg: ServerMessage::RoomConnected(rc),
        ..
    }) = back
    else {
        panic!("P2 did not resume")
    };
    assert!(rc.muted_by_moderator);
    assert!(p[3].room.state().await.unwrap().muted_by_moderator());

    // Refusals.
    assert_eq!(code(p[4].room.mute_member(&p1).await), 5003);
    assert_eq!(code(p[4].room.mute_breakout_room_members(&a).await), 5003);
    assert_eq!(
        code(p[0].room.mute_member(&ClientId::from("ghost")).await),
        1740
    );
    assert_eq!(
        code(
            p[0].room
                .mute_breakout_room_members(&RoomId::from("nope"))
                .await
        ),
        1736
    );
    let both = MuteMember {
        client_id: Some(p3.clone()),
        room_id: Some(a.clone()),
    };
    assert_eq!(code(p[0].room.mute_member_raw(both).await), 1155);
    let neither = MuteMember {
        client_id: None,
        room_id: None,
    };
    assert_eq!(code(p[0].room.mute_member_raw(neither).await), 1155);
    assert_eq!(code(p[4].room.ask_to_unmute(&p1).await), 5003);
    assert_eq!(
        code(p[0].room.ask_to_unmute(&ClientId::from("ghost")).await),
        1740
    );

    // muteRoom / unmuteRoom acks echo the parent mute state.
    let ack = p[4]
        .room
        .mute_room(MediaFlags {
            audio: true,
            video: false,
        })
        .await
        .unwrap();
    assert_eq!(ack.muted.map(|m| (m.audio, m.video)), Some((true, false)));
    let ack = p[4]
        .room
        .unmute_room(MediaFlags {
            audio: true,
            video: false,
        })
        .await
        .unwrap();
    assert_eq!(ack.muted.map(|m| m.audio), Some(false));

    // Destroy-all clears the moderator mute of the members it returns.
    for i in 0..4 {
        p[i].sync_all().await;
    }
    p[0].room.destroy_all_break_out_session().await.unwrap();
    let f = p[2].sync_all().await;
    assert_eq!(mutes(&f), vec![(p1.clone(), false)], "P1 told");
    assert!(!p[2].room.state().await.unwrap().muted_by_moderator());
    let f = p[1].sync_all().await;
    let mut got = mutes(&f);
    got.sort();
    let mut want = vec![(p1.clone(), false), (p2.clone(), false)];
    want.sort();
    assert_eq!(got, want, "moderators told of both");
}

// ----- plans -----

/// The plans the server's SQLite file holds for any app, by name.
fn plans_in_db(dir: &std::path::Path) -> Vec<(String, alcove_proto::signal::Plan)> {
    let c = rusqlite::Connection::open_with_flags(
        dir.join("alcove.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database file");
    let mut st = c
        .prepare("SELECT name, plan FROM plans ORDER BY name")
        .unwrap();
    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (n, p) = r.unwrap();
            (n, serde_json::from_str(&p).expect("a stored plan parses"))
        })
        .collect()
}

#[tokio::test]
async fn plans_are_saved_listed_and_applied_in_this_room_and_another_room_of_the_app() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let mut p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    assert_eq!(
        code(p[0].room.save_plan("empty").await),
        1736,
        "no live room"
    );
    let mut d = def(3, 2);
    d.duration = Some(600);
    d.self_select = true;
    let rooms = p[0]
        .room
        .create_break_out_room_named(&d, &["Alpha", "Beta"])
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    let (p1, p2, p3) = (p[1].id.clone(), p[2].id.clone(), p[3].id.clone());
    force_into(&p[0], &rooms[0], &[&p1, &p2]).await;
    invite(&p[0], &rooms[1], &[&p3]).await;

    let ack = p[0].room.save_plan(" week 1 ").await.unwrap();
    let plan = ack.plan.expect("the plan");
    assert_eq!(plan.name, "week 1");
    let shape: Vec<_> = plan
        .rooms
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.participants,
                r.duration,
                r.self_select,
                r.members.clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                "Alpha",
                3,
                Some(600),
                true,
                vec!["ref-P1".to_owned(), "ref-P2".to_owned()]
            ),
            ("Beta", 3, Some(600), true, vec!["ref-P3".to_owned()]),
        ],
        "members are user refs, pending invitees included"
    );
    assert_eq!(
        plans_in_db(s.dir.path()),
        vec![("week 1".to_owned(), plan.clone())],
        "in the SQLite file"
    );
    // Saving under the same name replaces it.
    p[0].room.save_plan("week 1").await.unwrap();
    p[0].room.save_plan("other").await.unwrap();
    let list = p[0].room.list_plans().await.unwrap().plans;
    let names: Vec<_> = list
        .iter()
        .map(|x| (x.name.as_str(), x.rooms, x.members))
        .collect();
    assert_eq!(names, [("other", 2, 3), ("week 1", 2, 3)]);
    let now = now_ms();
    assert!(list.iter().all(|x| x.saved_at.abs_diff(now) < 60_000));

    // Refusals.
    assert_eq!(code(p[1].room.save_plan("mine").await), 5003);
    assert_eq!(code(p[1].room.list_plans().await), 5003);
    assert_eq!(code(p[1].room.apply_plan("week 1", false).await), 5003);
    assert_eq!(code(p[0].room.save_plan("  ").await), 1155);
    assert_eq!(code(p[0].room.save_plan(&"n".repeat(65)).await), 1155);
    assert_eq!(
        code(p[0].room.apply_plan("no such plan", false).await),
        1761
    );

    // Applied again in the same room, after destroy-all: invitations, as create-and-invite.
    p[0].room.destroy_all_break_out_session().await.unwrap();
    for i in 0..4 {
        p[i].sync_all().await;
    }
    let ack = p[0].room.apply_plan("week 1", false).await.unwrap();
    assert_eq!(ack.rooms.len(), 2);
    assert!(ack.unmatched.is_empty(), "{:?}", ack.unmatched);
    let inv: Vec<_> = ack.invitations.iter().map(|i| i.clients.clone()).collect();
    assert_eq!(inv, vec![vec![p1.clone(), p2.clone()], vec![p3.clone()]]);
    for (i, want) in [(1, &ack.rooms[0]), (2, &ack.rooms[0]), (3, &ack.rooms[1])] {
        let f = p[i].sync_all().await;
        let got = of_type(&f, "invitationForBreakoutRoom");
        assert!(
            matches!(got[..], [ServerMessage::InvitationForBreakoutRoom(x)] if &x.room_id == want),
            "{}: {got:?}",
            p[i].name
        );
        let st = p[i].room.state().await.unwrap();
        let r: Vec<_> = st
            .rooms()
            .iter()
            .map(|r| (r.name.as_str(), r.self_select, r.ends_at.is_some()))
            .collect();
        assert_eq!(
            r,
            [("Alpha", true, true), ("Beta", true, true)],
            "{}",
            p[i].name
        );
    }
    let f = p[0].sync_all().await;
    assert_eq!(of_type(&f, "breakoutRoomCreated").len(), 2);
    // Over the room limit (10): 2 live + 9 more refuse; then the plan's 2 with 9 live.
    assert_eq!(
        code(
            p[0].room
                .create_break_out_room(&def(2, 9))
                .await
                .map(|_| ())
        ),
        1726
    );
    create(&p[0], &def(2, 8)).await;
    assert_eq!(code(p[0].room.apply_plan("week 1", false).await), 1726);

    // Another room of the same app: the same user refs, P2 absent; moved at once.
    let other = s.room(RoomSettingsInput::default()).await;
    let mut q = setup(
        &s,
        &other,
        &[
            ("M", Role::Moderator),
            ("P1", Role::Participant),
            ("P3", Role::Participant),
        ],
    )
    .await;
    assert_eq!(
        q[0].room.list_plans().await.unwrap().plans.len(),
        2,
        "plans are per app"
    );
    let ack = q[0].room.apply_plan("week 1", true).await.unwrap();
    assert_eq!(ack.unmatched, vec!["ref-P2".to_owned()]);
    for (i, want) in [(1, &ack.rooms[0]), (2, &ack.rooms[1])] {
        let f = q[i].sync_all().await;
        let got = of_type(&f, "connectedBreakoutRoom");
        assert!(
            matches!(got[..], [ServerMessage::ConnectedBreakoutRoom(c)] if &c.room.room_id == want),
            "{}: {got:?}",
            q[i].name
        );
    }
    let users = s.rest.users(&other).await.unwrap();
    let at = |c: &ClientId| {
        users
            .iter()
            .find(|u| &u.client_id == c)
            .unwrap()
            .location
            .clone()
    };
    assert_eq!(at(&q[1].id), Location::Breakout(ack.rooms[0].clone()));
    assert_eq!(at(&q[2].id), Location::Breakout(ack.rooms[1].clone()));
    assert_eq!(at(&q[0].id), Location::Parent, "the caller is not moved");

    // A lecture room refuses; so does a room whose capacity is below the plan's places.
    let lecture = s
        .room(RoomSettingsInput {
            mode: Some(RoomMode::Lecture),
            ..Default::default()
        })
        .await;
    let l = setup(&s, &lecture, &[("M", Role::Moderator)]).await;
    assert_eq!(code(l[0].room.apply_plan("week 1", false).await), 5067);
    let small = s
        .room(RoomSettingsInput {
            max_active_talkers: Some(3),
            ..Default::default()
        })
        .await;
    let sm = setup(&s, &small, &[("M", Role::Moderator)]).await;
    assert_eq!(
        code(sm[0].room.apply_plan("week 1", false).await),
        1725,
        "3 places > 2"
    );
    // From inside a break-out room: 5067.
    let inside = q[0]
        .room
        .join_breakout_room(&ack.rooms[0], JoinRole::Moderator, Default::default())
        .await;
    assert!(inside.is_ok());
    assert_eq!(code(q[0].room.apply_plan("other", false).await), 5067);
}

#[tokio::test]
async fn a_plan_survives_a_server_restart() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let p = setup(
        &s,
        &room,
        &[("M", Role::Moderator), ("P1", Role::Participant)],
    )
    .await;
    let br = create(&p[0], &def(2, 1)).await.remove(0);
    invite(&p[0], &br, &[&p[1].id.clone()]).await;
    let saved = p[0].room.save_plan("kept").await.unwrap().plan.unwrap();
    for x in p {
        x.room.close().await;
    }
    let TestServer { running, dir, .. } = s;
    running.stop().await.unwrap();

    let s = TestServer::start_in(dir).await;
    let mut p = setup(
        &s,
        &room,
        &[("M", Role::Moderator), ("P1", Role::Participant)],
    )
    .await;
    let list = p[0].room.list_plans().await.unwrap().plans;
    assert_eq!(
        list.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        ["kept"]
    );
    let ack = p[0].room.apply_plan("kept", false).await.unwrap();
    assert_eq!(ack.invitations[0].clients, vec![p[1].id.clone()]);
    let f = p[1].sync_all().await;
    assert_eq!(of_type(&f, "invitationForBreakoutRoom").len(), 1);
    assert_eq!(plans_in_db(s.dir.path()), vec![("kept".to_owned(), saved)]);
}

// ----- a timer across kill -9 and a restart -----

/// A server process (`alcove serve`), killed with SIGKILL when dropped (as in resume.rs).
struct Proc {
    child: std::process::Child,
    http: std::net::SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `alcove serve` on `listen` (port 0: the server binds a free port) and returns once
/// it printed the address it bound (after opening the database and binding its sockets).
async fn spawn_server(dir: &std::path::Path, listen: std::net::SocketAddr) -> Proc {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = dir.join(format!("server-{}-{n}.log", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_alcove"))
        .args([
            "serve",
            "--listen",
            &listen.to_string(),
            "--udp-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("server log file"))
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split(" listening on http://").nth(1) {
                if let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok()) {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let got = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .expect("reader task");
    match got {
        Ok(http) => Proc { child, http },
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "server did not come up ({e}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
}

/// Waits (deadline 10 s) until the saved family state has `client` in `room` and the room's
/// timer, so that a `kill -9` does not lose them.
async fn wait_timer_saved(
    dir: &std::path::Path,
    parent: &RoomId,
    room: &RoomId,
    client: &ClientId,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let saved: Option<String> = rusqlite::Connection::open_with_flags(
            dir.join("alcove.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row(
                "SELECT snapshot FROM family_state WHERE room_id = ?1",
                [&parent.0],
                |r| r.get(0),
            )
        })
        .ok();
        if let Some(json) = saved {
            let snap: alcove_core::FamilySnapshot =
                serde_json::from_str(&json).expect("a saved snapshot parses");
            let placed = snap
                .clients
                .iter()
                .any(|c| &c.id == client && c.location == Location::Breakout(room.clone()));
            let timed = snap
                .breakouts
                .iter()
                .any(|b| &b.id == room && b.timer.is_some());
            if placed && timed {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the timer was not saved within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A server process with one family: moderator M and participant P, P forced into a
/// break-out room whose timer ends in `secs` (no warning), saved to the database.
struct Timed {
    dir: tempfile::TempDir,
    server: Proc,
    rest: alcove_client::RestClient,
    parent: RoomId,
    peers: Vec<(alcove_client::Room, alcove_client::Events)>,
    br: RoomId,
    ends_at: u64,
}

async fn timed_family(secs: u32) -> Timed {
    use alcove_client::{connect, RestClient};
    use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest};
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    let rest = RestClient::new(
        &format!("http://{}", server.http),
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap(),
    );
    let parent = rest
        .create_room(&CreateRoomRequest {
            name: "timer-restart".into(),
            owner_ref: "t".into(),
            settings: RoomSettingsInput::default(),
            data: serde_json::Value::Null,
        })
        .await
        .unwrap()
        .room_id;
    let mut peers = Vec::new();
    for (name, role) in [("M", Role::Moderator), ("P", Role::Participant)] {
        let t = rest
            .create_token(
                &parent,
                &CreateTokenRequest {
                    name: name.into(),
                    role,
                    user_ref: name.into(),
                    data: serde_json::Value::Null,
                },
            )
            .await
            .unwrap();
        peers.push(connect(&rest.signal_url(), &t.token).await.unwrap());
    }
    let (m, _m_events) = &peers[0];
    let (p, _) = &peers[1];
    let mut d = def(2, 1);
    d.duration = Some(secs);
    d.warning = Some(0);
    let br = m
        .create_break_out_room(&d)
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    m.invite_to_break_out_room(&Invitee {
        clients: vec![p.client_id().clone()],
        room_id: br.clone(),
        force_join: true,
    })
    .await
    .unwrap();
    let ends_at = rest.breakout_rooms(&parent).await.unwrap()[0]
        .ends_at
        .expect("the room's timer");
    wait_timer_saved(dir.path(), &parent, &br, p.client_id()).await;
    Timed {
        dir,
        server,
        rest,
        parent,
        peers,
        br,
        ends_at,
    }
}

/// Waits until every connection has resumed after a restart.
async fn all_resumed(peers: &[(alcove_client::Room, alcove_client::Events)]) {
    for (r, _) in peers {
        let mut rx = r.connection_state();
        let ok = tokio::time::timeout(
            Duration::from_secs(20),
            rx.wait_for(|s| *s == alcove_client::ConnectionState::Reconnected),
        )
        .await;
        assert!(matches!(ok, Ok(Ok(_))), "resumed after the restart");
    }
}

#[tokio::test]
async fn a_timer_survives_kill_9_and_a_restart_with_the_downtime_counted() {
    let Timed {
        dir,
        server,
        rest,
        parent,
        mut peers,
        br,
        ends_at,
    } = timed_family(10).await;
    let p = &peers[1].0;

    // kill -9, then 2 s of downtime (the time the server is away, not a wait for an outcome),
    // then the same command on the same data dir and HTTP address.
    let http = server.http;
    drop(server);
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _server = spawn_server(dir.path(), http).await;
    let downtime = killed.elapsed();
    all_resumed(&peers).await;
    let after = rest.breakout_rooms(&parent).await.unwrap();
    assert_eq!(after.len(), 1, "the room is back");
    let restored = after[0].ends_at.expect("with its timer");
    assert!(
        restored.abs_diff(ends_at) < 1_000,
        "the end stays where it was ({ends_at}), the {downtime:?} of downtime counted: {restored}"
    );
    let st = p.state().await.unwrap();
    assert_eq!(
        st.location(),
        &Location::Breakout(br.clone()),
        "P resumed inside"
    );

    // The room ends on time: P is back in the parent by reason of the timer.
    let (_, p_events) = &mut peers[1];
    let left = p_events
        .wait_for_event(Duration::from_secs(30), |e| {
            matches!(e, FacilitationEvent::LeftBreakoutRoom(_))
        })
        .await;
    let p = &peers[1].0;
    let at = p.server_now_ms().await.unwrap();
    let Some(FacilitationEvent::LeftBreakoutRoom(l)) = left else {
        panic!("the room did not end")
    };
    assert_eq!(l.reason, Some(LeaveReason::Timeout));
    assert!(l.returned_to_parent());
    assert!(
        at + 1_000 >= ends_at && at < ends_at + 3_000,
        "ended at {at}, due at {ends_at}"
    );
    assert!(rest.breakout_rooms(&parent).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_room_whose_end_passed_while_the_server_was_down_ends_at_once_after_the_restart() {
    let Timed {
        dir,
        server,
        rest,
        parent,
        peers,
        br,
        ends_at,
    } = timed_family(2).await;
    let http = server.http;
    drop(server);
    // The server stays down until well past the room's end (wall clock, the clock `ends_at`
    // is in).
    while now_ms() < ends_at + 1_000 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _server = spawn_server(dir.path(), http).await;
    all_resumed(&peers).await;
    assert!(
        rest.breakout_rooms(&parent).await.unwrap().is_empty(),
        "the room ended at the first step"
    );
    let p = &peers[1].0;
    let me = rest
        .users(&parent)
        .await
        .unwrap()
        .into_iter()
        .find(|u| &u.client_id == p.client_id())
        .expect("P is back");
    assert_eq!(me.location, Location::Parent);
    assert!(!me.paused, "resumed in the parent");
    let st = p.state().await.unwrap();
    assert_eq!(st.location(), &Location::Parent, "P's SDK agrees");
    assert!(st.room(&br).is_none());
}

// ----- a moderator mute drops the audio (real media) -----

mod audio {
    use super::*;
    use alcove_client::media::{synthetic_opus_frame, Media};
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use tokio::sync::Notify;

    /// Publishes `name`-stamped frames every 20 ms until `stop` fires (as in media_rust.rs).
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

    fn sender(frame: &[u8]) -> String {
        let body = &frame[1..];
        let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
        String::from_utf8_lossy(&body[..end]).into_owned()
    }

    async fn heard(media: &mut Media, d: Duration) -> BTreeSet<String> {
        let deadline = tokio::time::Instant::now() + d;
        let mut out = BTreeSet::new();
        while let Ok(Some(f)) = tokio::time::timeout_at(deadline, media.recv()).await {
            out.insert(sender(&f.data));
        }
        out
    }

    /// Listens in 500 ms windows until one in which `media` hears exactly `want` (deadline
    /// 20 s), then checks that the next window holds nobody outside `want`.
    async fn hears_exactly(media: &mut Media, want: &[&str], what: &str) {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while media.try_recv().is_some() {}
            let h = heard(media, Duration::from_millis(500)).await;
            if h == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: wanted {want:?}, still hearing {h:?} after 20 s"
            );
        }
        let h = heard(media, Duration::from_millis(500)).await;
        assert!(
            h.is_subset(&want),
            "{what}: once settled, heard {h:?}, more than {want:?}"
        );
    }

    async fn media_peer(s: &TestServer, room: &RoomId, name: &str, role: Role) -> (Peer, Media) {
        let p = s.peer(room, name, role).await;
        let mut m = p
            .room
            .start_media(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), None)
            .await
            .expect("sdp negotiated");
        assert!(
            m.wait_connected(Duration::from_secs(20)).await,
            "{name}: ICE + DTLS up"
        );
        (p, m)
    }

    #[tokio::test]
    async fn a_member_muted_by_a_moderator_is_heard_by_nobody_until_it_unmutes_when_asked() {
        let s = TestServer::start().await;
        let room = s.room(RoomSettingsInput::default()).await;
        let (m, mut m_media) = media_peer(&s, &room, "M", Role::Moderator).await;
        let (a, a_media) = media_peer(&s, &room, "A", Role::Participant).await;
        let (_b, mut b_media) = media_peer(&s, &room, "B", Role::Participant).await;
        let (_c, c_media) = media_peer(&s, &room, "C", Role::Participant).await;
        let stop = Arc::new(Notify::new());
        talk(Arc::new(a_media), "A", Arc::clone(&stop));
        talk(Arc::new(c_media), "C", Arc::clone(&stop));
        hears_exactly(&mut b_media, &["A", "C"], "before: B hears A and C").await;

        m.room.mute_member(&a.id).await.unwrap();
        hears_exactly(&mut b_media, &["C"], "A muted: B hears only C").await;
        hears_exactly(
            &mut m_media,
            &["C"],
            "A muted: the moderator does not hear A either",
        )
        .await;
        // A's own unmute is refused until asked; the audio stays dropped meanwhile.
        assert_eq!(code(a.room.unmute_self().await), 1762);
        hears_exactly(&mut b_media, &["C"], "a refused unmute changes nothing").await;

        m.room.ask_to_unmute(&a.id).await.unwrap();
        a.room.unmute_self().await.unwrap();
        hears_exactly(&mut b_media, &["A", "C"], "A unmuted: heard again").await;
        stop.notify_waiters();
    }
}

// ----- meet_new -----

#[tokio::test]
async fn meet_new_puts_people_with_people_they_have_not_met_round_after_round() {
    let s = TestServer::start().await;
    let room = s.room(RoomSettingsInput::default()).await;
    let p = setup(
        &s,
        &room,
        &[
            ("M", Role::Moderator),
            ("P1", Role::Participant),
            ("P2", Role::Participant),
            ("P3", Role::Participant),
            ("P4", Role::Participant),
        ],
    )
    .await;
    let mut d = def(2, 2);
    d.force_join = true;
    d.policy = alcove_proto::signal::AssignPolicy::MeetNew;
    let mut met: std::collections::BTreeSet<(ClientId, ClientId)> = Default::default();
    // 4 people in rooms of 2: three rounds can each pair everyone with someone new (the three
    // perfect matchings); the fourth cannot avoid 2 repeated pairs.
    for round in 1..=4 {
        let ack = p[0].room.create_and_invite_breakout_room(&d).await.unwrap();
        let res = ack.msg.data().expect("result").clone();
        assert!(res.unassigned.is_empty());
        let mut pairs = Vec::new();
        for inv in &res.invitations {
            assert_eq!(inv.clients.len(), 2, "round {round}: {:?}", res.invitations);
            let (a, b) = (inv.clients[0].clone(), inv.clients[1].clone());
            pairs.push(if a < b { (a, b) } else { (b, a) });
        }
        let repeated = pairs.iter().filter(|x| met.contains(x)).count() as u32;
        let want = if round < 4 { 0 } else { 2 };
        assert_eq!(repeated, want, "round {round}: {pairs:?} after {met:?}");
        assert_eq!(
            res.repeats,
            Some(want),
            "round {round}: the ack counts them"
        );
        met.extend(pairs);
        p[0].room.destroy_all_break_out_session().await.unwrap();
    }
}

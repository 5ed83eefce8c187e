//! Issue 10, plans (spec "Plans"), with the test playing the shell: `savePlan` hands the live
//! assignment to the shell (`Output::SavePlan`), `listPlans` asks it for the list, `applyPlan`
//! asks it to load the plan (`Output::LoadPlan`) and the test answers with
//! `Input::PlanLoaded`. Applying creates the rooms (names, timers, self-select) and invites (or
//! force-joins) the connected clients in the parent whose key (`user_ref`, else the name)
//! matches; the rest is reported `unmatched`; an unknown plan is 1761; create's checks apply.

use alcove_core::NewClient;
use alcove_proto::api::{RoomMode, RoomSettings};
use alcove_proto::signal::{
    AckApplyPlan, ClientMessage, JoinRole, Location, Plan, PlanRoom, Role, RoomDefinition,
    RoomInvitations, ServerMessage,
};
use alcove_proto::ClientId;
use alcove_sim::{req, ShellCall, World};

fn user(name: &str, user_ref: &str) -> NewClient {
    NewClient {
        user_ref: user_ref.into(),
        ..NewClient::new(name, Role::Participant)
    }
}

struct Cast {
    w: World,
    mia: ClientId,
    ann: ClientId,
    bob: ClientId,
    cat: ClientId,
    dan: ClientId,
}

/// Mia (moderator); Ann (u-ann), Bob (u-bob), Cat (u-cat) and Dan (no user_ref).
fn cast(settings: RoomSettings) -> Cast {
    let mut w = World::new(settings, 6);
    let mia = w.connect("Mia", Role::Moderator);
    let ann = w.connect_as(user("Ann", "u-ann"), 1);
    let bob = w.connect_as(user("Bob", "u-bob"), 1);
    let cat = w.connect_as(user("Cat", "u-cat"), 1);
    let dan = w.connect_as(user("Dan", ""), 1);
    Cast {
        w,
        mia,
        ann,
        bob,
        cat,
        dan,
    }
}

fn the_plan() -> Plan {
    Plan {
        name: "Week 1".into(),
        rooms: vec![
            PlanRoom {
                name: "Red".into(),
                participants: 2,
                canvas: false,
                share: true,
                duration: Some(600),
                self_select: false,
                members: vec!["u-ann".into(), "Dan".into()],
            },
            PlanRoom {
                name: "Blue".into(),
                participants: 3,
                canvas: true,
                share: false,
                duration: None,
                self_select: true,
                members: vec!["u-bob".into(), "u-gone".into(), "u-ann".into()],
            },
        ],
    }
}

fn applied(ack: &alcove_proto::signal::ServerFrame) -> AckApplyPlan {
    match &ack.msg {
        ServerMessage::AckApplyPlan(a) => a.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn save_hands_the_live_assignment_to_the_shell() {
    let mut c = cast(RoomSettings::default());
    let def = RoomDefinition {
        duration: Some(900),
        self_select: true,
        canvas: true,
        ..req::definition(3, 2)
    };
    let ack =
        c.w.request(&c.mia, req::create_named(def, &["Red", "Blue"]));
    let rooms = req::rooms(&ack);
    c.w.invite_and_join(&c.mia, &c.ann, &rooms[0]);
    c.w.invite_and_join(&c.mia, &c.dan, &rooms[0]);
    c.w.invite_to(&c.mia, &rooms[1], &[&c.bob]); // pending invitee counts
    let ack =
        c.w.request(&c.mia, req::join(&rooms[1], JoinRole::Moderator));
    assert!(
        matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
        "{ack:?}"
    );
    c.w.advance(std::time::Duration::from_secs(100));
    let call =
        c.w.request_to_shell(&c.mia, req::save_plan("  Week 1 "))
            .unwrap_or_else(|ack| panic!("refused: {ack:?}"));
    let ShellCall::SavePlan { client, plan, .. } = call else {
        panic!("{call:?}")
    };
    assert_eq!(client, c.mia);
    assert_eq!(plan.name, "Week 1");
    // (name, places, canvas, share, self-select, members)
    type Row<'a> = (&'a str, u32, bool, bool, bool, Vec<&'a str>);
    let summary: Vec<Row<'_>> = plan
        .rooms
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.participants,
                r.canvas,
                r.share,
                r.self_select,
                r.members.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Red", 3, true, true, true, vec!["u-ann", "Dan"]),
            ("Blue", 3, true, true, true, vec!["u-bob"]),
        ],
        "moderator members are not part of a plan"
    );
    assert!(plan.rooms.iter().all(|r| r.duration == Some(900)));
    let _ = c.cat;
}

#[test]
fn a_moderator_saved_in_a_plan_is_matched_like_anyone_but_the_caller() {
    let mut c = cast(RoomSettings::default());
    let max = c.w.connect_as(
        NewClient {
            user_ref: "u-max".into(),
            ..NewClient::new("Max", Role::Moderator)
        },
        1,
    );
    let b = c.w.create_rooms(&c.mia, 2, 1)[0].clone();
    // Max is invited (pending) and Ann joined: both are in the saved plan (members first).
    c.w.invite_to(&c.mia, &b, &[&max]);
    c.w.invite_and_join(&c.mia, &c.ann, &b);
    let ack = c.w.request(&c.mia, req::save_plan("With Max"));
    match &ack.msg {
        ServerMessage::AckSavePlan(a) => {
            assert_eq!(
                a.plan.as_ref().expect("saved").rooms[0].members,
                ["u-ann", "u-max"]
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        req::result(&c.w.request(&c.mia, ClientMessage::DestroyAllBreakOutSession)),
        0
    );
    let a = applied(&c.w.request(&c.mia, req::apply_plan("With Max", false)));
    assert_eq!(a.invitations[0].clients, vec![c.ann.clone(), max.clone()]);
    assert!(a.unmatched.is_empty());
    // Max applying it himself: the caller is excluded, so his key is unmatched.
    assert_eq!(
        req::result(&c.w.request(&max, ClientMessage::DestroyAllBreakOutSession)),
        0
    );
    let a = applied(&c.w.request(&max, req::apply_plan("With Max", false)));
    assert_eq!(a.unmatched, vec!["u-max".to_string()]);
}

#[test]
fn save_list_refusals() {
    let mut c = cast(RoomSettings::default());
    let ack =
        c.w.request_to_shell(&c.mia, req::save_plan("x"))
            .expect_err("no live room");
    assert_eq!(req::result(&ack), 1736);
    c.w.create_rooms(&c.mia, 2, 1);
    for bad in ["", "   ", &"n".repeat(65)] {
        let ack =
            c.w.request_to_shell(&c.mia, req::save_plan(bad))
                .expect_err("bad name");
        assert_eq!(req::result(&ack), 1155, "{bad:?}");
    }
    for msg in [
        req::save_plan("x"),
        req::list_plans(),
        req::apply_plan("x", false),
    ] {
        let ack = c.w.request_to_shell(&c.ann, msg).expect_err("participant");
        assert_eq!(req::result(&ack), 5003);
    }
    // listPlans from a moderator goes to the shell.
    let call =
        c.w.request_to_shell(&c.mia, req::list_plans())
            .expect("to the shell");
    assert!(matches!(call, ShellCall::ListPlans { .. }));
}

#[test]
fn apply_creates_the_rooms_invites_matching_users_and_reports_the_rest() {
    let mut c = cast(RoomSettings::default());
    let max = c.w.connect_as(
        NewClient {
            user_ref: "u-bob".into(),
            ..NewClient::new("Max", Role::Moderator)
        },
        1,
    );
    c.w.clear_inboxes();
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("Week 1", false))
            .expect("to the shell");
    match &call {
        ShellCall::LoadPlan {
            name, force_join, ..
        } => assert_eq!((name.as_str(), *force_join), ("Week 1", false)),
        other => panic!("{other:?}"),
    }
    let start = c.w.unix_ms();
    let a = applied(&c.w.plan_loaded(&call, Some(the_plan())));
    assert_eq!(a.result, 0, "{a:?}");
    assert_eq!(a.rooms.len(), 2);
    assert_eq!(
        a.invitations,
        vec![
            RoomInvitations {
                room_id: a.rooms[0].clone(),
                clients: vec![c.ann.clone(), c.dan.clone()]
            },
            RoomInvitations {
                room_id: a.rooms[1].clone(),
                clients: vec![c.bob.clone()]
            },
        ],
        "each matched once, by user_ref or name; Bob connected before Max, who shares his key"
    );
    assert_eq!(a.unmatched, vec!["u-gone".to_string(), "u-ann".to_string()]);
    let info: Vec<_> = c.w.family().breakout_rooms();
    assert_eq!(info[0].name, "Red");
    assert_eq!(info[0].ends_at, Some(start + 600_000));
    assert!(!info[0].self_select && info[1].self_select);
    assert_eq!((info[1].name.as_str(), info[1].ends_at), ("Blue", None));
    assert_eq!((info[1].canvas, info[1].share), (true, false));
    // Notifications as create-and-invite: invitations to the invitees, rooms to moderators.
    let inb = c.w.drain_all();
    inb.assert_sent("invitationForBreakoutRoom", &[&c.ann, &c.dan, &c.bob]);
    assert_eq!(inb.find(&max, "breakoutRoomCreated").len(), 2);
    assert!(inb.find(&c.cat, "invitationForBreakoutRoom").is_empty());
    // The invitees can join.
    c.w.join_room(&c.ann, &a.rooms[0]);
}

#[test]
fn apply_with_force_join_moves_the_members() {
    let mut c = cast(RoomSettings::default());
    c.w.store_plan(the_plan());
    // Through the world's own shell this time.
    let a = applied(&c.w.request(&c.mia, req::apply_plan("Week 1", true)));
    assert_eq!(a.result, 0);
    assert_eq!(c.w.location(&c.ann), Location::Breakout(a.rooms[0].clone()));
    assert_eq!(c.w.location(&c.dan), Location::Breakout(a.rooms[0].clone()));
    assert_eq!(c.w.location(&c.bob), Location::Breakout(a.rooms[1].clone()));
    assert_eq!(c.w.location(&c.cat), Location::Parent);
}

#[test]
fn unknown_plan_1761_and_creates_checks() {
    let mut c = cast(RoomSettings::default());
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("nope", false))
            .expect("shell");
    assert_eq!(req::result(&c.w.plan_loaded(&call, None)), 1761);
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::apply_plan("nope", false))),
        1761
    );
    assert!(c.w.live_rooms().is_empty());

    // Over capacity (max_active_talkers 6: at most 5 places).
    let mut big = the_plan();
    big.rooms[1].participants = 6;
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("Big", false))
            .expect("shell");
    assert_eq!(req::result(&c.w.plan_loaded(&call, Some(big))), 1725);
    // Room limit (10): 9 live + 2 in the plan.
    c.w.create_rooms(&c.mia, 2, 9);
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("Week 1", false))
            .expect("shell");
    assert_eq!(req::result(&c.w.plan_loaded(&call, Some(the_plan()))), 1726);
    // The caller inside a break-out room: 5067.
    let room = c.w.live_rooms()[0].clone();
    let ack = c.w.request(&c.mia, req::join(&room, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("Week 1", false))
            .expect("shell");
    assert_eq!(req::result(&c.w.plan_loaded(&call, Some(the_plan()))), 5067);
    assert_eq!(c.w.live_rooms().len(), 9);

    // Lecture mode: 5067.
    let lecture = RoomSettings {
        mode: RoomMode::Lecture,
        ..RoomSettings::default()
    };
    let mut c = cast(lecture);
    let call =
        c.w.request_to_shell(&c.mia, req::apply_plan("Week 1", false))
            .expect("shell");
    assert_eq!(req::result(&c.w.plan_loaded(&call, Some(the_plan()))), 5067);
}

#[test]
fn save_destroy_apply_round_trip_restores_the_assignment() {
    let mut c = cast(RoomSettings::default());
    let rooms = c.w.create_rooms(&c.mia, 2, 2);
    c.w.invite_and_join(&c.mia, &c.ann, &rooms[0]);
    c.w.invite_and_join(&c.mia, &c.bob, &rooms[0]);
    c.w.invite_and_join(&c.mia, &c.cat, &rooms[1]);
    let ack = c.w.request(&c.mia, req::save_plan("Pairs"));
    assert_eq!(req::result(&ack), 0, "{ack:?}");
    let listed = c.w.request(&c.mia, req::list_plans());
    match &listed.msg {
        ServerMessage::AckListPlans(l) => {
            assert_eq!(l.plans.len(), 1);
            assert_eq!((l.plans[0].rooms, l.plans[0].members), (2, 3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        req::result(&c.w.request(&c.mia, ClientMessage::DestroyAllBreakOutSession)),
        0
    );
    let a = applied(&c.w.request(&c.mia, req::apply_plan("Pairs", true)));
    assert_eq!(a.result, 0);
    assert!(a.unmatched.is_empty());
    assert_eq!(c.w.location(&c.ann), c.w.location(&c.bob));
    assert_ne!(c.w.location(&c.ann), c.w.location(&c.cat));
    assert_eq!(c.w.location(&c.dan), Location::Parent);
}

#[test]
fn a_saved_plan_keeps_each_rooms_timer_as_it_is_now() {
    let mut c = cast(RoomSettings::default());
    let def = RoomDefinition {
        duration: Some(600),
        ..req::definition(2, 3)
    };
    let rooms = req::rooms(&c.w.request(&c.mia, req::create_with(def)));
    // Room 1 keeps its 600 s; room 2's timer is cleared; room 3's is set to 1200 s.
    let ack =
        c.w.request(&c.mia, req::set_duration(&rooms[1], None, None));
    assert_eq!(req::result(&ack), 0);
    let ack =
        c.w.request(&c.mia, req::set_duration(&rooms[2], Some(1200), None));
    assert_eq!(req::result(&ack), 0);
    let call =
        c.w.request_to_shell(&c.mia, req::save_plan("Timers"))
            .expect("to the shell");
    let ShellCall::SavePlan { plan, .. } = call else {
        panic!("{call:?}")
    };
    let durations: Vec<Option<u32>> = plan.rooms.iter().map(|r| r.duration).collect();
    assert_eq!(durations, vec![Some(600), None, Some(1200)]);
}

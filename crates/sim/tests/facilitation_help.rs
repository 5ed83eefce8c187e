//! Issue 10, help requests (spec "Help"): a member of a break-out room asks for help; a second
//! press coalesces; the requester cancels; a moderator dismisses; a moderator entering the room
//! (join, move, switch) answers it; it is dropped when the requester leaves the room or the
//! family or the room ends; moderators find the pending requests in `roomConnected` on connect
//! and on resume.

use alcove_proto::signal::{
    HelpOutcome, HelpReply, HelpRequest, HelpResolved, JoinRole, Role, RoomDefinition,
    ServerMessage,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, World};
use std::time::Duration;

struct Cast {
    w: World,
    mia: ClientId,
    max: ClientId,
    pat: ClientId,
    quinn: ClientId,
    b1: RoomId,
    b2: RoomId,
}

/// Mia, Max (moderators, parent); Pat and Quinn in B1; B2 empty but invited-to (so it lives).
fn cast() -> Cast {
    let mut w = World::with_defaults(9);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rooms = w.create_rooms(&mia, 3, 2);
    let (b1, b2) = (rooms[0].clone(), rooms[1].clone());
    w.invite_and_join(&mia, &pat, &b1);
    w.invite_and_join(&mia, &quinn, &b1);
    w.clear_inboxes();
    Cast {
        w,
        mia,
        max,
        pat,
        quinn,
        b1,
        b2,
    }
}

fn help_ack(ack: &alcove_proto::signal::ServerFrame) -> (HelpRequest, bool) {
    match &ack.msg {
        ServerMessage::AckRequestHelp(a) if a.result == 0 => {
            (a.request.clone().expect("the request"), a.already_pending)
        }
        other => panic!("requestHelp failed: {other:?}"),
    }
}

fn resolved(
    c: &Cast,
    who: &ClientId,
    outcome: HelpOutcome,
    by: Option<&ClientId>,
) -> ServerMessage {
    ServerMessage::HelpResolved(HelpResolved {
        room_id: c.b1.clone(),
        client_id: who.clone(),
        outcome,
        by: by.map(|b| c.w.user_ref(b)),
    })
}

#[test]
fn request_coalesces_and_moderators_are_told_once() {
    let mut c = cast();
    let (r, again) = help_ack(&c.w.request(&c.pat, req::request_help()));
    assert!(!again);
    assert_eq!(
        r,
        HelpRequest {
            room_id: c.b1.clone(),
            client_id: c.pat.clone(),
            name: "Pat".into(),
            at: c.w.unix_ms(),
        }
    );
    let inb = c.w.drain_all();
    inb.assert_sent("helpRequested", &[&c.mia, &c.max]);
    assert_eq!(
        inb.one(&c.mia, "helpRequested"),
        &ServerMessage::HelpRequested(r.clone())
    );
    c.w.advance(Duration::from_secs(30));
    let (r2, again) = help_ack(&c.w.request(&c.pat, req::request_help()));
    assert!(again, "already pending");
    assert_eq!(r2.at, r.at, "a repeated press keeps the first time");
    assert!(c.w.drain_all().is_empty(), "no new notification");
}

#[test]
fn only_a_member_of_a_breakout_room_may_ask_1741() {
    let mut c = cast();
    let rhea = c.w.connect("Rhea", Role::Participant);
    for who in [&rhea, &c.mia] {
        let ack = c.w.request(who, req::request_help());
        assert_eq!(req::result(&ack), 1741);
    }
    assert!(c.w.drain_all().recipients("helpRequested").is_empty());
}

#[test]
fn cancel_then_1760() {
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.clear_inboxes();
    assert_eq!(req::result(&c.w.request(&c.pat, req::cancel_help())), 0);
    let inb = c.w.drain_all();
    inb.assert_sent("helpResolved", &[&c.mia, &c.max]);
    assert_eq!(
        inb.one(&c.mia, "helpResolved"),
        &resolved(&c, &c.pat, HelpOutcome::Cancelled, None)
    );
    assert_eq!(req::result(&c.w.request(&c.pat, req::cancel_help())), 1760);
    assert_eq!(
        req::result(&c.w.request(&c.quinn, req::cancel_help())),
        1760
    );
}

#[test]
fn dismiss_by_a_moderator() {
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.quinn, req::dismiss_help(&c.pat))),
        5003
    );
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::dismiss_help(&c.quinn))),
        1760
    );
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::dismiss_help(&c.pat))),
        0
    );
    let inb = c.w.drain_all();
    assert_eq!(
        inb.one(&c.pat, "helpDismissed"),
        &ServerMessage::HelpDismissed(HelpReply {
            room_id: c.b1.clone(),
            by: c.w.user_ref(&c.mia)
        })
    );
    inb.assert_sent("helpResolved", &[&c.max]);
    assert_eq!(
        inb.one(&c.max, "helpResolved"),
        &resolved(&c, &c.pat, HelpOutcome::Dismissed, Some(&c.mia))
    );
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::dismiss_help(&c.pat))),
        1760
    );
}

#[test]
fn a_moderator_joining_answers_every_request_of_the_room() {
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    help_ack(&c.w.request(&c.quinn, req::request_help()));
    c.w.clear_inboxes();
    let ack = c.w.request(&c.max, req::join(&c.b1, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    let inb = c.w.drain_all();
    let answered = ServerMessage::HelpAnswered(HelpReply {
        room_id: c.b1.clone(),
        by: c.w.user_ref(&c.max),
    });
    assert_eq!(inb.one(&c.pat, "helpAnswered"), &answered);
    assert_eq!(inb.one(&c.quinn, "helpAnswered"), &answered);
    assert_eq!(
        inb.find(&c.mia, "helpResolved"),
        vec![
            &resolved(&c, &c.pat, HelpOutcome::Answered, Some(&c.max)),
            &resolved(&c, &c.quinn, HelpOutcome::Answered, Some(&c.max)),
        ]
    );
    assert_eq!(inb.find(&c.max, "helpResolved").len(), 2);
    assert_eq!(req::result(&c.w.request(&c.pat, req::cancel_help())), 1760);
}

#[test]
fn a_moderator_moved_or_switching_in_answers_it() {
    // Moved in by another moderator.
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&c.max, &c.b1))),
        0
    );
    let inb = c.w.drain_all();
    assert_eq!(inb.find(&c.pat, "helpAnswered").len(), 1);
    assert_eq!(
        inb.one(&c.mia, "helpResolved"),
        &resolved(&c, &c.pat, HelpOutcome::Answered, Some(&c.max))
    );

    // Switching from B2 into B1 with joinBreakoutRoom.
    let mut c = cast();
    let ack = c.w.request(&c.max, req::join(&c.b2, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    help_ack(&c.w.request(&c.quinn, req::request_help()));
    c.w.clear_inboxes();
    let ack = c.w.request(&c.max, req::join(&c.b1, JoinRole::Moderator));
    assert!(
        matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)),
        "{ack:?}"
    );
    let inb = c.w.drain_all();
    assert_eq!(inb.find(&c.quinn, "helpAnswered").len(), 1);
    assert_eq!(inb.find(&c.mia, "helpResolved").len(), 1);
}

#[test]
fn a_participant_joining_answers_nothing() {
    let mut c = cast();
    let rhea = c.w.connect("Rhea", Role::Participant);
    help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.clear_inboxes();
    c.w.invite_and_join(&c.mia, &rhea, &c.b1);
    let inb = c.w.drain_all();
    inb.assert_none("helpAnswered");
    inb.assert_none("helpResolved");
    assert_eq!(c.w.family().users().len(), 5);
    assert_eq!(req::result(&c.w.request(&c.pat, req::cancel_help())), 0);
}

#[test]
fn dropped_when_the_requester_leaves_the_room_or_the_family_or_moves() {
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    help_ack(&c.w.request(&c.quinn, req::request_help()));
    c.w.clear_inboxes();
    // Pat leaves B1 for the parent.
    let ack = c.w.request(&c.pat, req::disconnect(&c.b1));
    assert_eq!(req::result(&ack), 0);
    let inb = c.w.drain_all();
    inb.assert_sent("helpResolved", &[&c.mia, &c.max]);
    assert_eq!(
        inb.one(&c.mia, "helpResolved"),
        &resolved(&c, &c.pat, HelpOutcome::Left, None)
    );
    // Quinn leaves the family.
    c.w.drop_client(&c.quinn);
    let inb = c.w.drain_all();
    assert_eq!(
        inb.one(&c.max, "helpResolved"),
        &resolved(&c, &c.quinn, HelpOutcome::Left, None)
    );

    // Moved to another room by a moderator: dropped (left), not answered.
    let mut c = cast();
    help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::move_to(&c.pat, &c.b2))),
        0
    );
    let inb = c.w.drain_all();
    assert_eq!(
        inb.one(&c.mia, "helpResolved"),
        &resolved(&c, &c.pat, HelpOutcome::Left, None)
    );
    assert_eq!(req::result(&c.w.request(&c.pat, req::cancel_help())), 1760);
}

#[test]
fn dropped_when_the_room_ends() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let def = RoomDefinition {
        duration: Some(60),
        ..req::definition(2, 1)
    };
    let ack = w.request(&mia, req::create_with(def));
    let b = req::rooms(&ack)[0].clone();
    w.invite_and_join(&mia, &pat, &b);
    help_ack(&w.request(&pat, req::request_help()));
    w.clear_inboxes();
    w.advance(Duration::from_secs(60));
    let inb = w.drain_all();
    assert_eq!(
        inb.one(&mia, "helpResolved"),
        &ServerMessage::HelpResolved(HelpResolved {
            room_id: b.clone(),
            client_id: pat.clone(),
            outcome: HelpOutcome::Left,
            by: None
        })
    );
    // destroy-all drops requests too.
    let b = w.create_rooms(&mia, 2, 1)[0].clone();
    w.invite_and_join(&mia, &pat, &b);
    help_ack(&w.request(&pat, req::request_help()));
    w.clear_inboxes();
    assert_eq!(
        req::result(&w.request(
            &mia,
            alcove_proto::signal::ClientMessage::DestroyAllBreakOutSession
        )),
        0
    );
    let inb = w.drain_all();
    assert_eq!(inb.find(&mia, "helpResolved").len(), 1);
}

#[test]
fn pending_requests_in_room_connected_for_moderators_on_connect_and_resume() {
    let mut c = cast();
    let (rp, _) = help_ack(&c.w.request(&c.pat, req::request_help()));
    c.w.advance(Duration::from_secs(3));
    let (rq, _) = help_ack(&c.w.request(&c.quinn, req::request_help()));
    let (nora, rc) = c.w.try_connect("Nora", Role::Moderator).expect("connects");
    match rc.msg {
        ServerMessage::RoomConnected(rc) => {
            assert_eq!(
                rc.help_requests,
                vec![rp.clone(), rq.clone()],
                "oldest first"
            )
        }
        other => panic!("{other:?}"),
    }
    let (_olga, rc) =
        c.w.try_connect("Olga", Role::Participant)
            .expect("connects");
    match rc.msg {
        ServerMessage::RoomConnected(rc) => assert!(rc.help_requests.is_empty(), "moderators only"),
        other => panic!("{other:?}"),
    }
    // A moderator resuming after a lost connection, and everyone after a restart.
    c.w.drop_connection(&nora);
    c.w.advance(Duration::from_secs(5));
    match c.w.resume(&nora).msg {
        ServerMessage::RoomConnected(rc) => {
            assert_eq!(rc.help_requests, vec![rp.clone(), rq.clone()])
        }
        other => panic!("{other:?}"),
    }
    c.w.restart_after(Duration::from_secs(7));
    for who in c.w.in_family() {
        let ack = c.w.resume(&who);
        if who == c.mia {
            match ack.msg {
                ServerMessage::RoomConnected(rc) => {
                    assert_eq!(
                        rc.help_requests,
                        vec![rp.clone(), rq.clone()],
                        "kept across a restart"
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }
    let _ = c.max;
}

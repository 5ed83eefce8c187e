//! Issue 10, timers (spec "Timers"): a room's `duration` in its definition starts a timer at
//! creation; `setBreakoutDuration` extends, shortens or clears it; the warning goes out exactly
//! once; at the end every member is back in the parent resumed and unmuted (parent mute and
//! moderator mute cleared), hears the parent again, the room is destroyed and its invitations
//! withdrawn with reason `timeout`; a timer survives a restart with the downtime counted
//! against it and not added to it, and a warning already sent is not sent again.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    BreakoutInvitationWithdrawn, BreakoutTimer, BreakoutTimerWarning, ClientMessage,
    DidDisconnectedBreakoutRoom, Invitee, LeaveReason, Location, Role, RoomDefinition,
    ServerMessage, WithdrawReason,
};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld, World};
use std::collections::BTreeSet;
use std::time::Duration;

fn timed(participants: u32, rooms: u32, duration: u32, warning: Option<u32>) -> RoomDefinition {
    RoomDefinition {
        duration: Some(duration),
        warning,
        ..req::definition(participants, rooms)
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Mia (moderator), Pat and Quinn (participants) in room `b` with a timer of `duration` s.
fn timed_room(
    duration: u32,
    warning: Option<u32>,
) -> (World, ClientId, ClientId, ClientId, RoomId) {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ack = w.request(&mia, req::create_with(timed(3, 1, duration, warning)));
    assert_eq!(req::result(&ack), 0, "{ack:?}");
    let b = req::rooms(&ack)[0].clone();
    w.invite_and_join(&mia, &pat, &b);
    w.invite_and_join(&mia, &quinn, &b);
    w.clear_inboxes();
    (w, mia, pat, quinn, b)
}

fn timer_ack(ack: &alcove_proto::signal::ServerFrame) -> BreakoutTimer {
    match &ack.msg {
        ServerMessage::AckSetBreakoutDuration(a) if a.result == 0 => {
            a.timer.clone().expect("a successful ack carries the timer")
        }
        other => panic!("setBreakoutDuration failed: {other:?}"),
    }
}

#[test]
fn the_definitions_duration_is_reported_in_absolute_server_time() {
    let (w, _mia, _pat, _quinn, b) = timed_room(600, None);
    let info = w.breakout(&b).expect("live");
    // Created at +0: ends at the epoch + 600 s, warns 60 s (the default) before.
    let start = w.unix_ms_at(w.now() - w.elapsed());
    assert_eq!(info.ends_at, Some(start + 600_000));
    assert_eq!(info.warning_at, Some(start + 540_000));
}

#[test]
fn out_of_range_durations_are_refused_with_1155() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    for (duration, warning) in [(0, None), (86_401, None), (60, Some(86_401))] {
        let mut def = timed(2, 1, duration, warning).to_input();
        def.0.insert("duration".into(), duration.into());
        let ack = w.request(&mia, ClientMessage::CreateBreakOutRoom(def));
        assert_eq!(
            req::result(&ack),
            ErrorCode::InvalidParameters.code(),
            "duration {duration} warning {warning:?}"
        );
    }
    assert!(w.live_rooms().is_empty());
    let b = w.create_rooms(&mia, 2, 1)[0].clone();
    for (d, warn) in [(Some(86_401), None), (Some(60), Some(86_401))] {
        let ack = w.request(&mia, req::set_duration(&b, d, warn));
        assert_eq!(req::result(&ack), 1155, "{d:?} {warn:?}");
    }
    let ack = w.request(
        &mia,
        req::set_duration(&RoomId::from("nope"), Some(60), None),
    );
    assert_eq!(req::result(&ack), 1736);
    let pat = w.connect("Pat", Role::Participant);
    let ack = w.request(&pat, req::set_duration(&b, Some(60), None));
    assert_eq!(req::result(&ack), 5003);
    assert_eq!(w.breakout(&b).expect("live").ends_at, None);
}

#[test]
fn warning_once_then_everyone_back_in_the_parent_resumed_and_unmuted_room_gone() {
    let (mut w, mia, pat, quinn, b) = timed_room(300, Some(60));
    let max = w.connect("Max", Role::Moderator);
    let rhea = w.connect("Rhea", Role::Participant);
    // Rhea holds an invitation; Pat muted the parent and resumed; Quinn is muted by Mia.
    w.invite_to(&mia, &b, &[&rhea]);
    assert_eq!(req::result(&w.request(&pat, ClientMessage::Resume)), 0);
    assert_eq!(req::result(&w.request(&pat, req::mute(true, false))), 0);
    assert_eq!(req::result(&w.request(&mia, req::mute_member(&quinn))), 0);
    w.clear_inboxes();

    w.advance(secs(239));
    assert!(w.drain_all().is_empty(), "nothing before the warning");
    w.advance(secs(1));
    let inb = w.drain_all();
    inb.assert_sent("breakoutTimerWarning", &[&mia, &pat, &quinn, &max]);
    let ends_at = w.breakout(&b).and_then(|i| i.ends_at).expect("timer");
    assert_eq!(
        inb.one(&pat, "breakoutTimerWarning"),
        &ServerMessage::BreakoutTimerWarning(BreakoutTimerWarning {
            room_id: b.clone(),
            ends_at
        })
    );
    w.advance(secs(59));
    assert_eq!(
        w.drain_all().recipients("breakoutTimerWarning"),
        Vec::<ClientId>::new(),
        "the warning goes out once"
    );
    w.advance(secs(1));
    let inb = w.drain_all();
    let timeout = ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
        Some(b.clone()),
        LeaveReason::Timeout,
        Location::Parent,
    ));
    for m in [&pat, &quinn] {
        assert_eq!(inb.one(m, "didDisconnectedBreakoutRoom"), &timeout);
        let u = w.user(m);
        assert_eq!(u.location, Location::Parent);
        assert!(!u.paused, "{m} resumed");
        assert_eq!(
            u.muted,
            alcove_sim::world::UNMUTED,
            "{m} parent mute cleared"
        );
    }
    assert_eq!(
        inb.one(&rhea, "breakoutInvitationWithdrawn"),
        &ServerMessage::BreakoutInvitationWithdrawn(BreakoutInvitationWithdrawn {
            room_id: b.clone(),
            reason: WithdrawReason::Timeout
        })
    );
    inb.assert_sent("didDestroyedBreakoutRoom", &[&mia, &max]);
    // Quinn's moderator mute was cleared too (Quinn and everyone who saw it set).
    for c in [&quinn, &mia, &max] {
        match inb.find(c, "memberMuted").last() {
            Some(ServerMessage::MemberMuted(m)) => assert!(!m.muted && m.client_id == quinn),
            other => panic!("{c} not told Quinn is unmuted: {other:?}"),
        }
    }
    assert!(w.breakout(&b).is_none());
    assert!(w.live_rooms().is_empty());
    // Restored as a fresh family, nobody is muted by a moderator.
    w.restart();
    let rc = w.resume(&quinn);
    match rc.msg {
        ServerMessage::RoomConnected(rc) => assert!(!rc.muted_by_moderator),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_warning_when_warning_is_zero_and_immediate_warning_when_it_exceeds_the_duration() {
    let (mut w, mia, pat, _quinn, b) = timed_room(120, Some(0));
    assert_eq!(w.breakout(&b).and_then(|i| i.warning_at), None);
    w.advance(secs(119));
    w.drain_all().assert_none("breakoutTimerWarning");
    // warning >= duration: the warning is due at once.
    let ack = w.request(&mia, req::set_duration(&b, Some(30), Some(45)));
    let t = timer_ack(&ack);
    assert_eq!(t.warning_at, Some(w.unix_ms()));
    assert_eq!(t.ends_at, Some(w.unix_ms() + 30_000));
    w.advance(Duration::from_millis(1));
    let inb = w.drain_all();
    assert_eq!(inb.find(&pat, "breakoutTimerWarning").len(), 1);
}

#[test]
fn extend_shorten_and_clear_the_timer() {
    let (mut w, mia, pat, quinn, b) = timed_room(300, None);
    let max = w.connect("Max", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    w.clear_inboxes();
    w.advance(secs(100));

    // Extend to 600 s from now: everyone in the room and every other moderator is told.
    let ack = w.request(&mia, req::set_duration(&b, Some(600), Some(120)));
    let t = timer_ack(&ack);
    assert_eq!(t.ends_at, Some(w.unix_ms() + 600_000));
    assert_eq!(t.warning_at, Some(w.unix_ms() + 480_000));
    let inb = w.drain_all();
    inb.assert_sent("breakoutTimer", &[&pat, &quinn, &max]);
    assert_eq!(
        inb.one(&pat, "breakoutTimer"),
        &ServerMessage::BreakoutTimer(t.clone())
    );
    assert!(inb
        .of(&olga)
        .iter()
        .all(|m| m.type_name() != "breakoutTimer"));
    assert_eq!(w.breakout(&b).and_then(|i| i.ends_at), t.ends_at);
    // The old end (+300 s) passes; the room lives on.
    w.advance(secs(250));
    assert!(w.breakout(&b).is_some(), "extended past the old end");

    // Shorten: 10 s from now, warning 5 s before.
    let t = timer_ack(&w.request(&mia, req::set_duration(&b, Some(10), Some(5))));
    assert_eq!(t.ends_at, Some(w.unix_ms() + 10_000));
    w.clear_inboxes();
    w.advance(secs(5));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);

    // Clear: nulls to everyone concerned, and the room outlives its old end.
    let ack = w.request(&mia, req::set_duration(&b, None, None));
    let t = timer_ack(&ack);
    assert_eq!((t.ends_at, t.warning_at), (None, None));
    let inb = w.drain_all();
    inb.assert_sent("breakoutTimer", &[&pat, &quinn, &max]);
    w.advance(secs(3600));
    assert!(w.breakout(&b).is_some(), "a cleared timer ends nothing");
    assert_eq!(w.location(&pat), Location::Breakout(b.clone()));
    // duration 0 clears too.
    timer_ack(&w.request(&mia, req::set_duration(&b, Some(60), None)));
    let t = timer_ack(&w.request(&mia, req::set_duration(&b, Some(0), None)));
    assert_eq!(t.ends_at, None);
    w.advance(secs(120));
    assert!(w.breakout(&b).is_some());
}

#[test]
fn a_changed_timer_rearms_the_warning() {
    let (mut w, mia, pat, _quinn, b) = timed_room(100, Some(50));
    w.advance(secs(60));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);
    timer_ack(&w.request(&mia, req::set_duration(&b, Some(100), Some(50))));
    w.clear_inboxes();
    w.advance(secs(49));
    w.drain_all().assert_none("breakoutTimerWarning");
    w.advance(secs(1));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);
}

#[test]
fn a_restart_counts_the_downtime_and_does_not_add_it() {
    let (mut w, _mia, pat, _quinn, b) = timed_room(300, Some(60));
    let ends_at = w.breakout(&b).and_then(|i| i.ends_at).expect("timer");
    w.advance(secs(100));
    // Down for 50 s at +100 s: the room still ends at +300 s (200 s after the snapshot).
    w.restart_after(secs(50));
    for c in w.in_family() {
        w.resume(&c);
    }
    assert_eq!(
        w.breakout(&b).and_then(|i| i.ends_at),
        Some(ends_at),
        "the deadline is absolute"
    );
    w.clear_inboxes();
    w.advance(secs(89));
    w.drain_all().assert_none("breakoutTimerWarning");
    w.advance(secs(1));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);
    w.advance(secs(59));
    assert!(w.breakout(&b).is_some());
    w.advance(secs(1));
    assert!(
        w.breakout(&b).is_none(),
        "ended at +300 s, downtime not added"
    );
    assert_eq!(w.location(&pat), Location::Parent);
}

#[test]
fn a_room_whose_end_passed_during_the_downtime_ends_at_the_first_step() {
    let (mut w, _mia, pat, _quinn, b) = timed_room(100, Some(0));
    w.advance(secs(50));
    w.restart_after(secs(80));
    assert!(w.breakout(&b).is_none(), "ended at the first step");
    assert_eq!(w.location(&pat), Location::Parent);
    let rc = w.resume(&pat);
    match rc.msg {
        ServerMessage::RoomConnected(rc) => {
            assert!(rc.breakout_rooms.is_empty());
            assert_eq!(rc.server_time, w.unix_ms(), "server_time follows the clock");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_warning_sent_before_a_restart_is_not_sent_again() {
    let (mut w, _mia, pat, quinn, b) = timed_room(300, Some(60));
    w.advance(secs(250));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);
    w.restart_after(secs(5));
    for c in w.in_family() {
        w.resume(&c);
    }
    w.clear_inboxes();
    w.advance(secs(44));
    let inb = w.drain_all();
    inb.assert_none("breakoutTimerWarning");
    assert!(w.breakout(&b).is_some());
    w.advance(secs(1));
    let inb = w.drain_all();
    inb.assert_none("breakoutTimerWarning");
    assert_eq!(inb.find(&quinn, "didDisconnectedBreakoutRoom").len(), 1);
    assert!(w.breakout(&b).is_none());
}

#[test]
fn a_restart_before_the_warning_still_warns_once_on_time() {
    let (mut w, _mia, pat, _quinn, b) = timed_room(300, Some(60));
    w.advance(secs(200));
    w.restart_after(secs(20));
    for c in w.in_family() {
        w.resume(&c);
    }
    w.clear_inboxes();
    w.advance(secs(19));
    w.drain_all().assert_none("breakoutTimerWarning");
    w.advance(secs(1));
    assert_eq!(w.drain_all().find(&pat, "breakoutTimerWarning").len(), 1);
    assert!(w.breakout(&b).is_some());
}

// ----- media: after the timeout the members hear the parent -----

fn round(w: &mut MediaWorld, talkers: &[(&ClientId, &str)], ms: u64) {
    for _ in 0..ms / 20 {
        for (c, name) in talkers {
            w.talk(c, format!("{name}:").as_bytes());
        }
        w.pump(Duration::from_millis(20));
    }
}

fn heard(w: &mut MediaWorld, c: &ClientId) -> BTreeSet<String> {
    w.take_heard(c).iter().map(|h| stamp(&h.data)).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn after_the_timeout_the_members_hear_the_parent_and_the_parent_hears_them() {
    let mut w = MediaWorld::new(RoomSettings::default(), 11);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let b = w.join("B", Role::Participant);
    let ack = w.request(&m, req::create_with(timed(2, 1, 2, Some(0))));
    let br = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: vec![a.clone(), b.clone()],
        room_id: br,
        force_join: true,
    };
    assert_eq!(
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
            .msg
            .result(),
        Some(0)
    );
    // A mutes the parent and is muted by the moderator: both cleared at the end.
    assert_eq!(w.request(&a, req::mute(true, false)).msg.result(), Some(0));
    assert_eq!(w.request(&m, req::mute_member(&a)).msg.result(), Some(0));
    let all = [(&m, "M"), (&a, "A"), (&b, "B")];
    round(&mut w, &all, 600);
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 400);
    assert_eq!(heard(&mut w, &m), set(&[]), "the BR is paused and A muted");
    assert_eq!(heard(&mut w, &b), set(&[]), "A is muted by the moderator");
    // The timer (2 s) runs out while they talk.
    round(&mut w, &all, 1200);
    assert!(w.family().breakout_rooms().is_empty(), "the room ended");
    for (x, _) in all {
        heard(&mut w, x);
    }
    round(&mut w, &all, 600);
    assert_eq!(heard(&mut w, &m), set(&["A", "B"]), "the parent hears both");
    assert_eq!(heard(&mut w, &a), set(&["M", "B"]), "A hears the parent");
    assert_eq!(heard(&mut w, &b), set(&["M", "A"]));
}

/// A restart keeps a timer's `warning_at` where it was, also when it is already past (the
/// warning went out): `breakout_rooms()` and `roomConnected` report the same time after it.
#[test]
fn a_restart_keeps_a_past_warning_at() {
    let (mut w, _mia, _pat, _quinn, b) = timed_room(300, Some(60));
    w.advance(secs(250));
    let before = w.breakout(&b).and_then(|i| i.warning_at);
    w.restart();
    assert_eq!(w.breakout(&b).and_then(|i| i.warning_at), before);
}

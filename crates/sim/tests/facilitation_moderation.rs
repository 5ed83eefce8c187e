//! Issue 10, moderation inside rooms (spec "Moderation inside rooms"): `muteMember` by client
//! or by room (moderators skipped), server-enforced (nobody hears the member, checked with real
//! media; the muting moderator gets no copy of what its ack says); `askToUnmute`; `unmuteSelf` only after being asked (1762 before); the mute survives
//! a resume (`roomConnected.muted_by_moderator`); destroy-all clears it; mute acks echo state.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    AckMuteMember, ClientMessage, Invitee, JoinRole, MemberMuted, MuteAck, Muted, Role,
    ServerMessage, UnmuteAsked,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld, World};
use std::collections::BTreeSet;
use std::time::Duration;

struct Cast {
    w: World,
    mia: ClientId,
    max: ClientId,
    pat: ClientId,
    quinn: ClientId,
    rhea: ClientId,
    b: RoomId,
}

/// Mia (moderator, parent); Max (moderator in B); Pat and Quinn in B; Rhea in the parent.
fn cast() -> Cast {
    let mut w = World::with_defaults(8);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let rhea = w.connect("Rhea", Role::Participant);
    let b = w.create_rooms(&mia, 3, 1)[0].clone();
    w.invite_and_join(&mia, &pat, &b);
    w.invite_and_join(&mia, &quinn, &b);
    let ack = w.request(&max, req::join(&b, JoinRole::Moderator));
    assert!(matches!(ack.msg, ServerMessage::ConnectedBreakoutRoom(_)));
    w.clear_inboxes();
    Cast {
        w,
        mia,
        max,
        pat,
        quinn,
        rhea,
        b,
    }
}

fn muted_ids(ack: &alcove_proto::signal::ServerFrame) -> Vec<ClientId> {
    match &ack.msg {
        ServerMessage::AckMuteMember(AckMuteMember {
            result: 0, muted, ..
        }) => muted.clone(),
        other => panic!("muteMember failed: {other:?}"),
    }
}

#[test]
fn mute_one_member_tells_it_its_room_and_every_moderator() {
    let mut c = cast();
    let ack = c.w.request(&c.mia, req::mute_member(&c.pat));
    assert_eq!(muted_ids(&ack), vec![c.pat.clone()]);
    let inb = c.w.drain_all();
    // The muting moderator's ack says it: no copy for Mia.
    inb.assert_sent("memberMuted", &[&c.pat, &c.quinn, &c.max]);
    assert_eq!(
        inb.one(&c.quinn, "memberMuted"),
        &ServerMessage::MemberMuted(MemberMuted {
            client_id: c.pat.clone(),
            muted: true,
            by: Some(c.w.user_ref(&c.mia)),
        })
    );
    // Again: already muted, nothing new.
    assert!(muted_ids(&c.w.request(&c.mia, req::mute_member(&c.pat))).is_empty());
    c.w.drain_all().assert_none("memberMuted");
    // A client in the parent: itself and the moderators.
    assert_eq!(
        muted_ids(&c.w.request(&c.max, req::mute_member(&c.rhea))),
        vec![c.rhea.clone()]
    );
    c.w.drain_all()
        .assert_sent("memberMuted", &[&c.rhea, &c.mia]);
}

#[test]
fn mute_a_room_skips_moderators() {
    let mut c = cast();
    let ack = c.w.request(&c.mia, req::mute_room_members(&c.b));
    assert_eq!(muted_ids(&ack), vec![c.pat.clone(), c.quinn.clone()]);
    let inb = c.w.drain_all();
    assert_eq!(inb.find(&c.max, "memberMuted").len(), 2);
    assert_eq!(c.w.family().users().len(), 5);
    // Already muted ones are not listed again.
    let ack = c.w.request(&c.mia, req::mute_room_members(&c.b));
    assert!(muted_ids(&ack).is_empty());
}

#[test]
fn mute_refusals() {
    let mut c = cast();
    let both = ClientMessage::MuteMember(alcove_proto::signal::MuteMember {
        client_id: Some(c.pat.clone()),
        room_id: Some(c.b.clone()),
    });
    let neither = ClientMessage::MuteMember(alcove_proto::signal::MuteMember {
        client_id: None,
        room_id: None,
    });
    for (who, msg, code) in [
        (c.mia.clone(), both, 1155),
        (c.mia.clone(), neither, 1155),
        (c.pat.clone(), req::mute_member(&c.quinn), 5003),
        (
            c.mia.clone(),
            req::mute_member(&ClientId("c999".into())),
            1740,
        ),
        (
            c.mia.clone(),
            req::mute_room_members(&RoomId::from("x")),
            1736,
        ),
        (c.quinn.clone(), req::ask_to_unmute(&c.pat), 5003),
        (
            c.mia.clone(),
            req::ask_to_unmute(&ClientId("c999".into())),
            1740,
        ),
    ] {
        let ack = c.w.request(&who, msg);
        assert_eq!(req::result(&ack), code, "{ack:?}");
        assert!(c.w.drain_all().is_empty());
    }
}

#[test]
fn unmute_self_needs_an_ask_1762_then_unmutes() {
    let mut c = cast();
    // Not muted by a moderator: ok, nothing else.
    assert_eq!(req::result(&c.w.request(&c.pat, req::unmute_self())), 0);
    assert!(c.w.drain_all().is_empty());
    muted_ids(&c.w.request(&c.mia, req::mute_member(&c.pat)));
    c.w.clear_inboxes();
    assert_eq!(req::result(&c.w.request(&c.pat, req::unmute_self())), 1762);
    // The parent's unmuteRoom does not lift a moderator's mute either.
    let ack = c.w.request(&c.pat, req::unmute(true, false));
    assert_eq!(
        ack.msg,
        ServerMessage::AckUnmuteRoom(MuteAck {
            result: 0,
            msg: "Room unmuted".into(),
            muted: Some(Muted {
                audio: false,
                video: false
            })
        })
    );
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.max, req::ask_to_unmute(&c.pat))),
        0
    );
    let inb = c.w.drain_all();
    assert_eq!(
        inb.one(&c.pat, "unmuteAsked"),
        &ServerMessage::UnmuteAsked(UnmuteAsked {
            by: c.w.user_ref(&c.max)
        })
    );
    assert_eq!(inb.len(), 1, "only the member is asked");
    assert_eq!(req::result(&c.w.request(&c.pat, req::unmute_self())), 0);
    let inb = c.w.drain_all();
    inb.assert_sent("memberMuted", &[&c.pat, &c.quinn, &c.max, &c.mia]);
    assert_eq!(
        inb.one(&c.mia, "memberMuted"),
        &ServerMessage::MemberMuted(MemberMuted {
            client_id: c.pat.clone(),
            muted: false,
            by: Some(c.w.user_ref(&c.max)),
        })
    );
    // Muted again: the old ask does not count.
    muted_ids(&c.w.request(&c.mia, req::mute_member(&c.pat)));
    assert_eq!(req::result(&c.w.request(&c.pat, req::unmute_self())), 1762);
}

#[test]
fn the_mute_survives_a_resume_and_a_restart_and_destroy_all_clears_it() {
    let mut c = cast();
    muted_ids(&c.w.request(&c.mia, req::mute_member(&c.pat)));
    c.w.drop_connection(&c.pat);
    c.w.advance(Duration::from_secs(2));
    match c.w.resume(&c.pat).msg {
        ServerMessage::RoomConnected(rc) => assert!(rc.muted_by_moderator),
        other => panic!("{other:?}"),
    }
    c.w.restart();
    for who in c.w.in_family() {
        let ack = c.w.resume(&who);
        if let ServerMessage::RoomConnected(rc) = ack.msg {
            assert_eq!(rc.muted_by_moderator, who == c.pat, "{who}");
        }
    }
    assert_eq!(req::result(&c.w.request(&c.pat, req::unmute_self())), 1762);
    c.w.clear_inboxes();
    assert_eq!(
        req::result(&c.w.request(&c.mia, ClientMessage::DestroyAllBreakOutSession)),
        0
    );
    let inb = c.w.drain_all();
    match inb.find(&c.pat, "memberMuted").last() {
        Some(ServerMessage::MemberMuted(m)) => assert!(!m.muted),
        other => panic!("{other:?}"),
    }
    c.w.drop_connection(&c.pat);
    match c.w.resume(&c.pat).msg {
        ServerMessage::RoomConnected(rc) => assert!(!rc.muted_by_moderator),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mute_acks_echo_the_parent_mute_state() {
    let mut c = cast();
    let ack = c.w.request(&c.rhea, req::mute(true, true));
    assert_eq!(
        ack.msg,
        ServerMessage::AckMuteRoom(MuteAck {
            result: 0,
            msg: "Room muted".into(),
            muted: Some(Muted {
                audio: true,
                video: true
            })
        })
    );
    let ack = c.w.request(&c.rhea, req::unmute(false, true));
    match ack.msg {
        ServerMessage::AckUnmuteRoom(a) => assert_eq!(
            a.muted,
            Some(Muted {
                audio: true,
                video: false
            })
        ),
        other => panic!("{other:?}"),
    }
}

// ----- media: server-enforced -----

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

fn settle(w: &mut MediaWorld, all: &[(&ClientId, &str)]) {
    round(w, all, 300);
    for (c, _) in all {
        heard(w, c);
    }
    round(w, all, 400);
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_muted_member_is_heard_by_nobody_until_it_unmutes() {
    let mut w = MediaWorld::new(RoomSettings::default(), 21);
    let m = w.join("M", Role::Moderator);
    let a = w.join("A", Role::Participant);
    let b = w.join("B", Role::Participant);
    let c = w.join("C", Role::Participant);
    let br = req::rooms(&w.request(&m, req::create(3, 1)))[0].clone();
    let inv = Invitee {
        clients: vec![a.clone(), b.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    assert_eq!(
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv))
            .msg
            .result(),
        Some(0)
    );
    // A resumes its parent link: it is heard in B and in the parent.
    assert_eq!(w.request(&a, ClientMessage::Resume).msg.result(), Some(0));
    let all = [(&m, "M"), (&a, "A"), (&b, "B"), (&c, "C")];
    settle(&mut w, &all);
    assert!(heard(&mut w, &b).contains("A"));
    settle(&mut w, &all);
    assert!(
        heard(&mut w, &m).contains("A"),
        "the parent hears the resumed A"
    );

    assert_eq!(w.request(&m, req::mute_member(&a)).msg.result(), Some(0));
    settle(&mut w, &all);
    for x in [&m, &b, &c] {
        assert!(
            !heard(&mut w, x).contains("A"),
            "{x} still hears the muted A"
        );
    }
    assert_eq!(heard(&mut w, &a), set(&["B", "M", "C"]), "A still hears");

    // Room-wide mute: B too; the moderator M in the parent is unaffected.
    assert_eq!(
        w.request(&m, req::mute_room_members(&br)).msg.result(),
        Some(0)
    );
    settle(&mut w, &all);
    assert!(heard(&mut w, &a).is_disjoint(&set(&["B"])));
    assert_eq!(heard(&mut w, &c), set(&["M"]));

    // Asked and unmuted: A is heard again.
    assert_eq!(w.request(&m, req::ask_to_unmute(&a)).msg.result(), Some(0));
    assert_eq!(w.request(&a, req::unmute_self()).msg.result(), Some(0));
    settle(&mut w, &all);
    assert!(heard(&mut w, &b).contains("A"));
    settle(&mut w, &all);
    assert!(heard(&mut w, &c).contains("A"));
}

#[test]
fn asking_a_member_who_is_not_muted_is_harmless() {
    let mut c = cast();
    assert_eq!(
        req::result(&c.w.request(&c.mia, req::ask_to_unmute(&c.quinn))),
        0
    );
    assert_eq!(c.w.drain_all().find(&c.quinn, "unmuteAsked").len(), 1);
    // A later mute still needs a new ask.
    muted_ids(&c.w.request(&c.mia, req::mute_member(&c.quinn)));
    assert_eq!(
        req::result(&c.w.request(&c.quinn, req::unmute_self())),
        1762
    );
}

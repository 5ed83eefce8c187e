//! Listen-in, talk-in and audio broadcast (issue 11) in simulated time with real str0m peers:
//! who hears whom in every state. A moderator M in the parent with a participant P; A and B in
//! the first break-out room, C and D in the second. M listens to one room (hearing it before
//! the parent, or the parent paused), talks into it, switches rooms in one step, stops, and
//! broadcasts to every room; the rooms never hear each other; members always know who listens.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    ClientMessage, Invitee, ListenTo, MonitoredBy, ParentWhileListening, Role, ServerFrame,
    ServerMessage, StartBroadcast, TalkTo,
};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::media::stamp;
use alcove_sim::{req, MediaWorld};
use std::collections::BTreeSet;
use std::time::Duration;

const NAMES: [&str; 6] = ["M", "P", "A", "B", "C", "D"];

struct Class {
    w: MediaWorld,
    ids: Vec<ClientId>,
    brs: Vec<RoomId>,
}

impl Class {
    fn id(&self, name: &str) -> ClientId {
        let i = NAMES.iter().position(|n| *n == name).expect("a name");
        self.ids[i].clone()
    }

    /// Everyone talks for a while; then who each one heard once the slots settled.
    fn heard(&mut self) -> Vec<(String, BTreeSet<String>)> {
        let round = |w: &mut MediaWorld, ids: &[ClientId], n: usize| {
            for _ in 0..n {
                for (i, c) in ids.iter().enumerate() {
                    w.talk(c, format!("{}:", NAMES[i]).as_bytes());
                }
                w.pump(Duration::from_millis(20));
            }
        };
        round(&mut self.w, &self.ids, 20);
        for c in &self.ids {
            let _ = self.w.take_heard(c);
        }
        round(&mut self.w, &self.ids, 10);
        self.ids
            .clone()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let from = self
                    .w
                    .take_heard(c)
                    .iter()
                    .map(|h| stamp(&h.data))
                    .collect();
                (NAMES[i].to_string(), from)
            })
            .collect()
    }

    fn hears(&mut self) -> impl Fn(&str) -> BTreeSet<String> {
        let heard = self.heard();
        move |who: &str| {
            heard
                .iter()
                .find(|(n, _)| n == who)
                .map(|(_, h)| h.clone())
                .unwrap_or_default()
        }
    }

    fn ok(&mut self, who: &str, msg: ClientMessage) -> ServerFrame {
        let c = self.id(who);
        let ack = self.w.request(&c, msg);
        assert_eq!(ack.msg.result(), Some(0), "{who}: {ack:?}");
        ack
    }

    fn refused(&mut self, who: &str, msg: ClientMessage, code: ErrorCode) {
        let c = self.id(who);
        let ack = self.w.request(&c, msg);
        assert_eq!(ack.msg.result(), Some(code.code()), "{who}: {ack:?}");
    }

    /// The `monitoredBy` frames `who` got since the last call.
    fn monitored(&mut self, who: &str) -> Vec<MonitoredBy> {
        let c = self.id(who);
        self.w
            .take_frames(&c)
            .into_iter()
            .filter_map(|f| match f.msg {
                ServerMessage::MonitoredBy(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    fn clear_frames(&mut self) {
        for c in self.ids.clone() {
            let _ = self.w.take_frames(&c);
        }
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn class(allow_second: bool) -> Class {
    let mut w = MediaWorld::new(RoomSettings::default(), 61);
    let ids = w.join_class(&NAMES);
    let mut def = req::definition(3, 1);
    let ack = w.request(&ids[0], ClientMessage::CreateBreakOutRoom(def.to_input()));
    let mut brs = req::rooms(&ack);
    def.allow_listen_in = allow_second;
    let ack = w.request(&ids[0], ClientMessage::CreateBreakOutRoom(def.to_input()));
    brs.extend(req::rooms(&ack));
    for (members, br) in [(&ids[2..4], &brs[0]), (&ids[4..6], &brs[1])] {
        let inv = Invitee {
            clients: members.to_vec(),
            room_id: br.clone(),
            force_join: true,
        };
        let ack = w.request(&ids[0], ClientMessage::InviteToBreakOutRoom(inv));
        assert_eq!(ack.msg.result(), Some(0));
    }
    let mut c = Class { w, ids, brs };
    c.clear_frames();
    c
}

fn listen(room: &RoomId, parent: ParentWhileListening) -> ClientMessage {
    ClientMessage::ListenTo(ListenTo {
        room_id: room.clone(),
        parent,
    })
}

fn talk(room: &RoomId, on: bool, parent: bool) -> ClientMessage {
    ClientMessage::TalkTo(TalkTo {
        room_id: room.clone(),
        on,
        parent,
    })
}

#[test]
fn a_moderator_walks_from_group_to_group_by_ear_talks_in_and_broadcasts() {
    let mut c = class(true);
    let (br1, br2) = (c.brs[0].clone(), c.brs[1].clone());
    let h = c.hears();
    assert_eq!(h("M"), set(&["P"]), "before: the parent only");
    assert_eq!(h("A"), set(&["B"]));
    assert_eq!(h("C"), set(&["D"]));

    // Listening to BR1, the parent mixed below.
    c.ok("M", listen(&br1, ParentWhileListening::Mixed));
    let mon = c.monitored("A");
    assert_eq!(mon.len(), 1, "members of a room listened to always know");
    assert_eq!(mon[0].moderators[0].client_id, c.id("M"));
    assert!(mon[0].talking.is_empty());
    assert!(
        c.monitored("C").is_empty(),
        "the other room is not concerned"
    );
    let h = c.hears();
    assert_eq!(h("M"), set(&["A", "B", "P"]), "BR1 and the parent");
    assert_eq!(h("A"), set(&["B"]), "BR1 does not hear M (not talking in)");
    assert_eq!(h("P"), set(&["M"]));
    assert_eq!(h("C"), set(&["D"]));

    // The parent paused while listening.
    c.ok("M", listen(&br1, ParentWhileListening::Paused));
    let h = c.hears();
    assert_eq!(h("M"), set(&["A", "B"]));

    // Talk-in: BR1 hears M, the parent still does, BR2 never.
    c.ok("M", talk(&br1, true, true));
    assert_eq!(c.monitored("B").last().unwrap().talking, vec![c.id("M")]);
    let h = c.hears();
    assert_eq!(h("A"), set(&["B", "M"]));
    assert_eq!(h("P"), set(&["M"]));
    assert_eq!(h("C"), set(&["D"]));
    // A whisper: no longer heard in the parent.
    c.ok("M", talk(&br1, true, false));
    let h = c.hears();
    assert_eq!(h("A"), set(&["B", "M"]));
    assert!(h("P").is_empty(), "P hears nobody: M whispers into BR1");

    // Switching rooms is one step: BR2 now, talk-in off, BR1 told nobody listens any more.
    c.clear_frames();
    c.ok("M", listen(&br2, ParentWhileListening::Mixed));
    let a = c.monitored("A");
    assert_eq!(a.len(), 1);
    assert!(a[0].moderators.is_empty() && a[0].talking.is_empty());
    assert_eq!(c.monitored("D").len(), 1);
    let h = c.hears();
    assert_eq!(h("M"), set(&["C", "D", "P"]));
    assert_eq!(h("A"), set(&["B"]));
    assert_eq!(h("C"), set(&["D"]), "talk-in does not follow a switch");
    assert_eq!(h("P"), set(&["M"]));

    c.ok("M", ClientMessage::StopListening);
    let h = c.hears();
    assert_eq!(h("M"), set(&["P"]));

    // Broadcast: every room hears M, and still no room hears another.
    c.clear_frames();
    c.ok(
        "M",
        ClientMessage::StartBroadcast(StartBroadcast::default()),
    );
    for who in ["P", "A", "B", "C", "D"] {
        let c_id = c.id(who);
        let n = c.w.take_frames(&c_id);
        assert!(
            n.iter()
                .any(|f| matches!(&f.msg, ServerMessage::AudioBroadcast(b) if b.on)),
            "{who} is told the broadcast started"
        );
    }
    let h = c.hears();
    assert_eq!(h("A"), set(&["B", "M"]));
    assert_eq!(h("C"), set(&["D", "M"]));
    assert_eq!(h("P"), set(&["M"]));
    c.ok("M", ClientMessage::StopBroadcast);
    let h = c.hears();
    assert_eq!(h("A"), set(&["B"]));
    assert_eq!(h("C"), set(&["D"]));
    assert_eq!(h("P"), set(&["M"]));
}

#[test]
fn a_broadcast_to_chosen_rooms_reaches_those_and_the_parent_only() {
    let mut c = class(true);
    let br1 = c.brs[0].clone();
    c.ok(
        "M",
        ClientMessage::StartBroadcast(StartBroadcast {
            rooms: Some(vec![br1]),
        }),
    );
    let h = c.hears();
    assert_eq!(h("A"), set(&["B", "M"]));
    assert_eq!(h("C"), set(&["D"]));
    assert_eq!(h("P"), set(&["M"]));
}

#[test]
fn who_may_listen_and_where() {
    let mut c = class(false);
    let (br1, br2) = (c.brs[0].clone(), c.brs[1].clone());
    c.refused(
        "P",
        listen(&br1, ParentWhileListening::Mixed),
        ErrorCode::Unauthorized,
    );
    c.refused(
        "M",
        listen(&br2, ParentWhileListening::Mixed),
        ErrorCode::ListenInNotAllowed,
    );
    c.refused(
        "M",
        listen(&RoomId::from("nope"), ParentWhileListening::Mixed),
        ErrorCode::BreakoutRoomNotFound,
    );
    c.refused("M", talk(&br1, true, true), ErrorCode::NotListening);
    c.refused(
        "A",
        ClientMessage::StartBroadcast(StartBroadcast::default()),
        ErrorCode::Unauthorized,
    );
    c.refused(
        "M",
        ClientMessage::StartBroadcast(StartBroadcast {
            rooms: Some(vec![]),
        }),
        ErrorCode::InvalidParameters,
    );
    // From inside a room: no.
    c.ok(
        "M",
        req::join(&br1, alcove_proto::signal::JoinRole::Moderator),
    );
    c.refused(
        "M",
        listen(&br1, ParentWhileListening::Mixed),
        ErrorCode::NotInParent,
    );
    let h = c.hears();
    assert!(
        !h("C").contains("M"),
        "a room that forbids listen-in never hears a listener"
    );
}

#[test]
fn listening_ends_when_the_room_ends_or_the_moderator_leaves_the_parent() {
    let mut c = class(true);
    let br1 = c.brs[0].clone();
    c.ok("M", listen(&br1, ParentWhileListening::Paused));
    c.ok("M", talk(&br1, true, true));
    c.ok(
        "M",
        ClientMessage::StartBroadcast(StartBroadcast::default()),
    );
    c.clear_frames();
    // The moderator joins the room it listened to: listen-in and broadcast end, it is told.
    c.ok(
        "M",
        req::join(&br1, alcove_proto::signal::JoinRole::Moderator),
    );
    let m = c.id("M");
    let changed: Vec<_> =
        c.w.take_frames(&m)
            .into_iter()
            .filter_map(|f| match f.msg {
                ServerMessage::ListeningChanged(s) => Some(s),
                _ => None,
            })
            .collect();
    assert_eq!(changed.len(), 1, "told once");
    assert!(changed[0].listening.is_none() && changed[0].broadcasting.is_empty());
    let c_id = c.id("C");
    assert!(
        c.w.take_frames(&c_id)
            .iter()
            .any(|f| matches!(&f.msg, ServerMessage::AudioBroadcast(b) if !b.on)),
        "the broadcast's end is announced"
    );
    let h = c.hears();
    assert_eq!(h("M"), set(&["A", "B"]), "now simply a member of BR1");
    assert_eq!(h("C"), set(&["D"]));
    assert!(c.w.family().check_invariants().is_ok());

    // Back in the parent, listening to BR1; destroy-all ends the room: listening ends.
    c.ok("M", req::disconnect(&br1));
    c.ok("M", listen(&br1, ParentWhileListening::Mixed));
    c.clear_frames();
    c.ok("M", ClientMessage::DestroyAllBreakOutSession);
    let m = c.id("M");
    assert!(c
        .w
        .take_frames(&m)
        .iter()
        .any(|f| matches!(&f.msg, ServerMessage::ListeningChanged(s) if s.listening.is_none())));
    assert!(c.w.family().check_invariants().is_ok());
    let h = c.hears();
    assert_eq!(
        h("M"),
        set(&["P", "A", "B", "C", "D"]),
        "everyone is back in the parent"
    );
}

#[test]
fn an_entrant_into_a_listened_room_is_told_at_once() {
    let mut c = class(true);
    let br1 = c.brs[0].clone();
    c.ok("M", listen(&br1, ParentWhileListening::Mixed));
    c.clear_frames();
    let p = c.id("P");
    let inv = Invitee {
        clients: vec![p],
        room_id: br1,
        force_join: true,
    };
    c.ok("M", ClientMessage::InviteToBreakOutRoom(inv));
    let mon = c.monitored("P");
    assert_eq!(mon.len(), 1);
    assert_eq!(mon[0].moderators.len(), 1);
}

#[test]
fn a_broadcaster_keeps_its_slot_while_silent_and_louder_talkers_fill_the_rest() {
    // Three audio slots each; four participants talk all the time, the moderator is silent.
    let settings = RoomSettings {
        max_active_talkers: 3,
        ..RoomSettings::default()
    };
    let mut w = MediaWorld::new(settings, 62);
    let m = w.join("M", Role::Moderator);
    let others: Vec<ClientId> = (0..4)
        .map(|i| w.join(&format!("P{i}"), Role::Participant))
        .collect();
    let talk_round = |w: &mut MediaWorld, with_m: bool| {
        for _ in 0..15 {
            for (i, c) in others.iter().enumerate() {
                w.talk(c, format!("P{i}:").as_bytes());
            }
            if with_m {
                w.talk(&m, b"M:");
            }
            w.pump(Duration::from_millis(20));
        }
    };
    talk_round(&mut w, false);
    let ack = w.request(&m, ClientMessage::StartBroadcast(StartBroadcast::default()));
    assert_eq!(ack.msg.result(), Some(0));
    talk_round(&mut w, false);
    for c in &others {
        let talkers: Vec<ClientId> = w
            .take_frames(c)
            .into_iter()
            .filter_map(|f| match f.msg {
                ServerMessage::ActiveTalkersUpdated(t) => Some(t),
                _ => None,
            })
            .last()
            .expect("slots were announced")
            .talkers
            .into_iter()
            .map(|t| t.client_id)
            .collect();
        assert!(
            talkers.contains(&m),
            "{c}: the silent broadcaster holds a slot: {talkers:?}"
        );
        let _ = w.take_heard(c);
    }
    // When it speaks, every one of the four hears it at once, however loud the others are.
    talk_round(&mut w, true);
    for c in &others {
        let heard: BTreeSet<String> = w.take_heard(c).iter().map(|h| stamp(&h.data)).collect();
        assert!(heard.contains("M"), "{c} hears the broadcast: {heard:?}");
    }
}

/// A VP8 key frame's first bytes, then `n` bytes of `tag`.
fn vp8(tag: u8, n: usize) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend(std::iter::repeat_n(tag, n));
    f
}

/// Shares `sharer`'s frames for a while; then which of `who` saw frames tagged `tag`.
fn share_round(w: &mut MediaWorld, sharers: &[(&ClientId, u8)], who: &[&ClientId]) -> Vec<Vec<u8>> {
    for c in who {
        let _ = w.take_share_seen(c);
    }
    for _ in 0..20 {
        for (s, tag) in sharers {
            w.share_frame(s, &vp8(*tag, 200));
        }
        w.pump(Duration::from_millis(33));
    }
    w.pump(Duration::from_millis(200));
    who.iter()
        .map(|c| {
            let mut tags: Vec<u8> = w
                .take_share_seen(c)
                .iter()
                .filter_map(|f| f.get(10).copied())
                .collect();
            tags.sort();
            tags.dedup();
            tags
        })
        .collect()
}

#[test]
fn a_broadcasters_screen_share_shows_in_every_room_it_reaches_while_it_lasts() {
    let mut c = class(true);
    let (m, a, b, cc) = (c.id("M"), c.id("A"), c.id("B"), c.id("C"));
    // M shares in the parent; B shares in BR1 (its own room's share).
    c.ok("M", ClientMessage::StartShare);
    c.ok("B", ClientMessage::StartShare);
    let seen = share_round(&mut c.w, &[(&m, 1), (&b, 2)], &[&a, &cc]);
    assert_eq!(seen, vec![vec![2], vec![]], "A sees B's share, C nothing");
    c.clear_frames();

    // The broadcast: M's share shows in BR1 (over B's) and BR2, and they are told.
    c.ok(
        "M",
        ClientMessage::StartBroadcast(StartBroadcast::default()),
    );
    for who in ["A", "C"] {
        let id = c.id(who);
        let frames = c.w.take_frames(&id);
        assert!(
            frames
                .iter()
                .any(|f| matches!(&f.msg, ServerMessage::ShareStarted(s) if s.client_id == m)),
            "{who} is told M's share shows in its room"
        );
    }
    let seen = share_round(&mut c.w, &[(&m, 1), (&b, 2)], &[&a, &cc]);
    assert_eq!(seen[0].last(), Some(&1), "A sees M's share now");
    assert!(
        !seen[0].is_empty() && seen[1] == vec![1],
        "C sees M's share: {seen:?}"
    );

    // It ends: BR1 is back to B's share (told so), BR2 to none.
    c.clear_frames();
    c.ok("M", ClientMessage::StopBroadcast);
    let fa = c.w.take_frames(&a);
    let order: Vec<&str> = fa
        .iter()
        .filter_map(|f| match &f.msg {
            ServerMessage::ShareStopped(s) if s.client_id == m => Some("stopped M"),
            ServerMessage::ShareStarted(s) if s.client_id == b => Some("started B"),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec!["stopped M", "started B"]);
    let seen = share_round(&mut c.w, &[(&m, 1), (&b, 2)], &[&a, &cc]);
    assert_eq!(seen, vec![vec![2], vec![]], "back to each room's own share");
}

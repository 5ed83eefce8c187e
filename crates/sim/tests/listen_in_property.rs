//! Listen-in by property (issue 11), over random sequences of listen, talk-in, broadcast and
//! break-out operations by two moderators and a few participants (signalling level; who hears
//! whom is `listen_in.rs`, with real peers). After every step:
//!
//! * `Family::check_invariants` holds (the world checks it): nobody listens from outside the
//!   parent, to a room that is gone or forbids it, or without being a moderator;
//! * a participant's `listenTo`, `talkTo` and `startBroadcast` are always refused (5003);
//! * **members always know**: for every live room and every member, the last `monitoredBy` it
//!   got since it entered the room (none: nobody) names exactly the moderators listening to
//!   that room now, and exactly those of them talking in — where "listening now" is what each
//!   moderator's own last state frame (its acks and `listeningChanged`) says.

use alcove_proto::signal::{
    ClientMessage, JoinRole, ListenState, ListenTo, Location, ParentWhileListening, Role,
    RoomDefinition, ServerMessage, StartBroadcast, TalkTo,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, World};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Create {
        allow: bool,
        timer: bool,
    },
    ForceInvite {
        room: usize,
        who: usize,
    },
    Move {
        room: usize,
        who: usize,
    },
    ModJoin {
        actor: usize,
        room: usize,
    },
    ModLeave {
        actor: usize,
    },
    Listen {
        actor: usize,
        room: usize,
        paused: bool,
    },
    Talk {
        actor: usize,
        room: usize,
        on: bool,
    },
    StopListening {
        actor: usize,
    },
    Broadcast {
        actor: usize,
    },
    StopBroadcast {
        actor: usize,
    },
    Advance(u64),
    DestroyAll,
    Leave(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        2 => (any::<bool>(), any::<bool>()).prop_map(|(allow, timer)| Op::Create { allow, timer }),
        3 => (i(), i()).prop_map(|(room, who)| Op::ForceInvite { room, who }),
        2 => (i(), i()).prop_map(|(room, who)| Op::Move { room, who }),
        2 => (i(), i()).prop_map(|(actor, room)| Op::ModJoin { actor, room }),
        2 => i().prop_map(|actor| Op::ModLeave { actor }),
        5 => (i(), i(), any::<bool>()).prop_map(|(actor, room, paused)| Op::Listen { actor, room, paused }),
        3 => (i(), i(), any::<bool>()).prop_map(|(actor, room, on)| Op::Talk { actor, room, on }),
        2 => i().prop_map(|actor| Op::StopListening { actor }),
        2 => i().prop_map(|actor| Op::Broadcast { actor }),
        1 => i().prop_map(|actor| Op::StopBroadcast { actor }),
        2 => prop_oneof![Just(1u64), Just(20), Just(31)].prop_map(Op::Advance),
        1 => Just(Op::DestroyAll),
        1 => i().prop_map(Op::Leave),
    ]
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

fn state_of(m: &ServerMessage) -> Option<&ListenState> {
    match m {
        ServerMessage::AckListenTo(s)
        | ServerMessage::AckStopListening(s)
        | ServerMessage::AckTalkTo(s)
        | ServerMessage::AckStartBroadcast(s)
        | ServerMessage::AckStopBroadcast(s)
        | ServerMessage::ListeningChanged(s) => Some(s),
        _ => None,
    }
}

fn run(ops: &[Op]) {
    let mut w = World::with_defaults(23);
    let mods = [
        w.connect("Mia", Role::Moderator),
        w.connect("Max", Role::Moderator),
    ];
    let mut people: Vec<ClientId> = (0..4)
        .map(|i| w.connect(&format!("P{i}"), Role::Participant))
        .collect();
    w.clear_inboxes();
    // What each moderator's last state frame says: (room, talking).
    let mut listening: BTreeMap<ClientId, Option<(RoomId, bool)>> = BTreeMap::new();
    // What each client last heard of its current room's monitors, and where it was.
    let mut told: BTreeMap<ClientId, (Location, BTreeSet<ClientId>, BTreeSet<ClientId>)> =
        BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let live = w.live_rooms();
        let mut acks: Vec<(ClientId, ServerMessage)> = Vec::new();
        let mut send = |w: &mut World, who: &ClientId, msg: ClientMessage| {
            let ack = w.request(who, msg);
            acks.push((who.clone(), ack.msg));
        };
        match op.clone() {
            Op::Create { allow, timer } => {
                let def = RoomDefinition {
                    allow_listen_in: allow,
                    duration: timer.then_some(30),
                    ..req::definition(3, 1)
                };
                send(&mut w, &mods[0], req::create_with(def));
            }
            Op::ForceInvite { room, who } => {
                if let (Some(r), Some(p)) = (pick(&live, room), pick(&people, who)) {
                    send(&mut w, &mods[0], req::invite(&r, &[&p], true));
                }
            }
            Op::Move { room, who } => {
                if let (Some(r), Some(p)) = (pick(&live, room), pick(&people, who)) {
                    send(&mut w, &mods[1], req::move_to(&p, &r));
                }
            }
            Op::ModJoin { actor, room } => {
                if let Some(r) = pick(&live, room) {
                    send(&mut w, &mods[actor % 2], req::join(&r, JoinRole::Moderator));
                }
            }
            Op::ModLeave { actor } => {
                let m = &mods[actor % 2];
                if let Location::Breakout(r) = w.location(m) {
                    send(&mut w, m, req::disconnect(&r));
                }
            }
            Op::Listen {
                actor,
                room,
                paused,
            } => {
                let room = pick(&live, room).unwrap_or_else(|| RoomId::from("gone"));
                let msg = ClientMessage::ListenTo(ListenTo {
                    room_id: room,
                    parent: if paused {
                        ParentWhileListening::Paused
                    } else {
                        ParentWhileListening::Mixed
                    },
                });
                // Every third try by a participant: always refused.
                let who = if actor % 3 == 2 {
                    pick(&people, actor).unwrap_or_else(|| mods[0].clone())
                } else {
                    mods[actor % 2].clone()
                };
                send(&mut w, &who, msg);
            }
            Op::Talk { actor, room, on } => {
                let room = pick(&live, room).unwrap_or_else(|| RoomId::from("gone"));
                let msg = ClientMessage::TalkTo(TalkTo {
                    room_id: room,
                    on,
                    parent: true,
                });
                let who = if actor % 3 == 2 {
                    pick(&people, actor).unwrap_or_else(|| mods[0].clone())
                } else {
                    mods[actor % 2].clone()
                };
                send(&mut w, &who, msg);
            }
            Op::StopListening { actor } => {
                send(&mut w, &mods[actor % 2], ClientMessage::StopListening)
            }
            Op::Broadcast { actor } => {
                let who = if actor % 3 == 2 {
                    pick(&people, actor).unwrap_or_else(|| mods[0].clone())
                } else {
                    mods[actor % 2].clone()
                };
                send(
                    &mut w,
                    &who,
                    ClientMessage::StartBroadcast(StartBroadcast::default()),
                );
            }
            Op::StopBroadcast { actor } => {
                send(&mut w, &mods[actor % 2], ClientMessage::StopBroadcast)
            }
            Op::Advance(s) => w.advance(Duration::from_secs(s)),
            Op::DestroyAll => send(&mut w, &mods[1], ClientMessage::DestroyAllBreakOutSession),
            Op::Leave(i) => {
                if let Some(p) = pick(&people, i) {
                    w.drop_client(&p);
                    people.retain(|x| x != &p);
                    told.remove(&p);
                }
            }
        }
        let inb = w.drain_all();
        // Participants never listen, talk in or broadcast.
        for (who, ack) in &acks {
            if people.contains(who) {
                if let Some(s) = state_of(ack) {
                    if !matches!(
                        ack,
                        ServerMessage::AckStopListening(_) | ServerMessage::AckStopBroadcast(_)
                    ) {
                        assert_eq!(s.result, 5003, "step {step} ({op:?}): {who} {ack:?}");
                    }
                }
            }
        }
        // Moderators' own state, from their acks then their notifications, in order.
        for m in &mods {
            let mut frames: Vec<&ServerMessage> = acks
                .iter()
                .filter(|(w, _)| w == m)
                .map(|(_, a)| a)
                .collect();
            frames.extend(inb.of(m));
            for f in frames {
                if let Some(s) = state_of(f).filter(|s| s.result == 0) {
                    listening.insert(m.clone(), s.listening.clone().map(|r| (r, s.talking)));
                }
            }
        }
        // Every client's knowledge of its room's monitors: reset on a change of place.
        for c in w.connected() {
            let here = w.location(&c);
            let entry = told
                .entry(c.clone())
                .or_insert_with(|| (here.clone(), BTreeSet::new(), BTreeSet::new()));
            if entry.0 != here {
                *entry = (here.clone(), BTreeSet::new(), BTreeSet::new());
            }
            for f in inb.of(&c) {
                if let ServerMessage::MonitoredBy(mb) = f {
                    if here == Location::Breakout(mb.room_id.clone()) {
                        entry.1 = mb.moderators.iter().map(|u| u.client_id.clone()).collect();
                        entry.2 = mb.talking.iter().cloned().collect();
                    }
                }
            }
        }
        // Members always know.
        for r in w.live_rooms() {
            let here = Location::Breakout(r.clone());
            let want_mods: BTreeSet<ClientId> = listening
                .iter()
                .filter(|(_, l)| l.as_ref().is_some_and(|(x, _)| x == &r))
                .map(|(m, _)| m.clone())
                .collect();
            let want_talk: BTreeSet<ClientId> = listening
                .iter()
                .filter(|(_, l)| l.as_ref().is_some_and(|(x, t)| x == &r && *t))
                .map(|(m, _)| m.clone())
                .collect();
            for c in w.connected() {
                if w.location(&c) != here {
                    continue;
                }
                let (_, mods_told, talk_told) = &told[&c];
                assert_eq!(
                    (mods_told, talk_told),
                    (&want_mods, &want_talk),
                    "step {step} ({op:?}): {c} in {r} knows other monitors than there are"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn members_always_know_who_listens_and_participants_never_do(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops);
    }
}

//! The room list (`breakoutRoomsUpdated`, protocol version 3) by property, over random
//! sequences of break-out and facilitation operations on version-3 clients (spec "Names and
//! the room list"). After every step:
//!
//! * every attached version-3 client got at most one `breakoutRoomsUpdated` per family step
//!   (time passing may be several steps: their updates are merged), and all got the same;
//! * when the step created, destroyed or changed a room (member count, name, self-select,
//!   timer), every attached client got it; when it changed none, nobody did;
//! * it lists exactly the rooms that appeared or changed, each as it now is (in creation
//!   order), and under `removed` exactly the rooms that are gone.

use alcove_proto::signal::{
    BreakoutRoomSummary, BreakoutRoomsUpdated, ClientMessage, JoinRole, Role, RoomDefinition,
    ServerMessage,
};
use alcove_proto::{ClientId, RoomId};
use alcove_sim::{req, World};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Create {
        rooms: u32,
        self_select: bool,
        timer: bool,
    },
    ForceInvite {
        actor: usize,
        room: usize,
        who: usize,
    },
    Join {
        actor: usize,
        room: usize,
    },
    Disconnect {
        actor: usize,
    },
    Move {
        who: usize,
        room: usize,
    },
    SelfSelect {
        room: Option<usize>,
        on: bool,
    },
    Rename {
        room: usize,
        name: usize,
    },
    Duration {
        room: usize,
        secs: Option<u32>,
    },
    Advance(u64),
    DestroyAll,
    Leave(usize),
    Connect,
}

fn op() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        2 => (1u32..=3, any::<bool>(), any::<bool>()).prop_map(|(rooms, self_select, timer)| Op::Create { rooms, self_select, timer }),
        3 => (i(), i(), i()).prop_map(|(actor, room, who)| Op::ForceInvite { actor, room, who }),
        3 => (i(), i()).prop_map(|(actor, room)| Op::Join { actor, room }),
        2 => i().prop_map(|actor| Op::Disconnect { actor }),
        3 => (i(), i()).prop_map(|(who, room)| Op::Move { who, room }),
        2 => (prop::option::of(i()), any::<bool>()).prop_map(|(room, on)| Op::SelfSelect { room, on }),
        2 => (i(), 0usize..3).prop_map(|(room, name)| Op::Rename { room, name }),
        2 => (i(), prop::option::of(prop_oneof![Just(5u32), Just(20), Just(60)])).prop_map(|(room, secs)| Op::Duration { room, secs }),
        2 => prop_oneof![Just(1u64), Just(5), Just(20), Just(31)].prop_map(Op::Advance),
        1 => Just(Op::DestroyAll),
        1 => i().prop_map(Op::Leave),
        1 => Just(Op::Connect),
    ]
}

type Summaries = BTreeMap<RoomId, BreakoutRoomSummary>;

fn summaries(w: &World) -> (Vec<RoomId>, Summaries) {
    let rooms = w.family().breakout_rooms();
    let order = rooms.iter().map(|b| b.room_id.clone()).collect();
    let map = rooms
        .into_iter()
        .map(|b| {
            let s = BreakoutRoomSummary {
                room_id: b.room_id.clone(),
                name: b.name,
                members: u32::try_from(b.members.len()).unwrap_or(u32::MAX),
                participants: b.participants,
                self_select: b.self_select,
                ends_at: b.ends_at,
            };
            (b.room_id, s)
        })
        .collect();
    (order, map)
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

fn run(ops: &[Op]) {
    let mut w = World::with_defaults(17);
    let mia = w.connect_v3("Mia", Role::Moderator);
    let mut names = 0;
    for _ in 0..5 {
        names += 1;
        w.connect_v3(&format!("P{names}"), Role::Participant);
    }
    w.clear_inboxes();
    for (step, op) in ops.iter().enumerate() {
        let (_, before) = summaries(&w);
        let live = w.live_rooms();
        let people: Vec<ClientId> = w.connected().into_iter().filter(|c| c != &mia).collect();
        match op.clone() {
            Op::Create {
                rooms,
                self_select,
                timer,
            } => {
                let def = RoomDefinition {
                    self_select,
                    duration: timer.then_some(30),
                    ..req::definition(2, rooms)
                };
                w.request(&mia, req::create_with(def));
            }
            Op::ForceInvite { actor, room, who } => {
                if let (Some(room), Some(who)) = (pick(&live, room), pick(&people, who)) {
                    let by = if actor % 2 == 0 {
                        mia.clone()
                    } else {
                        who.clone()
                    };
                    w.request(&by, req::invite(&room, &[&who], true));
                }
            }
            Op::Join { actor, room } => {
                if let (Some(room), Some(who)) = (pick(&live, room), pick(&people, actor)) {
                    w.request(&who, req::join(&room, JoinRole::Participant));
                }
            }
            Op::Disconnect { actor } => {
                if let Some(who) = pick(&people, actor) {
                    if let alcove_proto::signal::Location::Breakout(r) = w.location(&who) {
                        w.request(&who, req::disconnect(&r));
                    }
                }
            }
            Op::Move { who, room } => {
                if let (Some(room), Some(who)) = (pick(&live, room), pick(&people, who)) {
                    w.request(&mia, req::move_to(&who, &room));
                }
            }
            Op::SelfSelect { room, on } => {
                let room = room.and_then(|r| pick(&live, r));
                w.request(&mia, req::set_self_select(room.as_ref(), on));
            }
            Op::Rename { room, name } => {
                if let Some(room) = pick(&live, room) {
                    w.request(&mia, req::rename(&room, ["Red", "Blue", "Green"][name]));
                }
            }
            Op::Duration { room, secs } => {
                if let Some(room) = pick(&live, room) {
                    w.request(&mia, req::set_duration(&room, secs, Some(0)));
                }
            }
            Op::Advance(s) => w.advance(Duration::from_secs(s)),
            Op::DestroyAll => {
                w.request(&mia, ClientMessage::DestroyAllBreakOutSession);
            }
            Op::Leave(i) => {
                if let Some(who) = pick(&people, i) {
                    w.drop_client(&who);
                }
            }
            Op::Connect => {
                names += 1;
                w.connect_v3(&format!("P{names}"), Role::Participant);
            }
        }
        let (order, after) = summaries(&w);
        let inb = w.drain_all();
        let mut want = BreakoutRoomsUpdated::default();
        for id in &order {
            if before.get(id) != after.get(id) {
                want.rooms.push(after[id].clone());
            }
        }
        for id in before.keys() {
            if !after.contains_key(id) {
                want.removed.push(id.clone());
            }
        }
        let changed = !want.rooms.is_empty() || !want.removed.is_empty();
        for c in w.connected() {
            let got: Vec<BreakoutRoomsUpdated> = inb
                .find(&c, "breakoutRoomsUpdated")
                .into_iter()
                .map(|m| match m {
                    ServerMessage::BreakoutRoomsUpdated(u) => (**u).clone(),
                    _ => unreachable!(),
                })
                .collect();
            // Time passing is one family step per deadline on the way: one update each, merged
            // here (the rooms as last listed, the removed ones gathered).
            let got = if matches!(op, Op::Advance(_)) && got.len() > 1 {
                let mut merged = BreakoutRoomsUpdated::default();
                for u in got {
                    for r in u.rooms {
                        merged.rooms.retain(|x| x.room_id != r.room_id);
                        merged.rooms.push(r);
                    }
                    merged.rooms.retain(|x| !u.removed.contains(&x.room_id));
                    merged.removed.extend(u.removed);
                }
                merged
                    .rooms
                    .sort_by_key(|r| order.iter().position(|x| x == &r.room_id));
                vec![merged]
            } else {
                got
            };
            if changed {
                assert_eq!(got.len(), 1, "step {step} ({op:?}): {c} got {got:?}");
                let mut g = got[0].clone();
                g.removed.sort();
                let mut e = want.clone();
                e.removed.sort();
                assert_eq!(g, e, "step {step} ({op:?}): the update to {c}");
            } else {
                assert!(
                    got.is_empty(),
                    "step {step} ({op:?}): nothing changed, {c} got {got:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_room_list_names_exactly_the_rooms_that_changed(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops);
    }
}

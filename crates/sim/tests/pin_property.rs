//! Pinned cameras (issue 14) by property, over random sequences of `pinUsers` / `unpinUsers`
//! (by moderators and participants, on protocol 4 and 3, naming clients of the family,
//! strangers, duplicates, nobody, and more than the bound allows) mixed with connects, leaves,
//! lost connections, resumes, server restarts, time passing the resume grace, and moves into
//! break-out rooms. A tiny model (the pin list as a `Vec`) predicts every acknowledgement and
//! the list; after every step:
//!
//! * the acknowledgement is of the request's type and carries the model's `result`, checked in
//!   the documented order (5003, 1155 protocol, 1155 empty, 5126, 1155 bound);
//! * `Family::pinned()` is the model's list: pins append in order, survive moves, drops,
//!   resumes and restarts, and end when their client leaves the family;
//! * every attached protocol-4 client knows the list: its last `updatePinUsers` (since its
//!   `roomConnected`, before which it assumes none) is the family's list; a step that does not
//!   change the list sends no `updatePinUsers` except the one a connect or resume gets when the
//!   list is not empty; protocol-3 clients never get one;
//! * `Family::check_invariants` holds (the world checks it after every step; it includes
//!   "pinned clients are in the family, once, at most 16").

use alcove_core::NewClient;
use alcove_proto::signal::{ClientMessage, PinUsers, Role, ServerMessage, MAX_PINNED};
use alcove_proto::{ClientId, ErrorCode, RoomId};
use alcove_sim::{req, World};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Target {
    /// A client ever connected (maybe gone), by index.
    Known(usize),
    /// An id that never was a client.
    Stranger,
}

#[derive(Debug, Clone)]
enum Op {
    Connect {
        moderator: bool,
        v4: bool,
    },
    Leave(usize),
    Lose(usize),
    Resume(usize),
    Restart,
    Advance(u64),
    Pin {
        actor: usize,
        targets: Vec<Target>,
    },
    Unpin {
        actor: usize,
        targets: Vec<Target>,
    },
    /// A moderator moves a client into a break-out room (created when there is none).
    Move {
        who: usize,
    },
    /// Everyone back to the parent.
    ClearAll,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        12 => any::<usize>().prop_map(Target::Known),
        1 => Just(Target::Stranger),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        2 => (any::<bool>(), prop::bool::weighted(0.8)).prop_map(|(moderator, v4)| Op::Connect { moderator, v4 }),
        1 => i().prop_map(Op::Leave),
        2 => i().prop_map(Op::Lose),
        2 => i().prop_map(Op::Resume),
        1 => Just(Op::Restart),
        1 => prop_oneof![Just(1u64), Just(GRACE_SECS + 1)].prop_map(Op::Advance),
        8 => (i(), prop::collection::vec(target(), 0..6)).prop_map(|(actor, targets)| Op::Pin { actor, targets }),
        1 => (i(), prop::collection::vec(target(), 12..20)).prop_map(|(actor, targets)| Op::Pin { actor, targets }),
        4 => (i(), prop::collection::vec(target(), 0..4)).prop_map(|(actor, targets)| Op::Unpin { actor, targets }),
        2 => i().prop_map(|who| Op::Move { who }),
        1 => Just(Op::ClearAll),
    ]
}

/// The world's resume grace period, in seconds (`World::with_defaults`).
const GRACE_SECS: u64 = 30;

struct Run {
    w: World,
    /// Every client ever connected, in order, with (moderator, protocol 4).
    ever: Vec<(ClientId, bool, bool)>,
    /// The model's pin list.
    pinned: Vec<ClientId>,
    /// What each attached protocol-4 client was last told (since its last `roomConnected`).
    known: BTreeMap<ClientId, Vec<ClientId>>,
    /// The break-out room moves go to.
    room: Option<RoomId>,
    /// A moderator that stays (creates rooms, moves clients).
    host: ClientId,
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

impl Run {
    fn new() -> Run {
        let mut w = World::with_defaults(29);
        let host = w.connect_as(NewClient::new("Host", Role::Moderator), 4);
        let mut run = Run {
            w,
            ever: vec![(host.clone(), true, true)],
            pinned: Vec::new(),
            known: BTreeMap::from([(host.clone(), Vec::new())]),
            room: None,
            host,
        };
        // Enough clients to reach the bound of 16 pins.
        for n in 0..17 {
            run.connect(n % 5 == 0, n % 7 != 3);
        }
        run.w.clear_inboxes();
        run
    }

    fn connect(&mut self, moderator: bool, v4: bool) {
        let n = self.ever.len();
        let role = if moderator {
            Role::Moderator
        } else {
            Role::Participant
        };
        let version = if v4 { 4 } else { 3 };
        // A refusal (the room is full for that role) connects nobody.
        if let Ok((id, _)) = self
            .w
            .try_connect_as(NewClient::new(&format!("U{n}"), role), version)
        {
            self.ever.push((id.clone(), moderator, v4));
            if v4 {
                self.known.insert(id, Vec::new());
            }
        }
    }

    fn id_of(&self, t: &Target) -> ClientId {
        match t {
            Target::Known(i) => self.ever[i % self.ever.len()].0.clone(),
            Target::Stranger => ClientId::from("c-stranger"),
        }
    }

    fn is_v4(&self, c: &ClientId) -> bool {
        self.ever.iter().any(|(id, _, v4)| id == c && *v4)
    }

    /// The model's answer to a pin request, and the list after it.
    fn predict(&self, actor: &ClientId, ids: &[ClientId], pin: bool) -> (i32, Vec<ClientId>) {
        let moderator = self.ever.iter().any(|(id, m, _)| id == actor && *m);
        let in_family = self.w.in_family();
        let refused = |code: ErrorCode| (code.code(), self.pinned.clone());
        if !moderator {
            return refused(ErrorCode::Unauthorized);
        }
        if !self.is_v4(actor) || ids.is_empty() {
            return refused(ErrorCode::InvalidParameters);
        }
        if ids.iter().any(|c| !in_family.contains(c)) {
            return refused(ErrorCode::PinInvalidClient);
        }
        let mut next = self.pinned.clone();
        if pin {
            for c in ids {
                if !next.contains(c) {
                    next.push(c.clone());
                }
            }
            if next.len() > MAX_PINNED {
                return refused(ErrorCode::InvalidParameters);
            }
        } else {
            next.retain(|c| !ids.contains(c));
        }
        (0, next)
    }

    fn apply(&mut self, step: usize, op: &Op) {
        let before = self.pinned.clone();
        let mut fresh: Vec<ClientId> = Vec::new();
        let attached = self.w.connected();
        match op.clone() {
            Op::Connect { moderator, v4 } => {
                let n = self.ever.len();
                self.connect(moderator, v4);
                if self.ever.len() > n {
                    fresh.push(self.ever[n].0.clone());
                }
            }
            Op::Leave(i) => {
                if let Some(c) = pick(&attached, i).filter(|c| c != &self.host) {
                    self.w.drop_client(&c);
                }
            }
            Op::Lose(i) => {
                if let Some(c) = pick(&attached, i).filter(|c| c != &self.host) {
                    self.w.drop_connection(&c);
                }
            }
            Op::Resume(i) => {
                let away: Vec<ClientId> = self
                    .ever
                    .iter()
                    .map(|(c, ..)| c.clone())
                    .filter(|c| !self.w.is_connected(c))
                    .collect();
                if let Some(c) = pick(&away, i) {
                    let ack = self.w.resume(&c);
                    if matches!(ack.msg, ServerMessage::RoomConnected(_)) {
                        fresh.push(c);
                    }
                }
            }
            Op::Restart => {
                self.w.restart();
                let host = self.host.clone();
                self.w.resume(&host);
                fresh.push(host);
            }
            Op::Advance(secs) => self.w.advance(Duration::from_secs(secs)),
            Op::Pin { actor, targets } | Op::Unpin { actor, targets } => {
                let pin = matches!(op, Op::Pin { .. });
                let Some(by) = pick(&attached, actor) else {
                    return;
                };
                let ids: Vec<ClientId> = targets.iter().map(|t| self.id_of(t)).collect();
                let (want, next) = self.predict(&by, &ids, pin);
                let msg = PinUsers { client_ids: ids };
                let ack = self.w.request(
                    &by,
                    if pin {
                        ClientMessage::PinUsers(msg)
                    } else {
                        ClientMessage::UnpinUsers(msg)
                    },
                );
                let ty = if pin { "ackPinUsers" } else { "ackUnpinUsers" };
                assert_eq!(
                    (ack.msg.type_name(), ack.msg.result()),
                    (ty, Some(want)),
                    "step {step}: {op:?} by {by}: {ack:?}"
                );
                self.pinned = next;
            }
            Op::Move { who } => {
                let people: Vec<ClientId> = attached
                    .iter()
                    .filter(|c| **c != self.host)
                    .cloned()
                    .collect();
                if let Some(c) = pick(&people, who) {
                    let room = match self
                        .room
                        .clone()
                        .filter(|r| self.w.live_rooms().contains(r))
                    {
                        Some(r) => r,
                        None => {
                            let ack = self.w.request(&self.host.clone(), req::create(5, 1));
                            let r = req::rooms(&ack)[0].clone();
                            self.room = Some(r.clone());
                            r
                        }
                    };
                    let host = self.host.clone();
                    self.w.request(&host, req::move_to(&c, &room));
                }
            }
            Op::ClearAll => {
                let host = self.host.clone();
                self.w
                    .request(&host, ClientMessage::ClearAllBreakOutSession);
            }
        }
        // Whoever left the family (on purpose, or when the grace ran out) is unpinned.
        let in_family = self.w.in_family();
        self.pinned.retain(|c| in_family.contains(c));
        assert_eq!(
            self.w.family().pinned(),
            self.pinned.as_slice(),
            "step {step}: {op:?}: the family's pins"
        );
        // What everyone was told.
        for c in &fresh {
            if self.is_v4(c) {
                self.known.insert(c.clone(), Vec::new());
            }
        }
        let inboxes = self.w.drain_all();
        for (c, ..) in self.ever.clone() {
            let updates: Vec<Vec<ClientId>> = inboxes
                .find(&c, "updatePinUsers")
                .into_iter()
                .map(|m| match m {
                    ServerMessage::UpdatePinUsers(u) => u.client_ids.clone(),
                    _ => unreachable!("found by type"),
                })
                .collect();
            if !self.is_v4(&c) {
                assert!(updates.is_empty(), "step {step}: {c} (protocol 3) told");
                continue;
            }
            if self.pinned == before && !fresh.contains(&c) {
                assert!(
                    updates.is_empty(),
                    "step {step}: {op:?}: {c} told of no change: {updates:?}"
                );
            }
            if fresh.contains(&c) && self.pinned.is_empty() {
                assert!(updates.is_empty(), "step {step}: {c} told of an empty list");
            }
            if let Some(last) = updates.last() {
                self.known.insert(c.clone(), last.clone());
            }
        }
        for c in self.w.connected() {
            if self.is_v4(&c) {
                assert_eq!(
                    self.known.get(&c),
                    Some(&self.pinned),
                    "step {step}: {op:?}: {c} does not know the list"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_client_knows_the_pins_and_the_pins_follow_the_model(
        ops in prop::collection::vec(op(), 1..50),
    ) {
        let mut run = Run::new();
        for (step, op) in ops.iter().enumerate() {
            run.apply(step, op);
        }
    }
}

#[test]
fn the_bound_is_reached_and_refused() {
    let mut run = Run::new();
    let all: Vec<Target> = (1..=17).map(Target::Known).collect();
    run.apply(
        0,
        &Op::Pin {
            actor: 0,
            targets: all.clone(),
        },
    );
    assert!(run.pinned.is_empty(), "17 at once: refused");
    run.apply(
        1,
        &Op::Pin {
            actor: 0,
            targets: all[..16].to_vec(),
        },
    );
    assert_eq!(run.pinned.len(), 16);
    run.apply(
        2,
        &Op::Pin {
            actor: 0,
            targets: vec![Target::Known(0)],
        },
    );
    assert_eq!(run.pinned.len(), 16, "the 17th: refused");
    run.apply(3, &Op::Restart);
    run.apply(4, &Op::Advance(GRACE_SECS + 1));
    assert!(
        run.pinned.is_empty(),
        "everyone but the host expired: unpinned"
    );
}

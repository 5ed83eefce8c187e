//! What a family task shows the operator: metrics and webhook events, worked out by the shell
//! from what it already handles. The core is not asked for anything new.
//!
//! * Requests and their acks: the family task notes each request's type and when it took it
//!   ([`FamilyWatch::request`]); the ack with the same id (an `Output::Send` carrying an id)
//!   closes it: `alcove_operations_total{op,result}`, and `alcove_move_seconds` for moves.
//! * State steps: after an input that changed the family's state (its `state_version` moved),
//!   the watch compares the users and break-out rooms with the last step ([`FamilyWatch::step`]).
//!   The differences are the gauges' deltas and the webhook events: participant joined / left,
//!   member moved, break-out room created / destroyed.
//! * Lifecycle: the family's start and end (room started / ended), resumes, restores.
//!
//! A client that dropped and waits to resume is still a member: it leaves when the grace
//! period ends or it closes, not when its socket drops.

use crate::metrics::Metrics;
use crate::webhook::{Event, EventKind, Webhooks};
use alcove_core::Family;
use alcove_proto::signal::{Location, Role, ServerFrame};
use alcove_proto::{ClientId, RequestId, RoomId};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// What the shell keeps of one client between steps.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    name: String,
    role: Role,
    user_ref: String,
    location: Location,
}

/// The observer of one family task.
pub struct FamilyWatch {
    metrics: Arc<Metrics>,
    webhooks: Arc<Webhooks>,
    app: String,
    room: RoomId,
    /// The family's `state_version` at the last step.
    version: u64,
    clients: HashMap<ClientId, Seen>,
    /// Live break-out rooms with their names.
    rooms: HashMap<RoomId, String>,
    /// Requests taken and not answered yet: (client, request id) → (type, when taken).
    pending: HashMap<(ClientId, RequestId), (&'static str, Instant)>,
}

impl FamilyWatch {
    /// A family of `app` went live (`room_started`); `restored` when it came back from the
    /// database after a restart.
    pub fn start(
        metrics: Arc<Metrics>,
        webhooks: Arc<Webhooks>,
        app: &str,
        room: &RoomId,
        restored: bool,
    ) -> FamilyWatch {
        metrics.families.increment(1.0);
        if restored {
            metrics.families_restored.increment(1);
        }
        let w = FamilyWatch {
            metrics,
            webhooks,
            app: app.to_owned(),
            room: room.clone(),
            version: u64::MAX,
            clients: HashMap::new(),
            rooms: HashMap::new(),
            pending: HashMap::new(),
        };
        w.emit(EventKind::RoomStarted, json!({ "restored": restored }));
        w
    }

    fn emit(&self, kind: EventKind, data: serde_json::Value) {
        self.webhooks
            .emit(Event::new(&self.app, &self.room, kind, data));
    }

    /// The family took request `id` of type `op` from `client`.
    pub fn request(&mut self, client: &ClientId, id: &RequestId, op: &'static str) {
        self.pending
            .insert((client.clone(), *id), (op, Instant::now()));
    }

    /// A frame is being queued for `to`: an ack (it carries a request id) closes that request.
    pub fn sent(&mut self, to: &ClientId, frame: &ServerFrame) {
        let Some(id) = &frame.id else { return };
        if let Some((op, at)) = self.pending.remove(&(to.clone(), *id)) {
            let result = frame.msg.result().unwrap_or(0);
            self.metrics.operation(op, result, at.elapsed());
        }
    }

    /// A resume was accepted (`None`) or refused with a code.
    pub fn resume(&self, refused: Option<alcove_proto::ErrorCode>) {
        self.metrics.resume(refused.map_or(0, |c| c.code()));
    }

    /// `client`'s connection is gone: its unanswered requests will not be answered.
    pub fn forget(&mut self, client: &ClientId) {
        self.pending.retain(|(c, _), _| c != client);
    }

    /// Compares the family with the last step when its state changed: gauges and events.
    pub fn step(&mut self, family: &Family) {
        if family.state_version() == self.version {
            return;
        }
        self.version = family.state_version();
        let now: HashMap<ClientId, Seen> = family
            .users()
            .into_iter()
            .map(|u| {
                (
                    u.client_id,
                    Seen {
                        name: u.name,
                        role: u.role,
                        user_ref: u.user_ref,
                        location: u.location,
                    },
                )
            })
            .collect();
        let infos = family.breakout_rooms();
        // Rooms first: a member moved into a new room is told after the room exists.
        for b in &infos {
            if !self.rooms.contains_key(&b.room_id) {
                self.metrics.breakouts_created.increment(1);
                self.metrics.breakout_rooms.increment(1.0);
                self.emit(
                    EventKind::BreakoutRoomCreated,
                    json!({"breakout_room_id": b.room_id, "name": b.name, "owner": b.owner}),
                );
            }
        }
        let rooms: HashMap<RoomId, String> =
            infos.into_iter().map(|b| (b.room_id, b.name)).collect();
        for (id, seen) in &now {
            match self.clients.get(id) {
                None => {
                    self.gauge(seen, 1.0);
                    self.emit(EventKind::ParticipantJoined, person(id, seen));
                    if seen.location != Location::Parent {
                        self.moved(id, seen, &Location::Parent);
                    }
                }
                Some(before) if before.location != seen.location => {
                    self.gauge(before, -1.0);
                    self.gauge(seen, 1.0);
                    let from = before.location.clone();
                    self.moved(id, seen, &from);
                }
                Some(_) => {}
            }
        }
        let left: Vec<ClientId> = self
            .clients
            .keys()
            .filter(|c| !now.contains_key(*c))
            .cloned()
            .collect();
        for id in left {
            if let Some(before) = self.clients.get(&id) {
                self.gauge(before, -1.0);
                self.emit(EventKind::ParticipantLeft, person(&id, before));
            }
            self.forget(&id);
        }
        let gone: Vec<(RoomId, String)> = self
            .rooms
            .iter()
            .filter(|(id, _)| !rooms.contains_key(*id))
            .map(|(id, n)| (id.clone(), n.clone()))
            .collect();
        for (id, name) in gone {
            self.metrics.breakouts_destroyed.increment(1);
            self.metrics.breakout_rooms.decrement(1.0);
            self.emit(
                EventKind::BreakoutRoomDestroyed,
                json!({"breakout_room_id": id, "name": name}),
            );
        }
        self.clients = now;
        self.rooms = rooms;
    }

    fn moved(&self, id: &ClientId, seen: &Seen, from: &Location) {
        self.metrics.member_moves.increment(1);
        let mut data = person(id, seen);
        data["from"] = json!(from);
        data["to"] = json!(seen.location);
        self.emit(EventKind::MemberMoved, data);
    }

    fn gauge(&self, seen: &Seen, delta: f64) {
        let breakout = seen.location != Location::Parent;
        self.metrics.clients(seen.role, breakout).increment(delta);
    }

    /// The family task ends (`room_ended`): whoever is still counted leaves the gauges.
    pub fn end(mut self) {
        let left: Vec<(ClientId, Seen)> = self.clients.drain().collect();
        for (id, seen) in left {
            self.gauge(&seen, -1.0);
            self.emit(EventKind::ParticipantLeft, person(&id, &seen));
        }
        for (id, name) in std::mem::take(&mut self.rooms) {
            self.metrics.breakouts_destroyed.increment(1);
            self.metrics.breakout_rooms.decrement(1.0);
            self.emit(
                EventKind::BreakoutRoomDestroyed,
                json!({"breakout_room_id": id, "name": name}),
            );
        }
        self.metrics.families.decrement(1.0);
        self.emit(EventKind::RoomEnded, json!({}));
    }
}

fn person(id: &ClientId, seen: &Seen) -> serde_json::Value {
    json!({
        "clientId": id,
        "name": seen.name,
        "role": seen.role,
        "user_ref": seen.user_ref,
        "location": seen.location,
    })
}

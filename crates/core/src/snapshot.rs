//! Persisting a family's break-out state across a server restart.
//!
//! [`Family::snapshot`] captures who is where (clients with their location and parent link,
//! break-out rooms with owner, definition, members and invitations) and the moderators' state
//! (mutes, help requests, timers, the pinned cameras). [`Family::restore`]
//! rebuilds a family from it with every client *detached*: each has
//! [`crate::FamilyConfig::resume_grace`] from the restore to `resume` (its SDK reconnects on
//! its own); whoever does not come back leaves with the usual notifications. Media sessions are
//! not persisted: DTLS state dies with the process, so resumed clients negotiate anew.

use crate::family::{Breakout, Client, Family, FamilyConfig};
use crate::io::NewClient;
use alcove_proto::signal::{JoinRole, Location, Muted, RoomDefinition, UserRef};
use alcove_proto::{ClientId, RoomId};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// One client's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSnapshot {
    /// The client id (kept: resume credentials name it).
    pub id: ClientId,
    /// Connection order.
    pub seq: u64,
    /// Who it is.
    pub user: NewClient,
    /// Where it is.
    pub location: Location,
    /// Parent link paused.
    pub paused: bool,
    /// Parent link muted.
    pub muted: Muted,
    /// Muted by a moderator.
    #[serde(default)]
    pub mod_muted: bool,
    /// The moderator who asked it to unmute since.
    #[serde(default)]
    pub unmute_asked_by: Option<UserRef>,
    /// Its pending help request: the room and the request's age at snapshot time (ms).
    #[serde(default)]
    pub help: Option<(RoomId, u64)>,
}

/// A room's timer, relative to the snapshot's instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerSnapshot {
    /// Time left until the end, in ms (0 when already due).
    pub ends_in_ms: u64,
    /// Warning this long before the end, in ms (`None`: no warning).
    pub warning_before_ms: Option<u64>,
    /// The warning went out.
    pub warned: bool,
}

/// One break-out room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakoutSnapshot {
    /// Room id.
    pub id: RoomId,
    /// "Breakout N".
    pub name: String,
    /// Owner.
    pub owner: UserRef,
    /// Definition.
    pub def: RoomDefinition,
    /// Members with the role they joined as.
    pub members: Vec<(ClientId, JoinRole)>,
    /// Pending invitations.
    pub invitations: Vec<ClientId>,
    /// Age at snapshot time, in milliseconds (for the never-joined timeout).
    pub age_ms: u64,
    /// Someone joined at least once.
    pub ever_joined: bool,
    /// Its timer.
    #[serde(default)]
    pub timer: Option<TimerSnapshot>,
}

/// Everything needed to rebuild a family's break-out state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilySnapshot {
    /// Clients, in connection order.
    pub clients: Vec<ClientSnapshot>,
    /// Live break-out rooms, in creation order.
    pub breakouts: Vec<BreakoutSnapshot>,
    /// Next "Breakout N" number.
    pub next_number: u32,
    /// Next connection sequence number.
    pub next_seq: u64,
    /// Wall-clock time the snapshot was taken (Unix milliseconds), set by the shell so that a
    /// restore can count the downtime; 0 when unknown.
    #[serde(default)]
    pub taken_at_unix_ms: u64,
    /// Pairs of participants (user keys) who were in a break-out room together, for the
    /// `meet_new` policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met: Vec<(String, String)>,
    /// The parent room's pinned clients, first pinned first (`pinUsers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<ClientId>,
}

impl Family {
    /// The break-out state at `now` (no media). Room ages are measured at `now`, so quiet time
    /// since the family's last input counts.
    pub fn snapshot(&self, now: Instant) -> FamilySnapshot {
        let now = now.max(self.last_now());
        let mut clients: Vec<ClientSnapshot> = self
            .clients
            .values()
            .map(|c| ClientSnapshot {
                id: c.id.clone(),
                seq: c.seq,
                user: c.user.clone(),
                location: c.location.clone(),
                paused: c.paused,
                muted: c.muted,
                mod_muted: c.mod_muted,
                unmute_asked_by: c.unmute_asked_by.clone(),
                help: c.help.as_ref().map(|h| {
                    (
                        h.room.clone(),
                        now.saturating_duration_since(h.at).as_millis() as u64,
                    )
                }),
            })
            .collect();
        clients.sort_by_key(|c| c.seq);
        FamilySnapshot {
            clients,
            breakouts: self
                .breakouts
                .iter()
                .map(|b| BreakoutSnapshot {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    owner: b.owner.clone(),
                    def: b.def,
                    members: b.members.clone(),
                    invitations: b.invitations.clone(),
                    age_ms: now.saturating_duration_since(b.created_at).as_millis() as u64,
                    ever_joined: b.ever_joined,
                    timer: b.timer.map(|t| TimerSnapshot {
                        ends_in_ms: t.ends_at.saturating_duration_since(now).as_millis() as u64,
                        warning_before_ms: t
                            .warning_at
                            .map(|w| t.ends_at.saturating_duration_since(w).as_millis() as u64),
                        warned: t.warned,
                    }),
                })
                .collect(),
            next_number: self.next_number,
            next_seq: self.next_seq(),
            taken_at_unix_ms: 0,
            met: self.met.iter().cloned().collect(),
            pinned: self.pinned.clone(),
        }
    }

    /// A family rebuilt from `snapshot` at `now`, every client detached (waiting to resume).
    /// `since_snapshot` is the time that passed between the snapshot and now (the downtime):
    /// it counts towards every room's never-joined timeout. Use a fresh seed in `config` (the
    /// snapshot does not carry the random generator's state). Inconsistent parts (a member not
    /// among the clients, say) are dropped rather than trusted: the result always satisfies
    /// [`Family::check_invariants`].
    pub fn restore(
        config: FamilyConfig,
        snapshot: FamilySnapshot,
        now: Instant,
        since_snapshot: Duration,
    ) -> Family {
        let mut f = Family::new(config, now);
        for c in snapshot.clients {
            f.clients.insert(
                c.id.clone(),
                Client {
                    seq: c.seq,
                    id: c.id,
                    user: c.user,
                    location: Location::Parent,
                    paused: c.paused,
                    muted: c.muted,
                    detached_at: Some(now),
                    mod_muted: c.mod_muted,
                    unmute_asked_by: c.unmute_asked_by.filter(|_| c.mod_muted),
                    help: c.help.map(|(room, age)| crate::facilitate::PendingHelp {
                        room,
                        at: now
                            .checked_sub(Duration::from_millis(age) + since_snapshot)
                            .unwrap_or(now),
                    }),
                    broadcasts: crate::facilitate::no_broadcasts(),
                    // Media does not survive a restart; listen-in and broadcast start anew.
                    listening: None,
                    broadcast: None,
                },
            );
        }
        for b in snapshot.breakouts {
            if f.breakouts.len() >= f.settings.max_breakout_rooms as usize {
                break;
            }
            if f.breakouts.iter().any(|o| o.id == b.id) {
                continue; // a damaged snapshot: the first room with this id wins
            }
            let members: Vec<(ClientId, JoinRole)> = b
                .members
                .into_iter()
                .filter(|(m, _)| {
                    f.clients.contains_key(m) && !f.breakouts.iter().any(|o| o.is_member(m))
                })
                .collect();
            let mut counted = 0usize;
            let members: Vec<(ClientId, JoinRole)> = members
                .into_iter()
                .filter(|(_, r)| {
                    if *r == JoinRole::Participant {
                        counted += 1;
                        counted <= b.def.participants as usize
                    } else {
                        true
                    }
                })
                .collect();
            for (m, _) in &members {
                if let Some(c) = f.clients.get_mut(m) {
                    c.location = Location::Breakout(b.id.clone());
                }
            }
            let mut invitations: Vec<ClientId> = Vec::new();
            for i in b.invitations {
                if f.clients.contains_key(&i)
                    && !members.iter().any(|(m, _)| m == &i)
                    && !invitations.contains(&i)
                {
                    invitations.push(i);
                }
            }
            let ever_joined = b.ever_joined || !members.is_empty();
            if ever_joined && members.is_empty() {
                continue; // it would have been destroyed: its last member is gone
            }
            f.breakouts.push(Breakout {
                id: b.id,
                name: b.name,
                owner: b.owner,
                def: b.def,
                members,
                invitations,
                created_at: now
                    .checked_sub(Duration::from_millis(b.age_ms) + since_snapshot)
                    .unwrap_or(now),
                ever_joined,
                // The deadline is absolute: the downtime counts against it.
                timer: b.timer.map(|t| {
                    let ends_at =
                        now + Duration::from_millis(t.ends_in_ms).saturating_sub(since_snapshot);
                    crate::facilitate::Timer {
                        ends_at,
                        // Where it was: a warning time already past stays past (sent or due
                        // at the first step), not moved to the restore instant.
                        warning_at: t
                            .warning_before_ms
                            .map(|w| ends_at.checked_sub(Duration::from_millis(w)).unwrap_or(now)),
                        warned: t.warned,
                    }
                }),
            });
        }
        // A help request survives only where its requester still is.
        let stale: Vec<ClientId> = f
            .clients
            .values()
            .filter(|c| {
                c.help
                    .as_ref()
                    .is_some_and(|h| c.location != Location::Breakout(h.room.clone()))
            })
            .map(|c| c.id.clone())
            .collect();
        for c in stale {
            if let Some(cl) = f.clients.get_mut(&c) {
                cl.help = None;
            }
        }
        f.met = snapshot
            .met
            .into_iter()
            .take(crate::meet::MAX_PAIRS)
            .collect();
        // Pins of clients that are still here, once each, within the bound.
        for p in snapshot.pinned {
            if f.pinned.len() < alcove_proto::signal::MAX_PINNED
                && f.clients.contains_key(&p)
                && !f.pinned.contains(&p)
            {
                f.pinned.push(p);
            }
        }
        f.media.set_pins(f.pinned.clone(), now);
        f.next_number = snapshot.next_number.max(1);
        f.set_next_seq(snapshot.next_seq);
        f
    }
}

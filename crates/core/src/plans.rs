//! Reusable plans (issue 10 item 6): `savePlan`, `listPlans`, `applyPlan`.
//!
//! The core decides who may do what and what a plan holds; the shell stores plans per app
//! ([`Output::SavePlan`], [`Output::ListPlans`], [`Output::LoadPlan`] → [`Input::PlanLoaded`]),
//! so the family stays free of I/O.
//!
//! [`Input::PlanLoaded`]: crate::Input::PlanLoaded

use crate::family::Family;
use crate::io::Output;
use alcove_proto::api::RoomMode;
use alcove_proto::signal::{
    clean_name, AckApplyPlan, ApplyPlan, JoinRole, Location, Plan, PlanRoom, Role, RoomDefinition,
    RoomInvitations, SavePlan, ServerMessage,
};
use alcove_proto::{ClientId, ErrorCode, RequestId, RoomId};
use std::time::Instant;

/// The key a plan names a user by: the app's `user_ref`, or the display name when the app gave
/// none.
pub(crate) fn user_key(user: &crate::io::NewClient) -> String {
    if user.user_ref.is_empty() {
        user.name.clone()
    } else {
        user.user_ref.clone()
    }
}

impl Family {
    fn plan_refusal(&self, caller: &ClientId, ty: &str) -> Option<ServerMessage> {
        if self.is_moderator(caller) {
            return None;
        }
        Some(ServerMessage::failure_for(
            ty,
            ErrorCode::Unauthorized,
            "Only moderators may use plans",
        ))
    }

    /// The live assignment as a plan named `name`.
    pub(crate) fn current_plan(&self, name: String) -> Plan {
        let rooms = self
            .breakouts
            .iter()
            .map(|b| {
                let mut members: Vec<String> = Vec::new();
                let joined = b
                    .members
                    .iter()
                    .filter(|(_, r)| *r == JoinRole::Participant)
                    .map(|(c, _)| c);
                for c in joined.chain(b.invitations.iter()) {
                    if let Some(cl) = self.clients.get(c) {
                        let k = user_key(&cl.user);
                        if !members.contains(&k) {
                            members.push(k);
                        }
                    }
                }
                PlanRoom {
                    name: b.name.clone(),
                    participants: b.def.participants,
                    canvas: b.def.canvas,
                    share: b.def.share,
                    // The room's configured length while it has a timer (a cleared timer is
                    // not saved).
                    duration: b.timer.and(b.def.duration),
                    self_select: b.def.self_select,
                    members,
                }
            })
            .collect();
        Plan { name, rooms }
    }

    pub(crate) fn save_plan(&mut self, caller: ClientId, id: RequestId, p: SavePlan) {
        if let Some(m) = self.plan_refusal(&caller, "savePlan") {
            self.send(&caller, Some(id), m);
            return;
        }
        let Some(name) = clean_name(&p.name) else {
            let m = ServerMessage::failure_for(
                "savePlan",
                ErrorCode::InvalidParameters,
                "Invalid options/parameters: `name` must be 1 to 64 characters",
            );
            self.send(&caller, Some(id), m);
            return;
        };
        if self.breakouts.is_empty() {
            let m = ServerMessage::failure_for(
                "savePlan",
                ErrorCode::BreakoutRoomNotFound,
                "No live Break-Out Room to save",
            );
            self.send(&caller, Some(id), m);
            return;
        }
        let plan = self.current_plan(name);
        self.outputs.push_back(Output::SavePlan {
            client: caller,
            id,
            plan,
        });
    }

    pub(crate) fn list_plans(&mut self, caller: ClientId, id: RequestId) {
        if let Some(m) = self.plan_refusal(&caller, "listPlans") {
            self.send(&caller, Some(id), m);
            return;
        }
        self.outputs
            .push_back(Output::ListPlans { client: caller, id });
    }

    pub(crate) fn load_plan(&mut self, caller: ClientId, id: RequestId, p: ApplyPlan) {
        if let Some(m) = self.plan_refusal(&caller, "applyPlan") {
            self.send(&caller, Some(id), m);
            return;
        }
        self.outputs.push_back(Output::LoadPlan {
            client: caller,
            id,
            name: p.name,
            force_join: p.force_join,
        });
    }

    /// Applies a loaded plan: create's checks, then its rooms, then invitations (or forced
    /// joins) for the connected members in the parent.
    pub(crate) fn apply_plan(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        force_join: bool,
        plan: Option<Plan>,
    ) {
        let fail =
            |code: ErrorCode, msg: String| ServerMessage::failure_for("applyPlan", code, msg);
        let Some(plan) = plan else {
            let m = fail(
                ErrorCode::PlanNotFound,
                ErrorCode::PlanNotFound.message().into(),
            );
            self.send(&caller, Some(id), m);
            return;
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let limit = self.settings.max_breakout_rooms as usize;
        let cap = self.settings.max_active_talkers.saturating_sub(1);
        let checked = if c.user.role != Role::Moderator {
            Err((
                ErrorCode::Unauthorized,
                "Only moderators may use plans".to_owned(),
            ))
        } else if self.settings.mode == RoomMode::Lecture {
            Err((
                ErrorCode::BreakoutNotAvailable,
                "Break-Out Room not supported in a Room in lecture mode".to_owned(),
            ))
        } else if c.location != Location::Parent {
            Err((
                ErrorCode::BreakoutNotAvailable,
                "Break-Out Room cannot be created from inside a Break-Out Room".to_owned(),
            ))
        } else if plan.rooms.is_empty() {
            Err((
                ErrorCode::InvalidParameters,
                "The plan has no rooms".to_owned(),
            ))
        } else if let Some(r) = plan
            .rooms
            .iter()
            .find(|r| r.participants < 2 || r.participants > cap)
        {
            Err((
                ErrorCode::ParticipantsOverCapacity,
                format!(
                    "{}: room `{}` has {} places, at most {cap} (max_active_talkers − 1)",
                    ErrorCode::ParticipantsOverCapacity.message(),
                    r.name,
                    r.participants
                ),
            ))
        } else if self.breakouts.len() + plan.rooms.len() > limit {
            Err((
                ErrorCode::RoomLimitExceeded,
                format!(
                    "{}: {} live, {} in the plan, limit {limit}",
                    ErrorCode::RoomLimitExceeded.message(),
                    self.breakouts.len(),
                    plan.rooms.len()
                ),
            ))
        } else {
            Ok(())
        };
        if let Err((code, msg)) = checked {
            self.send(&caller, Some(id), fail(code, msg));
            return;
        }
        let owner = c.user_ref();
        // Connected clients in the parent by key (first connected wins a shared key), the
        // caller excluded. Moderators too: a plan holds whoever was a participant member or an
        // invitee when it was saved, whatever their role.
        let mut by_key: Vec<(u64, String, ClientId)> = self
            .clients
            .values()
            .filter(|c| c.id != caller && c.location == Location::Parent)
            .map(|c| (c.seq, user_key(&c.user), c.id.clone()))
            .collect();
        by_key.sort();
        let mut rooms: Vec<RoomId> = Vec::new();
        let mut invitations: Vec<RoomInvitations> = Vec::new();
        let mut unmatched: Vec<String> = Vec::new();
        for pr in &plan.rooms {
            let def = RoomDefinition {
                participants: pr.participants,
                canvas: pr.canvas,
                share: pr.share,
                max_rooms: 1,
                force_join,
                duration: pr.duration.filter(|d| *d > 0),
                self_select: pr.self_select,
                ..RoomDefinition::default()
            };
            let name = clean_name(&pr.name).into_iter().collect::<Vec<_>>();
            let room = self.create_rooms(now, &owner, def, &name);
            let Some(room) = room.into_iter().next() else {
                continue;
            };
            let mut clients: Vec<ClientId> = Vec::new();
            for key in &pr.members {
                let found = by_key.iter().position(|(_, k, _)| k == key);
                match found {
                    Some(i) if clients.len() < pr.participants as usize => {
                        clients.push(by_key.remove(i).2);
                    }
                    _ => unmatched.push(key.clone()),
                }
            }
            invitations.push(RoomInvitations {
                room_id: room.clone(),
                clients,
            });
            rooms.push(room);
        }
        let ack = AckApplyPlan {
            result: 0,
            msg: "Success".into(),
            rooms: rooms.clone(),
            invitations: invitations.clone(),
            unmatched,
        };
        self.send(&caller, Some(id), ServerMessage::AckApplyPlan(ack));
        self.notify_created(&rooms);
        for inv in invitations {
            if !inv.clients.is_empty() {
                self.apply_invitations(&owner, &inv.room_id, &inv.clients, force_join);
            }
        }
    }
}

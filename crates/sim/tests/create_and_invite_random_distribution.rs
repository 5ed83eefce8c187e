//! `createAndInviteBreakoutRoom`: creates the rooms, then deals the parent's participants
//! (role participant, in the parent, not the caller), shuffled with the family's seeded
//! generator, round-robin over the rooms up to `participants` each; who does not fit stays in
//! the parent, unassigned. Notifications: as create, then as invite, per room.

use alcove_proto::signal::{
    AckCreateAndInviteBreakOutRoom, CreateAndInviteResult, InvitationForBreakoutRoom, Location,
    Msg, Role, ServerMessage,
};
use alcove_proto::ClientId;
use alcove_sim::{req, World};
use std::collections::BTreeSet;

struct Cast {
    w: World,
    mia: ClientId,
    max: ClientId,
    vic: ClientId,
    parts: Vec<ClientId>,
}

fn cast(seed: u64, participants: usize) -> Cast {
    let mut w = World::with_defaults(seed);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let vic = w.connect("Vic", Role::Viewer);
    let parts = (0..participants)
        .map(|i| w.connect(&format!("P{i}"), Role::Participant))
        .collect();
    w.clear_inboxes();
    Cast {
        w,
        mia,
        max,
        vic,
        parts,
    }
}

fn result(ack: &alcove_proto::signal::ServerFrame) -> CreateAndInviteResult {
    match &ack.msg {
        ServerMessage::AckCreateAndInviteBreakOutRoom(AckCreateAndInviteBreakOutRoom {
            result: 0,
            msg: Msg::Data(d),
        }) => d.clone(),
        other => panic!("expected a successful ackCreateAndInviteBreakOutRoom, got {other:?}"),
    }
}

#[test]
fn seven_participants_over_three_rooms_of_two_leave_one_unassigned() {
    let Cast {
        mut w,
        mia,
        max,
        vic,
        parts,
    } = cast(11, 7);
    let ack = w.request(&mia, req::create_and_invite(2, 3, false));
    let r = result(&ack);
    assert_eq!(r.rooms.len(), 3);
    assert_eq!(
        r.invitations
            .iter()
            .map(|i| i.room_id.clone())
            .collect::<Vec<_>>(),
        r.rooms
    );
    for inv in &r.invitations {
        assert_eq!(inv.clients.len(), 2, "each room filled up to participants");
    }
    assert_eq!(r.unassigned.len(), 1);
    let mut everyone: Vec<ClientId> = r
        .invitations
        .iter()
        .flat_map(|i| i.clients.clone())
        .collect();
    everyone.extend(r.unassigned.iter().cloned());
    everyone.sort();
    assert_eq!(
        everyone, parts,
        "every participant exactly once; no moderator, viewer or caller"
    );

    // State: invitations are pending, nobody moved.
    for inv in &r.invitations {
        assert_eq!(w.breakout(&inv.room_id).unwrap().invitations, inv.clients);
    }
    assert!(w
        .family()
        .users()
        .iter()
        .all(|u| u.location == Location::Parent));

    // Notifications: created (per room, to moderators), then invited (per room).
    let n = w.drain_all();
    n.assert_sent("breakoutRoomCreated", &[&mia, &mia, &mia, &max, &max, &max]);
    n.assert_sent("breakoutRoomInvited", &[&mia, &mia, &mia, &max, &max, &max]);
    assert_eq!(
        n.types(&mia),
        [
            "breakoutRoomCreated",
            "breakoutRoomCreated",
            "breakoutRoomCreated",
            "breakoutRoomInvited",
            "breakoutRoomInvited",
            "breakoutRoomInvited"
        ]
    );
    for inv in &r.invitations {
        for c in &inv.clients {
            assert_eq!(
                n.of(c),
                [ServerMessage::InvitationForBreakoutRoom(
                    InvitationForBreakoutRoom {
                        room_id: inv.room_id.clone(),
                        requestor: w.user_ref(&mia),
                        force_join: false,
                    }
                )]
            );
        }
    }
    assert!(
        n.of(&r.unassigned[0]).is_empty(),
        "the unassigned participant is not told"
    );
    assert!(n.of(&vic).is_empty());
}

#[test]
fn fewer_participants_than_places_are_dealt_round_robin() {
    let Cast {
        mut w, mia, parts, ..
    } = cast(5, 5);
    let r = result(&w.request(&mia, req::create_and_invite(3, 3, false)));
    let sizes: Vec<usize> = r.invitations.iter().map(|i| i.clients.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert!(r.unassigned.is_empty());
    let all: BTreeSet<ClientId> = r
        .invitations
        .iter()
        .flat_map(|i| i.clients.clone())
        .collect();
    assert_eq!(all, parts.into_iter().collect());
}

#[test]
fn an_empty_room_gets_no_invitation_notice() {
    let Cast {
        mut w,
        mia,
        max,
        parts,
        ..
    } = cast(6, 1);
    let r = result(&w.request(&mia, req::create_and_invite(2, 2, false)));
    assert_eq!(r.invitations[0].clients, parts);
    assert!(r.invitations[1].clients.is_empty());
    let n = w.drain_all();
    n.assert_sent("breakoutRoomInvited", &[&mia, &max]);
}

#[test]
fn only_participants_in_the_parent_other_than_the_caller_are_dealt() {
    let Cast {
        mut w, mia, parts, ..
    } = cast(7, 4);
    let busy = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &parts[0], &busy);
    // A participant caller is not dealt into its own rooms.
    let r = result(&w.request(&parts[1], req::create_and_invite(2, 2, false)));
    let dealt: BTreeSet<ClientId> = r
        .invitations
        .iter()
        .flat_map(|i| i.clients.clone())
        .collect();
    assert_eq!(
        dealt,
        [parts[2].clone(), parts[3].clone()].into_iter().collect()
    );
    assert!(r.unassigned.is_empty());
}

#[test]
fn the_same_seed_deals_the_same_way_and_seeds_differ() {
    let deal = |seed: u64| {
        let Cast { mut w, mia, .. } = cast(seed, 8);
        result(&w.request(&mia, req::create_and_invite(2, 3, false)))
    };
    assert_eq!(deal(42), deal(42), "deterministic for a seed");
    let assignments: BTreeSet<Vec<Vec<ClientId>>> = (0..8)
        .map(|s| deal(s).invitations.into_iter().map(|i| i.clients).collect())
        .collect();
    assert!(
        assignments.len() > 1,
        "the deal depends on the seed (it is shuffled)"
    );
}

#[test]
fn with_force_join_everyone_dealt_is_moved() {
    let Cast {
        mut w,
        mia,
        max,
        parts,
        ..
    } = cast(8, 3);
    let r = result(&w.request(&mia, req::create_and_invite(2, 2, true)));
    for inv in &r.invitations {
        let b = w.breakout(&inv.room_id).unwrap();
        let members: Vec<ClientId> = b.members.iter().map(|m| m.client_id.clone()).collect();
        assert_eq!(members, inv.clients);
        assert!(b.invitations.is_empty());
        for c in &inv.clients {
            assert_eq!(w.location(c), Location::Breakout(inv.room_id.clone()));
            assert!(w.user(c).paused);
        }
    }
    let n = w.drain_all();
    n.assert_sent("connectedBreakoutRoom", &parts.iter().collect::<Vec<_>>());
    n.assert_sent("breakoutRoomInvited", &[&mia, &mia, &max, &max]);
    for c in &parts {
        let ServerMessage::InvitationForBreakoutRoom(i) = n.one(c, "invitationForBreakoutRoom")
        else {
            unreachable!()
        };
        assert!(i.force_join);
    }
}

#[test]
fn a_viewer_cannot_create_and_invite() {
    let Cast { mut w, vic, .. } = cast(9, 2);
    let ack = w.request(&vic, req::create_and_invite(2, 1, false));
    assert_eq!(req::result(&ack), 5003);
    assert!(w.live_rooms().is_empty());
    assert!(w.drain_all().is_empty());
}

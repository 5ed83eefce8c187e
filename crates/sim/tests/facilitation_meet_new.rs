//! Issue 10, `createAndInviteBreakoutRoom` with `policy: "meet_new"`: across rounds the
//! assignment minimises pairs of participants who were members of a break-out room together
//! before in this family, and the ack's `repeats` counts such pairs in the new assignment. The
//! test keeps its own history of who sat with whom (from the rooms it saw people join) and
//! checks `repeats` against it, round after round, across a restart, against the random policy.

use alcove_proto::signal::{
    AssignPolicy, ClientMessage, CreateAndInviteResult, Role, RoomDefinition, ServerMessage,
};
use alcove_proto::ClientId;
use alcove_sim::{req, World};
use std::collections::BTreeSet;

type Pairs = BTreeSet<(ClientId, ClientId)>;

fn pair(a: &ClientId, b: &ClientId) -> (ClientId, ClientId) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

fn class(seed: u64, n: usize) -> (World, ClientId, Vec<ClientId>) {
    let mut w = World::with_defaults(seed);
    let mia = w.connect("Mia", Role::Moderator);
    let people = (0..n)
        .map(|i| w.connect(&format!("P{i}"), Role::Participant))
        .collect();
    (w, mia, people)
}

/// One round: create-and-invite with force join, rooms of `size`; returns the ack's result and
/// the rooms' members (as the test saw them placed).
fn round(
    w: &mut World,
    mia: &ClientId,
    policy: AssignPolicy,
    size: u32,
    rooms: u32,
) -> (CreateAndInviteResult, Vec<Vec<ClientId>>) {
    let def = RoomDefinition {
        policy,
        force_join: true,
        ..req::definition(size, rooms)
    };
    let ack = w.request(mia, req::create_and_invite_with(def));
    let res = match &ack.msg {
        ServerMessage::AckCreateAndInviteBreakOutRoom(a) => {
            a.msg.data().cloned().unwrap_or_else(|| panic!("{ack:?}"))
        }
        other => panic!("{other:?}"),
    };
    let groups: Vec<Vec<ClientId>> = res
        .rooms
        .iter()
        .map(|r| {
            w.breakout(r)
                .map(|b| b.members.into_iter().map(|m| m.client_id).collect())
                .unwrap_or_default()
        })
        .collect();
    // Everyone invited was force-joined where the ack said.
    for inv in &res.invitations {
        let placed = &groups[res
            .rooms
            .iter()
            .position(|r| r == &inv.room_id)
            .expect("a room")];
        assert_eq!(placed, &inv.clients);
    }
    (res, groups)
}

fn repeats(groups: &[Vec<ClientId>], met: &Pairs) -> u32 {
    let mut n = 0;
    for g in groups {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                if met.contains(&pair(a, b)) {
                    n += 1;
                }
            }
        }
    }
    n
}

fn remember(groups: &[Vec<ClientId>], met: &mut Pairs) {
    for g in groups {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                met.insert(pair(a, b));
            }
        }
    }
}

fn end_round(w: &mut World, mia: &ClientId) {
    let ack = w.request(mia, ClientMessage::DestroyAllBreakOutSession);
    assert_eq!(req::result(&ack), 0);
    w.clear_inboxes();
}

/// Runs `rounds` rounds and returns the repeats per round (checked against the ack).
fn rounds(
    seed: u64,
    policy: AssignPolicy,
    n: usize,
    size: u32,
    k: usize,
    restart_after: Option<usize>,
) -> Vec<u32> {
    let (mut w, mia, _people) = class(seed, n);
    let mut met = Pairs::new();
    let mut out = Vec::new();
    for i in 0..k {
        let (res, groups) = round(&mut w, &mia, policy, size, (n as u32).div_ceil(size));
        let seen = repeats(&groups, &met);
        if policy == AssignPolicy::MeetNew {
            assert_eq!(res.repeats, Some(seen), "round {i}: the ack's repeats");
        }
        assert!(res.unassigned.is_empty());
        out.push(seen);
        remember(&groups, &mut met);
        end_round(&mut w, &mia);
        if restart_after == Some(i) {
            w.restart();
            for c in w.in_family() {
                w.resume(&c);
            }
            w.clear_inboxes();
        }
    }
    out
}

#[test]
fn pairs_of_eight_meet_someone_new_every_round_while_possible() {
    let got = rounds(3, AssignPolicy::MeetNew, 8, 2, 4, None);
    assert_eq!(got[0], 0);
    assert_eq!(got[1], 0, "plenty of new partners left");
    assert!(got.iter().sum::<u32>() <= 1, "meet_new repeats: {got:?}");
}

#[test]
fn the_history_survives_a_restart() {
    let got = rounds(5, AssignPolicy::MeetNew, 8, 2, 3, Some(0));
    assert_eq!(
        got[1], 0,
        "after a restart the first round's pairs are still known: {got:?}"
    );
}

#[test]
fn meet_new_repeats_fewer_pairs_than_random_over_many_rounds() {
    let mut meet = 0;
    let mut random = 0;
    for seed in 1..=4 {
        meet += rounds(seed, AssignPolicy::MeetNew, 12, 3, 5, None)
            .iter()
            .sum::<u32>();
        random += rounds(seed, AssignPolicy::Random, 12, 3, 5, None)
            .iter()
            .sum::<u32>();
    }
    println!("repeats over 4 classes x 5 rounds of 12 in threes: meet_new {meet}, random {random}");
    assert!(meet < random, "meet_new {meet} vs random {random}");
}

#[test]
fn the_random_policy_reports_no_repeats_field() {
    let (mut w, mia, _people) = class(1, 4);
    let (res, _) = round(&mut w, &mia, AssignPolicy::Random, 2, 2);
    assert_eq!(res.repeats, None);
}

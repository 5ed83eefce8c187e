//! The `meet_new` assignment policy of create-and-invite (issue 10 item 6): across rounds,
//! put people with people they have not been in a break-out room with.
//!
//! The family remembers every pair of participants (by user key: the app's `user_ref`, else
//! the name) who were members of one break-out room at the same time. An assignment's cost is
//! the number of such pairs it puts together again. [`assign`] builds the room sizes the
//! random policy would (even, round-robin), places people greedily (each into the room where
//! it meets the fewest known faces, then the emptiest), then improves by swapping two people
//! of different rooms while a swap lowers the cost. It is deterministic given the (already
//! shuffled) pool.

use alcove_proto::ClientId;
use std::collections::BTreeSet;

/// The most pairs a family remembers (a class of 1,000 meeting in rooms of 10 over many rounds
/// stays far below it); beyond it new pairs are not recorded.
pub(crate) const MAX_PAIRS: usize = 200_000;

/// An unordered pair of user keys, smaller first.
pub(crate) fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// Pairs in `room` already in `met`.
fn room_cost(room: &[usize], keys: &[String], met: &BTreeSet<(String, String)>) -> u32 {
    let mut n = 0;
    for (i, a) in room.iter().enumerate() {
        for b in &room[i + 1..] {
            if met.contains(&pair(&keys[*a], &keys[*b])) {
                n += 1;
            }
        }
    }
    n
}

/// How many of `room` (but `skip`) `who` has met.
fn known(
    who: usize,
    room: &[usize],
    skip: Option<usize>,
    keys: &[String],
    met: &BTreeSet<(String, String)>,
) -> u32 {
    room.iter()
        .filter(|m| Some(**m) != skip && **m != who)
        .filter(|m| met.contains(&pair(&keys[who], &keys[**m])))
        .count() as u32
}

/// Splits `pool` (shuffled, each with its user key) into `rooms` rooms of at most `per_room`,
/// sized as evenly as round-robin would, minimising pairs already in `met`. Returns the rooms,
/// who did not fit (the pool's tail, as with the random policy) and the repeats left.
pub(crate) fn assign(
    pool: &[(ClientId, String)],
    rooms: usize,
    per_room: usize,
    met: &BTreeSet<(String, String)>,
) -> (Vec<Vec<ClientId>>, Vec<ClientId>, u32) {
    if rooms == 0 {
        return (Vec::new(), pool.iter().map(|(c, _)| c.clone()).collect(), 0);
    }
    let placed = pool.len().min(rooms * per_room);
    let keys: Vec<String> = pool.iter().map(|(_, k)| k.clone()).collect();
    let sizes: Vec<usize> = (0..rooms)
        .map(|i| placed / rooms + usize::from(i < placed % rooms))
        .collect();
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); rooms];
    for who in 0..placed {
        let best = (0..rooms)
            .filter(|r| groups[*r].len() < sizes[*r])
            .min_by_key(|r| {
                (
                    known(who, &groups[*r], None, &keys, met),
                    groups[*r].len(),
                    *r,
                )
            });
        if let Some(r) = best {
            groups[r].push(who);
        }
    }
    // Swaps that lower the cost, a bounded number of passes (each pass is O(placed²·size)).
    let passes = if placed > 300 { 2 } else { 6 };
    for _ in 0..passes {
        let mut improved = false;
        for ra in 0..rooms {
            for rb in ra + 1..rooms {
                for ia in 0..groups[ra].len() {
                    for ib in 0..groups[rb].len() {
                        let (a, b) = (groups[ra][ia], groups[rb][ib]);
                        let before = known(a, &groups[ra], None, &keys, met)
                            + known(b, &groups[rb], None, &keys, met);
                        let after = known(a, &groups[rb], Some(b), &keys, met)
                            + known(b, &groups[ra], Some(a), &keys, met);
                        if after < before {
                            groups[ra][ia] = b;
                            groups[rb][ib] = a;
                            improved = true;
                        }
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
    let repeats = groups.iter().map(|g| room_cost(g, &keys, met)).sum();
    let out = groups
        .into_iter()
        .map(|g| g.into_iter().map(|i| pool[i].0.clone()).collect())
        .collect();
    let unassigned = pool[placed..].iter().map(|(c, _)| c.clone()).collect();
    (out, unassigned, repeats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> Vec<(ClientId, String)> {
        (0..n)
            .map(|i| (ClientId(format!("c{i}")), format!("u{i}")))
            .collect()
    }

    #[test]
    fn with_no_history_every_room_is_filled_evenly_and_nothing_repeats() {
        let (rooms, left, repeats) = assign(&pool(10), 3, 4, &BTreeSet::new());
        let sizes: Vec<usize> = rooms.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 3, 3]);
        assert!(left.is_empty());
        assert_eq!(repeats, 0);
    }

    #[test]
    fn a_second_round_of_two_groups_of_two_meets_someone_new() {
        // Round 1: {u0,u1} and {u2,u3}. Round 2 must mix them.
        let met: BTreeSet<_> = [pair("u0", "u1"), pair("u2", "u3")].into_iter().collect();
        let (rooms, _, repeats) = assign(&pool(4), 2, 2, &met);
        assert_eq!(repeats, 0, "{rooms:?}");
    }

    #[test]
    fn when_repeats_cannot_be_avoided_they_are_counted() {
        // Three people who all met, one room of three: three repeats, honestly reported.
        let met: BTreeSet<_> = [pair("u0", "u1"), pair("u0", "u2"), pair("u1", "u2")]
            .into_iter()
            .collect();
        let (_, _, repeats) = assign(&pool(3), 1, 3, &met);
        assert_eq!(repeats, 3);
    }

    #[test]
    fn who_does_not_fit_is_the_pool_tail() {
        let (rooms, left, _) = assign(&pool(7), 2, 3, &BTreeSet::new());
        assert_eq!(rooms.iter().map(Vec::len).sum::<usize>(), 6);
        assert_eq!(left, vec![ClientId("c6".into())]);
    }
}

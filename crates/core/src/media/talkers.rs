//! Active-talker slot assignment: pure, deterministic, no str0m.
//!
//! Each receiver has a fixed number of audio slots. Every evaluation it is given the sources it
//! may hear (its room, plus the parent when its parent link is resumed) with their loudness,
//! and keeps its slots stable: a source stays in its slot while it is still audible; an active
//! speaker without a slot takes a free slot, or displaces the quietest occupant when it is
//! louder. A move between rooms therefore only changes the mapping, never the negotiation.

/// Loudness above which a source counts as speaking (0 = silence … 127 = 0 dBov).
pub const ACTIVE_LOUDNESS: u8 = 8;

/// One audible source and how loud it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<K> {
    /// The source.
    pub key: K,
    /// Smoothed loudness, 0 (silence) to 127 (0 dBov).
    pub loudness: u8,
}

/// Re-assigns `slots` for one receiver; returns true when anything changed.
///
/// * `keep(k)`: whether occupant `k` is still audible to this receiver (it loses its slot at
///   once otherwise);
/// * `speaking`: the audible sources that speak now, loudest first, without duplicates (only
///   the first `slots.len() + 1` can ever matter);
/// * `loudness_of(k)`: an occupant's loudness now (0 when silent), to decide displacement;
/// * `free_rank(i)`: which free slot a new speaker takes: the one with the lowest rank (ties:
///   the lowest index). The family ranks a slot by when it last carried a packet, never-used
///   first, so that a new room's talkers land on slots whose receiver-side jitter buffer has
///   drained, not behind the old room's audio.
///
/// Cost: O(slots²), whatever the size of the room.
pub fn assign<K: Clone + PartialEq, R: Ord>(
    slots: &mut [Option<K>],
    keep: impl Fn(&K) -> bool,
    speaking: &[Candidate<K>],
    loudness_of: impl Fn(&K) -> u8,
    free_rank: impl Fn(usize) -> R,
) -> bool {
    let mut changed = false;
    // 1. Drop occupants that are no longer audible.
    for s in slots.iter_mut() {
        if s.as_ref().is_some_and(|k| !keep(k)) {
            *s = None;
            changed = true;
        }
    }
    // 2. Active speakers, loudest first.
    for c in speaking.iter().filter(|c| c.loudness >= ACTIVE_LOUDNESS) {
        if slots.iter().any(|s| s.as_ref() == Some(&c.key)) {
            continue;
        }
        let free = (0..slots.len())
            .filter(|i| slots[*i].is_none())
            .min_by_key(|i| (free_rank(*i), *i));
        if let Some(i) = free {
            slots[i] = Some(c.key.clone());
            changed = true;
            continue;
        }
        // Displace the quietest occupant if this speaker is louder.
        let quietest = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|k| (i, loudness_of(k))))
            .min_by_key(|(_, l)| *l);
        match quietest {
            Some((i, l)) if c.loudness > l => {
                slots[i] = Some(c.key.clone());
                changed = true;
            }
            // Speakers come loudest first: nobody after this one displaces anyone either.
            _ => break,
        }
    }
    changed
}

/// What ranks one camera publisher for the video slots (see [`rank_cameras`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraRank<K, T> {
    /// The publisher.
    pub key: K,
    /// Its loudness now, 0 (silence) to 127; it speaks from [`ACTIVE_LOUDNESS`] on.
    pub loudness: u8,
    /// Its place in the parent room's pin list (0: pinned first), when pinned.
    pub pinned: Option<usize>,
    /// When it last spoke, if ever.
    pub last_spoke: Option<T>,
    /// When its camera started.
    pub started: T,
}

/// Orders camera publishers, most relevant first (issue 14, `docs/protocol.md` §13.9):
///
/// 1. those speaking now, loudest first;
/// 2. then the pinned ones, in pin order;
/// 3. then by when they last spoke, most recent first (never: last);
/// 4. then by when their camera started, earliest first;
/// 5. then by key.
///
/// A pinned publisher that speaks ranks among the speakers. The order is total, so the result
/// does not depend on the input order.
pub fn rank_cameras<K: Ord, T: Ord + Copy>(cams: &mut [CameraRank<K, T>]) {
    cams.sort_by(|a, b| {
        let key = |c: &CameraRank<K, T>| {
            let speaking = c.loudness >= ACTIVE_LOUDNESS;
            (
                !speaking,
                std::cmp::Reverse(if speaking { c.loudness } else { 0 }),
                // Speakers are ordered by loudness only, pinned or not.
                if speaking { None } else { c.pinned }.unwrap_or(usize::MAX),
                std::cmp::Reverse(c.last_spoke),
                c.started,
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.key.cmp(&b.key))
    });
}

/// Maps camera publishers onto a receiver's video slots. `ranked` lists the publishers the
/// receiver may see, most relevant first ([`rank_cameras`]: speakers, then pinned, then recent
/// ones). The first
/// `slots.len()` of them should be shown; an occupant among them keeps its slot (slots are
/// stable), an occupant that is no longer eligible leaves at once, and a wanted publisher
/// without a slot takes the lowest free slot, else the slot of the occupant ranked lowest
/// outside the wanted set. Returns true when anything changed.
pub fn assign_video<K: Clone + PartialEq>(slots: &mut [Option<K>], ranked: &[K]) -> bool {
    let mut changed = false;
    let rank = |k: &K| ranked.iter().position(|r| r == k);
    for s in slots.iter_mut() {
        if s.as_ref().is_some_and(|k| rank(k).is_none()) {
            *s = None;
            changed = true;
        }
    }
    let wanted = &ranked[..ranked.len().min(slots.len())];
    for w in wanted {
        if slots.iter().any(|s| s.as_ref() == Some(w)) {
            continue;
        }
        let target = (0..slots.len()).find(|i| slots[*i].is_none()).or_else(|| {
            (0..slots.len())
                .filter(|i| {
                    slots[*i]
                        .as_ref()
                        .is_some_and(|k| rank(k).is_some_and(|r| r >= wanted.len()))
                })
                .max_by_key(|i| slots[*i].as_ref().and_then(rank))
        });
        if let Some(i) = target {
            slots[i] = Some(w.clone());
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(key: u32, loudness: u8) -> Candidate<u32> {
        Candidate { key, loudness }
    }

    /// The whole audible set with loudness, as a room would give it.
    fn run(slots: &mut [Option<u32>], audible: &[Candidate<u32>]) -> bool {
        let mut speaking: Vec<Candidate<u32>> = audible.to_vec();
        speaking.sort_by_key(|c| std::cmp::Reverse(c.loudness));
        let keep = |k: &u32| audible.iter().any(|c| c.key == *k);
        let loud = |k: &u32| {
            audible
                .iter()
                .find(|c| c.key == *k)
                .map(|c| c.loudness)
                .unwrap_or(0)
        };
        assign(slots, keep, &speaking, loud, |_| 0)
    }

    #[test]
    fn a_new_speaker_takes_the_free_slot_ranked_first() {
        let mut slots = vec![None, None, None];
        let speaking = [c(7, 50)];
        // Slot 0 was used last, slot 2 long ago, slot 1 never: slot 1 it is.
        let rank = |i: usize| [Some(30), None, Some(10)][i];
        assert!(assign(&mut slots, |_| true, &speaking, |_| 0, rank));
        assert_eq!(slots, vec![None, Some(7), None]);
    }

    #[test]
    fn speakers_fill_free_slots_and_stay_put() {
        let mut slots = vec![None, None];
        assert!(run(&mut slots, &[c(1, 50), c(2, 0), c(3, 60)]));
        assert_eq!(slots, vec![Some(3), Some(1)]);
        // Same candidates, louder order swapped: nobody moves.
        assert!(!run(&mut slots, &[c(1, 90), c(2, 0), c(3, 20)]));
        assert_eq!(slots, vec![Some(3), Some(1)]);
    }

    #[test]
    fn silent_occupants_stay_until_displaced_by_a_louder_speaker() {
        let mut slots = vec![Some(1), Some(3)];
        assert!(!run(&mut slots, &[c(1, 0), c(3, 0)]));
        assert!(run(&mut slots, &[c(1, 0), c(3, 20), c(4, 30)]));
        assert_eq!(slots, vec![Some(4), Some(3)]);
    }

    #[test]
    fn inaudible_occupants_leave_at_once() {
        let mut slots = vec![Some(1), Some(2)];
        assert!(run(&mut slots, &[c(2, 0)]));
        assert_eq!(slots, vec![None, Some(2)]);
        assert!(run(&mut slots, &[]));
        assert_eq!(slots, vec![None, None]);
    }

    #[test]
    fn video_slots_show_the_best_ranked_and_stay_put() {
        let mut slots = vec![None, None];
        assert!(assign_video(&mut slots, &[5, 3, 9]));
        assert_eq!(slots, vec![Some(5), Some(3)]);
        // Same set, another order: nobody moves.
        assert!(!assign_video(&mut slots, &[3, 5, 9]));
        // 9 now ranks above 5: it takes 5's slot, 3 stays.
        assert!(assign_video(&mut slots, &[9, 3, 5]));
        assert_eq!(slots, vec![Some(9), Some(3)]);
        // 3 stops publishing: its slot empties, 5 fills it.
        assert!(assign_video(&mut slots, &[9, 5]));
        assert_eq!(slots, vec![Some(9), Some(5)]);
        assert!(assign_video(&mut slots, &[]));
        assert_eq!(slots, vec![None, None]);
    }

    fn cam(
        key: u32,
        loudness: u8,
        pinned: Option<usize>,
        spoke: Option<u64>,
        started: u64,
    ) -> CameraRank<u32, u64> {
        CameraRank {
            key,
            loudness,
            pinned,
            last_spoke: spoke,
            started,
        }
    }

    fn ranked(mut cams: Vec<CameraRank<u32, u64>>) -> Vec<u32> {
        rank_cameras(&mut cams);
        cams.into_iter().map(|c| c.key).collect()
    }

    #[test]
    fn cameras_rank_speakers_then_pinned_then_recent_then_start_then_id() {
        let cams = vec![
            cam(1, 0, None, None, 10),     // silent, never spoke, started late
            cam(2, 0, None, Some(50), 5),  // spoke at 50
            cam(3, 0, None, Some(80), 5),  // spoke at 80: the most recent
            cam(4, 40, None, Some(99), 9), // speaking, quieter
            cam(5, 90, None, Some(99), 9), // speaking, louder
            cam(6, 0, None, None, 3),      // never spoke, started first
            cam(7, 0, None, None, 3),      // the same as 6 but for the id
        ];
        assert_eq!(ranked(cams), vec![5, 4, 3, 2, 6, 7, 1]);
    }

    #[test]
    fn pinned_cameras_come_after_speakers_and_before_recent_speakers_in_pin_order() {
        let cams = vec![
            cam(1, 0, Some(1), None, 10),   // pinned second, silent
            cam(2, 0, None, Some(90), 1),   // the most recent speaker
            cam(3, 0, Some(0), None, 20),   // pinned first, silent
            cam(4, 60, None, Some(99), 30), // speaking now
        ];
        assert_eq!(ranked(cams), vec![4, 3, 1, 2]);
    }

    #[test]
    fn a_pinned_speaker_ranks_by_loudness_among_the_speakers() {
        let cams = vec![
            cam(1, 30, Some(0), Some(99), 1), // pinned and speaking, quieter
            cam(2, 70, None, Some(99), 2),    // speaking, louder
            cam(3, 0, Some(1), None, 3),      // pinned, silent
        ];
        assert_eq!(ranked(cams), vec![2, 1, 3]);
        // Below the speaking threshold a pinned client counts as silent: its pin ranks it.
        let cams = vec![
            cam(1, ACTIVE_LOUDNESS - 1, None, Some(99), 1),
            cam(2, ACTIVE_LOUDNESS - 1, Some(0), None, 2),
        ];
        assert_eq!(ranked(cams), vec![2, 1]);
    }

    #[test]
    fn the_order_does_not_depend_on_the_input_order() {
        let cams = vec![
            cam(1, 0, Some(2), None, 10),
            cam(2, 0, None, Some(90), 1),
            cam(3, 0, Some(0), None, 20),
            cam(4, 60, None, Some(99), 30),
            cam(5, 0, Some(1), Some(10), 2),
            cam(6, 0, None, None, 2),
        ];
        let want = ranked(cams.clone());
        assert_eq!(want, vec![4, 3, 5, 1, 2, 6]);
        let mut rev = cams.clone();
        rev.reverse();
        assert_eq!(ranked(rev), want);
        let mut rot = cams;
        rot.rotate_left(2);
        assert_eq!(ranked(rot), want);
    }

    #[test]
    fn with_one_slot_a_pin_shows_over_a_recent_speaker_and_unpinning_restores_it() {
        // 1 video slot; 2 spoke recently and holds it.
        let mut slots = vec![Some(2)];
        let before = ranked(vec![cam(1, 0, None, None, 1), cam(2, 0, None, Some(50), 2)]);
        assert!(!assign_video(&mut slots, &before));
        // 1 is pinned: it takes the slot.
        let pinned = ranked(vec![
            cam(1, 0, Some(0), None, 1),
            cam(2, 0, None, Some(50), 2),
        ]);
        assert!(assign_video(&mut slots, &pinned));
        assert_eq!(slots, vec![Some(1)]);
        // 2 speaks: a speaker beats the pin.
        let speaking = ranked(vec![
            cam(1, 0, Some(0), None, 1),
            cam(2, 50, None, Some(60), 2),
        ]);
        assert!(assign_video(&mut slots, &speaking));
        assert_eq!(slots, vec![Some(2)]);
        // 2 falls silent: the pin shows again; unpinned, the recent speaker is back.
        let silent = ranked(vec![
            cam(1, 0, Some(0), None, 1),
            cam(2, 0, None, Some(60), 2),
        ]);
        assert!(assign_video(&mut slots, &silent));
        assert_eq!(slots, vec![Some(1)]);
        let unpinned = ranked(vec![cam(1, 0, None, None, 1), cam(2, 0, None, Some(60), 2)]);
        assert!(assign_video(&mut slots, &unpinned));
        assert_eq!(slots, vec![Some(2)]);
    }

    #[test]
    fn quiet_sources_do_not_take_slots() {
        let mut slots = vec![None];
        assert!(!run(&mut slots, &[c(1, ACTIVE_LOUDNESS - 1)]));
        assert_eq!(slots, vec![None]);
    }
}

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
/// Candidates must not contain the same key twice. Ties are broken by candidate order.
pub fn assign<K: Clone + PartialEq>(slots: &mut [Option<K>], candidates: &[Candidate<K>]) -> bool {
    let mut changed = false;
    // 1. Drop occupants that are no longer audible.
    for s in slots.iter_mut() {
        if let Some(k) = s {
            if !candidates.iter().any(|c| &c.key == k) {
                *s = None;
                changed = true;
            }
        }
    }
    // 2. Active speakers, loudest first.
    let mut active: Vec<&Candidate<K>> = candidates
        .iter()
        .filter(|c| c.loudness >= ACTIVE_LOUDNESS)
        .collect();
    active.sort_by_key(|c| std::cmp::Reverse(c.loudness));
    let loudness_of = |k: &K| {
        candidates
            .iter()
            .find(|c| &c.key == k)
            .map(|c| c.loudness)
            .unwrap_or(0)
    };
    for c in active {
        if slots.iter().any(|s| s.as_ref() == Some(&c.key)) {
            continue;
        }
        if let Some(free) = slots.iter_mut().find(|s| s.is_none()) {
            *free = Some(c.key.clone());
            changed = true;
            continue;
        }
        // Displace the quietest occupant if this speaker is louder.
        let quietest = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|k| (i, loudness_of(k))))
            .min_by_key(|(_, l)| *l);
        if let Some((i, l)) = quietest {
            if c.loudness > l {
                slots[i] = Some(c.key.clone());
                changed = true;
            }
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

    #[test]
    fn speakers_fill_free_slots_and_stay_put() {
        let mut slots = vec![None, None];
        assert!(assign(&mut slots, &[c(1, 50), c(2, 0), c(3, 60)]));
        assert_eq!(slots, vec![Some(3), Some(1)]);
        // Same candidates, louder order swapped: nobody moves.
        assert!(!assign(&mut slots, &[c(1, 90), c(2, 0), c(3, 20)]));
        assert_eq!(slots, vec![Some(3), Some(1)]);
    }

    #[test]
    fn silent_occupants_stay_until_displaced_by_a_louder_speaker() {
        let mut slots = vec![Some(1), Some(3)];
        assert!(!assign(&mut slots, &[c(1, 0), c(3, 0)]));
        assert!(assign(&mut slots, &[c(1, 0), c(3, 20), c(4, 30)]));
        assert_eq!(slots, vec![Some(4), Some(3)]);
    }

    #[test]
    fn inaudible_occupants_leave_at_once() {
        let mut slots = vec![Some(1), Some(2)];
        assert!(assign(&mut slots, &[c(2, 0)]));
        assert_eq!(slots, vec![None, Some(2)]);
        assert!(assign(&mut slots, &[]));
        assert_eq!(slots, vec![None, None]);
    }

    #[test]
    fn quiet_sources_do_not_take_slots() {
        let mut slots = vec![None];
        assert!(!assign(&mut slots, &[c(1, ACTIVE_LOUDNESS - 1)]));
        assert_eq!(slots, vec![None]);
    }
}

//! Per-slot RTP rewriting: a receiver sees one continuous stream per slot, whoever is mapped
//! onto it. The slot is its own send stream (its own SSRC, negotiated once); this module keeps
//! its **sequence numbers** continuous and its **media time following the wall clock**.
//!
//! The rule ([protocol §13.5](../../../../docs/protocol.md)):
//!
//! * While one source stays mapped and keeps sending, its own timestamps are kept (only
//!   offset), so the receiver sees the source's real timing, gaps and jitter.
//! * When a source is mapped onto the slot (a new talker, a move, a share switching sharer),
//!   the slot's media time advances by the wall time elapsed since the slot's last packet (at
//!   least one frame), so a receiver's arrival-time / RTP-time relation does not jump and its
//!   jitter buffer is not fooled into waiting seconds.
//! * The same source after a silence of at least [`REANCHOR_GAP`] keeps its own timestamps if
//!   they agree with the wall clock within one frame, and is re-anchored to the wall clock
//!   otherwise (a source whose clock stood still while it was silent).
//! * Sequence numbers continue by one across a change of source; within one source, its own
//!   gaps (losses) are kept so that the receiver can ask for them (NACK).
//!
//! Pure and sans-IO: `now` comes from the caller.

use alcove_proto::ClientId;
use std::time::{Duration, Instant};

/// A silence after which the same source's timestamps are checked against the wall clock.
pub const REANCHOR_GAP: Duration = Duration::from_millis(100);

/// One frame: the least a slot's time advances across a change of source, and the tolerance
/// when a returning source's own timestamps are compared with the wall clock.
pub const FRAME: Duration = Duration::from_millis(20);

/// What to write on the slot for one incoming packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended outgoing sequence number (starts at 1, never reuses a value).
    pub seq: u64,
    /// Extended outgoing media time, in the stream's clock rate.
    pub time: u64,
}

/// The mapping of one outgoing slot.
#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    /// The source currently mapped, with the offsets added to its sequence numbers and time.
    src: Option<(ClientId, i64, i64)>,
    /// The last packet written on this slot: its sequence number, time and wall time.
    last: Option<(u64, u64, Instant)>,
    /// The source media time of the last packet written (a packet with the same time belongs
    /// to the same frame and is never re-anchored apart from it).
    last_in: Option<u64>,
    /// Video: the same source is never re-anchored (a video sender's clock does not stand
    /// still, and a frame's packets must keep one timestamp even when the sender's pacer or a
    /// busy machine spreads them over more than [`REANCHOR_GAP`]).
    video: bool,
}

impl Rewrite {
    /// The rewrite of an audio slot (the default).
    pub fn audio() -> Rewrite {
        Rewrite::default()
    }

    /// The rewrite of a video (share / canvas) slot.
    pub fn video() -> Rewrite {
        Rewrite {
            video: true,
            ..Rewrite::default()
        }
    }

    /// The slot-continuous sequence number and time for a packet of `src` with extended
    /// sequence number `seq` and extended media time `time` (at `clock_rate` Hz), arriving at
    /// `now`.
    pub fn map(
        &mut self,
        src: &ClientId,
        seq: u64,
        time: u64,
        clock_rate: u32,
        now: Instant,
    ) -> Rewritten {
        let ticks = |d: Duration| (d.as_micros() as u64 * u64::from(clock_rate) / 1_000_000) as i64;
        let (seq_in, time_in) = (seq as i64, time as i64);
        let Some((last_seq, last_time, last_at)) = self.last else {
            // The first packet of the slot: sequence numbers start at 1 (rollover counter 0,
            // which a receiver assumes), time at the source's own.
            self.src = Some((src.clone(), 1 - seq_in, 0));
            let out = Rewritten { seq: 1, time };
            self.last = Some((out.seq, out.time, now));
            self.last_in = Some(time);
            return out;
        };
        let elapsed = now.saturating_duration_since(last_at);
        // Where the wall clock says this packet belongs on the slot.
        let wall = last_time as i64 + ticks(elapsed.max(FRAME));
        let (seq_off, time_off) = match &self.src {
            Some((s, so, to)) if s == src => {
                let own = time_in + to;
                let new_frame = self.last_in != Some(time);
                let stale = !self.video
                    && new_frame
                    && elapsed >= REANCHOR_GAP
                    && (own - wall).abs() > ticks(FRAME);
                // Never step backwards on the slot (a source restarting its clock).
                let backwards = own <= last_time as i64 - ticks(Duration::from_secs(1));
                if stale || backwards {
                    (*so, wall - time_in)
                } else {
                    (*so, *to)
                }
            }
            _ => (last_seq as i64 + 1 - seq_in, wall - time_in),
        };
        let mut seq_out = seq_in + seq_off;
        if seq_out <= last_seq as i64 - 1000 {
            // The source's sequence numbers jumped far back (a restarted sender): continue.
            seq_out = last_seq as i64 + 1;
        }
        let seq_off = seq_out - seq_in;
        self.src = Some((src.clone(), seq_off, time_off));
        let out = Rewritten {
            seq: seq_out.max(1) as u64,
            time: (time_in + time_off).max(0) as u64,
        };
        if out.seq > last_seq {
            self.last = Some((out.seq, out.time, now));
            self.last_in = Some(time);
        }
        out
    }

    /// The slot no longer carries its source (the talker evaluation mapped it elsewhere or
    /// nowhere). Whatever comes next, even the same source back, continues the slot's sequence
    /// by one and is anchored to the wall clock: the packets the source sent while it was not
    /// on the slot were never sent here, so they are no loss for the receiver to wait for.
    pub fn unmap(&mut self) {
        self.src = None;
    }

    /// When the slot last carried a packet (`None`: never).
    pub fn last_at(&self) -> Option<Instant> {
        self.last.map(|(_, _, at)| at)
    }

    /// The source mapped last, if any.
    pub fn source(&self) -> Option<&ClientId> {
        self.src.as_ref().map(|(s, _, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_back_on_its_slot_after_an_unmap_continues_the_sequence_by_one() {
        let t0 = epoch();
        let a = ClientId::from("a");
        let mut rw = Rewrite::audio();
        let first = rw.map(&a, 100, 0, HZ, t0);
        let second = rw.map(&a, 101, F, HZ, t0 + FRAME);
        assert_eq!((first.seq, second.seq), (1, 2));
        // A is mapped away for 8 s (400 frames it sends elsewhere), then back.
        rw.unmap();
        let back = rw.map(&a, 501, 401 * F, HZ, t0 + Duration::from_secs(8));
        assert_eq!(back.seq, 3, "no gap of 400 for the receiver to wait for");
        // Without the unmap, its own gap (a real loss) is kept.
        let mut kept = Rewrite::audio();
        kept.map(&a, 100, 0, HZ, t0);
        let lost = kept.map(&a, 103, 3 * F, HZ, t0 + 3 * FRAME);
        assert_eq!(lost.seq, 4);
    }

    const HZ: u32 = 48_000;
    const F: u64 = 960; // one 20 ms frame at 48 kHz

    /// Any instant will do: only differences matter.
    #[allow(clippy::disallowed_methods)] // a test's fixed origin, not the core reading a clock
    fn epoch() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds `n` frames of `src` every 20 ms from `(seq, time)` at `at`; returns the last output
    /// and the time after it.
    fn talk(
        r: &mut Rewrite,
        src: &ClientId,
        seq: u64,
        time: u64,
        at: Instant,
        n: u64,
    ) -> (Rewritten, Instant) {
        let mut out = None;
        for i in 0..n {
            out = Some(r.map(src, seq + i, time + i * F, HZ, at + ms(20 * i)));
        }
        (out.expect("n > 0"), at + ms(20 * n))
    }

    #[test]
    fn one_source_keeps_its_own_timing_and_losses() {
        let mut r = Rewrite::default();
        let a = ClientId::from("a");
        let t0 = epoch();
        let x = r.map(&a, 500, 10_000, HZ, t0);
        assert_eq!(
            x,
            Rewritten {
                seq: 1,
                time: 10_000
            }
        );
        // A packet lost (seq 501): the gap stays, so the receiver can NACK it.
        let y = r.map(&a, 502, 10_000 + 2 * F, HZ, t0 + ms(45));
        assert_eq!(
            y,
            Rewritten {
                seq: 3,
                time: 10_000 + 2 * F
            }
        );
    }

    #[test]
    fn a_new_talker_on_an_idle_slot_advances_by_the_idle_time() {
        for idle_ms in [0u64, 7, 20, 150, 1_100, 3_300] {
            let mut r = Rewrite::default();
            let (a, b) = (ClientId::from("a"), ClientId::from("b"));
            let t0 = epoch();
            let (last, t1) = talk(&mut r, &a, 100, 0, t0, 10);
            let at = t1 - ms(20) + ms(idle_ms);
            // b's clock is somewhere else entirely.
            let x = r.map(&b, 40_000, 5_000_000, HZ, at);
            assert_eq!(x.seq, last.seq + 1, "sequence numbers continue");
            let advance = x.time - last.time;
            let want = idle_ms.max(20) * 48;
            assert!(
                advance.abs_diff(want) <= F,
                "idle {idle_ms} ms: advanced {advance} ticks, want {want} ± one frame"
            );
            // b's next frame follows b's own clock.
            let y = r.map(&b, 40_001, 5_000_000 + F, HZ, at + ms(20));
            assert_eq!((y.seq, y.time), (x.seq + 1, x.time + F));
        }
    }

    #[test]
    fn the_same_talker_after_silence_follows_the_wall_clock() {
        let mut r = Rewrite::default();
        let a = ClientId::from("a");
        let t0 = epoch();
        let (last, t1) = talk(&mut r, &a, 1, 0, t0, 5);
        // Silent for 2 s, and its clock stood still (it continues one frame after its last).
        let at = t1 - ms(20) + ms(2_000);
        let x = r.map(&a, 6, 5 * F, HZ, at);
        let advance = x.time - last.time;
        assert!(advance.abs_diff(2_000 * 48) <= F, "advanced {advance}");
        assert_eq!(x.seq, last.seq + 1);
        // Silent for 2 s with a clock that ran on (DTX): its own timestamps are kept.
        let mut r = Rewrite::default();
        let (last, t1) = talk(&mut r, &a, 1, 0, t0, 5);
        let at = t1 - ms(20) + ms(2_000);
        let x = r.map(&a, 6, 4 * F + 2_000 * 48 + 30, HZ, at);
        assert_eq!(x.time - last.time, 2_000 * 48 + 30);
    }

    #[test]
    fn a_video_frame_keeps_one_timestamp_however_slowly_it_arrives() {
        let mut r = Rewrite::video();
        let a = ClientId::from("a");
        let t0 = epoch();
        let first = r.map(&a, 10, 90_000, 90_000, t0);
        // The frame's packets spread over 400 ms (a starved sender), then the next frame.
        let mid = r.map(&a, 11, 90_000, 90_000, t0 + ms(200));
        let end = r.map(&a, 12, 90_000, 90_000, t0 + ms(400));
        assert_eq!((mid.time, end.time), (first.time, first.time));
        let next = r.map(&a, 13, 93_000, 90_000, t0 + ms(900));
        assert_eq!(
            next.time,
            first.time + 3_000,
            "the sender's own clock is kept"
        );
        assert_eq!(next.seq, 4);
        // A new sharer on the slot: time advances with the wall clock.
        let b = ClientId::from("b");
        let x = r.map(&b, 500, 7, 90_000, t0 + ms(1_900));
        assert_eq!(x.seq, 5);
        assert!(x.time.abs_diff(next.time + 90_000) <= 1_800, "{x:?}");
    }

    #[test]
    fn an_audio_frame_is_never_split_either() {
        let mut r = Rewrite::audio();
        let a = ClientId::from("a");
        let t0 = epoch();
        let first = r.map(&a, 1, 0, HZ, t0);
        let again = r.map(&a, 2, 0, HZ, t0 + ms(300));
        assert_eq!(again.time, first.time);
    }

    #[test]
    fn switching_back_and_forth_never_steps_backwards() {
        let mut r = Rewrite::default();
        let (a, b) = (ClientId::from("a"), ClientId::from("b"));
        let t0 = epoch();
        let mut prev = r.map(&a, 10, 1_000_000, HZ, t0);
        for i in 1..50u64 {
            let (src, seq, time) = if i % 3 == 0 {
                (&b, 7 + i, 3 + i * F)
            } else {
                (&a, 10 + i, 1_000_000 + i * F)
            };
            let x = r.map(src, seq, time, HZ, t0 + ms(20 * i));
            assert!(
                x.seq > prev.seq && x.time > prev.time,
                "step {i}: {prev:?} → {x:?}"
            );
            prev = x;
        }
    }
}

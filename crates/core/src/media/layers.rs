//! Simulcast: which layer of a camera each receiver gets on each video slot.
//!
//! A publisher sends up to three encodings of its camera (RIDs `q`, `h`, `f`; one stream
//! without simulcast counts as the top layer). Every shard that has receivers of a camera sees
//! every layer's packets and measures each layer's bitrate ([`SourceLayers`]). Per receiver,
//! [`allocate`] picks one layer per slot, or none, from three things:
//!
//! * what the slot needs: its rendered height ([`wanted`]: 0 px = not shown, nothing is sent)
//!   and the receiver's cap (`setVideoSlot`);
//! * what the publisher sends: the layers that arrived within [`LAYER_SILENCE`], with their
//!   measured bitrates;
//! * the receiver's bandwidth, when its path is congested: the budget of
//!   [`super::congestion::Congestion`] (from the receiver's RTCP reports: loss and growing
//!   round-trip time), less a small reserve ([`RESERVE_BPS`]), shared by the slots in slot
//!   order (slot 0, the most relevant publisher, first): every slot first gets its lowest
//!   fitting layer, then slots are raised one layer at a time while the budget holds. A slot
//!   whose lowest layer does not fit gets nothing: the receiver degrades to audio only, and
//!   audio is never held back or dropped for video. Without congestion there is no budget.
//!
//! A layer above what a slot shows now must fit with [`UPGRADE_HEADROOM`] to spare (no flapping
//! between two layers at the edge of the budget); going down is immediate. The switch itself
//! happens at the next keyframe of the new layer (a decoder cannot start mid-stream), which
//! the receiver's shard asks the publisher for, rate-limited; until then the old layer stays on
//! the slot, unless the new choice is "nothing", which is immediate.
//!
//! Everything here is pure: time comes in as arguments.

use alcove_proto::signal::VideoLayer;
use std::time::{Duration, Instant};
use str0m::format::Codec;

/// Simulcast layers per camera (low, medium, high).
pub const LAYERS: usize = 3;

/// A layer that sent nothing for this long is not offered to receivers (a browser drops its top
/// layers when its own uplink or CPU is short).
pub const LAYER_SILENCE: Duration = Duration::from_millis(1000);

/// The part of a receiver's budget kept free of video (RTCP, feedback, a little of the audio).
/// The budget is cut from what flows ([`flowing_bps`] plus this), so the audio beside the
/// video is not counted twice: a cut that leaves less than the lowest layer turns video off.
pub const RESERVE_BPS: u64 = 20_000;

/// A higher layer than the one shown must fit this many times its extra cost.
pub const UPGRADE_HEADROOM: f64 = 1.2;

/// How often a receiver's layers are re-chosen and its congestion judged (besides on a new
/// preference or publisher).
pub const ALLOCATE_INTERVAL: Duration = Duration::from_millis(500);

/// A layer's bitrate before it was measured (a 320x180 / 640x360 / 1280x720 camera at 30 fps).
const NOMINAL_BPS: [u64; LAYERS] = [150_000, 500_000, 1_500_000];

/// The window over which a layer's bitrate is measured.
const RATE_WINDOW: Duration = Duration::from_millis(500);

/// What a receiver asked for one video slot (`setVideoSlot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPref {
    /// Rendered height in device pixels; `None` until the receiver reports one (all layers
    /// are wanted then).
    pub height: Option<u32>,
    /// The highest layer wanted.
    pub max: VideoLayer,
}

impl Default for SlotPref {
    fn default() -> Self {
        SlotPref {
            height: None,
            max: VideoLayer::High,
        }
    }
}

/// The highest layer a slot rendered as `pref` says can use (`None`: nothing, it is hidden).
/// Up to 200 px the low layer, up to 400 px the medium one, above that the high one; never
/// above the receiver's cap.
pub fn wanted(pref: SlotPref) -> Option<usize> {
    let by_height = match pref.height {
        None => LAYERS - 1,
        Some(0) => return None,
        Some(h) if h <= 200 => 0,
        Some(h) if h <= 400 => 1,
        Some(_) => LAYERS - 1,
    };
    Some(by_height.min(pref.max.index()))
}

/// One slot's demand, as [`allocate`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Demand {
    /// The highest layer wanted (`None`: nothing, or no publisher on the slot).
    pub want: Option<usize>,
    /// The publisher's layers that are live now, with their bitrates (bit/s).
    pub available: [Option<u64>; LAYERS],
    /// The layer the slot shows now.
    pub current: Option<usize>,
}

impl Demand {
    /// The layers this slot may get, lowest first: the live ones up to `want`; when the
    /// publisher sends nothing that low (one stream without simulcast), its lowest live one.
    fn candidates(&self) -> Vec<usize> {
        let Some(want) = self.want else {
            return Vec::new();
        };
        let live: Vec<usize> = (0..LAYERS)
            .filter(|l| self.available[*l].is_some())
            .collect();
        let fit: Vec<usize> = live.iter().copied().filter(|l| *l <= want).collect();
        if fit.is_empty() {
            live.into_iter().take(1).collect()
        } else {
            fit
        }
    }

    /// What layer `l` costs against the budget: its bitrate, with headroom above the layer
    /// shown now.
    fn cost(&self, l: usize) -> f64 {
        let rate = self.available[l].unwrap_or(NOMINAL_BPS[l]) as f64;
        match self.current {
            Some(c) if l <= c => rate,
            _ => rate * UPGRADE_HEADROOM,
        }
    }
}

/// The layer per slot for a receiver whose video budget is `estimate` bit/s (`None`: no
/// budget, every slot gets the highest layer it wants), `reserve` of it kept free. See the
/// module documentation.
pub fn allocate(estimate: Option<u64>, reserve: u64, demands: &[Demand]) -> Vec<Option<usize>> {
    let candidates: Vec<Vec<usize>> = demands.iter().map(Demand::candidates).collect();
    let Some(estimate) = estimate else {
        return candidates.iter().map(|c| c.last().copied()).collect();
    };
    let mut budget = estimate.saturating_sub(reserve) as f64;
    // Index into each slot's candidates; None = nothing.
    let mut pick: Vec<Option<usize>> = vec![None; demands.len()];
    for (i, (d, c)) in demands.iter().zip(&candidates).enumerate() {
        if let Some(&lowest) = c.first() {
            let cost = d.cost(lowest);
            if cost <= budget {
                budget -= cost;
                pick[i] = Some(0);
            }
        }
    }
    loop {
        let mut raised = false;
        for (i, (d, c)) in demands.iter().zip(&candidates).enumerate() {
            let Some(k) = pick[i] else { continue };
            let Some(&next) = c.get(k + 1) else { continue };
            let extra = d.cost(next) - d.cost(c[k]);
            if extra <= budget {
                budget -= extra;
                pick[i] = Some(k + 1);
                raised = true;
            }
        }
        if !raised {
            break;
        }
    }
    pick.iter()
        .zip(&candidates)
        .map(|(k, c)| k.map(|k| c[k]))
        .collect()
}

/// The total bitrate of an allocation (what the receiver's path carries for video).
pub fn allocated_bps(demands: &[Demand], picks: &[Option<usize>]) -> u64 {
    demands
        .iter()
        .zip(picks)
        .filter_map(|(d, p)| p.map(|l| d.available[l].unwrap_or(NOMINAL_BPS[l])))
        .sum()
}

/// The bitrate of the layers the slots show now.
pub fn flowing_bps(demands: &[Demand]) -> u64 {
    demands
        .iter()
        .filter_map(|d| d.current.map(|l| d.available[l].unwrap_or(NOMINAL_BPS[l])))
        .sum()
}

/// The bitrate an allocation would need if the budget allowed everything wanted.
pub fn desired_bps(demands: &[Demand]) -> u64 {
    let picks = allocate(None, 0, demands);
    allocated_bps(demands, &picks)
}

/// The live layers of one camera as one shard sees them.
#[derive(Debug, Clone, Default)]
pub struct SourceLayers {
    /// Per layer: when its last packet arrived.
    last: [Option<Instant>; LAYERS],
    /// Per layer: the measured bitrate (bit/s), once a window was complete.
    rate: [Option<u64>; LAYERS],
    /// Per layer: bytes in the current window, and when the window began.
    window: [(u64, Option<Instant>); LAYERS],
}

impl SourceLayers {
    /// A packet of `bytes` payload bytes arrived on `layer` at `now`.
    pub fn packet(&mut self, layer: usize, bytes: usize, now: Instant) {
        if layer >= LAYERS {
            return;
        }
        self.last[layer] = Some(now);
        let (sum, start) = &mut self.window[layer];
        let begun = *start.get_or_insert(now);
        // Payload plus RTP/SRTP/UDP/IP overhead.
        *sum += bytes as u64 + 60;
        let span = now.saturating_duration_since(begun);
        if span >= RATE_WINDOW {
            let measured = (*sum as f64 * 8.0 / span.as_secs_f64()) as u64;
            self.rate[layer] = Some(match self.rate[layer] {
                Some(old) => (old + measured) / 2,
                None => measured,
            });
            self.window[layer] = (0, Some(now));
        }
    }

    /// The layers live at `now`, with their bitrates (nominal until measured).
    pub fn available(&self, now: Instant) -> [Option<u64>; LAYERS] {
        let mut out = [None; LAYERS];
        for (l, o) in out.iter_mut().enumerate() {
            if self.last[l].is_some_and(|t| now.saturating_duration_since(t) < LAYER_SILENCE) {
                *o = Some(self.rate[l].unwrap_or_else(|| self.partial(l, now)));
            }
        }
        out
    }

    /// A layer's bitrate before its first window completed: what the window holds so far
    /// (from 100 ms on), else the low layer's nominal rate (optimistic: a layer that turns out
    /// larger is lowered at the next allocation, while a pessimistic guess would keep a small
    /// stream off until it is measured).
    fn partial(&self, l: usize, now: Instant) -> u64 {
        let (sum, start) = self.window[l];
        match start.map(|s| now.saturating_duration_since(s)) {
            Some(span) if span >= Duration::from_millis(100) => {
                (sum as f64 * 8.0 / span.as_secs_f64()) as u64
            }
            _ => NOMINAL_BPS[0],
        }
    }
}

/// True when `payload` (one RTP packet's payload, `codec`) begins a keyframe: a decoder can
/// start on it. VP8: the first packet of a frame (S bit, partition 0) whose frame header has
/// the key bit clear; H.264: an IDR slice or SPS, alone, first in a STAP-A, or as the start of
/// an FU-A. Anything else (other codecs, malformed payloads) is not.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_keyframe(payload),
        Codec::H264 => h264_keyframe(payload),
        _ => false,
    }
}

fn vp8_keyframe(p: &[u8]) -> bool {
    // RFC 7741 payload descriptor.
    let Some(&b0) = p.first() else { return false };
    let start = b0 & 0x10 != 0;
    let partition = b0 & 0x0f;
    if !start || partition != 0 {
        return false;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let Some(&x) = p.get(i) else { return false };
        i += 1;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID / Y / KEYIDX
        }
    }
    // The VP8 frame header: bit 0 (P) is 0 on a key frame.
    p.get(i).is_some_and(|h| h & 0x01 == 0)
}

fn h264_keyframe(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let key = |nal: u8| matches!(nal & 0x1f, 5 | 7);
    match b0 & 0x1f {
        1..=23 => key(b0),
        // STAP-A: the first aggregated unit (after a 2-byte size).
        24 => p.get(3).is_some_and(|n| key(*n)),
        // FU-A: the start bit and the original type in the FU header.
        28 => p.get(1).is_some_and(|h| h & 0x80 != 0 && key(*h)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(want: Option<usize>, live: [bool; 3], current: Option<usize>) -> Demand {
        let mut available = [None; LAYERS];
        for (l, on) in live.iter().enumerate() {
            if *on {
                available[l] = Some(NOMINAL_BPS[l]);
            }
        }
        Demand {
            want,
            available,
            current,
        }
    }

    const ALL: [bool; 3] = [true, true, true];

    #[test]
    fn height_and_cap_choose_the_wanted_layer() {
        let p = |height, max| wanted(SlotPref { height, max });
        assert_eq!(p(None, VideoLayer::High), Some(2));
        assert_eq!(p(Some(0), VideoLayer::High), None);
        assert_eq!(p(Some(120), VideoLayer::High), Some(0));
        assert_eq!(p(Some(360), VideoLayer::High), Some(1));
        assert_eq!(p(Some(720), VideoLayer::High), Some(2));
        assert_eq!(p(Some(720), VideoLayer::Low), Some(0));
        assert_eq!(p(None, VideoLayer::Medium), Some(1));
    }

    #[test]
    fn no_estimate_gives_every_slot_its_highest_wanted_layer() {
        let d = [
            demand(Some(2), ALL, None),
            demand(Some(1), ALL, None),
            demand(None, ALL, None),
        ];
        assert_eq!(allocate(None, 100_000, &d), vec![Some(2), Some(1), None]);
    }

    #[test]
    fn a_shrinking_estimate_lowers_layers_then_turns_slots_off_last_slot_first() {
        let d = [demand(Some(2), ALL, Some(2)), demand(Some(2), ALL, Some(2))];
        // Plenty: both high (2 × 1.5 M + audio).
        assert_eq!(
            allocate(Some(3_200_000), 100_000, &d),
            vec![Some(2), Some(2)]
        );
        // Room for one high and one medium.
        assert_eq!(
            allocate(Some(2_200_000), 100_000, &d),
            vec![Some(2), Some(1)]
        );
        // 1.2 M: slot 0 is raised first: medium + medium fits (1.1 M incl. reserve) — the
        // first pass gives both low, the raising pass goes slot by slot.
        assert_eq!(
            allocate(Some(1_200_000), 100_000, &d),
            vec![Some(1), Some(1)]
        );
        // 500 k: both low.
        assert_eq!(allocate(Some(500_000), 100_000, &d), vec![Some(0), Some(0)]);
        // 300 k: only slot 0 fits its low layer.
        assert_eq!(allocate(Some(300_000), 100_000, &d), vec![Some(0), None]);
        // Less than audio and one low layer: audio only.
        assert_eq!(allocate(Some(200_000), 100_000, &d), vec![None, None]);
    }

    #[test]
    fn going_up_needs_headroom_going_down_does_not() {
        // Showing medium; high costs 1.5 M + 20 %.
        let d = [demand(Some(2), ALL, Some(1))];
        assert_eq!(allocate(Some(1_650_000), 100_000, &d), vec![Some(1)]);
        assert_eq!(allocate(Some(1_950_000), 100_000, &d), vec![Some(2)]);
        // Showing high: it stays at exactly its cost.
        let d = [demand(Some(2), ALL, Some(2))];
        assert_eq!(allocate(Some(1_600_000), 100_000, &d), vec![Some(2)]);
        assert_eq!(allocate(Some(1_550_000), 100_000, &d), vec![Some(1)]);
    }

    #[test]
    fn a_missing_layer_is_skipped_and_a_single_stream_is_taken_as_it_is() {
        // The top layer stopped (the publisher's browser dropped it).
        let d = [demand(Some(2), [true, true, false], Some(2))];
        assert_eq!(allocate(None, 100_000, &d), vec![Some(1)]);
        // No simulcast: one stream (counted as the top layer), wanted low.
        let d = [demand(Some(0), [false, false, true], None)];
        assert_eq!(allocate(None, 100_000, &d), vec![Some(2)]);
        assert_eq!(allocate(Some(2_000_000), 100_000, &d), vec![Some(2)]);
        assert_eq!(allocate(Some(1_000_000), 100_000, &d), vec![None]);
        // Nothing live: nothing.
        let d = [demand(Some(2), [false; 3], None)];
        assert_eq!(allocate(Some(10_000_000), 100_000, &d), vec![None]);
    }

    #[test]
    fn every_allocation_fits_its_budget() {
        // Exhaustive over estimates, wants, live layers and current layers of two slots.
        let wants = [None, Some(0), Some(1), Some(2)];
        let currents = [None, Some(0), Some(1), Some(2)];
        for estimate in (0..40).map(|k| k * 100_000u64) {
            for w0 in wants {
                for w1 in wants {
                    for live in 0..8u8 {
                        let live = [live & 1 != 0, live & 2 != 0, live & 4 != 0];
                        for c in currents {
                            let d = [demand(w0, live, c), demand(w1, live, None)];
                            let picks = allocate(Some(estimate), 100_000, &d);
                            let used = allocated_bps(&d, &picks);
                            assert!(
                                used + 100_000 <= estimate.max(100_000)
                                    || picks.iter().all(Option::is_none),
                                "{estimate} {d:?} → {picks:?}"
                            );
                            for (p, d) in picks.iter().zip(&d) {
                                if let Some(l) = p {
                                    assert!(d.available[*l].is_some(), "{d:?} → {picks:?}");
                                    assert!(d.want.is_some());
                                }
                            }
                            // More bandwidth never gives less.
                            let more = allocate(Some(estimate + 5_000_000), 100_000, &d);
                            for (a, b) in picks.iter().zip(&more) {
                                assert!(a.is_none() || b >= a, "{d:?}: {picks:?} vs {more:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test's fixed origin, not the core reading a clock
    fn layer_rates_are_measured_and_silent_layers_drop_out() {
        let t0 = Instant::now();
        let mut s = SourceLayers::default();
        // Layer 0: 1000-byte packets, 100 per second → about 850 kbit/s with overhead.
        for i in 0..100u64 {
            s.packet(0, 1000, t0 + Duration::from_millis(i * 10));
        }
        let now = t0 + Duration::from_millis(1000);
        let a = s.available(now);
        let r = a[0].expect("layer 0 live");
        assert!((800_000..900_000).contains(&r), "{r}");
        assert_eq!(a[1], None);
        assert_eq!(s.available(now + LAYER_SILENCE)[0], None);
    }

    #[test]
    fn keyframes_are_recognised() {
        // str0m's VP8 packetizer: X bit, 15-bit picture id, then the frame.
        assert!(starts_keyframe(
            Codec::Vp8,
            &[0x90, 0x80, 0x81, 0x02, 0x10, 0x02]
        ));
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x90, 0x80, 0x81, 0x02, 0x11, 0x02]
        ));
        // Not the start of the frame.
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x80, 0x80, 0x81, 0x02, 0x10]
        ));
        // No extension: the frame header follows at once.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x10, 0x02]));
        assert!(!starts_keyframe(Codec::Vp8, &[]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0xff]));
        // H.264: IDR, SPS in a STAP-A, FU-A start of an IDR; a P slice is not.
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x00]));
        assert!(starts_keyframe(Codec::H264, &[0x78, 0x00, 0x10, 0x67]));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05]));
        assert!(!starts_keyframe(Codec::H264, &[0x41]));
        assert!(!starts_keyframe(Codec::Opus, &[0x10]));
    }
}

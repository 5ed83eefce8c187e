//! The arithmetic of the `video` scenario, free of I/O, shared with `janus-bench video`: what
//! each publisher sent and each receiver got inside the window, and the numbers made of them.
//!
//! * A frame counts when its stamped send time is inside the window, wherever it arrives (as
//!   `steady`); RTP counters (str0m's, sampled every [`super::RTP_STATS`]) are the difference
//!   of two readings at the window's ends.
//! * Each receiver expects, from every publisher but itself, the frames of ONE layer: the one
//!   it received most frames of (a server forwards one layer per receiver and publisher), or,
//!   when it received nothing from that publisher, the publisher's top layer. Frames of other
//!   layers of the same publisher are counted apart (`other_layer_frames`: layer switches, or
//!   a server that mixes layers).
//! * loss = 1 − received / expected, over all (receiver, publisher) pairs.

use crate::stats::Summary;
use crate::vp8::{self, VideoStamp, LAYERS};
use alcove_client::media::RtpCount;
use serde::Serialize;
use std::collections::BTreeMap;

/// One publisher's sends inside the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PublisherCount {
    /// Index of the client in the run.
    pub index: u32,
    /// Frames per layer (index into [`LAYERS`]).
    pub frames: [u64; 3],
    /// Keyframes per layer.
    pub keyframes: [u64; 3],
    /// Frame bytes per layer (VP8 payload, before RTP).
    pub bytes: [u64; 3],
    /// Keyframe requests (PLI/FIR) the publisher received per layer.
    pub keyframe_requests: [u32; 3],
    /// RTP packets and bytes str0m sent per layer.
    pub rtp: [RtpCount; 3],
}

impl PublisherCount {
    /// Counts a frame made at `sent_ns` of `len` bytes when it is inside `[start, end)`.
    pub fn sent(&mut self, st: &VideoStamp, len: usize, window: Option<(u64, u64)>) {
        if window.is_some_and(|(a, b)| (a..b).contains(&st.sent_ns)) {
            let l = usize::from(st.layer);
            self.frames[l] += 1;
            self.bytes[l] += len as u64;
            self.keyframes[l] += u64::from(st.keyframe);
        }
    }
}

/// One video slot (Alcove) or one subscribed feed (Janus) at one receiver, inside the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlotCount {
    /// Frames.
    pub frames: u64,
    /// Keyframes among them.
    pub keyframes: u64,
    /// Frame bytes.
    pub bytes: u64,
    /// Frames per layer.
    pub layers: [u64; 3],
    /// Publishers seen on it.
    pub publishers: Vec<u32>,
}

/// One receiver's frames inside the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReceiverCount {
    /// Index of the client in the run.
    pub index: u32,
    /// Per slot.
    pub slots: Vec<SlotCount>,
    /// Frames per (publisher, layer).
    #[serde(skip)]
    pub streams: BTreeMap<(u32, u8), u64>,
    /// End-to-end latency of every frame, microseconds.
    #[serde(skip)]
    pub latency_us: Vec<u32>,
    /// Frames (any time) without this tool's stamp: mangled in transit, or layers mixed into
    /// one frame.
    pub unstamped: u64,
    /// Frames received in all (any send time).
    pub total: u64,
    /// RTP packets and bytes str0m received on the video slots.
    pub rtp: RtpCount,
}

impl ReceiverCount {
    /// Counts a frame that arrived on `slot` at `at_ns`.
    pub fn received(&mut self, slot: usize, data: &[u8], at_ns: u64, window: Option<(u64, u64)>) {
        self.total += 1;
        let Some(st) = vp8::parse(data) else {
            self.unstamped += 1;
            return;
        };
        let Some((a, b)) = window else { return };
        if !(a..b).contains(&st.sent_ns) {
            return;
        }
        if self.slots.len() <= slot {
            self.slots.resize(slot + 1, SlotCount::default());
        }
        let s = &mut self.slots[slot];
        s.frames += 1;
        s.keyframes += u64::from(st.keyframe);
        s.bytes += data.len() as u64;
        s.layers[usize::from(st.layer)] += 1;
        if !s.publishers.contains(&st.sender) {
            s.publishers.push(st.sender);
        }
        *self.streams.entry((st.sender, st.layer)).or_default() += 1;
        let us = at_ns.saturating_sub(st.sent_ns) / 1_000;
        self.latency_us.push(u32::try_from(us).unwrap_or(u32::MAX));
    }
}

/// A distribution of plain numbers (bitrates, frame counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Samples.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// Of `v` (all zero when empty).
    pub fn of(v: impl IntoIterator<Item = f64>) -> Spread {
        let v: Vec<f64> = v.into_iter().collect();
        if v.is_empty() {
            return Spread::default();
        }
        Spread {
            n: v.len(),
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// The numbers of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VideoTally {
    /// Frames publishers sent, per layer.
    pub frames_sent: [u64; 3],
    /// Keyframes publishers sent, per layer.
    pub keyframes_sent: [u64; 3],
    /// Keyframe requests (PLI/FIR) publishers received, per layer.
    pub keyframe_requests: [u64; 3],
    /// Publishers' send bitrate per layer, kbit/s (RTP bytes; frame bytes when no RTP count).
    pub publish_kbps: [f64; 3],
    /// Frames receivers should have got (see the module docs).
    pub frames_expected: u64,
    /// Frames of the expected layers receivers got.
    pub frames_received: u64,
    /// Frames of other layers of the same publishers.
    pub other_layer_frames: u64,
    /// Frames from publishers a receiver should not see (itself).
    pub foreign_frames: u64,
    /// Keyframes receivers got.
    pub keyframes_received: u64,
    /// Frames without a stamp (any time).
    pub unstamped_frames: u64,
    /// 1 − received / expected.
    pub loss: f64,
    /// Which layer each receiver got from each publisher, counted over (receiver, publisher)
    /// pairs: how many pairs got q, h, f, nothing.
    pub layer_pairs: [u64; 4],
    /// Frames forwarded in the window (every frame every receiver got).
    pub forwarded_frames: u64,
    /// RTP packets receivers got on video slots.
    pub forwarded_packets: u64,
    /// RTP bytes receivers got on video slots.
    pub forwarded_bytes: u64,
    /// Server egress of video, Mbit/s (RTP bytes at the receivers / window).
    pub egress_mbps: f64,
    /// Per receiver, kbit/s.
    pub receiver_kbps: Spread,
    /// Frames per (receiver, occupied slot) per second.
    pub slot_fps: Spread,
    /// End-to-end latency of video frames.
    pub latency: Option<Summary>,
}

impl VideoTally {
    /// Counts a window of `window_s` seconds. `publishers` are the clients that published,
    /// `receivers` every client with video slots (a publisher too).
    pub fn of(
        publishers: &[PublisherCount],
        receivers: &[ReceiverCount],
        window_s: f64,
    ) -> VideoTally {
        let w = window_s.max(1e-9);
        let mut t = VideoTally::default();
        for p in publishers {
            for l in 0..3 {
                t.frames_sent[l] += p.frames[l];
                t.keyframes_sent[l] += p.keyframes[l];
                t.keyframe_requests[l] += u64::from(p.keyframe_requests[l]);
                let bytes = if p.rtp[l].bytes > 0 {
                    p.rtp[l].bytes
                } else {
                    p.bytes[l]
                };
                t.publish_kbps[l] += bytes as f64 * 8.0 / w / 1000.0;
            }
        }
        let n_pub = publishers.len().max(1) as f64;
        for k in &mut t.publish_kbps {
            *k /= n_pub;
        }
        let mut latency = Vec::new();
        let mut kbps = Vec::new();
        let mut fps = Vec::new();
        for r in receivers {
            for p in publishers.iter().filter(|p| p.index != r.index) {
                let got: [u64; 3] = std::array::from_fn(|l| {
                    r.streams.get(&(p.index, l as u8)).copied().unwrap_or(0)
                });
                let top = (0..3).rev().find(|l| p.frames[*l] > 0).unwrap_or(2);
                let best = (0..3).max_by_key(|l| (got[*l], *l)).filter(|l| got[*l] > 0);
                let layer = best.unwrap_or(top);
                t.layer_pairs[best.unwrap_or(3)] += 1;
                t.frames_expected += p.frames[layer];
                t.frames_received += got[layer].min(p.frames[layer]);
                t.other_layer_frames += got.iter().sum::<u64>() - got[layer];
            }
            t.foreign_frames += r
                .streams
                .iter()
                .filter(|((s, _), _)| *s == r.index || !publishers.iter().any(|p| p.index == *s))
                .map(|(_, n)| n)
                .sum::<u64>();
            for s in &r.slots {
                t.forwarded_frames += s.frames;
                t.keyframes_received += s.keyframes;
                if s.frames > 0 {
                    fps.push(s.frames as f64 / w);
                }
            }
            t.unstamped_frames += r.unstamped;
            t.forwarded_packets += r.rtp.packets;
            t.forwarded_bytes += r.rtp.bytes;
            kbps.push(r.rtp.bytes as f64 * 8.0 / w / 1000.0);
            latency.extend_from_slice(&r.latency_us);
        }
        t.loss = if t.frames_expected == 0 {
            1.0
        } else {
            1.0 - t.frames_received as f64 / t.frames_expected as f64
        };
        t.egress_mbps = t.forwarded_bytes as f64 * 8.0 / w / 1e6;
        t.receiver_kbps = Spread::of(kbps);
        t.slot_fps = Spread::of(fps);
        t.latency = Summary::of_micros(&latency);
        t
    }

    /// Text lines for a report.
    pub fn text(&self) -> String {
        let rids = LAYERS.map(|l| l.rid);
        let per = |v: &[u64; 3]| {
            (0..3)
                .map(|l| format!("{} {}", rids[l], v[l]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = String::new();
        s.push_str(&format!(
            "  frames sent per layer: {}\n",
            per(&self.frames_sent)
        ));
        s.push_str(&format!(
            "  publish bitrate per publisher: {}\n",
            (0..3)
                .map(|l| format!("{} {:.0} kbit/s", rids[l], self.publish_kbps[l]))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        s.push_str(&format!(
            "  keyframes sent: {}; keyframe requests (PLI/FIR) at publishers: {}\n",
            per(&self.keyframes_sent),
            per(&self.keyframe_requests)
        ));
        s.push_str(&format!(
            "  receivers: expected {} frames, received {} (loss {:.3}%), other layers {}, foreign {}, unstamped {}, keyframes {}\n",
            self.frames_expected,
            self.frames_received,
            self.loss * 100.0,
            self.other_layer_frames,
            self.foreign_frames,
            self.unstamped_frames,
            self.keyframes_received
        ));
        s.push_str(&format!(
            "  layer per (receiver, publisher): q {}, h {}, f {}, nothing {}\n",
            self.layer_pairs[0], self.layer_pairs[1], self.layer_pairs[2], self.layer_pairs[3]
        ));
        s.push_str(&format!(
            "  forwarded: {:.2} Mbit/s server egress (RTP), {} frames, {} packets; per receiver {:.0} kbit/s (min {:.0}, max {:.0})\n",
            self.egress_mbps,
            self.forwarded_frames,
            self.forwarded_packets,
            self.receiver_kbps.mean,
            self.receiver_kbps.min,
            self.receiver_kbps.max
        ));
        s.push_str(&format!(
            "  frames per second per (receiver, slot): mean {:.1} (min {:.1}, max {:.1}, {} slots)\n",
            self.slot_fps.mean, self.slot_fps.min, self.slot_fps.max, self.slot_fps.n
        ));
        s.push_str(&format!(
            "  end-to-end latency of video frames {}\n",
            crate::stats::line(&self.latency)
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(sender: u32, layer: u8, seq: u32, sent_ns: u64) -> Vec<u8> {
        let mut b = Vec::new();
        let st = VideoStamp {
            sender,
            layer,
            keyframe: seq == 0,
            seq,
            sent_ns,
        };
        vp8::build(&mut b, st, 100);
        b
    }

    #[test]
    fn each_pair_expects_the_layer_it_got_most_of() {
        let w = Some((0, 1_000));
        let mut p1 = PublisherCount {
            index: 1,
            ..PublisherCount::default()
        };
        p1.frames = [10, 10, 10];
        let p2 = PublisherCount {
            index: 2,
            frames: [0, 0, 10],
            ..PublisherCount::default()
        };
        let mut r = ReceiverCount {
            index: 3,
            ..ReceiverCount::default()
        };
        for seq in 0..8 {
            r.received(0, &frame(1, 1, seq, 10), 20, w);
        }
        r.received(0, &frame(1, 0, 9, 10), 20, w);
        r.received(1, &frame(3, 2, 1, 10), 20, w);
        r.received(1, &frame(1, 2, 1, 5_000), 20, w);
        r.received(1, b"junk", 20, w);
        let t = VideoTally::of(&[p1, p2], &[r], 1.0);
        // p1: layer h expected (10), 8 received, 1 of q; p2: nothing, top layer f expected (10).
        assert_eq!(t.frames_expected, 20);
        assert_eq!(t.frames_received, 8);
        assert_eq!(t.other_layer_frames, 1);
        assert_eq!(t.foreign_frames, 1, "its own frames");
        assert_eq!(t.unstamped_frames, 1);
        assert_eq!(t.layer_pairs, [0, 1, 0, 1]);
        assert_eq!(t.forwarded_frames, 10, "outside the window not counted");
        assert!((t.loss - 0.6).abs() < 1e-9);
    }
}

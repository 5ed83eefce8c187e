//! The synthetic camera of the `video` scenario: VP8 frames in up to three simulcast layers at
//! the sizes a real encoder produces, each stamped so that a receiver can name its publisher
//! and layer and time it.
//!
//! A frame is a valid VP8 frame header followed by a stamp and filler (RFC 6386 §9.1): a
//! keyframe starts with the 3-byte frame tag (bit 0 clear: key frame; show_frame set; the
//! first partition's size), the start code `9d 01 2a` and the width and height of its layer;
//! a delta frame with the 3-byte tag, bit 0 set. Servers look at exactly these bytes to find
//! keyframes (Janus's `janus_vp8_is_keyframe`, Alcove's keyframe checks); nobody decodes the
//! rest. str0m's VP8 packetizer splits each frame into RTP packets of at most its MTU with the
//! RFC 7741 payload descriptor (S bit on the first packet, partition index 0).
//!
//! Sizes ([`LAYERS`], 30 frames/s): `q` 320×180 at 150 kbit/s, `h` 640×360 at 500 kbit/s, `f`
//! 1280×720 at 2 Mbit/s; a keyframe every [`KEYFRAME_EVERY`] frames (2.5 s) or when the layer
//! was asked for one (PLI/FIR), [`KEYFRAME_RATIO`] times the size of a delta frame, the delta
//! size chosen so that a group of pictures averages the layer's bitrate.

use crate::payload::Clock;
use std::time::Duration;

/// One simulcast layer of the synthetic camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// RTP stream id (`alcove_client::media::SIMULCAST_RIDS`).
    pub rid: &'static str,
    /// Width in pixels (written into keyframes).
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Average bitrate, kbit/s.
    pub kbps: u32,
}

/// The three layers, lowest first.
pub const LAYERS: [LayerSpec; 3] = [
    LayerSpec {
        rid: "q",
        width: 320,
        height: 180,
        kbps: 150,
    },
    LayerSpec {
        rid: "h",
        width: 640,
        height: 360,
        kbps: 500,
    },
    LayerSpec {
        rid: "f",
        width: 1280,
        height: 720,
        kbps: 2000,
    },
];

/// Frames per second of every layer.
pub const FPS: u32 = 30;
/// Time between two frames.
pub const FRAME_INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / FPS as u64);
/// A periodic keyframe every this many frames (2.5 s at 30 frames/s).
pub const KEYFRAME_EVERY: u32 = 75;
/// A keyframe is this many times a delta frame.
pub const KEYFRAME_RATIO: usize = 6;

/// Bytes of the stamp: magic, sender, layer, flags, sequence number, send time.
const STAMP_LEN: usize = 4 + 4 + 1 + 1 + 4 + 8;
/// Marks this tool's frames (after the VP8 header).
const MAGIC: [u8; 4] = *b"ALvd";
/// Bytes of a keyframe's header: frame tag, start code, width, height.
const KEY_HEADER: usize = 10;
/// Bytes of a delta frame's header: the frame tag.
const DELTA_HEADER: usize = 3;

impl LayerSpec {
    /// (delta, key) frame sizes in bytes: a group of [`KEYFRAME_EVERY`] frames, one of them a
    /// keyframe of [`KEYFRAME_RATIO`] deltas, carries `kbps` on average.
    pub fn frame_sizes(&self) -> (usize, usize) {
        let gop_bytes =
            u64::from(self.kbps) * 1000 / 8 * u64::from(KEYFRAME_EVERY) / u64::from(FPS);
        let units = u64::from(KEYFRAME_EVERY) - 1 + KEYFRAME_RATIO as u64;
        let delta = (gop_bytes / units) as usize;
        (
            delta.max(KEY_HEADER + STAMP_LEN),
            (delta * KEYFRAME_RATIO).max(KEY_HEADER + STAMP_LEN),
        )
    }
}

/// What a frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoStamp {
    /// Index of the publishing client in the run.
    pub sender: u32,
    /// Layer index into [`LAYERS`].
    pub layer: u8,
    /// A keyframe.
    pub keyframe: bool,
    /// The layer's frame counter, from 0.
    pub seq: u32,
    /// Send time, nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

/// Builds a frame of `len` bytes carrying `stamp` into `buf` (reused between frames).
pub fn build(buf: &mut Vec<u8>, stamp: VideoStamp, len: usize) {
    let spec = &LAYERS[usize::from(stamp.layer).min(LAYERS.len() - 1)];
    let header = if stamp.keyframe {
        KEY_HEADER
    } else {
        DELTA_HEADER
    };
    let len = len.max(header + STAMP_LEN);
    buf.clear();
    buf.resize(len, 0);
    // Frame tag (RFC 6386 §9.1), little-endian 24 bits: key_frame (0 = key), version 0,
    // show_frame 1, first_part_size (19 bits): here the whole frame after the header.
    let first_part = u32::try_from(len - header)
        .unwrap_or(u32::MAX)
        .min((1 << 19) - 1);
    let tag = u32::from(!stamp.keyframe) | (1 << 4) | (first_part << 5);
    buf[0..3].copy_from_slice(&tag.to_le_bytes()[0..3]);
    if stamp.keyframe {
        buf[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        // 14 bits of size, 2 bits of scale (0).
        buf[6..8].copy_from_slice(&(spec.width & 0x3fff).to_le_bytes());
        buf[8..10].copy_from_slice(&(spec.height & 0x3fff).to_le_bytes());
    }
    let s = &mut buf[header..header + STAMP_LEN];
    s[0..4].copy_from_slice(&MAGIC);
    s[4..8].copy_from_slice(&stamp.sender.to_le_bytes());
    s[8] = stamp.layer;
    s[9] = u8::from(stamp.keyframe);
    s[10..14].copy_from_slice(&stamp.seq.to_le_bytes());
    s[14..22].copy_from_slice(&stamp.sent_ns.to_le_bytes());
}

/// Reads the stamp of a received frame; `None` for frames this tool did not make (or that
/// arrived mangled: the header and the stamp must agree on the kind of frame).
pub fn parse(frame: &[u8]) -> Option<VideoStamp> {
    let key = frame.first()? & 1 == 0;
    if key && frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let header = if key { KEY_HEADER } else { DELTA_HEADER };
    let s = frame.get(header..header + STAMP_LEN)?;
    if s[0..4] != MAGIC || (s[9] == 1) != key || usize::from(s[8]) >= LAYERS.len() {
        return None;
    }
    Some(VideoStamp {
        sender: u32::from_le_bytes(s[4..8].try_into().ok()?),
        layer: s[8],
        keyframe: key,
        seq: u32::from_le_bytes(s[10..14].try_into().ok()?),
        sent_ns: u64::from_le_bytes(s[14..22].try_into().ok()?),
    })
}

/// Width and height written in a keyframe (`None` for a delta frame).
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.first()? & 1 != 0 || frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes(frame.get(6..8)?.try_into().ok()?) & 0x3fff;
    let h = u16::from_le_bytes(frame.get(8..10)?.try_into().ok()?) & 0x3fff;
    Some((w, h))
}

/// One layer's encoder state: frame counter, when the last keyframe went out, and the
/// keyframe requests already answered.
#[derive(Debug, Clone, Default)]
pub struct LayerState {
    /// Frames made so far.
    pub seq: u32,
    /// Frames since the last keyframe (`None` before the first).
    since_key: Option<u32>,
    /// Keyframe requests seen so far (the publisher's count).
    requests_seen: u32,
    /// Keyframes made so far.
    pub keyframes: u64,
    /// Keyframes made because of a request.
    pub requested_keyframes: u64,
}

/// The synthetic camera of one publisher: `layers` of [`LAYERS`] (1: the full layer alone, as
/// a camera without simulcast; 3: all three).
#[derive(Debug, Clone)]
pub struct Camera {
    /// Index stamped into every frame.
    pub sender: u32,
    /// Which entries of [`LAYERS`] it sends.
    pub layers: Vec<u8>,
    /// Encoder state per sent layer (same order as `layers`).
    pub state: Vec<LayerState>,
    buf: Vec<u8>,
}

impl Camera {
    /// A camera with 1 or 3 layers.
    pub fn new(sender: u32, layers: u8) -> Camera {
        let layers: Vec<u8> = if layers >= 3 { vec![0, 1, 2] } else { vec![2] };
        Camera {
            sender,
            state: vec![LayerState::default(); layers.len()],
            layers,
            buf: Vec::new(),
        }
    }

    /// Makes the next frame of the `i`-th sent layer at `clock`'s now. `requests` is the
    /// publisher's count of keyframe requests for that layer so far: a new one makes this
    /// frame a keyframe. The frame and its stamp.
    pub fn next(&mut self, i: usize, requests: u32, clock: &Clock) -> (&[u8], VideoStamp) {
        let layer = self.layers[i];
        let st = &mut self.state[i];
        let requested = requests > st.requests_seen;
        st.requests_seen = st.requests_seen.max(requests);
        let periodic = st.since_key.is_none_or(|n| n + 1 >= KEYFRAME_EVERY);
        let keyframe = periodic || requested;
        let (delta, key) = LAYERS[usize::from(layer)].frame_sizes();
        let stamp = VideoStamp {
            sender: self.sender,
            layer,
            keyframe,
            seq: st.seq,
            sent_ns: clock.now_ns(),
        };
        st.seq = st.seq.wrapping_add(1);
        if keyframe {
            st.since_key = Some(0);
            st.keyframes += 1;
            if requested && !periodic {
                st.requested_keyframes += 1;
            }
        } else {
            st.since_key = st.since_key.map(|n| n + 1);
        }
        build(&mut self.buf, stamp, if keyframe { key } else { delta });
        (&self.buf, stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_the_round_trip_in_both_kinds_of_frame() {
        let mut buf = Vec::new();
        for keyframe in [true, false] {
            let st = VideoStamp {
                sender: 9,
                layer: 1,
                keyframe,
                seq: 77,
                sent_ns: 123_456_789,
            };
            build(&mut buf, st, 2000);
            assert_eq!(buf.len(), 2000);
            assert_eq!(buf[0] & 1 == 0, keyframe, "frame tag bit 0");
            assert_eq!(parse(&buf), Some(st));
            assert_eq!(keyframe_size(&buf), keyframe.then_some((640, 360)));
        }
        assert_eq!(
            parse(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0, 0]),
            None
        );
    }

    #[test]
    fn layer_sizes_average_their_bitrate_over_a_group_of_pictures() {
        for spec in LAYERS {
            let (delta, key) = spec.frame_sizes();
            assert_eq!(key, delta * KEYFRAME_RATIO);
            let gop = (KEYFRAME_EVERY as usize - 1) * delta + key;
            let kbps = gop as f64 * 8.0 / (f64::from(KEYFRAME_EVERY) / f64::from(FPS)) / 1000.0;
            assert!(
                (kbps - f64::from(spec.kbps)).abs() / f64::from(spec.kbps) < 0.01,
                "{kbps}"
            );
        }
    }

    #[test]
    fn keyframes_come_periodically_and_on_request() {
        let clock = Clock::start();
        let mut cam = Camera::new(1, 3);
        let keys: Vec<bool> = (0..151)
            .map(|_| cam.next(0, 0, &clock).1.keyframe)
            .collect();
        let at: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at, vec![0, 75, 150]);
        assert!(
            cam.next(0, 1, &clock).1.keyframe,
            "a request makes a keyframe"
        );
        assert!(
            !cam.next(0, 1, &clock).1.keyframe,
            "the same request only once"
        );
        assert_eq!(cam.state[0].requested_keyframes, 1);
        assert_eq!(Camera::new(1, 1).layers, vec![2]);
    }
}

//! The stamp every synthetic frame carries, in the format of `alcove-load` (crates/load,
//! `payload.rs`), so the two tools measure the same thing.
//!
//! A frame is what [`synthetic_opus_frame`] makes of a 16-byte stamp — the sender's index
//! (`u32`), its sequence number (`u32`) and its send time in nanoseconds since the run's
//! [`Clock`] epoch (`u64`), all little-endian — padded with zeros to [`FRAME_LEN`] bytes, the
//! size of a 20 ms Opus frame at 32 kbit/s. Senders and receivers live in one process, so the
//! send time and the receive time come from the same monotonic clock.

use alcove_client::media::synthetic_opus_frame;
use std::time::Instant;

/// Bytes per frame on the wire (before RTP and SRTP): a 20 ms Opus frame at 32 kbit/s.
pub const FRAME_LEN: usize = 80;
/// Bytes of the stamp.
const STAMP_LEN: usize = 16;

/// The run's time base: every send and receive time is nanoseconds since `epoch`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// When the run started.
    pub epoch: Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds from the epoch to `t` (0 for instants before it).
    pub fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What a frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the sending client in the run.
    pub sender: u32,
    /// The sender's frame counter, from 0.
    pub seq: u32,
    /// Send time, nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

/// A reusable frame buffer: one allocation per sender, rewritten in place for every frame.
#[derive(Debug, Clone)]
pub struct FrameBuf {
    buf: Vec<u8>,
}

impl Default for FrameBuf {
    fn default() -> Self {
        FrameBuf::new()
    }
}

impl FrameBuf {
    /// A zeroed frame of [`FRAME_LEN`] bytes as built by [`synthetic_opus_frame`].
    pub fn new() -> FrameBuf {
        let buf = synthetic_opus_frame(&[0u8; FRAME_LEN - 1]);
        debug_assert_eq!(buf.len(), FRAME_LEN);
        FrameBuf { buf }
    }

    /// Writes `stamp` into the frame and returns it.
    pub fn stamp(&mut self, stamp: Stamp) -> &[u8] {
        // Byte 0 is the Opus TOC byte put there by `synthetic_opus_frame`.
        let s = &mut self.buf[1..1 + STAMP_LEN];
        s[0..4].copy_from_slice(&stamp.sender.to_le_bytes());
        s[4..8].copy_from_slice(&stamp.seq.to_le_bytes());
        s[8..16].copy_from_slice(&stamp.sent_ns.to_le_bytes());
        &self.buf
    }
}

/// Reads the stamp of a received frame; `None` for frames this tool did not make.
pub fn parse(frame: &[u8]) -> Option<Stamp> {
    if frame.len() < 1 + STAMP_LEN || frame[0] != 0xF8 {
        return None;
    }
    let s = &frame[1..1 + STAMP_LEN];
    Some(Stamp {
        sender: u32::from_le_bytes(s[0..4].try_into().ok()?),
        seq: u32::from_le_bytes(s[4..8].try_into().ok()?),
        sent_ns: u64::from_le_bytes(s[8..16].try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_the_round_trip() {
        let mut f = FrameBuf::new();
        let st = Stamp {
            sender: 7,
            seq: 123_456,
            sent_ns: 9_876_543_210,
        };
        let frame = f.stamp(st).to_vec();
        assert_eq!(frame.len(), FRAME_LEN);
        assert_eq!(frame[0], 0xF8, "TOC byte of synthetic_opus_frame");
        assert_eq!(parse(&frame), Some(st));
    }

    #[test]
    fn the_layout_is_alcove_loads() {
        // sender 1, seq 2, sent 3 ns: little-endian right after the TOC byte, zeros after.
        let mut f = FrameBuf::new();
        let frame = f
            .stamp(Stamp {
                sender: 1,
                seq: 2,
                sent_ns: 3,
            })
            .to_vec();
        assert_eq!(
            &frame[..17],
            &[0xF8, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(frame[17..].iter().all(|b| *b == 0));
    }

    #[test]
    fn foreign_frames_are_not_parsed() {
        assert_eq!(parse(&[0xF8, 1, 2]), None);
        assert_eq!(parse(&[0x00; FRAME_LEN]), None);
    }
}

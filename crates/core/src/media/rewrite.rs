//! Per-slot RTP time rewriting: a receiver sees one continuous stream per slot, whoever is
//! mapped onto it. Sequence numbers and SSRC are already per slot (the slot is its own str0m
//! send stream); only the media time needs carrying across a change of source.

use alcove_proto::ClientId;
use str0m::media::MediaTime;

/// The time mapping of one outgoing slot.
#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    /// The source currently mapped, and the offset added to its media time.
    src: Option<(ClientId, i64)>,
    /// The last time written on this slot.
    last_out: Option<u64>,
}

impl Rewrite {
    /// The slot-continuous time for a frame of `src` at `t`.
    pub fn map(&mut self, src: &ClientId, t: MediaTime) -> MediaTime {
        let n = t.numer() as i64;
        // One 20 ms frame (audio) / a little under one 30 fps frame (video) after the last.
        let step = i64::from(t.denom() / 50);
        let offset = match &self.src {
            Some((s, off)) if s == src => *off,
            _ => {
                let off = match self.last_out {
                    Some(last) => last as i64 + step - n,
                    None => 0,
                };
                self.src = Some((src.clone(), off));
                off
            }
        };
        let mut out = n + offset;
        if let Some(last) = self.last_out {
            // Never step backwards on the slot (a source restarting its clock).
            if out <= last as i64 - i64::from(t.denom()) {
                let off = last as i64 + step - n;
                self.src = Some((src.clone(), off));
                out = n + off;
            }
        }
        let out = out.max(0) as u64;
        self.last_out = Some(out);
        MediaTime::new(out, t.frequency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::media::Frequency;

    fn t(n: u64) -> MediaTime {
        MediaTime::new(n, Frequency::FORTY_EIGHT_KHZ)
    }

    #[test]
    fn switching_sources_keeps_the_slot_continuous() {
        let mut r = Rewrite::default();
        let a = ClientId::from("a");
        let b = ClientId::from("b");
        assert_eq!(r.map(&a, t(1000)).numer(), 1000);
        assert_eq!(r.map(&a, t(1960)).numer(), 1960);
        // b's clock is somewhere else entirely: it continues one frame after a's last.
        assert_eq!(r.map(&b, t(5_000_000)).numer(), 2920);
        assert_eq!(r.map(&b, t(5_000_960)).numer(), 3880);
        // Back to a, whose clock went on meanwhile.
        assert_eq!(r.map(&a, t(100_000)).numer(), 4840);
    }
}

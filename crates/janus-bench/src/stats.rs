//! Distributions and jitter, as `alcove-load` computes them (crates/load, `stats.rs`).

use serde::Serialize;

/// A distribution of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest.
    pub min_ms: f64,
    /// Median (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
}

impl Summary {
    /// Summarises microsecond samples; `None` when there are none.
    pub fn of_micros(samples: &[u32]) -> Option<Summary> {
        Summary::of_ms(samples.iter().map(|u| f64::from(*u) / 1e3).collect())
    }

    /// Summarises millisecond samples; `None` when there are none.
    pub fn of_ms(mut ms: Vec<f64>) -> Option<Summary> {
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p of the samples at or below it.
            let r = (p * n as f64).ceil() as usize;
            ms[r.clamp(1, n) - 1]
        };
        Some(Summary {
            n,
            min_ms: ms[0],
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            p99_ms: rank(0.99),
            max_ms: ms[n - 1],
            mean_ms: ms.iter().sum::<f64>() / n as f64,
        })
    }

    /// One line: `n=… p50 … p95 … p99 … max …` (milliseconds).
    pub fn line(&self) -> String {
        format!(
            "n={:<4} p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2}  max {:>8.2}  (ms)",
            self.n, self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms
        )
    }
}

/// Formats an optional summary for the text report.
pub fn line(s: &Option<Summary>) -> String {
    match s {
        Some(s) => s.line(),
        None => "no samples".into(),
    }
}

/// RFC 3550 §6.4.1 interarrival jitter of one stream, in nanoseconds.
///
/// `D(i−1, i) = (R_i − R_{i−1}) − (S_i − S_{i−1})`, `J += (|D| − J) / 16`. `S` is the send time
/// stamped in the payload (not the RTP timestamp), so the sender's own scheduling jitter is
/// left out: what remains is what the path (both UDP hops and the server) adds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Jitter {
    /// Transit time (`R − S`) of the previous packet.
    last_transit: Option<i128>,
    /// The running estimate.
    jitter_ns: f64,
}

impl Jitter {
    /// Feeds one packet: sent at `sent_ns`, received at `recv_ns` (same clock).
    pub fn push(&mut self, sent_ns: u64, recv_ns: u64) {
        let transit = i128::from(recv_ns) - i128::from(sent_ns);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs() as f64;
            self.jitter_ns += (d - self.jitter_ns) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// The estimate in milliseconds.
    pub fn ms(&self) -> f64 {
        self.jitter_ns / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of_ms((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!(s.n, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.min_ms, 1.0);
        let one = Summary::of_ms(vec![3.0]).unwrap();
        assert_eq!((one.p50_ms, one.p99_ms), (3.0, 3.0));
        assert!(Summary::of_ms(vec![]).is_none());
    }

    #[test]
    fn constant_transit_has_no_jitter_and_alternating_transit_converges() {
        let mut j = Jitter::default();
        for i in 0..100u64 {
            j.push(i * 20_000_000, i * 20_000_000 + 1_000_000);
        }
        assert_eq!(j.ms(), 0.0);
        let mut j = Jitter::default();
        for i in 0..1000u64 {
            let extra = if i % 2 == 0 { 0 } else { 2_000_000 };
            j.push(i * 20_000_000, i * 20_000_000 + extra);
        }
        // |D| is always 2 ms, so J converges to 2 ms.
        assert!((j.ms() - 2.0).abs() < 1e-6, "{}", j.ms());
    }
}

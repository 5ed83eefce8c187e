//! Per-connection request rate limit: a token bucket, plus a flood detector that tells the
//! connection to close.
//!
//! Every frame a connected client sends costs one token. The bucket holds `burst` tokens and
//! refills at `rate` per second. A frame that finds the bucket empty is refused (the
//! connection answers `error` 4006 and does not forward it). A client that sends more than
//! [`FLOOD_FACTOR`] times the sustained rate's worth of frames within one [`FLOOD_WINDOW`] is
//! flooding and is disconnected (close 1008). The limiter reads no clock: time comes in as
//! `now`, so it is tested without sleeping.

use std::time::{Duration, Instant};

/// Length of the window in which flooding is counted.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(5);
/// A connection sending more than this many times its sustained rate over a whole
/// [`FLOOD_WINDOW`] is closed.
pub const FLOOD_FACTOR: u64 = 10;

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle it.
    Allow,
    /// Over the limit: answer 4006, do not forward.
    Refuse,
    /// The client keeps flooding: close the connection.
    Flood,
}

/// One connection's token bucket and flood counter.
#[derive(Debug)]
pub struct RequestLimiter {
    /// Tokens per second (sustained rate).
    rate: f64,
    /// Bucket size.
    burst: f64,
    /// Tokens left, as of `last`.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
    /// Start of the current flood window.
    window_start: Instant,
    /// Frames seen since `window_start`.
    window_frames: u64,
    /// Frames allowed in one flood window before the connection is closed.
    flood_limit: u64,
}

impl RequestLimiter {
    /// A full bucket of `burst` tokens refilled at `rate` per second (both at least 1).
    pub fn new(rate: u32, burst: u32, now: Instant) -> RequestLimiter {
        let rate = rate.max(1);
        let burst = burst.max(1);
        RequestLimiter {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
            window_start: now,
            window_frames: 0,
            flood_limit: FLOOD_FACTOR * u64::from(rate) * FLOOD_WINDOW.as_secs(),
        }
    }

    /// Counts one frame received at `now` and says what to do with it.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if now.saturating_duration_since(self.window_start) >= FLOOD_WINDOW {
            self.window_start = now;
            self.window_frames = 0;
        }
        self.window_frames += 1;
        if self.window_frames > self.flood_limit {
            return Verdict::Flood;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Verdict::Allow
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(l: &mut RequestLimiter, now: Instant, n: usize) -> [usize; 3] {
        let mut out = [0; 3];
        for _ in 0..n {
            match l.check(now) {
                Verdict::Allow => out[0] += 1,
                Verdict::Refuse => out[1] += 1,
                Verdict::Flood => out[2] += 1,
            }
        }
        out
    }

    #[test]
    fn a_burst_passes_then_requests_are_refused_until_the_bucket_refills() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        assert_eq!(count(&mut l, t0, 120), [100, 20, 0]);
        // 100 ms later: 5 tokens.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(count(&mut l, t1, 10), [5, 5, 0]);
        // Long idle: back to a full bucket, never more.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(count(&mut l, t2, 101), [100, 1, 0]);
    }

    #[test]
    fn a_polite_client_at_the_sustained_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        for i in 0..1_000u32 {
            let now = t0 + Duration::from_millis(20) * i;
            assert_eq!(l.check(now), Verdict::Allow, "request {i}");
        }
    }

    #[test]
    fn more_than_ten_times_the_rate_over_the_window_is_a_flood() {
        let t0 = Instant::now();
        let mut l = RequestLimiter::new(50, 100, t0);
        // 10× the rate for a whole window is tolerated (refused, not closed) …
        let step = Duration::from_micros(2_000);
        let mut t = t0;
        for _ in 0..2_500 {
            assert_ne!(l.check(t), Verdict::Flood);
            t += step;
        }
        // … a new window starts; one frame more than 10× in it closes the connection.
        let t1 = t0 + FLOOD_WINDOW;
        let [_, _, flood] = count(&mut l, t1, 2_501);
        assert_eq!(flood, 1);
    }
}

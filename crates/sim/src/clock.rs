//! The virtual clock of a simulated world.
//!
//! A [`Clock`] is one base [`Instant`] plus an offset that only the test advances. Nothing in
//! the simulation reads the wall clock after the base is taken, so a run is the same however
//! slow or fast the machine is, and hours of virtual time pass in microseconds.

use std::time::{Duration, Instant};

/// Virtual time: `base + offset`, where only [`Clock::advance`] / [`Clock::advance_to`] move
/// the offset, and never backwards.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Taken once when the clock is made; never read again from the system.
    base: Instant,
    /// Virtual time elapsed since `base`.
    offset: Duration,
}

impl Clock {
    /// A clock starting at `base`.
    ///
    /// [`crate::World::new`] passes the one `Instant::now()` of the whole simulation: an
    /// `Instant` cannot be built any other way, and its absolute value never matters, only the
    /// offsets added to it.
    pub fn starting_at(base: Instant) -> Clock {
        Clock {
            base,
            offset: Duration::ZERO,
        }
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.base + self.offset
    }

    /// Virtual time elapsed since the clock started.
    pub fn elapsed(&self) -> Duration {
        self.offset
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.offset += d;
    }

    /// Moves the clock forward to `at`; an instant in the past leaves the clock where it is.
    pub fn advance_to(&mut self, at: Instant) {
        if at > self.now() {
            self.offset = at - self.base;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_and_never_goes_back() {
        let base = Instant::now();
        let mut c = Clock::starting_at(base);
        assert_eq!(c.now(), base);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.elapsed(), Duration::from_secs(5));
        c.advance_to(base + Duration::from_secs(2));
        assert_eq!(c.elapsed(), Duration::from_secs(5));
        c.advance_to(base + Duration::from_secs(7));
        assert_eq!(c.now(), base + Duration::from_secs(7));
    }
}

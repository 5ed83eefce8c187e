//! Congestion on the path to one receiver of camera video, read from its RTCP receiver
//! reports, and the video budget that follows from it.
//!
//! A receiver's browser reports, about once a second for every stream it receives, the
//! fraction of packets lost since its last report and (through the sender report it echoes)
//! the round-trip time. Those two are the **evidence** of congestion this controller acts on:
//!
//! * the round-trip time has grown: the median of the last [`RTT_ROUNDS`] rounds of reports is
//!   at least twice the lowest round-trip time of the last [`BASE_WINDOW`], and at least
//!   [`RTT_MARGIN`] above it, and it is not falling (a queue is building on the path, not
//!   draining);
//! * or a round reports [`LOSS_CONGESTED`] or more of the packets lost.
//!
//! Without evidence there is **no budget** (`None`): every video slot gets the layer its
//! rendered size asks for. On evidence, at most once per [`CUT_GAP`], the budget is cut to
//! [`DECREASE`] times what is flowing (or the budget already in force, if lower), and lower
//! still if the evidence shows the link is narrower: a queue that grew by `g` seconds per
//! second while `S` flowed means a link of `S / (1 + g)`; a loss `l`, a link of `S (1 − l)`;
//! the budget is then [`DRAIN`] times that link, so the queue drains. The layers are re-chosen
//! under the budget (`layers::allocate`), down to audio only. After [`HOLD_MIN`]
//! without evidence, and once the round-trip time is back under the threshold (the queue has
//! drained), the budget grows by [`INCREASE`] every [`RAISE_STEP`], so layers come back one at
//! a time (after a layer came in, the next raise waits [`SETTLE`] for the path's reports); once it covers everything the slots want, there is no budget again. A cut
//! within [`FAILED_RAISE`] of a raise means the link did not carry the raise: the hold before
//! the next one doubles, up to [`HOLD_MAX`]; it is back to [`HOLD_MIN`] after [`CALM`] without
//! evidence.
//!
//! Why this and not the bandwidth estimate of str0m (TWCC): measured with Chromium on loopback,
//! that estimate fell from its initial 1 Mbit/s to 65–110 kbit/s within seconds on links that
//! carried far more (it is application-limited: it barely grows beyond what is sent), and once
//! it is on, str0m's pacer holds forwarded media to 1.1 times it. See docs/decisions.
//!
//! Everything here is pure: time comes in as arguments.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Rounds of reports whose median round-trip time is compared with the lowest one.
pub const RTT_ROUNDS: usize = 3;

/// A round-trip time at least this much above the lowest seen (and twice it) is evidence.
pub const RTT_MARGIN: Duration = Duration::from_millis(60);

/// The lowest round-trip time is taken over this window (a path that changed is learnt again).
pub const BASE_WINDOW: Duration = Duration::from_secs(30);

/// A cut leaves this fraction of the link the evidence points to (so the queue drains).
pub const DRAIN: f64 = 0.85;

/// A round of reports with at least this fraction of packets lost is evidence.
pub const LOSS_CONGESTED: f32 = 0.10;

/// On evidence, the budget becomes this fraction of what flows.
pub const DECREASE: f64 = 0.7;

/// At most one cut in this interval (the reports that follow a cut still describe the queue
/// before it).
pub const CUT_GAP: Duration = Duration::from_secs(2);

/// How long without evidence before the budget first grows after a cut.
pub const HOLD_MIN: Duration = Duration::from_secs(4);

/// The longest hold, after raises that kept failing.
pub const HOLD_MAX: Duration = Duration::from_secs(32);

/// A cut this soon after a raise means the raise failed: the next hold doubles.
pub const FAILED_RAISE: Duration = Duration::from_secs(8);

/// Without evidence for this long, the hold is back to [`HOLD_MIN`].
pub const CALM: Duration = Duration::from_secs(60);

/// Once holding is over, the budget grows by [`INCREASE`] this often.
pub const RAISE_STEP: Duration = Duration::from_secs(1);

/// The factor by which the budget grows per [`RAISE_STEP`].
pub const INCREASE: f64 = 1.25;

/// A round-trip time this much below the oldest of the window: the queue is draining.
const DRAINING_TOLERANCE: Duration = Duration::from_millis(20);

/// After the flow rose (a raise let a layer in), no further raise for this long: the reports
/// of the path with the new layer come first.
pub const SETTLE: Duration = Duration::from_secs(3);

/// The flow "rose" when it grew by this factor since the last call.
const FLOW_RISE: f64 = 1.1;

/// The least a raise adds (bit/s), so a budget cut to almost nothing comes back.
const MIN_RAISE_BPS: u64 = 10_000;

/// The congestion state of the path to one receiver. See the module documentation.
#[derive(Debug, Clone)]
pub struct Congestion {
    /// The lowest round-trip time of each round of the last [`BASE_WINDOW`].
    base: VecDeque<(Instant, Duration)>,
    /// The round-trip time of each of the last rounds (the lowest reported in the round).
    rtts: VecDeque<(Instant, Duration)>,
    /// This round's reports so far: lowest round-trip time, highest loss.
    round_rtt: Option<Duration>,
    round_loss: Option<f32>,
    /// The budget in force (bit/s; `None`: none, every slot gets what it asks for).
    budget: Option<u64>,
    last_evidence: Option<Instant>,
    last_cut: Option<Instant>,
    last_raise: Option<Instant>,
    hold: Duration,
    /// The last round's round-trip time was above the evidence threshold (a queue is still
    /// there, draining or not): no raise until it is gone.
    queued: bool,
    /// What flowed at the last call, and when the flow last rose (a layer came in).
    flowing: u64,
    last_flow_rise: Option<Instant>,
    /// Cuts so far.
    cuts: u64,
}

impl Default for Congestion {
    fn default() -> Self {
        Congestion {
            base: VecDeque::new(),
            rtts: VecDeque::with_capacity(RTT_ROUNDS),
            round_rtt: None,
            round_loss: None,
            budget: None,
            last_evidence: None,
            last_cut: None,
            last_raise: None,
            hold: HOLD_MIN,
            queued: false,
            flowing: 0,
            last_flow_rise: None,
            cuts: 0,
        }
    }
}

impl Congestion {
    /// Takes one fresh receiver report of one stream: its round-trip time (if the report
    /// carried one) and the fraction of packets lost since the stream's previous report.
    pub fn report(&mut self, rtt: Option<Duration>, loss: f32) {
        if let Some(rtt) = rtt {
            self.round_rtt = Some(self.round_rtt.map_or(rtt, |r| r.min(rtt)));
        }
        if loss.is_finite() {
            let loss = loss.clamp(0.0, 1.0);
            self.round_loss = Some(self.round_loss.map_or(loss, |l| l.max(loss)));
        }
    }

    /// The budget in force, without closing a round.
    pub fn current(&self) -> Option<u64> {
        self.budget
    }

    /// How many times the budget was cut on evidence.
    pub fn cuts(&self) -> u64 {
        self.cuts
    }

    /// Closes the round of reports taken since the last call and returns the video budget
    /// (bit/s, including what the allocator reserves; `None`: no budget). `flowing` is what
    /// is forwarded to the receiver now, `desired` what its slots would take unconstrained.
    pub fn budget(&mut self, now: Instant, flowing: u64, desired: u64) -> Option<u64> {
        if flowing as f64 > self.flowing as f64 * FLOW_RISE {
            self.last_flow_rise = Some(now);
        }
        self.flowing = flowing;
        let loss = self.round_loss.take().unwrap_or(0.0);
        let slope = self.rtt_evidence(now);
        if slope.is_some() || loss >= LOSS_CONGESTED {
            let calm = self
                .last_evidence
                .is_none_or(|t| now.saturating_duration_since(t) >= CALM);
            self.last_evidence = Some(now);
            let may_cut = self
                .last_cut
                .is_none_or(|t| now.saturating_duration_since(t) >= CUT_GAP);
            if may_cut {
                let failed_raise = self
                    .last_raise
                    .is_some_and(|t| now.saturating_duration_since(t) < FAILED_RAISE);
                self.hold = if calm {
                    HOLD_MIN
                } else if failed_raise {
                    (self.hold * 2).min(HOLD_MAX)
                } else {
                    self.hold
                };
                let base = self.budget.map_or(flowing, |b| b.min(flowing)) as f64;
                let link = (flowing as f64 / (1.0 + slope.unwrap_or(0.0)))
                    .min(flowing as f64 * f64::from(1.0 - loss));
                self.budget = Some((base * DECREASE).min(link * DRAIN).round() as u64);
                self.last_cut = Some(now);
                self.cuts += 1;
                self.last_raise = None;
                // The rounds before the cut describe the queue it is draining.
                self.rtts.clear();
            }
            return self.budget;
        }
        let budget = self.budget?;
        let quiet_since = self.last_evidence.unwrap_or(now);
        let held = now.saturating_duration_since(quiet_since) >= self.hold;
        let stepped = self
            .last_raise
            .is_none_or(|t| now.saturating_duration_since(t) >= RAISE_STEP);
        let settled = self
            .last_flow_rise
            .is_none_or(|t| now.saturating_duration_since(t) >= SETTLE);
        if held && stepped && settled && !self.queued {
            let raised = ((budget as f64 * INCREASE) as u64).max(budget + MIN_RAISE_BPS);
            self.last_raise = Some(now);
            self.budget = (raised < desired).then_some(raised);
        }
        self.budget
    }

    /// Closes the round's round-trip time: if it is evidence of congestion, the rate at which
    /// the queue grew (seconds per second, 0 if it did not), else `None`.
    fn rtt_evidence(&mut self, now: Instant) -> Option<f64> {
        if let Some(rtt) = self.round_rtt.take() {
            while self
                .base
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) > BASE_WINDOW)
            {
                self.base.pop_front();
            }
            self.base.push_back((now, rtt));
            if self.rtts.len() == RTT_ROUNDS {
                self.rtts.pop_front();
            }
            self.rtts.push_back((now, rtt));
        }
        let base = self.base.iter().map(|(_, r)| *r).min()?;
        let threshold = (base * 2).max(base + RTT_MARGIN);
        self.queued = self.rtts.back().is_some_and(|(_, r)| *r >= threshold);
        if self.rtts.len() < RTT_ROUNDS {
            return None;
        }
        let mut sorted: Vec<Duration> = self.rtts.iter().map(|(_, r)| *r).collect();
        sorted.sort();
        let (t0, first) = *self.rtts.front()?;
        let (t1, last) = *self.rtts.back()?;
        let slow = sorted[RTT_ROUNDS / 2] >= threshold;
        let draining = last + DRAINING_TOLERANCE < first;
        if !slow || draining {
            return None;
        }
        let span = t1.saturating_duration_since(t0).as_secs_f64();
        let grown = last.saturating_sub(first).as_secs_f64();
        Some(if span > 0.0 { grown / span } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A test's fixed origin of time.
    #[allow(clippy::disallowed_methods)] // a test's origin, not the core reading a clock
    fn origin() -> Instant {
        Instant::now()
    }

    /// A link of `link` bit/s carrying what the budget lets through of `desired`: one round
    /// a second; its queue (at most [`Link::QUEUE_MS`]) grows while more flows than the link
    /// carries, and what overflows it is lost.
    struct Link {
        c: Congestion,
        t0: Instant,
        now: Instant,
        queue_ms: f64,
    }

    impl Link {
        const QUEUE_MS: f64 = 1000.0;

        fn new() -> Self {
            let t0 = origin();
            Link {
                c: Congestion::default(),
                t0,
                now: t0,
                queue_ms: 0.0,
            }
        }

        /// One second: a report, then the budget; returns what flowed.
        fn second(&mut self, link: u64, desired: u64) -> u64 {
            let flowing = self.c.current().unwrap_or(desired).min(desired);
            let excess = flowing as f64 - link as f64;
            // The queue grows by the excess, drains at the link's rate, drops what overflows.
            let queue = (self.queue_ms + excess / link as f64 * 1000.0).max(0.0);
            let dropped_ms = (queue - Self::QUEUE_MS).max(0.0);
            self.queue_ms = queue.min(Self::QUEUE_MS);
            let loss = (dropped_ms / 1000.0 * link as f64 / flowing as f64) as f32;
            let rtt = MS * 2 + Duration::from_micros((self.queue_ms * 1000.0) as u64);
            self.c.report(Some(rtt), loss);
            self.now += Duration::from_secs(1);
            self.c.budget(self.now, flowing, desired);
            flowing
        }
    }

    #[test]
    fn no_evidence_no_budget() {
        let mut c = Congestion::default();
        let t = origin();
        for i in 0..100u32 {
            c.report(Some(MS * (2 + i % 5)), 0.01);
            assert_eq!(
                c.budget(t + Duration::from_secs(i.into()), 500_000, 900_000),
                None
            );
        }
    }

    #[test]
    fn a_lone_slow_round_is_not_evidence() {
        let mut c = Congestion::default();
        let t = origin();
        for (i, rtt) in [2, 3, 130, 2, 4, 140, 3, 2].into_iter().enumerate() {
            c.report(Some(MS * rtt), 0.0);
            let now = t + Duration::from_secs(i as u64);
            assert_eq!(c.budget(now, 500_000, 900_000), None, "round {i}");
        }
    }

    #[test]
    fn a_growing_queue_cuts_the_budget_once_per_gap() {
        let mut c = Congestion::default();
        let t = origin();
        for (i, rtt) in [2, 2, 2, 80].into_iter().enumerate() {
            c.report(Some(MS * rtt), 0.0);
            assert_eq!(
                c.budget(t + Duration::from_secs(i as u64), 600_000, 600_000),
                None
            );
        }
        // Two slow rounds of three: evidence. The queue grew 74 ms/s: a link of 559 kbit/s,
        // less than a cut to 70 % would leave: the cut is to 70 %.
        c.report(Some(MS * 150), 0.0);
        let cut = c.budget(t + Duration::from_secs(4), 600_000, 600_000);
        assert_eq!(cut, Some(420_000));
        // Rounds after a cut start afresh: three more slow rounds before the next cut.
        for i in 5..7 {
            c.report(Some(MS * 250), 0.0);
            assert_eq!(c.budget(t + Duration::from_secs(i), 420_000, 600_000), cut);
        }
        c.report(Some(MS * 250), 0.0);
        assert_eq!(
            c.budget(t + Duration::from_secs(7), 420_000, 600_000),
            Some(294_000)
        );
        // A queue that drains (the round-trip time falls) is not evidence.
        for i in 8..11 {
            c.report(Some(MS * (250 - 40 * (i - 7) as u32)), 0.0);
            assert_eq!(
                c.budget(t + Duration::from_secs(i), 294_000, 600_000),
                Some(294_000)
            );
        }
    }

    #[test]
    fn a_queue_growing_fast_points_to_a_narrow_link() {
        let mut c = Congestion::default();
        let t = origin();
        // 1.5 Mbit/s into a 150 kbit/s link: the queue grows 9 s per second.
        for (i, rtt) in [2, 9_002, 18_002].into_iter().enumerate() {
            c.report(Some(MS * rtt), 0.0);
            c.budget(t + Duration::from_secs(i as u64), 1_500_000, 1_500_000);
        }
        assert_eq!(
            c.current(),
            Some(127_500),
            "85 % of the 150 kbit/s the queue shows"
        );
    }

    #[test]
    fn loss_is_evidence_at_once_but_cuts_once_per_gap() {
        let mut c = Congestion::default();
        let t = origin();
        c.report(None, 0.1);
        assert_eq!(c.budget(t, 1_000_000, 1_000_000), Some(700_000));
        assert_eq!(c.cuts(), 1);
        c.report(None, 0.1);
        assert_eq!(c.budget(t + MS * 500, 700_000, 1_000_000), Some(700_000));
        c.report(None, 0.1);
        assert_eq!(
            c.budget(t + CUT_GAP, 700_000, 1_000_000),
            Some(490_000),
            "the budget shrinks while loss goes on"
        );
        // Garbage in a report is ignored, not a panic or a cut.
        c.report(None, f32::NAN);
        assert_eq!(c.budget(t + CUT_GAP * 2, 490_000, 1_000_000), Some(490_000));
        // Heavy loss points to a narrower link than a 70 % cut: 85 % of what got through.
        c.report(None, 0.6);
        assert_eq!(c.budget(t + CUT_GAP * 3, 490_000, 1_000_000), Some(166_600));
    }

    #[test]
    fn the_budget_grows_back_after_the_hold_and_is_lifted() {
        let mut c = Congestion::default();
        let t = origin();
        c.report(None, 0.2);
        assert_eq!(c.budget(t, 100_000, 300_000), Some(68_000));
        // Held: nothing grows before HOLD_MIN without evidence.
        let mut now = t;
        while now < t + HOLD_MIN - MS * 500 {
            now += MS * 500;
            assert_eq!(c.budget(now, 68_000, 300_000), Some(68_000));
        }
        let mut last = 68_000;
        let mut steps = 0;
        loop {
            now += MS * 500;
            match c.budget(now, last, 300_000) {
                Some(b) => {
                    assert!(b >= last, "it only grows: {b} after {last}");
                    last = b;
                }
                None => break,
            }
            steps += 1;
            assert!(steps < 80, "lifted within 40 s");
        }
        assert!(last * 5 / 4 >= 300_000 || last + MIN_RAISE_BPS >= 300_000);
    }

    #[test]
    fn raises_that_fail_hold_longer_up_to_the_max_and_calm_resets() {
        let mut c = Congestion::default();
        let t = origin();
        c.report(None, 0.5);
        c.budget(t, 100_000, 1_000_000);
        let mut now = t;
        let mut holds = Vec::new();
        for _ in 0..6 {
            // Wait for the first raise, then report loss at once: the raise failed.
            let cut_at = now;
            loop {
                now += MS * 500;
                let before = c.current();
                if c.budget(now, before.unwrap(), 1_000_000) != before {
                    break;
                }
            }
            holds.push((now - cut_at).as_secs());
            c.report(None, 0.5);
            c.budget(now, c.current().unwrap(), 1_000_000);
        }
        assert_eq!(holds, [4, 8, 16, 32, 32, 32]);
        // A long calm, then new evidence: the hold is the shortest again.
        c.report(None, 0.0);
        let before = c.current();
        now += CALM;
        c.budget(now, before.unwrap_or(0), 1_000_000);
        c.report(None, 0.5);
        let cut_at = now + MS * 500;
        c.budget(cut_at, 100_000, 1_000_000);
        now = cut_at;
        loop {
            now += MS * 500;
            let before = c.current();
            if c.budget(now, before.unwrap(), 1_000_000) != before {
                break;
            }
        }
        assert_eq!((now - cut_at).as_secs(), 4);
    }

    #[test]
    fn on_a_narrow_link_flow_settles_near_the_link_and_does_not_starve() {
        for link in [150_000u64, 300_000, 700_000] {
            let mut l = Link::new();
            let mut flows = Vec::new();
            for _ in 0..120 {
                flows.push(l.second(link, 1_500_000));
            }
            let late = &flows[60..];
            let mean = late.iter().sum::<u64>() / late.len() as u64;
            assert!(
                mean <= link * 13 / 10 && mean >= link / 4,
                "link {link}: mean flow {mean} over the last minute {late:?}"
            );
            assert!(
                l.queue_ms < 3000.0,
                "link {link}: the queue stays bounded ({} ms)",
                l.queue_ms
            );
            let _ = l.t0;
        }
    }

    #[test]
    fn a_link_that_recovers_is_used_again() {
        let mut l = Link::new();
        for _ in 0..30 {
            l.second(200_000, 1_000_000);
        }
        assert!(l.c.current().is_some(), "constrained on the narrow link");
        let mut lifted = None;
        for s in 0..60 {
            l.second(10_000_000, 1_000_000);
            if l.c.current().is_none() {
                lifted = Some(s);
                break;
            }
        }
        let s = lifted.expect("the budget is lifted on a wide link");
        assert!(s <= 45, "lifted after {s} s");
    }
}

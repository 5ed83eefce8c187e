//! Alcove's load tool: synthetic clients with real WebRTC against a running server.
//!
//! Each client is a real `alcove-client` connection: a REST token, WebSocket signalling, and
//! one str0m peer connection (ICE, DTLS-SRTP) that sends a 20 ms Opus frame every 20 ms with
//! the RFC 6464 audio-level extension. Every frame is stamped with its sender's index,
//! sequence number and send time ([`payload`]), so receivers attribute every frame and time it
//! on the same clock. All clients run on one multi-threaded tokio runtime, one task each
//! ([`client`]).
//!
//! Scenarios ([`scenario`]):
//!
//! * [`scenario::wave`] — everyone in one parent room; one `createAndInviteBreakoutRoom` with
//!   `force_join` moves all participants at once, one `destroyAllBreakOutSession` brings them
//!   back; per-participant times to the signal and to the first audio of the new room.
//! * [`scenario::steady`] — K break-out rooms × S talkers for T seconds: loss, jitter,
//!   latency, server CPU per million forwarded frames, server memory per client.
//! * [`scenario::fresh_vs_move`] — a brand-new connection against a break-out move, to the
//!   first audio frame.
//! * [`scenario::soak`] — churn for a long time; server memory and descriptors sampled.
//! * [`scenario::class`] — a class in ONE family: K rooms × S members force-joined by one
//!   moderator, T talkers per room, the rest listening; loss per listener, latency, jitter,
//!   server cost, and whether the family's server used more than one core.
//! * [`scenario::video`] — P publishers of a synthetic VP8 camera (one stream or simulcast
//!   `q`/`h`/`f`, [`vp8`]) and R receivers in the parent: forwarded bitrate, frames per slot,
//!   latency, loss, keyframes and keyframe requests, server CPU per forwarded megabit, frame
//!   and packet.
//!
//! Each returns a [`report::Report`] with sanity [`report::Checks`]; the binary prints it,
//! writes it as JSON on request, and exits non-zero when a check failed.
//!
//! ```no_run
//! use alcove_load::{run, Scenario, Target, progress::Progress, scenario::steady::SteadyConfig};
//! # async fn demo() -> anyhow::Result<()> {
//! let target = Target::new("http://127.0.0.1:7880", "dev", "app-key");
//! let cfg = SteadyConfig { rooms: 2, size: 3, seconds: 2.0, ..SteadyConfig::default() };
//! let report = run(&target, &Scenario::Steady(cfg), &Progress::silent()).await?;
//! assert!(report.checks().passed(), "{}", report.text());
//! # Ok(()) }
//! ```
//!
//! Deliberately not here: decoding audio (the frames are opaque, valid Opus TOC bytes only),
//! clients on other machines (one process, one clock), and TLS.
#![deny(missing_docs)]

pub mod client;
pub mod payload;
pub mod procfs;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod target;
pub mod vp8;

pub use report::{Report, Run};
pub use target::Target;

use progress::Progress;
use scenario::class::ClassConfig;
use scenario::fresh_vs_move::FreshVsMoveConfig;
use scenario::soak::SoakConfig;
use scenario::steady::SteadyConfig;
use scenario::video::VideoConfig;
use scenario::wave::WaveConfig;

/// A scenario and its options (the binary's subcommands).
#[derive(Debug, Clone, PartialEq, clap::Subcommand)]
pub enum Scenario {
    /// Everyone in the parent; one forced createAndInviteBreakoutRoom; destroyAll; timings.
    Wave(WaveConfig),
    /// K break-out rooms × S members talking for T seconds: loss, jitter, latency, server cost.
    Steady(SteadyConfig),
    /// A brand-new connection against a break-out move, to the first audio frame.
    FreshVsMove(FreshVsMoveConfig),
    /// Churn (connect, leave, drop and resume, moves) for a long time; server memory and open
    /// file descriptors sampled, and checked to stay flat.
    Soak(SoakConfig),
    /// One family: K break-out rooms × S members force-joined by a moderator, T talkers per
    /// room, the rest listening; loss, latency, jitter, server cost and cores used.
    Class(ClassConfig),
    /// P publishers of a synthetic VP8 camera (1 or 3 simulcast layers) and R receivers in the
    /// parent room: forwarded bitrate, frames, latency, keyframes, server cost per megabit.
    Video(VideoConfig),
}

/// Runs one scenario against `target`.
pub async fn run(
    target: &Target,
    scenario: &Scenario,
    progress: &Progress,
) -> anyhow::Result<Report> {
    Ok(match scenario {
        Scenario::Wave(c) => {
            Report::Wave(Box::new(scenario::wave::run(target, c, progress).await?))
        }
        Scenario::Steady(c) => {
            Report::Steady(Box::new(scenario::steady::run(target, c, progress).await?))
        }
        Scenario::FreshVsMove(c) => Report::FreshVsMove(Box::new(
            scenario::fresh_vs_move::run(target, c, progress).await?,
        )),
        Scenario::Soak(c) => {
            Report::Soak(Box::new(scenario::soak::run(target, c, progress).await?))
        }
        Scenario::Class(c) => {
            Report::Class(Box::new(scenario::class::run(target, c, progress).await?))
        }
        Scenario::Video(c) => {
            Report::Video(Box::new(scenario::video::run(target, c, progress).await?))
        }
    })
}

//! The Alcove conference engine for one **family** (a parent room and all its break-out
//! rooms), free of I/O.
//!
//! A [`Family`] owns every client of the family, where each one is (its [`Location`]), its
//! parent link (paused, muted), every break-out room with its owner, definition, members and
//! pending invitations. It takes [`Input`]s that carry the current time and returns
//! [`Output`]s: acknowledgements and notifications to send, connections to close, media
//! routing changes, and the next time it wants to be woken. It reads no clock, opens no socket
//! and draws randomness only from the seeded generator in its [`FamilyConfig`], so a test can
//! replay any sequence exactly.
//!
//! # The run-loop contract
//!
//! 1. Call [`Family::handle_input`] with one input.
//! 2. Call [`Family::poll_output`] until it returns [`Output::Timeout`]; act on every other
//!    output in order (ordering within one input is significant: an acknowledgement is always
//!    emitted before the notifications it causes).
//! 3. When the wall clock reaches the returned instant, feed [`Input::Timeout`] and go to 2.
//!
//! ```no_run
//! use alcove_core::{Family, FamilyConfig, Input, Output, NewClient};
//! use alcove_proto::{api::RoomSettings, signal::Role, ClientId, RequestId, RoomId};
//! use std::time::Instant;
//!
//! let now = Instant::now(); // the shell's clock, not the core's
//! let config = FamilyConfig::new(RoomId::from("r1"), "Demo", RoomSettings::default(), 7);
//! let mut family = Family::new(config, now);
//! family.handle_input(Input::Connect {
//!     now,
//!     client: ClientId::from("c1"),
//!     id: RequestId(0),
//!     user: NewClient::new("Ada", Role::Moderator),
//!     version: 1,
//! });
//! loop {
//!     match family.poll_output() {
//!         Output::Timeout(_at) => break, // sleep until `_at`, then feed Input::Timeout
//!         other => println!("{other:?}"), // send frames, close connections, re-route media
//!     }
//! }
//! ```
//!
//! Errors in what a peer sends become error acknowledgements; nothing a peer sends can make the
//! core panic. [`Family::check_invariants`] verifies SPEC §3's invariants and is called by the
//! simulation and model tests after every step.
#![deny(missing_docs)]

mod breakout;
mod facilitate;
mod family;
mod family_media;
mod io;
mod listen;
pub mod media;
mod meet;
mod pin;
mod plans;
mod presence;
mod rng;
mod snapshot;

pub use alcove_proto::signal::{Location, Muted, Role};
pub use family::{Family, FamilyConfig};
pub use io::{CloseReason, Input, NewClient, Output, Route};
pub use rng::Rng;
pub use snapshot::{BreakoutSnapshot, ClientSnapshot, FamilySnapshot, TimerSnapshot};

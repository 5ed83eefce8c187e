//! A deterministic test world for the Alcove family core (`alcove-core`).
//!
//! * [`clock`]: the virtual clock (a base `Instant` plus an offset the test advances).
//! * [`world`]: [`World`], one [`alcove_core::Family`] and its simulated clients, driven
//!   through the core's run-loop contract (with lost connections, resumes and server restarts
//!   from the family's snapshot), with SPEC §3's invariants checked after every step.
//! * [`req`]: request builders and acknowledgement readers for tests.
//!
//! Scenario tests (one behaviour per file) live in `tests/`; `tests/model.rs` is the proptest
//! model test against a small reference model of the break-out lifecycle.
//!
//! ```
//! use alcove_sim::{req, World};
//! use alcove_proto::signal::Role;
//!
//! let mut w = World::with_defaults(1);
//! let mia = w.connect("Mia", Role::Moderator);
//! let ack = w.request(&mia, req::create(3, 2));
//! assert_eq!(req::result(&ack), 0);
//! assert_eq!(req::rooms(&ack).len(), 2);
//! ```
#![deny(missing_docs)]

pub mod clock;
pub mod media;
pub mod req;
pub mod world;

pub use clock::Clock;
pub use media::{MediaWorld, SIMULCAST_RIDS};
pub use world::{Connection, Inboxes, ShellCall, World};

//! The Alcove wire: every signalling message, REST body and error code, and nothing else.
//!
//! This crate has no I/O and no async runtime. Both the server (`alcove-server`) and the
//! clients (`alcove-client`, the browser SDK) speak exactly the types defined here, and every
//! message has a golden JSON fixture in `fixtures/` that the Rust and JavaScript tests parse.
//!
//! * [`signal`]: the WebSocket frames, [`signal::ClientFrame`] (client → server requests) and
//!   [`signal::ServerFrame`] (acknowledgements and notifications).
//! * [`api`]: the REST API bodies.
//! * [`error_code`]: the stable numeric error codes.
//! * [`ids`]: typed identifiers.
//! * [`version`]: the protocol version and its capability predicates.
#![deny(missing_docs)]

pub mod api;
pub mod error_code;
pub mod ids;
pub mod signal;
pub mod version;

pub use error_code::ErrorCode;
pub use ids::{ClientId, RequestId, RoomId};

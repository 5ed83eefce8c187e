//! Readings of a process from `/proc`: `alcove-load`'s own code (crates/load, `procfs.rs`), so
//! both tools read the servers the same way; here for the `janus` process.

pub use alcove_load::procfs::{cpu_time, rss_bytes};

/// Name of Janus's executable (`/proc/<pid>/comm`).
pub const JANUS_COMM: &str = "janus";

/// The process named `comm_name` that has a TCP socket listening on `port`, if any.
pub fn find_server(comm_name: &str, port: u16) -> Option<u32> {
    alcove_load::procfs::find_process(comm_name, port)
}

//! The core's cost to forward audio, counted in instructions rather than timed, so that it can
//! be compared across commits on a busy machine (wall-clock benchmarks are not repeatable on a
//! shared 2-core machine; instruction counts are):
//!
//! ```sh
//! cargo build --release -p alcove-sim --example forward_count
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*deliver_all*' \
//!     target/release/examples/forward_count 2000
//! # the same through str0m's send streams (the path before the direct one):
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*deliver_all*' \
//!     target/release/examples/forward_count 2000 str0m
//! ```
//!
//! A break-out room of 5 (the moderator outside); one member talks; `N` of its SRTP packets,
//! pre-encrypted by its real str0m peer, are delivered to the family core in `deliver_all`,
//! which is the only function callgrind counts. Instructions per incoming packet = the total
//! divided by N; each incoming packet goes out to the 4 other members. The same program, run
//! without valgrind, prints the wall time per packet as well.

use alcove_sim::MediaWorld;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[inline(never)]
fn deliver_all(w: &mut MediaWorld, from: SocketAddr, packets: Vec<Vec<u8>>) {
    for p in packets {
        w.deliver_to_family(Duration::from_micros(100), from, p);
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let str0m_audio = std::env::args().nth(2).as_deref() == Some("str0m");
    let (mut w, members) = MediaWorld::talking_breakout_on(5, 5, str0m_audio);
    let from = w.addr_of(&members[0]);
    let packets = w.captured_talk(&members[0], n);
    let before = w.transmitted;
    let t = Instant::now();
    deliver_all(&mut w, from, packets);
    let took = t.elapsed();
    let out = w.transmitted - before;
    println!(
        "forward_count ({}): {n} packets in, {out} datagrams out ({:.2} per in), {:.2} µs per packet in (wall, unreliable on a busy machine)",
        if str0m_audio { "str0m send path" } else { "direct send path" },
        out as f64 / n as f64,
        took.as_secs_f64() * 1e6 / n as f64
    );
}

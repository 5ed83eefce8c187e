//! Core micro-benchmarks (`cargo bench -p alcove-sim`):
//!
//! * `breakout_ops`: break-out operations per second through the sans-IO family core, driven
//!   directly (no test harness checks): a forced invite and a disconnect per iteration, in a
//!   family of 100 participants and 10 live rooms;
//! * `forward_audio`: the core's cost to forward one SRTP audio packet to the 4 other members
//!   of a break-out room (SRTP decrypt, slot lookup, time rewrite, SRTP encrypt ×4), without
//!   sockets; packets are pre-encrypted by a real str0m peer outside the timed section.

use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role, RoomRef};
use alcove_proto::{ClientId, RequestId, RoomId};
use alcove_sim::{req, MediaWorld};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};

fn drain(f: &mut Family) -> usize {
    let mut n = 0;
    while !matches!(f.poll_output(), Output::Timeout(_)) {
        n += 1;
    }
    n
}

fn breakout_ops(c: &mut Criterion) {
    let settings = RoomSettings {
        participants: 1000,
        ..RoomSettings::default()
    };
    let start = Instant::now();
    let mut f = Family::new(
        FamilyConfig::new(RoomId::from("p"), "bench", settings, 3),
        start,
    );
    let mut id = 0u64;
    let mut next = || {
        id += 1;
        RequestId(id)
    };
    let m = ClientId::from("m");
    f.handle_input(Input::Connect {
        now: start,
        client: m.clone(),
        id: next(),
        user: NewClient::new("M", Role::Moderator),
        version: 1,
    });
    let people: Vec<ClientId> = (0..100).map(|i| ClientId(format!("p{i}"))).collect();
    for p in &people {
        f.handle_input(Input::Connect {
            now: start,
            client: p.clone(),
            id: next(),
            user: NewClient::new("P", Role::Participant),
            version: 1,
        });
    }
    f.handle_input(Input::Request {
        now: start,
        client: m.clone(),
        id: next(),
        msg: req::create(5, 10),
    });
    let rooms: Vec<RoomId> = f.breakout_rooms().into_iter().map(|b| b.room_id).collect();
    drain(&mut f);
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(2));
    let mut i = 0usize;
    g.bench_function("breakout_ops (invite+force_join, disconnect)", |b| {
        b.iter(|| {
            let p = &people[i % people.len()];
            let room = &rooms[i % rooms.len()];
            i += 1;
            let inv = Invitee {
                clients: vec![p.clone()],
                room_id: room.clone(),
                force_join: true,
            };
            f.handle_input(Input::Request {
                now: start,
                client: m.clone(),
                id: next(),
                msg: ClientMessage::InviteToBreakOutRoom(inv),
            });
            f.handle_input(Input::Request {
                now: start,
                client: p.clone(),
                id: next(),
                msg: ClientMessage::Disconnect(RoomRef {
                    room_id: room.clone(),
                }),
            });
            drain(&mut f)
        })
    });
    g.finish();
}

fn forward_audio(c: &mut Criterion) {
    let (mut w, members) = MediaWorld::talking_breakout(5, 5);
    let from = w.addr_of(&members[0]);
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    let mut out_total = 0u64;
    let mut in_total = 0u64;
    g.bench_function("forward_audio (1 packet in, 4 out)", |b| {
        b.iter_custom(|iters| {
            // Untimed: the sender's packets, encrypted by its real str0m peer.
            let packets = w.captured_talk(&members[0], iters as usize);
            let before = w.transmitted;
            let t = Instant::now();
            for p in packets {
                w.deliver_to_family(Duration::from_micros(100), from, p);
            }
            let took = t.elapsed();
            out_total += w.transmitted - before;
            in_total += iters;
            took
        })
    });
    g.finish();
    eprintln!(
        "forward_audio: {in_total} packets in, {out_total} datagrams out ({:.2} out per in)",
        out_total as f64 / in_total.max(1) as f64
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = breakout_ops, forward_audio
}
criterion_main!(benches);

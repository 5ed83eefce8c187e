//! Core micro-benchmarks (`cargo bench -p alcove-sim`):
//!
//! * `breakout_ops`: break-out operations per second through the sans-IO family core (a forced
//!   invite and a disconnect per iteration, in a family of 100 clients and 10 live rooms);
//! * `forward_audio`: the core's cost to forward one SRTP audio packet to the 5 other members
//!   of a break-out room (decrypt, slot lookup, time rewrite, encrypt ×5), without sockets.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Invitee, Role, RoomRef};
use alcove_sim::{req, MediaWorld, World};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

fn breakout_ops(c: &mut Criterion) {
    let settings = RoomSettings {
        participants: 1000,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 3);
    let m = w.connect("M", Role::Moderator);
    let people: Vec<_> = (0..100)
        .map(|i| w.connect(&format!("P{i}"), Role::Participant))
        .collect();
    let ack = w.request(&m, req::create(5, 10));
    let rooms = req::rooms(&ack);
    let _ = w.take_inbox(&m);
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
            w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
            w.request(
                p,
                ClientMessage::Disconnect(RoomRef {
                    room_id: room.clone(),
                }),
            );
            w.take_all_inboxes();
        })
    });
    g.finish();
}

fn forward_audio(c: &mut Criterion) {
    let mut w = MediaWorld::new(RoomSettings::default(), 5);
    let m = w.join("M", Role::Moderator);
    let members: Vec<_> = (0..6)
        .map(|i| w.join(&format!("P{i}"), Role::Participant))
        .collect();
    let ack = w.request(&m, req::create(5, 1));
    let room = req::rooms(&ack)[0].clone();
    let inv = Invitee {
        clients: members.clone(),
        room_id: room,
        force_join: true,
    };
    w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
    // Let the sender become an active talker in everyone's slots.
    for _ in 0..30 {
        w.talk(&members[0], b"P0:");
        w.pump(Duration::from_millis(20));
    }
    // Pre-encrypt a batch of the sender's packets (the client's cost is not measured).
    let from = w.addr_of(&members[0]);
    let mut packets = Vec::new();
    for _ in 0..50_000 {
        w.talk(
            &members[0],
            b"P0:benchmark-frame-of-about-sixty-bytes-like-real-opus-audio...",
        );
        packets.extend(w.capture_from_peer(&members[0]).into_iter().map(|(_, p)| p));
        w.advance_clock(Duration::from_micros(200));
    }
    let before = w.transmitted;
    let mut it = packets.into_iter();
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    g.bench_function("forward_audio (1 packet in, 5 out)", |b| {
        b.iter(|| {
            if let Some(p) = it.next() {
                w.deliver_to_family(from, p);
            }
        })
    });
    g.finish();
    let out = w.transmitted - before;
    eprintln!("forward_audio: {out} datagrams sent by the core during the run");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = breakout_ops, forward_audio
}
criterion_main!(benches);

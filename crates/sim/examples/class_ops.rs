//! Wall time of break-out operations in a family of N (no media), release build:
//! `cargo run --release -p alcove-sim --example class_ops -- 1000`.
use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{decode_client_frame, Role};
use alcove_proto::{ClientId, RequestId, RoomId};
use std::time::{Duration, Instant};

fn step(f: &mut Family, input: Input) -> usize {
    f.handle_input(input);
    let mut n = 0;
    loop {
        match f.poll_output() {
            Output::Timeout(_) => break,
            Output::Send { frame, .. } if n == 0 && std::env::var("SHOW").is_ok() => {
                println!("{:?}", frame.msg);
                n += 1
            }
            _ => n += 1,
        }
    }
    n
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let settings = RoomSettings {
        participants: 2000,
        max_breakout_rooms: 100,
        max_active_talkers: 11,
        ..RoomSettings::default()
    };
    let mut now = Instant::now();
    let config = FamilyConfig::new(RoomId("class".into()), "Class", settings, 5);
    let mut f = Family::new(config, now);
    let t = Instant::now();
    let mut ids = Vec::new();
    for i in 0..=n {
        now += Duration::from_millis(1);
        let c = ClientId(format!("c{i}"));
        let role = if i == 0 {
            Role::Moderator
        } else {
            Role::Participant
        };
        step(
            &mut f,
            Input::Connect {
                now,
                client: c.clone(),
                id: RequestId(0),
                user: NewClient::new(&format!("u{i}"), role),
                version: 3,
            },
        );
        ids.push(c);
    }
    println!("connect {n}: {:?}", t.elapsed());
    let mut rid = 1u64;
    let mut req = |f: &mut Family, now: &mut Instant, json: String| -> (Duration, usize) {
        *now += Duration::from_millis(1);
        let frame = decode_client_frame(&format!(r#"{{"id":{rid},{json}}}"#)).expect("valid");
        rid += 1;
        let t = Instant::now();
        let outs = step(
            f,
            Input::Request {
                now: *now,
                client: ids[0].clone(),
                id: frame.id,
                msg: frame.msg,
            },
        );
        (t.elapsed(), outs)
    };
    let rooms = n / 10;
    let (d, o) = req(
        &mut f,
        &mut now,
        format!(
            r#""type":"createBreakOutRoom","participants":10,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":{rooms}"#
        ),
    );
    println!("create {rooms}: {d:?} outputs {o}");
    let rooms_list: Vec<String> = f
        .breakout_rooms()
        .iter()
        .map(|r| r.room_id.0.clone())
        .collect();
    for (k, r) in rooms_list.iter().enumerate().take(5) {
        let cl: Vec<String> = (1 + k * 10..1 + k * 10 + 10)
            .map(|i| format!("\"c{i}\""))
            .collect();
        let (d, o) = req(
            &mut f,
            &mut now,
            format!(
                r#""type":"inviteToBreakOutRoom","clients":[{}],"room_id":"{r}","force_join":true"#,
                cl.join(",")
            ),
        );
        println!("invite {k}: {d:?} outputs {o}");
    }
}

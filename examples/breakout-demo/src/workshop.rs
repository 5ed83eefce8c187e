//! `breakout-demo --workshop`: a facilitator runs a whole workshop from one moderator client,
//! with eight participants: three rounds of timed groups (the second reshuffled so people meet
//! someone new, the third from a saved plan), a broadcast "time is nearly up", a help request
//! answered by joining the group. Everything a facilitator asks of the server is one request;
//! everything the participants live through is printed as it happens.

use alcove_client::proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_client::proto::signal::{AssignPolicy, JoinRole, Role, RoomDefinition, StreamInfo};
use alcove_client::proto::RoomId;
use alcove_client::{connect, Events, FacilitationEvent, RestClient, Room};
use anyhow::{bail, Context};
use std::time::Duration;

/// Seconds a round lasts, and the warning before its end.
const ROUND_SECS: u32 = 4;
const WARNING_SECS: u32 = 2;

struct Person {
    name: String,
    room: Room,
    events: Events,
}

/// Runs the workshop against the server at `url` with the app's credentials.
pub async fn run(url: &str, app_id: &str, app_key: &str) -> anyhow::Result<()> {
    let rest = RestClient::new(url, app_id, app_key);
    let record = rest
        .create_room(&CreateRoomRequest {
            name: "Workshop".into(),
            owner_ref: "breakout-demo".into(),
            settings: RoomSettingsInput::default(),
            data: serde_json::json!({}),
        })
        .await
        .context("creating the room (are ALCOVE_URL, ALCOVE_APP_ID and ALCOVE_APP_KEY right?)")?;
    let room_id = record.room_id.clone();
    let outcome = workshop(&rest, &room_id).await;
    let _ = rest.delete_room(&room_id).await;
    outcome
}

async fn join(rest: &RestClient, room: &RoomId, name: &str, role: Role) -> anyhow::Result<Person> {
    let token = rest
        .create_token(
            room,
            &CreateTokenRequest {
                name: name.into(),
                role,
                user_ref: name.to_lowercase(),
                data: serde_json::json!({}),
            },
        )
        .await?;
    let (room, events) = connect(&rest.signal_url(), &token.token).await?;
    Ok(Person {
        name: name.to_owned(),
        room,
        events,
    })
}

fn groups_of(ack: &alcove_client::proto::signal::AckCreateAndInviteBreakOutRoom) -> String {
    let Some(data) = ack.msg.data() else {
        return String::new();
    };
    data.invitations
        .iter()
        .map(|i| format!("{} member(s)", i.clients.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn workshop(rest: &RestClient, room_id: &RoomId) -> anyhow::Result<()> {
    let mut host = join(rest, room_id, "Facilitator", Role::Moderator).await?;
    let names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana"];
    let mut people = Vec::new();
    for n in names {
        people.push(join(rest, room_id, n, Role::Participant).await?);
    }
    println!(
        "== a facilitator and {} participants in the main room",
        people.len()
    );

    let round_def = |policy| RoomDefinition {
        participants: 2,
        max_rooms: 4,
        force_join: true,
        duration: Some(ROUND_SECS),
        warning: Some(WARNING_SECS),
        policy,
        ..RoomDefinition::default()
    };
    for round in 1..=3 {
        println!("\n== round {round}");
        let rooms: Vec<RoomId> = if round < 3 {
            let policy = if round == 1 {
                AssignPolicy::Random
            } else {
                AssignPolicy::MeetNew
            };
            let ack = host
                .room
                .create_and_invite_breakout_room_named(
                    &round_def(policy),
                    &["Red", "Green", "Blue", "Gold"],
                )
                .await?;
            let data = ack.msg.data().context("rooms on success")?;
            println!(
                "  4 timed groups of 2 ({} s, warning {} s before the end): {}",
                ROUND_SECS,
                WARNING_SECS,
                groups_of(&ack)
            );
            if let Some(r) = data.repeats {
                println!(
                    "  policy meet_new: {r} pair(s) meet again (0: everyone meets someone new)"
                );
            }
            if round == 2 {
                let saved = host.room.save_plan("pairs of round 2").await?;
                let plan = saved.plan.context("the plan")?;
                println!(
                    "  saved as plan {:?} ({} rooms)",
                    plan.name,
                    plan.rooms.len()
                );
            }
            data.rooms.clone()
        } else {
            let ack = host.room.apply_plan("pairs of round 2", true).await?;
            println!(
                "  plan applied: {} rooms, {} unmatched",
                ack.rooms.len(),
                ack.unmatched.len()
            );
            for r in &ack.rooms {
                host.room
                    .set_breakout_duration(r, Some(ROUND_SECS), Some(WARNING_SECS))
                    .await?;
            }
            ack.rooms.clone()
        };

        // Someone asks for help; the facilitator joins that group, then comes back.
        if round == 1 {
            let asker = people[0].name.clone();
            let ack = people[0].room.request_help().await?;
            let request = ack.request.context("a pending request")?;
            let ev = host
                .events
                .wait_for_event(Duration::from_secs(5), |e| {
                    matches!(e, FacilitationEvent::HelpRequested(_))
                })
                .await;
            if ev.is_none() {
                bail!("the facilitator never saw the help request");
            }
            println!("  {asker} asks for help");
            let br = host
                .room
                .join_breakout_room(&request.room_id, JoinRole::Moderator, StreamInfo::default())
                .await?;
            let answered = people[0]
                .events
                .wait_for_event(Duration::from_secs(5), |e| {
                    matches!(e, FacilitationEvent::HelpAnswered(_))
                })
                .await;
            println!(
                "  the facilitator joins that group; {} is told: {}",
                asker,
                if answered.is_some() {
                    "help is here"
                } else {
                    "(nothing)"
                }
            );
            br.disconnect().await?;
        }

        // Half-way: a broadcast to every room.
        let ack = host
            .room
            .broadcast_message("Time is nearly up: finish your sentence", None)
            .await?;
        println!(
            "  broadcast \"Time is nearly up\" reached {} people",
            ack.recipients
        );

        // The warning, then the end: everyone is back in the main room.
        let warned = people[1]
            .events
            .wait_for_event(Duration::from_secs(u64::from(ROUND_SECS) + 5), |e| {
                matches!(e, FacilitationEvent::BreakoutTimerWarning(_))
            })
            .await;
        println!(
            "  {}: {}",
            people[1].name,
            if warned.is_some() {
                "warned before the end"
            } else {
                "no warning seen"
            }
        );
        for p in people.iter_mut() {
            let back = p
                .events
                .wait_for_event(Duration::from_secs(u64::from(ROUND_SECS) + 5), |e| {
                    matches!(e, FacilitationEvent::LeftBreakoutRoom(l)
                        if l.reason == Some(alcove_client::proto::signal::LeaveReason::Timeout))
                })
                .await;
            if back.is_none() {
                bail!(
                    "{} was not brought back at the end of round {round}",
                    p.name
                );
            }
        }
        println!(
            "  time is up: all {} are back in the main room ({} rooms closed)",
            people.len(),
            rooms.len()
        );
    }
    host.room.close().await;
    for p in people {
        p.room.close().await;
    }
    println!("\n== workshop done");
    Ok(())
}

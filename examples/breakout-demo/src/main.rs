//! `breakout-demo`: the whole break-out room lifecycle, end to end, against a running Alcove
//! server, with two clients, a moderator and a participant.
//!
//! ```text
//! ALCOVE_APP_ID=… ALCOVE_APP_KEY=… cargo run -p breakout-demo
//! cargo run -p breakout-demo -- --url http://127.0.0.1:7880 --app-id … --app-key …
//! ```
//!
//! What it does, step by step (each step prints every frame each client receives):
//!
//! 1. the app's backend creates a parent room and mints two tokens (REST);
//! 2. both clients connect over WebSocket signalling;
//! 3. the moderator creates a break-out room and invites the participant;
//! 4. the participant accepts by joining, then pauses, mutes and resumes its parent link;
//! 5. the participant disconnects from the break-out room (back to the parent);
//! 6. the moderator creates a second break-out room and force-joins the participant into it;
//! 7. the moderator destroys every break-out room; everyone is back in the parent;
//! 8. both clients leave and the backend deletes the room.

use alcove_client::proto::api::{
    CreateRoomRequest, CreateTokenRequest, RoomMode, RoomSettingsInput,
};
use alcove_client::proto::signal::{
    Invitee, JoinRole, MediaFlags, Role, RoomDefinition, ServerFrame, ServerMessage, StreamInfo,
};
use alcove_client::proto::RoomId;
use alcove_client::{connect, Events, RestClient, Room};
use anyhow::Context;
use clap::Parser;
use std::time::Duration;

mod workshop;

/// Command line: every option can also come from the environment.
#[derive(Debug, Parser)]
#[command(about = "Walks through Alcove's break-out room lifecycle with two clients")]
struct Args {
    /// Base URL of the Alcove server (its REST API; signalling is derived from it).
    #[arg(long, env = "ALCOVE_URL", default_value = "http://127.0.0.1:7880")]
    url: String,
    /// The app's id (HTTP Basic user name of the REST API).
    #[arg(long, env = "ALCOVE_APP_ID")]
    app_id: String,
    /// The app's key (HTTP Basic password of the REST API).
    #[arg(long, env = "ALCOVE_APP_KEY")]
    app_key: String,
    /// Instead of the lifecycle walk: a facilitator runs a workshop of three timed rounds
    /// with eight participants (meet someone new, a saved plan, a broadcast, a help request).
    #[arg(long)]
    workshop: bool,
}

/// How long we listen for the notifications a step causes before moving on. Notifications
/// travel on the same connection as acks, but to *other* clients, so they may land a little
/// after the caller's ack: a short quiet period catches them.
const SETTLE: Duration = Duration::from_millis(300);

/// How long we wait for a frame we know must come (an invitation, a forced join).
const PATIENCE: Duration = Duration::from_secs(5);

/// One connected client: its parent-room handle, its event stream, and a label for printing.
struct Client {
    /// "moderator" or "participant"; printed in front of everything this client sees.
    label: &'static str,
    /// The parent-room handle: every break-out call goes through it.
    room: Room,
    /// Every frame the server sent this client, acks included, in arrival order.
    events: Events,
}

impl Client {
    /// Prints every frame that arrives within [`SETTLE`].
    async fn show(&mut self) {
        for frame in self.events.drain_for(SETTLE).await {
            print_frame(self.label, &frame);
        }
    }

    /// Prints frames until one of type `wanted` arrives (printed too) and returns it.
    ///
    /// We print while we wait rather than using `Events::wait_for`, which would silently drop
    /// the frames that do not match: the point of this demo is to show *everything*.
    async fn wait(&mut self, wanted: &str) -> anyhow::Result<ServerFrame> {
        loop {
            let frame = self
                .events
                .next_within(PATIENCE)
                .await
                .with_context(|| format!("{} never received `{wanted}`", self.label))?;
            print_frame(self.label, &frame);
            if frame.msg.type_name() == wanted {
                return Ok(frame);
            }
        }
    }
}

/// `[label] ← type #id {json}`: one line per frame. Acks carry the id of the request they
/// answer; notifications have none.
fn print_frame(label: &str, frame: &ServerFrame) {
    let id = frame.id.map(|id| format!(" #{id}")).unwrap_or_default();
    println!(
        "  [{label:>11}] ← {}{id}  {}",
        frame.msg.type_name(),
        frame.encode()
    );
}

/// A step header, so the output reads like a script.
fn step(title: &str) {
    println!("\n== {title}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.workshop {
        return workshop::run(&args.url, &args.app_id, &args.app_key).await;
    }

    // ---------------------------------------------------------------------------------------
    // 1. The app's backend: create a parent room, mint one token per user.
    //
    // This is what your server does, never your users' browsers: it holds the app key.
    // ---------------------------------------------------------------------------------------
    step("1. REST: create a parent room and mint two tokens");
    let rest = RestClient::new(&args.url, &args.app_id, &args.app_key);

    // Break-out rooms need a `group` room (a `lecture` room refuses them with 5067). A
    // break-out room holds at most `max_active_talkers − 1` participants, so 6 allows up to 5.
    let record = rest
        .create_room(&CreateRoomRequest {
            name: "Break-out demo".into(),
            owner_ref: "breakout-demo".into(),
            settings: RoomSettingsInput {
                mode: Some(RoomMode::Group),
                max_active_talkers: Some(6),
                ..Default::default()
            },
            data: serde_json::json!({}),
        })
        .await
        .context("creating the room (are ALCOVE_URL, ALCOVE_APP_ID and ALCOVE_APP_KEY right?)")?;
    let room_id = record.room_id.clone();
    println!("  room {room_id} created ({:?} mode)", record.settings.mode);

    // Tokens are single use and bound to this room; the role is fixed by the token.
    let token_for = |name: &str, role: Role, user_ref: &str| CreateTokenRequest {
        name: name.into(),
        role,
        user_ref: user_ref.into(),
        data: serde_json::json!({}),
    };
    let moderator_token = rest
        .create_token(
            &room_id,
            &token_for("Mona (moderator)", Role::Moderator, "mona"),
        )
        .await?;
    let participant_token = rest
        .create_token(
            &room_id,
            &token_for("Pete (participant)", Role::Participant, "pete"),
        )
        .await?;
    println!("  minted a moderator token and a participant token");

    // Everything after this point runs inside `run`, so that the room is deleted even when a
    // step fails halfway.
    let outcome = run(
        &rest,
        &room_id,
        &moderator_token.token,
        &participant_token.token,
    )
    .await;

    // ---------------------------------------------------------------------------------------
    // 8b. Clean up: deleting the room ends its family on the server.
    // ---------------------------------------------------------------------------------------
    step("8b. REST: delete the room");
    match rest.delete_room(&room_id).await {
        Ok(()) => println!("  room {room_id} deleted"),
        Err(e) => println!("  could not delete room {room_id}: {e}"),
    }
    outcome
}

/// Steps 2–8: two clients, the break-out lifecycle.
async fn run(
    rest: &RestClient,
    room_id: &RoomId,
    moderator_token: &str,
    participant_token: &str,
) -> anyhow::Result<()> {
    // ---------------------------------------------------------------------------------------
    // 2. Both users connect. One WebSocket per client carries the whole family: the parent
    //    room and every break-out room it will ever enter.
    // ---------------------------------------------------------------------------------------
    step("2. both clients connect");
    let signal_url = rest.signal_url();
    let (room, events) = connect(&signal_url, moderator_token)
        .await
        .context("moderator connect")?;
    let mut moderator = Client {
        label: "moderator",
        room,
        events,
    };
    let (room, events) = connect(&signal_url, participant_token)
        .await
        .context("participant connect")?;
    let mut participant = Client {
        label: "participant",
        room,
        events,
    };
    // `connected()` is the `roomConnected` answer: who we are and who else is here.
    for c in [&moderator, &participant] {
        let rc = c.room.connected();
        println!(
            "  [{:>11}] connected as {} to {:?}; {} user(s) here",
            c.label,
            rc.client_id,
            rc.room.name,
            rc.users.len()
        );
    }
    // The moderator hears about the participant arriving (`userConnected`).
    moderator.show().await;
    participant.show().await;

    // ---------------------------------------------------------------------------------------
    // 3. The moderator creates one break-out room and invites the participant.
    // ---------------------------------------------------------------------------------------
    step("3. moderator: createBreakOutRoom, then inviteToBreakOutRoom");
    // The room definition, with the contract's required keys. `video` must be false:
    // break-out rooms carry audio, screen share and canvas only.
    let definition = RoomDefinition {
        participants: 2,
        audio: true,
        video: false,
        canvas: false,
        share: true,
        max_rooms: 1,
        force_join: false,
        ..RoomDefinition::default()
    };
    let ack = moderator.room.create_break_out_room(&definition).await?;
    // On success `msg` is `{rooms: [...]}`; on failure the call returns `Error::Refused`.
    let first_room = ack
        .msg
        .data()
        .and_then(|d| d.rooms.first().cloned())
        .context("no room")?;
    println!("  [  moderator] created break-out room {first_room}");
    // The ack is on the event stream too, followed by `breakoutRoomCreated` (sent to every
    // moderator, the creator included).
    moderator.show().await;

    let invitee = Invitee {
        clients: vec![participant.room.client_id().clone()],
        room_id: first_room.clone(),
        force_join: false,
    };
    let ack = moderator.room.invite_to_break_out_room(&invitee).await?;
    // `result: 0` means the request was accepted; per-client failures would be in `failed`.
    println!(
        "  [  moderator] invited {:?}, failed {:?}",
        ack.invited, ack.failed
    );
    moderator.show().await;

    // ---------------------------------------------------------------------------------------
    // 4. The participant gets the invitation, accepts it by joining, and plays with its
    //    parent link: joining auto-pauses the parent; pause/mute/resume/unmute are explicit.
    // ---------------------------------------------------------------------------------------
    step("4. participant: joinBreakoutRoom, pause, muteRoom, resume, unmuteRoom");
    let invitation = participant.wait("invitationForBreakoutRoom").await?;
    let invited_to = match invitation.msg {
        ServerMessage::InvitationForBreakoutRoom(inv) => inv.room_id,
        _ => unreachable!("wait() returns only the type it was asked for"),
    };
    // Join as a participant, with audio (video is not supported in break-out rooms).
    let breakout = participant
        .room
        .join_breakout_room(&invited_to, JoinRole::Participant, StreamInfo::default())
        .await?;
    println!(
        "  [participant] joined {} ({}), members: {:?}",
        breakout.info().room.name,
        breakout.room_id(),
        breakout
            .info()
            .room
            .members
            .iter()
            .map(|m| &m.name)
            .collect::<Vec<_>>()
    );
    participant.show().await;
    moderator.show().await;

    // The REST API sees the same state: the break-out room with its member, and where each
    // user is now.
    for br in rest.breakout_rooms(room_id).await? {
        println!("  REST: {} has {} member(s)", br.room_id, br.members.len());
    }
    for user in rest.users(room_id).await? {
        println!(
            "  REST: {} is in {:?} (paused: {})",
            user.name, user.location, user.paused
        );
    }

    // Each call returns its ack (`{result: 0, msg: "Room paused"}` …). The parent link was
    // already paused by the join; pausing again is harmless and still acknowledged.
    let audio_only = MediaFlags {
        audio: true,
        video: false,
    };
    println!("  [participant] {}", participant.room.pause().await?.msg);
    println!(
        "  [participant] {}",
        participant.room.mute_room(audio_only).await?.msg
    );
    println!("  [participant] {}", participant.room.resume().await?.msg);
    println!(
        "  [participant] {}",
        participant.room.unmute_room(audio_only).await?.msg
    );
    participant.show().await;
    // The moderator, in the parent, sees the participant's parent-link changes
    // (`userPaused`, `userMuted`).
    moderator.show().await;

    // ---------------------------------------------------------------------------------------
    // 5. The participant leaves the break-out room through its handle; it lands back in the
    //    parent automatically. The room is now empty, so the server destroys it and tells the
    //    owner (`didDestroyedBreakoutRoom`).
    // ---------------------------------------------------------------------------------------
    step("5. participant: disconnect from the break-out room");
    let ack = breakout.disconnect().await?;
    println!("  [participant] {} ({:?})", ack.msg, ack.room_id);
    participant.show().await;
    moderator.show().await;

    // ---------------------------------------------------------------------------------------
    // 6. A second break-out room, and this time the moderator does not ask: `force_join`
    //    moves the participant in at once. The participant learns it from an unsolicited
    //    `connectedBreakoutRoom` (no request id) and wraps it in a handle.
    // ---------------------------------------------------------------------------------------
    step("6. moderator: create again, then invite with force_join");
    let ack = moderator.room.create_break_out_room(&definition).await?;
    let second_room = ack
        .msg
        .data()
        .and_then(|d| d.rooms.first().cloned())
        .context("no room")?;
    println!("  [  moderator] created break-out room {second_room}");
    moderator.show().await;

    let forced = Invitee {
        clients: vec![participant.room.client_id().clone()],
        room_id: second_room.clone(),
        force_join: true,
    };
    let ack = moderator.room.invite_to_break_out_room(&forced).await?;
    println!("  [  moderator] force-joined {:?}", ack.invited);
    moderator.show().await;

    let joined = participant.wait("connectedBreakoutRoom").await?;
    if let ServerMessage::ConnectedBreakoutRoom(info) = joined.msg {
        // Same handle type as a normal join: `disconnect()` would work on it.
        let handle = participant.room.breakout_room(info);
        println!("  [participant] was moved into {}", handle.room_id());
    }
    participant.show().await;

    // ---------------------------------------------------------------------------------------
    // 7. The moderator tears everything down. Members return to the parent, resumed and
    //    unmuted; the owner and every member moved back get `didDisconnectedBreakoutRoom`.
    // ---------------------------------------------------------------------------------------
    step("7. moderator: destroyAllBreakOutSession");
    let ack = moderator.room.destroy_all_break_out_session().await?;
    let destroyed = ack.msg.data().map(|d| d.rooms.clone()).unwrap_or_default();
    println!("  [  moderator] destroyed {destroyed:?}");
    moderator.show().await;
    participant.show().await;

    // ---------------------------------------------------------------------------------------
    // 8. Both clients leave the family. `close()` waits until the connection is closed;
    //    the moderator sees the participant go (`userDisconnected`) first.
    // ---------------------------------------------------------------------------------------
    step("8. both clients leave");
    participant.room.close().await;
    moderator.show().await;
    moderator.room.close().await;
    println!("  both connections closed");
    Ok(())
}

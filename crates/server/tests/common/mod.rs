//! Shared harness of the end-to-end tests: a real server on 127.0.0.1:0 with its database in a
//! temporary directory, real WebSocket clients through `alcove-client`, REST through
//! `RestClient`.
//!
//! Exactness of notifications without sleeps: `Peer::sync` sends a request that cannot change
//! anything (`muteRoom` with no flag, answered 1155) and collects every frame that arrives
//! before its ack. A family answers requests in order and queues a client's frames in order, so
//! every notification caused by an earlier operation is already in front of that ack.
#![allow(dead_code)]

use alcove_client::{connect, Events, RestClient, Room};
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::{
    ClientMessage, Invitee, MediaFlags, Role, RoomDefinition, ServerFrame, ServerMessage,
};
use alcove_proto::{ClientId, RoomId};
use alcove_server::{start, Config, Running};
use std::time::Duration;

pub struct TestServer {
    pub running: Running,
    pub rest: RestClient,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> TestServer {
        Self::start_with(dir, |_| {}).await
    }

    pub async fn start_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::new(dir.path().to_path_buf());
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.udp_listen = Some("127.0.0.1:0".parse().expect("addr"));
        tweak(&mut config);
        let running = start(config).await.expect("server starts");
        let creds = running.credentials.clone().expect("dev credentials");
        let rest = RestClient::new(&running.http_url(), &creds.app_id, &creds.app_key);
        TestServer { running, rest, dir }
    }

    pub async fn room(&self, settings: RoomSettingsInput) -> RoomId {
        let req = CreateRoomRequest {
            name: "e2e".into(),
            owner_ref: "tests".into(),
            settings,
            data: serde_json::Value::Null,
        };
        self.rest
            .create_room(&req)
            .await
            .expect("create room")
            .room_id
    }

    pub async fn token(&self, room: &RoomId, name: &str, role: Role) -> String {
        let req = CreateTokenRequest {
            name: name.into(),
            role,
            user_ref: format!("ref-{name}"),
            data: serde_json::Value::Null,
        };
        self.rest
            .create_token(room, &req)
            .await
            .expect("token")
            .token
    }

    pub async fn peer(&self, room: &RoomId, name: &str, role: Role) -> Peer {
        let token = self.token(room, name, role).await;
        let (room, events) = connect(&self.running.signal_url(), &token)
            .await
            .expect("connect");
        let id = room.client_id().clone();
        Peer {
            name: name.into(),
            room,
            events,
            id,
        }
    }
}

pub struct Peer {
    pub name: String,
    pub room: Room,
    pub events: Events,
    pub id: ClientId,
}

impl Peer {
    /// Every notification (frame without id) received since the last sync, in order, but the
    /// room list's state sync (`breakoutRoomsUpdated`, protocol 3): the seed-flow tests count
    /// what the seed names. Tests of the room list use [`Peer::sync_all`].
    pub async fn sync(&mut self) -> Vec<ServerFrame> {
        let mut all = self.sync_all().await;
        all.retain(|f| f.msg.type_name() != "breakoutRoomsUpdated");
        all
    }

    /// Every notification (frame without id) received since the last sync, in order.
    pub async fn sync_all(&mut self) -> Vec<ServerFrame> {
        let probe = ClientMessage::MuteRoom(MediaFlags::default());
        let ack = self.room.request(probe).await.expect("sync probe answered");
        let probe_id = ack.id.expect("ack carries id");
        let mut out = Vec::new();
        loop {
            let f = self
                .events
                .next_within(Duration::from_secs(30))
                .await
                .expect("frames before the sync ack");
            if f.id == Some(probe_id) {
                return out;
            }
            if f.id.is_none() {
                out.push(f);
            }
        }
    }

    /// The types of the notifications since the last sync (as [`Peer::sync`]).
    pub async fn notes(&mut self) -> Vec<&'static str> {
        self.sync()
            .await
            .iter()
            .map(|f| f.msg.type_name())
            .collect()
    }
}

/// Notification frames of one type.
pub fn of_type<'a>(frames: &'a [ServerFrame], ty: &str) -> Vec<&'a ServerMessage> {
    frames
        .iter()
        .filter(|f| f.msg.type_name() == ty)
        .map(|f| &f.msg)
        .collect()
}

/// Seed-flow notifications only (presence and the room list's state sync filtered out).
pub fn breakout_notes(frames: &[ServerFrame]) -> Vec<&'static str> {
    frames
        .iter()
        .map(|f| f.msg.type_name())
        .filter(|t| {
            !matches!(
                *t,
                "userConnected"
                    | "userDisconnected"
                    | "userMoved"
                    | "userPaused"
                    | "userMuted"
                    | "usersUpdated"
                    | "breakoutRoomsUpdated"
            )
        })
        .collect()
}

/// Presence (protocol 2): every `usersUpdated` entry about `client`, in order.
pub fn presence_of(
    frames: &[ServerFrame],
    client: &ClientId,
) -> Vec<alcove_proto::signal::UserInfo> {
    frames
        .iter()
        .filter_map(|f| match &f.msg {
            ServerMessage::UsersUpdated(b) => Some(b),
            _ => None,
        })
        .flat_map(|b| b.users.iter().filter(|u| &u.client_id == client).cloned())
        .collect()
}

/// Presence (protocol 2): the clients the `usersUpdated` frames say left, in order.
pub fn left_in(frames: &[ServerFrame]) -> Vec<ClientId> {
    frames
        .iter()
        .filter_map(|f| match &f.msg {
            ServerMessage::UsersUpdated(b) => Some(b.left.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// `p` creates break-out rooms from `d`; their ids (panics on a refusal).
pub async fn create(p: &Peer, d: &RoomDefinition) -> Vec<RoomId> {
    p.room
        .create_break_out_room(d)
        .await
        .expect("create")
        .msg
        .data()
        .expect("rooms")
        .rooms
        .clone()
}

/// The moderator `m` moves `who` into `room` at once (a forced invitation; panics on a
/// refusal).
pub async fn force_into(m: &Peer, room: &RoomId, who: &[&ClientId]) {
    m.room
        .invite_to_break_out_room(&Invitee {
            clients: who.iter().map(|c| (*c).clone()).collect(),
            room_id: room.clone(),
            force_join: true,
        })
        .await
        .expect("forced invite");
}

//! Issue 13, the server's part of "drop-in for the vendor's apps": the token-creation answer
//! carries the signalling URL (a client needs only that answer), and a break-out definition
//! without `max_rooms` creates one room. Real server, real sockets.

mod common;

use alcove_client::connect;
use alcove_proto::api::CreateTokenRequest;
use alcove_proto::signal::{ClientMessage, Msg, Role, RoomDefinitionInput, ServerMessage};
use common::TestServer;

fn token_req(name: &str, role: Role) -> CreateTokenRequest {
    CreateTokenRequest {
        name: name.into(),
        role,
        user_ref: String::new(),
        data: serde_json::Value::Null,
    }
}

#[tokio::test]
async fn the_token_answer_carries_a_signal_url_that_connects() {
    let s = TestServer::start().await;
    let room = s.room(Default::default()).await;
    let answer = s
        .rest
        .create_token(&room, &token_req("Ada", Role::Moderator))
        .await
        .expect("token");
    // From the bound address (no --public-url).
    assert_eq!(answer.signal_url, s.running.signal_url());
    // Only the answer is needed to join.
    let (joined, _events) = connect(&answer.signal_url, &answer.token)
        .await
        .expect("the token connects at the URL it came with");
    assert_eq!(joined.connected().room.room_id, room);
}

#[tokio::test]
async fn the_signal_url_follows_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(dir, |c| {
        c.public_url = Some("https://alcove.example.com/rtc".into());
    })
    .await;
    let room = s.room(Default::default()).await;
    let answer = s
        .rest
        .create_token(&room, &token_req("Ben", Role::Participant))
        .await
        .expect("token");
    assert_eq!(answer.signal_url, "wss://alcove.example.com/rtc/v1/signal");
}

#[tokio::test]
async fn a_definition_without_max_rooms_creates_one_room() {
    let s = TestServer::start().await;
    let room = s.room(Default::default()).await;
    let ada = s.peer(&room, "Ada", Role::Moderator).await;
    let def: serde_json::Map<String, serde_json::Value> = serde_json::from_value(
        serde_json::json!({"participants": 2, "audio": true, "video": false, "canvas": false, "share": false}),
    )
    .unwrap();
    let ack = ada
        .room
        .request(ClientMessage::CreateBreakOutRoom(RoomDefinitionInput(def)))
        .await
        .expect("answered");
    match ack.msg {
        ServerMessage::AckCreateBreakOutRoom(a) => {
            assert_eq!(a.result, 0, "{a:?}");
            match a.msg {
                Msg::Data(list) => assert_eq!(list.rooms.len(), 1),
                Msg::Text(t) => panic!("{t}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

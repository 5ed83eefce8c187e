//! The REST API against a real server and a real database file: auth, validation, CRUD,
//! and that rooms, credentials and used tokens survive a restart.

mod common;

use alcove_client::{RestClient, RestError};
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomMode, RoomSettingsInput};
use alcove_proto::signal::Role;
use alcove_proto::RoomId;
use common::TestServer;

fn code(e: &RestError) -> (u16, i32) {
    match e {
        RestError::Api { status, result, .. } => (*status, *result),
        other => panic!("not an API error: {other:?}"),
    }
}

fn req(name: &str, settings: RoomSettingsInput) -> CreateRoomRequest {
    CreateRoomRequest {
        name: name.into(),
        owner_ref: "o".into(),
        settings,
        data: serde_json::json!({"k": 1}),
    }
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let s = TestServer::start().await;
    let nobody = RestClient::new(&s.running.http_url(), "dev", "wrong-key");
    assert_eq!(code(&nobody.list_rooms().await.unwrap_err()), (401, 4401));
    let stranger = RestClient::new(&s.running.http_url(), "ghost", "x");
    assert_eq!(
        code(
            &stranger
                .create_room(&req("r", Default::default()))
                .await
                .unwrap_err()
        ),
        (401, 4401)
    );
    // No Authorization header at all.
    let r = reqwest_free_get(&s, "/v1/rooms").await;
    assert_eq!(r.0, 401);
    assert!(r.1.contains("4401"));
}

/// A GET without credentials over a plain TCP socket (no HTTP client library involved).
async fn reqwest_free_get(s: &TestServer, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(s.running.addr)
        .await
        .unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out)
}

#[tokio::test]
async fn rooms_are_created_listed_fetched_and_deleted_with_validation() {
    let s = TestServer::start().await;
    let room = s
        .rest
        .create_room(&req(
            "Maths",
            RoomSettingsInput {
                max_active_talkers: Some(8),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(room.name, "Maths");
    assert_eq!(room.settings.max_active_talkers, 8);
    assert_eq!(room.settings.mode, RoomMode::Group, "defaults filled in");
    assert_eq!(room.data, serde_json::json!({"k": 1}));
    assert!(room.created.ends_with('Z'));
    let lecture = s
        .rest
        .create_room(&req(
            "Talk",
            RoomSettingsInput {
                mode: Some(RoomMode::Lecture),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let all = s.rest.list_rooms().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.room_id.clone()).collect::<Vec<_>>(),
        vec![room.room_id.clone(), lecture.room_id.clone()]
    );
    assert_eq!(s.rest.get_room(&room.room_id).await.unwrap(), room);

    let bad = s
        .rest
        .create_room(&req(
            "x",
            RoomSettingsInput {
                max_active_talkers: Some(17),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&bad), (400, 4400));
    let bad = s
        .rest
        .create_room(&req("", Default::default()))
        .await
        .unwrap_err();
    assert_eq!(code(&bad), (400, 4400), "empty name");
    assert_eq!(
        code(&s.rest.get_room(&RoomId::from("nope")).await.unwrap_err()),
        (404, 4404)
    );

    // Another app cannot see or touch this app's rooms.
    let other = s.running.state.store.create_app("other").unwrap();
    let them = RestClient::new(&s.running.http_url(), &other.app_id, &other.app_key);
    assert!(them.list_rooms().await.unwrap().is_empty());
    assert_eq!(
        code(&them.get_room(&room.room_id).await.unwrap_err()),
        (404, 4404)
    );
    assert_eq!(
        code(&them.delete_room(&room.room_id).await.unwrap_err()),
        (404, 4404)
    );
    let t = CreateTokenRequest {
        name: "x".into(),
        role: Role::Moderator,
        user_ref: "u".into(),
        data: serde_json::Value::Null,
    };
    assert_eq!(
        code(&them.create_token(&room.room_id, &t).await.unwrap_err()),
        (404, 4404)
    );

    s.rest.delete_room(&lecture.room_id).await.unwrap();
    assert_eq!(
        code(&s.rest.get_room(&lecture.room_id).await.unwrap_err()),
        (404, 4404)
    );
    assert_eq!(
        code(&s.rest.delete_room(&lecture.room_id).await.unwrap_err()),
        (404, 4404)
    );
}

#[tokio::test]
async fn tokens_are_validated() {
    let s = TestServer::start().await;
    let room = s.room(Default::default()).await;
    let mk = |name: &str, data: serde_json::Value| CreateTokenRequest {
        name: name.into(),
        role: Role::Participant,
        user_ref: "u".into(),
        data,
    };
    let ok = s
        .rest
        .create_token(&room, &mk("Ada", serde_json::json!({"a": 1})))
        .await
        .unwrap();
    assert_eq!(ok.result, 0);
    assert!(ok.token.starts_with("v1."));
    assert_eq!(
        code(
            &s.rest
                .create_token(&room, &mk("", serde_json::Value::Null))
                .await
                .unwrap_err()
        ),
        (400, 4400)
    );
    let six = serde_json::json!({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6});
    assert_eq!(
        code(
            &s.rest
                .create_token(&room, &mk("Ada", six))
                .await
                .unwrap_err()
        ),
        (400, 4400),
        "data has at most 5 keys"
    );
    assert_eq!(
        code(
            &s.rest
                .create_token(&RoomId::from("nope"), &mk("Ada", serde_json::Value::Null))
                .await
                .unwrap_err()
        ),
        (404, 4404)
    );
}

#[tokio::test]
async fn rooms_credentials_and_used_tokens_survive_a_restart() {
    let s = TestServer::start().await;
    let room = s.room(Default::default()).await;
    let used = s.token(&room, "Ada", Role::Moderator).await;
    let unused = s.token(&room, "Bob", Role::Participant).await;
    let (r, _) = alcove_client::connect(&s.running.signal_url(), &used)
        .await
        .unwrap();
    r.close().await;
    let TestServer { running, dir, .. } = s;
    let creds = running.credentials.clone().unwrap();
    running.stop().await.unwrap();

    let s2 = TestServer::start_in(dir).await;
    let creds2 = s2.running.credentials.clone().unwrap();
    assert_eq!(
        (creds2.app_id.clone(), creds2.app_key.clone()),
        (creds.app_id, creds.app_key),
        "same dev app"
    );
    assert_eq!(
        s2.rest.get_room(&room).await.unwrap().room_id,
        room,
        "room kept"
    );
    let e = alcove_client::connect(&s2.running.signal_url(), &used)
        .await
        .err()
        .unwrap();
    assert_eq!(
        e.result(),
        Some(4103),
        "a used token stays used across restarts"
    );
    alcove_client::connect(&s2.running.signal_url(), &unused)
        .await
        .expect("the signing secret is kept");
}

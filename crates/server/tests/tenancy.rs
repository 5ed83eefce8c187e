//! Apps and tenancy through a real server (real HTTP, real SQLite file): apps are made, listed,
//! re-keyed and deleted through the admin API (and the `alcove app` command), which refuses
//! every request without the admin key of the data dir; one app never sees, reads, mints for
//! or deletes another app's rooms; a rotated key is refused at once; a deleted app's tokens,
//! keys and live sessions end; keys are stored hashed. docs/security.md, "Apps and tenancy".

mod common;

use alcove_client::RestClient;
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::{Role, ServerMessage};
use alcove_proto::{ErrorCode, RoomId};
use common::TestServer;
use serde_json::{json, Value};
use std::time::Duration;

/// The admin API with the key from the data dir.
struct Admin {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Admin {
    fn of(s: &TestServer) -> Admin {
        let key = std::fs::read_to_string(s.dir.path().join("admin-key"))
            .expect("the first start wrote the admin key")
            .trim()
            .to_owned();
        Admin {
            http: reqwest::Client::new(),
            base: s.running.http_url(),
            key,
        }
    }

    /// (status, body) of one call with the admin key.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("answer");
        (res.status().as_u16(), res.json().await.expect("json body"))
    }

    /// Creates an app; a REST client with its credentials.
    async fn app(&self, id: &str) -> (RestClient, String) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/admin/apps",
                Some(json!({"app_id": id})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["app_id"], id);
        let key = body["app_key"].as_str().expect("a key").to_owned();
        (RestClient::new(&self.base, id, &key), key)
    }
}

async fn room_of(rest: &RestClient, name: &str) -> RoomId {
    rest.create_room(&CreateRoomRequest {
        name: name.into(),
        owner_ref: "tenancy".into(),
        settings: RoomSettingsInput::default(),
        data: Value::Null,
    })
    .await
    .expect("room created")
    .room_id
}

async fn token_of(rest: &RestClient, room: &RoomId, name: &str) -> Result<String, u16> {
    rest.create_token(
        room,
        &CreateTokenRequest {
            name: name.into(),
            role: Role::Moderator,
            user_ref: name.into(),
            data: Value::Null,
        },
    )
    .await
    .map(|t| t.token)
    .map_err(|e| match e {
        alcove_client::RestError::Api { status, .. } => status,
        other => panic!("{other}"),
    })
}

fn status_of(e: alcove_client::RestError) -> (u16, Option<ErrorCode>) {
    let code = e.code();
    match e {
        alcove_client::RestError::Api { status, .. } => (status, code),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn app_b_cannot_list_read_mint_for_or_delete_app_a_rooms() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    let (a, _) = admin.app("tenant-a").await;
    let (b, _) = admin.app("tenant-b").await;
    let room = room_of(&a, "A's room").await;
    let b_room = room_of(&b, "B's room").await;

    // List: each app sees its own rooms only.
    let a_list: Vec<RoomId> = a
        .list_rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.room_id)
        .collect();
    let b_list: Vec<RoomId> = b
        .list_rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.room_id)
        .collect();
    assert_eq!(a_list, vec![room.clone()]);
    assert_eq!(b_list, vec![b_room.clone()]);

    // Read, mint, users, break-out rooms, delete: 404 for B, as for a room that does not exist.
    assert_eq!(
        status_of(b.get_room(&room).await.unwrap_err()),
        (404, Some(ErrorCode::NotFound))
    );
    assert_eq!(token_of(&b, &room, "Mallory").await, Err(404));
    assert_eq!(status_of(b.users(&room).await.unwrap_err()).0, 404);
    assert_eq!(status_of(b.breakout_rooms(&room).await.unwrap_err()).0, 404);
    assert_eq!(status_of(b.delete_room(&room).await.unwrap_err()).0, 404);

    // A's room is untouched and A still mints for it; a token of A connects to it.
    assert_eq!(a.get_room(&room).await.unwrap().room_id, room);
    let token = token_of(&a, &room, "Ada")
        .await
        .expect("A mints for its room");
    let (ada, _events) = alcove_client::connect(&s.running.signal_url(), &token)
        .await
        .expect("A's token connects");
    assert_eq!(a.users(&room).await.unwrap().len(), 1);
    assert_eq!(status_of(b.users(&room).await.unwrap_err()).0, 404);
    ada.close().await;
}

#[tokio::test]
async fn a_rotated_key_stops_working_at_once() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    let (old, old_key) = admin.app("rotating").await;
    let room = room_of(&old, "r").await;
    // A token minted before the rotation still connects: rotation changes REST credentials.
    let minted_before = token_of(&old, &room, "Before").await.unwrap();

    let (status, body) = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/apps/rotating/rotate-key",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new_key = body["app_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);

    // The very next request with the old key is refused; the new key works.
    assert_eq!(
        status_of(old.list_rooms().await.unwrap_err()),
        (401, Some(ErrorCode::AuthenticationFailed))
    );
    assert_eq!(token_of(&old, &room, "After").await, Err(401));
    let new = RestClient::new(&s.running.http_url(), "rotating", &new_key);
    assert_eq!(new.list_rooms().await.unwrap().len(), 1);
    let (client, _events) = alcove_client::connect(&s.running.signal_url(), &minted_before)
        .await
        .expect("a token minted before the rotation connects");
    client.close().await;

    // Rotating an app that does not exist is a 404.
    let (status, body) = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/apps/nobody/rotate-key",
            None,
        )
        .await;
    assert_eq!((status, body["result"].as_i64()), (404, Some(4404)));
}

#[tokio::test]
async fn a_deleted_apps_tokens_keys_and_sessions_are_refused() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    let (doomed, _) = admin.app("doomed").await;
    let (other, _) = admin.app("other").await;
    let room = room_of(&doomed, "r").await;
    let other_room = room_of(&other, "o").await;
    let unused = token_of(&doomed, &room, "Later").await.unwrap();
    let live = token_of(&doomed, &room, "Live").await.unwrap();
    let (client, mut events) = alcove_client::connect(&s.running.signal_url(), &live)
        .await
        .expect("connects before the delete");

    let (status, body) = admin
        .call(reqwest::Method::DELETE, "/v1/admin/apps/doomed", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], 0);

    // The live session ends (its room is gone) ...
    let ended = events
        .wait_for(Duration::from_secs(10), |f| {
            matches!(f.msg, ServerMessage::RoomDisconnected(_))
        })
        .await;
    assert!(
        ended.is_some(),
        "the connected client is told roomDisconnected"
    );
    drop(client);
    // ... a token minted before the delete no longer connects ...
    let e = alcove_client::connect(&s.running.signal_url(), &unused)
        .await
        .expect_err("the deleted app's token is refused");
    assert_eq!(e.result(), Some(ErrorCode::RoomNotFound.code()), "{e}");
    // ... its key is refused, it is gone from the list, and the other app is untouched.
    assert_eq!(status_of(doomed.list_rooms().await.unwrap_err()).0, 401);
    let (_, list) = admin
        .call(reqwest::Method::GET, "/v1/admin/apps", None)
        .await;
    let ids: Vec<&str> = list["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"doomed") && ids.contains(&"other"), "{list}");
    assert_eq!(
        other.get_room(&other_room).await.unwrap().room_id,
        other_room
    );
    // Deleting it again is a 404.
    let (status, _) = admin
        .call(reqwest::Method::DELETE, "/v1/admin/apps/doomed", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_admin_api_refuses_requests_without_the_admin_key() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    let dev = s.running.credentials.clone().unwrap();
    let http = reqwest::Client::new();
    let base = s.running.http_url();
    let routes = [
        (reqwest::Method::GET, "/v1/admin/apps"),
        (reqwest::Method::POST, "/v1/admin/apps"),
        (reqwest::Method::POST, "/v1/admin/apps/dev/rotate-key"),
        (reqwest::Method::DELETE, "/v1/admin/apps/dev"),
    ];
    // The right key with its last character changed (to another one: a key ending in `0`
    // must not give the right key back).
    let last = if admin.key.ends_with('0') { '1' } else { '0' };
    let wrong_key = format!("{}{last}", &admin.key[..admin.key.len() - 1]);
    assert_ne!(wrong_key, admin.key);
    for (method, path) in &routes {
        let attempts: Vec<(&str, Option<String>)> = vec![
            ("no credentials", None),
            ("a wrong admin key", Some(format!("Bearer {wrong_key}"))),
            ("an empty bearer", Some("Bearer ".into())),
            (
                "an app key as bearer",
                Some(format!("Bearer {}", dev.app_key)),
            ),
            (
                "app credentials (Basic)",
                Some(format!(
                    "Basic {}",
                    base64_encode(&format!("{}:{}", dev.app_id, dev.app_key))
                )),
            ),
            (
                "the admin key as Basic",
                Some(format!(
                    "Basic {}",
                    base64_encode(&format!("admin:{}", admin.key))
                )),
            ),
        ];
        for (what, auth) in attempts {
            let mut req = http.request(method.clone(), format!("{base}{path}"));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.json(&json!({})).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 401, "{method} {path} with {what}");
            assert!(res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"));
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["result"], 4401, "{method} {path} with {what}");
        }
    }
    // Nothing happened: the dev app still works with its key; the right key lists it.
    assert!(s.rest.list_rooms().await.is_ok());
    let (status, body) = admin
        .call(reqwest::Method::GET, "/v1/admin/apps", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["apps"][0]["app_id"], "dev");

    // The key file is private to its owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.dir.path().join("admin-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn app_ids_are_checked_and_not_taken_twice() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    for bad in [
        "",
        "has space",
        "colon:inside",
        "-leading",
        "é",
        &"x".repeat(65),
    ] {
        let (status, body) = admin
            .call(
                reqwest::Method::POST,
                "/v1/admin/apps",
                Some(json!({"app_id": bad})),
            )
            .await;
        assert_eq!(
            (status, body["result"].as_i64()),
            (400, Some(4400)),
            "{bad:?}: {body}"
        );
    }
    let (status, body) = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/apps",
            Some(json!({"app_id": "dev"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("exists"), "{body}");
    // No body: a random id.
    let (status, body) = admin
        .call(reqwest::Method::POST, "/v1/admin/apps", None)
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["app_id"].as_str().unwrap().starts_with("app-"));
    // Unknown fields are refused rather than ignored.
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/apps",
            Some(json!({"id": "x"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn app_keys_are_stored_hashed() {
    let s = TestServer::start().await;
    let admin = Admin::of(&s);
    let (_, key) = admin.app("hashed").await;
    let (_, rotated) = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/apps/hashed/rotate-key",
            None,
        )
        .await;
    let rotated = rotated["app_key"].as_str().unwrap().to_owned();
    let dev_key = s.running.credentials.clone().unwrap().app_key;
    let dir = s.dir.path().to_path_buf();
    s.running.stop().await.unwrap();
    // Every file SQLite wrote (database, WAL, shared memory).
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("alcove.db")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "read the database");
    let text = String::from_utf8_lossy(&bytes);
    for (what, k) in [
        ("app key", &key),
        ("rotated key", &rotated),
        ("dev key", &dev_key),
        ("admin key", &admin.key),
    ] {
        assert!(!text.contains(k.as_str()), "the {what} is stored in clear");
    }
    let conn = rusqlite::Connection::open(dir.join("alcove.db")).unwrap();
    let stored: String = conn
        .query_row("SELECT key_hash FROM apps WHERE app_id='hashed'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored.len(), 64, "a SHA-256 in hex");
}

#[tokio::test]
async fn the_cli_manages_apps_with_the_admin_key_of_the_data_dir() {
    let s = TestServer::start().await;
    let url = s.running.http_url();
    let dir = s.dir.path().to_path_buf();
    let alcove = move |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_alcove"))
            .args(args)
            .args(["--url", &url, "--creds-dir"])
            .arg(&dir)
            .env_remove("ALCOVE_ADMIN_KEY")
            .env_remove("ALCOVE_APP_ID")
            .env_remove("ALCOVE_APP_KEY")
            .output()
            .expect("alcove runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let run = move |args: Vec<String>| {
        let alcove = alcove.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            alcove(&args)
        })
    };
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let (ok, out, err) = run(v(&["app", "create", "--id", "cli-app"])).await.unwrap();
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).expect("credentials as JSON");
    let key = created["app_key"].as_str().unwrap().to_owned();
    let rest = RestClient::new(&s.running.http_url(), "cli-app", &key);
    room_of(&rest, "made with a CLI key").await;

    let (ok, out, err) = run(v(&["app", "list"])).await.unwrap();
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app_id"] == "cli-app")
        .expect("listed");
    assert_eq!(entry["rooms"], 1);
    assert!(!out.contains(&key), "a list never shows keys");

    let (ok, out, err) = run(v(&["app", "rotate-key", "cli-app"])).await.unwrap();
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    assert_ne!(rotated["app_key"].as_str().unwrap(), key);
    assert_eq!(status_of(rest.list_rooms().await.unwrap_err()).0, 401);

    let (ok, _, err) = run(v(&["app", "delete", "cli-app"])).await.unwrap();
    assert!(ok, "{err}");
    let (ok, _, err) = run(v(&["app", "delete", "cli-app"])).await.unwrap();
    assert!(!ok && err.contains("not found"), "{err}");

    // A wrong admin key given on the command line is refused.
    let (ok, _, err) = run(v(&["app", "list", "--admin-key", "not-the-key"]))
        .await
        .unwrap();
    assert!(!ok && err.contains("401"), "{err}");
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn a_key_stored_in_clear_is_hashed_on_open_and_still_works() {
    // A database whose apps table holds a key in clear (written by hand or an older tool).
    let dir = tempfile::tempdir().unwrap();
    let clear_key = "a-key-kept-in-clear-by-someone-0123456789";
    {
        let conn = rusqlite::Connection::open(dir.path().join("alcove.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE apps (app_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, created TEXT NOT NULL);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO apps VALUES('legacy', ?1, '2026-01-01T00:00:00Z')",
            [clear_key],
        )
        .unwrap();
    }
    let s = TestServer::start_in(dir).await;
    let legacy = RestClient::new(&s.running.http_url(), "legacy", clear_key);
    assert!(
        legacy.list_rooms().await.is_ok(),
        "the key still authenticates"
    );
    let stored: String = rusqlite::Connection::open(s.dir.path().join("alcove.db"))
        .unwrap()
        .query_row("SELECT key_hash FROM apps WHERE app_id='legacy'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored.len(), 64);
    assert!(!stored.contains(clear_key));
}

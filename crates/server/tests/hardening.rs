//! The low findings of the security review, each through a real server (docs/security.md):
//! security headers on every response and a CSP on every page; the display-name policy at
//! token creation (REST and the demo); a read-only database refused at start by the real
//! binary.

mod common;

use alcove_proto::api::{CreateTokenRequest, RoomSettingsInput};
use alcove_proto::signal::Role;
use common::TestServer;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn every_response_has_the_security_headers_and_every_page_a_csp() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.dev = true).await;
    let base = s.running.http_url();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}"));
    let creds = s.running.credentials.clone().unwrap();
    let requests = [
        ("/", get("/")),
        ("/demo/app.js", get("/demo/app.js")),
        ("/demo/style.css", get("/demo/style.css")),
        ("/sdk/alcove.js", get("/sdk/alcove.js")),
        ("/healthz", get("/healthz")),
        ("/v1/rooms without credentials", get("/v1/rooms")),
        (
            "/v1/rooms",
            get("/v1/rooms").basic_auth(&creds.app_id, Some(&creds.app_key)),
        ),
        ("/v1/admin/apps without key", get("/v1/admin/apps")),
        ("an unknown route", get("/nope")),
        (
            "POST /demo/join",
            http.post(format!("{base}/demo/join"))
                .json(&json!({"name": "Ada", "role": "moderator"})),
        ),
    ];
    for (what, req) in requests {
        let res = req.send().await.unwrap();
        let h = res.headers();
        let header = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{what}"
        );
        let html = header("content-type").is_some_and(|t| t.starts_with("text/html"));
        assert_eq!(html, what == "/", "{what}: only the demo page is HTML here");
        if html {
            let csp = header("content-security-policy").expect("a CSP on the page");
            for part in [
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "frame-ancestors 'none'",
                "base-uri 'none'",
            ] {
                assert!(csp.contains(part), "{csp} lacks {part}");
            }
            assert!(
                csp.contains(&format!("connect-src 'self' ws://{}", s.running.addr)),
                "the page may reach the configured signalling origin: {csp}"
            );
            assert!(!csp.contains("unsafe"), "{csp}");
        }
    }
}

/// Mints a token named `name` with the dev app: Ok(the name the server keeps) or Err((status,
/// result, msg)).
async fn mint(
    s: &TestServer,
    room: &alcove_proto::RoomId,
    name: &str,
) -> Result<String, (u16, i32, String)> {
    let req = CreateTokenRequest {
        name: name.into(),
        role: Role::Participant,
        user_ref: "names".into(),
        data: Value::Null,
    };
    let token = match s.rest.create_token(room, &req).await {
        Ok(t) => t.token,
        Err(alcove_client::RestError::Api {
            status,
            result,
            msg,
        }) => return Err((status, result, msg)),
        Err(e) => panic!("{e}"),
    };
    let (client, _events) = alcove_client::connect(&s.running.signal_url(), &token)
        .await
        .expect("the token connects");
    let me = client.client_id().clone();
    let users = s.rest.users(room).await.unwrap();
    client.close().await;
    Ok(users
        .into_iter()
        .find(|u| u.client_id == me)
        .expect("listed")
        .name)
}

#[tokio::test]
async fn display_names_are_normalised_or_refused_with_a_clear_400() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.dev = true).await;
    let room = s.room(RoomSettingsInput::default()).await;
    let zalgo = format!("Z{}algo", "\u{0301}\u{0316}\u{0350}".repeat(10));
    let refused: Vec<(&str, String, &str)> = vec![
        ("NUL", "Ada\u{0}".into(), "control character (U+0000)"),
        ("ESC", "\u{1b}[31mRed".into(), "control character (U+001B)"),
        (
            "newline",
            "Line\nBreak".into(),
            "control character (U+000A)",
        ),
        ("C1", "x\u{85}y".into(), "control character (U+0085)"),
        (
            "line separator",
            "a\u{2028}b".into(),
            "control character (U+2028)",
        ),
        (
            "right-to-left override",
            "evil\u{202E}gnp.exe".into(),
            "bidirectional formatting character (U+202E)",
        ),
        (
            "isolate",
            "\u{2067}Bob\u{2069}".into(),
            "bidirectional formatting character (U+2067)",
        ),
        (
            "right-to-left mark",
            "Bob\u{200F}".into(),
            "bidirectional formatting character (U+200F)",
        ),
        ("empty", "".into(), "is empty"),
        ("blank", " \t ".into(), "is empty"),
        (
            "zero-width only",
            "\u{200B}\u{200C}\u{200D}\u{FEFF}".into(),
            "no visible character",
        ),
        (
            "soft hyphens and a Hangul filler",
            "\u{AD}\u{3164}".into(),
            "no visible character",
        ),
        (
            "combining marks only",
            "\u{0301}\u{0302}".into(),
            "no visible character",
        ),
        ("zalgo", zalgo, "more than 4 combining marks in a row"),
        ("101 characters", "x".repeat(101), "at most 100"),
    ];
    for (what, name, why) in refused {
        let (status, result, msg) = mint(&s, &room, &name).await.expect_err(what);
        assert_eq!((status, result), (400, 4400), "{what}");
        assert!(
            msg.starts_with("`name` ") && msg.contains(why),
            "{what}: {msg}"
        );
    }
    let accepted = [
        ("  Ada Lovelace  ", "Ada Lovelace"),
        // NFD in, NFC kept: one code point for é.
        ("E\u{0301}lodie", "\u{00C9}lodie"),
        ("Ngô Bảo Châu", "Ngô Bảo Châu"),
        ("محمد", "محمد"),
        ("👩\u{200D}💻 Dev", "👩\u{200D}💻 Dev"),
        (
            "a\u{0301}\u{0316}\u{0350}\u{0351}",
            "\u{00E1}\u{0316}\u{0350}\u{0351}",
        ),
    ];
    for (name, kept) in accepted {
        assert_eq!(mint(&s, &room, name).await.as_deref(), Ok(kept), "{name:?}");
    }
    let exactly_100 = "y".repeat(100);
    assert_eq!(
        mint(&s, &room, &exactly_100).await.as_deref(),
        Ok(exactly_100.as_str())
    );

    // The demo's token minting applies the same policy.
    let res = reqwest::Client::new()
        .post(format!("{}/demo/join", s.running.http_url()))
        .json(&json!({"name": "evil\u{202E}txt", "role": "moderator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"], 4400);
    assert!(
        body["msg"].as_str().unwrap().contains("bidirectional"),
        "{body}"
    );
}

/// The effective uid of this process (the owner of `/proc/self`).
fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

#[test]
fn a_read_only_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = |wrap: bool| {
        // Root writes any file: without CAP_DAC_OVERRIDE (and friends) it is held to the
        // file's mode like any other owner.
        let mut cmd = if wrap {
            let mut c = Command::new("setpriv");
            c.arg("--bounding-set=-dac_override,-dac_read_search,-fowner")
                .arg("--")
                .arg(env!("CARGO_BIN_EXE_alcove"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_alcove"))
        };
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-media",
            "--data-dir",
        ])
        .arg(&data)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        cmd
    };
    let wrap = euid() == 0;
    if wrap {
        assert!(
            Command::new("setpriv").arg("--version").output().is_ok(),
            "running as root: this test needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE"
        );
    }
    // A first start creates the database; it is stopped once up.
    let mut first = serve(false).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data.join("dev-credentials.json").exists() {
        assert!(Instant::now() < deadline, "the first start did not come up");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first start failed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();

    let db = data.join("alcove.db");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut second = serve(wrap).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let out = second.wait_with_output().unwrap();
            panic!(
                "it serves on a read-only database:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = second.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!status.success());
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains(&format!("the database {} is read-only", db.display())),
        "{stderr}"
    );
}

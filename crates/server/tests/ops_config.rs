//! `alcove serve --config FILE`: precedence flags > `ALCOVE_*` variables > file > defaults,
//! checked on the real binary (`--print-config`), a real server started from a file, JSON logs,
//! a refused unknown key, and docs/configuration.md equal to the flags' reference.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn alcove() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alcove"));
    // Only the variables a test sets: none inherited from the shell running the tests.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ALCOVE_") {
            c.env_remove(k);
        }
    }
    c
}

/// `key = value` lines of `--print-config` → key → (value, source).
fn printed(out: &str) -> std::collections::HashMap<String, (String, String)> {
    out.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (kv, from) = l.split_once(" # ")?;
            let (k, v) = kv.split_once(" = ")?;
            Some((
                k.trim().to_owned(),
                (v.trim().to_owned(), from.trim().to_owned()),
            ))
        })
        .collect()
}

#[test]
fn flags_beat_variables_beat_the_file_beats_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alcove.toml");
    std::fs::write(
        &file,
        r#"
data-dir = "/srv/alcove-from-file"
resume_grace = 7
public-url = "https://file.example"
media-shards = 3
cors-origin = ["https://a.example", "https://b.example"]
dev = true
webhook-attempts = 9
log-format = "json"
"#,
    )
    .unwrap();
    let out = alcove()
        .args(["serve", "--config"])
        .arg(&file)
        .args(["--resume-grace", "13", "--print-config"])
        .env("ALCOVE_PUBLIC_URL", "https://env.example")
        .env("ALCOVE_MEDIA_SHARDS", "4")
        .env("ALCOVE_RESUME_GRACE", "11")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let got = printed(&text);
    let value = |k: &str| {
        got.get(k)
            .map(|(v, _)| v.as_str())
            .unwrap_or_else(|| panic!("{k} in {text}"))
    };
    // Flag over variable over file.
    assert_eq!(value("resume-grace"), "\"13\"");
    // Variable over file.
    assert_eq!(value("public-url"), "\"https://env.example\"");
    assert_eq!(value("media-shards"), "\"4\"");
    assert_eq!(got["media-shards"].1, "environment");
    // File over default.
    assert_eq!(value("data-dir"), "\"/srv/alcove-from-file\"");
    assert_eq!(
        value("cors-origin"),
        "[\"https://a.example\", \"https://b.example\"]"
    );
    assert_eq!(value("dev"), "true");
    assert_eq!(value("webhook-attempts"), "\"9\"");
    assert_eq!(value("log-format"), "\"json\"");
    // Default.
    assert_eq!(value("listen"), "\"127.0.0.1:7880\"");
    assert_eq!(got["listen"].1, "default");
    assert_eq!(value("webhook-queue"), "\"1024\"");

    // The printed configuration is itself a valid config file giving the same settings.
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &text).unwrap();
    let out = alcove()
        .args(["serve", "--config"])
        .arg(&again)
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = printed(&String::from_utf8(out.stdout).unwrap());
    for (k, (v, _)) in &got {
        assert_eq!(&second[k].0, v, "{k} round-trips");
    }
}

#[test]
fn an_unknown_key_or_a_bad_value_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alcove.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlisten-adress = \"x\"\n").unwrap();
    let out = alcove()
        .args(["serve", "--config"])
        .arg(&file)
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`listen-adress` is not a setting"), "{err}");
    assert!(err.contains("data-dir"), "names the settings: {err}");

    std::fs::write(&file, "resume-grace = \"soon\"\n").unwrap();
    let out = alcove()
        .args(["serve", "--config"])
        .arg(&file)
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("soon"));

    let out = alcove()
        .args([
            "serve",
            "--config",
            "/nonexistent/alcove.toml",
            "--print-config",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/alcove.toml"));
}

/// Kills the child (by its own handle) when the test ends, passed or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_server_runs_from_a_config_file_with_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("alcove.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\nudp-listen = \"127.0.0.1:0\"\ndata-dir = {:?}\n\
             public-url = \"https://conf.example\"\nlog-format = \"json\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let mut child = Child(
        alcove()
            .args(["serve", "--config"])
            .arg(&file)
            .env("ALCOVE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    // The data dir of the file holds the development credentials.
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("dev-credentials.json")).unwrap())
            .unwrap();
    let rest = alcove_client::RestClient::new(
        &format!("http://{addr}"),
        creds["app_id"].as_str().unwrap(),
        creds["app_key"].as_str().unwrap(),
    );
    let room = rest
        .create_room(&alcove_proto::api::CreateRoomRequest {
            name: "conf".into(),
            owner_ref: "t".into(),
            settings: Default::default(),
            data: Value::Null,
        })
        .await
        .unwrap();
    let token = rest
        .create_token(
            &room.room_id,
            &alcove_proto::api::CreateTokenRequest {
                name: "Ada".into(),
                role: alcove_proto::signal::Role::Moderator,
                user_ref: String::new(),
                data: Value::Null,
            },
        )
        .await
        .unwrap();
    assert_eq!(token.signal_url, "wss://conf.example/v1/signal");
    // Stop it and read its log: every line is a JSON object.
    drop(child);
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(!lines.is_empty(), "the server logged");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|_| panic!("a JSON line: {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
}

#[test]
fn the_configuration_page_lists_every_setting() {
    let page_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let page = std::fs::read_to_string(&page_path).unwrap_or_default();
    let (begin, end) = ("<!-- settings:begin -->\n", "<!-- settings:end -->");
    let want = alcove_server::config_file::reference();
    let current = page
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(table, _)| table.to_owned());
    if std::env::var_os("ALCOVE_BLESS").is_some() {
        let (head, tail) = match page.split_once(begin) {
            Some((h, rest)) => (
                h.to_owned(),
                rest.split_once(end)
                    .map(|(_, t)| t.to_owned())
                    .unwrap_or_default(),
            ),
            None => (page.clone(), String::new()),
        };
        std::fs::write(&page_path, format!("{head}{begin}{want}{end}{tail}")).unwrap();
        return;
    }
    assert_eq!(
        current.as_deref(),
        Some(want.as_str()),
        "docs/configuration.md's settings table is stale (ALCOVE_BLESS=1 rewrites it)"
    );
}

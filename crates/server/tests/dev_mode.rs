//! Development mode is explicit, through the real `alcove` binary (docs/security.md,
//! "Development mode"): `POST /demo/join` mints nothing without `alcove serve --dev`; with it,
//! the signalling URL it returns comes from the configuration (`--public-url`, else the bound
//! address), never from the request's `Host`; the development app's key is printed only on
//! the start that creates it, and the admin key never.

use serde_json::Value;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `alcove serve` and everything it printed; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `alcove serve` on port 0 with `args`; returns once the banner's last line (the
    /// development-mode line) is printed.
    fn start(data: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_alcove"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-media",
                "--data-dir",
            ])
            .arg(data)
            .args(args)
            .env("ALCOVE_LOG", "warn")
            .env_remove("ALCOVE_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("alcove starts");
        let out = child.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = stdout.lock().unwrap().clone();
            let done =
                text.contains("demo page:  joining needs") || text.contains("DEVELOPMENT MODE");
            if done {
                let addr = text
                    .split(" listening on http://")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|a| a.parse().ok())
                    .expect("the address in the banner");
                return Server {
                    child,
                    addr,
                    stdout,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("alcove exited with {status}:\n{text}");
            }
            assert!(Instant::now() < deadline, "no banner within 60 s:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn printed(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// One raw HTTP/1.1 request (headers exactly as given); (status, body).
    fn request(&self, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
        let mut tcp = TcpStream::connect(self.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str(&format!(
            "Connection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        tcp.write_all(req.as_bytes()).unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn demo_join(&self, host: &str) -> (u16, Value) {
        let host_header = format!("Host: {host}");
        let (status, body) = self.request(
            "POST",
            "/demo/join",
            &[
                &host_header,
                "X-Forwarded-Host: evil.example",
                "X-Forwarded-Proto: https",
            ],
            r#"{"name":"Eve","role":"moderator"}"#,
        );
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

#[test]
fn without_dev_the_demo_mints_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (status, body) = s.demo_join(&s.addr.to_string());
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["result"], 4404);
    assert!(body.get("token").is_none(), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("--dev"), "{body}");
    // The page itself is still served (it says why joining fails).
    assert_eq!(s.request("GET", "/", &["Host: x"], "").0, 200);
    assert!(!s.printed().contains("DEVELOPMENT MODE"));
}

#[test]
fn with_dev_the_signal_url_is_the_configured_one_whatever_the_host_header() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Server::start(dir.path(), &["--dev"]);
        let (status, body) = s.demo_join("evil.example:666");
        assert_eq!(status, 200, "{body}");
        assert!(body["token"].as_str().is_some_and(|t| t.starts_with("v1.")));
        assert_eq!(
            body["signal_url"],
            format!("ws://{}/v1/signal", s.addr),
            "the bound address, not the Host header"
        );
        assert!(s.printed().contains("DEVELOPMENT MODE"));
    }
    let s = Server::start(
        dir.path(),
        &["--dev", "--public-url", "https://alcove.example.test/rtc/"],
    );
    let (status, body) = s.demo_join("evil.example");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["signal_url"],
        "wss://alcove.example.test/rtc/v1/signal"
    );
}

#[test]
fn dev_mode_needs_the_development_app() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alcove"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-media",
            "--dev",
            "--no-dev-app",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn the_app_key_is_printed_only_when_created_and_the_admin_key_never() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), &[]).printed();
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    let key = creds["app_key"].as_str().unwrap().to_owned();
    let admin_key = std::fs::read_to_string(dir.path().join("admin-key"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(first.contains(&format!("app_key={key}")), "{first}");
    assert!(first.contains("admin key:  created in"), "{first}");

    let second = Server::start(dir.path(), &[]).printed();
    let third = Server::start(dir.path(), &["--no-dev-app"]).printed();
    let dev = Server::start(dir.path(), &["--dev"]).printed();
    for (which, text) in [
        ("second", &second),
        ("--no-dev-app", &third),
        ("--dev", &dev),
    ] {
        assert!(
            !text.contains(&key),
            "{which} start printed the app key:\n{text}"
        );
    }
    assert!(!third.contains("development app"), "{third}");
    for text in [&first, &second, &third, &dev] {
        assert!(
            !text.contains(&admin_key),
            "the admin key was printed:\n{text}"
        );
    }
    // The key file was not replaced by later starts.
    let again = std::fs::read_to_string(dir.path().join("admin-key")).unwrap();
    assert_eq!(again.trim(), admin_key);
}

//! The `alcove` binary is self-contained: copied alone into an empty folder (as `cargo install`
//! or a deployment would leave it), it serves the demo page at `/` and the browser SDK at
//! `/sdk/alcove.js`, with CORS headers on `/sdk/` for the configured origins only.
//!
//! When the test runs as root and `unshare` works, the copy runs in a mount namespace where the
//! source tree is hidden under an empty tmpfs, so a binary that still read its files from the
//! build's source path would fail here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository root (the source tree the binary was built from).
fn source_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Can this process hide a folder in a private mount namespace?
fn can_hide_source() -> bool {
    Command::new("unshare")
        .args(["--mount", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// One HTTP/1.1 request on a fresh connection: (status, lower-cased header lines, body).
fn get(port: u16, path: &str, origin: Option<&str>) -> (u16, Vec<String>, Vec<u8>) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{origin}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines.map(|l| l.to_ascii_lowercase()).collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find_map(|h| h.strip_prefix(&format!("{name}: ")))
}

fn wait_up(port: u16, server: &mut Proc) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the copied binary exited: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz", None).0 == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the copied binary did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_copied_binary_serves_the_demo_and_the_sdk_from_an_empty_folder() {
    let folder = tempfile::tempdir().unwrap();
    let bin = folder.path().join("alcove");
    std::fs::copy(env!("CARGO_BIN_EXE_alcove"), &bin).unwrap();
    let http = free_port();
    let args = [
        "serve".to_owned(),
        "--listen".to_owned(),
        format!("127.0.0.1:{http}"),
        "--no-media".to_owned(),
        "--cors-origin".to_owned(),
        "https://app.example.com".to_owned(),
    ];
    let root = source_root();
    let hide = can_hide_source();
    let mut cmd = if hide {
        // A private mount namespace: the source tree is an empty tmpfs for the server only.
        let mut c = Command::new("unshare");
        c.args([
            "--mount",
            "sh",
            "-c",
            r#"mount -t tmpfs none "$0" && shift && exec "$@""#,
        ])
        .arg(&root)
        .arg("ignored")
        .arg(&bin)
        .args(&args);
        c
    } else {
        eprintln!("note: cannot unshare a mount namespace; the source tree stays visible");
        let mut c = Command::new(&bin);
        c.args(&args);
        c
    };
    let child = cmd
        .current_dir(folder.path())
        .env_remove("ALCOVE_WEB_DIR")
        .env_remove("ALCOVE_CORS_ORIGINS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Proc(child);
    wait_up(http, &mut server);

    let (status, headers, body) = get(http, "/", None);
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(body, std::fs::read(root.join("demo/index.html")).unwrap());

    let (status, headers, body) = get(http, "/sdk/alcove.js", None);
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(
        body,
        std::fs::read(root.join("sdk-js/src/alcove.js")).unwrap()
    );
    // Every module alcove.js imports is there too.
    for module in [
        "room.js",
        "media.js",
        "connection.js",
        "protocol.js",
        "events.js",
    ] {
        assert_eq!(
            get(http, &format!("/sdk/{module}"), None).0,
            200,
            "{module}"
        );
    }
    assert_eq!(get(http, "/demo/app.js", None).0, 200);
    assert_eq!(get(http, "/sdk/nothing.js", None).0, 404);

    // CORS: the configured origin is allowed, another is not.
    let (status, headers, _) = get(http, "/sdk/alcove.js", Some("https://app.example.com"));
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let (status, headers, _) = get(http, "/sdk/alcove.js", Some("https://evil.example.net"));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    // Only /sdk/ is shared cross-origin.
    let (_, headers, _) = get(http, "/", Some("https://app.example.com"));
    assert_eq!(header(&headers, "access-control-allow-origin"), None);

    // The binary wrote its data next to itself, in the folder it was started in.
    if !hide {
        assert!(folder.path().join("alcove-data/alcove.db").exists());
    }
}

#[test]
fn web_dir_serves_a_folder_instead() {
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(web.path().join("demo")).unwrap();
    std::fs::create_dir_all(web.path().join("sdk-js/src")).unwrap();
    std::fs::write(web.path().join("demo/index.html"), "<p>dev copy</p>").unwrap();
    std::fs::write(
        web.path().join("sdk-js/src/alcove.js"),
        "export const dev = 1;",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let http = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_alcove"))
        .args([
            "serve",
            "--no-media",
            "--listen",
            &format!("127.0.0.1:{http}"),
        ])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--web-dir")
        .arg(web.path())
        .env(
            "ALCOVE_CORS_ORIGINS",
            "http://localhost:3000,https://app.example.com",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Proc(child);
    wait_up(http, &mut server);
    assert_eq!(get(http, "/", None).2, b"<p>dev copy</p>");
    let (status, headers, body) = get(http, "/sdk/alcove.js", Some("http://localhost:3000"));
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"export const dev = 1;"[..])
    );
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(get(http, "/sdk/media.js", None).0, 404);
}

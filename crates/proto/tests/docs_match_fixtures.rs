//! `docs/protocol.md` is the contract, and the golden fixtures are its examples: the page
//! carries every fixture, and the fixture files are generated from the page and checked
//! against it.
//!
//! In the page, a fixture is a fenced `json` block right after a marker line naming its file:
//!
//! ````text
//! <!-- fixture: server.breakoutTimer.json -->
//! ```json
//! {"type":"breakoutTimer","room_id":"r8c2f41d07e9a5b31-br09f1fd9d03f0", …}
//! ```
//! ````
//!
//! The block holds exactly one JSON value (any layout). These tests assert that
//!
//! * every file in `crates/proto/fixtures/` is tagged in the page exactly once;
//! * every tagged block parses and equals its file (compared as parsed JSON values);
//! * no tag names a file that does not exist, and every tag is followed by a `json` block.
//!
//! `crates/proto/tests/fixtures.rs` then checks that every file round-trips through the wire
//! types, so an example in the page that the types do not produce fails one of the two.
//!
//! **Generating.** After editing an example in the page, write the files from the page with
//!
//! ```text
//! ALCOVE_FIXTURES_FROM_PAGE=1 cargo test -p alcove-proto --test docs_match_fixtures
//! ```
//!
//! which (re)writes every fixture whose file is missing or differs from its block, in the
//! canonical layout (two-space indent, keys in the page's order, tokens as written), then runs
//! the checks. A new fixture is added by adding a tagged block to the page.

use alcove_proto::signal::{
    decode_client_frame, BreakoutRoomInfo, ClientMessage, ServerFrame, UserInfo,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The marker line before a fixture block: `<!-- fixture: NAME.json -->`.
const MARK_OPEN: &str = "<!-- fixture:";
const MARK_CLOSE: &str = "-->";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn page_path() -> PathBuf {
    repo().join("docs/protocol.md")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One tagged block of the page.
struct Block {
    /// The file it names, e.g. `server.breakoutTimer.json`.
    file: String,
    /// 1-based line of its marker.
    line: usize,
    /// The block's text (between the fences).
    text: String,
}

/// The tagged blocks of `page`, in page order. Panics (naming the line) on a marker that is not
/// followed by a ```` ```json ```` block that closes.
fn tagged_blocks(page: &str) -> Vec<Block> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    // The backtick run of the fenced block we are in (markers inside one are text, e.g. the
    // example at the top of the page).
    let mut fence: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let ticks = &line[..line.len() - line.trim_start_matches('`').len()];
        if ticks.len() >= 3 {
            match fence {
                None => fence = Some(ticks),
                Some(open) if ticks == open && line == open => fence = None,
                Some(_) => {}
            }
            i += 1;
            continue;
        }
        if fence.is_some() {
            i += 1;
            continue;
        }
        let Some(rest) = line.strip_prefix(MARK_OPEN) else {
            i += 1;
            continue;
        };
        let marker_line = i + 1;
        let file = rest
            .strip_suffix(MARK_CLOSE)
            .unwrap_or_else(|| {
                panic!("docs/protocol.md:{marker_line}: a marker is `<!-- fixture: NAME.json -->`")
            })
            .trim()
            .to_owned();
        assert!(
            file.ends_with(".json") && !file.contains('/') && !file.contains(' '),
            "docs/protocol.md:{marker_line}: `{file}` is not a fixture file name"
        );
        let fence = lines.get(i + 1).map(|l| l.trim());
        assert_eq!(
            fence,
            Some("```json"),
            "docs/protocol.md:{marker_line}: the marker for {file} must be followed by a ```json line"
        );
        let start = i + 2;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or_else(|| {
                panic!("docs/protocol.md:{marker_line}: the block of {file} never closes")
            });
        out.push(Block {
            file,
            line: marker_line,
            text: lines[start..end].join("\n"),
        });
        i = end + 1;
    }
    out
}

/// The untagged ```` ```json ```` blocks of `page` that parse as one JSON value, with their
/// 1-based line (blocks shortened with `…` do not parse and are skipped: they are prose).
fn untagged_json_blocks(page: &str) -> Vec<(usize, Value)> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let tagged = i > 0 && lines[i - 1].trim().starts_with(MARK_OPEN);
        if line.starts_with("```") {
            let open = &line[..line.len() - line.trim_start_matches('`').len()];
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].trim() == open)
                .unwrap_or(lines.len());
            if line == "```json" && !tagged {
                let text = lines[i + 1..end].join("\n");
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((i + 1, v));
                }
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    out
}

fn page_blocks() -> Vec<Block> {
    let page = std::fs::read_to_string(page_path()).expect("docs/protocol.md is readable");
    tagged_blocks(&page)
}

/// Every fixture file name with its parsed JSON.
fn fixture_files() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("crates/proto/fixtures exists") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("a readable fixture");
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        out.insert(name, json);
    }
    out
}

fn parse_block(b: &Block) -> Value {
    serde_json::from_str(&b.text).unwrap_or_else(|e| {
        panic!(
            "docs/protocol.md:{}: the block of {} is not one JSON value: {e}",
            b.line, b.file
        )
    })
}

/// Where two JSON values first differ, as a path (`.msg.rooms[1]`), for the failure message.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    (p, q) => {
                        return Some(format!(
                            "{path}.{k}: page {} / file {}",
                            p.map_or("absent".to_owned(), Value::to_string),
                            q.map_or("absent".to_owned(), Value::to_string)
                        ))
                    }
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: page {a} / file {b}")),
    }
}

/// Writes the fixtures from the page (see the module docs); a no-op unless
/// `ALCOVE_FIXTURES_FROM_PAGE` is set. Runs before the checks read the files.
fn generate_if_asked() {
    if std::env::var_os("ALCOVE_FIXTURES_FROM_PAGE").is_none() {
        return;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let files = fixture_files();
        for b in page_blocks() {
            let value = parse_block(&b);
            if files.get(&b.file) == Some(&value) {
                continue;
            }
            let text = canonical(&b.text);
            std::fs::write(fixtures_dir().join(&b.file), text + "\n")
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", b.file));
            eprintln!("wrote crates/proto/fixtures/{} from the page", b.file);
        }
    });
}

/// The canonical layout of a fixture file (serde_json's and `JSON.stringify(v, null, 2)`'s
/// pretty printing), made from JSON text without reordering keys: whitespace outside strings
/// is dropped, then every member and element goes on its own line, two spaces per level.
fn canonical(text: &str) -> String {
    let mut compact = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for ch in text.chars() {
        if in_string {
            compact.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if !ch.is_whitespace() {
            in_string = ch == '"';
            compact.push(ch);
        }
    }
    let chars: Vec<char> = compact.chars().collect();
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match ch {
            '"' => {
                in_string = true;
                out.push(ch);
            }
            '{' | '[' => {
                let close = if ch == '{' { '}' } else { ']' };
                out.push(ch);
                if chars.get(i + 1) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(ch);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(ch),
        }
        i += 1;
    }
    out
}

#[test]
fn every_fixture_file_is_in_the_page_once() {
    generate_if_asked();
    let blocks = page_blocks();
    let files = fixture_files();
    let mut missing = Vec::new();
    for name in files.keys() {
        let n = blocks.iter().filter(|b| &b.file == name).count();
        assert!(
            n <= 1,
            "docs/protocol.md tags {name} {n} times; show each fixture once"
        );
        if n == 0 {
            missing.push(name.as_str());
        }
    }
    assert!(
        missing.is_empty(),
        "fixtures the page does not carry (add a tagged block to docs/protocol.md, or delete \
         the file): {missing:?}"
    );
}

#[test]
fn every_tagged_block_names_an_existing_fixture() {
    generate_if_asked();
    let files = fixture_files();
    let unknown: Vec<String> = page_blocks()
        .into_iter()
        .filter(|b| !files.contains_key(&b.file))
        .map(|b| format!("docs/protocol.md:{} {}", b.line, b.file))
        .collect();
    assert!(
        unknown.is_empty(),
        "tagged blocks without a fixture file (generate it: ALCOVE_FIXTURES_FROM_PAGE=1): \
         {unknown:?}"
    );
}

#[test]
fn every_tagged_block_equals_its_fixture() {
    generate_if_asked();
    let files = fixture_files();
    let mut wrong = Vec::new();
    for b in page_blocks() {
        let Some(file) = files.get(&b.file) else {
            continue; // reported by every_tagged_block_names_an_existing_fixture
        };
        let page = parse_block(&b);
        if &page != file {
            let at = first_difference(&page, file, String::new()).unwrap_or_default();
            wrong.push(format!("docs/protocol.md:{} {}: {at}", b.line, b.file));
        }
    }
    assert!(
        wrong.is_empty(),
        "the page and the fixture files disagree (the page is the contract: fix the page, or \
         regenerate the files with ALCOVE_FIXTURES_FROM_PAGE=1):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_canonical_layout_is_the_fixture_files_layout() {
    // The generator's output for every fixture is exactly the file's text, so generating from
    // a page that matches changes nothing.
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(
            canonical(&text) + "\n",
            text,
            "{}: not in the canonical layout",
            path.display()
        );
    }
}

#[test]
fn the_parser_finds_markers_and_refuses_broken_ones() {
    let page = "text\n<!-- fixture: client.pause.json -->\n```json\n{\"type\":\"pause\",\n \"id\":6}\n```\nmore\n";
    let blocks = tagged_blocks(page);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].file, "client.pause.json");
    assert_eq!(blocks[0].line, 2);
    assert_eq!(
        parse_block(&blocks[0]),
        serde_json::json!({"type":"pause","id":6})
    );
    let no_fence = "<!-- fixture: client.pause.json -->\n\n```json\n{}\n```\n";
    assert!(std::panic::catch_unwind(|| tagged_blocks(no_fence)).is_err());
    let quoted = "````text\n<!-- fixture: x.json -->\n```json\n{…}\n```\n````\n";
    assert!(
        tagged_blocks(quoted).is_empty(),
        "a marker inside a fence is text"
    );
    let unclosed = "<!-- fixture: client.pause.json -->\n```json\n{}\n";
    assert!(std::panic::catch_unwind(|| tagged_blocks(unclosed)).is_err());
    assert_eq!(
        canonical("{\"a\": [1, {}], \"b\":\"x, y: {z}\"}"),
        "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": \"x, y: {z}\"\n}"
    );
}

#[test]
fn untagged_examples_are_valid_frames_too() {
    // An illustration that parses as JSON must still be true to the types: a client request
    // decodes; a server frame, a user info or a break-out room info survives its type
    // unchanged. (Shortened ones, with `…`, do not parse and are prose.)
    let page = std::fs::read_to_string(page_path()).expect("docs/protocol.md is readable");
    let mut checked = 0;
    for (line, v) in untagged_json_blocks(&page) {
        let text = v.to_string();
        let ty = v.get("type").and_then(Value::as_str);
        let again: Value = match ty {
            Some(t) if ClientMessage::TYPES.contains(&t) && v.get("id").is_some() => {
                // Requests are decoded leniently (unknown fields ignored, definitions kept
                // raw), so decoding is the check.
                decode_client_frame(&text).unwrap_or_else(|e| {
                    panic!("docs/protocol.md:{line}: not a client frame: {:?}", e.reply)
                });
                checked += 1;
                continue;
            }
            Some(_) => {
                let f = ServerFrame::decode(&text)
                    .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: not a server frame: {e}"));
                serde_json::to_value(&f).expect("serialises")
            }
            None if v.get("owner").is_some() => {
                let r: BreakoutRoomInfo = serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                    panic!("docs/protocol.md:{line}: not a break-out room info: {e}")
                });
                serde_json::to_value(&r).expect("serialises")
            }
            None if v.get("role").is_some() && v.get("location").is_some() => {
                let u: UserInfo = serde_json::from_value(v.clone())
                    .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: not a user info: {e}"));
                serde_json::to_value(&u).expect("serialises")
            }
            None => continue,
        };
        assert_eq!(
            again,
            v,
            "docs/protocol.md:{line}: the example does not survive its type (a field is stale \
             or missing): {}",
            first_difference(&v, &again, String::new())
                .unwrap_or_default()
                .replace("/ file", "/ as the type writes it")
        );
        checked += 1;
    }
    assert!(
        checked >= 4,
        "the page's untagged examples were not found ({checked})"
    );
}

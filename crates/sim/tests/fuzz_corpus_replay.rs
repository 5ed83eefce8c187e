//! The committed seed corpus of the `signal_decode` fuzz target (`fuzz/corpus/signal_decode/`),
//! replayed by `cargo test` with the target's properties, so that its findings stay fixed
//! without cargo-fuzz or a nightly toolchain:
//!
//! * every error names a reply with a known, non-zero `result`, of the ack type of the
//!   frame's `type` (or `error`), and an error without `id` is `error` 4001;
//! * a decoded frame has a known `type` and re-encodes to text that decodes to exactly the
//!   same value, numbers included.
//!
//! Finding F2 (`fuzz/README.md`) is `finding.float_reencode.json`: a raw room definition with
//! `"participants":18446748147409133120`, a number that does not fit a `u64`, kept as an `f64`.
//! Without serde_json's `float_roundtrip` it came back one unit in the last place away after a
//! re-encode. [`finding_f2_a_raw_definition_re_encodes_to_the_same_number`] replays it by name.

use alcove_proto::signal::{decode_client_frame, ClientMessage, ServerMessage};
use alcove_proto::ErrorCode;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/signal_decode")
}

/// The fuzz target's checks on one input (`fuzz/fuzz_targets/signal_decode.rs`).
fn check(name: &str, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match decode_client_frame(&text) {
        Err(e) => {
            let reply = &*e.reply;
            let result = reply
                .result()
                .unwrap_or_else(|| panic!("{name}: error reply {reply:?} carries no result"));
            assert_ne!(result, 0, "{name}: error reply with result 0");
            assert!(
                ErrorCode::from_code(result).is_some(),
                "{name}: unknown code {result}"
            );
            match e.id {
                None => assert!(
                    matches!(reply, ServerMessage::Error(s) if s.result == ErrorCode::MalformedFrame.code()),
                    "{name}: an error without id must be a 4001 `error`: {reply:?}"
                ),
                Some(_) => {
                    let ok = matches!(reply, ServerMessage::Error(_))
                        || ClientMessage::TYPES.iter().any(|t| {
                            ServerMessage::failure_for(t, ErrorCode::Internal, "").type_name()
                                == reply.type_name()
                        });
                    assert!(
                        ok,
                        "{name}: reply type {} answers no request",
                        reply.type_name()
                    );
                }
            }
        }
        Ok(frame) => {
            assert!(ClientMessage::TYPES.contains(&frame.msg.type_name()));
            let encoded = frame.encode();
            let again = decode_client_frame(&encoded)
                .unwrap_or_else(|e| panic!("{name}: re-encoded frame does not decode: {e:?}"));
            assert_eq!(again, frame, "{name}: re-encoded as {encoded}");
        }
    }
}

#[test]
fn finding_f2_a_raw_definition_re_encodes_to_the_same_number() {
    let data = std::fs::read(corpus().join("finding.float_reencode.json"))
        .expect("fuzz/corpus/signal_decode/finding.float_reencode.json");
    let frame = decode_client_frame(&String::from_utf8_lossy(&data)).expect("decodes");
    let ClientMessage::CreateBreakOutRoom(def) = &frame.msg else {
        panic!("a createBreakOutRoom: {frame:?}");
    };
    let before = def
        .0
        .get("participants")
        .cloned()
        .expect("participants kept raw");
    let again = decode_client_frame(&frame.encode()).expect("re-decodes");
    let ClientMessage::CreateBreakOutRoom(def2) = &again.msg else {
        panic!("still a createBreakOutRoom: {again:?}");
    };
    let after = def2.0.get("participants").cloned().expect("participants");
    let bits = |v: &serde_json::Value| v.as_f64().map(f64::to_bits);
    assert_eq!(
        bits(&after),
        bits(&before),
        "participants {before} came back as {after}"
    );
    assert_eq!(again, frame);
    check("finding.float_reencode.json", &data);
}

#[test]
fn every_seed_of_the_signal_decode_corpus_keeps_the_targets_properties() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus()).expect("fuzz/corpus/signal_decode") {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        check(&name, &std::fs::read(&path).expect("readable seed"));
        n += 1;
    }
    assert!(
        n >= 20,
        "the corpus holds the fixtures and the findings: {n} files"
    );
}

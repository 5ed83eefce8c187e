//! Arbitrary bytes, read as a UTF-8 text frame (lossily, as a WebSocket text frame is always
//! valid UTF-8), through `decode_client_frame`.
//!
//! Properties:
//! * it never panics;
//! * every error names a reply that carries a non-zero `result` which is a known error code,
//!   of the acknowledgement type of the frame's `type` (or `error`), and an error without an
//!   `id` is a 4001 `error` frame;
//! * a decoded frame has a known `type`, and re-encodes to text that decodes to the same value.
#![no_main]

use alcove_proto::signal::{decode_client_frame, ClientMessage, ServerMessage};
use alcove_proto::ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match decode_client_frame(&text) {
        Err(e) => {
            let reply = &*e.reply;
            let result = reply
                .result()
                .unwrap_or_else(|| panic!("error reply {} carries no result", reply.type_name()));
            assert_ne!(result, 0, "error reply with result 0: {reply:?}");
            assert!(
                ErrorCode::from_code(result).is_some(),
                "error reply with an unknown code {result}: {reply:?}"
            );
            match e.id {
                None => assert!(
                    matches!(reply, ServerMessage::Error(s) if s.result == ErrorCode::MalformedFrame.code()),
                    "an error without id must be a 4001 `error`: {reply:?}"
                ),
                Some(_) => {
                    // The reply is either `error` or the failure ack of one known request type.
                    let ok = matches!(reply, ServerMessage::Error(_))
                        || ClientMessage::TYPES.iter().any(|t| {
                            ServerMessage::failure_for(t, ErrorCode::Internal, "").type_name()
                                == reply.type_name()
                        });
                    assert!(ok, "reply type {} answers no request", reply.type_name());
                }
            }
        }
        Ok(frame) => {
            assert!(ClientMessage::TYPES.contains(&frame.msg.type_name()));
            let encoded = frame.encode();
            let again = decode_client_frame(&encoded).unwrap_or_else(|e| {
                panic!("re-encoded frame does not decode: {encoded}\n{:?}", e.reply)
            });
            // Exactly the same value, numbers included (finding F2, fuzz/README.md: fixed by
            // serde_json's `float_roundtrip`; replayed by crates/sim/tests/fuzz_corpus_replay.rs).
            assert!(
                again == frame,
                "re-encoded frame decodes to another value: {encoded}\n  was: {frame:?}\n  now: {again:?}"
            );
        }
    }
});

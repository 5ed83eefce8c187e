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

use alcove_proto::signal::{decode_client_frame, ClientFrame, ClientMessage, ServerMessage};
use alcove_proto::ErrorCode;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

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
            assert!(
                again == frame || (!strict() && same_up_to_float_parsing(&again, &frame)),
                "re-encoded frame decodes to another value: {encoded}\n  was: {frame:?}\n  now: {again:?}"
            );
        }
    }
});

/// `ALCOVE_FUZZ_STRICT=1`: no tolerance for the known findings (to check a fix).
fn strict() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("ALCOVE_FUZZ_STRICT").is_some())
}

/// Known finding F2 (fuzz/README.md, "Findings"): the workspace's serde_json is built without its
/// `float_roundtrip` feature, so a number that is not an exact integer can come back one unit
/// in the last place away after a re-encode (`"participants":18446748147409133120` →
/// `1.8446748147409134e+19` → a different `f64`). Only raw room definitions keep such numbers.
/// This accepts exactly that difference and nothing else (unless `ALCOVE_FUZZ_STRICT` is set);
/// with `float_roundtrip` enabled it never triggers.
fn same_up_to_float_parsing(a: &ClientFrame, b: &ClientFrame) -> bool {
    let (da, db) = match (&a.msg, &b.msg) {
        (ClientMessage::CreateBreakOutRoom(x), ClientMessage::CreateBreakOutRoom(y))
        | (
            ClientMessage::CreateAndInviteBreakoutRoom(x),
            ClientMessage::CreateAndInviteBreakoutRoom(y),
        ) => (x, y),
        _ => return false,
    };
    a.id == b.id
        && da.0.len() == db.0.len()
        && da
            .0
            .iter()
            .all(|(k, v)| db.0.get(k).is_some_and(|w| same_value(v, w)))
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            // Same sign and at most one unit in the last place apart.
            x.is_sign_negative() == y.is_sign_negative() && x.to_bits().abs_diff(y.to_bits()) <= 1
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

//! The resume handshake's frames round-trip: `connect` with `resume` (no token), and the
//! resumed `roomConnected` with its extra fields; the first-connect shapes stay as they were.

use alcove_proto::signal::{decode_client_frame, ClientMessage, ServerFrame, ServerMessage};
use serde_json::{json, Value};

#[test]
fn connect_with_resume_round_trips_without_a_token() {
    let text = json!({"type": "connect", "id": 0, "resume": "r1.eyJjIjoxfQ.c2ln", "versions": [1]});
    let frame = decode_client_frame(&text.to_string()).expect("decodes");
    let ClientMessage::Connect(c) = &frame.msg else {
        panic!("a connect")
    };
    assert_eq!(c.resume.as_deref(), Some("r1.eyJjIjoxfQ.c2ln"));
    assert!(c.token.is_empty());
    let back: Value = serde_json::from_str(&frame.encode()).unwrap();
    assert_eq!(back, text, "no empty token field appears");
}

#[test]
fn a_resumed_room_connected_carries_its_extra_fields_and_a_fresh_one_does_not() {
    let fixture = include_str!("../fixtures/server.roomConnected.json");
    let mut v: Value = serde_json::from_str(fixture).unwrap();
    for k in ["invitations", "resumed", "media_kept", "resume_token"] {
        assert!(v.get(k).is_none(), "a first connect has no `{k}`");
    }
    v["resumed"] = json!(true);
    v["media_kept"] = json!(false);
    v["invitations"] = json!(["r8c2f41d07e9a5b31-br0a1b2c3d4e5f"]);
    v["resume_token"] = json!("r1.eyJjIjoxfQ.c2ln");
    let frame = ServerFrame::decode(&v.to_string()).expect("decodes");
    let ServerMessage::RoomConnected(rc) = &frame.msg else {
        panic!("roomConnected")
    };
    assert!(rc.resumed && !rc.media_kept);
    assert_eq!(rc.invitations.len(), 1);
    let back: Value = serde_json::from_str(&frame.encode()).unwrap();
    // `media_kept: false` is the default and is not written back.
    v.as_object_mut().unwrap().remove("media_kept");
    assert_eq!(back, v);
}

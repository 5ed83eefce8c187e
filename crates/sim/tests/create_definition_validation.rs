//! A room definition is validated in the contract's order, with the exact code for each
//! mistake: `participants` missing 1724; not an integer ≥ 2 1155; `audio`, `video`, `canvas`,
//! `share` missing 1734; a flag that is not a boolean 1155; `video: true` 1735; `max_rooms` < 1
//! 1155 (absent or `null`: one room, as with the vendor). A refused definition creates nothing
//! and tells nobody. The same rules hold for create-and-invite.

use alcove_proto::signal::{Msg, Role, ServerMessage};
use alcove_sim::{req, World};
use serde_json::{json, Value};

fn valid() -> Value {
    json!({"participants": 3, "audio": true, "video": false, "canvas": false, "share": true, "max_rooms": 2})
}

fn with(key: &str, value: Value) -> Value {
    let mut v = valid();
    v[key] = value;
    v
}

fn without(key: &str) -> Value {
    let mut v = valid();
    v.as_object_mut().unwrap().remove(key);
    v
}

fn cases() -> Vec<(&'static str, Value, i32)> {
    vec![
        ("participants missing", without("participants"), 1724),
        ("participants null", with("participants", Value::Null), 1724),
        ("participants 1", with("participants", json!(1)), 1155),
        ("participants 0", with("participants", json!(0)), 1155),
        (
            "participants negative",
            with("participants", json!(-3)),
            1155,
        ),
        (
            "participants fractional",
            with("participants", json!(2.5)),
            1155,
        ),
        (
            "participants a string",
            with("participants", json!("3")),
            1155,
        ),
        ("audio missing", without("audio"), 1734),
        ("video missing", without("video"), 1734),
        ("canvas missing", without("canvas"), 1734),
        ("share missing", without("share"), 1734),
        ("audio not a boolean", with("audio", json!("yes")), 1155),
        ("share not a boolean", with("share", json!(1)), 1155),
        ("video true", with("video", json!(true)), 1735),
        ("max_rooms 0", with("max_rooms", json!(0)), 1155),
        ("max_rooms a string", with("max_rooms", json!("2")), 1155),
        // Order: participants is checked before the other keys, and its presence before its value.
        (
            "participants and audio missing",
            json!({"video": true}),
            1724,
        ),
        (
            "participants 1 and audio missing",
            json!({"participants": 1}),
            1155,
        ),
        (
            "over capacity and audio missing",
            json!({"participants": 9}),
            1725,
        ),
        (
            "video true and max_rooms 0",
            json!({"participants": 3, "audio": true, "video": true, "canvas": false, "share": true, "max_rooms": 0}),
            1735,
        ),
    ]
}

#[test]
fn each_mistake_in_a_definition_gets_its_code_and_changes_nothing() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let _pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();

    for (what, def, code) in cases() {
        let ack = w.request(&mia, req::create_raw(def.clone()));
        match &ack.msg {
            ServerMessage::AckCreateBreakOutRoom(a) => {
                assert_eq!(a.result, code, "create with {what}");
                assert!(
                    matches!(&a.msg, Msg::Text(t) if !t.is_empty()),
                    "{what}: a readable msg"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
        let ack = w.request(&mia, req::create_and_invite_raw(def));
        match &ack.msg {
            ServerMessage::AckCreateAndInviteBreakOutRoom(a) => {
                assert_eq!(a.result, code, "create-and-invite with {what}");
                assert!(matches!(&a.msg, Msg::Text(t) if !t.is_empty()));
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(w.family().breakout_rooms().is_empty());
    assert!(w.drain_all().is_empty(), "a refused create tells nobody");
}

#[test]
fn the_valid_baseline_is_accepted_and_force_join_is_optional() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    assert_eq!(req::result(&w.request(&mia, req::create_raw(valid()))), 0);
    assert_eq!(
        req::result(&w.request(&mia, req::create_raw(with("force_join", json!(true))))),
        0
    );
    assert_eq!(
        req::result(&w.request(&mia, req::create_raw(with("force_join", json!("x"))))),
        1155
    );
    assert_eq!(w.live_rooms().len(), 4);
}

#[test]
fn a_definition_without_max_rooms_creates_one_room() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let ack = w.request(&mia, req::create_raw(without("max_rooms")));
    match &ack.msg {
        ServerMessage::AckCreateBreakOutRoom(a) => {
            assert_eq!(a.result, 0, "{a:?}");
            assert!(
                matches!(&a.msg, Msg::Data(r) if r.rooms.len() == 1),
                "one room: {a:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        req::result(&w.request(&mia, req::create_raw(with("max_rooms", Value::Null)))),
        0
    );
    assert_eq!(w.live_rooms().len(), 2);
}

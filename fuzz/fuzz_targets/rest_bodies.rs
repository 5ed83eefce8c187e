//! Arbitrary bytes as the JSON body of `POST /v1/rooms` (`CreateRoomRequest`, then
//! `settings.resolve()`) and of `POST /v1/rooms/{room_id}/tokens` (`CreateTokenRequest`).
//!
//! Properties:
//! * nothing panics;
//! * settings that resolve are inside the documented ranges (docs/errors.md, 4400);
//! * a body that parses re-encodes to JSON that parses again, and the settings of the copy
//!   resolve to the same result.
#![no_main]

use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest, RoomSettings, RoomSettingsInput};
use libfuzzer_sys::fuzz_target;

fn check_resolved(s: &RoomSettings) {
    assert!((1..=16).contains(&s.max_active_talkers), "{s:?}");
    assert!((1..=100).contains(&s.moderators), "{s:?}");
    assert!((1..=10_000).contains(&s.participants), "{s:?}");
    assert!((1..=100).contains(&s.max_breakout_rooms), "{s:?}");
    assert!((1..=86_400).contains(&s.breakout_empty_timeout), "{s:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(room) = serde_json::from_slice::<CreateRoomRequest>(data) {
        let resolved = room.settings.resolve();
        if let Ok(s) = &resolved {
            check_resolved(s);
        }
        let text = serde_json::to_string(&room).expect("a parsed body serialises");
        let copy: CreateRoomRequest =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(copy.settings, room.settings, "{text}");
        assert_eq!(copy.settings.resolve(), resolved, "{text}");
    }
    if let Ok(settings) = serde_json::from_slice::<RoomSettingsInput>(data) {
        if let Ok(s) = settings.resolve() {
            check_resolved(&s);
        }
    }
    if let Ok(token) = serde_json::from_slice::<CreateTokenRequest>(data) {
        let text = serde_json::to_string(&token).expect("a parsed body serialises");
        let copy: CreateTokenRequest =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(copy.role, token.role, "{text}");
        assert_eq!(copy.name, token.name, "{text}");
        assert_eq!(copy.user_ref, token.user_ref, "{text}");
    }
});

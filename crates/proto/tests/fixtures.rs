//! The golden fixtures in `crates/proto/fixtures/` round-trip through the wire types.
//!
//! File names say what a file holds:
//!
//! * `client.<type>.json`: a `ClientFrame` (with `id`) of each `ClientMessage` type;
//! * `server.<type>.json`: a `ServerFrame` of each `ServerMessage` type (acknowledgements with
//!   the request's `id`, notifications without);
//! * `server.<type>.error.json`: the failure shape of an acknowledgement;
//! * `rest.<name>.json`: a REST body of `alcove_proto::api`.
//!
//! The browser SDK's tests parse the same files, so a change here is a wire change.

use alcove_proto::api::{
    BreakoutRoomsResponse, CreateRoomRequest, CreateTokenRequest, ErrorResponse, RoomListResponse,
    RoomResponse, TokenResponse, UsersResponse,
};
use alcove_proto::signal::{decode_client_frame, ClientMessage, ServerFrame, ServerMessage};
use alcove_proto::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One fixture file: its name without `.json`, its text and its parsed JSON.
struct Fixture {
    name: String,
    text: String,
    json: Value,
}

fn fixtures() -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("crates/proto/fixtures exists") {
        let path = entry.expect("readable directory entry").path();
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_owned();
        let name = file
            .strip_suffix(".json")
            .unwrap_or_else(|| panic!("{file}: only .json files belong in fixtures/"))
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
        assert!(json.is_object(), "{file}: a fixture is one JSON object");
        out.push(Fixture { name, text, json });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn with_prefix<'a>(all: &'a [Fixture], prefix: &str) -> Vec<&'a Fixture> {
    all.iter().filter(|f| f.name.starts_with(prefix)).collect()
}

/// `client.<type>` / `server.<type>` / `server.<type>.error` → (`<type>`, is_error).
fn message_type(name: &str) -> (&str, bool) {
    let rest = name.split_once('.').map(|(_, r)| r).unwrap_or(name);
    match rest.strip_suffix(".error") {
        Some(t) => (t, true),
        None => (rest, false),
    }
}

/// Every server message type. `server_type_list_is_complete` checks this list against the
/// enum itself, so a new `ServerMessage` variant fails the tests until it is listed here and
/// has a fixture.
const SERVER_TYPES: &[&str] = &[
    "roomConnected",
    "error",
    "ackCreateBreakOutRoom",
    "breakoutRoomCreated",
    "ackInviteBreakOutRoom",
    "invitationForBreakoutRoom",
    "breakoutRoomInvited",
    "ackCreateAndInviteBreakOutRoom",
    "connectedBreakoutRoom",
    "failedJoinBreakOutRoom",
    "userJoinedBreakoutRoom",
    "ackRejectBreakoutRoom",
    "breakoutRoomInviteRejected",
    "ackPause",
    "ackResume",
    "ackMuteRoom",
    "ackUnmuteRoom",
    "didDisconnectedBreakoutRoom",
    "didUserDisconnectedFromBreakoutRoom",
    "didDestroyedBreakoutRoom",
    "ackDestroyAllBreakOutSession",
    "breakoutInvitationWithdrawn",
    "userConnected",
    "userDisconnected",
    "userMoved",
    "userPaused",
    "userMuted",
    "usersUpdated",
    "roomDisconnected",
    "sdpAnswer",
    "ackStartShare",
    "ackStopShare",
    "ackStartCanvas",
    "ackStopCanvas",
    "shareStarted",
    "shareStopped",
    "canvasStarted",
    "canvasStopped",
    "activeTalkersUpdated",
    "videoSlotsUpdated",
    "ackSetVideoSlot",
    "ackSetBreakoutDuration",
    "breakoutTimer",
    "breakoutTimerWarning",
    "ackBroadcastMessage",
    "broadcastReceived",
    "ackRequestHelp",
    "ackCancelHelp",
    "helpRequested",
    "ackDismissHelp",
    "helpAnswered",
    "helpDismissed",
    "helpResolved",
    "ackMoveToBreakoutRoom",
    "ackSetSelfSelect",
    "ackRenameBreakoutRoom",
    "breakoutRoomsUpdated",
    "ackSavePlan",
    "ackListPlans",
    "ackApplyPlan",
    "ackMuteMember",
    "memberMuted",
    "ackAskToUnmute",
    "unmuteAsked",
    "ackUnmuteSelf",
    "ackListenTo",
    "ackStopListening",
    "ackTalkTo",
    "ackStartBroadcast",
    "ackStopBroadcast",
    "monitoredBy",
    "audioBroadcast",
    "listeningChanged",
    "ackPinUsers",
    "ackUnpinUsers",
    "updatePinUsers",
];

/// The `type` names a `#[serde(tag = "type")]` enum accepts, read from serde's own
/// "unknown variant …, expected one of …" error, so the list comes from the enum itself.
fn serde_type_names<T: DeserializeOwned + std::fmt::Debug>() -> BTreeSet<String> {
    let err = serde_json::from_str::<T>(r#"{"type":"\u0000"}"#)
        .expect_err("no message type is named NUL")
        .to_string();
    let list = err
        .split_once("expected one of ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("unexpected serde error text: {err}"));
    let list = list.split(" at line").next().unwrap_or(list);
    list.split(", ")
        .map(|n| n.trim_matches('`').to_owned())
        .collect()
}

/// Server types that answer a request (their fixtures carry an `id`). `connectedBreakoutRoom`
/// and `didDisconnectedBreakoutRoom` are also sent unsolicited; their fixtures are the acks.
const ACK_TYPES: &[&str] = &[
    "roomConnected",
    "error",
    "ackCreateBreakOutRoom",
    "ackInviteBreakOutRoom",
    "ackCreateAndInviteBreakOutRoom",
    "connectedBreakoutRoom",
    "failedJoinBreakOutRoom",
    "ackRejectBreakoutRoom",
    "ackPause",
    "ackResume",
    "ackMuteRoom",
    "ackUnmuteRoom",
    "didDisconnectedBreakoutRoom",
    "ackDestroyAllBreakOutSession",
    "sdpAnswer",
    "ackStartShare",
    "ackStopShare",
    "ackStartCanvas",
    "ackStopCanvas",
    "ackSetVideoSlot",
    "ackSetBreakoutDuration",
    "ackBroadcastMessage",
    "ackRequestHelp",
    "ackCancelHelp",
    "ackDismissHelp",
    "ackMoveToBreakoutRoom",
    "ackSetSelfSelect",
    "ackRenameBreakoutRoom",
    "ackSavePlan",
    "ackListPlans",
    "ackApplyPlan",
    "ackMuteMember",
    "ackAskToUnmute",
    "ackUnmuteSelf",
    "ackListenTo",
    "ackStopListening",
    "ackTalkTo",
    "ackStartBroadcast",
    "ackStopBroadcast",
    "ackPinUsers",
    "ackUnpinUsers",
];

/// Server types whose very meaning is a failure (`result` ≠ 0 even without `.error`).
const FAILURE_TYPES: &[&str] = &["error", "failedJoinBreakOutRoom", "roomDisconnected"];

#[test]
fn every_file_name_follows_the_pattern() {
    for f in fixtures() {
        let ok = f.name.starts_with("client.")
            || f.name.starts_with("server.")
            || f.name.starts_with("rest.");
        assert!(ok, "{}: names start with client., server. or rest.", f.name);
        if !f.name.starts_with("rest.") {
            let (ty, _) = message_type(&f.name);
            assert_eq!(
                f.json["type"],
                Value::from(ty),
                "{}: `type` must match the file name",
                f.name
            );
        }
    }
}

#[test]
fn client_fixtures_decode_and_reencode_identically() {
    let all = fixtures();
    let clients = with_prefix(&all, "client.");
    assert!(!clients.is_empty());
    for f in clients {
        let (ty, is_error) = message_type(&f.name);
        assert!(
            !is_error,
            "{}: client fixtures have no error variant",
            f.name
        );
        let frame = decode_client_frame(&f.text)
            .unwrap_or_else(|e| panic!("{}: does not decode: {:?}", f.name, e.reply));
        assert_eq!(frame.msg.type_name(), ty, "{}", f.name);
        assert!(
            f.json["id"].is_u64(),
            "{}: a request carries a numeric id",
            f.name
        );
        let again = serde_json::to_value(&frame).expect("a frame serialises");
        assert_eq!(again, f.json, "{}: re-encoding changed the JSON", f.name);
        // The encoder's text decodes to the same frame too.
        assert_eq!(
            decode_client_frame(&frame.encode()).map_err(|e| e.reply),
            Ok(frame.clone())
        );
        // Room definitions stay raw on the wire; the fixture must also be a valid one.
        match &frame.msg {
            ClientMessage::CreateBreakOutRoom(def)
            | ClientMessage::CreateAndInviteBreakoutRoom(def) => {
                let parsed = def
                    .parse(6)
                    .unwrap_or_else(|e| panic!("{}: invalid definition {e:?}", f.name));
                assert!(!parsed.video);
                let names = def
                    .names()
                    .unwrap_or_else(|e| panic!("{}: invalid names {e:?}", f.name));
                assert!(names.len() <= parsed.max_rooms as usize, "{}", f.name);
            }
            _ => {}
        }
    }
}

#[test]
fn every_client_message_type_has_a_fixture() {
    let all = fixtures();
    let names: BTreeSet<&str> = with_prefix(&all, "client.")
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    for ty in ClientMessage::TYPES {
        assert!(
            names.contains(format!("client.{ty}").as_str()),
            "no fixture client.{ty}.json"
        );
    }
    for name in &names {
        let (ty, _) = message_type(name);
        assert!(
            ClientMessage::TYPES.contains(&ty),
            "{name}: `{ty}` is not a ClientMessage type"
        );
    }
}

#[test]
fn server_fixtures_decode_and_reencode_identically() {
    let all = fixtures();
    let servers = with_prefix(&all, "server.");
    assert!(!servers.is_empty());
    for f in servers {
        let (ty, is_error) = message_type(&f.name);
        let frame = ServerFrame::decode(&f.text)
            .unwrap_or_else(|e| panic!("{}: does not decode as ServerFrame: {e}", f.name));
        assert_eq!(frame.msg.type_name(), ty, "{}", f.name);
        let again = serde_json::to_value(&frame).expect("a frame serialises");
        assert_eq!(again, f.json, "{}: re-encoding changed the JSON", f.name);
        assert_eq!(
            ServerFrame::decode(&frame.encode()).ok(),
            Some(frame.clone()),
            "{}",
            f.name
        );

        let is_ack = ACK_TYPES.contains(&ty);
        assert_eq!(
            frame.id.is_some(),
            is_ack,
            "{}: acks carry an id, notifications do not",
            f.name
        );

        match frame.msg.result() {
            Some(0) => assert!(
                !is_error && !FAILURE_TYPES.contains(&ty),
                "{}: a failure fixture must carry a non-zero result",
                f.name
            ),
            Some(code) => {
                assert!(
                    is_error || FAILURE_TYPES.contains(&ty),
                    "{}: a success fixture must carry result 0",
                    f.name
                );
                assert!(
                    ErrorCode::from_code(code).is_some(),
                    "{}: {code} is not an ErrorCode",
                    f.name
                );
            }
            None => assert!(
                !is_error,
                "{}: an error fixture must carry a result",
                f.name
            ),
        }
    }
}

#[test]
fn every_server_message_type_has_a_fixture() {
    let all = fixtures();
    let names: BTreeSet<&str> = with_prefix(&all, "server.")
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    for ty in SERVER_TYPES {
        assert!(
            names.contains(format!("server.{ty}").as_str()),
            "no fixture server.{ty}.json"
        );
    }
    for name in &names {
        let (ty, _) = message_type(name);
        assert!(
            SERVER_TYPES.contains(&ty),
            "{name}: `{ty}` is not a ServerMessage type"
        );
    }
    let unique: BTreeSet<&&str> = SERVER_TYPES.iter().collect();
    assert_eq!(
        unique.len(),
        SERVER_TYPES.len(),
        "SERVER_TYPES lists a type twice"
    );
}

#[test]
fn server_type_list_is_complete() {
    let listed: BTreeSet<String> = SERVER_TYPES.iter().map(|t| (*t).to_owned()).collect();
    let actual = serde_type_names::<ServerMessage>();
    let missing: Vec<&String> = actual.difference(&listed).collect();
    let extra: Vec<&String> = listed.difference(&actual).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "SERVER_TYPES is out of date: add {missing:?} (each with a fixture server.<type>.json), \
         remove {extra:?}"
    );
}

#[test]
fn client_type_list_is_complete() {
    let listed: BTreeSet<String> = ClientMessage::TYPES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    assert_eq!(
        serde_type_names::<ClientMessage>(),
        listed,
        "ClientMessage::TYPES and the enum disagree"
    );
}

/// The request type whose failure acknowledgement has type `ack` (as `failure_for` builds
/// it); `error` maps to `connect`, the first request answered by `error`.
fn request_for_ack(ack: &str) -> Option<&'static str> {
    ClientMessage::TYPES
        .iter()
        .copied()
        .find(|req| ServerMessage::failure_for(req, ErrorCode::Internal, "").type_name() == ack)
}

#[test]
fn failure_fixtures_have_the_shape_failure_for_builds() {
    let all = fixtures();
    for f in with_prefix(&all, "server.") {
        let (ty, is_error) = message_type(&f.name);
        if !(is_error || ty == "failedJoinBreakOutRoom" || ty == "error") {
            continue;
        }
        let req =
            request_for_ack(ty).unwrap_or_else(|| panic!("{}: no request acked by `{ty}`", f.name));
        let frame = ServerFrame::decode(&f.text).expect("decodes (checked above)");
        let code = frame
            .msg
            .result()
            .and_then(ErrorCode::from_code)
            .expect("a known code");
        let msg = f.json["msg"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: failure `msg` is a text", f.name));
        let mut expected = ServerMessage::failure_for(req, code, msg);
        // A failed `disconnect` that the server could read names the room it was asked about
        // (`failure_for` builds the decode-time shape, where no room could be read: null).
        if let ServerMessage::DidDisconnectedBreakoutRoom(d) = &mut expected {
            let asked = all
                .iter()
                .find(|f| f.name == "client.disconnect")
                .map(|f| f.json["room_id"].clone())
                .expect("client.disconnect.json");
            assert_eq!(
                f.json["room_id"], asked,
                "{}: a failed disconnect names the room of client.disconnect",
                f.name
            );
            d.room_id = serde_json::from_value(asked).expect("a room id");
        }
        assert_eq!(expected, frame.msg, "{}", f.name);
    }
}

#[test]
fn every_failure_ack_shape_that_can_occur_has_a_fixture() {
    // pause, resume and clearAllBreakOutSession cannot fail once decoded, so they have none.
    let all = fixtures();
    let names: BTreeSet<&str> = all.iter().map(|f| f.name.as_str()).collect();
    for ack in [
        "ackCreateBreakOutRoom",
        "ackCreateAndInviteBreakOutRoom",
        "ackInviteBreakOutRoom",
        "ackRejectBreakoutRoom",
        "ackMuteRoom",
        "ackUnmuteRoom",
        "didDisconnectedBreakoutRoom",
        "ackDestroyAllBreakOutSession",
        "sdpAnswer",
        "ackStartShare",
        "ackStopShare",
        "ackStartCanvas",
        "ackStopCanvas",
        "ackSetBreakoutDuration",
        "ackBroadcastMessage",
        "ackRequestHelp",
        "ackCancelHelp",
        "ackDismissHelp",
        "ackMoveToBreakoutRoom",
        "ackSetSelfSelect",
        "ackRenameBreakoutRoom",
        "ackSavePlan",
        "ackListPlans",
        "ackApplyPlan",
        "ackMuteMember",
        "ackAskToUnmute",
        "ackUnmuteSelf",
        "ackSetVideoSlot",
        "ackPinUsers",
        "ackUnpinUsers",
    ] {
        assert!(
            names.contains(format!("server.{ack}.error").as_str()),
            "no server.{ack}.error.json"
        );
    }
}

/// The m-sections of an SDP: `(mid, kind, direction)` in m-line order.
fn sdp_sections(sdp: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in sdp.split("\r\n") {
        if let Some(m) = line.strip_prefix("m=") {
            let kind = m.split(' ').next().unwrap_or_default().to_owned();
            out.push((String::new(), kind, "sendrecv".to_owned()));
        } else if let Some(last) = out.last_mut() {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                last.0 = mid.to_owned();
            } else if let Some(dir) = ["sendonly", "recvonly", "sendrecv", "inactive"]
                .into_iter()
                .find(|d| line == format!("a={d}"))
            {
                last.2 = dir.to_owned();
            }
        }
    }
    out
}

#[test]
fn the_media_fixtures_describe_one_consistent_negotiation() {
    let all = fixtures();
    let get = |name: &str| {
        all.iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no fixture {name}.json"))
    };
    let offer_frame = decode_client_frame(&get("client.sdpOffer").text).expect("decodes");
    let ClientMessage::SdpOffer(offer) = &offer_frame.msg else {
        panic!("client.sdpOffer is not an sdpOffer");
    };
    assert!(
        offer.sdp.ends_with("\r\n") && !offer.sdp.replace("\r\n", "").contains('\n'),
        "SDP lines end in CRLF"
    );

    // `mids` names every m-line of the offer, in the documented layout order, with the
    // documented kind and direction.
    let m = &offer.mids;
    let one = |mid: &Option<String>, kind: &str, dir: &str| {
        let mid = mid.clone().expect("the fixture names every role");
        (mid, kind.to_owned(), dir.to_owned())
    };
    let mut expected = vec![
        one(&m.mic, "audio", "sendonly"),
        one(&m.share, "video", "sendonly"),
        one(&m.canvas, "video", "sendonly"),
    ];
    for slot in &m.audio_slots {
        expected.push((slot.clone(), "audio".into(), "recvonly".into()));
    }
    expected.push(one(&m.share_slot, "video", "recvonly"));
    expected.push(one(&m.canvas_slot, "video", "recvonly"));
    let offered = sdp_sections(&offer.sdp);
    assert_eq!(offered, expected, "client.sdpOffer: mids ↔ m-lines");

    // No more audio slots than the room's max_active_talkers.
    let ServerMessage::RoomConnected(connected) =
        ServerFrame::decode(&get("server.roomConnected").text)
            .expect("decodes")
            .msg
    else {
        panic!("server.roomConnected is not a roomConnected");
    };
    assert!(m.audio_slots.len() <= connected.room.settings.max_active_talkers as usize);

    // The answer acks the offer: same id, same mids (directions mirrored), ICE-lite, and the
    // server's one host candidate.
    let answer_frame = ServerFrame::decode(&get("server.sdpAnswer").text).expect("decodes");
    assert_eq!(answer_frame.id, Some(offer_frame.id));
    let ServerMessage::SdpAnswer(answer) = &answer_frame.msg else {
        panic!("server.sdpAnswer is not an sdpAnswer");
    };
    let mirrored: Vec<(String, String, String)> = offered
        .iter()
        .map(|(mid, kind, dir)| {
            let dir = match dir.as_str() {
                "sendonly" => "recvonly",
                "recvonly" => "sendonly",
                other => other,
            };
            (mid.clone(), kind.clone(), dir.to_owned())
        })
        .collect();
    assert_eq!(sdp_sections(&answer.sdp), mirrored, "server.sdpAnswer");
    let lines: Vec<&str> = answer.sdp.split("\r\n").collect();
    assert!(lines.contains(&"a=ice-lite"), "the server is ICE-lite");
    let candidates: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert_eq!(candidates.len(), 1, "one candidate: the advertised address");
    assert!(candidates[0].contains(" udp ") && candidates[0].contains(" typ host"));

    // Talkers point into the offered audio slots.
    let ServerMessage::ActiveTalkersUpdated(talkers) =
        ServerFrame::decode(&get("server.activeTalkersUpdated").text)
            .expect("decodes")
            .msg
    else {
        panic!("server.activeTalkersUpdated is not an activeTalkersUpdated");
    };
    for t in &talkers.talkers {
        assert!(
            (t.slot as usize) < m.audio_slots.len(),
            "slot {} offered",
            t.slot
        );
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(f: &Fixture) -> T {
    let t: T = serde_json::from_str(&f.text).unwrap_or_else(|e| {
        panic!(
            "{}: does not decode as {}: {e}",
            f.name,
            std::any::type_name::<T>()
        )
    });
    let again = serde_json::to_value(&t).expect("a body serialises");
    assert_eq!(again, f.json, "{}: re-encoding changed the JSON", f.name);
    t
}

#[test]
fn rest_fixtures_decode_into_their_types() {
    let all = fixtures();
    let rest = with_prefix(&all, "rest.");
    let mut seen = BTreeSet::new();
    for f in rest {
        let name = f.name.strip_prefix("rest.").unwrap_or(&f.name);
        seen.insert(name.to_owned());
        match name {
            "create_room_request" => {
                let req: CreateRoomRequest = round_trip(f);
                req.settings
                    .resolve()
                    .unwrap_or_else(|e| panic!("{}: {e}", f.name));
            }
            "room_response" => {
                let r: RoomResponse = round_trip(f);
                assert_eq!(r.result, 0);
            }
            "room_list_response" => {
                let r: RoomListResponse = round_trip(f);
                assert_eq!(r.result, 0);
            }
            "create_token_request" => {
                let _: CreateTokenRequest = round_trip(f);
            }
            "token_response" => {
                let r: TokenResponse = round_trip(f);
                assert!(r.token.starts_with("v1.") && r.token.split('.').count() == 3);
            }
            "users_response" => {
                let r: UsersResponse = round_trip(f);
                assert_eq!(r.result, 0);
            }
            "breakout_rooms_response" => {
                let r: BreakoutRoomsResponse = round_trip(f);
                assert_eq!(r.result, 0);
            }
            "delete_room_response" => {
                let r: ErrorResponse = round_trip(f);
                assert_eq!(r.result, 0);
            }
            "error_response" => {
                let r: ErrorResponse = round_trip(f);
                assert!(
                    ErrorCode::from_code(r.result).is_some(),
                    "{}: unknown code",
                    f.name
                );
            }
            other => panic!("rest.{other}.json: no REST type is mapped to this name"),
        }
    }
    for name in [
        "create_room_request",
        "room_response",
        "room_list_response",
        "create_token_request",
        "token_response",
        "users_response",
        "breakout_rooms_response",
        "delete_room_response",
        "error_response",
    ] {
        assert!(seen.contains(name), "no fixture rest.{name}.json");
    }
}

#[test]
fn the_connect_fixture_is_the_documented_first_frame() {
    let all = fixtures();
    let connect = all
        .iter()
        .find(|f| f.name == "client.connect")
        .expect("client.connect.json");
    assert_eq!(connect.json["id"], Value::from(0));
    assert_eq!(
        connect.json["versions"],
        serde_json::json!(alcove_proto::version::ProtocolVersion::supported())
    );
    let token = connect.json["token"].as_str().expect("a token");
    assert!(token.starts_with("v1.") && token.split('.').count() == 3);
}

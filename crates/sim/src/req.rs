//! Request builders and acknowledgement readers, so scenario tests read like the contract:
//! `w.request(&mia, req::create(3, 2))`.

use alcove_proto::signal::{
    ClientMessage, Invitee, JoinRole, Joinee, MediaFlags, RoomDefinition, RoomRef, ServerFrame,
    ServerMessage, StreamInfo,
};
use alcove_proto::{ClientId, RoomId};
use serde_json::Value;

/// A valid room definition: audio, screen share, no canvas, no video, no force join.
pub fn definition(participants: u32, max_rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants,
        audio: true,
        video: false,
        canvas: false,
        share: true,
        max_rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

/// `createBreakOutRoom` with [`definition`]`(participants, max_rooms)`.
pub fn create(participants: u32, max_rooms: u32) -> ClientMessage {
    ClientMessage::CreateBreakOutRoom(definition(participants, max_rooms).to_input())
}

/// `createBreakOutRoom` with a raw JSON definition (must be an object), for invalid input.
pub fn create_raw(def: Value) -> ClientMessage {
    match def {
        Value::Object(m) => {
            ClientMessage::CreateBreakOutRoom(alcove_proto::signal::RoomDefinitionInput(m))
        }
        other => panic!("a room definition is a JSON object, not {other}"),
    }
}

/// `createAndInviteBreakoutRoom` with [`definition`]`(participants, max_rooms)` and
/// `force_join`.
pub fn create_and_invite(participants: u32, max_rooms: u32, force_join: bool) -> ClientMessage {
    let def = RoomDefinition {
        force_join,
        ..definition(participants, max_rooms)
    };
    ClientMessage::CreateAndInviteBreakoutRoom(def.to_input())
}

/// `createAndInviteBreakoutRoom` with a raw JSON definition (must be an object).
pub fn create_and_invite_raw(def: Value) -> ClientMessage {
    match def {
        Value::Object(m) => {
            ClientMessage::CreateAndInviteBreakoutRoom(alcove_proto::signal::RoomDefinitionInput(m))
        }
        other => panic!("a room definition is a JSON object, not {other}"),
    }
}

/// `inviteToBreakOutRoom {clients, room_id, force_join}`.
pub fn invite(room: &RoomId, clients: &[&ClientId], force_join: bool) -> ClientMessage {
    ClientMessage::InviteToBreakOutRoom(Invitee {
        clients: clients.iter().map(|c| (*c).clone()).collect(),
        room_id: room.clone(),
        force_join,
    })
}

/// `joinBreakoutRoom {role, room_id}` with audio and no video.
pub fn join(room: &RoomId, role: JoinRole) -> ClientMessage {
    ClientMessage::JoinBreakoutRoom(Joinee {
        role,
        room_id: room.clone(),
        stream_info: StreamInfo {
            audio: true,
            video: false,
        },
    })
}

/// `joinBreakoutRoom` asking for video (refused with 1735).
pub fn join_with_video(room: &RoomId, role: JoinRole) -> ClientMessage {
    ClientMessage::JoinBreakoutRoom(Joinee {
        role,
        room_id: room.clone(),
        stream_info: StreamInfo {
            audio: true,
            video: true,
        },
    })
}

/// `rejectBreakOutRoom(room_id)`.
pub fn reject(room: &RoomId) -> ClientMessage {
    ClientMessage::RejectBreakOutRoom(RoomRef {
        room_id: room.clone(),
    })
}

/// `muteRoom({audio, video})`.
pub fn mute(audio: bool, video: bool) -> ClientMessage {
    ClientMessage::MuteRoom(MediaFlags { audio, video })
}

/// `unmuteRoom({audio, video})`.
pub fn unmute(audio: bool, video: bool) -> ClientMessage {
    ClientMessage::UnmuteRoom(MediaFlags { audio, video })
}

/// `disconnect()` on the handle of break-out room `room`.
pub fn disconnect(room: &RoomId) -> ClientMessage {
    ClientMessage::Disconnect(RoomRef {
        room_id: room.clone(),
    })
}

/// The `result` of an acknowledgement (panics on a frame that carries none).
pub fn result(ack: &ServerFrame) -> i32 {
    ack.msg
        .result()
        .unwrap_or_else(|| panic!("{} carries no result", ack.msg.type_name()))
}

/// The room ids of a successful `ackCreateBreakOutRoom`, `ackCreateAndInviteBreakOutRoom` or
/// `ackDestroyAllBreakOutSession` (panics on anything else).
pub fn rooms(ack: &ServerFrame) -> Vec<RoomId> {
    let rooms = match &ack.msg {
        ServerMessage::AckCreateBreakOutRoom(a) => a.msg.data().map(|d| d.rooms.clone()),
        ServerMessage::AckDestroyAllBreakOutSession(a) => a.msg.data().map(|d| d.rooms.clone()),
        ServerMessage::AckCreateAndInviteBreakOutRoom(a) => a.msg.data().map(|d| d.rooms.clone()),
        _ => None,
    };
    rooms.unwrap_or_else(|| panic!("not a successful room list: {ack:?}"))
}

// ----- issue 10: facilitation -----

/// `createBreakOutRoom` with a full definition (timers, self-select, policy).
pub fn create_with(def: RoomDefinition) -> ClientMessage {
    ClientMessage::CreateBreakOutRoom(def.to_input())
}

/// `createAndInviteBreakoutRoom` with a full definition.
pub fn create_and_invite_with(def: RoomDefinition) -> ClientMessage {
    ClientMessage::CreateAndInviteBreakoutRoom(def.to_input())
}

/// `createBreakOutRoom` with `def` plus a `names` array.
pub fn create_named(def: RoomDefinition, names: &[&str]) -> ClientMessage {
    let mut input = def.to_input();
    input.0.insert(
        "names".into(),
        Value::Array(names.iter().map(|n| Value::String((*n).into())).collect()),
    );
    ClientMessage::CreateBreakOutRoom(input)
}

/// `setBreakoutDuration {room_id, duration, warning}`.
pub fn set_duration(room: &RoomId, duration: Option<u32>, warning: Option<u32>) -> ClientMessage {
    ClientMessage::SetBreakoutDuration(alcove_proto::signal::SetBreakoutDuration {
        room_id: room.clone(),
        duration,
        warning,
    })
}

/// `broadcastMessage {text, rooms}`.
pub fn broadcast(text: &str, rooms: Option<&[&RoomId]>) -> ClientMessage {
    ClientMessage::BroadcastMessage(alcove_proto::signal::BroadcastMessage {
        text: text.into(),
        rooms: rooms.map(|r| r.iter().map(|x| (*x).clone()).collect()),
    })
}

/// `requestHelp`.
pub fn request_help() -> ClientMessage {
    ClientMessage::RequestHelp
}

/// `cancelHelp`.
pub fn cancel_help() -> ClientMessage {
    ClientMessage::CancelHelp
}

/// `dismissHelp {clientId}`.
pub fn dismiss_help(client: &ClientId) -> ClientMessage {
    ClientMessage::DismissHelp(alcove_proto::signal::DismissHelp {
        client_id: client.clone(),
    })
}

/// `moveToBreakoutRoom {clientId, room_id}`.
pub fn move_to(client: &ClientId, room: &RoomId) -> ClientMessage {
    ClientMessage::MoveToBreakoutRoom(alcove_proto::signal::MoveToBreakoutRoom {
        client_id: client.clone(),
        room_id: room.clone(),
    })
}

/// `setSelfSelect {room_id?, on}`.
pub fn set_self_select(room: Option<&RoomId>, on: bool) -> ClientMessage {
    ClientMessage::SetSelfSelect(alcove_proto::signal::SetSelfSelect {
        room_id: room.cloned(),
        on,
    })
}

/// `renameBreakoutRoom {room_id, name}`.
pub fn rename(room: &RoomId, name: &str) -> ClientMessage {
    ClientMessage::RenameBreakoutRoom(alcove_proto::signal::RenameBreakoutRoom {
        room_id: room.clone(),
        name: name.into(),
    })
}

/// `savePlan {name}`.
pub fn save_plan(name: &str) -> ClientMessage {
    ClientMessage::SavePlan(alcove_proto::signal::SavePlan { name: name.into() })
}

/// `listPlans`.
pub fn list_plans() -> ClientMessage {
    ClientMessage::ListPlans
}

/// `applyPlan {name, force_join}`.
pub fn apply_plan(name: &str, force_join: bool) -> ClientMessage {
    ClientMessage::ApplyPlan(alcove_proto::signal::ApplyPlan {
        name: name.into(),
        force_join,
    })
}

/// `muteMember {clientId}`.
pub fn mute_member(client: &ClientId) -> ClientMessage {
    ClientMessage::MuteMember(alcove_proto::signal::MuteMember {
        client_id: Some(client.clone()),
        room_id: None,
    })
}

/// `muteMember {room_id}`: every non-moderator member of the room.
pub fn mute_room_members(room: &RoomId) -> ClientMessage {
    ClientMessage::MuteMember(alcove_proto::signal::MuteMember {
        client_id: None,
        room_id: Some(room.clone()),
    })
}

/// `askToUnmute {clientId}`.
pub fn ask_to_unmute(client: &ClientId) -> ClientMessage {
    ClientMessage::AskToUnmute(alcove_proto::signal::AskToUnmute {
        client_id: client.clone(),
    })
}

/// `unmuteSelf`.
pub fn unmute_self() -> ClientMessage {
    ClientMessage::UnmuteSelf
}

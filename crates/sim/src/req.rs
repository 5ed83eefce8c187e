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

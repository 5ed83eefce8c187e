//! Listen-in, talk-in and audio broadcast (Alcove, beyond the seed): a moderator in the parent
//! hears a break-out room, speaks into it, or speaks into every room at once, without leaving
//! the parent. These are routing changes on the moderator's one peer connection, never new
//! connections. Members always know: `monitoredBy` names every moderator listening to or
//! talking into their room. `docs/breakouts.md` holds the rules.

use crate::ids::{ClientId, RoomId};
use crate::signal::presence::UserRef;
use serde::{Deserialize, Serialize};

/// What a listening moderator keeps hearing of the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentWhileListening {
    /// The parent's talkers stay on its slots, after the listened room's (the default; an
    /// app plays them lower).
    #[default]
    Mixed,
    /// The parent is not heard while listening.
    Paused,
}

/// `listenTo`: hear a break-out room from the parent (moderators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenTo {
    /// The break-out room.
    pub room_id: RoomId,
    /// The parent meanwhile (default `mixed`).
    #[serde(default)]
    pub parent: ParentWhileListening,
}

/// `talkTo`: while listening to a room, speak into it (or stop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkTo {
    /// The room listened to.
    pub room_id: RoomId,
    /// Talk into it (true) or stop (false).
    pub on: bool,
    /// Keep being heard in the parent while talking in (default true).
    #[serde(default = "yes")]
    pub parent: bool,
}

fn yes() -> bool {
    true
}

/// `startBroadcast`: the moderator's voice into every break-out room (or the chosen ones) and
/// the parent, on a slot no talker takes over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StartBroadcast {
    /// Break-out room ids (the parent is always included); absent: every break-out room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<RoomId>>,
}

/// Ack of `listenTo`, `stopListening`, `talkTo`, `startBroadcast`, `stopBroadcast`: the
/// caller's listening state after the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenState {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The room listened to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listening: Option<RoomId>,
    /// Talking into it.
    #[serde(default)]
    pub talking: bool,
    /// Broadcasting (also when `broadcasting` is empty: a broadcast to every room while none
    /// is live).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub broadcast: bool,
    /// The break-out rooms broadcast into (empty when not broadcasting).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broadcasting: Vec<RoomId>,
}

impl ListenState {
    /// The failure shape: `code`, `msg`, and no listen-in state.
    pub fn failed(code: crate::error_code::ErrorCode, msg: String) -> ListenState {
        ListenState {
            result: code.code(),
            msg,
            listening: None,
            talking: false,
            broadcast: false,
            broadcasting: Vec::new(),
        }
    }
}

/// `monitoredBy`: to every member of a break-out room, whenever the moderators listening to or
/// talking into it change, and on entering a monitored room. Empty lists: nobody now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoredBy {
    /// The member's room.
    pub room_id: RoomId,
    /// Moderators listening.
    pub moderators: Vec<UserRef>,
    /// Those of them talking into the room.
    pub talking: Vec<ClientId>,
}

/// `audioBroadcast`: a moderator's voice reaches every room now (or no longer); to every client
/// in the rooms it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioBroadcast {
    /// The moderator.
    pub from: UserRef,
    /// Started (true) or stopped (false).
    pub on: bool,
}

//! REST API bodies (SPEC §5). Every response carries `result` (0 = ok); errors are
//! [`ErrorResponse`] with a stable [`crate::ErrorCode`] number.

use crate::ids::RoomId;
use crate::signal::presence::{BreakoutRoomInfo, Role, UserInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `group` (break-out rooms allowed) or `lecture` (break-out rooms refused with 5067).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomMode {
    /// Everyone may speak; break-out rooms available.
    #[default]
    Group,
    /// Moderators speak; no break-out rooms.
    Lecture,
}

/// Who may create break-out rooms.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakoutCreators {
    /// Moderators and participants (never viewers).
    #[default]
    ModeratorsAndParticipants,
    /// Moderators only.
    ModeratorsOnly,
}

/// Room settings, with every default filled in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// `group` or `lecture`.
    pub mode: RoomMode,
    /// Audio slots per client, 1–16 (default 6); bounds a BR's `participants` (≤ this − 1).
    pub max_active_talkers: u32,
    /// Moderator places (default 5).
    pub moderators: u32,
    /// Participant and viewer places (default 100).
    pub participants: u32,
    /// Screen share allowed in the parent (default true).
    pub screen_share: bool,
    /// Canvas allowed in the parent (default false).
    pub canvas: bool,
    /// Who may create break-out rooms.
    pub breakout_creators: BreakoutCreators,
    /// Live break-out rooms allowed per parent (default 10).
    pub max_breakout_rooms: u32,
    /// Seconds a break-out room nobody joined lives (default 300).
    pub breakout_empty_timeout: u32,
}

impl Default for RoomSettings {
    fn default() -> Self {
        RoomSettings {
            mode: RoomMode::Group,
            max_active_talkers: 6,
            moderators: 5,
            participants: 100,
            screen_share: true,
            canvas: false,
            breakout_creators: BreakoutCreators::ModeratorsAndParticipants,
            max_breakout_rooms: 10,
            breakout_empty_timeout: 300,
        }
    }
}

/// Settings as sent in `POST /v1/rooms`: every field optional.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomSettingsInput {
    /// See [`RoomSettings::mode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RoomMode>,
    /// See [`RoomSettings::max_active_talkers`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active_talkers: Option<u32>,
    /// See [`RoomSettings::moderators`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderators: Option<u32>,
    /// See [`RoomSettings::participants`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<u32>,
    /// See [`RoomSettings::screen_share`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_share: Option<bool>,
    /// See [`RoomSettings::canvas`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas: Option<bool>,
    /// See [`RoomSettings::breakout_creators`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakout_creators: Option<BreakoutCreators>,
    /// See [`RoomSettings::max_breakout_rooms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_breakout_rooms: Option<u32>,
    /// See [`RoomSettings::breakout_empty_timeout`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakout_empty_timeout: Option<u32>,
}

impl RoomSettingsInput {
    /// Fills defaults and checks ranges; the error names the offending field.
    pub fn resolve(&self) -> Result<RoomSettings, String> {
        let d = RoomSettings::default();
        let s = RoomSettings {
            mode: self.mode.unwrap_or(d.mode),
            max_active_talkers: self.max_active_talkers.unwrap_or(d.max_active_talkers),
            moderators: self.moderators.unwrap_or(d.moderators),
            participants: self.participants.unwrap_or(d.participants),
            screen_share: self.screen_share.unwrap_or(d.screen_share),
            canvas: self.canvas.unwrap_or(d.canvas),
            breakout_creators: self.breakout_creators.unwrap_or(d.breakout_creators),
            max_breakout_rooms: self.max_breakout_rooms.unwrap_or(d.max_breakout_rooms),
            breakout_empty_timeout: self
                .breakout_empty_timeout
                .unwrap_or(d.breakout_empty_timeout),
        };
        if !(1..=16).contains(&s.max_active_talkers) {
            return Err("settings.max_active_talkers must be 1–16".into());
        }
        if !(1..=100).contains(&s.moderators) {
            return Err("settings.moderators must be 1–100".into());
        }
        if !(1..=10_000).contains(&s.participants) {
            return Err("settings.participants must be 1–10000".into());
        }
        if !(1..=100).contains(&s.max_breakout_rooms) {
            return Err("settings.max_breakout_rooms must be 1–100".into());
        }
        if !(1..=86_400).contains(&s.breakout_empty_timeout) {
            return Err("settings.breakout_empty_timeout must be 1–86400 seconds".into());
        }
        Ok(s)
    }
}

/// `POST /v1/rooms` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRoomRequest {
    /// Room title.
    pub name: String,
    /// The app's owner reference.
    pub owner_ref: String,
    /// Settings; omitted fields take defaults.
    #[serde(default)]
    pub settings: RoomSettingsInput,
    /// Free-form app data.
    #[serde(default)]
    pub data: Value,
}

/// A room as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// Room id.
    pub room_id: RoomId,
    /// Title.
    pub name: String,
    /// Owner reference.
    pub owner_ref: String,
    /// Settings with defaults filled in.
    pub settings: RoomSettings,
    /// App data.
    pub data: Value,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
}

/// `{result, room}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomResponse {
    /// 0.
    pub result: i32,
    /// The room.
    pub room: Room,
}

/// `{result, rooms}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomListResponse {
    /// 0.
    pub result: i32,
    /// The app's rooms, oldest first.
    pub rooms: Vec<Room>,
}

/// `POST /v1/rooms/{room_id}/tokens` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTokenRequest {
    /// Display name.
    pub name: String,
    /// Role in the room.
    pub role: Role,
    /// The app's user reference.
    pub user_ref: String,
    /// App data shown to others (an object, at most 5 keys).
    #[serde(default)]
    pub data: Value,
}

/// `{result, token, expires_at, signal_url}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// 0.
    pub result: i32,
    /// The signed, single-use token.
    pub token: String,
    /// Unix seconds after which the token no longer connects.
    pub expires_at: u64,
    /// The signalling WebSocket URL to connect with the token (`wss://host/v1/signal`), from
    /// the server's `--public-url`, else its bound address; a client needs only this answer.
    /// Empty from servers older than this field.
    #[serde(default)]
    pub signal_url: String,
}

/// `GET /v1/rooms/{room_id}/users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersResponse {
    /// 0.
    pub result: i32,
    /// Connected users with their location (empty when the room is not live).
    pub users: Vec<UserInfo>,
}

/// `GET /v1/rooms/{room_id}/breakout-rooms`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakoutRoomsResponse {
    /// 0.
    pub result: i32,
    /// Live break-out rooms with members and pending invitations.
    pub breakout_rooms: Vec<BreakoutRoomInfo>,
}

/// `{result, msg}` for deletes and errors.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// 0 on success, else an error code.
    pub result: i32,
    /// Human-readable text.
    pub msg: String,
}

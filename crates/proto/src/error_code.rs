//! Stable numeric error codes. Vendor codes keep the vendor's number and meaning; Alcove's own
//! codes live in ranges the vendor does not use. `docs/errors.md` lists every code and when it
//! happens. Numbers are never reused.

/// Every error code the server sends in a `result` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 1138: an internal error; details are logged on the server, never sent.
    Internal,
    /// 1155: a parameter has the wrong type or is out of range.
    InvalidParameters,
    /// 1724: `participants` missing from a room definition.
    ParticipantsMissing,
    /// 1725: `participants` is more than the parent's `max_active_talkers` − 1.
    ParticipantsOverCapacity,
    /// 1726: the parent's limit of live break-out rooms would be exceeded.
    RoomLimitExceeded,
    /// 1734: a required parameter is missing.
    RequiredParameterMissing,
    /// 1735: video was requested; break-out rooms carry audio, screen share and canvas only.
    VideoNotSupported,
    /// 1736: no live break-out room with that id in this family.
    BreakoutRoomNotFound,
    /// 1737: the caller holds no pending invitation to that break-out room.
    NotInvited,
    /// 1738: the break-out room has no free participant place.
    BreakoutRoomFull,
    /// 1739: the client is already in a break-out room (one at a time).
    AlreadyInBreakoutRoom,
    /// 1740: the client is not connected in this family.
    ClientNotConnected,
    /// 1741: the caller is not a member of that break-out room.
    NotInBreakoutRoom,
    /// 1742: the requested join role is not the caller's to claim.
    RoleNotAllowed,
    /// 1743: the client is already a member of that break-out room.
    AlreadyMember,
    /// 1750: the SDP offer was refused (unparseable, or the `mids` do not match it).
    SdpRejected,
    /// 1751: screen share / canvas is not enabled in the caller's current room.
    SharingNotAllowed,
    /// 1752: someone else is already sharing (share or canvas) in the caller's room.
    SharingBusy,
    /// 1753: the caller is not sharing (stop without start).
    NotSharing,
    /// 1754: media was already negotiated on this connection (one offer per connection).
    MediaAlreadyNegotiated,
    /// 5003: the caller's role may not perform this operation.
    Unauthorized,
    /// 5067: break-out rooms are not available here (lecture mode, or called from inside a BR).
    BreakoutNotAvailable,
    /// 4001: the frame is not a JSON object with a numeric `id` and a string `type`.
    MalformedFrame,
    /// 4002: the `type` names no client message.
    UnknownMessageType,
    /// 4003: the frame is larger than the server accepts.
    FrameTooLarge,
    /// 4004: a request arrived before a successful `connect`.
    NotConnected,
    /// 4005: `connect` sent twice on one connection.
    AlreadyConnected,
    /// 4006: too many requests in a short time.
    RateLimited,
    /// 4101: the token is malformed or its signature is wrong.
    TokenInvalid,
    /// 4102: the token has expired.
    TokenExpired,
    /// 4103: the token was already used (tokens are single use).
    TokenReused,
    /// 4104: the token's room does not exist (any more).
    RoomNotFound,
    /// 4105: the room is full for the token's role.
    RoomFull,
    /// 4106: none of the offered protocol versions is spoken by this server.
    UnsupportedVersion,
    /// 4107: the room ended (deleted through the REST API).
    RoomEnded,
    /// 4108: a `resume` came too late (grace period over), names no client, or its
    /// credential was already used.
    ResumeFailed,
    /// 4109: a `resume` for a client whose connection is still open and answering; retry
    /// (the server checks whether the old connection is really gone).
    ResumeWhileAttached,
    /// 4400: a REST request body is invalid.
    BadRequest,
    /// 4401: REST credentials missing or wrong.
    AuthenticationFailed,
    /// 4404: the REST resource does not exist.
    NotFound,
    /// 1760: no pending help request from this client.
    NoHelpRequest,
    /// 1761: no saved plan with this name.
    PlanNotFound,
    /// 1762: the caller is muted by a moderator and was not asked to unmute.
    MutedByModerator,
    /// 1763: the break-out room was created with `allow_listen_in: false`.
    ListenInNotAllowed,
    /// 1764: `talkTo` for a room the caller does not listen to.
    NotListening,
    /// 1765: listen-in, talk-in and broadcast are done from the parent room.
    NotInParent,
    /// 5126: `pinUsers` / `unpinUsers` names a client that is not in this family.
    PinInvalidClient,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Internal,
        ErrorCode::InvalidParameters,
        ErrorCode::ParticipantsMissing,
        ErrorCode::ParticipantsOverCapacity,
        ErrorCode::RoomLimitExceeded,
        ErrorCode::RequiredParameterMissing,
        ErrorCode::VideoNotSupported,
        ErrorCode::BreakoutRoomNotFound,
        ErrorCode::NotInvited,
        ErrorCode::BreakoutRoomFull,
        ErrorCode::AlreadyInBreakoutRoom,
        ErrorCode::ClientNotConnected,
        ErrorCode::NotInBreakoutRoom,
        ErrorCode::RoleNotAllowed,
        ErrorCode::AlreadyMember,
        ErrorCode::SdpRejected,
        ErrorCode::SharingNotAllowed,
        ErrorCode::SharingBusy,
        ErrorCode::NotSharing,
        ErrorCode::MediaAlreadyNegotiated,
        ErrorCode::Unauthorized,
        ErrorCode::BreakoutNotAvailable,
        ErrorCode::MalformedFrame,
        ErrorCode::UnknownMessageType,
        ErrorCode::FrameTooLarge,
        ErrorCode::NotConnected,
        ErrorCode::AlreadyConnected,
        ErrorCode::RateLimited,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenReused,
        ErrorCode::RoomNotFound,
        ErrorCode::RoomFull,
        ErrorCode::UnsupportedVersion,
        ErrorCode::RoomEnded,
        ErrorCode::ResumeFailed,
        ErrorCode::ResumeWhileAttached,
        ErrorCode::BadRequest,
        ErrorCode::AuthenticationFailed,
        ErrorCode::NotFound,
        ErrorCode::NoHelpRequest,
        ErrorCode::PlanNotFound,
        ErrorCode::MutedByModerator,
        ErrorCode::ListenInNotAllowed,
        ErrorCode::NotListening,
        ErrorCode::NotInParent,
        ErrorCode::PinInvalidClient,
    ];

    /// The stable number sent in `result`.
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::Internal => 1138,
            ErrorCode::InvalidParameters => 1155,
            ErrorCode::ParticipantsMissing => 1724,
            ErrorCode::ParticipantsOverCapacity => 1725,
            ErrorCode::RoomLimitExceeded => 1726,
            ErrorCode::RequiredParameterMissing => 1734,
            ErrorCode::VideoNotSupported => 1735,
            ErrorCode::BreakoutRoomNotFound => 1736,
            ErrorCode::NotInvited => 1737,
            ErrorCode::BreakoutRoomFull => 1738,
            ErrorCode::AlreadyInBreakoutRoom => 1739,
            ErrorCode::ClientNotConnected => 1740,
            ErrorCode::NotInBreakoutRoom => 1741,
            ErrorCode::RoleNotAllowed => 1742,
            ErrorCode::AlreadyMember => 1743,
            ErrorCode::SdpRejected => 1750,
            ErrorCode::SharingNotAllowed => 1751,
            ErrorCode::SharingBusy => 1752,
            ErrorCode::NotSharing => 1753,
            ErrorCode::MediaAlreadyNegotiated => 1754,
            ErrorCode::Unauthorized => 5003,
            ErrorCode::BreakoutNotAvailable => 5067,
            ErrorCode::MalformedFrame => 4001,
            ErrorCode::UnknownMessageType => 4002,
            ErrorCode::FrameTooLarge => 4003,
            ErrorCode::NotConnected => 4004,
            ErrorCode::AlreadyConnected => 4005,
            ErrorCode::RateLimited => 4006,
            ErrorCode::TokenInvalid => 4101,
            ErrorCode::TokenExpired => 4102,
            ErrorCode::TokenReused => 4103,
            ErrorCode::RoomNotFound => 4104,
            ErrorCode::RoomFull => 4105,
            ErrorCode::UnsupportedVersion => 4106,
            ErrorCode::RoomEnded => 4107,
            ErrorCode::ResumeFailed => 4108,
            ErrorCode::ResumeWhileAttached => 4109,
            ErrorCode::BadRequest => 4400,
            ErrorCode::AuthenticationFailed => 4401,
            ErrorCode::NotFound => 4404,
            ErrorCode::NoHelpRequest => 1760,
            ErrorCode::PlanNotFound => 1761,
            ErrorCode::MutedByModerator => 1762,
            ErrorCode::ListenInNotAllowed => 1763,
            ErrorCode::NotListening => 1764,
            ErrorCode::NotInParent => 1765,
            ErrorCode::PinInvalidClient => 5126,
        }
    }

    /// The code for a number, if it is one of ours.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The default human-readable message.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::Internal => "Internal Server Error",
            ErrorCode::InvalidParameters => "Invalid options/parameters",
            ErrorCode::ParticipantsMissing => "Participant Count not found",
            ErrorCode::ParticipantsOverCapacity => {
                "Participant Count is more than Parent Room Size"
            }
            ErrorCode::RoomLimitExceeded => {
                "Permissible limit to create Break-Out Room has exceeded"
            }
            ErrorCode::RequiredParameterMissing => "Required parameter missing",
            ErrorCode::VideoNotSupported => "Video is not supported in Break-Out Rooms",
            ErrorCode::BreakoutRoomNotFound => "Break-Out Room not found",
            ErrorCode::NotInvited => "No invitation to this Break-Out Room",
            ErrorCode::BreakoutRoomFull => "Break-Out Room is full",
            ErrorCode::AlreadyInBreakoutRoom => "Already in a Break-Out Room",
            ErrorCode::ClientNotConnected => "Client is not connected in this room",
            ErrorCode::NotInBreakoutRoom => "Not a member of this Break-Out Room",
            ErrorCode::RoleNotAllowed => "Role not allowed",
            ErrorCode::AlreadyMember => "Already a member of this Break-Out Room",
            ErrorCode::SdpRejected => "SDP offer rejected",
            ErrorCode::SharingNotAllowed => "Not enabled in this room",
            ErrorCode::SharingBusy => "Someone else is already sharing in this room",
            ErrorCode::NotSharing => "Not sharing",
            ErrorCode::MediaAlreadyNegotiated => "Media already negotiated on this connection",
            ErrorCode::Unauthorized => "Unauthorized Access",
            ErrorCode::BreakoutNotAvailable => "Break-Out Room not available",
            ErrorCode::MalformedFrame => "Malformed frame",
            ErrorCode::UnknownMessageType => "Unknown message type",
            ErrorCode::FrameTooLarge => "Frame too large",
            ErrorCode::NotConnected => "Not connected: send connect first",
            ErrorCode::AlreadyConnected => "Already connected",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::TokenInvalid => "Token validation failed",
            ErrorCode::TokenExpired => "Token expired",
            ErrorCode::TokenReused => "Token already used",
            ErrorCode::RoomNotFound => "Room not found",
            ErrorCode::RoomFull => "Room is full",
            ErrorCode::UnsupportedVersion => "Unsupported protocol version",
            ErrorCode::RoomEnded => "Room ended",
            ErrorCode::ResumeFailed => "Resume failed: the grace period is over, connect again",
            ErrorCode::ResumeWhileAttached => {
                "Still connected: the old connection has not ended yet, retry"
            }
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::AuthenticationFailed => "Authentication failed",
            ErrorCode::NotFound => "Not found",
            ErrorCode::NoHelpRequest => "No pending help request",
            ErrorCode::PlanNotFound => "Plan not found",
            ErrorCode::MutedByModerator => "Muted by a moderator: wait to be asked to unmute",
            ErrorCode::ListenInNotAllowed => "Listen-in is not allowed in this Break-Out Room",
            ErrorCode::NotListening => "Not listening to this Break-Out Room",
            ErrorCode::NotInParent => "Only from the parent room",
            ErrorCode::PinInvalidClient => "Invalid client to pin",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}

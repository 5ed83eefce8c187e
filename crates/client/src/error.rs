//! [`Error`]: why a signalling call failed, and how an acknowledgement becomes one.
//!
//! A request fails in one of two ways. Either the server answered with a non-zero `result`
//! ([`Error::Refused`], carrying the whole acknowledgement), or no usable answer came back
//! (closed, timed out, transport or protocol trouble). REST failures have their own type,
//! [`crate::RestError`], in `rest.rs`.

use alcove_proto::signal::{Msg, ServerMessage};
use alcove_proto::ErrorCode;

/// Why a signalling call (connect or a break-out request) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-zero `result`: a failed acknowledgement (including
    /// `failedJoinBreakOutRoom`), an `error` frame, or a refused `connect`.
    #[error("refused by the server: {msg} ({result})")]
    Refused {
        /// The error code (see [`alcove_proto::ErrorCode`]).
        result: i32,
        /// The server's human-readable text.
        msg: String,
        /// The acknowledgement exactly as received.
        ack: Box<ServerMessage>,
    },
    /// The connection is closed (by either side) and the request will never be answered.
    #[error("connection closed")]
    Closed,
    /// No answer arrived in time ([`crate::REQUEST_TIMEOUT`]).
    #[error("request timed out")]
    Timeout,
    /// The WebSocket failed (connect, read or write); the text is the transport's.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server sent something this client does not understand, or an acknowledgement of
    /// the wrong type.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl Error {
    /// The server's `result` code, when the server refused the request.
    pub fn result(&self) -> Option<i32> {
        match self {
            Error::Refused { result, .. } => Some(*result),
            _ => None,
        }
    }

    /// The server's error code as a typed [`ErrorCode`], when it is one this build knows.
    pub fn code(&self) -> Option<ErrorCode> {
        self.result().and_then(ErrorCode::from_code)
    }

    /// `Refused` from an acknowledgement whose `result` is non-zero.
    pub(crate) fn refused(result: i32, ack: ServerMessage) -> Error {
        Error::Refused {
            result,
            msg: message_text(&ack),
            ack: Box::new(ack),
        }
    }
}

/// Checks an acknowledgement's `result`: a non-zero one becomes [`Error::Refused`], anything
/// else (including messages that carry no `result`) is handed back untouched.
pub(crate) fn check_result(msg: ServerMessage) -> Result<ServerMessage, Error> {
    match msg.result() {
        Some(result) if result != 0 => Err(Error::refused(result, msg)),
        _ => Ok(msg),
    }
}

/// `Protocol` for an acknowledgement of the wrong type.
pub(crate) fn unexpected(expected: &str, got: &ServerMessage) -> Error {
    Error::Protocol(format!("expected `{expected}`, got `{}`", got.type_name()))
}

/// The human-readable text an acknowledgement carries (empty when it carries data only).
fn message_text(msg: &ServerMessage) -> String {
    fn text<T>(m: &Msg<T>) -> String {
        match m {
            Msg::Text(t) => t.clone(),
            Msg::Data(_) => String::new(),
        }
    }
    match msg {
        ServerMessage::Error(s)
        | ServerMessage::FailedJoinBreakOutRoom(s)
        | ServerMessage::AckRejectBreakoutRoom(s)
        | ServerMessage::AckPause(s)
        | ServerMessage::AckResume(s)
        | ServerMessage::RoomDisconnected(s)
        | ServerMessage::AckCancelHelp(s)
        | ServerMessage::AckDismissHelp(s)
        | ServerMessage::AckMoveToBreakoutRoom(s)
        | ServerMessage::AckSetSelfSelect(s)
        | ServerMessage::AckRenameBreakoutRoom(s)
        | ServerMessage::AckAskToUnmute(s)
        | ServerMessage::AckUnmuteSelf(s)
        | ServerMessage::AckSetVideoSlot(s)
        | ServerMessage::AckPinUsers(s)
        | ServerMessage::AckUnpinUsers(s) => s.msg.clone(),
        ServerMessage::AckSetBreakoutDuration(a) => a.msg.clone(),
        ServerMessage::AckBroadcastMessage(a) => a.msg.clone(),
        ServerMessage::AckRequestHelp(a) => a.msg.clone(),
        ServerMessage::AckSavePlan(a) => a.msg.clone(),
        ServerMessage::AckListPlans(a) => a.msg.clone(),
        ServerMessage::AckApplyPlan(a) => a.msg.clone(),
        ServerMessage::AckMuteMember(a) => a.msg.clone(),
        ServerMessage::AckListenTo(a)
        | ServerMessage::AckStopListening(a)
        | ServerMessage::AckTalkTo(a)
        | ServerMessage::AckStartBroadcast(a)
        | ServerMessage::AckStopBroadcast(a) => a.msg.clone(),
        ServerMessage::AckMuteRoom(a) | ServerMessage::AckUnmuteRoom(a) => a.msg.clone(),
        ServerMessage::AckCreateBreakOutRoom(a) => text(&a.msg),
        ServerMessage::AckCreateAndInviteBreakOutRoom(a) => text(&a.msg),
        ServerMessage::AckDestroyAllBreakOutSession(a) => text(&a.msg),
        ServerMessage::AckInviteBreakOutRoom(a) => a.msg.clone(),
        ServerMessage::DidDisconnectedBreakoutRoom(a) => a.msg.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{AckCreateBreakOutRoom, RoomList, Status};

    #[test]
    fn failed_join_becomes_refused_with_its_code_and_text() {
        let ack = ServerMessage::failure_for("joinBreakoutRoom", ErrorCode::NotInvited, "no");
        let err = check_result(ack.clone()).unwrap_err();
        assert_eq!(
            err,
            Error::Refused {
                result: 1737,
                msg: "no".into(),
                ack: Box::new(ack)
            }
        );
        assert_eq!(err.code(), Some(ErrorCode::NotInvited));
    }

    #[test]
    fn error_frame_becomes_refused() {
        let err = check_result(ServerMessage::Error(Status::err(ErrorCode::Unauthorized)));
        assert_eq!(err.unwrap_err().result(), Some(5003));
    }

    #[test]
    fn text_of_a_failed_create_is_its_msg() {
        let ack = ServerMessage::failure_for(
            "createBreakOutRoom",
            ErrorCode::BreakoutNotAvailable,
            "lecture mode",
        );
        match check_result(ack) {
            Err(Error::Refused {
                result: 5067, msg, ..
            }) => assert_eq!(msg, "lecture mode"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn success_and_resultless_messages_pass_through() {
        let ok = ServerMessage::AckCreateBreakOutRoom(AckCreateBreakOutRoom {
            result: 0,
            msg: Msg::Data(RoomList {
                rooms: vec!["br-1".into()],
            }),
        });
        assert_eq!(check_result(ok.clone()), Ok(ok));
        let note = ServerMessage::DidDestroyedBreakoutRoom(alcove_proto::signal::RoomRef {
            room_id: "br-1".into(),
        });
        assert_eq!(check_result(note.clone()), Ok(note));
    }

    #[test]
    fn unexpected_names_both_types() {
        let got = ServerMessage::AckPause(Status::ok("Room paused"));
        assert_eq!(
            unexpected("ackResume", &got),
            Error::Protocol("expected `ackResume`, got `ackPause`".into())
        );
    }
}

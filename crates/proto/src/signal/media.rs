//! Media signalling: the one SDP offer/answer of a connection, screen share and canvas
//! start/stop, and the active-talker slot map.
//!
//! A client negotiates its single peer connection once, right after `roomConnected`: it offers
//! its publishing m-lines (microphone, screen share, canvas; the video ones may stay without a
//! track until used) and its receive slots (`max_active_talkers` audio slots, one share slot,
//! one canvas slot; from protocol version 4 a camera m-line and `video_slots` camera receive
//! slots), and names each m-line's `mid` in [`MediaMids`]. Moves between rooms never
//! renegotiate: the server re-maps who is heard in which slot and says so with
//! `activeTalkersUpdated`.

use crate::ids::{ClientId, RoomId};
use serde::{Deserialize, Serialize};

/// Which `mid` of the offer carries what.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MediaMids {
    /// The client's microphone (send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic: Option<String>,
    /// The client's screen share (send; may have no track until `startShare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    /// The client's canvas stream (send; may have no track until `startCanvas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas: Option<String>,
    /// Receive slots for audio, slot 0 first; at most the room's `max_active_talkers`.
    #[serde(default)]
    pub audio_slots: Vec<String>,
    /// Receive slot for the room's screen share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_slot: Option<String>,
    /// Receive slot for the room's canvas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas_slot: Option<String>,
    /// The client's camera (send; may have no track until the camera is published). Protocol
    /// version 4 on; forwarded in the parent room only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Receive slots for camera video, slot 0 first; at most [`MAX_VIDEO_SLOTS`]. Protocol
    /// version 4 on; who is on which slot comes in `videoSlotsUpdated`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_slots: Vec<String>,
}

/// The most camera receive slots one connection may negotiate.
pub const MAX_VIDEO_SLOTS: usize = 16;

/// The camera receive slots an SDK negotiates unless told otherwise.
pub const DEFAULT_VIDEO_SLOTS: usize = 4;

/// One camera publisher on a client's video slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoPublisher {
    /// Whose camera.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
    /// Index into the receiver's `video_slots`.
    pub slot: u32,
}

/// `videoSlotsUpdated`: whose camera is on which of this client's video slots now (empty in a
/// break-out room: cameras are forwarded in the parent room only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSlotsUpdated {
    /// The room the receiver is in (parent or break-out room).
    pub room_id: RoomId,
    /// Publishers by slot.
    pub publishers: Vec<VideoPublisher>,
}

/// A simulcast layer of a camera: the publisher sends up to three encodings (RIDs `q`, `h`,
/// `f`: quarter, half and full resolution); a receiver gets one of them per video slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoLayer {
    /// Quarter resolution (RID `q`), the least bandwidth.
    Low,
    /// Half resolution (RID `h`).
    Medium,
    /// Full resolution (RID `f`, or a camera sent without simulcast).
    High,
}

impl VideoLayer {
    /// The layer a simulcast RID names (`q`, `h`, `f`; also `l`/`m` and `0`/`1`/`2`).
    pub fn from_rid(rid: &str) -> Option<VideoLayer> {
        match rid {
            "q" | "l" | "0" | "low" => Some(VideoLayer::Low),
            "h" | "m" | "1" | "mid" | "medium" => Some(VideoLayer::Medium),
            "f" | "2" | "high" | "full" => Some(VideoLayer::High),
            _ => None,
        }
    }

    /// 0 (low) … 2 (high).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The layer of index 0 … 2.
    pub fn from_index(i: usize) -> Option<VideoLayer> {
        [VideoLayer::Low, VideoLayer::Medium, VideoLayer::High]
            .get(i)
            .copied()
    }
}

/// `setVideoSlot` request (protocol version 4): how large the receiver renders one of its
/// video slots, and the highest layer it wants there. The server forwards, per slot, the
/// highest layer of the publisher on it that fits the rendered height, this cap and the
/// receiver's estimated bandwidth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetVideoSlot {
    /// Index into the client's `video_slots`.
    pub slot: u32,
    /// Rendered height in device pixels; `0`: the slot is not shown (nothing is forwarded on
    /// it until it is shown again).
    pub height: u32,
    /// The highest layer wanted on this slot (default: high).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_layer: Option<VideoLayer>,
}

/// `sdpOffer` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdpOffer {
    /// The offer SDP.
    pub sdp: String,
    /// What each m-line is.
    pub mids: MediaMids,
}

/// `sdpAnswer` acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdpAnswer {
    /// 0 on success.
    pub result: i32,
    /// "Success" or the error text.
    pub msg: String,
    /// The answer SDP (empty on failure).
    #[serde(default)]
    pub sdp: String,
}

/// One talker in a client's slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Talker {
    /// Who is heard.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
    /// Index into the receiver's `audio_slots`.
    pub slot: u32,
}

/// `activeTalkersUpdated`: who is in which of this client's audio slots now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveTalkersUpdated {
    /// The room the receiver is in (parent or break-out room).
    pub room_id: RoomId,
    /// Talkers by slot.
    pub talkers: Vec<Talker>,
}

/// `shareStarted` / `canvasStarted`: someone in the receiver's room started sharing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingStarted {
    /// The room (parent or break-out room).
    pub room_id: RoomId,
    /// Who shares.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Their name.
    pub name: String,
}

/// Why a share or canvas stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The sharer asked.
    Stopped,
    /// The sharer left the room (moved, dropped, destroyed room).
    Left,
}

/// `shareStopped` / `canvasStopped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingStopped {
    /// The room.
    pub room_id: RoomId,
    /// Who was sharing.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// Why it stopped.
    pub reason: StopReason,
}

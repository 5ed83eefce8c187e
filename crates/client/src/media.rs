//! Real media for Rust clients: one WebRTC peer connection (str0m, ICE + DTLS-SRTP over a UDP
//! socket on this machine) laid out like the browser SDK's: a microphone, two video senders
//! (screen share, canvas; unused here), `max_active_talkers` audio receive slots and the two
//! video receive slots.
//!
//! [`Room::start_media`] negotiates it once (the `sdpOffer` request). Then
//! [`Media::send_opus`] publishes Opus frames with an RFC 6464 audio level, and
//! [`Media::recv`] yields the frames arriving on the slots. Which client is heard in which slot
//! is announced by `activeTalkersUpdated` on [`crate::Events`]. Moving between rooms changes
//! nothing here: the server re-maps the slots.
//!
//! **After a resume** (the signalling connection dropped and the SDK took the client's place
//! back, see [`Room::connection_state`]) the media restores itself, without the app:
//! * the server kept this client's peer connection (`media_kept`): an ICE restart on it (a new
//!   offer with new ICE credentials, same m-lines), in case the network path changed;
//! * it did not (the server restarted): a new peer connection with the same layout, negotiated
//!   from scratch on the same UDP socket.
//!
//! **Camera video** (protocol 4, docs/protocol.md §13.9): [`Room::start_media_with`] with
//! [`MediaOptions::video_slots`] > 0 adds a camera m-line and that many video receive slots.
//! [`Media::send_camera_frame`] publishes a VP8 frame (the camera counts as published while
//! frames come, unpublished 1 s after the last; [`synthetic_vp8_frame`] makes test frames),
//! [`Media::recv_video`] yields the frames arriving on the video slots, and who is on which
//! slot is announced by `videoSlotsUpdated` on [`crate::Events`]. Cameras are forwarded in the
//! parent room only: in a break-out room nothing arrives on the video slots and this client's
//! camera reaches nobody until it is back.
//!
//! **Simulcast** (for load tests and apps that encode several layers themselves):
//! [`MediaOptions::camera_simulcast`] offers the camera m-line with three RTP stream ids,
//! [`SIMULCAST_RIDS`] (`a=simulcast:send q;h;f`, quarter, half and full resolution), and
//! [`Media::send_camera_layer`] publishes a frame on one of them. Whether the server forwards
//! one layer or chooses per receiver is the server's business. Keyframe requests (PLI/FIR)
//! that reach the camera are counted per layer in [`MediaState::camera_keyframe_requests`];
//! with [`MediaOptions::rtp_stats`], [`MediaState::camera_sent`] and
//! [`MediaState::video_received`] count the RTP packets and bytes str0m sent and received.
//!
//! Either way the [`Media`] handle stays the same: [`Media::send_opus`] and [`Media::recv`] keep
//! working and slot indices keep their meaning. [`Media::restarts`] counts the restores,
//! [`MediaState`] tells which kind.
//!
//! **The slot gate** (docs/protocol.md §13.8), the same rule as the browser SDK's: a frame is
//! handed out by [`Media::recv`] only when the latest `activeTalkersUpdated` is for the room
//! this client is in and puts a talker on the frame's slot, and [`ReceivedFrame::talker`] names
//! that talker. From the moment this client's move is acknowledged (`connectedBreakoutRoom`,
//! forced or not; `didDisconnectedBreakoutRoom` for the room it is in) until the new room's
//! map arrives, every slot is withheld, so no packet of the room it left reaches the app after
//! the ack (packets in flight, or a receiver's own buffering, would otherwise). Withheld frames
//! are counted in [`MediaState::gated_frames`].

use crate::client::{Room, WeakRoom};
use crate::error::Error;
use alcove_proto::signal::{ClientMessage, MediaMids, SdpOffer, ServerMessage};
use alcove_proto::{ClientId, RoomId};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive, TcpType, Transmit};
use str0m::{Candidate, Event, IceConnectionState, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// How often a failed restore (other than by a new drop) is tried again, and how long to wait
/// in between.
const RESTORE_ATTEMPTS: u32 = 5;
const RESTORE_RETRY: Duration = Duration::from_millis(500);

/// One Opus frame received on an audio slot.
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    /// The slot index (see `activeTalkersUpdated`).
    pub slot: usize,
    /// Who the slot carries, by the latest `activeTalkersUpdated` for this client's room (the
    /// slot gate hands out no frame without one).
    pub talker: ClientId,
    /// The frame.
    pub data: Arc<[u8]>,
    /// RFC 6464 level carried with it (0 loudest, −127 silence), if any.
    pub audio_level: Option<i8>,
    /// RTP media time, 48 kHz.
    pub rtp_time: u64,
    /// When it arrived.
    pub at: Instant,
}

/// One VP8 frame received on a video slot.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// The video slot index (see `videoSlotsUpdated`).
    pub slot: usize,
    /// The frame.
    pub data: Arc<[u8]>,
    /// RTP media time, 90 kHz.
    pub rtp_time: u64,
    /// When it arrived.
    pub at: Instant,
}

/// What [`Room::start_media_with`] negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaOptions {
    /// Audio receive slots; `None`: the room's `max_active_talkers`.
    pub slots: Option<usize>,
    /// Camera receive slots; 0: no camera and no video slots (protocol 4 needed otherwise;
    /// [`alcove_proto::signal::DEFAULT_VIDEO_SLOTS`] is the usual choice).
    pub video_slots: usize,
    /// Which path the media takes (default UDP).
    pub path: MediaPath,
    /// Offer the camera with three simulcast layers, [`SIMULCAST_RIDS`] (needs
    /// `video_slots` > 0); frames go out with [`Media::send_camera_layer`].
    pub camera_simulcast: bool,
    /// How often str0m reports RTP counters ([`MediaState::camera_sent`],
    /// [`MediaState::video_received`]); `None`: not counted.
    pub rtp_stats: Option<Duration>,
    /// On UDP, an ICE restart after a resume also moves the peer connection to a new local
    /// port (a new socket; the old one is closed), as a device that changed networks would.
    /// For tests of the server following a client to its new address.
    pub new_port_on_restart: bool,
}

/// The RTP stream ids of a simulcast camera ([`MediaOptions::camera_simulcast`]), lowest layer
/// first: `q` (quarter resolution), `h` (half), `f` (full).
pub const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];

/// RTP packets and bytes (payload and header, retransmissions included), as str0m counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RtpCount {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Connection facts for measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaState {
    /// ICE and DTLS are up (false while ICE is disconnected, and on a new peer connection
    /// until its DTLS handshake is done).
    pub connected: bool,
    /// Number of times str0m reported ICE `Disconnected` (a move must never cause one).
    pub ice_disconnects: u32,
    /// ICE restarts completed on the same peer connection, after resumes where the server
    /// kept it (`media_kept`).
    pub ice_restarts: u32,
    /// New peer connections negotiated to replace one the server lost (a server restart).
    pub renegotiations: u32,
    /// A restore is under way: an offer was sent after a resume and its answer is not applied
    /// yet.
    pub restoring: bool,
    /// Restore attempts that failed (each is retried a few times, a new resume starts over).
    pub restore_failures: u32,
    /// Frames the slot gate withheld: their slot had no talker in this client's room (after a
    /// move, until the new room's `activeTalkersUpdated`).
    pub gated_frames: u64,
    /// The path the media takes.
    pub path: MediaPath,
    /// Keyframe requests (PLI or FIR) received for the camera, per layer (index into
    /// [`SIMULCAST_RIDS`]; index 0 without simulcast).
    pub camera_keyframe_requests: [u32; 3],
    /// RTP sent on the camera per layer (index as `camera_keyframe_requests`), at the last
    /// stats report ([`MediaOptions::rtp_stats`]).
    pub camera_sent: [RtpCount; 3],
    /// RTP received on all video slots together, at the last stats report.
    pub video_received: RtpCount,
}

/// Which path a peer connection's media takes (the browser SDK reports the same names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MediaPath {
    /// UDP, directly to the server's media socket (the default).
    #[default]
    Udp,
    /// ICE over TCP to the server's TCP listener (`alcove serve --tcp-listen`), for networks
    /// that block UDP.
    Tcp,
    /// Relayed over TCP through a TURN server of `roomConnected.ice_servers`, for networks
    /// that block UDP and reach only the TURN server (direct UDP is not used at all).
    Relay,
}

impl MediaPath {
    /// `udp`, `tcp` or `relay`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MediaPath::Udp => "udp",
            MediaPath::Tcp => "tcp",
            MediaPath::Relay => "relay",
        }
    }
}

/// The transport under the peer connection: a UDP socket, or a TURN allocation.
enum Net {
    Udp {
        socket: UdpSocket,
        local: SocketAddr,
    },
    Relay(Box<crate::turn::TurnClient>),
    Tcp(TcpLink),
}

/// ICE over TCP (RFC 6544) to the server's passive TCP candidate: packets framed per RFC 4571
/// (a 2-byte length before each). The local candidate is an active one with the discard port
/// (RFC 6544 §4.5); the connection is opened once the answer names the server's candidate.
struct TcpLink {
    /// The local candidate's address (bind IP, port 9).
    placeholder: SocketAddr,
    /// The server's passive candidate, once connected.
    remote: Option<SocketAddr>,
    reader: Option<tokio::net::tcp::OwnedReadHalf>,
    writer: Option<mpsc::Sender<Vec<u8>>>,
    rbuf: Vec<u8>,
}

/// Packets queued toward the TCP connection; beyond it they are dropped (never waited for).
const TCP_SEND_QUEUE: usize = 1024;

impl TcpLink {
    fn new(bind_ip: std::net::IpAddr) -> TcpLink {
        TcpLink {
            placeholder: SocketAddr::new(bind_ip, 9),
            remote: None,
            reader: None,
            writer: None,
            rbuf: Vec::new(),
        }
    }

    /// Connects to the passive TCP candidate of `answer` (an SDP).
    async fn connect(&mut self, answer: &str) -> Result<(), Error> {
        let remote = answer
            .lines()
            .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
            .filter_map(|l| Candidate::from_sdp_string(&format!("candidate:{l}")).ok())
            .find(|c| c.proto() == Protocol::Tcp && c.tcptype() == Some(TcpType::Passive))
            .map(|c| c.addr())
            .ok_or_else(|| {
                Error::Transport("the server offers no ICE-TCP candidate (--tcp-listen)".into())
            })?;
        let stream = tokio::net::TcpStream::connect(remote)
            .await
            .map_err(|e| Error::Transport(format!("ICE-TCP {remote}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (r, mut w) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_SEND_QUEUE);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(b) = rx.recv().await {
                if w.write_all(&b).await.is_err() {
                    return;
                }
            }
        });
        self.remote = Some(remote);
        self.reader = Some(r);
        self.writer = Some(tx);
        Ok(())
    }

    /// The next framed packet, into `buf`; cancel-safe.
    async fn recv(&mut self, buf: &mut [u8]) -> Result<Option<(SocketAddr, usize)>, Error> {
        use tokio::io::AsyncReadExt;
        let (Some(r), Some(remote)) = (self.reader.as_mut(), self.remote) else {
            return std::future::pending().await;
        };
        let mut tmp = [0u8; 8192];
        loop {
            if self.rbuf.len() >= 2 {
                let len = usize::from(u16::from_be_bytes([self.rbuf[0], self.rbuf[1]]));
                if self.rbuf.len() >= 2 + len {
                    let fits = len <= buf.len();
                    if fits {
                        buf[..len].copy_from_slice(&self.rbuf[2..2 + len]);
                    }
                    self.rbuf.drain(..2 + len);
                    return Ok(fits.then_some((remote, len)));
                }
            }
            let n = r
                .read(&mut tmp)
                .await
                .map_err(|e| Error::Transport(e.to_string()))?;
            if n == 0 {
                return Err(Error::Transport("ICE-TCP connection closed".into()));
            }
            self.rbuf.extend_from_slice(&tmp[..n]);
        }
    }

    fn send(&mut self, contents: &[u8]) {
        let (Some(w), Ok(len)) = (self.writer.as_ref(), u16::try_from(contents.len())) else {
            return;
        };
        let mut framed = Vec::with_capacity(2 + contents.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(contents);
        let _ = w.try_send(framed);
    }
}

impl Net {
    /// The local ICE candidate of this transport.
    fn candidate(&self) -> Result<Candidate, Error> {
        match self {
            Net::Udp { local, .. } => Candidate::host(*local, "udp"),
            Net::Relay(t) => Candidate::relayed(t.relayed(), t.local(), "udp"),
            Net::Tcp(t) => Candidate::builder()
                .tcp()
                .host(t.placeholder)
                .tcptype(TcpType::Active)
                .build(),
        }
        .map_err(|e| Error::Transport(e.to_string()))
    }

    fn path(&self) -> MediaPath {
        match self {
            Net::Udp { .. } => MediaPath::Udp,
            Net::Relay(_) => MediaPath::Relay,
            Net::Tcp(_) => MediaPath::Tcp,
        }
    }

    /// The next datagram: `(proto, source, destination, length in buf)`; `Ok(None)` for one
    /// to skip; `Err` when the transport is gone for good.
    async fn recv(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<(Protocol, SocketAddr, SocketAddr, usize)>, Error> {
        match self {
            Net::Udp { socket, local } => Ok(socket
                .recv_from(buf)
                .await
                .ok()
                .map(|(n, source)| (Protocol::Udp, source, *local, n))),
            Net::Relay(t) => {
                let (peer, data) = t
                    .recv()
                    .await
                    .map_err(|e| Error::Transport(e.to_string()))?;
                if data.len() > buf.len() {
                    return Ok(None);
                }
                buf[..data.len()].copy_from_slice(&data);
                Ok(Some((Protocol::Udp, peer, t.relayed(), data.len())))
            }
            Net::Tcp(t) => Ok(t
                .recv(buf)
                .await?
                .map(|(source, n)| (Protocol::Tcp, source, t.placeholder, n))),
        }
    }

    fn send(&mut self, t: &Transmit) {
        match self {
            Net::Udp { socket, .. } => {
                let _ = socket.try_send_to(&t.contents, t.destination);
            }
            Net::Relay(turn) => turn.send_to(t.destination, &t.contents),
            Net::Tcp(link) => link.send(&t.contents),
        }
    }
}

/// The first TURN-over-TCP server of `servers` (`turn:HOST:PORT?transport=tcp`, or with no
/// transport given), resolved, with its credentials.
async fn turn_server(
    servers: &[alcove_proto::signal::IceServer],
) -> Result<(SocketAddr, String, String), Error> {
    for s in servers {
        for url in &s.urls {
            let Some(rest) = url.strip_prefix("turn:") else {
                continue;
            };
            let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
            if !(query.is_empty() || query == "transport=tcp") {
                continue;
            }
            let hostport = if hostport.contains(':') && !hostport.ends_with(']') {
                hostport.to_owned()
            } else {
                format!("{hostport}:3478")
            };
            let addr = tokio::net::lookup_host(hostport.as_str())
                .await
                .map_err(|e| Error::Transport(format!("{url}: {e}")))?
                .next()
                .ok_or_else(|| Error::Transport(format!("{url}: no address")))?;
            return Ok((addr, s.username.clone(), s.credential.clone()));
        }
    }
    Err(Error::Transport(
        "no turn:…?transport=tcp server in roomConnected.ice_servers".into(),
    ))
}

impl MediaState {
    /// Restores completed: ICE restarts plus new peer connections.
    pub fn restarts(&self) -> u32 {
        self.ice_restarts + self.renegotiations
    }
}

enum Cmd {
    Opus { data: Vec<u8>, audio_level: i8 },
    Camera { layer: usize, data: Vec<u8> },
    Close,
}

/// Which talker each audio slot carries for the room this client is in: the slot gate (see the
/// [module docs](crate::media)). Kept by the connection task from every frame it reads, so it
/// is current before the frame reaches the app; read by the media task for every frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotGate {
    /// The parent room (where `didDisconnectedBreakoutRoom` returns this client).
    parent: RoomId,
    /// The room this client is in, as its latest move acknowledgement or slot map says.
    room: RoomId,
    /// The room of the latest `activeTalkersUpdated`; `talkers` describe it.
    map_room: Option<RoomId>,
    /// Slot index → talker, from the latest `activeTalkersUpdated`.
    talkers: Vec<Option<ClientId>>,
}

impl SlotGate {
    /// A gate for a client that connected to `parent` (and has no slot map yet).
    pub(crate) fn new(parent: RoomId) -> SlotGate {
        SlotGate {
            room: parent.clone(),
            parent,
            map_room: None,
            talkers: Vec::new(),
        }
    }

    /// Takes in one server message; true when the gate changed.
    pub(crate) fn apply(&mut self, msg: &ServerMessage) -> bool {
        let before = self.clone();
        match msg {
            ServerMessage::ActiveTalkersUpdated(a) => {
                // Always about the receiver's current room (protocol.md §13.5).
                self.room = a.room_id.clone();
                self.map_room = Some(a.room_id.clone());
                let n = a.talkers.iter().map(|t| t.slot as usize + 1).max();
                self.talkers = vec![None; n.unwrap_or(0)];
                for t in &a.talkers {
                    self.talkers[t.slot as usize] = Some(t.client_id.clone());
                }
            }
            ServerMessage::ConnectedBreakoutRoom(c) if c.result == 0 => {
                self.room = c.room.room_id.clone();
            }
            // This client left the room it is in (its own disconnect, clear-all, destroy-all);
            // the same message about another room goes to that room's owner, who stays put.
            ServerMessage::DidDisconnectedBreakoutRoom(d)
                if d.result == 0 && d.room_id.is_some() && d.room_id == self.map_room =>
            {
                self.room = self.parent.clone();
            }
            _ => {}
        }
        *self != before
    }

    /// The talker whose frames slot `slot` may hand out now; `None` withholds them.
    pub(crate) fn talker(&self, slot: usize) -> Option<&ClientId> {
        if self.map_room.as_ref() != Some(&self.room) {
            return None;
        }
        self.talkers.get(slot)?.as_ref()
    }
}

/// A running peer connection of one client.
pub struct Media {
    cmds: mpsc::UnboundedSender<Cmd>,
    frames: mpsc::UnboundedReceiver<ReceivedFrame>,
    video: mpsc::UnboundedReceiver<VideoFrame>,
    state: watch::Receiver<MediaState>,
    slots: usize,
    video_slots: usize,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("slots", &self.slots)
            .field("state", &*self.state.borrow())
            .finish()
    }
}

impl Media {
    /// Publishes one 20 ms Opus frame with its RFC 6464 level (0 loudest … −127 silence).
    pub fn send_opus(&self, data: &[u8], audio_level: i8) {
        let _ = self.cmds.send(Cmd::Opus {
            data: data.to_vec(),
            audio_level,
        });
    }

    /// Publishes one VP8 frame on the camera m-line (negotiated with
    /// [`MediaOptions::video_slots`] > 0; ignored otherwise). The camera counts as published
    /// while frames come and unpublished 1 s after the last one.
    pub fn send_camera_frame(&self, vp8: &[u8]) {
        let _ = self.cmds.send(Cmd::Camera {
            layer: 0,
            data: vp8.to_vec(),
        });
    }

    /// Publishes one VP8 frame on simulcast layer `layer` (index into [`SIMULCAST_RIDS`]) of a
    /// camera negotiated with [`MediaOptions::camera_simulcast`]; without simulcast, layer 0 is
    /// the one stream and other layers are ignored.
    pub fn send_camera_layer(&self, layer: usize, vp8: &[u8]) {
        let _ = self.cmds.send(Cmd::Camera {
            layer,
            data: vp8.to_vec(),
        });
    }

    /// The next frame received on a video slot; `None` once closed.
    pub async fn recv_video(&mut self) -> Option<VideoFrame> {
        self.video.recv().await
    }

    /// A video frame already received, without waiting.
    pub fn try_recv_video(&mut self) -> Option<VideoFrame> {
        self.video.try_recv().ok()
    }

    /// Number of video receive slots negotiated.
    pub fn video_slot_count(&self) -> usize {
        self.video_slots
    }

    /// The next frame received on any slot; `None` once closed.
    pub async fn recv(&mut self) -> Option<ReceivedFrame> {
        self.frames.recv().await
    }

    /// A frame already received, without waiting.
    pub fn try_recv(&mut self) -> Option<ReceivedFrame> {
        self.frames.try_recv().ok()
    }

    /// Waits until ICE and DTLS are up (or `d` passes); true when connected.
    pub async fn wait_connected(&mut self, d: Duration) -> bool {
        let fut = self.state.wait_for(|s| s.connected);
        matches!(tokio::time::timeout(d, fut).await, Ok(Ok(_)))
    }

    /// Waits until at least `n` restores completed and the (restored) connection is up, or `d`
    /// passes; true when so.
    pub async fn wait_restored(&mut self, n: u32, d: Duration) -> bool {
        let fut = self
            .state
            .wait_for(|s| s.restarts() >= n && s.connected && !s.restoring);
        matches!(tokio::time::timeout(d, fut).await, Ok(Ok(_)))
    }

    /// Connection facts now.
    pub fn state(&self) -> MediaState {
        *self.state.borrow()
    }

    /// Restores completed after resumes (ICE restarts plus new peer connections).
    pub fn restarts(&self) -> u32 {
        self.state.borrow().restarts()
    }

    /// Number of audio receive slots negotiated.
    pub fn slot_count(&self) -> usize {
        self.slots
    }

    /// Stops the peer connection.
    pub fn close(&self) {
        let _ = self.cmds.send(Cmd::Close);
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        let _ = self.cmds.send(Cmd::Close);
    }
}

/// The m-lines of one peer connection: which mid is what.
#[derive(Clone)]
struct Layout {
    mic: Mid,
    slots: Vec<Mid>,
    camera: Option<Mid>,
    video_slots: Vec<Mid>,
    mids: MediaMids,
}

/// A new offerer with this SDK's layout and one local candidate, and its first offer;
/// `options.slots` is resolved.
fn offerer(
    cand: Candidate,
    options: &MediaOptions,
) -> Result<(Rtc, Layout, str0m::change::SdpOffer, SdpPendingOffer), Error> {
    let slots = options.slots.unwrap_or(0);
    let video_slots = options.video_slots;
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .set_stats_interval(options.rtp_stats)
        .build(Instant::now());
    rtc.add_local_candidate(cand);
    let mut change = rtc.sdp_api();
    let mic = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let share = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let canvas = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let slot_mids: Vec<Mid> = (0..slots)
        .map(|_| change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
        .collect();
    let share_slot = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let canvas_slot = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let simulcast = options.camera_simulcast.then(|| {
        let mut s = Simulcast::new();
        for rid in SIMULCAST_RIDS {
            s.add_send_layer(SimulcastLayer::new(rid));
        }
        s
    });
    let camera = (video_slots > 0)
        .then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast));
    let video_mids: Vec<Mid> = (0..video_slots)
        .map(|_| change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
        .collect();
    let Some((offer, pending)) = change.apply() else {
        return Err(Error::Protocol("no media to offer".into()));
    };
    let mids = MediaMids {
        mic: Some(mic.to_string()),
        share: Some(share.to_string()),
        canvas: Some(canvas.to_string()),
        audio_slots: slot_mids.iter().map(|m| m.to_string()).collect(),
        share_slot: Some(share_slot.to_string()),
        canvas_slot: Some(canvas_slot.to_string()),
        camera: camera.map(|m| m.to_string()),
        video_slots: video_mids.iter().map(|m| m.to_string()).collect(),
    };
    let layout = Layout {
        mic,
        slots: slot_mids,
        camera,
        video_slots: video_mids,
        mids,
    };
    Ok((rtc, layout, offer, pending))
}

/// Sends `sdpOffer` and returns the server's answer; a refused offer is [`Error::Refused`].
async fn negotiate(
    room: &Room,
    offer: str0m::change::SdpOffer,
    mids: MediaMids,
) -> Result<SdpAnswer, Error> {
    let frame = room
        .request(ClientMessage::SdpOffer(SdpOffer {
            sdp: offer.to_sdp_string(),
            mids,
        }))
        .await?;
    let answer = match frame.msg {
        ServerMessage::SdpAnswer(a) if a.result == 0 => a,
        other => {
            let result = other.result().unwrap_or(-1);
            return Err(Error::Refused {
                result,
                msg: format!("{other:?}"),
                ack: Box::new(other),
            });
        }
    };
    SdpAnswer::from_sdp_string(&answer.sdp).map_err(|e| Error::Protocol(e.to_string()))
}

impl Room {
    /// Negotiates this client's one peer connection (`sdpOffer`) and starts it on a UDP socket
    /// bound to `bind_ip`:0. `slots` defaults to the room's `max_active_talkers`.
    ///
    /// The returned [`Media`] restores itself after every resume of this connection (see the
    /// [module docs](crate::media)). It does not keep the connection open: once every
    /// [`Room`] handle is gone, the connection closes and restores stop.
    pub async fn start_media(
        &self,
        bind_ip: std::net::IpAddr,
        slots: Option<usize>,
    ) -> Result<Media, Error> {
        self.start_media_on(bind_ip, slots, MediaPath::Udp).await
    }

    /// [`Room::start_media`] on a chosen [`MediaPath`]. [`MediaPath::Relay`] allocates a relay
    /// over TCP on the first `turn:` server of `roomConnected.ice_servers` (with the
    /// credentials the server minted) and sends everything through it: the client's own
    /// network then needs no UDP at all.
    pub async fn start_media_on(
        &self,
        bind_ip: std::net::IpAddr,
        slots: Option<usize>,
        path: MediaPath,
    ) -> Result<Media, Error> {
        let options = MediaOptions {
            slots,
            video_slots: 0,
            path,
            ..MediaOptions::default()
        };
        self.start_media_with(bind_ip, options).await
    }

    /// [`Room::start_media_on`] with camera video: `options.video_slots` > 0 adds a camera
    /// m-line and that many video receive slots (the server must speak protocol 4, else the
    /// offer is refused with 1750).
    pub async fn start_media_with(
        &self,
        bind_ip: std::net::IpAddr,
        options: MediaOptions,
    ) -> Result<Media, Error> {
        str0m::crypto::from_feature_flags().install_process_default();
        let video_slots = options.video_slots;
        let slots = options
            .slots
            .unwrap_or(self.connected().room.settings.max_active_talkers as usize);
        let net = match options.path {
            MediaPath::Udp => {
                let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
                    .await
                    .map_err(|e| Error::Transport(e.to_string()))?;
                let local = socket
                    .local_addr()
                    .map_err(|e| Error::Transport(e.to_string()))?;
                Net::Udp { socket, local }
            }
            MediaPath::Relay => {
                let (server, user, pass) = turn_server(&self.connected().ice_servers).await?;
                let turn = crate::turn::TurnClient::allocate(server, &user, &pass)
                    .await
                    .map_err(|e| Error::Transport(e.to_string()))?;
                Net::Relay(Box::new(turn))
            }
            MediaPath::Tcp => Net::Tcp(TcpLink::new(bind_ip)),
        };
        // Resumes from here on concern this peer connection; earlier ones do not.
        let mut resumes = self.resumes();
        resumes.borrow_and_update();
        let options = MediaOptions {
            slots: Some(slots),
            ..options
        };
        let (mut rtc, layout, offer, pending) = offerer(net.candidate()?, &options)?;
        let answer = negotiate(self, offer, layout.mids.clone()).await?;
        let mut net = net;
        if let Net::Tcp(link) = &mut net {
            link.connect(&answer.to_sdp_string()).await?;
        }
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (frame_tx, frame_rx) = mpsc::unbounded_channel();
        let (video_tx, video_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(MediaState {
            path: net.path(),
            ..MediaState::default()
        });
        let driver = Driver {
            rtc,
            layout,
            net,
            options,
            room: self.downgrade(),
            frames: frame_tx,
            video: video_tx,
            camera_start: None,
            video_received: std::collections::HashMap::new(),
            state: state_tx,
            dtls_up: false,
            ice_down: false,
            rtp_time: 0,
            gate: self.slot_gate(),
        };
        tokio::spawn(driver.run(cmd_rx, resumes));
        Ok(Media {
            cmds: cmd_tx,
            frames: frame_rx,
            video: video_rx,
            state: state_rx,
            slots,
            video_slots,
        })
    }
}

type AnswerFuture = Pin<Box<dyn Future<Output = Result<SdpAnswer, Error>> + Send>>;

/// A restore in flight: the offer went out, the answer is awaited.
struct Restore {
    /// The new peer connection and its layout (the server lost ours), or `None` for an ICE
    /// restart of the current one.
    fresh: Option<(Rtc, Layout)>,
    pending: SdpPendingOffer,
    answer: AnswerFuture,
}

/// Awaits the answer of the restore in flight; never resolves without one.
async fn answer_of(restore: &mut Option<Restore>) -> Result<SdpAnswer, Error> {
    match restore {
        Some(r) => r.answer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The task that owns the peer connection and its socket.
struct Driver {
    rtc: Rtc,
    layout: Layout,
    net: Net,
    /// What was negotiated (`slots` resolved), for a new peer connection after a restore.
    options: MediaOptions,
    room: WeakRoom,
    frames: mpsc::UnboundedSender<ReceivedFrame>,
    video: mpsc::UnboundedSender<VideoFrame>,
    /// When the first camera frame was sent (its media time counts from there).
    camera_start: Option<Instant>,
    /// Latest cumulative (packets, bytes) str0m reported per video slot mid.
    video_received: std::collections::HashMap<Mid, (u64, u64)>,
    state: watch::Sender<MediaState>,
    /// DTLS of the current peer connection is up.
    dtls_up: bool,
    /// ICE of the current peer connection reported `Disconnected` and has not recovered.
    ice_down: bool,
    rtp_time: u64,
    /// The slot gate, kept current by the connection task.
    gate: watch::Receiver<SlotGate>,
}

impl Driver {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut resumes: watch::Receiver<crate::client::Resumed>,
    ) {
        let mut buf = vec![0u8; 2048];
        let mut restore: Option<Restore> = None;
        // (when, an ICE restart?) of the next attempt after a failed one.
        let mut retry: Option<(Instant, bool)> = None;
        let mut attempts = 0u32;
        let mut resumes_open = true;
        loop {
            let Some(deadline) = self.poll() else { return };
            let deadline = match retry {
                Some((at, _)) => deadline.min(at),
                None => deadline,
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            tokio::select! {
                r = self.net.recv(&mut buf) => {
                    let (proto, source, destination, n) = match r {
                        Ok(Some(d)) => d,
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::debug!(error = %e, "media transport closed");
                            return;
                        }
                    };
                    let Ok(contents) = buf[..n].try_into() else { continue };
                    let input = str0m::Input::Receive(Instant::now(), Receive {
                        proto,
                        source,
                        destination,
                        contents,
                    });
                    if self.rtc.handle_input(input).is_err() {
                        return;
                    }
                }
                c = cmds.recv() => match c {
                    Some(Cmd::Opus { data, audio_level }) => self.write_opus(data, audio_level),
                    Some(Cmd::Camera { layer, data }) => self.write_camera(layer, data),
                    Some(Cmd::Close) | None => {
                        self.rtc.disconnect();
                        return;
                    }
                },
                changed = resumes.changed(), if resumes_open => {
                    if changed.is_err() {
                        // The connection ended for good: no more resumes.
                        resumes_open = false;
                        continue;
                    }
                    let kept = resumes.borrow_and_update().media_kept;
                    attempts = 1;
                    retry = None;
                    // A restore still in flight is for an older connection: dropping its
                    // pending offer rolls it back.
                    restore = self.start_restore(kept);
                }
                answer = answer_of(&mut restore) => {
                    let Some(r) = restore.take() else { continue };
                    let kept = r.fresh.is_none();
                    match answer.and_then(|a| self.finish_restore(r, a)) {
                        Ok(()) => attempts = 0,
                        // A new drop: the next resume starts over.
                        Err(Error::Closed) => {
                            self.state.send_modify(|s| s.restoring = false);
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, attempts, "media restore failed");
                            self.state.send_modify(|s| {
                                s.restore_failures += 1;
                                s.restoring = false;
                            });
                            if attempts < RESTORE_ATTEMPTS {
                                retry = Some((Instant::now() + RESTORE_RETRY, kept));
                            }
                        }
                    }
                }
                _ = tokio::time::sleep(wait) => {
                    if self.rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                        return;
                    }
                    if let Some((at, kept)) = retry {
                        if Instant::now() >= at {
                            retry = None;
                            attempts += 1;
                            restore = self.start_restore(kept);
                        }
                    }
                }
            }
        }
    }

    /// Polls str0m until it wants a timeout; `None` when the peer connection is over.
    fn poll(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => return Some(t),
                Ok(str0m::Output::Transmit(t)) => self.net.send(&t),
                Ok(str0m::Output::Event(e)) => self.on_event(e),
                Err(_) => return None,
            }
            if !self.rtc.is_alive() {
                return None;
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.dtls_up = true;
                self.publish_connected();
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.ice_down = true;
                self.state.send_modify(|s| s.ice_disconnects += 1);
                self.publish_connected();
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) => {
                self.ice_down = false;
                self.publish_connected();
            }
            Event::KeyframeRequest(r) if Some(r.mid) == self.layout.camera => {
                let layer = self.camera_layer(r.rid);
                self.state
                    .send_modify(|s| s.camera_keyframe_requests[layer] += 1);
            }
            Event::MediaEgressStats(st) if Some(st.mid) == self.layout.camera => {
                let layer = self.camera_layer(st.rid);
                self.state.send_modify(|s| {
                    s.camera_sent[layer] = RtpCount {
                        packets: st.packets,
                        bytes: st.bytes,
                    }
                });
            }
            Event::MediaIngressStats(st) if self.layout.video_slots.contains(&st.mid) => {
                let (packets, bytes) = (st.packets, st.bytes);
                let prev = self.video_received.insert(st.mid, (packets, bytes));
                let (p0, b0) = prev.unwrap_or((0, 0));
                self.state.send_modify(|s| {
                    s.video_received.packets += packets.saturating_sub(p0);
                    s.video_received.bytes += bytes.saturating_sub(b0);
                });
            }
            Event::MediaData(d) if self.layout.video_slots.contains(&d.mid) => {
                if let Some(slot) = self.layout.video_slots.iter().position(|m| *m == d.mid) {
                    let _ = self.video.send(VideoFrame {
                        slot,
                        data: d.data.clone(),
                        rtp_time: d.time.numer(),
                        at: Instant::now(),
                    });
                }
            }
            Event::MediaData(d) => {
                if let Some(slot) = self.layout.slots.iter().position(|m| *m == d.mid) {
                    let talker = self.gate.borrow().talker(slot).cloned();
                    let Some(talker) = talker else {
                        self.state.send_modify(|s| s.gated_frames += 1);
                        return;
                    };
                    let _ = self.frames.send(ReceivedFrame {
                        slot,
                        talker,
                        data: d.data.clone(),
                        audio_level: d.ext_vals.audio_level,
                        rtp_time: d.time.numer(),
                        at: Instant::now(),
                    });
                }
            }
            _ => {}
        }
    }

    /// The camera layer of a rid (index into [`SIMULCAST_RIDS`]; 0 without one).
    fn camera_layer(&self, rid: Option<Rid>) -> usize {
        rid.and_then(|r| SIMULCAST_RIDS.iter().position(|x| &*r == *x))
            .unwrap_or(0)
    }

    fn publish_connected(&self) {
        let up = self.dtls_up && !self.ice_down;
        self.state.send_if_modified(|s| {
            let changed = s.connected != up;
            s.connected = up;
            changed
        });
    }

    fn write_opus(&mut self, data: Vec<u8>, audio_level: i8) {
        let Some(w) = self.rtc.writer(self.layout.mic) else {
            return;
        };
        let pt = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt());
        if let Some(pt) = pt {
            let t = MediaTime::new(self.rtp_time, Frequency::FORTY_EIGHT_KHZ);
            self.rtp_time += 960;
            let _ =
                w.audio_level(audio_level, audio_level > -127)
                    .write(pt, Instant::now(), t, data);
        }
    }

    fn write_camera(&mut self, layer: usize, data: Vec<u8>) {
        let Some(camera) = self.layout.camera else {
            return;
        };
        let rid = match (self.options.camera_simulcast, SIMULCAST_RIDS.get(layer)) {
            (true, Some(rid)) => Some(Rid::from(*rid)),
            (false, _) if layer == 0 => None,
            _ => return,
        };
        let Some(mut w) = self.rtc.writer(camera) else {
            return;
        };
        if let Some(rid) = rid {
            w = w.rid(rid);
        }
        let pt = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt());
        if let Some(pt) = pt {
            let now = Instant::now();
            let start = *self.camera_start.get_or_insert(now);
            let ticks = now.saturating_duration_since(start).as_micros() as u64 * 90 / 1000;
            let t = MediaTime::new(ticks, Frequency::NINETY_KHZ);
            let _ = w.write(pt, now, t, data);
        }
    }

    /// Sends the offer that restores media after a resume: an ICE restart of the current peer
    /// connection when the server `kept` it, else a new peer connection with the same layout.
    fn start_restore(&mut self, kept: bool) -> Option<Restore> {
        // No Room handle left: the connection is closing, nobody to restore for.
        let room = self.room.upgrade()?;
        let (fresh, offer, pending, mids) = if kept {
            if self.options.new_port_on_restart {
                self.move_to_new_port();
            }
            let mut change = self.rtc.sdp_api();
            // Same host candidate (same socket); new ICE credentials.
            change.ice_restart(true);
            let (offer, pending) = change.apply()?;
            (None, offer, pending, self.layout.mids.clone())
        } else {
            match self.net.candidate().and_then(|c| offerer(c, &self.options)) {
                Ok((rtc, layout, offer, pending)) => {
                    let mids = layout.mids.clone();
                    (Some((rtc, layout)), offer, pending, mids)
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot build a new peer connection");
                    self.state.send_modify(|s| s.restore_failures += 1);
                    return None;
                }
            }
        };
        tracing::debug!(kept, "restoring media after a resume");
        self.state.send_modify(|s| s.restoring = true);
        let answer: AnswerFuture = Box::pin(async move { negotiate(&room, offer, mids).await });
        Some(Restore {
            fresh,
            pending,
            answer,
        })
    }

    /// [`MediaOptions::new_port_on_restart`]: a new UDP socket on the same IP replaces the
    /// current one, and its address replaces the host candidate (the restart's offer carries
    /// it). Nothing changes when the socket cannot be made.
    fn move_to_new_port(&mut self) {
        let Net::Udp { local: old, .. } = &self.net else {
            return;
        };
        let old = *old;
        let Some(socket) = std::net::UdpSocket::bind(SocketAddr::new(old.ip(), 0))
            .ok()
            .filter(|s| s.set_nonblocking(true).is_ok())
            .and_then(|s| UdpSocket::from_std(s).ok())
        else {
            return;
        };
        let Ok(local) = socket.local_addr() else {
            return;
        };
        if let Ok(c) = Candidate::host(old, "udp") {
            self.rtc.direct_api().invalidate_candidate(&c);
        }
        if let Ok(c) = Candidate::host(local, "udp") {
            self.rtc.add_local_candidate(c);
        }
        tracing::debug!("moved the peer connection to a new local port");
        self.net = Net::Udp { socket, local };
    }

    /// Applies the answer of a restore.
    fn finish_restore(&mut self, r: Restore, answer: SdpAnswer) -> Result<(), Error> {
        match r.fresh {
            None => {
                self.rtc
                    .sdp_api()
                    .accept_answer(r.pending, answer)
                    .map_err(|e| Error::Protocol(e.to_string()))?;
                self.state.send_modify(|s| {
                    s.ice_restarts += 1;
                    s.restoring = false;
                });
            }
            Some((mut rtc, layout)) => {
                rtc.sdp_api()
                    .accept_answer(r.pending, answer)
                    .map_err(|e| Error::Protocol(e.to_string()))?;
                // The old peer connection's server side is gone: drop it without a word.
                self.rtc = rtc;
                self.layout = layout;
                self.dtls_up = false;
                self.ice_down = false;
                self.state.send_modify(|s| {
                    s.renegotiations += 1;
                    s.restoring = false;
                    s.connected = false;
                });
            }
        }
        Ok(())
    }
}

/// A VP8 key frame's first ten bytes (P bit clear, show frame, start code, 640×480) followed
/// by `payload`: a frame the server forwards like any other. Alcove never decodes video; tests
/// and the load tool use these to tell publishers apart.
pub fn synthetic_vp8_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    v.extend_from_slice(payload);
    v
}

/// A valid 20 ms Opus frame (CELT, full band, mono): TOC byte 0xF8 followed by `payload`.
/// Alcove never decodes audio; tests and the load tool use these to tell senders apart.
pub fn synthetic_opus_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 1);
    v.push(0xF8);
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{
        ActiveTalkersUpdated, BreakoutRoomInfo, ConnectedBreakoutRoom, DidDisconnectedBreakoutRoom,
        Talker,
    };

    fn map(room: &str, talkers: &[(u32, &str)]) -> ServerMessage {
        ServerMessage::ActiveTalkersUpdated(ActiveTalkersUpdated {
            room_id: room.into(),
            talkers: talkers
                .iter()
                .map(|(slot, c)| Talker {
                    client_id: (*c).into(),
                    name: c.to_string(),
                    slot: *slot,
                })
                .collect(),
        })
    }

    fn joined(room: &str) -> ServerMessage {
        let info: BreakoutRoomInfo = serde_json::from_value(serde_json::json!({
            "room_id": room, "name": "BR", "owner": {"clientId": "c-m", "name": "M"},
            "participants": 2, "audio": true, "canvas": false, "share": false,
            "members": [], "invitations": []
        }))
        .expect("a BreakoutRoomInfo");
        ServerMessage::ConnectedBreakoutRoom(ConnectedBreakoutRoom {
            result: 0,
            room: info,
        })
    }

    fn left(room: &str) -> ServerMessage {
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::ok(Some(
            room.into(),
        )))
    }

    fn heard(g: &SlotGate) -> Vec<Option<&str>> {
        (0..3).map(|i| g.talker(i).map(|c| c.as_str())).collect()
    }

    #[test]
    fn a_move_withholds_every_slot_until_the_new_rooms_map() {
        let mut g = SlotGate::new("r".into());
        assert_eq!(heard(&g), [None, None, None], "no map yet");
        g.apply(&map("r", &[(0, "c-a"), (2, "c-b")]));
        assert_eq!(heard(&g), [Some("c-a"), None, Some("c-b")]);
        // The ack of the move: the old room's talkers are no longer handed out.
        assert!(g.apply(&joined("r-br1")));
        assert_eq!(heard(&g), [None, None, None]);
        g.apply(&map("r-br1", &[(1, "c-d")]));
        assert_eq!(heard(&g), [None, Some("c-d"), None]);
        // Back to the parent: withheld again until the parent's map.
        assert!(g.apply(&left("r-br1")));
        assert_eq!(heard(&g), [None, None, None]);
        g.apply(&map("r", &[(0, "c-a")]));
        assert_eq!(heard(&g), [Some("c-a"), None, None]);
    }

    #[test]
    fn a_map_that_empties_a_slot_withholds_it_at_once() {
        let mut g = SlotGate::new("r".into());
        g.apply(&map("r", &[(0, "c-a"), (1, "c-b")]));
        g.apply(&map("r", &[(1, "c-b")]));
        assert_eq!(heard(&g), [None, Some("c-b"), None]);
    }

    #[test]
    fn another_rooms_disconnect_or_a_failed_move_changes_nothing() {
        let mut g = SlotGate::new("r".into());
        g.apply(&map("r", &[(0, "c-a")]));
        // An owner in the parent is told that its (other) room was cleared.
        assert!(!g.apply(&left("r-br2")));
        let mut failed = joined("r-br1");
        if let ServerMessage::ConnectedBreakoutRoom(c) = &mut failed {
            c.result = 1737;
        }
        assert!(!g.apply(&failed));
        assert_eq!(heard(&g), [Some("c-a"), None, None]);
    }
}

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

use crate::client::Room;
use crate::error::Error;
use alcove_proto::signal::{ClientMessage, MediaMids, SdpOffer, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// One Opus frame received on an audio slot.
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    /// The slot index (see `activeTalkersUpdated`).
    pub slot: usize,
    /// The frame.
    pub data: Arc<[u8]>,
    /// RFC 6464 level carried with it (0 loudest, −127 silence), if any.
    pub audio_level: Option<i8>,
    /// RTP media time, 48 kHz.
    pub rtp_time: u64,
    /// When it arrived.
    pub at: Instant,
}

/// Connection facts for measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaState {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Number of times str0m reported ICE `Disconnected` (a move must never cause one).
    pub ice_disconnects: u32,
}

enum Cmd {
    Opus { data: Vec<u8>, audio_level: i8 },
    Close,
}

/// A running peer connection of one client.
pub struct Media {
    cmds: mpsc::UnboundedSender<Cmd>,
    frames: mpsc::UnboundedReceiver<ReceivedFrame>,
    state: watch::Receiver<MediaState>,
    slots: usize,
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

    /// Connection facts now.
    pub fn state(&self) -> MediaState {
        *self.state.borrow()
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

impl Room {
    /// Negotiates this client's one peer connection (`sdpOffer`) and starts it on a UDP socket
    /// bound to `bind_ip`:0. `slots` defaults to the room's `max_active_talkers`.
    pub async fn start_media(
        &self,
        bind_ip: std::net::IpAddr,
        slots: Option<usize>,
    ) -> Result<Media, Error> {
        str0m::crypto::from_feature_flags().install_process_default();
        let slots = slots.unwrap_or(self.connected().room.settings.max_active_talkers as usize);
        let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        let local = socket
            .local_addr()
            .map_err(|e| Error::Transport(e.to_string()))?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(Instant::now());
        let cand = Candidate::host(local, "udp").map_err(|e| Error::Transport(e.to_string()))?;
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
        };
        let frame = self
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
        let answer =
            SdpAnswer::from_sdp_string(&answer.sdp).map_err(|e| Error::Protocol(e.to_string()))?;
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (frame_tx, frame_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(MediaState::default());
        tokio::spawn(drive(
            rtc, socket, local, mic, slot_mids, cmd_rx, frame_tx, state_tx,
        ));
        Ok(Media {
            cmds: cmd_tx,
            frames: frame_rx,
            state: state_rx,
            slots,
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    mut rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    mic: Mid,
    slots: Vec<Mid>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    frames: mpsc::UnboundedSender<ReceivedFrame>,
    state: watch::Sender<MediaState>,
) {
    let mut buf = vec![0u8; 2048];
    let mut rtp_time: u64 = 0;
    loop {
        // Poll until str0m wants a timeout.
        let deadline = loop {
            match rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => break t,
                Ok(str0m::Output::Transmit(t)) => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                Ok(str0m::Output::Event(e)) => match e {
                    Event::Connected => state.send_modify(|s| s.connected = true),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        state.send_modify(|s| s.ice_disconnects += 1)
                    }
                    Event::MediaData(d) => {
                        if let Some(slot) = slots.iter().position(|m| *m == d.mid) {
                            let _ = frames.send(ReceivedFrame {
                                slot,
                                data: d.data.clone(),
                                audio_level: d.ext_vals.audio_level,
                                rtp_time: d.time.numer(),
                                at: Instant::now(),
                            });
                        }
                    }
                    _ => {}
                },
                Err(_) => return,
            }
            if !rtc.is_alive() {
                return;
            }
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                let Ok(contents) = buf[..n].try_into() else { continue };
                let input = str0m::Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: local, contents });
                if rtc.handle_input(input).is_err() {
                    return;
                }
            }
            c = cmds.recv() => match c {
                Some(Cmd::Opus { data, audio_level }) => {
                    if let Some(w) = rtc.writer(mic) {
                        let pt = w.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt());
                        if let Some(pt) = pt {
                            let t = MediaTime::new(rtp_time, Frequency::FORTY_EIGHT_KHZ);
                            rtp_time += 960;
                            let _ = w.audio_level(audio_level, audio_level > -127).write(pt, Instant::now(), t, data);
                        }
                    }
                }
                Some(Cmd::Close) | None => {
                    rtc.disconnect();
                    return;
                }
            },
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    return;
                }
            }
        }
    }
}

/// A valid 20 ms Opus frame (CELT, full band, mono): TOC byte 0xF8 followed by `payload`.
/// Alcove never decodes audio; tests and the load tool use these to tell senders apart.
pub fn synthetic_opus_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 1);
    v.push(0xF8);
    v.extend_from_slice(payload);
    v
}

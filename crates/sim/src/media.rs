//! [`MediaWorld`]: a family with its media plane and real str0m peers, on a virtual clock and an
//! in-memory network.
//!
//! Each simulated client is a full WebRTC peer (str0m `Rtc` as offerer, the same m-line layout
//! as the SDKs: mic, share, canvas, audio slots, share slot, canvas slot). Datagrams move
//! between the family and the peers in memory, so ICE, DTLS and SRTP run for real but in
//! virtual time: a test of who hears whom after a move takes milliseconds and gives the same
//! result on every run. Used by the media scenario tests and by the benchmarks.

use crate::clock::Clock;
use alcove_core::media::MediaConfig;
use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    ClientMessage, MediaMids, Role, SdpOffer, ServerFrame, ServerMessage, VideoSlotsUpdated,
};
use alcove_proto::{ClientId, RequestId, RoomId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Rtc};

/// The RIDs of a simulcast camera, low layer first.
pub const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];

/// The longest a datagram waits on a throttled link before it is dropped instead.
pub const LINK_QUEUE: Duration = Duration::from_millis(300);

/// The least virtual time between two wake-ups of the simulated hosts.
const WAKE_STEP: Duration = Duration::from_millis(1);

/// The server's address in the simulated network.
pub const SERVER_ADDR: &str = "10.0.0.1:7881";

/// One frame a peer received on an audio slot.
#[derive(Debug, Clone)]
pub struct Heard {
    /// Slot index.
    pub slot: usize,
    /// The frame bytes.
    pub data: Arc<[u8]>,
    /// Its media time on the slot (48 kHz ticks, extended), as the receiver's stack reads it.
    pub time: u64,
    /// When it was received, in virtual time.
    pub at: std::time::Instant,
}

struct Peer {
    addr: SocketAddr,
    rtc: Rtc,
    mic: Mid,
    slots: Vec<Mid>,
    rtp_time: u64,
    heard: Vec<Heard>,
    share: Mid,
    share_slot: Mid,
    video_time: u64,
    /// Frames received on the share slot.
    seen_share: Vec<Arc<[u8]>>,
    /// The camera m-line and the video slots (protocol 4 peers only).
    camera: Option<Mid>,
    video_slots: Vec<Mid>,
    camera_time: u64,
    /// Frames received on the video slots: (slot, frame).
    seen_video: Vec<(usize, Arc<[u8]>)>,
    /// The camera is offered with simulcast (RIDs `q`, `h`, `f`).
    simulcast: bool,
    /// The capacity of the link towards this peer (bit/s), when throttled.
    downlink: Option<u64>,
    /// When the throttled link is free again.
    link_busy: Instant,
    frames: Vec<ServerFrame>,
    connected: bool,
}

/// A family with media and `n` real peers in memory.
pub struct MediaWorld {
    clock: Clock,
    family: Family,
    server: SocketAddr,
    peers: BTreeMap<ClientId, Peer>,
    /// Datagrams in flight: (from, to, bytes).
    wire: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Datagrams queued on a throttled link: (arrival, from, to, bytes), in arrival order.
    shaped: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    /// Datagrams a throttled link dropped (its queue was full).
    pub shaped_drops: u64,
    /// The next join offers its camera in simulcast.
    simulcast_next: bool,
    next_request: u64,
    next_client: u32,
    deadline: Instant,
    /// Audio slots each peer asks for (the room's `max_active_talkers`).
    slots: usize,
    /// Datagrams the family sent (for cost accounting).
    pub transmitted: u64,
}

impl std::fmt::Debug for MediaWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaWorld")
            .field("peers", &self.peers.len())
            .finish()
    }
}

/// Media shards of a [`MediaWorld::new`]: more than one, so every media test also crosses
/// shards (a packet forwarded to receivers on other shards, keyframe requests between them).
pub const DEFAULT_SHARDS: usize = 3;

impl MediaWorld {
    /// A family with media enabled on [`DEFAULT_SHARDS`] inline shards; no peers yet.
    pub fn new(settings: RoomSettings, seed: u64) -> MediaWorld {
        MediaWorld::with_shards(settings, seed, DEFAULT_SHARDS)
    }

    /// A family with media enabled on `shards` inline media shards (run in index order under
    /// the virtual clock, so every run is the same); no peers yet.
    pub fn with_shards(settings: RoomSettings, seed: u64, shards: usize) -> MediaWorld {
        MediaWorld::with_audio_path(settings, seed, shards, false)
    }

    /// [`MediaWorld::with_shards`], with the audio slots sending through str0m's send streams
    /// (`str0m_audio`) instead of the direct SRTP path.
    pub fn with_audio_path(
        settings: RoomSettings,
        seed: u64,
        shards: usize,
        str0m_audio: bool,
    ) -> MediaWorld {
        // The one wall-clock read: the base of the virtual clock (see `Clock`).
        let clock = Clock::starting_at(Instant::now());
        let server: SocketAddr = SERVER_ADDR.parse().expect("literal address");
        let mut config =
            FamilyConfig::new(RoomId::from("parent"), "Media sim", settings.clone(), seed);
        config.media = Some(MediaConfig {
            candidate: server,
            local: server,
            tcp_candidate: None,
            str0m_audio,
        });
        config.shards = alcove_core::media::Shards::Inline(shards);
        let slots = settings.max_active_talkers as usize;
        let family = Family::new(config, clock.now());
        MediaWorld {
            slots,
            deadline: clock.now(),
            clock,
            family,
            server,
            peers: BTreeMap::new(),
            wire: VecDeque::new(),
            shaped: VecDeque::new(),
            shaped_drops: 0,
            simulcast_next: false,
            next_request: 1,
            next_client: 1,
            transmitted: 0,
        }
    }

    /// The family (queries).
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// Connects a client (signalling) and negotiates its peer connection; pumps until ICE and
    /// DTLS are up. Panics if anything is refused.
    pub fn join(&mut self, name: &str, role: Role) -> ClientId {
        self.join_as(name, role, None, None)
            .unwrap_or_else(|a| panic!("sdpOffer refused: {}", a.msg))
    }

    /// [`MediaWorld::join`]s every name in order: `M` as the moderator, everyone else as a
    /// participant. Returns their ids in the same order.
    pub fn join_class(&mut self, names: &[&str]) -> Vec<ClientId> {
        names
            .iter()
            .map(|n| {
                let role = if *n == "M" {
                    Role::Moderator
                } else {
                    Role::Participant
                };
                self.join(n, role)
            })
            .collect()
    }

    /// Like [`MediaWorld::join`], on protocol version 4 with a camera m-line (no frames until
    /// [`MediaWorld::camera_frame`]) and `video_slots` camera receive slots.
    pub fn join_with_camera(&mut self, name: &str, role: Role, video_slots: usize) -> ClientId {
        self.join_as(name, role, Some(video_slots), None)
            .unwrap_or_else(|a| panic!("sdpOffer refused: {}", a.msg))
    }

    /// Like [`MediaWorld::join_with_camera`], with the camera offered in simulcast: three
    /// layers, RIDs `q`, `h`, `f` (send them with [`MediaWorld::camera_layer_frame`]).
    pub fn join_with_simulcast(&mut self, name: &str, role: Role, video_slots: usize) -> ClientId {
        self.simulcast_next = true;
        self.join_as(name, role, Some(video_slots), None)
            .unwrap_or_else(|a| panic!("sdpOffer refused: {}", a.msg))
    }

    /// Connects on protocol `version` and offers a camera and `video_slots` video slots;
    /// returns the `sdpAnswer` of a refused offer (`Ok` with the client when accepted).
    pub fn try_join_with_camera(
        &mut self,
        name: &str,
        role: Role,
        video_slots: usize,
        version: u32,
    ) -> Result<ClientId, alcove_proto::signal::SdpAnswer> {
        self.join_as(name, role, Some(video_slots), Some(version))
    }

    fn join_as(
        &mut self,
        name: &str,
        role: Role,
        video: Option<usize>,
        version: Option<u32>,
    ) -> Result<ClientId, alcove_proto::signal::SdpAnswer> {
        let client = ClientId(format!("c{:03}", self.next_client));
        let addr: SocketAddr = format!("10.0.1.{}:5000", self.next_client)
            .parse()
            .expect("address");
        self.next_client += 1;
        let id = self.next_id();
        self.family.handle_input(Input::Connect {
            now: self.clock.now(),
            client: client.clone(),
            id,
            user: NewClient::new(name, role),
            version: version.unwrap_or(if video.is_some() {
                alcove_proto::version::PROTOCOL_VERSION
            } else {
                1
            }),
        });
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(self.clock.now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
        let mut change = rtc.sdp_api();
        let mic = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let share = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let canvas = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let n = self.family_settings_slots();
        let slots: Vec<Mid> = (0..n)
            .map(|_| change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
            .collect();
        let share_slot = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let canvas_slot = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let simulcast = std::mem::take(&mut self.simulcast_next);
        let layers = simulcast.then(|| {
            let mut s = str0m::media::Simulcast::new();
            for rid in SIMULCAST_RIDS {
                s.add_send_layer(str0m::media::SimulcastLayer::new(rid));
            }
            s
        });
        let camera = video
            .map(|_| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers));
        let video_slots: Vec<Mid> = (0..video.unwrap_or(0))
            .map(|_| change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = change.apply().expect("an offer");
        self.peers.insert(
            client.clone(),
            Peer {
                addr,
                rtc,
                mic,
                slots: slots.clone(),
                rtp_time: 0,
                heard: Vec::new(),
                share,
                share_slot,
                video_time: 0,
                seen_share: Vec::new(),
                camera,
                video_slots: video_slots.clone(),
                camera_time: 0,
                seen_video: Vec::new(),
                simulcast,
                downlink: None,
                link_busy: self.clock.now(),
                frames: Vec::new(),
                connected: false,
            },
        );
        self.drain();
        let mids = MediaMids {
            mic: Some(mic.to_string()),
            share: Some(share.to_string()),
            canvas: Some(canvas.to_string()),
            audio_slots: slots.iter().map(|m| m.to_string()).collect(),
            share_slot: Some(share_slot.to_string()),
            canvas_slot: Some(canvas_slot.to_string()),
            camera: camera.map(|m| m.to_string()),
            video_slots: video_slots.iter().map(|m| m.to_string()).collect(),
        };
        let ack = self.request(
            &client,
            ClientMessage::SdpOffer(SdpOffer {
                sdp: offer.to_sdp_string(),
                mids,
            }),
        );
        let ServerMessage::SdpAnswer(a) = ack.msg else {
            panic!("sdpOffer answered with {:?}", ack.msg)
        };
        if a.result != 0 {
            return Err(a);
        }
        let answer = SdpAnswer::from_sdp_string(&a.sdp).expect("answer parses");
        let peer = self.peers.get_mut(&client).expect("just inserted");
        peer.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        for _ in 0..400 {
            self.pump(Duration::from_millis(5));
            if self.peers.get(&client).is_some_and(|p| p.connected) {
                return Ok(client);
            }
        }
        panic!("{client} did not connect (ICE + DTLS) in 2 s of virtual time");
    }

    fn family_settings_slots(&self) -> usize {
        self.slots
    }

    fn next_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    /// Sends a request and returns its ack (notifications stay in the client's frames).
    pub fn request(&mut self, client: &ClientId, msg: ClientMessage) -> ServerFrame {
        let id = self.next_id();
        self.family.handle_input(Input::Request {
            now: self.clock.now(),
            client: client.clone(),
            id,
            msg,
        });
        self.drain();
        let peer = self.peers.get_mut(client).expect("known client");
        let pos = peer
            .frames
            .iter()
            .position(|f| f.id == Some(id))
            .expect("one ack per request");
        peer.frames.remove(pos)
    }

    /// `client` leaves the family on purpose (its connection closed normally); its peer stays
    /// in the world, silent.
    pub fn leave(&mut self, client: &ClientId) {
        self.family.handle_input(Input::Disconnected {
            now: self.clock.now(),
            client: client.clone(),
        });
        self.drain();
    }

    /// Frames (notifications) received by `client` since the last call.
    pub fn take_frames(&mut self, client: &ClientId) -> Vec<ServerFrame> {
        self.peers
            .get_mut(client)
            .map(|p| std::mem::take(&mut p.frames))
            .unwrap_or_default()
    }

    /// `client` publishes one 20 ms Opus frame stamped with `payload`.
    pub fn talk(&mut self, client: &ClientId, payload: &[u8]) {
        let now = self.clock.now();
        let peer = self.peers.get_mut(client).expect("known client");
        let mut frame = vec![0xF8];
        frame.extend_from_slice(payload);
        let t = MediaTime::new(peer.rtp_time, Frequency::FORTY_EIGHT_KHZ);
        peer.rtp_time += 960;
        if let Some(w) = peer.rtc.writer(peer.mic) {
            let pt = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                let _ = w.audio_level(-20, true).write(pt, now, t, frame);
            }
        }
    }

    /// `client` publishes one video frame (VP8, `payload` as the frame's bytes) on its share
    /// m-line; the frame is large enough to span several RTP packets when `payload` is.
    pub fn share_frame(&mut self, client: &ClientId, payload: &[u8]) {
        let now = self.clock.now();
        let peer = self.peers.get_mut(client).expect("known client");
        let t = MediaTime::new(peer.video_time, Frequency::NINETY_KHZ);
        peer.video_time += 3000;
        if let Some(w) = peer.rtc.writer(peer.share) {
            let pt = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                let _ = w.write(pt, now, t, payload.to_vec());
            }
        }
    }

    /// `client` publishes one VP8 frame (`payload` as the frame's bytes) on its camera m-line
    /// (a peer of [`MediaWorld::join_with_camera`]).
    pub fn camera_frame(&mut self, client: &ClientId, payload: &[u8]) {
        let now = self.clock.now();
        let peer = self.peers.get_mut(client).expect("known client");
        let Some(camera) = peer.camera else { return };
        let t = MediaTime::new(peer.camera_time, Frequency::NINETY_KHZ);
        peer.camera_time += 3000;
        if let Some(w) = peer.rtc.writer(camera) {
            let pt = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                let _ = w.write(pt, now, t, payload.to_vec());
            }
        }
    }

    /// `client` (a peer of [`MediaWorld::join_with_simulcast`]) publishes one frame on each
    /// simulcast layer at the same media time: `frames[i]` on RID [`SIMULCAST_RIDS`]`[i]`.
    pub fn camera_layer_frame(&mut self, client: &ClientId, frames: [&[u8]; 3]) {
        let now = self.clock.now();
        let peer = self.peers.get_mut(client).expect("known client");
        let Some(camera) = peer.camera else { return };
        assert!(peer.simulcast, "{client} offered no simulcast");
        let t = MediaTime::new(peer.camera_time, Frequency::NINETY_KHZ);
        peer.camera_time += 3000;
        for (rid, frame) in SIMULCAST_RIDS.iter().zip(frames) {
            if let Some(w) = peer.rtc.writer(camera) {
                let pt = w
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Vp8)
                    .map(|p| p.pt());
                if let Some(pt) = pt {
                    let _ = w
                        .rid(str0m::media::Rid::from(*rid))
                        .write(pt, now, t, frame.to_vec());
                }
            }
        }
    }

    /// Limits the link from the server to `client` to `bps` bit/s (`None`: unlimited): its
    /// datagrams queue behind each other at that rate, and a datagram that would wait more
    /// than [`LINK_QUEUE`] is dropped, like a router's full queue.
    pub fn throttle(&mut self, client: &ClientId, bps: Option<u64>) {
        let now = self.clock.now();
        if let Some(p) = self.peers.get_mut(client) {
            p.downlink = bps;
            p.link_busy = now;
        }
    }

    /// Frames `client` received on its video slots since the last call: (slot, frame).
    pub fn take_video_seen(&mut self, client: &ClientId) -> Vec<(usize, Arc<[u8]>)> {
        self.peers
            .get_mut(client)
            .map(|p| std::mem::take(&mut p.seen_video))
            .unwrap_or_default()
    }

    /// `ms` of virtual time in 20 ms steps while every camera in `cams` sends a frame every
    /// 40 ms: [`vp8_keyframe`] of its tag, so a receiver can tell who it sees.
    pub fn cameras_for(&mut self, cams: &[(&ClientId, u8)], ms: u64) {
        for i in 0..ms / 20 {
            if i % 2 == 0 {
                for (c, tag) in cams {
                    self.camera_frame(c, &vp8_keyframe(*tag));
                }
            }
            self.pump(Duration::from_millis(20));
        }
    }

    /// The tags (see [`MediaWorld::cameras_for`]) of the cameras whose frames `client` decoded
    /// on its video slots since the last call.
    pub fn camera_tags_seen(&mut self, client: &ClientId) -> BTreeSet<u8> {
        self.take_video_seen(client)
            .into_iter()
            .filter_map(|(_, f)| f.get(10).copied())
            .collect()
    }

    /// `client`'s latest `videoSlotsUpdated` since the last call (every other frame it got
    /// meanwhile is dropped).
    pub fn last_video_slots(&mut self, client: &ClientId) -> Option<VideoSlotsUpdated> {
        self.take_frames(client)
            .into_iter()
            .filter_map(|f| match f.msg {
                ServerMessage::VideoSlotsUpdated(v) => Some(v),
                _ => None,
            })
            .last()
    }

    /// Video frames `client` received on its share slot since the last call.
    pub fn take_share_seen(&mut self, client: &ClientId) -> Vec<Arc<[u8]>> {
        self.peers
            .get_mut(client)
            .map(|p| std::mem::take(&mut p.seen_share))
            .unwrap_or_default()
    }

    /// Frames `client` heard since the last call.
    pub fn take_heard(&mut self, client: &ClientId) -> Vec<Heard> {
        self.peers
            .get_mut(client)
            .map(|p| std::mem::take(&mut p.heard))
            .unwrap_or_default()
    }

    /// Advances virtual time by `d`, delivering every datagram and timeout on the way.
    pub fn pump(&mut self, d: Duration) {
        let end = self.clock.now() + d;
        loop {
            self.drain();
            let next_peer = self
                .peers
                .values_mut()
                .filter_map(|p| peer_timeout(&mut p.rtc))
                .min();
            let next_arrival = self.shaped.front().map(|(t, ..)| *t);
            let next = [Some(self.deadline), next_peer, next_arrival]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            if next > end {
                break;
            }
            // A host's clock always moves between two wake-ups (str0m's pacer releases a
            // packet per wake-up and asks again for "now"): at least WAKE_STEP of virtual time, a
            // timer's granularity.
            let next = next.max(self.clock.now() + WAKE_STEP).min(end);
            self.clock.advance_to(next);
            let now = self.clock.now();
            if self.deadline <= now {
                self.family.handle_input(Input::Timeout(now));
            }
            for p in self.peers.values_mut() {
                let _ = p.rtc.handle_input(str0m::Input::Timeout(now));
            }
            if next == end {
                self.drain();
                break;
            }
        }
        self.clock.advance_to(end);
    }

    /// Runs one step as the server's family task would: `d` of virtual time passes, a datagram
    /// from a peer arrives, and the family's timeout fires when due (str0m releases paced sends
    /// on timeouts). What the family transmits is counted, not delivered.
    pub fn deliver_to_family(&mut self, d: Duration, from: SocketAddr, contents: Vec<u8>) {
        self.clock.advance(d);
        let now = self.clock.now();
        self.family.handle_input(Input::Receive {
            now,
            source: from,
            destination: self.server,
            contents,
        });
        self.drain_family_only();
        if self.deadline <= now {
            self.family.handle_input(Input::Timeout(now));
            self.drain_family_only();
        }
    }

    /// Collects the datagrams `client`'s peer wants to send now, without delivering them.
    pub fn capture_from_peer(&mut self, client: &ClientId) -> Vec<(SocketAddr, Vec<u8>)> {
        let now = self.clock.now();
        let peer = self.peers.get_mut(client).expect("known client");
        // str0m paces its sends: a tick releases what was written.
        let _ = peer.rtc.handle_input(str0m::Input::Timeout(now));
        let mut out = Vec::new();
        while let Ok(o) = peer.rtc.poll_output() {
            match o {
                str0m::Output::Transmit(t) => out.push((peer.addr, t.contents.to_vec())),
                str0m::Output::Timeout(_) => break,
                str0m::Output::Event(_) => {}
            }
        }
        out
    }

    /// Moves the virtual clock by `d` without delivering anything.
    pub fn advance_clock(&mut self, d: Duration) {
        self.clock.advance(d);
    }

    fn drain_family_only(&mut self) {
        loop {
            match self.family.poll_output() {
                Output::Timeout(t) => {
                    self.deadline = t;
                    return;
                }
                Output::Transmit { .. } => self.transmitted += 1,
                _ => {}
            }
        }
    }

    /// Moves everything until the network is quiet at the current instant.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            loop {
                match self.family.poll_output() {
                    Output::Timeout(t) => {
                        self.deadline = t;
                        break;
                    }
                    Output::Transmit {
                        source,
                        destination,
                        contents,
                    } => {
                        self.transmitted += 1;
                        self.wire.push_back((source, destination, contents));
                        progressed = true;
                    }
                    Output::Send { to, frame } => {
                        if let Some(p) = self.peers.get_mut(&to) {
                            p.frames.push(frame);
                        }
                    }
                    _ => {}
                }
            }
            for p in self.peers.values_mut() {
                loop {
                    match p.rtc.poll_output() {
                        Ok(str0m::Output::Transmit(t)) => {
                            self.wire
                                .push_back((p.addr, t.destination, t.contents.to_vec()));
                            progressed = true;
                        }
                        Ok(str0m::Output::Event(Event::Connected)) => p.connected = true,
                        Ok(str0m::Output::Event(Event::MediaData(d))) if d.mid == p.share_slot => {
                            p.seen_share.push(d.data.clone());
                        }
                        Ok(str0m::Output::Event(Event::MediaData(d)))
                            if p.video_slots.contains(&d.mid) =>
                        {
                            if let Some(slot) = p.video_slots.iter().position(|m| *m == d.mid) {
                                p.seen_video.push((slot, d.data.clone()));
                            }
                        }
                        Ok(str0m::Output::Event(Event::MediaData(d))) => {
                            if let Some(slot) = p.slots.iter().position(|m| *m == d.mid) {
                                p.heard.push(Heard {
                                    slot,
                                    data: d.data.clone(),
                                    time: d.time.numer(),
                                    at: self.clock.now(),
                                });
                            }
                        }
                        Ok(str0m::Output::Event(_)) => {}
                        Ok(str0m::Output::Timeout(_)) | Err(_) => break,
                    }
                }
            }
            let now = self.clock.now();
            let mut arrived: Vec<(SocketAddr, SocketAddr, Vec<u8>)> = Vec::new();
            while self.shaped.front().is_some_and(|(t, ..)| *t <= now) {
                if let Some((_, from, to, bytes)) = self.shaped.pop_front() {
                    arrived.push((from, to, bytes));
                }
            }
            for (from, to, bytes) in arrived {
                if let Some(p) = self.peers.values_mut().find(|p| p.addr == to) {
                    p.receive(now, from, &bytes);
                    progressed = true;
                }
            }
            while let Some((from, to, bytes)) = self.wire.pop_front() {
                if let Some(p) = self
                    .peers
                    .values_mut()
                    .find(|p| p.addr == to && p.downlink.is_some())
                {
                    // A throttled link: serialised at its rate behind what it already holds.
                    let bps = p.downlink.unwrap_or(u64::MAX).max(1);
                    let start = p.link_busy.max(now);
                    if start.saturating_duration_since(now) > LINK_QUEUE {
                        self.shaped_drops += 1;
                    } else {
                        let wire_bits = (bytes.len() as u64 + 28) * 8;
                        p.link_busy = start + Duration::from_micros(wire_bits * 1_000_000 / bps);
                        let at = p.link_busy;
                        let pos = self.shaped.partition_point(|(t, ..)| *t <= at);
                        self.shaped.insert(pos, (at, from, to, bytes));
                    }
                    progressed = true;
                    continue;
                }
                if to == self.server {
                    self.family.handle_input(Input::Receive {
                        now,
                        source: from,
                        destination: to,
                        contents: bytes,
                    });
                } else if let Some(p) = self.peers.values_mut().find(|p| p.addr == to) {
                    p.receive(now, from, &bytes);
                }
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    /// The benchmarks' world: a moderator in the parent and `members` participants forced into
    /// one break-out room (at most 5 fit), the first of whom has talked long enough to hold a
    /// slot in every other member's map; one media shard, so a packet's whole cost is counted
    /// on one path. Returns the world and the members.
    pub fn talking_breakout(seed: u64, members: usize) -> (MediaWorld, Vec<ClientId>) {
        MediaWorld::talking_breakout_on(seed, members, false)
    }

    /// [`MediaWorld::talking_breakout`], with audio sent through str0m's send streams when
    /// `str0m_audio` (the path before the direct one; for comparison).
    pub fn talking_breakout_on(
        seed: u64,
        members: usize,
        str0m_audio: bool,
    ) -> (MediaWorld, Vec<ClientId>) {
        let mut w = MediaWorld::with_audio_path(RoomSettings::default(), seed, 1, str0m_audio);
        let m = w.join("M", Role::Moderator);
        let members: Vec<ClientId> = (0..members)
            .map(|i| w.join(&format!("P{i}"), Role::Participant))
            .collect();
        let ack = w.request(&m, crate::req::create(5, 1));
        let room = crate::req::rooms(&ack)[0].clone();
        let inv = alcove_proto::signal::Invitee {
            clients: members.clone(),
            room_id: room,
            force_join: true,
        };
        w.request(&m, ClientMessage::InviteToBreakOutRoom(inv));
        for _ in 0..30 {
            w.talk(&members[0], b"P0:");
            w.pump(Duration::from_millis(20));
        }
        (w, members)
    }

    /// `n` SRTP packets of `client`'s microphone, encrypted by its real peer and not delivered
    /// (benchmarks time their delivery to the family).
    pub fn captured_talk(&mut self, client: &ClientId, n: usize) -> Vec<Vec<u8>> {
        let mut packets = Vec::with_capacity(n);
        while packets.len() < n {
            self.talk(
                client,
                b"P0:benchmark-frame-of-about-sixty-bytes-like-real-opus-audio",
            );
            packets.extend(self.capture_from_peer(client).into_iter().map(|(_, p)| p));
            self.advance_clock(Duration::from_micros(100));
        }
        packets.truncate(n);
        packets
    }

    /// The peer address of `client` (benchmarks feed datagrams "from" it).
    pub fn addr_of(&self, client: &ClientId) -> SocketAddr {
        self.peers[client].addr
    }
}

impl Peer {
    /// A datagram from `from` reaches this peer.
    fn receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if let Ok(contents) = bytes.try_into() {
            let input = str0m::Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: self.addr,
                    contents,
                },
            );
            let _ = self.rtc.handle_input(input);
        }
    }
}

/// str0m's next timeout for a peer, polled without losing outputs (peers are drained first).
fn peer_timeout(rtc: &mut Rtc) -> Option<Instant> {
    match rtc.poll_output() {
        Ok(str0m::Output::Timeout(t)) => Some(t),
        _ => None,
    }
}

/// The sender stamped into a frame by [`MediaWorld::talk`] (bytes after the TOC byte, up to ':').
pub fn stamp(frame: &[u8]) -> String {
    let body = frame.get(1..).unwrap_or_default();
    let end = body.iter().position(|b| *b == b':').unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// A VP8 key frame's first bytes, then 120 bytes of `tag` (who sent it: byte 10 on).
pub fn vp8_keyframe(tag: u8) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend(std::iter::repeat_n(tag, 120));
    f
}

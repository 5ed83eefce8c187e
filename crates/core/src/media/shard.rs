//! A media shard: the str0m sessions of some of a family's clients, and the forwarding of what
//! they send to receivers on this shard or on others.
//!
//! A family's media runs on one or more shards. Each shard owns its sessions outright (no
//! locks): datagrams for them arrive on [`ShardInput::Receive`], packets of sources on other
//! shards arrive already decrypted on [`ShardInput::Forward`] (the payload is an `Arc`, shared,
//! never copied), and the family publishes who receives what as a [`RouteTable`]
//! ([`ShardCommand::Table`]). A shard never reads roster state: everything it needs is in its
//! inputs. Like the family it is sans-IO: the server runs each shard as its own task (so a
//! busy family uses every core), the simulation runs them inline, in a fixed order, under the
//! simulated clock.
//!
//! Loop contract: [`Shard::handle_input`] (once, or for a whole batch of inputs), then
//! [`Shard::poll_output`] until [`ShardOutput::Timeout`]; feed [`ShardInput::Timeout`] at that
//! time.

use super::layers::{SlotPref, SourceLayers, LAYERS};
use super::rewrite::Rewrite;
use super::table::RouteTable;
use super::{MediaConfig, Sharing, TALKER_INTERVAL};
use alcove_proto::signal::MediaMids;
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::format::CodecSpec;
use str0m::media::{Mid, Pt, Rid};
use str0m::Rtc;

/// A source that sent no audio for this long counts as silent.
pub(crate) const SILENCE_AFTER: Duration = Duration::from_millis(600);

/// A camera that sent no packet for this long counts as unpublished (a browser sends frames
/// at its capture rate, a still picture included, until the track is removed).
pub(crate) const CAMERA_SILENCE: Duration = Duration::from_millis(1000);

/// What a shard is told.
#[derive(Debug)]
pub enum ShardInput {
    /// A UDP datagram for one of this shard's sessions.
    Receive {
        /// Current time.
        now: Instant,
        /// Sender.
        source: SocketAddr,
        /// The local socket address it arrived on.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// The time asked for by the last [`ShardOutput::Timeout`] (or later) has come.
    Timeout(Instant),
    /// An instruction from the family (or, for keyframes, from another shard).
    Command {
        /// Current time.
        now: Instant,
        /// What to do.
        cmd: ShardCommand,
    },
    /// A packet of a source on another shard, for this shard's receivers.
    Forward {
        /// Current time.
        now: Instant,
        /// The packet.
        packet: Arc<Forwarded>,
    },
}

impl ShardInput {
    /// The current time this input carries.
    pub fn now(&self) -> Instant {
        match self {
            ShardInput::Receive { now, .. }
            | ShardInput::Command { now, .. }
            | ShardInput::Forward { now, .. } => *now,
            ShardInput::Timeout(now) => *now,
        }
    }
}

/// An instruction to a shard.
// `Offer` (its `MediaMids`) is the largest by far, but it is also the one a connection sends
// once; boxing it would only move the size difference to `ShardInput`, `io::Output` and
// `MediaOut`, whose other variants carry whole server frames.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ShardCommand {
    /// Negotiate (or re-negotiate) `client`'s peer connection; answered by
    /// [`MediaEvent::Answer`].
    Offer {
        /// Whose connection.
        client: ClientId,
        /// The `sdpOffer` request id (echoed in the answer).
        id: RequestId,
        /// The offer's SDP.
        sdp: String,
        /// Which m-line is which.
        mids: MediaMids,
    },
    /// `client` left the family: its session ends.
    Remove {
        /// Whose session.
        client: ClientId,
    },
    /// Who receives what from now on.
    Table(Arc<RouteTable>),
    /// Ask `src` (a session of this shard) for a keyframe of its share / canvas.
    RequestKeyframe {
        /// The sharer.
        src: ClientId,
        /// Which of its streams.
        kind: Sharing,
    },
    /// Ask `src` (a session of this shard) for a keyframe of its camera.
    RequestCameraKeyframe {
        /// The camera publisher.
        src: ClientId,
        /// Of this simulcast layer (0 low … 2 high); `None`: of every layer.
        layer: Option<usize>,
    },
    /// `client`'s video slot `slot` is rendered `pref.height` high and wants at most
    /// `pref.max` (`setVideoSlot`).
    VideoSlot {
        /// Whose slot.
        client: ClientId,
        /// Which slot.
        slot: usize,
        /// What it asks for.
        pref: SlotPref,
    },
}

/// What kind of stream a forwarded packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// The microphone; carries the audio level the receivers get.
    Audio {
        /// RFC 6464 level, -127 (silence) … 0 dBov.
        level: i8,
    },
    /// Screen share or canvas.
    Video(Sharing),
    /// A camera (to the video slots that map its publisher).
    Camera {
        /// Its simulcast layer (0 low … 2 high; a camera without simulcast is 2).
        layer: u8,
        /// The packet begins a keyframe (a receiver can switch to this layer here).
        keyframe: bool,
    },
}

/// One decrypted RTP packet of a source, on its way to receivers on other shards.
#[derive(Debug)]
pub struct Forwarded {
    /// The source client.
    pub(crate) src: ClientId,
    /// Audio (with level) or share / canvas.
    pub(crate) kind: StreamKind,
    /// The codec as the source negotiated it (each receiver maps it to its own payload type).
    pub(crate) spec: CodecSpec,
    /// The source's extended sequence number.
    pub(crate) seq: u64,
    /// The source's media time and its clock rate.
    pub(crate) time: u64,
    pub(crate) rate: u32,
    /// RTP marker bit.
    pub(crate) marker: bool,
    /// The payload, shared by every receiver.
    pub(crate) payload: Arc<[u8]>,
}

/// What a shard tells its family.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// The outcome of a [`ShardCommand::Offer`].
    Answer {
        /// Whose connection.
        client: ClientId,
        /// The `sdpOffer` request id.
        id: RequestId,
        /// The negotiated session, or why the offer was refused.
        result: Result<Negotiated, (ErrorCode, String)>,
    },
    /// Microphone loudness of this shard's sessions that changed (every [`TALKER_INTERVAL`],
    /// and at once when a source starts speaking).
    Levels {
        /// (client, smoothed loudness 0–127, when its last audio packet arrived).
        levels: Vec<(ClientId, u8, Option<Instant>)>,
        /// True when a source just started speaking: re-map talkers now.
        urgent: bool,
    },
    /// Cameras of this shard's sessions that started or stopped sending (a camera counts as
    /// published while its packets arrive, stopped after [`CAMERA_SILENCE`] without any).
    Cameras {
        /// (client, its camera sends now).
        live: Vec<(ClientId, bool)>,
    },
}

/// A negotiated (or re-negotiated) peer connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    /// The SDP answer.
    pub sdp: String,
    /// False when this was a new session; true for a re-offer of an existing one.
    pub renegotiated: bool,
    /// The session publishes a microphone.
    pub has_mic: bool,
    /// Its number of audio slots.
    pub audio_slots: usize,
    /// Its number of camera receive slots.
    pub video_slots: usize,
}

/// What a shard asks of its host.
#[derive(Debug)]
pub enum ShardOutput {
    /// Send a UDP datagram.
    Transmit {
        /// Local address to send from.
        source: SocketAddr,
        /// Where to.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// Deliver this input to another shard of the same family.
    ToShard {
        /// Which shard.
        shard: usize,
        /// What to give it ([`ShardInput::Forward`] or a keyframe command).
        input: ShardInput,
    },
    /// Tell the family.
    Event(MediaEvent),
    /// A session now answers to this ICE username fragment: route datagrams whose STUN
    /// USERNAME starts with it (and what then comes from that address) to this shard.
    IceBound {
        /// The client.
        client: ClientId,
        /// The server-side ICE ufrag.
        ufrag: String,
        /// The server-side ICE password (the demux checks STUN integrity with it before it
        /// learns an address; never logged).
        pass: String,
    },
    /// The ICE ufrag is no longer used.
    IceUnbound {
        /// The ufrag.
        ufrag: String,
    },
    /// Nothing more to do until this instant (feed [`ShardInput::Timeout`] then).
    Timeout(Instant),
}

/// The mids of one session, resolved.
#[derive(Debug, Clone, Default)]
pub(super) struct Mids {
    pub(super) mic: Option<Mid>,
    pub(super) share: Option<Mid>,
    pub(super) canvas: Option<Mid>,
    pub(super) audio_slots: Vec<Mid>,
    pub(super) share_slot: Option<Mid>,
    pub(super) canvas_slot: Option<Mid>,
    pub(super) camera: Option<Mid>,
    pub(super) video_slots: Vec<Mid>,
}

/// One client's peer connection and the state of what it sends and receives.
pub(super) struct Session {
    pub(super) rtc: Rtc,
    pub(super) ufrag: String,
    pub(super) mids: Mids,
    /// Audio slot → its sequence / time rewrite (lives as long as the session).
    pub(super) rewrite: Vec<Rewrite>,
    pub(super) video_rewrite: BTreeMap<Sharing, Rewrite>,
    /// The last sequence number received on this client's own share / canvas (to notice a
    /// gap and ask for a keyframe).
    pub(super) video_in_seq: BTreeMap<Sharing, u64>,
    /// Smoothed loudness of this client's microphone, 0–127.
    pub(super) loudness: f32,
    pub(super) last_audio: Option<Instant>,
    /// What the family was last told of this session's loudness.
    pub(super) reported: Option<(u8, Option<Instant>)>,
    pub(super) last_keyframe_request: BTreeMap<Sharing, Instant>,
    /// Camera slot → its sequence / time rewrite (video rules: see `Rewrite::video`).
    pub(super) camera_rewrite: Vec<Rewrite>,
    /// The last sequence number received on each layer of this client's own camera.
    pub(super) camera_in_seq: [Option<u64>; LAYERS],
    /// The RID of each layer of this client's own camera, as it arrives (`None`: no
    /// simulcast).
    pub(super) camera_rids: [Option<Rid>; LAYERS],
    /// When this client's camera last sent a packet, and whether the family was told it is
    /// live.
    pub(super) last_camera: Option<Instant>,
    pub(super) camera_reported: bool,
    /// When a keyframe of each layer of this client's camera was last asked for.
    pub(super) last_camera_keyframe: [Option<Instant>; LAYERS],
    /// Per video slot: what the receiver asked for (`setVideoSlot`).
    pub(super) video_prefs: Vec<SlotPref>,
    /// Per video slot: the layer forwarded now, and the one chosen (switched to at its next
    /// keyframe).
    pub(super) layer_current: Vec<Option<usize>>,
    pub(super) layer_target: Vec<Option<usize>>,
    /// Congestion on the path to this client, from its receiver reports (receivers of camera
    /// video only): the budget its video slots share.
    pub(super) congestion: super::congestion::Congestion,
    /// When this client's layers are next re-chosen.
    pub(super) next_alloc: Instant,
    /// A codec (as a source negotiated it) → this session's payload type for it; filled on
    /// first use, since the two sides of a forward may number a codec differently.
    pub(super) send_pts: Vec<(CodecSpec, Option<Pt>)>,
    /// When str0m wants to be woken (mirrored in [`Shard::timers`]).
    pub(super) timeout: Instant,
    /// Written to since it was last polled (mirrored in [`Shard::dirty`]).
    pub(super) dirty: bool,
    /// The SRTP keys this session's DTLS handshake exports (`srtp.rs`; `None`: audio goes
    /// through str0m).
    pub(super) keys: Option<super::srtp::KeySlot>,
    /// The direct send path of the audio slots (`srtp.rs`).
    pub(super) direct: Direct,
    /// The path (local, remote address) DTLS or SRTP last travelled on, either way.
    pub(super) path: Option<(SocketAddr, SocketAddr)>,
    /// Per audio slot: its SSRC and header extensions on the direct path (filled on first
    /// use).
    pub(super) direct_slots: Vec<Option<(u32, super::srtp::AudioExts)>>,
}

/// Whether a session's audio slots send directly (`srtp.rs`) or through str0m.
#[derive(Debug)]
pub(super) enum Direct {
    /// Not yet: the handshake has not exported its keys.
    Waiting,
    /// Sealed and sent here.
    Ready(super::srtp::SrtpTx),
    /// Through str0m for the session's life (`--str0m-audio-send`, or an SRTP profile the
    /// direct path does not implement).
    Off,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("ufrag", &self.ufrag)
            .finish()
    }
}

impl Session {
    /// This session's payload type for `spec`, if it negotiated that codec.
    pub(super) fn send_pt(&mut self, spec: CodecSpec) -> Option<Pt> {
        if let Some((_, pt)) = self.send_pts.iter().find(|(s, _)| *s == spec) {
            return *pt;
        }
        let params = str0m::format::PayloadParams::new(Pt::new_with_value(0), None, spec);
        let pt = self.rtc.codec_config().match_params(params).map(|p| p.pt());
        self.send_pts.push((spec, pt));
        pt
    }

    /// The loudness the family should use now (0 once silent for [`SILENCE_AFTER`]).
    pub(super) fn loudness_now(&self, now: Instant) -> u8 {
        let fresh = self
            .last_audio
            .is_some_and(|t| now.saturating_duration_since(t) < SILENCE_AFTER);
        if fresh {
            self.loudness.clamp(0.0, 127.0) as u8
        } else {
            0
        }
    }
}

/// The sessions of one shard of a family. See the module documentation.
#[derive(Debug)]
pub struct Shard {
    pub(super) index: usize,
    pub(super) config: MediaConfig,
    pub(super) sessions: BTreeMap<ClientId, Session>,
    pub(super) table: Arc<RouteTable>,
    /// Every session's str0m deadline, earliest first: a timer wakes only the sessions due.
    pub(super) timers: BTreeSet<(Instant, ClientId)>,
    /// Sessions written to since they were last polled.
    pub(super) dirty: Vec<ClientId>,
    /// The session each remote address last reached (demultiplexing cache).
    pub(super) by_addr: HashMap<SocketAddr, ClientId>,
    /// When loudness is next reported to the family.
    pub(super) next_levels: Option<Instant>,
    /// The live simulcast layers of the cameras whose packets this shard forwards.
    pub(super) sources: HashMap<ClientId, SourceLayers>,
    pub(super) outputs: VecDeque<ShardOutput>,
    /// Video budgets cut on congestion evidence, by all of this shard's receivers, ever.
    pub(super) congestion_cuts: u64,
    /// Audio packets forwarded on the direct path (`srtp.rs`) and through str0m, ever.
    pub(super) audio_direct: u64,
    pub(super) audio_str0m: u64,
    last_now: Instant,
}

impl Shard {
    /// Shard `index` of a family whose media arrives as `config` says, created at `now`.
    pub fn new(index: usize, config: MediaConfig, now: Instant) -> Shard {
        // Installs str0m's crypto provider for the process; idempotent, no I/O.
        str0m::crypto::from_feature_flags().install_process_default();
        Shard {
            index,
            config,
            sessions: BTreeMap::new(),
            table: Arc::new(RouteTable::default()),
            timers: BTreeSet::new(),
            dirty: Vec::new(),
            by_addr: HashMap::new(),
            next_levels: None,
            sources: HashMap::new(),
            outputs: VecDeque::new(),
            congestion_cuts: 0,
            audio_direct: 0,
            audio_str0m: 0,
            last_now: now,
        }
    }

    /// How many times a receiver's video budget was cut on congestion evidence on this shard
    /// (`congestion.rs`), since it started.
    pub fn congestion_cuts(&self) -> u64 {
        self.congestion_cuts
    }

    /// Audio packets this shard forwarded since it started: (sealed on the direct path,
    /// through str0m's send streams).
    pub fn audio_forwarded(&self) -> (u64, u64) {
        (self.audio_direct, self.audio_str0m)
    }

    /// This shard's index in its family.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of sessions on this shard.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Applies one input. Follow with [`Shard::poll_output`] until [`ShardOutput::Timeout`],
    /// after this input or after a batch of them.
    pub fn handle_input(&mut self, input: ShardInput) {
        // Time never runs backwards inside a shard.
        let now = self.last_now.max(input.now());
        self.last_now = now;
        match input {
            ShardInput::Receive {
                source,
                destination,
                contents,
                ..
            } => self.receive(now, source, destination, &contents),
            ShardInput::Timeout(_) => {
                self.timeout(now);
                if self.next_levels.is_some_and(|t| t <= now) {
                    self.report_levels(now, false);
                }
            }
            ShardInput::Command { cmd, .. } => match cmd {
                ShardCommand::Offer {
                    client,
                    id,
                    sdp,
                    mids,
                } => self.offer(now, client, id, &sdp, &mids),
                ShardCommand::Remove { client } => self.remove(&client),
                ShardCommand::Table(t) => self.set_table(t),
                ShardCommand::RequestKeyframe { src, kind } => {
                    self.request_keyframe(&src, kind, now)
                }
                ShardCommand::RequestCameraKeyframe { src, layer } => {
                    self.request_camera_keyframe(&src, layer, now)
                }
                ShardCommand::VideoSlot { client, slot, pref } => {
                    if let Some(p) = self
                        .sessions
                        .get_mut(&client)
                        .and_then(|s| s.video_prefs.get_mut(slot))
                    {
                        *p = pref;
                        self.allocate(&client, now);
                    }
                }
            },
            ShardInput::Forward { packet, .. } => self.deliver(&packet, now),
        }
    }

    /// The next output; [`ShardOutput::Timeout`] when there is nothing more to do now.
    ///
    /// The receivers written to by the inputs since the last poll are polled here, once each,
    /// however many packets each was given: a host that hands a shard a whole batch of
    /// inputs before polling (the server does, per wake-up) pays str0m's per-poll pass once
    /// per receiver and batch, not once per packet.
    pub fn poll_output(&mut self) -> ShardOutput {
        if !self.dirty.is_empty() {
            self.flush_dirty(self.last_now);
        }
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        ShardOutput::Timeout(self.next_deadline())
    }

    /// True when one of this shard's sessions takes this datagram (used by a host that
    /// demultiplexes by trying; the server demultiplexes by ufrag instead).
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        let Ok(contents) = contents.try_into() else {
            return false;
        };
        let input = str0m::Input::Receive(
            self.last_now,
            str0m::net::Receive {
                proto: str0m::net::Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        if let Some(s) = self.by_addr.get(&source).and_then(|c| self.sessions.get(c)) {
            if s.rtc.accepts(&input) {
                return true;
            }
        }
        self.sessions.values().any(|s| s.rtc.accepts(&input))
    }

    fn next_deadline(&self) -> Instant {
        let far = self.last_now + Duration::from_secs(3600);
        let s = self.timers.first().map(|(t, _)| *t).unwrap_or(far);
        match self.next_levels {
            Some(l) => s.min(l),
            None => s,
        }
    }

    /// Records that `client`'s session was written to and must be polled.
    pub(super) fn mark_dirty(&mut self, client: &ClientId) {
        if let Some(s) = self.sessions.get_mut(client) {
            if !s.dirty {
                s.dirty = true;
                self.dirty.push(client.clone());
            }
        }
    }

    /// Takes a newly published table. A slot whose source the table no longer maps there is
    /// told (`Rewrite::unmap`), so the source coming back later continues the slot's sequence
    /// instead of leaving a gap the size of its absence.
    fn set_table(&mut self, t: Arc<RouteTable>) {
        let mut mapped: std::collections::HashSet<(&ClientId, usize, &ClientId)> =
            std::collections::HashSet::new();
        for (src, per_shard) in &t.audio {
            if let Some(targets) = per_shard.get(self.index) {
                for (rx, slot) in targets {
                    mapped.insert((rx, *slot, src));
                }
            }
        }
        for (rx, r) in self.sessions.iter_mut() {
            for (slot, rw) in r.rewrite.iter_mut().enumerate() {
                if let Some(src) = rw.source() {
                    if !mapped.contains(&(rx, slot, src)) {
                        rw.unmap();
                    }
                }
            }
            for (kind, rw) in r.video_rewrite.iter_mut() {
                if let Some(src) = rw.source() {
                    if t.video_src.get(&(rx.clone(), *kind)) != Some(src) {
                        rw.unmap();
                    }
                }
            }
            for (slot, rw) in r.camera_rewrite.iter_mut().enumerate() {
                let shown = t.camera_src.get(&(rx.clone(), slot));
                if self.table.camera_src.get(&(rx.clone(), slot)) != shown {
                    // Another publisher (or none): the slot starts again at a keyframe.
                    if let Some(c) = r.layer_current.get_mut(slot) {
                        *c = None;
                    }
                }
                if let Some(src) = rw.source() {
                    if shown != Some(src) {
                        rw.unmap();
                    }
                }
            }
        }
        // Cameras no receiver here shows any more are forgotten (measured again when back).
        self.sources.retain(|src, _| {
            t.camera
                .get(src)
                .and_then(|v| v.get(self.index))
                .is_some_and(|l| !l.is_empty())
        });
        self.table = t;
        self.allocate_all(self.last_now);
    }

    fn remove(&mut self, client: &ClientId) {
        if let Some(s) = self.sessions.remove(client) {
            self.timers.remove(&(s.timeout, client.clone()));
            self.by_addr.retain(|_, c| c != client);
            self.outputs
                .push_back(ShardOutput::IceUnbound { ufrag: s.ufrag });
        }
    }

    /// Tells the family the loudness (and last audio time) of every microphone session whose
    /// report changed since it was last told; keeps reporting every [`TALKER_INTERVAL`] while
    /// any session has sent audio within [`SILENCE_AFTER`].
    pub(super) fn report_levels(&mut self, now: Instant, urgent: bool) {
        let mut levels = Vec::new();
        let mut live = false;
        for (c, s) in &mut self.sessions {
            if s.mids.mic.is_none() {
                continue;
            }
            let l = s.loudness_now(now);
            if l > 0 {
                live = true;
            }
            let report = (l, s.last_audio);
            // The family ages `last_audio` itself (silent after SILENCE_AFTER), so a source
            // that keeps sending is reported on every tick, a silent one once.
            if s.reported != Some(report) {
                s.reported = Some(report);
                levels.push((c.clone(), l, s.last_audio));
            }
        }
        let mut cameras = Vec::new();
        for (c, s) in &mut self.sessions {
            let on = s
                .last_camera
                .is_some_and(|t| now.saturating_duration_since(t) < CAMERA_SILENCE);
            live |= on;
            if on != s.camera_reported {
                s.camera_reported = on;
                cameras.push((c.clone(), on));
            }
        }
        self.next_levels = live.then(|| now + TALKER_INTERVAL);
        if !levels.is_empty() {
            self.outputs
                .push_back(ShardOutput::Event(MediaEvent::Levels { levels, urgent }));
        }
        if !cameras.is_empty() {
            self.outputs
                .push_back(ShardOutput::Event(MediaEvent::Cameras { live: cameras }));
        }
    }
}

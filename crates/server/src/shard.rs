//! Media shards: the tasks that own a family's peer connections.
//!
//! ```text
//!   udp::recv_loop ──ShardMsg::Datagrams──► shard task i ──Transmit──► TxBatch → sendmmsg
//!   family task ──ShardMsg::Input(Command)─►  (alcove_core::media::shard::Shard)
//!   shard task j ─ShardMsg::Input(Forward)─►    │
//!   family task ◄──FamilyMsg::Media(event)──────┘
//! ```
//!
//! Each family runs `--media-shards` shard tasks (default: one per core). A client's session
//! lives on one shard for its whole life; the family spreads new sessions over the shards
//! (least loaded first). Datagrams go from the socket reader straight to the shard that holds
//! the session (the demux binds each ufrag to its shard), packets for receivers on other
//! shards cross as one `Arc`-shared message per shard, and only negotiation answers and
//! loudness reports go to the family task. The tokio runtime runs the tasks on every core, so
//! one busy family uses more than one.

use crate::driver::{FamilyMsg, MediaShell};
use crate::udp::{DatagramBatch, Inflight, TxBatch};
use alcove_core::media::shard::{Shard, ShardCommand, ShardInput, ShardOutput};
use alcove_proto::RoomId;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A message to a shard task.
// `Input` is large (a `ShardCommand::Offer` carries the offer's `MediaMids`) and also the
// common message (every packet forwarded between shards): boxing it would allocate per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ShardMsg {
    /// The datagrams of one read batch for this shard's sessions; their bytes count against
    /// the shard's bound until the task takes them.
    Datagrams(DatagramBatch),
    /// A command of the family, or a packet / keyframe request from a sibling shard.
    Input(ShardInput),
    /// The family ended: stop.
    End,
}

/// Where the socket reader sends a shard's datagrams: its queue and the bytes queued in it.
#[derive(Debug)]
pub struct ShardSink {
    /// The shard task's queue.
    pub tx: mpsc::UnboundedSender<ShardMsg>,
    /// Bytes of datagrams read for this shard and not taken yet (the reader's bound).
    pub inflight: Inflight,
    /// Datagrams the reader dropped because `inflight` was at its bound (`/metrics`).
    pub dropped: metrics::Counter,
}

/// The shards of one family, as its task sees them.
pub struct FamilyShards {
    sinks: Vec<Arc<ShardSink>>,
}

impl FamilyShards {
    /// Starts `n` shard tasks for `room`'s family; their reports go to `family`.
    pub fn spawn(
        room: &RoomId,
        n: usize,
        shell: &MediaShell,
        family: mpsc::UnboundedSender<FamilyMsg>,
        metrics: &crate::metrics::Metrics,
    ) -> FamilyShards {
        let config = alcove_core::media::MediaConfig {
            candidate: shell.candidate,
            local: shell.local,
            tcp_candidate: shell.tcp.as_ref().map(|t| t.candidate),
            str0m_audio: shell.str0m_audio,
        };
        let mut receivers = Vec::new();
        let mut sinks = Vec::new();
        for _ in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            receivers.push(rx);
            sinks.push(Arc::new(ShardSink {
                tx,
                inflight: Inflight::default(),
                dropped: metrics.shard(sinks.len()).dropped,
            }));
        }
        let siblings: Arc<Vec<Arc<ShardSink>>> = Arc::new(sinks.clone());
        for (i, rx) in receivers.into_iter().enumerate() {
            let task = ShardTask {
                room: room.clone(),
                shard: Shard::new(i, config, std::time::Instant::now()),
                sink: Arc::clone(&siblings[i]),
                siblings: Arc::clone(&siblings),
                family: family.clone(),
                shell: shell.clone(),
                tx: TxBatch::default(),
                counters: metrics.shard(i),
                congestion_cuts: 0,
                audio_forwarded: (0, 0),
                transmitted: 0,
                relay_addrs: HashSet::new(),
                counted: HashSet::new(),
            };
            let span = tracing::info_span!("shard", room = %room, shard = i);
            tokio::spawn(tracing::Instrument::instrument(task.run(rx), span));
        }
        FamilyShards { sinks }
    }

    /// Gives `input` to shard `i`.
    pub fn send(&self, i: usize, input: ShardInput) {
        if let Some(s) = self.sinks.get(i) {
            let _ = s.tx.send(ShardMsg::Input(input));
        }
    }

    /// Stops every shard task (their sessions were removed before).
    pub fn end(&self) {
        for s in &self.sinks {
            let _ = s.tx.send(ShardMsg::End);
        }
    }
}

struct ShardTask {
    room: RoomId,
    shard: Shard,
    sink: Arc<ShardSink>,
    siblings: Arc<Vec<Arc<ShardSink>>>,
    family: mpsc::UnboundedSender<FamilyMsg>,
    shell: MediaShell,
    /// Transmits of the current wake-up, sent together.
    tx: TxBatch,
    /// This shard index's datagram counters (`/metrics`).
    counters: crate::metrics::ShardCounters,
    /// The shard's congestion cuts already counted in [`Self::counters`].
    congestion_cuts: u64,
    /// The shard's audio packets (direct, through str0m) already counted.
    audio_forwarded: (u64, u64),
    /// Datagrams sent in the current wake-up: added to the shared counter once per wake-up
    /// (the counter is shared by shard `i` of every family).
    transmitted: u64,
    /// Relayed candidates of the offers this shard negotiated (to tell relayed clients).
    relay_addrs: HashSet<SocketAddr>,
    /// Client addresses whose path was counted already.
    counted: HashSet<SocketAddr>,
}

/// Most addresses a shard remembers for path counting (then it starts over).
const PATH_MEMORY: usize = 4096;

/// Most messages a shard takes from its queue before it polls its sessions' outputs and sends
/// (a wake-up handles a burst as one batch, and still sends at least this often).
const MSGS_PER_WAKE: usize = 64;

impl ShardTask {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ShardMsg>) {
        let mut deadline = Instant::now() + std::time::Duration::from_secs(3600);
        'run: loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    if !self.take(msg) {
                        break;
                    }
                    // Whatever else is already queued goes in the same wake-up.
                    for _ in 1..MSGS_PER_WAKE {
                        match rx.try_recv() {
                            Ok(msg) => {
                                if !self.take(msg) {
                                    break 'run;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.shard.handle_input(ShardInput::Timeout(Instant::now().into_std()));
                }
            }
            deadline = self.drain();
            self.tx.flush(&self.shell.socket);
            self.counters
                .transmitted
                .increment(std::mem::take(&mut self.transmitted));
            let cuts = self.shard.congestion_cuts();
            self.counters
                .congestion_cuts
                .increment(cuts - self.congestion_cuts);
            self.congestion_cuts = cuts;
            let (direct, str0m) = self.shard.audio_forwarded();
            self.counters
                .audio_direct
                .increment(direct - self.audio_forwarded.0);
            self.counters
                .audio_str0m
                .increment(str0m - self.audio_forwarded.1);
            self.audio_forwarded = (direct, str0m);
        }
        self.drain();
        self.tx.flush(&self.shell.socket);
    }

    /// Counts the path of a client address the first time it carries DTLS or SRTP (not
    /// STUN: only the nominated path does), and logs it.
    fn count_path(&mut self, d: &crate::udp::Datagram) {
        let first = d.contents.first().copied().unwrap_or(0);
        if !(20..=63).contains(&first) && !(128..=191).contains(&first) {
            return;
        }
        if self.counted.contains(&d.source) {
            return;
        }
        if self.counted.len() > PATH_MEMORY {
            self.counted.clear();
        }
        self.counted.insert(d.source);
        let paths = &self.shell.paths;
        let (path, counter) = if d.tcp {
            ("tcp", &paths.tcp)
        } else if self.relay_addrs.contains(&d.source) {
            ("relay", &paths.relay)
        } else {
            ("udp", &paths.udp)
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(path, "media path in use");
    }

    /// Applies one message; false on `End`.
    fn take(&mut self, msg: ShardMsg) -> bool {
        let now = Instant::now().into_std();
        match msg {
            ShardMsg::Datagrams(batch) => {
                self.sink.inflight.release(batch.reserved);
                self.counters
                    .received
                    .increment(batch.datagrams.len() as u64);
                for d in batch.datagrams {
                    self.count_path(&d);
                    // A TCP packet arrives "on" the TCP candidate (str0m matches it).
                    let destination = match (&self.shell.tcp, d.tcp) {
                        (Some(t), true) => t.candidate,
                        _ => self.shell.local,
                    };
                    self.shard.handle_input(ShardInput::Receive {
                        now,
                        source: d.source,
                        destination,
                        contents: d.contents,
                    });
                }
            }
            ShardMsg::Input(input) => {
                if let ShardInput::Command {
                    cmd: ShardCommand::Offer { sdp, .. },
                    ..
                } = &input
                {
                    if self.relay_addrs.len() > PATH_MEMORY {
                        self.relay_addrs.clear();
                    }
                    self.relay_addrs
                        .extend(crate::udp::stats::relay_candidates(sdp));
                }
                self.shard.handle_input(input)
            }
            ShardMsg::End => return false,
        }
        true
    }

    /// Acts on every output of the shard; returns its next deadline.
    fn drain(&mut self) -> Instant {
        loop {
            match self.shard.poll_output() {
                ShardOutput::Timeout(at) => {
                    let wait = at.saturating_duration_since(std::time::Instant::now());
                    return Instant::now() + wait;
                }
                ShardOutput::Transmit {
                    source,
                    destination,
                    contents,
                } => {
                    // ICE over TCP: to the client's connection (bounded queue, never waits).
                    if let Some(t) = self.shell.tcp.as_ref().filter(|t| t.candidate == source) {
                        t.conns.send(destination, &contents);
                        continue;
                    }
                    // UDP: a full socket buffer drops the datagram (counted), as the network
                    // would; the send never waits.
                    self.tx.push(destination, contents);
                    self.transmitted += 1;
                    if self.tx.len() >= crate::udp::batch::TX_FLUSH_AT {
                        self.tx.flush(&self.shell.socket);
                    }
                }
                ShardOutput::ToShard { shard, input } => {
                    if let Some(s) = self.siblings.get(shard) {
                        let _ = s.tx.send(ShardMsg::Input(input));
                    }
                }
                ShardOutput::Event(event) => {
                    let _ = self.family.send(FamilyMsg::Media(event));
                }
                ShardOutput::IceBound { ufrag, pass, .. } => {
                    self.shell
                        .demux
                        .bind(ufrag, &pass, self.room.clone(), Arc::clone(&self.sink));
                }
                ShardOutput::IceUnbound { ufrag } => self.shell.demux.unbind(&ufrag),
            }
        }
    }
}

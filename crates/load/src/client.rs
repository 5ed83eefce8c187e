//! One synthetic client: a real SDK connection (REST token, WebSocket signalling, one str0m
//! peer connection with ICE and DTLS-SRTP) driven by one task.
//!
//! The task owns the client's [`Media`] and [`Events`] and does everything per frame itself:
//! it sends a stamped Opus frame every 20 ms while talking (one reused buffer), and for every
//! frame it receives it parses the stamp and updates whatever the scenario asked for — a log
//! of arrivals, per-sender loss/jitter/latency counters for a measurement window, or a waiter
//! for the first frame from a set of senders. The scenario talks to the task through [`Ctl`]
//! messages, so nothing is shared and nothing is locked per frame.

use crate::payload::{self, Clock, FrameBuf, Stamp};
use crate::stats::Jitter;
use crate::target::Target;
use alcove_client::media::{Media, MediaState, ReceivedFrame};
use alcove_client::proto::api::CreateTokenRequest;
use alcove_client::proto::signal::{Role, ServerFrame, ServerMessage};
use alcove_client::proto::{ClientId, RoomId};
use alcove_client::{Events, Room};
use anyhow::Context;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// One frame every 20 ms: 50 frames per second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);
/// Frames handled per wake-up of a client's task, at most (besides the one that woke it).
const RECV_BATCH: usize = 63;
/// How long ICE + DTLS may take before a connect counts as failed.
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(15);

/// What kind of client to start.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Index in the run; stamped into every frame this client sends.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Role in the parent room.
    pub role: Role,
    /// Negotiate a peer connection (a client without one only signals).
    pub media: bool,
    /// Audio receive slots to negotiate (`None`: the room's `max_active_talkers`).
    pub slots: Option<usize>,
    /// RFC 6464 level of the frames it sends (0 loudest … −127 silence).
    pub level: i8,
    /// Talk from the start.
    pub talking: bool,
    /// Log every received frame from the start (see [`Ctl::StartLog`]).
    pub log: bool,
}

/// How long each step of a connect took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConnectTimings {
    /// `POST /v1/rooms/{id}/tokens`.
    pub token: Duration,
    /// WebSocket + `connect` → `roomConnected`.
    pub signal: Duration,
    /// `sdpOffer` → `sdpAnswer`.
    pub sdp: Duration,
    /// ICE + DTLS until str0m reports connected.
    pub ice_dtls: Duration,
    /// When the connect began.
    pub started: Option<Instant>,
}

impl ConnectTimings {
    /// Token to connected, all steps.
    pub fn total(&self) -> Duration {
        self.token + self.signal + self.sdp + self.ice_dtls
    }
}

/// One received frame, as logged: who sent it, its number, when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// Sender index.
    pub sender: u32,
    /// Sender's sequence number.
    pub seq: u32,
    /// Send time stamped by the sender, nanoseconds since the run's epoch.
    pub sent_ns: u64,
    /// Arrival, nanoseconds since the run's epoch.
    pub at_ns: u64,
}

/// Counters of one sender's stream at one receiver, inside the measurement window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamStats {
    /// Frames received that were sent inside the window.
    pub received: u64,
    /// RFC 3550 interarrival jitter.
    pub jitter: Jitter,
}

/// A measurement window over send times, `[start_ns, end_ns)`.
#[derive(Debug, Clone, Default)]
pub struct WindowStats {
    /// Window start (send time, ns since the epoch).
    pub start_ns: u64,
    /// Window end (send time, ns since the epoch).
    pub end_ns: u64,
    /// Frames this client sent inside the window.
    pub sent: u64,
    /// Per sender index.
    pub streams: Vec<StreamStats>,
    /// End-to-end latency of every frame received from inside the window, in microseconds.
    pub latency_us: Vec<u32>,
}

/// What a client saw, handed back by [`SimClient::summary`].
#[derive(Debug, Clone, Default)]
pub struct ClientSummary {
    /// Index in the run.
    pub index: u32,
    /// Frames sent since the start.
    pub sent: u64,
    /// Frames received since the start.
    pub received: u64,
    /// Received frames without this tool's stamp.
    pub foreign: u64,
    /// The measurement window, if one was set.
    pub window: Option<WindowStats>,
    /// Last forced or requested `connectedBreakoutRoom`: when, and which room.
    pub joined_breakout: Option<(Instant, RoomId)>,
    /// Last `didDisconnectedBreakoutRoom` (this client back in the parent).
    pub left_breakout: Option<Instant>,
    /// The server closed the connection (`roomDisconnected` or the socket ended).
    pub closed: bool,
    /// Peer connection facts (connected, ICE disconnects).
    pub media: MediaState,
}

/// A condition a scenario waits for (see [`SimClient::until`]).
#[derive(Debug, Clone)]
pub enum Until {
    /// A frame from any of these senders that arrives at or after `after`.
    FrameFrom {
        /// Sender indices.
        senders: Vec<u32>,
        /// Earliest arrival that counts.
        after: Instant,
    },
    /// A `connectedBreakoutRoom` received at or after `after`.
    JoinedBreakout {
        /// Earliest that counts.
        after: Instant,
    },
    /// A `didDisconnectedBreakoutRoom` received at or after `after`.
    LeftBreakout {
        /// Earliest that counts.
        after: Instant,
    },
}

/// Instructions to a client's task.
#[derive(Debug)]
pub enum Ctl {
    /// Start or stop sending frames.
    Talk(bool),
    /// Clear the arrival log and start logging every received frame.
    StartLog,
    /// Hand over the log and stop logging.
    TakeLog(oneshot::Sender<Vec<LogEntry>>),
    /// Count frames sent in `[start_ns, end_ns)` (send time) from now on; `senders` sizes
    /// the per-sender table.
    Window {
        /// Window start, ns since the epoch.
        start_ns: u64,
        /// Window end, ns since the epoch.
        end_ns: u64,
        /// Number of clients in the run.
        senders: usize,
    },
    /// Answer with the time the condition became true.
    Until(Until, oneshot::Sender<Instant>),
    /// Answer with everything counted so far.
    Summary(oneshot::Sender<ClientSummary>),
}

/// A connected synthetic client; its task runs until [`SimClient::close`] or until dropped.
#[derive(Debug)]
pub struct SimClient {
    /// Index in the run.
    pub index: u32,
    /// Assigned by the server at connect.
    pub client_id: ClientId,
    /// The parent-room handle (break-out calls for moderators).
    pub room: Room,
    ctl: mpsc::UnboundedSender<Ctl>,
    task: JoinHandle<()>,
}

impl SimClient {
    /// Gets a token, connects, negotiates media and waits for ICE + DTLS; then starts the
    /// client's task. Fails when any step fails or media does not connect in time.
    pub async fn connect(
        target: &Target,
        room_id: &RoomId,
        spec: ClientSpec,
        clock: Clock,
    ) -> anyhow::Result<(SimClient, ConnectTimings)> {
        let started = Instant::now();
        let mut t = ConnectTimings {
            started: Some(started),
            ..ConnectTimings::default()
        };
        let req = CreateTokenRequest {
            name: spec.name.clone(),
            role: spec.role,
            user_ref: format!("load-{}", spec.index),
            data: serde_json::Value::Null,
        };
        let token = target
            .rest
            .create_token(room_id, &req)
            .await
            .with_context(|| format!("{}: token", spec.name))?;
        let mark = Instant::now();
        t.token = mark - started;
        let (room, events) = alcove_client::connect(&target.signal_url, &token.token)
            .await
            .with_context(|| format!("{}: connect", spec.name))?;
        let mark2 = Instant::now();
        t.signal = mark2 - mark;
        let media = if spec.media {
            let mut media = room
                .start_media(target.bind_ip, spec.slots)
                .await
                .with_context(|| format!("{}: sdpOffer", spec.name))?;
            let mark3 = Instant::now();
            t.sdp = mark3 - mark2;
            if !media.wait_connected(MEDIA_TIMEOUT).await {
                anyhow::bail!("{}: ICE + DTLS not up within {MEDIA_TIMEOUT:?}", spec.name);
            }
            t.ice_dtls = mark3.elapsed();
            Some(media)
        } else {
            None
        };
        let (ctl, rx) = mpsc::unbounded_channel();
        let client_id = room.client_id().clone();
        let task = tokio::spawn(run(Task::new(&spec, clock), media, events, rx));
        Ok((
            SimClient {
                index: spec.index,
                client_id,
                room,
                ctl,
                task,
            },
            t,
        ))
    }

    /// Sends an instruction (ignored once the task has ended).
    pub fn ctl(&self, c: Ctl) {
        let _ = self.ctl.send(c);
    }

    /// Starts or stops talking.
    pub fn talk(&self, on: bool) {
        self.ctl(Ctl::Talk(on));
    }

    /// Waits (at most `timeout`) until `cond` holds; the instant it became true.
    pub async fn until(&self, cond: Until, timeout: Duration) -> Option<Instant> {
        wait(self.watch(cond), timeout).await
    }

    /// Registers `cond` now and returns the answer to await later (see [`wait`]): for
    /// conditions that a request sent after this call will make true.
    pub fn watch(&self, cond: Until) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.ctl(Ctl::Until(cond, tx));
        rx
    }

    /// The arrival log since [`Ctl::StartLog`] (logging stops).
    pub async fn take_log(&self) -> Vec<LogEntry> {
        let (tx, rx) = oneshot::channel();
        self.ctl(Ctl::TakeLog(tx));
        rx.await.unwrap_or_default()
    }

    /// Everything counted so far.
    pub async fn summary(&self) -> ClientSummary {
        let (tx, rx) = oneshot::channel();
        self.ctl(Ctl::Summary(tx));
        rx.await.unwrap_or_else(|_| ClientSummary {
            index: self.index,
            closed: true,
            ..ClientSummary::default()
        })
    }

    /// Stops the task (closing the peer connection) and closes the signalling connection.
    pub async fn close(self) {
        drop(self.ctl);
        let _ = self.task.await;
        self.room.close().await;
    }
}

/// Awaits a [`SimClient::watch`] answer for at most `timeout`.
pub async fn wait(rx: oneshot::Receiver<Instant>, timeout: Duration) -> Option<Instant> {
    tokio::time::timeout(timeout, rx).await.ok()?.ok()
}

/// The per-client state the task owns.
struct Task {
    clock: Clock,
    index: u32,
    level: i8,
    talking: bool,
    /// Send schedule offset inside the 20 ms period, so clients do not all send at once.
    phase: Duration,
    frame: FrameBuf,
    seq: u32,
    summary: ClientSummary,
    log: Option<Vec<LogEntry>>,
    waiters: Vec<(Until, oneshot::Sender<Instant>)>,
}

impl Task {
    fn new(spec: &ClientSpec, clock: Clock) -> Task {
        // Golden-ratio spread of the send phases over the frame interval.
        let frac = (f64::from(spec.index) * 0.618_033_988_75).fract();
        Task {
            clock,
            index: spec.index,
            level: spec.level,
            talking: spec.talking,
            phase: FRAME_INTERVAL.mul_f64(frac),
            frame: FrameBuf::new(),
            seq: 0,
            summary: ClientSummary {
                index: spec.index,
                ..ClientSummary::default()
            },
            log: spec.log.then(|| Vec::with_capacity(4096)),
            waiters: Vec::new(),
        }
    }

    fn control(&mut self, c: Ctl) {
        match c {
            Ctl::Talk(on) => self.talking = on,
            Ctl::StartLog => match &mut self.log {
                Some(l) => l.clear(),
                None => self.log = Some(Vec::with_capacity(4096)),
            },
            Ctl::TakeLog(tx) => {
                let _ = tx.send(self.log.take().unwrap_or_default());
            }
            Ctl::Window {
                start_ns,
                end_ns,
                senders,
            } => {
                self.summary.window = Some(WindowStats {
                    start_ns,
                    end_ns,
                    sent: 0,
                    streams: vec![StreamStats::default(); senders],
                    latency_us: Vec::with_capacity(4096),
                })
            }
            Ctl::Until(cond, tx) => {
                if let Some(at) = self.already(&cond) {
                    let _ = tx.send(at);
                } else {
                    self.waiters.push((cond, tx));
                }
            }
            Ctl::Summary(tx) => {
                let _ = tx.send(self.summary.clone());
            }
        }
    }

    /// When `cond` already held, judged from what was recorded.
    fn already(&self, cond: &Until) -> Option<Instant> {
        match cond {
            Until::FrameFrom { senders, after } => {
                let after_ns = self.clock.ns(*after);
                self.log.as_ref()?.iter().find_map(|e| {
                    (e.at_ns >= after_ns && senders.contains(&e.sender))
                        .then(|| self.clock.epoch + Duration::from_nanos(e.at_ns))
                })
            }
            Until::JoinedBreakout { after } => self
                .summary
                .joined_breakout
                .as_ref()
                .map(|(t, _)| *t)
                .filter(|t| t >= after),
            Until::LeftBreakout { after } => self.summary.left_breakout.filter(|t| t >= after),
        }
    }

    /// Resolves the waiters `cond` satisfies.
    fn wake(&mut self, at: Instant, matches: impl Fn(&Until) -> bool) {
        let mut i = 0;
        while i < self.waiters.len() {
            if self.waiters[i].1.is_closed() {
                self.waiters.swap_remove(i);
            } else if matches(&self.waiters[i].0) {
                let (_, tx) = self.waiters.swap_remove(i);
                let _ = tx.send(at);
            } else {
                i += 1;
            }
        }
    }

    fn frame(&mut self, f: &ReceivedFrame) {
        self.summary.received += 1;
        let Some(st) = payload::parse(&f.data) else {
            self.summary.foreign += 1;
            return;
        };
        let at_ns = self.clock.ns(f.at);
        if let Some(log) = &mut self.log {
            log.push(LogEntry {
                sender: st.sender,
                seq: st.seq,
                sent_ns: st.sent_ns,
                at_ns,
            });
        }
        if let Some(w) = &mut self.summary.window {
            if (w.start_ns..w.end_ns).contains(&st.sent_ns) {
                let i = st.sender as usize;
                if i >= w.streams.len() {
                    w.streams.resize(i + 1, StreamStats::default());
                }
                let s = &mut w.streams[i];
                s.received += 1;
                s.jitter.push(st.sent_ns, at_ns);
                let us = at_ns.saturating_sub(st.sent_ns) / 1_000;
                w.latency_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
        }
        if !self.waiters.is_empty() {
            self.wake(f.at, |u| match u {
                Until::FrameFrom { senders, after } => {
                    f.at >= *after && senders.contains(&st.sender)
                }
                _ => false,
            });
        }
    }

    fn event(&mut self, frame: &ServerFrame) {
        let now = Instant::now();
        match &frame.msg {
            ServerMessage::ConnectedBreakoutRoom(c) if c.result == 0 => {
                self.summary.joined_breakout = Some((now, c.room.room_id.clone()));
                self.wake(
                    now,
                    |u| matches!(u, Until::JoinedBreakout { after } if now >= *after),
                );
            }
            ServerMessage::DidDisconnectedBreakoutRoom(d) if d.result == 0 => {
                self.summary.left_breakout = Some(now);
                self.wake(
                    now,
                    |u| matches!(u, Until::LeftBreakout { after } if now >= *after),
                );
            }
            ServerMessage::RoomDisconnected(_) => self.summary.closed = true,
            _ => {}
        }
    }

    /// Stamps and sends the next frame.
    fn send(&mut self, media: &Media) {
        let sent_ns = self.clock.now_ns();
        let stamp = Stamp {
            sender: self.index,
            seq: self.seq,
            sent_ns,
        };
        media.send_opus(self.frame.stamp(stamp), self.level);
        self.seq = self.seq.wrapping_add(1);
        self.summary.sent += 1;
        if let Some(w) = &mut self.summary.window {
            if (w.start_ns..w.end_ns).contains(&sent_ns) {
                w.sent += 1;
            }
        }
    }
}

/// The client's task: control first, then signalling, then received frames, then the send
/// tick. Ends when the control channel closes or the connection ends.
async fn run(
    mut st: Task,
    mut media: Option<Media>,
    mut events: Events,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
) {
    let start = tokio::time::Instant::now() + st.phase;
    let mut tick = tokio::time::interval_at(start, FRAME_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut events_open = true;
    let mut media_open = media.is_some();
    loop {
        tokio::select! {
            biased;
            c = ctl.recv() => match c {
                Some(c) => {
                    if let Some(m) = &media {
                        st.summary.media = m.state();
                    }
                    st.control(c);
                }
                None => break,
            },
            e = events.next(), if events_open => match e {
                Some(frame) => st.event(&frame),
                None => {
                    events_open = false;
                    st.summary.closed = true;
                }
            },
            f = recv(&mut media), if media_open => match f {
                Some(frame) => {
                    st.frame(&frame);
                    // Take what else has arrived in one go: one wake-up for a burst.
                    if let Some(m) = &mut media {
                        for _ in 0..RECV_BATCH {
                            let Some(frame) = m.try_recv() else { break };
                            st.frame(&frame);
                        }
                    }
                }
                None => media_open = false,
            },
            _ = tick.tick(), if st.talking && media_open => {
                if let Some(m) = &media {
                    st.send(m);
                }
            }
        }
    }
    if let Some(m) = &media {
        m.close();
    }
}

async fn recv(media: &mut Option<Media>) -> Option<ReceivedFrame> {
    match media {
        Some(m) => m.recv().await,
        None => std::future::pending().await,
    }
}

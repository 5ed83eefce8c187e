//! THE loop: one tokio task per live family, owning its `alcove_core::Family`.
//!
//! ```text
//!   ws.rs connection tasks ──FamilyMsg──►┐
//!   http handlers (queries, end) ────────►│ mpsc ─► family task ─► Family::handle_input
//!                                         │                      ◄─ Family::poll_output
//!   per-connection bounded queues ◄───────┘  Send → encode → conn queue; Close; Timeout → timer
//! ```
//!
//! The registry (`Families`) maps a parent room id to the sender of its task. A family task is
//! spawned by the first connect to its room and ends when its last client leaves (or the room
//! is deleted). Every mutation of family state happens inside its task, in input order, so an
//! operation is atomic with respect to every other operation on the same family.

use crate::outbound::{Batch, Refused};
use alcove_core::{CloseReason, Family, FamilyConfig, FamilySnapshot, Input, NewClient, Output};
use alcove_proto::api::{Room, RoomSettings};
use alcove_proto::signal::{
    BreakoutRoomInfo, ClientMessage, ServerFrame, ServerMessage, UserInfo, UsersUpdated,
};
use alcove_proto::{ClientId, RequestId, RoomId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, info_span, trace, warn, Instrument};

/// What a connection's writer is asked to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send this text frame.
    Frame(String),
    /// Send this presence batch (`usersUpdated`); merged with the batches still waiting right
    /// before it (see `outbound.rs`).
    Presence(Arc<crate::outbound::Batch>),
    /// Close the connection (after the frames queued before).
    Close(CloseReason),
    /// Close with an explicit WebSocket close code (e.g. 1009 for an oversize message).
    CloseCode(u16, &'static str),
}

/// A connection as seen from its family: its outbound queue (bounded in bytes, presence
/// collapsing) and a kill switch.
#[derive(Debug, Clone)]
pub struct ConnTx {
    /// Unique per connection: a resumed client's old connection must not detach the new one.
    pub id: u64,
    /// Frames to write, in order.
    pub tx: crate::outbound::OutboundTx,
    /// Set to true to drop the connection at once (it does not read).
    pub kill: Arc<tokio::sync::watch::Sender<bool>>,
    /// Bumped to ask the connection whether its peer is still there (a resume for its client
    /// came in): it pings, and counts as dropped if nothing arrives in time (`ws.rs`).
    pub probe: Arc<tokio::sync::watch::Sender<u64>>,
}

/// The most often a family's state is written to the database.
const SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// A fresh connection id.
pub fn next_conn_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A snapshot query answered from the family task.
#[derive(Debug)]
pub enum Query {
    /// Connected users with locations.
    Users(oneshot::Sender<Vec<UserInfo>>),
    /// Live break-out rooms.
    BreakoutRooms(oneshot::Sender<Vec<BreakoutRoomInfo>>),
}

/// A message to a family task.
#[derive(Debug)]
pub enum FamilyMsg {
    /// A verified connection joins.
    Connect {
        /// Assigned client id.
        client: ClientId,
        /// The connect request id.
        id: RequestId,
        /// Who.
        user: NewClient,
        /// Negotiated protocol version.
        version: u32,
        /// Where its frames go.
        out: ConnTx,
    },
    /// A decoded request.
    Request {
        /// Sender.
        client: ClientId,
        /// Request id.
        id: RequestId,
        /// Request.
        msg: ClientMessage,
    },
    /// The client left on purpose (closing handshake, killed, abusive).
    Disconnected {
        /// Who.
        client: ClientId,
        /// Which connection (ignored unless it is still the client's current one).
        conn: u64,
    },
    /// The client's transport was lost: it keeps its place for the grace period.
    Dropped {
        /// Who.
        client: ClientId,
        /// Which connection (ignored unless it is still the client's current one).
        conn: u64,
    },
    /// A verified resume credential: `client` takes its place back on a new connection.
    Resume {
        /// Who.
        client: ClientId,
        /// The credential's id (spent by a successful resume).
        jti: String,
        /// The connect request id.
        id: RequestId,
        /// Negotiated protocol version.
        version: u32,
        /// The new connection.
        out: ConnTx,
    },
    /// A REST query.
    Query(Query),
    /// A report of one of the family's media shards (an SDP answer, loudness).
    Media(alcove_core::media::shard::MediaEvent),
    /// The room was deleted.
    End,
    /// Cluster mode: this node no longer holds the family's lease (it expired, or Redis
    /// said another node holds it). The family stops at once without writing, and its clients'
    /// connections close resumable, so that their SDKs resume on the new owner.
    LeaseLost,
    /// Cluster mode, drain: save the final snapshot, release the lease, close every client's
    /// connection resumable, stop.
    Handoff,
}

/// Cluster mode: a lease on a room, and the room's snapshot as read for it.
#[derive(Debug)]
pub struct Leased {
    /// This node's lease.
    pub lease: crate::cluster::Lease,
    /// The snapshot a family spawned under it starts from.
    pub snapshot: Option<FamilySnapshot>,
    /// Whether `snapshot` was read (`None` and loaded: the room has none).
    pub loaded: bool,
}

/// What a family task needs of the media plane: the shared socket and the demux table.
#[derive(Clone)]
pub struct MediaShell {
    /// The media socket (batched I/O and its counters).
    pub socket: Arc<crate::udp::MediaSocket>,
    /// Its local address.
    pub local: std::net::SocketAddr,
    /// The ICE host candidate given to clients.
    pub candidate: std::net::SocketAddr,
    /// ufrag → shard table.
    pub demux: Arc<crate::udp::Demux>,
    /// Media shards per family (at least one).
    pub shards: usize,
    /// TURN credentials to mint in every `roomConnected`, when configured.
    pub turn: Option<crate::turn::TurnConfig>,
    /// The ICE-over-TCP listener (`--tcp-listen`), when configured.
    pub tcp: Option<crate::udp::tcp::TcpShell>,
    /// Media paths in use (udp, tcp, relay).
    pub paths: Arc<crate::udp::stats::PathStats>,
    /// Audio slots send through str0m (`--str0m-audio-send`).
    pub str0m_audio: bool,
}

/// The registry of live families.
pub struct Families {
    /// The media plane, when enabled.
    pub media: Option<MediaShell>,
    /// Where family state is persisted (restart survival).
    store: Arc<crate::store::Store>,
    /// Signs resume credentials (never logged).
    secret: Vec<u8>,
    /// How long a dropped client keeps its place.
    resume_grace: std::time::Duration,
    /// The server's metrics (`metrics.rs`; counted in `observe.rs` and `shard.rs`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The webhook dispatcher (`webhook.rs`).
    pub webhooks: Arc<crate::webhook::Webhooks>,
    // std Mutex: held only to look up / insert / remove a sender, never across an await. Sends
    // to a family happen under it so that a family task's "am I idle and drained?" check
    // (also under it) cannot race with a new connect.
    inner: Mutex<HashMap<RoomId, mpsc::UnboundedSender<FamilyMsg>>>,
    /// Cluster mode: leases, fenced snapshot writes (set once at start).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
}

impl Families {
    /// An empty registry; `media` is the media plane shared by every family, if enabled.
    pub fn new(
        media: Option<MediaShell>,
        store: Arc<crate::store::Store>,
        secret: Vec<u8>,
        resume_grace: std::time::Duration,
        (metrics, webhooks): (Arc<crate::metrics::Metrics>, Arc<crate::webhook::Webhooks>),
    ) -> Families {
        Families {
            media,
            store,
            secret,
            resume_grace,
            metrics,
            webhooks,
            inner: Mutex::default(),
            cluster: std::sync::OnceLock::new(),
        }
    }

    /// Restores every family saved before a restart (each client gets the grace period to
    /// resume). Must run inside the tokio runtime.
    pub fn restore_saved(self: &Arc<Self>) {
        let saved = match self.store.families() {
            Ok(s) => s,
            Err(e) => {
                warn!("reading saved families: {e}");
                return;
            }
        };
        for (room_id, json) in saved {
            let room = match self.store.room(&room_id) {
                Ok(Some((app, room))) => Some((app, room)),
                _ => None,
            };
            let snapshot: Option<FamilySnapshot> = serde_json::from_str(&json).ok();
            match (room, snapshot) {
                (Some((app, room)), Some(snapshot)) => {
                    let mut map = self.lock();
                    if map.contains_key(&room_id) {
                        continue;
                    }
                    let (tx, rx) = mpsc::unbounded_channel();
                    let span = info_span!("family", room = %room.room_id);
                    info!(room = %room.room_id, clients = snapshot.clients.len(), "restoring family");
                    tokio::spawn(
                        run_family(
                            room,
                            app,
                            Some(snapshot),
                            (tx.clone(), rx),
                            Arc::clone(self),
                            None,
                        )
                        .instrument(span),
                    );
                    map.insert(room_id, tx);
                }
                _ => {
                    let _ = self.store.delete_family(&room_id);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, mpsc::UnboundedSender<FamilyMsg>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `msg` to the room's family, spawning the family if it is not live.
    pub fn send_spawning(self: &Arc<Self>, room: &Room, app: &str, msg: FamilyMsg) {
        let _ = self.send_spawning_with(room, app, None, msg);
    }

    /// [`Families::send_spawning`]; in cluster mode a family spawned here runs under the
    /// lease (renewed in the background) and starts from the snapshot (the last one saved by
    /// any node), when there is one. When the family must be spawned and the snapshot was not
    /// read yet (`loaded` false: the family was live when the connect was placed, and ended
    /// since), nothing is sent: the message and the lease come back, for the caller to read
    /// the snapshot and send again.
    pub fn send_spawning_with(
        self: &Arc<Self>,
        room: &Room,
        app: &str,
        leased: Option<Leased>,
        msg: FamilyMsg,
    ) -> Result<(), Box<(FamilyMsg, Leased)>> {
        let mut map = self.lock();
        if let Some(tx) = map.get(&room.room_id) {
            // The task only exits after removing its entry under this lock, so the send
            // succeeds.
            let _ = tx.send(msg);
            return Ok(());
        }
        let (lease, snapshot) = match leased {
            Some(l) if !l.loaded => return Err(Box::new((msg, l))),
            Some(l) => (Some(l.lease), l.snapshot),
            None => (None, None),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let span = info_span!("family", room = %room.room_id);
        if let (Some(lease), Some(cluster)) = (&lease, self.cluster.get()) {
            spawn_renewal(
                Arc::clone(cluster),
                room.room_id.clone(),
                lease.clone(),
                tx.clone(),
            );
        }
        tokio::spawn(
            run_family(
                room.clone(),
                app.to_owned(),
                snapshot,
                (tx.clone(), rx),
                Arc::clone(self),
                lease,
            )
            .instrument(span),
        );
        let _ = tx.send(msg);
        map.insert(room.room_id.clone(), tx);
        Ok(())
    }

    /// Sends `msg` to the room's family if it is live; false otherwise.
    pub fn send(&self, room: &RoomId, msg: FamilyMsg) -> bool {
        match self.lock().get(room) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    /// Number of live families.
    pub fn live(&self) -> usize {
        self.lock().len()
    }

    /// True when the room's family is live here.
    pub fn is_live(&self, room: &RoomId) -> bool {
        self.lock().contains_key(room)
    }

    /// Cluster mode, drain: asks every live family to hand itself off.
    pub fn handoff_all(&self) {
        for tx in self.lock().values() {
            let _ = tx.send(FamilyMsg::Handoff);
        }
    }

    /// Ends every live family (server shutdown).
    pub fn end_all(&self) {
        for tx in self.lock().values() {
            let _ = tx.send(FamilyMsg::End);
        }
    }
}

fn settings_seed(_settings: &RoomSettings) -> u64 {
    crate::util::random_u64()
}

async fn run_family(
    room: Room,
    app: String,
    restore: Option<FamilySnapshot>,
    (me, mut rx): (
        mpsc::UnboundedSender<FamilyMsg>,
        mpsc::UnboundedReceiver<FamilyMsg>,
    ),
    families: Arc<Families>,
    lease: Option<crate::cluster::Lease>,
) {
    info!("family live");
    let cluster = families.cluster.get().cloned();
    if let Some(c) = &cluster {
        c.families
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut config = FamilyConfig::new(
        room.room_id.clone(),
        &room.name,
        room.settings.clone(),
        settings_seed(&room.settings),
    );
    config.media = families
        .media
        .as_ref()
        .map(|m| alcove_core::media::MediaConfig {
            candidate: m.candidate,
            local: m.local,
            tcp_candidate: m.tcp.as_ref().map(|t| t.candidate),
            str0m_audio: m.str0m_audio,
        });
    config.resume_grace = families.resume_grace;
    config.epoch_unix_ms = crate::util::unix_now_ms();
    let shards = families.media.as_ref().map(|m| {
        crate::shard::FamilyShards::spawn(&room.room_id, m.shards, m, me.clone(), &families.metrics)
    });
    drop(me);
    if let Some(m) = &families.media {
        config.shards = alcove_core::media::Shards::External(m.shards);
    }
    let mut watch = crate::observe::FamilyWatch::start(
        Arc::clone(&families.metrics),
        Arc::clone(&families.webhooks),
        &app,
        &room.room_id,
        restore.is_some(),
    );
    let mut family = match restore {
        Some(snapshot) => {
            let now_ms = crate::util::unix_now_ms();
            let down = now_ms.saturating_sub(snapshot.taken_at_unix_ms);
            let since = if snapshot.taken_at_unix_ms == 0 {
                0
            } else {
                down
            };
            let since = std::time::Duration::from_millis(since);
            Family::restore(config, snapshot, Instant::now().into_std(), since)
        }
        None => Family::new(config, Instant::now().into_std()),
    };
    let plans = Plans {
        store: Arc::clone(&families.store),
        app: app.clone(),
    };
    let mut signer =
        crate::token::ResumeBook::new(families.secret.clone(), room.room_id.clone(), app);
    let mut saved_version = family.state_version();
    let mut last_save = Instant::now() - SAVE_INTERVAL;
    let mut conns: HashMap<ClientId, ConnTx> = HashMap::new();
    let mut deadline = Instant::now() + std::time::Duration::from_secs(3600);
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                let now = Instant::now().into_std();
                match msg {
                    FamilyMsg::Connect { client, id, user, version, out } => {
                        conns.insert(client.clone(), out);
                        watch.request(&client, &id, "connect");
                        family.handle_input(Input::Connect { now, client, id, user, version });
                    }
                    FamilyMsg::Request { client, id, msg } => {
                        trace!(client = %client, kind = msg.type_name(), "request");
                        watch.request(&client, &id, msg.type_name());
                        family.handle_input(Input::Request { now, client, id, msg });
                    }
                    FamilyMsg::Disconnected { client, conn } => {
                        if conns.get(&client).is_some_and(|c| c.id == conn) {
                            conns.remove(&client);
                            family.handle_input(Input::Disconnected { now, client });
                        }
                    }
                    FamilyMsg::Dropped { client, conn } => {
                        if conns.get(&client).is_some_and(|c| c.id == conn) {
                            conns.remove(&client);
                            family.handle_input(Input::Dropped { now, client });
                        }
                    }
                    FamilyMsg::Resume { client, jti, id, version, out } => {
                        // Refused while the client's connection is open: that one is asked to
                        // prove its peer is still there, and is dropped if it cannot (then a
                        // retry succeeds). Otherwise the credential is spent (single use).
                        let refused = if let Some(old) = conns.get(&client) {
                            old.probe.send_modify(|n| *n += 1);
                            Some(alcove_proto::ErrorCode::ResumeWhileAttached)
                        } else {
                            signer.spend(&client, &jti, &families.store).err()
                        };
                        watch.resume(refused);
                        match refused {
                            Some(code) => crate::ws::refuse(&out, id, code),
                            None => {
                                conns.insert(client.clone(), out);
                                family.handle_input(Input::Resume { now, client, id, version });
                            }
                        }
                    }
                    FamilyMsg::Query(Query::Users(reply)) => { let _ = reply.send(family.users()); }
                    FamilyMsg::Query(Query::BreakoutRooms(reply)) => { let _ = reply.send(family.breakout_rooms()); }
                    FamilyMsg::Media(event) => family.handle_input(Input::Media { now, event }),
                    FamilyMsg::End => family.handle_input(Input::End { now }),
                    FamilyMsg::LeaseLost => {
                        warn!("lease lost: stopping the family here (its clients resume on the new owner)");
                        stop_here(&families, &room.room_id, &mut conns, lease.as_ref());
                        break;
                    }
                    FamilyMsg::Handoff => {
                        let (Some(c), Some(l)) = (&cluster, &lease) else { continue };
                        let mut snapshot = family.snapshot(now);
                        snapshot.taken_at_unix_ms = crate::util::unix_now_ms();
                        let json = serde_json::to_string(&snapshot).unwrap_or_default();
                        let (c2, room_id, l2) = (Arc::clone(c), room.room_id.clone(), l.clone());
                        // Off the runtime's threads: Redis may be slow to answer.
                        let saved = crate::cluster::blocking(move || c2.finish(&room_id, &l2, Some(&json))).await;
                        match saved {
                            Ok(true) => info!(clients = conns.len(), "handed off: state saved, lease released"),
                            Ok(false) => warn!("handoff: the lease was no longer ours"),
                            Err(e) => warn!("handoff: saving failed ({e}); the lease will expire"),
                        }
                        stop_here(&families, &room.room_id, &mut conns, lease.as_ref());
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                family.handle_input(Input::Timeout(Instant::now().into_std()));
            }
        }
        deadline = drain(
            &mut family,
            &mut conns,
            shards.as_ref(),
            &mut signer,
            &plans,
            &mut watch,
            families.media.as_ref().and_then(|m| m.turn.as_ref()),
        );
        watch.step(&family);
        if signer.len() > 2 * family.client_count() + 16 {
            signer.retain(|c| family.user(c).is_some());
        }
        if family.is_idle() {
            let mut map = families.lock();
            if rx.is_empty() {
                map.remove(&room.room_id);
                drop(map);
                let forgotten = match (&cluster, &lease) {
                    (Some(c), Some(l)) => c.finish(&room.room_id, l, None).map(|_| ()),
                    _ => families.store.delete_family(&room.room_id),
                };
                if let Err(e) = forgotten {
                    warn!("forgetting family state: {e}");
                }
                break;
            }
        }
        if family.state_version() != saved_version {
            // At most one write per SAVE_INTERVAL: a wave of moves is one snapshot, and a crash
            // loses at most the last SAVE_INTERVAL of changes (those clients resume into the
            // state saved just before).
            let now = Instant::now();
            if now >= last_save + SAVE_INTERVAL {
                saved_version = family.state_version();
                last_save = now;
                // Synchronous and small (one SQLite row); a restart resumes from this.
                let mut snapshot = family.snapshot(now.into_std());
                snapshot.taken_at_unix_ms = crate::util::unix_now_ms();
                match serde_json::to_string(&snapshot) {
                    Ok(json) => {
                        let saved = match (&cluster, &lease) {
                            // Fenced: written only while the lease is still ours.
                            (Some(c), Some(l)) => c.save_family(&room.room_id, l, &json),
                            _ => families
                                .store
                                .save_family(&room.room_id, &json)
                                .map(|()| true),
                        };
                        match saved {
                            Ok(true) => {}
                            Ok(false) => {
                                warn!("lease lost (a snapshot write was fenced off): stopping the family here");
                                stop_here(&families, &room.room_id, &mut conns, lease.as_ref());
                                break;
                            }
                            Err(e) => warn!("saving family state: {e}"),
                        }
                    }
                    Err(e) => warn!("encoding family state: {e}"),
                }
            } else {
                deadline = deadline.min(last_save + SAVE_INTERVAL);
            }
        }
    }
    if let Some(s) = &shards {
        s.end();
    }
    if let Some(c) = &cluster {
        c.families
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(l) = &lease {
            c.forget(&room.room_id, l);
        }
    }
    watch.end();
    info!("family ended");
}

/// Cluster mode: the family stops on this node without ending for its clients. It leaves the
/// registry (a new connect places it again), and every client's connection closes without a
/// close frame, which the SDKs resume from (a close frame would be final for them).
fn stop_here(
    families: &Families,
    room: &RoomId,
    conns: &mut HashMap<ClientId, ConnTx>,
    lease: Option<&crate::cluster::Lease>,
) {
    // The lease is not to be handed to a new connect any more (it would spawn a family
    // under a lease that is gone).
    if let (Some(c), Some(l)) = (families.cluster.get(), lease) {
        c.forget(room, l);
    }
    // Its media sessions end with its shards without being removed one by one: their ICE
    // bindings go now, or a client's address would stay tied to a dead session and a family
    // placed here again could not learn it for the client's new one.
    if let Some(m) = &families.media {
        for ufrag in m.demux.ufrags_of(room) {
            m.demux.unbind(&ufrag);
        }
    }
    families.lock().remove(room);
    for (_, conn) in conns.drain() {
        let _ = conn
            .tx
            .push(Outbound::CloseCode(crate::ws::DROP_WITHOUT_CLOSE, "moved"));
    }
}

/// Cluster mode: renews a family's lease every third of its time-to-live until the family
/// ends. When a renewal is refused (another node holds it) or none succeeded for the lease's
/// time-to-live less one renewal period, the family is told [`FamilyMsg::LeaseLost`]: by then
/// another node may take it.
fn spawn_renewal(
    cluster: Arc<crate::cluster::Cluster>,
    room: RoomId,
    lease: crate::cluster::Lease,
    family: mpsc::UnboundedSender<FamilyMsg>,
) {
    tokio::spawn(async move {
        let period = cluster.lease / 3;
        let mut last_ok = Instant::now();
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if family.is_closed() {
                return;
            }
            let (c, r, l) = (Arc::clone(&cluster), room.clone(), lease.clone());
            match crate::cluster::blocking(move || c.renew(&r, &l)).await {
                Ok(true) => last_ok = Instant::now(),
                Ok(false) => {
                    let _ = family.send(FamilyMsg::LeaseLost);
                    return;
                }
                Err(e) => {
                    warn!(room = %room, "lease renewal failed: {e}");
                    if last_ok.elapsed() + period >= cluster.lease {
                        let _ = family.send(FamilyMsg::LeaseLost);
                        return;
                    }
                }
            }
        }
    });
}

/// Where a family's app keeps its break-out plans.
struct Plans {
    store: Arc<crate::store::Store>,
    app: String,
}

impl Plans {
    /// Stores a plan; the ack for the moderator who saved it.
    fn save(&self, plan: alcove_proto::signal::Plan) -> ServerMessage {
        use alcove_proto::signal::AckSavePlan;
        match self.store.save_plan(&self.app, &plan) {
            Ok(_) => ServerMessage::AckSavePlan(AckSavePlan {
                result: 0,
                msg: "Success".into(),
                plan: Some(plan),
            }),
            Err(e) => {
                warn!(error = %e, "saving a plan failed");
                ServerMessage::failure_for(
                    "savePlan",
                    alcove_proto::ErrorCode::Internal,
                    alcove_proto::ErrorCode::Internal.message(),
                )
            }
        }
    }

    /// The ack of `listPlans`.
    fn list(&self) -> ServerMessage {
        use alcove_proto::signal::AckListPlans;
        match self.store.plans(&self.app) {
            Ok(plans) => ServerMessage::AckListPlans(AckListPlans {
                result: 0,
                msg: "Success".into(),
                plans,
            }),
            Err(e) => {
                warn!(error = %e, "listing plans failed");
                ServerMessage::failure_for(
                    "listPlans",
                    alcove_proto::ErrorCode::Internal,
                    alcove_proto::ErrorCode::Internal.message(),
                )
            }
        }
    }
}

/// Acts on every output of the family; returns the next deadline. Commands for the media
/// shards go to their tasks.
fn drain(
    family: &mut Family,
    conns: &mut HashMap<ClientId, ConnTx>,
    shards: Option<&crate::shard::FamilyShards>,
    signer: &mut crate::token::ResumeBook,
    plans: &Plans,
    watch: &mut crate::observe::FamilyWatch,
    turn: Option<&crate::turn::TurnConfig>,
) -> Instant {
    let mut slow: Vec<(ClientId, Refused)> = Vec::new();
    // Inputs the outputs call for (a loaded plan), fed once the queue is empty.
    let mut feed: Vec<Input> = Vec::new();
    // The last presence batch and its encoding: the core sends the same batch to every
    // recipient in a row, so it is encoded once per family step.
    let mut batch: Option<(Arc<UsersUpdated>, Arc<Batch>)> = None;
    loop {
        match family.poll_output() {
            Output::Send { to, mut frame } => {
                if let ServerMessage::RoomConnected(rc) = &mut frame.msg {
                    if rc.result == 0 && rc.resume_token.is_none() {
                        rc.resume_token = Some(signer.mint(&to));
                    }
                    if let Some(t) = turn {
                        rc.ice_servers = t.mint(&to, crate::util::unix_now_ms() / 1000);
                    }
                }
                watch.sent(&to, &frame);
                deliver(conns, &mut slow, &mut batch, &to, &frame)
            }
            Output::Close { client, reason } => {
                if let Some(conn) = conns.remove(&client) {
                    let _ = conn.tx.push(Outbound::Close(reason));
                }
            }
            Output::ToShard { shard, cmd } => {
                if let Some(s) = shards {
                    let now = std::time::Instant::now();
                    s.send(
                        shard,
                        alcove_core::media::shard::ShardInput::Command { now, cmd },
                    );
                }
            }
            // The family runs no shard itself here: media never passes through it.
            Output::Transmit { .. } | Output::IceBound { .. } | Output::IceUnbound { .. } => {}
            Output::SavePlan { client, id, plan } => {
                let ack = ServerFrame {
                    id: Some(id),
                    msg: plans.save(plan),
                };
                watch.sent(&client, &ack);
                deliver(conns, &mut slow, &mut batch, &client, &ack);
            }
            Output::ListPlans { client, id } => {
                let ack = ServerFrame {
                    id: Some(id),
                    msg: plans.list(),
                };
                watch.sent(&client, &ack);
                deliver(conns, &mut slow, &mut batch, &client, &ack);
            }
            Output::LoadPlan {
                client,
                id,
                name,
                force_join,
            } => match plans.store.plan(&plans.app, &name) {
                Ok(plan) => feed.push(Input::PlanLoaded {
                    now: std::time::Instant::now(),
                    client,
                    id,
                    force_join,
                    plan,
                }),
                Err(e) => {
                    warn!(error = %e, "loading a plan failed");
                    let ack = ServerFrame {
                        id: Some(id),
                        msg: ServerMessage::failure_for(
                            "applyPlan",
                            alcove_proto::ErrorCode::Internal,
                            alcove_proto::ErrorCode::Internal.message(),
                        ),
                    };
                    watch.sent(&client, &ack);
                    deliver(conns, &mut slow, &mut batch, &client, &ack);
                }
            },
            Output::Route(route) => {
                // The media plane lives in the core and consumes route changes there; the
                // shell only traces them.
                trace!(client = %route.client, location = ?route.location, paused = route.paused, "route");
            }
            Output::Timeout(at) => {
                let now = std::time::Instant::now();
                let wait = at.saturating_duration_since(now);
                if !feed.is_empty() {
                    for input in feed.drain(..) {
                        family.handle_input(input);
                    }
                    continue;
                }
                // A client whose queue overflowed is disconnected; that is itself an input.
                if slow.is_empty() {
                    return Instant::now() + wait;
                }
                for (client, why) in slow.drain(..) {
                    warn!(client = %client, ?why, "client does not read: dropping it");
                    if let Some(conn) = conns.remove(&client) {
                        let _ = conn.kill.send(true);
                    }
                    family.handle_input(Input::Disconnected { now, client });
                }
            }
        }
    }
}

/// Queues one frame for its connection. Presence batches are encoded once and shared; a
/// connection that refuses the frame (over its byte bound with nothing left to collapse, or no
/// progress for the stall time) is marked to be dropped.
fn deliver(
    conns: &HashMap<ClientId, ConnTx>,
    slow: &mut Vec<(ClientId, Refused)>,
    batch: &mut Option<(Arc<UsersUpdated>, Arc<Batch>)>,
    to: &ClientId,
    frame: &ServerFrame,
) {
    let Some(conn) = conns.get(to) else { return };
    debug!(to = %to, kind = frame.msg.type_name(), "send");
    let out = match &frame.msg {
        ServerMessage::UsersUpdated(update) => {
            let encoded = match batch {
                Some((u, b)) if Arc::ptr_eq(u, update) => Arc::clone(b),
                _ => {
                    let b = Arc::new(Batch::new(update));
                    *batch = Some((Arc::clone(update), Arc::clone(&b)));
                    b
                }
            };
            Outbound::Presence(encoded)
        }
        _ => Outbound::Frame(frame.encode()),
    };
    match conn.tx.push(out) {
        Ok(()) | Err(Refused::Closed) => {}
        Err(why) => {
            if !slow.iter().any(|(c, _)| c == to) {
                slow.push((to.clone(), why));
            }
        }
    }
}

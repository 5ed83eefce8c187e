//! The signalling WebSocket: handshake (`connect` with a token), then requests to the family
//! and frames back. Generic over any `Stream`/`Sink` of axum WebSocket messages so that tests
//! can drive it without a socket.
//!
//! Bad input never reaches the core: a frame that does not decode is answered here with the
//! acknowledgement `alcove_proto::signal::decode_client_frame` names, and the connection stays.

use crate::driver::{ConnTx, FamilyMsg, Outbound};
use crate::limit::{ConnState, Phase, RequestLimiter, Verdict};
use crate::outbound::{Limits, Next, OutboundRx, OutboundTx};
use crate::AppState;
use alcove_core::{CloseReason, NewClient};
use alcove_proto::signal::{
    decode_client_frame, ClientFrame, ClientMessage, ServerFrame, ServerMessage, Status,
    MAX_FRAME_BYTES,
};
use alcove_proto::version::ProtocolVersion;
use alcove_proto::{ClientId, ErrorCode, RequestId};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, info, info_span, trace, Instrument};

/// Close "code" of [`Outbound::CloseCode`] that closes the socket without a close frame: to
/// the SDKs a transport that ended, which they resume from (cluster mode: the family moved to
/// another node). 0 is no valid WebSocket close code, so it cannot mean anything else.
pub const DROP_WITHOUT_CLOSE: u16 = 0;

/// Frames a connection may send before `connect` that are answered with 4004 before it is closed.
const MAX_PRE_CONNECT_FRAMES: usize = 8;

fn frame(id: Option<RequestId>, msg: ServerMessage) -> Outbound {
    Outbound::Frame(ServerFrame { id, msg }.encode())
}

fn error(id: Option<RequestId>, code: ErrorCode, msg: impl Into<String>) -> Outbound {
    frame(
        id,
        ServerMessage::Error(Status {
            result: code.code(),
            msg: msg.into(),
        }),
    )
}

/// Serves one signalling connection until it closes. `edge` is the connection's state at the
/// TCP edge (absent without a socket): once the client is in a family, the connection is no
/// longer idle, and is never closed to make room for another.
pub async fn serve<S, E>(socket: S, state: Arc<AppState>, edge: Option<Arc<ConnState>>)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    serve_from(socket, state, edge, false).await;
}

/// [`serve`]; `bridged`: cluster mode, the connection comes from another node of the cluster
/// (it carried a valid `x-alcove-bridge` header), which chose this node for its room.
pub async fn serve_from<S, E>(
    socket: S,
    state: Arc<AppState>,
    edge: Option<Arc<ConnState>>,
    bridged: bool,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    let (sink, mut stream) = socket.split();
    let (tx, rx) = crate::outbound::queue(Limits {
        max_bytes: state.config.outbound_bytes,
        stall: state.config.outbound_stall,
    });
    let (kill_tx, kill_rx) = watch::channel(false);
    let (probe_tx, probe_rx) = watch::channel(0u64);
    let conn = ConnTx {
        id: crate::driver::next_conn_id(),
        tx: tx.clone(),
        kill: Arc::new(kill_tx),
        probe: Arc::new(probe_tx),
    };
    let writer = tokio::spawn(write_loop(
        sink,
        rx,
        kill_rx.clone(),
        probe_rx.clone(),
        Arc::clone(&conn.kill),
    ));

    let shake = handshake(&mut stream, &tx, &conn, &state, bridged).await;
    let shake = match shake {
        Some(Shake::Bridge(target)) => {
            if let Some(edge) = &edge {
                edge.set_phase(Phase::Connected);
            }
            match crate::cluster::bridge::run(&mut stream, &tx, &conn, &state, &target).await {
                // Every other node failed and this one may take the room after all.
                Some(lease) => {
                    connect_local(
                        &tx,
                        &conn,
                        &state,
                        target.id,
                        target.version,
                        &target.connect,
                        Some(lease),
                    )
                    .await
                }
                None => None,
            }
        }
        Some(Shake::Local(client, room)) => Some((client, room)),
        None => None,
    };
    let Some((client, room_id)) = shake else {
        drop(tx);
        drop(conn);
        let _ = writer.await;
        return;
    };
    let counted = state.families.cluster.get().cloned();
    if let Some(c) = &counted {
        c.clients.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let _uncount = Uncount(counted);
    if let Some(edge) = &edge {
        edge.set_phase(Phase::Connected);
    }
    let span = info_span!("conn", client = %client, room = %room_id);
    let left = read_loop(
        &mut stream,
        &tx,
        kill_rx,
        probe_rx,
        &client,
        &room_id,
        &state,
    )
    .instrument(span.clone())
    .await;
    span.in_scope(|| debug!("connection closed"));
    let closing = matches!(left, Left::Closing);
    let unresponsive = matches!(left, Left::Unresponsive);
    let msg = match left {
        Left::Leave | Left::Closing => FamilyMsg::Disconnected {
            client,
            conn: conn.id,
        },
        Left::Dropped | Left::Unresponsive => FamilyMsg::Dropped {
            client,
            conn: conn.id,
        },
    };
    state.families.send(&room_id, msg);
    drop(tx);
    drop(conn);
    if closing {
        // The server sent a close frame (flood, oversize message): read and discard what the
        // peer still sends until its closing handshake, so that the socket is not closed with
        // unread data in it. That would make the kernel answer with a TCP reset, and a reset
        // can destroy the close frame before the peer reads it (it would see 1006, not 1008).
        drain(&mut stream).await;
    }
    if unresponsive {
        // No close frame: to the peer, if it is there after all, this is a transport that
        // ended, which both SDKs resume from (a close frame would be final for them).
        writer.abort();
        return;
    }
    // A peer that never reads can block the writer forever: give it a moment to flush, then
    // end it (dropping the socket).
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// Takes one off the cluster's client count when dropped.
struct Uncount(Option<Arc<crate::cluster::Cluster>>);

impl Drop for Uncount {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.clients.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What a handshake came to.
enum Shake {
    /// The client is in its family here.
    Local(ClientId, alcove_proto::RoomId),
    /// Cluster mode: the room lives on another node; bridge to it.
    Bridge(crate::cluster::bridge::Target),
}

/// Reads until a valid `connect`; verifies the token and hands the connection to its family
/// (or, in cluster mode, to the node that holds its room).
async fn handshake<S, E>(
    stream: &mut S,
    tx: &OutboundTx,
    conn: &ConnTx,
    state: &Arc<AppState>,
    bridged: bool,
) -> Option<Shake>
where
    S: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let timeout = state.config.connect_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..MAX_PRE_CONNECT_FRAMES {
        let msg = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                debug!("handshake read error: {e}");
                let _ = tx.push(Outbound::Close(CloseReason::Refused));
                return None;
            }
            Ok(None) => return None,
            Err(_) => {
                let _ = tx.push(error(
                    None,
                    ErrorCode::NotConnected,
                    format!("no connect within {} s", timeout.as_secs()),
                ));
                let _ = tx.push(Outbound::Close(CloseReason::Refused));
                return None;
            }
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                let _ = tx.push(error(
                    None,
                    ErrorCode::MalformedFrame,
                    "binary frames are not accepted",
                ));
                continue;
            }
        };
        if text.len() > MAX_FRAME_BYTES {
            let _ = tx.push(error(
                None,
                ErrorCode::FrameTooLarge,
                format!("frame over {MAX_FRAME_BYTES} bytes"),
            ));
            continue;
        }
        let ClientFrame { id, msg } = match decode_client_frame(&text) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.push(frame(e.id, *e.reply));
                continue;
            }
        };
        let ClientMessage::Connect(c) = msg else {
            let _ = tx.push(error(
                Some(id),
                ErrorCode::NotConnected,
                ErrorCode::NotConnected.message(),
            ));
            continue;
        };
        let Some(version) = ProtocolVersion::negotiate(&c.versions) else {
            let _ = tx.push(error(
                Some(id),
                ErrorCode::UnsupportedVersion,
                format!(
                    "server speaks versions {}..={}",
                    alcove_proto::version::MIN_PROTOCOL_VERSION,
                    alcove_proto::version::PROTOCOL_VERSION
                ),
            ));
            let _ = tx.push(Outbound::Close(CloseReason::Refused));
            return None;
        };
        let mut leased = None;
        if let Some(cluster) = state.families.cluster.get() {
            use crate::cluster::bridge::{place, Placed};
            // The room, from a correctly signed token or credential; anything else is refused
            // below, as in single-node mode.
            let room = match &c.resume {
                Some(r) => crate::token::verify_resume(&state.secret, r)
                    .ok()
                    .map(|c| c.room_id),
                None => crate::token::verify_signature(&state.secret, &c.token)
                    .ok()
                    .map(|c| c.room_id),
            };
            if let Some(room) = room {
                match place(cluster, state, &room, bridged).await {
                    Placed::Local(lease) => leased = Some(lease),
                    Placed::Remote(node) => {
                        return Some(Shake::Bridge(crate::cluster::bridge::Target {
                            room,
                            node,
                            first: text.to_string(),
                            id,
                            version: version.0,
                            connect: c,
                        }))
                    }
                    Placed::NotOwner => {
                        let _ = tx.push(Outbound::CloseCode(
                            crate::cluster::NOT_OWNER_CLOSE,
                            "not the owner",
                        ));
                        return None;
                    }
                    Placed::Unavailable => {
                        crate::cluster::bridge::unavailable(tx, id, c.resume.is_some());
                        return None;
                    }
                }
            }
        }
        return connect_local(tx, conn, state, id, version.0, &c, leased)
            .await
            .map(|(client, room)| Shake::Local(client, room));
    }
    let _ = tx.push(error(
        None,
        ErrorCode::NotConnected,
        "too many frames before connect",
    ));
    let _ = tx.push(Outbound::Close(CloseReason::Refused));
    None
}

/// Admits a `connect` here (token or resume credential) and hands the connection to its
/// family. In cluster mode `leased` is this node's lease on the room; a family spawned for it
/// starts from the room's saved snapshot.
pub(crate) async fn connect_local(
    tx: &OutboundTx,
    conn: &ConnTx,
    state: &Arc<AppState>,
    id: RequestId,
    version: u32,
    c: &alcove_proto::signal::Connect,
    leased: Option<crate::cluster::Lease>,
) -> Option<(ClientId, alcove_proto::RoomId)> {
    let version = ProtocolVersion(version);
    // The snapshot is read only when the family is not live here (then it is needed).
    let leased = match leased {
        Some(lease) if state.families.is_live(lease.room()) => Some(crate::driver::Leased {
            lease,
            snapshot: None,
            loaded: false,
        }),
        Some(lease) => match crate::cluster::bridge::snapshot_for(state, lease).await {
            Ok(l) => Some(l),
            Err(lease) => {
                release_unused(state, Some(&lease));
                crate::cluster::bridge::unavailable(tx, id, c.resume.is_some());
                return None;
            }
        },
        None => None,
    };
    {
        if let Some(resume) = &c.resume {
            let (claims, room) = match state.admit_resume(resume) {
                Ok(ok) => ok,
                Err(code) => {
                    info!(code = code.code(), "resume refused");
                    release_unused(state, leased.as_ref().map(|l| &l.lease));
                    let _ = tx.push(error(Some(id), code, code.message()));
                    let _ = tx.push(Outbound::Close(CloseReason::Refused));
                    return None;
                }
            };
            let jti = crate::token::resume_jti(&claims, resume);
            let client = claims.client_id;
            let room_id = room.room_id.clone();
            let msg = FamilyMsg::Resume {
                client: client.clone(),
                jti,
                id,
                version: version.0,
                out: conn.clone(),
            };
            send_spawning(state, &room, &claims.app_id, leased, msg).await;
            return Some((client, room_id));
        }
        let (claims, room) = match state.admit(&c.token) {
            Ok(ok) => ok,
            Err(code) => {
                info!(code = code.code(), "connect refused");
                release_unused(state, leased.as_ref().map(|l| &l.lease));
                let _ = tx.push(error(Some(id), code, code.message()));
                let _ = tx.push(Outbound::Close(CloseReason::Refused));
                return None;
            }
        };
        let client = ClientId(format!("c-{}", crate::util::random_hex(6)));
        let user = NewClient {
            name: claims.name,
            role: claims.role,
            user_ref: claims.user_ref,
            data: claims.data,
        };
        let room_id = room.room_id.clone();
        let msg = FamilyMsg::Connect {
            client: client.clone(),
            id,
            user,
            version: version.0,
            out: conn.clone(),
        };
        send_spawning(state, &room, &claims.app_id, leased, msg).await;
        Some((client, room_id))
    }
}

/// Hands `msg` to the room's family, spawning it if needed. Cluster mode: when the family
/// ended since the connect was placed, the room's snapshot is read and the family spawned
/// from it (never from nothing while a snapshot waits).
async fn send_spawning(
    state: &Arc<AppState>,
    room: &alcove_proto::api::Room,
    app: &str,
    leased: Option<crate::driver::Leased>,
    msg: FamilyMsg,
) {
    let Err(back) = state.families.send_spawning_with(room, app, leased, msg) else {
        return;
    };
    let (msg, l) = *back;
    match crate::cluster::bridge::snapshot_for(state, l.lease).await {
        Ok(loaded) => {
            let _ = state
                .families
                .send_spawning_with(room, app, Some(loaded), msg);
        }
        Err(lease) => {
            release_unused(state, Some(&lease));
            // The connection is dropped without a close frame: its SDK tries again.
            if let Some(out) = msg_conn(&msg) {
                let _ = out
                    .tx
                    .push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "unavailable"));
            }
        }
    }
}

/// The connection a `Connect` or `Resume` comes with.
fn msg_conn(msg: &FamilyMsg) -> Option<&ConnTx> {
    match msg {
        FamilyMsg::Connect { out, .. } | FamilyMsg::Resume { out, .. } => Some(out),
        _ => None,
    }
}

/// Cluster mode: a lease taken for a connect that was then refused (a replayed or expired
/// token, a room deleted meanwhile) goes back at once when no family uses it, rather than
/// sit until it expires.
fn release_unused(state: &Arc<AppState>, lease: Option<&crate::cluster::Lease>) {
    let (Some(c), Some(l)) = (state.families.cluster.get(), lease) else {
        return;
    };
    let room = l.room().clone();
    if state.families.is_live(&room) {
        return;
    }
    if let Err(e) = c.release(&room, l) {
        debug!("releasing an unused lease: {e}");
    }
}

/// How long the server keeps reading (and discarding) after it sent a close frame, waiting
/// for the peer's closing handshake.
const CLOSE_DRAIN: Duration = Duration::from_secs(3);

/// Reads and discards frames until the peer's close frame, the end of the stream, an error,
/// or [`CLOSE_DRAIN`].
async fn drain<S, E>(stream: &mut S)
where
    S: Stream<Item = Result<Message, E>> + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_DRAIN, async {
        while let Some(Ok(m)) = stream.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// How long a connection asked whether its peer is still there (a resume for its client came
/// in) waits for any frame, the pong included, before it counts as dropped.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Refuses a `connect` from the family task: the error with its `id`, then close 1008.
pub(crate) fn refuse(out: &ConnTx, id: RequestId, code: ErrorCode) {
    info!(code = code.code(), "resume refused");
    let _ = out.tx.push(error(Some(id), code, code.message()));
    let _ = out.tx.push(Outbound::Close(CloseReason::Refused));
}

/// How a connection ended, as far as the family is concerned.
enum Left {
    /// On purpose (closing handshake, killed): leave the family now.
    Leave,
    /// The server closed it (flood, oversize message) and sent its close frame: leave the
    /// family now, and let the peer answer the close before the socket goes.
    Closing,
    /// The peer did not answer a liveness probe: a drop, and the socket goes without a close
    /// frame.
    Unresponsive,
    /// The transport was lost: keep the client's place for the resume grace period.
    Dropped,
}

#[allow(clippy::too_many_arguments)]
async fn read_loop<S, E>(
    stream: &mut S,
    tx: &OutboundTx,
    mut kill: watch::Receiver<bool>,
    mut probe: watch::Receiver<u64>,
    client: &ClientId,
    room_id: &alcove_proto::RoomId,
    state: &Arc<AppState>,
) -> Left
where
    S: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let now = || tokio::time::Instant::now().into_std();
    let config = &state.config;
    let mut limiter = RequestLimiter::new(config.request_rate, config.request_burst, now());
    // Set while the peer is asked to prove it is there (the writer sent a ping).
    let mut probing: Option<tokio::time::Instant> = None;
    let far = || tokio::time::Instant::now() + Duration::from_secs(86_400);
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = kill.changed() => return Left::Leave,
            Ok(()) = probe.changed() => {
                probing.get_or_insert_with(|| tokio::time::Instant::now() + PROBE_TIMEOUT);
                continue;
            }
            _ = tokio::time::sleep_until(probing.unwrap_or_else(far)), if probing.is_some() => {
                info!("no answer to a liveness probe: the transport is gone");
                return Left::Unresponsive;
            }
        };
        // Anything from the peer, the pong included, proves it is still there.
        probing = None;
        // Every frame costs a token: over the limit it is answered 4006 and dropped here, and a
        // client that keeps flooding is closed with 1008.
        if let Some(Ok(m)) = &msg {
            if !matches!(m, Message::Close(_)) {
                match limiter.check(now()) {
                    Verdict::Allow => {}
                    Verdict::Refuse => {
                        let id = match m {
                            Message::Text(t) => request_id(t),
                            _ => None,
                        };
                        trace!("request over the rate limit");
                        if matches!(m, Message::Text(_) | Message::Binary(_)) {
                            let msg = ErrorCode::RateLimited.message();
                            reply(tx, error(id, ErrorCode::RateLimited, msg));
                        }
                        continue;
                    }
                    Verdict::Flood => {
                        info!("request flood: closing the connection");
                        let _ = tx.push(Outbound::CloseCode(1008, "too many requests"));
                        return Left::Closing;
                    }
                }
            }
        }
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                reply(
                    tx,
                    error(
                        None,
                        ErrorCode::MalformedFrame,
                        "binary frames are not accepted",
                    ),
                );
                continue;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            // A closing handshake is a leave; a transport that just ends is a drop (the
            // client may resume within the grace period).
            Some(Ok(Message::Close(_))) => return Left::Leave,
            None => return Left::Dropped,
            Some(Err(e)) => {
                // Oversize messages (over the 1 MiB transport limit) end up here; anything
                // else is a broken stream (protocol error).
                debug!("read error: {e}");
                let text = e.to_string();
                if text.contains("too long") || text.contains("too big") {
                    let _ = tx.push(Outbound::CloseCode(1009, "message too big"));
                    return Left::Closing;
                }
                // A reset or broken connection: the client may resume.
                let _ = tx.push(Outbound::CloseCode(1002, "protocol error"));
                return Left::Dropped;
            }
        };
        if text.len() > MAX_FRAME_BYTES {
            reply(
                tx,
                error(
                    None,
                    ErrorCode::FrameTooLarge,
                    format!("frame over {MAX_FRAME_BYTES} bytes"),
                ),
            );
            continue;
        }
        match decode_client_frame(&text) {
            Ok(ClientFrame {
                id,
                msg: ClientMessage::Connect(_),
            }) => {
                reply(
                    tx,
                    error(
                        Some(id),
                        ErrorCode::AlreadyConnected,
                        ErrorCode::AlreadyConnected.message(),
                    ),
                );
            }
            Ok(ClientFrame { id, msg }) => {
                if !state.families.send(
                    room_id,
                    FamilyMsg::Request {
                        client: client.clone(),
                        id,
                        msg,
                    },
                ) {
                    return Left::Leave;
                }
            }
            Err(e) => reply(tx, frame(e.id, *e.reply)),
        }
    }
}

/// The request id of a text frame, when it has a readable one (for the 4006 answer).
fn request_id(text: &str) -> Option<RequestId> {
    if text.len() > MAX_FRAME_BYTES {
        return None;
    }
    match decode_client_frame(text) {
        Ok(f) => Some(f.id),
        Err(e) => e.id,
    }
}

/// Queues a reply from the connection task itself; a full queue means a slow client, whose
/// family will drop it, so the reply is simply lost with the connection.
fn reply(tx: &OutboundTx, out: Outbound) {
    let _ = tx.push(out);
}

async fn write_loop<K>(
    sink: K,
    rx: OutboundRx,
    kill: watch::Receiver<bool>,
    probe: watch::Receiver<u64>,
    done: Arc<watch::Sender<bool>>,
) where
    K: Sink<Message> + Unpin,
{
    write_frames(sink, rx, kill, probe).await;
    // The writer is gone: make the reader stop too, even if the peer never answers the close.
    let _ = done.send(true);
}

async fn write_frames<K>(
    mut sink: K,
    mut rx: OutboundRx,
    mut kill: watch::Receiver<bool>,
    mut probe: watch::Receiver<u64>,
) where
    K: Sink<Message> + Unpin,
{
    loop {
        let out = tokio::select! {
            o = rx.recv() => o,
            Ok(()) = probe.changed() => {
                // The reader waits for the answer; a peer that does not read cannot answer.
                tokio::select! {
                    sent = sink.send(Message::Ping(Default::default())) => {
                        if sent.is_err() {
                            return;
                        }
                    }
                    _ = kill.changed() => return,
                }
                continue;
            }
            _ = kill.changed() => {
                let _ = tokio::time::timeout(Duration::from_millis(200), sink.send(close_frame(1008, "too slow: does not read"))).await;
                return;
            }
        };
        match out {
            Some(Next::Text(text)) => {
                // A client that does not read blocks this send for good: the kill switch
                // (it stopped reading) must still end the connection.
                tokio::select! {
                    sent = sink.send(Message::Text(Utf8Bytes::from(text))) => {
                        if sent.is_err() {
                            return;
                        }
                        rx.sent();
                    }
                    _ = kill.changed() => return,
                }
            }
            Some(Next::Close(reason)) => {
                let (code, why) = match reason {
                    CloseReason::Refused => (1008, "refused"),
                    CloseReason::RoomEnded => (1000, "room ended"),
                };
                let _ = sink.send(close_frame(code, why)).await;
                return;
            }
            Some(Next::CloseCode(DROP_WITHOUT_CLOSE, _)) => return,
            Some(Next::CloseCode(code, why)) => {
                let _ = sink.send(close_frame(code, why)).await;
                return;
            }
            None => {
                let _ = sink.send(close_frame(1000, "bye")).await;
                return;
            }
        }
    }
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

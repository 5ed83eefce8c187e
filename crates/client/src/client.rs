//! The async client: [`connect`], the parent-room handle [`Room`], and the connection task.
//!
//! One tokio task owns the WebSocket and a [`ClientSession`]. It writes the frames the session
//! queues, feeds every frame it reads into the session, resolves each waiting request by its id
//! (a oneshot per request), and forwards every frame to [`Events`]. [`Room`] handles only talk
//! to that task through a channel, so they are cheap to clone and never lock anything.
//!
//! The typed break-out calls (`create_break_out_room`, `join_breakout_room`, …) live in
//! `breakout.rs`; this file has the raw [`Room::request`] they are built on.

use crate::error::Error;
use crate::events::Events;
use crate::media::SlotGate;
use crate::session::{ClientSession, SessionEvent};
use crate::state::RoomState;
use alcove_proto::ids::{ClientId, RequestId};
use alcove_proto::signal::{ClientMessage, RoomConnected, ServerFrame, UserInfo};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::Instrument;

/// How long a request (and the whole `connect`) waits for its answer before
/// [`Error::Timeout`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// After [`Room::close`] sent its close frame, how long the task still reads what the server
/// sends before it gives up on the server's closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long the SDK keeps trying to resume after a drop (the server keeps a dropped client's
/// place for 30 s by default).
pub const RESUME_WINDOW: Duration = Duration::from_secs(30);

/// Timeouts, fixed at [`REQUEST_TIMEOUT`] for callers; tests shorten them. TLS roots for
/// `wss://` ([`connect_tls`]).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Roots for `wss://`; `None`: the system's.
    pub(crate) tls: Option<crate::tls::Tls>,
    /// Bound on the WebSocket handshake plus the `connect` exchange.
    pub(crate) connect_timeout: Duration,
    /// Bound on each request's wait for its acknowledgement.
    pub(crate) request_timeout: Duration,
    /// How long to keep trying to resume after a drop.
    pub(crate) resume_window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tls: None,
            connect_timeout: REQUEST_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            resume_window: RESUME_WINDOW,
        }
    }
}

/// Where a connection stands ([`Room::connection_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected (first connect, or resumed).
    Connected,
    /// The connection dropped; the SDK is resuming (attempt number).
    Reconnecting(u32),
    /// Resumed after a drop: same client id, same place. The server's `roomConnected` (with
    /// `resumed: true`) is also delivered on [`Events`].
    Reconnected,
    /// Closed for good (by [`Room::close`], by the server, or a failed resume).
    Closed,
}

/// Where the connection task delivers frames: to [`Events`], after updating the slot gate of
/// [`crate::media`] (so that the media task gates by a map at least as new as the app's).
pub(crate) struct EventTx {
    tx: mpsc::UnboundedSender<ServerFrame>,
    gate: watch::Sender<SlotGate>,
}

impl EventTx {
    /// Delivers `frame`; false when the app dropped its [`Events`].
    fn send(&self, frame: ServerFrame) -> bool {
        self.gate.send_if_modified(|g| g.apply(&frame.msg));
        self.tx.send(frame).is_ok()
    }
}

/// What the connection task needs to resume after a drop.
struct Resume {
    url: String,
    /// Roots for `wss://` (as at connect).
    tls: Option<crate::tls::Tls>,
    token: Option<String>,
    window: Duration,
    state: watch::Sender<ConnectionState>,
    /// Told about every successful resume (for [`crate::media::Media`]).
    resumed: watch::Sender<Resumed>,
}

/// The latest successful resume of a connection, as [`crate::media::Media`] needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Resumed {
    /// Successful resumes so far (0: never dropped).
    pub(crate) count: u32,
    /// `media_kept` of the latest resumed `roomConnected`: the server still has this client's
    /// peer connection (restart ICE on it) or not (negotiate a new one).
    pub(crate) media_kept: bool,
}

/// Connects to a server's signalling endpoint (`ws://HOST:PORT/v1/signal`) with a token minted
/// by `POST /v1/rooms/{room_id}/tokens` (see [`crate::RestClient::create_token`]).
///
/// Returns the parent-room handle and the stream of everything the server sends from here on.
/// Fails with [`Error::Refused`] when the server refuses the token (e.g. 4103, token reused),
/// [`Error::Transport`] when the socket cannot be opened, [`Error::Timeout`] after
/// [`REQUEST_TIMEOUT`]. Must be called inside a tokio runtime: it spawns the connection task.
///
/// `wss://` trusts the system's root certificates; [`connect_tls`] takes other roots.
pub async fn connect(url: &str, token: &str) -> Result<(Room, Events), Error> {
    connect_with(url, token, Config::default()).await
}

/// [`connect`] with the TLS roots of `tls` for a `wss://` URL (a private CA, a self-signed
/// development certificate: [`crate::Tls::with_root_pem`]). Resumes use the same roots.
pub async fn connect_tls(
    url: &str,
    token: &str,
    tls: &crate::tls::Tls,
) -> Result<(Room, Events), Error> {
    let config = Config {
        tls: Some(tls.clone()),
        ..Config::default()
    };
    connect_with(url, token, config).await
}

/// Opens the WebSocket: plain for `ws://`, TLS for `wss://` (with `tls`'s roots, else the
/// system's).
async fn open_socket(
    url: &str,
    tls: Option<&crate::tls::Tls>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    WsError,
> {
    let connector = tls.map(|t| tokio_tungstenite::Connector::Rustls(t.rustls()));
    let (ws, _response) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector).await?;
    Ok(ws)
}

pub(crate) async fn connect_with(
    url: &str,
    token: &str,
    config: Config,
) -> Result<(Room, Events), Error> {
    let handshake = async {
        let ws = open_socket(url, config.tls.as_ref())
            .await
            .map_err(transport)?;
        handshake(ws, token).await
    };
    let (ws, session, connected, early) = tokio::time::timeout(config.connect_timeout, handshake)
        .await
        .map_err(|_| Error::Timeout)??;

    let span = tracing::info_span!("alcove_client", client_id = %connected.client_id);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let (gate_tx, gate_rx) = watch::channel(SlotGate::new(connected.room.room_id.clone()));
    let event_tx = EventTx {
        tx: event_tx,
        gate: gate_tx,
    };
    for frame in early {
        // The receiver is in our hands a few lines below: this cannot fail.
        let _ = event_tx.send(frame);
    }
    tracing::debug!(parent: &span, version = connected.version, "connected");
    let (state_tx, state_rx) = watch::channel(ConnectionState::Connected);
    let (resumed_tx, resumed_rx) = watch::channel(Resumed::default());
    let resume = Resume {
        url: url.to_owned(),
        tls: config.tls.clone(),
        token: connected.resume_token.clone(),
        window: config.resume_window,
        state: state_tx,
        resumed: resumed_tx,
    };
    tokio::spawn(run(ws, session, cmd_rx, event_tx, resume).instrument(span));

    let room = Room {
        inner: Arc::new(Inner {
            cmds: cmd_tx,
            connected,
            request_timeout: config.request_timeout,
            state: state_rx,
            resumed: resumed_rx,
            gate: gate_rx,
        }),
    };
    Ok((room, Events::new(event_rx)))
}

/// Sends `connect` and reads until its answer. Frames without an id that arrive first are kept
/// for [`Events`], so that nothing is lost.
async fn handshake<S>(
    mut ws: S,
    token: &str,
) -> Result<(S, ClientSession, RoomConnected, Vec<ServerFrame>), Error>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut session = ClientSession::new(token);
    flush(&mut ws, &mut session).await.map_err(transport)?;
    let mut early = Vec::new();
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => session.handle_text(text.as_str()),
            Some(Ok(Message::Close(_))) | None => session.handle_closed(),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(transport(e)),
        }
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::Connected(connected) => {
                    session.note_clock(local_unix_ms());
                    return Ok((ws, session, *connected, early));
                }
                SessionEvent::ConnectFailed(error) => return Err(error),
                SessionEvent::Notification(frame) | SessionEvent::Stray(frame) => early.push(frame),
                SessionEvent::Garbled { error, .. } => tracing::debug!(%error, "dropped frame"),
                // No request can be outstanding before `roomConnected`.
                SessionEvent::Ack(..) | SessionEvent::Closed { .. } => {}
            }
        }
    }
}

/// What a [`Room`] handle asks of the connection task.
enum Command {
    /// Send `msg` and resolve `reply` with its acknowledgement.
    Request {
        msg: Box<ClientMessage>,
        reply: oneshot::Sender<Result<ServerFrame, Error>>,
    },
    /// Answer with the session's user list.
    Users(oneshot::Sender<Vec<UserInfo>>),
    /// Answer with the session's room state.
    State(oneshot::Sender<Option<RoomState>>),
    /// Close the connection.
    Close,
    /// Drop the transport without a closing handshake (a simulated network failure).
    Drop,
}

/// Why one connection's loop ended.
enum Ended {
    /// Closed on purpose (either side) or every handle is gone: do not resume.
    Closed,
    /// The transport failed: resume if possible.
    Lost,
}

/// The connection task: the only owner of the socket and the session. It ends when the
/// connection closes on purpose (either side), when every [`Room`] handle is gone, or when a
/// resume after a drop fails. A dropped transport is resumed with the server's resume token:
/// same client id, same place (location, parent link, invitations).
async fn run<S>(
    ws: S,
    mut session: ClientSession,
    mut cmds: mpsc::UnboundedReceiver<Command>,
    events: EventTx,
    resume: Resume,
) where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    // Requests the session sent and whose acknowledgement a caller is waiting for. A caller
    // that timed out has dropped its receiver; its late answer is then simply not delivered.
    let mut waiting: HashMap<RequestId, oneshot::Sender<Result<ServerFrame, Error>>> =
        HashMap::new();
    let mut ended = serve(ws, &mut session, &mut cmds, &mut waiting, &events).await;
    // A credential resumes once: every resumed `roomConnected` carries the next one.
    let mut token = resume.token.clone();
    while let (Ended::Lost, Some(current)) = (&ended, token.as_deref()) {
        // Requests in flight when the transport failed may or may not have been applied: they
        // fail, and the app re-reads the state from the resumed `roomConnected`.
        session.handle_closed();
        dispatch(&mut session, &mut waiting, &events);
        for (_, reply) in waiting.drain() {
            let _ = reply.send(Err(Error::Closed));
        }
        let Some((ws, new_session, connected)) = reconnect(&resume, current, &events).await else {
            break;
        };
        session = new_session;
        if connected.resume_token.is_some() {
            token.clone_from(&connected.resume_token);
        }
        // Before `Reconnected`: whoever wakes on the state sees this resume already. Requests
        // sent from here on (a media restore's `sdpOffer`) go out on the new connection.
        resume.resumed.send_modify(|r| {
            r.count += 1;
            r.media_kept = connected.media_kept;
        });
        let _ = resume.state.send(ConnectionState::Reconnected);
        ended = serve(ws, &mut session, &mut cmds, &mut waiting, &events).await;
    }
    let _ = resume.state.send(ConnectionState::Closed);
    session.handle_closed();
    dispatch(&mut session, &mut waiting, &events);
    for (_, reply) in waiting.drain() {
        let _ = reply.send(Err(Error::Closed));
    }
    tracing::debug!("connection closed");
}

/// Tries to resume for the resume window, backing off from 50 ms to 1 s between attempts.
/// Returns the new socket, session and the resumed `roomConnected` (which also went to
/// `events`). A 4109 (the server still sees the old connection open, and is checking it) is
/// retried like a transport failure; any other refusal is final.
async fn reconnect(
    resume: &Resume,
    token: &str,
    events: &EventTx,
) -> Option<(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    ClientSession,
    RoomConnected,
)> {
    let deadline = tokio::time::Instant::now() + resume.window;
    let mut backoff = Duration::from_millis(50);
    let mut attempt = 0;
    while tokio::time::Instant::now() < deadline {
        attempt += 1;
        let _ = resume.state.send(ConnectionState::Reconnecting(attempt));
        let try_once = async {
            let mut ws = open_socket(&resume.url, resume.tls.as_ref())
                .await
                .map_err(transport)?;
            let mut session = ClientSession::resuming(token);
            flush(&mut ws, &mut session).await.map_err(transport)?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => session.handle_text(text.as_str()),
                    Some(Ok(Message::Close(_))) | None => session.handle_closed(),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(transport(e)),
                }
                while let Some(event) = session.poll_event() {
                    match event {
                        SessionEvent::Connected(connected) => {
                            session.note_clock(local_unix_ms());
                            let frame = ServerFrame {
                                id: Some(RequestId(0)),
                                msg: alcove_proto::signal::ServerMessage::RoomConnected(
                                    (*connected).clone(),
                                ),
                            };
                            let _ = events.send(frame);
                            return Ok((ws, session, *connected));
                        }
                        SessionEvent::ConnectFailed(error) => return Err(error),
                        SessionEvent::Notification(frame) | SessionEvent::Stray(frame) => {
                            let _ = events.send(frame);
                        }
                        _ => {}
                    }
                }
            }
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, try_once).await {
            Ok(Ok(ok)) => return Some(ok),
            Ok(Err(Error::Refused { result, .. }))
                if result == alcove_proto::ErrorCode::ResumeWhileAttached.code() =>
            {
                tracing::debug!(
                    attempt,
                    "resume: the old connection is still open; retrying"
                );
            }
            // The server answered: the place is gone (grace over, room ended, credential
            // already used). Final.
            Ok(Err(Error::Refused { result, .. })) => {
                tracing::debug!(result, "resume refused");
                return None;
            }
            Ok(Err(e)) => tracing::debug!(error = %e, attempt, "resume attempt failed"),
            Err(_) => tracing::debug!(attempt, "resume attempt timed out"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
    None
}

/// One connection's loop: requests out, frames in, until the connection ends.
async fn serve<S>(
    mut ws: S,
    session: &mut ClientSession,
    cmds: &mut mpsc::UnboundedReceiver<Command>,
    waiting: &mut HashMap<RequestId, oneshot::Sender<Result<ServerFrame, Error>>>,
    events: &EventTx,
) -> Ended
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut closed_by_server = false;
    let ended = loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Command::Request { msg, reply }) => {
                    match session.request(*msg) {
                        Ok(id) => {
                            waiting.insert(id, reply);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                    if let Err(e) = flush(&mut ws, session).await {
                        tracing::debug!(error = %e, "write failed");
                        break Ended::Lost;
                    }
                }
                Some(Command::Users(reply)) => {
                    let _ = reply.send(session.users().users().to_vec());
                }
                Some(Command::State(reply)) => {
                    let _ = reply.send(session.state().cloned());
                }
                // `None`: every Room handle was dropped; nobody can send requests any more.
                Some(Command::Close) | None => {
                    close_gracefully(&mut ws, session, waiting, events).await;
                    break Ended::Closed;
                }
                Some(Command::Drop) => break Ended::Lost,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => session.handle_text(text.as_str()),
                // The transport answers the close frame; the stream ends right after.
                Some(Ok(Message::Close(frame))) => {
                    tracing::debug!(?frame, "server closed");
                    closed_by_server = true;
                }
                Some(Ok(Message::Binary(_))) => tracing::debug!("ignored a binary frame"),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "read failed");
                    break if closed_by_server { Ended::Closed } else { Ended::Lost };
                }
                None => break if closed_by_server { Ended::Closed } else { Ended::Lost },
            },
        }
        dispatch(session, waiting, events);
    };
    dispatch(session, waiting, events);
    ended
}

/// Sends a close frame, then reads (and delivers) what the server still sends until it
/// finishes the closing handshake or [`CLOSE_GRACE`] runs out.
async fn close_gracefully<S>(
    ws: &mut S,
    session: &mut ClientSession,
    waiting: &mut HashMap<RequestId, oneshot::Sender<Result<ServerFrame, Error>>>,
    events: &EventTx,
) where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    if ws.send(Message::Close(None)).await.is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(text) = msg {
            session.handle_text(text.as_str());
            dispatch(session, waiting, events);
        }
    }
}

/// Writes every frame the session queued.
async fn flush<S>(ws: &mut S, session: &mut ClientSession) -> Result<(), WsError>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    while let Some(frame) = session.poll_transmit() {
        // Only the type and id: payloads carry tokens and names.
        tracing::trace!(id = %frame.id, r#type = frame.msg.type_name(), "send");
        ws.feed(Message::text(frame.encode())).await?;
    }
    ws.flush().await
}

/// Hands the session's events to the waiting callers and to [`Events`].
fn dispatch(
    session: &mut ClientSession,
    waiting: &mut HashMap<RequestId, oneshot::Sender<Result<ServerFrame, Error>>>,
    events: &EventTx,
) {
    while let Some(event) = session.poll_event() {
        match event {
            SessionEvent::Ack(id, frame) => {
                tracing::trace!(%id, r#type = frame.msg.type_name(), "ack");
                if let Some(reply) = waiting.remove(&id) {
                    let _ = reply.send(Ok(frame.clone()));
                }
                // The Events receiver may be gone (the app dropped it); acks still resolve.
                let _ = events.send(frame);
            }
            SessionEvent::Notification(frame) | SessionEvent::Stray(frame) => {
                tracing::trace!(r#type = frame.msg.type_name(), "notification");
                let _ = events.send(frame);
            }
            SessionEvent::Garbled { ack_of, error } => {
                tracing::debug!(%error, "undecodable frame");
                if let Some(reply) = ack_of.and_then(|id| waiting.remove(&id)) {
                    let _ = reply.send(Err(Error::Protocol(error)));
                }
            }
            SessionEvent::Closed { unanswered } => {
                for id in unanswered {
                    if let Some(reply) = waiting.remove(&id) {
                        let _ = reply.send(Err(Error::Closed));
                    }
                }
            }
            SessionEvent::Connected(_) | SessionEvent::ConnectFailed(_) => {}
        }
    }
}

/// The local clock as Unix milliseconds (0 before 1970).
pub(crate) fn local_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn transport(e: WsError) -> Error {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => Error::Closed,
        other => Error::Transport(other.to_string()),
    }
}

/// Shared by every clone of one [`Room`].
struct Inner {
    /// To the connection task; closed when that task ends.
    cmds: mpsc::UnboundedSender<Command>,
    /// The `roomConnected` answer, as received at connect; never updated.
    connected: RoomConnected,
    /// How long each request waits for its acknowledgement.
    request_timeout: Duration,
    /// Connected / reconnecting / closed, from the connection task.
    state: watch::Receiver<ConnectionState>,
    /// The latest successful resume, from the connection task.
    resumed: watch::Receiver<Resumed>,
    /// The slot gate of [`crate::media`], from the connection task.
    gate: watch::Receiver<SlotGate>,
}

/// A [`Room`] that does not keep the connection open (held by [`crate::media::Media`], which
/// must not outlive the app's interest in the connection).
#[derive(Clone)]
pub(crate) struct WeakRoom(Weak<Inner>);

impl WeakRoom {
    /// The room, while some [`Room`] handle still exists.
    pub(crate) fn upgrade(&self) -> Option<Room> {
        self.0.upgrade().map(|inner| Room { inner })
    }
}

/// The parent-room handle of one connection: every break-out operation is called on it
/// (SPEC §3), except `disconnect`, which is on the [`crate::BreakoutRoom`] handle.
///
/// Cheap to clone: clones share the one connection. The connection closes on [`Room::close`],
/// when the server closes it, or when every clone (and every [`crate::BreakoutRoom`]) has been
/// dropped.
#[derive(Clone)]
pub struct Room {
    inner: Arc<Inner>,
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room")
            .field("client_id", &self.inner.connected.client_id)
            .field("room_id", &self.inner.connected.room.room_id)
            .field("open", &!self.inner.cmds.is_closed())
            .finish()
    }
}

impl Room {
    /// This connection's client id, assigned by the server at connect.
    pub fn client_id(&self) -> &ClientId {
        &self.inner.connected.client_id
    }

    /// The `roomConnected` payload received at connect: the parent room, who was connected
    /// and where, and the live break-out rooms. A snapshot; later changes arrive as [`Events`].
    pub fn connected(&self) -> &RoomConnected {
        &self.inner.connected
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.cmds.is_closed()
    }

    /// Sends any request and returns its acknowledgement frame, whatever its `result` (raw
    /// access; the typed calls are built on it). Fails only when no acknowledgement comes:
    /// [`Error::Closed`], [`Error::Timeout`] after [`REQUEST_TIMEOUT`], or [`Error::Protocol`]
    /// when the answer could not be decoded.
    pub async fn request(&self, msg: ClientMessage) -> Result<ServerFrame, Error> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .cmds
            .send(Command::Request {
                msg: Box::new(msg),
                reply,
            })
            .map_err(|_| Error::Closed)?;
        match tokio::time::timeout(self.inner.request_timeout, answer).await {
            Err(_elapsed) => Err(Error::Timeout),
            // The task ended without answering: the connection is gone.
            Ok(Err(_dropped)) => Err(Error::Closed),
            Ok(Ok(result)) => result,
        }
    }

    /// Who is in the family now, in connection order, as this connection has heard: the
    /// `roomConnected` list with every presence notification received since applied
    /// (`userConnected` … `userMuted` from a version-1 server, `usersUpdated` from version 2).
    /// Answered by the connection task after the frames it already read; while the SDK is
    /// resuming after a drop, the answer waits for the resume. [`Error::Closed`] once the
    /// connection ended.
    pub async fn users(&self) -> Result<Vec<UserInfo>, Error> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .cmds
            .send(Command::Users(reply))
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)
    }

    /// The family as this connection has heard it, beyond the user list: the room list
    /// (`roomConnected.breakout_rooms` with every `breakoutRoomsUpdated` applied), where this
    /// client is (a `moved` notice is not a return to the parent), its moderator mute, the
    /// pending help requests (moderators) and the server's clock offset. Answered by the
    /// connection task after the frames it already read; while the SDK is resuming after a
    /// drop, the answer waits for the resume (the state then starts again from the resumed
    /// `roomConnected`). [`Error::Closed`] once the connection ended.
    pub async fn state(&self) -> Result<RoomState, Error> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .cmds
            .send(Command::State(reply))
            .map_err(|_| Error::Closed)?;
        answer
            .await
            .map_err(|_| Error::Closed)?
            .ok_or(Error::Closed)
    }

    /// The server's clock now (Unix ms), from the offset measured at connect (or the latest
    /// resume): what to count a room's `ends_at` down against.
    pub async fn server_now_ms(&self) -> Result<u64, Error> {
        Ok(self.state().await?.server_time_at(local_unix_ms()))
    }

    /// Where the connection stands now; `changed()` on a clone wakes on every change
    /// (reconnecting, reconnected, closed).
    pub fn connection_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state.clone()
    }

    /// Every successful resume of this connection (`changed()` wakes on each).
    pub(crate) fn resumes(&self) -> watch::Receiver<Resumed> {
        self.inner.resumed.clone()
    }

    /// The slot gate, kept current from every frame this connection reads.
    pub(crate) fn slot_gate(&self) -> watch::Receiver<SlotGate> {
        self.inner.gate.clone()
    }

    /// A handle that does not keep the connection open.
    pub(crate) fn downgrade(&self) -> WeakRoom {
        WeakRoom(Arc::downgrade(&self.inner))
    }

    /// Drops the transport without a closing handshake, as a network failure would. The SDK
    /// then resumes on its own (same client id, same place). For tests and demos.
    pub fn drop_connection(&self) {
        let _ = self.inner.cmds.send(Command::Drop);
    }

    /// Closes the connection (the client leaves the family) and waits until it is closed.
    /// Requests still waiting fail with [`Error::Closed`]; [`Events`] ends after delivering
    /// what arrived before. Closing twice is harmless.
    pub async fn close(&self) {
        let _ = self.inner.cmds.send(Command::Close);
        // Resolves when the connection task has dropped its receiver, i.e. has finished.
        self.inner.cmds.closed().await;
    }
}

#[cfg(test)]
mod tests {
    //! The client against a scripted in-process WebSocket server.

    use super::*;
    use alcove_proto::api::RoomSettings;
    use alcove_proto::signal::{RoomSummary, ServerMessage, Status};
    use alcove_proto::ErrorCode;
    use serde_json::{json, Value};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::WebSocketStream;

    type Peer = WebSocketStream<TcpStream>;

    /// Binds a server on 127.0.0.1:0 that accepts one connection and hands it to `script`.
    async fn server<F, Fut>(script: F) -> String
    where
        F: FnOnce(Peer) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            script(ws).await;
        });
        format!("ws://{addr}/v1/signal")
    }

    async fn recv_json(ws: &mut Peer) -> Value {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(_)) => continue,
                other => panic!("peer ended: {other:?}"),
            }
        }
    }

    async fn send(ws: &mut Peer, frame: ServerFrame) {
        ws.send(Message::text(frame.encode())).await.unwrap();
    }

    fn room_connected() -> ServerFrame {
        ServerFrame {
            id: Some(RequestId(0)),
            msg: ServerMessage::RoomConnected(RoomConnected {
                result: 0,
                version: 1,
                client_id: "c-7".into(),
                room: RoomSummary {
                    room_id: "r-1".into(),
                    name: "standup".into(),
                    settings: RoomSettings::default(),
                },
                users: vec![],
                breakout_rooms: vec![],
                invitations: vec![],
                resumed: false,
                media_kept: false,
                resume_token: None,
                server_time: 0,
                help_requests: Vec::new(),
                muted_by_moderator: false,
                ice_servers: Vec::new(),
            }),
        }
    }

    async fn accept(ws: &mut Peer) {
        let hello = recv_json(ws).await;
        assert_eq!(
            hello,
            json!({"type":"connect","id":0,"token":"tok","versions":[1,2,3,4]})
        );
        send(ws, room_connected()).await;
    }

    fn note(msg: &str) -> ServerFrame {
        ServerFrame {
            id: None,
            msg: ServerMessage::AckResume(Status::ok(msg)),
        }
    }

    #[tokio::test]
    async fn connect_then_request_gets_its_ack_and_events_see_everything() {
        let url = server(|mut ws| async move {
            accept(&mut ws).await;
            let req = recv_json(&mut ws).await;
            assert_eq!(req, json!({"type":"pause","id":1}));
            send(&mut ws, note("before the ack")).await;
            send(
                &mut ws,
                ServerFrame {
                    id: Some(RequestId(1)),
                    msg: ServerMessage::AckPause(Status::ok("Room paused")),
                },
            )
            .await;
            // Stay open until the client closes.
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;

        let (room, mut events) = connect(&url, "tok").await.unwrap();
        assert_eq!(room.client_id().as_str(), "c-7");
        assert_eq!(room.connected().room.room_id.as_str(), "r-1");
        let status = room.pause().await.unwrap();
        assert_eq!(status.msg, "Room paused");

        assert_eq!(events.next().await, Some(note("before the ack")));
        let ack = events.next().await.unwrap();
        assert_eq!(ack.id, Some(RequestId(1)));
        assert_eq!(ack.msg.type_name(), "ackPause");

        room.close().await;
        assert!(room.is_closed());
        assert_eq!(events.next().await, None);
        assert_eq!(room.pause().await, Err(Error::Closed));
    }

    #[tokio::test]
    async fn refused_connect_is_refused_with_the_servers_code() {
        let url = server(|mut ws| async move {
            recv_json(&mut ws).await;
            send(
                &mut ws,
                ServerFrame {
                    id: Some(RequestId(0)),
                    msg: ServerMessage::Error(Status::err(ErrorCode::TokenReused)),
                },
            )
            .await;
            let _ = ws.close(None).await;
        })
        .await;
        let err = connect(&url, "tok").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::TokenReused));
        assert!(matches!(err, Error::Refused { result: 4103, .. }));
    }

    #[tokio::test]
    async fn failed_ack_is_refused_but_raw_request_returns_it() {
        let url = server(|mut ws| async move {
            accept(&mut ws).await;
            for _ in 0..2 {
                let req = recv_json(&mut ws).await;
                let id = req["id"].as_u64().unwrap();
                let msg = ServerMessage::failure_for(
                    "joinBreakoutRoom",
                    ErrorCode::NotInvited,
                    "No invitation to this Break-Out Room",
                );
                send(
                    &mut ws,
                    ServerFrame {
                        id: Some(RequestId(id)),
                        msg,
                    },
                )
                .await;
            }
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let (room, _events) = connect(&url, "tok").await.unwrap();
        let err = room
            .join_breakout_room(
                &"br-1".into(),
                alcove_proto::signal::JoinRole::Participant,
                Default::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotInvited));
        let raw = room.request(ClientMessage::Pause).await.unwrap();
        assert_eq!(raw.msg.type_name(), "failedJoinBreakOutRoom");
        assert_eq!(raw.msg.result(), Some(1737));
    }

    #[tokio::test]
    async fn server_close_fails_waiting_requests_and_ends_events() {
        let url = server(|mut ws| async move {
            accept(&mut ws).await;
            recv_json(&mut ws).await;
            let bye = ServerFrame {
                id: None,
                msg: ServerMessage::RoomDisconnected(Status::err(ErrorCode::RoomEnded)),
            };
            send(&mut ws, bye).await;
            let _ = ws.close(None).await;
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let (room, mut events) = connect(&url, "tok").await.unwrap();
        assert_eq!(room.resume().await, Err(Error::Closed));
        let last = events.next().await.unwrap();
        assert_eq!(last.msg.type_name(), "roomDisconnected");
        assert_eq!(events.next().await, None);
        assert!(room.is_closed());
    }

    #[tokio::test]
    async fn unanswered_request_times_out() {
        let url = server(|mut ws| async move {
            accept(&mut ws).await;
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let config = Config {
            tls: None,
            connect_timeout: REQUEST_TIMEOUT,
            request_timeout: Duration::from_millis(50),
            resume_window: RESUME_WINDOW,
        };
        let (room, _events) = connect_with(&url, "tok", config).await.unwrap();
        assert_eq!(room.pause().await, Err(Error::Timeout));
    }

    #[tokio::test]
    async fn state_follows_the_room_list_and_the_servers_clock() {
        use alcove_proto::signal::{BreakoutRoomSummary, BreakoutRoomsUpdated};
        // The server's clock runs an hour ahead of this machine's.
        let ahead = local_unix_ms() + 3_600_000;
        let url = server(move |mut ws| async move {
            recv_json(&mut ws).await;
            let mut rc = room_connected();
            if let ServerMessage::RoomConnected(r) = &mut rc.msg {
                r.version = 3;
                r.server_time = ahead;
            }
            send(&mut ws, rc).await;
            let list = BreakoutRoomsUpdated {
                rooms: vec![BreakoutRoomSummary {
                    room_id: "br-1".into(),
                    name: "Red".into(),
                    members: 2,
                    participants: 3,
                    self_select: true,
                    ends_at: Some(ahead + 60_000),
                }],
                removed: vec![],
            };
            let frame = ServerFrame {
                id: None,
                msg: ServerMessage::BreakoutRoomsUpdated(std::sync::Arc::new(list)),
            };
            send(&mut ws, frame).await;
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let (room, mut events) = connect(&url, "tok").await.unwrap();
        let got = events
            .wait_for_event(Duration::from_secs(5), |e| {
                matches!(e, crate::FacilitationEvent::BreakoutRoomsUpdated(_))
            })
            .await;
        assert!(got.is_some());
        let st = room.state().await.unwrap();
        let r = st.room(&"br-1".into()).expect("the room is listed");
        assert_eq!(
            (r.name.as_str(), r.members, r.self_select),
            ("Red", 2, true)
        );
        let offset = st.clock_offset_ms().expect("measured at connect");
        assert!((offset - 3_600_000).abs() < 5_000, "offset {offset}");
        let now = room.server_now_ms().await.unwrap();
        assert!(
            now.abs_diff(ahead) < 5_000,
            "server now {now}, ahead {ahead}"
        );
        let left = st.ms_until(r.ends_at.unwrap(), local_unix_ms());
        assert!(
            (55_000..=60_000).contains(&left),
            "{left} ms left on the server's clock"
        );
        room.close().await;
    }

    #[tokio::test]
    async fn nothing_listening_is_a_transport_error() {
        // Bind then drop, so the port is (very likely) closed.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = connect(&format!("ws://{addr}/v1/signal"), "tok")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
    }
}

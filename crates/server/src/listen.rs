//! The TCP edge: accepting connections under the caps of [`ConnTracker`], and closing those
//! that do nothing useful.
//!
//! * **Accept loop** ([`EdgeListener`]): every accepted socket is admitted by the tracker
//!   (total and per-address caps; over a cap the oldest idle connection makes room, see
//!   `limit.rs`) or closed at once. A process out of descriptors (`EMFILE`) evicts an idle
//!   connection and retries, and says so in the log at most every 10 s. With TLS, the
//!   handshake runs in its own task, under the same caps and timeouts.
//! * **Idle and header timeouts** ([`Tracked`], the socket wrapper): a connection with no
//!   request in progress is closed after `idle_timeout`; once the first byte of a request
//!   (or of a TLS handshake) has arrived, the request head must be complete within
//!   `header_timeout` (slowloris). Requests themselves are bounded by `request_timeout`
//!   ([`track_requests`]); a WebSocket that has not sent `connect` by `connect_timeout`
//!   (`ws.rs`). A signalling connection whose client is in a family has none of these.
//!
//! Nothing here reads a frame or a header: the phase of a connection is told by the request
//! middleware ([`track_requests`]) and the signalling task (`ws.rs`).

use crate::limit::{ConnGuard, ConnState, ConnTracker, Phase};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tracing::{debug, warn};

/// The timeouts of connections that do not (yet) do useful work.
#[derive(Debug, Clone, Copy)]
pub struct EdgeTimeouts {
    /// No request in progress (fresh or keep-alive connection) for this long: closed.
    pub idle: Duration,
    /// From the first byte of a request head (or TLS handshake) to the complete head.
    pub header: Duration,
}

/// A socket under the edge's timeouts, counted by the tracker while it lives.
pub struct Tracked<T> {
    inner: T,
    guard: ConnGuard,
    timeouts: EdgeTimeouts,
    /// The idle or header deadline, armed while the connection waits for bytes.
    sleep: Pin<Box<Sleep>>,
    /// The phase generation the clocks below belong to.
    generation: u32,
    /// When the current idle phase started (or last saw a write go out).
    idle_since: Instant,
    /// When the first byte of the current idle phase arrived (a request head started).
    first_byte: Option<Instant>,
}

impl<T> Tracked<T> {
    /// Wraps an admitted socket.
    pub fn new(inner: T, guard: ConnGuard, timeouts: EdgeTimeouts) -> Tracked<T> {
        let now = Instant::now();
        let generation = guard.state().generation();
        Tracked {
            inner,
            guard,
            timeouts,
            sleep: Box::pin(tokio::time::sleep_until(now + timeouts.idle)),
            generation,
            idle_since: now,
            first_byte: None,
        }
    }

    /// The connection's shared state (phase, eviction).
    pub fn state(&self) -> &Arc<ConnState> {
        self.guard.state()
    }

    /// Restarts the clocks when the phase changed since the last poll.
    fn sync_phase(&mut self, now: Instant) -> Phase {
        let state = self.guard.state();
        let generation = state.generation();
        if generation != self.generation {
            self.generation = generation;
            self.idle_since = now;
            self.first_byte = None;
        }
        state.phase()
    }
}

fn evicted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed to make room for a new connection",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let state = Arc::clone(this.guard.state());
        state.register(cx.waker());
        if state.evicted() {
            return Poll::Ready(Err(evicted()));
        }
        let now = Instant::now();
        let phase = this.sync_phase(now);
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if phase == Phase::Idle && this.first_byte.is_none() && buf.filled().len() > before
                {
                    this.first_byte = Some(now);
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        if phase != Phase::Idle {
            return Poll::Pending;
        }
        let mut deadline = this.idle_since + this.timeouts.idle;
        if let Some(first) = this.first_byte {
            deadline = deadline.min(first + this.timeouts.header);
        }
        if now >= deadline {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle or incomplete request head",
            )));
        }
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle or incomplete request head",
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.guard.state().evicted() {
            return Poll::Ready(Err(evicted()));
        }
        let res = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = res {
            if n > 0 {
                // A response still going out is activity: the idle clock starts after it.
                let now = Instant::now();
                this.sync_phase(now);
                this.idle_since = now;
            }
        }
        res
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Any stream the edge hands to the HTTP server: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// One accepted connection as the HTTP server sees it.
pub struct Conn {
    io: Box<dyn Stream>,
    state: Arc<ConnState>,
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What a request knows of its connection (axum `ConnectInfo`).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The peer's address.
    pub peer: SocketAddr,
    /// The connection's phase and eviction switch.
    pub state: Arc<ConnState>,
}

impl Connected<axum::serve::IncomingStream<'_, EdgeListener>> for ConnInfo {
    fn connect_info(stream: axum::serve::IncomingStream<'_, EdgeListener>) -> ConnInfo {
        ConnInfo {
            peer: *stream.remote_addr(),
            state: Arc::clone(&stream.io().state),
        }
    }
}

/// The connection of a request, for the signalling handler (a request extension; absent when
/// the router is driven without a socket, as in `oneshot` tests).
#[derive(Debug, Clone)]
pub struct EdgeConn(pub Arc<ConnState>);

/// Middleware: marks the connection busy while a request is served (no idle timeout, not
/// evictable), bounds the request by `timeout` (408 after it), and after a WebSocket upgrade
/// marks the connection a pending WebSocket.
pub async fn track_requests(
    State(timeout): State<Duration>,
    mut req: Request,
    next: Next,
) -> Response {
    let state = req
        .extensions()
        .get::<ConnectInfo<ConnInfo>>()
        .map(|c| Arc::clone(&c.0.state));
    if let Some(s) = &state {
        s.set_phase(Phase::Busy);
        req.extensions_mut().insert(EdgeConn(Arc::clone(s)));
    }
    let response = match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            axum::http::StatusCode::REQUEST_TIMEOUT,
            [(axum::http::header::CONNECTION, "close")],
            "request timeout",
        )
            .into_response(),
    };
    if let Some(s) = state {
        s.set_phase(
            if response.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
                Phase::WsPending
            } else {
                Phase::Idle
            },
        );
    }
    response
}

/// The accept side of the edge, as `axum::serve` takes it.
pub struct EdgeListener {
    rx: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for EdgeListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept loop ended (it only does when this listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// How often an accept-side warning (out of descriptors, connections refused) is logged.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Starts accepting on `listener` under `tracker`'s caps; with `tls`, each connection
/// completes a TLS handshake first.
pub fn spawn(
    listener: TcpListener,
    tracker: Arc<ConnTracker>,
    timeouts: EdgeTimeouts,
    tls: Option<axum_server::tls_rustls::RustlsAcceptor>,
) -> io::Result<EdgeListener> {
    let local = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tracker, timeouts, tls, tx));
    Ok(EdgeListener { rx, local })
}

fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23).
    matches!(e.raw_os_error(), Some(23 | 24))
}

async fn accept_loop(
    listener: TcpListener,
    tracker: Arc<ConnTracker>,
    timeouts: EdgeTimeouts,
    tls: Option<axum_server::tls_rustls::RustlsAcceptor>,
    tx: mpsc::Sender<(Conn, SocketAddr)>,
) {
    let mut last_warning: Option<Instant> = None;
    let mut refused: u64 = 0;
    let mut warn_now = |what: &dyn Fn() -> String| {
        let now = Instant::now();
        if last_warning.is_none_or(|t| now >= t + WARN_EVERY) {
            last_warning = Some(now);
            warn!("{}", what());
        }
    };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = tx.closed() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(ok) => ok,
            Err(e) if out_of_descriptors(&e) => {
                let freed = tracker.evict_oldest_idle();
                let open = tracker.open();
                warn_now(&|| {
                    format!("accept: {e}: {open} connections open; idle one closed: {freed}")
                });
                // The evicted connection's descriptor is freed when its task runs.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            Err(e) => {
                debug!("accept: {e}");
                continue;
            }
        };
        let guard = match tracker.admit(peer.ip()) {
            Ok(g) => g,
            Err(why) => {
                refused += 1;
                let (max, per) = (tracker.max_total, tracker.max_per_address);
                warn_now(&|| {
                    format!(
                        "connection refused ({why:?} cap: {max} in total, {per} per address; \
                         {refused} refused so far)"
                    )
                });
                drop(tcp);
                continue;
            }
        };
        // Signalling is many small frames: send each at once rather than wait for the peer's
        // delayed ACK (Nagle), which would add up to 40 ms to acks that follow a notification.
        let _ = tcp.set_nodelay(true);
        let io = Tracked::new(tcp, guard, timeouts);
        let state = Arc::clone(io.state());
        match &tls {
            None => {
                let conn = Conn {
                    io: Box::new(io),
                    state,
                };
                if tx.send((conn, peer)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    use axum_server::accept::Accept;
                    match acceptor.accept(io, ()).await {
                        Ok((stream, _)) => {
                            let conn = Conn {
                                io: Box::new(stream),
                                state,
                            };
                            let _ = tx.send((conn, peer)).await;
                        }
                        Err(e) => debug!("TLS handshake: {e}"),
                    }
                });
            }
        }
    }
}

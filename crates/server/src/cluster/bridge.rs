//! Signalling through any node: placement of a connect, and the bridge to the owner.
//!
//! ```text
//!   client ──ws──► entry node ──ws (x-alcove-bridge)──► owner node ──► family task
//!                  reads `connect`, checks its signature, finds the owner, replays the
//!                  frame, then pipes frames both ways
//! ```
//!
//! The owner admits the token (single use, checked there) exactly as for a direct client. If
//! the owner lost a placement race it closes with [`NOT_OWNER_CLOSE`] before anything else,
//! and the entry node looks again (bounded by the lease time plus a margin). When the owner's
//! side ends without a close frame (the family moved, the owner died), the client's side ends
//! the same way, so its SDK resumes; a close frame is passed on as it is.

use super::{blocking, Cluster, Lease, NodeInfo, Route, BRIDGE_HEADER, NOT_OWNER_CLOSE};
use crate::driver::{ConnTx, Outbound};
use crate::outbound::OutboundTx;
use crate::ws::DROP_WITHOUT_CLOSE;
use crate::AppState;
use alcove_core::{CloseReason, FamilySnapshot};
use alcove_proto::signal::{Connect, ServerFrame, ServerMessage, Status};
use alcove_proto::{ErrorCode, RequestId, RoomId};
use axum::extract::ws::Message;
use futures_util::{SinkExt, Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as UpClose;
use tokio_tungstenite::tungstenite::Message as Up;
use tracing::{debug, info, warn};

/// A connect to serve on another node.
pub struct Target {
    /// The room.
    pub room: RoomId,
    /// The node that holds it (or was chosen for it).
    pub node: NodeInfo,
    /// The client's `connect` frame, as it sent it.
    pub first: String,
    /// Its request id.
    pub id: RequestId,
    /// The negotiated protocol version.
    pub version: u32,
    /// The decoded `connect`.
    pub connect: Connect,
}

/// Where a connect goes.
#[derive(Debug)]
pub enum Placed {
    /// Here, under this lease.
    Local(Lease),
    /// To that node.
    Remote(NodeInfo),
    /// A bridged connect for a room another node holds.
    NotOwner,
    /// Redis does not answer, or no node could take the room in time.
    Unavailable,
}

/// How long a connect may wait for a room to have an owner: a dead owner's lease expires
/// within the lease time.
fn patience(cluster: &Cluster) -> Duration {
    cluster.lease + Duration::from_secs(2)
}

/// Finds where a connect for `room` is served, waiting (bounded) while a dead owner's lease
/// runs out.
pub async fn place(
    cluster: &Arc<Cluster>,
    _state: &Arc<AppState>,
    room: &RoomId,
    bridged: bool,
) -> Placed {
    let deadline = Instant::now() + patience(cluster);
    loop {
        let routed = {
            let _one = cluster.place.lock().await;
            let (c, r) = (Arc::clone(cluster), room.clone());
            blocking(move || c.route(&r, bridged)).await
        };
        match routed {
            Ok(Route::Local(lease)) => return Placed::Local(lease),
            Ok(Route::Remote(node)) => return Placed::Remote(node),
            Ok(Route::NotOwner) => return Placed::NotOwner,
            Ok(Route::Wait) => {}
            Err(e) => {
                warn!(room = %room, "placement: {e}");
                return Placed::Unavailable;
            }
        }
        if Instant::now() >= deadline {
            return Placed::Unavailable;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers a connect that no node can serve now: a resume is dropped without a close frame
/// (the SDK tries again until its resume window ends); a first connect gets `error` 1138 and
/// close 1008.
pub fn unavailable(tx: &OutboundTx, id: RequestId, resume: bool) {
    if resume {
        let _ = tx.push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "unavailable"));
        return;
    }
    let frame = ServerFrame {
        id: Some(id),
        msg: ServerMessage::Error(Status {
            result: ErrorCode::Internal.code(),
            msg: "cluster unavailable: no node can take this room now; try again".into(),
        }),
    };
    let _ = tx.push(Outbound::Frame(frame.encode()));
    let _ = tx.push(Outbound::Close(CloseReason::Refused));
}

/// Reads the snapshot a family placed here under `lease` starts from (the last one any node
/// saved), if there is one. `Err` (the lease back) when Redis could not be read: the family
/// must not start from nothing while its state may be waiting.
pub async fn snapshot_for(
    state: &Arc<AppState>,
    lease: Lease,
) -> Result<crate::driver::Leased, Lease> {
    let Some(cluster) = state.families.cluster.get() else {
        return Err(lease);
    };
    let room = lease.room().clone();
    let cl = Arc::clone(cluster);
    let r = room.clone();
    let snapshot = match blocking(move || cl.snapshot(&r)).await {
        Ok(Some(json)) => match serde_json::from_str::<FamilySnapshot>(&json) {
            Ok(s) => {
                info!(room = %room, generation = lease.generation, "restoring the family from its snapshot");
                Some(s)
            }
            Err(e) => {
                warn!(room = %room, "unreadable snapshot ignored: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warn!(room = %room, "reading the snapshot: {e}");
            return Err(lease);
        }
    };
    Ok(crate::driver::Leased {
        lease,
        snapshot,
        loaded: true,
    })
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(cluster: &Cluster, node: &NodeInfo, first: &str) -> Result<(Upstream, Up), String> {
    let base = node
        .url
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| {
            node.url
                .strip_prefix("http://")
                .map(|r| format!("ws://{r}"))
        })
        .unwrap_or_else(|| node.url.clone());
    let mut req = format!("{base}/v1/signal")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let header = cluster
        .bridge_header()
        .parse()
        .map_err(|e: axum::http::header::InvalidHeaderValue| e.to_string())?;
    req.headers_mut().insert(BRIDGE_HEADER, header);
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(3),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    ws.send(Up::Text(first.to_owned().into()))
        .await
        .map_err(|e| e.to_string())?;
    // The first answer tells whether the node took the connect.
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "no answer".to_owned())?;
        match m {
            Some(Ok(Up::Close(Some(f)))) if u16::from(f.code) == NOT_OWNER_CLOSE => {
                return Err("not the owner".into())
            }
            Some(Ok(Up::Ping(_) | Up::Pong(_))) => continue,
            Some(Ok(m)) => return Ok((ws, m)),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// Serves a client through the node that holds its room, until either side ends. Returns a
/// lease when, after the owner failed, this node took the room itself (the caller then serves
/// the connect here).
pub async fn run<S, E>(
    stream: &mut S,
    tx: &OutboundTx,
    conn: &ConnTx,
    state: &Arc<AppState>,
    target: &Target,
) -> Option<Lease>
where
    S: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let cluster = Arc::clone(state.families.cluster.get()?);
    let resume = target.connect.resume.is_some();
    let deadline = Instant::now() + patience(&cluster);
    let mut node = target.node.clone();
    let (mut up, first) = loop {
        match open(&cluster, &node, &target.first).await {
            Ok(ok) => break ok,
            Err(e) => debug!(node = %node.node_id, "bridge: {e}"),
        }
        if Instant::now() >= deadline {
            unavailable(tx, target.id, resume);
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        match place(&cluster, state, &target.room, false).await {
            Placed::Local(lease) => return Some(lease),
            Placed::Remote(n) => node = n,
            Placed::NotOwner | Placed::Unavailable => {
                unavailable(tx, target.id, resume);
                return None;
            }
        }
    };
    debug!(node = %node.node_id, room = %target.room, "bridged");
    let mut kill = conn.kill.subscribe();
    let mut stop = cluster.stop_bridges.subscribe();
    if *stop.borrow() {
        let _ = tx.push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "draining"));
        return None;
    }
    if !forward_up(tx, first) {
        return None;
    }
    let mut probing: Option<Instant> = None;
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    loop {
        tokio::select! {
            m = up.next() => match m {
                Some(Ok(Up::Ping(_))) => {
                    // The owner asks whether the client is still there: ask the client.
                    conn.probe.send_modify(|n| *n += 1);
                    probing.get_or_insert_with(|| Instant::now() + Duration::from_secs(3));
                }
                Some(Ok(m)) => {
                    if !forward_up(tx, m) {
                        return None;
                    }
                }
                None | Some(Err(_)) => {
                    let _ = tx.push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "owner gone"));
                    return None;
                }
            },
            m = stream.next() => {
                probing = None;
                match m {
                    Some(Ok(Message::Text(t))) => {
                        if up.send(Up::Text(t.as_str().to_owned().into())).await.is_err() {
                            let _ = tx.push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "owner gone"));
                            return None;
                        }
                    }
                    Some(Ok(Message::Close(_))) => {
                        // A leave: the owner gets the closing handshake, then everything
                        // it still sends (its close frame ends the client's side).
                        let _ = up.send(Up::Close(None)).await;
                        let _ = tokio::time::timeout(Duration::from_secs(3), async {
                            while let Some(Ok(m)) = up.next().await {
                                if !forward_up(tx, m) {
                                    break;
                                }
                            }
                        })
                        .await;
                        return None;
                    }
                    Some(Ok(Message::Binary(b))) => {
                        let _ = up.send(Up::Binary(b.to_vec().into())).await;
                    }
                    Some(Ok(_)) => {}
                    // The client's transport ended: the owner's side ends the same way (no
                    // close frame), so the client keeps its place there for the grace period.
                    None | Some(Err(_)) => return None,
                }
            }
            _ = kill.changed() => return None,
            _ = stop.changed() => {
                let _ = tx.push(Outbound::CloseCode(DROP_WITHOUT_CLOSE, "draining"));
                return None;
            }
            _ = tokio::time::sleep_until(probing.unwrap_or(far)), if probing.is_some() => {
                info!("bridged client did not answer a liveness probe: dropping it");
                return None;
            }
        }
    }
}

/// Passes one frame of the owner to the client; false once the owner closed (the close is
/// passed on).
fn forward_up(tx: &OutboundTx, m: Up) -> bool {
    match m {
        Up::Text(t) => {
            let _ = tx.push(Outbound::Frame(t.as_str().to_owned()));
            true
        }
        Up::Close(f) => {
            let code = f.as_ref().map_or(1000, |f: &UpClose| u16::from(f.code));
            let why = match code {
                1000 => "room ended",
                1008 => "refused",
                1009 => "message too big",
                1002 => "protocol error",
                _ => "closed",
            };
            let code = if CloseCode::from(code) == CloseCode::Status {
                1000
            } else {
                code
            };
            let _ = tx.push(Outbound::CloseCode(code, why));
            false
        }
        _ => true,
    }
}

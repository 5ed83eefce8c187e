//! A small client of the Janus API over its WebSocket transport (subprotocol `janus-protocol`):
//! one WebSocket per [`Session`], handles attached to a plugin, requests matched to their
//! answers by `transaction`, and the events Janus pushes on its own (`webrtcup`, `media`,
//! `hangup`, plugin events without a transaction) delivered per handle.
//!
//! Janus answers a plugin request in one of two ways: a synchronous request (`create`,
//! `destroy`, `list`, …) gets `{"janus":"success","plugindata":…}`; an asynchronous one (`join`,
//! `publish`, `start`, …) gets `{"janus":"ack"}` at once and later `{"janus":"event",
//! "plugindata":…, "jsep":…}` with the same transaction. [`Handle::request`] and
//! [`Handle::message`] wait for the right one.

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// How long a request may wait for its answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Janus drops a session after `session_timeout` (60 s in bench/janus) without a request.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(20);

/// The name of the VideoRoom plugin.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// A JSEP (SDP offer or answer) as Janus carries it.
#[derive(Debug, Clone)]
pub struct Jsep {
    /// `offer` or `answer`.
    pub kind: String,
    /// The SDP.
    pub sdp: String,
    /// Order of the simulcast rids in the SDP: `lmh` (lowest first) or `hml` (Janus's default
    /// when absent).
    pub rid_order: Option<&'static str>,
}

impl Jsep {
    /// As JSON. `trickle: false` tells Janus that every candidate is in the SDP already.
    fn to_json(&self) -> Value {
        let mut v = json!({"type": self.kind, "sdp": self.sdp, "trickle": false});
        if let Some(o) = self.rid_order {
            v["rid_order"] = Value::String(o.into());
        }
        v
    }

    fn from_json(v: &Value) -> Option<Jsep> {
        Some(Jsep {
            kind: v.get("type")?.as_str()?.to_owned(),
            sdp: v.get("sdp")?.as_str()?.to_owned(),
            rid_order: None,
        })
    }
}

struct Pending {
    /// Whether `{"janus":"ack"}` is the answer (keepalive) or only a receipt (plugin messages).
    ack_is_answer: bool,
    tx: oneshot::Sender<Value>,
}

#[derive(Default)]
struct Shared {
    pending: HashMap<String, Pending>,
    handles: HashMap<u64, mpsc::UnboundedSender<Value>>,
}

/// One Janus session on its own WebSocket. Clones share it; it ends when the last one (or
/// [`Handle`]) is dropped.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    out: mpsc::UnboundedSender<Message>,
    shared: Arc<Mutex<Shared>>,
    next: AtomicU64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl Session {
    /// Opens a WebSocket to `url` (e.g. `ws://127.0.0.1:8188`), creates a session and keeps it
    /// alive until dropped.
    pub async fn connect(url: &str) -> anyhow::Result<Session> {
        let mut req = url.into_client_request().context("Janus URL")?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .with_context(|| format!("connecting to Janus at {url}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let shared = Arc::new(Mutex::new(Shared::default()));

        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let reader_shared = Arc::clone(&shared);
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                let text = match &m {
                    Message::Text(t) => t.as_str(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    tracing::warn!("janus sent non-JSON: {text}");
                    continue;
                };
                dispatch(&reader_shared, v);
            }
            // The socket is gone: every waiter gets an error (its sender is dropped).
            let mut s = reader_shared.lock().unwrap_or_else(|e| e.into_inner());
            s.pending.clear();
            s.handles.clear();
        });

        let mut inner = Inner {
            id: 0,
            out,
            shared,
            next: AtomicU64::new(1),
            tasks: vec![writer, reader],
        };
        let created = inner.call(json!({"janus": "create"}), false).await?;
        inner.id = created
            .pointer("/data/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("no session id in {created}"))?;

        // Keepalives, so that a long run does not hit Janus's session timeout.
        let out = inner.out.clone();
        let id = inner.id;
        inner.tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                tokio::time::sleep(KEEPALIVE_EVERY).await;
                n += 1;
                let m = json!({"janus": "keepalive", "session_id": id, "transaction": format!("ka{n}")});
                if out.send(Message::Text(m.to_string().into())).is_err() {
                    return;
                }
            }
        }));
        Ok(Session {
            inner: Arc::new(inner),
        })
    }

    /// Attaches a handle to `plugin`.
    pub async fn attach(&self, plugin: &str) -> anyhow::Result<Handle> {
        let v = self
            .inner
            .call(
                json!({"janus": "attach", "plugin": plugin, "session_id": self.inner.id}),
                false,
            )
            .await?;
        let id = v
            .pointer("/data/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("no handle id in {v}"))?;
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.lock().handles.insert(id, tx);
        Ok(Handle {
            id,
            session: self.clone(),
            events: rx,
        })
    }

    /// Janus's version string (`info` request).
    pub async fn info(&self) -> anyhow::Result<String> {
        let v = self.inner.call(json!({"janus": "info"}), false).await?;
        v.get("version_string")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no version_string in {v}"))
    }

    /// Destroys the session (and with it its handles and their peer connections).
    pub async fn destroy(&self) -> anyhow::Result<()> {
        self.inner
            .call(
                json!({"janus": "destroy", "session_id": self.inner.id}),
                false,
            )
            .await
            .map(|_| ())
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `msg` with a fresh transaction and waits for its answer; `{"janus":"error"}`
    /// becomes an error.
    async fn call(&self, mut msg: Value, ack_is_answer: bool) -> anyhow::Result<Value> {
        let t = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        msg["transaction"] = Value::String(t.clone());
        let (tx, rx) = oneshot::channel();
        self.lock()
            .pending
            .insert(t.clone(), Pending { ack_is_answer, tx });
        self.out
            .send(Message::Text(msg.to_string().into()))
            .map_err(|_| anyhow!("Janus WebSocket closed"))?;
        let v = match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(v)) => v,
            Ok(Err(_)) => bail!("Janus WebSocket closed while waiting for {msg}"),
            Err(_) => {
                self.lock().pending.remove(&t);
                bail!("no answer from Janus within {REQUEST_TIMEOUT:?} to {msg}")
            }
        };
        if v.get("janus").and_then(Value::as_str) == Some("error") {
            bail!("Janus refused {msg}: {}", v["error"]);
        }
        Ok(v)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Routes one message from Janus: to the request waiting on its transaction, else to the handle
/// it is about.
fn dispatch(shared: &Mutex<Shared>, v: Value) {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let kind = v.get("janus").and_then(Value::as_str).unwrap_or("");
    if let Some(t) = v.get("transaction").and_then(Value::as_str) {
        let is_answer = match s.pending.get(t) {
            Some(p) => kind != "ack" || p.ack_is_answer,
            None => false,
        };
        if is_answer {
            if let Some(p) = s.pending.remove(t) {
                let _ = p.tx.send(v);
            }
            return;
        }
        if kind == "ack" {
            return;
        }
    }
    let sender = v.get("sender").and_then(Value::as_u64);
    if let Some(h) = sender.and_then(|id| s.handles.get(&id)) {
        let _ = h.send(v);
    } else if kind == "timeout" {
        tracing::warn!("janus: session timed out: {v}");
    }
}

/// A handle attached to a plugin inside a [`Session`].
pub struct Handle {
    id: u64,
    session: Session,
    events: mpsc::UnboundedReceiver<Value>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("id", &self.id).finish()
    }
}

impl Handle {
    /// A synchronous plugin request: returns `plugindata.data`, or an error if the plugin says
    /// `error`.
    pub async fn request(&self, body: Value) -> anyhow::Result<Value> {
        let s = &self.session.inner;
        let v = s
            .call(
                json!({"janus": "message", "session_id": s.id, "handle_id": self.id, "body": body}),
                false,
            )
            .await?;
        plugin_data(&v)
    }

    /// An asynchronous plugin request, with an optional JSEP: returns the event's
    /// `plugindata.data` and JSEP.
    pub async fn message(
        &self,
        body: Value,
        jsep: Option<&Jsep>,
    ) -> anyhow::Result<(Value, Option<Jsep>)> {
        let s = &self.session.inner;
        let mut msg =
            json!({"janus": "message", "session_id": s.id, "handle_id": self.id, "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j.to_json();
        }
        let v = s.call(msg, false).await?;
        let data = plugin_data(&v)?;
        Ok((data, v.get("jsep").and_then(Jsep::from_json)))
    }

    /// Waits (up to `d`) for Janus's `webrtcup` on this handle: ICE and DTLS are up on its
    /// side. Other events seen meanwhile are dropped; `hangup` is an error.
    pub async fn webrtc_up(&mut self, d: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| anyhow!("handle {}: no webrtcup within {d:?}", self.id))?
                .ok_or_else(|| anyhow!("handle {}: session closed", self.id))?;
            match ev.get("janus").and_then(Value::as_str) {
                Some("webrtcup") => return Ok(()),
                Some("hangup") => bail!("handle {}: hangup: {ev}", self.id),
                _ => {}
            }
        }
    }
}

/// `plugindata.data` of an answer; a plugin-level `error` becomes an error.
fn plugin_data(v: &Value) -> anyhow::Result<Value> {
    let data = v
        .pointer("/plugindata/data")
        .cloned()
        .ok_or_else(|| anyhow!("no plugindata in {v}"))?;
    if let Some(e) = data.get("error") {
        bail!(
            "plugin error {}: {e}",
            data.get("error_code").cloned().unwrap_or(Value::Null)
        );
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_with(t: &str, ack_is_answer: bool) -> (Mutex<Shared>, oneshot::Receiver<Value>) {
        let (tx, rx) = oneshot::channel();
        let mut s = Shared::default();
        s.pending.insert(t.into(), Pending { ack_is_answer, tx });
        (Mutex::new(s), rx)
    }

    #[test]
    fn an_ack_is_only_a_receipt_for_plugin_messages() {
        let (s, mut rx) = shared_with("t1", false);
        dispatch(&s, json!({"janus": "ack", "transaction": "t1"}));
        assert!(rx.try_recv().is_err(), "still waiting after the ack");
        dispatch(
            &s,
            json!({"janus": "event", "transaction": "t1", "sender": 5, "plugindata": {"data": {"videoroom": "joined"}}}),
        );
        assert_eq!(rx.try_recv().unwrap()["janus"], "event");
    }

    #[test]
    fn an_ack_answers_a_keepalive() {
        let (s, mut rx) = shared_with("k", true);
        dispatch(&s, json!({"janus": "ack", "transaction": "k"}));
        assert_eq!(rx.try_recv().unwrap()["janus"], "ack");
    }

    #[test]
    fn events_without_a_waiter_go_to_their_handle() {
        let s = Mutex::new(Shared::default());
        let (tx, mut rx) = mpsc::unbounded_channel();
        s.lock().unwrap().handles.insert(42, tx);
        dispatch(
            &s,
            json!({"janus": "webrtcup", "session_id": 1, "sender": 42}),
        );
        assert_eq!(rx.try_recv().unwrap()["janus"], "webrtcup");
    }

    #[test]
    fn plugin_errors_are_errors() {
        let ok = json!({"plugindata": {"data": {"videoroom": "created", "room": 7}}});
        assert_eq!(plugin_data(&ok).unwrap()["room"], 7);
        let err = json!({"plugindata": {"data": {"error_code": 427, "error": "Room exists"}}});
        assert!(plugin_data(&err).is_err());
    }
}

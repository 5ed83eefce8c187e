//! Webhooks: an app registers one URL (`PUT /v1/webhook`, its Basic credentials) and the
//! server POSTs its rooms' events there as JSON, signed with HMAC-SHA256 under a secret it
//! returned at registration.
//!
//! Events (`event` field): `room_started`, `room_ended`, `participant_joined`,
//! `participant_left`, `breakout_room_created`, `breakout_room_destroyed`, `member_moved`. The
//! family tasks find them (`observe.rs`) and hand them to [`Webhooks::emit`], which never
//! waits: each app has a bounded queue ([`WebhookConfig::queue`] events) drained by its own
//! delivery task, and an event that finds its app's queue full is dropped and counted
//! (`alcove_webhook_deliveries_total{outcome="dropped"}`). So a receiver that hangs or fails
//! slows only its own app's deliveries, never a family.
//!
//! Delivery: one POST at a time per app, in event order, each with a timeout
//! ([`WebhookConfig::timeout`]); a failure (no answer, a non-2xx status) is retried after
//! [`WebhookConfig::backoff`], doubling each time, up to [`WebhookConfig::attempts`] POSTs in
//! all, then the event is given up (`outcome="failed"`).
//!
//! Signature header: `X-Alcove-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`; a receiver recomputes it over the raw body and refuses old `t`s.
//! docs/webhooks.md has the details and a verification example.
//!
//! The database keeps the URL and the secret in the `webhooks` table (one row per app; deleting
//! the app deletes it). The methods on [`Store`] for it are in this file.

use crate::store::{Store, StoreError};
use crate::util::{hex, random_hex, rfc3339, unix_now, unix_now_ms};
use alcove_proto::RoomId;
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A family went live (first connect, or restored after a restart).
    RoomStarted,
    /// A family ended (last client gone, room deleted, server stopping).
    RoomEnded,
    /// A client joined the family.
    ParticipantJoined,
    /// A client left the family for good (closed, or its resume grace ended).
    ParticipantLeft,
    /// A break-out room was created.
    BreakoutRoomCreated,
    /// A break-out room was destroyed.
    BreakoutRoomDestroyed,
    /// A client's location changed (`from`, `to`: `"parent"` or `{"breakout": id}`).
    MemberMoved,
}

/// One webhook body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Unique id of the event (also in `X-Alcove-Delivery`); the same on every retry.
    pub id: String,
    /// What happened.
    pub event: EventKind,
    /// The app whose room it is.
    pub app_id: String,
    /// The parent room.
    pub room_id: RoomId,
    /// When the server saw it, Unix milliseconds.
    pub timestamp: u64,
    /// Details of the event (see docs/webhooks.md).
    pub data: serde_json::Value,
}

impl Event {
    /// A new event now.
    pub fn new(app: &str, room: &RoomId, event: EventKind, data: serde_json::Value) -> Event {
        Event {
            id: format!("evt-{}", random_hex(10)),
            event,
            app_id: app.to_owned(),
            room_id: room.clone(),
            timestamp: unix_now_ms(),
            data,
        }
    }
}

/// An app's registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC key (never logged).
    pub secret: String,
    /// When it was registered (RFC 3339).
    pub created: String,
}

/// Delivery settings (`alcove serve --webhook-…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Events an app's queue holds before new ones are dropped.
    pub queue: usize,
    /// POSTs per event, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further retry (at most 5 minutes).
    pub backoff: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            queue: 1024,
            attempts: 5,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "x-alcove-signature";

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    // HMAC-SHA256 takes a key of any length.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// Checks a webhook URL: `http(s)://host…`, at most 2000 characters, no user info, no
/// white space or control characters.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("`url` must start with https:// or http://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if url.len() > 2000 {
        return Err("`url` must be at most 2000 characters".into());
    }
    if host.is_empty() || host.contains('@') || url.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(
            "`url` must be http(s)://host[:port][/path], without user info or spaces".into(),
        );
    }
    reqwest::Url::parse(url).map_err(|e| format!("`url`: {e}"))?;
    Ok(())
}

/// The dispatcher: per-app bounded queues and their delivery tasks.
pub struct Webhooks {
    store: Arc<Store>,
    config: WebhookConfig,
    metrics: Arc<crate::metrics::Metrics>,
    http: reqwest::Client,
    // std Mutex: held for a map lookup or insert, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// App → its registered target (`None`: none), read from the database once.
    targets: HashMap<String, Option<Arc<Target>>>,
    /// App → its delivery task's queue.
    queues: HashMap<String, mpsc::Sender<Event>>,
}

impl Webhooks {
    /// A dispatcher; delivery tasks start with the first event of each app.
    pub fn new(
        store: Arc<Store>,
        config: WebhookConfig,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Webhooks> {
        Arc::new(Webhooks {
            store,
            config,
            metrics,
            http: alcove_client::tls::http_client(&[]).unwrap_or_default(),
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn target(&self, app: &str) -> Option<Arc<Target>> {
        if let Some(t) = self.lock().targets.get(app) {
            return t.clone();
        }
        let found = match self.store.webhook(app) {
            Ok(t) => t.map(Arc::new),
            Err(e) => {
                tracing::warn!("reading the webhook of an app: {e}");
                None
            }
        };
        self.lock().targets.insert(app.to_owned(), found.clone());
        found
    }

    /// The app's target changed (registered, replaced, deleted).
    pub fn changed(&self, app: &str, target: Option<Target>) {
        self.lock()
            .targets
            .insert(app.to_owned(), target.map(Arc::new));
    }

    /// Queues `event` for its app's webhook, if it has one. Never waits: a full queue drops it.
    pub fn emit(self: &Arc<Self>, event: Event) {
        if self.target(&event.app_id).is_none() {
            return;
        }
        let mut state = self.lock();
        let tx = state
            .queues
            .entry(event.app_id.clone())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::channel(self.config.queue.max(1));
                let me = Arc::clone(self);
                let app = event.app_id.clone();
                tokio::spawn(async move { me.deliver_all(app, rx).await });
                tx
            })
            .clone();
        drop(state);
        match tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(e)) => {
                tracing::warn!(event = ?e.event, "webhook queue full: event dropped");
                self.outcome("dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.outcome("dropped"),
        }
    }

    fn outcome(&self, what: &'static str) {
        self.metrics
            .counter(crate::metrics::WEBHOOKS, &[("outcome", what.to_owned())])
            .increment(1);
    }

    /// One app's delivery task: its events in order, each retried with backoff.
    async fn deliver_all(self: Arc<Self>, app: String, mut rx: mpsc::Receiver<Event>) {
        while let Some(event) = rx.recv().await {
            // The target as of now (a re-registration takes effect for queued events).
            let Some(target) = self.target(&app) else {
                continue;
            };
            let delivered = self.deliver(&target, &event).await;
            self.outcome(if delivered { "delivered" } else { "failed" });
        }
    }

    async fn deliver(&self, target: &Target, event: &Event) -> bool {
        let body = match serde_json::to_vec(event) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("encoding a webhook event: {e}");
                return false;
            }
        };
        let attempts = self.config.attempts.max(1);
        let mut wait = self.config.backoff;
        for attempt in 1..=attempts {
            self.metrics
                .counter("alcove_webhook_attempts_total", &[])
                .increment(1);
            let sig = signature(&target.secret, unix_now(), &body);
            let res = self
                .http
                .post(&target.url)
                .timeout(self.config.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, sig)
                .header("x-alcove-event", event_name(event.event))
                .header("x-alcove-delivery", &event.id)
                .header("x-alcove-attempt", attempt.to_string())
                .body(body.clone())
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => {
                    tracing::debug!(status = %r.status(), attempt, "webhook refused")
                }
                Err(e) => tracing::debug!(attempt, "webhook not delivered: {e}"),
            }
            if attempt < attempts {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(300));
            }
        }
        tracing::warn!(event = ?event.event, "webhook given up after {attempts} attempts");
        false
    }
}

fn event_name(kind: EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

// The `webhooks` table (created with the others in `store/sqlite.rs`'s schema); in cluster
// mode the key `alcove:webhook:{app}` (a JSON `[url, secret, created]`).
fn redis_webhook_key(app: &str) -> String {
    format!("alcove:webhook:{app}")
}

impl Store {
    /// The app's registered webhook.
    pub fn webhook(&self, app: &str) -> Result<Option<Target>, StoreError> {
        let sqlite = match self {
            Store::Sqlite(s) => s,
            Store::Redis(r) => {
                let text: Option<String> =
                    r.with(|c| redis::cmd("GET").arg(redis_webhook_key(app)).query(c))?;
                return Ok(match text {
                    Some(t) => {
                        let (url, secret, created): (String, String, String) =
                            serde_json::from_str(&t)?;
                        Some(Target {
                            url,
                            secret,
                            created,
                        })
                    }
                    None => None,
                });
            }
        };
        Ok(sqlite
            .lock()
            .query_row(
                "SELECT url, secret, created FROM webhooks WHERE app_id=?1",
                params![app],
                |r| {
                    Ok(Target {
                        url: r.get(0)?,
                        secret: r.get(1)?,
                        created: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Registers (or replaces) the app's webhook with a fresh secret.
    pub fn set_webhook(&self, app: &str, url: &str) -> Result<Target, StoreError> {
        let t = Target {
            url: url.to_owned(),
            secret: format!("whsec_{}", random_hex(24)),
            created: rfc3339(unix_now()),
        };
        let sqlite = match self {
            Store::Sqlite(s) => s,
            Store::Redis(r) => {
                let text = serde_json::to_string(&(&t.url, &t.secret, &t.created))?;
                r.with(|c| {
                    redis::cmd("SET")
                        .arg(redis_webhook_key(app))
                        .arg(&text)
                        .query::<()>(c)
                })?;
                return Ok(t);
            }
        };
        sqlite.lock().execute(
            "INSERT INTO webhooks(app_id, url, secret, created) VALUES(?1, ?2, ?3, ?4)
             ON CONFLICT(app_id) DO UPDATE SET url=excluded.url, secret=excluded.secret,
             created=excluded.created",
            params![app, t.url, t.secret, t.created],
        )?;
        Ok(t)
    }

    /// Removes the app's webhook; false when it had none.
    pub fn delete_webhook(&self, app: &str) -> Result<bool, StoreError> {
        let sqlite = match self {
            Store::Sqlite(s) => s,
            Store::Redis(r) => {
                let n: i64 = r.with(|c| redis::cmd("DEL").arg(redis_webhook_key(app)).query(c))?;
                return Ok(n > 0);
            }
        };
        let n = sqlite
            .lock()
            .execute("DELETE FROM webhooks WHERE app_id=?1", params![app])?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_time_dot_body() {
        // RFC 4231-style check against an independent computation.
        let s = signature("whsec_k", 1_700_000_000, b"{\"a\":1}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_k").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        let want = hex(&mac.finalize().into_bytes());
        assert_eq!(s, format!("t=1700000000,v1={want}"));
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://hooks.example.com/alcove?x=1").is_ok());
        assert!(check_url("http://127.0.0.1:9000/h").is_ok());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://user@x.example/").is_err());
        assert!(check_url("https://x.example/a b").is_err());
    }
}

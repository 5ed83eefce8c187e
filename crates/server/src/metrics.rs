//! Prometheus metrics (`GET /metrics`): what an operator watches.
//!
//! Every number is counted by the shell from what it already handles: the family task's
//! requests, acks and state steps (`observe.rs`), its resumes and restores, and the media
//! shard tasks' datagrams (`shard.rs`, and the socket reader's per-shard drops). The sans-IO
//! core knows nothing of this module and keeps no global state.
//!
//! One [`Metrics`] per server (no process-wide recorder): a `metrics-exporter-prometheus`
//! recorder that is never installed globally, whose handles are registered here and kept by
//! their users, so two servers in one process (the tests) count apart. The media socket's
//! counters (`udp::stats`) are appended to the same page.
//!
//! Families (names as exported):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `alcove_families` | gauge | |
//! | `alcove_clients` | gauge | `role` (moderator, participant, viewer), `location` (parent, breakout) |
//! | `alcove_breakout_rooms` | gauge | |
//! | `alcove_breakout_rooms_created_total`, `…_destroyed_total` | counter | |
//! | `alcove_operations_total` | counter | `op` (request type, or `connect`), `result` (0 or the error code) |
//! | `alcove_move_seconds` | histogram | `op` (joinBreakoutRoom, disconnect, moveToBreakoutRoom, …) |
//! | `alcove_member_moves_total` | counter | |
//! | `alcove_resumes_total` | counter | `result` |
//! | `alcove_families_restored_total` | counter | |
//! | `alcove_media_shard_received_datagrams_total` | counter | `shard` |
//! | `alcove_media_shard_transmitted_datagrams_total` | counter | `shard` |
//! | `alcove_media_shard_dropped_datagrams_total` | counter | `shard` |
//! | `alcove_webhook_deliveries_total` | counter | `outcome` (delivered, failed, dropped) |

use alcove_proto::signal::Role;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::Arc;

const META: Metadata<'static> = Metadata::new("alcove", Level::INFO, None);

/// Buckets of [`MOVE_SECONDS`]: 50 µs to 2.5 s.
const MOVE_BUCKETS: [f64; 13] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Live families (parent rooms with a task).
pub const FAMILIES: &str = "alcove_families";
/// Connected clients (including those waiting to resume) by role and location.
pub const CLIENTS: &str = "alcove_clients";
/// Live break-out rooms.
pub const BREAKOUT_ROOMS: &str = "alcove_breakout_rooms";
/// Break-out rooms created.
pub const BREAKOUTS_CREATED: &str = "alcove_breakout_rooms_created_total";
/// Break-out rooms destroyed.
pub const BREAKOUTS_DESTROYED: &str = "alcove_breakout_rooms_destroyed_total";
/// Requests answered, by request type and result code.
pub const OPERATIONS: &str = "alcove_operations_total";
/// Seconds from the family taking a moving request to its ack being queued.
pub const MOVE_SECONDS: &str = "alcove_move_seconds";
/// Clients whose location changed (parent ⇄ break-out, break-out → break-out).
pub const MEMBER_MOVES: &str = "alcove_member_moves_total";
/// Resume attempts by result (0: resumed).
pub const RESUMES: &str = "alcove_resumes_total";
/// Families brought back from the database at start (restart survival).
pub const FAMILIES_RESTORED: &str = "alcove_families_restored_total";
/// Datagrams the socket reader gave a media shard.
pub const SHARD_RECEIVED: &str = "alcove_media_shard_received_datagrams_total";
/// Datagrams a media shard sent (forwarded media, ICE, DTLS).
pub const SHARD_TRANSMITTED: &str = "alcove_media_shard_transmitted_datagrams_total";
/// Datagrams dropped because the shard's queue was at its bound.
pub const SHARD_DROPPED: &str = "alcove_media_shard_dropped_datagrams_total";
/// Video budgets cut on congestion evidence in a receiver's reports (docs/decisions/0008).
pub const VIDEO_CONGESTION_CUTS: &str = "alcove_video_congestion_cuts_total";
/// Audio packets forwarded, by send path: `direct` (sealed by the shard) or `str0m`.
pub const AUDIO_FORWARDED: &str = "alcove_audio_forwarded_packets_total";
/// Webhook deliveries by outcome.
pub const WEBHOOKS: &str = "alcove_webhook_deliveries_total";

/// The requests whose ack ends a move of the caller (or of others): timed in
/// [`MOVE_SECONDS`].
pub const MOVING_REQUESTS: [&str; 6] = [
    "joinBreakoutRoom",
    "disconnect",
    "clearAllBreakOutSession",
    "moveToBreakoutRoom",
    "inviteToBreakOutRoom",
    "destroyAllBreakOutSession",
];

/// The server's metrics: a private recorder and the handles every task keeps.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// [`FAMILIES`].
    pub families: Gauge,
    /// [`BREAKOUT_ROOMS`].
    pub breakout_rooms: Gauge,
    /// [`BREAKOUTS_CREATED`].
    pub breakouts_created: Counter,
    /// [`BREAKOUTS_DESTROYED`].
    pub breakouts_destroyed: Counter,
    /// [`MEMBER_MOVES`].
    pub member_moves: Counter,
    /// [`FAMILIES_RESTORED`].
    pub families_restored: Counter,
    /// [`CLIENTS`], by role (moderator, participant, viewer) × location (parent, breakout).
    clients: [[Gauge; 2]; 3],
}

/// The counters of one media shard index (shared by that shard of every family).
#[derive(Clone)]
pub struct ShardCounters {
    /// [`SHARD_RECEIVED`].
    pub received: Counter,
    /// [`SHARD_TRANSMITTED`].
    pub transmitted: Counter,
    /// [`SHARD_DROPPED`].
    pub dropped: Counter,
    /// [`VIDEO_CONGESTION_CUTS`].
    pub congestion_cuts: Counter,
    /// [`AUDIO_FORWARDED`] on the direct path.
    pub audio_direct: Counter,
    /// [`AUDIO_FORWARDED`] through str0m.
    pub audio_str0m: Counter,
}

impl ShardCounters {
    /// Counters that count nothing (tests of the media plane without a server).
    pub fn noop() -> ShardCounters {
        ShardCounters {
            received: Counter::noop(),
            transmitted: Counter::noop(),
            dropped: Counter::noop(),
            congestion_cuts: Counter::noop(),
            audio_direct: Counter::noop(),
            audio_str0m: Counter::noop(),
        }
    }
}

fn role_index(role: Role) -> usize {
    match role {
        Role::Moderator => 0,
        Role::Participant => 1,
        Role::Viewer => 2,
    }
}

const ROLES: [&str; 3] = ["moderator", "participant", "viewer"];
const LOCATIONS: [&str; 2] = ["parent", "breakout"];

impl Metrics {
    /// A fresh set, every gauge at 0.
    pub fn new() -> Arc<Metrics> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(MOVE_SECONDS.into()), &MOVE_BUCKETS)
            // Buckets are not empty: the builder only refuses an empty list.
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let help: [(&'static str, &'static str); 17] = [
            (FAMILIES, "Live families (a parent room and its break-out rooms)."),
            (CLIENTS, "Connected clients (and those waiting to resume) by role and location."),
            (BREAKOUT_ROOMS, "Live break-out rooms."),
            (BREAKOUTS_CREATED, "Break-out rooms created."),
            (BREAKOUTS_DESTROYED, "Break-out rooms destroyed."),
            (OPERATIONS, "Signalling requests answered, by request type and result code (0: success)."),
            (MOVE_SECONDS, "Seconds from a family taking a moving request to queuing its ack."),
            (MEMBER_MOVES, "Clients whose location changed."),
            (RESUMES, "Resume attempts by result code (0: resumed)."),
            (FAMILIES_RESTORED, "Families restored from the database at start."),
            (SHARD_RECEIVED, "Datagrams handed to a media shard, by shard index."),
            (SHARD_TRANSMITTED, "Datagrams a media shard sent, by shard index."),
            (SHARD_DROPPED, "Datagrams dropped at a media shard's queue bound, by shard index."),
            (VIDEO_CONGESTION_CUTS, "Video budgets cut on congestion (loss or a growing round-trip time in a receiver's reports), by shard index."),
            (AUDIO_FORWARDED, "Audio packets forwarded, by shard index and send path (direct: sealed by the shard; str0m: through its send streams)."),
            (WEBHOOKS, "Webhook deliveries by outcome (delivered, failed after retries, dropped on a full queue)."),
            ("alcove_webhook_attempts_total", "Webhook POSTs made (retries included)."),
        ];
        for (name, text) in help {
            let key = KeyName::from_const_str(name);
            if name == MOVE_SECONDS {
                recorder.describe_histogram(key, Some(metrics::Unit::Seconds), text.into());
            } else if name.ends_with("_total") {
                recorder.describe_counter(key, None, text.into());
            } else {
                recorder.describe_gauge(key, None, text.into());
            }
        }
        let gauge = |name: &'static str, labels: Vec<Label>| {
            recorder.register_gauge(&Key::from_parts(name, labels), &META)
        };
        let clients = ROLES.map(|role| {
            LOCATIONS.map(|location| {
                let g = gauge(
                    CLIENTS,
                    vec![Label::new("role", role), Label::new("location", location)],
                );
                g.set(0.0);
                g
            })
        });
        let families = gauge(FAMILIES, Vec::new());
        families.set(0.0);
        let breakout_rooms = gauge(BREAKOUT_ROOMS, Vec::new());
        breakout_rooms.set(0.0);
        let counter = |name: &'static str| {
            let c = recorder.register_counter(&Key::from_static_name(name), &META);
            c.absolute(0);
            c
        };
        Arc::new(Metrics {
            families,
            breakout_rooms,
            breakouts_created: counter(BREAKOUTS_CREATED),
            breakouts_destroyed: counter(BREAKOUTS_DESTROYED),
            member_moves: counter(MEMBER_MOVES),
            families_restored: counter(FAMILIES_RESTORED),
            clients,
            recorder,
            handle,
        })
    }

    /// A counter with labels (registered on first use, then shared).
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, String)]) -> Counter {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.clone()))
            .collect();
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &META)
    }

    /// The gauge of clients of `role` in the parent (`breakout` false) or a break-out room.
    pub fn clients(&self, role: Role, breakout: bool) -> &Gauge {
        &self.clients[role_index(role)][usize::from(breakout)]
    }

    /// Counts one answered request of type `op` with its `result` code; `elapsed` is recorded
    /// in [`MOVE_SECONDS`] when `op` is one of [`MOVING_REQUESTS`].
    pub fn operation(&self, op: &'static str, result: i32, elapsed: std::time::Duration) {
        self.counter(
            OPERATIONS,
            &[("op", op.to_owned()), ("result", result.to_string())],
        )
        .increment(1);
        if MOVING_REQUESTS.contains(&op) {
            self.move_histogram(op).record(elapsed.as_secs_f64());
        }
    }

    fn move_histogram(&self, op: &'static str) -> Histogram {
        self.recorder.register_histogram(
            &Key::from_parts(MOVE_SECONDS, vec![Label::new("op", op)]),
            &META,
        )
    }

    /// Counts a resume attempt (`result` 0: resumed, else the refusal's code).
    pub fn resume(&self, result: i32) {
        self.counter(RESUMES, &[("result", result.to_string())])
            .increment(1);
    }

    /// The counters of media shard `i`.
    pub fn shard(&self, i: usize) -> ShardCounters {
        let c = |name| self.counter(name, &[("shard", i.to_string())]);
        ShardCounters {
            received: c(SHARD_RECEIVED),
            transmitted: c(SHARD_TRANSMITTED),
            dropped: c(SHARD_DROPPED),
            congestion_cuts: c(VIDEO_CONGESTION_CUTS),
            audio_direct: self.counter(
                AUDIO_FORWARDED,
                &[("shard", i.to_string()), ("path", "direct".to_owned())],
            ),
            audio_str0m: self.counter(
                AUDIO_FORWARDED,
                &[("shard", i.to_string()), ("path", "str0m".to_owned())],
            ),
        }
    }

    /// Folds recorded histogram samples into their buckets (run every few seconds, so that
    /// samples do not pile up between scrapes).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The page: every metric here, then the media socket's counters when media is on.
    pub fn render(&self, udp: Option<crate::udp::stats::UdpStatsSnapshot>) -> String {
        let mut out = self.handle.render();
        if let Some(udp) = udp {
            if !out.ends_with('\n') && !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&udp.prometheus());
        }
        out
    }
}

/// `GET /metrics`: the Prometheus text page. Authenticated like the admin API (`Authorization:
/// Bearer <admin key>`, what Prometheus's `authorization` scrape setting sends) or with any
/// app's Basic credentials; the numbers are the whole server's.
pub async fn page(
    axum::extract::State(state): axum::extract::State<Arc<crate::AppState>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Err(e) = crate::http::authorize_metrics(&state, &headers) {
        return e.into_response();
    }
    let udp = state
        .families
        .media
        .as_ref()
        .map(|m| m.socket.stats().snapshot());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.families.metrics.render(udp),
    )
        .into_response()
}

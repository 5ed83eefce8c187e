//! The HTTP surface: the REST API of SPEC §5, the signalling WebSocket, a health check, the demo
//! page and the browser SDK (`web.rs`).
//! `app(state)` builds the router; tests drive it with `tower::ServiceExt::oneshot`.

pub mod admin;
mod auth;
mod demo;
mod error;
pub mod openapi;
mod rooms;
mod tokens;
pub mod web;
pub mod webhooks;

pub use auth::{AdminAuth, AppAuth};
pub use error::ApiError;

use crate::AppState;
use alcove_proto::signal::MAX_FRAME_BYTES;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;

/// Largest WebSocket message the transport reads at all; bigger ones close the connection
/// with 1009. Frames between `MAX_FRAME_BYTES` and this get an `error` 4003 and the
/// connection stays open.
pub const TRANSPORT_MAX_MESSAGE: usize = 1024 * 1024;
const _: () = assert!(MAX_FRAME_BYTES < TRANSPORT_MAX_MESSAGE);

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    let web = web::routes(state.config.web_dir.as_deref(), &state.config.cors_origins);
    // Demo tokens only in development mode (`--dev`).
    let demo_join = if state.config.dev {
        post(demo::join)
    } else {
        post(demo::not_in_dev_mode)
    };
    let router = Router::new()
        // `openapi::health` documents it; `health` also answers 503 while a cluster node drains.
        .route("/healthz", get(health))
        .route("/v1/nodes", get(crate::cluster::http::nodes))
        .route("/metrics", get(crate::metrics::page))
        .route("/v1/openapi.json", get(openapi::document))
        .route(
            "/v1/webhook",
            axum::routing::put(webhooks::put)
                .get(webhooks::get)
                .delete(webhooks::delete),
        )
        .route("/v1/signal", get(signal))
        .route("/v1/rooms", post(rooms::create).get(rooms::list))
        .route("/v1/rooms/{room_id}", get(rooms::get).delete(rooms::delete))
        .route("/v1/rooms/{room_id}/tokens", post(tokens::create))
        .route("/v1/rooms/{room_id}/users", get(rooms::users))
        .route(
            "/v1/rooms/{room_id}/breakout-rooms",
            get(rooms::breakout_rooms),
        )
        .route("/v1/admin/apps", get(admin::list).post(admin::create))
        .route("/v1/admin/apps/{app_id}", delete(admin::delete))
        .route(
            "/v1/admin/apps/{app_id}/rotate-key",
            post(admin::rotate_key),
        )
        .route("/demo/join", demo_join)
        .merge(web)
        .fallback(|| async { ApiError::not_found("no such route") });
    web::secure(router, &state.config).with_state(state)
}

/// `/metrics` credentials: the admin key (`Bearer`) or any app's Basic credentials.
pub(crate) fn authorize_metrics(
    state: &Arc<AppState>,
    headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(key) = given.strip_prefix("Bearer ") {
        let stored = state.store.meta(admin::ADMIN_KEY_HASH)?;
        let key = key.trim();
        return match stored {
            Some(h)
                if !key.is_empty()
                    && crate::store::same_digest(&h, &crate::store::key_hash(key)) =>
            {
                Ok(())
            }
            _ => Err(ApiError::admin_unauthorized()),
        };
    }
    auth::basic(state, given).map(|_| ())
}

/// Read buffer of a signalling WebSocket. Small: it is allocated when the socket opens, for
/// every connection, including those that never send `connect` (tungstenite's default is
/// 128 KiB). It grows for a larger frame and shrinks back.
const WS_READ_BUFFER: usize = 4 * 1024;
/// Write buffer of a signalling WebSocket (frames are flushed one by one anyway).
const WS_WRITE_BUFFER: usize = 4 * 1024;

/// `GET /healthz`: `ok`; in cluster mode 503 `draining` once the node drains (a load
/// balancer stops sending it clients).
async fn health(State(state): State<Arc<AppState>>) -> axum::response::Response {
    match state.families.cluster.get() {
        Some(c) if c.draining() => {
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "draining").into_response()
        }
        _ => "ok".into_response(),
    }
}

async fn signal(
    ws: WebSocketUpgrade,
    State(state): State<Arc<AppState>>,
    edge: Option<axum::Extension<crate::listen::EdgeConn>>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let edge = edge.map(|axum::Extension(e)| e.0);
    // Cluster mode: a connection another node opened for its client (never one a client
    // could make: the header carries an HMAC under the cluster's secret).
    let bridged = state.families.cluster.get().is_some_and(|c| {
        headers
            .get(crate::cluster::BRIDGE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| c.verify_bridge(v))
    });
    ws.max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER)
        .on_upgrade(move |socket| crate::ws::serve_from(socket, state, edge, bridged))
}

//! The cluster's REST surface: `GET /v1/nodes` (admin key), and REST calls about a room whose
//! family lives on another node, forwarded to that node.

use super::{blocking, NodeInfo};
use crate::http::{AdminAuth, ApiError};
use crate::AppState;
use alcove_proto::RoomId;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// `GET /v1/nodes`: the live nodes of the cluster with their load (admin key). 404 on a
/// single node.
pub async fn nodes(
    State(state): State<Arc<AppState>>,
    _admin: AdminAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(c) = state.families.cluster.get().cloned() else {
        return Err(ApiError::not_found(
            "not in cluster mode (alcove serve --redis …)",
        ));
    };
    let me = c.node_id.clone();
    let nodes: Vec<NodeInfo> = blocking(move || c.nodes()).await?;
    Ok(Json(
        serde_json::json!({ "result": 0, "node_id": me, "nodes": nodes }),
    ))
}

/// In cluster mode, when another node holds `room`'s family: the answer of that node to the
/// same request (`method` on `/v1/rooms/{room}{suffix}`); `None` when this node answers.
pub async fn answer_from_owner(
    state: &AppState,
    room: &RoomId,
    method: Method,
    suffix: &str,
    headers: &HeaderMap,
) -> Result<Option<Response>, ApiError> {
    let Some(node) = remote_owner(state, room).await? else {
        return Ok(None);
    };
    let path = format!("/v1/rooms/{}{suffix}", room.as_str());
    forward(state, &node, method, &path, headers)
        .await
        .map(Some)
}

/// The node that holds `room`'s family, when it is another node than this one (cluster mode).
pub async fn remote_owner(state: &AppState, room: &RoomId) -> Result<Option<NodeInfo>, ApiError> {
    let Some(c) = state.families.cluster.get().cloned() else {
        return Ok(None);
    };
    if state.families.is_live(room) {
        return Ok(None);
    }
    let r = room.clone();
    let c2 = Arc::clone(&c);
    let Some(owner) = blocking(move || c2.owner(&r)).await? else {
        return Ok(None);
    };
    if owner == c.node_id {
        return Ok(None);
    }
    Ok(blocking(move || c.node(&owner)).await?)
}

/// The node id hosting `room`'s family, if one does (cluster mode).
pub async fn host(state: &AppState, room: &RoomId) -> Result<Option<String>, ApiError> {
    let Some(c) = state.families.cluster.get().cloned() else {
        return Ok(None);
    };
    let r = room.clone();
    Ok(blocking(move || c.owner(&r)).await?)
}

/// Sends the same request (method, path, the caller's `Authorization`) to `node` and answers
/// with its answer.
pub async fn forward(
    state: &AppState,
    node: &NodeInfo,
    method: Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Some(c) = state.families.cluster.get() else {
        return Err(ApiError::internal("forward outside cluster mode"));
    };
    let mut req = c
        .http
        .request(method, format!("{}{path}", node.url))
        .timeout(std::time::Duration::from_secs(5));
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        req = req.header(header::AUTHORIZATION, auth.clone());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| ApiError::unavailable(format!("node {}: {e}", node.node_id)))?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = resp
        .bytes()
        .await
        .map_err(|e| ApiError::unavailable(format!("node {}: {e}", node.node_id)))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

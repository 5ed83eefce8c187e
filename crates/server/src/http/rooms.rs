//! Rooms: create, list, get, delete (ends a live family), users and break-out rooms of a
//! live family.

use super::{ApiError, AppAuth};
use crate::driver::{FamilyMsg, Query};
use crate::util::{random_hex, rfc3339, unix_now};
use crate::AppState;
use alcove_proto::api::{
    BreakoutRoomsResponse, CreateRoomRequest, ErrorResponse, Room, RoomListResponse, RoomResponse,
    UsersResponse,
};
use alcove_proto::RoomId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Reads a JSON body, turning every rejection into a 400 with the reason.
pub(super) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {}", e.body_text())))
}

/// A room of this app, or 404.
pub(super) fn owned_room(state: &AppState, app: &str, room_id: &RoomId) -> Result<Room, ApiError> {
    match state.store.room(room_id)? {
        Some((owner, room)) if owner == app => Ok(room),
        _ => Err(ApiError::not_found(format!(
            "room {} not found",
            short(room_id.as_str())
        ))),
    }
}

fn short(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.trim().is_empty() || v.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "`{field}` must be 1–{max} characters"
        )));
    }
    Ok(())
}

/// `POST /v1/rooms`.
#[utoipa::path(post, path = "/v1/rooms", tag = "rooms", request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "Created", body = RoomResponse),
        (status = 400, description = "Invalid body", body = ErrorResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    b: Result<Json<CreateRoomRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<RoomResponse>), ApiError> {
    let req = body(b)?;
    check_text("name", &req.name, 200)?;
    check_text("owner_ref", &req.owner_ref, 200)?;
    let settings = req.settings.resolve().map_err(ApiError::bad_request)?;
    let room = Room {
        room_id: RoomId(format!("r{}", random_hex(8))),
        name: req.name,
        owner_ref: req.owner_ref,
        settings,
        data: req.data,
        created: rfc3339(unix_now()),
    };
    state.store.insert_room(&app, &room)?;
    Ok((StatusCode::CREATED, Json(RoomResponse { result: 0, room })))
}

/// `GET /v1/rooms`.
#[utoipa::path(get, path = "/v1/rooms", tag = "rooms",
    responses(
        (status = 200, description = "The app's rooms, oldest first", body = RoomListResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
) -> Result<Json<RoomListResponse>, ApiError> {
    Ok(Json(RoomListResponse {
        result: 0,
        rooms: state.store.rooms(&app)?,
    }))
}

/// `GET /v1/rooms/{room_id}`.
///
/// In cluster mode the answer also has `node`: the node hosting the room's family (`null`
/// when it is not live).
#[utoipa::path(get, path = "/v1/rooms/{room_id}", tag = "rooms", params(("room_id" = String, Path, description = "The room")),
    responses(
        (status = 200, description = "The room", body = RoomResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse),
        (status = 404, description = "No such room (of this app)", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let room_id = RoomId(room_id);
    let room = owned_room(&state, &app, &room_id)?;
    let resp = RoomResponse { result: 0, room };
    if state.families.cluster.get().is_none() {
        return Ok(Json(resp).into_response());
    }
    let node = crate::cluster::http::host(&state, &room_id).await?;
    let mut v = serde_json::to_value(&resp).map_err(ApiError::internal)?;
    v["node"] = serde_json::json!(node);
    Ok(Json(v).into_response())
}

/// `DELETE /v1/rooms/{room_id}`: removes the room and ends its live family (every client is
/// told `roomDisconnected` 4107 and disconnected; break-out rooms are destroyed).
#[utoipa::path(delete, path = "/v1/rooms/{room_id}", tag = "rooms", params(("room_id" = String, Path, description = "The room")),
    responses(
        (status = 200, description = "Deleted (a live session ended)", body = ErrorResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse),
        (status = 404, description = "No such room (of this app)", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let room_id = RoomId(room_id);
    owned_room(&state, &app, &room_id)?;
    // Cluster mode: the node that hosts the family deletes the room and ends it.
    if let Some(answer) = crate::cluster::http::answer_from_owner(
        &state,
        &room_id,
        axum::http::Method::DELETE,
        "",
        &headers,
    )
    .await?
    {
        return Ok(answer);
    }
    state.store.delete_room(&room_id)?;
    let was_live = state.families.send(&room_id, FamilyMsg::End);
    let msg = if was_live {
        "Room deleted; live session ended"
    } else {
        "Room deleted"
    };
    Ok(Json(ErrorResponse {
        result: 0,
        msg: msg.into(),
    })
    .into_response())
}

/// `GET /v1/rooms/{room_id}/users`: who is connected and where (empty when not live).
#[utoipa::path(get, path = "/v1/rooms/{room_id}/users", tag = "rooms", params(("room_id" = String, Path, description = "The room")),
    responses(
        (status = 200, description = "Connected users and where they are", body = UsersResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse),
        (status = 404, description = "No such room (of this app)", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn users(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let room_id = RoomId(room_id);
    owned_room(&state, &app, &room_id)?;
    if let Some(answer) = crate::cluster::http::answer_from_owner(
        &state,
        &room_id,
        axum::http::Method::GET,
        "/users",
        &headers,
    )
    .await?
    {
        return Ok(answer);
    }
    let (tx, rx) = oneshot::channel();
    let users = if state
        .families
        .send(&room_id, FamilyMsg::Query(Query::Users(tx)))
    {
        rx.await.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Json(UsersResponse { result: 0, users }).into_response())
}

/// `GET /v1/rooms/{room_id}/breakout-rooms`: live break-out rooms, members, invitations.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/breakout-rooms", tag = "rooms", params(("room_id" = String, Path, description = "The room")),
    responses(
        (status = 200, description = "Live break-out rooms", body = BreakoutRoomsResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse),
        (status = 404, description = "No such room (of this app)", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn breakout_rooms(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let room_id = RoomId(room_id);
    owned_room(&state, &app, &room_id)?;
    if let Some(answer) = crate::cluster::http::answer_from_owner(
        &state,
        &room_id,
        axum::http::Method::GET,
        "/breakout-rooms",
        &headers,
    )
    .await?
    {
        return Ok(answer);
    }
    let (tx, rx) = oneshot::channel();
    let breakout_rooms = if state
        .families
        .send(&room_id, FamilyMsg::Query(Query::BreakoutRooms(tx)))
    {
        rx.await.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Json(BreakoutRoomsResponse {
        result: 0,
        breakout_rooms,
    })
    .into_response())
}

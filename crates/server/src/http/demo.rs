//! The demo web app and the browser SDK as static files, and `POST /demo/join`, which mints a
//! token for the shared demo room in development mode (when the development app exists).

use super::rooms::body;
use super::ApiError;
use crate::util::{random_hex, rfc3339, unix_now};
use crate::{AppState, DEV_APP_ID};
use alcove_proto::api::{CreateTokenRequest, Room, RoomSettingsInput};
use alcove_proto::signal::Role;
use alcove_proto::RoomId;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `POST /demo/join` body.
#[derive(Debug, Deserialize)]
pub struct DemoJoin {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// `POST /demo/join` answer.
#[derive(Debug, Serialize)]
pub struct DemoJoined {
    /// 0.
    pub result: i32,
    /// A token for the demo room.
    pub token: String,
    /// The demo room.
    pub room_id: RoomId,
    /// Where to connect.
    pub signal_url: String,
}

fn demo_room(state: &AppState) -> Result<Room, ApiError> {
    if let Some(id) = state.store.meta("demo_room")? {
        if let Some((_, room)) = state.store.room(&RoomId(id))? {
            return Ok(room);
        }
    }
    let settings = RoomSettingsInput {
        screen_share: Some(true),
        canvas: Some(true),
        ..Default::default()
    }
    .resolve()
    .map_err(ApiError::internal)?;
    let room = Room {
        room_id: RoomId(format!("r{}", random_hex(8))),
        name: "Demo room".into(),
        owner_ref: "demo".into(),
        settings,
        data: serde_json::Value::Null,
        created: rfc3339(unix_now()),
    };
    state.store.insert_room(DEV_APP_ID, &room)?;
    state.store.set_meta("demo_room", room.room_id.as_str())?;
    Ok(room)
}

/// `POST /demo/join`: a token for the demo room (development mode only).
pub async fn join(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    b: Result<Json<DemoJoin>, JsonRejection>,
) -> Result<Json<DemoJoined>, ApiError> {
    if !state.config.dev_app || !state.store.app_exists(DEV_APP_ID)? {
        return Err(ApiError::not_found(
            "the demo is only available in development mode",
        ));
    }
    let req = body(b)?;
    if req.name.trim().is_empty() || req.name.chars().count() > 100 {
        return Err(ApiError::bad_request("`name` must be 1–100 characters"));
    }
    let room = demo_room(&state)?;
    let user_ref = format!("demo-{}", random_hex(4));
    let (token, _) = state.mint(
        DEV_APP_ID,
        &room.room_id,
        CreateTokenRequest {
            name: req.name,
            role: req.role,
            user_ref,
            data: serde_json::Value::Null,
        },
    );
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:7880");
    let scheme = if state.config.tls.is_some() {
        "wss"
    } else {
        "ws"
    };
    Ok(Json(DemoJoined {
        result: 0,
        token,
        room_id: room.room_id,
        signal_url: format!("{scheme}://{host}/v1/signal"),
    }))
}

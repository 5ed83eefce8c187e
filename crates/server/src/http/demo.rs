//! `POST /demo/join`, which mints a token for the shared demo room without credentials: only in
//! development mode (`alcove serve --dev`, which also needs the development app). Without
//! `--dev` the route answers 404 and mints nothing (docs/security.md, "Development mode").

use super::rooms::body;
use super::tokens::display_name;
use super::ApiError;
use crate::util::{random_hex, rfc3339, unix_now};
use crate::{AppState, DEV_APP_ID};
use alcove_proto::api::{CreateTokenRequest, Room, RoomSettingsInput};
use alcove_proto::signal::Role;
use alcove_proto::RoomId;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
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

/// `POST /demo/join`: a token for the demo room. Routed only under `alcove serve --dev`
/// ([`crate::Config::dev`]); otherwise [`not_in_dev_mode`] answers. The signalling URL comes
/// from the configuration ([`crate::Config::signal_url`]), never from the request.
pub async fn join(
    State(state): State<Arc<AppState>>,
    b: Result<Json<DemoJoin>, JsonRejection>,
) -> Result<Json<DemoJoined>, ApiError> {
    if !state.config.dev || !state.store.app_exists(DEV_APP_ID)? {
        return Err(not_dev());
    }
    let req = body(b)?;
    let name = display_name(&req.name)?;
    let room = demo_room(&state)?;
    let user_ref = format!("demo-{}", random_hex(4));
    let (token, _) = state.mint(
        DEV_APP_ID,
        &room.room_id,
        CreateTokenRequest {
            name,
            role: req.role,
            user_ref,
            data: serde_json::Value::Null,
        },
    );
    Ok(Json(DemoJoined {
        result: 0,
        token,
        room_id: room.room_id,
        signal_url: state.config.signal_url(),
    }))
}

fn not_dev() -> ApiError {
    ApiError::not_found(
        "no demo tokens: the server is not in development mode (`alcove serve --dev`)",
    )
}

/// `POST /demo/join` without `--dev`: always 404, nothing is minted.
pub async fn not_in_dev_mode() -> ApiError {
    not_dev()
}

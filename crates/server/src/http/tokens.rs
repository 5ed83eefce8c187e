//! Tokens: `POST /v1/rooms/{room_id}/tokens` mints a signed, single-use, room-bound token.

use super::rooms::{body, owned_room};
use super::{ApiError, AppAuth};
use crate::token::{sign, Claims};
use crate::util::{random_hex, unix_now_ms};
use crate::AppState;
use alcove_proto::api::{CreateTokenRequest, TokenResponse};
use alcove_proto::RoomId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// `POST /v1/rooms/{room_id}/tokens`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
    b: Result<Json<CreateTokenRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let room_id = RoomId(room_id);
    let room = owned_room(&state, &app, &room_id)?;
    let req = body(b)?;
    if req.name.trim().is_empty() || req.name.chars().count() > 100 {
        return Err(ApiError::bad_request("`name` must be 1–100 characters"));
    }
    if req.user_ref.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "`user_ref` must be at most 200 characters",
        ));
    }
    match &req.data {
        Value::Null => {}
        Value::Object(m) if m.len() <= 5 => {}
        _ => {
            return Err(ApiError::bad_request(
                "`data` must be an object with at most 5 keys",
            ))
        }
    }
    let (token, exp) = state.mint(&app, &room.room_id, req);
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            result: 0,
            token,
            expires_at: exp,
        }),
    ))
}

impl AppState {
    /// Mints a token for `room_id` (also used by the demo page in development mode). Returns
    /// the token and its expiry in Unix seconds, rounded up (from then on it no longer
    /// connects; the exact expiry is the claim `exp_ms`).
    pub fn mint(&self, app: &str, room_id: &RoomId, req: CreateTokenRequest) -> (String, u64) {
        let ttl_ms = u64::try_from(self.config.token_ttl.as_millis()).unwrap_or(u64::MAX);
        let exp_ms = unix_now_ms().saturating_add(ttl_ms.max(1));
        let exp = exp_ms.div_ceil(1000);
        let claims = Claims {
            jti: random_hex(12),
            app_id: app.to_owned(),
            room_id: room_id.clone(),
            role: req.role,
            name: req.name,
            user_ref: req.user_ref,
            data: req.data,
            exp,
            exp_ms: Some(exp_ms),
        };
        (sign(&self.secret, &claims), exp)
    }
}

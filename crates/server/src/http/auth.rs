//! Authentication: apps by HTTP Basic (`app_id:app_key`, [`AppAuth`]), the admin API by the
//! admin key (`Authorization: Bearer …`, [`AdminAuth`]).

use super::ApiError;
use crate::store::{key_hash, same_digest};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::sync::Arc;

/// The authenticated app's id; extracting it rejects bad or missing credentials with 401.
#[derive(Debug, Clone)]
pub struct AppAuth(pub String);

impl FromRequestParts<Arc<AppState>> for AppAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        basic(state, header).map(AppAuth)
    }
}

/// Checks an `Authorization: Basic …` value against the apps; the app id when it matches.
pub(crate) fn basic(state: &AppState, header: &str) -> Result<String, ApiError> {
    let encoded = header
        .strip_prefix("Basic ")
        .ok_or_else(ApiError::unauthorized)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::unauthorized())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::unauthorized())?;
    let (id, key) = decoded.split_once(':').ok_or_else(ApiError::unauthorized)?;
    if state.store.authenticate(id, key)? {
        Ok(id.to_owned())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// An admin request: `Authorization: Bearer <admin key>` (the key in `<data dir>/admin-key`).
/// Extracting it rejects a missing, malformed or wrong key with 401; app credentials are not
/// admin credentials.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<Arc<AppState>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::admin_unauthorized)?;
        let stored = state
            .store
            .meta(super::admin::ADMIN_KEY_HASH)?
            .ok_or_else(ApiError::admin_unauthorized)?;
        if same_digest(&stored, &key_hash(given)) {
            Ok(AdminAuth)
        } else {
            Err(ApiError::admin_unauthorized())
        }
    }
}

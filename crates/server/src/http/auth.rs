//! HTTP Basic authentication of apps (`app_id:app_key`).

use super::ApiError;
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
        let encoded = header
            .strip_prefix("Basic ")
            .ok_or_else(ApiError::unauthorized)?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| ApiError::unauthorized())?;
        let decoded = String::from_utf8(decoded).map_err(|_| ApiError::unauthorized())?;
        let (id, key) = decoded.split_once(':').ok_or_else(ApiError::unauthorized)?;
        if state.store.authenticate(id, key)? {
            Ok(AppAuth(id.to_owned()))
        } else {
            Err(ApiError::unauthorized())
        }
    }
}

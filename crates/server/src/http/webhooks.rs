//! `PUT | GET | DELETE /v1/webhook`: an app registers, reads or removes the URL its rooms'
//! events are POSTed to (`webhook.rs`). The secret that signs them is returned by `PUT` only.

use super::rooms::body;
use super::{ApiError, AppAuth};
use crate::AppState;
use alcove_proto::api::ErrorResponse;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `PUT /v1/webhook` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWebhook {
    /// Where events are POSTed: `https://…` (or `http://`), at most 2000 characters.
    pub url: String,
}

/// An app's webhook.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    /// Where events are POSTed.
    pub url: String,
    /// When it was registered (RFC 3339).
    pub created: String,
    /// The HMAC-SHA256 key of `X-Alcove-Signature`: in the answer of `PUT` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `{result, webhook}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookResponse {
    /// 0.
    pub result: i32,
    /// The webhook.
    pub webhook: WebhookInfo,
}

/// `PUT /v1/webhook`: registers (or replaces) the app's webhook; a new secret each time.
#[utoipa::path(put, path = "/v1/webhook", tag = "webhooks",
    request_body = SetWebhook,
    responses(
        (status = 200, description = "Registered; the secret is shown this once", body = WebhookResponse),
        (status = 400, description = "Bad URL or body", body = ErrorResponse),
        (status = 401, description = "Bad credentials", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    b: Result<Json<SetWebhook>, JsonRejection>,
) -> Result<Json<WebhookResponse>, ApiError> {
    let req = body(b)?;
    crate::webhook::check_url(&req.url).map_err(ApiError::bad_request)?;
    let target = state.store.set_webhook(&app, &req.url)?;
    state.families.webhooks.changed(&app, Some(target.clone()));
    Ok(Json(WebhookResponse {
        result: 0,
        webhook: WebhookInfo {
            url: target.url,
            created: target.created,
            secret: Some(target.secret),
        },
    }))
}

/// `GET /v1/webhook`: the app's webhook (without its secret), 404 when none.
#[utoipa::path(get, path = "/v1/webhook", tag = "webhooks",
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse),
        (status = 401, description = "Bad credentials", body = ErrorResponse),
        (status = 404, description = "No webhook registered", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
) -> Result<Json<WebhookResponse>, ApiError> {
    match state.store.webhook(&app)? {
        Some(t) => Ok(Json(WebhookResponse {
            result: 0,
            webhook: WebhookInfo {
                url: t.url,
                created: t.created,
                secret: None,
            },
        })),
        None => Err(ApiError::not_found("no webhook registered")),
    }
}

/// `DELETE /v1/webhook`: no more events (queued ones are not sent).
#[utoipa::path(delete, path = "/v1/webhook", tag = "webhooks",
    responses(
        (status = 200, description = "Removed", body = ErrorResponse),
        (status = 401, description = "Bad credentials", body = ErrorResponse),
        (status = 404, description = "No webhook registered", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
) -> Result<Json<ErrorResponse>, ApiError> {
    if !state.store.delete_webhook(&app)? {
        return Err(ApiError::not_found("no webhook registered"));
    }
    state.families.webhooks.changed(&app, None);
    Ok(Json(ErrorResponse {
        result: 0,
        msg: "Webhook removed".into(),
    }))
}

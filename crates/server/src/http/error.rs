//! `ApiError`: the one error type of the REST edge. It maps to an HTTP status plus a stable
//! `{result, msg}` body; internal details are logged, never sent.

use alcove_proto::api::ErrorResponse;
use alcove_proto::ErrorCode;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A REST failure.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    msg: String,
    /// `WWW-Authenticate` of a 401.
    challenge: &'static str,
}

impl ApiError {
    /// 400 / 4400.
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::BadRequest,
            msg: msg.into(),
            challenge: "",
        }
    }

    /// 401 / 4401.
    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::AuthenticationFailed,
            msg: "Authentication failed: HTTP Basic app_id:app_key required".into(),
            challenge: "Basic realm=\"alcove\"",
        }
    }

    /// 401 / 4401 of the admin API.
    pub fn admin_unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::AuthenticationFailed,
            msg: "Authentication failed: Authorization: Bearer <admin key> required (the key is in <data dir>/admin-key)".into(),
            challenge: "Bearer realm=\"alcove-admin\"",
        }
    }

    /// 404 / 4404.
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::NotFound,
            msg: msg.into(),
            challenge: "",
        }
    }

    /// 503 / 1138: the shared store (cluster mode: Redis) does not answer; `detail` is
    /// logged only. The client may try again.
    pub fn unavailable(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("store unavailable: {detail}");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: ErrorCode::Internal,
            msg: "Service unavailable: the cluster's store does not answer; try again".into(),
            challenge: "",
        }
    }

    /// 500 / 1138; `detail` is logged only.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: ErrorCode::Internal,
            msg: ErrorCode::Internal.message().into(),
            challenge: "",
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            return ApiError::unavailable(e);
        }
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorResponse {
            result: self.code.code(),
            msg: self.msg,
        });
        if self.status == StatusCode::UNAUTHORIZED {
            (
                self.status,
                [(header::WWW_AUTHENTICATE, self.challenge)],
                body,
            )
                .into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

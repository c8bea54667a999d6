//! One error type for the API: each variant becomes a JSON body with a fitting status.
//! Internal errors are logged with their cause and shown only as "internal error".

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(String, String),
    #[error("{0}")]
    NotFound(String),
    #[error("{1}")]
    Conflict(String, String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("too many sign-in attempts; try again in {} minutes", .0.div_ceil(60))]
    Throttled(u64),
    #[error("the store is busy; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl From<app::filter::FilterError> for ApiError {
    fn from(e: app::filter::FilterError) -> Self {
        ApiError::BadRequest("bad_parameter".into(), e.to_string())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        let text = e.to_string();
        if text.contains("database is locked") || text.contains("PoolTimedOut") {
            ApiError::Unavailable
        } else {
            ApiError::Internal(text)
        }
    }
}

impl From<app::store::events::QueryError> for ApiError {
    fn from(e: app::store::events::QueryError) -> Self {
        match e {
            app::store::events::QueryError::BadParameter(..) => {
                ApiError::BadRequest("bad_parameter".into(), e.to_string())
            }
            app::store::events::QueryError::Db(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, code.as_str()),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(code, _) => (StatusCode::CONFLICT, code.as_str()),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let body = serde_json::json!({"error": {"code": code, "message": self.to_string()}});
        let mut resp = (status, Json(body)).into_response();
        if let ApiError::Throttled(secs) = self {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (secs).into());
        }
        resp
    }
}

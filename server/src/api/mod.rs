//! The JSON API under `/api/v1`, one module per resource, and its OpenAPI document.

mod error;
mod events;
mod map;

pub use error::ApiError;

use crate::ServerState;
use axum::routing::get;
use axum::Router;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events/{id}", get(events::get))
        .route("/api/v1/map/clusters", get(map::clusters))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/{*rest}", get(not_found).post(not_found))
}

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such API resource".into())
}

/// Parses a query string into pairs, refusing malformed encodings.
pub(crate) fn query_pairs(raw: Option<String>) -> Result<Vec<(String, String)>, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > 8 * 1024 {
        return Err(ApiError::BadRequest(
            "query_too_long".into(),
            "the query string is longer than 8 KiB".into(),
        ));
    }
    serde_urlencoded::from_str(&raw).map_err(|_| {
        ApiError::BadRequest(
            "bad_query".into(),
            "the query string is not valid URL encoding".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn openapi_document_is_valid_json_and_lists_the_event_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        assert!(doc["paths"]["/api/v1/events"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/events/{id}"]["get"].is_object());
    }
}

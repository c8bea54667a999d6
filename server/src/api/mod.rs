//! The JSON API under `/api/v1`, one module per resource, and its OpenAPI document.

mod error;
mod events;
mod export;
mod map;
mod runs;
mod session;
mod stats;
mod trip;

pub use error::ApiError;

use crate::ServerState;
use axum::routing::{get, post};
use axum::Router;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events.ics", get(export::ics))
        .route("/api/v1/events.csv", get(export::csv))
        .route("/api/v1/events/{id}", get(events::get))
        .route("/api/v1/events/{id}/trip", get(trip::get))
        .route("/api/v1/events/{id}/calendar.ics", get(export::one_ics))
        .route("/api/v1/map/clusters", get(map::clusters))
        .route("/api/v1/stats/{name}", get(stats::get))
        .route("/api/v1/runs", get(runs::list).post(runs::start))
        .route("/api/v1/runs/{id}", get(runs::get))
        .route("/api/v1/runs/{id}/events", get(runs::events))
        .route("/api/v1/runs/{id}/cancel", post(runs::cancel))
        .route(
            "/api/v1/session",
            post(session::create).delete(session::delete),
        )
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/v1/{*rest}",
            get(not_found).post(not_found).delete(not_found),
        )
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

/// Refuses an event id no store could hold, before any query.
pub(crate) fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() > 200 {
        return Err(ApiError::BadRequest(
            "bad_parameter".into(),
            "parameter `id`: is too long".into(),
        ));
    }
    Ok(())
}

/// The event filter of a request (place names in `near` resolved), and its raw pairs.
pub(crate) async fn event_filter(
    state: &app::state::AppState,
    raw: Option<String>,
    extra: &[&str],
) -> Result<(app::filter::EventFilter, Vec<(String, String)>), ApiError> {
    let mut pairs = query_pairs(raw)?;
    app::store::events::resolve_place_names(&state.db, &mut pairs).await?;
    let filter = app::filter::EventFilter::from_pairs(&pairs, extra)?;
    Ok((filter, pairs))
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

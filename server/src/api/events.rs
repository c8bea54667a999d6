//! `/api/v1/events`: the filtered, paged list and one event.

use super::{query_pairs, ApiError};
use app::filter::EventFilter;
use app::state::AppState;
use app::types::{EventDetail, EventPage};
use axum::extract::{Path, RawQuery, State};
use axum::Json;

pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let filter = EventFilter::from_pairs(&query_pairs(raw)?, &[])?;
    Ok(Json(
        app::store::events::list_events(&state.db, &filter).await?,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, ApiError> {
    if id.len() > 200 {
        return Err(ApiError::BadRequest(
            "bad_parameter".into(),
            "parameter `id`: is too long".into(),
        ));
    }
    app::store::events::event_detail(&state.db, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no event has the id `{id}`")))
}

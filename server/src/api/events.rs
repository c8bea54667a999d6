//! `/api/v1/events`: the filtered, paged list and one event.

use super::{check_id, event_filter, ApiError};
use app::state::AppState;
use app::types::{EventDetail, EventPage};
use axum::extract::{Path, RawQuery, State};
use axum::Json;

pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventPage>, ApiError> {
    let (filter, _) = event_filter(&state, raw, &[]).await?;
    Ok(Json(state.cache.list_events(&state.db, &filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, ApiError> {
    check_id(&id)?;
    app::store::events::event_detail(&state.db, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no event has the id `{id}`")))
}

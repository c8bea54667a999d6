//! `/api/v1/events/{id}/trip`: the trip bundle the event page shows, as JSON.

use super::{check_id, query_pairs, ApiError};
use app::state::AppState;
use app::trip::{load_trip, parse_adults, parse_origin, TripError, DEFAULT_ORIGIN};
use app::types::TripBundle;
use axum::extract::{Path, RawQuery, State};
use axum::Json;

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TripBundle>, ApiError> {
    check_id(&id)?;
    let mut origin = DEFAULT_ORIGIN.to_string();
    let mut adults = 1;
    for (k, v) in query_pairs(raw)? {
        match k.as_str() {
            "origin" => origin = parse_origin(&v)?,
            "adults" => adults = parse_adults(&v)?,
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(ApiError::BadRequest(
                    "bad_parameter".into(),
                    format!("parameter `{shown}`: is not a known parameter"),
                ));
            }
        }
    }
    match load_trip(&state, &id, &origin, adults).await {
        Ok(Some(bundle)) => Ok(Json(bundle)),
        Ok(None) => Err(ApiError::NotFound(format!("no event has the id `{id}`"))),
        Err(e @ TripError::UnknownOrigin(_)) => {
            Err(ApiError::BadRequest("bad_parameter".into(), e.to_string()))
        }
        Err(TripError::Db(e)) => Err(e.into()),
    }
}

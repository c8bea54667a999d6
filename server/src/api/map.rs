//! `/api/v1/map/clusters`: the filtered events grouped for a map view.

use super::{event_filter, ApiError};
use app::state::AppState;
use app::types::Cluster;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct Clusters {
    pub clusters: Vec<Cluster>,
}

pub async fn clusters(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Clusters>, ApiError> {
    let (filter, pairs) = event_filter(&state, raw, &["zoom"]).await?;
    let zoom = match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "zoom")
        .map(|(_, v)| v.trim())
    {
        None | Some("") => 2,
        Some(v) => match v.parse::<u8>() {
            Ok(z) if z <= 22 => z,
            _ => {
                return Err(ApiError::BadRequest(
                    "bad_parameter".into(),
                    "parameter `zoom`: must be a whole number from 0 to 22".into(),
                ))
            }
        },
    };
    let clusters = state.cache.map_clusters(&state.db, &filter, zoom).await?;
    Ok(Json(Clusters { clusters }))
}

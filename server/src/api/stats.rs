//! `/api/v1/stats/{name}`: the dashboard's chart data, with the event filters. The same
//! queries (`app::store::stats`) draw the dashboard page.

use super::{event_filter, ApiError};
use app::state::AppState;
use app::store::stats::{self, Period};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

/// The statistics this API answers.
pub const NAMES: [&str; 6] = [
    "categories",
    "countries",
    "timeline",
    "spend",
    "rank-attendance",
    "cards",
];

pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    if !NAMES.contains(&name.as_str()) {
        let shown: String = name.chars().take(40).collect();
        return Err(ApiError::NotFound(format!(
            "no statistic is called `{shown}`; known: {}",
            NAMES.join(", ")
        )));
    }
    let (filter, pairs) = event_filter(&state, raw, &["unit"]).await?;
    let unit = pairs
        .iter()
        .rev()
        .find(|(k, v)| k == "unit" && !v.is_empty())
        .map(|(_, v)| v.as_str());
    if unit.is_some() && name != "timeline" {
        return Err(ApiError::BadRequest(
            "bad_parameter".into(),
            "parameter `unit`: only the timeline takes it".into(),
        ));
    }
    let db = &state.db;
    let items = match name.as_str() {
        "categories" => json!(stats::categories(db, &filter).await?),
        "countries" => json!(stats::countries(db, &filter).await?),
        "timeline" => {
            let period = match unit {
                None => Period::Month,
                Some(u) => Period::parse(u).ok_or_else(|| {
                    ApiError::BadRequest(
                        "bad_parameter".into(),
                        "parameter `unit`: must be month or week".into(),
                    )
                })?,
            };
            json!(stats::timeline(db, &filter, period).await?)
        }
        "spend" => json!(stats::spend(db, &filter).await?),
        "rank-attendance" => json!(stats::rank_attendance(db, &filter).await?),
        _ => json!(stats::cards(db, &filter, chrono::Utc::now().date_naive()).await?),
    };
    Ok(Json(json!({ "name": name, "items": items })))
}

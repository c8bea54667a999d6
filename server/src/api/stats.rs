//! `/api/v1/stats/{name}`: the dashboard's chart data, with the event filters. The same
//! queries (`app::store::stats`) draw the dashboard page.

use super::{event_filter, ApiError};
use app::state::AppState;
use app::store::stats::{self, Period};
use app::trip::{origin_known, parse_origin, DEFAULT_ORIGIN};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

/// The statistics this API answers.
pub const NAMES: [&str; 8] = [
    "categories",
    "countries",
    "fares",
    "timeline",
    "spend",
    "visitors",
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
    let (filter, pairs) = event_filter(&state, raw, &["unit", "origin"]).await?;
    let given = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let unit = given("unit");
    let origin = given("origin");
    for (param, value, takes) in [("unit", unit, "timeline"), ("origin", origin, "fares")] {
        if value.is_some() && name != takes {
            return Err(ApiError::BadRequest(
                "bad_parameter".into(),
                format!("parameter `{param}`: only the {takes} statistic takes it"),
            ));
        }
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
        "visitors" => json!(stats::visitors(db, &filter).await?),
        "fares" => {
            let origin = match origin {
                None => DEFAULT_ORIGIN.to_string(),
                Some(o) => parse_origin(o)?,
            };
            if !origin_known(db, &origin).await? {
                return Err(ApiError::BadRequest(
                    "bad_parameter".into(),
                    format!("parameter `origin`: `{origin}` is not an airport TourSherpa knows"),
                ));
            }
            json!(stats::fares(db, &filter, &origin).await?)
        }
        "rank-attendance" => json!(stats::rank_attendance(db, &filter).await?),
        _ => json!(stats::cards(db, &filter, chrono::Utc::now().date_naive()).await?),
    };
    Ok(Json(json!({ "name": name, "items": items })))
}

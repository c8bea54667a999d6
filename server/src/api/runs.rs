//! `/api/v1/runs`: refresh runs for administrators (the guard in `crate::auth` has already
//! checked the session): list, one run, the events of one class, start, cancel.

use super::ApiError;
use app::auth::AdminRequest;
use app::ingest::diff::SyncMode;
use app::ingest::RefreshError;
use app::state::AppState;
use app::store::admin;
use app::types::{RunEvents, RunInfo};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    before: Option<String>,
}

fn number<T: std::str::FromStr>(name: &str, value: Option<&str>) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::BadRequest(
                    "bad_parameter".into(),
                    format!("parameter `{name}`: `{v}` is not a whole number"),
                )
            })
        })
        .transpose()
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit: u64 = number("limit", q.limit.as_deref())?.unwrap_or(20);
    if !(1..=admin::MAX_RUNS).contains(&limit) {
        return Err(ApiError::BadRequest(
            "bad_parameter".into(),
            format!("parameter `limit`: must be from 1 to {}", admin::MAX_RUNS),
        ));
    }
    let before: Option<i32> = number("before", q.before.as_deref())?;
    let items = admin::runs(&state.db, limit, before).await?;
    let next_before = (items.len() as u64 == limit)
        .then(|| items.last().map(|r| r.id))
        .flatten();
    Ok(Json(
        serde_json::json!({"items": items, "next_before": next_before}),
    ))
}

fn run_id(id: &str) -> Result<i32, ApiError> {
    id.parse().map_err(|_| {
        ApiError::BadRequest(
            "bad_parameter".into(),
            format!(
                "parameter `id`: `{}` is not a run id",
                id.chars().take(40).collect::<String>()
            ),
        )
    })
}

async fn found(state: &AppState, id: i32) -> Result<RunInfo, ApiError> {
    admin::run(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run has the id {id}")))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunInfo>, ApiError> {
    Ok(Json(found(&state, run_id(&id)?).await?))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    class: Option<String>,
    page: Option<String>,
}

pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<RunEvents>, ApiError> {
    let id = run_id(&id)?;
    found(&state, id).await?;
    let name = q.class.unwrap_or_default();
    let class = admin::class_by_name(&name).ok_or_else(|| {
        ApiError::BadRequest(
            "bad_parameter".into(),
            "parameter `class`: must be one of unchanged, changed, moved, new, gone".into(),
        )
    })?;
    let page: u64 = number("page", q.page.as_deref())?.unwrap_or(1);
    if page == 0 || page > 1_000_000 {
        return Err(ApiError::BadRequest(
            "bad_parameter".into(),
            "parameter `page`: must be from 1".into(),
        ));
    }
    Ok(Json(admin::run_events(&state.db, id, class, page).await?))
}

#[derive(Deserialize, Default)]
pub struct StartBody {
    mode: Option<String>,
}

/// Starts a refresh: 202 with the new run, 409 while one runs anywhere on the store.
pub async fn start(
    State(state): State<AppState>,
    Extension(admin_req): Extension<AdminRequest>,
    body: Option<Json<StartBody>>,
) -> Result<(StatusCode, Json<RunInfo>), ApiError> {
    let mode = match body
        .and_then(|b| b.0.mode)
        .as_deref()
        .unwrap_or("incremental")
    {
        "incremental" => SyncMode::Incremental,
        "full" => SyncMode::Full,
        other => {
            return Err(ApiError::BadRequest(
                "bad_parameter".into(),
                format!(
                    "field `mode`: must be `incremental` or `full`, not `{}`",
                    other.chars().take(40).collect::<String>()
                ),
            ))
        }
    };
    let id = match state.start_refresh(mode, &admin_req.user.username).await {
        Ok(id) => id,
        Err(RefreshError::AlreadyRunning) => {
            return Err(ApiError::Conflict(
                "already_running".into(),
                "a refresh is already running; watch it or cancel it first".into(),
            ))
        }
        Err(RefreshError::Db(e)) => return Err(e.into()),
    };
    let detail = format!(
        "mode {}",
        if mode == SyncMode::Full {
            "full"
        } else {
            "incremental"
        }
    );
    admin::audit(
        &state.db,
        &admin_req.user.username,
        "refresh_start",
        &format!("run {id}"),
        &detail,
        &admin_req.address,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(found(&state, id).await?)))
}

/// Asks a running refresh to stop: 202, or 409 when the run is not running.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(admin_req): Extension<AdminRequest>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunInfo>), ApiError> {
    let id = run_id(&id)?;
    found(&state, id).await?;
    if !app::ingest::request_cancel(&state.db, id).await? {
        return Err(ApiError::Conflict(
            "not_running".into(),
            format!("run {id} is not running"),
        ));
    }
    admin::audit(
        &state.db,
        &admin_req.user.username,
        "refresh_cancel",
        &format!("run {id}"),
        "",
        &admin_req.address,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(found(&state, id).await?)))
}

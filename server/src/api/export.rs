//! `/api/v1/events.ics` and `/api/v1/events.csv` (the filtered view), and one event's
//! calendar entry, `/api/v1/events/{id}/calendar.ics`.

use super::{check_id, event_filter, ApiError};
use app::export::{export_rows, to_csv, to_ics};
use app::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The site's address as the caller reached it, for absolute links in exports. Only a
/// plain host name and port are taken from the Host header.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

fn file(body: String, content_type: &'static str, name: &str, more: bool) -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response();
    if more {
        // The export was cut at its cap: say so, so a script can narrow the filter.
        resp.headers_mut()
            .insert("x-toursherpa-truncated", HeaderValue::from_static("true"));
    }
    resp
}

pub async fn ics(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (filter, _) = event_filter(&state, raw, &[]).await?;
    let (rows, more) = export_rows(&state.db, &filter).await?;
    let body = to_ics(&rows, &base_url(&headers), chrono::Utc::now());
    Ok(file(
        body,
        "text/calendar; charset=utf-8",
        "toursherpa-events.ics",
        more,
    ))
}

pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (filter, _) = event_filter(&state, raw, &[]).await?;
    let (rows, more) = export_rows(&state.db, &filter).await?;
    let body = to_csv(&rows, &base_url(&headers));
    Ok(file(
        body,
        "text/csv; charset=utf-8",
        "toursherpa-events.csv",
        more,
    ))
}

pub async fn one_ics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let m = app::store::events::visible_event(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no event has the id `{id}`")))?;
    let body = to_ics(&[m], &base_url(&headers), chrono::Utc::now());
    Ok(file(
        body,
        "text/calendar; charset=utf-8",
        "toursherpa-event.ics",
        false,
    ))
}

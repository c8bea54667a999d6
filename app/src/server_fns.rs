//! Server functions: the pages' way to the shared queries in `store`.

use crate::types::{EventPageData, HomeData};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn state() -> Result<crate::state::AppState, ServerFnError> {
    use_context::<crate::state::AppState>()
        .ok_or_else(|| ServerFnError::new("the server is not set up"))
}

/// Logs an internal error and returns a message that reveals nothing of it.
#[cfg(feature = "ssr")]
fn internal(e: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %e, "server function failed");
    ServerFnError::new("internal error; please try again")
}

/// A store error for a page: the caller's mistake in words, anything else logged and hidden.
#[cfg(feature = "ssr")]
fn query_error(e: crate::store::events::QueryError) -> ServerFnError {
    use crate::store::events::QueryError;
    match e {
        QueryError::BadParameter(..) => ServerFnError::new(e.to_string()),
        QueryError::Db(e) => internal(e),
    }
}

/// The event filter of a page's URL query (`extra` names the page's own parameters), with
/// place names in `near` resolved, and the query's pairs.
#[cfg(feature = "ssr")]
async fn page_filter(
    st: &crate::state::AppState,
    query: &str,
    extra: &[&str],
) -> Result<(crate::filter::EventFilter, Vec<(String, String)>), ServerFnError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ServerFnError::new("the address has a malformed query"))?;
    crate::store::events::resolve_place_names(&st.db, &mut pairs)
        .await
        .map_err(query_error)?;
    let filter = crate::filter::EventFilter::from_pairs(&pairs, extra)
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok((filter, pairs))
}

/// Parameters the home page keeps in its URL besides the filter: the map view, the
/// selected event and whether the list follows the map.
pub const PAGE_ONLY_PARAMS: [&str; 3] = ["view", "event", "inview"];

/// The home page's ranked list for the filter in `query` (a URL query string), and the
/// filter as the JSON API takes it (for the map's clusters and the exports). A filter that
/// cannot be parsed answers with an error naming the parameter.
#[server]
pub async fn load_home(query: String) -> Result<HomeData, ServerFnError> {
    let st = state()?;
    let (filter, _) = page_filter(&st, &query, &PAGE_ONLY_PARAMS).await?;
    let page = st
        .cache
        .list_events(&st.db, &filter)
        .await
        .map_err(query_error)?;
    let api_query = serde_urlencoded::to_string(filter.to_pairs()).unwrap_or_default();
    Ok(HomeData {
        page,
        api_query,
        refresh_running: st.refresh_running(),
        site: st.site.clone(),
    })
}

/// The traveller's origin airport: the one asked for (checked), else the one remembered
/// in the cookie, else the default; and whether it was asked for.
#[cfg(feature = "ssr")]
fn pick_origin(asked: Option<&str>) -> Result<(String, bool), ServerFnError> {
    use crate::trip::{parse_origin, ORIGIN_COOKIE};
    if let Some(o) = asked.filter(|o| !o.trim().is_empty()) {
        let o = parse_origin(o).map_err(|e| ServerFnError::new(e.to_string()))?;
        return Ok((o, true));
    }
    let remembered = || {
        let parts = use_context::<http::request::Parts>()?;
        let cookies = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        cookies
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == ORIGIN_COOKIE)
            .and_then(|(_, v)| parse_origin(v).ok())
    };
    let origin = remembered().unwrap_or_else(|| crate::trip::DEFAULT_ORIGIN.to_string());
    Ok((origin, false))
}

/// Remembers the origin the traveller picked, for a year.
#[cfg(feature = "ssr")]
fn remember_origin(origin: &str) {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!(
            "{}={origin}; Path=/; Max-Age=31536000; SameSite=Lax",
            crate::trip::ORIGIN_COOKIE
        );
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            resp.append_header(http::header::SET_COOKIE, v);
        }
    }
}

/// The event page's trip bundle: `None` when no event has this id. Without an `origin`
/// the one the traveller picked last time (a cookie) is used; a picked one is remembered.
#[server]
pub async fn load_event(
    id: String,
    origin: Option<String>,
    adults: Option<String>,
) -> Result<Option<EventPageData>, ServerFnError> {
    use crate::trip::{load_trip, parse_adults, TripError};
    let st = state()?;
    let (origin, picked) = pick_origin(origin.as_deref())?;
    let adults = match adults.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(a) => parse_adults(a).map_err(|e| ServerFnError::new(e.to_string()))?,
        None => 1,
    };
    let bundle = match load_trip(&st, &id, &origin, adults).await {
        Ok(b) => b,
        Err(e @ TripError::UnknownOrigin(_)) => return Err(ServerFnError::new(e.to_string())),
        Err(TripError::Db(e)) => return Err(internal(e)),
    };
    if picked {
        remember_origin(&origin);
    }
    Ok(bundle.map(|trip| EventPageData {
        trip,
        site: st.site.clone(),
    }))
}

/// The country page: `None` for a code that is not a country. `query` is the page's URL
/// query (free text, sort, cursor and the other list filters).
#[server]
pub async fn load_country(
    code: String,
    query: String,
) -> Result<Option<crate::types::CountryData>, ServerFnError> {
    let st = state()?;
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(None);
    }
    let (filter, _) = page_filter(&st, &query, &[]).await?;
    crate::store::pages::country_page(&st.db, &st.cache, &code, filter)
        .await
        .map_err(query_error)
}

/// The place page: `None` when no place has this id.
#[server]
pub async fn load_place(id: String) -> Result<Option<crate::types::PlaceData>, ServerFnError> {
    let st = state()?;
    let Ok(id) = id.parse::<i32>() else {
        return Ok(None);
    };
    crate::store::pages::place_page(&st.db, id)
        .await
        .map_err(internal)
}

/// The dashboard's charts and cards for the filter in `query` (the page's URL query; `unit`
/// is `month` or `week` for the timeline).
#[server]
pub async fn load_dashboard(query: String) -> Result<crate::types::DashboardData, ServerFnError> {
    use crate::store::stats::{self, Period};
    let st = state()?;
    let (f, pairs) = page_filter(&st, &query, &["unit", "origin"]).await?;
    let asked = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "origin")
        .map(|(_, v)| v.as_str());
    let (origin, picked) = pick_origin(asked)?;
    if !crate::trip::origin_known(&st.db, &origin)
        .await
        .map_err(internal)?
    {
        return Err(ServerFnError::new(format!(
            "parameter `origin`: `{origin}` is not an airport TourSherpa knows"
        )));
    }
    if picked {
        remember_origin(&origin);
    }
    let unit = pairs
        .iter()
        .rev()
        .find(|(k, v)| k == "unit" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "month".into());
    let period = Period::parse(&unit)
        .ok_or_else(|| ServerFnError::new("parameter `unit`: must be month or week"))?;
    let db = &st.db;
    // The charts' queries are independent: on a pool of connections they run side by side.
    let (categories, countries, timeline, spend, scatter, visitors, fares, cards) =
        tokio::try_join!(
            stats::categories(db, &f),
            stats::countries(db, &f),
            stats::timeline(db, &f, period),
            stats::spend(db, &f),
            stats::rank_attendance(db, &f),
            stats::visitors(db, &f),
            stats::fares(db, &f, &origin),
            stats::cards(db, &f, chrono::Utc::now().date_naive()),
        )
        .map_err(query_error)?;
    Ok(crate::types::DashboardData {
        total: categories.iter().map(|c| c.count).sum(),
        categories,
        countries,
        unit,
        timeline,
        spend,
        scatter,
        visitors,
        fares,
        cards,
        demo: st.site.demo,
    })
}

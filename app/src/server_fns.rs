//! Server functions: the pages' way to the shared queries in `store`.

use crate::types::{EventView, HomeData};
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

/// The home page's map points and ranked list for the filter in `query` (a URL query
/// string). A filter that cannot be parsed answers with an error naming the parameter.
#[server]
pub async fn load_home(query: String) -> Result<HomeData, ServerFnError> {
    use crate::filter::EventFilter;
    use crate::store::events::{list_events, map_points, QueryError};
    let st = state()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
        .map_err(|_| ServerFnError::new("the address has a malformed query"))?;
    let filter =
        EventFilter::from_pairs(&pairs, &[]).map_err(|e| ServerFnError::new(e.to_string()))?;
    let map_err = |e: QueryError| match e {
        QueryError::BadParameter(..) => ServerFnError::new(e.to_string()),
        QueryError::Db(e) => internal(e),
    };
    let page = list_events(&st.db, &filter).await.map_err(map_err)?;
    let points = map_points(&st.db, &filter).await.map_err(map_err)?;
    Ok(HomeData {
        page,
        points,
        refresh_running: st.refresh_running(),
        site: st.site.clone(),
    })
}

/// The event page: `None` when no event has this id.
#[server]
pub async fn load_event(
    id: String,
    origin: Option<String>,
) -> Result<Option<EventView>, ServerFnError> {
    let st = state()?;
    let origin = origin
        .map(|o| o.trim().to_ascii_uppercase())
        .filter(|o| o.len() == 3 && o.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or_else(|| "ICN".to_string());
    // Offers from an origin the refresh does not cover are fetched now (cached afterwards).
    let errors = crate::ingest::enrich::flights_for_origin(&st.db, &st.providers, &id, &origin)
        .await
        .map_err(internal)?;
    for e in errors {
        tracing::warn!(error = %e, origin = %origin, "on-demand flight lookup failed");
    }
    crate::store::events::event_view(&st.db, &id, &origin)
        .await
        .map_err(internal)
}

//! The TourSherpa server: the axum application (pages, server functions, JSON API, static
//! files) and its start-up (store, migrations, reference data, first refresh).

pub mod api;
pub mod auth;
pub mod config;
pub mod priority;

use app::ingest::diff::SyncMode;
use app::state::AppState;
use app::types::SiteInfo;
use app::{shell, App};
use axum::extract::FromRef;
use axum::Router;
use config::Config;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// The router's state: Leptos' options for the pages, the app state for everything else.
#[derive(Clone, FromRef)]
pub struct ServerState {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
}

/// Opens the store, brings the schema up to date and loads the bundled reference data.
pub async fn open_store(config: &Config) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    let db = app::store::connect(&config.database_url).await?;
    let t = Instant::now();
    // Several processes starting together on one store race to create the schema and load
    // the reference data: the loser's statement fails (on SQLite, "database is locked"
    // while the other writes), and a later look finds the work done. About 10 s in all.
    let mut attempt = 0;
    let wrote = loop {
        let opened = match app::store::migrate(&db).await {
            Ok(()) => app::store::reference::load(&db).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(wrote) => break wrote,
            Err(e) if attempt == 7 => return Err(e),
            Err(e) => {
                attempt += 1;
                tracing::warn!(error = %e, "opening the store failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(300 * attempt)).await;
            }
        }
    };
    tracing::info!(
        wrote,
        millis = t.elapsed().as_millis() as u64,
        "store ready"
    );
    Ok(db)
}

/// The application state for a configuration and an open store.
pub fn app_state(config: &Config, db: sea_orm::DatabaseConnection) -> AppState {
    AppState {
        db,
        site: SiteInfo {
            tile_url: config.tile_url.clone(),
            tile_attribution: config.tile_attribution.clone(),
            demo: config.refresh.providers.any_demo(),
        },
        refreshing: Arc::new(AtomicBool::new(false)),
        refresh: Arc::new(config.refresh.clone()),
        auth: config.auth.clone(),
        cache: Default::default(),
        background: None,
    }
}

/// [`app_state`], with the refreshes it starts run at the configured lower CPU priority
/// (`TOURSHERPA_REFRESH_NICE`), on a runtime and store connections of their own. With a
/// nice value of 0, or an in-memory store (a second pool would be another, empty store),
/// they run on the request runtime as before.
pub async fn app_state_for_serving(
    config: &Config,
    db: sea_orm::DatabaseConnection,
) -> Result<AppState, Box<dyn std::error::Error + Send + Sync>> {
    let mut state = app_state(config, db);
    if config.refresh_nice > 0 && !config.database_url.contains(":memory:") {
        let runtime = priority::refresh_runtime(config.refresh_nice)?;
        let url = config.database_url.clone();
        let db = runtime
            .spawn(async move { app::store::connect(&url).await })
            .await??;
        state.background = Some(app::ingest::Background { runtime, db });
    }
    Ok(state)
}

/// Starts a refresh in the background unless one is running anywhere on the store.
pub async fn spawn_refresh(state: &AppState, mode: SyncMode, by: &str) {
    match state.start_refresh(mode, by).await {
        Ok(run_id) => tracing::info!(run_id, by, "refresh started"),
        Err(app::ingest::RefreshError::AlreadyRunning) => {
            tracing::info!(by, "a refresh is already running; this one is skipped")
        }
        Err(e) => tracing::warn!(error = %e, "refresh did not start"),
    }
}

/// Runs an incremental refresh every `every` (the scheduler of `serve`).
pub fn spawn_scheduler(state: &AppState, every: std::time::Duration) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: start after one period
        loop {
            ticker.tick().await;
            spawn_refresh(&state, SyncMode::Incremental, "scheduler").await;
        }
    });
}

/// Remembers the reader's language in a cookie and goes back to the page they were on
/// (only a path on this site: an absolute or protocol-relative address goes home).
async fn set_language(
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let Some(lang) = app::i18n::Lang::from_code(&code) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    let back = q
        .get("back")
        .filter(|b| {
            b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && b.is_ascii()
                && !b.chars().any(|c| c.is_ascii_control())
        })
        .map_or("/", String::as_str);
    let mut resp = axum::response::Redirect::to(back).into_response();
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        app::i18n::LANG_COOKIE,
        lang.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The largest request body accepted (413 beyond it): sign-in forms, run starts and
/// moderation reasons are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The longest path and query accepted (414 beyond it): the longest filter a page builds
/// is well under 2 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses an over-long path or query before any handler parses it.
async fn refuse_long_uris(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI_BYTES {
        let message =
            format!("the address is {len} bytes long; at most {MAX_URI_BYTES} are accepted");
        let mut resp = if req.uri().path().starts_with("/api/") {
            axum::Json(serde_json::json!({"error": {"code": "uri_too_long", "message": message}}))
                .into_response()
        } else {
            message.into_response()
        };
        *resp.status_mut() = axum::http::StatusCode::URI_TOO_LONG;
        return resp;
    }
    next.run(req).await
}

/// The app's page routes, listed once per process.
///
/// Why once: Leptos lists them by rendering the app with every resource load held back, and
/// it holds them back process-wide. A page rendered meanwhile on another thread, by a router
/// built earlier, kept a resource that never loaded and never answered
/// (leptos-rs/leptos#4773; the test suite, which builds a router per test, met it twice in
/// CI). Listed once, before the first router serves, they hold nothing back afterwards.
pub fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP application.
pub fn router(leptos_options: LeptosOptions, app_state: AppState) -> Router {
    let routes = route_list();
    let state = ServerState {
        leptos_options: leptos_options.clone(),
        app: app_state.clone(),
    };
    let context_state = app_state.clone();
    let guard_state = app_state.clone();
    Router::new()
        .merge(api::router())
        .route("/lang/{code}", axum::routing::get(set_language))
        .route(
            "/admin/sign-in",
            axum::routing::get(auth::sign_in_page).post(auth::sign_in_submit),
        )
        .route(
            "/admin/sign-out",
            axum::routing::post(auth::sign_out_submit),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            ServerState,
            _,
        >(move || provide_context(app_state.clone()), shell))
        .layer(axum::middleware::from_fn_with_state(
            guard_state,
            auth::guard,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(refuse_long_uris))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

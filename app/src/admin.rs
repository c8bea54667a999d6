//! Server functions of the admin pages, all under `/api/admin/`. The server's guard refuses
//! them without an administrator's session (401/403) before they run; each also checks for
//! itself, so none can answer without one.

use crate::types::{AdminOverview, RunEvents, RunInfo};
use leptos::prelude::*;

/// Where the admin server functions live (the guard covers everything under it).
pub const PREFIX: &str = "/api/admin";

#[cfg(feature = "ssr")]
struct Admin {
    state: crate::state::AppState,
    name: String,
    address: String,
}

/// The administrator making this request, as the guard attached them; 401 otherwise.
#[cfg(feature = "ssr")]
fn admin() -> Result<Admin, ServerFnError> {
    let request = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::auth::AdminRequest>().cloned());
    let state = use_context::<crate::state::AppState>();
    match (request, state) {
        (Some(r), Some(state)) if r.user.is_admin() => Ok(Admin {
            state,
            name: r.user.username,
            address: r.address,
        }),
        _ => {
            crate::pages::set_status(401);
            Err(ServerFnError::new("sign in as an administrator first"))
        }
    }
}

#[cfg(feature = "ssr")]
fn internal(e: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %e, "admin server function failed");
    ServerFnError::new("internal error; please try again")
}

#[cfg(feature = "ssr")]
fn refused(status: u16, message: impl Into<String>) -> ServerFnError {
    crate::pages::set_status(status);
    ServerFnError::new(message.into())
}

/// Everything the admin page shows: the running refresh, recent runs, providers, hidden
/// events and the audit log.
#[server(prefix = "/api/admin", endpoint = "overview")]
pub async fn load_admin_overview() -> Result<AdminOverview, ServerFnError> {
    use crate::store::{admin, moderation};
    let a = admin()?;
    let db = &a.state.db;
    Ok(AdminOverview {
        username: a.name,
        running: admin::running(db).await.map_err(internal)?,
        runs: admin::runs(db, 20, None).await.map_err(internal)?,
        providers: admin::providers(db, &a.state.refresh.providers)
            .await
            .map_err(internal)?,
        audit: admin::audit_log(db, 30).await.map_err(internal)?,
        hidden: moderation::hidden(db, 100).await.map_err(internal)?,
    })
}

/// Starts a refresh (`mode`: `incremental` or `full`) and answers its run id.
#[server(prefix = "/api/admin", endpoint = "start_refresh")]
pub async fn start_refresh(mode: String) -> Result<i32, ServerFnError> {
    use crate::ingest::diff::SyncMode;
    let a = admin()?;
    let sync = match mode.as_str() {
        "incremental" => SyncMode::Incremental,
        "full" => SyncMode::Full,
        _ => return Err(refused(400, "the mode must be incremental or full")),
    };
    match a.state.start_refresh(sync, &a.name).await {
        Ok(id) => {
            crate::store::admin::audit(
                &a.state.db,
                &a.name,
                "refresh_start",
                &format!("run {id}"),
                &format!("mode {mode}"),
                &a.address,
            )
            .await
            .map_err(internal)?;
            Ok(id)
        }
        Err(crate::ingest::RefreshError::AlreadyRunning) => Err(refused(
            409,
            "a refresh is already running; watch it below or cancel it first",
        )),
        Err(e) => Err(internal(e)),
    }
}

/// Asks a running refresh to stop (it stops at its next check, on whichever process runs it).
#[server(prefix = "/api/admin", endpoint = "cancel_refresh")]
pub async fn cancel_refresh(run_id: i32) -> Result<(), ServerFnError> {
    let a = admin()?;
    if !crate::ingest::request_cancel(&a.state.db, run_id)
        .await
        .map_err(internal)?
    {
        return Err(refused(409, format!("run {run_id} is not running")));
    }
    crate::store::admin::audit(
        &a.state.db,
        &a.name,
        "refresh_cancel",
        &format!("run {run_id}"),
        "",
        &a.address,
    )
    .await
    .map_err(internal)
}

/// One run and a page of its events in `class`.
#[server(prefix = "/api/admin", endpoint = "run")]
pub async fn admin_run(
    run_id: i32,
    class: String,
    page: u64,
) -> Result<(RunInfo, RunEvents), ServerFnError> {
    use crate::store::admin;
    let a = admin()?;
    let Some(run) = admin::run(&a.state.db, run_id).await.map_err(internal)? else {
        return Err(refused(404, format!("no run has the id {run_id}")));
    };
    let class = admin::class_by_name(&class).ok_or_else(|| {
        refused(
            400,
            "the class must be unchanged, changed, moved, new or gone",
        )
    })?;
    let events = admin::run_events(&a.state.db, run_id, class, page.clamp(1, 1_000_000))
        .await
        .map_err(internal)?;
    Ok((run, events))
}

/// Hides an event from travellers, with a reason; a later refresh keeps it hidden.
#[server(prefix = "/api/admin", endpoint = "hide_event")]
pub async fn hide_event(event_id: String, reason: String) -> Result<String, ServerFnError> {
    use crate::store::moderation::{self, ModerationError};
    let a = admin()?;
    let event_id = event_id.trim().to_string();
    if event_id.is_empty() || event_id.len() > 200 {
        return Err(refused(400, "give the id of an event"));
    }
    let title = match moderation::hide(&a.state.db, &event_id, &reason, &a.name, &a.address).await {
        Ok(t) => t,
        Err(ModerationError::Db(e)) => return Err(internal(e)),
        Err(e @ ModerationError::NoSuchEvent(_)) => return Err(refused(404, e.to_string())),
        Err(e) => return Err(refused(400, e.to_string())),
    };
    Ok(title)
}

/// Shows a hidden event to travellers again.
#[server(prefix = "/api/admin", endpoint = "show_event")]
pub async fn show_event(event_id: String) -> Result<String, ServerFnError> {
    use crate::store::moderation::{self, ModerationError};
    let a = admin()?;
    let title = match moderation::show(&a.state.db, &event_id, &a.name, &a.address).await {
        Ok(t) => t,
        Err(ModerationError::Db(e)) => return Err(internal(e)),
        Err(e) => return Err(refused(404, e.to_string())),
    };
    Ok(title)
}

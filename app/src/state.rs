//! What the server hands to every request: the store, the site settings, the refresh
//! configuration and the session rules.

use crate::auth::AuthSettings;
use crate::ingest::diff::SyncMode;
use crate::ingest::{RefreshConfig, RefreshError};
use crate::types::SiteInfo;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub site: SiteInfo,
    /// Set while a refresh started by this process runs.
    pub refreshing: Arc<AtomicBool>,
    /// What a refresh started from here uses (its mode is chosen per start); its providers
    /// also serve the lookups a traveller asks for (flights from another origin). Shared:
    /// the state is cloned for every request.
    pub refresh: Arc<RefreshConfig>,
    pub auth: AuthSettings,
    /// Map, list and trip answers kept between requests (`store::cache`).
    pub cache: crate::store::cache::ReadCache,
    /// Where refreshes started here run when not on the request runtime: at a lower CPU
    /// priority, on their own store connections (`serve` sets it up).
    pub background: Option<crate::ingest::Background>,
}

impl AppState {
    pub fn refresh_running(&self) -> bool {
        self.refreshing.load(Ordering::Relaxed)
    }

    /// Starts a refresh in the background and answers its run id; `AlreadyRunning` when
    /// any process sharing the store runs one. `by` is recorded as who started it.
    pub async fn start_refresh(&self, mode: SyncMode, by: &str) -> Result<i32, RefreshError> {
        let mut config = RefreshConfig::clone(&self.refresh);
        config.mode = mode;
        let started = match &self.background {
            Some(background) => background.start(&config, by).await?,
            None => crate::ingest::start(&self.db, &config, by).await?,
        };
        self.refreshing.store(true, Ordering::SeqCst);
        let flag = self.refreshing.clone();
        let run_id = started.run_id;
        tokio::spawn(async move {
            match started.finished.await {
                Ok(Ok(r)) => {
                    tracing::info!(run_id = r.run_id, status = %r.status, classes = ?r.classes, "refresh finished")
                }
                Ok(Err(e)) => {
                    tracing::error!(run_id, error = %e, "refresh stopped on a store error")
                }
                Err(e) => tracing::error!(run_id, error = %e, "refresh task failed"),
            }
            flag.store(false, Ordering::SeqCst);
        });
        Ok(run_id)
    }
}

//! What the server hands to every request: the store and the site settings.

use crate::providers::Providers;
use crate::types::SiteInfo;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub site: SiteInfo,
    /// Set while a refresh runs in this process.
    pub refreshing: Arc<AtomicBool>,
    /// The providers, for lookups a traveller asks for (flights from another origin).
    pub providers: Providers,
}

impl AppState {
    pub fn refresh_running(&self) -> bool {
        self.refreshing.load(Ordering::Relaxed)
    }
}

//! Schema migrations for the TourSherpa store. They run unchanged on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_refresh_safety;
mod m20261126_000003_trip_details;
mod m20261126_000004_dashboard_rollups;
mod m20261126_000005_admin;
mod m20261127_000006_derived_changes;
mod m20261127_000007_pending_enrichment_order;
mod m20261128_000008_change_lists;
mod m20261206_000009_redundant_event_indexes;
mod m20261207_000010_store_state;
mod m20261208_000011_derived_in_sql;
pub mod m20261208_000012_event_search;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_refresh_safety::Migration),
            Box::new(m20261126_000003_trip_details::Migration),
            Box::new(m20261126_000004_dashboard_rollups::Migration),
            Box::new(m20261126_000005_admin::Migration),
            Box::new(m20261127_000006_derived_changes::Migration),
            Box::new(m20261127_000007_pending_enrichment_order::Migration),
            Box::new(m20261128_000008_change_lists::Migration),
            Box::new(m20261206_000009_redundant_event_indexes::Migration),
            Box::new(m20261207_000010_store_state::Migration),
            Box::new(m20261208_000011_derived_in_sql::Migration),
            Box::new(m20261208_000012_event_search::Migration),
        ]
    }
}

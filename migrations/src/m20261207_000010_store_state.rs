//! Typed store state in place of the `meta` key/value table, and the end of the change
//! lists (`event_changes`, `event_change_sets`, `trip_data_changes`).
//!
//! `store_state` holds one row (id 1) with a column for each fact the store keeps about
//! itself: the events' generation, whether the map cells and the rollups match the events,
//! the longest impact pattern counted, a full recount asked for, the demo feed's generation
//! and the reference data's fingerprint. `trip_data_version` holds the version of places,
//! offers and events' airports in a row of its own: PostgreSQL locks a whole row for an
//! update, and the events' generation stays locked through a refresh's commit (seconds at a
//! million events), which the lookups that write places and offers must not wait for.
//! Cached trip bundles are keyed by both numbers. The values in `meta` are carried over, so a store moves forward with
//! `toursherpa migrate` losing nothing.
//!
//! The change lists let a server check a kept answer against what changed since; cached
//! answers are now keyed by the store's versions instead (`app::store::cache`), so the
//! lists go.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `meta` keys and the `store_state` columns they become, with the SQL type they are
/// read as.
const CARRIED: [(&str, StoreState, Carry); 7] = [
    (
        "derived_generation",
        StoreState::EventsGeneration,
        Carry::Number,
    ),
    (
        "derived_full_rebuild",
        StoreState::FullRecountAsked,
        Carry::Number,
    ),
    ("cluster_cells_valid", StoreState::CellsValid, Carry::Flag),
    ("stats_rollup_valid", StoreState::RollupsValid, Carry::Flag),
    (
        "stats_rollup_longest_pattern",
        StoreState::LongestPattern,
        Carry::Number,
    ),
    (
        "demo_feed_generation",
        StoreState::DemoGeneration,
        Carry::Number,
    ),
    (
        "reference_data_fingerprint",
        StoreState::ReferenceFingerprint,
        Carry::Text,
    ),
];

#[derive(Clone, Copy)]
enum Carry {
    Number,
    Flag,
    Text,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StoreState::Table)
                .if_not_exists()
                .col(integer(StoreState::Id).primary_key())
                .col(big_integer(StoreState::EventsGeneration).default(0))
                .col(big_integer_null(StoreState::FullRecountAsked))
                .col(boolean(StoreState::CellsValid).default(false))
                .col(boolean(StoreState::RollupsValid).default(false))
                .col(big_integer(StoreState::LongestPattern).default(0))
                .col(big_integer(StoreState::DemoGeneration).default(0))
                .col(text_null(StoreState::ReferenceFingerprint))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TripDataVersion::Table)
                .if_not_exists()
                .col(integer(TripDataVersion::Id).primary_key())
                .col(big_integer(TripDataVersion::Version).default(0))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared("INSERT INTO store_state (id) VALUES (1)")
            .await?;
        db.execute_unprepared("INSERT INTO trip_data_version (id) VALUES (1)")
            .await?;
        let has_meta = m.has_table("meta").await?;
        if has_meta {
            for (key, column, carry) in CARRIED {
                let value = r#"(SELECT "value" FROM meta WHERE "key" = '"#.to_string() + key + "')";
                let read = match carry {
                    Carry::Number => format!("CAST({value} AS BIGINT)"),
                    Carry::Flag => format!("({value} = '1')"),
                    Carry::Text => value,
                };
                let column = column.to_string();
                db.execute_unprepared(&format!(
                    r#"UPDATE store_state SET "{column}" = COALESCE({read}, "{column}") WHERE id = 1"#
                ))
                .await?;
            }
            m.drop_table(Table::drop().table(Meta::Table).to_owned())
                .await?;
        }
        for table in ["event_changes", "event_change_sets", "trip_data_changes"] {
            m.drop_table(
                Table::drop()
                    .table(Alias::new(table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Meta::Table)
                .if_not_exists()
                .col(string(Meta::Key).primary_key())
                .col(text(Meta::Value))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for (key, column, carry) in CARRIED {
            let column = column.to_string();
            let value = match carry {
                Carry::Number => format!(r#"CAST("{column}" AS TEXT)"#),
                Carry::Flag => format!(r#"CASE WHEN "{column}" THEN '1' ELSE '0' END"#),
                Carry::Text => format!(r#""{column}""#),
            };
            db.execute_unprepared(&format!(
                r#"INSERT INTO meta ("key", "value") SELECT '{key}', {value} FROM store_state WHERE id = 1 AND "{column}" IS NOT NULL"#
            ))
            .await?;
        }
        m.drop_table(Table::drop().table(StoreState::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(TripDataVersion::Table).to_owned())
            .await?;
        // The change lists come back empty: a server keeps no answer across a migration.
        super::m20261128_000008_change_lists::Migration.up(m).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum StoreState {
    Table,
    Id,
    EventsGeneration,
    FullRecountAsked,
    CellsValid,
    RollupsValid,
    LongestPattern,
    DemoGeneration,
    ReferenceFingerprint,
}

#[derive(DeriveIden)]
enum TripDataVersion {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
enum Meta {
    Table,
    Key,
    Value,
}

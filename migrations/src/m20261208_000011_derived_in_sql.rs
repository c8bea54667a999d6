//! Derived tables recomputed in SQL by the transaction that changes events
//! (`app::store::derive`), so nothing needs to remember what changed: the narrow copies
//! (`event_facts`, `event_fact_days`), the list of changed events (`derived_changes`) and
//! the flags that said whether the map cells and rollups were current go. `toursherpa
//! migrate` recomputes the derived tables once the schema is up to date.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables that only served keeping derived data by hand.
const DROPPED: [&str; 3] = ["event_facts", "event_fact_days", "derived_changes"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in DROPPED {
            m.drop_table(
                Table::drop()
                    .table(Alias::new(table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        // It found a cell's one event when the cells were updated by difference.
        m.drop_index(
            Index::drop()
                .name("idx_cluster_cells_single_id")
                .table(Alias::new("cluster_cells"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        for column in FLAGS {
            // One column a statement: SQLite alters one thing at a time.
            m.alter_table(
                Table::alter()
                    .table(StoreState::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    /// Back to the tables kept by hand, empty and marked stale: the earlier code recounts
    /// them in full on its next refresh.
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            big_integer_null(StoreState::FullRecountAsked),
            boolean(StoreState::CellsValid).default(false).to_owned(),
            boolean(StoreState::RollupsValid).default(false).to_owned(),
            big_integer(StoreState::LongestPattern)
                .default(0)
                .to_owned(),
        ];
        for column in columns {
            m.alter_table(
                Table::alter()
                    .table(StoreState::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                r#"UPDATE store_state SET "full_recount_asked" = "events_generation" WHERE id = 1"#,
            )
            .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("derived_changes"))
                .if_not_exists()
                .col(string(Alias::new("event_id")).primary_key())
                .col(big_integer(Alias::new("generation")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_cluster_cells_single_id")
                .table(Alias::new("cluster_cells"))
                .if_not_exists()
                .col(Alias::new("single_id"))
                .to_owned(),
        )
        .await?;
        // Creates what is missing of the dashboard tables: the narrow copies.
        super::m20261126_000004_dashboard_rollups::Migration
            .up(m)
            .await
    }
}

const FLAGS: [StoreState; 4] = [
    StoreState::FullRecountAsked,
    StoreState::CellsValid,
    StoreState::RollupsValid,
    StoreState::LongestPattern,
];

#[derive(DeriveIden, Clone, Copy)]
enum StoreState {
    Table,
    FullRecountAsked,
    CellsValid,
    RollupsValid,
    LongestPattern,
}

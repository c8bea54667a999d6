//! Derived tables kept by difference. `derived_changes` lists the events changed since the
//! derived tables were last brought up to date (written in the transaction that changes
//! them, with the generation of that change), so a refresh that changes 5% of a million
//! events updates the map cells and dashboard rollups for those 50,000 instead of
//! recounting all of them. `visitor_rollup.contributions` counts the (event, day) pairs
//! behind each row, so a row is dropped exactly when its last event leaves it. An index on
//! `cluster_cells.single_id` lets a renamed event's title follow it into the cells it is
//! alone in; one on `visitor_rollup` by day serves the visitors chart in day order.
//!
//! Rows written before this migration carry no contribution counts, so it marks the
//! derived tables stale: the next rebuild recounts them in full.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DerivedChanges::Table)
                .if_not_exists()
                .col(string(DerivedChanges::EventId).primary_key())
                .col(big_integer(DerivedChanges::Generation))
                .to_owned(),
        )
        .await?;
        // Finds the cells whose one event is a given event, to follow its new title.
        m.create_index(
            Index::create()
                .name("idx_cluster_cells_single_id")
                .table(ClusterCells::Table)
                .if_not_exists()
                .col(ClusterCells::SingleId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(VisitorRollup::Table)
                .add_column(big_integer(VisitorRollup::Contributions).default(0))
                .to_owned(),
        )
        .await?;
        // The visitors chart sums the rollup per day: read in day order from an index that
        // holds every column it needs, instead of the table and a sort.
        m.create_index(
            Index::create()
                .name("idx_visitor_rollup_day")
                .table(VisitorRollup::Table)
                .if_not_exists()
                .col(VisitorRollup::Day)
                .col(VisitorRollup::Category)
                .col(VisitorRollup::Country)
                .col(VisitorRollup::Visitors)
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table(Meta::Table)
                .value(Meta::Value, "0")
                .and_where(
                    Expr::col(Meta::Key).is_in(["cluster_cells_valid", "stats_rollup_valid"]),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_cluster_cells_single_id")
                .table(ClusterCells::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(DerivedChanges::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_visitor_rollup_day")
                .table(VisitorRollup::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(VisitorRollup::Table)
                .drop_column(VisitorRollup::Contributions)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum DerivedChanges {
    Table,
    EventId,
    Generation,
}

#[derive(DeriveIden)]
enum ClusterCells {
    Table,
    SingleId,
}

#[derive(DeriveIden)]
enum VisitorRollup {
    Table,
    Day,
    Category,
    Country,
    Visitors,
    Contributions,
}

#[derive(DeriveIden)]
enum Meta {
    Table,
    Key,
    Value,
}

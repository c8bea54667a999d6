//! Refresh safety: a lock row so that one refresh runs at a time across processes, and the
//! enrichment still owed (written with the events it belongs to, removed when done), so a
//! killed or budget-limited run is finished by the next one without repeating calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Locks::Table)
                .if_not_exists()
                .col(string(Locks::Name).primary_key())
                .col(string(Locks::Holder))
                .col(timestamp_with_time_zone(Locks::AcquiredAt))
                .col(timestamp_with_time_zone(Locks::HeartbeatAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PendingEnrichment::Table)
                .if_not_exists()
                .col(string(PendingEnrichment::EventId).primary_key())
                .col(small_integer(PendingEnrichment::Need))
                .col(integer(PendingEnrichment::RunId))
                .col(timestamp_with_time_zone(PendingEnrichment::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(PendingEnrichment::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Locks::Table).if_exists().to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Locks {
    Table,
    Name,
    Holder,
    AcquiredAt,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum PendingEnrichment {
    Table,
    EventId,
    Need,
    RunId,
    CreatedAt,
}

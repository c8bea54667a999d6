//! Owed enrichment is read oldest first, a chunk at a time: an index in that order lets a
//! run read only the chunks it works through (when the budgets stop it after one, the
//! rest of a million owed events is not read at all).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_pending_enrichment_order")
                .table(PendingEnrichment::Table)
                .if_not_exists()
                .col(PendingEnrichment::CreatedAt)
                .col(PendingEnrichment::EventId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_pending_enrichment_order")
                .table(PendingEnrichment::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum PendingEnrichment {
    Table,
    CreatedAt,
    EventId,
}

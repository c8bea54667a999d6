//! What each change touched, so a server keeps every answer that none of them reaches.
//!
//! `event_changes` holds, for a transaction that changed events with the derived tables up
//! to date, each changed event's narrow copy before and after (as JSON; none when it was
//! not active), under the events' generation it took; `event_change_sets` names each
//! generation listed in full. A generation not named there (a first load, a large change)
//! reaches every kept map and list answer.
//!
//! `trip_data_changes` holds what each write of places or flight offers touched, so a
//! server keeps every trip bundle that none of them reaches. Each writing transaction takes the next number of the
//! `trip_data_seq` counter in `meta` (its row locked until the commit, so numbers commit in
//! order) and lists here, under that number, the area its places lie in (old and new
//! positions) or the route of its offers; a row with neither reaches every bundle.
//! Rows older than a day are dropped; `event_changes_pruned_upto` and
//! `trip_data_pruned_upto` in `meta` then say up to which number, so a server that had not
//! read them yet lets its kept answers go.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventChangeSets::Table)
                .if_not_exists()
                .col(big_integer(EventChangeSets::Generation).primary_key())
                .col(integer(EventChangeSets::Events))
                .col(timestamp_with_time_zone(EventChangeSets::RecordedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EventChanges::Table)
                .if_not_exists()
                .col(pk_auto(EventChanges::Id))
                .col(big_integer(EventChanges::Generation))
                .col(string(EventChanges::EventId))
                .col(text_null(EventChanges::Before))
                .col(text_null(EventChanges::After))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_event_changes_generation")
                .table(EventChanges::Table)
                .if_not_exists()
                .col(EventChanges::Generation)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TripDataChanges::Table)
                .if_not_exists()
                .col(pk_auto(TripDataChanges::Id))
                .col(big_integer(TripDataChanges::Seq))
                .col(double_null(TripDataChanges::MinLat))
                .col(double_null(TripDataChanges::MinLon))
                .col(double_null(TripDataChanges::MaxLat))
                .col(double_null(TripDataChanges::MaxLon))
                .col(string_null(TripDataChanges::Origin))
                .col(string_null(TripDataChanges::Destination))
                .col(timestamp_with_time_zone(TripDataChanges::RecordedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_trip_data_changes_seq")
                .table(TripDataChanges::Table)
                .if_not_exists()
                .col(TripDataChanges::Seq)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TripDataChanges::Table.into_iden(),
            EventChanges::Table.into_iden(),
            EventChangeSets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum TripDataChanges {
    Table,
    Id,
    Seq,
    MinLat,
    MinLon,
    MaxLat,
    MaxLon,
    Origin,
    Destination,
    RecordedAt,
}

#[derive(DeriveIden)]
enum EventChangeSets {
    Table,
    Generation,
    Events,
    RecordedAt,
}

#[derive(DeriveIden)]
enum EventChanges {
    Table,
    Id,
    Generation,
    EventId,
    Before,
    After,
}

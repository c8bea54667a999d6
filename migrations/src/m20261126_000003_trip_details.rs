//! Trip details and map speed. Events gain their region (state, province), the exact start and end instants (UTC, RFC
//! 3339) when the provider gives times, the provider's day-by-day demand pattern around the
//! event, and its predicted spend per industry (all optional: older rows and providers
//! without these fields keep working). `cluster_cells` keeps the active events counted per
//! grid cell, zoom level and category, so the world map does not count a million rows per
//! request; indexes serve the map's edge strips and combined filters.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one column at a time.
        for col in [
            string_null(Events::StartsAt),
            string_null(Events::EndsAt),
            text_null(Events::Impact),
            text_null(Events::SpendIndustries),
            string_null(Events::Region),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(ClusterCells::Table)
                .if_not_exists()
                .col(small_integer(ClusterCells::Level))
                .col(string(ClusterCells::Category))
                .col(integer(ClusterCells::Gy))
                .col(integer(ClusterCells::Gx))
                .col(big_integer(ClusterCells::N))
                .col(double(ClusterCells::SumLat))
                .col(double(ClusterCells::SumLon))
                .col(string_null(ClusterCells::SingleId))
                .col(string_null(ClusterCells::SingleTitle))
                .primary_key(
                    Index::create()
                        .col(ClusterCells::Level)
                        .col(ClusterCells::Gy)
                        .col(ClusterCells::Gx)
                        .col(ClusterCells::Category),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_events_lon_lat", vec![Events::Lon, Events::Lat]),
            (
                "idx_events_state_country_category_rank",
                vec![
                    Events::State,
                    Events::Country,
                    Events::Category,
                    Events::Rank,
                ],
            ),
            (
                "idx_events_state_category_rank",
                vec![Events::State, Events::Category, Events::Rank],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Events::Table).if_not_exists();
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(ClusterCells::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        for name in [
            "idx_events_lon_lat",
            "idx_events_state_country_category_rank",
            "idx_events_state_category_rank",
        ] {
            m.drop_index(Index::drop().name(name).table(Events::Table).to_owned())
                .await?;
        }
        for col in [
            Events::StartsAt,
            Events::EndsAt,
            Events::Impact,
            Events::SpendIndustries,
            Events::Region,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Lat,
    Lon,
    State,
    Country,
    Category,
    Rank,
    StartsAt,
    EndsAt,
    Impact,
    SpendIndustries,
    Region,
}

#[derive(DeriveIden)]
enum ClusterCells {
    Table,
    Level,
    Category,
    Gy,
    Gx,
    N,
    SumLat,
    SumLon,
    SingleId,
    SingleTitle,
}

//! Four indexes of the events table that others already serve. Every public query filters
//! `state = 'active'`, and a wider index leading with the same columns answers it:
//! - `(state, rank)` and `(state, start_date)` are the leading columns of the cards'
//!   `(state, rank DESC, id)` and `(state, start_date, id)`;
//! - `(country)` and `(category)` alone are served, with the state, by
//!   `(state, country, category, rank)` and `(state, category, rank)`.
//!
//! Each index costs a sort of every row when a first load builds it, and an entry to move
//! for every changed event in every refresh.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes dropped, with the columns `down` creates them on again.
const DROPPED: [(&str, &[Events]); 4] = [
    ("idx_events_state_rank", &[Events::State, Events::Rank]),
    (
        "idx_events_state_start",
        &[Events::State, Events::StartDate],
    ),
    ("idx_events_country", &[Events::Country]),
    ("idx_events_category", &[Events::Category]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in DROPPED {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(Events::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in DROPPED {
            let mut index = Index::create();
            index.name(name).table(Events::Table).if_not_exists();
            for &col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    State,
    Rank,
    StartDate,
    Country,
    Category,
}

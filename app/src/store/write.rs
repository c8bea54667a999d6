//! The one way to change what travellers see: events, and what enrichment found for them
//! (places, flight offers, events' airports). A [`Write`] is a transaction; its
//! [`Write::commit`] recomputes the derived tables when events changed (`store::derive`)
//! and moves on the versions cached answers are keyed by (`store::state`), in the same
//! transaction. A writer cannot forget either: there is no other way to commit.

use super::{derive, state};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

/// What a [`Write`] changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Changes {
    Events,
    TripData,
}

/// A transaction that writes events or enrichment results.
pub struct Write {
    txn: DatabaseTransaction,
    changes: Changes,
    derived: bool,
}

impl Write {
    /// A write that changes events (and may write enrichment results too).
    ///
    /// It moves the events' generation on first: that row stays locked until the commit
    /// (PostgreSQL), so writers of events take turns and each recomputes the derived
    /// tables over every event committed before it; on SQLite, writing first takes the
    /// write lock now rather than failing later, after reads, when another writer was
    /// first.
    pub async fn events(db: &DatabaseConnection) -> Result<Write, DbErr> {
        let txn = db.begin().await?;
        state::next_events_generation(&txn).await?;
        Ok(Write {
            txn,
            changes: Changes::Events,
            derived: false,
        })
    }

    /// A write of enrichment results only: places, flight offers, events' airports.
    pub async fn trip_data(db: &DatabaseConnection) -> Result<Write, DbErr> {
        Ok(Write {
            txn: db.begin().await?,
            changes: Changes::TripData,
            derived: false,
        })
    }

    /// The transaction, for the writes themselves.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Recomputes the derived tables now, when events changed (a refresh reports it as a
    /// stage of its own); otherwise [`Write::commit`] does.
    pub async fn derive(&mut self) -> Result<(), DbErr> {
        if self.changes == Changes::Events && !self.derived {
            derive::recompute(&self.txn).await?;
            self.derived = true;
        }
        Ok(())
    }

    /// Brings the derived tables and the trip data's version up to date, and commits.
    pub async fn commit(mut self) -> Result<(), DbErr> {
        self.derive().await?;
        // Last: the version's row stays locked until the commit (PostgreSQL).
        state::trip_data_written(&self.txn).await?;
        self.txn.commit().await
    }
}

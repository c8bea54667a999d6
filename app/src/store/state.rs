//! What the store keeps about itself, typed: one row of `store_state` with a column per
//! fact, read and written only here.
//!
//! Two of its numbers are versions that cached answers are keyed by (`store::cache`):
//! - `events_generation` moves on in every transaction that changes events
//!   ([`next_events_generation`], called by `store::write` for every writer of events);
//! - the trip data's version moves on in every transaction that writes places, flight
//!   offers or events' airports ([`trip_data_written`]). It has a table of its own
//!   (`trip_data_version`): PostgreSQL locks a whole row for an update, and the events'
//!   generation stays locked through a refresh's commit, which the lookups that write
//!   places and offers must not wait for.
//!
//! Each is moved on by an `UPDATE` of its row, which stays locked until the transaction
//! ends (on PostgreSQL; SQLite has one writer at a time): two writers get different
//! numbers, and a reader sees the new number only with the data it stands for.

use super::entities::store_state::{self, Column};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Statement};

pub use store_state::Model as StoreState;

const ROW: i32 = 1;

/// The store's state as it stands.
pub async fn get<C: ConnectionTrait>(db: &C) -> Result<StoreState, DbErr> {
    store_state::Entity::find_by_id(ROW)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("store_state: run `toursherpa migrate`".into()))
}

async fn set<C: ConnectionTrait>(db: &C, column: Column, value: SimpleExpr) -> Result<(), DbErr> {
    store_state::Entity::update_many()
        .col_expr(column, value)
        .filter(Column::Id.eq(ROW))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds one to a counter column of a one-row table and answers its new value.
async fn increment<C: ConnectionTrait>(db: &C, table: &str, column: &str) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                r#"UPDATE "{table}" SET "{column}" = "{column}" + 1 WHERE id = {ROW} RETURNING "{column}""#
            ),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("{table}: run `toursherpa migrate`")))?;
    row.try_get_by_index(0)
}

/// Moves the events' generation on and answers it; call it in the transaction that
/// changes events.
pub(crate) async fn next_events_generation<C: ConnectionTrait>(txn: &C) -> Result<i64, DbErr> {
    increment(txn, "store_state", "events_generation").await
}

/// Moves the trip data's version on; call it last in the transaction that writes places,
/// flight offers or events' airports (last: its row lock is then held only until the
/// commit, after the rows the transaction writes, so two such writers cannot deadlock).
pub async fn trip_data_written<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    increment(txn, "trip_data_version", "version")
        .await
        .map(|_| ())
}

/// Records the demo feed's generation.
pub async fn set_demo_generation<C: ConnectionTrait>(db: &C, generation: i64) -> Result<(), DbErr> {
    set(db, Column::DemoGeneration, Expr::value(generation)).await
}

/// Records the fingerprint of the reference data loaded.
pub(crate) async fn set_reference_fingerprint<C: ConnectionTrait>(
    db: &C,
    fingerprint: &str,
) -> Result<(), DbErr> {
    set(
        db,
        Column::ReferenceFingerprint,
        Expr::value(fingerprint.to_string()),
    )
    .await
}

//! The tables derived from the events (the map's `cluster_cells`, the dashboard's rollups
//! and narrow copies): kept up to date by the transaction that changes events when they
//! were up to date before it, otherwise marked stale there and brought up to date
//! afterwards by one rebuilder at a time across every process sharing the store.
//!
//! The derived tables are updated by difference: each changed event's old narrow copy is
//! taken out of the counts and its row now put in. A refresh that changes 5% of a million
//! events then touches those 50,000, not the million. When the tables are up to date, the
//! transaction that changes events does this itself ([`events_changed_and_counted`]), so
//! readers never see them stale; otherwise it lists the events in `derived_changes` for the
//! rebuilder. The tables are recounted in full when they are empty, when most events
//! changed, or when a change did not say which events it touched.
//!
//! Events change under a refresh and under moderation, which may overlap. A catch-up that
//! read the events before a change must not mark the tables valid after it, so each change
//! bumps a generation and tags its listed events with it; the rebuilder takes the changes
//! up to the generation it started from, and goes round again until no change came in
//! meanwhile, and looks once more after letting go of its lock (a change whose own rebuild
//! found the lock taken is then not left behind).

use super::entities::{derived_change, event, event_fact};
use super::events::ACTIVE;
use super::lock::{RefreshLock, DERIVED};
use super::{cells, rollup, state};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::BTreeSet;

/// Changed events brought up to date in one transaction.
const CATCH_UP_BATCH: u64 = 50_000;
/// Past this share of the counted events changed, recounting is quicker than differences.
const FULL_SHARE: f64 = 0.25;

/// How the derived tables were brought up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rebuilt {
    /// Recounted from all the events.
    Full,
    /// Updated for this many changed events.
    Changes(usize),
}

/// Moves the events' generation on, its row locked until the transaction ends (on
/// PostgreSQL; SQLite has one writer at a time anyway): two transactions that change events
/// at once get different generations, and the second waits here for the first.
async fn next_generation<C: ConnectionTrait>(txn: &C) -> Result<i64, DbErr> {
    state::next_events_generation(txn).await
}

/// The events' generation as a number.
pub(crate) async fn current<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(state::get(db).await?.events_generation)
}

/// Marks the derived tables stale for these events; call it in the transaction that
/// changes them.
pub async fn events_changed<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), DbErr> {
    // One statement may not write a row twice (PostgreSQL refuses it).
    let ids: BTreeSet<String> = ids.into_iter().collect();
    let generation = next_generation(db).await?;
    let most = most_changed(db, ids.len()).await?;
    mark_stale(db, ids, generation, most).await
}

/// Whether `changed` events are past the share of the counted events where the catch-up
/// recounts in full anyway.
async fn most_changed<C: ConnectionTrait>(db: &C, changed: usize) -> Result<bool, DbErr> {
    if changed <= 10_000 {
        return Ok(false);
    }
    let counted = event_fact::Entity::find().count(db).await?;
    Ok(changed as f64 > FULL_SHARE * counted as f64)
}

/// Marks the derived tables stale at `generation` (already taken by this transaction):
/// for a recount when `most` events changed (the list, a million rows on a first load,
/// would be written only to be deleted), else listing the events for the rebuilder.
async fn mark_stale<C: ConnectionTrait>(
    db: &C,
    ids: BTreeSet<String>,
    generation: i64,
    most: bool,
) -> Result<(), DbErr> {
    cells::invalidate(db).await?;
    rollup::invalidate(db).await?;
    if most {
        return state::set_full_recount_asked(db, Some(generation)).await;
    }
    let ids: Vec<String> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        derived_change::Entity::insert_many(chunk.iter().map(|id| derived_change::ActiveModel {
            event_id: Set(id.clone()),
            generation: Set(generation),
        }))
        .on_conflict(
            OnConflict::column(derived_change::Column::EventId)
                .update_column(derived_change::Column::Generation)
                .to_owned(),
        )
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Like [`events_changed`], but when the derived tables are up to date and the change is
/// small, counts it into them in this same transaction instead of listing it for the
/// rebuilder: readers then go from one consistent state to the next and never count live
/// meanwhile (during a refresh's catch-up the map's world view counted every event live,
/// for half the refresh). Call it in the transaction that changes events, after the
/// changes.
pub async fn events_changed_and_counted<C: ConnectionTrait>(
    txn: &C,
    ids: impl IntoIterator<Item = String>,
) -> Result<(), DbErr> {
    let ids: BTreeSet<String> = ids.into_iter().collect();
    // The generation first: its lock orders this transaction after any other that changes
    // events, so the flags read next are not about to change.
    let generation = next_generation(txn).await?;
    let s = state::get(txn).await?;
    let up_to_date = s.cells_valid && s.rollups_valid;
    let most = most_changed(txn, ids.len()).await?;
    if !up_to_date || most {
        return mark_stale(txn, ids, generation, most).await;
    }
    let ids: Vec<String> = ids.into_iter().collect();
    let started = std::time::Instant::now();
    let (read, counted_cells) = count_changes(txn, &ids).await?;
    let counted_rollups = std::time::Instant::now();
    rollup::drop_empty_rows(txn).await?;
    let dropped = std::time::Instant::now();
    cells::settle(txn).await?;
    tracing::info!(
        events = ids.len(),
        read = (read - started).as_secs_f64(),
        cells = (counted_cells - read).as_secs_f64(),
        rollups = (counted_rollups - counted_cells).as_secs_f64(),
        empty_rows = (dropped - counted_rollups).as_secs_f64(),
        settle = dropped.elapsed().as_secs_f64(),
        "derived tables counted in the commit"
    );
    Ok(())
}

/// Marks the derived tables stale as a whole (for changes that do not list their events);
/// call it in the transaction that changes events.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let generation = next_generation(db).await?;
    mark_stale(db, BTreeSet::new(), generation, true).await
}

async fn stale(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let s = state::get(db).await?;
    Ok(!s.cells_valid || !s.rollups_valid)
}

/// Brings whatever is stale up to date, unless another rebuilder is at it (it will see
/// this change). Says how, when it did.
pub async fn rebuild_if_stale(db: &DatabaseConnection) -> Result<Option<Rebuilt>, DbErr> {
    let mut done = None;
    while stale(db).await? {
        let Some(lock) = RefreshLock::acquire_named(db, DERIVED).await? else {
            return Ok(done);
        };
        let result = catch_up(db).await;
        if let Err(e) = lock.release(db).await {
            tracing::warn!(error = %e, "could not release the rebuild lock; it expires by itself");
        }
        done = Some(merge(done, result?));
    }
    Ok(done)
}

fn merge(a: Option<Rebuilt>, b: Rebuilt) -> Rebuilt {
    match (a, b) {
        (Some(Rebuilt::Full), _) | (_, Rebuilt::Full) => Rebuilt::Full,
        (Some(Rebuilt::Changes(x)), Rebuilt::Changes(y)) => Rebuilt::Changes(x + y),
        (None, b) => b,
    }
}

async fn catch_up(db: &DatabaseConnection) -> Result<Rebuilt, DbErr> {
    let mut done = None;
    loop {
        let upto = current(db).await?;
        let this = if needs_full(db, upto).await? {
            rebuild_all(db).await?;
            forget_changes(db, upto).await?;
            Rebuilt::Full
        } else {
            let n = apply_changes(db, upto).await?;
            if !finish(db, upto).await? {
                done = Some(merge(done, Rebuilt::Changes(n)));
                continue;
            }
            Rebuilt::Changes(n)
        };
        done = Some(merge(done, this));
        if current(db).await? == upto {
            return Ok(done.unwrap_or(this));
        }
        // Events changed while we read them: what we just marked valid may not be.
        cells::invalidate(db).await?;
        rollup::invalidate(db).await?;
    }
}

/// Recounts the derived tables from all the events, then refreshes the planner's
/// statistics of them all.
///
/// The map cells are counted on another task while SQLite indexes the rollups' narrow
/// copies: that indexing keeps one core busy and the other idle for seconds, and counting
/// the cells is reading and arithmetic. Counted earlier, alongside the copies, they only
/// slowed the copies down (both halves use both cores). The cells are written once the
/// rollups' transaction is done: SQLite has one writer.
pub async fn rebuild_all(db: &DatabaseConnection) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    let (copies_written, indexing) = tokio::sync::oneshot::channel();
    let counting = {
        let db = db.clone();
        tokio::spawn(async move {
            // Sent as the indexing starts, or dropped if the rollups fail first: either
            // way the count goes ahead (its result is not used after a failure).
            let _ = indexing.await;
            let began = started.elapsed();
            let counted = cells::count_all(&db).await;
            (counted, began, started.elapsed())
        })
    };
    let rolled_up = rollup::rebuild_signalling(db, Some(copies_written)).await;
    let rollups = started.elapsed();
    // Awaited however the rollups ended: the count is not left reading on its own.
    let (counted, count_began, counted_at) = counting
        .await
        .map_err(|e| DbErr::Custom(format!("counting the map cells stopped: {e}")))?;
    rolled_up?;
    cells::write_counted(db, counted?).await?;
    let cells_written = started.elapsed();
    cells::analyze(db).await?;
    tracing::info!(
        rollups = rollups.as_secs_f64(),
        cells_count = (counted_at.saturating_sub(count_began)).as_secs_f64(),
        cells_waited = (counted_at.saturating_sub(rollups)).as_secs_f64(),
        cells_write = (cells_written.saturating_sub(rollups.max(counted_at))).as_secs_f64(),
        analyze = started
            .elapsed()
            .saturating_sub(cells_written)
            .as_secs_f64(),
        "derived tables recounted"
    );
    Ok(())
}

async fn pending<C: ConnectionTrait>(db: &C, upto: i64) -> Result<u64, DbErr> {
    derived_change::Entity::find()
        .filter(derived_change::Column::Generation.lte(upto))
        .count(db)
        .await
}

/// Whether recounting beats updating: asked for, nothing counted yet, nothing listed
/// (stale for a reason no change recorded), or most events changed.
async fn needs_full(db: &DatabaseConnection, upto: i64) -> Result<bool, DbErr> {
    if state::get(db).await?.full_recount_asked.is_some() {
        return Ok(true);
    }
    let changed = pending(db, upto).await?;
    if changed == 0 {
        return Ok(true);
    }
    let counted = event_fact::Entity::find().count(db).await?;
    Ok(counted == 0 || changed as f64 > FULL_SHARE * counted as f64)
}

/// After a full recount that started at generation `upto`: the changes it covered are done.
pub(crate) async fn forget_changes(db: &DatabaseConnection, upto: i64) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    derived_change::Entity::delete_many()
        .filter(derived_change::Column::Generation.lte(upto))
        .exec(&txn)
        .await?;
    let asked = state::get(&txn).await?.full_recount_asked;
    if asked.is_some_and(|g| g <= upto) {
        state::set_full_recount_asked(&txn, None).await?;
    }
    txn.commit().await
}

/// Updates the derived tables for the events changed up to generation `upto`, a batch a
/// transaction: each batch takes its events out of `derived_changes` as it counts them,
/// so an interrupted catch-up resumes where it stopped. Returns the events updated.
async fn apply_changes(db: &DatabaseConnection, upto: i64) -> Result<usize, DbErr> {
    let mut after = String::new();
    let mut total = 0;
    // Where the time goes, for the log: reading, the cells, the rollups, the commits.
    let mut spent = [std::time::Duration::ZERO; 4];
    loop {
        let ids: Vec<String> = derived_change::Entity::find()
            .select_only()
            .column(derived_change::Column::EventId)
            .filter(derived_change::Column::Generation.lte(upto))
            .filter(derived_change::Column::EventId.gt(after.clone()))
            .order_by_asc(derived_change::Column::EventId)
            .limit(CATCH_UP_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = ids.last() else { break };
        after = last.clone();
        let txn = db.begin().await?;
        let (started, read, counted_cells, counted_rollups) = super::bulk_write(&txn, async {
            // The write comes first: on SQLite a transaction that reads and then writes
            // fails if another writer committed in between, where one that writes first
            // waits.
            for chunk in ids.chunks(500) {
                derived_change::Entity::delete_many()
                    .filter(derived_change::Column::EventId.is_in(chunk.to_vec()))
                    .filter(derived_change::Column::Generation.lte(upto))
                    .exec(&txn)
                    .await?;
            }
            let started = std::time::Instant::now();
            let (read, counted_cells) = count_changes(&txn, &ids).await?;
            Ok((started, read, counted_cells, std::time::Instant::now()))
        })
        .await?;
        txn.commit().await?;
        spent[0] += read - started;
        spent[1] += counted_cells - read;
        spent[2] += counted_rollups - counted_cells;
        spent[3] += counted_rollups.elapsed();
        total += ids.len();
    }
    let [read, cells, rollups, commits] = spent.map(|d| d.as_secs_f64());
    tracing::info!(
        events = total,
        read,
        cells,
        rollups,
        commits,
        "derived tables updated by difference"
    );
    Ok(total)
}

/// Takes each listed event's old narrow copy out of the map cells and rollups and counts
/// its row now in, in `txn`. Returns when the reads and the cells were done (for the log).
async fn count_changes<C: ConnectionTrait>(
    txn: &C,
    ids: &[String],
) -> Result<(std::time::Instant, std::time::Instant), DbErr> {
    let mut before = Vec::with_capacity(ids.len());
    let mut now = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        before.extend(
            event_fact::Entity::find()
                .filter(event_fact::Column::Id.is_in(chunk.to_vec()))
                .all(txn)
                .await?,
        );
        now.extend(
            event::Entity::find()
                .filter(event::Column::Id.is_in(chunk.to_vec()))
                .filter(event::Column::State.eq(ACTIVE))
                .into_partial_model::<rollup::FactSource>()
                .all(txn)
                .await?,
        );
    }
    let read = std::time::Instant::now();
    cells::apply_changes(txn, &before, &now).await?;
    let counted_cells = std::time::Instant::now();
    rollup::apply_changes(txn, ids, &before, &now).await?;
    Ok((read, counted_cells))
}

/// Drops emptied rows and names single events, and marks the tables valid if no change
/// came in meanwhile (then the caller goes round again). Says whether it marked them.
async fn finish(db: &DatabaseConnection, upto: i64) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    // Writes first: on SQLite the transaction then holds the write lock, so the generation
    // read below cannot change before the commit.
    rollup::drop_empty_rows(&txn).await?;
    cells::settle(&txn).await?;
    let settled = current(&txn).await? == upto && pending(&txn, upto).await? == 0;
    if settled {
        cells::mark_valid(&txn).await?;
        rollup::mark_valid(&txn).await?;
    }
    txn.commit().await?;
    Ok(settled)
}

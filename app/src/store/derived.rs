//! The tables derived from the events (the map's `cluster_cells`, the dashboard's rollups
//! and narrow copies): marked stale in the transaction that changes events, and rebuilt
//! afterwards by one rebuilder at a time across every process sharing the store.
//!
//! Events change under a refresh and under moderation, which may overlap. A rebuild that
//! read the events before a change must not mark the tables valid after it, so each change
//! bumps a generation; the rebuilder goes round again until no change came in meanwhile,
//! and looks once more after letting go of its lock (a change whose own rebuild found the
//! lock taken is then not left behind).

use super::{cells, get_meta, rollup, set_meta};
use crate::ingest::lock::{RefreshLock, DERIVED};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

const GENERATION_KEY: &str = "derived_generation";

/// Marks the derived tables stale; call it in the transaction that changes events.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let generation: u64 = get_meta(db, GENERATION_KEY)
        .await?
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    set_meta(db, GENERATION_KEY, &(generation + 1).to_string()).await?;
    cells::invalidate(db).await?;
    rollup::invalidate(db).await
}

/// The events' generation: it changes in every transaction that changes events.
pub async fn generation<C: ConnectionTrait>(db: &C) -> Result<Option<String>, DbErr> {
    get_meta(db, GENERATION_KEY).await
}

async fn stale(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(get_meta(db, cells::VALID_KEY).await?.as_deref() != Some("1") || !rollup::valid(db).await?)
}

/// Rebuilds whatever is stale, unless another rebuilder is at it (it will see this change).
pub async fn rebuild_if_stale(db: &DatabaseConnection) -> Result<(), DbErr> {
    while stale(db).await? {
        let Some(lock) = RefreshLock::acquire_named(db, DERIVED).await? else {
            return Ok(());
        };
        let result = rebuild_until_settled(db).await;
        if let Err(e) = lock.release(db).await {
            tracing::warn!(error = %e, "could not release the rebuild lock; it expires by itself");
        }
        result?;
    }
    Ok(())
}

async fn rebuild_until_settled(db: &DatabaseConnection) -> Result<(), DbErr> {
    loop {
        let before = get_meta(db, GENERATION_KEY).await?;
        cells::rebuild_if_stale(db).await?;
        rollup::rebuild_if_stale(db).await?;
        if get_meta(db, GENERATION_KEY).await? == before {
            return Ok(());
        }
        // Events changed while we read them: what we just marked valid may not be.
        cells::invalidate(db).await?;
        rollup::invalidate(db).await?;
    }
}

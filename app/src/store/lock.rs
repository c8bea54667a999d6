//! One refresh at a time across every process sharing the store: a row in `locks`, taken
//! by insert, kept alive by a heartbeat, and taken over only when its holder has gone
//! silent (a killed process) for longer than [`STALE_AFTER_SECS`].

use super::entities::lock;
use chrono::{Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

const NAME: &str = "refresh";
/// A holder that has not beaten for this long is taken to be dead.
pub const STALE_AFTER_SECS: i64 = 300;

pub struct RefreshLock {
    holder: String,
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// `host:pid:nonce`, so a holder on this machine can be checked for life.
fn new_holder() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}:{}:{nanos:x}", host(), std::process::id())
}

/// True when `holder` names a process on this machine that no longer exists.
fn holder_is_dead_here(holder: &str) -> bool {
    let mut parts = holder.split(':');
    let (Some(h), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    h == host()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

impl RefreshLock {
    /// Takes the refresh lock, or answers `None` while someone else holds it.
    pub async fn acquire(db: &DatabaseConnection) -> Result<Option<RefreshLock>, DbErr> {
        let holder = new_holder();
        let now = Utc::now();
        let inserted = lock::Entity::insert(lock::ActiveModel {
            name: Set(NAME.into()),
            holder: Set(holder.clone()),
            acquired_at: Set(now),
            heartbeat_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(lock::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Some(RefreshLock { holder }));
        }
        // Take over a lock whose holder died: a process of this machine that no longer
        // exists, or any holder that stopped beating. One conditional UPDATE decides.
        let Some(current) = lock::Entity::find_by_id(NAME.to_string()).one(db).await? else {
            return Box::pin(Self::acquire(db)).await;
        };
        let stale = now - Duration::seconds(STALE_AFTER_SECS);
        if current.heartbeat_at >= stale && !holder_is_dead_here(&current.holder) {
            return Ok(None);
        }
        let taken = lock::Entity::update_many()
            .col_expr(lock::Column::Holder, Expr::value(holder.clone()))
            .col_expr(lock::Column::AcquiredAt, Expr::value(now))
            .col_expr(lock::Column::HeartbeatAt, Expr::value(now))
            .filter(lock::Column::Name.eq(NAME))
            .filter(lock::Column::Holder.eq(current.holder.clone()))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            tracing::warn!(previous = %current.holder, "took over the refresh lock of a stopped process");
        }
        Ok((taken.rows_affected == 1).then_some(RefreshLock { holder }))
    }

    /// Tells other processes the holder is alive.
    pub async fn heartbeat(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        lock::Entity::update_many()
            .col_expr(lock::Column::HeartbeatAt, Expr::value(Utc::now()))
            .filter(lock::Column::Name.eq(NAME))
            .filter(lock::Column::Holder.eq(self.holder.clone()))
            .exec(db)
            .await?;
        Ok(())
    }

    pub async fn release(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        lock::Entity::delete_many()
            .filter(lock::Column::Name.eq(NAME))
            .filter(lock::Column::Holder.eq(self.holder.clone()))
            .exec(db)
            .await?;
        Ok(())
    }
}

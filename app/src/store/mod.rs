//! The store: one sea-orm connection that works the same on SQLite and PostgreSQL,
//! the queries that pages and the JSON API share, and the bundled reference data.

pub mod admin;
pub mod cache;
pub mod cells;
pub mod derive;
pub mod entities;
pub mod events;
pub mod lock;
pub mod moderation;
pub mod pages;
pub mod reference;
pub mod state;
pub mod stats;
pub mod trip;
pub mod usage;
pub mod write;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

pub use sea_orm::DatabaseConnection as Db;

/// The default store: SQLite under `data/`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/toursherpa.db?mode=rwc";

/// A statement that takes this long is logged.
const SLOW_QUERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Opens the store named by `url`, creating the folder of a SQLite file when needed.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbErr::Custom(format!("cannot create folder {}: {e}", dir.display()))
                })?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(4);
        // On every connection of the pool: a 16 MiB page cache (the default 2 MiB made a
        // refresh's index writes on a large store go to the file system page by page),
        // and WAL's usual durability setting.
        // SQLite's automatic checkpoint is off: see [`spawn_checkpointer`].
        options.map_sqlx_sqlite_opts(|o| {
            o.pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                .pragma("synchronous", "NORMAL")
                .pragma("wal_autocheckpoint", "0")
        });
    } else {
        options.max_connections(16);
    }
    let mut db = Database::connect(options).await?;
    // Slow statements are named in the log (the SQL only: bound values may be what a
    // visitor typed).
    db.set_metric_callback(|info| {
        if info.elapsed >= SLOW_QUERY {
            tracing::warn!(
                millis = info.elapsed.as_millis() as u64,
                sql = %info.statement.sql,
                "slow query"
            );
        }
    });
    if url.starts_with("sqlite:") && !url.contains(":memory:") {
        // WAL lets readers keep reading the previous state while a refresh writes.
        switch_to_wal(&db).await?;
        db.execute_unprepared("PRAGMA synchronous=NORMAL").await?;
        spawn_checkpointer(url).await?;
    }
    Ok(db)
}

/// Puts a SQLite store in WAL mode (it stays so). Processes opening a new store at once
/// race to switch it, and SQLite can refuse a switch at once, without waiting out its busy
/// timeout, while another connection holds the file ("database is locked"): the loser
/// tries again, then finds the store switched.
async fn switch_to_wal(db: &DatabaseConnection) -> Result<(), DbErr> {
    let mut attempt = 0u64;
    loop {
        match db.execute_unprepared("PRAGMA journal_mode=WAL").await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 10 && e.to_string().contains("database is locked") => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "switching the store to WAL; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How often a SQLite store's checkpointer looks for committed pages to copy.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Copies the pages committed to a SQLite store's write-ahead log into its file, in the
/// background and on a connection of its own, for as long as the runtime runs.
///
/// Why not SQLite's automatic checkpoint: it runs inside the commit that takes the log
/// past its threshold, so the commit of a large write waits while all of it is copied
/// (2.9 s of a 5% refresh at a million events, 8.5 s of a first load). Here the copying
/// runs on another core while the refresh goes on and the commit returns. A passive
/// checkpoint waits for no reader or writer; with several processes on one store, the one
/// that finds another copying skips its turn.
async fn spawn_checkpointer(url: &str) -> Result<(), DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .min_connections(1)
        .max_connections(1);
    let db = Database::connect(options).await?;
    tokio::spawn(async move {
        let mut last_error = None;
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            match db
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await
            {
                Ok(_) => last_error = None,
                // Once per kind of failure, not five times a second.
                Err(e) if last_error.as_ref() != Some(&e.to_string()) => {
                    tracing::warn!(error = %e, "could not checkpoint the store's log");
                    last_error = Some(e.to_string());
                }
                Err(_) => {}
            }
        }
    });
    Ok(())
}

/// The page cache of each pooled SQLite connection (KiB).
pub(crate) const SQLITE_CACHE_KIB: u32 = 16 * 1024;
/// Brings the schema up to date, and then, when it changed, the derived tables (a new
/// schema may count them differently).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let pending = Migrator::get_pending_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    if pending > 0 {
        write::Write::events(db).await?.commit().await?;
    }
    Ok(())
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sea_orm::Statement;

    /// A SQLite pragma's value on this connection.
    pub(crate) async fn pragma<C: ConnectionTrait>(db: &C, name: &str) -> i64 {
        db.query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
    }

    /// Commits do not copy the log into the file themselves; the checkpointer does, soon
    /// after, while the connection that wrote goes on.
    #[tokio::test]
    async fn committed_pages_reach_the_file_without_an_automatic_checkpoint() {
        let dir = std::env::temp_dir().join(format!("ts-checkpoint-{}", std::process::id()));
        let url = format!("sqlite://{}/store.db?mode=rwc", dir.display());
        let db = connect(&url).await.unwrap();
        assert_eq!(pragma(&db, "wal_autocheckpoint").await, 0);
        db.execute_unprepared(
            "CREATE TABLE filler(x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL \
             SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler \
             SELECT hex(randomblob(500)) FROM n",
        )
        .await
        .unwrap();
        // About 2 MB written: in the log at once, in the file once it is copied.
        let file = dir.join("store.db");
        let copied = async {
            while std::fs::metadata(&file).unwrap().len() < 2_000_000 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), copied)
            .await
            .expect("the log was not copied into the file");
        db.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/toursherpa.db?mode=rwc").as_deref(),
            Some("data/toursherpa.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x@h/db"), None);
    }
}

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
const SQLITE_CACHE_KIB: u32 = 16 * 1024;
/// The page cache of a SQLite connection while it writes a refresh's events (KiB): at a
/// million events the indexes they update outgrow the usual cache, and every row would
/// read and spill index pages.
const SQLITE_BULK_CACHE_KIB: u32 = 256 * 1024;

/// How much of a SQLite store a connection maps into memory while it writes a refresh
/// (bytes; SQLite caps it at its own build limit, about 2 GiB).
const SQLITE_BULK_MMAP_BYTES: u64 = 4 << 30;

/// Widens (`wide`) or restores a SQLite connection's page cache around a large write, in
/// its transaction; PostgreSQL is left as it is. Restored before the commit, so the pooled
/// connection does not keep the memory.
///
/// While wide, the store's file is also read through a memory map: the pages an update
/// reads in a million-row index then cost a page fault, not a read call each (a 5%
/// refresh's rank updates of the narrow copies took 5.9 s through read calls and 3.1 s
/// mapped, `sqlite3` on the bench store). Only dirty pages still take the cache.
async fn bulk_write_cache<C: ConnectionTrait>(txn: &C, wide: bool) -> Result<(), DbErr> {
    if txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    let (kib, mmap) = if wide {
        (SQLITE_BULK_CACHE_KIB, SQLITE_BULK_MMAP_BYTES)
    } else {
        (SQLITE_CACHE_KIB, 0)
    };
    txn.execute_unprepared(&format!(
        "PRAGMA cache_size = -{kib}; PRAGMA mmap_size = {mmap}"
    ))
    .await
    .map(|_| ())
}

/// Runs `write` in `txn` with the connection widened for a large write
/// ([`bulk_write_cache`]) and restores it however `write` ends. The connection goes back
/// to the pool after the transaction: a failed refresh must not leave it holding a wide
/// page cache and a map of the file for the pages it serves next.
pub(crate) async fn bulk_write<C, T>(
    txn: &C,
    write: impl std::future::Future<Output = Result<T, DbErr>>,
) -> Result<T, DbErr>
where
    C: ConnectionTrait,
{
    bulk_write_cache(txn, true).await?;
    let written = write.await;
    let restored = bulk_write_cache(txn, false).await;
    // The write's own error, if any, is the one to report.
    let value = written?;
    restored?;
    Ok(value)
}

/// Drops a table's secondary indexes for a bulk write into it (SQLite only; elsewhere it
/// does nothing) and returns the statements that create them again, for
/// [`create_indexes`] in the same transaction.
///
/// Why: inserting a million rows one index entry at a time into a dozen indexes costs
/// several times more than sorting each index once afterwards. Only for a table the write
/// fills from empty or nearly so: recreating indexes costs in proportion to all its rows.
/// Not on PostgreSQL, where a dropped index locks the table against readers until the
/// commit.
pub(crate) async fn drop_indexes<C: ConnectionTrait>(
    txn: &C,
    table: &str,
) -> Result<Vec<String>, DbErr> {
    if txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(Vec::new());
    }
    let rows = txn
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            // Indexes with no SQL are the table's own (its primary key): they stay.
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            [table.into()],
        ))
        .await?;
    let mut create = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("", "name")?;
        create.push(row.try_get::<String>("", "sql")?);
        txn.execute_unprepared(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
            .await?;
    }
    Ok(create)
}

/// Rows a load must add before going around the indexes pays.
const BULK_LOAD_MIN: usize = 10_000;

/// [`drop_indexes`] for a load that adds `adding` rows to `table`, when that pays: on
/// SQLite, more than [`BULK_LOAD_MIN`] rows and more than the table holds already.
pub(crate) async fn drop_indexes_for_load<C: ConnectionTrait>(
    txn: &C,
    table: &str,
    adding: usize,
) -> Result<Vec<String>, DbErr> {
    if adding <= BULK_LOAD_MIN || txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(Vec::new());
    }
    let held = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            format!("SELECT COUNT(*) AS n FROM \"{table}\""),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if held as usize >= adding {
        return Ok(Vec::new());
    }
    drop_indexes(txn, table).await
}

/// The page cache a SQLite connection builds indexes with (KiB). SQLite's sorter sorts in
/// runs as large as the page cache; small runs are what its worker threads sort side by
/// side ([`create_indexes`]).
const SQLITE_INDEX_BUILD_CACHE_KIB: u32 = 4 * 1024;

/// Creates again the indexes [`drop_indexes`] dropped.
///
/// On SQLite, each index is built with the sorter's worker threads (`PRAGMA threads`, one
/// a core) and a small page cache, so that the runs the sorter sorts are many and small
/// and the cores sort them side by side: on a million events, three of their indexes took
/// 4.6 s with the bulk write's wide cache and no worker, and 2.2 s so (`sqlite3` on the
/// bench store). Both settings are put back however the build ends.
pub(crate) async fn create_indexes<C: ConnectionTrait>(
    txn: &C,
    statements: &[String],
) -> Result<(), DbErr> {
    if statements.is_empty() {
        return Ok(());
    }
    let sqlite = txn.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let mut cache = None;
    if sqlite {
        let row = txn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA cache_size",
            ))
            .await?;
        cache = row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        txn.execute_unprepared(&format!(
            "PRAGMA threads = {workers}; PRAGMA cache_size = -{SQLITE_INDEX_BUILD_CACHE_KIB}"
        ))
        .await?;
    }
    let created = async {
        for sql in statements {
            txn.execute_unprepared(sql).await?;
        }
        Ok::<_, DbErr>(())
    }
    .await;
    if sqlite {
        let restored = txn
            .execute_unprepared(&format!(
                "PRAGMA threads = 0; PRAGMA cache_size = {}",
                cache.unwrap_or(-i64::from(SQLITE_CACHE_KIB))
            ))
            .await;
        created?;
        restored?;
        return Ok(());
    }
    created
}

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
mod tests {
    use super::*;
    use sea_orm::{Statement, TransactionTrait};

    async fn pragma<C: ConnectionTrait>(db: &C, name: &str) -> i64 {
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

    #[tokio::test]
    async fn a_failed_bulk_write_gives_the_connection_back_as_it_was() {
        let dir = std::env::temp_dir().join(format!("ts-bulk-{}", std::process::id()));
        let url = format!("sqlite://{}/store.db?mode=rwc", dir.display());
        let db = connect(&url).await.unwrap();
        let txn = db.begin().await.unwrap();
        let usual = pragma(&txn, "cache_size").await;
        assert_eq!(usual, -i64::from(SQLITE_CACHE_KIB));
        let failed: Result<(), DbErr> = bulk_write(&txn, async {
            assert_eq!(
                pragma(&txn, "cache_size").await,
                -i64::from(SQLITE_BULK_CACHE_KIB)
            );
            assert!(pragma(&txn, "mmap_size").await > 0);
            txn.execute_unprepared("INSERT INTO no_such_table VALUES (1)")
                .await?;
            Ok(())
        })
        .await;
        let error = failed.unwrap_err().to_string();
        assert!(error.contains("no_such_table"), "{error}");
        assert_eq!(pragma(&txn, "cache_size").await, usual);
        assert_eq!(pragma(&txn, "mmap_size").await, 0);
        txn.rollback().await.unwrap();
        db.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Indexes are built with the sorter's workers and a small cache, and the connection's
    /// own settings come back afterwards, whether the build succeeds or fails.
    #[tokio::test]
    async fn index_builds_give_the_connection_back_as_it_was() {
        let dir = std::env::temp_dir().join(format!("ts-index-build-{}", std::process::id()));
        let url = format!("sqlite://{}/store.db?mode=rwc", dir.display());
        let db = connect(&url).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE filler(x TEXT, y INTEGER); WITH RECURSIVE n(i) AS (SELECT 1 \
             UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO filler \
             SELECT hex(randomblob(20)), i % 7 FROM n",
        )
        .await
        .unwrap();
        let txn = db.begin().await.unwrap();
        let outcome = bulk_write(&txn, async {
            let failed = create_indexes(
                &txn,
                &[
                    "CREATE INDEX filler_x ON filler (x)".to_string(),
                    "CREATE INDEX filler_z ON filler (no_such_column)".to_string(),
                ],
            )
            .await;
            let error = failed.unwrap_err().to_string();
            assert!(error.contains("no_such_column"), "{error}");
            assert_eq!(
                pragma(&txn, "cache_size").await,
                -i64::from(SQLITE_BULK_CACHE_KIB)
            );
            assert_eq!(pragma(&txn, "threads").await, 0);
            create_indexes(
                &txn,
                &["CREATE INDEX filler_y ON filler (y, x)".to_string()],
            )
            .await?;
            assert_eq!(
                pragma(&txn, "cache_size").await,
                -i64::from(SQLITE_BULK_CACHE_KIB)
            );
            assert_eq!(pragma(&txn, "threads").await, 0);
            Ok(())
        })
        .await;
        outcome.unwrap();
        txn.commit().await.unwrap();
        let indexes: Vec<String> = db
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'filler' \
                 ORDER BY name",
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.try_get_by_index(0).unwrap())
            .collect();
        assert_eq!(indexes, ["filler_x", "filler_y"]);
        db.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
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

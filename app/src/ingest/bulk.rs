//! How a refresh's commit writes a large load fast on SQLite: a wider page cache and a
//! memory map while it writes, and the indexes of a table it fills from (nearly) empty
//! dropped and built again once the rows are in. PostgreSQL is left as it is.

use crate::store::SQLITE_CACHE_KIB;
use sea_orm::{ConnectionTrait, DbErr};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connect;
    use crate::store::tests::pragma;
    use sea_orm::TransactionTrait;

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
            .query_all_raw(sea_orm::Statement::from_string(
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
}

//! Statements executed behind the code that builds them.
//!
//! Why: a connection runs its statements elsewhere (SQLite on a thread of its own,
//! PostgreSQL in its server), while the rows' values and the SQL text are built on ours.
//! Awaited one by one, each side waits for the other: on a first load of a million events
//! the narrow copies' reads and building took as long again as writing them. Sent through
//! [`write_behind`], the next statement is built while the last one executes, on the
//! other core. (The log at debug level says, per bulk write, how long the database was
//! busy against the whole: when it is busy throughout, only a cheaper write helps.)

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, Statement};
use std::future::Future;

/// Hands built statements to the writer of [`write_behind`], which executes them in the
/// order sent.
pub(crate) struct WriteBehind {
    queue: tokio::sync::mpsc::Sender<Statement>,
    backend: DbBackend,
}

impl WriteBehind {
    /// The database the statements are for.
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Queues a statement (waiting while two are queued) and lets the writer start it.
    pub async fn send(&self, statement: Statement) -> Result<(), DbErr> {
        self.queue
            .send(statement)
            .await
            .map_err(|_| DbErr::Custom("the bulk writer stopped".into()))?;
        // The writer and the builder share one task: the builder steps aside here so the
        // writer can send the statement to the database before the next is built.
        tokio::task::yield_now().await;
        Ok(())
    }

    /// Queues the insert of `rows` ([`super::column_writes::insert_statement`]), if any.
    pub async fn insert<A: ActiveModelTrait>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        match super::column_writes::insert_statement(self.backend, rows, None)? {
            Some(statement) => self.send(statement).await,
            None => Ok(()),
        }
    }
}

/// Runs `build`, which sends statements through the [`WriteBehind`] it is given, and
/// executes them on `db` as they come, each once the one before it is done. Returns what
/// `build` returns once every statement it sent has been executed. The first failed
/// statement stops the writing and is the error returned; statements sent after it are
/// not executed.
pub(crate) async fn write_behind<C, F, Fut, T>(db: &C, build: F) -> Result<T, DbErr>
where
    C: ConnectionTrait,
    F: FnOnce(WriteBehind) -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    let backend = db.get_database_backend();
    let (queue, queued) = tokio::sync::mpsc::channel::<Statement>(2);
    let started = std::time::Instant::now();
    let mut executing = std::time::Duration::ZERO;
    let mut statements = 0usize;
    let writer = async {
        // Owned by the writer: dropped when it stops, so a builder waiting to send learns
        // that it did instead of waiting for ever.
        let mut queued = queued;
        while let Some(statement) = queued.recv().await {
            let began = std::time::Instant::now();
            db.execute_raw(statement).await?;
            executing += began.elapsed();
            statements += 1;
        }
        Ok::<(), DbErr>(())
    };
    let (written, built) = tokio::join!(writer, build(WriteBehind { queue, backend }));
    tracing::debug!(
        statements,
        executing = executing.as_secs_f64(),
        wall = started.elapsed().as_secs_f64(),
        "written behind"
    );
    // The writer's error comes first: the builder's is then only that the writer stopped.
    written?;
    built
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{Database, DbBackend, TransactionTrait};

    fn sql(text: String) -> Statement {
        Statement::from_string(DbBackend::Sqlite, text)
    }

    async fn numbers<C: ConnectionTrait>(db: &C) -> Vec<i64> {
        db.query_all_raw(sql("SELECT n FROM t ORDER BY rowid".into()))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index(0).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn statements_run_in_the_order_sent_and_the_first_failure_stops_them() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        // One transaction: one connection, so one in-memory database throughout.
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("CREATE TABLE t (n INTEGER NOT NULL)")
            .await
            .unwrap();
        let sent = write_behind(&txn, |writer| async move {
            for n in 0..50 {
                writer
                    .send(sql(format!("INSERT INTO t VALUES ({n})")))
                    .await?;
            }
            Ok(50)
        })
        .await
        .unwrap();
        assert_eq!(sent, 50);
        assert_eq!(numbers(&txn).await, (0..50).collect::<Vec<_>>());

        let failed = write_behind(&txn, |writer| async move {
            writer
                .send(sql("INSERT INTO t VALUES (100)".into()))
                .await?;
            writer
                .send(sql("INSERT INTO t VALUES (NULL)".into()))
                .await?;
            for n in 101..200 {
                writer
                    .send(sql(format!("INSERT INTO t VALUES ({n})")))
                    .await?;
            }
            Ok(())
        })
        .await;
        // The statement's own error, not the builder's "writer stopped".
        let error = failed.unwrap_err().to_string();
        assert!(error.contains("NOT NULL"), "{error}");
        let stored = numbers(&txn).await;
        assert_eq!(stored.last(), Some(&100), "nothing after the failure ran");
        assert_eq!(stored.len(), 51);
    }
}

//! Free-text search (`q`) served by an index on both backends, with one meaning: a
//! substring of the title, the venue's name or the city, case-insensitive for the letters
//! A to Z (every other character, Korean included, matches as written).
//!
//! - SQLite: `event_search`, an FTS5 table with the trigram tokenizer over those three
//!   columns, its content read from `events` and kept by triggers. A query's trigrams find
//!   the candidate rows; `LIKE` on the row decides.
//! - PostgreSQL: `pg_trgm` GIN indexes on the three columns with A–Z folded
//!   (`translate`), serving `LIKE` directly. The extension is created when the role may;
//!   without it the search still works, by a scan.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The searched columns.
pub const SEARCHED: [&str; 3] = ["title", "venue_name", "city"];

/// A column's SQL with A to Z folded to a to z, as PostgreSQL's search indexes and queries
/// read it.
pub fn folded(column_sql: &str) -> String {
    format!("translate({column_sql}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

const SQLITE_UP: &str = r#"
CREATE VIRTUAL TABLE event_search USING fts5(
    title, venue_name, city, content='events', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER event_search_insert AFTER INSERT ON events BEGIN
    INSERT INTO event_search (rowid, title, venue_name, city)
    VALUES (new.rowid, new.title, new.venue_name, new.city);
END;
CREATE TRIGGER event_search_delete AFTER DELETE ON events BEGIN
    INSERT INTO event_search (event_search, rowid, title, venue_name, city)
    VALUES ('delete', old.rowid, old.title, old.venue_name, old.city);
END;
CREATE TRIGGER event_search_update AFTER UPDATE OF title, venue_name, city ON events BEGIN
    INSERT INTO event_search (event_search, rowid, title, venue_name, city)
    VALUES ('delete', old.rowid, old.title, old.venue_name, old.city);
    INSERT INTO event_search (rowid, title, venue_name, city)
    VALUES (new.rowid, new.title, new.venue_name, new.city);
END;
INSERT INTO event_search (event_search) VALUES ('rebuild');
"#;

const SQLITE_DOWN: &str = r#"
DROP TRIGGER IF EXISTS event_search_insert;
DROP TRIGGER IF EXISTS event_search_delete;
DROP TRIGGER IF EXISTS event_search_update;
DROP TABLE IF EXISTS event_search;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                // A failed CREATE EXTENSION would abort the migration's transaction, so
                // whether the role may is asked first (pg_trgm is a trusted extension:
                // the right to create in the database is enough).
                let may = db
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') \
                         OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
                         AND has_database_privilege(current_database(), 'CREATE'))",
                    ))
                    .await?
                    .map(|r| r.try_get_by_index::<bool>(0))
                    .transpose()?
                    .unwrap_or(false);
                if !may {
                    return Ok(());
                }
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                for column in SEARCHED {
                    db.execute_unprepared(&format!(
                        r#"CREATE INDEX IF NOT EXISTS "idx_events_search_{column}" ON "events" USING gin (({}) gin_trgm_ops)"#,
                        folded(&format!(r#""{column}""#))
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(SQLITE_UP).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                for column in SEARCHED {
                    db.execute_unprepared(&format!(
                        r#"DROP INDEX IF EXISTS "idx_events_search_{column}""#
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(SQLITE_DOWN).await?;
            }
        }
        Ok(())
    }
}

//! The store: one sea-orm connection that works the same on SQLite and PostgreSQL,
//! the queries that pages and the JSON API share, and the bundled reference data.

pub mod admin;
pub mod cells;
pub mod derived;
pub mod entities;
pub mod events;
pub mod moderation;
pub mod pages;
pub mod read_cache;
pub mod reference;
pub mod rollup;
pub mod stats;
pub mod trip;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr,
    EntityTrait,
};

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
        options.map_sqlx_sqlite_opts(|o| {
            o.pragma("cache_size", "-16384")
                .pragma("synchronous", "NORMAL")
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
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        db.execute_unprepared("PRAGMA synchronous=NORMAL").await?;
    }
    Ok(db)
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Reads one metadata value.
pub async fn get_meta<C: ConnectionTrait>(db: &C, key: &str) -> Result<Option<String>, DbErr> {
    Ok(entities::meta::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Writes one metadata value, replacing what was there.
pub async fn set_meta<C: ConnectionTrait>(db: &C, key: &str, value: &str) -> Result<(), DbErr> {
    use entities::meta;
    meta::Entity::insert(meta::ActiveModel {
        key: Set(key.to_string()),
        value: Set(value.to_string()),
    })
    .on_conflict(
        OnConflict::column(meta::Column::Key)
            .update_column(meta::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

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

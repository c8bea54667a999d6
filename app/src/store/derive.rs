//! The tables derived from the events, recomputed in SQL by the transaction that changes
//! the events (`store::write`): the dashboard's rollups (`stats_rollup`,
//! `visitor_rollup`) and the map's cells (`cluster_cells`). Readers see the old tables or
//! the new ones, never a mix, and there is nothing to remember about what changed.
//!
//! Why recompute rather than update by difference: the bookkeeping that counted changes
//! by difference took 2,700 lines (generations, validity flags, change lists, narrow
//! copies) and every writer had to call it. The cost, measured at 1,000,000 events
//! (`bench/pipeline.sh`, docs/performance.md): the recount takes 18.9 to 28.1 s of a 5%
//! refresh on SQLite, where counting by difference took 5.7 to 7.0 s. Narrowing it to the
//! groups a write touches is the next step.

use super::cells::{cell_exprs, cell_text, level_cell, MAX_CELL_LEVEL};
use super::stats::{industry_sql, Period};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

/// The events counted in the derived tables.
const COUNTED: &str = r#""state" = 'active'"#;

/// Replaces the rollups and the map cells with what the events (as this transaction sees
/// them) add up to.
pub async fn recompute<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    let backend = txn.get_database_backend();
    for table in ["stats_rollup", "visitor_rollup", "cluster_cells"] {
        txn.execute_unprepared(&format!(r#"DELETE FROM "{table}""#))
            .await?;
    }
    txn.execute_unprepared(&stats_sql(backend)).await?;
    txn.execute_unprepared(&visitors_sql(backend)).await?;
    let rollups = started.elapsed();
    txn.execute_unprepared(&finest_cells_sql(backend)).await?;
    for level in (0..MAX_CELL_LEVEL).rev() {
        txn.execute_unprepared(&coarser_cells_sql(level)).await?;
    }
    tracing::info!(
        rollups = rollups.as_secs_f64(),
        cells = (started.elapsed() - rollups).as_secs_f64(),
        "derived tables recomputed"
    );
    Ok(())
}

/// Active events and their predicted spend per category, country, month and week of their
/// start. An event without a spend counts in `events` only; its split, when the provider
/// gives none, as nothing.
fn stats_sql(backend: DbBackend) -> String {
    let split = ["accommodation", "hospitality", "transportation"]
        .map(|industry| {
            let share = industry_sql(backend, industry);
            format!(r#"COALESCE(SUM(CASE WHEN "spend_usd" IS NOT NULL THEN {share} END), 0)"#)
        })
        .join(", ");
    format!(
        r#"INSERT INTO "stats_rollup" ("category", "country", "month", "week", "events",
             "spend_events", "spend_total", "spend_accommodation", "spend_hospitality",
             "spend_transportation")
           SELECT "category", "country", {month}, {week}, COUNT(*), COUNT("spend_usd"),
                  COALESCE(SUM("spend_usd"), 0), {split}
           FROM "events" WHERE {COUNTED}
           GROUP BY "category", "country", {month}, {week}"#,
        month = Period::Month.sql(backend),
        week = Period::Week.sql(backend),
    )
}

/// Expected visitors per category, country and local day, from each active event's impact
/// pattern (a JSON array of days), as `stats::visitors` sums them for other filters.
fn visitors_sql(backend: DbBackend) -> String {
    let days = match backend {
        DbBackend::Postgres => {
            r#"SELECT e."category", e."country", d->>'date' AS "day",
                      SUM((d->>'visitors')::bigint) AS "visitors"
               FROM "events" e CROSS JOIN LATERAL json_array_elements(e."impact"::json) d"#
        }
        _ => {
            r#"SELECT e."category", e."country", json_extract(d.value, '$.date') AS "day",
                      SUM(json_extract(d.value, '$.visitors')) AS "visitors"
               FROM "events" e, json_each(e."impact") d"#
        }
    };
    format!(
        r#"INSERT INTO "visitor_rollup" ("category", "country", "day", "visitors", "contributions")
           SELECT "category", "country", "day", CAST(SUM("visitors") AS BIGINT), COUNT(*)
           FROM ({days} WHERE e.{COUNTED} AND e."impact" IS NOT NULL
                 GROUP BY e."id", e."category", e."country", "day") per_event
           WHERE "day" LIKE '____-__-__'
           GROUP BY "category", "country", "day""#
    )
}

/// The active events counted per cell of the finest level, with the event of each cell
/// that holds just one.
fn finest_cells_sql(backend: DbBackend) -> String {
    let (cell, _) = cell_text(level_cell(MAX_CELL_LEVEL));
    let (gy, gx) = cell_exprs(backend, &cell);
    format!(
        r#"INSERT INTO "cluster_cells" ("level", "category", "gy", "gx", "n", "sum_lat",
             "sum_lon", "single_id", "single_title")
           SELECT {MAX_CELL_LEVEL}, "category", {gy}, {gx}, COUNT(*), SUM("lat"), SUM("lon"),
                  CASE WHEN COUNT(*) = 1 THEN MIN("id") END,
                  CASE WHEN COUNT(*) = 1 THEN MIN("title") END
           FROM "events" WHERE {COUNTED}
           GROUP BY "category", {gy}, {gx}"#
    )
}

/// The cells of `level` summed from those of the level below: every cell size is 90°
/// divided by a power of two, so a cell holds exactly the two by two cells under it, and
/// its row and column are theirs halved.
fn coarser_cells_sql(level: u8) -> String {
    let finer = level + 1;
    format!(
        r#"INSERT INTO "cluster_cells" ("level", "category", "gy", "gx", "n", "sum_lat",
             "sum_lon", "single_id", "single_title")
           SELECT {level}, "category", "gy" / 2, "gx" / 2, CAST(SUM("n") AS BIGINT),
                  SUM("sum_lat"), SUM("sum_lon"),
                  CASE WHEN SUM("n") = 1 THEN MAX("single_id") END,
                  CASE WHEN SUM("n") = 1 THEN MAX("single_title") END
           FROM "cluster_cells" WHERE "level" = {finer}
           GROUP BY "category", "gy" / 2, "gx" / 2"#
    )
}

/// Refreshes the planner's statistics after a large change (a first load, above all):
/// without them SQLite takes `state = 'active'` for a selective condition and walks the
/// whole table by it.
pub async fn analyze<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => "ANALYZE events, cluster_cells, stats_rollup, visitor_rollup",
        _ => "ANALYZE",
    };
    db.execute_unprepared(sql).await.map(|_| ())
}

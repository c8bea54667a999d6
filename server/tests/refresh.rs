//! The refresh pipeline over the demo feed, on SQLite and PostgreSQL.

mod common;

use app::demo::feed::snapshot;
use app::ingest::diff::ProviderState;
use app::ingest::enrich::{cell, PLACE_KINDS};
use common::{spawn_app, Backend};
use sea_orm::{ColumnTrait, QueryFilter};
use std::collections::HashSet;

async fn first_refresh_inserts_every_event_and_shares_place_lookups(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let report = app.refresh().await;
    assert_eq!(report.status, "succeeded", "{:?}", report.errors);
    let snap = snapshot(0);
    assert_eq!(report.classes.new as usize, snap.len());
    assert_eq!(
        report.classes.unchanged
            + report.classes.changed
            + report.classes.moved
            + report.classes.gone,
        0
    );
    assert_eq!(report.calls.events, 1);
    // Places are cached by location cell and kind: events sharing a cell share lookups.
    let cells: HashSet<String> = snap.iter().map(|e| cell(e.lat, e.lon).0).collect();
    assert_eq!(
        report.calls.places as usize,
        cells.len() * PLACE_KINDS.len()
    );
    assert!(cells.len() < snap.len(), "some venues share a cell");
    assert!(report.calls.flights > 0);
    assert!(report.calls_saved > 0);

    let (_, page) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(page["total"].as_u64().unwrap() as usize, snap.len());
}

async fn later_refreshes_classify_and_enrich_only_what_changed(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let mut saw_gone = None;
    for generation in 1..=4u32 {
        let report = app.refresh().await;
        assert_eq!(report.status, "succeeded", "{:?}", report.errors);
        let c = &report.classes;
        // Only new and moved events need places: at most three lookups each.
        assert!(
            report.calls.places <= 3 * (c.new + c.moved),
            "gen {generation}: {report:?}"
        );
        assert!(c.unchanged > 250, "most events are unchanged: {c:?}");
        let snap = snapshot(generation);
        if let Some(gone) = snap
            .iter()
            .find(|e| matches!(e.state, ProviderState::Deleted { .. }))
        {
            saw_gone = Some(gone.id.clone());
        }
    }
    let gone = saw_gone.expect("the demo feed cancels something within four generations");
    let (status, e) = app.get_json(&format!("/api/v1/events/{gone}")).await;
    assert_eq!(status, 200);
    assert_eq!(e["state"], "gone");
    assert!(e["gone_reason"].is_string());
    let (_, list) = app.get_json("/api/v1/events?limit=1000").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != gone.as_str()),
        "gone events are hidden from travellers"
    );
}

/// Every derived row, in key order, as the store keeps it: map cells (sums to 6 places, as
/// the map reads them) and both rollups.
async fn derived_rows(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use app::store::entities::{cluster_cell, stats_rollup, visitor_rollup};
    use sea_orm::EntityTrait;
    let mut out = Vec::new();
    for c in cluster_cell::Entity::find().all(db).await.unwrap() {
        out.push(cell_row(
            c.level,
            &c.category,
            c.gy,
            c.gx,
            c.n,
            c.sum_lat,
            c.sum_lon,
            c.single_id,
            c.single_title,
        ));
    }
    for r in stats_rollup::Entity::find().all(db).await.unwrap() {
        out.push(format!(
            "stats: {} {} {} {} events={} spend_events={} spend={},{},{},{}",
            r.category,
            r.country,
            r.month,
            r.week,
            r.events,
            r.spend_events,
            r.spend_total,
            r.spend_accommodation,
            r.spend_hospitality,
            r.spend_transportation
        ));
    }
    for r in visitor_rollup::Entity::find().all(db).await.unwrap() {
        out.push(format!(
            "visitors: {} {} {} visitors={} pairs={}",
            r.category, r.country, r.day, r.visitors, r.contributions
        ));
    }
    out.sort();
    out
}

#[allow(clippy::too_many_arguments)]
fn cell_row(
    level: i16,
    category: &str,
    gy: i32,
    gx: i32,
    n: i64,
    sum_lat: f64,
    sum_lon: f64,
    single_id: Option<String>,
    single_title: Option<String>,
) -> String {
    format!(
        "cells: {level} {category} {gy} {gx} n={n} sums={sum_lat:.6},{sum_lon:.6} single={single_id:?} {single_title:?}"
    )
}

/// The derived rows counted here, in Rust, from the events as stored: the oracle the
/// store's SQL is checked against.
async fn recounted_rows(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use app::store::cells::{cell_of, cell_text, level_cell, MAX_CELL_LEVEL};
    use app::store::entities::event;
    use chrono::Datelike;
    use sea_orm::EntityTrait;
    use std::collections::BTreeMap;
    type CellSums = (i64, f64, f64, Vec<(String, String)>);
    let mut cells: BTreeMap<(i16, String, i32, i32), CellSums> = BTreeMap::new();
    let mut stats: BTreeMap<(String, String, String, String), [i64; 6]> = BTreeMap::new();
    let mut visitors: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    let events = event::Entity::find().all(db).await.unwrap();
    for e in events.iter().filter(|e| e.state == "active") {
        for level in 0..=MAX_CELL_LEVEL {
            let (gy, gx) = cell_of(e.lat, e.lon, cell_text(level_cell(level)).1);
            let c = cells
                .entry((i16::from(level), e.category.clone(), gy as i32, gx as i32))
                .or_default();
            c.0 += 1;
            c.1 += e.lat;
            c.2 += e.lon;
            c.3.push((e.id.clone(), e.title.clone()));
        }
        let d = e.start_date;
        let monday = d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
        let key = (
            e.category.clone(),
            e.country.clone(),
            d.format("%Y-%m").to_string(),
            monday.format("%Y-%m-%d").to_string(),
        );
        let s = stats.entry(key).or_default();
        s[0] += 1;
        if let Some(spend) = e.spend_usd {
            let split: serde_json::Value = e
                .spend_industries
                .as_deref()
                .map(|j| serde_json::from_str(j).unwrap())
                .unwrap_or_default();
            s[1] += 1;
            s[2] += spend;
            for (k, industry) in ["accommodation", "hospitality", "transportation"]
                .iter()
                .enumerate()
            {
                s[3 + k] += split[industry].as_i64().unwrap_or(0);
            }
        }
        let days: Vec<serde_json::Value> = e
            .impact
            .as_deref()
            .map(|j| serde_json::from_str(j).unwrap())
            .unwrap_or_default();
        let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
        for day in days {
            let date = day["date"].as_str().unwrap_or_default().to_string();
            if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok() {
                *per_day.entry(date).or_default() += day["visitors"].as_i64().unwrap_or(0);
            }
        }
        for (day, n) in per_day {
            let v = visitors
                .entry((e.category.clone(), e.country.clone(), day))
                .or_default();
            v.0 += n;
            v.1 += 1;
        }
    }
    let mut out = Vec::new();
    for ((level, category, gy, gx), (n, lat, lon, mut members)) in cells {
        members.sort();
        let single = (n == 1).then(|| members[0].clone());
        out.push(cell_row(
            level,
            &category,
            gy,
            gx,
            n,
            lat,
            lon,
            single.as_ref().map(|s| s.0.clone()),
            single.map(|s| s.1),
        ));
    }
    for ((category, country, month, week), s) in stats {
        out.push(format!(
            "stats: {category} {country} {month} {week} events={} spend_events={} spend={},{},{},{}",
            s[0], s[1], s[2], s[3], s[4], s[5]
        ));
    }
    for ((category, country, day), (n, pairs)) in visitors {
        out.push(format!(
            "visitors: {category} {country} {day} visitors={n} pairs={pairs}"
        ));
    }
    out.sort();
    out
}

/// The stored rows are those the oracle counts; a failure names the rows that differ.
async fn assert_derived_match_a_recount(db: &sea_orm::DatabaseConnection, when: &str) {
    let kept = derived_rows(db).await;
    let recounted = recounted_rows(db).await;
    let only_kept: Vec<&String> = kept.iter().filter(|r| !recounted.contains(r)).collect();
    let only_recounted: Vec<&String> = recounted.iter().filter(|r| !kept.contains(r)).collect();
    assert!(
        only_kept.is_empty() && only_recounted.is_empty() && kept.len() == recounted.len(),
        "{when}: stored but not recounted: {:?}\nrecounted but not stored: {:?}",
        &only_kept[..only_kept.len().min(10)],
        &only_recounted[..only_recounted.len().min(10)]
    );
}

/// Changes events through the store's one way to write them.
async fn change_events(db: &sea_orm::DatabaseConnection, changes: &[(&str, String)]) {
    use sea_orm::{ConnectionTrait, Statement};
    let w = app::store::write::Write::events(db).await.unwrap();
    for (id, set) in changes {
        let sql = format!(r#"UPDATE "events" SET {set} WHERE "id" = '{id}'"#);
        let r = w
            .txn()
            .execute_raw(Statement::from_string(w.txn().get_database_backend(), sql))
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 1, "{id}: {set}");
    }
    w.commit().await.unwrap();
}

/// The derived tables a write recomputes hold exactly what an independent recount of the
/// events gives: through moves across cells, renames, new categories, events leaving and
/// coming back, new impact patterns and spend, and a refresh of the demo feed.
async fn derived_tables_match_a_recount(backend: Backend) {
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
    let app = spawn_app(backend, true).await;
    let db = &app.db;
    assert_derived_match_a_recount(db, "after the first load").await;
    let ids: Vec<String> = app::store::entities::event::Entity::find()
        .select_only()
        .column(app::store::entities::event::Column::Id)
        .filter(app::store::entities::event::Column::State.eq("active"))
        .order_by_asc(app::store::entities::event::Column::Id)
        .limit(24)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    assert_eq!(ids.len(), 24);
    let impact = r#"'[{"date":"2027-05-01","visitors":10},{"date":"2027-05-01","visitors":5},{"date":"2027-05-03","visitors":0},{"date":"2027-05-14","visitors":700},{"date":"bad","visitors":3}]'"#;
    let mut first: Vec<(&str, String)> = vec![
        (&ids[0], r#""title" = 'Renamed <b>bold</b>'"#.into()),
        (&ids[1], r#""category" = 'expos'"#.into()),
        (&ids[2], r#""state" = 'gone'"#.into()),
        (
            &ids[3],
            format!(
                r#""impact" = {impact}, "spend_usd" = 123456, "spend_industries" = '{{"accommodation":1000}}'"#
            ),
        ),
        // Alone at the edge of the world: a cell of one.
        (&ids[4], r#""lat" = -89.9, "lon" = 179.95"#.into()),
        (
            &ids[5],
            r#""country" = 'ZZ', "start_date" = '2027-02-28'"#.into(),
        ),
        (
            &ids[6],
            r#""spend_usd" = NULL, "spend_industries" = '{"hospitality":5}'"#.into(),
        ),
    ];
    // Small moves: some cross cell edges, some leave a neighbour alone in its cell.
    for id in &ids[7..24] {
        first.push((id, r#""lat" = "lat" + 0.37, "lon" = "lon" - 0.21"#.into()));
    }
    change_events(db, &first).await;
    assert_derived_match_a_recount(db, "after the first changes").await;

    // Back again, the lone event somewhere else, and the gone one returned.
    let mut second: Vec<(&str, String)> = vec![
        (&ids[2], r#""state" = 'active'"#.into()),
        (&ids[4], r#""lat" = 10.0, "lon" = 10.0"#.into()),
        (&ids[3], r#""impact" = NULL, "spend_usd" = NULL"#.into()),
    ];
    for id in &ids[7..24] {
        second.push((id, r#""lat" = "lat" - 0.37, "lon" = "lon" + 0.21"#.into()));
    }
    let generation = app::store::state::get(db).await.unwrap().events_generation;
    change_events(db, &second).await;
    assert_derived_match_a_recount(db, "after the second changes").await;
    assert_ne!(
        app::store::state::get(db).await.unwrap().events_generation,
        generation,
        "cached answers are computed again"
    );

    // A refresh of the feed recomputes what it changed the same way.
    let report = app.refresh().await;
    assert_eq!(report.status, "succeeded");
    assert_derived_match_a_recount(db, "after a refresh").await;
}

/// `serve` runs the refreshes it starts on threads of lower CPU priority, with store
/// connections of their own; the run still completes and its events are served.
async fn refreshes_started_by_the_server_run_at_a_lower_priority(backend: Backend) {
    use app::store::entities::{event, refresh_run};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let test_db = common::test_db(backend).await;
    let mut config = common::test_config(&test_db.url);
    config.refresh_nice = 5;
    let db = server::open_store(&config).await.unwrap();
    let state = server::app_state_for_serving(&config, db.clone())
        .await
        .unwrap();
    let background = state.background.clone().expect("refreshes get a runtime");
    let here = server::priority::current_nice();
    let there = background
        .runtime
        .spawn(async { server::priority::current_nice() })
        .await
        .unwrap();
    assert_eq!(there, (here + 5).min(19), "the refresh threads' nice value");

    let run_id = state
        .start_refresh(app::ingest::diff::SyncMode::Full, "test")
        .await
        .unwrap();
    let began = std::time::Instant::now();
    while state.refresh_running() {
        assert!(began.elapsed().as_secs() < 120, "the refresh ends");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let run = refresh_run::Entity::find_by_id(run_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "succeeded");
    assert_eq!(
        event::Entity::find().count(&db).await.unwrap() as usize,
        snapshot(0).len(),
        "the request pool sees what the refresh's own connections wrote"
    );
}

both_backends!(
    refreshes_started_by_the_server_run_at_a_lower_priority,
    first_refresh_inserts_every_event_and_shares_place_lookups,
    later_refreshes_classify_and_enrich_only_what_changed,
    derived_tables_match_a_recount,
    migrating_carries_meta_into_store_state,
);

/// A store made before `store_state` moves forward with `toursherpa migrate` keeping every
/// fact `meta` held that the store still needs, its derived tables recomputed, and back
/// again.
async fn migrating_carries_meta_into_store_state(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let db = common::test_db(backend).await;
    let store = app::store::connect(&db.url).await.unwrap();
    let before_state = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_000010_store_state")
        .unwrap() as u32;
    let after_state = Migrator::migrations().len() as u32 - before_state;
    Migrator::up(&store, Some(before_state)).await.unwrap();
    store
        .execute_unprepared(
            r#"INSERT INTO meta ("key", "value") VALUES ('derived_generation', '41'),
               ('derived_full_rebuild', '40'), ('cluster_cells_valid', '1'),
               ('stats_rollup_valid', '0'), ('stats_rollup_longest_pattern', '12'),
               ('demo_feed_generation', '7'), ('reference_data_fingerprint', '00ff'),
               ('trip_data_seq', '99')"#,
        )
        .await
        .unwrap();
    // A stale count the old store kept: the migration recomputes it from the events.
    store
        .execute_unprepared(
            r#"INSERT INTO "stats_rollup" VALUES ('sports', 'KR', '2027-01', '2026-12-28', 5, 0, 0, 0, 0, 0)"#,
        )
        .await
        .unwrap();
    app::store::migrate(&store).await.unwrap();
    let s = app::store::state::get(&store).await.unwrap();
    assert_eq!(
        (
            s.events_generation,
            s.demo_generation,
            s.reference_fingerprint.as_deref(),
        ),
        // The generation moved on once: the migration recomputed the derived tables.
        (42, 7, Some("00ff"))
    );
    assert_eq!(
        derived_rows(&store).await,
        Vec::<String>::new(),
        "no events, nothing counted"
    );

    Migrator::down(&store, Some(after_state)).await.unwrap();
    let meta: Vec<(String, String)> = store
        .query_all_raw(Statement::from_string(
            store.get_database_backend(),
            r#"SELECT "key", "value" FROM meta ORDER BY "key""#,
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_many_by_index().unwrap())
        .collect();
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Back on the earlier schema, the derived tables are marked for a recount.
    assert_eq!(
        pairs,
        [
            ("cluster_cells_valid", "0"),
            ("demo_feed_generation", "7"),
            ("derived_full_rebuild", "42"),
            ("derived_generation", "42"),
            ("reference_data_fingerprint", "00ff"),
            ("stats_rollup_longest_pattern", "0"),
            ("stats_rollup_valid", "0"),
        ]
    );
    app::store::migrate(&store).await.unwrap();
    assert_eq!(
        app::store::state::get(&store)
            .await
            .unwrap()
            .events_generation,
        43
    );
}

#[tokio::test]
async fn reference_data_loads_once() {
    let db = common::test_db(Backend::Sqlite).await;
    let store = app::store::connect(&db.url).await.unwrap();
    app::store::migrate(&store).await.unwrap();
    assert!(
        app::store::reference::load(&store).await.unwrap(),
        "first load writes"
    );
    assert!(
        !app::store::reference::load(&store).await.unwrap(),
        "second load is a no-op"
    );
}

/// `toursherpa ingest --json` prints the design's JSON object as its last line.
#[test]
fn ingest_cli_prints_the_run_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_toursherpa"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("TOURSHERPA_EVENTS_PROVIDER")
            .output()
            .unwrap()
    };
    let out = run(&["ingest", "--full", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["status"], "succeeded");
    assert!(v["run_id"].as_i64().unwrap() >= 1);
    for class in ["unchanged", "changed", "moved", "new", "gone"] {
        assert!(v["classes"][class].is_i64(), "classes.{class}");
    }
    for provider in ["events", "places", "flights"] {
        assert!(v["calls"][provider].is_i64(), "calls.{provider}");
    }
    assert!(v["calls_saved"].is_i64());
    assert!(v["classes"]["new"].as_i64().unwrap() >= 300);

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_toursherpa"))
        .args(["ingest"])
        .env("DATABASE_URL", &url)
        .env("TOURSHERPA_EVENTS_PROVIDER", "nonsense")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("TOURSHERPA_EVENTS_PROVIDER"));

    for nice in ["20", "-1", "low"] {
        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_toursherpa"))
            .args(["ingest"])
            .env("DATABASE_URL", &url)
            .env("TOURSHERPA_REFRESH_NICE", nice)
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2), "TOURSHERPA_REFRESH_NICE={nice}");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("TOURSHERPA_REFRESH_NICE"));
    }
}

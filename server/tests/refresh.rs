//! The refresh pipeline over the demo feed, on SQLite and PostgreSQL.

mod common;

use app::demo::feed::snapshot;
use app::ingest::diff::ProviderState;
use app::ingest::enrich::{cell, PLACE_KINDS};
use common::{spawn_app, Backend};
use sea_orm::{ColumnTrait, FromQueryResult, QueryFilter};
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

/// Every derived row, in key order: cells (sums to 6 places, as the map reads them), both
/// rollups, the narrow copies and their later days.
async fn derived_rows(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use app::store::entities::cluster_cell;
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm::{EntityTrait, QueryOrder};
    let mut out = Vec::new();
    for c in cluster_cell::Entity::find()
        .order_by_asc(cluster_cell::Column::Level)
        .order_by_asc(cluster_cell::Column::Category)
        .order_by_asc(cluster_cell::Column::Gy)
        .order_by_asc(cluster_cell::Column::Gx)
        .all(db)
        .await
        .unwrap()
    {
        out.push(format!(
            "cells: {} {} {} {} n={} sums={:.6},{:.6} single={:?} {:?}",
            c.level, c.category, c.gy, c.gx, c.n, c.sum_lat, c.sum_lon, c.single_id, c.single_title
        ));
    }
    for (table, sql) in [
        (
            "stats",
            r#"SELECT * FROM "stats_rollup" ORDER BY "category", "country", "month", "week""#,
        ),
        (
            "visitors",
            r#"SELECT * FROM "visitor_rollup" ORDER BY "category", "country", "day""#,
        ),
        ("facts", r#"SELECT * FROM "event_facts" ORDER BY "id""#),
        (
            "later days",
            r#"SELECT * FROM "event_fact_days" ORDER BY "event_id", "day""#,
        ),
    ] {
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        for r in rows {
            let json = serde_json::Value::from_query_result_optional(&r, "")
                .map(|v| v.map(|v| v.to_string()).unwrap_or_default())
                .unwrap_or_else(|e| format!("{e}"));
            out.push(format!("{table}: {json}"));
        }
    }
    out
}

/// The rows kept by difference are those a recount gives; a failure names the rows that
/// differ, not all of them.
fn assert_same_rows(kept: &[String], recounted: &[String], when: &str) {
    let only_kept: Vec<&String> = kept.iter().filter(|r| !recounted.contains(r)).collect();
    let only_recounted: Vec<&String> = recounted.iter().filter(|r| !kept.contains(r)).collect();
    assert!(
        only_kept.is_empty() && only_recounted.is_empty() && kept.len() == recounted.len(),
        "{when}: kept by difference but not recounted: {:?}\nrecounted but not kept: {:?}",
        &only_kept[..only_kept.len().min(10)],
        &only_recounted[..only_recounted.len().min(10)]
    );
}

/// Changes events in one transaction that lists them for the rebuilder.
async fn change_events(db: &sea_orm::DatabaseConnection, changes: &[(&str, String)]) {
    change_events_with(db, changes, false).await
}

/// Changes events the way a refresh or moderation does: in one transaction that lists them
/// (`counted` false) or counts them into the derived tables when those are up to date.
async fn change_events_with(
    db: &sea_orm::DatabaseConnection,
    changes: &[(&str, String)],
    counted: bool,
) {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let txn = db.begin().await.unwrap();
    for (id, set) in changes {
        let sql = format!(r#"UPDATE "events" SET {set} WHERE "id" = '{id}'"#);
        let r = txn
            .execute_raw(Statement::from_string(txn.get_database_backend(), sql))
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 1, "{id}: {set}");
    }
    let ids = changes.iter().map(|(id, _)| id.to_string());
    if counted {
        app::store::derived::events_changed_and_counted(&txn, ids)
            .await
            .unwrap();
    } else {
        app::store::derived::events_changed(&txn, ids)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
}

/// Whether the map's stored cells and the dashboard's rollups are marked up to date.
async fn derived_marked_valid(db: &sea_orm::DatabaseConnection) -> bool {
    let state = app::store::state::get(db).await.unwrap();
    state.cells_valid && state.rollups_valid
}

/// The derived tables kept up to date by difference (subtract each changed event's old
/// copy, add its row now) hold exactly what recounting them from all events gives: through
/// moves across cells, renames, new categories, events leaving and coming back, new impact
/// patterns and spend, and a refresh of the demo feed.
async fn derived_tables_kept_by_difference_match_a_recount(backend: Backend) {
    use app::store::derived::{rebuild_all, rebuild_if_stale, Rebuilt};
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
    let app = spawn_app(backend, true).await;
    let db = &app.db;
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
    ];
    // Small moves: some cross cell edges, some leave a neighbour alone in its cell.
    for id in &ids[6..24] {
        first.push((id, r#""lat" = "lat" + 0.37, "lon" = "lon" - 0.21"#.into()));
    }
    change_events(db, &first).await;
    assert_eq!(
        rebuild_if_stale(db).await.unwrap(),
        Some(Rebuilt::Changes(24)),
        "a few changed events are updated, not recounted"
    );
    let kept = derived_rows(db).await;
    rebuild_all(db).await.unwrap();
    assert_same_rows(&kept, &derived_rows(db).await, "after the first changes");

    // Back again, the lone event somewhere else, and the gone one returned.
    let mut second: Vec<(&str, String)> = vec![
        (&ids[2], r#""state" = 'active'"#.into()),
        (&ids[4], r#""lat" = 10.0, "lon" = 10.0"#.into()),
        (&ids[3], r#""impact" = NULL, "spend_usd" = NULL"#.into()),
    ];
    for id in &ids[6..24] {
        second.push((id, r#""lat" = "lat" - 0.37, "lon" = "lon" + 0.21"#.into()));
    }
    change_events(db, &second).await;
    assert_eq!(
        rebuild_if_stale(db).await.unwrap(),
        Some(Rebuilt::Changes(21))
    );
    let kept = derived_rows(db).await;
    rebuild_all(db).await.unwrap();
    assert_same_rows(&kept, &derived_rows(db).await, "after the second changes");

    // Counted in the transaction that changes them: the tables never go stale, so readers
    // never count live, and there is nothing left for the rebuilder.
    let generation = app::store::state::get(db).await.unwrap().events_generation;
    let third: Vec<(&str, String)> = vec![
        (&ids[2], r#""state" = 'gone'"#.into()),
        (&ids[4], r#""lat" = -89.9, "lon" = 179.95"#.into()),
        (
            &ids[5],
            r#""category" = 'expos', "start_date" = '2027-03-01'"#.into(),
        ),
        (
            &ids[7],
            r#""lat" = "lat" + 0.37, "lon" = "lon" - 0.21"#.into(),
        ),
        // Narrow copies updated in some of their columns only, and later days written
        // where there were none, or in place of others.
        (&ids[9], r#""rank" = "rank" + 3, "local_rank" = 7"#.into()),
        (&ids[10], format!(r#""impact" = {impact}"#)),
        (
            &ids[3],
            r#""impact" = '[{"date":"2027-05-01","visitors":4},{"date":"2027-05-20","visitors":9}]'"#
                .into(),
        ),
    ];
    change_events_with(db, &third, true).await;
    assert!(
        derived_marked_valid(db).await,
        "still valid after the commit"
    );
    assert_ne!(
        app::store::state::get(db).await.unwrap().events_generation,
        generation,
        "cached answers are computed again"
    );
    assert_eq!(rebuild_if_stale(db).await.unwrap(), None);
    let kept = derived_rows(db).await;
    rebuild_all(db).await.unwrap();
    assert_same_rows(
        &kept,
        &derived_rows(db).await,
        "after changes counted in place",
    );

    // While the tables are stale the change is listed for the rebuilder instead.
    change_events(db, &[(&ids[8], r#""title" = 'Listed'"#.into())]).await;
    change_events_with(db, &[(&ids[2], r#""state" = 'active'"#.into())], true).await;
    assert!(!derived_marked_valid(db).await);
    assert_eq!(
        rebuild_if_stale(db).await.unwrap(),
        Some(Rebuilt::Changes(2))
    );
    let kept = derived_rows(db).await;
    rebuild_all(db).await.unwrap();
    assert_same_rows(&kept, &derived_rows(db).await, "after listed changes");

    // A refresh of the feed counts what it changed the same way.
    let report = app.refresh().await;
    assert_eq!(report.status, "succeeded");
    assert_eq!(
        rebuild_if_stale(db).await.unwrap(),
        None,
        "the refresh caught up"
    );
    let kept = derived_rows(db).await;
    rebuild_all(db).await.unwrap();
    assert_same_rows(&kept, &derived_rows(db).await, "after a refresh");
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
    derived_tables_kept_by_difference_match_a_recount,
    migrating_carries_meta_into_store_state,
);

/// A store made before `store_state` moves forward with `toursherpa migrate` keeping every
/// fact `meta` held, and back again.
async fn migrating_carries_meta_into_store_state(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let db = common::test_db(backend).await;
    let store = app::store::connect(&db.url).await.unwrap();
    let before_state = Migrator::migrations().len() as u32 - 1;
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
    app::store::migrate(&store).await.unwrap();
    let s = app::store::state::get(&store).await.unwrap();
    assert_eq!(
        (
            s.events_generation,
            s.full_recount_asked,
            s.cells_valid,
            s.rollups_valid,
            s.longest_pattern,
            s.demo_generation,
            s.reference_fingerprint.as_deref(),
        ),
        (41, Some(40), true, false, 12, 7, Some("00ff"))
    );

    Migrator::down(&store, Some(1)).await.unwrap();
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
    assert_eq!(
        pairs,
        [
            ("cluster_cells_valid", "1"),
            ("demo_feed_generation", "7"),
            ("derived_full_rebuild", "40"),
            ("derived_generation", "41"),
            ("reference_data_fingerprint", "00ff"),
            ("stats_rollup_longest_pattern", "12"),
            ("stats_rollup_valid", "0"),
        ]
    );
    app::store::migrate(&store).await.unwrap();
    assert_eq!(
        app::store::state::get(&store)
            .await
            .unwrap()
            .events_generation,
        41
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

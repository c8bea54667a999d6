//! The refresh pipeline over the demo feed, on SQLite and PostgreSQL.

mod common;

use app::demo::feed::snapshot;
use app::ingest::diff::ProviderState;
use app::ingest::enrich::{cell, PLACE_KINDS};
use common::{spawn_app, Backend};
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

both_backends!(
    first_refresh_inserts_every_event_and_shares_place_lookups,
    later_refreshes_classify_and_enrich_only_what_changed,
);

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
}

//! The refresh pipeline against mock PredictHQ, Google Places and Duffel servers that speak
//! the documented wire formats: classes and provider calls asserted exactly, on SQLite and
//! PostgreSQL, plus a kill in the middle of enrichment followed by a re-run.

mod common;

use app::ingest::diff::SyncMode;
use app::ingest::enrich::{cell, nearest_airports, PLACE_KINDS};
use app::providers::duffel::Duffel;
use app::providers::places::GooglePlaces;
use app::providers::policy::{Caller, PolicyConfig};
use app::providers::predicthq::PredictHq;
use app::providers::{EventsClient, FlightsClient, PlacesClient, Providers};
use chrono::{Duration, NaiveDate, Utc};
use common::{spawn_app, test_db, Backend, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Mocks {
    phq: MockServer,
    google: MockServer,
    duffel: MockServer,
}

fn policy() -> PolicyConfig {
    PolicyConfig {
        rate_per_second: 0.0,
        max_retries: 2,
        timeout: std::time::Duration::from_secs(5),
        base_backoff: std::time::Duration::from_millis(10),
        ..PolicyConfig::default()
    }
}

fn providers(m: &Mocks) -> Providers {
    Providers {
        events: EventsClient::PredictHq(Box::new(PredictHq {
            caller: Caller::new("predicthq", vec!["phq-token".into()], policy()),
            base_url: m.phq.uri(),
            categories: vec!["concerts".into(), "sports".into()],
            countries: vec![],
        })),
        places: PlacesClient::Google(GooglePlaces {
            caller: Caller::new("google", vec!["g-key".into()], policy()),
            base_url: m.google.uri(),
        }),
        flights: FlightsClient::Duffel(Duffel {
            caller: Caller::new("duffel", vec!["d-token".into()], policy()),
            base_url: m.duffel.uri(),
        }),
    }
}

/// A PredictHQ event with a future date (relative to today, so the test never ages).
fn phq_event(id: &str, lat: f64, lon: f64, venue: &str, start_in_days: i64, rank: i32) -> Value {
    let start = Utc::now().date_naive() + Duration::days(start_in_days);
    json!({
        "id": id, "title": format!("Concert {id}"), "description": "Sourced from predicthq.com",
        "category": "concerts", "labels": ["concert"], "rank": rank, "local_rank": 70, "phq_attendance": 5000,
        "entities": [{"entity_id": format!("v-{venue}"), "name": venue, "type": "venue", "formatted_address": "Somewhere 1"}],
        "start": format!("{start}T19:00:00Z"), "end": format!("{start}T23:00:00Z"),
        "start_local": format!("{start}T20:00:00"), "end_local": format!("{start}T23:59:00"),
        "updated": "2026-11-01T00:00:00Z", "timezone": "Europe/Berlin",
        "location": [lon, lat],
        "geo": {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "address": {"country_code": "DE", "locality": "Berlin"}},
        "country": "DE", "state": "active"
    })
}

async fn serve_snapshot(m: &Mocks, events: Vec<Value>) {
    m.phq.reset().await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": events.len(), "overflow": false, "next": null, "previous": null, "results": events}),
        ))
        .mount(&m.phq)
        .await;
}

/// A Duffel offer request's answer (documented shape): one offer on the asked day.
fn duffel_answer(req: &Request) -> Value {
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let date = body["data"]["slices"][0]["departure_date"]
        .as_str()
        .unwrap()
        .to_string();
    json!({"data": {"id": "orq", "offers": [
        {"id": "off", "total_amount": "500.00", "total_currency": "USD", "owner": {"iata_code": "LH", "name": "Lufthansa"},
         "slices": [{"duration": "PT12H", "segments": [{"departing_at": format!("{date}T10:00:00"), "arriving_at": format!("{date}T17:00:00"),
            "marketing_carrier": {"iata_code": "LH", "name": "Lufthansa"}, "marketing_carrier_flight_number": "719"}]}]}
    ]}})
}

async fn mocks() -> Mocks {
    let m = Mocks {
        phq: MockServer::start().await,
        google: MockServer::start().await,
        duffel: MockServer::start().await,
    };
    Mock::given(method("POST"))
        .and(path("/v1/places:searchNearby"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let kind = body["includedTypes"][0].as_str().unwrap().to_string();
            let lat = body["locationRestriction"]["circle"]["center"]["latitude"].as_f64().unwrap();
            let lon = body["locationRestriction"]["circle"]["center"]["longitude"].as_f64().unwrap();
            ResponseTemplate::new(200).set_body_json(json!({"places": [
                {"id": format!("{kind}-{lat}-{lon}"), "displayName": {"text": format!("A {kind}")},
                 "location": {"latitude": lat + 0.001, "longitude": lon}, "rating": 4.2, "userRatingCount": 10}
            ]}))
        })
        .mount(&m.google)
        .await;
    Mock::given(method("POST"))
        .and(path("/air/offer_requests"))
        .respond_with(|req: &Request| ResponseTemplate::new(201).set_body_json(duffel_answer(req)))
        .mount(&m.duffel)
        .await;
    m
}

/// Distinct flight lookups (route and day) for events given as (lat, lon, start offset).
fn flight_lookups(events: &[(f64, f64, i64)]) -> HashSet<(String, String, NaiveDate)> {
    let airports = app::store::reference::bundled_airports();
    let today = Utc::now().date_naive();
    let mut out = HashSet::new();
    for (lat, lon, days) in events {
        let day = today + Duration::days(*days);
        for (iata, _) in nearest_airports(&airports, *lat, *lon) {
            out.insert(("ICN".to_string(), iata.clone(), day - Duration::days(1)));
            out.insert((iata, "ICN".to_string(), day + Duration::days(1)));
        }
    }
    out
}

async fn app_with(backend: Backend, m: &Mocks) -> TestApp {
    let mut app = spawn_app(backend, false).await;
    app.config.refresh.providers = providers(m);
    app
}

async fn classes_and_calls_are_exact_in_both_sync_modes(backend: Backend) {
    let m = mocks().await;
    let app = app_with(backend, &m).await;
    // a and b share a venue; c is across town; d is in Munich.
    let (a, b, c, d) = (
        (52.5200, 13.4050),
        (52.5200, 13.4050),
        (52.4500, 13.3000),
        (48.1374, 11.5755),
    );
    let snapshot1 = vec![
        phq_event("a", a.0, a.1, "Hall", 40, 60),
        phq_event("b", b.0, b.1, "Hall", 41, 61),
        phq_event("c", c.0, c.1, "Club", 42, 62),
        phq_event("d", d.0, d.1, "Arena", 43, 63),
    ];
    serve_snapshot(&m, snapshot1.clone()).await;
    let r1 = app.refresh().await;
    assert_eq!(r1.status, "succeeded", "{:?}", r1.errors);
    assert_eq!((r1.classes.new, r1.calls.events), (4, 1));
    let cells: HashSet<String> = [a, b, c, d]
        .iter()
        .map(|(la, lo)| cell(*la, *lo).0)
        .collect();
    assert_eq!(cells.len(), 3);
    assert_eq!(
        r1.calls.places as usize,
        3 * PLACE_KINDS.len(),
        "a and b share one lookup per kind"
    );
    let flights1 = flight_lookups(&[
        (a.0, a.1, 40),
        (b.0, b.1, 41),
        (c.0, c.1, 42),
        (d.0, d.1, 43),
    ]);
    assert_eq!(r1.calls.flights as usize, flights1.len());

    // The same snapshot with new `updated` stamps: unchanged, zero enrichment calls.
    let mut touched = snapshot1.clone();
    for e in &mut touched {
        e["updated"] = json!("2026-11-20T00:00:00Z");
    }
    serve_snapshot(&m, touched).await;
    let r2 = app.refresh().await;
    assert_eq!(r2.classes.unchanged, 4, "{:?}", r2.classes);
    assert_eq!((r2.calls.places, r2.calls.flights), (0, 0));
    assert!(r2.calls_saved > 0);

    // Every other class at once: a moves 2 km, b changes rank, c is cancelled,
    // d's dates move, e is new, in the Munich cell d already has.
    let a_moved = (a.0 + 0.018, a.1);
    let snapshot3 = vec![
        phq_event("a", a_moved.0, a_moved.1, "Hall", 40, 60),
        phq_event("b", b.0, b.1, "Hall", 41, 75),
        {
            let mut e = phq_event("c", c.0, c.1, "Club", 42, 62);
            e["state"] = json!("deleted");
            e["deleted_reason"] = json!("cancelled");
            e
        },
        phq_event("d", d.0, d.1, "Arena", 50, 63),
        phq_event("e", d.0 + 0.001, d.1, "Arena Annex", 44, 50),
    ];
    for (mode, label) in [
        (SyncMode::Full, "full"),
        (SyncMode::Incremental, "incremental"),
    ] {
        // Both modes start from the same point: a fresh store after the first snapshot.
        let m2 = mocks().await;
        let mut fresh = app_with(backend, &m2).await;
        fresh.config.refresh.mode = mode;
        serve_snapshot(&m2, snapshot1.clone()).await;
        assert_eq!(fresh.refresh().await.status, "succeeded");
        // Every record changed, so a full snapshot and an incremental answer hold the same.
        serve_snapshot(&m2, snapshot3.clone()).await;
        let r3 = fresh.refresh().await;
        assert_eq!(r3.status, "succeeded", "{label}: {:?}", r3.errors);
        let c3 = &r3.classes;
        assert_eq!(
            (c3.moved, c3.changed, c3.gone, c3.new),
            (1, 2, 1, 1),
            "{label}: {c3:?}"
        );
        let new_cells: HashSet<String> = [a_moved, (d.0 + 0.001, d.1)]
            .iter()
            .map(|(la, lo)| cell(*la, *lo).0)
            .filter(|k| !cells.contains(k))
            .collect();
        assert_eq!(
            r3.calls.places as usize,
            new_cells.len() * PLACE_KINDS.len(),
            "{label}"
        );
        let wanted = flight_lookups(&[
            (a_moved.0, a_moved.1, 40),
            (d.0, d.1, 50),
            (d.0 + 0.001, d.1, 44),
        ]);
        assert_eq!(
            r3.calls.flights as usize,
            wanted.difference(&flights1).count(),
            "{label}"
        );
        let last = m2.phq.received_requests().await.unwrap().pop().unwrap();
        let asked_since = last.url.query_pairs().any(|(k, _)| k == "updated.gte");
        assert_eq!(
            asked_since,
            mode == SyncMode::Incremental,
            "{label}: {}",
            last.url
        );
        let (_, gone) = fresh.get_json("/api/v1/events/c").await;
        assert_eq!(
            (gone["state"].as_str(), gone["gone_reason"].as_str()),
            (Some("gone"), Some("cancelled"))
        );
    }
}

async fn a_failed_provider_defers_work_that_the_next_run_finishes(backend: Backend) {
    let m = mocks().await;
    let app = app_with(backend, &m).await;
    serve_snapshot(
        &m,
        vec![
            phq_event("a", 52.52, 13.405, "Hall", 40, 60),
            phq_event("b", 48.14, 11.58, "Arena", 41, 60),
        ],
    )
    .await;
    // Duffel is down for the whole first run.
    m.duffel.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&m.duffel)
        .await;
    let r1 = app.refresh().await;
    assert_eq!(r1.status, "succeeded");
    assert_eq!(r1.deferred, 2, "{r1:?}");
    assert!(
        r1.errors.iter().any(|e| e.starts_with("duffel")),
        "{:?}",
        r1.errors
    );
    let places_after_first = r1.calls.places;

    // Back up: the next run (with an unchanged snapshot) finishes the flights and repeats
    // none of the places lookups already stored.
    let healthy = mocks().await;
    m.duffel.reset().await;
    let mut app = app;
    app.config.refresh.providers.flights = providers(&healthy).flights;
    let r2 = app.refresh().await;
    assert_eq!(r2.classes.unchanged, 2);
    assert_eq!(r2.deferred, 0, "{r2:?}");
    assert_eq!(r2.calls.places, 0);
    let wanted = flight_lookups(&[(52.52, 13.405, 40), (48.14, 11.58, 41)]);
    assert_eq!(r2.calls.flights as usize, wanted.len());
    assert!(places_after_first > 0);
}

/// Providers failing in each documented way: the events provider's garbage or 500s end
/// the run as `failed` with the error recorded and nothing written; a places provider
/// sending garbage and a flights provider timing out leave the run `succeeded`, their
/// errors recorded and their work owed. Hostile markup in provider text is stored as
/// text and rendered escaped.
async fn provider_faults_end_runs_cleanly_and_markup_stays_text(backend: Backend) {
    let m = mocks().await;
    let mut app = app_with(backend, &m).await;
    let hostile =
        r#"</title><script>window.__x=1</script><img src=x onerror="alert(1)">Fest & "Co""#;
    let mut first = phq_event("hostile", 52.52, 13.405, "Hall", 40, 60);
    first["title"] = json!(hostile);
    first["entities"][0]["name"] = json!(hostile);
    first["description"] = json!(hostile);
    serve_snapshot(&m, vec![first]).await;
    let r1 = app.refresh().await;
    assert_eq!(
        (r1.status.as_str(), r1.classes.new),
        ("succeeded", 1),
        "{r1:?}"
    );

    // The stored text is the provider's, and pages show it as text, never as markup.
    let (_, e) = app.get_json("/api/v1/events/hostile").await;
    assert_eq!(e["title"], hostile);
    let html = app.get("/events/hostile").await.text().await.unwrap();
    assert!(
        !html.contains("<script>window.__x"),
        "markup reached the page"
    );
    assert!(!html.contains("<img src=x"), "markup reached the page");
    assert!(
        html.contains("&lt;script&gt;window.__x=1&lt;/script&gt;"),
        "title not shown escaped"
    );
    let home = app.get("/?q=Fest").await.text().await.unwrap();
    assert!(!home.contains("<img src=x") && home.contains("&lt;img src=x"));

    // Garbage from the events provider: the run fails with the reason, nothing changes.
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html>Service Unavailable</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"results": "not a list"})),
        ResponseTemplate::new(500).set_body_string("Internal Server Error"),
    ] {
        m.phq.reset().await;
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&m.phq)
            .await;
        let r = app.refresh().await;
        assert_eq!(r.status, "failed", "{r:?}");
        assert!(
            r.errors.iter().any(|e| e.starts_with("predicthq")),
            "{:?}",
            r.errors
        );
        let (_, e) = app.get_json("/api/v1/events/hostile").await;
        assert_eq!(e["title"], hostile, "a failed fetch changed the store");
    }

    // A new event while places answer garbage and flights never answer in time.
    let mut second = phq_event("second", 48.14, 11.58, "Arena", 41, 60);
    second["title"] = json!("Second");
    serve_snapshot(
        &m,
        vec![phq_event("hostile", 52.52, 13.405, "Hall", 40, 60), second],
    )
    .await;
    m.google.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"places\": [ {\"id\": "))
        .mount(&m.google)
        .await;
    m.duffel.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(std::time::Duration::from_secs(30)))
        .mount(&m.duffel)
        .await;
    app.config.refresh.providers = providers(&m);
    app.config.refresh.providers.flights = FlightsClient::Duffel(Duffel {
        caller: Caller::new(
            "duffel",
            vec!["d-token".into()],
            PolicyConfig {
                timeout: std::time::Duration::from_millis(300),
                ..policy()
            },
        ),
        base_url: m.duffel.uri(),
    });
    let r = app.refresh().await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(r.classes.new, 1);
    assert!(
        r.errors.iter().any(|e| e.starts_with("google")),
        "{:?}",
        r.errors
    );
    assert!(
        r.errors.iter().any(|e| e.starts_with("duffel")),
        "{:?}",
        r.errors
    );
    assert!(r.deferred >= 1, "{r:?}");
    let (_, e) = app.get_json("/api/v1/events/second").await;
    assert_eq!(
        e["title"], "Second",
        "the events were committed despite the enrichment faults"
    );
}

both_backends!(
    classes_and_calls_are_exact_in_both_sync_modes,
    provider_faults_end_runs_cleanly_and_markup_stays_text,
    a_failed_provider_defers_work_that_the_next_run_finishes,
    two_processes_opening_a_new_store_at_once_both_succeed,
    a_large_first_load_keeps_every_index_and_count,
);

#[tokio::test]
async fn a_second_refresh_is_refused_while_one_runs() {
    let db = test_db(Backend::Sqlite).await;
    let store = app::store::connect(&db.url).await.unwrap();
    app::store::migrate(&store).await.unwrap();
    let held = app::store::lock::RefreshLock::acquire(&store)
        .await
        .unwrap()
        .expect("first lock");
    let refused = app::ingest::refresh(&store, &app::ingest::RefreshConfig::default()).await;
    assert!(matches!(
        refused,
        Err(app::ingest::RefreshError::AlreadyRunning)
    ));
    held.release(&store).await.unwrap();
    assert!(
        app::ingest::refresh(&store, &app::ingest::RefreshConfig::default())
            .await
            .is_ok()
    );
}

/// The store's content that a refresh decides, in a comparable form.
async fn store_content(url: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app::store::connect(url).await.unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT id || '|' || fingerprint || '|' || state AS r FROM events ORDER BY id",
        "SELECT event_id || '|' || iata AS r FROM event_airports ORDER BY event_id, iata",
        "SELECT provider || '|' || provider_id || '|' || name AS r FROM places ORDER BY provider, provider_id",
        "SELECT origin || '|' || destination || '|' || CAST(depart_date AS TEXT) || '|' || CAST(price_minor AS TEXT) AS r FROM flight_offers ORDER BY 1",
        "SELECT event_id AS r FROM pending_enrichment ORDER BY event_id",
    ] {
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        out.push(format!("-- {sql}"));
        for row in rows {
            out.push(row.try_get::<String>("", "r").unwrap());
        }
    }
    out
}

fn ingest_command(url: &str, m: &Mocks) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_toursherpa"));
    cmd.args(["ingest", "--full", "--json"])
        .env("DATABASE_URL", url)
        .env("TOURSHERPA_EVENTS_PROVIDER", "predicthq")
        .env("PREDICTHQ_TOKEN", "phq-token")
        .env("PREDICTHQ_BASE_URL", m.phq.uri())
        .env("PREDICTHQ_CATEGORIES", "concerts")
        .env("TOURSHERPA_PLACES_PROVIDER", "google")
        .env("GOOGLE_PLACES_KEY", "g-key")
        .env("GOOGLE_PLACES_BASE_URL", m.google.uri())
        .env("TOURSHERPA_FLIGHTS_PROVIDER", "duffel")
        .env("DUFFEL_TOKEN", "d-token")
        .env("DUFFEL_BASE_URL", m.duffel.uri())
        .env("GOOGLE_PLACES_RATE_PER_SECOND", "0")
        .env("DUFFEL_RATE_PER_SECOND", "0")
        .env("PREDICTHQ_RATE_PER_SECOND", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn cities() -> Vec<Value> {
    [
        ("berlin", 52.52, 13.405),
        ("munich", 48.137, 11.575),
        ("hamburg", 53.551, 9.993),
        ("cologne", 50.937, 6.96),
        ("vienna", 48.208, 16.373),
        ("zurich", 47.376, 8.541),
    ]
    .iter()
    .enumerate()
    .map(|(i, (id, lat, lon))| phq_event(id, *lat, *lon, "Hall", 30 + i as i64, 60))
    .collect()
}

/// Kill -9 in the middle of enrichment, run again: the store ends as after an
/// uninterrupted run, and stored lookups are not paid for twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_refresh_is_finished_by_the_next_run() {
    // Uninterrupted reference run.
    let reference = mocks().await;
    serve_snapshot(&reference, cities()).await;
    let ref_db = test_db(Backend::Sqlite).await;
    let out = ingest_command(&ref_db.url, &reference).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference_calls = reference.duffel.received_requests().await.unwrap().len();

    // Interrupted run: Duffel answers slowly, and the process is killed mid-enrichment.
    let m = mocks().await;
    serve_snapshot(&m, cities()).await;
    m.duffel.reset().await;
    Mock::given(method("POST"))
        .and(path("/air/offer_requests"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(201)
                .set_delay(std::time::Duration::from_millis(150))
                .set_body_json(duffel_answer(req))
        })
        .mount(&m.duffel)
        .await;
    let db = test_db(Backend::Sqlite).await;
    let mut child = ingest_command(&db.url, &m).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n = m.duffel.received_requests().await.unwrap().len();
        if n >= reference_calls / 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached enrichment"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no clean-up runs
    let _ = child.wait();
    let calls_before_kill = m.duffel.received_requests().await.unwrap().len();
    assert!(calls_before_kill < reference_calls, "killed before the end");

    let rerun = ingest_command(&db.url, &m).output().unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let last = String::from_utf8(rerun.stdout).unwrap();
    let report: Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(report["classes"]["unchanged"], 6, "{report}");
    let total_calls = m.duffel.received_requests().await.unwrap().len();
    // At most the requests in flight at the kill, whose answers were never stored, are
    // made again.
    assert!(
        total_calls <= reference_calls + app::ingest::enrich::LOOKUPS_IN_FLIGHT,
        "{total_calls} calls against {reference_calls}"
    );
    assert_eq!(
        store_content(&db.url).await,
        store_content(&ref_db.url).await
    );
}

/// Serves the app with the test's providers: `AppState` is built from the config, so a
/// test that swapped the providers after spawning needs a router of its own.
async fn serve_with_providers(app: &TestApp) -> String {
    common::serve(&app.config, app.db.clone()).await
}

/// Today's Duffel calls as the store counts them.
async fn duffel_usage_today(app: &TestApp) -> u32 {
    app::store::usage::usage(&app.db, "duffel", Utc::now().date_naive())
        .await
        .unwrap()
}

async fn page(app: &TestApp, url: String) -> String {
    let resp = app.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// A traveller's origin that the refresh does not cover is fetched when the event page
/// asks for it, once: the second view is served from the cache. The calls are added to
/// the day's count in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flights_from_another_origin_are_fetched_on_demand_once() {
    let m = mocks().await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    app.config.refresh.providers = providers(&m);
    serve_snapshot(&m, vec![phq_event("a", 52.52, 13.405, "Hall", 40, 60)]).await;
    assert_eq!(app.refresh().await.status, "succeeded");
    let base = serve_with_providers(&app).await;
    let counted_by_the_refresh = duffel_usage_today(&app).await;
    assert_eq!(
        counted_by_the_refresh as usize,
        m.duffel.received_requests().await.unwrap().len()
    );

    let before = m.duffel.received_requests().await.unwrap().len();
    let html = page(&app, format!("{base}/events/a?origin=nrt")).await;
    let asked: Vec<Value> = m.duffel.received_requests().await.unwrap()[before..]
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let airports =
        nearest_airports(&app::store::reference::bundled_airports(), 52.52, 13.405).len();
    assert_eq!(
        asked.len(),
        2 * airports,
        "both ways to each nearest airport"
    );
    assert!(asked
        .iter()
        .any(|b| b["data"]["slices"][0]["origin"] == "NRT"));
    assert!(
        html.contains("From NRT") && html.contains("Lufthansa"),
        "offers shown"
    );
    assert_eq!(
        duffel_usage_today(&app).await,
        counted_by_the_refresh + asked.len() as u32,
        "on-demand calls counted in the store"
    );
    let again = m.duffel.received_requests().await.unwrap().len();
    page(&app, format!("{base}/events/a?origin=NRT")).await;
    assert_eq!(
        m.duffel.received_requests().await.unwrap().len(),
        again,
        "cached"
    );
}

/// The flights budget is the day's, shared by every process on the store: once the calls
/// counted in the store (by a refresh elsewhere, say) reach it, the event page makes no
/// more on-demand lookups and shows what is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_lookups_respect_the_budget_other_processes_spent() {
    let m = mocks().await;
    let mut app = spawn_app(Backend::Sqlite, false).await;
    let mut providers = providers(&m);
    if let FlightsClient::Duffel(d) = &mut providers.flights {
        let mut budgeted = policy();
        budgeted.daily_budget = 1000;
        d.caller = Caller::new("duffel", vec!["d-token".into()], budgeted);
    }
    app.config.refresh.providers = providers;
    serve_snapshot(&m, vec![phq_event("a", 52.52, 13.405, "Hall", 40, 60)]).await;
    assert_eq!(app.refresh().await.status, "succeeded");
    let base = serve_with_providers(&app).await;
    // Another process spends the rest of today's budget.
    use app::store::entities::provider_usage;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    provider_usage::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    provider_usage::Entity::insert(provider_usage::ActiveModel {
        provider: Set("duffel".into()),
        day: Set(Utc::now().date_naive()),
        calls: Set(1000),
    })
    .exec(&app.db)
    .await
    .unwrap();
    let before = m.duffel.received_requests().await.unwrap().len();
    let html = page(&app, format!("{base}/events/a?origin=NRT")).await;
    assert_eq!(
        m.duffel.received_requests().await.unwrap().len(),
        before,
        "no call past the day's budget"
    );
    assert!(html.contains("Hall"), "the page still renders");
    assert_eq!(duffel_usage_today(&app).await, 1000);
}

/// Two processes starting together on a new store (as after a deploy) both open it: the
/// one that loses the race to create the schema or load the reference data finds it done.
async fn two_processes_opening_a_new_store_at_once_both_succeed(backend: Backend) {
    let db = test_db(backend).await;
    let config = common::test_config(&db.url);
    let (a, b) = tokio::join!(server::open_store(&config), server::open_store(&config));
    let (a, b) = (a.expect("first opens"), b.expect("second opens"));
    for store in [&a, &b] {
        use sea_orm::{EntityTrait, PaginatorTrait};
        let airports = app::store::entities::airport::Entity::find()
            .count(store)
            .await
            .unwrap();
        assert!(airports > 1000, "{airports}");
    }
}

/// The store's indexes on the tables a large load writes around (by name and definition).
async fn index_definitions(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname || ' ' || indexdef AS r FROM pg_indexes WHERE tablename IN \
             ('events', 'event_history', 'pending_enrichment') ORDER BY 1"
        }
        _ => {
            "SELECT name || ' ' || COALESCE(sql, '') AS r FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('events', 'event_history', 'pending_enrichment') ORDER BY 1"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<String>("", "r").unwrap())
        .collect()
}

/// A first load past the bulk threshold (10,000 new events), which SQLite writes with the
/// tables' indexes dropped and created again: every index is back as it was, and the
/// events, the owed work, the history and the derived counts are all there.
async fn a_large_first_load_keeps_every_index_and_count(backend: Backend) {
    use app::store::entities::{cluster_cell, event, event_history, pending_enrichment};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let m = mocks().await;
    let mut app = app_with(backend, &m).await;
    // Small budgets: enrichment is not what this test is about.
    let budget = PolicyConfig {
        daily_budget: 3,
        ..policy()
    };
    app.config.refresh.providers.places = PlacesClient::Google(GooglePlaces {
        caller: Caller::new("google", vec!["g-key".into()], budget.clone()),
        base_url: m.google.uri(),
    });
    app.config.refresh.providers.flights = FlightsClient::Duffel(Duffel {
        caller: Caller::new("duffel", vec!["d-token".into()], budget),
        base_url: m.duffel.uri(),
    });
    let indexes = index_definitions(&app.db).await;
    assert!(indexes.len() > 15, "{indexes:?}");
    const N: usize = 12_000;
    let events: Vec<Value> = (0..N)
        .map(|i| {
            let (lat, lon) = (
                48.0 + (i % 100) as f64 * 0.05,
                8.0 + (i / 100) as f64 * 0.05,
            );
            phq_event(
                &format!("bulk{i:05}"),
                lat,
                lon,
                "Hall",
                1 + (i % 300) as i64,
                50,
            )
        })
        .collect();
    serve_snapshot(&m, events).await;
    let report = app.refresh().await;
    assert_eq!(report.status, "succeeded", "{:?}", report.errors);
    assert_eq!(report.classes.new as usize, N);

    assert_eq!(index_definitions(&app.db).await, indexes);
    let db = &app.db;
    assert_eq!(event::Entity::find().count(db).await.unwrap() as usize, N);
    assert_eq!(
        event_history::Entity::find().count(db).await.unwrap() as usize,
        N
    );
    let owed = pending_enrichment::Entity::find().count(db).await.unwrap() as usize;
    assert!(owed > N - 100 && owed <= N, "{owed} owed");
    let counted: i64 = cluster_cell::Entity::find()
        .filter(cluster_cell::Column::Level.eq(0))
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|c| c.n)
        .sum();
    assert_eq!(
        counted as usize, N,
        "the coarsest map cells count every event"
    );
    // The store answers through them again: a search by rank.
    let (status, body) = app.get_json("/api/v1/events?rank_min=40&limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 5, "{body}");
}

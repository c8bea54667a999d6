//! The dashboard's statistics against answers worked out by hand on a small fixture, on
//! SQLite and PostgreSQL, through `GET /api/v1/stats/{name}`.

mod common;

use app::ingest::diff::{ProviderState, SnapshotEvent};
use app::types::SpendIndustries;
use chrono::NaiveDate;
use common::{spawn_app, Backend, TestApp};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::Value;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// id, category, country, start, end, rank, attendance, active.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i32,
    Option<i64>,
    bool,
);

/// Eight events (one gone); 2027-03-01 and 2027-04-05 are Mondays, 2026-11-26 a Thursday.
const FIXTURE: [Row; 8] = [
    (
        "a",
        "concerts",
        "KR",
        "2027-03-01",
        "2027-03-02",
        90,
        Some(50_000),
        true,
    ),
    (
        "b",
        "concerts",
        "KR",
        "2027-03-10",
        "2027-03-10",
        70,
        Some(10_000),
        true,
    ),
    (
        "c",
        "sports",
        "JP",
        "2027-03-03",
        "2027-03-05",
        80,
        None,
        true,
    ),
    (
        "d",
        "sports",
        "KR",
        "2027-04-05",
        "2027-04-06",
        60,
        Some(30_000),
        true,
    ),
    (
        "e",
        "festivals",
        "FR",
        "2027-04-11",
        "2027-04-12",
        95,
        Some(200_000),
        true,
    ),
    (
        "f",
        "expos",
        "JP",
        "2026-11-20",
        "2026-11-22",
        50,
        Some(5_000),
        true,
    ),
    (
        "g",
        "concerts",
        "FR",
        "2026-11-25",
        "2026-11-28",
        40,
        Some(1_000),
        true,
    ),
    (
        "h",
        "concerts",
        "KR",
        "2027-05-01",
        "2027-05-01",
        99,
        Some(999_999),
        false,
    ),
];

/// Predicted spend and its split by industry for some of the fixture's events.
fn spend_of(id: &str) -> Option<(i64, Option<SpendIndustries>)> {
    let split = |a, h, t| {
        Some(SpendIndustries {
            accommodation: a,
            hospitality: h,
            transportation: t,
        })
    };
    match id {
        "a" => Some((1000, split(Some(400), Some(300), Some(200)))),
        "b" => Some((500, None)),
        "d" => Some((2000, split(Some(1000), Some(500), Some(500)))),
        "e" => Some((3000, split(Some(1500), Some(1000), None))),
        "h" => Some((99_999, split(Some(99_999), None, None))),
        _ => None,
    }
}

async fn fixture(backend: Backend) -> TestApp {
    let app = spawn_app(backend, false).await;
    let now = chrono::Utc::now();
    for (id, category, country, start, end, rank, attendance, active) in FIXTURE {
        let e = SnapshotEvent {
            id: id.into(),
            title: format!("Event {id}"),
            description: String::new(),
            category: category.into(),
            labels: Vec::new(),
            rank,
            local_rank: None,
            attendance,
            spend_usd: spend_of(id).map(|s| s.0),
            start: d(start),
            end: d(end),
            timezone: "UTC".into(),
            venue_name: String::new(),
            address: String::new(),
            city: String::new(),
            country: country.into(),
            lat: 10.0,
            lon: 10.0,
            state: ProviderState::Active,
            updated: None,
            starts_at: None,
            ends_at: None,
            impact: Vec::new(),
            spend_industries: spend_of(id).and_then(|s| s.1),
            region: None,
        };
        let mut row = app::ingest::active_model(&e, "fixture", now, 0);
        row.last_run_id = Set(None);
        if !active {
            row.state = Set("gone".into());
        }
        row.insert(&app.db).await.unwrap();
    }
    app
}

async fn stat(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get_json(&format!("/api/v1/stats/{path}")).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].clone()
}

fn counts(items: &Value, key: &str) -> Vec<(String, u64)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i[key].as_str().unwrap().to_string(),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

async fn statistics_match_the_hand_counts(backend: Backend) {
    let app = fixture(backend).await;
    let cats = stat(&app, "categories").await;
    assert_eq!(
        counts(&cats, "key"),
        pairs(&[
            ("concerts", 3),
            ("sports", 2),
            ("expos", 1),
            ("festivals", 1)
        ])
    );
    let countries = stat(&app, "countries").await;
    assert_eq!(
        counts(&countries, "key"),
        pairs(&[("KR", 3), ("FR", 2), ("JP", 2)])
    );
    assert_eq!(
        counts(&countries, "label"),
        pairs(&[("South Korea", 3), ("France", 2), ("Japan", 2)])
    );

    let month = stat(&app, "timeline").await;
    let rows = |v: &Value| -> Vec<(String, String, u64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["period"].as_str().unwrap().to_string(),
                    r["category"].as_str().unwrap().to_string(),
                    r["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let want = |v: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
        v.iter()
            .map(|(p, c, n)| (p.to_string(), c.to_string(), *n))
            .collect()
    };
    assert_eq!(
        rows(&month),
        want(&[
            ("2026-11", "concerts", 1),
            ("2026-11", "expos", 1),
            ("2027-03", "concerts", 2),
            ("2027-03", "sports", 1),
            ("2027-04", "festivals", 1),
            ("2027-04", "sports", 1),
        ])
    );
    let week = stat(&app, "timeline?unit=week").await;
    assert_eq!(
        rows(&week),
        want(&[
            ("2026-11-16", "expos", 1),
            ("2026-11-23", "concerts", 1),
            ("2027-03-01", "concerts", 1),
            ("2027-03-01", "sports", 1),
            ("2027-03-08", "concerts", 1),
            ("2027-04-05", "festivals", 1),
            ("2027-04-05", "sports", 1),
        ])
    );

    let scatter = stat(&app, "rank-attendance").await;
    let points: Vec<(String, i64, i64)> = scatter
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["rank"].as_i64().unwrap(),
                p["attendance"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_points: Vec<(String, i64, i64)> = [
        ("e", 95, 200_000),
        ("a", 90, 50_000),
        ("b", 70, 10_000),
        ("d", 60, 30_000),
        ("f", 50, 5_000),
        ("g", 40, 1_000),
    ]
    .iter()
    .map(|(i, r, a)| (i.to_string(), *r, *a))
    .collect();
    assert_eq!(points, want_points);

    // Spend per country: events without a split count in the total only; a gone event
    // not at all.
    let spend = stat(&app, "spend").await;
    let rows: Vec<(String, i64, i64, i64, i64)> = spend
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["total"].as_i64().unwrap(),
                r["accommodation"].as_i64().unwrap(),
                r["hospitality"].as_i64().unwrap(),
                r["transportation"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("KR".to_string(), 3500, 1400, 800, 700),
            ("FR".to_string(), 3000, 1500, 1000, 0),
        ]
    );
    assert_eq!(spend[0]["label"], "South Korea");

    // Filtered: the same filters as the map.
    let concerts = stat(&app, "countries?category=concerts").await;
    assert_eq!(counts(&concerts, "key"), pairs(&[("KR", 2), ("FR", 1)]));
    let spring = stat(&app, "categories?from=2027-03-04&to=2027-04-30&rank_min=61").await;
    assert_eq!(
        counts(&spring, "key"),
        pairs(&[("concerts", 1), ("festivals", 1), ("sports", 1)])
    );

    for bad in [
        "categories?unit=week",
        "timeline?unit=year",
        "countries?rank_min=200",
        "countries?colour=red",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/stats/{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = app.get_json("/api/v1/stats/nonsense").await;
    assert_eq!(status, 404);
}

/// The cards, on a fixed day (2026-11-26), through the query the page and the API share.
async fn cards_on_a_fixed_day(backend: Backend) {
    let app = fixture(backend).await;
    let cards = app::store::stats::cards(&app.db, &Default::default(), d("2026-11-26"))
        .await
        .unwrap();
    let ids = |v: &[app::types::EventSummary]| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&cards.top_rank), ["e", "a", "c", "b", "d"]);
    assert_eq!(ids(&cards.top_attendance), ["e", "a", "d", "b", "f"]);
    assert_eq!(ids(&cards.starting_soon), ["a", "c", "b", "d", "e"]);
    assert_eq!(ids(&cards.ending_soon), ["g", "a", "c", "b", "d"]);
    // Through the API the cards are computed for today and have the same shape.
    let (status, body) = app.get_json("/api/v1/stats/cards").await;
    assert_eq!(status, 200);
    assert!(body["items"]["top_rank"].as_array().unwrap().len() == 5);
}

both_backends!(statistics_match_the_hand_counts, cards_on_a_fixed_day);

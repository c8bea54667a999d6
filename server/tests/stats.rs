//! The dashboard's statistics against answers worked out by hand on a small fixture, on
//! SQLite and PostgreSQL, through `GET /api/v1/stats/{name}`.

mod common;

use app::ingest::diff::{ProviderState, SnapshotEvent};
use app::types::{DemandDay, SpendIndustries};
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

/// Expected visitors per day for some of the fixture's events (the gone `h` too).
fn impact_of(id: &str) -> Vec<DemandDay> {
    if id == "e" {
        // Twelve days: ten of 10 visitors, then 100,000 and 50 (past the ten days kept in
        // columns of the narrow copy).
        let mut days: Vec<(String, i64)> =
            (1..=10).map(|d| (format!("2027-04-{d:02}"), 10)).collect();
        days.push(("2027-04-11".into(), 100_000));
        days.push(("2027-04-12".into(), 50));
        return days
            .into_iter()
            .map(|(date, visitors)| DemandDay {
                date,
                visitors,
                position: "event_day".into(),
            })
            .collect();
    }
    let days: &[(&str, i64)] = match id {
        "a" => &[
            ("2027-02-28", 1000),
            ("2027-03-01", 5000),
            ("2027-03-02", 4000),
        ],
        "c" => &[("2027-03-01", 2000), ("2027-03-03", 8000)],
        "h" => &[("2027-03-01", 999)],
        _ => &[],
    };
    days.iter()
        .map(|(date, visitors)| DemandDay {
            date: date.to_string(),
            visitors: *visitors,
            position: "event_day".into(),
        })
        .collect()
}

/// The airports serving the fixture's events, and stored offers around ICN: only offers
/// between ICN and an airport serving an active event of the filter count.
async fn fare_fixture(app: &TestApp) {
    use app::store::entities::{event_airport, flight_offer};
    for (event, iata) in [("c", "NRT"), ("e", "CDG"), ("d", "PUS"), ("h", "CJU")] {
        event_airport::ActiveModel {
            event_id: Set(event.into()),
            iata: Set(iata.into()),
            distance_km: Set(20.0),
            position: Set(0),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let now = chrono::Utc::now();
    for (origin, destination, price_minor, currency) in [
        ("ICN", "NRT", 30_000, "USD"),
        ("ICN", "NRT", 40_000, "USD"),
        ("NRT", "ICN", 20_000, "USD"),
        ("ICN", "CDG", 90_000, "USD"),
        ("ICN", "CDG", 110_000, "USD"),
        ("ICN", "CDG", 100_000, "USD"),
        ("ICN", "PUS", 5_000, "USD"),
        ("ICN", "PUS", 60_000, "KRW"),
        ("ICN", "CJU", 7_000, "USD"),
        ("GMP", "NRT", 10_000, "USD"),
        ("ICN", "LAX", 50_000, "USD"),
    ] {
        flight_offer::ActiveModel {
            provider: Set("fixture".into()),
            origin: Set(origin.into()),
            destination: Set(destination.into()),
            depart_date: Set(d("2027-03-01")),
            carrier_code: Set("ZZ".into()),
            carrier_name: Set("Fixture Air".into()),
            flight_number: Set(None),
            stops: Set(0),
            departs_at: Set("2027-03-01T09:00:00".into()),
            arrives_at: Set("2027-03-01T12:00:00".into()),
            duration_minutes: Set(180),
            price_minor: Set(price_minor),
            currency: Set(currency.into()),
            booking_url: Set(None),
            fetched_at: Set(now),
            expires_at: Set(now + chrono::Duration::days(1)),
            demo: Set(false),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

async fn fixture(backend: Backend) -> TestApp {
    let app = spawn_app(backend, false).await;
    let now = chrono::Utc::now();
    let w = app::store::write::Write::events(&app.db).await.unwrap();
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
            impact: impact_of(id),
            spend_industries: spend_of(id).and_then(|s| s.1),
            region: None,
        };
        let mut row = app::ingest::active_model(&e, "fixture", now, 0);
        row.last_run_id = Set(None);
        if !active {
            row.state = Set("gone".into());
        }
        row.insert(w.txn()).await.unwrap();
    }
    w.commit().await.unwrap();
    fare_fixture(&app).await;
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

/// Counted from the rollups (unfiltered, or by category and country) and live from the
/// events (any other filter): the answers the fixture's events give by hand.
async fn statistics_match_the_hand_counts(backend: Backend) {
    use app::store::entities::{stats_rollup, visitor_rollup};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = fixture(backend).await;
    // 7 (category, country, month, week) groups; 17 (category, country, day) visitor cells.
    let rows = stats_rollup::Entity::find().count(&app.db).await.unwrap()
        + visitor_rollup::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(rows, 7 + 17);
    check_hand_counts(&app).await;
}

/// Country, currency, outbound average and offers, return average and offers.
type FareLine = (String, String, Option<f64>, u64, Option<f64>, u64);

async fn check_hand_counts(app: &TestApp) {
    let cats = stat(app, "categories").await;
    assert_eq!(
        counts(&cats, "key"),
        pairs(&[
            ("concerts", 3),
            ("sports", 2),
            ("expos", 1),
            ("festivals", 1)
        ])
    );
    let countries = stat(app, "countries").await;
    assert_eq!(
        counts(&countries, "key"),
        pairs(&[("KR", 3), ("FR", 2), ("JP", 2)])
    );
    assert_eq!(
        counts(&countries, "label"),
        pairs(&[("South Korea", 3), ("France", 2), ("Japan", 2)])
    );

    let month = stat(app, "timeline").await;
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
    let week = stat(app, "timeline?unit=week").await;
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

    let scatter = stat(app, "rank-attendance").await;
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
    // A filter the rollups cannot answer picks its points from the narrow copies once
    // they are built: the same points.
    let ranked = stat(app, "rank-attendance?rank_min=60").await;
    let ids: Vec<&str> = ranked
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e", "a", "b", "d"]);
    assert_eq!(ranked[0]["title"], "Event e");

    // Spend per country: events without a split count in the total only; a gone event
    // not at all.
    let spend = stat(app, "spend").await;
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
    let concerts = stat(app, "countries?category=concerts").await;
    assert_eq!(counts(&concerts, "key"), pairs(&[("KR", 2), ("FR", 1)]));
    let spring = stat(app, "categories?from=2027-03-04&to=2027-04-30&rank_min=61").await;
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

    // Visitors per day: the impact patterns of the active events, summed per day.
    let days = |v: &Value| -> Vec<(String, i64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["day"].as_str().unwrap().to_string(),
                    r["visitors"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let want_days = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    };
    assert_eq!(
        days(&stat(app, "visitors").await),
        want_days(&[
            ("2027-02-28", 1000),
            ("2027-03-01", 7000),
            ("2027-03-02", 4000),
            ("2027-03-03", 8000),
            ("2027-04-01", 10),
            ("2027-04-02", 10),
            ("2027-04-03", 10),
            ("2027-04-04", 10),
            ("2027-04-05", 10),
            ("2027-04-06", 10),
            ("2027-04-07", 10),
            ("2027-04-08", 10),
            ("2027-04-09", 10),
            ("2027-04-10", 10),
            ("2027-04-11", 100_000),
            ("2027-04-12", 50),
        ])
    );
    // A filter the rollups cannot answer (counted from the events, or from their narrow
    // copies once those are built), with days past the tenth of a pattern.
    assert_eq!(
        days(&stat(app, "visitors?rank_min=91&from=2027-04-10").await),
        want_days(&[
            ("2027-04-10", 10),
            ("2027-04-11", 100_000),
            ("2027-04-12", 50)
        ])
    );
    assert_eq!(
        days(&stat(app, "visitors?category=concerts").await),
        want_days(&[
            ("2027-02-28", 1000),
            ("2027-03-01", 5000),
            ("2027-03-02", 4000)
        ])
    );
    // A date filter keeps the events that overlap it, and only its days.
    assert_eq!(
        days(&stat(app, "visitors?from=2027-03-01&to=2027-03-02").await),
        want_days(&[("2027-03-01", 5000), ("2027-03-02", 4000)])
    );

    // Fares from ICN to the airports of the filtered events, per country and currency,
    // cheapest outbound first; the count each average rests on.
    let fares = |v: &Value| -> Vec<FareLine> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["currency"].as_str().unwrap().to_string(),
                    r["outbound_avg"].as_f64(),
                    r["outbound_offers"].as_u64().unwrap(),
                    r["return_avg"].as_f64(),
                    r["return_offers"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let row = |k: &str, c: &str, o: Option<f64>, on: u64, r: Option<f64>, rn: u64| {
        (k.to_string(), c.to_string(), o, on, r, rn)
    };
    let all = stat(app, "fares?origin=icn").await;
    assert_eq!(all["origin"], "ICN");
    assert_eq!(
        fares(&all),
        vec![
            row("KR", "USD", Some(50.0), 1, None, 0),
            row("JP", "USD", Some(350.0), 2, Some(200.0), 1),
            row("KR", "KRW", Some(600.0), 1, None, 0),
            row("FR", "USD", Some(1000.0), 3, None, 0),
        ]
    );
    assert_eq!(all["rows"][1]["label"], "Japan");
    assert_eq!(
        fares(&stat(app, "fares?origin=ICN&category=sports").await),
        vec![
            row("KR", "USD", Some(50.0), 1, None, 0),
            row("JP", "USD", Some(350.0), 2, Some(200.0), 1),
            row("KR", "KRW", Some(600.0), 1, None, 0),
        ]
    );
    // ICN is the default origin.
    assert_eq!(fares(&stat(app, "fares").await), fares(&all));
    for bad in [
        "fares?origin=XQZ",
        "fares?origin=12",
        "categories?origin=ICN",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/stats/{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("origin"),
            "{body}"
        );
    }
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

/// With thousands of matching events the cards walk their order's index (on SQLite); the
/// five of each card are still the ones a full sort of the filtered events gives.
async fn cards_of_a_broad_filter_match_a_full_sort(backend: Backend) {
    use app::store::entities::event;
    use sea_orm::EntityTrait;
    let app = spawn_app(backend, false).await;
    app::demo::synthetic::generate(&app.db, 4000, 7)
        .await
        .unwrap();
    let today = d("2027-03-15");
    let everything: Vec<event::Model> = event::Entity::find().all(&app.db).await.unwrap();
    // A rank range; and a first day in the future, which bounds the walks by date.
    for (rank_min, from) in [(35, None), (0, Some("2027-06-01"))] {
        let f = app::filter::EventFilter {
            rank_min: Some(rank_min),
            from: from.map(str::to_string),
            ..Default::default()
        };
        let cards = app::store::stats::cards(&app.db, &f, today).await.unwrap();
        let from_day = from.map(d);
        let mut all: Vec<event::Model> = everything
            .iter()
            .filter(|e| e.state == "active" && e.rank >= rank_min)
            .filter(|e| from_day.is_none_or(|f| e.end_date >= f))
            .cloned()
            .collect();
        assert!(all.len() >= 2000, "a broad filter: {}", all.len());
        let ids =
            |v: &[app::types::EventSummary]| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        let top = |all: &mut Vec<event::Model>, key: &dyn Fn(&event::Model) -> (i64, String)| {
            all.sort_by_key(|e| key(e));
            all.iter().take(5).map(|e| e.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&cards.top_rank),
            top(&mut all, &|e| (-i64::from(e.rank), e.id.clone()))
        );
        assert_eq!(
            ids(&cards.top_attendance),
            top(&mut all, &|e| (-e.attendance.unwrap_or(-1), e.id.clone()))
        );
        let mut upcoming: Vec<event::Model> = all
            .iter()
            .filter(|e| e.end_date >= today)
            .cloned()
            .collect();
        assert_eq!(
            ids(&cards.ending_soon),
            top(&mut upcoming, &|e| (
                e.end_date.signed_duration_since(today).num_days(),
                e.id.clone()
            ))
        );
        // Starting from today, or from the filter's first day when that is later.
        let first = from_day.map_or(today, |f| f.max(today));
        let mut starting: Vec<event::Model> = upcoming
            .into_iter()
            .filter(|e| e.start_date >= first)
            .collect();
        assert_eq!(
            ids(&cards.starting_soon),
            top(&mut starting, &|e| (
                e.start_date.signed_duration_since(today).num_days(),
                e.id.clone()
            ))
        );
    }
}

both_backends!(
    statistics_match_the_hand_counts,
    cards_on_a_fixed_day,
    cards_of_a_broad_filter_match_a_full_sort
);

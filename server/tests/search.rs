//! Free-text search (`q`) means the same on SQLite and PostgreSQL: the same searches over the
//! same events find the same events on both, through `GET /api/v1/events` and the map.

mod common;

use app::ingest::diff::{ProviderState, SnapshotEvent};
use common::{spawn_app, Backend, TestApp};
use sea_orm::{ActiveModelTrait, Set};

/// id, title, venue, city, description.
const EVENTS: [(&str, &str, &str, &str, &str); 8] = [
    (
        "s1",
        "Seoul JAZZ Festival",
        "Olympic Park",
        "서울",
        "secretword",
    ),
    ("s2", "서울 재즈 페스티벌", "올림픽공원", "서울", ""),
    ("s3", "Café Nuit", "Le Petit Bar", "Paris", ""),
    ("s4", "CAFÉ NUIT", "Salle Pleyel", "Paris", ""),
    ("s5", "100% Rock", "Olympic Hall", "Busan", ""),
    ("s6", "Under_score Night", "Club 7", "Busan", ""),
    ("s7", r#"They say "hi" loudly"#, "Hall", "Lyon", ""),
    ("s8", "Jazzy Brunch", "Gallery", "Jazz Town", ""),
];

/// The searches and the events each finds, the same on both backends.
const SEARCHES: [(&str, &[&str]); 14] = [
    // A to Z fold either way; a word inside a word matches.
    ("jazz", &["s1", "s8"]),
    ("JAZZ festival", &["s1"]),
    // The venue and the city count; the description does not.
    ("olympic", &["s1", "s5"]),
    ("busan", &["s5", "s6"]),
    ("secretword", &[]),
    // Korean, in the title or the city; two characters (no trigram) and longer.
    ("서울", &["s1", "s2"]),
    ("재즈", &["s2"]),
    ("재즈 페스티벌", &["s2"]),
    ("올림픽공원", &["s2"]),
    // Letters beyond A to Z match as written.
    ("café", &["s3"]),
    ("CAFÉ", &["s4"]),
    // Wildcards and quotes are plain characters.
    ("100%", &["s5"]),
    ("r_s", &["s6"]),
    (r#"say "hi""#, &["s7"]),
];

async fn with_events(backend: Backend) -> TestApp {
    let app = spawn_app(backend, false).await;
    let w = app::store::write::Write::events(&app.db).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2027, 5, 1).unwrap();
    for (i, (id, title, venue, city, description)) in EVENTS.iter().enumerate() {
        let e = SnapshotEvent {
            id: id.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            category: "concerts".into(),
            labels: Vec::new(),
            rank: 50,
            local_rank: None,
            attendance: None,
            spend_usd: None,
            start: day,
            end: day,
            timezone: "UTC".into(),
            venue_name: venue.to_string(),
            address: String::new(),
            city: city.to_string(),
            country: "KR".into(),
            lat: 37.0 + i as f64 * 0.01,
            lon: 127.0,
            state: ProviderState::Active,
            updated: None,
            starts_at: None,
            ends_at: None,
            impact: Vec::new(),
            spend_industries: None,
            region: None,
        };
        let mut row = app::ingest::active_model(&e, "fixture", chrono::Utc::now(), 0);
        row.last_run_id = Set(None);
        row.insert(w.txn()).await.unwrap();
    }
    w.commit().await.unwrap();
    app
}

/// Every byte but letters and digits as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn same_searches_find_the_same_events(backend: Backend) {
    let app = with_events(backend).await;
    for (q, expected) in SEARCHES {
        let query = format!("q={}", percent_encoded(q));
        let (status, list) = app
            .get_json(&format!("/api/v1/events?limit=100&{query}"))
            .await;
        assert_eq!(status, 200, "{q}: {list}");
        let mut found: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        found.sort_unstable();
        assert_eq!(found, expected, "q={q}");
        assert_eq!(list["total"], expected.len(), "q={q}");
        // The map counts the same events.
        let (_, map) = app
            .get_json(&format!(
                "/api/v1/map/clusters?bbox=-180,-85,180,85&zoom=2&{query}"
            ))
            .await;
        let clustered: u64 = map["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        assert_eq!(clustered, expected.len() as u64, "map, q={q}");
    }
    // A renamed event is found by its new title at once (the index follows the write).
    let w = app::store::write::Write::events(&app.db).await.unwrap();
    {
        use app::store::entities::event;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        event::Entity::update_many()
            .col_expr(event::Column::Title, Expr::value("Renamed Symphony"))
            .filter(event::Column::Id.eq("s3"))
            .exec(w.txn())
            .await
            .unwrap();
    }
    w.commit().await.unwrap();
    let (_, renamed) = app.get_json("/api/v1/events?q=symphony").await;
    assert_eq!(renamed["items"][0]["id"], "s3", "{renamed}");
    let (_, old) = app.get_json("/api/v1/events?q=nuit").await;
    assert_eq!(old["total"], 1, "only s4 keeps the old words: {old}");
}

both_backends!(same_searches_find_the_same_events);

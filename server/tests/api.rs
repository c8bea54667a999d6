//! Black-box tests of the JSON API and the pages over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{spawn_app, Backend};
use serde_json::Value;
use std::collections::HashSet;

async fn events_list_pages_through_every_event_once(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let (status, first) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(status, 200);
    let total = first["total"].as_u64().unwrap();
    assert!(total >= 300, "total {total}");
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["demo"], Value::Bool(true));

    for sort in ["rank", "start", "title", "attendance"] {
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut previous: Option<Value> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/events?limit=70&sort={sort}&cursor={c}"),
                None => format!("/api/v1/events?limit=70&sort={sort}"),
            };
            let (status, page) = app.get_json(&path).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["total"].as_u64().unwrap(), total);
            for item in page["items"].as_array().unwrap() {
                assert!(
                    seen.insert(item["id"].as_str().unwrap().to_string()),
                    "duplicate {}",
                    item["id"]
                );
                if let Some(prev) = &previous {
                    match sort {
                        "rank" => assert!(prev["rank"].as_i64() >= item["rank"].as_i64()),
                        "start" => assert!(prev["start"].as_str() <= item["start"].as_str()),
                        "title" => assert!(prev["title"].as_str() <= item["title"].as_str()),
                        _ => assert!(prev["attendance"].as_i64() >= item["attendance"].as_i64()),
                    }
                }
                previous = Some(item.clone());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len() as u64, total, "sort {sort}: gaps in paging");
    }
}

async fn filters_narrow_the_set(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let (_, all) = app.get_json("/api/v1/events?limit=1000").await;
    let all = all["items"].as_array().unwrap().clone();
    let count = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|e| pred(e)).count() as u64;

    let (_, sports) = app
        .get_json("/api/v1/events?category=sports&limit=1000")
        .await;
    assert_eq!(
        sports["total"].as_u64().unwrap(),
        count(&|e| e["category"] == "sports")
    );
    assert!(sports["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["category"] == "sports"));

    let (_, two) = app
        .get_json("/api/v1/events?category=sports&category=expos")
        .await;
    assert_eq!(
        two["total"].as_u64().unwrap(),
        count(&|e| e["category"] == "sports" || e["category"] == "expos")
    );

    let (_, kr) = app
        .get_json("/api/v1/events?country=kr,JP&limit=1000")
        .await;
    assert_eq!(
        kr["total"].as_u64().unwrap(),
        count(&|e| e["country"] == "KR" || e["country"] == "JP")
    );
    assert!(kr["total"].as_u64().unwrap() >= 8);

    let (_, ranked) = app.get_json("/api/v1/events?rank_min=80&rank_max=90").await;
    assert_eq!(
        ranked["total"].as_u64().unwrap(),
        count(&|e| (80..=90).contains(&e["rank"].as_i64().unwrap()))
    );

    // Europe-ish box.
    let (_, boxed) = app
        .get_json("/api/v1/events?bbox=-10,35,30,60&limit=1000")
        .await;
    let in_box = |e: &Value| {
        let (lat, lon) = (e["lat"].as_f64().unwrap(), e["lon"].as_f64().unwrap());
        (35.0..=60.0).contains(&lat) && (-10.0..=30.0).contains(&lon)
    };
    assert_eq!(boxed["total"].as_u64().unwrap(), count(&in_box));
    assert!(boxed["total"].as_u64().unwrap() > 0);

    let (_, dated) = app
        .get_json("/api/v1/events?from=2027-07-01&to=2027-07-31")
        .await;
    assert_eq!(
        dated["total"].as_u64().unwrap(),
        count(&|e| e["end"].as_str().unwrap() >= "2027-07-01"
            && e["start"].as_str().unwrap() <= "2027-07-31")
    );

    let some_title = all[0]["title"].as_str().unwrap().to_string();
    let word: String = some_title
        .split_whitespace()
        .max_by_key(|w| w.len())
        .unwrap()
        .to_string();
    let (_, found) = app
        .get_json(&format!(
            "/api/v1/events?q={}",
            word.to_uppercase().replace('&', "%26")
        ))
        .await;
    assert!(found["total"].as_u64().unwrap() >= 1, "q={word}");

    let (_, combined) = app
        .get_json("/api/v1/events?category=festivals&rank_min=50&from=2027-01-01")
        .await;
    assert_eq!(
        combined["total"].as_u64().unwrap(),
        count(&|e| e["category"] == "festivals"
            && e["rank"].as_i64().unwrap() >= 50
            && e["end"].as_str().unwrap() >= "2027-01-01")
    );
}

async fn bad_parameters_answer_400_and_unknown_ids_404(backend: Backend) {
    let app = spawn_app(backend, false).await;
    for query in [
        "category=parties",
        "country=KOR",
        "from=2027-02-30",
        "rank_min=abc",
        "rank_min=90&rank_max=10",
        "bbox=1,2,3",
        "limit=0",
        "limit=100000",
        "sort=random",
        "cursor=not-a-cursor",
        "unknown=1",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"]["code"].is_string(), "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 5);
    }
    let (status, body) = app.get_json("/api/v1/events/no-such-event").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
}

async fn one_event_has_its_details(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let (_, page) = app.get_json("/api/v1/events?limit=1&country=KR").await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let (status, e) = app.get_json(&format!("/api/v1/events/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(e["id"], id.as_str());
    assert_eq!(e["country"], "KR");
    assert_eq!(e["country_name_ko"], "대한민국");
    assert_eq!(e["state"], "active");
    assert_eq!(e["demo"], true);
    assert!(e["description"].as_str().unwrap().len() > 10);
}

async fn pages_render_on_the_server(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<title>TourSherpa"), "title");
    assert!(html.contains("Demo data"), "demo label");
    let points: u64 = html
        .split("data-points=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("map container with data-points");
    assert!(points >= 300, "{points} map points");
    assert!(html.contains("class=\"event-item\""));

    let (_, page) = app.get_json("/api/v1/events?limit=1").await;
    let id = page["items"][0]["id"].as_str().unwrap();
    let title = page["items"][0]["title"].as_str().unwrap();
    let resp = app.get(&format!("/events/{id}")).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Restaurants nearby") && html.contains("Nearest airports"));
    let escaped = title.replace('&', "&amp;");
    assert!(html.contains(&escaped), "event title on its page");

    assert_eq!(app.get("/events/no-such-event").await.status(), 404);
    assert_eq!(app.get("/no/such/page").await.status(), 404);

    let filtered = app.get("/?category=sports").await.text().await.unwrap();
    let sports: u64 = filtered
        .split("data-points=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let (_, api) = app.get_json("/api/v1/events?category=sports").await;
    assert_eq!(sports, api["total"].as_u64().unwrap(), "page and API agree");
}

async fn map_clusters_add_up_to_the_filtered_total(backend: Backend) {
    let app = spawn_app(backend, true).await;
    for (query, filter) in [
        ("zoom=0", ""),
        ("zoom=3", ""),
        ("zoom=12", ""),
        ("zoom=5&bbox=-10,35,30,60", "bbox=-10,35,30,60"),
        ("zoom=2&category=sports", "category=sports"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/map/clusters?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        let clusters = body["clusters"].as_array().unwrap();
        let sum: u64 = clusters.iter().map(|c| c["count"].as_u64().unwrap()).sum();
        let (_, list) = app
            .get_json(&format!("/api/v1/events?limit=1&{filter}"))
            .await;
        assert_eq!(sum, list["total"].as_u64().unwrap(), "{query}");
        for c in clusters {
            assert_eq!(c["id"].is_string(), c["count"] == 1, "{query}: {c}");
        }
    }
    let (_, world) = app.get_json("/api/v1/map/clusters?zoom=0").await;
    let (_, street) = app.get_json("/api/v1/map/clusters?zoom=12").await;
    assert!(
        world["clusters"].as_array().unwrap().len() < street["clusters"].as_array().unwrap().len(),
        "zooming in splits clusters"
    );
    for bad in [
        "zoom=23",
        "zoom=-1",
        "zoom=abc",
        "bbox=1,2",
        "category=nope",
    ] {
        let (status, _) = app.get_json(&format!("/api/v1/map/clusters?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
    }
}

both_backends!(
    map_clusters_add_up_to_the_filtered_total,
    events_list_pages_through_every_event_once,
    filters_narrow_the_set,
    bad_parameters_answer_400_and_unknown_ids_404,
    one_event_has_its_details,
    pages_render_on_the_server,
);

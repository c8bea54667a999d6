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

/// The number in `data-total="…"` of a page.
fn data_total(html: &str) -> u64 {
    html.split("data-total=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("a count with data-total")
}

async fn pages_render_on_the_server(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<title>TourSherpa"), "title");
    assert!(html.contains("Demo data"), "demo label");
    assert!(html.contains("<html lang=\"en\""));
    let (_, all) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(data_total(&html), all["total"].as_u64().unwrap());
    assert!(html.contains("class=\"event-item\""));
    assert!(html.contains("/api/v1/events.ics"), "export links");

    // A dashboard whose filter matches no event renders whole (its empty charts once kept
    // the page loading for ever).
    let resp = app
        .client
        .get(app.url("/dashboard?q=no-event-is-called-this"))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .expect("the empty dashboard answered");
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.expect("the empty dashboard finished");
    assert!(html.contains("</html>"), "the whole page");

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

    let filtered = app
        .get("/?category=sports&view=10,10,3&event=x&inview=")
        .await
        .text()
        .await
        .unwrap();
    let (_, api) = app.get_json("/api/v1/events?category=sports").await;
    assert_eq!(
        data_total(&filtered),
        api["total"].as_u64().unwrap(),
        "page and API agree"
    );
    let near = app
        .get("/?near=Paris&radius_km=300")
        .await
        .text()
        .await
        .unwrap();
    let (_, api) = app
        .get_json("/api/v1/events?near=paris&radius_km=300")
        .await;
    assert!(api["total"].as_u64().unwrap() > 0, "a city name is a place");
    assert_eq!(data_total(&near), api["total"].as_u64().unwrap());
    let (status, body) = app.get_json("/api/v1/events?near=Atlantis").await;
    assert_eq!(status, 400, "{body}");
}

/// The country page (table, sort, search, breakdowns) and the place page.
async fn country_and_place_pages(backend: Backend) {
    use sea_orm::{EntityTrait, QueryOrder};
    let app = spawn_app(backend, true).await;
    let (_, jp) = app.get_json("/api/v1/events?country=JP&limit=1000").await;
    let total = jp["total"].as_u64().unwrap();
    assert!(total > 3);
    let resp = app.get("/countries/jp").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Japan") && html.contains("일본"),
        "names in both languages"
    );
    assert_eq!(data_total(&html), total);
    assert!(html.contains("Events per city") && html.contains("Events per category"));
    assert!(
        html.contains("Events per region") && html.contains("Tokyo"),
        "regions named"
    );
    let by_start = app
        .get("/countries/JP?sort=start")
        .await
        .text()
        .await
        .unwrap();
    let first_row = |html: &str| {
        html.split("<tr data-id=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(str::to_string)
            .unwrap()
    };
    let (_, api_start) = app
        .get_json("/api/v1/events?country=JP&sort=start&limit=1")
        .await;
    assert_eq!(
        first_row(&by_start),
        api_start["items"][0]["id"].as_str().unwrap()
    );
    let word = jp["items"][0]["city"].as_str().unwrap();
    let searched = app
        .get(&format!("/countries/JP?q={}", word.replace(' ', "+")))
        .await
        .text()
        .await
        .unwrap();
    let (_, api_q) = app
        .get_json(&format!(
            "/api/v1/events?country=JP&q={}",
            word.replace(' ', "+")
        ))
        .await;
    assert_eq!(data_total(&searched), api_q["total"].as_u64().unwrap());
    assert_eq!(app.get("/countries/XX").await.status(), 404);

    let place = app::store::entities::place::Entity::find()
        .order_by_asc(app::store::entities::place::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the refresh stored places");
    let resp = app.get(&format!("/places/{}", place.id)).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains(&place.name.replace('&', "&amp;")));
    assert!(html.contains("Events within 10 km"));
    assert!(
        html.contains("/events/"),
        "the event it was found for is near it"
    );
    assert!(html.contains("not a real business"), "demo places say so");
    assert_eq!(app.get("/places/999999999").await.status(), 404);
    assert_eq!(app.get("/places/abc").await.status(), 404);
}

/// The language switch: a cookie set by `/lang/ko`, the browser's language otherwise.
async fn pages_speak_korean(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let no_redirect = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect
        .get(app.url("/lang/ko?back=%2F%3Fcategory%3Dsports"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/?category=sports");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("ts_lang=ko;"), "{cookie}");
    for evil in ["https://evil.example/", "//evil.example/", "/\\evil"] {
        let resp = no_redirect
            .get(app.url(&format!(
                "/lang/ko?back={}",
                evil.replace('/', "%2F").replace('\\', "%5C")
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["location"], "/", "{evil}");
    }
    assert_eq!(
        no_redirect
            .get(app.url("/lang/xx"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let ko = |path: &str, header: (&'static str, &'static str)| {
        let req = app.client.get(app.url(path)).header(header.0, header.1);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let html = ko("/", ("cookie", "ts_lang=ko")).await;
    assert!(html.contains("<html lang=\"ko\""));
    assert!(html.contains("이벤트 거르기") && html.contains("데모 데이터"));
    let html = ko("/", ("accept-language", "ko-KR,ko;q=0.9")).await;
    assert!(html.contains("<html lang=\"ko\""), "browser language");
    let (_, page) = app.get_json("/api/v1/events?limit=1&country=FR").await;
    let id = page["items"][0]["id"].as_str().unwrap();
    let html = ko(&format!("/events/{id}"), ("cookie", "ts_lang=ko")).await;
    assert!(html.contains("근처 음식점") && html.contains("예상 여행 비용"));
    assert!(
        html.contains("년 ") && html.contains("월 "),
        "dates written the Korean way"
    );
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

/// The stored cell counts (used for plain and category-only filters) give exactly the
/// clusters a live count gives (`rank_min=0` matches every event but forces a live count),
/// and follow the events through a refresh that changes them.
async fn stored_cells_give_the_same_clusters_as_a_live_count(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app(backend, true).await;
    for round in 0..2 {
        let db = &app.db;
        let cells = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM cluster_cells",
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = cells.try_get("", "n").unwrap();
        assert!(n > 100, "cells are stored ({n})");
        for (zoom, extra) in [
            (0, ""),
            (2, "&bbox=-180,-85,180,85"),
            (3, "&bbox=-10,35,30,60"),
            (5, "&bbox=100,20,150,50"),
            (4, "&bbox=-170,-60,170,75&category=sports,concerts"),
            (9, "&bbox=126,37,128,38"),
            (7, "&bbox=-0.5,51,0.5,52"),
            (4, "&bbox=-25,34,45,66"),
            (2, "&bbox=-180,-90,180,90"),
            (3, "&bbox=-45,0,45,45"),
            (6, "&bbox=2.2,48.7,2.5,49.0&category=festivals"),
            (9, "&bbox=126.9,37.4,127.2,37.7"),
            (1, "&bbox=0,0,0.1,0.1"),
        ] {
            let get = |q: String| {
                let app = &app;
                async move {
                    let (status, body) = app.get_json(&q).await;
                    assert_eq!(status, 200, "{q}: {body}");
                    let mut c: Vec<(u64, String, f64, f64)> = body["clusters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| {
                            (
                                c["count"].as_u64().unwrap(),
                                c["id"].as_str().unwrap_or("").to_string(),
                                c["lat"].as_f64().unwrap(),
                                c["lon"].as_f64().unwrap(),
                            )
                        })
                        .collect();
                    c.sort_by(|a, b| {
                        a.0.cmp(&b.0)
                            .then(a.2.total_cmp(&b.2))
                            .then(a.3.total_cmp(&b.3))
                    });
                    c
                }
            };
            let stored = get(format!("/api/v1/map/clusters?zoom={zoom}{extra}")).await;
            let live = get(format!(
                "/api/v1/map/clusters?zoom={zoom}{extra}&rank_min=0"
            ))
            .await;
            assert_eq!(
                stored.len(),
                live.len(),
                "round {round}, zoom {zoom}{extra}"
            );
            for (a, b) in stored.iter().zip(&live) {
                assert_eq!((a.0, &a.1), (b.0, &b.1), "zoom {zoom}{extra}");
                assert!(
                    (a.2 - b.2).abs() < 1e-6 && (a.3 - b.3).abs() < 1e-6,
                    "{a:?} {b:?}"
                );
            }
        }
        // The next demo generation changes, moves, adds and removes events.
        let report = app.refresh().await;
        assert_eq!(report.status, "succeeded");
    }
}

/// Renames an event behind the kept answers' back: a write that bumps no generation and
/// lists no change.
async fn rename_quietly(db: &sea_orm::DatabaseConnection, id: &str, title: &str) {
    use app::store::entities::event;
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
    event::Entity::update_many()
        .col_expr(event::Column::Title, Expr::value(title))
        .filter(event::Column::Id.eq(id))
        .exec(db)
        .await
        .unwrap();
}

/// Over-long addresses and oversized bodies are refused before anything parses them,
/// with a clear error, and the server goes on serving.
#[tokio::test]
async fn oversized_queries_and_bodies_are_refused() {
    let app = spawn_app(Backend::Sqlite, false).await;
    let long = "a".repeat(server::MAX_URI_BYTES);
    let (status, body) = app.get_json(&format!("/api/v1/events?q={long}")).await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["error"]["code"], "uri_too_long");
    let page = app.get(&format!("/?q={long}")).await;
    assert_eq!(page.status(), 414);
    assert!(page.text().await.unwrap().contains("at most"));
    // Just under the bound, the query is parsed and refused for what it says.
    let (status, body) = app
        .get_json(&format!("/api/v1/events?q={}", &long[..5000]))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 200 characters"),
        "{body}"
    );
    let big = vec![b'x'; server::MAX_BODY_BYTES + 1];
    for path in ["/api/v1/session", "/admin/sign-in", "/api/v1/runs"] {
        let resp = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413, "{path}");
    }
    let (status, _) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(status, 200);
}

/// The busiest answers (event list pages, map clusters) are kept between requests, and a
/// change to the events by any writer, in the transaction that bumps the events'
/// generation, is seen by the very next request.
async fn kept_answers_follow_every_change_to_the_events(backend: Backend) {
    use app::store::entities::event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app(backend, true).await;
    let world = "/api/v1/map/clusters?zoom=2&bbox=-180,-85,180,85";
    let counted = |v: &Value| -> i64 {
        v["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum()
    };
    let (_, first) = app.get_json("/api/v1/events?limit=5").await;
    let total = first["total"].as_i64().unwrap();
    let (_, clusters) = app.get_json(world).await;
    assert_eq!(counted(&clusters), total);
    // Asked again: the same answers.
    assert_eq!(app.get_json("/api/v1/events?limit=5").await.1, first);
    assert_eq!(app.get_json(world).await.1, clusters);

    // Another writer (another process, say) ends the first event.
    let id = first["items"][0]["id"].as_str().unwrap().to_string();
    let w = app::store::write::Write::events(&app.db).await.unwrap();
    event::Entity::update_many()
        .col_expr(
            event::Column::State,
            sea_orm::sea_query::Expr::value("gone"),
        )
        .filter(event::Column::Id.eq(id.clone()))
        .exec(w.txn())
        .await
        .unwrap();
    w.commit().await.unwrap();

    let (_, after) = app.get_json("/api/v1/events?limit=5").await;
    assert_eq!(after["total"].as_i64().unwrap(), total - 1);
    assert!(after["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != id.as_str()));
    let (_, clusters) = app.get_json(world).await;
    assert_eq!(counted(&clusters), total - 1);
}

/// A cached list answer is served until the events' generation moves on, and computed
/// again after any change that moves it: a write that does not is not seen, and a change
/// to an event the answer does not show brings it up to date all the same.
async fn cached_answers_are_keyed_by_the_events_generation(backend: Backend) {
    use app::store::entities::event;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app(backend, true).await;
    let url = "/api/v1/events?country=FR&sort=rank&limit=3";
    let (status, first) = app.get_json(url).await;
    assert_eq!(status, 200, "{first}");
    let top = first["items"][0]["id"].as_str().unwrap().to_string();
    let abroad = event::Entity::find()
        .filter(event::Column::State.eq("active"))
        .filter(event::Column::Country.ne("FR"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an event abroad");

    // A write that moves no generation on: not seen while the answer is cached.
    rename_quietly(&app.db, &top, "Quietly renamed").await;
    let (_, kept) = app.get_json(url).await;
    assert_eq!(kept, first, "served from the cache");

    // An event abroad is re-ranked, as a refresh's commit writes it.
    let w = app::store::write::Write::events(&app.db).await.unwrap();
    event::Entity::update_many()
        .col_expr(event::Column::Rank, Expr::value(99))
        .filter(event::Column::Id.eq(abroad.id.clone()))
        .exec(w.txn())
        .await
        .unwrap();
    w.commit().await.unwrap();
    let (_, again) = app.get_json(url).await;
    assert_eq!(again["items"][0]["id"], top.as_str(), "{again}");
    assert_eq!(again["items"][0]["title"], "Quietly renamed");
    assert_eq!(again["total"], first["total"]);
}

both_backends!(
    kept_answers_follow_every_change_to_the_events,
    cached_answers_are_keyed_by_the_events_generation,
    stored_cells_give_the_same_clusters_as_a_live_count,
    map_clusters_add_up_to_the_filtered_total,
    events_list_pages_through_every_event_once,
    filters_narrow_the_set,
    bad_parameters_answer_400_and_unknown_ids_404,
    one_event_has_its_details,
    pages_render_on_the_server,
    country_and_place_pages,
    pages_speak_korean,
);

/// Pages answer while routers are built beside them in the same process, as this suite does
/// with an app per test. Listing an app's routes renders it once with every resource load
/// held back, and Leptos holds them back process-wide: a page whose resource first ran in
/// that moment waited for ever (leptos-rs/leptos#4773; CI met it twice, 2026-12-06). The
/// server lists its routes once per process, so a router built later holds nothing back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_while_other_routers_are_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    /// Stops the builder when the test ends, passed or failed.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Relaxed);
        }
    }
    let app = spawn_app(Backend::Sqlite, true).await;
    let building = Arc::new(AtomicBool::new(true));
    let stop = Stop(Arc::clone(&building));
    let builder = std::thread::spawn({
        let building = Arc::clone(&building);
        let state = server::app_state(&app.config, app.db.clone());
        let runtime = tokio::runtime::Handle::current();
        move || {
            let _entered = runtime.enter();
            let mut routers = 0u32;
            while building.load(Ordering::Relaxed) {
                drop(server::router(common::leptos_options(), state.clone()));
                routers += 1;
            }
            routers
        }
    });
    let (_, page) = app.get_json("/api/v1/events?limit=1").await;
    let event = format!("/events/{}", page["items"][0]["id"].as_str().unwrap());
    // Eight at a time, so that many first loads meet the routers being built.
    let paths = ["/", "/dashboard", event.as_str(), "/countries/FR"].repeat(2);
    for _ in 0..12 {
        let mut pages = tokio::task::JoinSet::new();
        for path in &paths {
            let (client, url, path) = (app.client.clone(), app.url(path), path.to_string());
            pages.spawn(async move {
                let resp = client
                    .get(url)
                    .timeout(std::time::Duration::from_secs(30))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                assert_eq!(resp.status(), 200, "{path}");
                let html = resp.text().await.unwrap_or_else(|e| panic!("{path}: {e}"));
                assert!(html.contains("</html>"), "{path}: the whole page");
            });
        }
        while let Some(page) = pages.join_next().await {
            page.expect("the page answered");
        }
    }
    drop(stop);
    let routers = builder.join().expect("routers build");
    assert!(routers > 0, "routers were built meanwhile");
}

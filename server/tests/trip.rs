//! The trip bundle (`/api/v1/events/{id}/trip` and the event page), the exports and the
//! newer filters, black-box over HTTP on SQLite and PostgreSQL.

mod common;

use app::geo::haversine_km;
use common::{spawn_app, Backend};
use sea_orm::ConnectionTrait;
use serde_json::Value;

/// A demo event away from Korea, so flights from the default origin (ICN) exist.
async fn far_event(app: &common::TestApp) -> String {
    let (_, page) = app
        .get_json("/api/v1/events?country=FR&limit=1&sort=rank")
        .await;
    page["items"][0]["id"].as_str().unwrap().to_string()
}

async fn trip_bundle_has_every_part(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let id = far_event(&app).await;
    let (status, t) = app.get_json(&format!("/api/v1/events/{id}/trip")).await;
    assert_eq!(status, 200, "{t}");
    for part in [
        "event",
        "demand_window",
        "restaurants",
        "cafes",
        "lodging",
        "airports",
        "flights",
        "estimate",
    ] {
        let p = &t[part];
        assert!(p.is_object(), "{part} missing: {t}");
        assert!(p.get("fetched_at").is_some(), "{part} has no fetched_at");
        assert!(p.get("demo").is_some(), "{part} has no demo flag");
    }
    assert_eq!(t["event"]["id"], id.as_str());
    assert_eq!(t["event"]["demo"], true);
    assert!(t["event"]["fetched_at"].is_string(), "the refresh's time");
    // Demo events start at 10:00 local time.
    assert!(
        t["event"]["starts_local"]
            .as_str()
            .unwrap()
            .ends_with("10:00"),
        "{}",
        t["event"]
    );
    assert!(t["event"]["starts_at"].as_str().unwrap().contains('T'));

    let days = t["demand_window"]["days"].as_array().unwrap();
    assert!(days.len() >= 4, "{days:?}");
    let peak = days
        .iter()
        .map(|d| d["visitors"].as_i64().unwrap())
        .max()
        .unwrap();
    let peak_day = days
        .iter()
        .find(|d| d["visitors"].as_i64() == Some(peak))
        .unwrap();
    assert_eq!(t["demand_window"]["peak"], peak_day["date"]);
    assert!(t["demand_window"]["busy_from"].as_str() <= t["demand_window"]["peak"].as_str());

    for part in ["restaurants", "cafes", "lodging"] {
        let items = t[part]["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{part}");
        assert_eq!(t[part]["demo"], true, "{part} is demo data");
        let d: Vec<f64> = items
            .iter()
            .map(|p| p["distance_km"].as_f64().unwrap())
            .collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "{part} nearest first");
    }
    assert!(!t["airports"]["items"].as_array().unwrap().is_empty());
    assert_eq!(t["flights"]["origin"], "ICN");
    let out = t["flights"]["outbound"].as_array().unwrap();
    let back = t["flights"]["return"].as_array().unwrap();
    assert!(!out.is_empty() && !back.is_empty(), "{}", t["flights"]);
    assert!(out.iter().all(|o| o["origin"] == "ICN"));
    assert!(back.iter().all(|o| o["destination"] == "ICN"));

    let e = &t["estimate"];
    assert_eq!(e["is_estimate"], true);
    let cheapest = |offers: &[Value]| {
        offers
            .iter()
            .map(|o| o["price"].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min)
    };
    let fare = cheapest(out) + cheapest(back);
    assert!((e["flight_per_person"].as_f64().unwrap() - fare).abs() < 0.01);
    let total = e["total"].as_f64().expect("a total for demo data in USD");
    let nightly = e["nightly_room"].as_f64().unwrap();
    let nights = e["nights"].as_f64().unwrap();
    assert!((total - (fare + nightly * nights)).abs() < 0.01, "{e}");

    // Three travellers: three fares, two rooms.
    let (_, t3) = app
        .get_json(&format!("/api/v1/events/{id}/trip?adults=3"))
        .await;
    let e3 = &t3["estimate"];
    assert_eq!(e3["rooms"], 2);
    assert!((e3["total"].as_f64().unwrap() - (3.0 * fare + 2.0 * nightly * nights)).abs() < 0.01);

    // Another origin is looked up on demand.
    let (status, nrt) = app
        .get_json(&format!("/api/v1/events/{id}/trip?origin=nrt"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(nrt["flights"]["origin"], "NRT");
    let out = nrt["flights"]["outbound"].as_array().unwrap();
    assert!(!out.is_empty() && out.iter().all(|o| o["origin"] == "NRT"));

    for (query, param) in [
        ("origin=12", "origin"),
        ("origin=ZZQ", "origin"),
        ("adults=0", "adults"),
        ("adults=10", "adults"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = app
            .get_json(&format!("/api/v1/events/{id}/trip?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(param),
            "{body}"
        );
    }
    let (status, _) = app.get_json("/api/v1/events/no-such-event/trip").await;
    assert_eq!(status, 404);
}

/// A part with nothing stored is present and empty; the page still renders.
async fn a_missing_part_is_empty_not_an_error(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let id = far_event(&app).await;
    let db = &app.db;
    for sql in [
        "DELETE FROM places",
        "DELETE FROM flight_offers",
        "UPDATE events SET impact = NULL",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    let (status, t) = app.get_json(&format!("/api/v1/events/{id}/trip")).await;
    assert_eq!(status, 200, "{t}");
    for part in ["restaurants", "cafes", "lodging"] {
        assert_eq!(t[part]["items"], Value::Array(vec![]), "{part}");
        assert_eq!(t[part]["fetched_at"], Value::Null);
    }
    assert_eq!(t["flights"]["outbound"], Value::Array(vec![]));
    assert_eq!(t["flights"]["return"], Value::Array(vec![]));
    assert_eq!(t["demand_window"]["days"], Value::Array(vec![]));
    assert_eq!(t["estimate"]["total"], Value::Null);
    assert!(!t["estimate"]["missing"].as_array().unwrap().is_empty());

    let resp = app.get(&format!("/events/{id}")).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Nothing stored nearby yet"),
        "places say they are missing"
    );
    assert!(
        html.contains("No offers stored"),
        "flights say they are missing"
    );
    assert!(html.contains("No total yet"), "the estimate says why");
    assert!(
        html.contains("no day-by-day demand"),
        "the demand part says so"
    );
}

/// The page remembers the origin a traveller picked, in a cookie.
async fn the_picked_origin_is_remembered(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let id = far_event(&app).await;
    let resp = app.get(&format!("/events/{id}?origin=NRT")).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ts_origin="))
        .expect("origin cookie")
        .to_string();
    assert!(cookie.starts_with("ts_origin=NRT;"), "{cookie}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("From NRT"));
    let html = app
        .client
        .get(app.url(&format!("/events/{id}")))
        .header("cookie", "ts_origin=NRT")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("From NRT"), "remembered origin used");
    let html = app
        .get(&format!("/events/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("From ICN"), "default without the cookie");
}

async fn exports_hold_the_filtered_set(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let (_, list) = app.get_json("/api/v1/events?category=sports&limit=1").await;
    let total = list["total"].as_u64().unwrap();
    assert!(total > 5);

    let resp = app.get("/api/v1/events.csv?category=sports").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let category = headers.iter().position(|h| h == "category").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as u64, total);
    assert!(rows.iter().all(|r| &r[category] == "sports"));

    let resp = app.get("/api/v1/events.ics?category=sports").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = resp.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(ics.matches("BEGIN:VEVENT").count() as u64, total);
    assert!(
        ics.split("\r\n").all(|l| l.len() <= 75),
        "lines folded at 75 octets"
    );
    assert!(ics.contains("(TourSherpa demo data)"), "demo events say so");

    let id = rows[0][0].to_string();
    let one = app
        .get(&format!("/api/v1/events/{id}/calendar.ics"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(one.matches("BEGIN:VEVENT").count(), 1);
    let unfolded = one.replace("\r\n ", "");
    assert!(unfolded.contains(&format!("UID:{id}@toursherpa")), "{one}");
    assert!(unfolded.contains(&format!("/events/{id}")));

    let (status, body) = app.get_json("/api/v1/events.csv?category=parties").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app.get_json("/api/v1/events/nope/calendar.ics").await;
    assert_eq!(status, 404);
}

async fn local_rank_attendance_and_near_filters(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let (_, all) = app.get_json("/api/v1/events?limit=1000").await;
    let all = all["items"].as_array().unwrap().clone();
    let count = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|e| pred(e)).count() as u64;

    let (_, lr) = app
        .get_json("/api/v1/events?local_rank_min=60&local_rank_max=80")
        .await;
    assert_eq!(
        lr["total"].as_u64().unwrap(),
        count(&|e| e["local_rank"]
            .as_i64()
            .is_some_and(|r| (60..=80).contains(&r)))
    );
    let (_, big) = app.get_json("/api/v1/events?attendance_min=100000").await;
    assert_eq!(
        big["total"].as_u64().unwrap(),
        count(&|e| e["attendance"].as_i64().is_some_and(|a| a >= 100_000))
    );
    assert!(big["total"].as_u64().unwrap() > 0);

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let km_from = |lat: f64, lon: f64, e: &Value| {
        haversine_km(
            lat,
            lon,
            e["lat"].as_f64().unwrap(),
            e["lon"].as_f64().unwrap(),
        )
    };
    // 400 km around Paris: everything clearly inside is found, nothing clearly outside.
    let (_, near) = app
        .get_json("/api/v1/events?near=48.8566,2.3522&radius_km=400&limit=1000")
        .await;
    let found = ids(&near);
    assert!(!found.is_empty());
    for e in &all {
        let d = km_from(48.8566, 2.3522, e);
        let id = e["id"].as_str().unwrap().to_string();
        if d < 396.0 {
            assert!(found.contains(&id), "{id} at {d:.0} km not found");
        }
        if d > 404.0 {
            assert!(!found.contains(&id), "{id} at {d:.0} km found");
        }
    }
    // Across the antimeridian: from a point east of 180°, Auckland's events (174.8°E).
    let (status, across) = app
        .get_json("/api/v1/events?near=-36.85,-179.0&radius_km=700&limit=1000")
        .await;
    assert_eq!(status, 200);
    let across_ids = ids(&across);
    let want: Vec<String> = all
        .iter()
        .filter(|e| km_from(-36.85, -179.0, e) < 690.0)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!want.is_empty(), "the demo feed has events in Auckland");
    for id in &want {
        assert!(
            across_ids.contains(id),
            "{id} not found across the antimeridian"
        );
    }

    let (_, combined) = app
        .get_json("/api/v1/events?near=48.8566,2.3522&radius_km=1500&category=concerts&rank_min=40&limit=1000")
        .await;
    let got = ids(&combined);
    assert!(!got.is_empty());
    for e in &all {
        let d = km_from(48.8566, 2.3522, e);
        let matches = e["category"] == "concerts" && e["rank"].as_i64().unwrap() >= 40;
        let id = e["id"].as_str().unwrap().to_string();
        // The flat projection may differ from the great circle by a little at 1,500 km.
        if matches && d < 1500.0 * 0.98 {
            assert!(got.contains(&id), "{id} at {d:.0} km missing");
        }
        if !matches || d > 1500.0 * 1.02 {
            assert!(!got.contains(&id), "{id} at {d:.0} km included");
        }
    }
    for bad in [
        "near=1",
        "near=91,0",
        "radius_km=5",
        "near=1,1&radius_km=0",
        "attendance_min=-1",
        "local_rank_min=70&local_rank_max=10",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/events?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

/// Retitles an event in a transaction that bumps the events' generation, as every writer of
/// events does.
async fn retitle(db: &sea_orm::DatabaseConnection, id: &str, title: &str) {
    use app::store::entities::event;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let w = app::store::write::Write::events(db).await.unwrap();
    event::Entity::update_many()
        .col_expr(event::Column::Title, Expr::value(title))
        .filter(event::Column::Id.eq(id))
        .exec(w.txn())
        .await
        .unwrap();
    w.commit().await.unwrap();
}

/// Puts an event's airports `km` away, moving the trip data's version on as their writer
/// does.
async fn move_airports(db: &sea_orm::DatabaseConnection, id: &str, km: f64) {
    use app::store::entities::event_airport;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
    let txn = db.begin().await.unwrap();
    event_airport::Entity::update_many()
        .col_expr(event_airport::Column::DistanceKm, Expr::value(km))
        .filter(event_airport::Column::EventId.eq(id))
        .exec(&txn)
        .await
        .unwrap();
    app::store::state::trip_data_written(&txn).await.unwrap();
    txn.commit().await.unwrap();
}

/// A trip bundle is kept between requests under the store's versions, and read anew after
/// any change that moves one on: to the events (the events' generation), or to places,
/// offers or events' airports (the trip data's version), and after a flight search it shows
/// expires. A write that moves neither is not seen.
async fn kept_trip_bundles_follow_every_change(backend: Backend) {
    use app::store::entities::{event, flight_lookup, place, refresh_run};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
    let app = spawn_app(backend, true).await;
    let id = far_event(&app).await;
    let url = format!("/api/v1/events/{id}/trip");
    let (status, first) = app.get_json(&url).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(app.get_json(&url).await.1, first, "asked again: the same");
    let restaurant = first["restaurants"]["items"][0]["id"].as_i64().unwrap() as i32;
    let rename_place = |name: &'static str| {
        place::Entity::update_many()
            .col_expr(place::Column::Name, Expr::value(name))
            .filter(place::Column::Id.eq(restaurant))
    };

    // A write that does not move a version on is not seen: the bundle is kept.
    rename_place("Unversioned").exec(&app.db).await.unwrap();
    let (_, kept) = app.get_json(&url).await;
    assert_eq!(kept, first, "served from the cache");

    // A refresh that changes nothing it shows still moves its time: a kept bundle shows
    // when the last successful refresh finished.
    let finished = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05+00:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    refresh_run::Entity::update_many()
        .col_expr(refresh_run::Column::FinishedAt, Expr::value(finished))
        .exec(&app.db)
        .await
        .unwrap();
    let (_, later) = app.get_json(&url).await;
    assert_eq!(later["event"]["fetched_at"], finished.to_rfc3339());
    assert_eq!(later["restaurants"], first["restaurants"], "still kept");

    // Another event changes: the events' generation moves on, and the bundle is read anew.
    let other = event::Entity::find()
        .filter(event::Column::Id.ne(id.clone()))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a second event")
        .id;
    retitle(&app.db, &other, "Another, retitled").await;
    let (_, reread) = app.get_json(&url).await;
    assert_eq!(reread["restaurants"]["items"][0]["name"], "Unversioned");

    // Places written as their writer writes them: read anew.
    let txn = app.db.begin().await.unwrap();
    rename_place("Chez Version").exec(&txn).await.unwrap();
    app::store::state::trip_data_written(&txn).await.unwrap();
    txn.commit().await.unwrap();
    let (_, renamed) = app.get_json(&url).await;
    assert_eq!(renamed["restaurants"]["items"][0]["name"], "Chez Version");

    // This event's airports change: read anew.
    move_airports(&app.db, &id, 1234.5).await;
    let (_, moved) = app.get_json(&url).await;
    assert_eq!(moved["airports"]["items"][0]["distance_km"], 1234.5);

    // A change to the event itself.
    retitle(&app.db, &id, "Retitled").await;
    let (_, retitled) = app.get_json(&url).await;
    assert_eq!(retitled["event"]["title"], "Retitled");

    // The stored flight searches it shows expire in a moment: once they have, the next view
    // searches again (on demand) instead of serving the kept bundle.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let txn = app.db.begin().await.unwrap();
    flight_lookup::Entity::update_many()
        .col_expr(flight_lookup::Column::ExpiresAt, Expr::value(soon))
        .exec(&txn)
        .await
        .unwrap();
    app::store::state::trip_data_written(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(app.get_json(&url).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, again) = app.get_json(&url).await;
    assert_eq!(status, 200, "{again}");
    let searched_again = flight_lookup::Entity::find()
        .filter(flight_lookup::Column::ExpiresAt.gt(chrono::Utc::now()))
        .all(&app.db)
        .await
        .unwrap();
    let airports = first["airports"]["items"].as_array().unwrap().len();
    assert!(airports > 0, "{first}");
    assert_eq!(
        searched_again.len(),
        2 * airports,
        "both ways to each of the event's airports searched again: {searched_again:?}"
    );
}

both_backends!(
    kept_trip_bundles_follow_every_change,
    trip_bundle_has_every_part,
    a_missing_part_is_empty_not_an_error,
    the_picked_origin_is_remembered,
    exports_hold_the_filtered_set,
    local_rank_attendance_and_near_filters,
);

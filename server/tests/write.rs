//! The store's one way to write (`app::store::write::Write`): what goes through it is seen
//! at once by the map's clusters, the lists, the dashboard's charts and the trip bundles,
//! with no other call, on SQLite and PostgreSQL.

mod common;

use common::{spawn_app, Backend, TestApp};
use serde_json::Value;

const WORLD: &str = "/api/v1/map/clusters?bbox=-180,-85,180,85&zoom=2";

/// Events the world map counts, under an optional extra filter.
async fn clustered(app: &TestApp, filter: &str) -> i64 {
    let (status, map) = app.get_json(&format!("{WORLD}{filter}")).await;
    assert_eq!(status, 200, "{map}");
    map["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum()
}

/// Events per category in the dashboard's chart.
async fn charted(app: &TestApp, category: &str) -> i64 {
    let (status, cats) = app.get_json("/api/v1/stats/categories").await;
    assert_eq!(status, 200, "{cats}");
    cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == category)
        .map_or(0, |c| c["count"].as_i64().unwrap())
}

async fn listed(app: &TestApp, filter: &str) -> Value {
    let (status, list) = app
        .get_json(&format!("/api/v1/events?limit=100{filter}"))
        .await;
    assert_eq!(status, 200, "{list}");
    list
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

async fn writes_are_seen_everywhere_at_once(backend: Backend) {
    use app::store::entities::{event, place};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = spawn_app(backend, true).await;
    let before = listed(&app, "&sort=rank").await;
    let total = before["total"].as_i64().unwrap();
    let (hidden, edited) = (
        before["items"][0]["id"].as_str().unwrap().to_string(),
        before["items"][1]["id"].as_str().unwrap().to_string(),
    );
    let hidden_category = before["items"][0]["category"].as_str().unwrap().to_string();
    let moved_to = match before["items"][1]["category"].as_str().unwrap() {
        "expos" => "sports",
        _ => "expos",
    };
    let moved_to_filter = format!("&category={moved_to}");
    // Asked once before each write, so that a stale cached answer would show.
    assert_eq!(clustered(&app, "").await, total);
    let charted_before = charted(&app, &hidden_category).await;
    let charted_moved_to = charted(&app, moved_to).await;
    let clustered_moved_to = clustered(&app, &moved_to_filter).await;
    let trip_url = format!("/api/v1/events/{edited}/trip");
    let (status, trip) = app.get_json(&trip_url).await;
    assert_eq!(status, 200, "{trip}");

    // A moderation hide.
    app::store::moderation::hide(&app.db, &hidden, "spam", "ana", "test")
        .await
        .unwrap();
    let after_hide = listed(&app, "&sort=rank").await;
    assert_eq!(after_hide["total"].as_i64().unwrap(), total - 1);
    assert!(!ids(&after_hide).contains(&hidden.as_str()));
    assert_eq!(
        clustered(&app, "").await,
        total - 1,
        "the map's stored cells"
    );
    assert_eq!(
        charted(&app, &hidden_category).await,
        charted_before - 1,
        "the dashboard's rollups"
    );

    // An edited event: a new title and category.
    let w = app::store::write::Write::events(&app.db).await.unwrap();
    event::Entity::update_many()
        .col_expr(
            event::Column::Title,
            Expr::value("Edited through the write"),
        )
        .col_expr(event::Column::Category, Expr::value(moved_to))
        .filter(event::Column::Id.eq(edited.clone()))
        .exec(w.txn())
        .await
        .unwrap();
    w.commit().await.unwrap();
    let renamed = listed(&app, &format!("{moved_to_filter}&q=Edited+through")).await;
    assert_eq!(ids(&renamed), [edited.as_str()]);
    assert_eq!(renamed["items"][0]["title"], "Edited through the write");
    assert_eq!(charted(&app, moved_to).await, charted_moved_to + 1);
    assert_eq!(
        clustered(&app, &moved_to_filter).await,
        clustered_moved_to + 1
    );
    let (_, trip_after_edit) = app.get_json(&trip_url).await;
    assert_eq!(
        trip_after_edit["event"]["title"],
        "Edited through the write"
    );

    // New places, right at the edited event.
    let (status, e) = app.get_json(&format!("/api/v1/events/{edited}")).await;
    assert_eq!(status, 200, "{e}");
    let w = app::store::write::Write::trip_data(&app.db).await.unwrap();
    place::ActiveModel {
        provider: Set("test".into()),
        provider_id: Set("brand-new-bistro".into()),
        kind: Set("restaurant".into()),
        name: Set("Brand New Bistro".into()),
        lat: Set(e["lat"].as_f64().unwrap()),
        lon: Set(e["lon"].as_f64().unwrap()),
        rating: Set(Some(4.9)),
        rating_count: Set(Some(12)),
        price_level: Set(Some(2)),
        address: Set("1 Test Street".into()),
        url: Set(None),
        fetched_at: Set(chrono::Utc::now()),
        demo: Set(false),
        ..Default::default()
    }
    .insert(w.txn())
    .await
    .unwrap();
    w.commit().await.unwrap();
    let (_, trip_with_place) = app.get_json(&trip_url).await;
    assert_eq!(
        trip_with_place["restaurants"]["items"][0]["name"], "Brand New Bistro",
        "{trip_with_place}"
    );
}

both_backends!(writes_are_seen_everywhere_at_once);

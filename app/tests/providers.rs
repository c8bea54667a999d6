//! Provider clients over real HTTP against local mock servers speaking the providers'
//! documented wire formats, including 401, 429, 5xx, timeouts and malformed bodies.
#![cfg(feature = "ssr")]

use app::providers::duffel::Duffel;
use app::providers::places::{GooglePlaces, Overpass, GOOGLE_FIELD_MASK};
use app::providers::policy::{Caller, PolicyConfig, ProviderError};
use app::providers::predicthq::{EventsQuery, PredictHq};
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{
    body_partial_json, body_string_contains, header, method, path, query_param,
    query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_policy() -> PolicyConfig {
    PolicyConfig {
        rate_per_second: 0.0,
        daily_budget: 0,
        max_retries: 3,
        timeout: Duration::from_millis(800),
        base_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

fn phq(server: &MockServer, keys: &[&str], policy: PolicyConfig) -> PredictHq {
    PredictHq {
        caller: Caller::new(
            "predicthq",
            keys.iter().map(|k| k.to_string()).collect(),
            policy,
        ),
        base_url: server.uri(),
        categories: vec!["concerts".into(), "sports".into()],
        countries: vec![],
    }
}

fn query() -> EventsQuery {
    EventsQuery {
        from: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        updated_since: None,
    }
}

/// A record shaped as PredictHQ documents its events.
fn phq_event(id: &str, lat: f64, lon: f64) -> Value {
    json!({
        "id": id,
        "title": format!("Event {id}"),
        "description": "Sourced from predicthq.com",
        "category": "concerts",
        "labels": ["concert", "music"],
        "rank": 65,
        "local_rank": 80,
        "phq_attendance": 12000,
        "entities": [{"entity_id": format!("v-{id}"), "name": "Main Hall", "type": "venue", "formatted_address": "1 Main St"}],
        "duration": 10800,
        "start": "2027-06-10T18:00:00Z",
        "end": "2027-06-10T21:00:00Z",
        "updated": "2026-11-01T00:00:00Z",
        "first_seen": "2026-10-01T00:00:00Z",
        "timezone": "Europe/Berlin",
        "location": [lon, lat],
        "geo": {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "address": {"country_code": "DE", "locality": "Berlin", "formatted_address": "Berlin, Germany"}},
        "scope": "locality",
        "country": "DE",
        "place_hierarchies": [["6295630", "6255148", "2921044", "2950157"]],
        "state": "active",
        "brand_safe": true,
        "private": false
    })
}

fn page(results: Vec<Value>, next: Option<String>, overflow: bool) -> Value {
    json!({"count": results.len(), "overflow": overflow, "next": next, "previous": null, "results": results})
}

#[tokio::test]
async fn predicthq_follows_next_to_the_end() {
    let server = MockServer::start().await;
    let next = format!("{}/v1/events/?offset=2&limit=2&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("c", 52.5, 13.4)],
            None,
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param("offset", "0"))
        .and(query_param("state", "active,deleted"))
        .and(query_param("category", "concerts,sports"))
        .and(header("Authorization", "Bearer key-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("a", 52.5, 13.4), phq_event("b", 52.51, 13.41)],
            Some(next),
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = phq(&server, &["key-1"], fast_policy());
    let got = client.fetch(&query()).await.unwrap();
    let ids: Vec<_> = got.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(client.caller.calls(), 2);
}

#[tokio::test]
async fn predicthq_splits_an_overflowing_window() {
    let server = MockServer::start().await;
    // The whole year overflows; each half answers normally. The later half asks only for
    // the events that start in it: those that began earlier came with the first half.
    Mock::given(method("GET"))
        .and(query_param("active.gte", "2027-01-01"))
        .and(query_param("active.lte", "2027-12-31"))
        .and(query_param_is_missing("start.gte"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("partial", 1.0, 1.0)],
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("active.gte", "2027-01-01"))
        .and(query_param("active.lte", "2027-07-02"))
        .and(query_param_is_missing("start.gte"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("first-half", 1.0, 1.0)],
            None,
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("active.gte", "2027-07-03"))
        .and(query_param("active.lte", "2027-12-31"))
        .and(query_param("start.gte", "2027-07-03"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                phq_event("second-half", 1.0, 1.0),
                phq_event("first-half", 1.0, 1.0),
            ],
            None,
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], fast_policy());
    let got = client.fetch(&query()).await.unwrap();
    let mut ids: Vec<_> = got.events.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["first-half", "second-half"],
        "overflowing page discarded, duplicates merged"
    );
    assert_eq!(client.caller.calls(), 3);
}

#[tokio::test]
async fn predicthq_401_names_the_provider_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid token"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = phq(&server, &["bad"], fast_policy());
    let err = client.fetch(&query()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Unauthorized {
            provider: "predicthq",
            status: 401
        }
    );
    assert!(err.to_string().starts_with("predicthq"));
}

#[tokio::test]
async fn predicthq_honours_retry_after_on_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("a", 1.0, 1.0)],
            None,
            false,
        )))
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], fast_policy());
    let t = Instant::now();
    let got = client.fetch(&query()).await.unwrap();
    assert_eq!(got.events.len(), 1);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(client.caller.calls(), 2);
}

#[tokio::test]
async fn predicthq_rotates_to_the_next_key_when_one_is_out_of_quota() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer spent"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": "You have exceeded your quota for this plan"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("a", 1.0, 1.0)],
            None,
            false,
        )))
        .expect(2)
        .mount(&server)
        .await;
    let client = phq(&server, &["spent", "fresh"], fast_policy());
    assert_eq!(client.fetch(&query()).await.unwrap().events.len(), 1);
    // The exhausted key is not tried again.
    assert_eq!(client.fetch(&query()).await.unwrap().events.len(), 1);
}

#[tokio::test]
async fn every_key_out_of_quota_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_string("Quota exhausted"))
        .mount(&server)
        .await;
    let client = phq(&server, &["a", "b"], fast_policy());
    let err = client.fetch(&query()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::QuotaExhausted {
            provider: "predicthq"
        }
    );
    assert_eq!(client.caller.calls(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], None, false)))
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], fast_policy());
    let got = client.fetch(&query()).await.unwrap();
    assert!(got.events.is_empty(), "empty results are fine");
    assert_eq!(client.caller.calls(), 3);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], fast_policy());
    let err = client.fetch(&query()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Unavailable {
            provider: "predicthq",
            status: 500,
            attempts: 4
        }
    );
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(page(vec![], None, false)),
        )
        .mount(&server)
        .await;
    let mut policy = fast_policy();
    policy.max_retries = 1;
    policy.timeout = Duration::from_millis(300);
    let client = phq(&server, &["k"], policy);
    let err = client.fetch(&query()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Timeout {
                provider: "predicthq",
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_body_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": [oops"))
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], fast_policy());
    let err = client.fetch(&query()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Malformed {
                provider: "predicthq",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_records_are_set_aside_with_their_reason() {
    let server = MockServer::start().await;
    let mut broken = phq_event("no-location", 1.0, 1.0);
    broken.as_object_mut().unwrap().remove("location");
    broken.as_object_mut().unwrap().remove("geo");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![phq_event("good", 1.0, 1.0), broken, json!({"id": "junk"})],
            None,
            false,
        )))
        .mount(&server)
        .await;
    let got = phq(&server, &["k"], fast_policy())
        .fetch(&query())
        .await
        .unwrap();
    assert_eq!(got.events.len(), 1);
    let reasons: Vec<_> = got.invalid.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(reasons, ["no-location", "junk"]);
}

/// A PredictHQ mock answering every query with one empty page, and a client of it under
/// `policy`.
async fn empty_feed(policy: PolicyConfig) -> (MockServer, PredictHq) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], None, false)))
        .mount(&server)
        .await;
    let client = phq(&server, &["k"], policy);
    (server, client)
}

#[tokio::test]
async fn the_daily_budget_stops_calls() {
    let mut policy = fast_policy();
    policy.daily_budget = 5;
    let (_server, client) = empty_feed(policy).await;
    client.caller.sync_usage(4);
    client.fetch(&query()).await.unwrap();
    let err = client.fetch(&query()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::BudgetExhausted {
            provider: "predicthq",
            budget: 5
        }
    );
    // The one call made is handed to the store once; the budget still counts it.
    assert_eq!(client.caller.take_unrecorded(), 1);
    assert_eq!(client.caller.take_unrecorded(), 0);
    assert!(client.fetch(&query()).await.is_err());
    // A new day's count from the store opens the budget again.
    client.caller.sync_usage(0);
    client.fetch(&query()).await.unwrap();
}

/// Calls made at once share the budget: with three calls left and twelve started together,
/// three reach the provider.
#[tokio::test]
async fn concurrent_calls_never_pass_the_budget_together() {
    let mut policy = fast_policy();
    policy.daily_budget = 10;
    // Paced, so each call waits for its slot after checking the budget.
    policy.rate_per_second = 100.0;
    let (server, client) = empty_feed(policy).await;
    client.caller.sync_usage(7);
    let q = query();
    let answers = futures::future::join_all((0..12).map(|_| client.fetch(&q))).await;
    let made = answers.iter().filter(|a| a.is_ok()).count();
    let refused = answers
        .iter()
        .filter(|a| matches!(a, Err(ProviderError::BudgetExhausted { .. })))
        .count();
    assert_eq!((made, refused), (3, 9));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(client.caller.take_unrecorded(), 3);
}

#[tokio::test]
async fn google_places_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/places:searchNearby"))
        .and(header("X-Goog-Api-Key", "gkey"))
        .and(body_partial_json(json!({"includedTypes": ["cafe"], "maxResultCount": 20,
            "locationRestriction": {"circle": {"center": {"latitude": 37.5, "longitude": 127.0}}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"places": [
            {"id": "p1", "displayName": {"text": "Anthracite", "languageCode": "ko"},
             "location": {"latitude": 37.501, "longitude": 127.002}, "rating": 4.5, "userRatingCount": 900,
             "priceLevel": "PRICE_LEVEL_INEXPENSIVE", "formattedAddress": "Seoul", "googleMapsUri": "https://maps.google.com/?cid=2"},
            {"id": "p2", "location": {"latitude": 1.0, "longitude": 1.0}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"includedTypes": ["lodging"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let g = GooglePlaces {
        caller: Caller::new("google", vec!["gkey".into()], fast_policy()),
        base_url: server.uri(),
    };
    let found = g.search(37.5, 127.0, 3000.0, "cafe").await.unwrap();
    assert_eq!(found.len(), 1, "a place without a name is skipped");
    assert_eq!((found[0].lat, found[0].price_level), (37.501, Some(1)));
    assert!(g
        .search(37.5, 127.0, 5000.0, "lodging")
        .await
        .unwrap()
        .is_empty());
    for req in server.received_requests().await.unwrap() {
        let mask = req
            .headers
            .get("X-Goog-FieldMask")
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(mask, GOOGLE_FIELD_MASK);
    }
}

#[tokio::test]
async fn overpass_posts_a_query_and_reads_elements() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/interpreter"))
        .and(body_string_contains("amenity"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": 0.6, "generator": "Overpass API", "elements": [
            {"type": "node", "id": 7, "lat": 48.86, "lon": 2.35, "tags": {"amenity": "restaurant", "name": "Chez A"}},
            {"type": "way", "id": 8, "center": {"lat": 48.861, "lon": 2.351}, "tags": {"amenity": "restaurant", "name": "Chez B"}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let o = Overpass {
        caller: Caller::new("overpass", vec![], fast_policy()),
        url: format!("{}/api/interpreter", server.uri()),
    };
    let found = o.search(48.86, 2.35, 3000.0, "restaurant").await.unwrap();
    assert_eq!(
        found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Chez A", "Chez B"]
    );
}

#[tokio::test]
async fn duffel_sends_the_documented_request_and_keeps_the_cheapest() {
    let server = MockServer::start().await;
    let offer = |id: &str, amount: &str| {
        json!({"id": id, "total_amount": amount, "total_currency": "USD",
        "owner": {"iata_code": "KE", "name": "Korean Air"},
        "slices": [{"duration": "PT11H", "segments": [{"departing_at": "2027-06-09T10:00:00", "arriving_at": "2027-06-09T15:00:00",
            "marketing_carrier": {"iata_code": "KE", "name": "Korean Air"}, "marketing_carrier_flight_number": "905"}]}]})
    };
    Mock::given(method("POST"))
        .and(path("/air/offer_requests"))
        .and(query_param("return_offers", "true"))
        .and(header("Duffel-Version", "v2"))
        .and(header("Authorization", "Bearer dtoken"))
        .and(body_partial_json(json!({"data": {"slices": [{"origin": "ICN", "destination": "BER", "departure_date": "2027-06-09"}],
            "passengers": [{"type": "adult"}]}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"data": {"id": "orq_1",
            "offers": [offer("off_2", "900.10"), offer("off_1", "650.00")]}})))
        .expect(1)
        .mount(&server)
        .await;
    let d = Duffel {
        caller: Caller::new("duffel", vec!["dtoken".into()], fast_policy()),
        base_url: server.uri(),
    };
    let offers = d.offers("ICN", "BER", "2027-06-09").await.unwrap();
    assert_eq!(
        offers.iter().map(|o| o.price_minor).collect::<Vec<_>>(),
        [65000, 90010]
    );
}

#[tokio::test]
async fn duffel_validation_errors_are_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({"errors": [{"code": "invalid_airport", "title": "Invalid airport", "message": "The airport is not valid", "type": "validation_error"}]})))
        .mount(&server)
        .await;
    let d = Duffel {
        caller: Caller::new("duffel", vec!["t".into()], fast_policy()),
        base_url: server.uri(),
    };
    let err = d.offers("ICN", "XXX", "2027-06-09").await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Rejected {
                provider: "duffel",
                status: 422,
                ..
            }
        ),
        "{err:?}"
    );
}

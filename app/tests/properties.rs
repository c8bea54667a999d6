//! Property tests for what comes from outside: provider records (the snapshot parser) and
//! URL parameters (the filter every page and API route parses). Whatever arrives, the
//! answer is a value or a named reason, never a panic, and what is accepted holds the
//! invariants the store's queries rely on.
#![cfg(feature = "ssr")]

use app::filter::{Cursor, EventFilter, Sort, MAX_LIMIT};
use app::ingest::validate;
use app::providers::predicthq::normalise;
use app::types::CATEGORIES;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// The field names a PredictHQ record has, so that generated records hit the parser's
/// real paths and not only "unknown field" ones.
const FIELDS: &[&str] = &[
    "id",
    "title",
    "description",
    "category",
    "labels",
    "phq_labels",
    "rank",
    "local_rank",
    "phq_attendance",
    "predicted_event_spend",
    "start",
    "end",
    "start_local",
    "end_local",
    "updated",
    "timezone",
    "location",
    "geo",
    "entities",
    "country",
    "state",
    "deleted_reason",
    "duplicate_of_id",
    "impact_patterns",
    "predicted_event_spend_industries",
    "geometry",
    "coordinates",
    "type",
    "address",
    "country_code",
    "impacts",
    "date_local",
    "value",
    "vertical",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-200.0f64..200.0).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("2027-06-10T18:00:00Z"),
            Just("2027-02-30"),
            Just("2027-06-10"),
            Just("Point"),
            Just("active"),
            Just("deleted"),
            Just("concerts"),
            Just("<script>alert(1)</script>"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (prop::sample::select(FIELDS).prop_map(String::from), inner),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A documented record, as PredictHQ sends it.
fn documented() -> Value {
    json!({
        "id": "z1", "title": "Open Air", "description": "Sourced from predicthq.com",
        "category": "festivals", "labels": ["festival"], "rank": 70, "local_rank": 80,
        "phq_attendance": 30000, "start": "2027-07-01T12:00:00Z", "end": "2027-07-03T23:00:00Z",
        "timezone": "Europe/Berlin", "location": [13.4, 52.5],
        "geo": {"geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                "address": {"country_code": "DE", "locality": "Berlin"}},
        "entities": [{"type": "venue", "name": "Park", "formatted_address": "1 Park St"}],
        "country": "DE", "state": "active",
        "impact_patterns": [{"vertical": "accommodation", "impact_type": "phq_attendance",
            "impacts": [{"date_local": "2027-07-01", "value": 10000, "position": "event_day"}]}]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any JSON at all: a snapshot event, or the record set aside with its id and reason.
    #[test]
    fn any_record_is_read_or_set_aside_with_a_reason(raw in json_value()) {
        match normalise(raw) {
            Ok(e) => {
                // The validator decides with a reason; it never panics either.
                if let Err(reason) = validate(&e) {
                    prop_assert!(!reason.is_empty());
                }
            }
            Err((id, reason)) => {
                prop_assert!(!id.is_empty());
                prop_assert!(!reason.is_empty());
            }
        }
    }

    /// A documented record with one field replaced by anything: read or set aside, and
    /// when read and valid, its location is a real place on Earth.
    #[test]
    fn a_documented_record_with_one_field_broken(
        field in prop::sample::select(FIELDS),
        value in json_value(),
    ) {
        let mut raw = documented();
        raw[field] = value;
        if let Ok(e) = normalise(raw) {
            if validate(&e).is_ok() {
                prop_assert!(e.lat.is_finite() && e.lon.is_finite());
                prop_assert!((-90.0..=90.0).contains(&e.lat));
                prop_assert!((-180.0..=180.0).contains(&e.lon));
                prop_assert!(e.start <= e.end);
                prop_assert!(CATEGORIES.contains(&e.category.as_str()));
                prop_assert_eq!(e.country.len(), 2);
            }
        }
    }
}

const PARAMS: &[&str] = &[
    "q",
    "category",
    "country",
    "from",
    "to",
    "rank_min",
    "rank_max",
    "local_rank_min",
    "local_rank_max",
    "attendance_min",
    "near",
    "radius_km",
    "bbox",
    "sort",
    "limit",
    "cursor",
];

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,30}",
        "[0-9,.\\-]{0,24}",
        (-1000i64..1000).prop_map(|n| n.to_string()),
        (-200.0f64..200.0, -200.0f64..200.0).prop_map(|(a, b)| format!("{a},{b}")),
        (
            -200.0f64..200.0,
            -100.0f64..100.0,
            -200.0f64..200.0,
            -100.0f64..100.0
        )
            .prop_map(|(a, b, c, d)| format!("{a},{b},{c},{d}")),
        prop::sample::select(&CATEGORIES[..]).prop_map(String::from),
        prop::sample::select(&["rank", "start", "title", "attendance", "", "RANK"][..])
            .prop_map(String::from),
        prop::sample::select(&["DE", "kr", "USA", "2027-06-01", "2027-13-01", "NaN", "inf"][..])
            .prop_map(String::from),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                4 => prop::sample::select(PARAMS).prop_map(String::from),
                1 => ".{0,12}",
            ],
            param_value(),
        ),
        0..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any query: a filter whose every part is within its documented range, or an error
    /// that names a parameter; and an accepted filter survives its own link unchanged.
    #[test]
    fn any_query_gives_a_sound_filter_or_names_the_parameter(pairs in pairs()) {
        match EventFilter::from_pairs(&pairs, &[]) {
            Ok(f) => {
                prop_assert!((1..=MAX_LIMIT).contains(&f.limit));
                for r in [f.rank_min, f.rank_max, f.local_rank_min, f.local_rank_max].into_iter().flatten() {
                    prop_assert!((0..=100).contains(&r));
                }
                if let (Some(a), Some(b)) = (f.rank_min, f.rank_max) {
                    prop_assert!(a <= b);
                }
                for c in &f.categories {
                    prop_assert!(CATEGORIES.contains(&c.as_str()));
                }
                for c in &f.countries {
                    prop_assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
                }
                if let Some(b) = &f.bbox {
                    prop_assert!(b.min_lat <= b.max_lat);
                    prop_assert!([b.min_lon, b.max_lon].iter().all(|v| (-180.0..=180.0).contains(v)));
                }
                if let Some(n) = &f.near {
                    prop_assert!((-90.0..=90.0).contains(&n.lat) && (-180.0..=180.0).contains(&n.lon));
                    prop_assert!(n.radius_km > 0.0);
                }
                // The link a page builds from the filter gives the same filter back.
                let again = EventFilter::from_pairs(&f.to_pairs(), &[]);
                prop_assert!(again.is_ok(), "{:?} from {:?}", again, f.to_pairs());
                let mut again = again.unwrap();
                again.limit = f.limit;
                again.cursor = f.cursor.clone();
                prop_assert_eq!(again, f);
            }
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                prop_assert!(e.param.chars().count() <= 40);
            }
        }
    }

    /// Cursors: anything that is not a cursor this API issued is refused, and every issued
    /// cursor (events always have an id) reads back as itself.
    #[test]
    fn cursors_round_trip_and_garbage_is_refused(
        token in ".{0,64}",
        value in ".{0,30}",
        id in "[^\u{1f}]{1,20}",
    ) {
        if let Some(c) = Cursor::decode(&token) {
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        let c = Cursor { sort: Sort::Title, value: value.replace('\u{1f}', ""), id };
        prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}

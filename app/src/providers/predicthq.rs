//! PredictHQ events (`GET /v1/events/`): Bearer token, `limit`/`offset` paging by following
//! `next` until it is null, and `overflow: true` answered by splitting the date window.

use super::policy::{json_body, Caller, ProviderError};
use crate::ingest::diff::{ProviderState, SnapshotEvent};
use crate::types::{DemandDay, SpendIndustries};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

pub const NAME: &str = "predicthq";
const PAGE_SIZE: u32 = 500;
/// Date windows paged at once: one parses a page while another waits for the next.
const WINDOWS_AT_ONCE: usize = 3;

/// One date window's outcome.
enum Window {
    Fetched(Fetched),
    /// It overflowed: these two halves, earlier first.
    Split([(NaiveDate, NaiveDate); 2]),
}

#[derive(Clone)]
pub struct PredictHq {
    pub caller: Caller,
    pub base_url: String,
    pub categories: Vec<String>,
    pub countries: Vec<String>,
}

/// What to ask for: the active window and, for an incremental sync, the last sync time.
#[derive(Clone, Debug)]
pub struct EventsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub updated_since: Option<DateTime<Utc>>,
}

/// A snapshot as fetched: normalised events and the records set aside with their reason.
#[derive(Debug, Default)]
pub struct Fetched {
    pub events: Vec<SnapshotEvent>,
    pub invalid: Vec<(String, String)>,
    /// Windows that still overflowed at one day: the provider capped them.
    pub capped_days: Vec<NaiveDate>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    overflow: bool,
    next: Option<String>,
    /// Each record's text, read into a [`PhqEvent`] on its own so a bad one is set aside
    /// alone (and without first building a JSON tree of every record: a million at a time
    /// on a first load).
    results: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    formatted_address: Option<String>,
}

#[derive(Deserialize)]
struct Geo {
    geometry: Option<Geometry>,
    address: Option<Address>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    coordinates: Value,
}

#[derive(Deserialize)]
struct Address {
    country_code: Option<String>,
    formatted_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
struct PhqLabel {
    label: String,
}

#[derive(Deserialize)]
struct PhqEvent {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    category: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    phq_labels: Option<Vec<PhqLabel>>,
    #[serde(default)]
    rank: Option<i32>,
    #[serde(default)]
    local_rank: Option<i32>,
    #[serde(default)]
    phq_attendance: Option<i64>,
    #[serde(default)]
    predicted_event_spend: Option<f64>,
    start: String,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    start_local: Option<String>,
    #[serde(default)]
    end_local: Option<String>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    location: Option<Vec<f64>>,
    #[serde(default)]
    geo: Option<Geo>,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    deleted_reason: Option<String>,
    #[serde(default)]
    duplicate_of_id: Option<String>,
    #[serde(default)]
    impact_patterns: Option<Vec<ImpactPattern>>,
    #[serde(default)]
    predicted_event_spend_industries: Option<SpendIndustriesRaw>,
}

/// One vertical's day-by-day impact (`impact_patterns[]`).
#[derive(Deserialize)]
struct ImpactPattern {
    #[serde(default)]
    vertical: Option<String>,
    #[serde(default)]
    impact_type: Option<String>,
    #[serde(default)]
    impacts: Vec<Impact>,
}

#[derive(Deserialize)]
struct Impact {
    date_local: String,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    position: Option<String>,
}

#[derive(Deserialize)]
struct SpendIndustriesRaw {
    #[serde(default)]
    accommodation: Option<f64>,
    #[serde(default)]
    hospitality: Option<f64>,
    #[serde(default)]
    transportation: Option<f64>,
}

/// The demand pattern a traveller cares about: visitors per day. PredictHQ gives one
/// pattern per vertical; the accommodation one (attendance-based) is preferred, then
/// hospitality, then any attendance-based pattern. Days with unreadable dates are skipped.
fn demand_days(patterns: &[ImpactPattern]) -> Vec<DemandDay> {
    let attendance_based = |p: &&ImpactPattern| {
        p.impact_type
            .as_deref()
            .is_none_or(|t| t == "phq_attendance")
    };
    let pick = ["accommodation", "hospitality"]
        .iter()
        .find_map(|v| {
            patterns
                .iter()
                .filter(attendance_based)
                .find(|p| p.vertical.as_deref() == Some(v))
        })
        .or_else(|| patterns.iter().find(attendance_based));
    let Some(p) = pick else {
        return Vec::new();
    };
    let mut days: Vec<DemandDay> = p
        .impacts
        .iter()
        .filter_map(|i| {
            let date = date_of(&i.date_local)?;
            let visitors = i.value.filter(|v| v.is_finite() && *v >= 0.0)?.round() as i64;
            Some(DemandDay {
                // `YYYY-MM-DD`: the date was read from ten characters.
                date: date.to_string(),
                visitors,
                position: i.position.clone().unwrap_or_else(|| "event_day".into()),
            })
        })
        .collect();
    days.sort_by(|a, b| a.date.cmp(&b.date));
    days.dedup_by(|a, b| a.date == b.date);
    days
}

/// The id of a record that could not be read, to name it by, if it has a readable one.
fn id_hint(raw: &str) -> String {
    #[derive(Deserialize)]
    struct Id {
        id: Option<Value>,
    }
    serde_json::from_str::<Id>(raw)
        .ok()
        .and_then(|r| r.id)
        .as_ref()
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .unwrap_or("(no id)")
        .to_string()
}

fn instant(s: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn date_of(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Turns one PredictHQ record into a snapshot event, or says why it cannot be used.
pub fn normalise(raw: Value) -> Result<SnapshotEvent, (String, String)> {
    normalise_text(&raw.to_string())
}

/// [`normalise`] for a record's JSON text, as a page holds it.
pub fn normalise_text(raw: &str) -> Result<SnapshotEvent, (String, String)> {
    let e: PhqEvent = match serde_json::from_str(raw) {
        Ok(e) => e,
        Err(err) => return Err((id_hint(raw), format!("unreadable record: {err}"))),
    };
    let id_hint = Some(e.id.as_str())
        .filter(|id| !id.trim().is_empty())
        .unwrap_or("(no id)")
        .to_string();
    let fail = |reason: String| (id_hint.clone(), reason);
    let start = e
        .start_local
        .as_deref()
        .and_then(date_of)
        .or_else(|| date_of(&e.start))
        .ok_or_else(|| fail(format!("start `{}` is not a date", e.start)))?;
    let end = e
        .end_local
        .as_deref()
        .or(e.end.as_deref())
        .and_then(date_of)
        .unwrap_or(start);
    let (lon, lat) = match e.geo.as_ref().and_then(|g| g.geometry.as_ref()) {
        Some(g) if g.kind == "Point" => {
            let c = g.coordinates.as_array().cloned().unwrap_or_default();
            (
                c.first().and_then(Value::as_f64),
                c.get(1).and_then(Value::as_f64),
            )
        }
        _ => (None, None),
    };
    let (lon, lat) = match (lon, lat, e.location.as_deref()) {
        (Some(lon), Some(lat), _) => (lon, lat),
        (_, _, Some([lon, lat, ..])) => (*lon, *lat),
        _ => return Err(fail("no location".into())),
    };
    let venue = e
        .entities
        .iter()
        .find(|en| en.kind.as_deref() == Some("venue"));
    let address = e.geo.as_ref().and_then(|g| g.address.as_ref());
    let country = e
        .country
        .clone()
        .or_else(|| address.and_then(|a| a.country_code.clone()))
        .unwrap_or_default()
        .to_ascii_uppercase();
    let state = match e.state.as_deref().unwrap_or("active") {
        "active" | "predicted" => ProviderState::Active,
        other => ProviderState::Deleted {
            reason: e
                .deleted_reason
                .clone()
                .unwrap_or_else(|| other.to_string()),
            duplicate_of: e.duplicate_of_id.clone(),
        },
    };
    let labels = match &e.phq_labels {
        Some(l) if !l.is_empty() => l.iter().map(|l| l.label.clone()).collect(),
        _ => e.labels.clone(),
    };
    let spend_industries = e.predicted_event_spend_industries.as_ref().map(|s| {
        let round = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v.round() as i64);
        SpendIndustries {
            accommodation: round(s.accommodation),
            hospitality: round(s.hospitality),
            transportation: round(s.transportation),
        }
    });
    Ok(SnapshotEvent {
        starts_at: instant(Some(&e.start)),
        ends_at: instant(e.end.as_deref()),
        impact: demand_days(e.impact_patterns.as_deref().unwrap_or_default()),
        spend_industries,
        region: address.and_then(|a| a.region.clone()),
        id: e.id.clone(),
        title: e.title.trim().to_string(),
        description: e.description.clone().unwrap_or_default(),
        category: e.category.clone(),
        labels,
        rank: e.rank.unwrap_or(0),
        local_rank: e.local_rank,
        attendance: e.phq_attendance,
        spend_usd: e.predicted_event_spend.map(|v| v.round() as i64),
        start,
        end,
        timezone: e.timezone.clone().unwrap_or_else(|| "UTC".into()),
        venue_name: venue.and_then(|v| v.name.clone()).unwrap_or_default(),
        address: venue
            .and_then(|v| v.formatted_address.clone())
            .or_else(|| address.and_then(|a| a.formatted_address.clone()))
            .unwrap_or_default(),
        city: address
            .and_then(|a| a.locality.clone().or_else(|| a.region.clone()))
            .unwrap_or_default(),
        country,
        lat,
        lon,
        state,
        updated: e
            .updated
            .as_deref()
            .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
            .map(|d| d.with_timezone(&Utc)),
    })
}

impl PredictHq {
    /// The first page of one date window of the query.
    ///
    /// Every window but the query's first asks only for events that start in it
    /// (`start.gte`, in UTC like `active.*`): an event lasting several days is active in
    /// several windows, and without it each of them would send it again. Windows split to
    /// a day or two each at a million events, so most multi-day events came two or three
    /// times, each a record to page, send and parse. The first window still takes the
    /// events that began before the query and are still on.
    fn first_url(&self, q: &EventsQuery, from: NaiveDate, to: NaiveDate) -> String {
        let mut params: Vec<(String, String)> = vec![
            ("active.gte".into(), from.to_string()),
            ("active.lte".into(), to.to_string()),
            ("state".into(), "active,deleted".into()),
            ("limit".into(), PAGE_SIZE.to_string()),
            ("offset".into(), "0".into()),
            ("sort".into(), "start".into()),
        ];
        if from > q.from {
            params.push(("start.gte".into(), from.to_string()));
        }
        if !self.categories.is_empty() {
            params.push(("category".into(), self.categories.join(",")));
        }
        if !self.countries.is_empty() {
            params.push(("country".into(), self.countries.join(",")));
        }
        if let Some(since) = q.updated_since {
            params.push((
                "updated.gte".into(),
                since.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ));
        }
        let query = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{}/v1/events/?{query}", self.base_url.trim_end_matches('/'))
    }

    async fn page(&self, url: &str) -> Result<Page, ProviderError> {
        let resp = self
            .caller
            .send(|http, key| {
                http.get(url)
                    .bearer_auth(key)
                    .header("Accept", "application/json")
            })
            .await?;
        json_body(NAME, resp).await
    }

    /// Fetches every event of the query, splitting windows that overflow. Up to
    /// [`WINDOWS_AT_ONCE`] windows are paged at once (the rate limit still paces every
    /// call); the events come out in window order, as if paged one after another.
    pub async fn fetch(&self, q: &EventsQuery) -> Result<Fetched, ProviderError> {
        let mut windows = vec![(q.from, q.to)];
        let mut done: std::collections::BTreeMap<NaiveDate, Fetched> = Default::default();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < WINDOWS_AT_ONCE {
                let Some((from, to)) = windows.pop() else {
                    break;
                };
                let (this, q) = (self.clone(), q.clone());
                running.spawn(async move { (from, this.fetch_window(&q, from, to).await) });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (from, window) = joined.map_err(|e| ProviderError::Malformed {
                provider: NAME,
                detail: format!("a page fetch stopped: {e}"),
            })?;
            match window? {
                Window::Split(halves) => windows.extend(halves.into_iter().rev()),
                Window::Fetched(part) => {
                    done.insert(from, part);
                }
            }
        }
        let mut out = Fetched::default();
        for part in done.into_values() {
            out.events.extend(part.events);
            out.invalid.extend(part.invalid);
            out.capped_days.extend(part.capped_days);
        }
        // Windows overlap for multi-day events: keep each event once.
        let mut seen = std::collections::HashSet::new();
        out.events.retain(|e| seen.insert(e.id.clone()));
        Ok(out)
    }

    /// Pages through one date window, or says how to split it when it overflows.
    async fn fetch_window(
        &self,
        q: &EventsQuery,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Window, ProviderError> {
        let mut out = Fetched::default();
        let mut url = self.first_url(q, from, to);
        let mut first = true;
        loop {
            let page = self.page(&url).await?;
            if first && page.overflow && from < to {
                // More results than the API will page through: narrow the window.
                let mid = from + (to - from) / 2;
                return Ok(Window::Split([
                    (from, mid),
                    (mid.succ_opt().unwrap_or(mid), to),
                ]));
            }
            if first && page.overflow {
                out.capped_days.push(from);
            }
            first = false;
            for raw in page.results {
                match normalise_text(raw.get()) {
                    Ok(e) => out.events.push(e),
                    Err(bad) => out.invalid.push(bad),
                }
            }
            match page.next.filter(|n| !n.is_empty()) {
                Some(next) => url = self.resolve(&next),
                None => return Ok(Window::Fetched(out)),
            }
        }
    }

    /// The URL of the next page. PredictHQ answers with an absolute URL on its own host;
    /// behind a configured base URL (a proxy, a mirror, a test server) the same path and
    /// query are asked of the base instead.
    fn resolve(&self, next: &str) -> String {
        let base = self.base_url.trim_end_matches('/');
        if next.starts_with(base) {
            return next.to_string();
        }
        let path_and_query = match next.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => next,
        };
        let path_and_query = match path_and_query.find("/v1/") {
            Some(i) => &path_and_query[i..],
            None => path_and_query,
        };
        format!("{base}/{}", path_and_query.trim_start_matches('/'))
    }
}

/// Percent-encodes a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `impact_patterns` and `predicted_event_spend_industries` as PredictHQ documents them:
    /// the accommodation pattern (attendance-based) wins over hospitality and over a
    /// rank-based pattern; days come out in date order.
    #[test]
    fn impact_patterns_and_spend_industries_are_read() {
        let raw = json!({
            "id": "imp1", "title": "Expo", "category": "expos", "rank": 60,
            "start": "2027-03-01T00:00:00Z", "end": "2027-03-02T23:59:59Z",
            "location": [2.35, 48.85], "country": "FR",
            "predicted_event_spend": 900000,
            "predicted_event_spend_industries": {"accommodation": 400000.4, "hospitality": 350000, "transportation": 150000},
            "impact_patterns": [
                {"vertical": "hospitality", "impact_type": "phq_attendance", "impacts": [
                    {"date_local": "2027-03-01", "value": 1, "position": "event_day"}]},
                {"vertical": "accommodation", "impact_type": "phq_rank", "impacts": [
                    {"date_local": "2027-03-01", "value": 60, "position": "event_day"}]},
                {"vertical": "accommodation", "impact_type": "phq_attendance", "impacts": [
                    {"date_local": "2027-03-02", "value": 9500, "position": "event_day"},
                    {"date_local": "2027-02-28", "value": 1425, "position": "leading"},
                    {"date_local": "2027-03-01", "value": 9500, "position": "event_day"},
                    {"date_local": "not a date", "value": 5, "position": "lagging"},
                    {"date_local": "2027-03-03", "value": 2850.4, "position": "lagging"}]}
            ]
        });
        let e = normalise(raw).unwrap();
        let days: Vec<(&str, i64, &str)> = e
            .impact
            .iter()
            .map(|d| (d.date.as_str(), d.visitors, d.position.as_str()))
            .collect();
        assert_eq!(
            days,
            [
                ("2027-02-28", 1425, "leading"),
                ("2027-03-01", 9500, "event_day"),
                ("2027-03-02", 9500, "event_day"),
                ("2027-03-03", 2850, "lagging"),
            ]
        );
        let s = e.spend_industries.unwrap();
        assert_eq!(
            (s.accommodation, s.hospitality, s.transportation),
            (Some(400000), Some(350000), Some(150000))
        );
        assert_eq!(
            e.starts_at.unwrap().to_rfc3339(),
            "2027-03-01T00:00:00+00:00"
        );
    }

    #[test]
    fn a_documented_record_normalises() {
        let raw = json!({
            "id": "z6GqvnW3mPCSjxTYaC",
            "title": "Seoul Jazz Festival",
            "description": "Sourced from predicthq.com",
            "category": "concerts",
            "labels": ["concert", "music"],
            "phq_labels": [{"label": "concert", "weight": 1.0}],
            "rank": 72,
            "local_rank": 88,
            "phq_attendance": 30000,
            "predicted_event_spend": 1234567.4,
            "entities": [{"entity_id": "abc", "name": "Olympic Park", "type": "venue", "formatted_address": "424 Olympic-ro, Songpa-gu, Seoul"}],
            "start": "2027-05-27T01:00:00Z",
            "end": "2027-05-30T12:00:00Z",
            "start_local": "2027-05-27T10:00:00",
            "end_local": "2027-05-30T21:00:00",
            "updated": "2026-11-20T03:12:45Z",
            "timezone": "Asia/Seoul",
            "location": [127.1214, 37.5206],
            "geo": {"geometry": {"type": "Point", "coordinates": [127.1214, 37.5206]},
                     "address": {"country_code": "KR", "formatted_address": "Seoul, South Korea", "locality": "Seoul"}},
            "country": "KR",
            "state": "active",
            "deleted_reason": null,
            "duplicate_of_id": null
        });
        let e = normalise(raw).unwrap();
        assert_eq!(e.id, "z6GqvnW3mPCSjxTYaC");
        assert_eq!((e.lat, e.lon), (37.5206, 127.1214));
        assert_eq!(e.venue_name, "Olympic Park");
        assert_eq!(e.start.to_string(), "2027-05-27");
        assert_eq!(e.end.to_string(), "2027-05-30");
        assert_eq!(e.city, "Seoul");
        assert_eq!(e.spend_usd, Some(1234567));
        assert_eq!(e.state, ProviderState::Active);
    }

    #[test]
    fn next_pages_are_asked_of_the_configured_base() {
        let client = PredictHq {
            caller: Caller::new(NAME, vec![], Default::default()),
            base_url: "http://127.0.0.1:9000/phq".into(),
            categories: vec![],
            countries: vec![],
        };
        let want = "http://127.0.0.1:9000/phq/v1/events/?offset=10&limit=10";
        assert_eq!(
            client.resolve("https://api.predicthq.com/v1/events/?offset=10&limit=10"),
            want
        );
        assert_eq!(client.resolve(want), want);
        assert_eq!(client.resolve("/v1/events/?offset=10&limit=10"), want);
    }

    #[test]
    fn deleted_records_keep_their_reason() {
        let raw = json!({"id": "x", "title": "T", "category": "sports", "start": "2027-01-01T00:00:00Z",
            "location": [1.0, 2.0], "state": "deleted", "deleted_reason": "duplicate", "duplicate_of_id": "y"});
        let e = normalise(raw).unwrap();
        assert_eq!(
            e.state,
            ProviderState::Deleted {
                reason: "duplicate".into(),
                duplicate_of: Some("y".into())
            }
        );
    }

    #[test]
    fn records_without_location_or_start_are_set_aside() {
        let no_location =
            json!({"id": "a", "title": "T", "category": "sports", "start": "2027-01-01T00:00:00Z"});
        assert_eq!(normalise(no_location).unwrap_err().0, "a");
        let bad_start = json!({"id": "b", "title": "T", "category": "sports", "start": "soon", "location": [1.0, 2.0]});
        assert!(normalise(bad_start).unwrap_err().1.contains("start"));
        let no_title = json!({"id": "c", "category": "sports"});
        assert!(normalise(no_title).unwrap_err().1.contains("unreadable"));
    }
}

//! The answers of the busiest reads (map clusters, event list pages and trip bundles),
//! kept until what they were computed from changes. Every transaction that changes events
//! bumps the store's event generation (`derived::events_changed`, whichever process makes
//! the change), and a map or list answer is served only at the generation it was computed
//! at: one primary-key read instead of the query.
//!
//! A trip bundle shows one event, its airports, and places and offers, which change
//! without the events. Their writers stamp the store in the same transaction
//! ([`event_airports_changed`], [`trip_data_changed`]). A bundle kept under the current
//! stamps is served as it is; one kept before some events or some events' airports changed
//! is checked against its own event row and airports (two reads after the stamp's, not a
//! dozen), since a refresh changes a few percent of the events; after places or offers
//! changed it is read anew. The time of the last refresh is read anew for every view.

use super::entities::{event, event_airport};
use super::{derived, events::QueryError};
use crate::filter::EventFilter;
use crate::types::{Cluster, EventPage, TripBundle};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// About how many bytes of answers each kind keeps; past it the kind starts again empty.
const BUDGET_BYTES: usize = 24 * 1024 * 1024;
/// The `meta` key stamped anew by every write of places or flight offers.
const TRIP_DATA_KEY: &str = "trip_data_stamp";
/// The `meta` key stamped anew by every write of events' nearest airports.
const EVENT_AIRPORTS_KEY: &str = "event_airports_stamp";

#[derive(Clone)]
enum Answer {
    Clusters(Vec<Cluster>),
    Page(EventPage),
}

/// Map and list answers computed under one generation of the events.
struct Kept {
    stamp: Option<String>,
    answers: HashMap<String, Answer>,
    bytes: usize,
}

impl Kept {
    fn new(stamp: Option<String>) -> Self {
        Kept {
            stamp,
            answers: HashMap::new(),
            bytes: 0,
        }
    }

    /// The kept answer for `key` if it was computed under `stamp`; a different stamp
    /// empties the cache and starts it anew under that one.
    fn lookup(&mut self, key: &str, stamp: &Option<String>) -> Option<Answer> {
        if &self.stamp != stamp {
            *self = Kept::new(stamp.clone());
            return None;
        }
        self.answers.get(key).cloned()
    }

    fn store(&mut self, key: String, stamp: Option<String>, answer: Answer, bytes: usize) {
        if self.stamp != stamp {
            // The store changed while this answer was computed: keep nothing.
            return;
        }
        if self.bytes + bytes > BUDGET_BYTES {
            self.answers.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.answers.insert(key, answer);
    }
}

fn answers() -> MutexGuard<'static, Kept> {
    static ANSWERS: OnceLock<Mutex<Kept>> = OnceLock::new();
    ANSWERS
        .get_or_init(|| Mutex::new(Kept::new(None)))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn key(kind: &str, f: &EventFilter, extra: &str) -> String {
    format!(
        "{kind}|{extra}|{}",
        serde_json::to_string(f).unwrap_or_default()
    )
}

/// [`super::events::map_clusters`], cached.
pub async fn map_clusters(
    db: &DatabaseConnection,
    f: &EventFilter,
    zoom: u8,
) -> Result<Vec<Cluster>, QueryError> {
    let generation = derived::generation(db).await?;
    let key = key("clusters", f, &zoom.to_string());
    if let Some(Answer::Clusters(c)) = answers().lookup(&key, &generation) {
        return Ok(c);
    }
    let clusters = super::events::map_clusters(db, f, zoom).await?;
    let bytes = 160 + clusters.len() * 160;
    answers().store(key, generation, Answer::Clusters(clusters.clone()), bytes);
    Ok(clusters)
}

/// [`super::events::list_events`], cached.
pub async fn list_events(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<EventPage, QueryError> {
    let generation = derived::generation(db).await?;
    let key = key("list", f, "");
    if let Some(Answer::Page(p)) = answers().lookup(&key, &generation) {
        return Ok(p);
    }
    let page = super::events::list_events(db, f).await?;
    let bytes = 256 + serde_json::to_string(&page).map_or(0, |s| s.len());
    answers().store(key, generation, Answer::Page(page.clone()), bytes);
    Ok(page)
}

/// A value that differs from every earlier one, for a `meta` stamp.
fn new_stamp() -> String {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}.{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    )
}

/// Stamps the store anew after places or flight offers changed; call it in the transaction
/// that changes them. Every kept bundle is read anew after it.
pub async fn trip_data_changed<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    super::set_meta(txn, TRIP_DATA_KEY, &new_stamp()).await
}

/// Stamps the store anew after some events' airports changed; call it in the transaction
/// that changes them. A kept bundle is then checked against its event's airports (one
/// read) instead of read anew.
pub async fn event_airports_changed<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    super::set_meta(txn, EVENT_AIRPORTS_KEY, &new_stamp()).await
}

/// What a trip bundle is computed from, read in one statement: the events' generation, the
/// stamp of the events' airports and that of places and offers; when the last successful
/// refresh finished (the bundle shows it, kept or not), and whether the origin airport is
/// known.
pub struct TripStamp {
    generation: String,
    airports: String,
    trip_data: String,
    pub last_refresh: Option<String>,
    pub origin_known: bool,
}

pub async fn trip_stamp(db: &DatabaseConnection, origin: &str) -> Result<TripStamp, DbErr> {
    let backend = db.get_database_backend();
    let param = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT \
           (SELECT \"value\" FROM meta WHERE \"key\" = '{generation}') AS generation, \
           (SELECT \"value\" FROM meta WHERE \"key\" = '{EVENT_AIRPORTS_KEY}') AS airports, \
           (SELECT \"value\" FROM meta WHERE \"key\" = '{TRIP_DATA_KEY}') AS trip_data, \
           (SELECT finished_at FROM refresh_runs WHERE status = 'succeeded' \
              AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_refresh, \
           (SELECT COUNT(*) FROM airports WHERE iata = {param}) AS origin_known",
        generation = derived::GENERATION_KEY,
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [origin.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("trip stamp".into()))?;
    let generation: Option<String> = row.try_get("", "generation")?;
    let airports: Option<String> = row.try_get("", "airports")?;
    let trip_data: Option<String> = row.try_get("", "trip_data")?;
    let last_refresh: Option<DateTime<Utc>> = row.try_get("", "last_refresh")?;
    let origin_known: i64 = row.try_get("", "origin_known")?;
    Ok(TripStamp {
        generation: generation.unwrap_or_default(),
        airports: airports.unwrap_or_default(),
        trip_data: trip_data.unwrap_or_default(),
        last_refresh: last_refresh.map(|t| t.to_rfc3339()),
        origin_known: origin_known > 0,
    })
}

/// A kept bundle, the event row it was computed from and the stamp it was last known
/// current under.
struct KeptTrip {
    bundle: TripBundle,
    source: event::Model,
    generation: String,
    airports: String,
    trip_data: String,
    until: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct TripEntries {
    entries: HashMap<String, KeptTrip>,
    bytes: usize,
}

/// What is kept for one event, origin and party under a stamp.
pub enum KeptBundle {
    /// Nothing it shows has changed.
    Current(TripBundle),
    /// Some events or some events' airports changed since: it is current if its event's
    /// row is still `source` and its airports those it shows ([`still_current`]).
    ToCheck {
        bundle: TripBundle,
        source: Box<event::Model>,
    },
    Missing,
}

/// Whether a kept bundle computed from `source` still shows what the store holds, now that
/// the event row reads `now`: the same row, and the same airports at the same distances.
/// Places and offers are not checked: their writers stamp the store, and a bundle computed
/// under another stamp of theirs is not kept.
pub async fn still_current(
    db: &DatabaseConnection,
    bundle: &TripBundle,
    source: &event::Model,
    now: &event::Model,
) -> Result<bool, DbErr> {
    if source != now {
        return Ok(false);
    }
    let links: Vec<(String, f64)> = event_airport::Entity::find()
        .select_only()
        .column(event_airport::Column::Iata)
        .column(event_airport::Column::DistanceKm)
        .filter(event_airport::Column::EventId.eq(now.id.clone()))
        .order_by_asc(event_airport::Column::Position)
        .into_tuple()
        .all(db)
        .await?;
    let shown = &bundle.airports.items;
    Ok(links.len() == shown.len()
        && links
            .iter()
            .zip(shown)
            .all(|((iata, km), a)| *iata == a.iata && *km == a.distance_km))
}

/// The trip bundles one server keeps (in its `AppState`), by event, origin and party.
#[derive(Default)]
pub struct KeptTrips(Mutex<TripEntries>);

impl KeptTrips {
    fn locked(&self) -> MutexGuard<'_, TripEntries> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bundle kept for this event, origin and party, as it stands under `stamp`.
    pub fn get(&self, stamp: &TripStamp, id: &str, origin: &str, adults: u32) -> KeptBundle {
        let kept = self.locked();
        let Some(k) = kept.entries.get(&trip_key(id, origin, adults)) else {
            return KeptBundle::Missing;
        };
        if k.trip_data != stamp.trip_data || k.until.is_some_and(|t| Utc::now() >= t) {
            return KeptBundle::Missing;
        }
        if k.generation == stamp.generation && k.airports == stamp.airports {
            return KeptBundle::Current(k.bundle.clone());
        }
        KeptBundle::ToCheck {
            bundle: k.bundle.clone(),
            source: Box::new(k.source.clone()),
        }
    }

    /// Records that the kept bundle was found current under `stamp`.
    pub fn confirm(&self, stamp: &TripStamp, (id, origin, adults): (&str, &str, u32)) {
        if let Some(k) = self.locked().entries.get_mut(&trip_key(id, origin, adults)) {
            k.generation.clone_from(&stamp.generation);
            k.airports.clone_from(&stamp.airports);
        }
    }

    /// Keeps a bundle computed from the event row `source` under `stamp` (read before the
    /// bundle), until `until` when that is given (the first stored flight search it shows
    /// expires then).
    pub fn keep(
        &self,
        stamp: &TripStamp,
        (id, origin, adults): (&str, &str, u32),
        bundle: &TripBundle,
        source: &event::Model,
        until: Option<DateTime<Utc>>,
    ) {
        let bytes =
            1024 + serde_json::to_string(bundle).map_or(0, |s| s.len()) + source.description.len();
        let mut kept = self.locked();
        if kept.bytes + bytes > BUDGET_BYTES {
            kept.entries.clear();
            kept.bytes = 0;
        }
        kept.bytes += bytes;
        kept.entries.insert(
            trip_key(id, origin, adults),
            KeptTrip {
                bundle: bundle.clone(),
                source: source.clone(),
                generation: stamp.generation.clone(),
                airports: stamp.airports.clone(),
                trip_data: stamp.trip_data.clone(),
                until,
            },
        );
    }
}

fn trip_key(id: &str, origin: &str, adults: u32) -> String {
    format!("{id}|{origin}|{adults}")
}

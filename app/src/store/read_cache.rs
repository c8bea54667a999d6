//! The answers of the busiest reads (map clusters, event list pages and trip bundles),
//! kept until what they were computed from changes. Every transaction that changes events
//! bumps the store's event generation (`derived::events_changed`, whichever process makes
//! the change). A map or list answer computed at an earlier generation is served when none
//! of the events changed since could change it (`event_changes`: an event that matches its
//! filter before or after moved, came or went, is shown in it, or may now sort onto its
//! page), else computed again; a change that did not list its events reaches every answer.
//! One primary-key read instead of the query while nothing changed.
//!
//! A trip bundle shows one event, its airports, and places and offers, which change
//! without the events. Their writers stamp the store in the same transaction
//! ([`event_airports_changed`], [`trip_data_changed`]). A bundle kept under the current
//! stamps is served as it is; one kept before some events or some events' airports changed
//! is checked against its own event row and airports (two reads after the stamp's, not a
//! dozen), since a refresh changes a few percent of the events. Places and offers are
//! written a lookup at a time, each listing what it touched (the area of its places, the
//! route of its offers) in `trip_data_changes`: a bundle is read anew only when one of them
//! reaches it, so a refresh that looks up places in one city and flights on a few routes
//! leaves the bundles of every other event kept. The time of the last refresh is read anew
//! for every view.

use super::change_log::ChangeLog;
use super::entities::{event, event_airport, trip_data_change};
use super::event_changes::{self, EventChange};
use super::events::{DINING_RADIUS_KM, LODGING_RADIUS_KM};
use super::{derived, events::QueryError};
use crate::filter::EventFilter;
use crate::geo::haversine_km;
use crate::types::{Cluster, EventPage, TripBundle};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// About how many bytes of answers each kind keeps; past it the kind starts again empty.
const BUDGET_BYTES: usize = 24 * 1024 * 1024;
/// The `meta` counter every write of places or flight offers takes its number from.
const TRIP_DATA_SEQ_KEY: &str = "trip_data_seq";
/// The `meta` key holding the highest number whose listed changes were dropped.
const TRIP_DATA_PRUNED_KEY: &str = "trip_data_pruned_upto";
/// How long the list of changes to places and offers is kept: a server that has not read
/// it for longer starts its kept bundles again.
const TRIP_DATA_LISTED_HOURS: i64 = 24;
/// At most this many listed changes to places and offers are held in memory.
const TRIP_DATA_HELD: usize = 100_000;
/// The `meta` key stamped anew by every write of events' nearest airports.
const EVENT_AIRPORTS_KEY: &str = "event_airports_stamp";

#[derive(Clone)]
enum Answer {
    Clusters(Vec<Cluster>),
    Page(EventPage),
}

/// An answer, the filter it answers and the generation of the events it is known current
/// at.
#[derive(Clone)]
struct KeptAnswer {
    filter: EventFilter,
    generation: i64,
    answer: Answer,
}

impl KeptAnswer {
    fn reached_by(&self, batches: &[Arc<[EventChange]>]) -> bool {
        let mut changes = batches.iter().flat_map(|b| b.iter());
        match &self.answer {
            Answer::Clusters(c) => changes.any(|e| e.reaches_clusters(&self.filter, c)),
            Answer::Page(p) => changes.any(|e| e.reaches_page(&self.filter, p)),
        }
    }
}

/// How requests were answered since the last change was read, for the log: from a kept
/// answer that was current, from one checked against the changes since, computed anew.
#[derive(Default)]
struct Tally {
    current: u64,
    checked: u64,
    computed: u64,
}

impl Tally {
    /// Logs the counts and starts again.
    fn log(&mut self, what: &str, upto: i64) {
        let Tally {
            current,
            checked,
            computed,
        } = std::mem::take(self);
        if current + checked + computed > 0 {
            tracing::info!(
                what,
                upto,
                current,
                checked,
                computed,
                "kept answers since the last change"
            );
        }
    }
}

/// A kept answer as it stands at a generation.
enum Found {
    Current(Answer),
    /// Computed at an earlier generation: current unless one of these changes reaches it.
    ToCheck(Box<KeptAnswer>, Vec<Arc<[EventChange]>>),
    Missing,
}

/// The map and list answers one server keeps (in its `AppState`), and the changes to the
/// events it has read.
#[derive(Default)]
pub struct KeptAnswers {
    kept: Mutex<Kept>,
    /// Held by the one request that reads the changes listed since the last read (the
    /// others wait for it rather than all read the same rows).
    reading: tokio::sync::Mutex<()>,
}

impl KeptAnswers {
    fn locked(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key` if it is current at `generation` ([`catch_up_events`]
    /// first). The changes since it was computed are checked without holding the lock.
    fn get(&self, key: &str, generation: i64) -> Option<Answer> {
        let found = self.locked().lookup(key, generation);
        match found {
            Found::Current(answer) => {
                self.locked().tally.current += 1;
                Some(answer)
            }
            Found::ToCheck(kept, changes) => {
                if kept.reached_by(&changes) {
                    return None;
                }
                let mut locked = self.locked();
                locked.tally.checked += 1;
                locked.confirm(key, kept.generation, generation);
                Some(kept.answer)
            }
            Found::Missing => None,
        }
    }
}

#[derive(Default)]
struct Kept {
    answers: HashMap<String, KeptAnswer>,
    bytes: usize,
    log: Option<ChangeLog<EventChange>>,
    tally: Tally,
}

impl Kept {
    fn lookup(&self, key: &str, generation: i64) -> Found {
        let Some(kept) = self.answers.get(key) else {
            return Found::Missing;
        };
        if kept.generation >= generation {
            return Found::Current(kept.answer.clone());
        }
        match self
            .log
            .as_ref()
            .and_then(|log| log.between(kept.generation, generation))
        {
            Some(changes) => Found::ToCheck(Box::new(kept.clone()), changes),
            None => Found::Missing,
        }
    }

    /// Records that the answer kept for `key` at generation `since` is current at
    /// `generation`.
    fn confirm(&mut self, key: &str, since: i64, generation: i64) {
        if let Some(kept) = self.answers.get_mut(key) {
            if kept.generation == since {
                kept.generation = generation;
            }
        }
    }

    fn store(
        &mut self,
        key: String,
        f: &EventFilter,
        generation: i64,
        answer: Answer,
        bytes: usize,
    ) {
        self.tally.computed += 1;
        if self.bytes + bytes > BUDGET_BYTES {
            self.answers.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.answers.insert(
            key,
            KeptAnswer {
                filter: f.clone(),
                generation,
                answer,
            },
        );
    }
}

/// At most this many listed event changes are held in memory (about 300 bytes each).
const EVENT_CHANGES_HELD: usize = 50_000;

/// The events' generation now, with the changes listed up to it read (the first call
/// starts the log there).
async fn catch_up_events(db: &DatabaseConnection, answers: &KeptAnswers) -> Result<i64, DbErr> {
    let generation = derived::current(db).await?;
    {
        let mut kept = answers.locked();
        match &kept.log {
            None => {
                kept.log = Some(ChangeLog::starting_at(generation));
                return Ok(generation);
            }
            // A request that read the generation before another moved the log on.
            Some(log) if log.upto() >= generation => return Ok(generation),
            Some(_) => {}
        }
    }
    let _reading = answers.reading.lock().await;
    let read = match &answers.locked().log {
        Some(log) if log.upto() < generation => log.upto(),
        // Read while this request waited.
        _ => return Ok(generation),
    };
    let (changes, unknown) = event_changes::read(db, read, generation).await?;
    let mut guard = answers.locked();
    let kept = &mut *guard;
    kept.tally.log("map and list", read);
    if let Some(log) = kept.log.as_mut() {
        log.extend(changes, generation, unknown, EVENT_CHANGES_HELD);
        // Only the changes since the oldest kept answer are needed.
        let oldest = kept.answers.values().map(|a| a.generation).min();
        log.forget_upto(oldest.unwrap_or(generation).min(generation));
    }
    Ok(generation)
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
    answers: &KeptAnswers,
    f: &EventFilter,
    zoom: u8,
) -> Result<Vec<Cluster>, QueryError> {
    let generation = catch_up_events(db, answers).await?;
    let key = key("clusters", f, &zoom.to_string());
    if let Some(Answer::Clusters(c)) = answers.get(&key, generation) {
        return Ok(c);
    }
    let clusters = super::events::map_clusters(db, f, zoom).await?;
    let bytes = 160 + clusters.len() * 160;
    answers.locked().store(
        key,
        f,
        generation,
        Answer::Clusters(clusters.clone()),
        bytes,
    );
    Ok(clusters)
}

/// [`super::events::list_events`], cached.
pub async fn list_events(
    db: &DatabaseConnection,
    answers: &KeptAnswers,
    f: &EventFilter,
) -> Result<EventPage, QueryError> {
    let generation = catch_up_events(db, answers).await?;
    let key = key("list", f, "");
    if let Some(Answer::Page(p)) = answers.get(&key, generation) {
        return Ok(p);
    }
    let page = super::events::list_events(db, f).await?;
    let bytes = 256 + serde_json::to_string(&page).map_or(0, |s| s.len());
    answers
        .locked()
        .store(key, f, generation, Answer::Page(page.clone()), bytes);
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

/// What one write of places or flight offers touched.
#[derive(Clone, Debug, PartialEq)]
pub enum TripDataChange {
    /// Places that lie, or lay before the write, in this box (degrees).
    Places {
        min_lat: f64,
        min_lon: f64,
        max_lat: f64,
        max_lon: f64,
    },
    /// Offers from `origin` to `destination` (IATA codes).
    Flights { origin: String, destination: String },
    /// Anything a bundle shows.
    Anything,
}

impl TripDataChange {
    /// Places at these positions (latitude, longitude), old and new; `None` for none.
    pub fn places_at(points: impl IntoIterator<Item = (f64, f64)>) -> Option<TripDataChange> {
        points.into_iter().fold(None, |area, (lat, lon)| {
            Some(match area {
                Some(TripDataChange::Places {
                    min_lat,
                    min_lon,
                    max_lat,
                    max_lon,
                }) => TripDataChange::Places {
                    min_lat: min_lat.min(lat),
                    min_lon: min_lon.min(lon),
                    max_lat: max_lat.max(lat),
                    max_lon: max_lon.max(lon),
                },
                _ => TripDataChange::Places {
                    min_lat: lat,
                    min_lon: lon,
                    max_lat: lat,
                    max_lon: lon,
                },
            })
        })
    }

    fn of_row(row: &trip_data_change::Model) -> TripDataChange {
        match (row.min_lat, row.min_lon, row.max_lat, row.max_lon) {
            (Some(min_lat), Some(min_lon), Some(max_lat), Some(max_lon))
                if min_lat <= max_lat && min_lon <= max_lon =>
            {
                return TripDataChange::Places {
                    min_lat,
                    min_lon,
                    max_lat,
                    max_lon,
                }
            }
            _ => {}
        }
        match (&row.origin, &row.destination) {
            (Some(origin), Some(destination)) => TripDataChange::Flights {
                origin: origin.clone(),
                destination: destination.clone(),
            },
            // Written by something this version does not know: it may reach anything.
            _ => TripDataChange::Anything,
        }
    }

    /// Whether a bundle for an event at `lat`, `lon`, from `origin`, showing `airports`
    /// could show something this change wrote: a place within reach of the event (the
    /// places shown lie within the lodging or dining radius, by `haversine_km`), or an
    /// offer between the origin and one of the airports.
    fn reaches(&self, (lat, lon): (f64, f64), origin: &str, airports: &[String]) -> bool {
        match self {
            TripDataChange::Anything => true,
            TripDataChange::Places {
                min_lat,
                min_lon,
                max_lat,
                max_lon,
            } => {
                // The nearest point of the box; the margin covers the sphere's curvature
                // between it and the truly nearest point.
                let reach = DINING_RADIUS_KM.max(LODGING_RADIUS_KM) + 0.5;
                let nearest_lat = lat.max(*min_lat).min(*max_lat);
                // Across the antimeridian too.
                [lon, lon - 360.0, lon + 360.0].into_iter().any(|lon| {
                    let nearest_lon = lon.max(*min_lon).min(*max_lon);
                    haversine_km(lat, lon, nearest_lat, nearest_lon) <= reach
                })
            }
            TripDataChange::Flights {
                origin: from,
                destination: to,
            } => {
                let ours = |code: &String| airports.contains(code);
                (from == origin && ours(to)) || (ours(from) && to == origin)
            }
        }
    }
}

/// Lists a write of places or flight offers under the next number of the trip data
/// counter; call it in the transaction that writes them. The counter's row stays locked
/// until the commit (on PostgreSQL; SQLite has one writer at a time), so numbers become
/// visible in order: a server that reads number N finds every change up to N listed.
pub async fn trip_data_changed<C: ConnectionTrait>(
    txn: &C,
    change: TripDataChange,
) -> Result<(), DbErr> {
    use sea_orm::ActiveValue::Set;
    let seq = super::next_number(txn, TRIP_DATA_SEQ_KEY).await?;
    let mut row = trip_data_change::ActiveModel {
        seq: Set(seq),
        recorded_at: Set(Utc::now()),
        ..Default::default()
    };
    match change {
        TripDataChange::Places {
            min_lat,
            min_lon,
            max_lat,
            max_lon,
        } => {
            row.min_lat = Set(Some(min_lat));
            row.min_lon = Set(Some(min_lon));
            row.max_lat = Set(Some(max_lat));
            row.max_lon = Set(Some(max_lon));
        }
        TripDataChange::Flights {
            origin,
            destination,
        } => {
            row.origin = Set(Some(origin));
            row.destination = Set(Some(destination));
        }
        TripDataChange::Anything => {}
    }
    trip_data_change::Entity::insert(row).exec(txn).await?;
    Ok(())
}

/// Drops the listed changes to places and offers older than a day, and notes up to which
/// number they went, so a server that had not read them yet lets its kept bundles go.
pub async fn forget_old_trip_data_changes(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::TransactionTrait;
    let before = Utc::now() - Duration::hours(TRIP_DATA_LISTED_HOURS);
    let old: Option<i64> = trip_data_change::Entity::find()
        .select_only()
        .column_as(trip_data_change::Column::Seq.max(), "seq")
        .filter(trip_data_change::Column::RecordedAt.lt(before))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    let Some(upto) = old else { return Ok(()) };
    let txn = db.begin().await?;
    // Writes first: on SQLite a transaction that reads before it writes fails if another
    // writer commits in between.
    trip_data_change::Entity::delete_many()
        .filter(trip_data_change::Column::Seq.lte(upto))
        .exec(&txn)
        .await?;
    super::raise_number(&txn, TRIP_DATA_PRUNED_KEY, upto).await?;
    txn.commit().await
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
    /// The number of the last write of places or offers.
    trip_data: i64,
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
           (SELECT \"value\" FROM meta WHERE \"key\" = '{TRIP_DATA_SEQ_KEY}') AS trip_data, \
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
        trip_data: trip_data.and_then(|v| v.parse().ok()).unwrap_or(0),
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
    /// The number of the last write of places or offers known not to reach it.
    trip_data: i64,
    until: Option<DateTime<Utc>>,
}

impl KeptTrip {
    /// Whether any of `changes` could reach what this bundle shows.
    fn reached_by(&self, batches: &[Arc<[TripDataChange]>]) -> bool {
        let mut changes = batches.iter().flat_map(|b| b.iter());
        let origin = &self.bundle.flights.origin;
        let airports: Vec<String> = self
            .bundle
            .airports
            .items
            .iter()
            .map(|a| a.iata.clone())
            .collect();
        let at = (self.source.lat, self.source.lon);
        changes.any(|c| c.reaches(at, origin, &airports))
    }
}

#[derive(Default)]
struct TripEntries {
    entries: HashMap<String, KeptTrip>,
    bytes: usize,
    log: Option<ChangeLog<TripDataChange>>,
    tally: Tally,
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
/// Places and offers are not checked here: their writers list what they touched, and
/// [`KeptTrips::get`] lets go of a bundle any of them reaches.
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
pub struct KeptTrips {
    kept: Mutex<TripEntries>,
    /// Held by the one request that reads the changes listed since the last read.
    reading: tokio::sync::Mutex<()>,
}

impl KeptTrips {
    fn locked(&self) -> MutexGuard<'_, TripEntries> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the changes to places and offers listed up to `stamp`'s number that this
    /// server has not read yet. The first call starts the log at that number; when some
    /// were dropped before they were read, or too many are held, the bundles kept before
    /// them are let go.
    pub async fn catch_up(&self, db: &DatabaseConnection, stamp: &TripStamp) -> Result<(), DbErr> {
        let upto = stamp.trip_data;
        {
            let mut kept = self.locked();
            match &kept.log {
                None => {
                    kept.log = Some(ChangeLog::starting_at(upto));
                    return Ok(());
                }
                Some(log) if log.upto() >= upto => return Ok(()),
                Some(_) => {}
            }
        }
        let _reading = self.reading.lock().await;
        let read = match &self.locked().log {
            Some(log) if log.upto() < upto => log.upto(),
            // Read while this request waited.
            _ => return Ok(()),
        };
        let rows = trip_data_change::Entity::find()
            .filter(trip_data_change::Column::Seq.gt(read))
            .filter(trip_data_change::Column::Seq.lte(upto))
            .order_by_asc(trip_data_change::Column::Seq)
            .order_by_asc(trip_data_change::Column::Id)
            .all(db)
            .await?;
        // Read after the rows: a drop that came first shows here.
        let pruned: i64 = super::get_meta(db, TRIP_DATA_PRUNED_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut guard = self.locked();
        let kept = &mut *guard;
        kept.tally.log("trip bundles", read);
        if let Some(log) = kept.log.as_mut() {
            log.extend(
                rows.iter().map(|r| (r.seq, TripDataChange::of_row(r))),
                upto,
                (pruned > read).then_some(pruned),
                TRIP_DATA_HELD,
            );
            // Only the changes since the oldest kept bundle are needed.
            let oldest = kept.entries.values().map(|k| k.trip_data).min();
            log.forget_upto(oldest.unwrap_or(upto).min(upto));
        }
        Ok(())
    }

    /// The bundle kept for this event, origin and party, as it stands under `stamp`
    /// ([`KeptTrips::catch_up`] first).
    pub fn get(&self, stamp: &TripStamp, id: &str, origin: &str, adults: u32) -> KeptBundle {
        let mut guard = self.locked();
        let kept = &mut *guard;
        let Some(k) = kept.entries.get_mut(&trip_key(id, origin, adults)) else {
            return KeptBundle::Missing;
        };
        if k.until.is_some_and(|t| Utc::now() >= t) {
            return KeptBundle::Missing;
        }
        if k.trip_data < stamp.trip_data {
            let reached = match kept
                .log
                .as_ref()
                .and_then(|log| log.between(k.trip_data, stamp.trip_data))
            {
                Some(changes) => k.reached_by(&changes),
                None => true,
            };
            if reached {
                return KeptBundle::Missing;
            }
            k.trip_data = stamp.trip_data;
            kept.tally.checked += 1;
        } else {
            kept.tally.current += 1;
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
        kept.tally.computed += 1;
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
                trip_data: stamp.trip_data,
                until,
            },
        );
    }
}

fn trip_key(id: &str, origin: &str, adults: u32) -> String {
    format!("{id}|{origin}|{adults}")
}

#[cfg(test)]
mod tests {
    use super::TripDataChange;

    fn places(points: &[(f64, f64)]) -> TripDataChange {
        TripDataChange::places_at(points.iter().copied()).unwrap()
    }

    #[test]
    fn places_reach_the_bundles_within_the_lodging_radius_of_their_box() {
        let paris = (48.8566, 2.3522);
        let none: [String; 0] = [];
        // A place 4 km north (0.036 degrees): within 5 km.
        assert!(places(&[(paris.0 + 0.036, paris.1)]).reaches(paris, "LHR", &none));
        // 7 km north: out of reach.
        assert!(!places(&[(paris.0 + 0.063, paris.1)]).reaches(paris, "LHR", &none));
        // A box from 50 km west to 50 km east, 7 km north: its nearest point is 7 km.
        let wide = places(&[(paris.0 + 0.063, 1.67), (paris.0 + 0.063, 3.03)]);
        assert!(!wide.reaches(paris, "LHR", &none));
        // A box around the event reaches it wherever its corners are.
        let around = places(&[(48.0, 1.0), (49.5, 3.5)]);
        assert!(around.reaches(paris, "LHR", &none));
        // An old position near, a new one far: the box holds both.
        let moved = places(&[(paris.0, paris.1), (10.0, 10.0)]);
        assert!(moved.reaches(paris, "LHR", &none));
        assert_eq!(TripDataChange::places_at([]), None);
    }

    #[test]
    fn places_reach_across_the_antimeridian() {
        let taveuni = (-16.85, 179.99);
        let none: [String; 0] = [];
        // 2 km east of the event, across 180 degrees.
        assert!(places(&[(-16.85, -179.99)]).reaches(taveuni, "NAN", &none));
        assert!(places(&[(-16.85, 179.99)]).reaches((-16.85, -179.99), "NAN", &none));
        // A long way off on the other side.
        assert!(!places(&[(-16.85, -179.0)]).reaches(taveuni, "NAN", &none));
    }

    #[test]
    fn offers_reach_the_bundles_on_their_route_either_way() {
        let paris = (48.8566, 2.3522);
        let airports = ["CDG".to_string(), "ORY".to_string()];
        let flights = |origin: &str, destination: &str| TripDataChange::Flights {
            origin: origin.into(),
            destination: destination.into(),
        };
        assert!(flights("LHR", "ORY").reaches(paris, "LHR", &airports));
        assert!(flights("CDG", "LHR").reaches(paris, "LHR", &airports));
        assert!(!flights("LHR", "NCE").reaches(paris, "LHR", &airports));
        assert!(!flights("AMS", "CDG").reaches(paris, "LHR", &airports));
        assert!(!flights("CDG", "AMS").reaches(paris, "LHR", &airports));
        assert!(TripDataChange::Anything.reaches(paris, "LHR", &airports));
    }
}

//! The answers of the busiest reads (map clusters, event list pages and trip bundles),
//! kept until what they were computed from changes. Every transaction that changes events
//! bumps the store's event generation (`derived::events_changed`, whichever process makes
//! the change), and an answer is served only at the generation it was computed at: one
//! primary-key read instead of the query. Trip bundles also depend on places, airports and
//! flight offers, which change without the events: every transaction that writes them
//! stamps the store anew ([`trip_data_changed`]), and a kept bundle is served only under the
//! stamp it was computed under, with the time of the last refresh read anew.

use super::{derived, events::QueryError};
use crate::filter::EventFilter;
use crate::types::{Cluster, EventPage, TripBundle};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// About how many bytes of answers each kind keeps; past it the kind starts again empty.
const BUDGET_BYTES: usize = 24 * 1024 * 1024;
/// The `meta` key stamped anew by every write of places, event airports or flight offers.
const TRIP_DATA_KEY: &str = "trip_data_stamp";

#[derive(Clone)]
enum Answer {
    Clusters(Vec<Cluster>),
    Page(EventPage),
}

/// Answers computed under one stamp of the store, each perhaps with a time it expires.
struct Kept<A> {
    stamp: Option<String>,
    answers: HashMap<String, (A, Option<DateTime<Utc>>)>,
    bytes: usize,
}

impl<A: Clone> Kept<A> {
    fn new(stamp: Option<String>) -> Self {
        Kept {
            stamp,
            answers: HashMap::new(),
            bytes: 0,
        }
    }

    /// The kept answer for `key` if it was computed under `stamp` and has not expired; a
    /// different stamp empties the cache and starts it anew under that one.
    fn lookup(&mut self, key: &str, stamp: &Option<String>) -> Option<A> {
        if &self.stamp != stamp {
            *self = Kept::new(stamp.clone());
            return None;
        }
        match self.answers.get(key) {
            Some((answer, until)) if until.is_none_or(|t| Utc::now() < t) => Some(answer.clone()),
            _ => None,
        }
    }

    fn store(
        &mut self,
        key: String,
        stamp: Option<String>,
        answer: A,
        bytes: usize,
        until: Option<DateTime<Utc>>,
    ) {
        if self.stamp != stamp {
            // The store changed while this answer was computed: keep nothing.
            return;
        }
        if self.bytes + bytes > BUDGET_BYTES {
            self.answers.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.answers.insert(key, (answer, until));
    }
}

fn answers() -> MutexGuard<'static, Kept<Answer>> {
    static ANSWERS: OnceLock<Mutex<Kept<Answer>>> = OnceLock::new();
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
    answers().store(
        key,
        generation,
        Answer::Clusters(clusters.clone()),
        bytes,
        None,
    );
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
    answers().store(key, generation, Answer::Page(page.clone()), bytes, None);
    Ok(page)
}

/// Stamps the store anew after places, event airports or flight offers changed; call it in
/// the transaction that changes them. The value only has to differ from every earlier one.
pub async fn trip_data_changed<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let stamp = format!(
        "{}.{}.{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    );
    super::set_meta(txn, TRIP_DATA_KEY, &stamp).await
}

/// What a trip bundle is computed from, read in one statement: the events' generation and
/// the stamp of places, airports and offers (a kept bundle is served only under the same),
/// when the last successful refresh finished (the bundle shows it, kept or not), and
/// whether the origin airport is known.
pub struct TripStamp {
    value: Option<String>,
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
    let trip_data: Option<String> = row.try_get("", "trip_data")?;
    let last_refresh: Option<DateTime<Utc>> = row.try_get("", "last_refresh")?;
    let origin_known: i64 = row.try_get("", "origin_known")?;
    Ok(TripStamp {
        value: Some(format!(
            "{}|{}",
            generation.unwrap_or_default(),
            trip_data.unwrap_or_default(),
        )),
        last_refresh: last_refresh.map(|t| t.to_rfc3339()),
        origin_known: origin_known > 0,
    })
}

/// The trip bundles one server keeps (in its `AppState`), by event, origin and party.
pub struct KeptTrips(Mutex<Kept<TripBundle>>);

impl Default for KeptTrips {
    fn default() -> Self {
        KeptTrips(Mutex::new(Kept::new(None)))
    }
}

impl KeptTrips {
    fn locked(&self) -> MutexGuard<'_, Kept<TripBundle>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bundle kept for this event, origin and party under `stamp`.
    pub fn get(
        &self,
        stamp: &TripStamp,
        id: &str,
        origin: &str,
        adults: u32,
    ) -> Option<TripBundle> {
        self.locked()
            .lookup(&trip_key(id, origin, adults), &stamp.value)
    }

    /// Keeps a bundle computed under `stamp`, until `until` when that is given (the first
    /// stored flight search it shows expires then).
    pub fn keep(
        &self,
        stamp: &TripStamp,
        (id, origin, adults): (&str, &str, u32),
        bundle: &TripBundle,
        until: Option<DateTime<Utc>>,
    ) {
        let bytes = 512 + serde_json::to_string(bundle).map_or(0, |s| s.len());
        self.locked().store(
            trip_key(id, origin, adults),
            stamp.value.clone(),
            bundle.clone(),
            bytes,
            until,
        );
    }
}

fn trip_key(id: &str, origin: &str, adults: u32) -> String {
    format!("{id}|{origin}|{adults}")
}

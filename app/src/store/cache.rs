//! The answers of the busiest reads (map clusters, list pages and trip bundles), kept in
//! memory between requests under the store's versions they were computed at
//! (`store::state`): the events' generation, and for a trip bundle also the trip data's
//! version. A write moves a version on in its own transaction, so the next request asks
//! under a new key and computes its answer again; answers under old versions are never
//! asked for again and age out. One primary-key read per request decides, whichever
//! process made the change.
//!
//! The caches are moka's, bounded by an estimate of their bytes. Concurrent requests for
//! the same missing map or list answer compute it once (the first request after a refresh
//! is often many at once).

use super::events::QueryError;
use super::state;
use crate::filter::EventFilter;
use crate::types::{Cluster, EventPage, TripBundle};
use chrono::{DateTime, Utc};
use moka::future::Cache;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use std::sync::Arc;

/// About how many bytes of answers each cache keeps.
const BUDGET_BYTES: u64 = 24 * 1024 * 1024;

/// The answers one server keeps (in its `AppState`).
#[derive(Clone)]
pub struct ReadCache {
    clusters: Cache<String, Arc<Vec<Cluster>>>,
    pages: Cache<String, Arc<EventPage>>,
    trips: Cache<String, KeptTrip>,
}

#[derive(Clone)]
struct KeptTrip {
    bundle: Arc<TripBundle>,
    /// When the first flight search it shows expires.
    until: Option<DateTime<Utc>>,
}

fn bounded<V: Send + Sync + Clone + 'static>(weigh: fn(&V) -> usize) -> Cache<String, V> {
    Cache::builder()
        .max_capacity(BUDGET_BYTES)
        .weigher(move |k: &String, v: &V| u32::try_from(k.len() + weigh(v)).unwrap_or(u32::MAX))
        .build()
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache {
            clusters: bounded(|c: &Arc<Vec<Cluster>>| 160 + c.len() * 160),
            pages: bounded(|p: &Arc<EventPage>| 256 + p.items.len() * 512),
            trips: bounded(|t: &KeptTrip| {
                let b = &t.bundle;
                4096 + (b.restaurants.items.len() + b.cafes.items.len() + b.lodging.items.len())
                    * 256
            }),
        }
    }
}

fn key(generation: i64, f: &EventFilter, extra: &str) -> String {
    format!(
        "{generation}|{extra}|{}",
        serde_json::to_string(f).unwrap_or_default()
    )
}

/// A cached computation's error, for its caller (every request waiting on it gets one).
fn shared_error(e: Arc<QueryError>) -> QueryError {
    match &*e {
        QueryError::BadParameter(param, message) => {
            QueryError::BadParameter(param, message.clone())
        }
        QueryError::Db(db) => QueryError::Db(DbErr::Custom(db.to_string())),
    }
}

impl ReadCache {
    /// [`super::cells::map_clusters`], cached.
    pub async fn map_clusters(
        &self,
        db: &DatabaseConnection,
        f: &EventFilter,
        zoom: u8,
    ) -> Result<Vec<Cluster>, QueryError> {
        let generation = state::get(db).await?.events_generation;
        let clusters = self
            .clusters
            .try_get_with(key(generation, f, &zoom.to_string()), async {
                super::cells::map_clusters(db, f, zoom).await.map(Arc::new)
            })
            .await
            .map_err(shared_error)?;
        Ok(Vec::clone(&clusters))
    }

    /// [`super::events::list_events`], cached.
    pub async fn list_events(
        &self,
        db: &DatabaseConnection,
        f: &EventFilter,
    ) -> Result<EventPage, QueryError> {
        let generation = state::get(db).await?.events_generation;
        let page = self
            .pages
            .try_get_with(key(generation, f, "list"), async {
                super::events::list_events(db, f).await.map(Arc::new)
            })
            .await
            .map_err(shared_error)?;
        Ok(EventPage::clone(&page))
    }

    /// The trip bundle kept for this event, origin and party under `stamp`, unless the
    /// first flight search it shows has expired since.
    pub async fn trip(&self, stamp: &TripStamp, ask: TripAsk<'_>) -> Option<TripBundle> {
        let kept = self.trips.get(&stamp.key(ask)).await?;
        if kept.until.is_some_and(|t| Utc::now() >= t) {
            return None;
        }
        Some(TripBundle::clone(&kept.bundle))
    }

    /// Keeps a bundle computed under `stamp` (read before the bundle), until `until` when
    /// that is given.
    pub async fn keep_trip(
        &self,
        stamp: &TripStamp,
        ask: TripAsk<'_>,
        bundle: &TripBundle,
        until: Option<DateTime<Utc>>,
    ) {
        let kept = KeptTrip {
            bundle: Arc::new(bundle.clone()),
            until,
        };
        self.trips.insert(stamp.key(ask), kept).await;
    }
}

/// The event id, origin and party a trip bundle is asked for.
pub type TripAsk<'a> = (&'a str, &'a str, u32);

/// What a trip bundle is computed from, read in one statement: the store's versions, when
/// the last successful refresh finished (a bundle shows it, kept or not), and whether the
/// origin airport is known.
pub struct TripStamp {
    events_generation: i64,
    trip_data_version: i64,
    pub last_refresh: Option<String>,
    pub origin_known: bool,
}

impl TripStamp {
    fn key(&self, (id, origin, adults): TripAsk<'_>) -> String {
        format!(
            "{}|{}|{id}|{origin}|{adults}",
            self.events_generation, self.trip_data_version
        )
    }
}

pub async fn trip_stamp(db: &DatabaseConnection, origin: &str) -> Result<TripStamp, DbErr> {
    let backend = db.get_database_backend();
    let param = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT s.events_generation, t.version AS trip_data_version, \
           (SELECT finished_at FROM refresh_runs WHERE status = 'succeeded' \
              AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_refresh, \
           (SELECT COUNT(*) FROM airports WHERE iata = {param}) AS origin_known \
         FROM store_state s, trip_data_version t WHERE s.id = 1 AND t.id = 1"
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [origin.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("store_state: run `toursherpa migrate`".into()))?;
    let last_refresh: Option<DateTime<Utc>> = row.try_get("", "last_refresh")?;
    let origin_known: i64 = row.try_get("", "origin_known")?;
    Ok(TripStamp {
        events_generation: row.try_get("", "events_generation")?,
        trip_data_version: row.try_get("", "trip_data_version")?,
        last_refresh: last_refresh.map(|t| t.to_rfc3339()),
        origin_known: origin_known > 0,
    })
}

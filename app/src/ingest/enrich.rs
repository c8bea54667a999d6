//! Enrichment: nearest airports, places and flight offers for the events whose class needs
//! them. What is owed is written to `pending_enrichment` in the same transaction as the
//! events, and each entry is removed once done, so a killed or budget-limited run leaves a
//! list the next run finishes first. Lookups are cached by what they depend on (places by
//! location cell and kind, flights by origin, destination and date), so events at one
//! venue share them and a repeated lookup costs no call.

use super::diff::{Class, Diff, SnapshotEvent};
use crate::geo::haversine_km;
use crate::providers::policy::ProviderError;
use crate::providers::Providers;
use crate::store::entities::{
    airport, event, event_airport, flight_lookup, flight_offer, pending_enrichment, place,
    place_lookup,
};
use crate::store::events::{DINING_RADIUS_KM, LODGING_RADIUS_KM};
use crate::store::write::Write;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Place kinds looked up around every venue.
pub const PLACE_KINDS: [&str; 3] = ["restaurant", "cafe", "lodging"];
/// Airports farther than this from a venue are not "near" it.
pub const AIRPORT_RADIUS_KM: f64 = 250.0;
pub const MAX_AIRPORTS: usize = 3;
/// How long a flight lookup stays fresh.
pub const FLIGHT_TTL_HOURS: i64 = 24;
/// How long a places lookup stays fresh (restaurants and hotels change slowly).
pub const PLACES_TTL_DAYS: i64 = 30;
/// `pending_enrichment.need`: airports, places and flights.
pub const NEED_FULL: i16 = 1;
/// `pending_enrichment.need`: flights only (the dates changed).
pub const NEED_FLIGHTS: i16 = 2;
/// A lookup's radius covers the kind's radius from anywhere in its cell.
const CELL_MARGIN_KM: f64 = 0.8;
const MAX_ERRORS_KEPT: usize = 20;

/// The enrichment a class needs (design.md section 3): event id and need.
pub fn plan(diff: &Diff, snapshot: &[SnapshotEvent]) -> Vec<(String, i16)> {
    diff.decisions
        .iter()
        .filter_map(|d| {
            let e = &snapshot[d.snapshot_index?];
            match d.class {
                Class::New | Class::Moved => Some((e.id.clone(), NEED_FULL)),
                Class::Changed if d.dates_changed => Some((e.id.clone(), NEED_FLIGHTS)),
                _ => None,
            }
        })
        .collect()
}

/// Records owed enrichment (inside the caller's transaction). A stronger need wins.
pub async fn record_plan<C: ConnectionTrait>(
    db: &C,
    plan: &[(String, i16)],
    run_id: i32,
) -> Result<(), DbErr> {
    let now = Utc::now();
    // A plan names each event once; if it did not, the strongest need is kept.
    let mut wanted: HashMap<&str, i16> = HashMap::with_capacity(plan.len());
    for (event_id, need) in plan {
        let e = wanted.entry(event_id.as_str()).or_insert(*need);
        *e = (*e).min(*need);
    }
    let mut ids: Vec<&str> = wanted.keys().copied().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(500) {
        let owed: HashMap<String, i16> = pending_enrichment::Entity::find()
            .select_only()
            .column(pending_enrichment::Column::EventId)
            .column(pending_enrichment::Column::Need)
            .filter(pending_enrichment::Column::EventId.is_in(chunk.iter().map(|s| s.to_string())))
            .into_tuple::<(String, i16)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let rows = chunk.iter().map(|id| {
            let need = wanted[id];
            let need = owed.get(*id).map_or(need, |old| need.min(*old));
            pending_enrichment::ActiveModel {
                event_id: Set(id.to_string()),
                need: Set(need),
                run_id: Set(run_id),
                created_at: Set(now),
            }
        });
        pending_enrichment::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(pending_enrichment::Column::EventId)
                    .update_columns([
                        pending_enrichment::Column::Need,
                        pending_enrichment::Column::RunId,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Calls a from-scratch enrichment of one event would make (for "calls saved").
pub fn full_calls_per_event(origins: usize) -> i32 {
    (PLACE_KINDS.len() + 2 * origins * MAX_AIRPORTS) as i32
}

/// The days flights are looked up for an event: out the day before it starts, back the
/// day after it ends (the refresh and on-demand lookups share this, so they share cache).
pub fn flight_days(start: NaiveDate, end: NaiveDate) -> (NaiveDate, NaiveDate) {
    (start - Duration::days(1), end + Duration::days(1))
}

/// The cell a location falls in: about 1.1 km of latitude. Returns the key and its centre.
pub fn cell(lat: f64, lon: f64) -> (String, f64, f64) {
    let (la, lo) = ((lat * 100.0).round() as i64, (lon * 100.0).round() as i64);
    (format!("{la}:{lo}"), la as f64 / 100.0, lo as f64 / 100.0)
}

/// Up to three airports within 250 km, scheduled-service airports first, nearest first;
/// when none is that close, the nearest scheduled airport at any distance.
pub fn nearest_airports(airports: &[airport::Model], lat: f64, lon: f64) -> Vec<(String, f64)> {
    let mut near: Vec<(bool, f64, &airport::Model)> = airports
        .iter()
        .map(|a| (!a.scheduled, haversine_km(lat, lon, a.lat, a.lon), a))
        .filter(|(_, d, _)| *d <= AIRPORT_RADIUS_KM)
        .collect();
    near.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(String, f64)> = near
        .into_iter()
        .take(MAX_AIRPORTS)
        .map(|(_, d, a)| (a.iata.clone(), d))
        .collect();
    if out.is_empty() {
        if let Some((d, a)) = airports
            .iter()
            .filter(|a| a.scheduled)
            .map(|a| (haversine_km(lat, lon, a.lat, a.lon), a))
            .min_by(|x, y| x.0.total_cmp(&y.0))
        {
            out.push((a.iata.clone(), d));
        }
    }
    out
}

/// What running the owed enrichment did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub places_calls: i32,
    pub flights_calls: i32,
    /// Events whose enrichment is still owed (a provider failed or ran out of budget).
    pub deferred: i32,
    pub errors: Vec<String>,
    /// The heartbeat asked to stop; what was not reached stays owed.
    pub cancelled: bool,
}

impl Outcome {
    fn error(&mut self, e: &ProviderError) {
        if self.errors.len() < MAX_ERRORS_KEPT && !self.errors.contains(&e.to_string()) {
            self.errors.push(e.to_string());
        }
    }
}

/// An owed event that is still to be enriched: what its lookups are made from.
struct Target {
    event_id: String,
    /// What it is owed: [`NEED_FULL`] or flights only.
    need: i16,
    lat: f64,
    lon: f64,
    start: NaiveDate,
    end: NaiveDate,
}

/// One provider lookup owed by a chunk's events. Events at one venue, or flying the same
/// route on the same day, share it, so it is made once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Lookup {
    /// Places of a kind in a location cell (the cell's key, as [`cell`] gives it).
    Places { cell: String, kind: &'static str },
    /// Offers on one route and day.
    Flights {
        from: String,
        to: String,
        day: NaiveDate,
    },
}

/// Providers whose later calls this run are pointless (quota, budget, a refused key).
#[derive(Default)]
struct Stopped {
    places: AtomicBool,
    flights: AtomicBool,
}

/// Provider lookups in flight at once. Each waits mostly on the provider; their writes are
/// short transactions of their own, so a few at a time keep the store busy while the
/// others wait.
pub const LOOKUPS_IN_FLIGHT: usize = 8;

/// Each distinct lookup with the location it asks about, and each target's lookups (their
/// indexes in the first).
type ChunkLookups = (Vec<(Lookup, f64, f64)>, Vec<Vec<usize>>);

/// The lookups a chunk's targets need, each once, in the targets' order (oldest first),
/// and for each target the indexes of its lookups. A places lookup keeps the location of
/// the first event that needs it (any location in the cell asks the same question).
fn chunk_lookups(
    targets: &[Target],
    mut codes: HashMap<String, Vec<String>>,
    origins: &[String],
    by_code: &HashMap<&str, &airport::Model>,
) -> ChunkLookups {
    let mut lookups: Vec<(Lookup, f64, f64)> = Vec::new();
    let mut index: HashMap<Lookup, usize> = HashMap::new();
    let mut needs: Vec<Vec<usize>> = Vec::with_capacity(targets.len());
    let mut add = |lookup: Lookup, lat: f64, lon: f64| -> usize {
        *index.entry(lookup.clone()).or_insert_with(|| {
            lookups.push((lookup, lat, lon));
            lookups.len() - 1
        })
    };
    for t in targets {
        let mut mine = Vec::new();
        if t.need == NEED_FULL {
            let key = cell(t.lat, t.lon).0;
            for kind in PLACE_KINDS {
                let cell = key.clone();
                mine.push(add(Lookup::Places { cell, kind }, t.lat, t.lon));
            }
        }
        let codes = codes.remove(&t.event_id).unwrap_or_default();
        let (out_day, back_day) = flight_days(t.start, t.end);
        for origin in origins {
            if !by_code.contains_key(origin.as_str()) {
                continue;
            }
            for code in codes.iter().filter(|c| by_code.contains_key(c.as_str())) {
                if code == origin {
                    continue;
                }
                for (from, to, day) in [(origin, code, out_day), (code, origin, back_day)] {
                    let (from, to) = (from.clone(), to.clone());
                    mine.push(add(Lookup::Flights { from, to, day }, t.lat, t.lon));
                }
            }
        }
        needs.push(mine);
    }
    (lookups, needs)
}

/// Runs every owed enrichment, oldest first, a chunk of events at a time; within a chunk
/// the distinct lookups run a few at once. `heartbeat(done, total)` is called every few
/// lookups or every second (the caller keeps its lock alive and reports progress); when it
/// answers false no further lookup starts, those in flight finish, and the rest stays owed.
pub async fn run_pending<H, F>(
    db: &DatabaseConnection,
    providers: &Providers,
    origins: &[String],
    mut heartbeat: H,
) -> Result<Outcome, DbErr>
where
    H: FnMut(usize, usize) -> F,
    F: std::future::Future<Output = Result<bool, DbErr>>,
{
    use futures::future::{FusedFuture as _, FutureExt as _};
    use futures::{StreamExt as _, TryStreamExt as _};

    let mut out = Outcome::default();
    let places_before = providers.places.calls();
    let flights_before = providers.flights.calls();
    let total = pending_enrichment::Entity::find().count(db).await? as usize;
    if total == 0 {
        return Ok(out);
    }
    let airports = airport::Entity::find().all(db).await?;
    let by_code: HashMap<&str, &airport::Model> =
        airports.iter().map(|a| (a.iata.as_str(), a)).collect();
    // Set once a provider's error makes its later calls pointless, or the heartbeat asks
    // to stop (read by the lookups in flight).
    let stopped = Stopped::default();
    let cancelled = AtomicBool::new(false);
    let beat = futures::future::Fuse::<F>::terminated();
    let mut beat = std::pin::pin!(beat);

    let mut last_beat = std::time::Instant::now();
    let mut n = 0;
    // Oldest first, a chunk at a time (keyset paging: work left owed stays behind).
    let mut after: Option<(chrono::DateTime<Utc>, String)> = None;
    loop {
        if stopped.places.load(Relaxed) && stopped.flights.load(Relaxed) {
            // Both providers are out (budget, quota, outage): nothing more can be done
            // this run, and the rest stays owed, untouched, for the next.
            out.deferred += (total - n) as i32;
            break;
        }
        let chunk = owed_after(db, after.as_ref()).await?;
        let Some(last) = chunk.last() else { break };
        after = Some((last.created_at, last.event_id.clone()));
        // The chunk's events in one query, and their nearest airports (no provider is
        // asked for those) in one transaction.
        let ids: Vec<String> = chunk.iter().map(|p| p.event_id.clone()).collect();
        let rows: HashMap<String, (f64, f64, NaiveDate, NaiveDate, String)> = event::Entity::find()
            .select_only()
            .columns([
                event::Column::Id,
                event::Column::Lat,
                event::Column::Lon,
                event::Column::StartDate,
                event::Column::EndDate,
                event::Column::State,
            ])
            .filter(event::Column::Id.is_in(ids.clone()))
            .into_tuple::<(String, f64, f64, NaiveDate, NaiveDate, String)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, lat, lon, start, end, state)| (id, (lat, lon, start, end, state)))
            .collect();
        let mut finished: Vec<String> = Vec::new();
        let mut targets: Vec<Target> = Vec::with_capacity(chunk.len());
        for p in &chunk {
            match rows.get(&p.event_id) {
                // Hidden events are still enriched, ready for when an admin shows them.
                Some((lat, lon, start, end, state)) if state == "active" || state == "hidden" => {
                    targets.push(Target {
                        event_id: p.event_id.clone(),
                        need: p.need,
                        lat: *lat,
                        lon: *lon,
                        start: *start,
                        end: *end,
                    })
                }
                // Events gone or missing since they were planned count as done.
                _ => finished.push(p.event_id.clone()),
            }
        }
        let codes = store_airports(db, &airports, &targets).await?;
        let (lookups, needs) = chunk_lookups(&targets, codes, origins, &by_code);

        // Each lookup's outcome: true once made or found stored.
        let mut made = vec![false; lookups.len()];
        let mut lookups_done = 0usize;
        let (by_code, stopped, cancelled, all) = (&by_code, &stopped, &cancelled, &lookups);
        // By index: a stream of borrowed items would not be `Send`.
        let mut running = futures::stream::iter(0..lookups.len())
            .map(|i| async move {
                let (lookup, lat, lon) = &all[i];
                let answer = match lookup {
                    _ if cancelled.load(Relaxed) => None,
                    Lookup::Places { .. } if stopped.places.load(Relaxed) => None,
                    Lookup::Flights { .. } if stopped.flights.load(Relaxed) => None,
                    Lookup::Places { kind, .. } => {
                        Some(lookup_places(db, providers, *lat, *lon, kind).await?)
                    }
                    Lookup::Flights { from, to, day } => {
                        let (from, to) = (by_code[from.as_str()], by_code[to.as_str()]);
                        Some(lookup_flights(db, providers, from, to, *day).await?)
                    }
                };
                Ok::<_, DbErr>((i, answer))
            })
            .buffer_unordered(LOOKUPS_IN_FLIGHT);
        // The heartbeat runs beside the lookups, never instead of them: a lookup paused
        // inside its transaction would hold SQLite's write lock that the heartbeat waits for.
        loop {
            tokio::select! {
                next = running.try_next() => {
                    let Some((i, answer)) = next? else { break };
                    lookups_done += 1;
                    match answer {
                        Some(Ok(())) => made[i] = true,
                        Some(Err(e)) => {
                            out.error(&e);
                            if e.stops_provider() {
                                match lookups[i].0 {
                                    Lookup::Places { .. } => stopped.places.store(true, Relaxed),
                                    Lookup::Flights { .. } => stopped.flights.store(true, Relaxed),
                                }
                            }
                        }
                        None => {}
                    }
                    let due = lookups_done.is_multiple_of(20)
                        || last_beat.elapsed() >= std::time::Duration::from_secs(1);
                    if due && beat.is_terminated() && !cancelled.load(Relaxed) {
                        last_beat = std::time::Instant::now();
                        // Progress in events: the chunk's share of its lookups done.
                        let progress = n + chunk.len() * lookups_done / lookups.len();
                        beat.set(heartbeat(progress, total).fuse());
                    }
                }
                going_on = &mut beat, if !beat.is_terminated() => {
                    if !going_on? {
                        cancelled.store(true, Relaxed);
                    }
                }
            }
        }
        drop(running);
        if !beat.is_terminated() && !(&mut beat).await? {
            cancelled.store(true, Relaxed);
        }
        n += chunk.len();
        for (t, mine) in targets.iter().zip(&needs) {
            if mine.iter().all(|&i| made[i]) {
                finished.push(t.event_id.clone());
            } else {
                out.deferred += 1;
            }
        }
        remove_done(db, &finished).await?;
        if cancelled.load(Relaxed) {
            out.cancelled = true;
            out.deferred += (total - n) as i32;
            break;
        }
    }
    out.places_calls = (providers.places.calls() - places_before) as i32;
    out.flights_calls = (providers.flights.calls() - flights_before) as i32;
    Ok(out)
}

/// The next chunk of owed enrichment, oldest first, after `after` (created, event id).
async fn owed_after(
    db: &DatabaseConnection,
    after: Option<&(chrono::DateTime<Utc>, String)>,
) -> Result<Vec<pending_enrichment::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait as _};
    let mut query = pending_enrichment::Entity::find();
    if let Some((at, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(pending_enrichment::Column::CreatedAt),
                Expr::col(pending_enrichment::Column::EventId),
            ])
            .gt(Expr::tuple([Expr::value(*at), Expr::value(id.clone())])),
        );
    }
    query
        .order_by(pending_enrichment::Column::CreatedAt, Order::Asc)
        .order_by(pending_enrichment::Column::EventId, Order::Asc)
        .limit(ENRICH_CHUNK as u64)
        .all(db)
        .await
}

/// Owed enrichment is taken this many events at a time (one query for the events, one
/// transaction for their airports, one delete for those done).
const ENRICH_CHUNK: usize = 500;

async fn remove_done(db: &DatabaseConnection, event_ids: &[String]) -> Result<(), DbErr> {
    if event_ids.is_empty() {
        return Ok(());
    }
    pending_enrichment::Entity::delete_many()
        .filter(pending_enrichment::Column::EventId.is_in(event_ids.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores the nearest airports of the events that need them (need full) and returns
/// every target's airport codes, nearest first; for the others (flights only) they are
/// read from the store.
async fn store_airports(
    db: &DatabaseConnection,
    airports: &[airport::Model],
    targets: &[Target],
) -> Result<HashMap<String, Vec<String>>, DbErr> {
    let mut codes: HashMap<String, Vec<String>> = HashMap::with_capacity(targets.len());
    let mut rows = Vec::new();
    let mut full: Vec<String> = Vec::new();
    for t in targets.iter().filter(|t| t.need == NEED_FULL) {
        full.push(t.event_id.clone());
        let nearest = nearest_airports(airports, t.lat, t.lon);
        for (i, (iata, d)) in nearest.iter().enumerate() {
            rows.push(event_airport::ActiveModel {
                event_id: Set(t.event_id.clone()),
                iata: Set(iata.clone()),
                distance_km: Set((*d * 10.0).round() / 10.0),
                position: Set(i as i16),
            });
        }
        codes.insert(
            t.event_id.clone(),
            nearest.into_iter().map(|(c, _)| c).collect(),
        );
    }
    if !full.is_empty() {
        let w = Write::trip_data(db).await?;
        let txn = w.txn();
        event_airport::Entity::delete_many()
            .filter(event_airport::Column::EventId.is_in(full))
            .exec(txn)
            .await?;
        for batch in rows.chunks(1000) {
            event_airport::Entity::insert_many(batch.to_vec())
                .exec(txn)
                .await?;
        }
        w.commit().await?;
    }
    let flights_only: Vec<String> = targets
        .iter()
        .filter(|t| t.need != NEED_FULL)
        .map(|t| t.event_id.clone())
        .collect();
    if !flights_only.is_empty() {
        let stored: Vec<(String, String)> = event_airport::Entity::find()
            .select_only()
            .column(event_airport::Column::EventId)
            .column(event_airport::Column::Iata)
            .filter(event_airport::Column::EventId.is_in(flights_only))
            .order_by(event_airport::Column::EventId, Order::Asc)
            .order_by(event_airport::Column::Position, Order::Asc)
            .into_tuple()
            .all(db)
            .await?;
        for (event_id, iata) in stored {
            codes.entry(event_id).or_default().push(iata);
        }
    }
    Ok(codes)
}

/// Looks up places of one kind around a location unless its cell was looked up before.
async fn lookup_places(
    db: &DatabaseConnection,
    providers: &Providers,
    lat: f64,
    lon: f64,
    kind: &str,
) -> Result<Result<(), ProviderError>, DbErr> {
    let client = &providers.places;
    let provider = client.name();
    let (key, clat, clon) = cell(lat, lon);
    let fresh_since = Utc::now() - Duration::days(PLACES_TTL_DAYS);
    let cached =
        place_lookup::Entity::find_by_id((key.clone(), kind.to_string(), provider.to_string()))
            .one(db)
            .await?
            .is_some_and(|l| l.fetched_at > fresh_since);
    if cached {
        return Ok(Ok(()));
    }
    let radius_km = if kind == "lodging" {
        LODGING_RADIUS_KM
    } else {
        DINING_RADIUS_KM
    } + CELL_MARGIN_KM;
    let found = match client
        .search(&key, clat, clon, radius_km * 1000.0, kind)
        .await
    {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let now = Utc::now();
    // In one order, so that two lookups writing the same place (neighbouring cells) at
    // once wait for each other rather than deadlock.
    let mut found = found;
    found.sort_unstable_by(|a, b| a.provider_id.cmp(&b.provider_id));
    let w = Write::trip_data(db).await?;
    let txn = w.txn();
    for p in &found {
        place::Entity::insert(place::ActiveModel {
            provider: Set(provider.into()),
            provider_id: Set(p.provider_id.clone()),
            kind: Set(kind.into()),
            name: Set(p.name.clone()),
            lat: Set(p.lat),
            lon: Set(p.lon),
            rating: Set(p.rating),
            rating_count: Set(p.rating_count),
            price_level: Set(p.price_level),
            address: Set(p.address.clone()),
            url: Set(p.url.clone()),
            fetched_at: Set(now),
            demo: Set(client.is_demo()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([place::Column::Provider, place::Column::ProviderId])
                .update_columns([
                    place::Column::Name,
                    place::Column::Kind,
                    place::Column::Lat,
                    place::Column::Lon,
                    place::Column::Rating,
                    place::Column::RatingCount,
                    place::Column::PriceLevel,
                    place::Column::Address,
                    place::Column::Url,
                    place::Column::FetchedAt,
                ])
                .to_owned(),
        )
        .exec(txn)
        .await?;
    }
    place_lookup::Entity::insert(place_lookup::ActiveModel {
        cell: Set(key),
        kind: Set(kind.into()),
        provider: Set(provider.into()),
        result_count: Set(found.len() as i32),
        fetched_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            place_lookup::Column::Cell,
            place_lookup::Column::Kind,
            place_lookup::Column::Provider,
        ])
        .update_columns([
            place_lookup::Column::ResultCount,
            place_lookup::Column::FetchedAt,
        ])
        .to_owned(),
    )
    .exec(txn)
    .await?;
    w.commit().await?;
    Ok(Ok(()))
}

/// Fetches offers for one route and day unless a fresh lookup is stored.
async fn lookup_flights(
    db: &DatabaseConnection,
    providers: &Providers,
    from: &airport::Model,
    to: &airport::Model,
    day: NaiveDate,
) -> Result<Result<(), ProviderError>, DbErr> {
    let client = &providers.flights;
    let provider = client.name();
    let now = Utc::now();
    let fresh = flight_lookup::Entity::find()
        .filter(flight_lookup::Column::Origin.eq(from.iata.clone()))
        .filter(flight_lookup::Column::Destination.eq(to.iata.clone()))
        .filter(flight_lookup::Column::DepartDate.eq(day))
        .filter(flight_lookup::Column::Provider.eq(provider))
        .filter(flight_lookup::Column::ExpiresAt.gt(now))
        .count(db)
        .await?
        > 0;
    if fresh {
        return Ok(Ok(()));
    }
    let date = day.format("%Y-%m-%d").to_string();
    let offers = match client
        .offers(
            (&from.iata, from.lat, from.lon),
            (&to.iata, to.lat, to.lon),
            &date,
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    let expires = now + Duration::hours(FLIGHT_TTL_HOURS);
    let w = Write::trip_data(db).await?;
    let txn = w.txn();
    flight_offer::Entity::delete_many()
        .filter(flight_offer::Column::Origin.eq(from.iata.clone()))
        .filter(flight_offer::Column::Destination.eq(to.iata.clone()))
        .filter(flight_offer::Column::DepartDate.eq(day))
        .filter(flight_offer::Column::Provider.eq(provider))
        .exec(txn)
        .await?;
    if !offers.is_empty() {
        flight_offer::Entity::insert_many(offers.iter().map(|o| flight_offer::ActiveModel {
            provider: Set(provider.into()),
            origin: Set(from.iata.clone()),
            destination: Set(to.iata.clone()),
            depart_date: Set(day),
            carrier_code: Set(o.carrier_code.clone()),
            carrier_name: Set(o.carrier_name.clone()),
            flight_number: Set(o.flight_number.clone()),
            stops: Set(o.stops),
            departs_at: Set(o.departs_at.clone()),
            arrives_at: Set(o.arrives_at.clone()),
            duration_minutes: Set(o.duration_minutes),
            price_minor: Set(o.price_minor),
            currency: Set(o.currency.clone()),
            booking_url: Set(o.booking_url.clone()),
            fetched_at: Set(now),
            expires_at: Set(expires),
            demo: Set(client.is_demo()),
            ..Default::default()
        }))
        .exec(txn)
        .await?;
    }
    flight_lookup::Entity::insert(flight_lookup::ActiveModel {
        origin: Set(from.iata.clone()),
        destination: Set(to.iata.clone()),
        depart_date: Set(day),
        provider: Set(provider.into()),
        result_count: Set(offers.len() as i32),
        fetched_at: Set(now),
        expires_at: Set(expires),
    })
    .on_conflict(
        OnConflict::columns([
            flight_lookup::Column::Origin,
            flight_lookup::Column::Destination,
            flight_lookup::Column::DepartDate,
            flight_lookup::Column::Provider,
        ])
        .update_columns([
            flight_lookup::Column::ResultCount,
            flight_lookup::Column::FetchedAt,
            flight_lookup::Column::ExpiresAt,
        ])
        .to_owned(),
    )
    .exec(txn)
    .await?;
    w.commit().await?;
    Ok(Ok(()))
}

/// What [`flights_for_origin`] did: the provider errors it met, for logging (the page
/// shows what is stored), and how long what the store now holds for this event and origin
/// stays complete.
pub struct OnDemandFlights {
    pub errors: Vec<ProviderError>,
    pub complete: Completeness,
}

/// Whether a trip bundle read now may be kept, and for how long.
pub enum Completeness {
    /// Nothing to fetch for this event and origin (not active, no airports): kept until the
    /// store changes.
    Nothing,
    /// Every search is stored and fresh, or the day's budget is spent: kept until the first
    /// stored search expires or the budget starts again.
    Until(DateTime<Utc>),
    /// A search is missing (the provider failed, or searches were just made): not kept, so
    /// the next view tries again or finds them stored.
    Missing,
}

/// Flight offers between the airport `from` and an event's airports, both ways, fetched
/// on demand when a traveller asks (through the same cache, budget and policy as the
/// refresh). The budget is the day's, as the store counts it for every process, and the
/// calls made here are added to that count.
pub async fn flights_for_origin(
    db: &DatabaseConnection,
    providers: &Providers,
    ev: &event::Model,
    from: &airport::Model,
) -> Result<OnDemandFlights, DbErr> {
    let nothing = |complete| OnDemandFlights {
        errors: Vec::new(),
        complete,
    };
    let event_id = ev.id.as_str();
    if ev.state != "active" {
        return Ok(nothing(Completeness::Nothing));
    }
    let links = event_airport::Entity::find()
        .filter(event_airport::Column::EventId.eq(event_id))
        .all(db)
        .await?;
    let codes: Vec<String> = links
        .iter()
        .map(|l| l.iata.clone())
        .filter(|c| *c != from.iata)
        .collect();
    if codes.is_empty() {
        return Ok(nothing(Completeness::Nothing));
    }
    let (out_day, back_day) = flight_days(ev.start_date, ev.end_date);
    // What the store already holds, in one read: the page asks this on every view.
    let fresh: HashMap<(String, String, NaiveDate), DateTime<Utc>> = flight_lookup::Entity::find()
        .filter(flight_lookup::Column::Origin.is_in(codes.iter().chain([&from.iata]).cloned()))
        .filter(flight_lookup::Column::Destination.is_in(codes.iter().chain([&from.iata]).cloned()))
        .filter(flight_lookup::Column::DepartDate.is_in([out_day, back_day]))
        .filter(flight_lookup::Column::Provider.eq(providers.flights.name()))
        .filter(flight_lookup::Column::ExpiresAt.gt(Utc::now()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| ((l.origin, l.destination, l.depart_date), l.expires_at))
        .collect();
    let expires = |a: &str, b: &str, day: NaiveDate| fresh.get(&(a.into(), b.into(), day)).copied();
    let searches: Vec<Option<DateTime<Utc>>> = codes
        .iter()
        .flat_map(|c| {
            [
                expires(&from.iata, c, out_day),
                expires(c, &from.iata, back_day),
            ]
        })
        .collect();
    // Until the first stored search expires (the others are due, or can never be made).
    let first_expiry = searches.iter().flatten().min().copied();
    let stored = first_expiry.map_or(Completeness::Nothing, Completeness::Until);
    if searches.iter().all(Option::is_some) {
        return Ok(nothing(stored));
    }
    let is_due = |a: &str, b: &str, day: NaiveDate| expires(a, b, day).is_none();
    let mut airports: HashMap<String, airport::Model> = airport::Entity::find()
        .filter(airport::Column::Iata.is_in(codes.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.iata.clone(), a))
        .collect();
    let mut due = Vec::new();
    for to in codes.iter().filter_map(|c| airports.remove(c)) {
        for (a, b, day) in [(from, &to, out_day), (&to, from, back_day)] {
            if is_due(&a.iata, &b.iata, day) {
                due.push((a.clone(), b.clone(), day));
            }
        }
    }
    if due.is_empty() {
        // The missing searches are to airports the store does not know.
        return Ok(nothing(stored));
    }
    let mut errors = Vec::new();
    let caller = providers.flights.caller();
    let today = Utc::now().date_naive();
    if let Some(caller) = caller {
        caller.sync_usage(crate::store::usage::usage(db, caller.provider, today).await?);
    }
    for (a, b, day) in &due {
        if let Err(e) = lookup_flights(db, providers, a, b, *day).await? {
            let stop = e.stops_provider();
            errors.push(e);
            if stop {
                break;
            }
        }
    }
    if let Some(caller) = caller {
        crate::store::usage::record_usage(db, caller, today).await?;
    }
    let budget_spent = errors
        .iter()
        .any(|e| matches!(e, ProviderError::BudgetExhausted { .. }));
    let complete = if budget_spent {
        // Nothing more can be fetched before the day's budget starts again at midnight UTC.
        let midnight = (today + Duration::days(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        Completeness::Until(first_expiry.map_or(midnight, |t| t.min(midnight)))
    } else {
        // Kept from the next view on, once it finds every search stored.
        Completeness::Missing
    };
    Ok(OnDemandFlights { errors, complete })
}

/// True when the store holds no event yet (a first start).
pub async fn store_is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(event::Entity::find().count(db).await? == 0)
}

//! Enrichment: nearest airports, places and flight offers for the events whose class needs
//! them. Lookups are cached by what they depend on (places by location cell and kind,
//! flights by origin, destination and date), so events at one venue share them.

use super::diff::{Class, Diff, SnapshotEvent};
use crate::demo;
use crate::geo::haversine_km;
use crate::store::entities::{
    airport, event, event_airport, flight_lookup, flight_offer, place, place_lookup,
};
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};

/// Place kinds looked up around every venue.
pub const PLACE_KINDS: [&str; 3] = ["restaurant", "cafe", "lodging"];
/// Airports farther than this from a venue are not "near" it.
pub const AIRPORT_RADIUS_KM: f64 = 250.0;
pub const MAX_AIRPORTS: usize = 3;
/// How long a flight lookup stays fresh.
pub const FLIGHT_TTL_HOURS: i64 = 24;
const PROVIDER: &str = "demo";

/// One event to enrich.
#[derive(Clone, Debug)]
pub struct Target {
    pub event_id: String,
    pub lat: f64,
    pub lon: f64,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// What a refresh must look up.
#[derive(Debug, Default)]
pub struct Plan {
    /// New and moved events: airports, places and flights.
    pub full: Vec<Target>,
    /// Changed events whose dates moved: flights only.
    pub flights_only: Vec<Target>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Calls {
    pub places: i32,
    pub flights: i32,
}

/// The enrichment a class needs (design.md section 3).
pub fn plan(diff: &Diff, snapshot: &[SnapshotEvent]) -> Plan {
    let mut p = Plan::default();
    for d in &diff.decisions {
        let Some(e) = d.snapshot_index.map(|i| &snapshot[i]) else {
            continue;
        };
        let target = Target {
            event_id: e.id.clone(),
            lat: e.lat,
            lon: e.lon,
            start: e.start,
            end: e.end,
        };
        match d.class {
            Class::New | Class::Moved => p.full.push(target),
            Class::Changed if d.dates_changed => p.flights_only.push(target),
            _ => {}
        }
    }
    p
}

/// Calls a from-scratch enrichment of one event would make (for "calls saved").
pub fn full_calls_per_event(origins: usize) -> i32 {
    (PLACE_KINDS.len() + 2 * origins * MAX_AIRPORTS) as i32
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

/// Runs the plan and returns the provider calls it made.
pub async fn run(db: &DatabaseConnection, plan: &Plan, origins: &[String]) -> Result<Calls, DbErr> {
    let mut calls = Calls::default();
    if plan.full.is_empty() && plan.flights_only.is_empty() {
        return Ok(calls);
    }
    let airports = airport::Entity::find().all(db).await?;
    let by_code: std::collections::HashMap<&str, &airport::Model> =
        airports.iter().map(|a| (a.iata.as_str(), a)).collect();

    for t in &plan.full {
        let nearest = nearest_airports(&airports, t.lat, t.lon);
        let txn = db.begin().await?;
        event_airport::Entity::delete_many()
            .filter(event_airport::Column::EventId.eq(t.event_id.clone()))
            .exec(&txn)
            .await?;
        if !nearest.is_empty() {
            event_airport::Entity::insert_many(nearest.iter().enumerate().map(|(i, (iata, d))| {
                event_airport::ActiveModel {
                    event_id: Set(t.event_id.clone()),
                    iata: Set(iata.clone()),
                    distance_km: Set((*d * 10.0).round() / 10.0),
                    position: Set(i as i16),
                }
            }))
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        for kind in PLACE_KINDS {
            calls.places += lookup_places(db, t.lat, t.lon, kind).await? as i32;
        }
    }

    for t in plan.full.iter().chain(&plan.flights_only) {
        let codes: Vec<String> = event_airport::Entity::find()
            .select_only()
            .column(event_airport::Column::Iata)
            .filter(event_airport::Column::EventId.eq(t.event_id.clone()))
            .into_tuple()
            .all(db)
            .await?;
        for origin in origins {
            let Some(from) = by_code.get(origin.as_str()) else {
                continue;
            };
            for code in &codes {
                let Some(to) = by_code.get(code.as_str()) else {
                    continue;
                };
                if to.iata == from.iata {
                    continue;
                }
                let distance = haversine_km(from.lat, from.lon, to.lat, to.lon);
                let out_day = t.start - Duration::days(1);
                let back_day = t.end + Duration::days(1);
                calls.flights +=
                    lookup_flights(db, &from.iata, &to.iata, out_day, distance).await? as i32;
                calls.flights +=
                    lookup_flights(db, &to.iata, &from.iata, back_day, distance).await? as i32;
            }
        }
    }
    Ok(calls)
}

/// Looks up places of one kind around a location unless its cell was looked up before.
/// Returns whether a provider call was made.
async fn lookup_places(
    db: &DatabaseConnection,
    lat: f64,
    lon: f64,
    kind: &str,
) -> Result<bool, DbErr> {
    let (key, clat, clon) = cell(lat, lon);
    let cached =
        place_lookup::Entity::find_by_id((key.clone(), kind.to_string(), PROVIDER.to_string()))
            .one(db)
            .await?
            .is_some();
    if cached {
        return Ok(false);
    }
    let now = Utc::now();
    let found = demo::places::generate(&key, clat, clon, kind);
    let txn = db.begin().await?;
    for p in &found {
        place::Entity::insert(place::ActiveModel {
            provider: Set(PROVIDER.into()),
            provider_id: Set(p.provider_id.clone()),
            kind: Set(kind.into()),
            name: Set(p.name.clone()),
            lat: Set(p.lat),
            lon: Set(p.lon),
            rating: Set(Some(p.rating)),
            rating_count: Set(Some(p.rating_count)),
            price_level: Set(Some(p.price_level)),
            address: Set(p.address.clone()),
            url: Set(None),
            fetched_at: Set(now),
            demo: Set(true),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([place::Column::Provider, place::Column::ProviderId])
                .update_columns([
                    place::Column::Name,
                    place::Column::Lat,
                    place::Column::Lon,
                    place::Column::Rating,
                    place::Column::RatingCount,
                    place::Column::PriceLevel,
                    place::Column::Address,
                    place::Column::FetchedAt,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    place_lookup::Entity::insert(place_lookup::ActiveModel {
        cell: Set(key),
        kind: Set(kind.into()),
        provider: Set(PROVIDER.into()),
        result_count: Set(found.len() as i32),
        fetched_at: Set(now),
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Fetches offers for one route and day unless a fresh lookup is stored.
async fn lookup_flights(
    db: &DatabaseConnection,
    origin: &str,
    destination: &str,
    day: NaiveDate,
    distance_km: f64,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let fresh = flight_lookup::Entity::find()
        .filter(flight_lookup::Column::Origin.eq(origin))
        .filter(flight_lookup::Column::Destination.eq(destination))
        .filter(flight_lookup::Column::DepartDate.eq(day))
        .filter(flight_lookup::Column::Provider.eq(PROVIDER))
        .filter(flight_lookup::Column::ExpiresAt.gt(now))
        .count(db)
        .await?
        > 0;
    if fresh {
        return Ok(false);
    }
    let expires = now + Duration::hours(FLIGHT_TTL_HOURS);
    let date = day.format("%Y-%m-%d").to_string();
    let offers = demo::flights::generate(origin, destination, &date, distance_km);
    let txn = db.begin().await?;
    flight_offer::Entity::delete_many()
        .filter(flight_offer::Column::Origin.eq(origin))
        .filter(flight_offer::Column::Destination.eq(destination))
        .filter(flight_offer::Column::DepartDate.eq(day))
        .filter(flight_offer::Column::Provider.eq(PROVIDER))
        .exec(&txn)
        .await?;
    flight_offer::Entity::insert_many(offers.iter().map(|o| flight_offer::ActiveModel {
        provider: Set(PROVIDER.into()),
        origin: Set(origin.into()),
        destination: Set(destination.into()),
        depart_date: Set(day),
        carrier_code: Set(o.carrier_code.clone()),
        carrier_name: Set(o.carrier_name.clone()),
        flight_number: Set(Some(o.flight_number.clone())),
        stops: Set(o.stops),
        departs_at: Set(o.departs_at.clone()),
        arrives_at: Set(o.arrives_at.clone()),
        duration_minutes: Set(o.duration_minutes),
        price_minor: Set(o.price_minor),
        currency: Set(o.currency.clone()),
        booking_url: Set(None),
        fetched_at: Set(now),
        expires_at: Set(expires),
        demo: Set(true),
        ..Default::default()
    }))
    .exec(&txn)
    .await?;
    flight_lookup::Entity::insert(flight_lookup::ActiveModel {
        origin: Set(origin.into()),
        destination: Set(destination.into()),
        depart_date: Set(day),
        provider: Set(PROVIDER.into()),
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
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// True when the store holds no event yet (a first start).
pub async fn store_is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(event::Entity::find().count(db).await? == 0)
}

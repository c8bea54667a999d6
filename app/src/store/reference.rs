//! Bundled reference data (airports, countries), compiled into the binary and loaded into
//! the store at start. Loading is idempotent: a fingerprint of the bundled files is kept
//! in `store_state`, and an unchanged bundle costs one read.

use super::entities::{airport, country};
use super::state;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, TransactionTrait};
use serde::Deserialize;

const AIRPORTS_CSV: &str = include_str!("../../data/airports.csv");
const COUNTRIES_CSV: &str = include_str!("../../data/countries.csv");
/// Rows per INSERT: well inside SQLite's and PostgreSQL's bind-parameter limits.
const BATCH: usize = 400;

#[derive(Debug, Deserialize)]
struct AirportRow {
    iata: String,
    icao: String,
    name: String,
    city: String,
    subdivision: String,
    country: String,
    lat: f64,
    lon: f64,
    tz: String,
    elevation_ft: Option<i32>,
    scheduled: u8,
}

#[derive(Debug, Deserialize)]
struct CountryRow {
    iso2: String,
    iso3: String,
    numeric: String,
    name_en: String,
    name_ko: String,
    currency: String,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// FNV-1a: a stable fingerprint (not for security).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0x1f;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn parse<T: for<'de> Deserialize<'de>>(csv_text: &str) -> Result<Vec<T>, DbErr> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| DbErr::Custom(format!("bundled reference data is malformed: {e}")))
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Loads airports and countries unless the same bundle is already in the store.
/// Returns true when it wrote.
pub async fn load(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let fingerprint = format!(
        "{:016x}",
        fnv1a(&[AIRPORTS_CSV.as_bytes(), COUNTRIES_CSV.as_bytes()])
    );
    if state::get(db).await?.reference_fingerprint.as_ref() == Some(&fingerprint) {
        return Ok(false);
    }
    match write(db, &fingerprint).await {
        Ok(()) => Ok(true),
        // Another process sharing the store may have loaded the same data at the same moment
        // (its insert won the race): then there is nothing left to do.
        Err(e) if state::get(db).await?.reference_fingerprint.as_ref() == Some(&fingerprint) => {
            tracing::info!(error = %e, "reference data was loaded by another process meanwhile");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

async fn write(db: &DatabaseConnection, fingerprint: &str) -> Result<(), DbErr> {
    let airports: Vec<AirportRow> = parse(AIRPORTS_CSV)?;
    let countries: Vec<CountryRow> = parse(COUNTRIES_CSV)?;
    let txn = db.begin().await?;
    airport::Entity::delete_many().exec(&txn).await?;
    country::Entity::delete_many().exec(&txn).await?;
    for chunk in airports.chunks(BATCH) {
        airport::Entity::insert_many(chunk.iter().map(|a| airport::ActiveModel {
            iata: Set(a.iata.clone()),
            icao: Set(non_empty(a.icao.clone())),
            name: Set(a.name.clone()),
            city: Set(a.city.clone()),
            subdivision: Set(non_empty(a.subdivision.clone())),
            country: Set(a.country.clone()),
            lat: Set(a.lat),
            lon: Set(a.lon),
            tz: Set(a.tz.clone()),
            elevation_ft: Set(a.elevation_ft),
            scheduled: Set(a.scheduled == 1),
        }))
        .exec(&txn)
        .await?;
    }
    for chunk in countries.chunks(BATCH) {
        country::Entity::insert_many(chunk.iter().map(|c| country::ActiveModel {
            iso2: Set(c.iso2.clone()),
            iso3: Set(c.iso3.clone()),
            numeric: Set(c.numeric.clone()),
            name_en: Set(c.name_en.clone()),
            name_ko: Set(c.name_ko.clone()),
            currency: Set(c.currency.clone()),
            lat: Set(c.lat),
            lon: Set(c.lon),
        }))
        .exec(&txn)
        .await?;
    }
    state::set_reference_fingerprint(&txn, fingerprint).await?;
    txn.commit().await
}

/// The bundled airports, parsed (for nearest-airport search without a database round trip).
pub fn bundled_airports() -> Vec<airport::Model> {
    parse::<AirportRow>(AIRPORTS_CSV)
        .unwrap_or_default()
        .into_iter()
        .map(|a| airport::Model {
            iata: a.iata,
            icao: non_empty(a.icao),
            name: a.name,
            city: a.city,
            subdivision: non_empty(a.subdivision),
            country: a.country,
            lat: a.lat,
            lon: a.lon,
            tz: a.tz,
            elevation_ft: a.elevation_ft,
            scheduled: a.scheduled == 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_files_parse_and_hold_the_known_airports() {
        let airports: Vec<AirportRow> = parse(AIRPORTS_CSV).unwrap();
        assert!(airports.len() > 7000, "{}", airports.len());
        let icn = airports.iter().find(|a| a.iata == "ICN").unwrap();
        assert_eq!(icn.country, "KR");
        assert_eq!(icn.scheduled, 1);
        let countries: Vec<CountryRow> = parse(COUNTRIES_CSV).unwrap();
        let kr = countries.iter().find(|c| c.iso2 == "KR").unwrap();
        assert_eq!(kr.name_ko, "대한민국");
        assert_eq!(kr.currency, "KRW");
    }
}

/// Finds the region (state, province) of an event from the bundled airports: the region of
/// the airports of the event's city in its country, else of the nearest airport in the
/// country within 50 km. None when neither exists. Providers that name the region
/// (PredictHQ's `geo.address.region`) are used instead.
pub struct RegionFinder {
    /// (country, lower-case city) → the city's airports as (lat, lon, region).
    by_city: rustc_hash::FxHashMap<(String, String), Vec<AirportRegion>>,
    /// 1° cell → airports as (lat, lon, country, region).
    cells: rustc_hash::FxHashMap<(i32, i32), Vec<CountryAirportRegion>>,
}

type CountryAirportRegion = (f64, f64, String, String);

type AirportRegion = (f64, f64, String);

/// How far the nearest-airport fallback looks.
const REGION_RADIUS_KM: f64 = 50.0;

impl RegionFinder {
    pub fn new(airports: &[airport::Model]) -> RegionFinder {
        let mut by_city: rustc_hash::FxHashMap<(String, String), Vec<_>> = Default::default();
        let mut cells: rustc_hash::FxHashMap<(i32, i32), Vec<_>> = Default::default();
        for a in airports {
            let Some(sub) = a.subdivision.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if !a.city.is_empty() {
                by_city
                    .entry((a.country.clone(), a.city.to_lowercase()))
                    .or_default()
                    .push((a.lat, a.lon, sub.clone()));
            }
            cells
                .entry((a.lat.floor() as i32, a.lon.floor() as i32))
                .or_default()
                .push((a.lat, a.lon, a.country.clone(), sub.clone()));
        }
        RegionFinder { by_city, cells }
    }

    pub fn region(&self, lat: f64, lon: f64, country: &str, city: &str) -> Option<String> {
        fn nearest<'a>(
            lat: f64,
            lon: f64,
            it: impl Iterator<Item = (f64, f64, &'a String)>,
        ) -> Option<(f64, &'a String)> {
            it.map(|(alat, alon, sub)| (crate::geo::haversine_km(lat, lon, alat, alon), sub))
                .min_by(|a, b| a.0.total_cmp(&b.0))
        }
        if let Some(list) = self
            .by_city
            .get(&(country.to_string(), city.to_lowercase()))
        {
            // A region named like the city (Seoul, Osaka, Tokyo) wins; else the region most
            // of the city's airports are in; else the nearest airport's.
            if let Some((_, _, sub)) = list.iter().find(|(_, _, s)| s.eq_ignore_ascii_case(city)) {
                return Some(sub.clone());
            }
            let mut counts: rustc_hash::FxHashMap<&String, usize> = Default::default();
            for (_, _, s) in list {
                *counts.entry(s).or_default() += 1;
            }
            let top = counts.values().copied().max().unwrap_or(0);
            let candidates = list
                .iter()
                .filter(|(_, _, s)| counts.get(s) == Some(&top))
                .map(|(a, b, s)| (*a, *b, s));
            if let Some((_, sub)) = nearest(lat, lon, candidates) {
                return Some(sub.clone());
            }
        }
        // 50 km is less than one 1° cell in latitude: the 3x3 cells around suffice,
        // except far north, where they are narrow; there the search reaches 3 cells east/west.
        let (cy, cx) = (lat.floor() as i32, lon.floor() as i32);
        let reach_x = if lat.abs() > 60.0 { 3 } else { 1 };
        let mut around = Vec::new();
        for dy in -1..=1 {
            for dx in -reach_x..=reach_x {
                let x = (cx + dx + 180).rem_euclid(360) - 180;
                if let Some(list) = self.cells.get(&(cy + dy, x)) {
                    around.extend(
                        list.iter()
                            .filter(|(_, _, c, _)| c == country)
                            .map(|(a, b, _, s)| (*a, *b, s)),
                    );
                }
            }
        }
        nearest(lat, lon, around.into_iter())
            .filter(|(d, _)| *d <= REGION_RADIUS_KM)
            .map(|(_, s)| s.clone())
    }
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn regions_come_from_the_city_then_the_nearest_airport() {
        let f = RegionFinder::new(&bundled_airports());
        assert_eq!(
            f.region(37.5206, 127.1214, "KR", "Seoul").as_deref(),
            Some("Seoul")
        );
        assert_eq!(
            f.region(34.6873, 135.5262, "JP", "Osaka").as_deref(),
            Some("Osaka")
        );
        // No airport names the city: the nearest airport in the country decides.
        let near_munich = f.region(48.2, 11.6, "DE", "Garching").unwrap();
        assert_eq!(near_munich, "Bayern");
        assert_eq!(
            f.region(0.0, -160.0, "US", "Nowhere"),
            None,
            "nothing within reach"
        );
    }
}

//! Synthetic events for load and scale tests (`toursherpa generate --events N`): spread
//! over the real cities with scheduled air service, more in cities with more airports, at
//! plausible ranks, sizes and dates. They are marked as demo data from the provider
//! `synthetic`, so every page labels them and no refresh of a real provider touches them.

use crate::ingest::diff::{ProviderState, SnapshotEvent};
use crate::store::entities::{airport, event};
use crate::types::{SpendIndustries, CATEGORIES};
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};

pub const PROVIDER: &str = "synthetic";

/// A small, fast, reproducible random source (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct City {
    name: String,
    region: Option<String>,
    country: String,
    lat: f64,
    lon: f64,
    tz: String,
}

/// What `generate` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateReport {
    pub events: usize,
    pub cities: usize,
    pub insert_seconds: f64,
    /// The time bringing the map cells and the dashboard's rollups up to date took.
    pub derived_seconds: f64,
}

/// Adds `n` synthetic events (ids `syn-{seed}-{i}`; an existing id is replaced) and
/// brings the derived tables up to date.
pub async fn generate(
    db: &DatabaseConnection,
    n: usize,
    seed: u64,
) -> Result<GenerateReport, DbErr> {
    let airports = airport::Entity::find()
        .filter(airport::Column::Scheduled.eq(true))
        .all(db)
        .await?;
    // One city per (name, country), weighted by its number of airports with scheduled
    // service (a rough stand-in for how much happens there).
    let mut by_city: std::collections::BTreeMap<(String, String), (City, u32)> =
        std::collections::BTreeMap::new();
    for a in airports {
        if a.city.is_empty() {
            continue;
        }
        by_city
            .entry((a.city.clone(), a.country.clone()))
            .and_modify(|(_, w)| *w += 1)
            .or_insert((
                City {
                    name: a.city,
                    region: a.subdivision,
                    country: a.country,
                    lat: a.lat,
                    lon: a.lon,
                    tz: a.tz,
                },
                1,
            ));
    }
    let cities: Vec<(City, u32)> = by_city.into_values().collect();
    if cities.is_empty() {
        return Err(DbErr::Custom(
            "no airports are loaded: run `toursherpa migrate` first".into(),
        ));
    }
    let mut cumulative = Vec::with_capacity(cities.len());
    let mut sum = 0u64;
    for (_, w) in &cities {
        sum += u64::from(w * w);
        cumulative.push(sum);
    }
    let mut rng = Rng(seed ^ 0x5EED);
    let base = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default();
    let now = Utc::now();
    let started = std::time::Instant::now();
    const BATCH: usize = 500;
    let mut i = 0;
    // One write: readers see the store before or after, and the derived tables are
    // recomputed once.
    let mut w = crate::store::write::Write::events(db).await?;
    while i < n {
        let mut rows = Vec::with_capacity(BATCH);
        for j in i..(i + BATCH).min(n) {
            let pick = rng.below(sum);
            let k = cumulative.partition_point(|&c| c <= pick);
            let (c, _) = &cities[k.min(cities.len() - 1)];
            let category = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
            // Within about 15 km of the city's airport.
            let lat = (c.lat + (rng.unit() - 0.5) * 0.27).clamp(-89.9, 89.9);
            let lon = (c.lon + (rng.unit() - 0.5) * 0.35).clamp(-179.99, 179.99);
            let rank = (20.0 + 75.0 * rng.unit().powf(1.8)) as i32;
            let attendance = (200.0 * (1.0 + 999.0 * rng.unit().powi(4))) as i64;
            let start = base + Duration::days(rng.below(365) as i64);
            let days = rng.below(4) as i64;
            let e = SnapshotEvent {
                id: format!("syn-{seed}-{j:07}"),
                title: format!("Synthetic {category} #{j} in {}", c.name),
                description: "Synthetic event for scale tests (demo data).".into(),
                category: category.to_string(),
                labels: Vec::new(),
                rank,
                local_rank: Some((rank + rng.below(20) as i32).min(100)),
                attendance: Some(attendance),
                spend_usd: Some(attendance * 150),
                start,
                end: start + Duration::days(days),
                timezone: c.tz.clone(),
                venue_name: format!("Venue {}", rng.below(500)),
                address: String::new(),
                city: c.name.clone(),
                country: c.country.clone(),
                lat,
                lon,
                state: ProviderState::Active,
                updated: None,
                starts_at: None,
                ends_at: None,
                // Two events in three come with a day-by-day pattern and a split of
                // their spend, as many provider records do.
                impact: if j % 3 != 0 {
                    crate::demo::feed::demo_impact(
                        &j.to_string(),
                        start,
                        start + Duration::days(days),
                        attendance,
                    )
                } else {
                    Vec::new()
                },
                spend_industries: (j % 3 != 0).then(|| {
                    let spend = attendance * 150;
                    SpendIndustries {
                        accommodation: Some(spend * 45 / 100),
                        hospitality: Some(spend * 35 / 100),
                        transportation: Some(spend * 20 / 100),
                    }
                }),
                region: c.region.clone(),
            };
            let mut row = crate::ingest::active_model(&e, PROVIDER, now, 0);
            row.last_run_id = Set(None);
            row.demo = Set(true);
            rows.push(row);
        }
        i += rows.len();
        event::Entity::insert_many(rows)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(event::Column::Id)
                    .update_columns([event::Column::Title, event::Column::Lat, event::Column::Lon])
                    .to_owned(),
            )
            .exec(w.txn())
            .await?;
    }
    let insert_seconds = started.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    w.derive().await?;
    w.commit().await?;
    Ok(GenerateReport {
        events: n,
        cities: cities.len(),
        insert_seconds,
        derived_seconds: t.elapsed().as_secs_f64(),
    })
}

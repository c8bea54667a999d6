//! The demo events feed. Generation 0 is the curated list (less a few events that only
//! appear later); each later generation applies deterministic changes so that every diff
//! class happens: some events change, move to their alternative venue, appear, are
//! cancelled, postponed or marked duplicate, or vanish from the feed.

use super::hash;
use crate::ingest::diff::{ProviderState, SnapshotEvent};
use crate::types::{DemandDay, SpendIndustries};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

const SOURCES: [&str; 2] = [
    include_str!("../../data/demo_events/europe_africa_middle_east.json"),
    include_str!("../../data/demo_events/americas_asia_oceania.json"),
];

#[derive(Clone, Debug, Deserialize)]
pub struct Venue {
    pub venue_name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CuratedEvent {
    pub id: String,
    pub title: String,
    pub category: String,
    pub labels: Vec<String>,
    pub description: String,
    pub country: String,
    pub city: String,
    pub venue_name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub rank: i32,
    pub local_rank: i32,
    pub attendance: i64,
    pub alt_venue: Option<Venue>,
}

/// The curated list, in file order.
pub fn curated() -> Vec<CuratedEvent> {
    SOURCES
        .iter()
        .flat_map(|src| {
            serde_json::from_str::<Vec<CuratedEvent>>(src)
                .expect("the bundled demo events are valid JSON (checked by tests)")
        })
        .collect()
}

/// Typical spend per visitor by category, in US dollars (a demo estimate).
fn spend_per_visitor(category: &str) -> i64 {
    match category {
        "conferences" | "expos" => 420,
        "sports" => 180,
        "performing-arts" => 150,
        _ => 130,
    }
}

/// Demo events start at 10:00 and end at 22:00 local time (illustrative, like their dates).
fn local_instant(date: NaiveDate, hour: u32, timezone: &str) -> Option<DateTime<Utc>> {
    let tz: chrono_tz::Tz = timezone.parse().ok()?;
    tz.from_local_datetime(&date.and_hms_opt(hour, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A demo demand pattern shaped like PredictHQ's: visitors build up over two days before
/// the event, peak on its days and ease the day after.
pub(crate) fn demo_impact(
    id: &str,
    start: NaiveDate,
    end: NaiveDate,
    attendance: i64,
) -> Vec<DemandDay> {
    let mut out = Vec::new();
    let day = |d: NaiveDate, v: i64, position: &str| DemandDay {
        date: d.format("%Y-%m-%d").to_string(),
        visitors: v,
        position: position.to_string(),
    };
    out.push(day(
        start - Duration::days(2),
        attendance * 15 / 100,
        "leading",
    ));
    out.push(day(
        start - Duration::days(1),
        attendance * 55 / 100,
        "leading",
    ));
    let mut d = start;
    let mut n = 0u64;
    while d <= end {
        // Some days draw a little less than the peak.
        let share = 100 - (hash(&[id, "day", &n.to_string()]) % 4) as i64 * 8;
        out.push(day(d, attendance * share / 100, "event_day"));
        d += Duration::days(1);
        n += 1;
    }
    out.push(day(
        end + Duration::days(1),
        attendance * 35 / 100,
        "lagging",
    ));
    out
}

/// The demo split of the predicted spend across industries.
fn demo_spend_industries(category: &str, spend: i64) -> SpendIndustries {
    let (a, h) = match category {
        "conferences" | "expos" => (45, 35),
        "sports" => (35, 40),
        _ => (30, 45),
    };
    SpendIndustries {
        accommodation: Some(spend * a / 100),
        hospitality: Some(spend * h / 100),
        transportation: Some(spend * (100 - a - h) / 100),
    }
}

/// The generation at which an event first appears in the feed.
fn first_generation(id: &str) -> u32 {
    let h = hash(&[id, "appears"]);
    if h.is_multiple_of(20) {
        1 + (h / 20 % 3) as u32
    } else {
        0
    }
}

/// What happens to one event in one generation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Turn {
    Cancelled,
    Vanished,
    Moved,
    Changed,
    Touched,
    Nothing,
}

fn turn(id: &str, generation: u32) -> Turn {
    match hash(&[id, "turn", &generation.to_string()]) % 100 {
        0..=1 => Turn::Cancelled,
        2 => Turn::Vanished,
        3..=7 => Turn::Moved,
        8..=15 => Turn::Changed,
        16..=29 => Turn::Touched,
        _ => Turn::Nothing,
    }
}

fn base_stamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

/// The feed as it reads at `generation`.
pub fn snapshot(generation: u32) -> Vec<SnapshotEvent> {
    let all = curated();
    let mut out = Vec::with_capacity(all.len());
    for (i, c) in all.iter().enumerate() {
        let born = first_generation(&c.id);
        if born > generation {
            continue;
        }
        let mut changes = 0i64;
        let mut at_alt = false;
        let mut last_touch = born;
        let mut deleted = None;
        let mut vanished = false;
        for g in (born + 1)..=generation {
            match turn(&c.id, g) {
                Turn::Cancelled => {
                    let reason = ["cancelled", "postponed", "duplicate"]
                        [(hash(&[&c.id, "reason"]) % 3) as usize];
                    let duplicate_of =
                        (reason == "duplicate").then(|| all[(i + 1) % all.len()].id.clone());
                    deleted = Some((reason.to_string(), duplicate_of));
                    last_touch = g;
                    break;
                }
                Turn::Vanished => {
                    vanished = true;
                    break;
                }
                Turn::Moved if c.alt_venue.is_some() => {
                    at_alt = !at_alt;
                    last_touch = g;
                }
                Turn::Moved | Turn::Changed => {
                    changes += 1;
                    last_touch = g;
                }
                Turn::Touched => last_touch = g,
                Turn::Nothing => {}
            }
        }
        if vanished {
            continue;
        }
        let shifts_dates = hash(&[&c.id, "dates"]).is_multiple_of(4);
        let shift = Duration::days(if shifts_dates { 7 * changes } else { 0 });
        let attendance = c.attendance * (100 + 6 * changes) / 100;
        let (venue_name, address, lat, lon) = match (&c.alt_venue, at_alt) {
            (Some(v), true) => (v.venue_name.clone(), v.address.clone(), v.lat, v.lon),
            _ => (c.venue_name.clone(), c.address.clone(), c.lat, c.lon),
        };
        let (start, end) = (c.start + shift, c.end + shift);
        let spend = attendance * spend_per_visitor(&c.category);
        out.push(SnapshotEvent {
            starts_at: local_instant(start, 10, &c.timezone),
            ends_at: local_instant(end, 22, &c.timezone),
            impact: demo_impact(&c.id, start, end, attendance),
            spend_industries: Some(demo_spend_industries(&c.category, spend)),
            region: None,
            id: c.id.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            category: c.category.clone(),
            labels: c.labels.clone(),
            rank: c.rank,
            local_rank: Some((c.local_rank + changes as i32).min(100)),
            attendance: Some(attendance),
            spend_usd: Some(spend),
            start,
            end,
            timezone: c.timezone.clone(),
            venue_name,
            address,
            city: c.city.clone(),
            country: c.country.clone(),
            lat,
            lon,
            state: match deleted {
                Some((reason, duplicate_of)) => ProviderState::Deleted {
                    reason,
                    duplicate_of,
                },
                None => ProviderState::Active,
            },
            updated: Some(base_stamp() + Duration::days(i64::from(last_touch))),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::diff::{diff, Class, StoredMap, StoredState, SyncMode};
    use std::collections::HashSet;

    #[test]
    fn curated_list_is_large_varied_and_valid() {
        let all = curated();
        assert!(all.len() >= 300, "{} events", all.len());
        let ids: HashSet<_> = all.iter().map(|e| &e.id).collect();
        assert_eq!(ids.len(), all.len(), "ids are unique");
        let countries: HashSet<_> = all.iter().map(|e| &e.country).collect();
        assert!(countries.len() >= 40, "{} countries", countries.len());
        for e in &all {
            assert!(
                crate::types::CATEGORIES.contains(&e.category.as_str()),
                "{}",
                e.id
            );
            assert!(e.start <= e.end, "{}", e.id);
            assert!((-90.0..=90.0).contains(&e.lat) && (-180.0..=180.0).contains(&e.lon));
        }
        for cat in crate::types::CATEGORIES {
            assert!(
                all.iter().filter(|e| e.category == cat).count() >= 15,
                "{cat}"
            );
        }
    }

    #[test]
    fn first_snapshot_has_at_least_300_active_events() {
        let s = snapshot(0);
        assert!(s.len() >= 300, "{}", s.len());
        assert!(s.iter().all(|e| e.state == ProviderState::Active));
    }

    #[test]
    fn snapshots_are_deterministic() {
        assert_eq!(snapshot(3), snapshot(3));
    }

    /// Over a few generations the feed exercises every class of the diff.
    #[test]
    fn every_class_happens_within_five_generations() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let mut stored = StoredMap::default();
        let mut seen = HashSet::new();
        for g in 0..=5 {
            let snap = snapshot(g);
            let d = diff(&stored, &snap, SyncMode::Full, today);
            if d.unchanged > 0 {
                seen.insert(Class::Unchanged);
            }
            for dec in &d.decisions {
                seen.insert(dec.class);
                match dec.snapshot_index {
                    Some(i) => {
                        let e = &snap[i];
                        let state = if dec.class == Class::Gone {
                            StoredState::Gone
                        } else {
                            StoredState::Active
                        };
                        stored.insert(e.id.clone(), e.digest(state));
                    }
                    None => stored.get_mut(&dec.id).unwrap().state = StoredState::Gone,
                }
            }
        }
        for class in [
            Class::Unchanged,
            Class::Changed,
            Class::Moved,
            Class::New,
            Class::Gone,
        ] {
            assert!(seen.contains(&class), "{class:?} never happened");
        }
    }
}

//! The snapshot diff: every event in a new snapshot, or missing from it, gets exactly one
//! of five classes (design.md section 3). Pure code, so it is cheap to test and to bench.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};

/// A venue that moved further than this is `moved`; closer is `changed`.
pub const MOVE_THRESHOLD_KM: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Class {
    Unchanged = 0,
    Changed = 1,
    Moved = 2,
    New = 3,
    Gone = 4,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Unchanged => "unchanged",
            Class::Changed => "changed",
            Class::Moved => "moved",
            Class::New => "new",
            Class::Gone => "gone",
        }
    }
}

/// What the provider says about an event's life.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderState {
    Active,
    /// Deleted, cancelled, postponed or a duplicate, with the provider's reason.
    Deleted {
        reason: String,
        duplicate_of: Option<String>,
    },
}

/// One event of a snapshot, normalised from whichever provider sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotEvent {
    pub id: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub labels: Vec<String>,
    pub rank: i32,
    pub local_rank: Option<i32>,
    pub attendance: Option<i64>,
    pub spend_usd: Option<i64>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub timezone: String,
    pub venue_name: String,
    pub address: String,
    pub city: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub state: ProviderState,
    /// The provider's own "last updated" stamp: not content, never compared.
    pub updated: Option<DateTime<Utc>>,
}

impl SnapshotEvent {
    /// A fingerprint of every field the store keeps (not `updated`).
    pub fn fingerprint(&self) -> String {
        let state = match &self.state {
            ProviderState::Active => "active".to_string(),
            ProviderState::Deleted {
                reason,
                duplicate_of,
            } => format!("deleted:{reason}:{}", duplicate_of.as_deref().unwrap_or("")),
        };
        let fields = [
            self.title.as_str(),
            &self.description,
            &self.category,
            &self.labels.join("\u{1e}"),
            &self.rank.to_string(),
            &format!("{:?}", self.local_rank),
            &format!("{:?}", self.attendance),
            &format!("{:?}", self.spend_usd),
            &self.start.to_string(),
            &self.end.to_string(),
            &self.timezone,
            &self.venue_name,
            &self.address,
            &self.city,
            &self.country,
            &format!("{:.6}", self.lat),
            &format!("{:.6}", self.lon),
            &state,
        ];
        let parts: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
        format!("{:016x}", crate::store::reference::fnv1a(&parts))
    }
}

/// What the store knows of an event from earlier snapshots.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub fingerprint: String,
    pub lat: f64,
    pub lon: f64,
    pub venue_name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// `active`, `gone` or `archived`.
    pub state: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// The snapshot holds every event in the window: an active event missing from it is gone.
    Full,
    /// The snapshot holds only what changed since the last sync: a missing event is unchanged.
    Incremental,
}

/// The decision for one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub id: String,
    pub class: Class,
    /// Index into the snapshot, or `None` for an event that vanished from it.
    pub snapshot_index: Option<usize>,
    /// True when the dates changed (flights must be re-priced).
    pub dates_changed: bool,
    /// Why an event is gone.
    pub gone_reason: Option<String>,
}

/// The diff of a snapshot against the stored state.
#[derive(Debug, Default)]
pub struct Diff {
    pub decisions: Vec<Decision>,
    /// Active events missing from a full snapshot whose dates are over: archived, not gone.
    pub archived: Vec<String>,
}

impl Diff {
    pub fn count(&self, class: Class) -> usize {
        self.decisions.iter().filter(|d| d.class == class).count()
    }
}

/// Classifies a snapshot. `today` decides whether a vanished event had simply ended.
pub fn diff(
    stored: &HashMap<String, StoredEvent>,
    snapshot: &[SnapshotEvent],
    mode: SyncMode,
    today: NaiveDate,
) -> Diff {
    let mut out = Diff::default();
    let mut seen: HashSet<&str> = HashSet::with_capacity(snapshot.len());
    for (i, ev) in snapshot.iter().enumerate() {
        if !seen.insert(ev.id.as_str()) {
            continue; // a provider repeated a record: the first one counts
        }
        let before = stored.get(&ev.id);
        let decision = |class, dates_changed, gone_reason| Decision {
            id: ev.id.clone(),
            class,
            snapshot_index: Some(i),
            dates_changed,
            gone_reason,
        };
        let d = match (&ev.state, before) {
            (ProviderState::Deleted { reason, .. }, Some(b)) if b.state == "gone" => {
                let _ = reason;
                decision(Class::Unchanged, false, None)
            }
            (ProviderState::Deleted { reason, .. }, _) => {
                decision(Class::Gone, false, Some(reason.clone()))
            }
            (ProviderState::Active, None) => decision(Class::New, true, None),
            (ProviderState::Active, Some(b)) => {
                let dates_changed = b.start != ev.start || b.end != ev.end;
                let fingerprint = ev.fingerprint();
                let moved = b.venue_name != ev.venue_name
                    || crate::geo::haversine_km(b.lat, b.lon, ev.lat, ev.lon) > MOVE_THRESHOLD_KM;
                if b.state != "active" {
                    // Back from gone or archived: its neighbourhood must be looked up again.
                    decision(Class::Moved, true, None)
                } else if moved {
                    decision(Class::Moved, dates_changed, None)
                } else if fingerprint != b.fingerprint {
                    decision(Class::Changed, dates_changed, None)
                } else {
                    decision(Class::Unchanged, false, None)
                }
            }
        };
        out.decisions.push(d);
    }
    if mode == SyncMode::Full {
        let mut vanished: Vec<(&String, &StoredEvent)> = stored
            .iter()
            .filter(|(id, s)| s.state == "active" && !seen.contains(id.as_str()))
            .collect();
        vanished.sort_by(|a, b| a.0.cmp(b.0));
        for (id, s) in vanished {
            if s.end < today {
                out.archived.push(id.clone());
            } else {
                out.decisions.push(Decision {
                    id: id.clone(),
                    class: Class::Gone,
                    snapshot_index: None,
                    dates_changed: false,
                    gone_reason: Some("vanished from the provider's snapshot".into()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn event(id: &str) -> SnapshotEvent {
        SnapshotEvent {
            id: id.into(),
            title: format!("Event {id}"),
            description: "A festival".into(),
            category: "festivals".into(),
            labels: vec!["music".into()],
            rank: 70,
            local_rank: Some(80),
            attendance: Some(10_000),
            spend_usd: None,
            start: date("2027-06-01"),
            end: date("2027-06-03"),
            timezone: "Europe/Paris".into(),
            venue_name: "Parc".into(),
            address: "1 Rue".into(),
            city: "Paris".into(),
            country: "FR".into(),
            lat: 48.85,
            lon: 2.35,
            state: ProviderState::Active,
            updated: None,
        }
    }

    fn stored_from(ev: &SnapshotEvent) -> StoredEvent {
        StoredEvent {
            fingerprint: ev.fingerprint(),
            lat: ev.lat,
            lon: ev.lon,
            venue_name: ev.venue_name.clone(),
            start: ev.start,
            end: ev.end,
            state: "active".into(),
        }
    }

    fn classify(before: &SnapshotEvent, after: SnapshotEvent) -> Decision {
        let stored = HashMap::from([(before.id.clone(), stored_from(before))]);
        diff(&stored, &[after], SyncMode::Incremental, date("2027-01-01"))
            .decisions
            .remove(0)
    }

    #[test]
    fn a_new_updated_stamp_alone_is_unchanged() {
        let a = event("a");
        let mut b = a.clone();
        b.updated = Some(Utc::now());
        assert_eq!(classify(&a, b).class, Class::Unchanged);
    }

    #[test]
    fn content_change_is_changed_and_dates_are_noticed() {
        let a = event("a");
        let mut b = a.clone();
        b.attendance = Some(12_000);
        let d = classify(&a, b);
        assert_eq!((d.class, d.dates_changed), (Class::Changed, false));
        let mut c = a.clone();
        c.end = date("2027-06-04");
        let d = classify(&a, c);
        assert_eq!((d.class, d.dates_changed), (Class::Changed, true));
    }

    #[test]
    fn fifty_metres_is_changed_two_kilometres_is_moved() {
        let a = event("a");
        let mut near = a.clone();
        near.lat += 0.00045; // about 50 m north
        assert_eq!(classify(&a, near).class, Class::Changed);
        let mut far = a.clone();
        far.lat += 0.018; // about 2 km north
        assert_eq!(classify(&a, far).class, Class::Moved);
        let mut renamed = a.clone();
        renamed.venue_name = "Another hall".into();
        assert_eq!(classify(&a, renamed).class, Class::Moved);
    }

    #[test]
    fn new_deleted_and_vanished_events() {
        let a = event("a");
        let b = event("b");
        let c = event("c");
        let mut ended = event("ended");
        ended.start = date("2026-01-01");
        ended.end = date("2026-01-02");
        let stored: HashMap<_, _> = [&a, &b, &ended]
            .iter()
            .map(|e| (e.id.clone(), stored_from(e)))
            .collect();
        let mut deleted_a = a.clone();
        deleted_a.state = ProviderState::Deleted {
            reason: "cancelled".into(),
            duplicate_of: None,
        };
        let snap = vec![deleted_a, c.clone()];
        let full = diff(&stored, &snap, SyncMode::Full, date("2026-06-01"));
        let by_id = |id: &str| full.decisions.iter().find(|d| d.id == id).unwrap().clone();
        assert_eq!(by_id("a").class, Class::Gone);
        assert_eq!(by_id("a").gone_reason.as_deref(), Some("cancelled"));
        assert_eq!(by_id("b").class, Class::Gone, "vanished inside the window");
        assert_eq!(by_id("c").class, Class::New);
        assert_eq!(full.archived, vec!["ended".to_string()]);
        assert!(full.decisions.iter().all(|d| d.id != "ended"));

        let incremental = diff(&stored, &snap, SyncMode::Incremental, date("2026-06-01"));
        assert_eq!(incremental.decisions.len(), 2, "missing means unchanged");
    }
}

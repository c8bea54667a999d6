//! The snapshot diff: every event in a new snapshot, or missing from it, gets exactly one
//! of five classes (design.md section 3). Pure code, so it is cheap to test and to bench.
//! The [`Differ`] takes the snapshot one event at a time and keeps only compact digests of
//! the stored state, so a million events diff in bounded memory.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// The stored state by event id (a fast, non-cryptographic hash: ids are not hostile keys
/// an attacker chooses per request, and a million lookups must be cheap).
pub type StoredMap = FxHashMap<String, StoredEvent>;

/// A venue that moved further than this is `moved`; closer is `changed`.
pub const MOVE_THRESHOLD_KM: f64 = 0.1;

pub use crate::store::events::Class;

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
    /// Start and end instants when the provider gives times, not only dates.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Expected visitors per day around the event (empty when not given).
    pub impact: Vec<crate::types::DemandDay>,
    pub spend_industries: Option<crate::types::SpendIndustries>,
    /// The state or province when the provider names it.
    pub region: Option<String>,
}

/// Field bytes, each closed by a separator, hashed at once with XXH3 (fast and well
/// distributed: a collision would hide a change).
struct FieldHasher(Vec<u8>);

impl FieldHasher {
    fn new() -> FieldHasher {
        FieldHasher(Vec::with_capacity(512))
    }

    fn bytes(&mut self, b: &[u8]) -> &mut FieldHasher {
        self.0.extend_from_slice(b);
        self.0.push(0x1f);
        self
    }

    fn str(&mut self, s: &str) -> &mut FieldHasher {
        self.bytes(s.as_bytes())
    }

    fn num(&mut self, n: i64) -> &mut FieldHasher {
        self.bytes(&n.to_le_bytes())
    }

    fn opt(&mut self, n: Option<i64>) -> &mut FieldHasher {
        match n {
            Some(n) => self.bytes(&[1]).num(n),
            None => self.bytes(&[0]),
        }
    }

    fn finish(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.0)
    }
}

/// A compact, stable hash of a text (a venue name, a category, a country code).
pub fn text_hash(name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name.as_bytes())
}

/// Coordinates compared at micro-degree precision (about 0.1 m).
fn micro(deg: f64) -> i64 {
    (deg * 1e6).round() as i64
}

impl SnapshotEvent {
    /// A fingerprint of every field the store keeps (not `updated`).
    pub fn fingerprint(&self) -> u64 {
        let mut h = FieldHasher::new();
        h.str(&self.title)
            .str(&self.description)
            .str(&self.category);
        for l in &self.labels {
            h.str(l);
        }
        h.bytes(&[0x1e])
            .num(i64::from(self.rank))
            .opt(self.local_rank.map(i64::from))
            .opt(self.attendance)
            .opt(self.spend_usd)
            .num(i64::from(self.start.num_days_from_ce()))
            .num(i64::from(self.end.num_days_from_ce()))
            .str(&self.timezone)
            .str(&self.venue_name)
            .str(&self.address)
            .str(&self.city)
            .str(&self.country)
            .num(micro(self.lat))
            .num(micro(self.lon));
        match &self.state {
            ProviderState::Active => h.bytes(&[0]),
            ProviderState::Deleted {
                reason,
                duplicate_of,
            } => h
                .bytes(&[1])
                .str(reason)
                .str(duplicate_of.as_deref().unwrap_or("")),
        };
        // Appended only when present, so events without them keep their fingerprints.
        if self.starts_at.is_some() || self.ends_at.is_some() {
            h.bytes(&[0x1d])
                .opt(self.starts_at.map(|t| t.timestamp()))
                .opt(self.ends_at.map(|t| t.timestamp()));
        }
        if !self.impact.is_empty() {
            h.bytes(&[0x1c]);
            for d in &self.impact {
                h.str(&d.date).num(d.visitors).str(&d.position);
            }
        }
        if let Some(r) = &self.region {
            h.bytes(&[0x1a]).str(r);
        }
        if let Some(s) = &self.spend_industries {
            h.bytes(&[0x1b])
                .opt(s.accommodation)
                .opt(s.hospitality)
                .opt(s.transportation);
        }
        h.finish()
    }

    /// The fingerprint as the store keeps it (16 hex digits).
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint())
    }

    /// What the store keeps of this event for the next diff.
    pub fn digest(&self, state: StoredState) -> StoredEvent {
        StoredEvent {
            fingerprint: self.fingerprint(),
            lat: self.lat,
            lon: self.lon,
            venue: text_hash(&self.venue_name),
            start: self.start,
            end: self.end,
            state,
            rank: self.rank,
            attendance: self.attendance,
            category: text_hash(&self.category),
            country: text_hash(&self.country),
            seen: AtomicBool::new(false),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredState {
    Active,
    Gone,
    Archived,
}

impl StoredState {
    pub fn parse(s: &str) -> StoredState {
        match s {
            "gone" => StoredState::Gone,
            "archived" => StoredState::Archived,
            _ => StoredState::Active,
        }
    }
}

/// What the diff (and the commit) need to know of a stored event: about 80 bytes.
#[derive(Debug)]
pub struct StoredEvent {
    pub fingerprint: u64,
    pub lat: f64,
    pub lon: f64,
    pub venue: u64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub state: StoredState,
    /// Kept, with the position, dates and state, because the events table's indexes cover
    /// them: the commit rewrites an index only for the columns whose value changed.
    pub rank: i32,
    pub attendance: Option<i64>,
    pub category: u64,
    pub country: u64,
    /// Set by a [`Differ`] when the snapshot holds this event.
    pub seen: AtomicBool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// The snapshot holds every event in the window: an active event missing from it is gone.
    Full,
    /// The snapshot holds only what changed since the last sync: a missing event is unchanged.
    Incremental,
}

/// The decision for one event that needs work (unchanged events are only counted).
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
    /// Every event that is not unchanged.
    pub decisions: Vec<Decision>,
    pub unchanged: usize,
    /// Active events missing from a full snapshot whose dates are over: archived, not gone.
    pub archived: Vec<String>,
}

impl Diff {
    pub fn count(&self, class: Class) -> usize {
        if class == Class::Unchanged {
            return self.unchanged;
        }
        self.decisions.iter().filter(|d| d.class == class).count()
    }
}

/// A diff in progress: feed it the snapshot's events one by one, then finish.
pub struct Differ<'a> {
    stored: &'a StoredMap,
    /// New ids seen, to skip a provider's repeated records.
    new_ids: FxHashSet<String>,
    out: Diff,
}

impl<'a> Differ<'a> {
    pub fn new(stored: &'a StoredMap) -> Differ<'a> {
        for s in stored.values() {
            s.seen.store(false, Ordering::Relaxed);
        }
        Differ {
            stored,
            new_ids: FxHashSet::default(),
            out: Diff::default(),
        }
    }

    /// Classifies one snapshot event (`index` is its place in the caller's snapshot).
    pub fn observe(&mut self, index: usize, ev: &SnapshotEvent) {
        let verdict = classify(self.stored, index, ev);
        self.record(verdict);
    }

    /// Classifies a batch of snapshot events (the first at `first_index`) on every core.
    pub fn observe_batch(&mut self, first_index: usize, events: &[SnapshotEvent]) {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if threads < 2 || events.len() < 2048 {
            for (i, ev) in events.iter().enumerate() {
                self.observe(first_index + i, ev);
            }
            return;
        }
        let stored = self.stored;
        let chunk = events.len().div_ceil(threads);
        let verdicts: Vec<Vec<Verdict>> = std::thread::scope(|scope| {
            let handles: Vec<_> = events
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    scope.spawn(move || {
                        part.iter()
                            .enumerate()
                            .map(|(i, ev)| classify(stored, first_index + c * chunk + i, ev))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("diff worker panicked"))
                .collect()
        });
        for verdict in verdicts.into_iter().flatten() {
            self.record(verdict);
        }
    }

    fn record(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Repeated => {}
            Verdict::Unchanged => self.out.unchanged += 1,
            Verdict::Decided(d) => {
                // New ids are not in the stored map: repeats are caught here.
                if d.class == Class::New && !self.new_ids.insert(d.id.clone()) {
                    return;
                }
                self.out.decisions.push(d);
            }
        }
    }

    /// Ends the diff: in a full sync, active stored events the snapshot lacked are gone
    /// (or archived when they have ended before `today`).
    pub fn finish(mut self, mode: SyncMode, today: NaiveDate) -> Diff {
        if mode == SyncMode::Full {
            let mut vanished: Vec<(&String, &StoredEvent)> = self
                .stored
                .iter()
                .filter(|(_, s)| s.state == StoredState::Active && !s.seen.load(Ordering::Relaxed))
                .collect();
            vanished.sort_by(|a, b| a.0.cmp(b.0));
            for (id, s) in vanished {
                if s.end < today {
                    self.out.archived.push(id.clone());
                } else {
                    self.out.decisions.push(Decision {
                        id: id.clone(),
                        class: Class::Gone,
                        snapshot_index: None,
                        dates_changed: false,
                        gone_reason: Some("vanished from the provider's snapshot".into()),
                    });
                }
            }
        }
        self.out
    }
}

/// The outcome for one snapshot record.
enum Verdict {
    /// The provider sent this stored event twice: the first one counts.
    Repeated,
    Unchanged,
    Decided(Decision),
}

fn classify(stored: &StoredMap, index: usize, ev: &SnapshotEvent) -> Verdict {
    let before = stored.get(ev.id.as_str());
    if let Some(b) = before {
        if b.seen.swap(true, Ordering::Relaxed) {
            return Verdict::Repeated;
        }
    }
    let decision = |class, dates_changed, gone_reason| {
        Verdict::Decided(Decision {
            id: ev.id.clone(),
            class,
            snapshot_index: Some(index),
            dates_changed,
            gone_reason,
        })
    };
    match (&ev.state, before) {
        (ProviderState::Deleted { .. }, Some(b)) if b.state == StoredState::Gone => {
            Verdict::Unchanged
        }
        (ProviderState::Deleted { reason, .. }, _) => {
            decision(Class::Gone, false, Some(reason.clone()))
        }
        (ProviderState::Active, None) => decision(Class::New, true, None),
        (ProviderState::Active, Some(b)) => {
            let dates_changed = b.start != ev.start || b.end != ev.end;
            if b.state != StoredState::Active {
                // Back from gone or archived: its neighbourhood must be looked up again.
                decision(Class::Moved, true, None)
            } else if ev.fingerprint() == b.fingerprint {
                // The fingerprint covers venue and location: nothing moved either.
                Verdict::Unchanged
            } else if b.venue != text_hash(&ev.venue_name)
                || crate::geo::haversine_km(b.lat, b.lon, ev.lat, ev.lon) > MOVE_THRESHOLD_KM
            {
                decision(Class::Moved, dates_changed, None)
            } else {
                decision(Class::Changed, dates_changed, None)
            }
        }
    }
}

/// Classifies a whole snapshot. `today` decides whether a vanished event had simply ended.
pub fn diff(
    stored: &StoredMap,
    snapshot: &[SnapshotEvent],
    mode: SyncMode,
    today: NaiveDate,
) -> Diff {
    let mut differ = Differ::new(stored);
    differ.observe_batch(0, snapshot);
    differ.finish(mode, today)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A plausible snapshot event (also used by other modules' tests).
    pub(crate) fn event(id: &str) -> SnapshotEvent {
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
            starts_at: None,
            ends_at: None,
            impact: Vec::new(),
            spend_industries: None,
            region: None,
        }
    }

    fn stored_from(ev: &SnapshotEvent) -> StoredEvent {
        ev.digest(StoredState::Active)
    }

    fn classify(before: &SnapshotEvent, after: SnapshotEvent) -> Decision {
        let stored = StoredMap::from_iter([(before.id.clone(), stored_from(before))]);
        let mut d = diff(
            &stored,
            std::slice::from_ref(&after),
            SyncMode::Incremental,
            date("2027-01-01"),
        );
        if d.unchanged == 1 {
            return Decision {
                id: after.id,
                class: Class::Unchanged,
                snapshot_index: Some(0),
                dates_changed: false,
                gone_reason: None,
            };
        }
        d.decisions.remove(0)
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
        let stored: StoredMap = [&a, &b, &ended]
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
        assert!(incremental.archived.is_empty());
    }

    #[test]
    fn repeated_records_count_once() {
        let a = event("a");
        let stored = StoredMap::from_iter([(a.id.clone(), stored_from(&a))]);
        let mut changed = a.clone();
        changed.rank += 1;
        let d = diff(
            &stored,
            &[changed, a.clone(), event("n"), event("n")],
            SyncMode::Full,
            date("2026-06-01"),
        );
        assert_eq!(
            (d.count(Class::Changed), d.count(Class::New), d.unchanged),
            (1, 1, 0)
        );
    }
}

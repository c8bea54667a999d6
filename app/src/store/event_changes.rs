//! The events each change touched, before and after, so a kept map or list answer that
//! none of them reaches survives a refresh. A refresh that changes 5% of the events leaves
//! most views of a city, a country or a category as they were; without this list every
//! kept answer was computed again after every refresh, and those recomputations were the
//! load test's slowest requests.
//!
//! The transaction that changes events and counts them into the derived tables (which are
//! then up to date, so `event_facts` holds each event as it was) lists every changed
//! event's narrow copy before and after, under the generation it took, and names the
//! generation in `event_change_sets`. Any other change to the events (a first load, a
//! large change, a catch-up) is not listed, and reaches every kept answer.

use super::entities::{event_change, event_change_set, event_fact};
use super::rollup::FactSource;
use crate::filter::{EventFilter, Sort};
use crate::types::{Cluster, EventPage};
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// A change to more events than this is not listed: it reaches nearly every answer anyway.
const LISTED_AT_MOST: usize = 20_000;
/// How long listed changes are kept in the store.
const LISTED_HOURS: i64 = 24;
/// The `meta` key holding the highest generation whose listed changes were dropped.
const PRUNED_KEY: &str = "event_changes_pruned_upto";

/// What the map and the lists filter and place an active event by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub lat: f64,
    pub lon: f64,
    pub category: String,
    pub country: String,
    pub rank: i32,
    pub local_rank: Option<i32>,
    pub attendance: Option<i64>,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Facts {
    fn of_fact(m: &event_fact::Model) -> Facts {
        Facts {
            lat: m.lat,
            lon: m.lon,
            category: m.category.clone(),
            country: m.country.clone(),
            rank: m.rank,
            local_rank: m.local_rank,
            attendance: m.attendance,
            start: m.start_date,
            end: m.end_date,
        }
    }

    fn of_source(e: &FactSource) -> Facts {
        Facts {
            lat: e.lat,
            lon: e.lon,
            category: e.category.clone(),
            country: e.country.clone(),
            rank: e.rank,
            local_rank: e.local_rank,
            attendance: e.attendance,
            start: e.start_date,
            end: e.end_date,
        }
    }

    /// Whether an active event with these facts may match `f`: false only when it does
    /// not (`store::events::filter_condition`). The free text is not known here and taken
    /// to match; a position is given a few metres' grace at the edge of a box or circle,
    /// where floating point could round either way.
    pub fn may_match(&self, f: &EventFilter) -> bool {
        const GRACE_DEGREES: f64 = 1e-6;
        let date = |s: &Option<String>| {
            s.as_deref()
                .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        if !f.categories.is_empty() && !f.categories.contains(&self.category) {
            return false;
        }
        if !f.countries.is_empty() && !f.countries.contains(&self.country) {
            return false;
        }
        if let Some(Some(from)) = date(&f.from) {
            if self.end < from {
                return false;
            }
        }
        if let Some(Some(to)) = date(&f.to) {
            if self.start > to {
                return false;
            }
        }
        if f.rank_min.is_some_and(|v| self.rank < v) || f.rank_max.is_some_and(|v| self.rank > v) {
            return false;
        }
        let local = |bound: Option<i32>, ok: fn(i32, i32) -> bool| match (bound, self.local_rank) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(b), Some(r)) => ok(r, b),
        };
        if !local(f.local_rank_min, |r, b| r >= b) || !local(f.local_rank_max, |r, b| r <= b) {
            return false;
        }
        if let Some(min) = f.attendance_min {
            if self.attendance.is_none_or(|a| a < min) {
                return false;
            }
        }
        if let Some(b) = &f.bbox {
            let g = GRACE_DEGREES;
            if self.lat < b.min_lat - g || self.lat > b.max_lat + g {
                return false;
            }
            let inside = if b.min_lon <= b.max_lon {
                self.lon >= b.min_lon - g && self.lon <= b.max_lon + g
            } else {
                self.lon >= b.min_lon - g || self.lon <= b.max_lon + g
            };
            if !inside {
                return false;
            }
        }
        if let Some(n) = &f.near {
            // The same flat measure as the query, with a metre's grace and the centre
            // moved a turn either way for circles across the antimeridian.
            const KM_PER_DEGREE: f64 = 111.195;
            let k = n.lat.to_radians().cos().max(0.01) * KM_PER_DEGREE;
            let r = n.radius_km * 1.000_001 + 0.001;
            let dy = (self.lat - n.lat) * KM_PER_DEGREE;
            let within = [0.0, -360.0, 360.0].into_iter().any(|shift| {
                let dx = (self.lon - (n.lon + shift)) * k;
                dy * dy + dx * dx <= r * r
            });
            if !within {
                return false;
            }
        }
        true
    }
}

/// One changed event: its facts before and after the change, none when it was not active.
#[derive(Clone, Debug, PartialEq)]
pub struct EventChange {
    pub id: String,
    pub before: Option<Facts>,
    pub after: Option<Facts>,
}

impl EventChange {
    /// Whether the same events match `f` after the change as before, at the same places:
    /// then only what is shown of this event itself can differ. False when the free text
    /// is asked for (the title and description are not listed).
    fn leaves_matches(&self, f: &EventFilter, (before, after): (bool, bool)) -> bool {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) if before && after => {
                f.q.is_none() && b.lat == a.lat && b.lon == a.lon
            }
            // Matched neither before nor after.
            _ => !before && !after,
        }
    }

    /// Whether it may match `f` before, and after.
    fn matches(&self, f: &EventFilter) -> (bool, bool) {
        (
            self.before.as_ref().is_some_and(|b| b.may_match(f)),
            self.after.as_ref().is_some_and(|a| a.may_match(f)),
        )
    }

    /// Whether the map clusters computed for `f` could differ after this change: the
    /// events that match or their places changed, or the event is shown alone (its title).
    pub fn reaches_clusters(&self, f: &EventFilter, clusters: &[Cluster]) -> bool {
        let matches = self.matches(f);
        if !self.leaves_matches(f, matches) {
            return true;
        }
        (matches.0 || matches.1) && clusters.iter().any(|c| c.id.as_deref() == Some(&self.id))
    }

    /// Whether the page of the list computed for `f` could differ after this change: the
    /// events that match changed (the total), the event is on the page, or it may now sort
    /// onto it.
    pub fn reaches_page(&self, f: &EventFilter, page: &EventPage) -> bool {
        let matches = self.matches(f);
        if !self.leaves_matches(f, matches) {
            return true;
        }
        if !matches.0 && !matches.1 {
            return false;
        }
        if page.items.iter().any(|e| e.id == self.id) {
            return true;
        }
        // Not on the page: it stays off when the page is full and the event still sorts
        // strictly after its last item (ties are left to the id's collation: reached).
        let (Some(last), Some(after)) = (page.items.last(), &self.after) else {
            return true;
        };
        if f.cursor.is_some() || page.items.len() < f.limit as usize {
            return true;
        }
        match f.sort {
            Sort::Rank => after.rank >= last.rank,
            Sort::Start => after.start.format("%Y-%m-%d").to_string() <= last.start,
            Sort::Attendance => after.attendance.unwrap_or(0) >= last.attendance.unwrap_or(0),
            Sort::Title => true,
        }
    }
}

/// Lists the changed events `ids` under `generation` (taken by this transaction), from
/// their narrow copies before (`before`, the derived tables being up to date) and their
/// rows now (`now`, the active ones). Call it in the transaction that changes them.
pub(crate) async fn list<C: ConnectionTrait>(
    txn: &C,
    generation: i64,
    ids: &[String],
    before: &[event_fact::Model],
    now: &[FactSource],
) -> Result<(), DbErr> {
    if ids.len() > LISTED_AT_MOST {
        return Ok(());
    }
    let before: BTreeMap<&str, &event_fact::Model> =
        before.iter().map(|m| (m.id.as_str(), m)).collect();
    let now: BTreeMap<&str, &FactSource> = now.iter().map(|e| (e.id.as_str(), e)).collect();
    let json = |f: Facts| serde_json::to_string(&f).map_err(|e| DbErr::Custom(e.to_string()));
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let was = before.get(id.as_str()).map(|m| Facts::of_fact(m));
        let is = now.get(id.as_str()).map(|e| Facts::of_source(e));
        if was.is_none() && is.is_none() {
            // Active neither before nor after: no answer shows it.
            continue;
        }
        rows.push(event_change::ActiveModel {
            generation: Set(generation),
            event_id: Set(id.clone()),
            before: Set(was.map(json).transpose()?),
            after: Set(is.map(json).transpose()?),
            ..Default::default()
        });
    }
    let events = rows.len() as i32;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        event_change::Entity::insert_many(chunk).exec(txn).await?;
    }
    event_change_set::Entity::insert(event_change_set::ActiveModel {
        generation: Set(generation),
        events: Set(events),
        recorded_at: Set(Utc::now()),
    })
    .exec(txn)
    .await?;
    Ok(())
}

/// The changes listed after generation `after` up to `upto`, and the highest generation
/// in that span whose changes are not all among them.
pub(crate) async fn read(
    db: &DatabaseConnection,
    after: i64,
    upto: i64,
) -> Result<(Vec<(i64, EventChange)>, Option<i64>), DbErr> {
    if upto - after > 100_000 {
        return Ok((Vec::new(), Some(upto)));
    }
    let listed: HashSet<i64> = event_change_set::Entity::find()
        .select_only()
        .column(event_change_set::Column::Generation)
        .filter(event_change_set::Column::Generation.gt(after))
        .filter(event_change_set::Column::Generation.lte(upto))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let rows = event_change::Entity::find()
        .filter(event_change::Column::Generation.gt(after))
        .filter(event_change::Column::Generation.lte(upto))
        .order_by_asc(event_change::Column::Generation)
        .order_by_asc(event_change::Column::Id)
        .all(db)
        .await?;
    // Read after the rows: a drop that came first shows here.
    let pruned: i64 = super::get_meta(db, PRUNED_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let unlisted = (after + 1..=upto).rev().find(|g| !listed.contains(g));
    let unknown = unlisted.max((pruned > after).then_some(pruned));
    let facts = |json: &Option<String>| -> Option<Facts> {
        json.as_deref().and_then(|j| serde_json::from_str(j).ok())
    };
    let mut changes = Vec::with_capacity(rows.len());
    let mut unreadable = None;
    for r in rows {
        let change = EventChange {
            id: r.event_id.clone(),
            before: facts(&r.before),
            after: facts(&r.after),
        };
        // A copy this version cannot read counts as not listed.
        if (r.before.is_some() && change.before.is_none())
            || (r.after.is_some() && change.after.is_none())
        {
            unreadable = unreadable.max(Some(r.generation));
        }
        changes.push((r.generation, change));
    }
    Ok((changes, unknown.max(unreadable)))
}

/// Drops the changes listed more than a day ago, and notes up to which generation.
pub async fn forget_old(db: &DatabaseConnection) -> Result<(), DbErr> {
    let before = Utc::now() - Duration::hours(LISTED_HOURS);
    let old: Option<i64> = event_change_set::Entity::find()
        .select_only()
        .column_as(event_change_set::Column::Generation.max(), "generation")
        .filter(event_change_set::Column::RecordedAt.lt(before))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    let Some(upto) = old else { return Ok(()) };
    let txn = db.begin().await?;
    // Writes first: on SQLite a transaction that reads before it writes fails if another
    // writer commits in between.
    event_change::Entity::delete_many()
        .filter(event_change::Column::Generation.lte(upto))
        .exec(&txn)
        .await?;
    event_change_set::Entity::delete_many()
        .filter(event_change_set::Column::Generation.lte(upto))
        .exec(&txn)
        .await?;
    super::raise_number(&txn, PRUNED_KEY, upto).await?;
    txn.commit().await
}

#[cfg(test)]
mod tests {
    use super::{EventChange, Facts};
    use crate::filter::{BBox, EventFilter, Near, Sort};
    use crate::types::{Cluster, EventPage, EventSummary};
    use chrono::NaiveDate;

    fn facts(lat: f64, lon: f64, rank: i32) -> Facts {
        Facts {
            lat,
            lon,
            category: "concerts".into(),
            country: "FR".into(),
            rank,
            local_rank: Some(50),
            attendance: Some(1000),
            start: NaiveDate::from_ymd_opt(2027, 5, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2027, 5, 3).unwrap(),
        }
    }

    fn change(before: Option<Facts>, after: Option<Facts>) -> EventChange {
        EventChange {
            id: "e1".into(),
            before,
            after,
        }
    }

    fn paris_box() -> EventFilter {
        EventFilter {
            bbox: Some(BBox {
                min_lon: 2.0,
                min_lat: 48.5,
                max_lon: 2.7,
                max_lat: 49.0,
            }),
            limit: 2,
            ..Default::default()
        }
    }

    fn summary(id: &str, rank: i32) -> EventSummary {
        EventSummary {
            id: id.into(),
            title: id.into(),
            category: "concerts".into(),
            rank,
            local_rank: None,
            attendance: None,
            start: "2027-05-01".into(),
            end: "2027-05-01".into(),
            timezone: "Europe/Paris".into(),
            venue_name: String::new(),
            city: "Paris".into(),
            country: "FR".into(),
            lat: 48.85,
            lon: 2.35,
            demo: false,
        }
    }

    #[test]
    fn facts_match_like_the_query() {
        let e = facts(48.85, 2.35, 70);
        let mut f = EventFilter::default();
        assert!(e.may_match(&f));
        f.categories = vec!["sports".into()];
        assert!(!e.may_match(&f));
        f.categories = vec!["sports".into(), "concerts".into()];
        assert!(e.may_match(&f));
        f.countries = vec!["DE".into()];
        assert!(!e.may_match(&f));
        let mut f = EventFilter {
            from: Some("2027-05-03".into()),
            to: Some("2027-05-01".into()),
            ..Default::default()
        };
        assert!(e.may_match(&f), "ends on from, starts on to");
        f.from = Some("2027-05-04".into());
        assert!(!e.may_match(&f));
        let ranks = |rank_min, rank_max| EventFilter {
            rank_min,
            rank_max,
            ..Default::default()
        };
        assert!(e.may_match(&ranks(Some(70), Some(70))));
        assert!(!e.may_match(&ranks(Some(71), None)));
        assert!(!e.may_match(&ranks(None, Some(69))));
        let unranked = Facts {
            local_rank: None,
            attendance: None,
            ..e.clone()
        };
        let local = EventFilter {
            local_rank_min: Some(1),
            ..Default::default()
        };
        assert!(e.may_match(&local) && !unranked.may_match(&local));
        let crowd = EventFilter {
            attendance_min: Some(1000),
            ..Default::default()
        };
        assert!(e.may_match(&crowd) && !unranked.may_match(&crowd));
        assert!(e.may_match(&paris_box()));
        assert!(!facts(48.85, 2.8, 70).may_match(&paris_box()));
        let near = |lat, lon| EventFilter {
            near: Some(Near {
                lat,
                lon,
                radius_km: 50.0,
            }),
            ..Default::default()
        };
        // Paris to Chartres is about 80 km.
        assert!(e.may_match(&near(48.9, 2.4)));
        assert!(!e.may_match(&near(48.44, 1.49)));
        // A circle across the antimeridian.
        assert!(facts(-16.8, -179.95, 70).may_match(&near(-16.8, 179.9)));
        let across = EventFilter {
            bbox: Some(BBox {
                min_lon: 170.0,
                min_lat: -20.0,
                max_lon: -170.0,
                max_lat: -10.0,
            }),
            ..Default::default()
        };
        assert!(facts(-16.8, -179.95, 70).may_match(&across));
        assert!(!facts(-16.8, 0.0, 70).may_match(&across));
    }

    #[test]
    fn clusters_are_reached_by_moves_comings_goings_and_their_single_events() {
        let f = paris_box();
        let many = [Cluster {
            lat: 48.85,
            lon: 2.35,
            count: 12,
            id: None,
            title: None,
            category: None,
        }];
        let here = facts(48.85, 2.35, 70);
        let elsewhere = facts(45.0, 5.0, 70);
        // Re-ranked and retitled where it was, inside a cluster of many: not reached.
        let reranked = change(Some(here.clone()), Some(facts(48.85, 2.35, 90)));
        assert!(!reranked.reaches_clusters(&f, &many));
        // Shown alone: its title may have changed.
        let alone = [Cluster {
            count: 1,
            id: Some("e1".into()),
            title: Some("Old title".into()),
            category: Some("concerts".into()),
            ..many[0].clone()
        }];
        assert!(reranked.reaches_clusters(&f, &alone));
        // Moved 2 km, came, went, hidden: reached.
        let moved = change(Some(here.clone()), Some(facts(48.868, 2.35, 70)));
        assert!(moved.reaches_clusters(&f, &many));
        assert!(change(None, Some(here.clone())).reaches_clusters(&f, &many));
        assert!(change(Some(here.clone()), None).reaches_clusters(&f, &many));
        // Out of the box before and after, or moved about out there: not reached.
        assert!(!change(Some(elsewhere.clone()), None).reaches_clusters(&f, &many));
        let about = change(Some(elsewhere), Some(facts(45.1, 5.0, 70)));
        assert!(!about.reaches_clusters(&f, &many));
        // Into the box from elsewhere: reached.
        assert!(change(Some(facts(45.0, 5.0, 70)), Some(here.clone())).reaches_clusters(&f, &many));
        // A filter on rank: a rank change across its bound changes what matches.
        let ranked = EventFilter {
            rank_min: Some(80),
            ..paris_box()
        };
        assert!(reranked.reaches_clusters(&ranked, &many));
        // Free text: the title is not listed, so any matching change reaches.
        let text = EventFilter {
            q: Some("jazz".into()),
            ..paris_box()
        };
        assert!(reranked.reaches_clusters(&text, &many));
    }

    #[test]
    fn pages_are_reached_by_their_items_and_events_that_sort_onto_them() {
        let f = EventFilter {
            sort: Sort::Rank,
            ..paris_box()
        };
        let page = EventPage {
            items: vec![summary("a", 95), summary("b", 90)],
            total: 40,
            next_cursor: Some("x".into()),
        };
        let here = |rank| facts(48.85, 2.35, rank);
        // Re-ranked from 60 to 65, still below the page's last: not reached.
        assert!(!change(Some(here(60)), Some(here(65))).reaches_page(&f, &page));
        // Up to the last item's rank (ties go by id): reached.
        assert!(change(Some(here(60)), Some(here(90))).reaches_page(&f, &page));
        // On the page: reached whatever changed.
        let shown = EventChange {
            id: "b".into(),
            before: Some(here(90)),
            after: Some(here(90)),
        };
        assert!(shown.reaches_page(&f, &page));
        // Coming or going changes the total.
        assert!(change(None, Some(here(10))).reaches_page(&f, &page));
        assert!(change(Some(here(10)), None).reaches_page(&f, &page));
        // A page that is not full shows every match.
        let short = EventFilter {
            limit: 5,
            ..f.clone()
        };
        assert!(change(Some(here(60)), Some(here(65))).reaches_page(&short, &page));
        // Sorted by start: a later start stays off, an earlier one may come on.
        let by_start = EventFilter {
            sort: Sort::Start,
            ..paris_box()
        };
        let starting = |d| Facts {
            start: NaiveDate::from_ymd_opt(2027, 6, d).unwrap(),
            end: NaiveDate::from_ymd_opt(2027, 6, 28).unwrap(),
            ..here(60)
        };
        assert!(!change(Some(starting(10)), Some(starting(12))).reaches_page(&by_start, &page));
        let early = Facts {
            start: NaiveDate::from_ymd_opt(2027, 4, 1).unwrap(),
            ..here(60)
        };
        assert!(change(Some(starting(10)), Some(early)).reaches_page(&by_start, &page));
        // By title: titles are not listed.
        let by_title = EventFilter {
            sort: Sort::Title,
            ..paris_box()
        };
        assert!(change(Some(here(60)), Some(here(65))).reaches_page(&by_title, &page));
        // Not matching before or after: not reached.
        let elsewhere = |rank| facts(45.0, 5.0, rank);
        assert!(!change(Some(elsewhere(60)), Some(elsewhere(99))).reaches_page(&f, &page));
    }
}

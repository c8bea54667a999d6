//! Pre-counted dashboard numbers. At a million events, grouping every active event by
//! month and category, or summing spend out of JSON per country, takes seconds; the
//! dashboard's usual questions (all events, or some categories or countries) are answered
//! from two small tables instead, which a refresh marks stale in the transaction that
//! changes events and rebuilds afterwards. Any other filter, and a stale rollup, is
//! answered live from `events` by the same function, so the numbers never differ.

use super::column_writes::{self, Columns};
use super::entities::{event, event_fact, event_fact_day, stats_rollup, visitor_rollup};
use super::events::ACTIVE;
use super::state;
use super::write_behind::write_behind;
use crate::filter::EventFilter;
use crate::types::{DemandDay, SpendIndustries};
use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The longest impact pattern (days) when the rollups were last rebuilt; `None` while
/// they are stale.
pub async fn longest_pattern<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    let s = state::get(db).await?;
    Ok(s.rollups_valid.then_some(s.longest_pattern))
}

/// Whether the rollups can answer this filter: nothing but categories and countries.
pub fn applies(f: &EventFilter) -> bool {
    f.only_kind_and_place() && f.bbox.is_none()
}

/// Whether the rollups match the events now.
pub async fn valid<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    Ok(state::get(db).await?.rollups_valid)
}

/// Whether this filter is answered from the rollups.
pub async fn usable(db: &DatabaseConnection, f: &EventFilter) -> Result<bool, DbErr> {
    Ok(applies(f) && valid(db).await?)
}

/// Marks the rollups out of date, in the transaction that changes events.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    state::set_rollups_valid(db, false).await
}

/// The Monday that starts the week of `d`.
pub fn week_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

#[derive(Default)]
struct Sums {
    events: i64,
    spend_events: i64,
    total: i64,
    accommodation: i64,
    hospitality: i64,
    transportation: i64,
}

impl Sums {
    /// Counts one event in (`sign` 1) or out (-1).
    fn add(&mut self, spend_usd: Option<i64>, split: &SpendIndustries, sign: i64) {
        self.events += sign;
        if let Some(total) = spend_usd {
            self.spend_events += sign;
            self.total += sign * total;
            self.accommodation += sign * split.accommodation.unwrap_or(0);
            self.hospitality += sign * split.hospitality.unwrap_or(0);
            self.transportation += sign * split.transportation.unwrap_or(0);
        }
    }
}

impl Sums {
    fn is_zero(&self) -> bool {
        self.events == 0
            && self.spend_events == 0
            && self.total == 0
            && self.accommodation == 0
            && self.hospitality == 0
            && self.transportation == 0
    }
}

/// Visitors and (event, day) pairs per category, country and day.
type VisitorSums = HashMap<(String, String, NaiveDate), (i64, i64)>;

/// `YYYY-MM-DD`, as chrono's `%Y-%m-%d` writes it, without parsing a format string: a
/// first load writes a few of these for each of a million events.
pub(crate) fn day_text(d: NaiveDate) -> String {
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// `YYYY-MM`, as chrono's `%Y-%m` writes it (see [`day_text`]).
pub(crate) fn month_text(d: NaiveDate) -> String {
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}", d.year(), d.month())
    } else {
        d.format("%Y-%m").to_string()
    }
}

/// Counts an event's days in (`sign` 1) or out (-1) of the visitors rollup.
fn count_days(
    visitors: &mut VisitorSums,
    category: &str,
    country: &str,
    days: &ImpactDays,
    sign: i64,
) {
    for (d, n) in &days.per_day {
        let v = visitors
            .entry((category.to_string(), country.to_string(), *d))
            .or_default();
        v.0 += sign * n;
        v.1 += sign;
    }
}

/// What the derived tables read of an event: the columns of its narrow copy, its rollup
/// rows and its map cells, without the long text a full row carries (description,
/// address, labels). A full recount reads a million of these, a 5% refresh 50,000.
#[derive(Clone, Debug, sea_orm::DerivePartialModel)]
#[sea_orm(entity = "event::Entity")]
pub(crate) struct FactSource {
    pub id: String,
    /// Shown by a map cell that holds this one event.
    pub title: String,
    pub state: String,
    pub category: String,
    pub country: String,
    pub rank: i32,
    pub local_rank: Option<i32>,
    pub attendance: Option<i64>,
    pub spend_usd: Option<i64>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub lat: f64,
    pub lon: f64,
    pub impact: Option<String>,
    pub spend_industries: Option<String>,
}

/// The rollup row an event is counted in: category, country, month and week of its start.
fn stats_key(e: &FactSource) -> (String, String, String, String) {
    (
        e.category.clone(),
        e.country.clone(),
        month_text(e.start_date),
        day_text(week_of(e.start_date)),
    )
}

/// Days of an impact pattern kept in `event_facts` columns; later days go to
/// `event_fact_days`.
pub const FACT_DAYS: usize = 10;

/// An event's impact pattern as the derived tables count it: the first day named, and the
/// visitors summed per day, days with none left out.
pub(crate) struct ImpactDays {
    pub first: Option<NaiveDate>,
    pub per_day: BTreeMap<NaiveDate, i64>,
    /// Days from the first to the last named, both counted.
    pub span: Option<i64>,
}

impl ImpactDays {
    pub fn of(days: &[DemandDay]) -> ImpactDays {
        let parsed: Vec<(NaiveDate, i64)> = days
            .iter()
            .filter_map(|d| {
                Some((
                    NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok()?,
                    d.visitors,
                ))
            })
            .collect();
        let first = parsed.iter().map(|(d, _)| *d).min();
        let last = parsed.iter().map(|(d, _)| *d).max();
        let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for (d, n) in parsed {
            *per_day.entry(d).or_default() += n;
        }
        per_day.retain(|_, n| *n != 0);
        ImpactDays {
            first,
            per_day,
            span: first.zip(last).map(|(lo, hi)| (hi - lo).num_days() + 1),
        }
    }

    /// The days a stored narrow copy counted: its ten day columns and its later days.
    pub fn of_fact(f: &event_fact::Model, later: &[event_fact_day::Model]) -> ImpactDays {
        let v = [f.v0, f.v1, f.v2, f.v3, f.v4, f.v5, f.v6, f.v7, f.v8, f.v9];
        let mut per_day = BTreeMap::new();
        if let Some(first) = f.impact_first {
            for (k, n) in v.iter().enumerate() {
                if *n != 0 {
                    per_day.insert(first + Duration::days(k as i64), *n);
                }
            }
        }
        for d in later {
            if d.visitors != 0 {
                per_day.insert(d.day, d.visitors);
            }
        }
        ImpactDays {
            first: f.impact_first,
            per_day,
            span: None,
        }
    }
}

/// The spend split an event names, and its impact pattern.
pub(crate) fn parsed_details(e: &FactSource) -> (SpendIndustries, ImpactDays) {
    let split: SpendIndustries = e
        .spend_industries
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let days: Vec<DemandDay> = e
        .impact
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    (split, ImpactDays::of(&days))
}

/// An event's narrow copy, and the days of its impact pattern past [`FACT_DAYS`].
fn fact_of(
    e: &FactSource,
    split: &SpendIndustries,
    days: &ImpactDays,
) -> (event_fact::ActiveModel, Vec<event_fact_day::ActiveModel>) {
    let first = days.first;
    let mut v = [0i64; FACT_DAYS];
    let mut tail = Vec::new();
    if let Some(first) = first {
        for (d, n) in &days.per_day {
            let k = (*d - first).num_days() as usize;
            if k < FACT_DAYS {
                v[k] += n;
            } else {
                tail.push(event_fact_day::ActiveModel {
                    event_id: Set(e.id.clone()),
                    day: Set(*d),
                    visitors: Set(*n),
                });
            }
        }
    }
    let fact = event_fact::ActiveModel {
        id: Set(e.id.clone()),
        state: Set(e.state.clone()),
        category: Set(e.category.clone()),
        country: Set(e.country.clone()),
        rank: Set(e.rank),
        local_rank: Set(e.local_rank),
        attendance: Set(e.attendance),
        start_date: Set(e.start_date),
        end_date: Set(e.end_date),
        lat: Set(e.lat),
        lon: Set(e.lon),
        spend_usd: Set(e.spend_usd),
        spend_accommodation: Set(split.accommodation.unwrap_or(0)),
        spend_hospitality: Set(split.hospitality.unwrap_or(0)),
        spend_transportation: Set(split.transportation.unwrap_or(0)),
        start_month: Set(month_text(e.start_date)),
        start_week: Set(day_text(week_of(e.start_date))),
        impact_first: Set(first),
        v0: Set(v[0]),
        v1: Set(v[1]),
        v2: Set(v[2]),
        v3: Set(v[3]),
        v4: Set(v[4]),
        v5: Set(v[5]),
        v6: Set(v[6]),
        v7: Set(v[7]),
        v8: Set(v[8]),
        v9: Set(v[9]),
    };
    (fact, tail)
}

/// What a rebuild has counted so far: the rollups' sums and the longest impact pattern.
#[derive(Default)]
struct Counted {
    stats: HashMap<(String, String, String, String), Sums>,
    visitors: VisitorSums,
    longest: i64,
}

/// One batch of events counted, and the statements that write its narrow copies.
struct Built {
    counted: Counted,
    statements: Vec<sea_orm::Statement>,
}

/// Counts a batch of events into `counted` and builds the inserts of their narrow copies
/// (500 events a statement, and their later days).
fn build_copies(
    backend: sea_orm::DbBackend,
    rows: Vec<FactSource>,
    mut counted: Counted,
) -> Result<Built, DbErr> {
    const INSERT: usize = 500;
    let mut statements = Vec::new();
    for chunk in rows.chunks(INSERT) {
        let mut facts = Vec::with_capacity(chunk.len());
        let mut tails = Vec::new();
        for e in chunk.iter().filter(|e| e.state == ACTIVE) {
            let (split, days) = parsed_details(e);
            let s = counted.stats.entry(stats_key(e)).or_default();
            s.add(e.spend_usd, &split, 1);
            count_days(&mut counted.visitors, &e.category, &e.country, &days, 1);
            counted.longest = counted.longest.max(days.span.unwrap_or(0));
            let (fact, tail) = fact_of(e, &split, &days);
            facts.push(fact);
            tails.extend(tail);
        }
        statements.extend(column_writes::insert_statement(backend, facts, None)?);
        for part in tails.chunks(INSERT) {
            statements.extend(column_writes::insert_statement(
                backend,
                part.to_vec(),
                None,
            )?);
        }
    }
    Ok(Built {
        counted,
        statements,
    })
}

/// Recounts every active event into the rollups and rewrites the narrow copies: one pass
/// over the events in id order, in batches, all in one transaction. Returns the rollup
/// rows written.
pub async fn rebuild(db: &DatabaseConnection) -> Result<usize, DbErr> {
    rebuild_signalling(db, None).await
}

/// [`rebuild`], saying on `copies_written` when the narrow copies are written and SQLite
/// is left to index them: work that reads the events elsewhere can then run on the other
/// core without slowing the copies down ([`super::derived::rebuild_all`]).
pub(crate) async fn rebuild_signalling(
    db: &DatabaseConnection,
    copies_written: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
    let written = super::bulk_write(&txn, recount(db, &txn, copies_written)).await?;
    txn.commit().await?;
    Ok(written)
}

/// The work of [`rebuild`], in its transaction.
async fn recount(
    db: &DatabaseConnection,
    txn: &DatabaseTransaction,
    copies_written: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<usize, DbErr> {
    const BATCH: u64 = 20_000;
    // Where the time goes, for the log.
    let started = std::time::Instant::now();
    event_fact::Entity::delete_many().exec(txn).await?;
    event_fact_day::Entity::delete_many().exec(txn).await?;
    // Filled from empty: indexed once at the end, not row by row.
    let mut dropped = super::drop_indexes(txn, "event_facts").await?;
    dropped.extend(super::drop_indexes(txn, "event_fact_days").await?);
    // On SQLite the events are read on a connection of their own, so that SQLite reads
    // the next batch on one thread while it writes the last on another. Its snapshot is
    // taken at its first read, after `txn` has written: no other writer can commit until
    // `txn` does, so both see the same events. (PostgreSQL reads in `txn`: there another
    // transaction could commit in between.)
    let backend = txn.get_database_backend();
    let owned_reader = if backend == sea_orm::DbBackend::Sqlite {
        Some(db.begin().await?)
    } else {
        None
    };
    let reader = owned_reader.as_ref();
    // Three things at once: the next batch of events is read (on SQLite, by the reader's
    // thread), the batch before it is counted and its copies' inserts built on a blocking
    // thread, and the one before that is written. Done one after another on the task that
    // feeds the writer, reading and building took as long again as writing.
    let (stats, visitors, longest) = write_behind(txn, |writer| async move {
        let (batches, mut read) = tokio::sync::mpsc::channel::<Vec<FactSource>>(1);
        let reading = async move {
            let mut after = String::new();
            loop {
                // No condition on the state: see `cells::count_all`.
                let batch = event::Entity::find()
                    .filter(event::Column::Id.gt(after.clone()))
                    .order_by_asc(event::Column::Id)
                    .limit(BATCH)
                    .into_partial_model();
                let rows: Vec<FactSource> = match reader {
                    Some(reader) => batch.all(reader).await?,
                    None => batch.all(txn).await?,
                };
                let Some(last) = rows.last() else { break };
                after = last.id.clone();
                let more = rows.len() as u64 == BATCH;
                if batches.send(rows).await.is_err() || !more {
                    // A closed channel: the writing stopped, with the error to report.
                    break;
                }
            }
            Ok::<(), DbErr>(())
        };
        // Owns the receiver: writing that stops early drops it, and the reading's next
        // send fails instead of waiting for ever.
        let writing = async move {
            let mut counted = Counted::default();
            let mut building: Option<tokio::task::JoinHandle<Result<Built, DbErr>>> = None;
            loop {
                let rows = read.recv().await;
                if let Some(built) = building.take() {
                    let built = built.await.map_err(|e| {
                        DbErr::Custom(format!("building the copies stopped: {e}"))
                    })??;
                    counted = built.counted;
                    for statement in built.statements {
                        writer.send(statement).await?;
                    }
                }
                let Some(rows) = rows else { break };
                let counting = std::mem::take(&mut counted);
                building = Some(tokio::task::spawn_blocking(move || {
                    build_copies(backend, rows, counting)
                }));
            }
            Ok::<_, DbErr>((counted.stats, counted.visitors, counted.longest))
        };
        let (read, written) = tokio::join!(reading, writing);
        let written = written?;
        read?;
        Ok(written)
    })
    .await?;
    if let Some(reader) = owned_reader {
        reader.rollback().await?;
    }
    let copied = started.elapsed();
    if let Some(signal) = copies_written {
        // Nobody listening is no error: the rebuild goes on the same.
        let _ = signal.send(());
    }
    super::create_indexes(txn, &dropped).await?;
    let indexed = started.elapsed();
    let written = stats.len() + visitors.len();
    stats_rollup::Entity::delete_many().exec(txn).await?;
    visitor_rollup::Entity::delete_many().exec(txn).await?;
    // A first load counts a few hundred thousand rollup rows: each statement's rows are
    // built while the one before is written.
    write_behind(txn, |writer| async move {
        let mut stats = stats.into_iter().peekable();
        while stats.peek().is_some() {
            let rows: Vec<_> = stats
                .by_ref()
                .take(500)
                .map(
                    |((category, country, month, week), s)| stats_rollup::ActiveModel {
                        category: Set(category),
                        country: Set(country),
                        month: Set(month),
                        week: Set(week),
                        events: Set(s.events),
                        spend_events: Set(s.spend_events),
                        spend_total: Set(s.total),
                        spend_accommodation: Set(s.accommodation),
                        spend_hospitality: Set(s.hospitality),
                        spend_transportation: Set(s.transportation),
                    },
                )
                .collect();
            writer.insert(rows).await?;
        }
        let mut visitors = visitors.into_iter().peekable();
        while visitors.peek().is_some() {
            let rows: Vec<_> = visitors
                .by_ref()
                .take(1000)
                .map(
                    |((category, country, day), (n, contributions))| visitor_rollup::ActiveModel {
                        category: Set(category),
                        country: Set(country),
                        day: Set(day_text(day)),
                        visitors: Set(n),
                        contributions: Set(contributions),
                    },
                )
                .collect();
            writer.insert(rows).await?;
        }
        Ok(())
    })
    .await?;
    state::set_longest_pattern(txn, longest).await?;
    state::set_rollups_valid(txn, true).await?;
    tracing::info!(
        copies = copied.as_secs_f64(),
        indexes = (indexed - copied).as_secs_f64(),
        rollup_rows = started.elapsed().saturating_sub(indexed).as_secs_f64(),
        rows = written,
        "narrow copies and rollups recounted"
    );
    Ok(written)
}

/// Whether an event's stored later days are the ones it has now.
fn same_days(stored: &[event_fact_day::Model], now: &[event_fact_day::ActiveModel]) -> bool {
    let mut stored: Vec<(NaiveDate, i64)> = stored.iter().map(|d| (d.day, d.visitors)).collect();
    let mut now: Vec<(NaiveDate, i64)> = now
        .iter()
        .filter_map(|d| match (&d.day, &d.visitors) {
            (sea_orm::ActiveValue::Set(day), sea_orm::ActiveValue::Set(n)) => Some((*day, *n)),
            _ => None,
        })
        .collect();
    stored.sort_unstable();
    now.sort_unstable();
    stored == now
}

/// Brings the narrow copies and the rollups up to date for some changed events, by
/// difference: what each event counted for before (its stored narrow copy) is taken out,
/// what it counts for now (the event, when active) is put in. `ids` are the changed
/// events, `before` their narrow copies as stored, `now` those of them that are active.
/// Rows left with no events are dropped by [`drop_empty_rows`].
pub(crate) async fn apply_changes<C: ConnectionTrait>(
    txn: &C,
    ids: &[String],
    before: &[event_fact::Model],
    now: &[FactSource],
) -> Result<(), DbErr> {
    let mut later: HashMap<String, Vec<event_fact_day::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for d in event_fact_day::Entity::find()
            .filter(event_fact_day::Column::EventId.is_in(chunk.to_vec()))
            .all(txn)
            .await?
        {
            later.entry(d.event_id.clone()).or_default().push(d);
        }
    }
    let mut stats: HashMap<(String, String, String, String), Sums> = HashMap::new();
    let mut visitors: VisitorSums = HashMap::new();
    for f in before {
        let split = SpendIndustries {
            accommodation: Some(f.spend_accommodation),
            hospitality: Some(f.spend_hospitality),
            transportation: Some(f.spend_transportation),
        };
        let key = (
            f.category.clone(),
            f.country.clone(),
            f.start_month.clone(),
            f.start_week.clone(),
        );
        stats.entry(key).or_default().add(f.spend_usd, &split, -1);
        let days = ImpactDays::of_fact(f, later.get(&f.id).map(Vec::as_slice).unwrap_or(&[]));
        count_days(&mut visitors, &f.category, &f.country, &days, -1);
    }
    // Each narrow copy is written only where it changed, and only in the columns that did
    // (`column_writes`): a re-ranked event's copy is updated in place, where deleting and
    // inserting it rewrote its entries in all five of the table's indexes. Its later days
    // are likewise written only when they changed.
    let stored: HashMap<&str, &event_fact::Model> =
        before.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut facts: HashMap<Columns, Vec<event_fact::ActiveModel>> = HashMap::new();
    let mut tails = Vec::new();
    let mut retold: Vec<String> = Vec::new();
    let mut still: HashSet<&str> = HashSet::new();
    let mut longest = 0i64;
    for e in now {
        let (split, days) = parsed_details(e);
        stats
            .entry(stats_key(e))
            .or_default()
            .add(e.spend_usd, &split, 1);
        count_days(&mut visitors, &e.category, &e.country, &days, 1);
        longest = longest.max(days.span.unwrap_or(0));
        let (fact, tail) = fact_of(e, &split, &days);
        still.insert(e.id.as_str());
        let old_days = later.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
        let columns = match stored.get(e.id.as_str()) {
            Some(old) => column_writes::changed(*old, &fact),
            None => column_writes::all::<event_fact::Entity>(),
        };
        if columns != 0 {
            facts.entry(columns).or_default().push(fact);
        }
        if !same_days(old_days, &tail) {
            if !old_days.is_empty() {
                retold.push(e.id.clone());
            }
            tails.extend(tail);
        }
    }
    // The copies of the events no longer active go, with their later days.
    let gone: Vec<String> = before
        .iter()
        .filter(|f| !still.contains(f.id.as_str()))
        .map(|f| f.id.clone())
        .collect();
    for chunk in gone.chunks(500) {
        event_fact::Entity::delete_many()
            .filter(event_fact::Column::Id.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    for chunk in gone
        .iter()
        .filter(|id| later.contains_key(*id))
        .chain(&retold)
        .cloned()
        .collect::<Vec<_>>()
        .chunks(500)
    {
        event_fact_day::Entity::delete_many()
            .filter(event_fact_day::Column::EventId.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    for (columns, rows) in facts {
        // About 28 values a row: well under either backend's bound-values limit.
        for chunk in rows.chunks(500) {
            column_writes::upsert(txn, event_fact::Column::Id, columns, chunk.to_vec()).await?;
        }
    }
    for chunk in tails.chunks(500) {
        column_writes::insert(txn, chunk.to_vec()).await?;
    }
    let sums = [
        "events",
        "spend_events",
        "spend_total",
        "spend_accommodation",
        "spend_hospitality",
        "spend_transportation",
    ];
    let adding = |table: &str, columns: &[&str]| -> Vec<String> {
        columns
            .iter()
            .map(|c| format!(r#""{c}" = "{table}"."{c}" + excluded."{c}""#))
            .collect()
    };
    let rows = stats
        .into_iter()
        .filter(|(_, s)| !s.is_zero())
        .map(|((category, country, month, week), s)| {
            vec![
                category.into(),
                country.into(),
                month.into(),
                week.into(),
                s.events.into(),
                s.spend_events.into(),
                s.total.into(),
                s.accommodation.into(),
                s.hospitality.into(),
                s.transportation.into(),
            ]
        })
        .collect();
    let key = ["category", "country", "month", "week"];
    let columns: Vec<&str> = key.iter().chain(sums.iter()).copied().collect();
    super::upsert_rows(
        txn,
        "stats_rollup",
        &columns,
        &key,
        &adding("stats_rollup", &sums),
        rows,
    )
    .await?;
    let rows = visitors
        .into_iter()
        .filter(|(_, (n, c))| *n != 0 || *c != 0)
        .map(|((category, country, day), (n, c))| {
            vec![
                category.into(),
                country.into(),
                day_text(day).into(),
                n.into(),
                c.into(),
            ]
        })
        .collect();
    super::upsert_rows(
        txn,
        "visitor_rollup",
        &["category", "country", "day", "visitors", "contributions"],
        &["category", "country", "day"],
        &adding("visitor_rollup", &["visitors", "contributions"]),
        rows,
    )
    .await?;
    let stored = state::get(txn).await?.longest_pattern;
    // Kept as the longest ever counted since the last full rebuild: a bound, which is all
    // its readers need (it says how many day columns to sum).
    if longest > stored {
        state::set_longest_pattern(txn, longest).await?;
    }
    Ok(())
}

/// Drops the rollup rows whose last event has left them.
pub(crate) async fn drop_empty_rows<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    stats_rollup::Entity::delete_many()
        .filter(stats_rollup::Column::Events.lte(0))
        .exec(txn)
        .await?;
    visitor_rollup::Entity::delete_many()
        .filter(visitor_rollup::Column::Contributions.lte(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Marks the rollups as matching the events (after [`apply_changes`] has brought them up to
/// date).
pub(crate) async fn mark_valid<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    state::set_rollups_valid(txn, true).await
}

/// The categories and countries of a filter as a condition on a rollup table.
pub fn stats_condition(f: &EventFilter) -> sea_orm::Condition {
    let mut c = sea_orm::Condition::all();
    if !f.categories.is_empty() {
        c = c.add(stats_rollup::Column::Category.is_in(f.categories.clone()));
    }
    if !f.countries.is_empty() {
        c = c.add(stats_rollup::Column::Country.is_in(f.countries.clone()));
    }
    c
}

/// The same for the visitors rollup.
pub fn visitor_condition(f: &EventFilter) -> sea_orm::Condition {
    let mut c = sea_orm::Condition::all();
    if !f.categories.is_empty() {
        c = c.add(visitor_rollup::Column::Category.is_in(f.categories.clone()));
    }
    if !f.countries.is_empty() {
        c = c.add(visitor_rollup::Column::Country.is_in(f.countries.clone()));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(week_of(d("2026-11-26")), d("2026-11-23"));
        assert_eq!(week_of(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(week_of(d("2026-11-22")), d("2026-11-16"));
        assert_eq!(week_of(d("2027-01-01")), d("2026-12-28"));
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for d in [
            NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            NaiveDate::from_ymd_opt(999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(12345, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(-44, 3, 15).unwrap(),
        ] {
            assert_eq!(day_text(d), d.format("%Y-%m-%d").to_string());
            assert_eq!(month_text(d), d.format("%Y-%m").to_string());
        }
    }

    #[test]
    fn only_category_and_country_filters_use_the_rollups() {
        let mut f = EventFilter {
            categories: vec!["sports".into()],
            countries: vec!["KR".into()],
            ..EventFilter::default()
        };
        assert!(applies(&f));
        f.rank_min = Some(10);
        assert!(!applies(&f));
    }
}

//! The refresh pipeline: fetch a snapshot, validate it, diff it against the store, write the
//! changes in one transaction, then enrich only what the classes need, through caches keyed
//! by what each lookup depends on.

mod bulk;
pub mod diff;
pub mod enrich;
pub mod event_writes;

use crate::providers::policy::ProviderError;
use crate::providers::{EventsClient, Providers};
use crate::store::entities::{event, event_history, invalid_record, refresh_run};
use crate::store::usage::{record_usage, usage};
use crate::store::write::Write;
use crate::store::{lock, state};
use chrono::{NaiveDate, Utc};
use diff::{Class, ProviderState, SnapshotEvent, StoredEvent, StoredState, SyncMode};
use event_writes::WRITE_BATCH;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde::Serialize;
use std::sync::Arc;

/// What one refresh run uses.
#[derive(Clone)]
pub struct RefreshConfig {
    pub providers: Providers,
    /// Origins whose flights are fetched ahead of travellers (`TOURSHERPA_FLIGHT_ORIGINS`).
    pub flight_origins: Vec<String>,
    pub mode: SyncMode,
    /// How far ahead a snapshot reaches (`PREDICTHQ_WINDOW_DAYS`).
    pub window_days: i64,
    /// How long the demo events feed takes to answer (`TOURSHERPA_DEMO_LATENCY_MS`), to
    /// rehearse watching and cancelling a run as slow as a real provider's.
    pub demo_latency: std::time::Duration,
    /// A pause at the start of each stage and before the commit (`TOURSHERPA_STAGE_PAUSE_MS`,
    /// normally zero), to rehearse a kill in any stage.
    pub stage_pause: std::time::Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig {
            providers: Providers::default(),
            flight_origins: vec!["ICN".into()],
            mode: SyncMode::Full,
            window_days: 365,
            demo_latency: std::time::Duration::ZERO,
            stage_pause: std::time::Duration::ZERO,
        }
    }
}

/// Why a refresh did not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("a refresh is already running")]
    AlreadyRunning,
    #[error(transparent)]
    Db(#[from] DbErr),
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClassCounts {
    pub unchanged: i32,
    pub changed: i32,
    pub moved: i32,
    pub new: i32,
    pub gone: i32,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CallCounts {
    pub events: i32,
    pub places: i32,
    pub flights: i32,
}

/// The outcome of one run, as `toursherpa ingest --json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub run_id: i32,
    pub status: String,
    pub classes: ClassCounts,
    pub calls: CallCounts,
    pub calls_saved: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    pub archived: i32,
    pub invalid: i32,
    /// Events whose enrichment is still owed (done first by the next run).
    pub deferred: i32,
}

/// Checks a snapshot record; the reason is kept when it is set aside.
pub fn validate(e: &SnapshotEvent) -> Result<(), String> {
    if e.id.trim().is_empty() {
        return Err("empty id".into());
    }
    if e.title.trim().is_empty() {
        return Err("empty title".into());
    }
    if !(-90.0..=90.0).contains(&e.lat) || !(-180.0..=180.0).contains(&e.lon) {
        return Err(format!("location {},{} is not on Earth", e.lat, e.lon));
    }
    if e.lat == 0.0 && e.lon == 0.0 {
        return Err("location is 0,0 (missing)".into());
    }
    if e.start > e.end {
        return Err(format!("starts {} after it ends {}", e.start, e.end));
    }
    if e.country.len() != 2 {
        return Err(format!(
            "country `{}` is not an ISO alpha-2 code",
            e.country
        ));
    }
    if !crate::types::CATEGORIES.contains(&e.category.as_str()) {
        return Err(format!("unknown category `{}`", e.category));
    }
    Ok(())
}

/// Runs one refresh to the end and records it (started by `cli`). Store errors end the run
/// as `failed`; a second refresh while one runs anywhere on the same store is refused.
pub async fn refresh(
    db: &DatabaseConnection,
    config: &RefreshConfig,
) -> Result<RunReport, RefreshError> {
    let started = start(db, config, "cli").await?;
    match started.finished.await {
        Ok(result) => Ok(result?),
        Err(e) => Err(task_stopped(e)),
    }
}

/// A run that has begun: its id is recorded, and the rest runs in its own task.
pub struct StartedRun {
    pub run_id: i32,
    pub finished: tokio::task::JoinHandle<Result<RunReport, DbErr>>,
}

/// Where the refreshes a server starts run, when not on its own runtime: a runtime whose
/// threads have a lower CPU priority, and a pool of store connections opened from it (each
/// SQLite connection works on a thread of its own, which takes the priority of the thread
/// that opened it). The visitors' requests then come first (see `server::priority`).
#[derive(Clone)]
pub struct Background {
    pub runtime: tokio::runtime::Handle,
    pub db: DatabaseConnection,
}

impl Background {
    /// [`start`] on this runtime and pool: the whole run, its lock and its first writes
    /// included, so that every connection it opens is opened from there.
    pub async fn start(
        &self,
        config: &RefreshConfig,
        triggered_by: &str,
    ) -> Result<StartedRun, RefreshError> {
        let (db, config, by) = (self.db.clone(), config.clone(), triggered_by.to_string());
        self.runtime
            .spawn(async move { start(&db, &config, &by).await })
            .await
            .map_err(task_stopped)?
    }
}

/// A refresh task that panicked or was cancelled, as an error of the run.
fn task_stopped(e: tokio::task::JoinError) -> RefreshError {
    RefreshError::Db(DbErr::Custom(format!("the refresh task stopped: {e}")))
}

/// Takes the refresh lock, records a new run (`triggered_by` names who asked) and runs it
/// in the background. Answers `AlreadyRunning` at once while any process runs one.
pub async fn start(
    db: &DatabaseConnection,
    config: &RefreshConfig,
    triggered_by: &str,
) -> Result<StartedRun, RefreshError> {
    let lock = lock::RefreshLock::acquire(db)
        .await?
        .ok_or(RefreshError::AlreadyRunning)?;
    let run = match open_run(db, config, triggered_by).await {
        Ok(run) => run,
        Err(e) => {
            release(db, lock).await;
            return Err(e.into());
        }
    };
    let run_id = run.id;
    let (db, config) = (db.clone(), config.clone());
    let finished = tokio::spawn(async move {
        let result = run_to_end(&db, &config, &lock, run).await;
        release(&db, lock).await;
        result
    });
    Ok(StartedRun { run_id, finished })
}

async fn release(db: &DatabaseConnection, lock: lock::RefreshLock) {
    if let Err(e) = lock.release(db).await {
        tracing::warn!(error = %e, "could not release the refresh lock; it expires by itself");
    }
}

/// Asks the running refresh to stop at its next check (it may run in another process).
/// False when no run with this id is running.
pub async fn request_cancel(db: &DatabaseConnection, run_id: i32) -> Result<bool, DbErr> {
    let r = refresh_run::Entity::update_many()
        .col_expr(refresh_run::Column::CancelRequested, Expr::value(true))
        .filter(refresh_run::Column::Id.eq(run_id))
        .filter(refresh_run::Column::Status.eq("running"))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

async fn cancel_requested(db: &DatabaseConnection, run_id: i32) -> Result<bool, DbErr> {
    Ok(refresh_run::Entity::find_by_id(run_id)
        .select_only()
        .column(refresh_run::Column::CancelRequested)
        .into_tuple::<bool>()
        .one(db)
        .await?
        .unwrap_or(false))
}

/// Resolves once a cancel is requested for the run (polled; store errors are retried).
async fn until_cancelled(db: &DatabaseConnection, run_id: i32) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if cancel_requested(db, run_id).await.unwrap_or(false) {
            return;
        }
    }
}

async fn open_run(
    db: &DatabaseConnection,
    config: &RefreshConfig,
    triggered_by: &str,
) -> Result<refresh_run::Model, DbErr> {
    // We hold the lock: any run still marked running was stopped without finishing.
    refresh_run::Entity::update_many()
        .col_expr(refresh_run::Column::Status, Expr::value("interrupted"))
        .filter(refresh_run::Column::Status.eq("running"))
        .exec(db)
        .await?;
    refresh_run::ActiveModel {
        mode: Set(match config.mode {
            SyncMode::Full => "full",
            SyncMode::Incremental => "incremental",
        }
        .into()),
        status: Set("running".into()),
        stage: Set("fetch".into()),
        events_provider: Set(config.providers.events.name().into()),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
        unchanged: Set(0),
        changed: Set(0),
        moved: Set(0),
        new: Set(0),
        gone: Set(0),
        archived: Set(0),
        invalid: Set(0),
        calls_events: Set(0),
        calls_places: Set(0),
        calls_flights: Set(0),
        calls_saved: Set(0),
        deferred: Set(0),
        errors: Set("[]".into()),
        feed_generation: Set(None),
        progress_done: Set(0),
        progress_total: Set(0),
        cancel_requested: Set(false),
        triggered_by: Set(Some(triggered_by.chars().take(100).collect())),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn run_to_end(
    db: &DatabaseConnection,
    config: &RefreshConfig,
    lock: &lock::RefreshLock,
    run: refresh_run::Model,
) -> Result<RunReport, DbErr> {
    let started = run.started_at;
    let run_id = run.id;
    let mut report = RunReport {
        run_id,
        status: "running".into(),
        classes: ClassCounts::default(),
        calls: CallCounts::default(),
        calls_saved: 0,
        errors: Vec::new(),
        archived: 0,
        invalid: 0,
        deferred: 0,
    };
    let today = started.date_naive();
    for caller in config.providers.callers() {
        record_usage(db, caller, today).await?;
        caller.sync_usage(usage(db, caller.provider, today).await?);
    }
    let mut progress = Progress::new(db, config, lock, &mut report);
    let outcome = stages(&mut progress).await;
    for caller in config.providers.callers() {
        record_usage(db, caller, today).await?;
    }
    progress.finish(run, outcome).await?;
    record_provider_status(db, config, &report).await?;
    Ok(report)
}

/// Keeps each provider's last error and the last run in which it was called without one.
async fn record_provider_status(
    db: &DatabaseConnection,
    config: &RefreshConfig,
    report: &RunReport,
) -> Result<(), DbErr> {
    use crate::store::entities::provider_status;
    let now = Utc::now();
    for (role, name, _) in config.providers.roles() {
        let calls = match role {
            "events" => report.calls.events,
            "places" => report.calls.places,
            _ => report.calls.flights,
        };
        let key = crate::store::admin::provider_status_key(role, name);
        let prefix = format!("{name}:");
        let error = report.errors.iter().find(|e| e.starts_with(&prefix));
        let existing = provider_status::Entity::find_by_id(key.clone())
            .one(db)
            .await?;
        let mut row = match existing {
            Some(m) => provider_status::ActiveModel::from(m),
            None => provider_status::ActiveModel {
                provider: Set(key.clone()),
                last_error: Set(None),
                last_error_at: Set(None),
                last_success_run: Set(None),
                last_success_at: Set(None),
            },
        };
        match error {
            Some(e) => {
                row.last_error = Set(Some(e.chars().take(1000).collect()));
                row.last_error_at = Set(Some(now));
            }
            None if calls > 0 => {
                row.last_success_run = Set(Some(report.run_id));
                row.last_success_at = Set(Some(now));
            }
            None => {}
        }
        provider_status::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(provider_status::Column::Provider)
                    .update_columns([
                        provider_status::Column::LastError,
                        provider_status::Column::LastErrorAt,
                        provider_status::Column::LastSuccessRun,
                        provider_status::Column::LastSuccessAt,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A run's record from its first stage to its end: the one place a refresh writes what it
/// is doing (its stage, how far it is, the classes and calls so far) for whoever watches
/// it, asks whether an admin cancelled it, logs how long each stage took (`stage
/// finished`, at info level, for the pipeline benchmark and for anyone wondering where a
/// slow run spent its time), and closes the record with its status and counts.
struct Progress<'a> {
    db: &'a DatabaseConnection,
    config: &'a RefreshConfig,
    lock: &'a lock::RefreshLock,
    report: &'a mut RunReport,
    lap: std::time::Instant,
}

impl<'a> Progress<'a> {
    fn new(
        db: &'a DatabaseConnection,
        config: &'a RefreshConfig,
        lock: &'a lock::RefreshLock,
        report: &'a mut RunReport,
    ) -> Self {
        Progress {
            db,
            config,
            lock,
            report,
            lap: std::time::Instant::now(),
        }
    }

    fn run_id(&self) -> i32 {
        self.report.run_id
    }

    /// Records the stage and how many of its items are done.
    async fn at(&self, stage: &str, done: usize, total: usize) -> Result<(), DbErr> {
        refresh_run::Entity::update_many()
            .col_expr(refresh_run::Column::Stage, Expr::value(stage))
            .col_expr(refresh_run::Column::ProgressDone, Expr::value(done as i32))
            .col_expr(
                refresh_run::Column::ProgressTotal,
                Expr::value(total as i32),
            )
            .filter(refresh_run::Column::Id.eq(self.run_id()))
            .exec(self.db)
            .await?;
        Ok(())
    }

    /// Enters a stage: recorded, then the rehearsal pause ([`Progress::pause`]).
    async fn enter(&self, stage: &str, done: usize, total: usize) -> Result<(), DbErr> {
        self.at(stage, done, total).await?;
        self.pause().await;
        Ok(())
    }

    /// Waits `stage_pause` (normally zero): the fault rehearsal (`bench/faults.sh`) widens
    /// each stage so that a kill can land in any of them, the commit's open transaction
    /// included.
    async fn pause(&self) {
        if !self.config.stage_pause.is_zero() {
            tokio::time::sleep(self.config.stage_pause).await;
        }
    }

    /// Logs how long the stage that ends here took.
    fn lap(&mut self, stage: &str, items: usize) {
        let seconds = self.lap.elapsed().as_secs_f64();
        self.lap = std::time::Instant::now();
        tracing::info!(
            run_id = self.run_id(),
            stage,
            seconds,
            items,
            "stage finished"
        );
    }

    /// Records the classes and the events provider's calls so far.
    async fn record_classes(&self) -> Result<(), DbErr> {
        let c = &self.report.classes;
        refresh_run::Entity::update_many()
            .col_expr(refresh_run::Column::Unchanged, Expr::value(c.unchanged))
            .col_expr(refresh_run::Column::Changed, Expr::value(c.changed))
            .col_expr(refresh_run::Column::Moved, Expr::value(c.moved))
            .col_expr(refresh_run::Column::New, Expr::value(c.new))
            .col_expr(refresh_run::Column::Gone, Expr::value(c.gone))
            .col_expr(
                refresh_run::Column::CallsEvents,
                Expr::value(self.report.calls.events),
            )
            .filter(refresh_run::Column::Id.eq(self.run_id()))
            .exec(self.db)
            .await?;
        Ok(())
    }

    /// Records enrichment's progress and calls so far (places and flights), keeps the lock
    /// alive, and says whether to go on (false once an admin cancelled the run).
    async fn record_enrichment(
        &self,
        (done, total): (usize, usize),
        (places, flights): (u32, u32),
    ) -> Result<bool, DbErr> {
        self.lock.heartbeat(self.db).await?;
        self.at("enrich", done, total).await?;
        refresh_run::Entity::update_many()
            .col_expr(refresh_run::Column::CallsPlaces, Expr::value(places as i32))
            .col_expr(
                refresh_run::Column::CallsFlights,
                Expr::value(flights as i32),
            )
            .filter(refresh_run::Column::Id.eq(self.run_id()))
            .exec(self.db)
            .await?;
        Ok(!self.cancelled().await?)
    }

    async fn cancelled(&self) -> Result<bool, DbErr> {
        cancel_requested(self.db, self.run_id()).await
    }

    /// Closes the run record: its status from how the stages ended, every count, and the
    /// error that stopped it.
    async fn finish(
        self,
        run: refresh_run::Model,
        outcome: Result<(), StageError>,
    ) -> Result<(), DbErr> {
        let report = self.report;
        report.status = match &outcome {
            Ok(()) => "succeeded".into(),
            Err(StageError::Cancelled) => "cancelled".into(),
            Err(e) => {
                tracing::error!(run_id = report.run_id, error = %e, "refresh failed");
                report.errors.push(e.to_string());
                "failed".into()
            }
        };
        let mut done: refresh_run::ActiveModel = run.into();
        done.status = Set(report.status.clone());
        done.stage = Set("done".into());
        done.finished_at = Set(Some(Utc::now()));
        done.unchanged = Set(report.classes.unchanged);
        done.changed = Set(report.classes.changed);
        done.moved = Set(report.classes.moved);
        done.new = Set(report.classes.new);
        done.gone = Set(report.classes.gone);
        done.archived = Set(report.archived);
        done.invalid = Set(report.invalid);
        done.calls_events = Set(report.calls.events);
        done.calls_places = Set(report.calls.places);
        done.calls_flights = Set(report.calls.flights);
        done.calls_saved = Set(report.calls_saved);
        done.deferred = Set(report.deferred);
        done.errors = Set(serde_json::to_string(&report.errors).unwrap_or_else(|_| "[]".into()));
        done.update(self.db).await?;
        Ok(())
    }
}

/// Why the stages stopped: the store, or the events provider (nothing was changed).
#[derive(Debug, thiserror::Error)]
enum StageError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("cancelled by an admin")]
    Cancelled,
}

/// Writes a commit's changed events and their history rows, in batches: one statement per
/// few hundred rows, not one per event, each built while the one before it is written.
/// Returns the stored events the snapshot no longer has, by the reason they are gone.
async fn write_events(
    txn: &sea_orm::DatabaseTransaction,
    diff: &Arc<diff::Diff>,
    valid: &Arc<Vec<SnapshotEvent>>,
    stored: &Arc<diff::StoredMap>,
    provider_name: &str,
    now: chrono::DateTime<Utc>,
    run_id: i32,
) -> Result<Vanished, DbErr> {
    // The statements are built on a blocking thread and executed here as they come: built
    // on the task that feeds the connection, they waited for each other (at a million new
    // events, building took longer than SQLite's writing, and only one core worked).
    let backend = sea_orm::ConnectionTrait::get_database_backend(txn);
    let (to_writer, mut built) = tokio::sync::mpsc::channel::<sea_orm::Statement>(4);
    let (diff, valid, stored) = (diff.clone(), valid.clone(), stored.clone());
    let provider_name = provider_name.to_string();
    let building = tokio::task::spawn_blocking(move || {
        let mut sink = |statement| {
            to_writer
                .blocking_send(statement)
                .map_err(|_| DbErr::Custom("the bulk writer stopped".into()))
        };
        build_event_writes(
            backend,
            &diff,
            &valid,
            &stored,
            &provider_name,
            now,
            run_id,
            &mut sink,
        )
    });
    // Moved in, so that a failed statement drops the receiver and the builder stops.
    let written = async move {
        while let Some(statement) = built.recv().await {
            txn.execute_raw(statement).await?;
        }
        Ok::<(), DbErr>(())
    }
    .await;
    let vanished = building
        .await
        .map_err(|e| DbErr::Custom(format!("building the event writes stopped: {e}")));
    // The writer's error comes first: the builder's is then only that the writer stopped.
    written?;
    vanished?
}

/// Stored events the snapshot no longer has, by the reason they are gone.
type Vanished = std::collections::BTreeMap<Option<String>, Vec<String>>;

/// The statements that write a commit's events and their history, handed to `sink` in
/// the order to execute them; returns the vanished events, for the commit to mark.
#[allow(clippy::too_many_arguments)]
fn build_event_writes(
    backend: sea_orm::DbBackend,
    diff: &diff::Diff,
    valid: &[SnapshotEvent],
    stored: &diff::StoredMap,
    provider_name: &str,
    now: chrono::DateTime<Utc>,
    run_id: i32,
    sink: &mut event_writes::StatementSink<'_>,
) -> Result<Vanished, DbErr> {
    let regions =
        crate::store::reference::RegionFinder::new(&crate::store::reference::bundled_airports());
    let mut rows = event_writes::EventWrites::new(backend);
    let mut history: Vec<event_history::ActiveModel> = Vec::new();
    let mut vanished = Vanished::new();
    let write_history = |history: Vec<event_history::ActiveModel>,
                         sink: &mut event_writes::StatementSink<'_>| {
        if history.is_empty() {
            return Ok(());
        }
        sink(event_history::Entity::insert_many(history).build(backend))
    };
    // In id order: each row's entry in the key's index then lands next to the last
    // one, where a provider's order (random ids) would touch a page anywhere in it.
    let mut writes: Vec<&diff::Decision> = diff
        .decisions
        .iter()
        .filter(|d| d.class != Class::Unchanged)
        .collect();
    writes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    for d in writes {
        match d.snapshot_index.map(|i| &valid[i]) {
            Some(e) => {
                let mut row = active_model(e, provider_name, now, run_id);
                if e.region.is_none() {
                    row.region = Set(regions.region(e.lat, e.lon, &e.country, &e.city));
                }
                row.last_class = Set(d.class as i16);
                if d.class == Class::Gone {
                    row.state = Set("gone".into());
                    row.gone_reason = Set(d.gone_reason.clone());
                }
                rows.push(sink, row, stored.get(&e.id))?;
            }
            None => vanished
                .entry(d.gone_reason.clone())
                .or_default()
                .push(d.id.clone()),
        }
        history.push(event_history::ActiveModel {
            event_id: Set(d.id.clone()),
            run_id: Set(run_id),
            class: Set(d.class as i16),
            detail: Set(d.gone_reason.clone().unwrap_or_default()),
            recorded_at: Set(now),
            ..Default::default()
        });
        if history.len() == WRITE_BATCH {
            write_history(std::mem::take(&mut history), sink)?;
        }
    }
    rows.finish(sink)?;
    write_history(history, sink)?;
    Ok(vanished)
}

/// When the last successful run of this events provider started (for incremental syncs).
async fn last_success(
    db: &DatabaseConnection,
    provider: &str,
) -> Result<Option<chrono::DateTime<Utc>>, DbErr> {
    Ok(refresh_run::Entity::find()
        .filter(refresh_run::Column::EventsProvider.eq(provider))
        .filter(refresh_run::Column::Status.eq("succeeded"))
        .order_by_desc(refresh_run::Column::Id)
        .one(db)
        .await?
        .map(|r| r.started_at))
}

/// The refresh, stage by stage: fetch, validate, diff, commit, derive, enrich.
async fn stages(p: &mut Progress<'_>) -> Result<(), StageError> {
    let fetched = fetch(p).await?;
    p.lock.heartbeat(p.db).await?;
    p.lap("fetch", fetched.snapshot.len());

    p.enter("validate", 0, fetched.snapshot.len()).await?;
    let (valid, mut invalid) = validate_all(fetched.snapshot);
    invalid.extend(fetched.invalid);
    p.report.invalid = invalid.len() as i32;
    p.lap("validate", valid.len());

    p.enter("diff", valid.len(), valid.len()).await?;
    let diffed = diff_snapshot(p, valid, fetched.mode).await?;
    p.lap("diff", diffed.valid.len());
    p.record_classes().await?;

    // The last moment to stop with nothing written.
    if p.cancelled().await? {
        return Err(StageError::Cancelled);
    }
    let writes = diffed.writes().count();
    p.at("commit", 0, writes).await?;
    let written = commit(p, &diffed, &invalid).await?;
    p.lap("commit", writes);

    // Still the commit's transaction, which holds the write lock: the run record, written
    // on another connection, keeps saying "commit" until it ends.
    derive(p, written, &diffed, fetched.demo_generation).await?;
    p.lap("derived", writes);

    p.enter("enrich", 0, 0).await?;
    enrich_owed(p, &diffed).await?;
    // The demo feed moves on only once a run has done all it could with this generation: a
    // killed or cancelled run leaves it where it was, like a real provider whose data did
    // not change, so the next run meets the same snapshot and finishes the same work.
    if let Some(g) = fetched.demo_generation {
        state::set_demo_generation(p.db, i64::from(g) + 1).await?;
    }
    Ok(())
}

/// What the fetch stage brings: the snapshot, how to diff it, the records the provider's
/// client refused, and the demo feed's generation when it came from there.
struct Fetched {
    snapshot: Vec<SnapshotEvent>,
    mode: SyncMode,
    invalid: Vec<(String, String)>,
    demo_generation: Option<u32>,
}

/// Fetches a snapshot from the events provider. A provider failure ends the run before
/// anything is written, and so does a cancel (a long paged fetch stops at once).
async fn fetch(p: &mut Progress<'_>) -> Result<Fetched, StageError> {
    let (db, config, run_id) = (p.db, p.config, p.run_id());
    let provider_name = config.providers.events.name();
    match &config.providers.events {
        EventsClient::Demo => {
            if !config.demo_latency.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(config.demo_latency) => {}
                    () = until_cancelled(db, run_id) => return Err(StageError::Cancelled),
                }
            }
            let generation = u32::try_from(state::get(db).await?.demo_generation).unwrap_or(0);
            p.report.calls.events += 1;
            // The demo feed is always complete, whatever the mode.
            Ok(Fetched {
                snapshot: crate::demo::feed::snapshot(generation),
                mode: SyncMode::Full,
                invalid: Vec::new(),
                demo_generation: Some(generation),
            })
        }
        EventsClient::PredictHq(phq) => {
            let since = match config.mode {
                SyncMode::Full => None,
                SyncMode::Incremental => last_success(db, provider_name).await?,
            };
            let today = Utc::now().date_naive();
            let query = crate::providers::predicthq::EventsQuery {
                from: today,
                to: today + chrono::Duration::days(config.window_days.max(1)),
                updated_since: since,
            };
            let before = phq.caller.calls();
            let fetched = tokio::select! {
                fetched = phq.fetch(&query) => Some(fetched),
                () = until_cancelled(db, run_id) => None,
            };
            p.report.calls.events += (phq.caller.calls() - before) as i32;
            let fetched = fetched.ok_or(StageError::Cancelled)??;
            for day in &fetched.capped_days {
                p.report.errors.push(format!(
                    "{provider_name}: more events on {day} than the API pages through; some were not fetched"
                ));
            }
            Ok(Fetched {
                snapshot: fetched.events,
                mode: if since.is_some() {
                    SyncMode::Incremental
                } else {
                    SyncMode::Full
                },
                invalid: fetched.invalid,
                demo_generation: None,
            })
        }
    }
}

/// Sets bad records aside with their reason; they never stop the run.
fn validate_all(snapshot: Vec<SnapshotEvent>) -> (Vec<SnapshotEvent>, Vec<(String, String)>) {
    let mut valid = Vec::with_capacity(snapshot.len());
    let mut invalid = Vec::new();
    for e in snapshot {
        match validate(&e) {
            Ok(()) => valid.push(e),
            Err(reason) => invalid.push((e.id.clone(), reason)),
        }
    }
    (valid, invalid)
}

/// A snapshot diffed against the store, shared with the thread that builds the commit's
/// statements.
struct Diffed {
    diff: Arc<diff::Diff>,
    valid: Arc<Vec<SnapshotEvent>>,
    stored: Arc<diff::StoredMap>,
}

impl Diffed {
    /// The decisions that write an event.
    fn writes(&self) -> impl Iterator<Item = &diff::Decision> {
        self.diff
            .decisions
            .iter()
            .filter(|d| d.class != Class::Unchanged)
    }
}

/// Diffs the valid snapshot against the stored state of this provider's events, and
/// counts the classes into the report.
async fn diff_snapshot(
    p: &mut Progress<'_>,
    valid: Vec<SnapshotEvent>,
    mode: SyncMode,
) -> Result<Diffed, StageError> {
    // An incremental snapshot says nothing of the events it leaves out, so only the stored
    // state of those it names is needed (50,000 rows, not a million).
    let only: Option<Vec<String>> =
        (mode == SyncMode::Incremental).then(|| valid.iter().map(|e| e.id.clone()).collect());
    let provider_name = p.config.providers.events.name();
    let stored = load_stored(p.db, provider_name, only.as_deref()).await?;
    let diff = diff::diff(&stored, &valid, mode, Utc::now().date_naive());
    p.report.classes = ClassCounts {
        unchanged: diff.count(Class::Unchanged) as i32,
        changed: diff.count(Class::Changed) as i32,
        moved: diff.count(Class::Moved) as i32,
        new: diff.count(Class::New) as i32,
        gone: diff.count(Class::Gone) as i32,
    };
    p.report.archived = diff.archived.len() as i32;
    Ok(Diffed {
        diff: Arc::new(diff),
        valid: Arc::new(valid),
        stored: Arc::new(stored),
    })
}

/// Writes the events and the enrichment they need in one transaction, left open for
/// [`derive`] to finish: readers see the old state or the new one, and a crash after it
/// leaves the owed work recorded.
async fn commit(
    p: &Progress<'_>,
    d: &Diffed,
    invalid: &[(String, String)],
) -> Result<Write, StageError> {
    let (run_id, now) = (p.run_id(), Utc::now());
    let provider_name = p.config.providers.events.name();
    let began = std::time::Instant::now();
    let w = Write::events(p.db).await?;
    let txn = w.txn();
    bulk::bulk_write(txn, async {
        record_invalid(txn, run_id, invalid, now).await?;
        // A large load into tables with fewer rows than it adds (the first, above all) goes
        // around their indexes: created again once the rows are in, they cost a sort each.
        let new_events = d.diff.count(Class::New);
        let mut dropped = Vec::new();
        for table in ["events", "event_history", "pending_enrichment"] {
            dropped.extend(bulk::drop_indexes_for_load(txn, table, new_events).await?);
        }
        let vanished = write_events(
            txn,
            &d.diff,
            &d.valid,
            &d.stored,
            provider_name,
            now,
            run_id,
        )
        .await?;
        mark_vanished_and_archived(txn, vanished, &d.diff.archived, now).await?;
        // A refresh rewrites an event with the provider's state; an admin's hiding stands.
        crate::store::moderation::reapply(txn).await?;
        enrich::record_plan(txn, &enrich::plan(&d.diff, &d.valid), run_id).await?;
        bulk::create_indexes(txn, &dropped).await?;
        p.pause().await;
        Ok(())
    })
    .await?;
    tracing::info!(seconds = began.elapsed().as_secs_f64(), "commit written");
    Ok(w)
}

/// Records the snapshot's records set aside, with their reasons.
async fn record_invalid(
    txn: &sea_orm::DatabaseTransaction,
    run_id: i32,
    invalid: &[(String, String)],
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    for (provider_id, reason) in invalid {
        invalid_record::ActiveModel {
            run_id: Set(run_id),
            provider_id: Set(provider_id.chars().take(200).collect()),
            reason: Set(reason.chars().take(1000).collect()),
            recorded_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Marks the stored events the snapshot no longer has as gone, with their reasons, and the
/// events that ended as archived.
async fn mark_vanished_and_archived(
    txn: &sea_orm::DatabaseTransaction,
    vanished: Vanished,
    archived: &[String],
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    for (reason, ids) in vanished {
        for chunk in ids.chunks(WRITE_BATCH) {
            event::Entity::update_many()
                .col_expr(event::Column::State, Expr::value("gone"))
                .col_expr(event::Column::GoneReason, Expr::value(reason.clone()))
                .col_expr(event::Column::LastClass, Expr::value(Class::Gone as i16))
                .col_expr(event::Column::LastChangedAt, Expr::value(now))
                .filter(event::Column::Id.is_in(chunk.to_vec()))
                .exec(txn)
                .await?;
        }
    }
    for chunk in archived.chunks(WRITE_BATCH) {
        event::Entity::update_many()
            .col_expr(event::Column::State, Expr::value("archived"))
            .filter(event::Column::Id.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Recomputes the map's cells and the dashboard's rollups in the commit's transaction and
/// commits it; after a load of many new events (a first load, above all), refreshes the
/// planner's statistics. The run record is written on another connection, so it is left
/// alone while the transaction holds the write lock (SQLite) and its row (PostgreSQL).
async fn derive(
    p: &Progress<'_>,
    mut w: Write,
    d: &Diffed,
    demo_generation: Option<u32>,
) -> Result<(), DbErr> {
    w.derive().await?;
    if let Some(g) = demo_generation {
        // The run says which generation of the demo feed it committed, with the commit.
        refresh_run::Entity::update_many()
            .col_expr(refresh_run::Column::FeedGeneration, Expr::value(g as i32))
            .filter(refresh_run::Column::Id.eq(p.run_id()))
            .exec(w.txn())
            .await?;
    }
    p.pause().await;
    w.commit().await?;
    if d.diff.count(Class::New) >= ANALYZE_AFTER {
        crate::store::derive::analyze(p.db).await?;
    }
    Ok(())
}

/// New events from which a refresh refreshes the planner's statistics.
const ANALYZE_AFTER: usize = 10_000;

/// Enriches what this run owes and whatever earlier runs left, and counts the calls made
/// and saved into the report.
async fn enrich_owed(p: &mut Progress<'_>, d: &Diffed) -> Result<(), StageError> {
    let providers = &p.config.providers;
    let (places_before, flights_before) = (providers.places.calls(), providers.flights.calls());
    let watched = &*p;
    let outcome = enrich::run_pending(
        p.db,
        providers,
        &p.config.flight_origins,
        |done, total| async move {
            let calls = (
                providers.places.calls() - places_before,
                providers.flights.calls() - flights_before,
            );
            watched.record_enrichment((done, total), calls).await
        },
    )
    .await?;
    p.lap(
        "enrich",
        outcome.places_calls as usize + outcome.flights_calls as usize,
    );
    let report = &mut *p.report;
    report.calls.places += outcome.places_calls;
    report.calls.flights += outcome.flights_calls;
    report.deferred = outcome.deferred;
    report.errors.extend(outcome.errors);
    let active = (d.diff.unchanged
        + d.diff
            .decisions
            .iter()
            .filter(|d| d.class != Class::Gone)
            .count()) as i32;
    let full_cost = active * enrich::full_calls_per_event(p.config.flight_origins.len());
    report.calls_saved = (full_cost - outcome.places_calls - outcome.flights_calls).max(0);
    if outcome.cancelled {
        return Err(StageError::Cancelled);
    }
    Ok(())
}

/// id, fingerprint, lat, lon, venue, start, end, state, rank, attendance, category,
/// country.
type StoredRow = (
    String,
    String,
    f64,
    f64,
    String,
    NaiveDate,
    NaiveDate,
    String,
    i32,
    Option<i64>,
    String,
    String,
);

/// The stored state of this provider's events: all of them, or those of `only`.
async fn load_stored(
    db: &DatabaseConnection,
    provider: &str,
    only: Option<&[String]>,
) -> Result<diff::StoredMap, DbErr> {
    let query = || {
        event::Entity::find()
            .select_only()
            .columns([
                event::Column::Id,
                event::Column::Fingerprint,
                event::Column::Lat,
                event::Column::Lon,
                event::Column::VenueName,
                event::Column::StartDate,
                event::Column::EndDate,
                event::Column::State,
                event::Column::Rank,
                event::Column::Attendance,
                event::Column::Category,
                event::Column::Country,
            ])
            .filter(event::Column::Provider.eq(provider))
    };
    let rows: Vec<StoredRow> = match only {
        None => query().into_tuple().all(db).await?,
        Some(ids) => {
            let mut rows = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                rows.extend(
                    query()
                        .filter(event::Column::Id.is_in(chunk.to_vec()))
                        .into_tuple::<StoredRow>()
                        .all(db)
                        .await?,
                );
            }
            rows
        }
    };
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                fingerprint,
                lat,
                lon,
                venue_name,
                start,
                end,
                state,
                rank,
                attendance,
                category,
                country,
            )| {
                (
                    id,
                    StoredEvent {
                        // An unreadable fingerprint differs from every real one: `changed`.
                        fingerprint: u64::from_str_radix(&fingerprint, 16).unwrap_or(0),
                        lat,
                        lon,
                        venue: diff::text_hash(&venue_name),
                        start,
                        end,
                        state: StoredState::parse(&state),
                        rank,
                        attendance,
                        category: diff::text_hash(&category),
                        country: diff::text_hash(&country),
                        seen: std::sync::atomic::AtomicBool::new(false),
                    },
                )
            },
        )
        .collect())
}

/// The stored row for a snapshot event (also used by the synthetic generator).
pub fn active_model(
    e: &SnapshotEvent,
    provider: &str,
    now: chrono::DateTime<Utc>,
    run_id: i32,
) -> event::ActiveModel {
    let (gone_reason, duplicate_of) = match &e.state {
        ProviderState::Active => (None, None),
        ProviderState::Deleted {
            reason,
            duplicate_of,
        } => (Some(reason.clone()), duplicate_of.clone()),
    };
    event::ActiveModel {
        id: Set(e.id.clone()),
        provider: Set(provider.into()),
        title: Set(e.title.clone()),
        description: Set(e.description.clone()),
        category: Set(e.category.clone()),
        labels: Set(serde_json::to_string(&e.labels).unwrap_or_else(|_| "[]".into())),
        rank: Set(e.rank),
        local_rank: Set(e.local_rank),
        attendance: Set(e.attendance),
        spend_usd: Set(e.spend_usd),
        start_date: Set(e.start),
        end_date: Set(e.end),
        timezone: Set(e.timezone.clone()),
        venue_name: Set(e.venue_name.clone()),
        address: Set(e.address.clone()),
        city: Set(e.city.clone()),
        country: Set(e.country.clone()),
        lat: Set(e.lat),
        lon: Set(e.lon),
        state: Set("active".into()),
        gone_reason: Set(gone_reason),
        duplicate_of: Set(duplicate_of),
        fingerprint: Set(e.fingerprint_hex()),
        last_class: Set(0),
        provider_updated: Set(e.updated),
        first_seen_at: Set(now),
        last_changed_at: Set(now),
        last_run_id: Set(Some(run_id)),
        demo: Set(provider == "demo"),
        starts_at: Set(e.starts_at.map(|t| t.to_rfc3339())),
        ends_at: Set(e.ends_at.map(|t| t.to_rfc3339())),
        impact: Set(
            (!e.impact.is_empty()).then(|| serde_json::to_string(&e.impact).unwrap_or_default())
        ),
        spend_industries: Set(e
            .spend_industries
            .as_ref()
            .and_then(|s| serde_json::to_string(s).ok())),
        region: Set(e.region.clone()),
    }
}

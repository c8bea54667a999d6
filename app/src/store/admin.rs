//! What the admin page and the runs API read: refresh runs and the events of each class,
//! provider status, and the audit log (one query each, for the page and the API alike).

use super::entities::{audit_log, event, event_history, provider_status, refresh_run};
use super::events::Class;
use crate::providers::Providers;
use crate::types::{AuditEntry, ProviderInfo, RunCalls, RunClasses, RunEvent, RunEvents, RunInfo};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The most runs one request lists.
pub const MAX_RUNS: u64 = 100;
/// Events per page of a run's class.
pub const RUN_EVENTS_PER_PAGE: u64 = 100;

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn run_info(m: refresh_run::Model) -> RunInfo {
    RunInfo {
        id: m.id,
        mode: m.mode,
        status: m.status,
        stage: m.stage,
        progress_done: m.progress_done,
        progress_total: m.progress_total,
        events_provider: m.events_provider,
        triggered_by: m.triggered_by,
        started_at: time(m.started_at),
        finished_at: m.finished_at.map(time),
        duration_seconds: m
            .finished_at
            .map(|f| (f - m.started_at).num_milliseconds() as f64 / 1000.0),
        classes: RunClasses {
            unchanged: m.unchanged,
            changed: m.changed,
            moved: m.moved,
            new: m.new,
            gone: m.gone,
        },
        calls: RunCalls {
            events: m.calls_events,
            places: m.calls_places,
            flights: m.calls_flights,
        },
        calls_saved: m.calls_saved,
        deferred: m.deferred,
        archived: m.archived,
        invalid: m.invalid,
        errors: serde_json::from_str(&m.errors).unwrap_or_default(),
        cancel_requested: m.cancel_requested,
    }
}

/// The latest runs, newest first; `before` pages back from a run id.
pub async fn runs<C: ConnectionTrait>(
    db: &C,
    limit: u64,
    before: Option<i32>,
) -> Result<Vec<RunInfo>, DbErr> {
    let mut q = refresh_run::Entity::find().order_by_desc(refresh_run::Column::Id);
    if let Some(b) = before {
        q = q.filter(refresh_run::Column::Id.lt(b));
    }
    Ok(q.limit(limit.clamp(1, MAX_RUNS))
        .all(db)
        .await?
        .into_iter()
        .map(run_info)
        .collect())
}

pub async fn run<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<RunInfo>, DbErr> {
    Ok(refresh_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(run_info))
}

/// The run in progress, if any process is running one.
pub async fn running<C: ConnectionTrait>(db: &C) -> Result<Option<RunInfo>, DbErr> {
    Ok(refresh_run::Entity::find()
        .filter(refresh_run::Column::Status.eq("running"))
        .order_by_desc(refresh_run::Column::Id)
        .one(db)
        .await?
        .map(run_info))
}

/// A diff class by its name (`changed`, `moved`, `new`, `gone`; `unchanged` is counted
/// but not listed: a run records history only for events it changed).
pub fn class_by_name(name: &str) -> Option<Class> {
    [
        Class::Unchanged,
        Class::Changed,
        Class::Moved,
        Class::New,
        Class::Gone,
    ]
    .into_iter()
    .find(|c| c.name() == name)
}

/// One page (from 1) of the events a run put in a class, by id.
pub async fn run_events<C: ConnectionTrait>(
    db: &C,
    run_id: i32,
    class: Class,
    page: u64,
) -> Result<RunEvents, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let page = Ord::max(page, 1);
    let total = event_history::Entity::find()
        .filter(event_history::Column::RunId.eq(run_id))
        .filter(event_history::Column::Class.eq(class as i16))
        .count(db)
        .await?;
    let q = Query::select()
        .expr(Expr::col((
            event_history::Entity,
            event_history::Column::EventId,
        )))
        .expr(Expr::col((
            event_history::Entity,
            event_history::Column::Detail,
        )))
        .expr(Expr::col((event::Entity, event::Column::Title)))
        .expr(Expr::col((event::Entity, event::Column::City)))
        .expr(Expr::col((event::Entity, event::Column::Country)))
        .expr(Expr::col((event::Entity, event::Column::State)))
        .from(event_history::Entity)
        .left_join(
            event::Entity,
            Expr::col((event::Entity, event::Column::Id))
                .equals((event_history::Entity, event_history::Column::EventId)),
        )
        .and_where(Expr::col((event_history::Entity, event_history::Column::RunId)).eq(run_id))
        .and_where(
            Expr::col((event_history::Entity, event_history::Column::Class)).eq(class as i16),
        )
        .order_by(
            (event_history::Entity, event_history::Column::EventId),
            sea_orm::Order::Asc,
        )
        .limit(RUN_EVENTS_PER_PAGE)
        .offset((page - 1) * RUN_EVENTS_PER_PAGE)
        .to_owned();
    let rows = db.query_all(&q).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(RunEvent {
            id: r.try_get_by_index(0)?,
            detail: r.try_get_by_index(1)?,
            title: r.try_get_by_index::<Option<String>>(2)?.unwrap_or_default(),
            city: r.try_get_by_index::<Option<String>>(3)?.unwrap_or_default(),
            country: r.try_get_by_index::<Option<String>>(4)?.unwrap_or_default(),
            state: r.try_get_by_index::<Option<String>>(5)?.unwrap_or_default(),
        });
    }
    Ok(RunEvents {
        class: class.name().into(),
        total,
        page,
        per_page: RUN_EVENTS_PER_PAGE,
        items,
    })
}

/// The `provider_status` row of a role's provider.
pub fn provider_status_key(role: &str, name: &str) -> String {
    format!("{role}:{name}")
}

/// Every role's provider: configured or demo, keys, today's calls against the budget, and
/// its last error and success.
pub async fn providers<C: ConnectionTrait>(
    db: &C,
    providers: &Providers,
) -> Result<Vec<ProviderInfo>, DbErr> {
    let today = Utc::now().date_naive();
    let mut out = Vec::new();
    for (role, name, caller) in providers.roles() {
        let status = provider_status::Entity::find_by_id(provider_status_key(role, name))
            .one(db)
            .await?;
        let calls_today = match caller {
            Some(_) => super::usage::usage(db, name, today).await?,
            None => 0,
        };
        out.push(ProviderInfo {
            role: role.into(),
            name: name.into(),
            demo: caller.is_none(),
            configured: caller.is_some(),
            keys: caller.map_or(0, |c| c.key_count() as u32),
            daily_budget: caller.map_or(0, |c| c.daily_budget()),
            calls_today,
            last_error: status.as_ref().and_then(|s| s.last_error.clone()),
            last_error_at: status.as_ref().and_then(|s| s.last_error_at).map(time),
            last_success_run: status.as_ref().and_then(|s| s.last_success_run),
            last_success_at: status.as_ref().and_then(|s| s.last_success_at).map(time),
        });
    }
    Ok(out)
}

/// Records an admin action. `target` and `detail` are cut to sensible lengths.
pub async fn audit<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    address: &str,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor: Set(actor.chars().take(100).collect()),
        action: Set(action.into()),
        target: Set(target.chars().take(200).collect()),
        detail: Set(detail.chars().take(1000).collect()),
        address: Set(address.chars().take(100).collect()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The latest admin actions, newest first.
pub async fn audit_log<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<AuditEntry>, DbErr> {
    Ok(audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|a| AuditEntry {
            at: time(a.at),
            actor: a.actor,
            action: a.action,
            target: a.target,
            detail: a.detail,
        })
        .collect())
}

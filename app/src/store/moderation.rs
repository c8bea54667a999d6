//! Event moderation: an admin hides an event from travellers, with a reason, and may show
//! it again. The reason lives in `event_moderation`; the event's state becomes `hidden`, so
//! every traveller query (which reads only `active` events) leaves it out at no cost, and
//! the map cells and dashboard rollups are recomputed without it in the same transaction
//! (`store::write`).

use super::entities::{event, event_moderation};
use crate::types::HiddenEvent;
use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

/// Why a moderation request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error("no event with id `{0}`")]
    NoSuchEvent(String),
    #[error("a reason is required to hide an event")]
    ReasonRequired,
    #[error("the reason is longer than {MAX_REASON} characters")]
    ReasonTooLong,
    #[error("event `{0}` is not hidden")]
    NotHidden(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Marks every moderated event that a write made active again as hidden. Runs inside the
/// refresh's commit transaction, so readers never see a hidden event come back.
pub async fn reapply<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    let r = event::Entity::update_many()
        .col_expr(event::Column::State, Expr::value("hidden"))
        .filter(event::Column::State.eq("active"))
        .filter(
            event::Column::Id.in_subquery(
                Query::select()
                    .column(event_moderation::Column::EventId)
                    .from(event_moderation::Entity)
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Hides an event (again, with a new reason, if already hidden) and records it in the
/// audit log in the same transaction. Answers its title.
pub async fn hide(
    db: &DatabaseConnection,
    event_id: &str,
    reason: &str,
    by: &str,
    address: &str,
) -> Result<String, ModerationError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ModerationError::ReasonRequired);
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ModerationError::ReasonTooLong);
    }
    let w = super::write::Write::events(db).await?;
    let txn = w.txn();
    event_moderation::Entity::insert(event_moderation::ActiveModel {
        event_id: Set(event_id.to_string()),
        reason: Set(reason.into()),
        hidden_by: Set(by.into()),
        hidden_at: Set(Utc::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(event_moderation::Column::EventId)
            .update_columns([
                event_moderation::Column::Reason,
                event_moderation::Column::HiddenBy,
                event_moderation::Column::HiddenAt,
            ])
            .to_owned(),
    )
    .exec(txn)
    .await?;
    let Some(ev) = event::Entity::find_by_id(event_id.to_string())
        .one(txn)
        .await?
    else {
        // Dropping the transaction rolls the row back.
        return Err(ModerationError::NoSuchEvent(event_id.into()));
    };
    reapply(txn).await?;
    super::admin::audit(txn, by, "event_hide", &ev.id, reason, address).await?;
    w.commit().await?;
    Ok(ev.title)
}

/// Shows a hidden event to travellers again (unless the provider has since ended it), and
/// records it in the audit log in the same transaction.
pub async fn show(
    db: &DatabaseConnection,
    event_id: &str,
    by: &str,
    address: &str,
) -> Result<String, ModerationError> {
    let w = super::write::Write::events(db).await?;
    let txn = w.txn();
    let removed = event_moderation::Entity::delete_by_id(event_id.to_string())
        .exec(txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ModerationError::NotHidden(event_id.into()));
    }
    let title = event::Entity::find_by_id(event_id.to_string())
        .one(txn)
        .await?
        .map(|e| e.title)
        .unwrap_or_default();
    event::Entity::update_many()
        .col_expr(event::Column::State, Expr::value("active"))
        .filter(event::Column::Id.eq(event_id))
        .filter(event::Column::State.eq("hidden"))
        .exec(txn)
        .await?;
    super::admin::audit(txn, by, "event_show", event_id, "", address).await?;
    w.commit().await?;
    Ok(title)
}

/// Hidden events, most recently hidden first.
pub async fn hidden(db: &DatabaseConnection, limit: u64) -> Result<Vec<HiddenEvent>, DbErr> {
    let rows = event_moderation::Entity::find()
        .order_by_desc(event_moderation::Column::HiddenAt)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
    let titles: std::collections::HashMap<String, String> = event::Entity::find()
        .select_only()
        .columns([event::Column::Id, event::Column::Title])
        .filter(event::Column::Id.is_in(ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| HiddenEvent {
            title: titles.get(&r.event_id).cloned().unwrap_or_default(),
            id: r.event_id,
            reason: r.reason,
            hidden_by: r.hidden_by,
            hidden_at: r
                .hidden_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect())
}

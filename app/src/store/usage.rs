//! Calls made to each provider per UTC day, shared by every process on the store: the
//! daily budgets are checked against it, and the admin page shows it.

use super::entities::provider_usage;
use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};

/// Calls made to a provider on one UTC day, from the store.
pub async fn usage<C: sea_orm::ConnectionTrait>(
    db: &C,
    provider: &str,
    day: NaiveDate,
) -> Result<u32, DbErr> {
    Ok(
        provider_usage::Entity::find_by_id((provider.to_string(), day))
            .one(db)
            .await?
            .map_or(0, |u| u.calls.max(0) as u32),
    )
}

/// Adds the calls a caller made since it last recorded them to the day's count, which
/// every process on the store shares: refreshes and on-demand lookups alike.
pub async fn record_usage(
    db: &DatabaseConnection,
    caller: &crate::providers::policy::Caller,
    day: NaiveDate,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let provider = caller.provider;
    let calls = caller.take_unrecorded();
    if calls == 0 {
        return Ok(());
    }
    provider_usage::Entity::insert(provider_usage::ActiveModel {
        provider: Set(provider.to_string()),
        day: Set(day),
        calls: Set(calls as i32),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            provider_usage::Column::Provider,
            provider_usage::Column::Day,
        ])
        .value(
            provider_usage::Column::Calls,
            Expr::col((provider_usage::Entity, provider_usage::Column::Calls)).add(calls as i32),
        )
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

//! The dashboard's numbers: one SQL aggregation per chart over the same event filter as the
//! map and the list, shared by the dashboard page and `GET /api/v1/stats/{name}`. Nothing
//! here loads events into the web process to count them.

use super::entities::{country, event};
use super::events::{filter_condition, summary, QueryError};
use crate::filter::EventFilter;
use crate::types::{CountBy, DashboardCards, RankPoint, SpendRow, TimelineRow};
use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Countries shown in the "top countries" chart.
pub const TOP_COUNTRIES: u64 = 20;
/// Points in the rank/attendance scatter (the highest ranked).
pub const MAX_SCATTER: u64 = 2000;
/// Events on each dashboard card.
pub const CARD_SIZE: u64 = 5;

/// Events per value of a column (an empty string for no value), most first, then by
/// value; at most `limit` values. The dashboard's bars and the country page's breakdowns.
pub async fn count_by(
    db: &DatabaseConnection,
    f: &EventFilter,
    col: event::Column,
    limit: Option<u64>,
) -> Result<Vec<(String, u64)>, QueryError> {
    let mut q = event::Entity::find()
        .select_only()
        .column(col)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(filter_condition(f)?)
        .group_by(col)
        .order_by(Expr::cust("n"), Order::Desc)
        .order_by(col, Order::Asc);
    if let Some(l) = limit {
        q = q.limit(l);
    }
    let rows: Vec<(Option<String>, i64)> = q.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(v, n)| (v.unwrap_or_default(), n.max(0) as u64))
        .collect())
}

/// English country names for ISO codes.
async fn country_names(
    db: &DatabaseConnection,
    codes: Vec<String>,
) -> Result<std::collections::HashMap<String, String>, QueryError> {
    Ok(country::Entity::find()
        .filter(country::Column::Iso2.is_in(codes))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.iso2, c.name_en))
        .collect())
}

/// Events per category, most first.
pub async fn categories(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<CountBy>, QueryError> {
    Ok(count_by(db, f, event::Column::Category, None)
        .await?
        .into_iter()
        .map(|(key, count)| CountBy {
            label: key.clone(),
            key,
            count,
        })
        .collect())
}

/// The countries with the most events (at most [`TOP_COUNTRIES`]), with their English names.
pub async fn countries(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<CountBy>, QueryError> {
    let rows = count_by(db, f, event::Column::Country, Some(TOP_COUNTRIES)).await?;
    let names = country_names(db, rows.iter().map(|(c, _)| c.clone()).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|(key, count)| CountBy {
            label: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
            key,
            count,
        })
        .collect())
}

/// The SQL for one industry's share of the predicted spend (stored as JSON per event).
fn industry_sql(backend: DbBackend, industry: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!(r#"COALESCE(SUM((("spend_industries")::json ->> '{industry}')::bigint), 0)"#)
        }
        _ => format!(
            r#"COALESCE(SUM(CAST(json_extract("spend_industries", '$.{industry}') AS INTEGER)), 0)"#
        ),
    }
}

/// Predicted event spend per country (the [`TOP_COUNTRIES`] largest), split by industry
/// where the provider gives the split; US dollars.
pub async fn spend(db: &DatabaseConnection, f: &EventFilter) -> Result<Vec<SpendRow>, QueryError> {
    let backend = db.get_database_backend();
    let rows: Vec<(String, i64, i64, i64, i64)> = event::Entity::find()
        .select_only()
        .column(event::Column::Country)
        .column_as(
            Expr::cust(r#"CAST(COALESCE(SUM("spend_usd"), 0) AS BIGINT)"#),
            "total",
        )
        .column_as(
            Expr::cust(format!(
                "CAST({} AS BIGINT)",
                industry_sql(backend, "accommodation")
            )),
            "accommodation",
        )
        .column_as(
            Expr::cust(format!(
                "CAST({} AS BIGINT)",
                industry_sql(backend, "hospitality")
            )),
            "hospitality",
        )
        .column_as(
            Expr::cust(format!(
                "CAST({} AS BIGINT)",
                industry_sql(backend, "transportation")
            )),
            "transportation",
        )
        .filter(filter_condition(f)?)
        .filter(event::Column::SpendUsd.is_not_null())
        .group_by(event::Column::Country)
        .order_by(Expr::cust("total"), Order::Desc)
        .order_by(event::Column::Country, Order::Asc)
        .limit(TOP_COUNTRIES)
        .into_tuple()
        .all(db)
        .await?;
    let names = country_names(db, rows.iter().map(|r| r.0.clone()).collect()).await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, total, accommodation, hospitality, transportation)| SpendRow {
                label: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
                key,
                total,
                accommodation,
                hospitality,
                transportation,
            },
        )
        .collect())
}

/// How the timeline groups events by their start date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// `YYYY-MM`.
    Month,
    /// The Monday that starts the week, `YYYY-MM-DD`.
    Week,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "month" => Some(Period::Month),
            "week" => Some(Period::Week),
            _ => None,
        }
    }

    fn sql(self, backend: DbBackend) -> &'static str {
        match (self, backend) {
            (Period::Month, DbBackend::Postgres) => r#"to_char("start_date", 'YYYY-MM')"#,
            (Period::Week, DbBackend::Postgres) => {
                r#"to_char(date_trunc('week', "start_date"), 'YYYY-MM-DD')"#
            }
            (Period::Month, _) => r#"strftime('%Y-%m', "start_date")"#,
            (Period::Week, _) => {
                r#"date("start_date", '-' || ((CAST(strftime('%w', "start_date") AS INTEGER) + 6) % 7) || ' days')"#
            }
        }
    }
}

/// Events per period of their start date and category, in time order.
pub async fn timeline(
    db: &DatabaseConnection,
    f: &EventFilter,
    period: Period,
) -> Result<Vec<TimelineRow>, QueryError> {
    let rows: Vec<(String, String, i64)> = event::Entity::find()
        .select_only()
        .column_as(Expr::cust(period.sql(db.get_database_backend())), "period")
        .column(event::Column::Category)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(filter_condition(f)?)
        .group_by(Expr::cust("period"))
        .group_by(event::Column::Category)
        .order_by(Expr::cust("period"), Order::Asc)
        .order_by(event::Column::Category, Order::Asc)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(period, category, n)| TimelineRow {
            period,
            category,
            count: n.max(0) as u64,
        })
        .collect())
}

/// Rank against predicted attendance for the highest-ranked events that give one.
pub async fn rank_attendance(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<RankPoint>, QueryError> {
    let rows: Vec<(String, String, String, i32, i64)> = event::Entity::find()
        .select_only()
        .columns([
            event::Column::Id,
            event::Column::Title,
            event::Column::Category,
        ])
        .column(event::Column::Rank)
        .column(event::Column::Attendance)
        .filter(filter_condition(f)?)
        .filter(event::Column::Attendance.is_not_null())
        .order_by(event::Column::Rank, Order::Desc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(MAX_SCATTER)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, category, rank, attendance)| RankPoint {
            id,
            title,
            category,
            rank,
            attendance,
        })
        .collect())
}

/// The cards: top events by rank and by attendance, and, of those not yet over on
/// `today`, the ones starting soonest and the ones ending soonest.
pub async fn cards(
    db: &DatabaseConnection,
    f: &EventFilter,
    today: NaiveDate,
) -> Result<DashboardCards, QueryError> {
    let cond = filter_condition(f)?;
    let upcoming = cond.clone().add(event::Column::EndDate.gte(today));
    let pick = |c: sea_orm::Condition, col: event::Column, order: Order| {
        event::Entity::find()
            .filter(c)
            .order_by(col, order)
            .order_by(event::Column::Id, Order::Asc)
            .limit(CARD_SIZE)
            .all(db)
    };
    let top_rank = pick(cond.clone(), event::Column::Rank, Order::Desc).await?;
    let top_attendance = pick(
        cond.add(event::Column::Attendance.is_not_null()),
        event::Column::Attendance,
        Order::Desc,
    )
    .await?;
    let starting = pick(
        upcoming.clone().add(event::Column::StartDate.gte(today)),
        event::Column::StartDate,
        Order::Asc,
    )
    .await?;
    let ending = pick(upcoming, event::Column::EndDate, Order::Asc).await?;
    let list = |rows: Vec<event::Model>| rows.iter().map(summary).collect();
    Ok(DashboardCards {
        top_rank: list(top_rank),
        top_attendance: list(top_attendance),
        starting_soon: list(starting),
        ending_soon: list(ending),
    })
}

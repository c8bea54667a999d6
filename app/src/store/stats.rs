//! The dashboard's numbers: one SQL aggregation per chart over the same event filter as the
//! map and the list, shared by the dashboard page and `GET /api/v1/stats/{name}`. Nothing
//! here loads events into the web process to count them.

use super::entities::{
    airport, country, event, event_airport, flight_offer, stats_rollup, visitor_rollup,
};
use super::events::{filter_condition, summary, QueryError};
use crate::filter::EventFilter;
use crate::types::{
    CountBy, DashboardCards, FareRow, Fares, RankPoint, SpendRow, TimelineRow, VisitorDay,
};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, JoinType, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};
use std::collections::BTreeMap;

/// Countries shown in the "top countries" chart.
pub const TOP_COUNTRIES: u64 = 20;
/// Points in the rank/attendance scatter (the highest ranked).
pub const MAX_SCATTER: u64 = 2000;
/// Events on each dashboard card.
pub const CARD_SIZE: u64 = 5;
/// From this many matching events on, a card walks the index of its order (see [`cards`]):
/// at a million events such a walk reads a few thousand index entries at most.
const BROAD_FILTER: u64 = 1000;

/// Whether the rollups answer this filter: nothing but categories and countries.
pub fn uses_rollups(f: &EventFilter) -> bool {
    f.only_kind_and_place() && f.bbox.is_none()
}

/// The categories and countries of a filter as a condition on a rollup's own category and
/// country columns.
fn rollup_condition<C: ColumnTrait>(
    f: &EventFilter,
    category: C,
    country: C,
) -> sea_orm::Condition {
    let mut c = sea_orm::Condition::all();
    if !f.categories.is_empty() {
        c = c.add(category.is_in(f.categories.clone()));
    }
    if !f.countries.is_empty() {
        c = c.add(country.is_in(f.countries.clone()));
    }
    c
}

/// [`rollup_condition`] on `stats_rollup`.
fn stats_condition(f: &EventFilter) -> sea_orm::Condition {
    rollup_condition(
        f,
        stats_rollup::Column::Category,
        stats_rollup::Column::Country,
    )
}

/// [`rollup_condition`] on `visitor_rollup`.
fn visitor_condition(f: &EventFilter) -> sea_orm::Condition {
    rollup_condition(
        f,
        visitor_rollup::Column::Category,
        visitor_rollup::Column::Country,
    )
}

/// Events per value of a column (an empty string for no value), most first, then by
/// value; at most `limit` values. The dashboard's bars and the country page's breakdowns.
pub async fn count_by(
    db: &DatabaseConnection,
    f: &EventFilter,
    col: event::Column,
    limit: Option<u64>,
) -> Result<Vec<(String, u64)>, QueryError> {
    let stored = match col {
        event::Column::Category => Some(stats_rollup::Column::Category),
        event::Column::Country => Some(stats_rollup::Column::Country),
        _ => None,
    };
    if let Some(stored) = stored {
        if uses_rollups(f) {
            let mut q = stats_rollup::Entity::find()
                .select_only()
                .column(stored)
                .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "n")
                .filter(stats_condition(f))
                .group_by(stored)
                .order_by(Expr::cust("n"), Order::Desc)
                .order_by(stored, Order::Asc);
            if let Some(l) = limit {
                q = q.limit(l);
            }
            let rows: Vec<(String, i64)> = q.into_tuple().all(db).await?;
            return Ok(rows
                .into_iter()
                .map(|(v, n)| (v, n.max(0) as u64))
                .collect());
        }
    }
    let mut q = event::Entity::find()
        .select_only()
        .column(col)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(filter_condition(f, db.get_database_backend())?)
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

/// The SQL for one event's share of its predicted spend in one industry (stored as JSON
/// per event).
pub(crate) fn industry_sql(backend: DbBackend, industry: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(r#"(("spend_industries")::json ->> '{industry}')::bigint"#),
        _ => format!(r#"CAST(json_extract("spend_industries", '$.{industry}') AS INTEGER)"#),
    }
}

/// Predicted event spend per country (the [`TOP_COUNTRIES`] largest), split by industry
/// where the provider gives the split; US dollars.
pub async fn spend(db: &DatabaseConnection, f: &EventFilter) -> Result<Vec<SpendRow>, QueryError> {
    let rows = if uses_rollups(f) {
        stats_rollup::Entity::find()
            .select_only()
            .column(stats_rollup::Column::Country)
            .column_as(Expr::cust("CAST(SUM(spend_total) AS BIGINT)"), "total")
            .column_as(
                Expr::cust("CAST(SUM(spend_accommodation) AS BIGINT)"),
                "accommodation",
            )
            .column_as(
                Expr::cust("CAST(SUM(spend_hospitality) AS BIGINT)"),
                "hospitality",
            )
            .column_as(
                Expr::cust("CAST(SUM(spend_transportation) AS BIGINT)"),
                "transportation",
            )
            .filter(stats_condition(f))
            .group_by(stats_rollup::Column::Country)
            .having(Expr::cust("SUM(spend_events) > 0"))
            .order_by(Expr::cust("total"), Order::Desc)
            .order_by(stats_rollup::Column::Country, Order::Asc)
            .limit(TOP_COUNTRIES)
            .into_tuple()
            .all(db)
            .await?
    } else {
        spend_live(db, f).await?
    };
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

/// [`spend`] counted from the events themselves.
async fn spend_live(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<(String, i64, i64, i64, i64)>, QueryError> {
    let backend = db.get_database_backend();
    Ok(event::Entity::find()
        .select_only()
        .column(event::Column::Country)
        .column_as(
            Expr::cust(r#"CAST(COALESCE(SUM("spend_usd"), 0) AS BIGINT)"#),
            "total",
        )
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM({}), 0) AS BIGINT)",
                industry_sql(backend, "accommodation")
            )),
            "accommodation",
        )
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM({}), 0) AS BIGINT)",
                industry_sql(backend, "hospitality")
            )),
            "hospitality",
        )
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM({}), 0) AS BIGINT)",
                industry_sql(backend, "transportation")
            )),
            "transportation",
        )
        .filter(filter_condition(f, db.get_database_backend())?)
        .filter(event::Column::SpendUsd.is_not_null())
        .group_by(event::Column::Country)
        .order_by(Expr::cust("total"), Order::Desc)
        .order_by(event::Column::Country, Order::Asc)
        .limit(TOP_COUNTRIES)
        .into_tuple()
        .all(db)
        .await?)
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

    pub(crate) fn sql(self, backend: DbBackend) -> &'static str {
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
    let rows: Vec<(String, String, i64)> = if uses_rollups(f) {
        let col = match period {
            Period::Month => stats_rollup::Column::Month,
            Period::Week => stats_rollup::Column::Week,
        };
        stats_rollup::Entity::find()
            .select_only()
            .column_as(col, "period")
            .column(stats_rollup::Column::Category)
            .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "n")
            .filter(stats_condition(f))
            .group_by(col)
            .group_by(stats_rollup::Column::Category)
            .order_by(col, Order::Asc)
            .order_by(stats_rollup::Column::Category, Order::Asc)
            .into_tuple()
            .all(db)
            .await?
    } else {
        event::Entity::find()
            .select_only()
            .column_as(Expr::cust(period.sql(db.get_database_backend())), "period")
            .column(event::Column::Category)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(filter_condition(f, db.get_database_backend())?)
            .group_by(Expr::cust("period"))
            .group_by(event::Column::Category)
            .order_by(Expr::cust("period"), Order::Asc)
            .order_by(event::Column::Category, Order::Asc)
            .into_tuple()
            .all(db)
            .await?
    };
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
    let rows = point_columns()
        .filter(filter_condition(f, db.get_database_backend())?)
        .filter(event::Column::Attendance.is_not_null())
        .order_by(event::Column::Rank, Order::Desc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(MAX_SCATTER)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rank_points(rows))
}

/// The columns of a scatter point.
fn point_columns() -> sea_orm::Select<event::Entity> {
    event::Entity::find()
        .select_only()
        .columns([
            event::Column::Id,
            event::Column::Title,
            event::Column::Category,
        ])
        .column(event::Column::Rank)
        .column(event::Column::Attendance)
}

fn rank_points(rows: Vec<(String, String, String, i32, i64)>) -> Vec<RankPoint> {
    rows.into_iter()
        .map(|(id, title, category, rank, attendance)| RankPoint {
            id,
            title,
            category,
            rank,
            attendance,
        })
        .collect()
}

/// The cards: top events by rank and by attendance, and, of those not yet over on
/// `today`, the ones starting soonest (from today, or from the filter's first day when
/// that is later) and the ones ending soonest.
pub async fn cards(
    db: &DatabaseConnection,
    f: &EventFilter,
    today: NaiveDate,
) -> Result<DashboardCards, QueryError> {
    let cond = filter_condition(f, db.get_database_backend())?;
    // Upcoming: ending on or after today, or after the filter's own first day if later,
    // as one bound on the end date, so that a walk of the end index starts there.
    let today_text = today.format("%Y-%m-%d").to_string();
    let ending_from = match &f.from {
        Some(from) if *from > today_text => from.clone(),
        _ => today_text,
    };
    let upcoming = filter_condition(
        &EventFilter {
            from: Some(ending_from.clone()),
            ..f.clone()
        },
        db.get_database_backend(),
    )?;
    // Starting soonest: events that start on or after today and, when the filter's first
    // day is later, on or after that day (one that began before it is under way, not
    // starting); one bound on the start date, so that a walk of the start index starts there.
    let starting_from = NaiveDate::parse_from_str(&ending_from, "%Y-%m-%d").unwrap_or(today);
    // When the filter matches many events, walking the index of each card's order finds
    // its five in a few thousand rows; SQLite's planner would rather take a range of the
    // filter (say every rank over 60) and sort it. So on SQLite a broad filter names the
    // order's index; a narrow one (or PostgreSQL, which weighs this itself) is left to the
    // planner.
    let matching: u64 = count_by(db, f, event::Column::Category, None)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let backend = db.get_database_backend();
    let force_order_index = backend == DbBackend::Sqlite && matching >= BROAD_FILTER;
    let pick = |c: sea_orm::Condition, col: event::Column, order: Order, index: &'static str| {
        let q = event::Entity::find()
            .filter(c)
            .order_by(col, order)
            .order_by(event::Column::Id, Order::Asc)
            .limit(CARD_SIZE);
        async move {
            if force_order_index {
                let mut stmt = q.build(backend);
                stmt.sql = stmt.sql.replacen(
                    r#"FROM "events""#,
                    &format!(r#"FROM "events" INDEXED BY "{index}""#),
                    1,
                );
                event::Entity::find().from_raw_sql(stmt).all(db).await
            } else {
                q.all(db).await
            }
        }
    };
    let top_rank = pick(
        cond.clone(),
        event::Column::Rank,
        Order::Desc,
        "idx_events_card_rank",
    )
    .await?;
    let top_attendance = pick(
        cond.add(event::Column::Attendance.is_not_null()),
        event::Column::Attendance,
        Order::Desc,
        "idx_events_card_attendance",
    )
    .await?;
    let starting = pick(
        upcoming
            .clone()
            .add(event::Column::StartDate.gte(starting_from)),
        event::Column::StartDate,
        Order::Asc,
        "idx_events_card_start",
    )
    .await?;
    let ending = pick(
        upcoming,
        event::Column::EndDate,
        Order::Asc,
        "idx_events_card_end",
    )
    .await?;
    let list = |rows: Vec<event::Model>| rows.iter().map(summary).collect();
    Ok(DashboardCards {
        top_rank: list(top_rank),
        top_attendance: list(top_attendance),
        starting_soon: list(starting),
        ending_soon: list(ending),
    })
}

/// Expected visitors per local day: the provider's day-by-day visitors (its impact
/// pattern) summed over the filtered events that give one, within the filter's dates.
pub async fn visitors(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<VisitorDay>, QueryError> {
    let rows: Vec<(String, i64)> = if uses_rollups(f) {
        visitor_rollup::Entity::find()
            .select_only()
            .column(visitor_rollup::Column::Day)
            .column_as(Expr::cust("CAST(SUM(visitors) AS BIGINT)"), "visitors")
            .filter(visitor_condition(f))
            .group_by(visitor_rollup::Column::Day)
            .order_by(visitor_rollup::Column::Day, Order::Asc)
            .into_tuple()
            .all(db)
            .await?
    } else {
        visitors_live(db, f).await?
    };
    let within = |d: &str| {
        f.from.as_deref().is_none_or(|from| d >= from) && f.to.as_deref().is_none_or(|to| d <= to)
    };
    Ok(rows
        .into_iter()
        .filter(|(day, _)| within(day))
        .map(|(day, visitors)| VisitorDay { day, visitors })
        .collect())
}

/// [`visitors`] summed from the events' stored impact patterns (JSON arrays of days).
async fn visitors_live(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<(String, i64)>, QueryError> {
    let backend = db.get_database_backend();
    let ids = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(filter_condition(f, db.get_database_backend())?)
        .filter(event::Column::Impact.is_not_null())
        .build(backend);
    let sql = match backend {
        DbBackend::Postgres => format!(
            r#"SELECT d->>'date' AS day, CAST(SUM((d->>'visitors')::bigint) AS BIGINT) AS visitors
               FROM "events" e CROSS JOIN LATERAL json_array_elements(e."impact"::json) d
               WHERE e."id" IN ({}) AND d->>'date' LIKE '____-__-__'
               GROUP BY day ORDER BY day"#,
            ids.sql
        ),
        _ => format!(
            r#"SELECT json_extract(d.value, '$.date') AS day,
                      CAST(SUM(json_extract(d.value, '$.visitors')) AS INTEGER) AS visitors
               FROM "events" e, json_each(e."impact") d
               WHERE e."id" IN ({}) AND json_extract(d.value, '$.date') LIKE '____-__-__'
               GROUP BY day ORDER BY day"#,
            ids.sql
        ),
    };
    let stmt =
        Statement::from_sql_and_values(backend, sql, ids.values.map(|v| v.0).unwrap_or_default());
    let rows = db.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "day")?,
                r.try_get::<i64>("", "visitors")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(QueryError::from)
}

/// Destination countries in the fares chart.
pub const FARE_COUNTRIES: usize = 20;

/// One direction's stored offers between `origin` and the airports that serve the
/// filtered events, averaged per country (of the far end) and currency.
async fn fare_side(
    db: &DatabaseConnection,
    f: &EventFilter,
    origin: &str,
    outbound: bool,
) -> Result<Vec<(String, String, f64, i64, i32)>, QueryError> {
    let (near, far) = if outbound {
        (
            flight_offer::Column::Origin,
            flight_offer::Column::Destination,
        )
    } else {
        (
            flight_offer::Column::Destination,
            flight_offer::Column::Origin,
        )
    };
    use sea_orm::sea_query::ExprTrait as _;
    let serves_filtered_event = Query::select()
        .expr(Expr::val(1))
        .from(event_airport::Entity)
        .inner_join(
            event::Entity,
            Expr::col((event::Entity, event::Column::Id))
                .equals((event_airport::Entity, event_airport::Column::EventId)),
        )
        .and_where(
            Expr::col((event_airport::Entity, event_airport::Column::Iata))
                .equals((flight_offer::Entity, far)),
        )
        .cond_where(filter_condition(f, db.get_database_backend())?)
        .to_owned();
    let far_airport = flight_offer::Entity::belongs_to(airport::Entity)
        .from(far)
        .to(airport::Column::Iata)
        .into();
    Ok(flight_offer::Entity::find()
        .select_only()
        .column_as(airport::Column::Country, "country")
        .column(flight_offer::Column::Currency)
        .column_as(
            Expr::cust(r#"CAST(AVG("flight_offers"."price_minor") AS DOUBLE PRECISION)"#),
            "average",
        )
        .column_as(Expr::cust("COUNT(*)"), "offers")
        .column_as(
            Expr::cust(r#"MAX(CASE WHEN "flight_offers"."demo" THEN 1 ELSE 0 END)"#),
            "demo",
        )
        .join(JoinType::InnerJoin, far_airport)
        .filter(near.eq(origin))
        .filter(Expr::exists(serves_filtered_event))
        .group_by(airport::Column::Country)
        .group_by(flight_offer::Column::Currency)
        .into_tuple()
        .all(db)
        .await?)
}

/// The cheapest destination countries by average stored fare from `origin`, outbound and
/// return separately, over the airports that serve the filtered events; each average
/// with the number of offers it rests on. Currencies are never mixed: a country with
/// offers in two currencies has a row for each.
pub async fn fares(
    db: &DatabaseConnection,
    f: &EventFilter,
    origin: &str,
) -> Result<Fares, QueryError> {
    let mut rows: BTreeMap<(String, String), FareRow> = BTreeMap::new();
    let mut demo = false;
    for outbound in [true, false] {
        for (country, currency, average, offers, is_demo) in
            fare_side(db, f, origin, outbound).await?
        {
            demo |= is_demo != 0;
            let row = rows
                .entry((country.clone(), currency.clone()))
                .or_insert_with(|| FareRow {
                    key: country,
                    label: String::new(),
                    currency,
                    outbound_avg: None,
                    outbound_offers: 0,
                    return_avg: None,
                    return_offers: 0,
                });
            // Minor units (cents) to whole units, rounded to the cent.
            let average = (average).round() / 100.0;
            if outbound {
                row.outbound_avg = Some(average);
                row.outbound_offers = offers.max(0) as u64;
            } else {
                row.return_avg = Some(average);
                row.return_offers = offers.max(0) as u64;
            }
        }
    }
    let mut rows: Vec<FareRow> = rows.into_values().collect();
    let key = |r: &FareRow| r.outbound_avg.or(r.return_avg).unwrap_or(f64::MAX);
    rows.sort_by(|a, b| {
        key(a)
            .total_cmp(&key(b))
            .then(a.key.cmp(&b.key))
            .then(a.currency.cmp(&b.currency))
    });
    rows.truncate(FARE_COUNTRIES);
    let names = country_names(db, rows.iter().map(|r| r.key.clone()).collect()).await?;
    for r in &mut rows {
        r.label = names.get(&r.key).cloned().unwrap_or_else(|| r.key.clone());
    }
    Ok(Fares {
        origin: origin.to_string(),
        rows,
        demo,
    })
}

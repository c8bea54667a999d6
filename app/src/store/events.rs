//! Event queries: the one place that answers "which events match this filter" for the
//! pages, the server functions and the JSON API.

use super::entities::{airport, country, event, event_airport, flight_offer, place};
use crate::filter::{Cursor, EventFilter, Sort};
use crate::geo::{bounding_box, haversine_km};
use crate::types::{
    EventDetail, EventPage, EventSummary, EventView, FlightOffer, MapPoint, NearbyAirport, Place,
};
use chrono::{Duration, NaiveDate};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// At most this many points go to the map in one answer.
pub const MAX_MAP_POINTS: u64 = 5000;

/// Travellers only see events in this state.
pub const ACTIVE: &str = "active";

/// Why a query could not be answered: the caller's input, or the store.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("parameter `{0}`: {1}")]
    BadParameter(&'static str, String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

fn lower_like(col: event::Column, pattern: &str) -> Expr {
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

fn attendance_or_zero() -> Expr {
    Func::coalesce([Expr::col(event::Column::Attendance), Expr::val(0i64)]).into()
}

/// The WHERE clause for a filter (without the cursor): shared by lists, counts and maps.
pub fn filter_condition(f: &EventFilter) -> Result<Condition, QueryError> {
    let mut cond = Condition::all().add(event::Column::State.eq(ACTIVE));
    if let Some(q) = &f.q {
        let p = like_pattern(q);
        cond = cond.add(
            Condition::any()
                .add(lower_like(event::Column::Title, &p))
                .add(lower_like(event::Column::Description, &p))
                .add(lower_like(event::Column::VenueName, &p))
                .add(lower_like(event::Column::City, &p)),
        );
    }
    if !f.categories.is_empty() {
        cond = cond.add(event::Column::Category.is_in(f.categories.clone()));
    }
    if !f.countries.is_empty() {
        cond = cond.add(event::Column::Country.is_in(f.countries.clone()));
    }
    if let Some(from) = &f.from {
        cond = cond.add(event::Column::EndDate.gte(parse_date("from", from)?));
    }
    if let Some(to) = &f.to {
        cond = cond.add(event::Column::StartDate.lte(parse_date("to", to)?));
    }
    if let Some(v) = f.rank_min {
        cond = cond.add(event::Column::Rank.gte(v));
    }
    if let Some(v) = f.rank_max {
        cond = cond.add(event::Column::Rank.lte(v));
    }
    if let Some(b) = &f.bbox {
        cond = cond
            .add(event::Column::Lat.between(b.min_lat, b.max_lat))
            .add(if b.min_lon <= b.max_lon {
                Condition::all().add(event::Column::Lon.between(b.min_lon, b.max_lon))
            } else {
                // The box crosses the antimeridian.
                Condition::any()
                    .add(event::Column::Lon.gte(b.min_lon))
                    .add(event::Column::Lon.lte(b.max_lon))
            });
    }
    Ok(cond)
}

fn parse_date(param: &'static str, s: &str) -> Result<NaiveDate, QueryError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| QueryError::BadParameter(param, "must be a date written YYYY-MM-DD".into()))
}

/// Continues after the cursor's row in the given order.
fn after_cursor(c: &Cursor) -> Result<Condition, QueryError> {
    let id = c.id.clone();
    let bad = || QueryError::BadParameter("cursor", "is not a cursor this API issued".into());
    Ok(match c.sort {
        Sort::Rank => {
            let v: i32 = c.value.parse().map_err(|_| bad())?;
            Condition::any().add(event::Column::Rank.lt(v)).add(
                Condition::all()
                    .add(event::Column::Rank.eq(v))
                    .add(event::Column::Id.gt(id)),
            )
        }
        Sort::Start => {
            let v = NaiveDate::parse_from_str(&c.value, "%Y-%m-%d").map_err(|_| bad())?;
            Condition::any().add(event::Column::StartDate.gt(v)).add(
                Condition::all()
                    .add(event::Column::StartDate.eq(v))
                    .add(event::Column::Id.gt(id)),
            )
        }
        Sort::Title => Condition::any()
            .add(event::Column::Title.gt(c.value.clone()))
            .add(
                Condition::all()
                    .add(event::Column::Title.eq(c.value.clone()))
                    .add(event::Column::Id.gt(id)),
            ),
        Sort::Attendance => {
            let v: i64 = c.value.parse().map_err(|_| bad())?;
            Condition::any()
                .add(Expr::expr(attendance_or_zero()).lt(v))
                .add(
                    Condition::all()
                        .add(Expr::expr(attendance_or_zero()).eq(v))
                        .add(event::Column::Id.gt(id)),
                )
        }
    })
}

fn cursor_for(sort: Sort, m: &event::Model) -> Cursor {
    let value = match sort {
        Sort::Rank => m.rank.to_string(),
        Sort::Start => m.start_date.format("%Y-%m-%d").to_string(),
        Sort::Title => m.title.clone(),
        Sort::Attendance => m.attendance.unwrap_or(0).to_string(),
    };
    Cursor {
        sort,
        value,
        id: m.id.clone(),
    }
}

pub fn summary(m: &event::Model) -> EventSummary {
    EventSummary {
        id: m.id.clone(),
        title: m.title.clone(),
        category: m.category.clone(),
        rank: m.rank,
        local_rank: m.local_rank,
        attendance: m.attendance,
        start: m.start_date.format("%Y-%m-%d").to_string(),
        end: m.end_date.format("%Y-%m-%d").to_string(),
        timezone: m.timezone.clone(),
        venue_name: m.venue_name.clone(),
        city: m.city.clone(),
        country: m.country.clone(),
        lat: m.lat,
        lon: m.lon,
        demo: m.demo,
    }
}

/// One page of events matching the filter, with the total and a cursor for the next page.
pub async fn list_events(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<EventPage, QueryError> {
    let cond = filter_condition(f)?;
    let total = event::Entity::find().filter(cond.clone()).count(db).await?;
    let mut query = event::Entity::find().filter(cond);
    if let Some(c) = &f.cursor {
        query = query.filter(after_cursor(c)?);
    }
    query = match f.sort {
        Sort::Rank => query.order_by(event::Column::Rank, Order::Desc),
        Sort::Start => query.order_by(event::Column::StartDate, Order::Asc),
        Sort::Title => query.order_by(event::Column::Title, Order::Asc),
        Sort::Attendance => query.order_by(attendance_or_zero(), Order::Desc),
    };
    let mut rows = query
        .order_by(event::Column::Id, Order::Asc)
        .limit(u64::from(f.limit) + 1)
        .all(db)
        .await?;
    let next_cursor = if rows.len() > f.limit as usize {
        rows.truncate(f.limit as usize);
        rows.last().map(|m| cursor_for(f.sort, m).encode())
    } else {
        None
    };
    Ok(EventPage {
        items: rows.iter().map(summary).collect(),
        total,
        next_cursor,
    })
}

/// Every event matching the filter as a map point, highest rank first, at most
/// [`MAX_MAP_POINTS`].
pub async fn map_points(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<Vec<MapPoint>, QueryError> {
    let rows: Vec<(String, String, String, f64, f64)> = event::Entity::find()
        .select_only()
        .columns([
            event::Column::Id,
            event::Column::Title,
            event::Column::Category,
            event::Column::Lat,
            event::Column::Lon,
        ])
        .filter(filter_condition(f)?)
        .order_by(event::Column::Rank, Order::Desc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(MAX_MAP_POINTS)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, category, lat, lon)| MapPoint {
            id,
            title,
            category,
            lat,
            lon,
        })
        .collect())
}

/// One event with everything the store keeps about it, whatever its state.
pub async fn event_detail(db: &DatabaseConnection, id: &str) -> Result<Option<EventDetail>, DbErr> {
    let Some(m) = event::Entity::find_by_id(id.to_string()).one(db).await? else {
        return Ok(None);
    };
    let country = country::Entity::find_by_id(m.country.clone())
        .one(db)
        .await?;
    Ok(Some(EventDetail {
        summary: summary(&m),
        description: m.description.clone(),
        labels: serde_json::from_str(&m.labels).unwrap_or_default(),
        spend_usd: m.spend_usd,
        address: m.address.clone(),
        country_name: country.as_ref().map(|c| c.name_en.clone()),
        country_name_ko: country.map(|c| c.name_ko),
        state: m.state.clone(),
        gone_reason: m.gone_reason.clone(),
        provider: m.provider.clone(),
        last_changed_at: m.last_changed_at.to_rfc3339(),
    }))
}

/// Places of one kind within `radius_km` of a point, nearest first.
pub async fn places_near(
    db: &DatabaseConnection,
    lat: f64,
    lon: f64,
    kind: &str,
    radius_km: f64,
    limit: usize,
) -> Result<Vec<Place>, DbErr> {
    let (min_lat, min_lon, max_lat, max_lon) = bounding_box(lat, lon, radius_km);
    let rows = place::Entity::find()
        .filter(place::Column::Kind.eq(kind))
        .filter(place::Column::Lat.between(min_lat, max_lat))
        .filter(place::Column::Lon.between(min_lon, max_lon))
        .all(db)
        .await?;
    let mut out: Vec<Place> = rows
        .into_iter()
        .map(|p| {
            let distance_km = haversine_km(lat, lon, p.lat, p.lon);
            Place {
                name: p.name,
                kind: p.kind,
                lat: p.lat,
                lon: p.lon,
                distance_km,
                rating: p.rating,
                rating_count: p.rating_count,
                price_level: p.price_level,
                address: p.address,
                url: p.url,
                provider: p.provider,
                fetched_at: p.fetched_at.to_rfc3339(),
                demo: p.demo,
            }
        })
        .filter(|p| p.distance_km <= radius_km)
        .collect();
    out.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
    out.truncate(limit);
    Ok(out)
}

/// The airports stored for an event, nearest first.
pub async fn event_airports(
    db: &DatabaseConnection,
    event_id: &str,
) -> Result<Vec<NearbyAirport>, DbErr> {
    let links = event_airport::Entity::find()
        .filter(event_airport::Column::EventId.eq(event_id))
        .order_by(event_airport::Column::Position, Order::Asc)
        .all(db)
        .await?;
    let codes: Vec<String> = links.iter().map(|l| l.iata.clone()).collect();
    let airports = airport::Entity::find()
        .filter(airport::Column::Iata.is_in(codes))
        .all(db)
        .await?;
    Ok(links
        .iter()
        .filter_map(|l| {
            let a = airports.iter().find(|a| a.iata == l.iata)?;
            Some(NearbyAirport {
                iata: a.iata.clone(),
                name: a.name.clone(),
                city: a.city.clone(),
                country: a.country.clone(),
                distance_km: l.distance_km,
            })
        })
        .collect())
}

/// The cheapest stored offers from `origins` to `destinations` departing within the dates.
pub async fn flight_offers(
    db: &DatabaseConnection,
    origins: &[String],
    destinations: &[String],
    first_day: NaiveDate,
    last_day: NaiveDate,
    limit: u64,
) -> Result<Vec<FlightOffer>, DbErr> {
    let rows = flight_offer::Entity::find()
        .filter(flight_offer::Column::Origin.is_in(origins.to_vec()))
        .filter(flight_offer::Column::Destination.is_in(destinations.to_vec()))
        .filter(flight_offer::Column::DepartDate.between(first_day, last_day))
        .order_by(flight_offer::Column::PriceMinor, Order::Asc)
        .order_by(flight_offer::Column::Id, Order::Asc)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|o| FlightOffer {
            origin: o.origin,
            destination: o.destination,
            depart_date: o.depart_date.format("%Y-%m-%d").to_string(),
            carrier_code: o.carrier_code,
            carrier_name: o.carrier_name,
            flight_number: o.flight_number,
            stops: o.stops,
            departs_at: o.departs_at,
            arrives_at: o.arrives_at,
            duration_minutes: o.duration_minutes,
            price: o.price_minor as f64 / 100.0,
            currency: o.currency,
            booking_url: o.booking_url,
            fetched_at: o.fetched_at.to_rfc3339(),
            demo: o.demo,
        })
        .collect())
}

/// Radius for restaurants and cafés around a venue.
pub const DINING_RADIUS_KM: f64 = 3.0;
/// Radius for places to stay around a venue.
pub const LODGING_RADIUS_KM: f64 = 5.0;

/// The event page: the event, what is near it, and flights from `origin`.
pub async fn event_view(
    db: &DatabaseConnection,
    id: &str,
    origin: &str,
) -> Result<Option<EventView>, DbErr> {
    let Some(event) = event_detail(db, id).await? else {
        return Ok(None);
    };
    let (lat, lon) = (event.summary.lat, event.summary.lon);
    let restaurants = places_near(db, lat, lon, "restaurant", DINING_RADIUS_KM, 8).await?;
    let cafes = places_near(db, lat, lon, "cafe", DINING_RADIUS_KM, 8).await?;
    let lodging = places_near(db, lat, lon, "lodging", LODGING_RADIUS_KM, 8).await?;
    let airports = event_airports(db, id).await?;
    let codes: Vec<String> = airports.iter().map(|a| a.iata.clone()).collect();
    let origins = vec![origin.to_string()];
    let start = NaiveDate::parse_from_str(&event.summary.start, "%Y-%m-%d").unwrap_or_default();
    let end = NaiveDate::parse_from_str(&event.summary.end, "%Y-%m-%d").unwrap_or_default();
    let (outbound, inbound) = if codes.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (out_from, out_to) = outbound_window(start);
        let (ret_from, ret_to) = return_window(end);
        (
            flight_offers(db, &origins, &codes, out_from, out_to, 10).await?,
            flight_offers(db, &codes, &origins, ret_from, ret_to, 10).await?,
        )
    };
    Ok(Some(EventView {
        event,
        restaurants,
        cafes,
        lodging,
        airports,
        outbound,
        inbound,
        origin: origin.to_string(),
    }))
}

/// Outbound flights: from three days before the start to one day after it.
pub fn outbound_window(start: NaiveDate) -> (NaiveDate, NaiveDate) {
    (start - Duration::days(3), start + Duration::days(1))
}

/// Return flights: from the last day to four days after it.
pub fn return_window(end: NaiveDate) -> (NaiveDate, NaiveDate) {
    (end, end + Duration::days(4))
}

/// At most about this many clusters in one answer, whatever the zoom and box.
pub const MAX_CLUSTERS: f64 = 4000.0;

/// The grid cell, in degrees, for a zoom level (about 64 screen pixels) and a box.
pub fn cluster_cell_degrees(zoom: u8, bbox: Option<&crate::filter::BBox>) -> f64 {
    let by_zoom = 90.0 / f64::from(1u32 << Ord::min(zoom, 24));
    let area = bbox.map_or(360.0 * 180.0, |b| {
        let width = if b.min_lon <= b.max_lon {
            b.max_lon - b.min_lon
        } else {
            360.0 - (b.min_lon - b.max_lon)
        };
        (width * (b.max_lat - b.min_lat)).max(1e-9)
    });
    by_zoom.max((area / MAX_CLUSTERS).sqrt())
}

/// The filtered events grouped into grid cells, counted in SQL. The counts add up to the
/// filtered total.
pub async fn map_clusters(
    db: &DatabaseConnection,
    f: &EventFilter,
    zoom: u8,
) -> Result<Vec<crate::types::Cluster>, QueryError> {
    use sea_orm::DbBackend;
    let cell = cluster_cell_degrees(zoom, f.bbox.as_ref());
    // Shifted to positive values so integer truncation (SQLite) equals floor (PostgreSQL).
    // `cell` is a number computed here, never caller text, so it is written inline: the
    // same expression then appears once, grouped by its alias.
    let (gy, gx) = match db.get_database_backend() {
        DbBackend::Postgres => (
            format!(r#"CAST(FLOOR(("lat" + 90.0) / {cell:.12}) AS BIGINT)"#),
            format!(r#"CAST(FLOOR(("lon" + 180.0) / {cell:.12}) AS BIGINT)"#),
        ),
        _ => (
            format!(r#"CAST(("lat" + 90.0) / {cell:.12} AS INTEGER)"#),
            format!(r#"CAST(("lon" + 180.0) / {cell:.12} AS INTEGER)"#),
        ),
    };
    let rows: Vec<(i64, i64, i64, f64, f64, String)> = event::Entity::find()
        .select_only()
        .column_as(Expr::cust(gy), "gy")
        .column_as(Expr::cust(gx), "gx")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust(r#"AVG("lat")"#), "lat")
        .column_as(Expr::cust(r#"AVG("lon")"#), "lon")
        .column_as(Expr::cust(r#"MIN("id")"#), "id")
        .filter(filter_condition(f)?)
        .group_by(Expr::cust("gy"))
        .group_by(Expr::cust("gx"))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(_, _, n, lat, lon, id)| crate::types::Cluster {
            lat,
            lon,
            count: Ord::max(n, 0) as u64,
            id: (n == 1).then_some(id),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_Off"), "%50\\%\\_off%");
    }
}

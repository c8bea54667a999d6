//! Event queries: the one place that answers "which events match this filter" for the
//! pages, the server functions and the JSON API.

use super::entities::{airport, country, event, event_airport, flight_offer, place};
use crate::filter::{Cursor, EventFilter, Sort};
use crate::geo::{bounding_box, haversine_km};
use crate::types::{EventDetail, EventPage, EventSummary, FlightOffer, NearbyAirport, Place};
use chrono::{Duration, NaiveDate};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Travellers only see events in this state.
pub const ACTIVE: &str = "active";
/// The state of an event an admin hid from travellers.
pub const HIDDEN: &str = "hidden";

/// The class a refresh gives an event (design.md, "The diff: five classes"), stored with
/// its history as the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Class {
    Unchanged = 0,
    Changed = 1,
    Moved = 2,
    New = 3,
    Gone = 4,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Unchanged => "unchanged",
            Class::Changed => "changed",
            Class::Moved => "moved",
            Class::New => "new",
            Class::Gone => "gone",
        }
    }
}

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
    for ch in text.to_ascii_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// The free-text condition: `q` as a substring of the title, the venue's name or the city,
/// case-insensitive for A to Z and exact for every other character, on both backends
/// (SQLite's `LIKE` folds A to Z only; PostgreSQL's query folds them as its indexes do).
/// On SQLite the trigram index narrows the rows first (it folds more letters, so it finds
/// a superset); queries under three characters have no trigram and scan.
fn text_condition(q: &str, backend: DbBackend) -> Condition {
    use migrations::m20261208_000012_event_search::{folded, SEARCHED};
    let pattern = like_pattern(q);
    let mut any = Condition::any();
    for column in SEARCHED {
        let column = format!(r#""events"."{column}""#);
        // sea-query numbers `$1` for PostgreSQL and binds `?` for SQLite.
        let like = match backend {
            DbBackend::Postgres => format!(r"{} LIKE $1 ESCAPE '\'", folded(&column)),
            _ => format!(r"{column} LIKE ? ESCAPE '\'"),
        };
        any = any.add(Expr::cust_with_values(like, [pattern.clone()]));
    }
    if backend != DbBackend::Sqlite || q.chars().count() < 3 {
        return any;
    }
    let phrase = format!("\"{}\"", q.replace('"', "\"\""));
    Condition::all()
        .add(Expr::cust_with_values(
            r#""events"."rowid" IN (SELECT "rowid" FROM "event_search" WHERE "event_search" MATCH ?)"#,
            [phrase],
        ))
        .add(any)
}

fn attendance_or_zero() -> Expr {
    Func::coalesce([Expr::col(event::Column::Attendance), Expr::val(0i64)]).into()
}

/// The WHERE clause for a filter (without the cursor): shared by lists, counts and maps.
pub fn filter_condition(f: &EventFilter, backend: DbBackend) -> Result<Condition, QueryError> {
    let mut cond = Condition::all().add(event::Column::State.eq(ACTIVE));
    if let Some(q) = &f.q {
        cond = cond.add(text_condition(q, backend));
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
    if let Some(v) = f.local_rank_min {
        cond = cond.add(event::Column::LocalRank.gte(v));
    }
    if let Some(v) = f.local_rank_max {
        cond = cond.add(event::Column::LocalRank.lte(v));
    }
    if let Some(v) = f.attendance_min {
        cond = cond.add(event::Column::Attendance.gte(v));
    }
    if let Some(n) = &f.near {
        cond = cond.add(near_condition(n));
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

/// Lets `near` name a place: a value that is not `lat,lon` is looked up as an airport code
/// or a city with an airport (the bundled list), and replaced by its coordinates.
pub async fn resolve_place_names(
    db: &DatabaseConnection,
    pairs: &mut [(String, String)],
) -> Result<(), QueryError> {
    for (k, v) in pairs.iter_mut() {
        if k != "near" || v.trim().is_empty() {
            continue;
        }
        let looks_numeric = v.split(',').all(|p| p.trim().parse::<f64>().is_ok());
        if looks_numeric {
            continue;
        }
        let name = v.trim();
        if name.chars().count() > 100 {
            return Err(QueryError::BadParameter(
                "near",
                "must be at most 100 characters".into(),
            ));
        }
        let by_code = if name.len() == 3 && name.bytes().all(|b| b.is_ascii_alphabetic()) {
            airport::Entity::find_by_id(name.to_ascii_uppercase())
                .one(db)
                .await?
        } else {
            None
        };
        let found = match by_code {
            Some(a) => Some(a),
            None => {
                airport::Entity::find()
                    .filter(
                        Expr::expr(Func::lower(Expr::col(airport::Column::City)))
                            .eq(name.to_lowercase()),
                    )
                    .order_by(airport::Column::Scheduled, Order::Desc)
                    .order_by(airport::Column::Iata, Order::Asc)
                    .one(db)
                    .await?
            }
        };
        match found {
            Some(a) => *v = format!("{},{}", a.lat, a.lon),
            None => {
                return Err(QueryError::BadParameter(
                    "near",
                    format!("no place called `{name}` is known; give lat,lon, an airport code or a city with an airport"),
                ))
            }
        }
    }
    Ok(())
}

/// Within `radius_km` of a point: a bounding box the indexes can use, then the distance on
/// a local flat projection (lengths in km; exact enough for radii up to a few hundred km,
/// and plain arithmetic, so SQLite and PostgreSQL compute the same).
fn near_condition(n: &crate::filter::Near) -> Condition {
    const KM_PER_DEGREE: f64 = 111.195;
    let (min_lat, min_lon, max_lat, max_lon) = bounding_box(n.lat, n.lon, n.radius_km);
    let k = n.lat.to_radians().cos().max(0.01) * KM_PER_DEGREE;
    let r2 = n.radius_km * n.radius_km;
    let dist = |lon_shift: f64| {
        let dy = format!(r#"(("lat" - {:.9}) * {KM_PER_DEGREE})"#, n.lat);
        let dx = format!(r#"(("lon" - {:.9}) * {k:.9})"#, n.lon + lon_shift);
        Expr::cust(format!("{dy} * {dy} + {dx} * {dx} <= {r2:.9}"))
    };
    let mut lon_side = Condition::any().add(dist(0.0));
    // The circle may reach across the antimeridian: an event just west of -180° is
    // measured from the centre moved one turn west, and the other way round.
    if n.lon + n.radius_km / k > 180.0 {
        lon_side = lon_side.add(dist(-360.0));
    }
    if n.lon - n.radius_km / k < -180.0 {
        lon_side = lon_side.add(dist(360.0));
    }
    let mut cond = Condition::all().add(event::Column::Lat.between(min_lat, max_lat));
    if min_lon <= max_lon && min_lon > -180.0 && max_lon < 180.0 {
        cond = cond.add(event::Column::Lon.between(min_lon, max_lon));
    }
    cond.add(lon_side)
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
    let cond = filter_condition(f, db.get_database_backend())?;
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

/// One event with everything the store keeps about it, whatever its state, except an event
/// an admin hid: travellers find no such event.
pub async fn event_detail(db: &DatabaseConnection, id: &str) -> Result<Option<EventDetail>, DbErr> {
    match visible_event(db, id).await? {
        Some(m) => Ok(Some(detail_of(db, &m).await?)),
        None => Ok(None),
    }
}

/// An event row as travellers may see it: none while an admin hides it (also when the
/// provider has since ended it, so its page does not come back as "cancelled").
pub async fn visible_event<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<event::Model>, DbErr> {
    let Some(m) = event::Entity::find_by_id(id.to_string()).one(db).await? else {
        return Ok(None);
    };
    if m.state == HIDDEN {
        return Ok(None);
    }
    if m.state != ACTIVE
        && super::entities::event_moderation::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    Ok(Some(m))
}

/// The detail of a stored event row (reads its country's names).
pub async fn detail_of(db: &DatabaseConnection, m: &event::Model) -> Result<EventDetail, DbErr> {
    let country = country::Entity::find_by_id(m.country.clone())
        .one(db)
        .await?;
    Ok(EventDetail {
        summary: summary(m),
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
    })
}

/// A stored place as the pages and the API show it, `distance_km` from where it was asked.
pub fn place_of(p: place::Model, distance_km: f64) -> Place {
    Place {
        id: p.id,
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
}

/// The stored places of each asked kind within its radius of a point, nearest first, at
/// most `limit` of each: one read of the largest radius's box serves every kind (the event
/// page asks for restaurants, cafés and places to stay at once).
pub async fn places_near(
    db: &DatabaseConnection,
    lat: f64,
    lon: f64,
    asked: &[(&str, f64)],
    limit: usize,
) -> Result<Vec<Vec<Place>>, DbErr> {
    let radius_km = asked.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    let (min_lat, min_lon, max_lat, max_lon) = bounding_box(lat, lon, radius_km);
    let rows = place::Entity::find()
        .filter(place::Column::Kind.is_in(asked.iter().map(|(k, _)| k.to_string())))
        .filter(place::Column::Lat.between(min_lat, max_lat))
        .filter(place::Column::Lon.between(min_lon, max_lon))
        .all(db)
        .await?;
    let mut out: Vec<Vec<Place>> = vec![Vec::new(); asked.len()];
    for p in rows {
        let distance_km = haversine_km(lat, lon, p.lat, p.lon);
        if let Some(i) = asked
            .iter()
            .position(|(k, r)| *k == p.kind && distance_km <= *r)
        {
            out[i].push(place_of(p, distance_km));
        }
    }
    for places in &mut out {
        places.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
        places.truncate(limit);
    }
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

/// Outbound flights: from three days before the start to one day after it.
pub fn outbound_window(start: NaiveDate) -> (NaiveDate, NaiveDate) {
    (start - Duration::days(3), start + Duration::days(1))
}

/// Return flights: from the last day to four days after it.
pub fn return_window(end: NaiveDate) -> (NaiveDate, NaiveDate) {
    (end, end + Duration::days(4))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_Off"), "%50\\%\\_off%");
    }
}

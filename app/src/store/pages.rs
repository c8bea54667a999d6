//! Queries for the country and place pages, shared with nothing else but kept beside the
//! event queries they build on.

use super::entities::{country, event, place};
use super::events::{place_of, summary, QueryError, ACTIVE};
use super::stats::count_by;
use crate::filter::EventFilter;
use crate::geo::{bounding_box, haversine_km};
use crate::types::{CountryData, LabelCount, PlaceData};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

/// How far around a place its page looks for events.
pub const PLACE_EVENTS_RADIUS_KM: f64 = 10.0;

/// Events per value of a column, most first (an empty label for no value).
async fn label_counts(
    db: &DatabaseConnection,
    f: &EventFilter,
    col: event::Column,
) -> Result<Vec<LabelCount>, QueryError> {
    Ok(count_by(db, f, col, None)
        .await?
        .into_iter()
        .map(|(label, count)| LabelCount { label, count })
        .collect())
}

/// The country page for `code` with the caller's filter (its `country` is replaced), or
/// `None` for a code that is not a country.
pub async fn country_page(
    db: &DatabaseConnection,
    cache: &super::cache::ReadCache,
    code: &str,
    mut f: EventFilter,
) -> Result<Option<CountryData>, QueryError> {
    let code = code.to_ascii_uppercase();
    let Some(c) = country::Entity::find_by_id(code.clone()).one(db).await? else {
        return Ok(None);
    };
    f.countries = vec![code.clone()];
    let page = cache.list_events(db, &f).await?;
    // The breakdowns cover the whole country, whatever the page shows.
    let whole = EventFilter {
        countries: vec![code.clone()],
        ..Default::default()
    };
    let regions = label_counts(db, &whole, event::Column::Region).await?;
    let cities = label_counts(db, &whole, event::Column::City).await?;
    let categories = label_counts(db, &whole, event::Column::Category).await?;
    let demo = page.items.iter().any(|e| e.demo);
    Ok(Some(CountryData {
        code,
        name_en: c.name_en,
        name_ko: c.name_ko,
        page,
        regions,
        cities,
        categories,
        demo,
    }))
}

/// One place and the active events within [`PLACE_EVENTS_RADIUS_KM`], nearest first.
pub async fn place_page(db: &DatabaseConnection, id: i32) -> Result<Option<PlaceData>, DbErr> {
    let Some(p) = place::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let (min_lat, min_lon, max_lat, max_lon) = bounding_box(p.lat, p.lon, PLACE_EVENTS_RADIUS_KM);
    let rows = event::Entity::find()
        .filter(event::Column::State.eq(ACTIVE))
        .filter(event::Column::Lat.between(min_lat, max_lat))
        .filter(event::Column::Lon.between(min_lon, max_lon))
        .order_by(event::Column::StartDate, Order::Asc)
        .limit(500)
        .all(db)
        .await?;
    let mut events: Vec<(f64, _)> = rows
        .iter()
        .map(|m| (haversine_km(p.lat, p.lon, m.lat, m.lon), summary(m)))
        .filter(|(d, _)| *d <= PLACE_EVENTS_RADIUS_KM)
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Some(PlaceData {
        place: place_of(p, 0.0),
        radius_km: PLACE_EVENTS_RADIUS_KM,
        events: events.into_iter().map(|(_, e)| e).collect(),
    }))
}

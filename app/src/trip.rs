//! Planning a trip around one event: the traveller's origin and party size, checked the
//! same way for the event page and `GET /api/v1/events/{id}/trip`, and the bundle itself.

use crate::filter::FilterError;
use crate::state::AppState;
use crate::store::entities::airport;
use crate::types::TripBundle;
use sea_orm::{DbErr, EntityTrait};

/// The origin used until a traveller picks one.
pub const DEFAULT_ORIGIN: &str = "ICN";
/// The most travellers one estimate covers.
pub const MAX_ADULTS: u32 = 9;
/// The cookie that remembers the traveller's origin airport.
pub const ORIGIN_COOKIE: &str = "ts_origin";

fn bad(param: &str, message: &str) -> FilterError {
    FilterError {
        param: param.into(),
        message: message.into(),
    }
}

/// An IATA airport code: three letters, any case.
pub fn parse_origin(value: &str) -> Result<String, FilterError> {
    let v = value.trim();
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(bad("origin", "must be a three-letter IATA airport code"))
    }
}

pub fn parse_adults(value: &str) -> Result<u32, FilterError> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_ADULTS).contains(&n) => Ok(n),
        _ => Err(bad(
            "adults",
            &format!("must be a whole number from 1 to {MAX_ADULTS}"),
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TripError {
    #[error("parameter `origin`: `{0}` is not an airport TourSherpa knows")]
    UnknownOrigin(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether the store knows this airport.
pub async fn origin_known(
    db: &sea_orm::DatabaseConnection,
    iata: &str,
) -> Result<bool, sea_orm::DbErr> {
    Ok(airport::Entity::find_by_id(iata.to_string())
        .one(db)
        .await?
        .is_some())
}

/// The trip bundle for an event (`None` when no visible event has this id). Offers from
/// an origin the refresh does not cover are fetched first, through the refresh's cache and
/// budget; a provider failure there is logged and the bundle shows what is stored. A bundle
/// is kept between requests (`store::cache`) under the store's versions while every flight
/// search it shows is fresh.
pub async fn load_trip(
    st: &AppState,
    id: &str,
    origin: &str,
    adults: u32,
) -> Result<Option<TripBundle>, TripError> {
    use crate::ingest::enrich::{flights_for_origin, Completeness};
    use crate::store::cache::trip_stamp;
    use crate::store::trip::{trip_bundle, with_last_refresh};
    let stamp = trip_stamp(&st.db, origin).await?;
    if !stamp.origin_known {
        return Err(TripError::UnknownOrigin(origin.to_string()));
    }
    let ask = (id, origin, adults);
    if let Some(bundle) = st.cache.trip(&stamp, ask).await {
        return Ok(Some(with_last_refresh(bundle, stamp.last_refresh)));
    }
    let Some(event) = crate::store::events::visible_event(&st.db, id).await? else {
        return Ok(None);
    };
    let Some(from) = airport::Entity::find_by_id(origin.to_string())
        .one(&st.db)
        .await?
    else {
        return Err(TripError::UnknownOrigin(origin.to_string()));
    };
    let on_demand = flights_for_origin(&st.db, &st.refresh.providers, &event, &from).await?;
    for e in on_demand.errors {
        tracing::warn!(error = %e, origin = %origin, "on-demand flight lookup failed");
    }
    let bundle = trip_bundle(&st.db, event, origin, adults, stamp.last_refresh.clone()).await?;
    match on_demand.complete {
        Completeness::Nothing => st.cache.keep_trip(&stamp, ask, &bundle, None).await,
        Completeness::Until(t) => st.cache.keep_trip(&stamp, ask, &bundle, Some(t)).await,
        Completeness::Missing => {}
    }
    Ok(Some(bundle))
}

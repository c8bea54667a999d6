//! The trip bundle: one query that serves the event page and `GET /api/v1/events/{id}/trip`.
//! Each part carries its own freshness and demo flag; a part with nothing in it is empty,
//! never an error, so one missing provider does not take the page down.

use super::entities::event;
use super::events::{
    detail_of, event_airports, flight_offers, outbound_window, places_near, return_window,
    DINING_RADIUS_KM, LODGING_RADIUS_KM,
};
use crate::types::{
    DemandDay, DemandWindow, FlightOffer, FlightsPart, Part, Place, TripBundle, TripEstimate,
    TripEvent,
};
use chrono::{DateTime, NaiveDate};
use sea_orm::{DatabaseConnection, DbErr};

/// Travellers per room in the estimate.
const TRAVELLERS_PER_ROOM: u32 = 2;

/// A rough nightly room price in US dollars for a Google-style price level (1 inexpensive
/// … 4 very expensive). TourSherpa's own guide: the estimate says so wherever it is shown.
pub fn nightly_guide_usd(price_level: i16) -> f64 {
    match price_level {
        ..=1 => 70.0,
        2 => 130.0,
        3 => 230.0,
        _ => 420.0,
    }
}

/// The trip bundle for one event (as [`super::events::visible_event`] read it).
/// `last_refresh` is when the last successful refresh finished (see [`with_last_refresh`]).
pub async fn trip_bundle(
    db: &DatabaseConnection,
    m: event::Model,
    origin: &str,
    adults: u32,
    last_refresh: Option<String>,
) -> Result<TripBundle, DbErr> {
    let id = m.id.as_str();
    let detail = detail_of(db, &m).await?;
    let (lat, lon) = (m.lat, m.lon);
    let asked = [
        ("restaurant", DINING_RADIUS_KM),
        ("cafe", DINING_RADIUS_KM),
        ("lodging", LODGING_RADIUS_KM),
    ];
    let [restaurants, cafes, lodging]: [Vec<Place>; 3] = places_near(db, lat, lon, &asked, 8)
        .await?
        .try_into()
        .expect("one list per kind asked");
    let (restaurants, cafes, lodging) = (part(restaurants), part(cafes), part(lodging));
    let airports = event_airports(db, id).await?;
    let codes: Vec<String> = airports.iter().map(|a| a.iata.clone()).collect();
    let origins = vec![origin.to_string()];
    let (outbound, inbound) = if codes.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (out_from, out_to) = outbound_window(m.start_date);
        let (ret_from, ret_to) = return_window(m.end_date);
        (
            flight_offers(db, &origins, &codes, out_from, out_to, 10).await?,
            flight_offers(db, &codes, &origins, ret_from, ret_to, 10).await?,
        )
    };
    let flights = FlightsPart {
        origin: origin.to_string(),
        fetched_at: oldest(
            outbound
                .iter()
                .chain(&inbound)
                .map(|o| o.fetched_at.as_str()),
        ),
        demo: outbound.iter().chain(&inbound).any(|o| o.demo),
        outbound,
        inbound,
    };
    let impact: Vec<DemandDay> = m
        .impact
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let demand_window = demand_window(impact, m.demo);
    let estimate = estimate(&flights, &lodging, m.start_date, m.end_date, adults);
    let event = TripEvent {
        starts_local: local_time(m.starts_at.as_deref(), &m.timezone),
        ends_local: local_time(m.ends_at.as_deref(), &m.timezone),
        starts_at: m.starts_at.clone(),
        ends_at: m.ends_at.clone(),
        fetched_at: None,
        detail,
    };
    let bundle = TripBundle {
        event,
        demand_window,
        restaurants,
        cafes,
        lodging,
        airports: Part {
            items: airports,
            // Airports are bundled reference data, not fetched from a provider.
            fetched_at: None,
            demo: false,
        },
        flights,
        estimate,
    };
    Ok(with_last_refresh(bundle, last_refresh))
}

/// The bundle with the time of the last successful refresh as the event's and the demand
/// window's freshness. Set apart from the rest because a refresh that changes nothing this
/// bundle shows still moves it: a cached bundle takes the current one.
pub fn with_last_refresh(mut bundle: TripBundle, last_refresh: Option<String>) -> TripBundle {
    if !bundle.demand_window.days.is_empty() {
        bundle.demand_window.fetched_at = last_refresh.clone();
    }
    bundle.event.fetched_at = last_refresh;
    bundle
}

fn part(items: Vec<Place>) -> Part<Place> {
    Part {
        fetched_at: oldest(items.iter().map(|p| p.fetched_at.as_str())),
        demo: items.iter().any(|p| p.demo),
        items,
    }
}

/// The oldest of RFC 3339 stamps (all written by this program in UTC, so they sort as text).
fn oldest<'a>(stamps: impl Iterator<Item = &'a str>) -> Option<String> {
    stamps.min().map(str::to_string)
}

/// An RFC 3339 instant as wall-clock time in a time zone, `YYYY-MM-DD HH:MM`.
pub fn local_time(instant: Option<&str>, timezone: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(instant?).ok()?;
    let tz: chrono_tz::Tz = timezone.parse().ok()?;
    Some(t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
}

/// The busiest day and the span of days with at least half its visitors.
/// Its `fetched_at` is left for [`with_last_refresh`].
pub fn demand_window(days: Vec<DemandDay>, demo: bool) -> DemandWindow {
    let peak_visitors = days.iter().map(|d| d.visitors).max().unwrap_or(0);
    let peak = days
        .iter()
        .find(|d| d.visitors == peak_visitors && peak_visitors > 0)
        .map(|d| d.date.clone());
    let busy = |d: &&DemandDay| peak_visitors > 0 && d.visitors * 2 >= peak_visitors;
    let busy_from = days.iter().find(busy).map(|d| d.date.clone());
    let busy_to = days.iter().rev().find(busy).map(|d| d.date.clone());
    DemandWindow {
        fetched_at: None,
        demo: demo && !days.is_empty(),
        peak,
        busy_from,
        busy_to,
        days,
    }
}

fn cheapest(offers: &[FlightOffer]) -> Option<&FlightOffer> {
    offers.iter().min_by(|a, b| a.price.total_cmp(&b.price))
}

fn date_of(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// The trip estimate: cheapest outbound plus cheapest return per traveller, and the nights
/// between landing and flying home (the event's days when no flight is stored) times a
/// typical nearby room price, for one room per two travellers. A total is given only when
/// every figure is known and in one currency.
pub fn estimate(
    flights: &FlightsPart,
    lodging: &Part<Place>,
    start: NaiveDate,
    end: NaiveDate,
    adults: u32,
) -> TripEstimate {
    let mut basis = Vec::new();
    let mut missing = Vec::new();
    let out = cheapest(&flights.outbound);
    let back = cheapest(&flights.inbound);
    let flight = match (out, back) {
        (Some(o), Some(r)) if o.currency == r.currency => {
            basis.push(format!(
                "Flights: cheapest stored offers {} → {} on {} ({} {:.2}) and {} → {} on {} ({} {:.2}), per traveller.",
                o.origin, o.destination, o.depart_date, o.currency, o.price,
                r.origin, r.destination, r.depart_date, r.currency, r.price
            ));
            Some((o.price + r.price, o.currency.clone()))
        }
        (Some(_), Some(_)) => {
            missing.push("the outbound and return offers are in different currencies".into());
            None
        }
        (None, _) => {
            missing.push(format!(
                "no outbound offer from {} is stored",
                flights.origin
            ));
            None
        }
        (_, None) => {
            missing.push(format!("no return offer to {} is stored", flights.origin));
            None
        }
    };
    let arrive = out.and_then(|o| date_of(&o.arrives_at));
    let leave = back.and_then(|r| date_of(&r.departs_at));
    let nights = match (arrive, leave) {
        (Some(a), Some(l)) if l > a => (l - a).num_days(),
        _ => (end - start).num_days() + 1,
    };
    let mut levels: Vec<i16> = lodging.items.iter().filter_map(|p| p.price_level).collect();
    levels.sort_unstable();
    let nightly = levels.get(levels.len() / 2).map(|&level| {
        basis.push(format!(
            "Room: about US${:.0} a night, TourSherpa's rough guide for the typical price level ({}) of {} place{} to stay nearby; not a quote.",
            nightly_guide_usd(level),
            "$".repeat(level.clamp(1, 4) as usize),
            levels.len(),
            if levels.len() == 1 { "" } else { "s" }
        ));
        nightly_guide_usd(level)
    });
    if nightly.is_none() {
        missing.push("no place to stay with a price level is stored nearby".into());
    }
    let rooms = adults.div_ceil(TRAVELLERS_PER_ROOM).max(1);
    basis.push(format!(
        "{nights} night{} for {adults} traveller{} in {rooms} room{}.",
        if nights == 1 { "" } else { "s" },
        if adults == 1 { "" } else { "s" },
        if rooms == 1 { "" } else { "s" }
    ));
    let total = match (&flight, nightly) {
        (Some((fare, cur)), Some(n)) if cur == "USD" => {
            Some(fare * f64::from(adults) + n * nights as f64 * f64::from(rooms))
        }
        (Some((_, cur)), Some(_)) => {
            missing.push(format!(
                "fares are in {cur} and the room guide in USD; TourSherpa does not convert currencies"
            ));
            None
        }
        _ => None,
    };
    TripEstimate {
        is_estimate: true,
        currency: flight
            .as_ref()
            .map(|(_, c)| c.clone())
            .or_else(|| nightly.map(|_| "USD".to_string())),
        adults,
        flight_per_person: flight.as_ref().map(|(f, _)| *f),
        nights,
        nightly_room: nightly,
        rooms,
        total,
        basis,
        missing,
        fetched_at: oldest(
            [flights.fetched_at.as_deref(), lodging.fetched_at.as_deref()]
                .into_iter()
                .flatten(),
        ),
        demo: flights.demo || lodging.demo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, visitors: i64) -> DemandDay {
        DemandDay {
            date: date.into(),
            visitors,
            position: "event_day".into(),
        }
    }

    #[test]
    fn demand_window_spans_the_days_with_half_the_peak() {
        let w = demand_window(
            vec![
                day("2027-03-01", 100),
                day("2027-03-02", 600),
                day("2027-03-03", 1000),
                day("2027-03-04", 500),
                day("2027-03-05", 499),
            ],
            false,
        );
        assert_eq!(w.peak.as_deref(), Some("2027-03-03"));
        assert_eq!(w.busy_from.as_deref(), Some("2027-03-02"));
        assert_eq!(w.busy_to.as_deref(), Some("2027-03-04"));
        let empty = demand_window(Vec::new(), true);
        assert_eq!(
            (empty.peak, empty.fetched_at, empty.demo),
            (None, None, false)
        );
    }

    #[test]
    fn local_time_uses_the_event_zone() {
        assert_eq!(
            local_time(Some("2027-05-27T01:00:00+00:00"), "Asia/Seoul").as_deref(),
            Some("2027-05-27 10:00")
        );
        assert_eq!(local_time(Some("garbage"), "Asia/Seoul"), None);
        assert_eq!(local_time(Some("2027-05-27T01:00:00Z"), "Not/AZone"), None);
    }

    fn offer(origin: &str, dest: &str, date: &str, price: f64, currency: &str) -> FlightOffer {
        FlightOffer {
            origin: origin.into(),
            destination: dest.into(),
            depart_date: date.into(),
            carrier_code: "XX".into(),
            carrier_name: "Test Air".into(),
            flight_number: None,
            stops: 0,
            departs_at: format!("{date}T09:00:00"),
            arrives_at: format!("{date}T13:00:00"),
            duration_minutes: 240,
            price,
            currency: currency.into(),
            booking_url: None,
            fetched_at: "2026-11-26T00:00:00+00:00".into(),
            demo: false,
        }
    }

    fn lodging(levels: &[i16]) -> Part<Place> {
        part(
            levels
                .iter()
                .map(|&l| Place {
                    id: 1,
                    name: "Hotel".into(),
                    kind: "lodging".into(),
                    lat: 0.0,
                    lon: 0.0,
                    distance_km: 1.0,
                    rating: None,
                    rating_count: None,
                    price_level: Some(l),
                    address: String::new(),
                    url: None,
                    provider: "google".into(),
                    fetched_at: "2026-11-25T00:00:00+00:00".into(),
                    demo: false,
                })
                .collect(),
        )
    }

    fn flights(outbound: Vec<FlightOffer>, inbound: Vec<FlightOffer>) -> FlightsPart {
        FlightsPart {
            origin: "ICN".into(),
            outbound,
            inbound,
            fetched_at: None,
            demo: false,
        }
    }

    fn d(s: &str) -> NaiveDate {
        date_of(s).unwrap()
    }

    #[test]
    fn estimate_adds_cheapest_round_trip_and_nights_between_flights() {
        let f = flights(
            vec![
                offer("ICN", "CDG", "2027-03-01", 700.0, "USD"),
                offer("ICN", "ORY", "2027-02-28", 650.0, "USD"),
            ],
            vec![offer("CDG", "ICN", "2027-03-05", 600.0, "USD")],
        );
        // Median price level of [1, 2, 3] is 2: US$130 a night.
        let e = estimate(
            &f,
            &lodging(&[3, 1, 2]),
            d("2027-03-01"),
            d("2027-03-03"),
            3,
        );
        assert_eq!(e.flight_per_person, Some(1250.0));
        assert_eq!(e.nights, 5); // lands 02-28, flies home 03-05
        assert_eq!(e.rooms, 2);
        assert_eq!(e.nightly_room, Some(130.0));
        assert_eq!(e.total, Some(1250.0 * 3.0 + 130.0 * 5.0 * 2.0));
        assert!(e.is_estimate && e.missing.is_empty());
        assert_eq!(e.fetched_at.as_deref(), Some("2026-11-25T00:00:00+00:00"));
    }

    #[test]
    fn estimate_without_return_or_in_another_currency_has_no_total() {
        let f = flights(
            vec![offer("ICN", "CDG", "2027-03-01", 700.0, "USD")],
            vec![],
        );
        let e = estimate(&f, &lodging(&[2]), d("2027-03-01"), d("2027-03-03"), 1);
        assert_eq!((e.total, e.flight_per_person, e.nights), (None, None, 3));
        assert!(e.missing[0].contains("no return offer"), "{:?}", e.missing);

        let f = flights(
            vec![offer("ICN", "CDG", "2027-03-01", 700.0, "EUR")],
            vec![offer("CDG", "ICN", "2027-03-04", 600.0, "EUR")],
        );
        let e = estimate(&f, &lodging(&[2]), d("2027-03-01"), d("2027-03-03"), 1);
        assert_eq!(e.total, None);
        assert_eq!(e.flight_per_person, Some(1300.0));
        assert!(e.missing[0].contains("does not convert"), "{:?}", e.missing);

        let e = estimate(&f, &lodging(&[]), d("2027-03-01"), d("2027-03-03"), 1);
        assert!(e.missing.iter().any(|m| m.contains("place to stay")));
    }
}

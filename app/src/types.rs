//! Types shared by the server, the browser and the JSON API.

use serde::{Deserialize, Serialize};

/// The event categories TourSherpa knows, in the provider's spelling.
pub const CATEGORIES: [&str; 6] = [
    "concerts",
    "festivals",
    "expos",
    "sports",
    "conferences",
    "performing-arts",
];

/// One event as lists, maps and the JSON API show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub title: String,
    pub category: String,
    pub rank: i32,
    pub local_rank: Option<i32>,
    pub attendance: Option<i64>,
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub venue_name: String,
    pub city: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    /// True when the event comes from the bundled demo feed, not a live provider.
    pub demo: bool,
}

/// A page of events: `next_cursor` continues the same query after the last item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<EventSummary>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// Everything the store keeps about one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventDetail {
    #[serde(flatten)]
    pub summary: EventSummary,
    pub description: String,
    pub labels: Vec<String>,
    pub spend_usd: Option<i64>,
    pub address: String,
    pub country_name: Option<String>,
    pub country_name_ko: Option<String>,
    pub state: String,
    pub gone_reason: Option<String>,
    pub provider: String,
    pub last_changed_at: String,
}

/// A restaurant, café or place to stay, at its own location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub distance_km: f64,
    pub rating: Option<f64>,
    pub rating_count: Option<i32>,
    pub price_level: Option<i16>,
    pub address: String,
    pub url: Option<String>,
    pub provider: String,
    pub fetched_at: String,
    pub demo: bool,
}

/// An airport near an event, with its great-circle distance from the venue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NearbyAirport {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub distance_km: f64,
}

/// One flight offer between two airports on one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlightOffer {
    pub origin: String,
    pub destination: String,
    pub depart_date: String,
    pub carrier_code: String,
    pub carrier_name: String,
    pub flight_number: Option<String>,
    pub stops: i16,
    pub departs_at: String,
    pub arrives_at: String,
    pub duration_minutes: i32,
    /// Price in the currency's major unit (e.g. dollars).
    pub price: f64,
    pub currency: String,
    pub booking_url: Option<String>,
    pub fetched_at: String,
    pub demo: bool,
}

/// What the event page shows: the event and what is around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub event: EventDetail,
    pub restaurants: Vec<Place>,
    pub cafes: Vec<Place>,
    pub lodging: Vec<Place>,
    pub airports: Vec<NearbyAirport>,
    pub outbound: Vec<FlightOffer>,
    pub inbound: Vec<FlightOffer>,
    pub origin: String,
}

/// The home page's data: one filtered set for the map and the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeData {
    pub page: EventPage,
    /// Every event of the filtered set as a map point (id, title, lat, lon, category).
    pub points: Vec<MapPoint>,
    pub refresh_running: bool,
    pub site: SiteInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    pub id: String,
    pub title: String,
    pub category: String,
    pub lat: f64,
    pub lon: f64,
}

/// Site-wide settings the pages need (from the server's configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct SiteInfo {
    /// Map tile URL template; empty means draw the bundled country shapes only.
    pub tile_url: String,
    pub tile_attribution: String,
    /// True while any provider in use is a demo provider.
    pub demo: bool,
}

/// A group of events on the map: one cell of a grid sized to the zoom level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub lat: f64,
    pub lon: f64,
    pub count: u64,
    /// The event's id when the cluster holds exactly one event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

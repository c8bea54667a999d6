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

/// Expected visitors on one local day around an event, from the provider's impact
/// pattern (PredictHQ `impact_patterns`, the accommodation vertical when given).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemandDay {
    /// YYYY-MM-DD in the event's time zone.
    pub date: String,
    pub visitors: i64,
    /// `leading` (before the event), `event_day` or `lagging` (after it).
    pub position: String,
}

/// Predicted event spend per industry, US dollars (PredictHQ
/// `predicted_event_spend_industries`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpendIndustries {
    pub accommodation: Option<i64>,
    pub hospitality: Option<i64>,
    pub transportation: Option<i64>,
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
    pub id: i32,
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

/// A list part of the trip bundle with how fresh it is. A part with nothing in it is
/// present and empty, never missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part<T> {
    pub items: Vec<T>,
    /// When the oldest item was fetched from its provider (RFC 3339); none when empty.
    pub fetched_at: Option<String>,
    /// True when any item is demo data.
    pub demo: bool,
}

/// The event part of the trip bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripEvent {
    #[serde(flatten)]
    pub detail: EventDetail,
    /// Start and end instants (UTC RFC 3339) when the provider gives times.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// The same instants as wall-clock time in the event's time zone, `YYYY-MM-DD HH:MM`.
    pub starts_local: Option<String>,
    pub ends_local: Option<String>,
    /// When the refresh that last delivered this event finished.
    pub fetched_at: Option<String>,
}

/// Which days around the event draw the most visitors, as a hint when to arrive and leave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemandWindow {
    pub days: Vec<DemandDay>,
    /// The busiest day.
    pub peak: Option<String>,
    /// The first and last day with at least half the peak's visitors: arriving before the
    /// first and leaving after the last avoids the crowd (and its prices).
    pub busy_from: Option<String>,
    pub busy_to: Option<String>,
    pub fetched_at: Option<String>,
    pub demo: bool,
}

/// Flights both ways between the chosen origin and the event's airports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlightsPart {
    pub origin: String,
    pub outbound: Vec<FlightOffer>,
    #[serde(rename = "return")]
    pub inbound: Vec<FlightOffer>,
    pub fetched_at: Option<String>,
    pub demo: bool,
}

/// An estimated trip cost: the cheapest round trip per traveller plus nights times a
/// typical nearby room price. Always an estimate, never a quote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripEstimate {
    pub is_estimate: bool,
    pub currency: Option<String>,
    pub adults: u32,
    /// Cheapest outbound plus cheapest return, per traveller.
    pub flight_per_person: Option<f64>,
    pub nights: i64,
    pub nightly_room: Option<f64>,
    pub rooms: u32,
    pub total: Option<f64>,
    /// How the figures were reached, in words.
    pub basis: Vec<String>,
    /// What is missing for a total, in words (empty when the total is given).
    pub missing: Vec<String>,
    pub fetched_at: Option<String>,
    pub demo: bool,
}

/// What the event page shows and `GET /api/v1/events/{id}/trip` answers: everything for
/// planning a trip around one event, each part with its freshness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripBundle {
    pub event: TripEvent,
    pub demand_window: DemandWindow,
    pub restaurants: Part<Place>,
    pub cafes: Part<Place>,
    pub lodging: Part<Place>,
    pub airports: Part<NearbyAirport>,
    pub flights: FlightsPart,
    pub estimate: TripEstimate,
}

/// What the event page loads: the trip bundle and the site settings (for its map).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPageData {
    pub trip: TripBundle,
    pub site: SiteInfo,
}

/// A count of events under a label (a city, a category).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

/// The country page: the country's events (filtered and sorted like the list) and where
/// in the country they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountryData {
    pub code: String,
    pub name_en: String,
    pub name_ko: String,
    pub page: EventPage,
    /// Events per region (state, province), most first; an empty label when unknown.
    pub regions: Vec<LabelCount>,
    /// Events per city, most first.
    pub cities: Vec<LabelCount>,
    pub categories: Vec<LabelCount>,
    pub demo: bool,
}

/// The place page: one restaurant, café or place to stay and the events near it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaceData {
    pub place: Place,
    pub radius_km: f64,
    pub events: Vec<EventSummary>,
}

/// A count under a key (a category, a country code) and its label in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountBy {
    pub key: String,
    pub label: String,
    pub count: u64,
}

/// Events starting in one period (month `YYYY-MM` or week `YYYY-MM-DD`, its Monday) of one
/// category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub period: String,
    pub category: String,
    pub count: u64,
}

/// Predicted event spend in one country, US dollars: the total, and the parts the
/// provider attributes to accommodation, hospitality and transportation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpendRow {
    pub key: String,
    pub label: String,
    pub total: i64,
    pub accommodation: i64,
    pub hospitality: i64,
    pub transportation: i64,
}

/// Expected visitors on one local day, summed over the filtered events' impact windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorDay {
    /// YYYY-MM-DD.
    pub day: String,
    pub visitors: i64,
}

/// Average fares between the chosen origin and one destination country, each way, in one
/// currency, with the number of offers each average rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FareRow {
    /// ISO 3166-1 alpha-2.
    pub key: String,
    pub label: String,
    pub currency: String,
    /// Average outbound fare (origin to the country), whole currency units; none without offers.
    pub outbound_avg: Option<f64>,
    pub outbound_offers: u64,
    /// Average return fare (the country to the origin).
    pub return_avg: Option<f64>,
    pub return_offers: u64,
}

/// The fares chart's data: the origin it is for and its rows, cheapest outbound first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fares {
    /// IATA code.
    pub origin: String,
    pub rows: Vec<FareRow>,
    /// Whether any of the offers are demo offers.
    pub demo: bool,
}

/// One event in the rank/attendance scatter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankPoint {
    pub id: String,
    pub title: String,
    pub category: String,
    pub rank: i32,
    pub attendance: i64,
}

/// The dashboard's cards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardCards {
    pub top_rank: Vec<EventSummary>,
    pub top_attendance: Vec<EventSummary>,
    pub starting_soon: Vec<EventSummary>,
    pub ending_soon: Vec<EventSummary>,
}

/// Everything the dashboard draws, for one filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub total: u64,
    pub categories: Vec<CountBy>,
    pub countries: Vec<CountBy>,
    /// `month` or `week`.
    pub unit: String,
    pub timeline: Vec<TimelineRow>,
    pub spend: Vec<SpendRow>,
    pub scatter: Vec<RankPoint>,
    pub visitors: Vec<VisitorDay>,
    pub fares: Fares,
    pub cards: DashboardCards,
    pub demo: bool,
}

/// The home page's data: one filtered set for the map and the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeData {
    pub page: EventPage,
    /// The filter as the JSON API takes it (normalised query string), for the map's
    /// cluster requests and the export links.
    pub api_query: String,
    pub refresh_running: bool,
    pub site: SiteInfo,
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
    /// The event's id, title and category when the cluster holds exactly one event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category: Option<String>,
}

/// Events per diff class, as a run records them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunClasses {
    pub unchanged: i32,
    pub changed: i32,
    pub moved: i32,
    pub new: i32,
    pub gone: i32,
}

/// Provider calls per role in one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunCalls {
    pub events: i32,
    pub places: i32,
    pub flights: i32,
}

/// One refresh run as the admin page and `GET /api/v1/runs` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: i32,
    /// `full` or `incremental`.
    pub mode: String,
    /// `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    /// `fetch`, `validate`, `diff`, `commit`, `enrich` or `done`.
    pub stage: String,
    /// Events handled so far in the stage, of `progress_total` (0 when not counted).
    pub progress_done: i32,
    pub progress_total: i32,
    pub events_provider: String,
    pub triggered_by: Option<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub classes: RunClasses,
    pub calls: RunCalls,
    pub calls_saved: i32,
    /// Events whose enrichment is still owed after the run.
    pub deferred: i32,
    pub archived: i32,
    /// Snapshot records set aside as invalid.
    pub invalid: i32,
    pub errors: Vec<String>,
    pub cancel_requested: bool,
}

/// One event of a run's class, for the drill-down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub id: String,
    pub title: String,
    pub city: String,
    pub country: String,
    /// The event's state now: `active`, `gone`, `archived` or `hidden`.
    pub state: String,
    /// Why, for a gone event.
    pub detail: String,
}

/// A page of a run's events in one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEvents {
    pub class: String,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub items: Vec<RunEvent>,
}

/// A provider as the admin page shows it (keys are counted, never shown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// `events`, `places` or `flights`.
    pub role: String,
    pub name: String,
    pub demo: bool,
    pub configured: bool,
    pub keys: u32,
    /// 0: no daily budget.
    pub daily_budget: u32,
    /// Calls counted today (UTC) against the budget; demo providers are not counted.
    pub calls_today: u32,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_success_run: Option<i32>,
    pub last_success_at: Option<String>,
}

/// One admin action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// An event an admin hid from travellers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HiddenEvent {
    pub id: String,
    pub title: String,
    pub reason: String,
    pub hidden_by: String,
    pub hidden_at: String,
}

/// Everything the admin page shows at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub username: String,
    /// The run in progress, on any process sharing the store.
    pub running: Option<RunInfo>,
    pub runs: Vec<RunInfo>,
    pub providers: Vec<ProviderInfo>,
    pub audit: Vec<AuditEntry>,
    pub hidden: Vec<HiddenEvent>,
}

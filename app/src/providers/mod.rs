//! Provider clients: each role (events, places, flights) has a real HTTP client and a demo
//! implementation, chosen by configuration. All real clients share one call policy.

pub mod duffel;
pub mod places;
pub mod policy;
pub mod predicthq;

use crate::demo;
use crate::geo::haversine_km;
use duffel::{Duffel, FoundOffer};
use places::{FoundPlace, GooglePlaces, Overpass};
use policy::ProviderError;
use predicthq::PredictHq;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Where events come from.
#[derive(Clone)]
pub enum EventsClient {
    /// The bundled, deterministically evolving demo feed.
    Demo,
    PredictHq(Box<PredictHq>),
}

impl EventsClient {
    pub fn name(&self) -> &'static str {
        match self {
            EventsClient::Demo => "demo",
            EventsClient::PredictHq(_) => predicthq::NAME,
        }
    }
}

/// Where restaurants, cafés and places to stay come from.
#[derive(Clone)]
pub enum PlacesClient {
    Demo(Arc<AtomicU32>),
    Google(GooglePlaces),
    Overpass(Overpass),
}

impl PlacesClient {
    pub fn demo() -> PlacesClient {
        PlacesClient::Demo(Arc::new(AtomicU32::new(0)))
    }

    pub fn name(&self) -> &'static str {
        match self {
            PlacesClient::Demo(_) => "demo",
            PlacesClient::Google(_) => places::GOOGLE,
            PlacesClient::Overpass(_) => places::OVERPASS,
        }
    }

    pub fn is_demo(&self) -> bool {
        matches!(self, PlacesClient::Demo(_))
    }

    /// Calls made so far by this client.
    pub fn calls(&self) -> u32 {
        match self {
            PlacesClient::Demo(n) => n.load(Ordering::Relaxed),
            PlacesClient::Google(g) => g.caller.calls(),
            PlacesClient::Overpass(o) => o.caller.calls(),
        }
    }

    /// Places of one kind around a cell centre (`cell` names it for the demo generator).
    pub async fn search(
        &self,
        cell: &str,
        lat: f64,
        lon: f64,
        radius_m: f64,
        kind: &str,
    ) -> Result<Vec<FoundPlace>, ProviderError> {
        match self {
            PlacesClient::Demo(n) => {
                n.fetch_add(1, Ordering::Relaxed);
                Ok(demo::places::generate(cell, lat, lon, kind))
            }
            PlacesClient::Google(g) => g.search(lat, lon, radius_m, kind).await,
            PlacesClient::Overpass(o) => o.search(lat, lon, radius_m, kind).await,
        }
    }
}

/// Where flight offers come from.
#[derive(Clone)]
pub enum FlightsClient {
    Demo(Arc<AtomicU32>),
    Duffel(Duffel),
}

impl FlightsClient {
    pub fn demo() -> FlightsClient {
        FlightsClient::Demo(Arc::new(AtomicU32::new(0)))
    }

    pub fn name(&self) -> &'static str {
        match self {
            FlightsClient::Demo(_) => "demo",
            FlightsClient::Duffel(_) => duffel::NAME,
        }
    }

    pub fn is_demo(&self) -> bool {
        matches!(self, FlightsClient::Demo(_))
    }

    pub fn calls(&self) -> u32 {
        match self {
            FlightsClient::Demo(n) => n.load(Ordering::Relaxed),
            FlightsClient::Duffel(d) => d.caller.calls(),
        }
    }

    /// The HTTP caller, for a real provider (its budget and usage).
    pub fn caller(&self) -> Option<&policy::Caller> {
        match self {
            FlightsClient::Demo(_) => None,
            FlightsClient::Duffel(d) => Some(&d.caller),
        }
    }

    /// Offers for one route and day; the demo prices them from the distance.
    pub async fn offers(
        &self,
        origin: (&str, f64, f64),
        destination: (&str, f64, f64),
        date: &str,
    ) -> Result<Vec<FoundOffer>, ProviderError> {
        match self {
            FlightsClient::Demo(n) => {
                n.fetch_add(1, Ordering::Relaxed);
                let km = haversine_km(origin.1, origin.2, destination.1, destination.2);
                Ok(demo::flights::generate(origin.0, destination.0, date, km))
            }
            FlightsClient::Duffel(d) => d.offers(origin.0, destination.0, date).await,
        }
    }
}

/// The clients one refresh uses.
#[derive(Clone)]
pub struct Providers {
    pub events: EventsClient,
    pub places: PlacesClient,
    pub flights: FlightsClient,
}

impl Providers {
    /// The real (HTTP) callers in use, for budgets and status.
    pub fn callers(&self) -> Vec<&policy::Caller> {
        let mut out = Vec::new();
        if let EventsClient::PredictHq(p) = &self.events {
            out.push(&p.caller);
        }
        match &self.places {
            PlacesClient::Google(g) => out.push(&g.caller),
            PlacesClient::Overpass(o) => out.push(&o.caller),
            PlacesClient::Demo(_) => {}
        }
        if let FlightsClient::Duffel(d) = &self.flights {
            out.push(&d.caller);
        }
        out
    }

    /// Each role with its provider's name and, for a real provider, its caller.
    pub fn roles(&self) -> [(&'static str, &'static str, Option<&policy::Caller>); 3] {
        let events = match &self.events {
            EventsClient::PredictHq(p) => Some(&p.caller),
            EventsClient::Demo => None,
        };
        let places = match &self.places {
            PlacesClient::Google(g) => Some(&g.caller),
            PlacesClient::Overpass(o) => Some(&o.caller),
            PlacesClient::Demo(_) => None,
        };
        let flights = match &self.flights {
            FlightsClient::Duffel(d) => Some(&d.caller),
            FlightsClient::Demo(_) => None,
        };
        [
            ("events", self.events.name(), events),
            ("places", self.places.name(), places),
            ("flights", self.flights.name(), flights),
        ]
    }

    /// True while any role is served by a demo provider.
    pub fn any_demo(&self) -> bool {
        matches!(self.events, EventsClient::Demo) || self.places.is_demo() || self.flights.is_demo()
    }
}

impl Default for Providers {
    fn default() -> Self {
        Providers {
            events: EventsClient::Demo,
            places: PlacesClient::demo(),
            flights: FlightsClient::demo(),
        }
    }
}

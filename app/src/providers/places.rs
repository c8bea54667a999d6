//! Places providers: Google Places (New) nearby search and OpenStreetMap Overpass. Both
//! answer one lookup (a centre, a radius and a kind) with places at their own locations.

use super::policy::{json_body, Caller, ProviderError};
use serde::Deserialize;
use serde_json::{json, Value};

/// A place as a provider reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundPlace {
    pub provider_id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub rating: Option<f64>,
    pub rating_count: Option<i32>,
    pub price_level: Option<i16>,
    pub address: String,
    pub url: Option<String>,
}

/// Google Places (New) `POST /v1/places:searchNearby`.
#[derive(Clone)]
pub struct GooglePlaces {
    pub caller: Caller,
    pub base_url: String,
}

pub const GOOGLE: &str = "google";
pub const OVERPASS: &str = "overpass";

/// Only the fields TourSherpa keeps: the field mask decides what Google bills.
pub const GOOGLE_FIELD_MASK: &str = "places.id,places.displayName,places.location,places.rating,places.userRatingCount,places.priceLevel,places.formattedAddress,places.googleMapsUri";

#[derive(Deserialize)]
struct GoogleAnswer {
    #[serde(default)]
    places: Vec<Value>,
}

fn google_price(level: Option<&str>) -> Option<i16> {
    Some(match level? {
        "PRICE_LEVEL_FREE" => 0,
        "PRICE_LEVEL_INEXPENSIVE" => 1,
        "PRICE_LEVEL_MODERATE" => 2,
        "PRICE_LEVEL_EXPENSIVE" => 3,
        "PRICE_LEVEL_VERY_EXPENSIVE" => 4,
        _ => return None,
    })
}

/// Reads one Google place; places without an id, a name or a location are skipped.
pub fn google_place(p: &Value) -> Option<FoundPlace> {
    Some(FoundPlace {
        provider_id: p.get("id")?.as_str()?.to_string(),
        name: p.pointer("/displayName/text")?.as_str()?.to_string(),
        lat: p.pointer("/location/latitude")?.as_f64()?,
        lon: p.pointer("/location/longitude")?.as_f64()?,
        rating: p.get("rating").and_then(Value::as_f64),
        rating_count: p
            .get("userRatingCount")
            .and_then(Value::as_i64)
            .map(|c| c as i32),
        price_level: google_price(p.get("priceLevel").and_then(Value::as_str)),
        address: p
            .get("formattedAddress")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        url: p
            .get("googleMapsUri")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

impl GooglePlaces {
    pub async fn search(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        kind: &str,
    ) -> Result<Vec<FoundPlace>, ProviderError> {
        let url = format!(
            "{}/v1/places:searchNearby",
            self.base_url.trim_end_matches('/')
        );
        let body = json!({
            "includedTypes": [kind],
            "maxResultCount": 20,
            "rankPreference": "POPULARITY",
            "locationRestriction": {"circle": {"center": {"latitude": lat, "longitude": lon}, "radius": radius_m.min(50_000.0)}}
        });
        let resp = self
            .caller
            .send(|http, key| {
                http.post(&url)
                    .header("X-Goog-Api-Key", key)
                    .header("X-Goog-FieldMask", GOOGLE_FIELD_MASK)
                    .json(&body)
            })
            .await?;
        let answer: GoogleAnswer = json_body(GOOGLE, resp).await?;
        Ok(answer.places.iter().filter_map(google_place).collect())
    }
}

/// OpenStreetMap Overpass `POST /api/interpreter` (keyless; fair use).
#[derive(Clone)]
pub struct Overpass {
    pub caller: Caller,
    pub url: String,
}

#[derive(Deserialize)]
struct OverpassAnswer {
    elements: Vec<Value>,
}

/// The Overpass QL for one lookup.
pub fn overpass_query(lat: f64, lon: f64, radius_m: f64, kind: &str) -> String {
    let selector = match kind {
        "restaurant" => r#"["amenity"="restaurant"]"#,
        "cafe" => r#"["amenity"="cafe"]"#,
        _ => r#"["tourism"~"^(hotel|hostel|guest_house|motel|apartment)$"]"#,
    };
    format!(
        "[out:json][timeout:25];nwr{selector}[\"name\"](around:{radius:.0},{lat:.6},{lon:.6});out center tags 40;",
        radius = radius_m
    )
}

/// Reads one Overpass element (node with lat/lon, way or relation with a centre).
pub fn overpass_place(e: &Value) -> Option<FoundPlace> {
    let kind = e.get("type")?.as_str()?;
    let id = e.get("id")?.as_i64()?;
    let (lat, lon) = match (e.get("lat"), e.get("lon")) {
        (Some(lat), Some(lon)) => (lat.as_f64()?, lon.as_f64()?),
        _ => (
            e.pointer("/center/lat")?.as_f64()?,
            e.pointer("/center/lon")?.as_f64()?,
        ),
    };
    let tags = e.get("tags")?;
    let tag = |k: &str| tags.get(k).and_then(Value::as_str).map(str::to_string);
    let name = tag("name:en").or_else(|| tag("name"))?;
    let street = [tag("addr:housenumber"), tag("addr:street")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address = [Some(street).filter(|s| !s.is_empty()), tag("addr:city")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    Some(FoundPlace {
        provider_id: format!("{kind}/{id}"),
        name,
        lat,
        lon,
        rating: None,
        rating_count: None,
        price_level: None,
        address,
        url: tag("website").or_else(|| Some(format!("https://www.openstreetmap.org/{kind}/{id}"))),
    })
}

impl Overpass {
    pub async fn search(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        kind: &str,
    ) -> Result<Vec<FoundPlace>, ProviderError> {
        let form =
            serde_urlencoded::to_string([("data", overpass_query(lat, lon, radius_m, kind))])
                .expect("a query string encodes");
        let resp = self
            .caller
            .send(|http, _| {
                http.post(&self.url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form.clone())
            })
            .await?;
        let answer: OverpassAnswer = json_body(OVERPASS, resp).await?;
        Ok(answer.elements.iter().filter_map(overpass_place).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_places_read_as_documented() {
        let p = json!({"id": "ChIJ123", "displayName": {"text": "Café Onion", "languageCode": "ko"},
            "location": {"latitude": 37.54, "longitude": 127.05}, "rating": 4.4, "userRatingCount": 2310,
            "priceLevel": "PRICE_LEVEL_MODERATE", "formattedAddress": "9-10 Achasan-ro, Seoul",
            "googleMapsUri": "https://maps.google.com/?cid=1"});
        let f = google_place(&p).unwrap();
        assert_eq!(
            (f.name.as_str(), f.price_level, f.rating_count),
            ("Café Onion", Some(2), Some(2310))
        );
        assert!(google_place(&json!({"id": "x"})).is_none());
    }

    #[test]
    fn overpass_elements_use_their_own_location() {
        let way = json!({"type": "way", "id": 42, "center": {"lat": 48.1, "lon": 11.5},
            "tags": {"name": "Hotel Blau", "tourism": "hotel", "addr:street": "Hauptstraße", "addr:housenumber": "5", "addr:city": "München"}});
        let f = overpass_place(&way).unwrap();
        assert_eq!((f.lat, f.lon), (48.1, 11.5));
        assert_eq!(f.address, "5 Hauptstraße, München");
        assert_eq!(f.provider_id, "way/42");
        let unnamed =
            json!({"type": "node", "id": 1, "lat": 1.0, "lon": 2.0, "tags": {"amenity": "cafe"}});
        assert!(overpass_place(&unnamed).is_none());
    }
}

//! Duffel flight offers (`POST /air/offer_requests?return_offers=true`): Bearer token and a
//! `Duffel-Version` header; one slice (origin, destination, date) and one adult per request.

use super::policy::{json_body, Caller, ProviderError};
use serde_json::{json, Value};

pub const NAME: &str = "duffel";
pub const API_VERSION: &str = "v2";
/// Offers kept per lookup, cheapest first.
pub const KEEP: usize = 10;

#[derive(Clone)]
pub struct Duffel {
    pub caller: Caller,
    pub base_url: String,
}

/// A flight offer as a provider reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundOffer {
    pub carrier_code: String,
    pub carrier_name: String,
    pub flight_number: Option<String>,
    pub stops: i16,
    pub departs_at: String,
    pub arrives_at: String,
    pub duration_minutes: i32,
    pub price_minor: i64,
    pub currency: String,
    pub booking_url: Option<String>,
}

/// ISO 8601 durations as Duffel writes them (`PT12H35M`, `P1DT2H`).
pub fn duration_minutes(iso: &str) -> Option<i32> {
    let rest = iso.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut minutes = 0i32;
    if !days.is_empty() {
        minutes += days.strip_suffix('D')?.parse::<i32>().ok()? * 24 * 60;
    }
    let mut num = String::new();
    for ch in time.chars() {
        match ch {
            '0'..='9' => num.push(ch),
            'H' => minutes += std::mem::take(&mut num).parse::<i32>().ok()? * 60,
            'M' => minutes += std::mem::take(&mut num).parse::<i32>().ok()?,
            'S' => num.clear(),
            _ => return None,
        }
    }
    Some(minutes)
}

/// Amounts are decimal strings ("450.20"): convert to minor units without floats.
pub fn minor_units(amount: &str) -> Option<i64> {
    let (whole, frac) = amount.trim().split_once('.').unwrap_or((amount.trim(), ""));
    if frac.len() > 2 || whole.is_empty() {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

/// Reads one offer's first slice; offers missing what the page shows are skipped.
pub fn offer(o: &Value) -> Option<FoundOffer> {
    let slice = o.pointer("/slices/0")?;
    let segments = slice.get("segments")?.as_array()?;
    let first = segments.first()?;
    let last = segments.last()?;
    let owner_code = o.pointer("/owner/iata_code").and_then(Value::as_str);
    let carrier = first.get("marketing_carrier");
    let carrier_code = owner_code
        .or_else(|| carrier?.get("iata_code")?.as_str())?
        .to_string();
    let carrier_name = o
        .pointer("/owner/name")
        .or_else(|| carrier?.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(&carrier_code)
        .to_string();
    let flight_number = match (
        carrier
            .and_then(|c| c.get("iata_code"))
            .and_then(Value::as_str),
        first
            .get("marketing_carrier_flight_number")
            .and_then(Value::as_str),
    ) {
        (Some(c), Some(n)) => Some(format!("{c}{n}")),
        _ => None,
    };
    let departs_at = first.get("departing_at")?.as_str()?.get(..16)?.to_string();
    let arrives_at = last.get("arriving_at")?.as_str()?.get(..16)?.to_string();
    Some(FoundOffer {
        carrier_code,
        carrier_name,
        flight_number,
        stops: (segments.len() as i16 - 1).max(0),
        departs_at,
        arrives_at,
        duration_minutes: slice
            .get("duration")
            .and_then(Value::as_str)
            .and_then(duration_minutes)
            .unwrap_or(0),
        price_minor: minor_units(o.get("total_amount")?.as_str()?)?,
        currency: o.get("total_currency")?.as_str()?.to_string(),
        booking_url: None,
    })
}

impl Duffel {
    pub async fn offers(
        &self,
        origin: &str,
        destination: &str,
        date: &str,
    ) -> Result<Vec<FoundOffer>, ProviderError> {
        let url = format!(
            "{}/air/offer_requests?return_offers=true&supplier_timeout=20000",
            self.base_url.trim_end_matches('/')
        );
        let body = json!({"data": {
            "slices": [{"origin": origin, "destination": destination, "departure_date": date}],
            "passengers": [{"type": "adult"}],
            "cabin_class": "economy",
            "max_connections": 1
        }});
        let resp = self
            .caller
            .send(|http, key| {
                http.post(&url)
                    .bearer_auth(key)
                    .header("Duffel-Version", API_VERSION)
                    .header("Accept", "application/json")
                    .json(&body)
            })
            .await?;
        let answer: Value = json_body(NAME, resp).await?;
        let offers = answer
            .pointer("/data/offers")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::Malformed {
                provider: NAME,
                detail: "no data.offers array".into(),
            })?;
        let mut found: Vec<FoundOffer> = offers.iter().filter_map(offer).collect();
        found.sort_by_key(|o| o.price_minor);
        found.truncate(KEEP);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_amounts_parse() {
        assert_eq!(duration_minutes("PT12H35M"), Some(755));
        assert_eq!(duration_minutes("P1DT2H"), Some(26 * 60));
        assert_eq!(duration_minutes("PT45M"), Some(45));
        assert_eq!(duration_minutes("12h"), None);
        assert_eq!(minor_units("450.2"), Some(45020));
        assert_eq!(minor_units("1034"), Some(103400));
        assert_eq!(minor_units("1.234"), None);
    }

    #[test]
    fn a_documented_offer_reads() {
        let o = json!({"id": "off_1", "total_amount": "812.40", "total_currency": "EUR",
            "owner": {"iata_code": "KE", "name": "Korean Air"},
            "slices": [{"duration": "PT13H5M", "segments": [
                {"departing_at": "2027-05-10T10:30:00", "arriving_at": "2027-05-10T16:10:00",
                 "marketing_carrier": {"iata_code": "KE", "name": "Korean Air"}, "marketing_carrier_flight_number": "901"},
                {"departing_at": "2027-05-10T18:00:00", "arriving_at": "2027-05-10T19:35:00",
                 "marketing_carrier": {"iata_code": "AF", "name": "Air France"}, "marketing_carrier_flight_number": "7702"}]}]});
        let f = offer(&o).unwrap();
        assert_eq!(f.stops, 1);
        assert_eq!(f.price_minor, 81240);
        assert_eq!(f.flight_number.as_deref(), Some("KE901"));
        assert_eq!(f.arrives_at, "2027-05-10T19:35");
        assert_eq!(f.duration_minutes, 785);
    }
}

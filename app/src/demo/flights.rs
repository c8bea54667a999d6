//! Demo flight offers between two airports on one day, priced from the great-circle
//! distance. The carrier is "Demo Air" so no offer can pass for a real fare.

use super::hash;
use crate::providers::duffel::FoundOffer;

/// The offers one provider call would return for (origin, destination, date).
pub fn generate(origin: &str, destination: &str, date: &str, distance_km: f64) -> Vec<FoundOffer> {
    (0..3)
        .map(|n| {
            let h = hash(&[origin, destination, date, &n.to_string()]);
            let stops = if distance_km > 3000.0 {
                (n % 2) as i16
            } else {
                0
            };
            let flying = (distance_km / 800.0 * 60.0) as i32 + 35;
            let duration = flying + i32::from(stops) * (90 + (h % 120) as i32);
            let dep_minutes = 6 * 60 + (h / 7 % (15 * 12)) as i32 * 5;
            let arr_total = dep_minutes + duration;
            let (day_offset, arr_minutes) = (arr_total / (24 * 60), arr_total % (24 * 60));
            let fare = 60.0 + distance_km * 0.085 * (1.0 + (h % 40) as f64 / 100.0)
                - f64::from(stops) * 40.0;
            FoundOffer {
                carrier_code: "ZZ".into(),
                carrier_name: format!("Demo Air {}", n + 1),
                flight_number: Some(format!("ZZ{}", 100 + h % 900)),
                stops,
                departs_at: format!("{date}T{:02}:{:02}", dep_minutes / 60, dep_minutes % 60),
                arrives_at: format!(
                    "{date}T{:02}:{:02}{}",
                    arr_minutes / 60,
                    arr_minutes % 60,
                    if day_offset > 0 {
                        format!("+{day_offset}")
                    } else {
                        String::new()
                    }
                ),
                duration_minutes: duration,
                price_minor: (fare.max(49.0) * 100.0).round() as i64,
                currency: "USD".into(),
                booking_url: None,
            }
        })
        .collect()
}

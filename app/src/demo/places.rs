//! Demo places: restaurants, cafés and places to stay generated around a location cell.
//! Names say "Demo" so that no generated place can pass for a real one.

use super::hash;
use crate::providers::places::FoundPlace;

const RESTAURANT_NAMES: [&str; 10] = [
    "Olive Table",
    "Harbour Grill",
    "Saffron House",
    "Noodle Corner",
    "Green Fork",
    "Old Town Bistro",
    "Charcoal & Salt",
    "Market Kitchen",
    "Blue Door",
    "Lantern Dining",
];
const CAFE_NAMES: [&str; 8] = [
    "Morning Roast",
    "Corner Beans",
    "Paper Cup",
    "Slow Drip",
    "Sunny Side Café",
    "Little Bakery",
    "Tea Garden",
    "Espresso Lab",
];
const LODGING_NAMES: [&str; 8] = [
    "Central Hotel",
    "Riverside Inn",
    "Garden Suites",
    "Station Lodge",
    "Park View Hotel",
    "City Hostel",
    "Grand Plaza",
    "Harbour Rooms",
];

/// Places of one kind around a cell centre: the answer one provider call would give.
pub fn generate(cell: &str, center_lat: f64, center_lon: f64, kind: &str) -> Vec<FoundPlace> {
    let names: &[&str] = match kind {
        "restaurant" => &RESTAURANT_NAMES,
        "cafe" => &CAFE_NAMES,
        _ => &LODGING_NAMES,
    };
    let label = match kind {
        "restaurant" => "restaurant",
        "cafe" => "café",
        _ => "stay",
    };
    // One offset per cell and kind, so the six names of a lookup are all different.
    let offset = hash(&[cell, kind, "names"]) as usize;
    (0..6)
        .map(|n| {
            let h = hash(&[cell, kind, &n.to_string()]);
            // Up to about 1.8 km from the centre, in any direction.
            let angle = (h % 3600) as f64 / 10.0;
            let dist_km = 0.15 + (h / 3600 % 1650) as f64 / 1000.0;
            let dlat = dist_km / 111.2 * angle.to_radians().cos();
            let dlon = dist_km / (111.2 * center_lat.to_radians().cos().max(0.05))
                * angle.to_radians().sin();
            let name = names[(offset + n) % names.len()];
            FoundPlace {
                provider_id: format!("{cell}:{kind}:{n}"),
                name: format!("Demo {label} · {name}"),
                lat: center_lat + dlat,
                lon: center_lon + dlon,
                rating: Some(3.5 + (h >> 32) as f64 % 15.0 / 10.0),
                rating_count: Some(20 + ((h >> 40) % 1800) as i32),
                price_level: Some(1 + ((h >> 50) % 4) as i16),
                address: format!(
                    "Demo address near {:.4}, {:.4}",
                    center_lat + dlat,
                    center_lon + dlon
                ),
                url: None,
            }
        })
        .collect()
}

//! Great-circle geometry shared by the server and the browser.

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres between two points given in degrees.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// A latitude/longitude box that contains every point within `radius_km` of the centre
/// (used to narrow SQL queries before the exact distance check).
pub fn bounding_box(lat: f64, lon: f64, radius_km: f64) -> (f64, f64, f64, f64) {
    let dlat = (radius_km / EARTH_RADIUS_KM).to_degrees();
    let cos = lat.to_radians().cos().max(0.01);
    let dlon = (dlat / cos).min(180.0);
    (lat - dlat, lon - dlon, lat + dlat, lon + dlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incheon_to_narita_is_about_1260_km() {
        let d = haversine_km(37.4602, 126.4407, 35.7720, 140.3929);
        assert!((d - 1257.0).abs() < 5.0, "ICN-NRT was {d}");
    }

    #[test]
    fn box_contains_points_at_the_radius() {
        let (min_lat, min_lon, max_lat, max_lon) = bounding_box(60.0, 10.0, 5.0);
        for bearing in 0..36 {
            let b = (bearing as f64 * 10.0).to_radians();
            let lat = 60.0 + (4.99 / 111.2) * b.cos();
            let lon = 10.0 + (4.99 / (111.2 * 60f64.to_radians().cos())) * b.sin();
            assert!(haversine_km(60.0, 10.0, lat, lon) < 5.0);
            assert!(lat > min_lat && lat < max_lat && lon > min_lon && lon < max_lon);
        }
    }
}

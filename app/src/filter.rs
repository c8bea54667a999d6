//! The event filter: one definition of what travellers and API clients can ask for,
//! parsed from URL query pairs by the pages and the JSON API alike.

use crate::types::CATEGORIES;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;

/// How a list of events is ordered. Every order ends with the id, so paging is stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    /// Highest rank first.
    #[default]
    Rank,
    /// Soonest start first.
    Start,
    /// Title A to Z.
    Title,
    /// Largest predicted attendance first.
    Attendance,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Rank => "rank",
            Sort::Start => "start",
            Sort::Title => "title",
            Sort::Attendance => "attendance",
        }
    }
}

/// A longitude/latitude box: west, south, east, north. West may exceed east when the box
/// crosses the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// Where the previous page ended: the sort value and id of its last item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: Sort,
    pub value: String,
    pub id: String,
}

impl Cursor {
    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}\u{1f}{}\u{1f}{}",
            self.sort.as_str(),
            self.value,
            self.id
        );
        raw.bytes().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        if !token.len().is_multiple_of(2) || token.len() > 4096 {
            return None;
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let raw = String::from_utf8(bytes).ok()?;
        let mut parts = raw.split('\u{1f}');
        let sort = parse_sort(parts.next()?)?;
        let value = parts.next()?.to_string();
        let id = parts.next()?.to_string();
        if parts.next().is_some() || id.is_empty() {
            return None;
        }
        Some(Cursor { sort, value, id })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Free text matched against title, description, venue and city.
    pub q: Option<String>,
    pub categories: Vec<String>,
    /// ISO 3166-1 alpha-2 codes, upper case.
    pub countries: Vec<String>,
    /// Events that end on or after this date (YYYY-MM-DD).
    pub from: Option<String>,
    /// Events that start on or before this date (YYYY-MM-DD).
    pub to: Option<String>,
    pub rank_min: Option<i32>,
    pub rank_max: Option<i32>,
    pub local_rank_min: Option<i32>,
    pub local_rank_max: Option<i32>,
    /// Events with at least this predicted attendance.
    pub attendance_min: Option<i64>,
    pub bbox: Option<BBox>,
    /// Events within `radius_km` of this point.
    pub near: Option<Near>,
    pub sort: Sort,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

/// A circle around a point: "near me" or "near a place".
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Near {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}

/// The radius when `near` comes without one.
pub const DEFAULT_RADIUS_KM: f64 = 50.0;
pub const MAX_RADIUS_KM: f64 = 2000.0;

/// A parameter that could not be understood, named so the caller can fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("parameter `{param}`: {message}")]
pub struct FilterError {
    pub param: String,
    pub message: String,
}

fn bad(param: &str, message: impl Into<String>) -> FilterError {
    FilterError {
        param: param.to_string(),
        message: message.into(),
    }
}

fn parse_sort(s: &str) -> Option<Sort> {
    Some(match s {
        "rank" => Sort::Rank,
        "start" => Sort::Start,
        "title" => Sort::Title,
        "attendance" => Sort::Attendance,
        _ => return None,
    })
}

/// Checks a calendar date written as YYYY-MM-DD.
pub fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s[0..4].bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2999).contains(&y) && d >= 1 && d <= days
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_rank(param: &str, value: &str) -> Result<i32, FilterError> {
    match value.trim().parse::<i32>() {
        Ok(n) if (0..=100).contains(&n) => Ok(n),
        _ => Err(bad(param, "must be a whole number from 0 to 100")),
    }
}

fn parse_f64(param: &str, value: &str) -> Result<f64, FilterError> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(param, format!("`{value}` is not a number"))),
    }
}

impl EventFilter {
    /// Whether the filter asks for nothing but categories, countries and a box: the
    /// conditions that stored counts (map cells, dashboard rollups) can be kept by.
    pub fn only_kind_and_place(&self) -> bool {
        self.q.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.rank_min.is_none()
            && self.rank_max.is_none()
            && self.local_rank_min.is_none()
            && self.local_rank_max.is_none()
            && self.attendance_min.is_none()
            && self.near.is_none()
    }

    /// Parses URL query pairs. Unknown parameters are refused, so that a typo is reported
    /// instead of silently ignored; `extra` names parameters the caller handles itself.
    pub fn from_pairs(pairs: &[(String, String)], extra: &[&str]) -> Result<Self, FilterError> {
        let mut f = EventFilter {
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        let mut cursor = None;
        let mut radius_km = None;
        for (key, value) in pairs {
            let value = value.as_str();
            // An empty field (as an HTML form sends it) means "no constraint".
            if key.is_empty() || value.trim().is_empty() {
                continue;
            }
            match key.as_str() {
                "q" => {
                    let q = value.trim();
                    if q.chars().count() > 200 {
                        return Err(bad("q", "must be at most 200 characters"));
                    }
                    f.q = (!q.is_empty()).then(|| q.to_string());
                }
                "category" => {
                    for c in split_list(value) {
                        let c = c.to_ascii_lowercase();
                        if !CATEGORIES.contains(&c.as_str()) {
                            return Err(bad(
                                "category",
                                format!("unknown category `{c}`; known: {}", CATEGORIES.join(", ")),
                            ));
                        }
                        if !f.categories.contains(&c) {
                            f.categories.push(c);
                        }
                    }
                }
                "country" => {
                    for c in split_list(value) {
                        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                            return Err(bad(
                                "country",
                                format!("`{c}` is not an ISO 3166-1 alpha-2 code"),
                            ));
                        }
                        let c = c.to_ascii_uppercase();
                        if !f.countries.contains(&c) {
                            f.countries.push(c);
                        }
                    }
                }
                "from" | "to" => {
                    if !value.is_empty() {
                        if !is_valid_date(value) {
                            return Err(bad(key, "must be a date written YYYY-MM-DD"));
                        }
                        if key == "from" {
                            f.from = Some(value.to_string());
                        } else {
                            f.to = Some(value.to_string());
                        }
                    }
                }
                "rank_min" => f.rank_min = Some(parse_rank(key, value)?),
                "rank_max" => f.rank_max = Some(parse_rank(key, value)?),
                "local_rank_min" => f.local_rank_min = Some(parse_rank(key, value)?),
                "local_rank_max" => f.local_rank_max = Some(parse_rank(key, value)?),
                "attendance_min" => {
                    f.attendance_min = match value.trim().parse::<i64>() {
                        Ok(n) if n >= 0 => Some(n),
                        _ => return Err(bad(key, "must be a whole number, 0 or more")),
                    }
                }
                "near" => {
                    let parts: Vec<&str> = value.split(',').collect();
                    if parts.len() != 2 {
                        return Err(bad("near", "must be lat,lon"));
                    }
                    let (lat, lon) = (parse_f64("near", parts[0])?, parse_f64("near", parts[1])?);
                    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                        return Err(bad(
                            "near",
                            "latitude must be within -90..90 and longitude within -180..180",
                        ));
                    }
                    f.near = Some(Near {
                        lat,
                        lon,
                        radius_km: DEFAULT_RADIUS_KM,
                    });
                }
                "radius_km" => {
                    let r = parse_f64("radius_km", value)?;
                    if !(0.1..=MAX_RADIUS_KM).contains(&r) {
                        return Err(bad(
                            "radius_km",
                            format!("must be from 0.1 to {MAX_RADIUS_KM}"),
                        ));
                    }
                    radius_km = Some(r);
                }
                "bbox" => {
                    let parts: Vec<&str> = value.split(',').collect();
                    if parts.len() != 4 {
                        return Err(bad("bbox", "must be minLon,minLat,maxLon,maxLat"));
                    }
                    let b = BBox {
                        min_lon: parse_f64("bbox", parts[0])?,
                        min_lat: parse_f64("bbox", parts[1])?,
                        max_lon: parse_f64("bbox", parts[2])?,
                        max_lat: parse_f64("bbox", parts[3])?,
                    };
                    let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
                    let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
                    if !(lon_ok(b.min_lon) && lon_ok(b.max_lon)) {
                        return Err(bad("bbox", "longitudes must be within -180..180"));
                    }
                    if !(lat_ok(b.min_lat) && lat_ok(b.max_lat)) || b.min_lat > b.max_lat {
                        return Err(bad(
                            "bbox",
                            "latitudes must be within -90..90 with minLat <= maxLat",
                        ));
                    }
                    f.bbox = Some(b);
                }
                "sort" => {
                    f.sort = parse_sort(value.trim()).ok_or_else(|| {
                        bad("sort", "must be one of rank, start, title, attendance")
                    })?
                }
                "limit" => {
                    f.limit = match value.trim().parse::<u32>() {
                        Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                        _ => {
                            return Err(bad(
                                "limit",
                                format!("must be a whole number from 1 to {MAX_LIMIT}"),
                            ))
                        }
                    }
                }
                "cursor" => {
                    if !value.is_empty() {
                        cursor = Some(
                            Cursor::decode(value)
                                .ok_or_else(|| bad("cursor", "is not a cursor this API issued"))?,
                        );
                    }
                }
                other if extra.contains(&other) => {}
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(bad(&shown, "is not a known parameter"));
                }
            }
        }
        if let (Some(a), Some(b)) = (f.rank_min, f.rank_max) {
            if a > b {
                return Err(bad("rank_min", "must not exceed rank_max"));
            }
        }
        if let (Some(a), Some(b)) = (f.local_rank_min, f.local_rank_max) {
            if a > b {
                return Err(bad("local_rank_min", "must not exceed local_rank_max"));
            }
        }
        match (&mut f.near, radius_km) {
            (Some(n), Some(r)) => n.radius_km = r,
            (None, Some(_)) => return Err(bad("radius_km", "needs `near`")),
            _ => {}
        }
        if let (Some(a), Some(b)) = (&f.from, &f.to) {
            if a > b {
                return Err(bad("from", "must not be after `to`"));
            }
        }
        if let Some(c) = &cursor {
            if c.sort != f.sort {
                return Err(bad("cursor", "was issued for another sort order"));
            }
        }
        f.cursor = cursor;
        Ok(f)
    }

    /// The filter as query pairs (without limit and cursor), for links that keep the view.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |k: &str, v: String| out.push((k.to_string(), v));
        if let Some(q) = &self.q {
            push("q", q.clone());
        }
        if !self.categories.is_empty() {
            push("category", self.categories.join(","));
        }
        if !self.countries.is_empty() {
            push("country", self.countries.join(","));
        }
        if let Some(v) = &self.from {
            push("from", v.clone());
        }
        if let Some(v) = &self.to {
            push("to", v.clone());
        }
        if let Some(v) = self.rank_min {
            push("rank_min", v.to_string());
        }
        if let Some(v) = self.rank_max {
            push("rank_max", v.to_string());
        }
        if let Some(v) = self.local_rank_min {
            push("local_rank_min", v.to_string());
        }
        if let Some(v) = self.local_rank_max {
            push("local_rank_max", v.to_string());
        }
        if let Some(v) = self.attendance_min {
            push("attendance_min", v.to_string());
        }
        if let Some(n) = &self.near {
            push("near", format!("{},{}", n.lat, n.lon));
            push("radius_km", n.radius_km.to_string());
        }
        if let Some(b) = &self.bbox {
            push(
                "bbox",
                format!("{},{},{},{}", b.min_lon, b.min_lat, b.max_lon, b.max_lat),
            );
        }
        if self.sort != Sort::Rank {
            push("sort", self.sort.as_str().to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn categories_are_repeatable_or_comma_separated() {
        let f = EventFilter::from_pairs(
            &pairs(&[("category", "sports,Concerts"), ("category", "expos")]),
            &[],
        )
        .unwrap();
        assert_eq!(f.categories, vec!["sports", "concerts", "expos"]);
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (k, v) in [
            ("category", "parties"),
            ("country", "Korea"),
            ("from", "2027-02-30"),
            ("rank_min", "101"),
            ("bbox", "1,2,3"),
            ("bbox", "0,50,10,40"),
            ("limit", "0"),
            ("limit", "abc"),
            ("sort", "random"),
            ("cursor", "zz"),
            ("colour", "red"),
            ("local_rank_max", "-1"),
            ("attendance_min", "many"),
            ("near", "37.5"),
            ("near", "95,10"),
            ("radius_km", "10"),
        ] {
            let err = EventFilter::from_pairs(&pairs(&[(k, v)]), &[]).unwrap_err();
            assert_eq!(err.param, k, "{k}={v}");
        }
    }

    #[test]
    fn cursor_round_trips_and_must_match_the_sort() {
        let c = Cursor {
            sort: Sort::Start,
            value: "2027-06-01".into(),
            id: "demo:glastonbury".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c.clone()));
        let err = EventFilter::from_pairs(&pairs(&[("cursor", &c.encode())]), &[]).unwrap_err();
        assert_eq!(err.param, "cursor");
        let ok =
            EventFilter::from_pairs(&pairs(&[("sort", "start"), ("cursor", &c.encode())]), &[])
                .unwrap();
        assert_eq!(ok.cursor, Some(c));
    }

    #[test]
    fn empty_form_fields_are_no_constraint() {
        let f = EventFilter::from_pairs(
            &pairs(&[
                ("q", ""),
                ("category", "sports"),
                ("country", ""),
                ("from", ""),
                ("", ""),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(f.categories, vec!["sports"]);
        assert_eq!((f.q, f.from, f.countries.len()), (None, None, 0));
    }

    #[test]
    fn dates_are_checked_by_the_calendar() {
        assert!(is_valid_date("2028-02-29"));
        assert!(!is_valid_date("2027-02-29"));
        assert!(!is_valid_date("2027-13-01"));
        assert!(!is_valid_date("27-01-01"));
    }

    #[test]
    fn filter_survives_a_round_trip_through_pairs() {
        let f = EventFilter::from_pairs(
            &pairs(&[
                ("q", "jazz"),
                ("category", "concerts"),
                ("country", "kr,jp"),
                ("from", "2027-01-01"),
                ("to", "2027-12-31"),
                ("rank_min", "50"),
                ("local_rank_min", "10"),
                ("local_rank_max", "90"),
                ("attendance_min", "1000"),
                ("near", "37.5,127.0"),
                ("radius_km", "25"),
                ("bbox", "100,20,150,50"),
                ("sort", "start"),
            ]),
            &[],
        )
        .unwrap();
        let again = EventFilter::from_pairs(&f.to_pairs(), &[]).unwrap();
        assert_eq!(f, again);
    }
}

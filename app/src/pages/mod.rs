//! The pages: home (map and list), event, and not found.

pub mod event;
pub mod home;
pub mod not_found;

use leptos::prelude::*;

/// The label every page shows while demo providers supply its data.
#[component]
pub fn DemoBanner() -> impl IntoView {
    view! {
        <p class="demo-banner" role="note">
            <strong>"Demo data. "</strong>
            "Events come from TourSherpa's bundled demo feed of real, recurring events with "
            "illustrative dates; restaurants, cafés, places to stay and flight offers are generated "
            "and are not real places or prices."
        </p>
    }
}

/// Sets the HTTP status of a server-rendered page (no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(code) {
            resp.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// A category in words.
pub fn category_label(category: &str) -> &'static str {
    match category {
        "concerts" => "Concert",
        "festivals" => "Festival",
        "expos" => "Expo",
        "sports" => "Sports",
        "conferences" => "Conference",
        "performing-arts" => "Performing arts",
        _ => "Event",
    }
}

/// A whole number with thousands separators.
pub fn group_digits(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_grouped() {
        assert_eq!(super::group_digits(1234567), "1,234,567");
        assert_eq!(super::group_digits(-999), "-999");
        assert_eq!(super::group_digits(1000), "1,000");
    }
}

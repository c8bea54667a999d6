//! The pages: home (map and list), event, and not found.

pub mod admin;
pub mod country;
pub mod dashboard;
pub mod event;
pub mod filters;
pub mod home;
pub mod not_found;
pub mod place;

pub use crate::i18n::{category_label, fmt_int as group_digits};

use crate::i18n::{tr, use_lang};
use leptos::prelude::*;

/// The label every page shows while demo providers supply its data.
#[component]
pub fn DemoBanner() -> impl IntoView {
    let lang = use_lang();
    view! {
        <p class="demo-banner" role="note">
            <strong>{tr(lang, "Demo data. ")}</strong>
            {tr(lang, "Events come from TourSherpa's bundled demo feed of real, recurring events with illustrative dates; restaurants, cafés, places to stay and flight offers are generated and are not real places or prices.")}
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

/// Writes each `<time class="viewer-time" datetime=…>` in the viewer's own time zone and
/// locale. The server writes UTC; the browser knows the viewer's zone.
#[cfg(feature = "hydrate")]
pub fn show_viewer_times() {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(list) = doc.query_selector_all("time.viewer-time") else {
        return;
    };
    let options = js_sys::Object::new();
    for (k, v) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    for i in 0..list.length() {
        let Some(el) = list
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        if let Some(dt) = el.get_attribute("datetime") {
            let d = js_sys::Date::new(&JsValue::from_str(&dt));
            if !d.get_time().is_nan() {
                let lang = doc
                    .document_element()
                    .and_then(|e| e.get_attribute("lang"))
                    .unwrap_or_else(|| "en".into());
                let text: String = d.to_locale_string(&lang, &options).into();
                el.set_text_content(Some(&text));
            }
        }
    }
}

/// A page's `<title>`: "NAME · TourSherpa". leptos_meta writes the text into `<title>`
/// without escaping it when rendering on the server, so a provider's name holding
/// `</title><script>` would end the element early; the angle brackets become look-alike
/// quotation marks (‹ ›), which the browser shows as nearly the same text.
pub fn page_title(name: &str) -> String {
    format!("{name} · TourSherpa")
        .replace('<', "\u{2039}")
        .replace('>', "\u{203a}")
}

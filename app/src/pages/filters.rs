//! The event filter as a form, shared by the map and the dashboard: the same fields, the
//! same URL parameters, so a filter carries over from one page to the other.

use crate::i18n::{category_label, tr, use_lang};
use crate::types::CATEGORIES;
use leptos::prelude::*;

pub fn parse_search(search: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(search.trim_start_matches('?')).unwrap_or_default()
}

/// A parameter's value as written (the last one when repeated).
pub fn raw_value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// Every value of a parameter, comma lists split.
pub fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The filter fields (without the form around them), filled from the URL's `pairs`.
#[component]
pub fn FilterFields(pairs: Memo<Vec<(String, String)>>) -> impl IntoView {
    let lang = use_lang();
    // One value as written (text, dates, numbers) or a list joined (countries).
    let param = move |k: &str| raw_value(&pairs.read(), k).unwrap_or_default();
    let list = move |k: &str| values(&pairs.read(), k).join(",");
    let has = move |k: &str, v: &str| values(&pairs.read(), k).iter().any(|x| x == v);
    view! {
        <label class="wide">{tr(lang, "Search ")} <input type="search" name="q" value=move || param("q") placeholder=tr(lang, "Title, venue or city")/></label>
        <fieldset class="categories">
            <legend>{tr(lang, "Categories")}</legend>
            {CATEGORIES
                .iter()
                .map(|c| view! {
                    <label class="check">
                        <input type="checkbox" name="category" value=*c prop:checked=move || has("category", c)/>
                        {category_label(lang, c)}
                    </label>
                })
                .collect_view()}
        </fieldset>
        <label>{tr(lang, "Countries ")} <input name="country" size="8" value=move || list("country") placeholder="KR,JP" title="ISO country codes, comma separated"/></label>
        <label>{tr(lang, "From ")} <input type="date" name="from" value=move || param("from")/></label>
        <label>{tr(lang, "To ")} <input type="date" name="to" value=move || param("to")/></label>
        <label>{tr(lang, "Rank ")} <span class="range">
            <input type="number" name="rank_min" min="0" max="100" aria-label=tr(lang, "Lowest rank") value=move || param("rank_min")/>
            "–"
            <input type="number" name="rank_max" min="0" max="100" aria-label=tr(lang, "Highest rank") value=move || param("rank_max")/>
        </span></label>
        <label>{tr(lang, "Local rank ")} <span class="range">
            <input type="number" name="local_rank_min" min="0" max="100" aria-label=tr(lang, "Lowest local rank") value=move || param("local_rank_min")/>
            "–"
            <input type="number" name="local_rank_max" min="0" max="100" aria-label=tr(lang, "Highest local rank") value=move || param("local_rank_max")/>
        </span></label>
        <label>{tr(lang, "Min. attendance ")} <input type="number" name="attendance_min" min="0" step="1000" value=move || param("attendance_min")/></label>
        <NearField value=Signal::derive(move || param("near")) radius=Signal::derive(move || param("radius_km"))/>
    }
}

/// "Near me or near a place": a place name, an airport code or `lat,lon`, and a radius.
/// "Use my location" fills in the browser's position.
#[component]
fn NearField(value: Signal<String>, radius: Signal<String>) -> impl IntoView {
    let lang = use_lang();
    let input = NodeRef::<leptos::html::Input>::new();
    let locate = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::prelude::*;
            let Some(el) = input.get() else { return };
            let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else {
                return;
            };
            // Read through Reflect: web-sys marks the typed position API unstable.
            let ok = Closure::once_into_js(move |pos: JsValue| {
                let get = |o: &JsValue, k: &str| {
                    js_sys::Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
                };
                let coords = get(&pos, "coords");
                if let (Some(lat), Some(lon)) = (
                    get(&coords, "latitude").as_f64(),
                    get(&coords, "longitude").as_f64(),
                ) {
                    el.set_value(&format!("{lat:.4},{lon:.4}"));
                }
            });
            let _ = geo.get_current_position(ok.unchecked_ref());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = input;
    };
    view! {
        <label>
            {tr(lang, "Near ")}
            <input name="near" node_ref=input size="14" value=move || value.get() placeholder=tr(lang, "Seoul, NRT or lat,lon")/>
        </label>
        <label>{tr(lang, "Within (km) ")} <input type="number" name="radius_km" min="1" max="2000" value=move || radius.get() placeholder="50"/></label>
        <button type="button" class="secondary" on:click=locate>{tr(lang, "Use my location")}</button>
    }
}

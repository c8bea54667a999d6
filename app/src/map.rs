//! The world map: a Leaflet map driven from Rust through wasm-bindgen. The server renders
//! an empty container; in the browser an effect draws the bundled country shapes (and
//! tiles when a tile URL is configured) and one marker per event.

use crate::types::{MapPoint, SiteInfo};
use leptos::html::Div;
use leptos::prelude::*;

/// The map of the current result set. It stays mounted while filters change (outside any
/// `Suspense`) and redraws its markers whenever `data` changes.
#[component]
pub fn WorldMap(data: Signal<Option<(Vec<MapPoint>, SiteInfo)>>) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let (Some(el), Some((points, site))) = (node.get(), data.get()) {
            leaflet::draw(&el, &points, &site.tile_url, &site.tile_attribution);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = data;
    view! { <div class="world-map" node_ref=node role="region" aria-label="World map of the events"></div> }
}

#[cfg(feature = "hydrate")]
mod leaflet {
    use crate::types::MapPoint;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen]
    extern "C" {
        type LMap;
        #[wasm_bindgen(js_namespace = L, js_name = map)]
        fn new_map(el: &web_sys::HtmlElement, options: &JsValue) -> LMap;
        #[wasm_bindgen(method, js_name = setView)]
        fn set_view(this: &LMap, center: &JsValue, zoom: f64) -> LMap;

        type Layer;
        #[wasm_bindgen(js_namespace = L, js_name = tileLayer)]
        fn tile_layer(url: &str, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = geoJSON)]
        fn geo_json(data: &JsValue, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = circleMarker)]
        fn circle_marker(latlng: &JsValue, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = layerGroup)]
        fn layer_group() -> Layer;
        #[wasm_bindgen(method, js_name = addTo)]
        fn add_to(this: &Layer, map: &LMap) -> Layer;
        #[wasm_bindgen(method, js_name = addTo)]
        fn add_to_layer(this: &Layer, group: &Layer) -> Layer;
        #[wasm_bindgen(method, js_name = clearLayers)]
        fn clear_layers(this: &Layer);
        #[wasm_bindgen(method, js_name = bringToBack)]
        fn bring_to_back(this: &Layer) -> Layer;
        /// Binds a DOM element (never an HTML string: titles come from providers).
        #[wasm_bindgen(method, js_name = bindPopup)]
        fn bind_popup(this: &Layer, content: &web_sys::Element) -> Layer;
        #[wasm_bindgen(method, js_name = bindTooltip)]
        fn bind_tooltip(this: &Layer, content: &web_sys::Element) -> Layer;
    }

    fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
        }
        o.into()
    }

    fn latlng(lat: f64, lon: f64) -> JsValue {
        js_sys::Array::of2(&lat.into(), &lon.into()).into()
    }

    fn colour(category: &str) -> &'static str {
        // Okabe–Ito palette: distinguishable with colour-blindness.
        match category {
            "concerts" => "#E69F00",
            "festivals" => "#D55E00",
            "expos" => "#0072B2",
            "sports" => "#009E73",
            "conferences" => "#CC79A7",
            "performing-arts" => "#56B4E9",
            _ => "#444444",
        }
    }

    fn text_element(doc: &web_sys::Document, tag: &str, text: &str) -> Option<web_sys::Element> {
        let el = doc.create_element(tag).ok()?;
        el.set_text_content(Some(text));
        Some(el)
    }

    fn popup(doc: &web_sys::Document, p: &MapPoint) -> Option<web_sys::Element> {
        let root = doc.create_element("div").ok()?;
        root.set_class_name("map-popup");
        let title = text_element(doc, "strong", &p.title)?;
        root.append_child(&title).ok()?;
        let link = text_element(doc, "a", "Open the event")?;
        link.set_attribute("href", &format!("/events/{}", p.id))
            .ok()?;
        let br = doc.create_element("br").ok()?;
        root.append_child(&br).ok()?;
        root.append_child(&link).ok()?;
        Some(root)
    }

    /// Draws the points on the map in `el`, creating the map on first use. Leptos may keep
    /// the same container element when the page's data changes, so the map and its marker
    /// layer are remembered on the element and only the markers are replaced.
    pub fn draw(
        el: &web_sys::HtmlDivElement,
        points: &[MapPoint],
        tile_url: &str,
        attribution: &str,
    ) {
        let el: &web_sys::HtmlElement = el.unchecked_ref();
        let key = JsValue::from_str("__toursherpaMarkers");
        let markers: Layer = match js_sys::Reflect::get(el, &key) {
            Ok(existing) if !existing.is_undefined() => existing.unchecked_into(),
            _ => {
                let group = create_map(el, tile_url, attribution);
                let _ = js_sys::Reflect::set(el, &key, &group);
                group
            }
        };
        markers.clear_layers();
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        for p in points {
            let marker = circle_marker(
                &latlng(p.lat, p.lon),
                &obj(&[
                    ("radius", 5.0.into()),
                    ("weight", 1.0.into()),
                    ("color", "#222".into()),
                    ("fillColor", colour(&p.category).into()),
                    ("fillOpacity", 0.85.into()),
                    ("className", "event-marker".into()),
                ]),
            );
            if let Some(content) = popup(&doc, p) {
                marker.bind_popup(&content);
            }
            if let Some(tip) = text_element(&doc, "span", &p.title) {
                marker.bind_tooltip(&tip);
            }
            marker.add_to_layer(&markers);
        }
        let _ = el.set_attribute("data-markers", &points.len().to_string());
    }

    /// A new map in `el` with optional tiles and the bundled country shapes; returns the
    /// (empty) marker layer.
    fn create_map(el: &web_sys::HtmlElement, tile_url: &str, attribution: &str) -> Layer {
        let map = new_map(
            el,
            &obj(&[("worldCopyJump", true.into()), ("minZoom", 1.0.into())]),
        );
        map.set_view(&latlng(25.0, 10.0), 2.0);
        if !tile_url.is_empty() {
            tile_layer(
                tile_url,
                &obj(&[
                    ("attribution", attribution.into()),
                    ("maxZoom", 18.0.into()),
                ]),
            )
            .add_to(&map);
        }
        let markers = layer_group();
        markers.add_to(&map);
        // Country shapes come from the bundled GeoJSON, so the map works without tiles.
        wasm_bindgen_futures::spawn_local(async move {
            let Some(window) = web_sys::window() else {
                return;
            };
            let Ok(resp) = wasm_bindgen_futures::JsFuture::from(
                window.fetch_with_str("/geo/countries-110m.geojson"),
            )
            .await
            else {
                return;
            };
            let resp: web_sys::Response = resp.unchecked_into();
            let Ok(json) = resp.json() else { return };
            let Ok(data) = wasm_bindgen_futures::JsFuture::from(json).await else {
                return;
            };
            let style = obj(&[
                ("color", "#7a8b99".into()),
                ("weight", 0.6.into()),
                ("fillColor", "#e8eef2".into()),
                ("fillOpacity", 1.0.into()),
                ("interactive", false.into()),
            ]);
            geo_json(&data, &obj(&[("style", style)]))
                .add_to(&map)
                .bring_to_back();
        });
        markers
    }
}

//! The maps, Leaflet driven from Rust through wasm-bindgen. The server renders empty
//! containers of a fixed size (no layout jump); in the browser the world map asks the
//! server for clusters of the filtered events for its current view and zoom
//! (`/api/v1/map/clusters`), so it never holds more than a few thousand markers whatever
//! the size of the store. The event page's small map shows the venue and the places near it.

use crate::types::SiteInfo;
use leptos::html::Div;
use leptos::prelude::*;

/// Where the map looks: `lat,lon,zoom` for the URL and the visible box for a `bbox` filter.
#[derive(Clone, Debug, PartialEq)]
pub struct MapView {
    pub view: String,
    pub bbox: String,
}

/// The home page's map of the filtered set. It stays mounted while filters change (outside
/// any `Suspense`) and reloads its clusters when the filter or the view changes.
#[component]
pub fn WorldMap(
    /// The filter as the JSON API takes it, and the site settings; `None` while loading.
    data: Signal<Option<(String, SiteInfo)>>,
    /// The `view` URL parameter (`lat,lon,zoom`): where the map opens, and where it goes on
    /// back and forward.
    view: Signal<Option<String>>,
    /// The selected event (the `event` URL parameter).
    selected: Signal<Option<String>>,
    on_view: Callback<MapView>,
    on_select: Callback<String>,
) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            if let (Some(el), Some((query, site))) = (node.get(), data.get()) {
                leaflet::show(
                    &el,
                    &query,
                    &site,
                    view.get_untracked().as_deref(),
                    on_view,
                    on_select,
                );
                if let Some(id) = selected.get_untracked() {
                    leaflet::select(&id);
                }
            }
        });
        Effect::new(move |_| {
            if let Some(v) = view.get() {
                leaflet::follow_view(&v);
            }
        });
        Effect::new(move |prev: Option<Option<String>>| {
            let now = selected.get();
            if prev.is_some() && now != prev.flatten() {
                if let Some(id) = &now {
                    leaflet::select(id);
                }
            }
            now
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (data, view, selected, on_view, on_select);
    let lang = crate::i18n::use_lang();
    view! {
        <div class="world-map" node_ref=node role="region"
            aria-label=crate::i18n::tr(lang, "World map of the events: clusters show how many events each area holds; the list beside it has the same events")></div>
    }
}

/// Where the world map looks now (`None` before it exists, and on the server).
pub fn current_view() -> Option<MapView> {
    #[cfg(feature = "hydrate")]
    return leaflet::current_view();
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Rings the given point on the world map (a list item under the pointer or the keyboard),
/// or removes the ring.
pub fn highlight(point: Option<(f64, f64)>) {
    #[cfg(feature = "hydrate")]
    leaflet::highlight(point);
    #[cfg(not(feature = "hydrate"))]
    let _ = point;
}

/// A point on the event page's small map.
#[derive(Clone, Debug, PartialEq)]
pub struct Pin {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
    /// `venue`, `restaurant`, `cafe` or `lodging`.
    pub kind: &'static str,
}

/// A small map of an event's venue and the places around it.
#[component]
pub fn PlacesMap(pins: Vec<Pin>, tile_url: String, attribution: String) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    let described = format!(
        "Map of the venue and {} places nearby; the lists give each one's distance",
        pins.len().saturating_sub(1)
    );
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            leaflet::places_map(&el, &pins, &tile_url, &attribution);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (pins, tile_url, attribution);
    view! { <div class="places-map" node_ref=node role="img" aria-label=described></div> }
}

#[cfg(feature = "hydrate")]
mod leaflet {
    use super::{MapView, Pin};
    use crate::types::{Cluster, SiteInfo};
    use leptos::prelude::{Callable, Callback};
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen]
    extern "C" {
        #[derive(Clone)]
        type LMap;
        #[wasm_bindgen(js_namespace = L, js_name = map)]
        fn new_map(el: &web_sys::HtmlElement, options: &JsValue) -> LMap;
        #[wasm_bindgen(method, js_name = setView)]
        fn set_view(this: &LMap, center: &JsValue, zoom: f64) -> LMap;
        #[wasm_bindgen(method, js_name = fitBounds)]
        fn fit_bounds(this: &LMap, bounds: &JsValue, options: &JsValue) -> LMap;
        #[wasm_bindgen(method, js_name = getZoom)]
        fn get_zoom(this: &LMap) -> f64;
        #[wasm_bindgen(method, js_name = getCenter)]
        fn get_center(this: &LMap) -> LatLng;
        #[wasm_bindgen(method, js_name = getBounds)]
        fn get_bounds(this: &LMap) -> Bounds;
        #[wasm_bindgen(method, js_name = getMaxZoom)]
        fn get_max_zoom(this: &LMap) -> f64;
        #[wasm_bindgen(method)]
        fn on(this: &LMap, event: &str, handler: &js_sys::Function) -> LMap;

        type LatLng;
        #[wasm_bindgen(method, getter)]
        fn lat(this: &LatLng) -> f64;
        #[wasm_bindgen(method, getter)]
        fn lng(this: &LatLng) -> f64;

        type Bounds;
        #[wasm_bindgen(method, js_name = getWest)]
        fn west(this: &Bounds) -> f64;
        #[wasm_bindgen(method, js_name = getEast)]
        fn east(this: &Bounds) -> f64;
        #[wasm_bindgen(method, js_name = getSouth)]
        fn south(this: &Bounds) -> f64;
        #[wasm_bindgen(method, js_name = getNorth)]
        fn north(this: &Bounds) -> f64;

        #[derive(Clone)]
        type Layer;
        #[wasm_bindgen(js_namespace = L, js_name = tileLayer)]
        fn tile_layer(url: &str, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = geoJSON)]
        fn geo_json(data: &JsValue, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = circleMarker)]
        fn circle_marker(latlng: &JsValue, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = marker)]
        fn marker(latlng: &JsValue, options: &JsValue) -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = divIcon)]
        fn div_icon(options: &JsValue) -> JsValue;
        #[wasm_bindgen(js_namespace = L, js_name = layerGroup)]
        fn layer_group() -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = featureGroup)]
        fn feature_group() -> Layer;
        #[wasm_bindgen(js_namespace = L, js_name = popup)]
        fn popup_new(options: &JsValue) -> Layer;
        #[wasm_bindgen(method, js_name = setLatLng)]
        fn set_lat_lng(this: &Layer, latlng: &JsValue) -> Layer;
        #[wasm_bindgen(method, js_name = setContent)]
        fn set_content(this: &Layer, content: &web_sys::Element) -> Layer;
        #[wasm_bindgen(method, js_name = openOn)]
        fn open_on(this: &Layer, map: &LMap) -> Layer;
        #[wasm_bindgen(method, js_name = openPopup)]
        fn open_popup(this: &Layer) -> Layer;
        #[wasm_bindgen(method, js_name = addTo)]
        fn add_to(this: &Layer, map: &LMap) -> Layer;
        #[wasm_bindgen(method, js_name = addTo)]
        fn add_to_layer(this: &Layer, group: &Layer) -> Layer;
        #[wasm_bindgen(method, js_name = clearLayers)]
        fn clear_layers(this: &Layer);
        #[wasm_bindgen(method, js_name = bringToBack)]
        fn bring_to_back(this: &Layer) -> Layer;
        #[wasm_bindgen(method, js_name = on)]
        fn layer_on(this: &Layer, event: &str, handler: &js_sys::Function) -> Layer;
        /// Binds a DOM element (never an HTML string: titles come from providers).
        #[wasm_bindgen(method, js_name = bindPopup)]
        fn bind_popup(this: &Layer, content: &web_sys::Element) -> Layer;
        #[wasm_bindgen(method, js_name = bindTooltip)]
        fn bind_tooltip(this: &Layer, content: &web_sys::Element) -> Layer;
    }

    /// The home map, kept between filter changes.
    struct Home {
        el: web_sys::HtmlElement,
        map: LMap,
        markers: Layer,
        ring: Layer,
        query: String,
        /// Only the answer to the latest cluster request is drawn.
        seq: u32,
        /// The single-event markers of the last drawing, by event id.
        singles: Vec<(String, Layer)>,
        /// The marker event handlers (click, key press, mouse over and out), shared by all
        /// markers.
        handlers: [(&'static str, js_sys::Function); 4],
        on_view: Callback<MapView>,
        on_select: Callback<String>,
    }

    impl Home {
        fn listen(&self, marker: &Layer) {
            for (event, f) in &self.handlers {
                marker.layer_on(event, f);
            }
        }
    }

    thread_local! {
        static HOME: RefCell<Option<Home>> = const { RefCell::new(None) };
    }

    fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
        }
        o.into()
    }

    fn get(o: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
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

    fn document() -> Option<web_sys::Document> {
        web_sys::window().and_then(|w| w.document())
    }

    fn text_element(doc: &web_sys::Document, tag: &str, text: &str) -> Option<web_sys::Element> {
        let el = doc.create_element(tag).ok()?;
        el.set_text_content(Some(text));
        Some(el)
    }

    fn event_popup(doc: &web_sys::Document, id: &str, title: &str) -> Option<web_sys::Element> {
        let root = doc.create_element("div").ok()?;
        root.set_class_name("map-popup");
        let strong: web_sys::Node = text_element(doc, "strong", title)?.into();
        root.append_child(&strong).ok()?;
        let br: web_sys::Node = doc.create_element("br").ok()?.into();
        root.append_child(&br).ok()?;
        let link = text_element(doc, "a", "Open the event")?;
        link.set_attribute("href", &format!("/events/{}", encode(id)))
            .ok()?;
        root.append_child(&link).ok()?;
        Some(root)
    }

    fn encode(s: &str) -> String {
        String::from(js_sys::encode_uri_component(s))
    }

    /// Tiles when configured, and the bundled country shapes (so the map works offline).
    fn base_layers(map: &LMap, tile_url: &str, attribution: &str) {
        if !tile_url.is_empty() {
            tile_layer(
                tile_url,
                &obj(&[
                    ("attribution", attribution.into()),
                    ("maxZoom", 18.0.into()),
                ]),
            )
            .add_to(map);
        }
        let map = map.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Some(data) = fetch_json("/geo/countries-110m.geojson").await else {
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
    }

    async fn fetch_text(url: &str) -> Option<String> {
        let window = web_sys::window()?;
        let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
            .await
            .ok()?;
        let resp: web_sys::Response = resp.unchecked_into();
        if !resp.ok() {
            return None;
        }
        let text = wasm_bindgen_futures::JsFuture::from(resp.text().ok()?)
            .await
            .ok()?;
        text.as_string()
    }

    async fn fetch_json(url: &str) -> Option<JsValue> {
        js_sys::JSON::parse(&fetch_text(url).await?).ok()
    }

    /// `lat,lon,zoom` as the URL keeps it.
    fn parse_view(v: &str) -> Option<(f64, f64, f64)> {
        let mut it = v.split(',').map(|p| p.trim().parse::<f64>().ok());
        let (lat, lon, zoom) = (it.next()??, it.next()??, it.next()??);
        ((-90.0..=90.0).contains(&lat)
            && (-540.0..=540.0).contains(&lon)
            && (0.0..=19.0).contains(&zoom))
        .then_some((lat, lon, zoom))
    }

    fn wrap_lon(lon: f64) -> f64 {
        (lon + 180.0).rem_euclid(360.0) - 180.0
    }

    /// The visible box as the API's `bbox` (longitudes wrapped into -180..180).
    fn bbox_of(map: &LMap) -> String {
        let b = map.get_bounds();
        let (s, n) = (b.south().max(-90.0), b.north().min(90.0));
        let (w, e) = if b.east() - b.west() >= 360.0 {
            (-180.0, 180.0)
        } else {
            (wrap_lon(b.west()), wrap_lon(b.east()))
        };
        format!("{w:.5},{s:.5},{e:.5},{n:.5}")
    }

    fn view_of(map: &LMap) -> String {
        let c = map.get_center();
        format!("{:.4},{:.4},{}", c.lat(), wrap_lon(c.lng()), map.get_zoom())
    }

    /// Shows the filtered set (as the API query `query`) on the map in `el`, creating the
    /// map on first use.
    pub fn show(
        el: &web_sys::HtmlDivElement,
        query: &str,
        site: &SiteInfo,
        view: Option<&str>,
        on_view: Callback<MapView>,
        on_select: Callback<String>,
    ) {
        let el: web_sys::HtmlElement = el.clone().unchecked_into();
        let same = HOME.with(|h| h.borrow().as_ref().is_some_and(|h| h.el == el));
        if !same {
            create_home(&el, site, view, on_view, on_select);
        }
        HOME.with(|h| {
            if let Some(h) = h.borrow_mut().as_mut() {
                h.query = query.to_string();
            }
        });
        reload();
    }

    fn create_home(
        el: &web_sys::HtmlElement,
        site: &SiteInfo,
        view: Option<&str>,
        on_view: Callback<MapView>,
        on_select: Callback<String>,
    ) {
        let map = new_map(
            el,
            &obj(&[
                ("worldCopyJump", true.into()),
                ("minZoom", 1.0.into()),
                ("maxZoom", 18.0.into()),
            ]),
        );
        match view.and_then(parse_view) {
            Some((lat, lon, zoom)) => map.set_view(&latlng(lat, lon), zoom),
            None => map.set_view(&latlng(25.0, 10.0), 2.0),
        };
        base_layers(&map, &site.tile_url, &site.tile_attribution);
        let markers = feature_group();
        markers.add_to(&map);
        let ring = layer_group();
        ring.add_to(&map);

        // One handler per event type, made once and given to every marker (markers are
        // redrawn on every move and must not leak closures). Handlers read the marker
        // from the event; they never hold the map's state while the map moves (a move
        // may redraw at once).
        let click = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            activate(&get(&e, "target"));
        });
        // Enter on a focused marker (Leaflet opens popups on it, nothing else).
        let key = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            if get(&get(&e, "originalEvent"), "key").as_string().as_deref() == Some("Enter") {
                activate(&get(&e, "target"));
            }
        });
        let hover = |on: bool| {
            Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                if let Some(id) = get(&get(&get(&e, "target"), "options"), "tsId").as_string() {
                    mark_list_item(&id, "hovered", on);
                }
            })
        };
        let handlers = [
            (
                "click",
                click.into_js_value().unchecked_into::<js_sys::Function>(),
            ),
            ("keypress", key.into_js_value().unchecked_into()),
            ("mouseover", hover(true).into_js_value().unchecked_into()),
            ("mouseout", hover(false).into_js_value().unchecked_into()),
        ];

        let moved = Closure::<dyn FnMut()>::new(move || {
            let view = HOME.with(|h| {
                h.borrow().as_ref().map(|h| {
                    (
                        h.on_view,
                        MapView {
                            view: view_of(&h.map),
                            bbox: bbox_of(&h.map),
                        },
                    )
                })
            });
            if let Some((cb, v)) = view {
                cb.run(v);
            }
            reload();
        });
        map.on("moveend", moved.as_ref().unchecked_ref());
        moved.forget();

        HOME.with(|h| {
            *h.borrow_mut() = Some(Home {
                el: el.clone(),
                map,
                markers,
                ring,
                query: String::new(),
                seq: 0,
                singles: Vec::new(),
                handlers,
                on_view,
                on_select,
            })
        });
    }

    /// A marker was clicked or activated from the keyboard: select its event, or zoom into
    /// its cluster; a cluster that cannot be split by zooming (one place) offers its events
    /// as a list.
    fn activate(marker: &JsValue) {
        let options = get(marker, "options");
        if let Some(id) = get(&options, "tsId").as_string() {
            if let Some(on_select) = HOME.with(|h| h.borrow().as_ref().map(|h| h.on_select)) {
                on_select.run(id.clone());
            }
            mark_list_item(&id, "selected", true);
            return;
        }
        let (Some(lat), Some(lon)) = (
            get(&options, "tsLat").as_f64(),
            get(&options, "tsLon").as_f64(),
        ) else {
            return;
        };
        let Some(map) = HOME.with(|h| h.borrow().as_ref().map(|h| h.map.clone())) else {
            return;
        };
        if map.get_zoom() + 1.0 <= map.get_max_zoom() {
            map.set_view(
                &latlng(lat, lon),
                (map.get_zoom() + 2.0).min(map.get_max_zoom()),
            );
            return;
        }
        let Some(doc) = document() else { return };
        let count = get(&options, "tsCount").as_f64().unwrap_or(0.0);
        let Some(link) = text_element(&doc, "a", &format!("List these {count} events")) else {
            return;
        };
        let _ = link.set_attribute("href", &format!("/?near={lat:.6},{lon:.6}&radius_km=0.2"));
        popup_new(&JsValue::UNDEFINED)
            .set_lat_lng(&latlng(lat, lon))
            .set_content(&link)
            .open_on(&map);
    }

    /// Asks for the clusters of the current filter, view and zoom, and draws the answer if
    /// no newer request was made meanwhile.
    fn reload() {
        let Some((url, seq, bbox)) = HOME.with(|h| {
            let mut h = h.borrow_mut();
            let h = h.as_mut()?;
            h.seq += 1;
            let zoom = h.map.get_zoom().round().clamp(0.0, 22.0);
            let sep = if h.query.is_empty() { "" } else { "&" };
            let bbox = bbox_of(&h.map);
            Some((
                format!(
                    "/api/v1/map/clusters?{}{sep}zoom={zoom}&bbox={bbox}",
                    h.query
                ),
                h.seq,
                bbox,
            ))
        }) else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let Some(text) = fetch_text(&url).await else {
                return;
            };
            #[derive(serde::Deserialize)]
            struct Answer {
                clusters: Vec<Cluster>,
            }
            let Ok(answer) = serde_json::from_str::<Answer>(&text) else {
                return;
            };
            HOME.with(|h| {
                let mut h = h.borrow_mut();
                if let Some(h) = h.as_mut() {
                    if h.seq == seq {
                        draw(h, &answer.clusters, &bbox);
                    }
                }
            });
        });
    }

    fn draw(h: &mut Home, clusters: &[Cluster], bbox: &str) {
        let Some(doc) = document() else { return };
        h.markers.clear_layers();
        h.singles.clear();
        let mut events = 0u64;
        for c in clusters {
            events += c.count;
            let at = latlng(c.lat, c.lon);
            match (&c.id, c.count) {
                (Some(id), 1) => {
                    let title = c.title.clone().unwrap_or_default();
                    let category = c.category.clone().unwrap_or_default();
                    let icon = div_icon(&obj(&[
                        ("className", "event-pin".into()),
                        (
                            "html",
                            format!("<span style=\"background:{}\"></span>", colour(&category))
                                .into(),
                        ),
                        (
                            "iconSize",
                            js_sys::Array::of2(&16.into(), &16.into()).into(),
                        ),
                    ]));
                    let m = marker(
                        &at,
                        &obj(&[
                            ("icon", icon),
                            ("title", title.clone().into()),
                            ("alt", title.clone().into()),
                            ("keyboard", true.into()),
                            ("tsId", id.clone().into()),
                        ]),
                    );
                    if let Some(content) = event_popup(&doc, id, &title) {
                        m.bind_popup(&content);
                    }
                    h.listen(&m);
                    m.add_to_layer(&h.markers);
                    h.singles.push((id.clone(), m));
                }
                _ => {
                    let size = (26.0 + (c.count as f64).log10() * 8.0).min(56.0);
                    let icon = div_icon(&obj(&[
                        ("className", "cluster-pin".into()),
                        // A number only: no provider text goes into this HTML.
                        ("html", format!("<span>{}</span>", c.count).into()),
                        (
                            "iconSize",
                            js_sys::Array::of2(&size.into(), &size.into()).into(),
                        ),
                    ]));
                    let label = format!("{} events here: zoom in", c.count);
                    let m = marker(
                        &at,
                        &obj(&[
                            ("icon", icon),
                            ("title", label.clone().into()),
                            ("alt", label.into()),
                            ("keyboard", true.into()),
                            ("tsLat", c.lat.into()),
                            ("tsLon", c.lon.into()),
                            ("tsCount", (c.count as f64).into()),
                        ]),
                    );
                    h.listen(&m);
                    m.add_to_layer(&h.markers);
                }
            }
        }
        let _ = h.el.set_attribute("data-events", &events.to_string());
        let _ =
            h.el.set_attribute("data-clusters", &clusters.len().to_string());
        let _ = h.el.set_attribute("data-query", &h.query);
        let _ = h.el.set_attribute("data-bbox", bbox);
    }

    pub fn current_view() -> Option<MapView> {
        HOME.with(|h| {
            h.borrow().as_ref().map(|h| MapView {
                view: view_of(&h.map),
                bbox: bbox_of(&h.map),
            })
        })
    }

    /// Follows the URL's view (back and forward) unless the map is already there.
    pub fn follow_view(v: &str) {
        let Some((lat, lon, zoom)) = parse_view(v) else {
            return;
        };
        let Some(map) = HOME.with(|h| h.borrow().as_ref().map(|h| h.map.clone())) else {
            return;
        };
        let c = map.get_center();
        let close = (c.lat() - lat).abs() < 1e-3
            && (wrap_lon(c.lng()) - wrap_lon(lon)).abs() < 1e-3
            && (map.get_zoom() - zoom).abs() < 0.01;
        if !close {
            map.set_view(&latlng(lat, lon), zoom);
        }
    }

    /// Opens the selected event's preview: its marker's popup when it is drawn alone,
    /// otherwise a popup at its place.
    pub fn select(id: &str) {
        let drawn = HOME.with(|h| {
            h.borrow().as_ref().and_then(|h| {
                h.singles
                    .iter()
                    .find(|(sid, _)| sid == id)
                    .map(|(_, m)| m.clone())
            })
        });
        mark_list_item(id, "selected", true);
        if let Some(m) = drawn {
            m.open_popup();
            return;
        }
        let id = id.to_string();
        wasm_bindgen_futures::spawn_local(async move {
            let Some(e) = fetch_json(&format!("/api/v1/events/{}", encode(&id))).await else {
                return;
            };
            let (Some(lat), Some(lon), Some(title)) = (
                get(&e, "lat").as_f64(),
                get(&e, "lon").as_f64(),
                get(&e, "title").as_string(),
            ) else {
                return;
            };
            let Some(doc) = document() else { return };
            let Some(content) = event_popup(&doc, &id, &title) else {
                return;
            };
            HOME.with(|h| {
                if let Some(h) = h.borrow().as_ref() {
                    popup_new(&obj(&[("autoPan", false.into())]))
                        .set_lat_lng(&latlng(lat, lon))
                        .set_content(&content)
                        .open_on(&h.map);
                }
            });
        });
    }

    /// Adds or removes a class on the list item of an event (the list mirrors the map).
    fn mark_list_item(id: &str, class: &str, on: bool) {
        let Some(doc) = document() else { return };
        let Ok(items) = doc.query_selector_all(".event-item") else {
            return;
        };
        for i in 0..items.length() {
            let Some(el) = items
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            let this = el.get_attribute("data-id").as_deref() == Some(id);
            if this {
                let _ = if on {
                    el.class_list().add_1(class)
                } else {
                    el.class_list().remove_1(class)
                };
                if on && class == "selected" {
                    el.scroll_into_view_with_bool(false);
                }
            } else if on && class == "selected" {
                let _ = el.class_list().remove_1(class);
            }
        }
    }

    pub fn highlight(point: Option<(f64, f64)>) {
        HOME.with(|h| {
            if let Some(h) = h.borrow().as_ref() {
                h.ring.clear_layers();
                if let Some((lat, lon)) = point {
                    circle_marker(
                        &latlng(lat, lon),
                        &obj(&[
                            ("radius", 14.0.into()),
                            ("weight", 3.0.into()),
                            ("color", "#111".into()),
                            ("fill", false.into()),
                            ("interactive", false.into()),
                            ("className", "highlight-ring".into()),
                        ]),
                    )
                    .add_to_layer(&h.ring);
                }
            }
        });
    }

    /// The event page's small map: the venue and the places, fitted to them all.
    pub fn places_map(
        el: &web_sys::HtmlDivElement,
        pins: &[Pin],
        tile_url: &str,
        attribution: &str,
    ) {
        let el: &web_sys::HtmlElement = el.unchecked_ref();
        if !js_sys::Reflect::get(el, &JsValue::from_str("__toursherpaMap"))
            .unwrap_or(JsValue::UNDEFINED)
            .is_undefined()
        {
            return;
        }
        let Some(doc) = document() else { return };
        let map = new_map(el, &obj(&[("scrollWheelZoom", false.into())]));
        let _ = js_sys::Reflect::set(el, &JsValue::from_str("__toursherpaMap"), &JsValue::TRUE);
        base_layers(&map, tile_url, attribution);
        let points = js_sys::Array::new();
        for p in pins {
            let (radius, colour) = match p.kind {
                "venue" => (9.0, "#111111"),
                "restaurant" => (6.0, "#D55E00"),
                "cafe" => (6.0, "#E69F00"),
                _ => (6.0, "#0072B2"),
            };
            let m = circle_marker(
                &latlng(p.lat, p.lon),
                &obj(&[
                    ("radius", radius.into()),
                    ("weight", 1.0.into()),
                    ("color", "#222".into()),
                    ("fillColor", colour.into()),
                    ("fillOpacity", 0.9.into()),
                    ("className", format!("place-pin place-{}", p.kind).into()),
                ]),
            );
            if let Some(tip) = text_element(&doc, "span", &p.label) {
                m.bind_tooltip(&tip);
            }
            m.add_to(&map);
            points.push(&latlng(p.lat, p.lon));
        }
        if points.length() > 1 {
            map.fit_bounds(
                &points,
                &obj(&[("padding", js_sys::Array::of2(&20.into(), &20.into()).into())]),
            );
        } else if let Some(p) = pins.first() {
            map.set_view(&latlng(p.lat, p.lon), 14.0);
        }
        let _ = el.set_attribute("data-pins", &pins.len().to_string());
    }
}

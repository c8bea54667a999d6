//! The home page: a world map of the filtered events and a ranked list beside it, in sync.
//! Every filter, the map view (`view`), the selected event (`event`) and whether the list
//! follows the map (`inview`, with `bbox`) live in the URL, so a link reproduces the view.

use super::filters::{parse_search, raw_value, values, FilterFields};
use super::DemoBanner;
use crate::i18n::{category_label, fmt_date, fmt_int, tr, trf, use_lang};
use crate::map::{highlight, MapView, WorldMap};
use crate::server_fns::load_home;
use crate::types::{EventSummary, HomeData};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Form;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

/// URL parameters that do not change which events match.
const VIEW_PARAMS: [&str; 2] = ["view", "event"];

#[component]
pub fn HomePage() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let pairs = Memo::new(move |_| parse_search(&location.search.get()));
    // The filter part of the URL: moving the map or selecting an event does not refetch.
    let filter_search = Memo::new(move |_| {
        let kept: Vec<(String, String)> = pairs
            .get()
            .into_iter()
            .filter(|(k, _)| !VIEW_PARAMS.contains(&k.as_str()))
            .collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    });
    let data = Resource::new(move || filter_search.get(), load_home);
    // One value as written (text, dates, numbers) or a list joined (countries).
    let param = move |k: &str| raw_value(&pairs.read(), k).unwrap_or_default();
    let has = move |k: &str, v: &str| values(&pairs.read(), k).iter().any(|x| x == v);
    let map_data = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| (d.api_query, d.site))
    });
    let view_param = Signal::derive(move || raw_value(&pairs.read(), "view"));
    let selected = Signal::derive(move || raw_value(&pairs.read(), "event"));
    let in_view = Signal::derive(move || has("inview", "1"));

    // Replaces parameters in the URL without a new history entry (the map's moves).
    let navigate = use_navigate();
    let set_params = move |changes: Vec<(&'static str, Option<String>)>| {
        let mut current = parse_search(&location.search.get_untracked());
        for (k, v) in changes {
            current.retain(|(pk, _)| pk != k);
            if let Some(v) = v {
                current.push((k.to_string(), v));
            }
        }
        let qs = serde_urlencoded::to_string(&current).unwrap_or_default();
        let path = location.pathname.get_untracked();
        let url = if qs.is_empty() {
            path
        } else {
            format!("{path}?{qs}")
        };
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let last_bbox = RwSignal::new(None::<String>);
    let set_params_view = set_params.clone();
    let on_view = Callback::new(move |v: MapView| {
        last_bbox.set(Some(v.bbox.clone()));
        let mut changes = vec![("view", Some(v.view))];
        if in_view.get_untracked() {
            changes.push(("bbox", Some(v.bbox)));
        }
        set_params_view(changes);
    });
    let set_params_select = set_params.clone();
    let on_select = Callback::new(move |id: String| set_params_select(vec![("event", Some(id))]));
    let toggle_in_view = move |ev: leptos::ev::Event| {
        if event_target_checked(&ev) {
            set_params(vec![
                ("inview", Some("1".into())),
                (
                    "bbox",
                    last_bbox
                        .get_untracked()
                        .or_else(|| crate::map::current_view().map(|v| v.bbox)),
                ),
            ]);
        } else {
            set_params(vec![("inview", None), ("bbox", None)]);
        }
    };

    view! {
        <Title text=tr(lang, "TourSherpa · Find a trip around a world event")/>
        <Meta
            name="description"
            content="Find festivals, concerts, expos, sports and conferences on a world map, then plan the trip: places to eat and stay, nearest airports and flights."
        />
        <Form method="GET" action="/" attr:class="filters" attr:aria-label=tr(lang, "Filter the events")>
            <FilterFields pairs=pairs/>
            <label>
                {tr(lang, "Sort ")}
                <select name="sort" prop:value=move || param("sort")>
                    <option value="">{tr(lang, "Rank")}</option>
                    <option value="start">{tr(lang, "Start date")}</option>
                    <option value="attendance">{tr(lang, "Attendance")}</option>
                    <option value="title">{tr(lang, "Title")}</option>
                </select>
            </label>
            // The map view and list-follows-map survive a filter change.
            <input type="hidden" name="view" prop:value=move || view_param.get().unwrap_or_default()/>
            <input type="hidden" name="inview" prop:value=move || param("inview")/>
            <input type="hidden" name="bbox" prop:value=move || raw_value(&pairs.read(), "bbox").unwrap_or_default()/>
            <button type="submit">{tr(lang, "Search")}</button>
            <a href="/" class="reset">{tr(lang, "Clear")}</a>
        </Form>
        <div class="home">
            <div class="map-column">
                <WorldMap data=map_data view=view_param selected=selected on_view=on_view on_select=on_select/>
                <label class="check follow-map">
                    <input type="checkbox" name="follow" prop:checked=move || in_view.get() on:change=toggle_in_view/>
                    {tr(lang, "List only the events in the map view")}
                </label>
            </div>
            <Suspense fallback=move || view! { <p class="loading">{tr(lang, "Loading events…")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Results data=d selected=selected/> }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">{e.to_string().replace("error running server function: ", "")}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The ranked list of the filtered events, with the demo label, the refresh notice and the
/// exports of the same set.
#[component]
fn Results(data: HomeData, selected: Signal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let HomeData {
        page,
        api_query,
        refresh_running,
        site,
    } = data;
    let total = page.total;
    let shown = page.items.len();
    let sep = if api_query.is_empty() { "" } else { "?" };
    let ics = format!("/api/v1/events.ics{sep}{api_query}");
    let csv = format!("/api/v1/events.csv{sep}{api_query}");
    view! {
        <section class="results" aria-label=tr(lang, "Events")>
            {site.demo.then(|| view! { <DemoBanner/> })}
            {(refresh_running && total == 0).then(|| view! {
                <p class="notice" role="status">{tr(lang, "The first refresh is running: events appear here in a moment.")}</p>
            })}
            <p class="count">
                <strong data-total=total>{fmt_int(total as i64)}</strong>
                {tr(lang, if total == 1 { " event" } else { " events" })}
                {(total as usize > shown).then(|| trf(lang, ", the top {} shown", &[&shown.to_string()]))}
            </p>
            <p class="exports">{tr(lang, "Export this list: ")} <a href=ics download="" rel="external">{tr(lang, "calendar (.ics)")}</a> " · " <a href=csv download="" rel="external">{tr(lang, "spreadsheet (.csv)")}</a></p>
            <ol class="event-list">
                {page.items.into_iter().map(|e| view! { <EventItem e=e selected=selected/> }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn EventItem(e: EventSummary, selected: Signal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let href = format!("/events/{}", e.id);
    let (lat, lon) = (e.lat, e.lon);
    let id = e.id.clone();
    let is_selected = move || selected.read().as_deref() == Some(id.as_str());
    view! {
        <li class="event-item" class:selected=is_selected data-id=e.id.clone()
            on:mouseenter=move |_| highlight(Some((lat, lon)))
            on:mouseleave=move |_| highlight(None)
            on:focusin=move |_| highlight(Some((lat, lon)))
            on:focusout=move |_| highlight(None)>
            <a href=href>
                <span class="title">{e.title}</span>
                <span class="meta">
                    {format!("{} · {}, {} · {} – {}", category_label(lang, &e.category), e.city, e.country, fmt_date(lang, &e.start), fmt_date(lang, &e.end))}
                </span>
                <span class="rank" title=tr(lang, "Rank (0–100)")>{e.rank}</span>
            </a>
        </li>
    }
}

//! The home page: a world map of the filtered events and a ranked list beside it.

use super::{category_label, DemoBanner};
use crate::map::WorldMap;
use crate::server_fns::load_home;
use crate::types::{EventSummary, HomeData, CATEGORIES};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Form;
use leptos_router::hooks::{use_location, use_query_map};

#[component]
pub fn HomePage() -> impl IntoView {
    let location = use_location();
    let query = use_query_map();
    let data = Resource::new(move || location.search.get(), load_home);
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let map_data =
        Signal::derive(move || data.get().and_then(Result::ok).map(|d| (d.points, d.site)));

    view! {
        <Title text="TourSherpa · Find a trip around a world event"/>
        <Meta
            name="description"
            content="Find festivals, concerts, expos, sports and conferences on a world map, then plan the trip: places to eat and stay, nearest airports and flights."
        />
        <Form method="GET" action="/" attr:class="filters">
            <label>"Search " <input type="search" name="q" value=move || param("q") placeholder="Title, venue or city"/></label>
            <label>
                "Category "
                <select name="category" prop:value=move || param("category")>
                    <option value="">"All"</option>
                    {CATEGORIES
                        .iter()
                        .map(|c| view! { <option value=*c>{category_label(c)}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"Country " <input name="country" size="4" maxlength="2" value=move || param("country") placeholder="KR"/></label>
            <label>"From " <input type="date" name="from" value=move || param("from")/></label>
            <label>"To " <input type="date" name="to" value=move || param("to")/></label>
            <button type="submit">"Search"</button>
            <a href="/" class="reset">"Clear"</a>
        </Form>
        <div class="home">
            <WorldMap data=map_data/>
            <Suspense fallback=|| view! { <p class="loading">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Results data=d/> }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">{e.to_string().replace("error running server function: ", "")}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The ranked list of the filtered events, with the demo label and the refresh notice.
#[component]
fn Results(data: HomeData) -> impl IntoView {
    let HomeData {
        page,
        points,
        refresh_running,
        site,
    } = data;
    let total = page.total;
    let shown = page.items.len();
    view! {
        <section class="results" aria-label="Events" data-points=points.len()>
            {site.demo.then(|| view! { <DemoBanner/> })}
            {(refresh_running && total == 0).then(|| view! {
                <p class="notice" role="status">"The first refresh is running: events appear here in a moment."</p>
            })}
            <p class="count">
                <strong data-total=total>{total}</strong>
                {if total == 1 { " event" } else { " events" }}
                {(total as usize > shown).then(|| format!(", the top {shown} by rank"))}
            </p>
            <ol class="event-list">
                {page.items.into_iter().map(|e| view! { <EventItem e=e/> }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn EventItem(e: EventSummary) -> impl IntoView {
    let href = format!("/events/{}", e.id);
    view! {
        <li class="event-item" data-id=e.id.clone()>
            <a href=href>
                <span class="title">{e.title}</span>
                <span class="meta">
                    {format!("{} · {}, {} · {} – {}", category_label(&e.category), e.city, e.country, e.start, e.end)}
                </span>
                <span class="rank" title="Rank (0–100)">{e.rank}</span>
            </a>
        </li>
    }
}

//! The place page: one restaurant, café or place to stay, and the events near it.

use super::set_status;
use crate::i18n::{category_label, fmt_date, fmt_int, tr, trf, use_lang, Lang};
use crate::server_fns::load_place;
use crate::types::PlaceData;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn PlacePage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        load_place,
    );
    view! {
        <Suspense fallback=move || view! { <p class="loading">{tr(lang, "Loading the place…")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(d)) => view! { <PlaceBody d=d/> }.into_any(),
                    Ok(None) => {
                        set_status(404);
                        view! {
                            <Title text=format!("{} · TourSherpa", tr(lang, "Place not found"))/>
                            <section class="not-found"><h1>{tr(lang, "Place not found")}</h1><p><a href="/">{tr(lang, "Back to the event map")}</a></p></section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn kind_label(lang: Lang, kind: &str) -> &'static str {
    tr(
        lang,
        match kind {
            "restaurant" => "Restaurant",
            "cafe" => "Café",
            "lodging" => "Place to stay",
            _ => "Place",
        },
    )
}

#[component]
fn PlaceBody(d: PlaceData) -> impl IntoView {
    let lang = use_lang();
    let p = d.place;
    view! {
        <Title text=super::page_title(&p.name)/>
        {p.demo.then(|| view! {
            <p class="demo-banner" role="note"><strong>{tr(lang, "Demo data. ")}</strong>{tr(lang, "This place is generated for the demo and is not a real business.")}</p>
        })}
        <article class="place">
            <p class="category">{kind_label(lang, &p.kind)}</p>
            <h1>{p.name.clone()}</h1>
            <dl class="facts">
                <dt>{tr(lang, "Address")}</dt><dd>{p.address.clone()}</dd>
                <dt>{tr(lang, "Rating")}</dt><dd>{p.rating.map(|r| format!("★ {r:.1}{}", p.rating_count.map(|c| format!(" ({}{})", fmt_int(i64::from(c)), tr(lang, " reviews"))).unwrap_or_default())).unwrap_or_else(|| tr(lang, "not given").into())}</dd>
                <dt>{tr(lang, "Price level")}</dt><dd>{p.price_level.map(|l| "$".repeat(l.clamp(1, 4) as usize)).unwrap_or_else(|| tr(lang, "not given").into())}</dd>
                <dt>{tr(lang, "Source")}</dt><dd>{format!("{} · {}", p.provider, trf(lang, "Updated {} UTC", &[&fmt_date(lang, &p.fetched_at.get(..16).unwrap_or(&p.fetched_at).replace('T', " "))]))}</dd>
            </dl>
            {p.url.clone().map(|u| view! { <p><a href=u rel="noopener nofollow external" target="_blank">{tr(lang, "Open in the provider's map")}</a></p> })}
            <section class="part">
                <h2>{trf(lang, "Events within {} km", &[&format!("{:.0}", d.radius_km)])}</h2>
                {if d.events.is_empty() {
                    view! { <p class="empty">{tr(lang, "No upcoming event is stored near this place.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="near-events">
                            {d.events.into_iter().map(|e| view! {
                                <li><a href=format!("/events/{}", e.id)>{e.title}</a>
                                    <span class="meta">{format!(" · {} · {} – {}", category_label(lang, &e.category), fmt_date(lang, &e.start), fmt_date(lang, &e.end))}</span></li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </article>
    }
}

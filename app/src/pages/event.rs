//! The event page: what, where and when, and what is around it.

use super::{category_label, group_digits, set_status, DemoBanner};
use crate::server_fns::load_event;
use crate::types::{EventView, FlightOffer, NearbyAirport, Place};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let view_data = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                query.read().get("origin"),
            )
        },
        |(id, origin)| load_event(id, origin),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the event…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(Some(v)) => view! { <EventBody v=v/> }.into_any(),
                    Ok(None) => {
                        set_status(404);
                        view! {
                            <Title text="Event not found · TourSherpa"/>
                            <section class="not-found">
                                <h1>"Event not found"</h1>
                                <p>"No event has this address. "<a href="/">"Back to the event map"</a></p>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EventBody(v: EventView) -> impl IntoView {
    let EventView {
        event,
        restaurants,
        cafes,
        lodging,
        airports,
        outbound,
        inbound,
        origin,
    } = v;
    let s = event.summary.clone();
    let description: String = event.description.chars().take(160).collect();
    let when = if s.start == s.end {
        s.start.clone()
    } else {
        format!("{} – {}", s.start, s.end)
    };
    let country = match (&event.country_name, &event.country_name_ko) {
        (Some(en), Some(ko)) => format!("{en} ({ko})"),
        (Some(en), None) => en.clone(),
        _ => s.country.clone(),
    };
    let gone = (event.state != "active").then(|| {
        let reason = event.gone_reason.clone().unwrap_or_else(|| event.state.clone());
        view! { <p class="gone" role="alert">{format!("This event is no longer listed: {reason}.")}</p> }
    });
    view! {
        <Title text=format!("{} · TourSherpa", s.title)/>
        <Meta name="description" content=description/>
        <Meta property="og:title" content=s.title.clone()/>
        {s.demo.then(|| view! { <DemoBanner/> })}
        <article class="event" data-id=s.id.clone()>
            <header>
                <p class="category">{category_label(&s.category)}</p>
                <h1>{s.title.clone()}</h1>
                <p class="when-where">
                    {when}" (" {s.timezone.clone()} ") · " {s.venue_name.clone()} ", " {s.city.clone()} ", " {country}
                </p>
                {gone}
            </header>
            <p class="description">{event.description.clone()}</p>
            <dl class="facts">
                <dt>"Rank"</dt><dd>{s.rank}" / 100"</dd>
                <dt>"Local rank"</dt><dd>{s.local_rank.map(|r| format!("{r} / 100")).unwrap_or_else(|| "not given".into())}</dd>
                <dt>"Predicted attendance"</dt><dd>{s.attendance.map(group_digits).unwrap_or_else(|| "not given".into())}</dd>
                <dt>"Predicted spend"</dt><dd>{event.spend_usd.map(|v| format!("US${}", group_digits(v))).unwrap_or_else(|| "not given".into())}</dd>
                <dt>"Address"</dt><dd>{event.address.clone()}</dd>
                <dt>"Labels"</dt><dd>{event.labels.join(", ")}</dd>
            </dl>
            <div class="bundle">
                <PlaceList title="Restaurants nearby" places=restaurants/>
                <PlaceList title="Cafés nearby" places=cafes/>
                <PlaceList title="Places to stay" places=lodging/>
                <AirportList airports=airports/>
            </div>
            <div class="bundle flights-bundle">
                <FlightList title=format!("Flights from {origin}") offers=outbound/>
                <FlightList title=format!("Flights back to {origin}") offers=inbound/>
            </div>
        </article>
    }
}

#[component]
fn PlaceList(title: &'static str, places: Vec<Place>) -> impl IntoView {
    let demo = places.iter().any(|p| p.demo);
    view! {
        <section class="part">
            <h2>{title}{demo.then(|| view! { <span class="demo-tag">"demo"</span> })}</h2>
            {if places.is_empty() {
                view! { <p class="empty">"Nothing found yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="places">
                        {places.into_iter().map(|p| view! {
                            <li>
                                <span class="name">{p.name}</span>
                                <span class="meta">
                                    {format!("{:.1} km", p.distance_km)}
                                    {p.rating.map(|r| format!(" · ★ {r:.1}"))}
                                    {p.rating_count.map(|c| format!(" ({c})"))}
                                    {p.price_level.map(|l| format!(" · {}", "$".repeat(l.clamp(1, 4) as usize)))}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn AirportList(airports: Vec<NearbyAirport>) -> impl IntoView {
    view! {
        <section class="part">
            <h2>"Nearest airports"</h2>
            {if airports.is_empty() {
                view! { <p class="empty">"No airport found nearby."</p> }.into_any()
            } else {
                view! {
                    <ul class="airports">
                        {airports.into_iter().map(|a| view! {
                            <li>
                                <strong>{a.iata}</strong>" " {a.name}
                                <span class="meta">{format!(" · {}, {} · {:.0} km", a.city, a.country, a.distance_km)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn FlightList(title: String, offers: Vec<FlightOffer>) -> impl IntoView {
    let demo = offers.iter().any(|o| o.demo);
    view! {
        <section class="part">
            <h2>{title}{demo.then(|| view! { <span class="demo-tag">"demo"</span> })}</h2>
            {if offers.is_empty() {
                view! { <p class="empty">"No offers stored for these dates yet."</p> }.into_any()
            } else {
                view! {
                    <table class="flights">
                        <thead><tr><th>"Route"</th><th>"Departs"</th><th>"Arrives"</th><th>"Carrier"</th><th>"Stops"</th><th>"Price"</th></tr></thead>
                        <tbody>
                            {offers.into_iter().map(|o| view! {
                                <tr>
                                    <td>{format!("{} → {}", o.origin, o.destination)}</td>
                                    <td>{o.departs_at.replace('T', " ")}</td>
                                    <td>{o.arrives_at.replace('T', " ")}</td>
                                    <td>{o.carrier_name}</td>
                                    <td>{o.stops}</td>
                                    <td>{format!("{} {:.2}", o.currency, o.price)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

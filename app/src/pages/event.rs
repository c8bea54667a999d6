//! The event page: the trip bundle. What, where and when (local and the viewer's time),
//! when visitors come, places to eat and stay on a small map, the nearest airports, flights
//! both ways from the traveller's airport, and an estimated total. Each part says how fresh
//! it is, and an empty part says so instead of failing the page.

use super::{set_status, DemoBanner};
use crate::i18n::{category_label, fmt_date, fmt_int, fmt_money, tr, trf, use_lang, Lang};
use crate::map::{Pin, PlacesMap};
use crate::server_fns::load_event;
use crate::types::{
    DemandWindow, FlightOffer, FlightsPart, NearbyAirport, Part, Place, SiteInfo, TripBundle,
    TripEstimate,
};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn EventPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let query = use_query_map();
    let view_data = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                query.read().get("origin"),
                query.read().get("adults"),
            )
        },
        |(id, origin, adults)| load_event(id, origin, adults),
    );
    view! {
        <Suspense fallback=move || view! { <p class="loading">{tr(lang, "Loading the event…")}</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(Some(v)) => view! { <EventBody v=v.trip site=v.site/> }.into_any(),
                    Ok(None) => {
                        set_status(404);
                        view! {
                            <Title text=format!("{} · TourSherpa", tr(lang, "Event not found"))/>
                            <section class="not-found">
                                <h1>{tr(lang, "Event not found")}</h1>
                                <p>{tr(lang, "No event has this address. ")}<a href="/">{tr(lang, "Back to the event map")}</a></p>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">{e.to_string().replace("error running server function: ", "")}</p>
                        <p><a href=move || format!("/events/{}", params.read().get("id").unwrap_or_default())>{tr(lang, "Show the event with the usual origin")}</a></p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// "Updated …" for a part, or that it was never fetched.
fn freshness(lang: Lang, fetched_at: &Option<String>) -> String {
    match fetched_at {
        Some(t) => trf(
            lang,
            "Updated {} UTC",
            &[&fmt_date(lang, &t.get(..16).unwrap_or(t).replace('T', " "))],
        ),
        None => tr(lang, "Not fetched yet").to_string(),
    }
}

#[component]
fn Freshness(fetched_at: Option<String>, demo: bool) -> impl IntoView {
    let lang = use_lang();
    view! {
        <p class="freshness">
            {freshness(lang, &fetched_at)}
            {demo.then(|| view! { " · " <span class="demo-tag">{tr(lang, "demo data")}</span> })}
        </p>
    }
}

#[component]
fn EventBody(v: TripBundle, site: SiteInfo) -> impl IntoView {
    let lang = use_lang();
    let TripBundle {
        event: trip_event,
        demand_window,
        restaurants,
        cafes,
        lodging,
        airports,
        flights,
        estimate,
    } = v;
    let event = trip_event.detail.clone();
    let s = event.summary.clone();
    let description: String = event.description.chars().take(160).collect();
    let when = match (&trip_event.starts_local, &trip_event.ends_local) {
        (Some(a), Some(b)) => format!("{} – {}", fmt_date(lang, a), fmt_date(lang, b)),
        _ if s.start == s.end => fmt_date(lang, &s.start),
        _ => format!("{} – {}", fmt_date(lang, &s.start), fmt_date(lang, &s.end)),
    };
    let country = match (lang, &event.country_name, &event.country_name_ko) {
        (Lang::Ko, _, Some(ko)) => ko.clone(),
        (_, Some(en), Some(ko)) => format!("{en} ({ko})"),
        (_, Some(en), None) => en.clone(),
        _ => s.country.clone(),
    };
    let not_given = || tr(lang, "not given").to_string();
    let gone = (event.state != "active").then(|| {
        let reason = event.gone_reason.clone().unwrap_or_else(|| event.state.clone());
        view! { <p class="gone" role="alert">{trf(lang, "This event is no longer listed: {}.", &[&reason])}</p> }
    });
    let viewer_time = trip_event.starts_at.clone().map(|t| {
        view! {
            <p class="viewer-time-line">
                {tr(lang, "Starts in your time: ")}
                <time class="viewer-time" datetime=t.clone()>{format!("{} UTC", fmt_date(lang, &t.get(..16).unwrap_or(&t).replace('T', " ")))}</time>
            </p>
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(|_| super::show_viewer_times());
    let calendar = format!("/api/v1/events/{}/calendar.ics", s.id);
    let demo_any = s.demo || restaurants.demo || flights.demo;
    let mut pins = vec![Pin {
        lat: s.lat,
        lon: s.lon,
        label: s.venue_name.clone(),
        kind: "venue",
    }];
    for (part, kind) in [
        (&restaurants, "restaurant"),
        (&cafes, "cafe"),
        (&lodging, "lodging"),
    ] {
        pins.extend(part.items.iter().map(|p| Pin {
            lat: p.lat,
            lon: p.lon,
            label: format!("{} ({:.1} km)", p.name, p.distance_km),
            kind,
        }));
    }
    view! {
        <Title text=super::page_title(&s.title)/>
        <Meta name="description" content=description/>
        <Meta property="og:title" content=s.title.clone()/>
        {demo_any.then(|| view! { <DemoBanner/> })}
        <article class="event" data-id=s.id.clone()>
            <header>
                <p class="category">{category_label(lang, &s.category)}</p>
                <h1>{s.title.clone()}</h1>
                <p class="when-where">
                    <span class="when">{when}" (" {s.timezone.clone()} ")"</span>
                    " · " {s.venue_name.clone()} ", " {s.city.clone()} ", " <a href=format!("/countries/{}", s.country)>{country}</a>
                </p>
                {viewer_time}
                <p class="actions"><a href=calendar download="" rel="external">{tr(lang, "Add to calendar (.ics)")}</a></p>
                {gone}
                <Freshness fetched_at=trip_event.fetched_at.clone() demo=s.demo/>
            </header>
            <p class="description">{event.description.clone()}</p>
            <dl class="facts">
                <dt>{tr(lang, "Rank")}</dt><dd>{s.rank}" / 100"</dd>
                <dt>{tr(lang, "Local rank")}</dt><dd>{s.local_rank.map(|r| format!("{r} / 100")).unwrap_or_else(not_given)}</dd>
                <dt>{tr(lang, "Predicted attendance")}</dt><dd>{s.attendance.map(fmt_int).unwrap_or_else(not_given)}</dd>
                <dt>{tr(lang, "Predicted spend")}</dt><dd>{event.spend_usd.map(|v| fmt_money(lang, "USD", v as f64)).unwrap_or_else(not_given)}</dd>
                <dt>{tr(lang, "Address")}</dt><dd>{event.address.clone()}</dd>
                <dt>{tr(lang, "Labels")}</dt><dd>{event.labels.join(", ")}</dd>
            </dl>
            <DemandPart w=demand_window/>
            <div class="places-map-wrap">
                <PlacesMap pins=pins tile_url=site.tile_url.clone() attribution=site.tile_attribution.clone()/>
                <p class="legend" aria-hidden="true">
                    <span class="key venue"></span>{tr(lang, "venue ")} <span class="key restaurant"></span>{tr(lang, "restaurant ")}
                    <span class="key cafe"></span>{tr(lang, "café ")} <span class="key lodging"></span>{tr(lang, "place to stay")}
                </p>
            </div>
            <div class="bundle">
                <PlaceList title=tr(lang, "Restaurants nearby") part=restaurants class="restaurants"/>
                <PlaceList title=tr(lang, "Cafés nearby") part=cafes class="cafes"/>
                <PlaceList title=tr(lang, "Places to stay") part=lodging class="lodging"/>
                <AirportList part=airports/>
            </div>
            <OriginPicker origin=flights.origin.clone() adults=estimate.adults/>
            <FlightsSection flights=flights/>
            <EstimatePart e=estimate/>
        </article>
    }
}

/// Visitors per day around the event as bars (the numbers beside them are their text
/// alternative), with the busy span as a hint when to arrive and leave.
#[component]
fn DemandPart(w: DemandWindow) -> impl IntoView {
    let lang = use_lang();
    let peak = w.days.iter().map(|d| d.visitors).max().unwrap_or(0).max(1);
    let hint = match (&w.busy_from, &w.busy_to, &w.peak) {
        (Some(a), Some(b), Some(p)) => {
            let (a, b, p) = (fmt_date(lang, a), fmt_date(lang, b), fmt_date(lang, p));
            trf(
                lang,
                "Busiest on {}. Demand is at least half its peak from {} to {}: arrive before {} and leave after {} to miss the crowd, or stay inside it for the atmosphere.",
                &[&p, &a, &b, &a, &b],
            )
        }
        _ => String::new(),
    };
    view! {
        <section class="part demand" aria-labelledby="demand-h">
            <h2 id="demand-h">{tr(lang, "When visitors come")}</h2>
            <Freshness fetched_at=w.fetched_at.clone() demo=w.demo/>
            {if w.days.is_empty() {
                view! { <p class="empty">{tr(lang, "The provider gives no day-by-day demand for this event.")}</p> }.into_any()
            } else {
                view! {
                    <p class="hint">{hint}</p>
                    <table class="demand-days">
                        <caption>{tr(lang, "Expected visitors per day (local dates)")}</caption>
                        <thead><tr><th scope="col">{tr(lang, "Day")}</th><th scope="col">{tr(lang, "Visitors")}</th><th scope="col">{tr(lang, "Share of peak")}</th></tr></thead>
                        <tbody>
                            {w.days.into_iter().map(|d| {
                                let pct = d.visitors * 100 / peak;
                                let (class, label) = match d.position.as_str() {
                                    "leading" => ("before", tr(lang, "before")),
                                    "lagging" => ("after", tr(lang, "after")),
                                    _ => ("event", tr(lang, "event")),
                                };
                                view! {
                                    <tr class=format!("demand-{class}")>
                                        <th scope="row">{fmt_date(lang, &d.date)}" " <span class="meta">{format!("({label})")}</span></th>
                                        <td>{fmt_int(d.visitors)}</td>
                                        <td><span class="bar" style=format!("width:{pct}%")></span>{format!(" {pct}%")}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn PlaceList(title: &'static str, part: Part<Place>, class: &'static str) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class=format!("part {class}")>
            <h2>{title}</h2>
            <Freshness fetched_at=part.fetched_at.clone() demo=part.demo/>
            {if part.items.is_empty() {
                view! { <p class="empty">{tr(lang, "Nothing stored nearby yet.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="places">
                        {part.items.into_iter().map(|p| {
                            let out = p.url.clone().map(|u| view! { " " <a class="out" href=u rel="noopener nofollow external" target="_blank">{tr(lang, "map ↗")}</a> });
                            view! {
                                <li>
                                    <a class="name" href=format!("/places/{}", p.id)>{p.name.clone()}</a>{out}
                                    <span class="meta">
                                        {format!("{:.1} km", p.distance_km)}
                                        {p.rating.map(|r| format!(" · ★ {r:.1}"))}
                                        {p.rating_count.map(|c| format!(" ({}{})", fmt_int(i64::from(c)), tr(lang, " reviews")))}
                                        {p.price_level.map(|l| format!(" · {}", "$".repeat(l.clamp(1, 4) as usize)))}
                                    </span>
                                    {(!p.address.is_empty()).then(|| view! { <span class="address">{p.address.clone()}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn AirportList(part: Part<NearbyAirport>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class="part airports-part">
            <h2>{tr(lang, "Nearest airports")}</h2>
            <p class="freshness">{tr(lang, "From TourSherpa's bundled airport list")}</p>
            {if part.items.is_empty() {
                view! { <p class="empty">{tr(lang, "No airport with scheduled flights is stored nearby.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="airports">
                        {part.items.into_iter().map(|a| view! {
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

/// The traveller's origin airport and party size; a plain GET form, so it works before
/// hydration, and the server remembers the origin for next time.
#[component]
fn OriginPicker(origin: String, adults: u32) -> impl IntoView {
    let lang = use_lang();
    view! {
        <form method="get" class="origin-picker" aria-label=tr(lang, "Flights from")>
            <label>
                {tr(lang, "Flying from (IATA code) ")}
                <input name="origin" value=origin size="4" maxlength="3" pattern="[A-Za-z]{3}" required=true autocomplete="off"/>
            </label>
            <label>
                {tr(lang, "Travellers ")}
                <input name="adults" type="number" min="1" max="9" value=adults.to_string()/>
            </label>
            <button type="submit">{tr(lang, "Show flights")}</button>
        </form>
    }
}

#[component]
fn FlightsSection(flights: FlightsPart) -> impl IntoView {
    let lang = use_lang();
    let FlightsPart {
        origin,
        outbound,
        inbound,
        fetched_at,
        demo,
    } = flights;
    view! {
        <section class="part flights-part" aria-labelledby="flights-h">
            <h2 id="flights-h">{tr(lang, "Flights")}</h2>
            <Freshness fetched_at=fetched_at demo=demo/>
            <div class="bundle flights-bundle">
                <FlightList title=trf(lang, "From {}", &[&origin]) offers=outbound class="outbound"/>
                <FlightList title=trf(lang, "Back to {}", &[&origin]) offers=inbound class="return"/>
            </div>
        </section>
    }
}

#[component]
fn FlightList(title: String, offers: Vec<FlightOffer>, class: &'static str) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class=format!("flight-list {class}")>
            <h3>{title}</h3>
            {if offers.is_empty() {
                view! { <p class="empty">{tr(lang, "No offers stored for these dates yet.")}</p> }.into_any()
            } else {
                view! {
                    <table class="flights">
                        <thead><tr>
                            <th scope="col">{tr(lang, "Route")}</th><th scope="col">{tr(lang, "Departs")}</th><th scope="col">{tr(lang, "Arrives")}</th>
                            <th scope="col">{tr(lang, "Carrier")}</th><th scope="col">{tr(lang, "Stops")}</th><th scope="col">{tr(lang, "Price")}</th>
                            <th scope="col"><span class="sr-only">{tr(lang, "Book")}</span></th>
                        </tr></thead>
                        <tbody>
                            {offers.into_iter().map(|o| view! {
                                <tr>
                                    <td>{format!("{} → {}", o.origin, o.destination)}</td>
                                    <td>{fmt_date(lang, &o.departs_at)}</td>
                                    <td>{fmt_date(lang, &o.arrives_at)}</td>
                                    <td>{o.carrier_name}{o.flight_number.map(|n| format!(" {n}"))}</td>
                                    <td>{if o.stops == 0 { tr(lang, "direct").to_string() } else { o.stops.to_string() }}</td>
                                    <td class="price">{format!("{} {:.2}", o.currency, o.price)}</td>
                                    <td>{o.booking_url.map(|u| view! { <a href=u rel="noopener nofollow external" target="_blank">{tr(lang, "Book")}</a> })}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn EstimatePart(e: TripEstimate) -> impl IntoView {
    let lang = use_lang();
    let currency = e.currency.clone().unwrap_or_default();
    let total = e.total.map(|v| fmt_money(lang, &currency, v));
    view! {
        <section class="part estimate" aria-labelledby="estimate-h">
            <h2 id="estimate-h">{tr(lang, "Estimated trip cost ")} <span class="estimate-tag">{tr(lang, "estimate")}</span></h2>
            <Freshness fetched_at=e.fetched_at.clone() demo=e.demo/>
            {match total {
                Some(t) => view! { <p class="total">{tr(lang, "About ")} <strong data-total=e.total.unwrap_or(0.0)>{t}</strong>{tr(lang, " in all")}</p> }.into_any(),
                None => view! { <p class="empty">{tr(lang, "No total yet: ")} {e.missing.join("; ")}"."</p> }.into_any(),
            }}
            <ul class="basis">
                {e.basis.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}
            </ul>
        </section>
    }
}

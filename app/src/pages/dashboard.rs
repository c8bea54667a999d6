//! The dashboard: charts drawn with plotters over the same filter as the map. The server
//! draws them into the first page; after a filter change the browser loads the numbers and
//! redraws them with the same code, without a page load. Every chart has a table of its
//! numbers; a country bar filters by that country.

use super::filters::{parse_search, raw_value, FilterFields};
use super::DemoBanner;
use crate::charts::{self, Bar, Chart, Point, StackedRow};
use crate::i18n::{category_label, fmt_date, fmt_int, fmt_money, tr, trf, use_lang, Lang};
use crate::server_fns::load_dashboard;
use crate::types::{DashboardData, EventSummary, CATEGORIES};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_location;
use plotters::style::RGBColor;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let pairs = Memo::new(move |_| parse_search(&location.search.get()));
    let data = Resource::new(
        move || location.search.get().trim_start_matches('?').to_string(),
        load_dashboard,
    );
    let unit = move || raw_value(&pairs.read(), "unit").unwrap_or_else(|| "month".into());
    let origin = move || raw_value(&pairs.read(), "origin").unwrap_or_default();
    view! {
        <Title text=format!("{} · TourSherpa", tr(lang, "Dashboard"))/>
        <h1 class="page-title">{tr(lang, "Dashboard")}</h1>
        <Form method="GET" action="/dashboard" attr:class="filters" attr:aria-label=tr(lang, "Filter the events")>
            <FilterFields pairs=pairs/>
            <label>
                {tr(lang, "Timeline by ")}
                <select name="unit" prop:value=unit>
                    <option value="month">{tr(lang, "month")}</option>
                    <option value="week">{tr(lang, "week")}</option>
                </select>
            </label>
            <label>
                {tr(lang, "From airport ")}
                <input name="origin" size="4" maxlength="3" autocomplete="off" placeholder="ICN" prop:value=origin/>
            </label>
            <button type="submit">{tr(lang, "Search")}</button>
            <a href="/dashboard" class="reset">{tr(lang, "Clear")}</a>
        </Form>
        <Suspense fallback=move || view! { <p class="loading">{tr(lang, "Loading the charts…")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Charts d=d/> }.into_any(),
                    Err(e) => view! {
                        <p class="error" role="alert">{e.to_string().replace("error running server function: ", "")}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// This page's URL with one parameter set (and the paging cursor dropped).
fn with_param(search: &str, key: &str, value: &str) -> String {
    let mut pairs = parse_search(search);
    pairs.retain(|(k, _)| k != key && k != "cursor");
    pairs.push((key.to_string(), value.to_string()));
    format!(
        "/dashboard?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// A chart with its links laid over it and its numbers as a table.
#[component]
pub(crate) fn Figure(
    chart: Chart,
    title: String,
    id: &'static str,
    table: AnyView,
) -> impl IntoView {
    let lang = use_lang();
    let pct = |v: i32, of: u32| format!("{:.3}%", f64::from(v) * 100.0 / f64::from(of));
    view! {
        <figure class="chart" id=id>
            <div class="chart-box">
                <div class="chart-svg" role="img" aria-label=title.clone() inner_html=chart.svg></div>
                {chart.hotspots.into_iter().map(|h| {
                    let style = format!(
                        "left:{};top:{};width:{};height:{}",
                        pct(h.x, charts::WIDTH), pct(h.y, charts::HEIGHT),
                        pct(h.w, charts::WIDTH), pct(h.h, charts::HEIGHT)
                    );
                    view! { <a class="hotspot" href=h.href style=style title=h.label.clone() aria-label=h.label></a> }
                }).collect_view()}
            </div>
            <details>
                <summary>{tr(lang, "The numbers")}</summary>
                {table}
            </details>
        </figure>
    }
}

fn count_table(lang: Lang, head: &'static str, rows: Vec<(String, u64)>) -> AnyView {
    view! {
        <table class="numbers">
            <thead><tr><th scope="col">{tr(lang, head)}</th><th scope="col">{tr(lang, "Events")}</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(l, n)| view! { <tr><th scope="row">{l}</th><td class="num">{fmt_int(n as i64)}</td></tr> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Charts(d: DashboardData) -> impl IntoView {
    let lang = use_lang();
    let search = use_location().search.get_untracked();
    let DashboardData {
        total,
        categories,
        countries,
        unit,
        timeline,
        spend,
        scatter,
        visitors,
        fares,
        cards,
        demo,
    } = d;

    let category_bars: Vec<Bar> = categories
        .iter()
        .map(|c| Bar {
            label: category_label(lang, &c.key).to_string(),
            value: c.count as f64,
            href: Some(with_param(&search, "category", &c.key)),
        })
        .collect();
    let category_chart = charts::bar_chart(
        tr(lang, "Events per category"),
        tr(lang, "events"),
        &category_bars,
    );
    let country_bars: Vec<Bar> = countries
        .iter()
        .map(|c| Bar {
            label: c.label.clone(),
            value: c.count as f64,
            href: Some(with_param(&search, "country", &c.key)),
        })
        .collect();
    let country_chart = charts::bar_chart(
        tr(lang, "Top countries by number of events"),
        tr(lang, "events"),
        &country_bars,
    );

    let mut periods: Vec<String> = timeline.iter().map(|r| r.period.clone()).collect();
    periods.dedup();
    let series: Vec<(String, Vec<f64>)> = CATEGORIES
        .iter()
        .map(|c| {
            let values = periods
                .iter()
                .map(|p| {
                    timeline
                        .iter()
                        .find(|r| &r.period == p && r.category == *c)
                        .map_or(0.0, |r| r.count as f64)
                })
                .collect();
            (c.to_string(), values)
        })
        .filter(|(_, v): &(String, Vec<f64>)| v.iter().any(|x| *x > 0.0))
        .collect();
    let timeline_title = if unit == "week" {
        tr(lang, "Events per week, by category")
    } else {
        tr(lang, "Events per month, by category")
    };
    let timeline_chart = charts::stacked_timeline(
        timeline_title,
        tr(lang, "events starting"),
        &periods,
        &series,
        &|c| category_label(lang, c).to_string(),
    );
    // Okabe–Ito colours; grey for spend the provider does not split by industry.
    let industries = [
        (
            tr(lang, "accommodation").to_string(),
            RGBColor(0x00, 0x72, 0xB2),
        ),
        (
            tr(lang, "hospitality").to_string(),
            RGBColor(0xE6, 0x9F, 0x00),
        ),
        (
            tr(lang, "transportation").to_string(),
            RGBColor(0x00, 0x9E, 0x73),
        ),
        (
            tr(lang, "not split").to_string(),
            RGBColor(0x99, 0x99, 0x99),
        ),
    ];
    let spend_rows: Vec<StackedRow> = spend
        .iter()
        .map(|r| {
            let split = r.accommodation + r.hospitality + r.transportation;
            StackedRow {
                label: r.label.clone(),
                href: Some(with_param(&search, "country", &r.key)),
                parts: vec![
                    r.accommodation as f64,
                    r.hospitality as f64,
                    r.transportation as f64,
                    (r.total - split).max(0) as f64,
                ],
            }
        })
        .collect();
    let spend_chart = charts::stacked_bar_chart(
        tr(lang, "Predicted event spend by country (US$)"),
        tr(lang, "US dollars"),
        &spend_rows,
        &industries,
    );
    let points: Vec<Point> = scatter
        .iter()
        .map(|p| Point {
            x: f64::from(p.rank),
            y: p.attendance as f64,
            category: p.category.clone(),
            href: format!("/events/{}", p.id),
            label: format!("{} (rank {}, {})", p.title, p.rank, fmt_int(p.attendance)),
        })
        .collect();
    let scatter_chart = charts::scatter(
        tr(lang, "Rank against predicted attendance"),
        tr(lang, "rank (0–100)"),
        tr(lang, "predicted attendance (log scale)"),
        &points,
    );

    // Fares: the chart shows the currency most offers are in; the table shows them all.
    let mut by_currency: Vec<(String, u64)> = Vec::new();
    for r in &fares.rows {
        let n = r.outbound_offers + r.return_offers;
        match by_currency.iter_mut().find(|(c, _)| *c == r.currency) {
            Some((_, total)) => *total += n,
            None => by_currency.push((r.currency.clone(), n)),
        }
    }
    by_currency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let currency = by_currency
        .first()
        .map(|(c, _)| c.clone())
        .unwrap_or_default();
    let other_currencies: Vec<String> =
        by_currency.iter().skip(1).map(|(c, _)| c.clone()).collect();
    let fare_rows: Vec<StackedRow> = fares
        .rows
        .iter()
        .filter(|r| r.currency == currency)
        .map(|r| StackedRow {
            label: r.label.clone(),
            href: Some(with_param(&search, "country", &r.key)),
            parts: vec![r.outbound_avg.unwrap_or(0.0), r.return_avg.unwrap_or(0.0)],
        })
        .collect();
    let fares_title = trf(
        lang,
        "Average fare from {} by destination country ({})",
        &[
            &fares.origin,
            if currency.is_empty() {
                "—"
            } else {
                &currency
            },
        ],
    );
    let fares_chart = charts::grouped_bar_chart(
        &fares_title,
        tr(lang, "average fare per traveller"),
        &fare_rows,
        &[
            (tr(lang, "outbound").to_string(), RGBColor(0x00, 0x72, 0xB2)),
            (tr(lang, "return").to_string(), RGBColor(0xE6, 0x9F, 0x00)),
        ],
    );
    let visitor_days: Vec<(String, f64)> = visitors
        .iter()
        .map(|v| (v.day.clone(), v.visitors as f64))
        .collect();
    let visitors_chart = charts::daily_area(
        tr(lang, "Expected visitors per day"),
        tr(lang, "visitors"),
        &visitor_days,
    );
    let visitor_weeks = weekly_sums(&visitors);

    let timeline_rows = timeline.clone();
    view! {
        {demo.then(|| view! { <DemoBanner/> })}
        <p class="count"><strong data-total=total>{fmt_int(total as i64)}</strong>{tr(lang, if total == 1 { " event" } else { " events" })}</p>
        <div class="dashboard">
            <Figure chart=category_chart title=tr(lang, "Events per category").into() id="chart-categories"
                table=count_table(lang, "Category", categories.iter().map(|c| (category_label(lang, &c.key).to_string(), c.count)).collect())/>
            <Figure chart=country_chart title=tr(lang, "Top countries by number of events").into() id="chart-countries"
                table=count_table(lang, "Country", countries.iter().map(|c| (c.label.clone(), c.count)).collect())/>
            <Figure chart=timeline_chart title=timeline_title.into() id="chart-timeline"
                table=view! {
                    <table class="numbers">
                        <thead><tr><th scope="col">{tr(lang, "Period")}</th><th scope="col">{tr(lang, "Category")}</th><th scope="col">{tr(lang, "Events")}</th></tr></thead>
                        <tbody>
                            {timeline_rows.into_iter().map(|r| view! {
                                <tr><th scope="row">{r.period}</th><td>{category_label(lang, &r.category)}</td><td class="num">{r.count}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()/>
            <Figure chart=spend_chart title=tr(lang, "Predicted event spend by country (US$)").into() id="chart-spend"
                table=view! {
                    <table class="numbers">
                        <thead><tr>
                            <th scope="col">{tr(lang, "Country")}</th><th scope="col">{tr(lang, "total")}</th>
                            <th scope="col">{tr(lang, "accommodation")}</th><th scope="col">{tr(lang, "hospitality")}</th><th scope="col">{tr(lang, "transportation")}</th>
                        </tr></thead>
                        <tbody>
                            {spend.into_iter().map(|r| view! {
                                <tr><th scope="row">{r.label}</th><td class="num">{fmt_int(r.total)}</td><td class="num">{fmt_int(r.accommodation)}</td>
                                    <td class="num">{fmt_int(r.hospitality)}</td><td class="num">{fmt_int(r.transportation)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()/>
            <Figure chart=fares_chart title=fares_title.clone() id="chart-fares"
                table=view! {
                    {fares.demo.then(|| view! { <p class="demo-note">{tr(lang, "Demo fares: not real prices.")}</p> })}
                    {fares.rows.is_empty().then(|| view! {
                        <p class="empty">{trf(lang, "No stored offers from {} to the airports of these events.", &[&fares.origin])}</p>
                    })}
                    {(!other_currencies.is_empty()).then(|| view! {
                        <p class="legend">{trf(lang, "Also in other currencies (in the table): {}", &[&other_currencies.join(", ")])}</p>
                    })}
                    <table class="numbers">
                        <thead><tr>
                            <th scope="col">{tr(lang, "Country")}</th><th scope="col">{tr(lang, "Currency")}</th>
                            <th scope="col">{tr(lang, "Average out")}</th><th scope="col">{tr(lang, "Offers out")}</th>
                            <th scope="col">{tr(lang, "Average back")}</th><th scope="col">{tr(lang, "Offers back")}</th>
                        </tr></thead>
                        <tbody>
                            {fares.rows.into_iter().map(|r| {
                                let money = |v: Option<f64>| v.map(|v| fmt_money(lang, &r.currency, v)).unwrap_or_else(|| "—".into());
                                view! {
                                    <tr><th scope="row">{r.label.clone()}</th><td>{r.currency.clone()}</td>
                                        <td class="num">{money(r.outbound_avg)}</td><td class="num">{r.outbound_offers}</td>
                                        <td class="num">{money(r.return_avg)}</td><td class="num">{r.return_offers}</td></tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()/>
            <Figure chart=visitors_chart title=tr(lang, "Expected visitors per day").into() id="chart-visitors"
                table=view! {
                    <p class="legend">{if visitor_weeks.is_empty() {
                        tr(lang, "No event here has a day-by-day pattern.")
                    } else {
                        tr(lang, "From the provider's day-by-day patterns; events without one are not counted.")
                    }}</p>
                    <table class="numbers">
                        <thead><tr><th scope="col">{tr(lang, "Week of")}</th><th scope="col">{tr(lang, "Visitors (sum of the week's days)")}</th></tr></thead>
                        <tbody>
                            {visitor_weeks.into_iter().map(|(week, n)| view! {
                                <tr><th scope="row">{week}</th><td class="num">{fmt_int(n)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()/>
            <Figure chart=scatter_chart title=tr(lang, "Rank against predicted attendance").into() id="chart-scatter"
                table=view! {
                    <table class="numbers">
                        <thead><tr><th scope="col">{tr(lang, "Event")}</th><th scope="col">{tr(lang, "Rank")}</th><th scope="col">{tr(lang, "Predicted attendance")}</th></tr></thead>
                        <tbody>
                            {scatter.into_iter().take(200).map(|p| view! {
                                <tr><th scope="row"><a href=format!("/events/{}", p.id)>{p.title}</a></th><td class="num">{p.rank}</td><td class="num">{fmt_int(p.attendance)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()/>
        </div>
        <div class="cards">
            <Card title=tr(lang, "Top by rank") events=cards.top_rank/>
            <Card title=tr(lang, "Top by predicted attendance") events=cards.top_attendance/>
            <Card title=tr(lang, "Starting soonest") events=cards.starting_soon/>
            <Card title=tr(lang, "Ending soonest") events=cards.ending_soon/>
        </div>
        <p class="legend">{trf(lang, "Charts count the {} events of the filter above.", &[&fmt_int(total as i64)])}</p>
    }
}

/// The visitors per day summed per week (from its Monday), in order.
fn weekly_sums(days: &[crate::types::VisitorDay]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for d in days {
        let week = crate::charts::monday_of(&d.day).unwrap_or_else(|| d.day.clone());
        match out.last_mut() {
            Some((w, n)) if *w == week => *n += d.visitors,
            _ => out.push((week, d.visitors)),
        }
    }
    out
}

#[component]
fn Card(title: &'static str, events: Vec<EventSummary>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class="part card">
            <h2>{title}</h2>
            {if events.is_empty() {
                view! { <p class="empty">{tr(lang, "No event matches.")}</p> }.into_any()
            } else {
                view! {
                    <ol>
                        {events.into_iter().map(|e| view! {
                            <li><a href=format!("/events/{}", e.id)>{e.title}</a>
                                <span class="meta">{format!(" · {} · {} – {}", e.city, fmt_date(lang, &e.start), fmt_date(lang, &e.end))}</span></li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

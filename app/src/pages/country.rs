//! The country page: the country's events as a sortable, searchable table, and where in
//! the country and in which categories they are.

use super::dashboard::Figure;
use super::{set_status, DemoBanner};
use crate::charts::{self, Bar};
use crate::i18n::{category_label, fmt_date, fmt_int, tr, use_lang, Lang};
use crate::server_fns::load_country;
use crate::types::{CountryData, LabelCount};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_location, use_params_map};

#[component]
pub fn CountryPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let location = use_location();
    let data = Resource::new(
        move || {
            (
                params.read().get("code").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_string(),
            )
        },
        |(code, query)| load_country(code, query),
    );
    view! {
        <Suspense fallback=move || view! { <p class="loading">{tr(lang, "Loading the country…")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(d)) => view! { <CountryBody d=d/> }.into_any(),
                    Ok(None) => {
                        set_status(404);
                        view! {
                            <Title text=format!("{} · TourSherpa", tr(lang, "Country not found"))/>
                            <section class="not-found"><h1>{tr(lang, "Country not found")}</h1><p><a href="/">{tr(lang, "Back to the event map")}</a></p></section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string().replace("error running server function: ", "")}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A breakdown's row label as a reader sees it.
fn breakdown_label(lang: Lang, kind: &str, r: &LabelCount) -> String {
    match (kind, r.label.is_empty()) {
        ("Category", _) => category_label(lang, &r.label).to_string(),
        ("Region", true) => tr(lang, "(region unknown)").into(),
        (_, true) => tr(lang, "(no city given)").into(),
        _ => r.label.clone(),
    }
}

/// A breakdown as a table with bars: the numbers are the text alternative of the bars.
#[component]
fn Breakdown(caption: &'static str, rows: Vec<LabelCount>, kind: &'static str) -> impl IntoView {
    let lang = use_lang();
    let max = rows.iter().map(|r| r.count).max().unwrap_or(1).max(1);
    view! {
        <table class="breakdown">
            <caption>{caption}</caption>
            <thead><tr><th scope="col">{tr(lang, kind)}</th><th scope="col">{tr(lang, "Events")}</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let pct = r.count * 100 / max;
                    let label = breakdown_label(lang, kind, &r);
                    view! {
                        <tr>
                            <th scope="row">{label}</th>
                            <td><span class="bar" style=format!("width:{pct}%")></span>" " {fmt_int(r.count as i64)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A breakdown drawn by the dashboard's chart code (at most the 15 largest rows), with
/// its numbers as a table; a row links to `link_prefix` followed by its key when given.
#[component]
fn BreakdownChart(
    caption: &'static str,
    rows: Vec<LabelCount>,
    kind: &'static str,
    id: &'static str,
    #[prop(optional)] link_prefix: Option<String>,
) -> impl IntoView {
    let lang = use_lang();
    let bars: Vec<Bar> = rows
        .iter()
        .take(15)
        .map(|r| Bar {
            label: breakdown_label(lang, kind, r),
            value: r.count as f64,
            href: link_prefix.as_ref().map(|p| format!("{p}{}", r.label)),
        })
        .collect();
    let chart = charts::bar_chart(caption, tr(lang, "events"), &bars);
    let table = view! { <Breakdown caption=caption rows=rows kind=kind/> }.into_any();
    view! { <Figure chart=chart title=caption.to_string() id=id table=table/> }
}

#[component]
fn CountryBody(d: CountryData) -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let search = move || location.search.get();
    // A column header links to the same view sorted by that column.
    let sort_link = move |sort: &'static str| {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(search().trim_start_matches('?')).unwrap_or_default();
        pairs.retain(|(k, _)| k != "sort" && k != "cursor");
        if sort != "rank" {
            pairs.push(("sort".into(), sort.into()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if qs.is_empty() {
            "?".to_string()
        } else {
            format!("?{qs}")
        }
    };
    let current_sort = move || {
        serde_urlencoded::from_str::<Vec<(String, String)>>(search().trim_start_matches('?'))
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == "sort")
            .map(|(_, v)| v)
            .unwrap_or_else(|| "rank".into())
    };
    let q = move || {
        serde_urlencoded::from_str::<Vec<(String, String)>>(search().trim_start_matches('?'))
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let next = d.page.next_cursor.clone().map(|c| {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(search().trim_start_matches('?')).unwrap_or_default();
        pairs.retain(|(k, _)| k != "cursor");
        pairs.push(("cursor".into(), c));
        format!(
            "?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    });
    let header = move |label: &'static str, sort: &'static str| {
        let sorted = move || current_sort() == sort;
        view! {
            <th scope="col" aria-sort=move || if sorted() { if sort == "title" || sort == "start" { "ascending" } else { "descending" } } else { "none" }>
                {if sort.is_empty() { view! { <span>{tr(lang, label)}</span> }.into_any() } else {
                    view! { <a href=move || sort_link(sort)>{tr(lang, label)}{move || sorted().then_some(" ▾")}</a> }.into_any()
                }}
            </th>
        }
    };
    let total = d.page.total;
    view! {
        <Title text=super::page_title(if lang == Lang::Ko { &d.name_ko } else { &d.name_en })/>
        {d.demo.then(|| view! { <DemoBanner/> })}
        <section class="country" data-code=d.code.clone()>
            <h1>{d.name_en.clone()}" " <span class="alt-name" lang="ko">{d.name_ko.clone()}</span></h1>
            <p><a href=format!("/?country={}", d.code)>{tr(lang, "See them on the map")}</a></p>
            <div class="bundle">
                <BreakdownChart caption=tr(lang, "Events per region") rows=d.regions kind="Region" id="chart-regions"/>
                <BreakdownChart caption=tr(lang, "Events per category") rows=d.categories kind="Category" id="chart-categories"
                    link_prefix=format!("/dashboard?country={}&category=", d.code)/>
                <Breakdown caption=tr(lang, "Events per city") rows=d.cities kind="City"/>
            </div>
            <Form method="GET" action="" attr:class="filters">
                <label>{tr(lang, "Search this country ")} <input type="search" name="q" value=q placeholder=tr(lang, "Title, venue or city")/></label>
                <input type="hidden" name="sort" prop:value=move || { let s = current_sort(); if s == "rank" { String::new() } else { s } }/>
                <button type="submit">{tr(lang, "Search")}</button>
            </Form>
            <p class="count"><strong data-total=total>{fmt_int(total as i64)}</strong>{tr(lang, if total == 1 { " event" } else { " events" })}</p>
            <div class="table-wrap">
                <table class="events-table">
                    <thead><tr>
                        {header("Title", "title")}
                        {header("Category", "")}
                        {header("City", "")}
                        {header("Starts", "start")}
                        {header("Rank", "rank")}
                        {header("Attendance", "attendance")}
                    </tr></thead>
                    <tbody>
                        {d.page.items.into_iter().map(|e| view! {
                            <tr data-id=e.id.clone()>
                                <td><a href=format!("/events/{}", e.id)>{e.title}</a></td>
                                <td>{category_label(lang, &e.category)}</td>
                                <td>{e.city}</td>
                                <td>{fmt_date(lang, &e.start)}</td>
                                <td class="num">{e.rank}</td>
                                <td class="num">{e.attendance.map(fmt_int).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {next.map(|href| view! { <p><a rel="next" href=href>{tr(lang, "More events")}</a></p> })}
        </section>
    }
}

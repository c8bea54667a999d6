//! TourSherpa's Leptos application: routes, pages, server functions and shared types.
//! Server-only modules (store, refresh pipeline, demo providers) sit behind `ssr`.

pub mod admin;
pub mod charts;
pub mod filter;
pub mod geo;
pub mod i18n;
mod map;
pub mod pages;
pub mod server_fns;
pub mod types;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod providers;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod trip;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app. Leaflet is a classic script in the head, so the
/// global `L` exists before the wasm hydrates.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = i18n::detect();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href="/leaflet/leaflet.css"/>
                <script src="/leaflet/leaflet.js"></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = i18n::detect();
    provide_context(lang);
    let tr = move |en| i18n::tr(lang, en);
    view! {
        <Stylesheet id="leptos" href="/pkg/toursherpa.css"/>
        <Link rel="icon" href="/favicon.svg"/>
        <Meta name="theme-color" content="#0b5d7a"/>
        <Router>
            <header class="site-header">
                <a class="brand" href="/">"TourSherpa"</a>
                <span class="tagline">{tr("Trips around the world's events")}</span>
                <nav class="site-nav" aria-label=tr("Pages")>
                    <a href="/">{tr("Map")}</a>
                    <a href="/dashboard">{tr("Dashboard")}</a>
                </nav>
                <LanguageSwitch/>
            </header>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/dashboard") view=pages::dashboard::DashboardPage/>
                    // Async: the status (404 for an unknown event) is known before the headers go out.
                    <Route path=path!("/events/:id") view=pages::event::EventPage ssr=SsrMode::Async/>
                    <Route path=path!("/countries/:code") view=pages::country::CountryPage ssr=SsrMode::Async/>
                    <Route path=path!("/places/:id") view=pages::place::PlacePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=pages::admin::AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/runs/:id") view=pages::admin::AdminRunPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>
                    {tr("Map shapes: Natural Earth (public domain). Airports: airportsdata (MIT) and OurAirports (public domain). Country names: Unicode CLDR. Map library: Leaflet (BSD-2-Clause). ")}
                    <a href="/api/openapi.json" rel="external">{tr("JSON API")}</a>
                </p>
            </footer>
        </Router>
    }
}

/// English | 한국어. Plain links to the server's `/lang/{code}`, which remembers the choice
/// and comes back to the same page (so the whole page, dates and numbers included, is
/// rendered in the new language).
#[component]
fn LanguageSwitch() -> impl IntoView {
    let lang = i18n::use_lang();
    let location = leptos_router::hooks::use_location();
    let back = move || {
        // The router's `search` has no leading `?`.
        let search = location.search.get();
        let search = search.trim_start_matches('?');
        let path = location.pathname.get();
        let here = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        serde_urlencoded::to_string([("back", here)]).unwrap_or_default()
    };
    view! {
        <nav class="lang-switch" aria-label=i18n::tr(lang, "Language")>
            <a href=move || format!("/lang/en?{}", back()) rel="external" hreflang="en" lang="en"
                aria-current=move || (lang == i18n::Lang::En).then_some("true")>"English"</a>
            " | "
            <a href=move || format!("/lang/ko?{}", back()) rel="external" hreflang="ko" lang="ko"
                aria-current=move || (lang == i18n::Lang::Ko).then_some("true")>"한국어"</a>
        </nav>
    }
}

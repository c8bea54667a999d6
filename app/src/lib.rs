//! TourSherpa's Leptos application: routes, pages, server functions and shared types.
//! Server-only modules (store, refresh pipeline, demo providers) sit behind `ssr`.

pub mod filter;
pub mod geo;
mod map;
pub mod pages;
pub mod server_fns;
pub mod types;

#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod providers;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app. Leaflet is a classic script in the head, so the
/// global `L` exists before the wasm hydrates.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
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
    view! {
        <Stylesheet id="leptos" href="/pkg/toursherpa.css"/>
        <Link rel="icon" href="/favicon.svg"/>
        <Meta name="theme-color" content="#0b5d7a"/>
        <Router>
            <header class="site-header">
                <a class="brand" href="/">"TourSherpa"</a>
                <span class="tagline">"Trips around the world's events"</span>
            </header>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    // Async: the status (404 for an unknown event) is known before the headers go out.
                    <Route path=path!("/events/:id") view=pages::event::EventPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>
                    "Map shapes: Natural Earth (public domain). Airports: airportsdata (MIT) and OurAirports (public domain). "
                    "Country names: Unicode CLDR. Map library: Leaflet (BSD-2-Clause). "
                    <a href="/api/openapi.json">"JSON API"</a>
                </p>
            </footer>
        </Router>
    }
}

use crate::i18n::{tr, use_lang};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    super::set_status(404);
    let lang = use_lang();
    view! {
        <Title text=format!("{} · TourSherpa", tr(lang, "Page not found"))/>
        <section class="not-found">
            <h1>{tr(lang, "Page not found")}</h1>
            <p>{tr(lang, "No page has this address. ")}<a href="/">{tr(lang, "Back to the event map")}</a></p>
        </section>
    }
}

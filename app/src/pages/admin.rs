//! The admin pages: start and watch refreshes, the run history with a drill-down per class,
//! provider status, event moderation and the audit log. The server refuses these pages and
//! their server functions without an administrator's session; sign-in and sign-out are
//! plain forms served by the server (`/admin/sign-in`, `/admin/sign-out`).

use crate::admin::{
    admin_run, load_admin_overview, CancelRefresh, HideEvent, ShowEvent, StartRefresh,
};
use crate::types::{AdminOverview, RunEvents, RunInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The message of a server function error, without the framework's prefix.
fn message(e: &ServerFnError) -> String {
    e.to_string()
        .replace("error running server function: ", "")
        .replace("ServerFnError: ", "")
}

/// "12.3 s", "4 min 05 s".
fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s < 60.0 => format!("{s:.1} s"),
        Some(s) => format!("{} min {:02} s", (s / 60.0) as u64, (s as u64) % 60),
    }
}

fn when(rfc3339: &str) -> String {
    rfc3339.replace('T', " ").replace('Z', " UTC")
}

fn sign_out_form() -> impl IntoView {
    view! {
        <form method="post" action="/admin/sign-out" class="sign-out">
            <button type="submit">"Sign out"</button>
        </form>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let overview = Resource::new(move || tick.get(), |_| load_admin_overview());
    let start = ServerAction::<StartRefresh>::new();
    let cancel = ServerAction::<CancelRefresh>::new();
    let hide = ServerAction::<HideEvent>::new();
    let show = ServerAction::<ShowEvent>::new();
    // Any action done: load the page's numbers again.
    Effect::new(move |_| {
        start.version().get();
        cancel.version().get();
        hide.version().get();
        show.version().get();
        tick.update(|t| *t += 1);
    });
    // Set once the page runs in the browser (it then updates itself).
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    // Live progress: poll every second while a run is going, every five seconds otherwise
    // (to notice a run started elsewhere).
    #[cfg(feature = "hydrate")]
    {
        let seconds = std::cell::Cell::new(0u32);
        let handle = set_interval_with_handle(
            move || {
                seconds.set(seconds.get() + 1);
                let running = overview
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|o| o.running.is_some());
                if running || seconds.get().is_multiple_of(5) {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Title text="Admin · TourSherpa"/>
        <div class="admin" data-live=move || live.get().then_some("1")>
            <div class="admin-head">
                <h1 class="page-title">"Admin"</h1>
                {sign_out_form()}
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! {
                            <Overview o=o start=start cancel=cancel hide=hide show=show/>
                        }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">{message(&e)}" "<a href="/admin/sign-in" rel="external">"Sign in"</a></p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn Overview(
    o: AdminOverview,
    start: ServerAction<StartRefresh>,
    cancel: ServerAction<CancelRefresh>,
    hide: ServerAction<HideEvent>,
    show: ServerAction<ShowEvent>,
) -> impl IntoView {
    let start_result = move || {
        start.value().get().map(|r| match r {
            Ok(id) => view! { <p class="notice" role="status">{format!("Run {id} started.")}</p> }
                .into_any(),
            Err(e) => {
                view! { <p class="error already-running" role="alert">{message(&e)}</p> }.into_any()
            }
        })
    };
    let hide_result = move || {
        hide.value().get().map(|r| match r {
            Ok(title) => view! { <p class="notice" role="status">{format!("Hidden: {title}")}</p> }
                .into_any(),
            Err(e) => view! { <p class="error" role="alert">{message(&e)}</p> }.into_any(),
        })
    };
    let show_result = move || {
        show.value().get().map(|r| match r {
            Ok(title) => {
                view! { <p class="notice" role="status">{format!("Shown again: {title}")}</p> }
                    .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{message(&e)}</p> }.into_any(),
        })
    };
    let AdminOverview {
        username,
        running,
        runs,
        providers,
        audit,
        hidden,
    } = o;
    let running_id = running.as_ref().map(|r| r.id);
    view! {
        <p class="signed-in">"Signed in as "<strong>{username}</strong></p>
        <section class="admin-section" aria-labelledby="refresh-h">
            <h2 id="refresh-h">"Refresh"</h2>
            <div class="refresh-buttons">
                <ActionForm action=start>
                    <input type="hidden" name="mode" value="incremental"/>
                    <button type="submit" disabled=running_id.is_some()>"Start incremental refresh"</button>
                </ActionForm>
                <ActionForm action=start>
                    <input type="hidden" name="mode" value="full"/>
                    <button type="submit" disabled=running_id.is_some()>"Start full refresh"</button>
                </ActionForm>
            </div>
            {start_result}
            {match running {
                Some(run) => view! { <Progress run=run cancel=cancel/> }.into_any(),
                None => view! { <p class="idle" data-testid="idle">"No refresh is running."</p> }.into_any(),
            }}
        </section>
        <section class="admin-section" aria-labelledby="runs-h">
            <h2 id="runs-h">"Runs"</h2>
            <RunTable runs=runs/>
        </section>
        <section class="admin-section" aria-labelledby="providers-h">
            <h2 id="providers-h">"Providers"</h2>
            <div class="table-scroll">
            <table class="admin-table providers">
                <thead><tr>
                    <th scope="col">"Role"</th><th scope="col">"Provider"</th><th scope="col">"Keys"</th>
                    <th scope="col">"Calls today"</th><th scope="col">"Last error"</th><th scope="col">"Last success"</th>
                </tr></thead>
                <tbody>
                    {providers.into_iter().map(|p| {
                        let name = if p.demo { format!("{} (demo data, no calls billed)", p.name) } else { p.name.clone() };
                        let keys = if p.demo { "—".to_string() } else { p.keys.to_string() };
                        let calls = if p.demo {
                            "not counted".to_string()
                        } else if p.daily_budget > 0 {
                            format!("{} of {}", p.calls_today, p.daily_budget)
                        } else {
                            format!("{} (no daily budget)", p.calls_today)
                        };
                        let error = match (&p.last_error, &p.last_error_at) {
                            (Some(e), Some(at)) => format!("{e} ({})", when(at)),
                            (Some(e), None) => e.clone(),
                            _ => "none".into(),
                        };
                        let success = match (p.last_success_run, &p.last_success_at) {
                            (Some(r), Some(at)) => format!("run {r}, {}", when(at)),
                            _ => "none yet".into(),
                        };
                        view! {
                            <tr>
                                <td>{p.role.clone()}</td><td>{name}</td><td class="num">{keys}</td>
                                <td class="num">{calls}</td><td>{error}</td><td>{success}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
        <section class="admin-section" aria-labelledby="moderation-h">
            <h2 id="moderation-h">"Moderation"</h2>
            <p>"A hidden event disappears from the map, lists, exports, charts and its page; refreshes keep it hidden until it is shown again."</p>
            <ActionForm action=hide attr:class="hide-form">
                <label>"Event id "<input name="event_id" required maxlength="200"/></label>
                <label>"Reason "<input name="reason" required maxlength="500" size="40"/></label>
                <button type="submit">"Hide from travellers"</button>
            </ActionForm>
            {hide_result}
            {show_result}
            {if hidden.is_empty() {
                view! { <p>"No event is hidden."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table hidden-events">
                        <thead><tr><th scope="col">"Event"</th><th scope="col">"Reason"</th><th scope="col">"Hidden by"</th><th scope="col">"When"</th><th scope="col"></th></tr></thead>
                        <tbody>
                            {hidden.into_iter().map(|h| view! {
                                <tr>
                                    <td>{h.title.clone()}" "<code>{h.id.clone()}</code></td>
                                    <td>{h.reason.clone()}</td>
                                    <td>{h.hidden_by.clone()}</td>
                                    <td>{when(&h.hidden_at)}</td>
                                    <td>
                                        <ActionForm action=show>
                                            <input type="hidden" name="event_id" value=h.id.clone()/>
                                            <button type="submit">"Show again"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="admin-section" aria-labelledby="audit-h">
            <h2 id="audit-h">"Audit log"</h2>
            <table class="admin-table audit">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"On"</th><th scope="col">"Detail"</th></tr></thead>
                <tbody>
                    {audit.into_iter().map(|a| view! {
                        <tr>
                            <td>{when(&a.at)}</td><td>{a.actor.clone()}</td><td>{a.action.clone()}</td>
                            <td>{a.target.clone()}</td><td>{a.detail.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The running refresh, updated every second.
#[component]
fn Progress(run: RunInfo, cancel: ServerAction<CancelRefresh>) -> impl IntoView {
    let counted = run.progress_total > 0;
    let percent = if counted {
        (run.progress_done as f64 * 100.0 / run.progress_total as f64).round() as i32
    } else {
        0
    };
    let cancel_result = move || {
        cancel.value().get().and_then(|r| r.err()).map(|e| {
            view! { <p class="error" role="alert">{message(&e)}</p> }
        })
    };
    view! {
        <div class="run-progress" role="status" aria-live="polite" data-run=run.id>
            <p>
                <strong>{format!("Run {} ({}) is running", run.id, run.mode)}</strong>
                {format!(" · started by {} at {}", run.triggered_by.clone().unwrap_or_default(), when(&run.started_at))}
            </p>
            <p>
                "Stage: "<span class="stage">{run.stage.clone()}</span>
                {counted.then(|| format!(" · {} of {} events ({percent}%)", run.progress_done, run.progress_total))}
            </p>
            {counted.then(|| view! {
                <progress max=run.progress_total value=run.progress_done>{format!("{percent}%")}</progress>
            })}
            <p>{format!(
                "Classes so far: unchanged {} · changed {} · moved {} · new {} · gone {}",
                run.classes.unchanged, run.classes.changed, run.classes.moved, run.classes.new, run.classes.gone
            )}</p>
            <p>{format!(
                "Calls so far: events {} · places {} · flights {}",
                run.calls.events, run.calls.places, run.calls.flights
            )}</p>
            {if run.cancel_requested {
                view! { <p class="notice">"Cancel requested; the run stops at its next check."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=cancel>
                        <input type="hidden" name="run_id" value=run.id/>
                        <button type="submit" class="cancel">"Cancel this run"</button>
                    </ActionForm>
                }.into_any()
            }}
            {cancel_result}
        </div>
    }
}

#[component]
fn RunTable(runs: Vec<RunInfo>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p>"No refresh has run yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="admin-table runs">
            <thead><tr>
                <th scope="col">"Run"</th><th scope="col">"Started (UTC)"</th><th scope="col">"By"</th>
                <th scope="col">"Mode"</th><th scope="col">"Status"</th><th scope="col">"Duration"</th>
                <th scope="col">"Unchanged"</th><th scope="col">"Changed"</th><th scope="col">"Moved"</th>
                <th scope="col">"New"</th><th scope="col">"Gone"</th>
                <th scope="col">"Calls: events / places / flights"</th><th scope="col">"Saved"</th>
                <th scope="col">"Deferred"</th><th scope="col">"Errors"</th>
            </tr></thead>
            <tbody>
                {runs.into_iter().map(|r| {
                    let class_link = move |class: &'static str, n: i32| {
                        if n > 0 && class != "unchanged" {
                            view! { <a href=format!("/admin/runs/{}?class={class}", r.id)>{n}</a> }.into_any()
                        } else {
                            view! { <span>{n}</span> }.into_any()
                        }
                    };
                    view! {
                        <tr data-run=r.id class=format!("status-{}", r.status)>
                            <td><a href=format!("/admin/runs/{}", r.id)>{r.id}</a></td>
                            <td>{when(&r.started_at)}</td>
                            <td>{r.triggered_by.clone().unwrap_or_default()}</td>
                            <td>{r.mode.clone()}</td>
                            <td class="status">{r.status.clone()}</td>
                            <td class="num">{duration(r.duration_seconds)}</td>
                            <td class="num">{r.classes.unchanged}</td>
                            <td class="num">{class_link("changed", r.classes.changed)}</td>
                            <td class="num">{class_link("moved", r.classes.moved)}</td>
                            <td class="num">{class_link("new", r.classes.new)}</td>
                            <td class="num">{class_link("gone", r.classes.gone)}</td>
                            <td class="num">{format!("{} / {} / {}", r.calls.events, r.calls.places, r.calls.flights)}</td>
                            <td class="num">{r.calls_saved}</td>
                            <td class="num">{r.deferred}</td>
                            <td class="num">{r.errors.len()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

const CLASSES: [&str; 5] = ["new", "changed", "moved", "gone", "unchanged"];

/// One run: its numbers and errors, and the events of one class, a page at a time.
#[component]
pub fn AdminRunPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let id = params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0);
        let q = query.read();
        let class = q
            .get("class")
            .filter(|c| CLASSES.contains(&c.as_str()))
            .unwrap_or_else(|| "new".into());
        let page = q
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
            .max(1);
        (id, class, page)
    };
    let data = Resource::new(key, |(id, class, page)| admin_run(id, class, page));
    view! {
        <Title text="Run · Admin · TourSherpa"/>
        <div class="admin">
            <div class="admin-head">
                <p><a href="/admin">"← Admin"</a></p>
                {sign_out_form()}
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading the run…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((run, events)) => view! { <RunDetail run=run events=events/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{message(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn RunDetail(run: RunInfo, events: RunEvents) -> impl IntoView {
    let id = run.id;
    let count = |c: &str| match c {
        "unchanged" => run.classes.unchanged,
        "changed" => run.classes.changed,
        "moved" => run.classes.moved,
        "new" => run.classes.new,
        _ => run.classes.gone,
    };
    let pages = events.total.div_ceil(events.per_page).max(1);
    let class = events.class.clone();
    view! {
        <h1 class="page-title">{format!("Run {id}: {}", run.status)}</h1>
        <dl class="run-facts">
            <dt>"Mode"</dt><dd>{run.mode.clone()}</dd>
            <dt>"Started by"</dt><dd>{run.triggered_by.clone().unwrap_or_default()}</dd>
            <dt>"Started"</dt><dd>{when(&run.started_at)}</dd>
            <dt>"Finished"</dt><dd>{run.finished_at.as_deref().map(when).unwrap_or_else(|| "not yet".into())}</dd>
            <dt>"Duration"</dt><dd>{duration(run.duration_seconds)}</dd>
            <dt>"Events provider"</dt><dd>{run.events_provider.clone()}</dd>
            <dt>"Calls"</dt><dd>{format!("events {} · places {} · flights {}", run.calls.events, run.calls.places, run.calls.flights)}</dd>
            <dt>"Calls saved"</dt><dd>{run.calls_saved}</dd>
            <dt>"Deferred enrichment"</dt><dd>{run.deferred}</dd>
            <dt>"Archived (past)"</dt><dd>{run.archived}</dd>
            <dt>"Invalid records set aside"</dt><dd>{run.invalid}</dd>
        </dl>
        {(!run.errors.is_empty()).then(|| view! {
            <h2>"Errors"</h2>
            <ul class="run-errors">{run.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
        })}
        <nav class="class-tabs" aria-label="Classes">
            {CLASSES.iter().map(|c| {
                let current = *c == class;
                view! {
                    <a href=format!("/admin/runs/{id}?class={c}") aria-current=current.then_some("page")>
                        {format!("{c} ({})", count(c))}
                    </a>
                }
            }).collect_view()}
        </nav>
        {if class == "unchanged" {
            view! { <p>"Unchanged events are counted, not listed: a run records history only for the events it changed."</p> }.into_any()
        } else if events.items.is_empty() {
            view! { <p>"No events in this class."</p> }.into_any()
        } else {
            view! {
                <table class="admin-table run-events">
                    <thead><tr><th scope="col">"Event"</th><th scope="col">"Where"</th><th scope="col">"State now"</th><th scope="col">"Detail"</th></tr></thead>
                    <tbody>
                        {events.items.iter().map(|e| view! {
                            <tr>
                                <td><a href=format!("/events/{}", e.id) rel="external">{if e.title.is_empty() { e.id.clone() } else { e.title.clone() }}</a></td>
                                <td>{format!("{}, {}", e.city, e.country)}</td>
                                <td>{e.state.clone()}</td>
                                <td>{e.detail.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="pager">
                    {format!("Page {} of {pages} ({} events)", events.page, events.total)}
                    {(events.page > 1).then(|| view! { " "<a href=format!("/admin/runs/{id}?class={}&page={}", class, events.page - 1)>"← Previous"</a> })}
                    {(events.page < pages).then(|| view! { " "<a href=format!("/admin/runs/{id}?class={}&page={}", class, events.page + 1)>"Next →"</a> })}
                </p>
            }.into_any()
        }}
    }
}

//! The answers of the busiest reads (map clusters and event list pages), kept until the
//! events change. Every transaction that changes events bumps the store's event generation
//! (`derived::events_changed`, whichever process makes the change), and an answer is served
//! only at the generation it was computed at: one primary-key read instead of the query.

use super::{derived, events::QueryError};
use crate::filter::EventFilter;
use crate::types::{Cluster, EventPage};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// About how many bytes of answers are kept; past it the cache starts again empty.
const BUDGET_BYTES: usize = 24 * 1024 * 1024;

#[derive(Clone)]
enum Answer {
    Clusters(Vec<Cluster>),
    Page(EventPage),
}

#[derive(Default)]
struct Cache {
    generation: Option<String>,
    answers: HashMap<String, Answer>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Cache::default()))
}

fn key(kind: &str, f: &EventFilter, extra: &str) -> String {
    format!(
        "{kind}|{extra}|{}",
        serde_json::to_string(f).unwrap_or_default()
    )
}

/// The kept answer for `key` if it was computed at `generation`; a different generation
/// empties the cache and starts it anew at that one.
fn lookup(key: &str, generation: &Option<String>) -> Option<Answer> {
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if &c.generation != generation {
        *c = Cache {
            generation: generation.clone(),
            ..Cache::default()
        };
        return None;
    }
    c.answers.get(key).cloned()
}

fn store(key: String, generation: Option<String>, answer: Answer, bytes: usize) {
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if c.generation != generation {
        // The events changed while this answer was computed: keep nothing.
        return;
    }
    if c.bytes + bytes > BUDGET_BYTES {
        c.answers.clear();
        c.bytes = 0;
    }
    c.bytes += bytes;
    c.answers.insert(key, answer);
}

/// [`super::events::map_clusters`], cached.
pub async fn map_clusters(
    db: &DatabaseConnection,
    f: &EventFilter,
    zoom: u8,
) -> Result<Vec<Cluster>, QueryError> {
    let generation = derived::generation(db).await?;
    let key = key("clusters", f, &zoom.to_string());
    if let Some(Answer::Clusters(c)) = lookup(&key, &generation) {
        return Ok(c);
    }
    let clusters = super::events::map_clusters(db, f, zoom).await?;
    let bytes = 160 + clusters.len() * 160;
    store(key, generation, Answer::Clusters(clusters.clone()), bytes);
    Ok(clusters)
}

/// [`super::events::list_events`], cached.
pub async fn list_events(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<EventPage, QueryError> {
    let generation = derived::generation(db).await?;
    let key = key("list", f, "");
    if let Some(Answer::Page(p)) = lookup(&key, &generation) {
        return Ok(p);
    }
    let page = super::events::list_events(db, f).await?;
    let bytes = 256 + serde_json::to_string(&page).map_or(0, |s| s.len());
    store(key, generation, Answer::Page(page.clone()), bytes);
    Ok(page)
}

//! Benchmark of the snapshot diff: N synthetic stored events against a new snapshot of the
//! same N with 5% changed (of which a quarter moved 2 km), 1% new and 1% vanished.
//! Prints wall times and the process's peak memory. Run through `bench/diff.sh`.

use app::ingest::diff::{Differ, ProviderState, SnapshotEvent, StoredState, SyncMode};
use app::types::CATEGORIES;
use chrono::NaiveDate;
use std::time::Instant;

/// Snapshot events arrive in batches (a provider's pages): memory stays bounded.
const BATCH: usize = 10_000;

/// Synthetic event `n`; `changed` raises its rank (and moves one in twenty of those).
fn event(n: usize, changed: bool) -> SnapshotEvent {
    let base = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let start = base + chrono::Duration::days((n % 365) as i64);
    let moved = changed && n.is_multiple_of(80); // a quarter of the changed ones
    let lat = -60.0 + (n % 12_000) as f64 * 0.01;
    let lon = -170.0 + (n / 12_000 % 34_000) as f64 * 0.01;
    SnapshotEvent {
        id: format!("ev{n:07}"),
        title: format!("Synthetic event {n}"),
        description: String::new(),
        category: CATEGORIES[n % 6].to_string(),
        labels: Vec::new(),
        rank: (n % 100) as i32 + i32::from(changed),
        local_rank: Some((n % 90) as i32),
        attendance: Some((n % 50_000) as i64 * 10),
        spend_usd: None,
        start,
        end: start + chrono::Duration::days((n % 4) as i64),
        timezone: "UTC".into(),
        venue_name: format!("Venue {}", n % 200_000),
        address: String::new(),
        city: "City".into(),
        country: "US".into(),
        lat: if moved { lat + 0.018 } else { lat },
        lon,
        state: ProviderState::Active,
        updated: None,
        starts_at: None,
        ends_at: None,
        impact: Vec::new(),
        spend_industries: None,
        region: None,
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();

    let t = Instant::now();
    let stored: app::ingest::diff::StoredMap = (0..n)
        .map(|i| {
            let e = event(i, false);
            (e.id.clone(), e.digest(StoredState::Active))
        })
        .collect();
    let build = t.elapsed();
    let after_build = peak_rss_mb();

    // The new snapshot streams through the differ: 1% of ids vanish, 1% are new.
    let vanished = n / 100;
    let t = Instant::now();
    let mut in_diff = std::time::Duration::ZERO;
    let d = Instant::now();
    let mut differ = Differ::new(&stored);
    in_diff += d.elapsed();
    let mut batch = Vec::with_capacity(BATCH);
    for i in vanished..(n + n / 100) {
        batch.push(event(i, i.is_multiple_of(20)));
        if batch.len() == BATCH {
            let d = Instant::now();
            differ.observe_batch(i + 1 - BATCH, &batch);
            in_diff += d.elapsed();
            batch.clear();
        }
    }
    let first = n + n / 100 - batch.len();
    let d = Instant::now();
    differ.observe_batch(first, &batch);
    let diff = differ.finish(SyncMode::Full, today);
    in_diff += d.elapsed();
    let elapsed = t.elapsed();

    // The same stream without the diff, to separate generating events from diffing them.
    let t = Instant::now();
    let mut sink = 0usize;
    for i in vanished..(n + n / 100) {
        sink = sink.wrapping_add(event(i, i.is_multiple_of(20)).title.len());
    }
    let generate_only = t.elapsed();

    println!("events stored:            {n}");
    println!("snapshot events:          {}", n - vanished + n / 100);
    println!(
        "classes:                  unchanged {} changed {} moved {} new {} gone {}",
        diff.unchanged,
        diff.count(app::ingest::diff::Class::Changed),
        diff.count(app::ingest::diff::Class::Moved),
        diff.count(app::ingest::diff::Class::New),
        diff.count(app::ingest::diff::Class::Gone)
    );
    println!("build stored digests:     {:.3} s", build.as_secs_f64());
    println!("stream with the diff:     {:.3} s", elapsed.as_secs_f64());
    println!(
        "stream without the diff:  {:.3} s",
        generate_only.as_secs_f64()
    );
    println!("diff (time in the differ): {:.3} s", in_diff.as_secs_f64());
    println!("peak memory after stored: {after_build:.0} MB");
    println!("peak memory (process):    {:.0} MB", peak_rss_mb());
    assert!(sink > 0);
}

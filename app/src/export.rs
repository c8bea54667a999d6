//! Exports of a filtered view: iCalendar (RFC 5545) and CSV, built from the same query as
//! the list, so an export holds exactly the events the page and the API show.

use crate::filter::EventFilter;
use crate::store::entities::event;
use crate::store::events::{filter_condition, QueryError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

/// The most events one export holds; the answer says when there were more.
pub const MAX_EXPORT: u64 = 10_000;

/// The filtered events in the filter's order (rank, then id), at most [`MAX_EXPORT`],
/// and whether more matched.
pub async fn export_rows(
    db: &DatabaseConnection,
    f: &EventFilter,
) -> Result<(Vec<event::Model>, bool), QueryError> {
    let mut rows = event::Entity::find()
        .filter(filter_condition(f, db.get_database_backend())?)
        .order_by(event::Column::Rank, Order::Desc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(MAX_EXPORT + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > MAX_EXPORT;
    rows.truncate(MAX_EXPORT as usize);
    Ok((rows, more))
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(ch);
        used += n;
    }
    out.push_str("\r\n");
}

fn ics_instant(s: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    Some(t.format("%Y%m%dT%H%M%SZ").to_string())
}

/// An iCalendar document with one VEVENT per event. `base_url` makes the event links
/// absolute (e.g. `https://toursherpa.example`). Demo events say so in their summary.
pub fn to_ics(rows: &[event::Model], base_url: &str, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//TourSherpa//Events//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        fold(line, &mut out);
    }
    for m in rows {
        let url = format!("{}/events/{}", base_url.trim_end_matches('/'), m.id);
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}@toursherpa", ics_text(&m.id)), &mut out);
        fold(&format!("DTSTAMP:{stamp}"), &mut out);
        match (
            m.starts_at.as_deref().and_then(ics_instant),
            m.ends_at.as_deref().and_then(ics_instant),
        ) {
            (Some(a), Some(b)) => {
                fold(&format!("DTSTART:{a}"), &mut out);
                fold(&format!("DTEND:{b}"), &mut out);
            }
            _ => {
                // All-day: DTEND is exclusive.
                fold(
                    &format!("DTSTART;VALUE=DATE:{}", m.start_date.format("%Y%m%d")),
                    &mut out,
                );
                fold(
                    &format!(
                        "DTEND;VALUE=DATE:{}",
                        (m.end_date + Duration::days(1)).format("%Y%m%d")
                    ),
                    &mut out,
                );
            }
        }
        let summary = if m.demo {
            format!("{} (TourSherpa demo data)", m.title)
        } else {
            m.title.clone()
        };
        fold(&format!("SUMMARY:{}", ics_text(&summary)), &mut out);
        let location = [&m.venue_name, &m.address, &m.city, &m.country]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        fold(&format!("LOCATION:{}", ics_text(&location)), &mut out);
        fold(&format!("GEO:{:.6};{:.6}", m.lat, m.lon), &mut out);
        fold(
            &format!("CATEGORIES:{}", ics_text(&m.category.to_uppercase())),
            &mut out,
        );
        let description = format!("{}\n\n{url}", m.description);
        fold(&format!("DESCRIPTION:{}", ics_text(&description)), &mut out);
        fold(&format!("URL:{url}"), &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

/// A cell that a spreadsheet would run as a formula is prefixed with an apostrophe.
fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The events as CSV with a header row (RFC 4180 quoting).
pub fn to_csv(rows: &[event::Model], base_url: &str) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "title",
        "category",
        "start",
        "end",
        "timezone",
        "venue",
        "city",
        "country",
        "lat",
        "lon",
        "rank",
        "local_rank",
        "attendance",
        "demo",
        "url",
    ]);
    for m in rows {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let _ = w.write_record([
            csv_cell(&m.id),
            csv_cell(&m.title),
            m.category.clone(),
            m.start_date.format("%Y-%m-%d").to_string(),
            m.end_date.format("%Y-%m-%d").to_string(),
            m.timezone.clone(),
            csv_cell(&m.venue_name),
            csv_cell(&m.city),
            m.country.clone(),
            format!("{:.6}", m.lat),
            format!("{:.6}", m.lon),
            m.rank.to_string(),
            opt(m.local_rank.map(i64::from)),
            opt(m.attendance),
            m.demo.to_string(),
            format!("{}/events/{}", base_url.trim_end_matches('/'), m.id),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_text_is_escaped_and_lines_are_folded() {
        assert_eq!(ics_text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        let long = "SUMMARY:".to_string() + &"가".repeat(40);
        fold(&long, &mut out);
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert_eq!(out.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("Seoul"), "Seoul");
    }
}

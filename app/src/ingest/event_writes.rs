//! How a refresh's commit writes its events: new ones inserted whole, stored ones updated
//! without the indexed columns whose value did not change.
//!
//! Why: an update rewrites the entry of every index that covers a column it sets, whether
//! or not the value changed, and the events table has about fifteen indexes (the map's,
//! the search's, the dashboard cards'). A re-ranked event then touches the four rank
//! indexes, a moved one the two position indexes, not all fifteen each.

use super::diff::{text_hash, StoredEvent, StoredState};
use crate::store::entities::event;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue, DbBackend, DbErr, EntityTrait, Iterable, QueryTrait, Statement};
use std::collections::{HashMap, HashSet};

/// A set of the events' columns, one bit each in `event::Column::iter()` order.
pub type Columns = u64;

/// Rows per statement (about 34 values a row, well under SQLite's 32,766 bound parameters
/// and PostgreSQL's 65,535).
pub const WRITE_BATCH: usize = 400;

/// The columns a refresh may rewrite: all but the id and when the event was first seen.
fn writable() -> Columns {
    event::Column::iter()
        .filter(|c| !matches!(c, event::Column::Id | event::Column::FirstSeenAt))
        .fold(0, |set, c| set | bit(c))
}

fn bit(column: event::Column) -> Columns {
    1 << column as u32
}

fn value<T>(v: &ActiveValue<T>) -> Option<&T>
where
    T: Into<sea_orm::Value>,
{
    match v {
        ActiveValue::Set(x) | ActiveValue::Unchanged(x) => Some(x),
        ActiveValue::NotSet => None,
    }
}

/// The columns to set on a stored event: every writable one, except those the diff read
/// (the indexed ones) whose value is the same in `row`. Setting an unindexed column costs
/// nothing more than the rewrite of the row itself.
pub fn columns_to_set(stored: &StoredEvent, row: &event::ActiveModel) -> Columns {
    let same = |column: event::Column, equal: Option<bool>| {
        if equal == Some(true) {
            bit(column)
        } else {
            0
        }
    };
    let kept = same(event::Column::Lat, value(&row.lat).map(|v| *v == stored.lat))
        | same(event::Column::Lon, value(&row.lon).map(|v| *v == stored.lon))
        | same(
            event::Column::StartDate,
            value(&row.start_date).map(|v| *v == stored.start),
        )
        | same(
            event::Column::EndDate,
            value(&row.end_date).map(|v| *v == stored.end),
        )
        // A hidden event reads as active here and keeps its stored state; the commit then
        // re-applies the hiding, as it would after writing "active".
        | same(
            event::Column::State,
            value(&row.state).map(|v| StoredState::parse(v) == stored.state),
        )
        | same(event::Column::Rank, value(&row.rank).map(|v| *v == stored.rank))
        | same(
            event::Column::Attendance,
            value(&row.attendance).map(|v| *v == stored.attendance),
        )
        | same(
            event::Column::Category,
            value(&row.category).map(|v| text_hash(v) == stored.category),
        )
        | same(
            event::Column::Country,
            value(&row.country).map(|v| text_hash(v) == stored.country),
        )
        | same(
            event::Column::VenueName,
            value(&row.venue_name).map(|v| text_hash(v) == stored.venue),
        );
    writable() & !kept
}

/// Where built statements go, in order ([`EventWrites`]); an error stops the building.
pub type StatementSink<'a> = dyn FnMut(Statement) -> Result<(), DbErr> + 'a;

/// Collects a commit's event rows and turns them into statements in batches, grouped by
/// the columns they set, handed to a [`StatementSink`]. Call [`EventWrites::finish`] at
/// the end. Synchronous, so that a commit can build its statements on a thread of their
/// own while the connection executes the ones before.
pub struct EventWrites {
    backend: DbBackend,
    /// Rows to write, by the columns they set.
    ready: HashMap<Columns, Vec<event::ActiveModel>>,
    /// Ids not written yet: one statement may not write a row twice (PostgreSQL refuses).
    ids: HashSet<String>,
}

fn id_of(row: &event::ActiveModel) -> String {
    value(&row.id).cloned().unwrap_or_default()
}

impl EventWrites {
    pub fn new(backend: DbBackend) -> EventWrites {
        EventWrites {
            backend,
            ready: HashMap::new(),
            ids: HashSet::new(),
        }
    }

    /// Adds a row, with what the diff read of the stored event (`None` for a new one).
    pub(crate) fn push(
        &mut self,
        sink: &mut StatementSink<'_>,
        row: event::ActiveModel,
        stored: Option<&StoredEvent>,
    ) -> Result<(), DbErr> {
        let id = id_of(&row);
        if !self.ids.insert(id.clone()) {
            // The same event twice in one snapshot: the later row wins, so the earlier
            // one is written first.
            self.flush(sink)?;
            self.ids.insert(id);
        }
        let columns = stored.map_or_else(writable, |s| columns_to_set(s, &row));
        let group = self.ready.entry(columns).or_default();
        group.push(row);
        if group.len() == WRITE_BATCH {
            let rows = std::mem::take(group);
            for row in &rows {
                self.ids.remove(&id_of(row));
            }
            self.write(sink, columns, rows)?;
        }
        Ok(())
    }

    /// Hands over everything still held.
    pub(crate) fn finish(mut self, sink: &mut StatementSink<'_>) -> Result<(), DbErr> {
        self.flush(sink)
    }

    fn flush(&mut self, sink: &mut StatementSink<'_>) -> Result<(), DbErr> {
        for (columns, rows) in std::mem::take(&mut self.ready) {
            self.write(sink, columns, rows)?;
        }
        self.ids.clear();
        Ok(())
    }

    /// Inserts the rows, or sets `columns` of those already stored.
    fn write(
        &self,
        sink: &mut StatementSink<'_>,
        columns: Columns,
        rows: Vec<event::ActiveModel>,
    ) -> Result<(), DbErr> {
        if rows.is_empty() {
            return Ok(());
        }
        let set: Vec<event::Column> = event::Column::iter()
            .filter(|c| columns & bit(*c) != 0)
            .collect();
        let mut on_conflict = OnConflict::column(event::Column::Id);
        if set.is_empty() {
            on_conflict.do_nothing();
        } else {
            on_conflict.update_columns(set);
        }
        sink(
            event::Entity::insert_many(rows)
                .on_conflict(on_conflict)
                .build(self.backend),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_row() -> (StoredEvent, event::ActiveModel) {
        let e = crate::ingest::diff::tests::event("e1");
        let row = crate::ingest::active_model(&e, "predicthq", chrono::Utc::now(), 1);
        (e.digest(StoredState::Active), row)
    }

    #[test]
    fn an_unchanged_indexed_column_is_not_set() {
        let (stored, row) = stored_row();
        let set = columns_to_set(&stored, &row);
        for kept in [
            event::Column::Lat,
            event::Column::Rank,
            event::Column::State,
            event::Column::Category,
            event::Column::StartDate,
        ] {
            assert_eq!(set & bit(kept), 0, "{kept:?}");
        }
        // Unindexed columns are set whatever their value.
        assert_ne!(set & bit(event::Column::Title), 0);
        assert_eq!(set & bit(event::Column::Id), 0);
    }

    #[test]
    fn a_changed_indexed_column_is_set() {
        let (stored, mut row) = stored_row();
        row.rank = ActiveValue::Set(stored.rank + 1);
        row.lat = ActiveValue::Set(stored.lat + 0.01);
        row.state = ActiveValue::Set("gone".into());
        row.country = ActiveValue::Set("ZZ".into());
        let set = columns_to_set(&stored, &row);
        for changed in [
            event::Column::Rank,
            event::Column::Lat,
            event::Column::State,
            event::Column::Country,
        ] {
            assert_ne!(set & bit(changed), 0, "{changed:?}");
        }
        assert_eq!(set & bit(event::Column::Lon), 0);
    }

    #[test]
    fn every_column_fits_in_the_set() {
        assert!(event::Column::iter().count() <= Columns::BITS as usize);
        assert_eq!(
            writable().count_ones() as usize,
            event::Column::iter().count() - 2
        );
    }
}

//! Writes that set, on rows already stored, only the columns whose value changed.
//!
//! Why: an update rewrites the entry of every index that covers a column it sets, whether
//! or not the value changed. The events and their narrow copies have a dozen or more
//! indexes each (the map's, the search's, the dashboard's); a re-ranked event then touches
//! the indexes that hold its rank, not all of them, and not twice as a delete and an insert
//! would.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    Iterable, ModelTrait, QueryTrait, Statement,
};

/// A set of an entity's columns, one bit each in `Column::iter()` order.
pub type Columns = u64;

/// The columns of `row` whose value is not the one `stored` has (a column `row` leaves
/// unset counts as changed).
pub fn changed<A: ActiveModelTrait>(
    stored: &<A::Entity as EntityTrait>::Model,
    row: &A,
) -> Columns {
    <A::Entity as EntityTrait>::Column::iter()
        .enumerate()
        .filter(|(_, c)| row.get(*c).into_value() != Some(stored.get(*c)))
        .fold(0, |set, (i, _)| set | 1 << i)
}

/// Every column of the entity.
pub fn all<E: EntityTrait>() -> Columns {
    let n = E::Column::iter().count();
    debug_assert!(n <= Columns::BITS as usize);
    if n >= Columns::BITS as usize {
        Columns::MAX
    } else {
        (1 << n) - 1
    }
}

/// Inserts `rows` (whole), or sets `columns` (not empty) of those whose `key` is already
/// stored. One statement: keep `rows` under the backend's bound-values limit.
pub async fn upsert<C, A>(
    db: &C,
    key: <A::Entity as EntityTrait>::Column,
    columns: Columns,
    rows: Vec<A>,
) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    if let Some(statement) = upsert_statement(db.get_database_backend(), key, columns, rows)? {
        db.execute_raw(statement).await?;
    }
    Ok(())
}

/// The statement of [`upsert`], for `backend`; `None` when there are no rows.
pub fn upsert_statement<A>(
    backend: DbBackend,
    key: <A::Entity as EntityTrait>::Column,
    columns: Columns,
    rows: Vec<A>,
) -> Result<Option<Statement>, DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    if rows.is_empty() {
        return Ok(None);
    }
    let update: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .enumerate()
        .filter(|(i, _)| columns & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect();
    if update.is_empty() {
        return Err(DbErr::Custom("an upsert that sets no column".into()));
    }
    Ok(Some(
        <A::Entity as EntityTrait>::insert_many(rows)
            .on_conflict(OnConflict::column(key).update_columns(update).to_owned())
            .build(backend),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entities::event_fact;
    use sea_orm::{IntoActiveModel, Set};

    fn fact() -> event_fact::Model {
        let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        event_fact::Model {
            id: "e1".into(),
            state: "active".into(),
            category: "concerts".into(),
            country: "FR".into(),
            rank: 50,
            local_rank: None,
            attendance: Some(1000),
            start_date: day,
            end_date: day,
            lat: 48.85,
            lon: 2.35,
            spend_usd: None,
            spend_accommodation: 0,
            spend_hospitality: 0,
            spend_transportation: 0,
            start_month: "2027-03".into(),
            start_week: "2027-03-01".into(),
            impact_first: Some(day),
            v0: 1,
            v1: 0,
            v2: 0,
            v3: 0,
            v4: 0,
            v5: 0,
            v6: 0,
            v7: 0,
            v8: 0,
            v9: 0,
        }
    }

    fn bit(column: event_fact::Column) -> Columns {
        1 << column as u32
    }

    #[test]
    fn only_the_columns_whose_value_differs_are_changed() {
        let stored = fact();
        let same = stored.clone().into_active_model();
        assert_eq!(changed(&stored, &same), 0);
        let mut row = stored.clone().into_active_model();
        row.rank = Set(51);
        row.lat = Set(48.86);
        row.impact_first = Set(None);
        assert_eq!(
            changed(&stored, &row),
            bit(event_fact::Column::Rank)
                | bit(event_fact::Column::Lat)
                | bit(event_fact::Column::ImpactFirst)
        );
    }

    #[test]
    fn all_names_every_column() {
        assert_eq!(
            all::<event_fact::Entity>().count_ones() as usize,
            event_fact::Column::iter().count()
        );
    }
}

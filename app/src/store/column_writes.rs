//! Writes that set, on rows already stored, only the columns whose value changed.
//!
//! Why: an update rewrites the entry of every index that covers a column it sets, whether
//! or not the value changed. The events and their narrow copies have a dozen or more
//! indexes each (the map's, the search's, the dashboard's); a re-ranked event then touches
//! the indexes that hold its rank, not all of them, and not twice as a delete and an insert
//! would.

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, DbErr,
    EntityName, EntityTrait, IdenStatic, Iterable, ModelTrait, Statement,
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

/// Inserts `rows` ([`insert_statement`]); nothing when there are none.
pub async fn insert<C, A>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait,
{
    if let Some(statement) = insert_statement(db.get_database_backend(), rows, None)? {
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
    insert_statement(backend, rows, Some((key, &update)))
}

/// A key column, and the columns that an insert meeting a stored key sets.
pub type OnConflictSet<'a, A> = (
    <<A as ActiveModelTrait>::Entity as EntityTrait>::Column,
    &'a [<<A as ActiveModelTrait>::Entity as EntityTrait>::Column],
);

/// The statement that inserts `rows`, or with `on_conflict` (a key column and the columns
/// to set) updates those columns of the rows whose key is already stored; `None` when
/// there are no rows. Every row must set the same columns. Keep `rows` under the
/// backend's bound-values limit.
///
/// Built from each row's values directly, not through sea-query's statement builder
/// (`insert_many(..).build(..)`), which turns every value into an expression and writes
/// the statement's text back from those: at a million events, their history and their
/// narrow copies, that was most of the time spent preparing statements for SQLite. The
/// statement is the same, value for value.
pub fn insert_statement<A>(
    backend: DbBackend,
    rows: Vec<A>,
    on_conflict: Option<OnConflictSet<'_, A>>,
) -> Result<Option<Statement>, DbErr>
where
    A: ActiveModelTrait,
{
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let columns: Vec<<A::Entity as EntityTrait>::Column> =
        <A::Entity as EntityTrait>::Column::iter()
            .filter(|c| !first.is_not_set(*c))
            .collect();
    if columns.is_empty() {
        return Err(DbErr::Custom("an insert that sets no column".into()));
    }
    let mixed = || {
        DbErr::Custom(format!(
            "rows of one insert into {} set different columns",
            A::Entity::default().table_name()
        ))
    };
    let count = rows.len();
    let mut values = Vec::with_capacity(count * columns.len());
    for mut row in rows {
        for column in &columns {
            match row.take(*column) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => values.push(v),
                ActiveValue::NotSet => return Err(mixed()),
            }
        }
        if <A::Entity as EntityTrait>::Column::iter().any(|c| !row.is_not_set(c)) {
            return Err(mixed());
        }
    }
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let mut sql = insert_sql(backend, A::Entity::default().table_name(), &names, count);
    if let Some((key, update)) = on_conflict {
        let set: Vec<String> = update
            .iter()
            .map(|c| format!("{} = \"excluded\".{}", quote(c.as_str()), quote(c.as_str())))
            .collect();
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            quote(key.as_str()),
            set.join(", ")
        ));
    }
    Ok(Some(Statement::from_sql_and_values(backend, sql, values)))
}

/// An identifier in double quotes, any quote in it doubled.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `INSERT INTO "table" ("a", "b") VALUES (?, ?), (?, ?)`: `rows` tuples of placeholders
/// for the values given row after row (numbered in that order on PostgreSQL).
pub(crate) fn insert_sql(backend: DbBackend, table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(table),
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut n = 0;
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for k in 0..columns.len() {
            if k > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
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

    /// The statement built directly is sea-query's own, text and values, on both
    /// backends, with and without a conflict clause; rows with an unset column (the
    /// table's own key) included.
    #[test]
    fn inserts_are_the_statements_sea_query_builds() {
        use crate::store::entities::event_history;
        use sea_orm::sea_query::OnConflict;
        use sea_orm::QueryTrait;
        let facts = || {
            let mut second = fact();
            second.id = "e2".into();
            second.local_rank = Some(7);
            vec![fact().into_active_model(), second.into_active_model()]
        };
        let history = || {
            (0..3)
                .map(|i| event_history::ActiveModel {
                    event_id: Set(format!("e{i}")),
                    run_id: Set(4),
                    class: Set(i as i16),
                    detail: Set(String::new()),
                    recorded_at: Set(chrono::Utc::now()),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        };
        let set = [event_fact::Column::Rank, event_fact::Column::Lat];
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            assert_eq!(
                insert_statement(backend, facts(), None).unwrap(),
                Some(event_fact::Entity::insert_many(facts()).build(backend))
            );
            assert_eq!(
                insert_statement(backend, facts(), Some((event_fact::Column::Id, &set))).unwrap(),
                Some(
                    event_fact::Entity::insert_many(facts())
                        .on_conflict(
                            OnConflict::column(event_fact::Column::Id)
                                .update_columns(set)
                                .to_owned()
                        )
                        .build(backend)
                )
            );
            let rows = history();
            let built = event_history::Entity::insert_many(rows.clone()).build(backend);
            assert_eq!(insert_statement(backend, rows, None).unwrap(), Some(built));
        }
        assert_eq!(
            insert_statement::<event_fact::ActiveModel>(DbBackend::Sqlite, vec![], None).unwrap(),
            None
        );
    }

    /// Rows that set different columns are refused, not written with values in the
    /// wrong places.
    #[test]
    fn an_insert_whose_rows_set_different_columns_is_refused() {
        let mut short = fact().into_active_model();
        short.local_rank = sea_orm::ActiveValue::NotSet;
        for rows in [
            vec![fact().into_active_model(), short.clone()],
            vec![short, fact().into_active_model()],
        ] {
            let err = insert_statement(DbBackend::Sqlite, rows, None).unwrap_err();
            assert!(err.to_string().contains("set different columns"), "{err}");
        }
    }

    #[test]
    fn all_names_every_column() {
        assert_eq!(
            all::<event_fact::Entity>().count_ones() as usize,
            event_fact::Column::iter().count()
        );
    }
}

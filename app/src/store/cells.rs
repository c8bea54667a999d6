//! Map clusters that stay fast at a million events. Every active event is counted per
//! grid cell, zoom level and category in `cluster_cells` (recomputed by every write of
//! events, `store::derive`). A cluster request whose filter is only categories and a box is answered from
//! the cells that lie wholly inside the box, plus a live count of the thin strips along the
//! box's edges; anything else is counted live. Both ways give the same clusters, because
//! the cells are assigned with exactly the arithmetic the SQL uses.

use super::entities::{cluster_cell, event};
use super::events::{filter_condition, QueryError, ACTIVE};
use crate::filter::{BBox, EventFilter};
use crate::types::Cluster;
use rustc_hash::FxHashMap;
use sea_orm::sea_query::{Expr, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QuerySelect, QueryTrait,
};

/// Cells are kept for zoom levels 0 to this one; closer views are small enough to count live.
pub const MAX_CELL_LEVEL: u8 = 9;

/// The cell size in degrees for a zoom level: about 64 screen pixels.
pub fn level_cell(level: u8) -> f64 {
    90.0 / f64::from(1u32 << Ord::min(level, 24))
}

/// The cell size as the SQL text writes it, and the same number read back, so Rust and the
/// database divide by the very same double.
pub fn cell_text(cell: f64) -> (String, f64) {
    let text = format!("{cell:.12}");
    let exact = text.parse().unwrap_or(cell);
    (text, exact)
}

/// The cell row and column of a point, exactly as [`cell_exprs`] computes them in SQL.
pub fn cell_of(lat: f64, lon: f64, cell: f64) -> (i64, i64) {
    (((lat + 90.0) / cell) as i64, ((lon + 180.0) / cell) as i64)
}

/// SQL for the cell row and column of each event. Shifted to positive values so integer
/// truncation (SQLite) equals floor (PostgreSQL). `cell` is a number computed here, never
/// caller text, so it is written inline.
pub fn cell_exprs(backend: DbBackend, cell: &str) -> (String, String) {
    match backend {
        DbBackend::Postgres => (
            format!(r#"CAST(FLOOR(("lat" + 90.0) / {cell}) AS BIGINT)"#),
            format!(r#"CAST(FLOOR(("lon" + 180.0) / {cell}) AS BIGINT)"#),
        ),
        _ => (
            format!(r#"CAST(("lat" + 90.0) / {cell} AS INTEGER)"#),
            format!(r#"CAST(("lon" + 180.0) / {cell} AS INTEGER)"#),
        ),
    }
}

/// Events of one cell, summed so that parts can be added together.
#[derive(Clone, Debug, Default, PartialEq)]
struct Agg {
    n: i64,
    sum_lat: f64,
    sum_lon: f64,
    single: Option<(String, String, String)>,
}

impl Agg {
    fn add(&mut self, other: Agg) {
        self.n += other.n;
        self.sum_lat += other.sum_lat;
        self.sum_lon += other.sum_lon;
        if other.single.is_some() {
            self.single = other.single;
        }
    }
}

type Cells = FxHashMap<(i64, i64), Agg>;
/// gy, gx, count, sums of lat and lon, and the least id, title and category.
type LiveRow = (i64, i64, i64, f64, f64, String, String, String);
/// Counts the events matching `cond` per cell, live.
async fn count_live(
    db: &DatabaseConnection,
    cond: Condition,
    cell: &str,
    out: &mut Cells,
) -> Result<(), DbErr> {
    count_live_each(db, vec![cond], cell, out).await
}

/// Counts the events matching each of `conds` per cell, live, in one statement (a
/// `UNION ALL` of one grouped select per condition); the conditions must not overlap.
async fn count_live_each(
    db: &DatabaseConnection,
    conds: Vec<Condition>,
    cell: &str,
    out: &mut Cells,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (gy, gx) = cell_exprs(backend, cell);
    let mut selects = conds.into_iter().map(|cond| {
        event::Entity::find()
            .select_only()
            .column_as(Expr::cust(gy.clone()), "gy")
            .column_as(Expr::cust(gx.clone()), "gx")
            .column_as(Expr::cust("COUNT(*)"), "n")
            .column_as(Expr::cust(r#"SUM("lat")"#), "sum_lat")
            .column_as(Expr::cust(r#"SUM("lon")"#), "sum_lon")
            .column_as(Expr::cust(r#"MIN("id")"#), "id")
            .column_as(Expr::cust(r#"MIN("title")"#), "title")
            .column_as(Expr::cust(r#"MIN("category")"#), "category")
            .filter(cond)
            .group_by(Expr::cust("gy"))
            .group_by(Expr::cust("gx"))
            .into_query()
    });
    let Some(mut query) = selects.next() else {
        return Ok(());
    };
    for rest in selects {
        query.union(UnionType::All, rest);
    }
    let rows: Vec<LiveRow> = db
        .query_all_raw(backend.build(&query))
        .await?
        .iter()
        .map(|row| row.try_get_many_by_index())
        .collect::<Result<_, _>>()?;
    for (gy, gx, n, sum_lat, sum_lon, id, title, category) in rows {
        out.entry((gy, gx)).or_default().add(Agg {
            n,
            sum_lat,
            sum_lon,
            single: (n == 1).then_some((id, title, category)),
        });
    }
    Ok(())
}

/// At most about this many clusters in one answer, whatever the zoom and box.
pub const MAX_CLUSTERS: f64 = 4000.0;

/// The grid cell, in degrees, for a zoom level (about 64 screen pixels) and a box.
pub fn cluster_cell_degrees(zoom: u8, bbox: Option<&crate::filter::BBox>) -> f64 {
    let by_zoom = level_cell(zoom);
    let area = bbox.map_or(360.0 * 180.0, |b| {
        let width = if b.min_lon <= b.max_lon {
            b.max_lon - b.min_lon
        } else {
            360.0 - (b.min_lon - b.max_lon)
        };
        (width * (b.max_lat - b.min_lat)).max(1e-9)
    });
    by_zoom.max((area / MAX_CLUSTERS).sqrt())
}

/// The filtered events grouped into grid cells sized to the zoom and the box; the counts
/// add up to the filtered total (see the module doc for how this stays fast).
pub async fn map_clusters(
    db: &DatabaseConnection,
    f: &EventFilter,
    zoom: u8,
) -> Result<Vec<crate::types::Cluster>, QueryError> {
    let cell = cluster_cell_degrees(zoom, f.bbox.as_ref());
    // The stored cells serve only the plain zoom grid (not a coarser one forced by the box).
    let level = (cell == level_cell(zoom)).then_some(zoom);
    clusters(db, f, cell, level).await
}

/// Whether a filter can use the stored cells: nothing but categories and a box that does
/// not cross the antimeridian.
fn cells_apply(f: &EventFilter) -> bool {
    f.only_kind_and_place()
        && f.countries.is_empty()
        && f.bbox.as_ref().is_none_or(|b| b.min_lon <= b.max_lon)
}

/// The filtered events grouped into cells of `cell` degrees at `level`; the counts add up
/// to the filtered total.
pub async fn clusters(
    db: &DatabaseConnection,
    f: &EventFilter,
    cell: f64,
    level: Option<u8>,
) -> Result<Vec<Cluster>, QueryError> {
    let (cell_sql, _) = cell_text(cell);
    let mut cells = Cells::default();
    match level {
        Some(level) if level <= MAX_CELL_LEVEL && cells_apply(f) => {
            from_cells(db, f, level, &cell_sql, &mut cells).await?;
        }
        _ => {
            let live = filter_condition(f, db.get_database_backend())?;
            count_live(db, live, &cell_sql, &mut cells).await?
        }
    }
    let mut out: Vec<Cluster> = cells
        .into_values()
        .filter(|a| a.n > 0)
        .map(|a| {
            let (id, title, category) = match (a.n, a.single) {
                (1, Some((i, t, c))) => (Some(i), Some(t), Some(c)),
                _ => (None, None, None),
            };
            Cluster {
                lat: a.sum_lat / a.n as f64,
                lon: a.sum_lon / a.n as f64,
                count: a.n as u64,
                id,
                title,
                category,
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.lat.total_cmp(&b.lat)));
    Ok(out)
}

/// The cells of size `cell` wholly inside `[min, max]` along one axis (`offset` shifts the
/// axis to positive values), as an inclusive index range; empty when `lo > hi`.
fn whole_cells(min: f64, max: f64, offset: f64, cell: f64) -> (i64, i64) {
    let lo = ((min + offset) / cell).ceil() as i64;
    let hi = ((max + offset) / cell).floor() as i64 - 1;
    (lo, hi)
}

/// A rectangle of cell indexes, inclusive.
#[derive(Clone, Copy, Debug)]
struct Rect {
    y: (i64, i64),
    x: (i64, i64),
}

impl Rect {
    fn is_empty(&self) -> bool {
        self.y.0 > self.y.1 || self.x.0 > self.x.1
    }

    /// The parts of `self` outside `inner` (which lies within it): below, above, left and
    /// right of it.
    fn around(&self, inner: &Rect) -> [Rect; 4] {
        [
            Rect {
                y: (self.y.0, inner.y.0 - 1),
                x: self.x,
            },
            Rect {
                y: (inner.y.1 + 1, self.y.1),
                x: self.x,
            },
            Rect {
                y: inner.y,
                x: (self.x.0, inner.x.0 - 1),
            },
            Rect {
                y: inner.y,
                x: (inner.x.1 + 1, self.x.1),
            },
        ]
    }
}

/// Cells of `level` in `rect`, each credited to its parent cell `shift` levels up (a cell of
/// level `l` holds cells `2^k` by `2^k` of level `l + k`, exactly, as every cell size is
/// 90° divided by a power of two).
#[derive(Clone, Copy, Debug)]
struct StoredPart {
    level: u8,
    rect: Rect,
    shift: u8,
}

/// Adds the stored counts of these parts, read in one statement (a `UNION ALL` of one
/// grouped select per part): a map answer is a single round trip to the store, not one per
/// part.
async fn add_stored(
    db: &DatabaseConnection,
    f: &EventFilter,
    parts: &[StoredPart],
    out: &mut Cells,
) -> Result<(), DbErr> {
    let clamp = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let parts: Vec<&StoredPart> = parts.iter().filter(|p| !p.rect.is_empty()).collect();
    let mut selects = parts.iter().enumerate().map(|(i, part)| {
        let mut q = cluster_cell::Entity::find()
            .select_only()
            .column(cluster_cell::Column::Gy)
            .column(cluster_cell::Column::Gx)
            .column_as(Expr::cust(r#"CAST(SUM("n") AS BIGINT)"#), "n")
            .column_as(Expr::cust(r#"SUM("sum_lat")"#), "sum_lat")
            .column_as(Expr::cust(r#"SUM("sum_lon")"#), "sum_lon")
            .column_as(Expr::cust(r#"MAX("single_id")"#), "single_id")
            .column_as(Expr::cust(r#"MAX("single_title")"#), "single_title")
            .column_as(Expr::cust(r#"MAX("category")"#), "category")
            .column_as(Expr::val(i as i32), "part")
            .filter(cluster_cell::Column::Level.eq(i16::from(part.level)))
            .filter(cluster_cell::Column::Gy.between(clamp(part.rect.y.0), clamp(part.rect.y.1)))
            .filter(cluster_cell::Column::Gx.between(clamp(part.rect.x.0), clamp(part.rect.x.1)));
        if !f.categories.is_empty() {
            q = q.filter(cluster_cell::Column::Category.is_in(f.categories.clone()));
        }
        q.group_by(cluster_cell::Column::Gy)
            .group_by(cluster_cell::Column::Gx)
            .into_query()
    });
    let Some(mut query) = selects.next() else {
        return Ok(());
    };
    for rest in selects {
        query.union(UnionType::All, rest);
    }
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    for row in rows {
        let (gy, gx, n): (i32, i32, i64) = (
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        );
        let (sum_lat, sum_lon): (f64, f64) = (row.try_get_by_index(3)?, row.try_get_by_index(4)?);
        let id: Option<String> = row.try_get_by_index(5)?;
        let title: Option<String> = row.try_get_by_index(6)?;
        let category: String = row.try_get_by_index(7)?;
        let part: i32 = row.try_get_by_index(8)?;
        let shift = parts[part as usize].shift;
        let single = match (n, id, title) {
            (1, Some(i), Some(t)) => Some((i, t, category)),
            _ => None,
        };
        let key = (i64::from(gy) >> shift, i64::from(gx) >> shift);
        out.entry(key).or_default().add(Agg {
            n,
            sum_lat,
            sum_lon,
            single,
        });
    }
    Ok(())
}

/// Counts, live, the events of the box whose finest cell lies outside `fine` (the slivers
/// along the box's edges, thinner than one finest cell), grouped into cells of `cell_sql`.
async fn add_slivers(
    db: &DatabaseConnection,
    f: &EventFilter,
    b: &BBox,
    fine: Rect,
    cell_sql: &str,
    out: &mut Cells,
) -> Result<(), DbErr> {
    let (fine_sql, fine_cell) = cell_text(level_cell(MAX_CELL_LEVEL));
    let (fy, fx) = cell_exprs(db.get_database_backend(), &fine_sql);
    let lat_at = |g: i64| g as f64 * fine_cell - 90.0;
    let lon_at = |g: i64| g as f64 * fine_cell - 180.0;
    let slack = 1e-6;
    // The strip's own axis is a plain range an index can use; the other axis is written
    // as arithmetic (`+ 0`) so that the planner does not pick it instead.
    let lat_indexed = |lo: f64, hi: f64| {
        Condition::all()
            .add(event::Column::Lat.between(lo, hi))
            .add(Expr::cust(format!(
                r#""lon" + 0 BETWEEN {} AND {}"#,
                b.min_lon, b.max_lon
            )))
    };
    let lon_indexed = |lo: f64, hi: f64| {
        Condition::all()
            .add(event::Column::Lon.between(lo, hi))
            .add(Expr::cust(format!(
                r#""lat" + 0 BETWEEN {} AND {}"#,
                b.min_lat, b.max_lat
            )))
    };
    let (y0, y1, x0, x1) = (fine.y.0, fine.y.1, fine.x.0, fine.x.1);
    let strips = [
        lat_indexed(b.min_lat, (lat_at(y0) + slack).min(b.max_lat))
            .add(Expr::cust(format!("{fy} < {y0}"))),
        lat_indexed((lat_at(y1 + 1) - slack).max(b.min_lat), b.max_lat)
            .add(Expr::cust(format!("{fy} > {y1}"))),
        lon_indexed(b.min_lon, (lon_at(x0) + slack).min(b.max_lon))
            .add(Expr::cust(format!("{fy} BETWEEN {y0} AND {y1}")))
            .add(Expr::cust(format!("{fx} < {x0}"))),
        lon_indexed((lon_at(x1 + 1) - slack).max(b.min_lon), b.max_lon)
            .add(Expr::cust(format!("{fy} BETWEEN {y0} AND {y1}")))
            .add(Expr::cust(format!("{fx} > {x1}"))),
    ];
    let conds = strips
        .into_iter()
        .map(|strip| {
            let cond = Condition::all()
                .add(event::Column::State.eq(ACTIVE))
                .add(strip);
            if f.categories.is_empty() {
                cond
            } else {
                cond.add(event::Column::Category.is_in(f.categories.clone()))
            }
        })
        .collect();
    count_live_each(db, conds, cell_sql, out).await
}

/// Clusters at `level` from the stored cells: the cells of `level` wholly inside the box,
/// then the finest stored cells wholly inside the box around them, then, live, the slivers
/// along the edges that no whole finest cell covers.
async fn from_cells(
    db: &DatabaseConnection,
    f: &EventFilter,
    level: u8,
    cell_sql: &str,
    out: &mut Cells,
) -> Result<(), QueryError> {
    let Some(b) = f.bbox else {
        let everywhere = Rect {
            y: (i64::MIN / 4, i64::MAX / 4),
            x: (i64::MIN / 4, i64::MAX / 4),
        };
        let part = StoredPart {
            level,
            rect: everywhere,
            shift: 0,
        };
        add_stored(db, f, &[part], out).await?;
        return Ok(());
    };
    let (_, fine_cell) = cell_text(level_cell(MAX_CELL_LEVEL));
    let fine = Rect {
        y: whole_cells(b.min_lat, b.max_lat, 90.0, fine_cell),
        x: whole_cells(b.min_lon, b.max_lon, 180.0, fine_cell),
    };
    if fine.is_empty() {
        // A box smaller than two finest cells: counting it live is cheap.
        let live = filter_condition(f, db.get_database_backend())?;
        count_live(db, live, cell_sql, out).await?;
        return Ok(());
    }
    let shift = MAX_CELL_LEVEL - level;
    // The cells of `level` whose finest cells all lie in `fine`: integer arithmetic, so
    // the coarse part is exactly inside the fine one and nothing is counted twice.
    let span = 1i64 << shift;
    let coarse = Rect {
        y: ((fine.y.0 + span - 1) / span, (fine.y.1 + 1) / span - 1),
        x: ((fine.x.0 + span - 1) / span, (fine.x.1 + 1) / span - 1),
    };
    let fine_part = |rect| StoredPart {
        level: MAX_CELL_LEVEL,
        rect,
        shift,
    };
    let parts: Vec<StoredPart> = if coarse.is_empty() {
        vec![fine_part(fine)]
    } else {
        // The coarse cells in finest-cell units.
        let inner = Rect {
            y: (coarse.y.0 << shift, ((coarse.y.1 + 1) << shift) - 1),
            x: (coarse.x.0 << shift, ((coarse.x.1 + 1) << shift) - 1),
        };
        let whole = StoredPart {
            level,
            rect: coarse,
            shift: 0,
        };
        std::iter::once(whole)
            .chain(fine.around(&inner).map(fine_part))
            .collect()
    };
    add_stored(db, f, &parts, out).await?;
    add_slivers(db, f, &b, fine, cell_sql, out).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_match_the_sql_arithmetic_at_the_edges() {
        let (_, c) = cell_text(level_cell(3));
        // A point exactly on a cell edge belongs to the cell above it, as in SQL.
        assert_eq!(cell_of(-90.0 + c, -180.0 + 2.0 * c, c), (1, 2));
        assert_eq!(cell_of(89.999, 179.999, c).0, ((89.999 + 90.0) / c) as i64);
        assert_eq!(level_cell(0), 90.0);
    }
}

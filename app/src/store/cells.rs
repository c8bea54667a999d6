//! Map clusters that stay fast at a million events. Every active event is counted per
//! grid cell, zoom level and category in `cluster_cells` (rebuilt after each change to the
//! events). A cluster request whose filter is only categories and a box is answered from
//! the cells that lie wholly inside the box, plus a live count of the thin strips along the
//! box's edges; anything else is counted live. Both ways give the same clusters, because
//! the cells are assigned with exactly the arithmetic the SQL uses.

use super::entities::{cluster_cell, event, event_fact};
use super::events::{filter_condition, QueryError, ACTIVE};
use super::state;
use crate::filter::{BBox, EventFilter};
use crate::types::Cluster;
use rustc_hash::{FxHashMap, FxHashSet};
use sea_orm::sea_query::{Expr, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait,
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
    let stored = match level {
        Some(l) if l <= MAX_CELL_LEVEL && cells_apply(f) => state::get(db).await?.cells_valid,
        _ => false,
    };
    match (stored, level) {
        (true, Some(level)) => {
            from_cells(db, f, level, &cell_sql, &mut cells).await?;
        }
        _ => count_live(db, filter_condition(f)?, &cell_sql, &mut cells).await?,
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
        count_live(db, filter_condition(f)?, cell_sql, out).await?;
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

/// Refreshes the planner's statistics after a large change: the events and every table
/// derived from them. Without them SQLite takes `state = 'active'` for a selective
/// condition and walks the whole table by it, and reads a rollup through its key index
/// row by row when a scan is quicker.
pub async fn analyze(db: &DatabaseConnection) -> Result<(), DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "ANALYZE events, cluster_cells, stats_rollup, visitor_rollup, event_facts, event_fact_days"
        }
        _ => "ANALYZE",
    };
    db.execute_unprepared(sql).await.map(|_| ())
}

/// Marks the stored cells out of date (in the transaction that changes events), so that
/// clusters are counted live until they are recounted.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    state::set_cells_valid(db, false).await
}

/// Every active event counted into its cells, not yet written ([`count_all`]).
pub(crate) struct Counted {
    /// The categories, by the number the cells are keyed with.
    categories: Vec<String>,
    cells: FxHashMap<(u8, usize, i64, i64), Agg>,
}

/// The reading and counting half of a recount: reads the events outside any
/// transaction of its own, so it can run while another connection writes (the rollups'
/// recount, [`super::derived::rebuild_all`]).
pub(crate) async fn count_all(db: &DatabaseConnection) -> Result<Counted, DbErr> {
    const BATCH: u64 = 50_000;
    let levels: Vec<(u8, f64)> = (0..=MAX_CELL_LEVEL)
        .map(|l| (l, cell_text(level_cell(l)).1))
        .collect();
    // Keyed by the category's place in `categories`, not its name: ten entries an event,
    // each found without copying or comparing text.
    let mut categories: Vec<String> = Vec::new();
    let mut agg: FxHashMap<(u8, usize, i64, i64), Agg> = FxHashMap::default();
    let mut after = String::new();
    loop {
        let rows: Vec<(String, String, String, f64, f64, String)> = event::Entity::find()
            .select_only()
            .columns([
                event::Column::Id,
                event::Column::Title,
                event::Column::Category,
                event::Column::Lat,
                event::Column::Lon,
                event::Column::State,
            ])
            // No condition on the state: with one, SQLite (before the first ANALYZE) reads
            // every active event by the state index and sorts them, for every batch.
            .filter(event::Column::Id.gt(after.clone()))
            .order_by(event::Column::Id, Order::Asc)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (id, title, category, lat, lon, _) in rows.iter().filter(|r| r.5 == ACTIVE) {
            let category = match categories.iter().position(|c| c == category) {
                Some(k) => k,
                None => {
                    categories.push(category.clone());
                    categories.len() - 1
                }
            };
            for &(level, cell) in &levels {
                let (gy, gx) = cell_of(*lat, *lon, cell);
                let a = agg.entry((level, category, gy, gx)).or_default();
                a.n += 1;
                a.sum_lat += lat;
                a.sum_lon += lon;
                a.single = (a.n == 1).then(|| (id.clone(), title.clone(), String::new()));
            }
        }
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    Ok(Counted {
        categories,
        cells: agg,
    })
}

/// The writing half of a recount: replaces the stored cells with `counted` and marks
/// them valid, in one transaction. Returns the number of cell rows.
pub(crate) async fn write_counted(
    db: &DatabaseConnection,
    counted: Counted,
) -> Result<usize, DbErr> {
    let Counted {
        categories,
        cells: agg,
    } = counted;
    let count = agg.len();
    let txn = db.begin().await?;
    cluster_cell::Entity::delete_many().exec(&txn).await?;
    let mut batch = Vec::with_capacity(1000);
    for ((level, category, gy, gx), a) in agg {
        let (single_id, single_title) = match a.single {
            Some((i, t, _)) if a.n == 1 => (Some(i), Some(t)),
            _ => (None, None),
        };
        batch.push(cluster_cell::ActiveModel {
            level: Set(i16::from(level)),
            category: Set(categories[category].clone()),
            gy: Set(gy as i32),
            gx: Set(gx as i32),
            n: Set(a.n),
            sum_lat: Set(a.sum_lat),
            sum_lon: Set(a.sum_lon),
            single_id: Set(single_id),
            single_title: Set(single_title),
        });
        if batch.len() == 1000 {
            super::column_writes::insert(&txn, std::mem::take(&mut batch)).await?;
        }
    }
    super::column_writes::insert(&txn, batch).await?;
    state::set_cells_valid(&txn, true).await?;
    txn.commit().await?;
    Ok(count)
}

/// What some changed events do to one stored cell.
#[derive(Default)]
struct CellChange {
    n: i64,
    sum_lat: f64,
    sum_lon: f64,
    added: u32,
    /// The event put in, when just one was.
    single: Option<(String, String)>,
}

/// Brings the stored cells up to date for some changed events, by difference: each event
/// leaves the cells of its stored narrow copy (`before`) and enters those of its active
/// row now (`now`). A cell left with one event whose id is not known here gets it in
/// [`settle`].
pub(crate) async fn apply_changes<C: ConnectionTrait>(
    txn: &C,
    before: &[event_fact::Model],
    now: &[super::rollup::FactSource],
) -> Result<(), DbErr> {
    let levels: Vec<(u8, f64)> = (0..=MAX_CELL_LEVEL)
        .map(|l| (l, cell_text(level_cell(l)).1))
        .collect();
    // An event still in the same place and category stays in the same cells: only the
    // title it shows there, when it is a cell's one event, may need writing.
    let place =
        |category: &str, lat: f64, lon: f64| (category.to_string(), lat.to_bits(), lon.to_bits());
    let was: FxHashMap<&str, (String, u64, u64)> = before
        .iter()
        .map(|f| (f.id.as_str(), place(&f.category, f.lat, f.lon)))
        .collect();
    let mut stayed: FxHashSet<&str> = FxHashSet::default();
    for e in now {
        if was.get(e.id.as_str()) == Some(&place(&e.category, e.lat, e.lon)) {
            stayed.insert(e.id.as_str());
        }
    }
    let mut changes: FxHashMap<(u8, String, i64, i64), CellChange> = FxHashMap::default();
    for f in before.iter().filter(|f| !stayed.contains(f.id.as_str())) {
        for &(level, cell) in &levels {
            let (gy, gx) = cell_of(f.lat, f.lon, cell);
            let c = changes
                .entry((level, f.category.clone(), gy, gx))
                .or_default();
            c.n -= 1;
            c.sum_lat -= f.lat;
            c.sum_lon -= f.lon;
        }
    }
    for e in now.iter().filter(|e| !stayed.contains(e.id.as_str())) {
        for &(level, cell) in &levels {
            let (gy, gx) = cell_of(e.lat, e.lon, cell);
            let c = changes
                .entry((level, e.category.clone(), gy, gx))
                .or_default();
            c.n += 1;
            c.sum_lat += e.lat;
            c.sum_lon += e.lon;
            c.added += 1;
            c.single = Some((e.id.clone(), e.title.clone()));
        }
    }
    let rows: Vec<Vec<sea_orm::Value>> = changes
        .into_iter()
        .filter(|(_, c)| c.added > 0 || c.n != 0)
        .map(|((level, category, gy, gx), c)| {
            let (id, title) = match c.single {
                Some((id, title)) if c.added == 1 => (Some(id), Some(title)),
                _ => (None, None),
            };
            vec![
                i16::from(level).into(),
                category.into(),
                (gy as i32).into(),
                (gx as i32).into(),
                c.n.into(),
                c.sum_lat.into(),
                c.sum_lon.into(),
                id.into(),
                title.into(),
            ]
        })
        .collect();
    // A cell that ends with one event names it: the one put in if one was (the rest went),
    // otherwise it is looked up in `settle`.
    let single = |column: &str| {
        format!(
            r#""{column}" = CASE WHEN "cluster_cells"."n" + excluded."n" = 1 THEN excluded."{column}" ELSE NULL END"#
        )
    };
    let set = vec![
        r#""n" = "cluster_cells"."n" + excluded."n""#.to_string(),
        r#""sum_lat" = "cluster_cells"."sum_lat" + excluded."sum_lat""#.to_string(),
        r#""sum_lon" = "cluster_cells"."sum_lon" + excluded."sum_lon""#.to_string(),
        single("single_id"),
        single("single_title"),
    ];
    super::upsert_rows(
        txn,
        "cluster_cells",
        &[
            "level",
            "category",
            "gy",
            "gx",
            "n",
            "sum_lat",
            "sum_lon",
            "single_id",
            "single_title",
        ],
        &["level", "gy", "gx", "category"],
        &set,
        rows,
    )
    .await?;
    let stayed: Vec<String> = stayed.into_iter().map(str::to_string).collect();
    for chunk in stayed.chunks(500) {
        cluster_cell::Entity::update_many()
            .col_expr(
                cluster_cell::Column::SingleTitle,
                Expr::cust(
                    r#"(SELECT "title" FROM "events" WHERE "events"."id" = "cluster_cells"."single_id")"#,
                ),
            )
            .filter(cluster_cell::Column::SingleId.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Finishes [`apply_changes`]: drops the cells left empty and names the event of each cell
/// left with one.
pub(crate) async fn settle<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    cluster_cell::Entity::delete_many()
        .filter(cluster_cell::Column::N.lte(0))
        .exec(txn)
        .await?;
    let unnamed: Vec<(i16, String, i32, i32)> = cluster_cell::Entity::find()
        .select_only()
        .columns([
            cluster_cell::Column::Level,
            cluster_cell::Column::Category,
            cluster_cell::Column::Gy,
            cluster_cell::Column::Gx,
        ])
        .filter(cluster_cell::Column::N.eq(1))
        .filter(cluster_cell::Column::SingleId.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    let backend = txn.get_database_backend();
    for (level, category, gy, gx) in unnamed {
        let (text, cell) = cell_text(level_cell(level as u8));
        let (gy_sql, gx_sql) = cell_exprs(backend, &text);
        // The box narrows the search by the index; the cell arithmetic decides.
        let margin = cell * 1e-6;
        let lat0 = f64::from(gy) * cell - 90.0;
        let lon0 = f64::from(gx) * cell - 180.0;
        let found: Option<(String, String)> = event::Entity::find()
            .select_only()
            .columns([event::Column::Id, event::Column::Title])
            .filter(event::Column::State.eq(ACTIVE))
            .filter(event::Column::Category.eq(category.clone()))
            .filter(event::Column::Lon.gte(lon0 - margin))
            .filter(event::Column::Lon.lte(lon0 + cell + margin))
            .filter(event::Column::Lat.gte(lat0 - margin))
            .filter(event::Column::Lat.lte(lat0 + cell + margin))
            .filter(Expr::cust(format!("{gy_sql} = {gy}")))
            .filter(Expr::cust(format!("{gx_sql} = {gx}")))
            .order_by(event::Column::Id, Order::Asc)
            .limit(1)
            .into_tuple()
            .one(txn)
            .await?;
        let Some((id, title)) = found else {
            tracing::warn!(
                level,
                gy,
                gx,
                "a stored cell counts an event that is not there"
            );
            continue;
        };
        cluster_cell::Entity::update_many()
            .col_expr(cluster_cell::Column::SingleId, Expr::value(id))
            .col_expr(cluster_cell::Column::SingleTitle, Expr::value(title))
            .filter(cluster_cell::Column::Level.eq(level))
            .filter(cluster_cell::Column::Category.eq(category))
            .filter(cluster_cell::Column::Gy.eq(gy))
            .filter(cluster_cell::Column::Gx.eq(gx))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Marks the stored cells as matching the events.
pub(crate) async fn mark_valid<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    state::set_cells_valid(txn, true).await
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

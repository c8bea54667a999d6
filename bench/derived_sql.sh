#!/usr/bin/env bash
# What the database engines cost to compute the derived data in SQL, on a store of N
# synthetic events: the candidates for keeping the dashboard's rollups and the map's
# cells current by recomputing them inside a refresh's transaction, and the list query
# that was slowest under load. Each statement runs RUNS times (default 3); prints the
# median and the runs, in milliseconds.
#
# Usage: bench/derived_sql.sh BACKEND N   e.g. bench/derived_sql.sh sqlite 1000000
#   BIN (default target/release/toursherpa) fills the store: one demo refresh, then
#   `toursherpa generate --events N`.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}
N=${2:-100000}
RUNS=${RUNS:-3}
BIN=${BIN:-$PWD/target/release/toursherpa}
PG_ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
PG_DB=ts_bench_derived_sql
cleanup() {
  [ "$BACKEND" != postgres ] || psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BACKEND" = postgres ]; then
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PG_DB"
else
  export DATABASE_URL="sqlite://$WORK/store.db?mode=rwc"
fi
RUST_LOG=warn "$BIN" ingest >/dev/null 2>&1
/usr/bin/time -f '%e s' -o "$WORK/gen.time" env RUST_LOG=warn "$BIN" generate --events "$N" >/dev/null
echo "# bench/derived_sql.sh $BACKEND $N, $(date -u +%F), $(nproc) cores, RUNS=$RUNS; store generated in $(cat "$WORK/gen.time")"

# run_sql SQL: milliseconds it took (the statement's own time, as the client reports it).
run_sql() {
  if [ "$BACKEND" = postgres ]; then
    printf '\\timing on\n%s;\n' "$1" | psql -q -X "$DATABASE_URL" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
  else
    printf '.timer on\n%s;\n' "$1" | sqlite3 "$WORK/store.db" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -1 | awk '{printf "%.1f\n", $1 * 1000}'
  fi
}

# time_sql NAME SQL [SETUP]: RUNS runs of SQL (after SETUP, untimed, each time).
time_sql() {
  local name=$1 sql=$2 setup=${3:-} t ms=()
  for _ in $(seq 1 "$RUNS"); do
    if [ -n "$setup" ]; then
      if [ "$BACKEND" = postgres ]; then psql -q -X "$DATABASE_URL" -c "$setup" >/dev/null 2>&1; else sqlite3 "$WORK/store.db" "$setup"; fi
    fi
    t=$(run_sql "$sql")
    ms+=("${t:-nan}")
  done
  printf '%s\n' "${ms[@]}" | sort -n | awk -v name="$name" '{v[NR]=$1} END {printf "%-62s median %9.1f ms  (runs: ", name, v[int((NR+1)/2)]; for (i=1;i<=NR;i++) printf "%s%s", v[i], (i<NR?", ":")\n")}'
}

# The expressions of app/src/store/stats.rs (Period::sql, industry_sql) and cells.rs.
if [ "$BACKEND" = postgres ]; then
  cell9_gy='CAST(FLOOR((lat + 90.0) / 0.17578125) AS BIGINT)'
  cell9_gx='CAST(FLOOR((lon + 180.0) / 0.17578125) AS BIGINT)'
  month="to_char(start_date, 'YYYY-MM')"
  week="to_char(date_trunc('week', start_date), 'YYYY-MM-DD')"
  share() { echo "((spend_industries)::json ->> '$1')::bigint"; }
else
  cell9_gy='CAST((lat + 90.0) / 0.17578125 AS INTEGER)'
  cell9_gx='CAST((lon + 180.0) / 0.17578125 AS INTEGER)'
  month="strftime('%Y-%m', start_date)"
  week="date(start_date, '-' || ((CAST(strftime('%w', start_date) AS INTEGER) + 6) % 7) || ' days')"
  share() { echo "CAST(json_extract(spend_industries, '\$.$1') AS INTEGER)"; }
fi
echo "active events: $(if [ "$BACKEND" = postgres ]; then psql -At "$DATABASE_URL" -c "SELECT count(*) FROM events WHERE state = 'active'"; else sqlite3 "$WORK/store.db" "SELECT count(*) FROM events WHERE state = 'active'"; fi)"

# The dashboard's (category, country, month, week) rollup, recomputed from the events as
# app/src/store/derive.rs does (month, week and the spend split computed per row).
time_sql "stats rollup recomputed (GROUP BY over the events)" \
  "CREATE TABLE r_stats AS SELECT category, country, $month AS month, $week AS week, COUNT(*) AS events, COUNT(spend_usd) AS spend_events, SUM(spend_usd) AS total, SUM($(share accommodation)) AS acc, SUM($(share hospitality)) AS hosp, SUM($(share transportation)) AS transp FROM events WHERE state = 'active' GROUP BY category, country, $month, $week" \
  "DROP TABLE IF EXISTS r_stats"
# The map's finest stored level from the events, then every coarser level from it by
# halving the cell numbers: the levels nest exactly, whatever the floating point does.
time_sql "cells, level 9 recomputed (GROUP BY over the events)" \
  "CREATE TABLE r_cells9 AS SELECT category, $cell9_gy AS gy, $cell9_gx AS gx, COUNT(*) AS n, SUM(lat) AS sum_lat, SUM(lon) AS sum_lon, MIN(id) AS single_id FROM events WHERE state = 'active' GROUP BY category, $cell9_gy, $cell9_gx" \
  "DROP TABLE IF EXISTS r_cells9"
echo "level 9 cells: $(if [ "$BACKEND" = postgres ]; then psql -At "$DATABASE_URL" -c "SELECT count(*) FROM r_cells9"; else sqlite3 "$WORK/store.db" "SELECT count(*) FROM r_cells9"; fi)"
levels=""
for k in 1 2 3 4 5 6 7 8 9; do
  levels="$levels${levels:+ UNION ALL }SELECT $((9 - k)) AS level, category, gy >> $k AS gy, gx >> $k AS gx, SUM(n) AS n, SUM(sum_lat) AS sum_lat, SUM(sum_lon) AS sum_lon, MIN(single_id) AS single_id FROM r_cells9 GROUP BY category, gy >> $k, gx >> $k"
done
time_sql "cells, levels 0 to 8 from level 9" "CREATE TABLE r_cells AS $levels" "DROP TABLE IF EXISTS r_cells"
# The world view (zoom 2) from the stored level, as a request reads it.
time_sql "world clusters at zoom 2 from the recomputed cells" \
  "SELECT gy, gx, SUM(n), SUM(sum_lat), SUM(sum_lon) FROM r_cells WHERE level = 2 GROUP BY gy, gx"
# The list query that was slowest under load (145 slow queries), page and total.
list_where="state = 'active' AND category IN ('concerts') AND rank >= 60"
time_sql "list page: concerts, rank>=60, by start (LIMIT 50)" \
  "SELECT id FROM events WHERE $list_where ORDER BY start_date, id LIMIT 50"
time_sql "list total: concerts, rank>=60 (COUNT)" "SELECT COUNT(*) FROM events WHERE $list_where"
time_sql "list total: rank>=60 (COUNT)" "SELECT COUNT(*) FROM events WHERE state = 'active' AND rank >= 60"

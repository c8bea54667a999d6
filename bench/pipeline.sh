#!/usr/bin/env bash
# The whole refresh pipeline at scale, against mock providers over HTTP that speak the
# documented wire formats (bench/mock_providers.py: PredictHQ, Google Places, Duffel).
# For each backend and each N: a first full load of N events into a fresh store, then a
# 5% refresh (incremental: the provider's next snapshot changed 5% of the events).
# Prints wall time, peak memory (max RSS), the time of each stage, the classes and the
# provider calls, and the state the store was left in.
#
# Usage: bench/pipeline.sh [BACKENDS] [N...]   e.g. bench/pipeline.sh sqlite,postgres 10000 100000
#   SKIP_BUILD=1 to use the release binary already built; BIN=path to measure another build.
#   Enrichment is paced by the providers' daily budgets, as in production:
#   PLACES_BUDGET (default 3000) and FLIGHTS_BUDGET (default 3000) calls a day; what the
#   budget leaves is deferred to the next day's run and counted.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
BACKENDS=${1:-sqlite,postgres}
shift || true
SIZES=("${@:-10000}")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000)
BIN=${BIN:-$PWD/target/release/toursherpa}
source bench/mock_env.sh
PG_ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
MOCK_PID=
PG_DBS=()
cleanup() {
  [ -z "$MOCK_PID" ] || kill "$MOCK_PID" 2>/dev/null || true
  for d in "${PG_DBS[@]}"; do psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

start_mock() { # N generation
  [ -z "$MOCK_PID" ] || { kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; }
  rm -f "$WORK/mock.out"
  python3 bench/mock_providers.py --events "$1" --generation "$2" >"$WORK/mock.out" 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 1 1200); do
    grep -q '^ready' "$WORK/mock.out" 2>/dev/null && break
    kill -0 "$MOCK_PID" 2>/dev/null || { cat "$WORK/mock.out" >&2; exit 1; }
    sleep 0.5
  done
  MOCK_URL="http://127.0.0.1:$(awk '/^ready/ {print $2}' "$WORK/mock.out")"
  use_mock_providers "$MOCK_URL"
}

run_ingest() { # label database_url [--full]
  local label=$1 url=$2; shift 2
  env DATABASE_URL="$url" NO_COLOR=1 RUST_LOG=warn,app::ingest=info,app::store::derived=info,app::store::rollup=info \
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$BIN" ingest --json "$@" \
    >"$WORK/report.json" 2>"$WORK/log" || true
  read -r wall rss_kb <"$WORK/time"
  local stages
  stages=$(sed -n 's/.*stage finished.*stage="\{0,1\}\([a-z]*\)"\{0,1\} seconds=\([0-9.]*\).*/\1 \2/p' "$WORK/log" |
    awk '{printf "%s%s %.1f", sep, $1, $2; sep=", "}')
  local report
  report=$(tail -1 "$WORK/report.json")
  if [ -z "$report" ]; then
    echo "$label: no report; the log ends:" >&2
    tail -20 "$WORK/log" >&2
    exit 1
  fi
  printf '%-9s %-9s %-16s %7.1f s %6d MB  %s\n' "$BACKEND" "$N" "$label" "$wall" $((rss_kb / 1024)) "$stages"
  echo "$report" | jq -c '{status, classes, calls, deferred, errors: (.errors | length)}' | sed 's/^/                                     /'
  # Where the commit's time went, and the derived tables' catch-up (by difference or
  # recounted in full).
  sed -n 's/.*commit written \(.*\)/commit: \1/p
    s/.*derived tables updated by difference \(.*\)/derived by difference: \1/p
    s/.*derived tables counted in the commit \(.*\)/counted in the commit: \1/p
    s/.*derived tables recounted \(.*\)/derived recounted: \1/p
    s/.*narrow copies and rollups recounted \(.*\)/of which rollups: \1/p' "$WORK/log" |
    sed 's/^/                                     /'
  # SQLite's log as the process left it. A clean exit copies it into the file and removes
  # it; one left behind holds pages that the next process to open the store may still have
  # to copy (its checkpointer does, in the background).
  if [ "$BACKEND" = sqlite ] && [ -f "$WORK/bench-$N.db-wal" ]; then
    echo "                                     log left: $(du -m "$WORK/bench-$N.db-wal" | cut -f1) MB"
  fi
}

echo "# bench/pipeline.sh, $(date -u +%F), $(nproc) cores; budgets: places ${PLACES_BUDGET:-3000}, flights ${FLIGHTS_BUDGET:-3000} calls a day"
printf '%-9s %-9s %-16s %9s %9s  %s\n' backend events run wall peak "stages (seconds)"
IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
for N in "${SIZES[@]}"; do
  for BACKEND in "${BACKEND_LIST[@]}"; do
    case $BACKEND in
      sqlite) url="sqlite://$WORK/bench-$N.db?mode=rwc" ;;
      postgres)
        db="ts_bench_pipeline_$N"
        PG_DBS+=("$db")
        psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
        psql -q "$PG_ADMIN" -c "CREATE DATABASE $db" >/dev/null
        url="postgres://postgres@127.0.0.1:5432/$db"
        ;;
      *) echo "unknown backend $BACKEND" >&2; exit 2 ;;
    esac
    # Migrations and reference data first, so that the load is timed alone.
    DATABASE_URL="$url" "$BIN" migrate >/dev/null 2>&1
    [ "${MOCK_EVENTS:-}" = "$N" ] || { start_mock "$N" 0; MOCK_EVENTS=$N; }
    curl -sf "$MOCK_URL/control/generation/0" >/dev/null
    run_ingest "full load" "$url" --full
    curl -sf "$MOCK_URL/control/generation/1" >/dev/null
    run_ingest "5% refresh" "$url"
    if [ "$BACKEND" = sqlite ]; then
      echo "                                     store: $(du -m "$WORK/bench-$N.db" | cut -f1) MB"
      rm -f "$WORK/bench-$N.db"*
    else
      echo "                                     store: $(psql -At "$PG_ADMIN" -c "SELECT pg_database_size('$db') / 1048576") MB"
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    fi
  done
done

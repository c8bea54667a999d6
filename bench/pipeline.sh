#!/usr/bin/env bash
# The whole refresh pipeline at scale, against mock providers over HTTP that speak the
# documented wire formats (bench/mock_providers.py: PredictHQ, Google Places, Duffel).
# For each backend, each N and each build: a first full load of N events into a fresh
# store, then a 5% refresh (incremental: the provider's next snapshot changed 5% of the
# events). Prints each run's wall time, peak memory (max RSS), stages, classes and calls,
# then the medians per build.
#
# Usage: bench/pipeline.sh [BACKENDS] [N...]   e.g. bench/pipeline.sh sqlite,postgres 1000000
#   BIN        the build measured (default target/release/toursherpa, built unless
#              SKIP_BUILD=1);
#   BASE_BIN   a baseline build measured in the same run: each run measures both, one after
#              the other, the order swapped every other run;
#   RUNS       runs of each build (default 3).
#   Enrichment: the first load is paced by the providers' daily budgets, as in production
#   (PLACES_BUDGET and FLIGHTS_BUDGET, 3000 calls a day each); what it leaves is deferred.
#   That backlog is dropped before the refresh (DELETE FROM pending_enrichment), and the
#   refresh gets REFRESH_BUDGET calls (default 1,000,000), so its enrichment is its own
#   lookups, all of them made against the mock providers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
BACKENDS=${1:-sqlite,postgres}
shift || true
SIZES=("${@:-10000}")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000)
BIN=${BIN:-$PWD/target/release/toursherpa}
BASE_BIN=${BASE_BIN:-}
RUNS=${RUNS:-3}
FIRST_BUDGETS=("${PLACES_BUDGET:-3000}" "${FLIGHTS_BUDGET:-3000}")
REFRESH_BUDGET=${REFRESH_BUDGET:-1000000}
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
}

# run_ingest LABEL BUILD BINARY DATABASE_URL [--full]: one run, its line printed and its
# figures appended to $WORK/results.
run_ingest() {
  local label=$1 build=$2 bin=$3 url=$4; shift 4
  env DATABASE_URL="$url" NO_COLOR=1 RUST_LOG=warn,app::ingest=info \
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$bin" ingest --json "$@" \
    >"$WORK/report.json" 2>"$WORK/log" || true
  read -r wall rss_kb <"$WORK/time"
  local stages report
  stages=$(sed -n 's/.*stage finished.*stage="\{0,1\}\([a-z]*\)"\{0,1\} seconds=\([0-9.]*\).*/\1 \2/p' "$WORK/log" |
    awk '{printf "%s%s %.1f", sep, $1, $2; sep=", "}')
  report=$(tail -1 "$WORK/report.json")
  if [ -z "$report" ]; then
    echo "$build $label: no report; the log ends:" >&2
    tail -20 "$WORK/log" >&2
    exit 1
  fi
  printf '%-9s %-8s %-5s %-11s %7.1f s %6d MB  %s\n' "$BACKEND" "$N" "$build" "$label" "$wall" $((rss_kb / 1024)) "$stages"
  echo "$report" | jq -c '{status, classes, calls, deferred, errors: (.errors | length)}' | sed 's/^/      /'
  echo "$BACKEND $N $build ${label// /_} $wall $((rss_kb / 1024))" >>"$WORK/results"
}

# measure BUILD BINARY: a fresh store, the full load, the backlog dropped, the 5% refresh.
measure() {
  local build=$1 bin=$2 url db=""
  case $BACKEND in
    sqlite) url="sqlite://$WORK/bench-$N.db?mode=rwc" ;;
    postgres)
      db="ts_bench_pipeline_$N"
      PG_DBS+=("$db")
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $db" >/dev/null
      url="postgres://postgres@127.0.0.1:5432/$db"
      ;;
    *) echo "unknown backend $BACKEND" >&2; exit 2 ;;
  esac
  # Migrations and reference data first, so that the load is timed alone.
  DATABASE_URL="$url" "$bin" migrate >/dev/null 2>&1
  curl -sf "$MOCK_URL/control/generation/0" >/dev/null
  PLACES_BUDGET=${FIRST_BUDGETS[0]} FLIGHTS_BUDGET=${FIRST_BUDGETS[1]} use_mock_providers "$MOCK_URL"
  run_ingest "full load" "$build" "$bin" "$url" --full
  local drop="DELETE FROM pending_enrichment"
  if [ "$BACKEND" = sqlite ]; then sqlite3 "$WORK/bench-$N.db" "$drop"; else psql -q "postgres://postgres@127.0.0.1:5432/$db" -c "$drop" >/dev/null; fi
  curl -sf "$MOCK_URL/control/generation/1" >/dev/null
  PLACES_BUDGET=$REFRESH_BUDGET FLIGHTS_BUDGET=$REFRESH_BUDGET use_mock_providers "$MOCK_URL"
  run_ingest "5% refresh" "$build" "$bin" "$url"
  if [ "$BACKEND" = sqlite ]; then
    echo "      store: $(du -m "$WORK/bench-$N.db" | cut -f1) MB"
    rm -f "$WORK/bench-$N.db"*
  else
    echo "      store: $(psql -At "$PG_ADMIN" -c "SELECT pg_database_size('$db') / 1048576") MB"
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  fi
}

echo "# bench/pipeline.sh $BACKENDS ${SIZES[*]}, $(date -u +%F), $(nproc) cores, RUNS=$RUNS"
echo "# new: $BIN${BASE_BIN:+; base: $BASE_BIN}"
echo "# first load budgets: places ${FIRST_BUDGETS[0]}, flights ${FIRST_BUDGETS[1]} calls; refresh budget $REFRESH_BUDGET (backlog dropped)"
printf '%-9s %-8s %-5s %-11s %9s %9s  %s\n' backend events build run wall peak "stages (seconds)"
: >"$WORK/results"
IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
for N in "${SIZES[@]}"; do
  start_mock "$N" 0
  for BACKEND in "${BACKEND_LIST[@]}"; do
    for run in $(seq 1 "$RUNS"); do
      if [ -z "$BASE_BIN" ]; then
        measure new "$BIN"
      elif [ $((run % 2)) -eq 1 ]; then
        measure base "$BASE_BIN"; measure new "$BIN"
      else
        measure new "$BIN"; measure base "$BASE_BIN"
      fi
    done
  done
done

echo
echo "medians over $RUNS runs (wall s, peak MB):"
python3 - "$WORK/results" <<'EOF'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    backend, n, build, label, wall, peak = line.split()
    runs[(backend, int(n), label, build)].append((float(wall), int(peak)))
for (backend, n, label, build), v in sorted(runs.items()):
    walls = sorted(w for w, _ in v)
    peaks = sorted(p for _, p in v)
    print(f"  {backend:9} {n:>8} {label.replace('_', ' '):11} {build:5} "
          f"wall {statistics.median(walls):7.1f} s  peak {statistics.median(peaks):6.0f} MB  "
          f"(runs: {', '.join(f'{w:.1f}' for w in walls)})")
EOF

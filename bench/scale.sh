#!/usr/bin/env bash
# How the reads grow with the store: for each backend and each N, a fresh store with one
# demo refresh (real airports and flight offers) and N synthetic events
# (`toursherpa generate`), then `toursherpa serve` and bench/latency.py: the map clusters,
# search, the home page, an event page and its trip bundle, and every dashboard chart's
# query under six filters, R sequential requests each after 5 warm-up requests; then the
# server's memory (VmHWM: the most it held while serving all of that).
#
# Usage: bench/scale.sh [BACKENDS] [R] [N...]   e.g. bench/scale.sh sqlite,postgres 20 10000 100000 1000000
#   SKIP_BUILD=1 to use the release binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
BACKENDS=${1:-sqlite,postgres}
R=${2:-20}
shift 2 || true
SIZES=("${@:-10000}")
BIN=$PWD/target/release/toursherpa
ADDR=127.0.0.1:${BENCH_PORT:-3952}
PG_ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
SERVER_PID=
PG_DB=
cleanup() {
  [ -z "$SERVER_PID" ] || { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; } || true
  [ -z "$PG_DB" ] || psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site RUST_LOG=warn NO_COLOR=1

echo "# bench/scale.sh, $(date -u +%F), $(nproc) cores, $R requests a kind"
IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
for BACKEND in "${BACKEND_LIST[@]}"; do
  for N in "${SIZES[@]}"; do
    if [ "$BACKEND" = postgres ]; then
      PG_DB=ts_bench_scale
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
      export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PG_DB"
    else
      rm -f "$WORK"/scale.db*
      export DATABASE_URL="sqlite://$WORK/scale.db?mode=rwc"
    fi
    echo
    echo "## $BACKEND, $N events"
    "$BIN" ingest >/dev/null 2>&1
    /usr/bin/time -f '%e s wall, %M KB peak' -o "$WORK/gen.time" "$BIN" generate --events "$N" >"$WORK/gen.json"
    echo "generate: $(cat "$WORK/gen.time"); $(jq -c '{insert_seconds, derived_seconds}' "$WORK/gen.json" 2>/dev/null || tail -1 "$WORK/gen.json")"
    if [ "$BACKEND" = postgres ]; then
      echo "store: $(psql -At "$PG_ADMIN" -c "SELECT pg_database_size('$PG_DB') / 1048576") MB"
    else
      echo "store: $(du -m "$WORK/scale.db" | cut -f1) MB"
    fi
    "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do curl -fs "http://$ADDR/api/v1/events?limit=1" >/dev/null && break; sleep 0.2; done
    BENCH_EVENT_ID=syn-1-$(printf %07d $((N / 2))) python3 bench/latency.py "http://$ADDR" "$R" map
    python3 bench/latency.py "http://$ADDR" "$R" dashboard | tail -n +2
    echo "server memory: $(awk '/VmHWM/ {print int($2/1024) " MB peak (VmHWM)"}' "/proc/$SERVER_PID/status"), $(awk '/VmRSS/ {print int($2/1024) " MB now"}' "/proc/$SERVER_PID/status")"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    if [ "$BACKEND" = postgres ]; then
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    fi
  done
done

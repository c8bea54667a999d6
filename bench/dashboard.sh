#!/usr/bin/env bash
# Dashboard speed at scale: a fresh SQLite store gets one demo refresh (events, airports,
# flight offers) and then N synthetic events (`toursherpa generate`); then every chart's
# query is timed through `GET /api/v1/stats/{name}` under several filters (sequential
# requests, milliseconds), and chromium times the redraw after a filter change.
# Targets (issue 5): at 1,000,000 events every chart's query under 200 ms, and a filter
# change redraws the whole dashboard in under 1 s.
# Usage: bench/dashboard.sh [N] [REQUESTS]   (defaults 1000000 and 30)
# BENCH_DB=path keeps the store there and reuses it when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
N=${1:-1000000}
REQUESTS=${2:-30}
ADDR=127.0.0.1:${BENCH_PORT:-3932}

if [ -z "${SKIP_BUILD:-}" ]; then cargo leptos build --release >&2; fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
DB=${BENCH_DB:-$WORK/bench.db}
export DATABASE_URL="sqlite://$DB?mode=rwc" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site

if [ ! -s "$DB" ]; then
  echo "== one demo refresh, then $N synthetic events"
  target/release/toursherpa ingest >/dev/null
  /usr/bin/time -f "generate: %e s wall, %M KB peak" target/release/toursherpa generate --events "$N"
fi
ls -l "$DB" | awk '{printf "store: %.0f MB\n", $5/1048576}'

target/release/toursherpa serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "http://$ADDR/api/v1/events?limit=1" >/dev/null && break; sleep 0.2; done

echo "== every chart's query, $REQUESTS sequential requests each"
python3 bench/latency.py "http://$ADDR" "$REQUESTS" dashboard

echo "== dashboard redraw in chromium"
(cd end2end && TOURSHERPA_URL="http://$ADDR" node ../bench/dashboard_redraw.mjs)
grep -E "VmHWM|VmRSS" "/proc/$SERVER_PID/status" | sed 's/^/server /'

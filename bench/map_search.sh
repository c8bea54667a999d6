#!/usr/bin/env bash
# Map and search latency at scale: fills a fresh SQLite store with N synthetic events
# (`toursherpa generate`), serves it, and measures the cluster, search and page requests a
# traveller makes (sequential requests, figures in milliseconds), then how fast the home
# page becomes interactive in chromium.
# Targets (issue 4): at 1,000,000 events, world and city clusters and a combined search
# under 50 ms at the 95th percentile; home page interactive under 2 s.
# Usage: bench/map_search.sh [N] [REQUESTS]   (defaults 1000000 and 200)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
N=${1:-1000000}
REQUESTS=${2:-200}
ADDR=127.0.0.1:${BENCH_PORT:-3931}

if [ -z "${SKIP_BUILD:-}" ]; then cargo leptos build --release >&2; fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site

echo "== generating $N synthetic events"
/usr/bin/time -f "generate: %e s wall, %M KB peak" target/release/toursherpa generate --events "$N"
ls -l "$WORK/bench.db" | awk '{printf "store: %.0f MB\n", $5/1048576}'

target/release/toursherpa serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "http://$ADDR/api/v1/events?limit=1" >/dev/null && break; sleep 0.2; done

echo "== latency over $REQUESTS sequential requests each"
python3 bench/latency.py "http://$ADDR" "$REQUESTS"

echo "== home page interactive in chromium"
(cd end2end && TOURSHERPA_URL="http://$ADDR" node ../bench/interactive.mjs)
grep -E "VmHWM|VmRSS" "/proc/$SERVER_PID/status" | sed 's/^/server /'

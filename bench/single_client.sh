#!/usr/bin/env bash
# One client at a time: what one request costs the server when nothing else runs. Loads N
# events (default 10000) from the mock PredictHQ (bench/mock_providers.py) through the
# pipeline into a SQLite store, starts `toursherpa serve`, lets it settle, and asks one
# event page, that event's trip API and one map view over and over with a single wrk
# connection for SECONDS each (default 6). A kept answer is what is measured after the first
# request. Prints mean, p50, p99 and requests per second per URL.
#
# Usage: bench/single_client.sh [N] [SECONDS]   (SKIP_BUILD=1; BIN=path to measure another build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
N=${1:-10000}
SECONDS_RUN=${2:-6}
ADDR=127.0.0.1:${BENCH_PORT:-3961}
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
command -v wrk >/dev/null || { SUDO=$([ "$(id -u)" = 0 ] || echo sudo); $SUDO apt-get install -y -q wrk >&2; }
BIN=${BIN:-$PWD/target/release/toursherpa}
source bench/mock_env.sh
bench_workdir
start_mock_providers "$N"
export DATABASE_URL="sqlite://$WORK/single.db?mode=rwc" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site
export NO_COLOR=1 RUST_LOG=warn
"$BIN" migrate >/dev/null 2>&1
"$BIN" ingest --full >/dev/null 2>&1
"$BIN" serve >"$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fs "http://$ADDR/api/v1/events?limit=1" >/dev/null && break; sleep 0.2; done
sleep 5
id=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT id FROM events WHERE state = 'active' ORDER BY id LIMIT 1\").fetchone()[0])" "$WORK/single.db")
echo "# bench/single_client.sh $N $SECONDS_RUN, $(date -u +%F), $(nproc) cores, SQLite, $BIN"
for url in "/events/$id" "/api/v1/events/$id/trip" "/api/v1/map/clusters?bbox=-10,35,30,60&zoom=5"; do
  printf '%-50s' "$url"
  wrk -t1 -c1 -d"${SECONDS_RUN}s" --latency "http://$ADDR$url" |
    awk '/^    Latency/ {printf "mean %s ", $2} /^     50%/ {printf "p50 %s ", $2}
         /^     99%/ {printf "p99 %s ", $2} /^Requests\/sec/ {print "req/s " $2}'
done

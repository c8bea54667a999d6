#!/usr/bin/env bash
# Load while refreshing: 64 concurrent clients (wrk, keep-alive) for 60 s on the event page,
# the map clusters and the search API of a SQLite store of N events loaded through the
# pipeline from the mock PredictHQ (bench/mock_providers.py), while 5% refreshes run one
# after another against the same store (a separate `toursherpa ingest` process, as the
# scheduler's runs would). Prints requests per second, latency percentiles and errors per
# kind, each refresh's time, and the server's memory.
#
# Usage: bench/load.sh [N] [SECONDS] [CLIENTS]     (defaults 100000 60 64; SKIP_BUILD=1;
#   REFRESH=0 for no refresh during the load, REFRESHES=K for at most K (one after another
#   from the start; the default is as many as the minute holds); WARM=0 to start from a
#   cold server;
#   BIN=path to measure another build)
#   wrk comes from Debian (apt-get install wrk); it is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
N=${1:-100000}
SECONDS_RUN=${2:-60}
CLIENTS=${3:-64}
ADDR=127.0.0.1:${BENCH_PORT:-3951}
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
command -v wrk >/dev/null || { SUDO=$([ "$(id -u)" = 0 ] || echo sudo); $SUDO apt-get install -y -q wrk >&2; }
BIN=${BIN:-$PWD/target/release/toursherpa}
source bench/mock_env.sh
bench_workdir
start_mock_providers "$N"
export DATABASE_URL="sqlite://$WORK/load.db?mode=rwc" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site
export NO_COLOR=1 RUST_LOG=warn
"$BIN" migrate >/dev/null 2>&1
/usr/bin/time -f '%e s wall, %M KB peak' -o "$WORK/load.time" "$BIN" ingest --full >/dev/null 2>&1
echo "# bench/load.sh $N $SECONDS_RUN $CLIENTS, $(date -u +%F), $(nproc) cores, SQLite"
echo "first full load of $N events through the pipeline: $(cat "$WORK/load.time")"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=($SERVER)
for _ in $(seq 1 300); do curl -fs "http://$ADDR/api/v1/events?limit=1" >/dev/null && break; sleep 0.2; done

# What the clients ask for: 500 event pages, map views from the world to a city, searches.
python3 - "$WORK/load.db" "$WORK" <<'EOF'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
random.seed(7)
ids = [r[0] for r in db.execute("SELECT id FROM events WHERE state = 'active' ORDER BY random() LIMIT 500")]
places = db.execute("SELECT lat, lon, country FROM events WHERE state = 'active' ORDER BY random() LIMIT 200").fetchall()
cats = ["concerts", "festivals", "expos", "sports", "conferences", "performing-arts"]
with open(f"{sys.argv[2]}/event.urls", "w") as f:
    for i in ids:
        f.write(f"/events/{i}\n")
with open(f"{sys.argv[2]}/map.urls", "w") as f:
    f.write("/api/v1/map/clusters?bbox=-180,-85,180,85&zoom=2\n")
    f.write("/api/v1/map/clusters?bbox=-25,34,45,71&zoom=4\n")
    for lat, lon, _ in places:
        for zoom, span in ((6, 8.0), (9, 1.0), (11, 0.25)):
            f.write(f"/api/v1/map/clusters?bbox={max(-180,lon-span):.3f},{max(-85,lat-span/2):.3f},{min(180,lon+span):.3f},{min(85,lat+span/2):.3f}&zoom={zoom}"
                    + (f"&category={random.choice(cats)}" if random.random() < 0.3 else "") + "\n")
with open(f"{sys.argv[2]}/search.urls", "w") as f:
    for lat, lon, country in places:
        c = random.choice(cats)
        f.write(f"/api/v1/events?country={country}&category={c}&limit=20\n")
        f.write(f"/api/v1/events?near={lat:.3f},{lon:.3f}&radius_km=50&limit=20\n")
        f.write(f"/api/v1/events?category={c}&rank_min={random.randint(40, 90)}&sort=start&limit=20\n")
EOF
# Each URL once before the measured minute (WARM=0 skips this): a server that has been
# running keeps these answers, and the first request for each costs several times more
# (it computes what is then kept). A refresh during the minute still empties what it
# changes, and those misses are measured.
if [ "${WARM:-1}" != 0 ]; then
  warm_start=$(date +%s.%N)
  cat "$WORK/event.urls" "$WORK/map.urls" "$WORK/search.urls" |
    sed "s|^|http://$ADDR|" | xargs -P 4 -I{} curl -s -o /dev/null {}
  echo "warm-up: each of $(cat "$WORK"/{event,map,search}.urls | wc -l) URLs once, $(python3 -c "import time; print(round(time.time() - $warm_start, 1))") s"
fi
cat >"$WORK/urls.lua" <<'EOF'
local urls = {}
init = function(args)
  for line in io.lines(args[1]) do urls[#urls + 1] = line end
end
request = function()
  return wrk.format("GET", urls[math.random(#urls)])
end
EOF

# Refreshes, one after another, for as long as the load lasts (none with REFRESH=0, for
# the same load on a quiet store).
(
  g=0
  end_at=$((SECONDS + SECONDS_RUN))
  while [ "${REFRESH:-1}" != 0 ] && [ $SECONDS -lt $end_at ]; do
    [ "${REFRESHES:-0}" = 0 ] || [ $g -lt "$REFRESHES" ] || break
    g=$((g + 1))
    curl -sf "$MOCK/control/generation/$g" >/dev/null
    s=$(date +%s.%N)
    # A refresh that fails is reported, not left to stop this loop silently (set -e).
    report=$("$BIN" ingest --json 2>"$WORK/refresh-$g.log" | tail -1) || true
    if [ -z "$report" ]; then
      echo "refresh $g gave no report; its log ends: $(tail -c 300 "$WORK/refresh-$g.log")"
      continue
    fi
    echo "$report" | jq -c --arg s "$s" \
      '{run: .run_id, status, changed: .classes.changed, moved: .classes.moved, seconds: ((now - ($s | tonumber)) * 10 | round / 10)}'
  done >"$WORK/refreshes"
) &
REFRESHER=$!
PIDS+=($REFRESHER)

per=$((CLIENTS / 3))
for kind in event map search; do
  c=$per
  [ "$kind" != event ] || c=$((CLIENTS - 2 * per))
  wrk -t1 -c"$c" -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$WORK/urls.lua" "http://$ADDR" \
    -- "$WORK/$kind.urls" >"$WORK/$kind.wrk" 2>&1 &
  PIDS+=($!)
done
rss_max=0
for _ in $(seq 1 "$SECONDS_RUN"); do
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  [ "$rss" -le "$rss_max" ] || rss_max=$rss
done
wait "$REFRESHER" 2>/dev/null || true
sleep 2

printf '%-8s %8s %9s %8s %8s %8s %8s %8s\n' kind clients req/s p50 p90 p99 max errors
total=0
for kind in event map search; do
  f="$WORK/$kind.wrk"
  c=$(sed -n 's/.* \([0-9]*\) connections.*/\1/p' "$f")
  rps=$(awk '/^Requests\/sec/ {print $2}' "$f")
  p() { awk -v k="$1" '$1 == k {print $2}' "$f"; }
  max=$(awk '/^    Latency/ {print $4}' "$f")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$f")
  sock=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$f")
  printf '%-8s %8s %9s %8s %8s %8s %8s %8s\n' "$kind" "$c" "$rps" "$(p 50%)" "$(p 90%)" "$(p 99%)" "$max" "${non2xx:-0}${sock:+ ($sock)}"
  total=$(python3 -c "print($total + $rps)")
done
echo "all kinds: $total requests/s"
echo "refreshes during the load:"
sed 's/^/  /' "$WORK/refreshes"
echo "server memory: peak RSS during the load $((rss_max / 1024)) MB; $(grep VmHWM "/proc/$SERVER/status" | awk '{print "VmHWM " int($2/1024) " MB"}') since start"
# Statements the server logged as slow (250 ms or more) during the load, most frequent
# first: where the tail latency comes from.
echo "slow queries logged by the server: $(grep -c 'slow query' "$WORK/server.log" || true)"
# Each is shown from its FROM clause on (the selected columns say little).
sed -n 's/.*slow query.*sql=.*\( FROM .\{0,240\}\).*/\1/p' "$WORK/server.log" |
  sort | uniq -c | sort -rn | head -5 | sed 's/^/  /'

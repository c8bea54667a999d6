#!/usr/bin/env bash
# More than one machine: two `toursherpa serve` processes against one PostgreSQL database.
# Shows, with figures:
#   1. both processes serve every page (and the first refresh ran once, not twice);
#   2. a refresh triggered on both at once runs exactly once (one 202, one 409);
#   3. killing (kill -9) the process that runs a refresh lets the other take over on the
#      next trigger, and that run finishes the work with nothing lost (no owed enrichment).
# Usage: bench/multi_process.sh   (SKIP_BUILD=1 to use the existing release build)
# Needs PostgreSQL: TOURSHERPA_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2

PG_ADMIN=${TOURSHERPA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
DB="toursherpa_multi_$$"
PG_BASE=${PG_ADMIN%/*}
export DATABASE_URL="$PG_BASE/$DB"
export LEPTOS_SITE_ROOT=target/site
# Each run's events fetch takes 4 s, so a run is still going when it is killed.
export TOURSHERPA_DEMO_LATENCY_MS=4000
BIN=target/release/toursherpa
A=127.0.0.1:3941
B=127.0.0.1:3942
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  [ -n "${KEEP_LOGS:-}" ] && cp "$WORK"/*.log /tmp/ 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG_ADMIN" -c "CREATE DATABASE \"$DB\"" >/dev/null
sql() { psql -qtA "$DATABASE_URL" -c "$1"; }

PASSWORD=$(head -c 18 /dev/urandom | base64)
printf '%s\n' "$PASSWORD" | "$BIN" admin add bench 2>/dev/null

# Both start at the same moment, as after a deploy.
LEPTOS_SITE_ADDR="$A" "$BIN" serve >"$WORK/a.log" 2>&1 &
PID_A=$!
LEPTOS_SITE_ADDR="$B" "$BIN" serve >"$WORK/b.log" 2>&1 &
PID_B=$!
PIDS+=("$PID_A" "$PID_B")

token() { # addr
  curl -sf -H 'content-type: application/json' \
    -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" "http://$1/api/v1/session" | jq -r .token
}
wait_up() { for _ in $(seq 1 200); do curl -sf "http://$1/api/v1/events?limit=1" >/dev/null && return 0; sleep 0.3; done; echo "no server at $1" >&2; exit 1; }
wait_up "$A"; wait_up "$B"
TOKEN=$(token "$A")
wait_idle() { # addr
  for _ in $(seq 1 600); do
    running=$(curl -sf -H "authorization: Bearer $TOKEN" "http://$1/api/v1/runs?limit=5" | jq '[.items[] | select(.status == "running")] | length')
    [ "$running" = "0" ] && return 0
    sleep 0.3
  done
  echo "a run did not end" >&2; exit 1
}
wait_idle "$A"
# Both started on an empty store and both tried the first refresh: it ran once.
FIRST_RUNS=$(sql "SELECT count(*) FROM refresh_runs")
printf '\n== 1. both processes serve every page (first refresh runs: %s)\n' "$FIRST_RUNS"
ID=$(curl -sf "http://$A/api/v1/events?limit=1" | jq -r '.items[0].id')
printf '%-8s %-40s %s\n' process path status
for addr in "$A" "$B"; do
  for path in / /dashboard "/events/$ID" /countries/FR /api/v1/events "/api/v1/events/$ID/trip" /api/v1/stats/categories /admin; do
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $TOKEN" "http://$addr$path")
    printf '%-8s %-40s %s\n' "$addr" "$path" "$status"
    [ "$status" = 200 ] || { echo "FAILED: $addr$path answered $status" >&2; exit 1; }
  done
done

printf '\n== 2. a refresh triggered on both at once runs once\n'
before=$(sql "SELECT count(*) FROM refresh_runs")
CURLS=()
for addr in "$A" "$B"; do
  curl -s -o "$WORK/start-$addr.json" -w '%{http_code}\n' -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"mode":"incremental"}' "http://$addr/api/v1/runs" >"$WORK/status-$addr" &
  CURLS+=($!)
done
wait "${CURLS[@]}"
SA=$(cat "$WORK/status-$A"); SB=$(cat "$WORK/status-$B")
after=$(sql "SELECT count(*) FROM refresh_runs")
echo "process A answered $SA, process B answered $SB; runs started: $((after - before))"
[ "$((after - before))" = 1 ] || { echo "FAILED: expected exactly one run" >&2; exit 1; }
[ "$(printf '%s\n%s\n' "$SA" "$SB" | sort | tr '\n' ' ')" = "202 409 " ] || { echo "FAILED: expected one 202 and one 409" >&2; exit 1; }
wait_idle "$A"

printf '\n== 3. kill -9 the process running a refresh; the other takes over on the next trigger\n'
printf '%-6s %-10s %-12s %-16s %-10s %-9s %-8s %-6s\n' kill_s stage killed_run then takeover_run deferred owed locks
for delay in ${KILL_AFTER:-1 4.1 4.2 4.3}; do
  RUN=$(curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"mode":"full"}' "http://$A/api/v1/runs" | jq .id)
  sleep "$delay"
  STAGE=$(sql "SELECT stage FROM refresh_runs WHERE id = $RUN")
  kill -9 "$PID_A"
  wait "$PID_A" 2>/dev/null || true
  # The next trigger on B takes the lock over (its holder is gone) and runs to the end.
  code=$(curl -s -o "$WORK/takeover.json" -w '%{http_code}' -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"mode":"incremental"}' "http://$B/api/v1/runs")
  [ "$code" = 202 ] || { echo "FAILED: the takeover trigger answered $code: $(cat "$WORK/takeover.json")" >&2; exit 1; }
  NEXT=$(jq .id "$WORK/takeover.json")
  wait_idle "$B"
  KILLED_STATUS=$(sql "SELECT status FROM refresh_runs WHERE id = $RUN")
  read -r NEXT_STATUS NEXT_DEFERRED < <(sql "SELECT status, deferred FROM refresh_runs WHERE id = $NEXT" | tr '|' ' ')
  OWED=$(sql "SELECT count(*) FROM pending_enrichment")
  LOCKS=$(sql "SELECT count(*) FROM locks")
  printf '%-6s %-10s %-12s %-16s %-10s %-9s %-8s %-6s\n' "$delay" "$STAGE" "$RUN" "$KILLED_STATUS" "$NEXT $NEXT_STATUS" "$NEXT_DEFERRED" "$OWED" "$LOCKS"
  # (A run that ended before the kill is fine too: nothing was cut.)
  { [ "$KILLED_STATUS" = interrupted ] || [ "$STAGE" = done ]; } && [ "$NEXT_STATUS" = succeeded ] && [ "$OWED" = 0 ] && [ "$LOCKS" = 0 ] \
    || { echo "FAILED: the takeover did not finish the work" >&2; exit 1; }
  # A comes back for the next round.
  LEPTOS_SITE_ADDR="$A" "$BIN" serve >>"$WORK/a.log" 2>&1 &
  PID_A=$!
  PIDS+=("$PID_A")
  wait_up "$A"
done
printf '\nall checks passed\n'

# Sourced by the bench scripts: points every provider at bench/mock_providers.py.
# use_mock_providers URL   exports the settings; PLACES_BUDGET and FLIGHTS_BUDGET (3000
# each by default) are the daily call budgets, which pace enrichment as in production.
use_mock_providers() {
  export TOURSHERPA_EVENTS_PROVIDER=predicthq PREDICTHQ_TOKEN=bench-token \
    PREDICTHQ_BASE_URL="$1" PREDICTHQ_RATE_PER_SECOND=1000 \
    TOURSHERPA_PLACES_PROVIDER=google GOOGLE_PLACES_KEY=bench-key \
    GOOGLE_PLACES_BASE_URL="$1" GOOGLE_PLACES_RATE_PER_SECOND=1000 \
    GOOGLE_PLACES_DAILY_BUDGET="${PLACES_BUDGET:-3000}" \
    TOURSHERPA_FLIGHTS_PROVIDER=duffel DUFFEL_TOKEN=bench-token \
    DUFFEL_BASE_URL="$1" DUFFEL_RATE_PER_SECOND=1000 \
    DUFFEL_DAILY_BUDGET="${FLIGHTS_BUDGET:-3000}"
}

# bench_workdir   a temporary directory WORK and a list PIDS of background processes, both
# cleaned up when the script exits (the processes killed, the directory removed).
bench_workdir() {
  WORK=$(mktemp -d)
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
}

# start_mock_providers N   starts bench/mock_providers.py serving N events (its pid added to
# PIDS, its output in $WORK/mock.out), waits until it listens, and points every provider
# at it; MOCK holds its URL.
start_mock_providers() {
  python3 bench/mock_providers.py --events "$1" >"$WORK/mock.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/mock.out" 2>/dev/null && break; sleep 0.5; done
  MOCK="http://127.0.0.1:$(awk '/^ready/ {print $2}' "$WORK/mock.out")"
  use_mock_providers "$MOCK"
}

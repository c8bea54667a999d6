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

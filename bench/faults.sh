#!/usr/bin/env bash
# Faults: kill -9 a refresh at N random points (default 20) spread over its stages (fetch,
# validate, diff, commit with its transaction open, the derived tables' catch-up,
# enrichment), then run it again. Checks
# after each kill that the store still holds the previous refresh's events, whole (readers
# keep being served the previous data), and after the re-run that the end state is the
# same as an uninterrupted run's and that no stored provider lookup was called again.
# SQLite, demo providers, `toursherpa ingest`. Usage: bench/faults.sh [N]   (SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
N=${1:-20}
BIN=$PWD/target/release/toursherpa
STATE="python3 $PWD/bench/store_state.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export RUST_LOG=warn
ingest() { # db [env...] : runs one refresh, prints its JSON report
  local db=$1; shift
  env DATABASE_URL="sqlite://$db?mode=rwc" "$@" "$BIN" ingest --json 2>/dev/null | tail -1
}
calls() { jq '.calls.places + .calls.flights'; }
# Enrichment's lookups in flight at once (app/src/ingest/enrich.rs).
LOOKUPS_IN_FLIGHT=$(sed -n 's/^pub const LOOKUPS_IN_FLIGHT: usize = \([0-9]*\);/\1/p' app/src/ingest/enrich.rs)

# The previous data: one refresh. Then the reference: the next refresh, uninterrupted.
ingest "$WORK/base.db" >/dev/null
$STATE "$WORK/base.db" copy "$WORK/ref.db"
REF_CALLS=$(ingest "$WORK/ref.db" | calls)
$STATE "$WORK/ref.db" state >"$WORK/ref.state"
BASE_EVENTS=$($STATE "$WORK/base.db" state | grep '^event|' | sort)
REF_EVENTS=$(grep '^event|' "$WORK/ref.state" | sort)
echo "reference run: $REF_CALLS place and flight calls; $(grep -c '^event|' "$WORK/ref.state") events" >&2

# Each stage of a faulted run is widened to 1.2 s (fetch, validate, diff, the open commit
# transaction, the derived tables' catch-up, the start of enrichment), so kills land in
# every stage.
PAUSE=(TOURSHERPA_DEMO_LATENCY_MS=1200 TOURSHERPA_STAGE_PAUSE_MS=1200)
printf '%-4s %-7s %-10s %-22s %-12s %-10s %-10s %-6s\n' kill at_s stage events_after_kill lookups_kept rerun_calls expected same_end
failures=0
for i in $(seq 1 "$N"); do
  db="$WORK/f$i.db"
  $STATE "$WORK/base.db" copy "$db"
  at=$(python3 -c "import random; print(round(random.uniform(0.1, 7.8), 2))")
  DATABASE_URL="sqlite://$db?mode=rwc" env "${PAUSE[@]}" "$BIN" ingest --json >/dev/null 2>&1 &
  pid=$!
  sleep "$at"
  read -r _ _ stage < <($STATE "$db" run)
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # What readers see now: the previous refresh's events or the new ones, never a mix.
  now_events=$($STATE "$db" state | grep '^event|' | sort)
  if [ "$now_events" = "$BASE_EVENTS" ]; then seen=previous
  elif [ "$now_events" = "$REF_EVENTS" ]; then seen=new-committed
  else seen=MIXED; fi
  kept=$($STATE "$db" lookups)
  base_lookups=$($STATE "$WORK/base.db" lookups)
  if [ "$stage" = done ]; then
    # The run had ended before the kill: its state must be the reference already.
    rerun=0
    expected=0
  else
    rerun=$(ingest "$db" | calls)
    # Every lookup the killed run stored is not called again (the calls in flight at the
    # kill, at most LOOKUPS_IN_FLIGHT, whose answers were not stored, may be).
    expected=$((REF_CALLS - (kept - base_lookups)))
  fi
  $STATE "$db" state >"$WORK/f$i.state"
  if diff -q "$WORK/f$i.state" "$WORK/ref.state" >/dev/null; then same=yes; else same=NO; fi
  printf '%-4s %-7s %-10s %-22s %-12s %-10s %-10s %-6s\n' "$i" "$at" "$stage" "$seen" "$((kept - base_lookups))" "$rerun" "$expected" "$same"
  if [ "$seen" = MIXED ] || [ "$same" != yes ] || [ "$rerun" -gt "$((expected + LOOKUPS_IN_FLIGHT))" ]; then
    failures=$((failures + 1))
  fi
done
if [ "$failures" -gt 0 ]; then echo "FAILED: $failures of $N" >&2; exit 1; fi
echo "all $N kills recovered: previous data kept whole, same end state, no stored call repeated"

#!/usr/bin/env bash
# Faults: kill -9 a refresh at 20 fixed points spread over its stages (fetch, validate,
# diff, the commit's open transaction while it writes and while it recomputes the derived
# tables, enrichment), then run it again, on SQLite and on PostgreSQL. Checks after each
# kill that the store still holds the previous refresh's events or the new ones whole
# (readers never see a mix), and after the re-run that the end state is the same as an
# uninterrupted run's and that no stored provider lookup was called again.
# Demo providers, `toursherpa ingest`, each stage widened to 1.2 s.
#
# Usage: bench/faults.sh [BACKENDS]   e.g. bench/faults.sh sqlite,postgres (the default)
#   BIN  the build (default target/release/toursherpa, built unless SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
BACKENDS=${1:-sqlite,postgres}
BIN=${BIN:-$PWD/target/release/toursherpa}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
STATE="python3 $PWD/bench/store_state.py"
WORK=$(mktemp -d)
PREFIX="ts_faults_$$_"
cleanup() {
  if [[ $BACKENDS == *postgres* ]]; then
    for d in $(psql -qAt "$PG/postgres" -c "SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}%'"); do
      psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export RUST_LOG=warn
# The kill points: the stage the run record must show, then how long after it the kill
# lands. The record says "commit" from the commit's start until its transaction ends: the
# writes take its first 1.2 s pause, the derived tables' recount the next.
POINTS=(fetch:0.3 fetch:0.9 validate:0.3 validate:0.9 diff:0.3 diff:0.9
        commit:0.2 commit:0.6 commit:1.0 commit:1.4 commit:1.8 commit:2.2
        enrich:0.1 enrich:0.4 enrich:0.8 enrich:1.1 enrich:1.4 enrich:1.8 enrich:2.4 enrich:3.2)
PAUSE=(TOURSHERPA_DEMO_LATENCY_MS=1200 TOURSHERPA_STAGE_PAUSE_MS=1200)

# A fresh store for `name` on the backend: a file path or a database URL.
store_for() { # backend name
  if [ "$1" = postgres ]; then
    echo "$PG/$PREFIX$2"
  else
    echo "$WORK/$2.db"
  fi
}
url_of() { case $1 in postgres*) echo "$1" ;; *) echo "sqlite://$1?mode=rwc" ;; esac; }
copy_store() { # from to_name backend -> prints the copy
  local to
  to=$(store_for "$3" "$2")
  if [ "$3" = postgres ]; then $STATE "$1" copy "${to##*/}"; else $STATE "$1" copy "$to"; fi
  echo "$to"
}
ingest() { # store [env...] : runs one refresh, prints its JSON report
  local store=$1; shift
  env DATABASE_URL="$(url_of "$store")" "$@" "$BIN" ingest --json 2>/dev/null | tail -1
}
calls() { jq '.calls.places + .calls.flights'; }
# Enrichment's lookups in flight at once (app/src/ingest/enrich.rs).
LOOKUPS_IN_FLIGHT=$(sed -n 's/^pub const LOOKUPS_IN_FLIGHT: usize = \([0-9]*\);/\1/p' app/src/ingest/enrich.rs)

total_failures=0
for backend in ${BACKENDS//,/ }; do
  [ "$backend" != postgres ] || psql -q "$PG/postgres" -c "CREATE DATABASE ${PREFIX}base" >/dev/null
  base=$(store_for "$backend" base)
  # The previous data: one refresh. Then the reference: the next refresh, uninterrupted.
  ingest "$base" >/dev/null
  ref=$(copy_store "$base" ref "$backend")
  REF_CALLS=$(ingest "$ref" | calls)
  $STATE "$ref" state >"$WORK/ref.state"
  BASE_EVENTS=$($STATE "$base" state | grep '^event|' | sort)
  REF_EVENTS=$(grep '^event|' "$WORK/ref.state" | sort)
  base_lookups=$($STATE "$base" lookups)
  echo "== $backend: reference run: $REF_CALLS place and flight calls; $(grep -c '^event|' "$WORK/ref.state") events"
  printf '%-4s %-13s %-10s %-14s %-12s %-10s %-10s %-6s\n' kill point stage_at_kill events_after lookups_kept rerun_calls expected same_end
  failures=0
  i=0
  for point in "${POINTS[@]}"; do
    i=$((i + 1))
    target=${point%%:*}
    after=${point##*:}
    db=$(copy_store "$base" "f$i" "$backend")
    env DATABASE_URL="$(url_of "$db")" "${PAUSE[@]}" "$BIN" ingest --json >/dev/null 2>&1 &
    pid=$!
    # Waits for the run record to show the target stage (or the run to end), then kills.
    stage=-
    for _ in $(seq 1 400); do
      read -r _ _ stage < <($STATE "$db" run 2>/dev/null || echo "- - -")
      [ "$stage" = "$target" ] || [ "$stage" = done ] || ! kill -0 "$pid" 2>/dev/null && break
      sleep 0.05
    done
    sleep "$after"
    read -r _ _ stage < <($STATE "$db" run)
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # What readers see now: the previous refresh's events or the new ones, never a mix.
    now_events=$($STATE "$db" state | grep '^event|' | sort)
    if [ "$now_events" = "$BASE_EVENTS" ]; then seen=previous
    elif [ "$now_events" = "$REF_EVENTS" ]; then seen=new
    else seen=MIXED; fi
    kept=$($STATE "$db" lookups)
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
    printf '%-4s %-13s %-10s %-14s %-12s %-10s %-10s %-6s\n' "$i" "$point" "$stage" "$seen" "$((kept - base_lookups))" "$rerun" "$expected" "$same"
    if [ "$seen" = MIXED ] || [ "$same" != yes ] || [ "$rerun" -gt "$((expected + LOOKUPS_IN_FLIGHT))" ]; then
      failures=$((failures + 1))
      diff "$WORK/f$i.state" "$WORK/ref.state" | head -5 >&2 || true
    fi
  done
  echo "$backend: $((${#POINTS[@]} - failures)) of ${#POINTS[@]} kills recovered"
  total_failures=$((total_failures + failures))
done
if [ "$total_failures" -gt 0 ]; then echo "FAILED: $total_failures kills did not recover" >&2; exit 1; fi
echo "every kill recovered: previous data kept whole, same end state, no stored call repeated"

#!/usr/bin/env bash
# Uncached reads at scale: for each backend and each build, a store with one demo refresh
# (real airports and flight offers) and N synthetic events (`toursherpa generate`), then
# RUNS rounds of a freshly started `toursherpa serve` answering bench/reads.py: map
# clusters, search, every dashboard chart's query and the dashboard page, once under each
# of 22 named filters (so every answer is computed, none served from a cache). Prints the
# p50 and p95 of each kind over the filters and rounds, the slowest filter, and the
# server's peak memory while serving (VmHWM), per build.
#
# Usage: bench/reads.sh [BACKENDS] [N]   e.g. bench/reads.sh sqlite,postgres 1000000
#   BIN (default target/release/toursherpa, built unless SKIP_BUILD=1), BASE_BIN (a
#   baseline measured in the same run, the order of the builds swapped every other
#   round), RUNS rounds (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || cargo leptos build --release >&2
BACKENDS=${1:-sqlite,postgres}
N=${2:-10000}
BIN=${BIN:-$PWD/target/release/toursherpa}
BASE_BIN=${BASE_BIN:-}
RUNS=${RUNS:-3}
ADDR=127.0.0.1:${BENCH_PORT:-3953}
PG_ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
SERVER_PID=
PG_DBS=()
cleanup() {
  [ -z "$SERVER_PID" ] || { kill -9 "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; } || true
  for d in "${PG_DBS[@]}"; do psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site RUST_LOG=warn NO_COLOR=1

BUILDS=(new)
[ -z "$BASE_BIN" ] || BUILDS=(base new)
binary() { if [ "$1" = base ]; then echo "$BASE_BIN"; else echo "$BIN"; fi; }
url_of() { # backend build
  if [ "$1" = postgres ]; then echo "postgres://postgres@127.0.0.1:5432/ts_bench_reads_$2"; else echo "sqlite://$WORK/reads-$2.db?mode=rwc"; fi
}

echo "# bench/reads.sh $BACKENDS $N, $(date -u +%F), $(nproc) cores, RUNS=$RUNS"
echo "# new: $BIN${BASE_BIN:+; base: $BASE_BIN}"
: >"$WORK/results"
IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
for BACKEND in "${BACKEND_LIST[@]}"; do
  for build in "${BUILDS[@]}"; do
    url=$(url_of "$BACKEND" "$build")
    if [ "$BACKEND" = postgres ]; then
      PG_DBS+=("ts_bench_reads_$build")
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS ts_bench_reads_$build WITH (FORCE)" >/dev/null
      psql -q "$PG_ADMIN" -c "CREATE DATABASE ts_bench_reads_$build" >/dev/null
    fi
    DATABASE_URL="$url" "$(binary "$build")" ingest >/dev/null 2>&1
    /usr/bin/time -f '%e s wall' -o "$WORK/gen.time" env DATABASE_URL="$url" "$(binary "$build")" generate --events "$N" >/dev/null
    echo "$BACKEND $build: store of $N synthetic events generated in $(cat "$WORK/gen.time")"
  done
  for run in $(seq 1 "$RUNS"); do
    order=("${BUILDS[@]}")
    if [ $((run % 2)) -eq 0 ] && [ ${#BUILDS[@]} -eq 2 ]; then order=(new base); fi
    for build in "${order[@]}"; do
      DATABASE_URL=$(url_of "$BACKEND" "$build") "$(binary "$build")" serve >"$WORK/server.log" 2>&1 &
      SERVER_PID=$!
      # Ready once it answers; the probe's box holds no event, so no answer is cached.
      for _ in $(seq 1 600); do curl -fs -o /dev/null "http://$ADDR/api/v1/map/clusters?zoom=0&bbox=0,0,0.001,0.001" && break; sleep 0.2; done
      python3 bench/reads.py "http://$ADDR" "$BACKEND/$build" >>"$WORK/results"
      echo "$BACKEND/$build	memory	peak	$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVER_PID/status")	0" >>"$WORK/results"
      # A server still busy with a request it never finished is not waited for.
      kill "$SERVER_PID"; sleep 2; kill -9 "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
      SERVER_PID=
    done
  done
done

python3 - "$WORK/results" <<'EOF'
import sys
from collections import defaultdict
times = defaultdict(list)
errors = defaultdict(int)
memory = defaultdict(list)
for line in open(sys.argv[1]):
    label, kind, name, ms, status = line.rstrip("\n").split("\t")
    if kind == "memory":
        memory[label].append(int(ms))
        continue
    times[(label, kind)].append((float(ms), name))
    if status not in ("200",):
        errors[(label, kind)] += 1

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]

print(f"{'build':22} {'kind':22} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  slowest filter")
for (label, kind), v in sorted(times.items()):
    ms = [m for m, _ in v]
    slowest = max(v)[1]
    err = f"  ({errors[(label, kind)]} not 200)" if errors[(label, kind)] else ""
    print(f"{label:22} {kind:22} {len(v):>4} {pct(ms, 50):8.1f} {pct(ms, 95):8.1f} {max(ms):8.1f}  {slowest}{err}")
for label, v in sorted(memory.items()):
    print(f"{label:22} server peak memory (VmHWM) per round: {', '.join(f'{m} MB' for m in v)}")
EOF

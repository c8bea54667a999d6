#!/usr/bin/env bash
# The 5% refresh of a large SQLite store, again and again on the same starting point: for
# comparing one change's effect on the refresh without paying the full load each time.
# The first call loads N events into a kept store (bench/mock_providers.py, as
# bench/pipeline.sh does); each call copies it and runs the incremental refresh of the
# mock's next snapshot on the copy, printing wall time, peak memory, each stage's time and
# where the commit's and the catch-up's time went.
#
# Usage: bench/refresh_again.sh [N] [DIR]   (defaults 1000000 /tmp/ts-refresh-again)
#   Build first (cargo leptos build --release), or name a binary in BIN. DIR keeps the
#   store and the mock between calls; delete it to start over. The mock is left running
#   (its pid: DIR/mock.pid). A build with fewer migrations than the kept store cannot run
#   on it: compare an older build first.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DIR=${2:-/tmp/ts-refresh-again}
BIN=${BIN:-$PWD/target/release/toursherpa}
source bench/mock_env.sh
mkdir -p "$DIR"
if ! { [ -f "$DIR/mock.pid" ] && kill -0 "$(cat "$DIR/mock.pid")" 2>/dev/null; }; then
  python3 bench/mock_providers.py --events "$N" >"$DIR/mock.out" 2>&1 &
  echo $! >"$DIR/mock.pid"
  for _ in $(seq 1 1200); do grep -q '^ready' "$DIR/mock.out" 2>/dev/null && break; sleep 0.5; done
fi
MOCK="http://127.0.0.1:$(awk '/^ready/ {print $2}' "$DIR/mock.out")"
use_mock_providers "$MOCK"
log() { env NO_COLOR=1 RUST_LOG=warn,app::ingest=info,app::store::derive=info "$@"; }
if [ ! -f "$DIR/base.db" ]; then
  curl -sf "$MOCK/control/generation/0" >/dev/null
  DATABASE_URL="sqlite://$DIR/base.db?mode=rwc" "$BIN" migrate >/dev/null 2>&1
  log /usr/bin/time -f '%e s wall, %M KB peak' -o "$DIR/full.time" \
    env DATABASE_URL="sqlite://$DIR/base.db?mode=rwc" "$BIN" ingest --full --json >/dev/null 2>"$DIR/full.log"
  echo "full load of $N events: $(cat "$DIR/full.time")"
fi
# A later build may bring migrations: the copy takes them before the timed run.
DATABASE_URL="sqlite://$DIR/base.db?mode=rwc" "$BIN" migrate >/dev/null 2>&1
# Everything in the file itself, so that copying the file copies it all.
python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$DIR/base.db"
rm -f "$DIR"/work.db*
cp "$DIR/base.db" "$DIR/work.db"
curl -sf "$MOCK/control/generation/1" >/dev/null
log /usr/bin/time -f '%e s wall, %M KB peak' -o "$DIR/refresh.time" \
  env DATABASE_URL="sqlite://$DIR/work.db?mode=rwc" "$BIN" ingest --json >"$DIR/refresh.json" 2>"$DIR/refresh.log"
curl -sf "$MOCK/control/generation/0" >/dev/null
echo "# bench/refresh_again.sh $N, $(date -u '+%F %H:%M'), checkout $(git rev-parse --short HEAD), binary $BIN"
echo "5% refresh: $(cat "$DIR/refresh.time")"
echo "stages: $(sed -n 's/.*stage finished.*stage="\{0,1\}\([a-z]*\)"\{0,1\} seconds=\([0-9.]*\).*/\1 \2/p' "$DIR/refresh.log" |
  awk '{printf "%s%s %.1f", sep, $1, $2; sep=", "}')"
sed -n 's/.*commit written \(.*\)/commit: \1/p; s/.*derived tables recomputed \(.*\)/derived: \1/p' "$DIR/refresh.log"
tail -1 "$DIR/refresh.json" | jq -c '{status, classes}'

#!/usr/bin/env bash
# Builds the release site and runs the browser tests (end2end/) in chromium against a
# server on a fresh SQLite store. The server runs the first demo refresh itself, as on a
# user's first start.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

cargo leptos build --release

WORK=$(mktemp -d)
ADDR="127.0.0.1:${E2E_PORT:-3917}"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

DATABASE_URL="sqlite://$WORK/e2e.db?mode=rwc" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site \
  target/release/toursherpa serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

status=0
(cd end2end && TOURSHERPA_URL="http://$ADDR" TOURSHERPA_DB="$WORK/e2e.db" node --test --test-concurrency=1 tests/) || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"

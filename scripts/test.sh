#!/usr/bin/env bash
# Sets up and runs every TourSherpa test: formatting and lints, unit tests, the API and
# pipeline integration tests against SQLite and PostgreSQL, and the browser tests.
#
# PostgreSQL: TOURSHERPA_TEST_POSTGRES names a server where tests may create and drop their
# own databases (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --with-browser
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TOURSHERPA_TEST_POSTGRES="${TOURSHERPA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
step() { printf '\n== %s\n' "$*" >&2; }

step "disk"
df -h . | tail -1 >&2
avail_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "${avail_kb:-0}" -lt 6000000 ]; then
  echo "warning: under 6 GB free here; a clean build and test run needs about 5 GB" >&2
fi

step "PostgreSQL reachable"
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy -p app -p server -p migrations --all-targets -- -D warnings
cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

# Runs a command for at most LIMIT seconds. Past it, the stacks of every thread of the test
# binaries still running are printed (gdb), so that a hang names where it waits, and the
# command is stopped: the run fails instead of holding CI to its limit.
bounded() {
  local limit=$1; shift
  "$@" &
  local pid=$! waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$limit" ]; then
      echo "== still running after ${limit} s: $*; the stacks of its test binaries follow" >&2
      for p in $(pgrep -f "$PWD/target/debug/deps/" || true); do
        echo "-- process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" >&2
        if command -v gdb >/dev/null 2>&1; then
          timeout 120 gdb -p "$p" -batch -ex "thread apply all bt 40" 2>/dev/null \
            | grep -E '^(Thread |#[0-9]+ )' | cut -c1-220 | head -1500 >&2 || true
        fi
      done
      pkill -f "$PWD/target/debug/deps/" || true
      kill "$pid" 2>/dev/null || true
      wait "$pid" || true
      return 124
    fi
    sleep 5
    waited=$((waited + 5))
  done
  wait "$pid"
}

step "unit and integration tests (SQLite and PostgreSQL)"
bounded 1500 cargo test -p app --features ssr
bounded 1500 cargo test -p server

step "browser tests (chromium)"
./scripts/e2e.sh

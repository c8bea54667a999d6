#!/usr/bin/env bash
# Installs what building TourSherpa needs, each piece only when it is missing:
# the wasm target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock, and the npm
# packages (wasm-opt from binaryen, playwright-core). With --with-browser it also installs
# Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
log() { printf '\n== %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once per machine)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

# The CLI must match the wasm-bindgen crate exactly; it is pinned in Cargo.toml and Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Without --locked: its own lockfile names a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ]; then
  log "installing npm packages (binaryen for wasm-opt, playwright-core)"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# The tests also want gdb: a test run that hangs prints its threads' stacks (scripts/test.sh).
if [ "${1:-}" = "--with-browser" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v gdb >/dev/null 2>&1 || missing="$missing gdb"
  if [ -n "$missing" ]; then
    log "installing$missing from Debian"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
  fi
fi

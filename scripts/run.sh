#!/usr/bin/env bash
# Sets up and runs TourSherpa on its embedded default: SQLite under data/, the bundled
# reference data and the demo providers. Serves on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# wasm-opt from npm's binaryen (never Debian's: its output breaks hydration).
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
exec cargo leptos serve --release

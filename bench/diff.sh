#!/usr/bin/env bash
# The diff benchmark: 1,000,000 stored events against a snapshot of the same with 5%
# changed (design target: at most 0.5 s and 400 MB on a 2-core machine).
# Usage: bench/diff.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p app --features ssr --example diff_bench -- "${1:-1000000}"

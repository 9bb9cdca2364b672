#!/usr/bin/env bash
# Runs the benchmark (not part of the tests): builds a release fennec with its console and the
# benchmark driver, then prints one line per case. BENCH_SECONDS sets each case's length.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "Installing Debian's wrk, the load generator"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y wrk
fi

# Chromium and the Playwright package measure the console's first load.
scripts/setup.sh
export LEPTOS_OUTPUT_NAME=fennec
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fennec/target}"
cargo leptos build --release --split
node scripts/precompress.mjs target/site/pkg
cargo build --release -p fennec-server --example bench
exec "$CARGO_TARGET_DIR/release/examples/bench" "$CARGO_TARGET_DIR/release/fennec" "$PWD/target/site"

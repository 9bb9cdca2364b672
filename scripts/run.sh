#!/usr/bin/env bash
# Sets up the tools, builds Fennec in release mode and serves it on its embedded SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export LEPTOS_OUTPUT_NAME=fennec
cargo leptos build --release --split
node scripts/precompress.mjs target/site/pkg
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
export FENNEC_SITE_ROOT="${FENNEC_SITE_ROOT:-$PWD/target/site}"
exec "$target_dir/release/fennec" serve "$@"

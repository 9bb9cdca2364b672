#!/usr/bin/env bash
# Installs every tool Fennec's build and tests need; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  log "Installing cargo-leptos 0.3.10 (about 20 minutes, once per machine)"
  cargo install --locked cargo-leptos --version 0.3.10
fi

# Must equal the wasm-bindgen crate pinned in Cargo.toml; --locked fails on this registry.
if ! wasm-bindgen --version 2>/dev/null | grep -q '0\.2\.130'; then
  log "Installing wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130 --force
fi

if ! command -v chromium >/dev/null 2>&1; then
  log "Installing Debian's Chromium for the browser tests"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "Installing the build tools from npm (Tailwind CSS, binaryen)"
  npm ci --no-audit --no-fund
fi

if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "Installing the browser test packages from npm"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# Swagger UI for the Control API's docs page, served by Fennec itself so it works offline;
# cargo-leptos copies public/ into the site it builds.
vendor=public/api-docs/vendor
mkdir -p "$vendor"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  cp -u "node_modules/swagger-ui-dist/$file" "$vendor/$file"
done

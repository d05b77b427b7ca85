#!/usr/bin/env bash
# Installs everything the app and its tests need on a fresh Debian machine.
# Safe to run again: each step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v redis-server >/dev/null || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v curl >/dev/null || need_apt+=(curl)
# Plain OCR, which the captcha test shows cannot read our captchas.
command -v tesseract >/dev/null || need_apt+=(tesseract-ocr)
# A CJK font, so that Chromium draws the Chinese pages in tests and screenshots.
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || need_apt+=(fonts-wqy-microhei)
command -v npm >/dev/null || need_apt+=(npm)
# Virtualenvs, for bench/'s OCR adversary (ddddocr from PyPI).
python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
# Debian's wasm-opt (binaryen 108) breaks release WASM; we use npm's binaryen instead.
if command -v wasm-opt >/dev/null && [ "$(command -v wasm-opt)" = /usr/bin/wasm-opt ]; then
  log "warning: /usr/bin/wasm-opt is Debian's binaryen; end2end/node_modules/.bin is put first on PATH"
fi

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Both tools compile from source (crates.io is what answers here), in one
# build folder that outlives the install: the second reuses the first's
# dependencies where their versions agree, and a re-install after a failure
# starts where it stopped.
tool_builds="${CARGO_HOME:-$HOME/.cargo}/tool-builds"
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "cargo install cargo-leptos $CARGO_LEPTOS_VERSION --locked (some 500 crates to compile: 12-25 minutes on 2 cores, once)"
  CARGO_TARGET_DIR="$tool_builds" cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (3-4 minutes, once)"
  # Not --locked: its lock file pins webpki-roots 1.0.11, which the registry
  # does not offer (a locked install stops at "failed to select a version");
  # unlocked, cargo resolves its dependencies anew from what the registry has.
  CARGO_TARGET_DIR="$tool_builds" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# Playwright, binaryen's wasm-opt (the npm one: see the README), the API
# reference page's renderer and the client generator the tests use.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "npm ci (end2end: Playwright, binaryen, swagger-ui-dist, openapi-typescript)"
  # swagger-ui-dist's dependency @scarf/scarf reports installs home unless told not to.
  (cd end2end && SCARF_ANALYTICS=false npm ci --no-audit --no-fund)
fi
# The API reference page's renderer (swagger-ui-dist, pinned there too),
# served from the site: the build copies public/ into it.
renderer=end2end/node_modules/swagger-ui-dist
if ! cmp -s "$renderer/swagger-ui-bundle.js" public/vendor/swagger-ui/swagger-ui-bundle.js; then
  log "public/vendor/swagger-ui (from npm's swagger-ui-dist)"
  mkdir -p public/vendor/swagger-ui
  cp "$renderer"/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,NOTICE} public/vendor/swagger-ui/
fi
log "ready"

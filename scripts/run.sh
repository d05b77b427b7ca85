#!/usr/bin/env bash
# Sets the machine up, builds the release, and serves the app on its
# embedded defaults (SQLite in ./data, in-process store, dev outbox) at
# http://127.0.0.1:3000, or LEPTOS_SITE_ADDR. Settings: .env (see .env.example).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --precompress --split
export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
echo "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000} (development outbox: /dev/outbox)"
exec ./target/release/server

#!/usr/bin/env bash
# Sets the machine up, builds the release, and serves the app on its
# embedded defaults (SQLite in ./data, in-process store, dev outbox) at
# http://127.0.0.1:3000, or LEPTOS_SITE_ADDR. Settings: .env (see .env.example).
#
# One line a step with its time; the tools' own output (thousands of
# "Compiling" lines) goes to target/run.log, and its end is shown if a step
# fails. The first run on a machine installs and compiles tools and builds
# the release (README: "What the first run costs"); later runs take seconds
# when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
log=target/run.log
: >"$log"

say() { printf '\033[1;34m[run]\033[0m %s\n' "$*"; }
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# set-up's own lines (one a tool it installs, with what it costs) stay on
# the screen; what the installs print goes to the log.
say "set-up (scripts/setup.sh) ..."
started=$SECONDS
if ! bash scripts/setup.sh 2>&1 | tee -a "$log" | grep --line-buffered '\[setup\]'; then
  say "set-up failed; the end of $log:"
  tail -n 40 "$log"
  exit 1
fi
say "set-up: done in $(mmss $((SECONDS - started)))"

export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# scripts/release-build.sh builds the WASM (then wasm-bindgen, wasm-opt, the
# split into lazy parts, compression) and the server side by side; their
# milestones are shown as they pass, with the time since the build began.
if [ -x target/release/server ]; then
  say "release build (only what changed) ..."
else
  say "release build (10-16 minutes on 2 cores the first time: the WASM beside the server) ..."
fi
started=$SECONDS
milestones() {
  local line
  while IFS= read -r line; do
    line=${line#"${line%%[! ]*}"}
    case "$line" in
      "Cargo finished cargo build --package=frontend"*) say "  the browser's WASM compiled ($(mmss $((SECONDS - started))))" ;;
      "Finished generating JS/WASM"*) say "  the WASM bound, optimised and split ($(mmss $((SECONDS - started))))" ;;
      "Cargo finished cargo build --package=server"*) say "  the server compiled ($(mmss $((SECONDS - started))))" ;;
    esac
  done
}
# (cargo-leptos colours its words: the colours go before the lines are read.)
if ! bash scripts/release-build.sh 2>&1 | tee -a "$log" | sed -u 's/\x1b\[[0-9;]*m//g' \
  | { grep --line-buffered -E 'Cargo finished|Finished generating' || true; } | milestones; then
  say "release build failed; the end of $log:"
  tail -n 40 "$log"
  exit 1
fi
say "release build: done in $(mmss $((SECONDS - started)))"

export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
say "serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000} (development outbox: /dev/outbox; ready after $(mmss $SECONDS))"
exec ./target/release/server

#!/usr/bin/env bash
# The release build, what scripts/run.sh serves and the Playwright suite
# tests: the browser's WASM (bound, optimised, split into lazy parts,
# precompressed) and the server, side by side. cargo-leptos builds the two
# one after the other when the bundle's names carry hashes, and the WASM's
# last minutes (LTO into one unit, wasm-bindgen, wasm-opt) keep one core
# busy: the server's build takes the other. Its output is cargo-leptos'.
set -euo pipefail
cd "$(dirname "$0")/.."
# npm's binaryen first (Debian's wasm-opt makes a WASM that never hydrates;
# without one on PATH cargo-leptos would try to download its own), and the
# tools setup.sh installed: so it runs by hand as it does from the scripts.
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# cargo-leptos sets its own (`--cfg erase_components`); a caller's would
# change what is built.
unset RUSTFLAGS
cargo leptos build --release --precompress --split --frontend-only &
browser=$!
trap 'kill "$browser" 2>/dev/null' EXIT
status=0
cargo leptos build --release --server-only || status=$?
wait "$browser" || status=$?
trap - EXIT
exit "$status"

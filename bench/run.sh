#!/usr/bin/env bash
# Load figures (not part of CI): builds the release, starts it on a free port
# with a throwaway SQLite database, seeds a user, runs bench/, stops it; then
# the delivery queue's figures (bench/src/bin/delivery.rs), in-process; then
# the captcha's drawing cost and an OCR adversary's solve rate.
# BENCH_SECONDS (default 10) sets the length of each measurement,
# BENCH_PAGE_SECONDS (default 60) that of the page renders; BENCH_ONLY picks
# sections (bench/src/main.rs). BENCH_PEER=1 also starts the seeds' Django
# stack's availability check (bench/peer/) and measures it in the same run.
# BENCH_SERVER=path measures that server binary instead of building one (an
# older build, for a before and after), with the site in target/site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${BENCH_SERVER:-}" ] || bash scripts/release-build.sh >/dev/null 2>&1
# Cargo's CARGO_TARGET_DIR, if set, is where the bench is built.
built=${CARGO_TARGET_DIR:-target}/release
server_binary=${BENCH_SERVER:-$built/server}
# The bench is built with the flags cargo-leptos gives the server's build
# (`--cfg erase_components`, the output name), so that it reuses that
# build's dependencies and crates; with other flags cargo builds them all
# again (about fifteen minutes on two cores).
bench_build() { LEPTOS_OUTPUT_NAME=mobile_auth RUSTFLAGS="--cfg erase_components" cargo build --release -p bench --quiet "$@"; }
bench_build
dir=$(mktemp -d /tmp/mobile-auth-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export APP_ENV=development LEPTOS_ENV=PROD LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  DATABASE_URL="sqlite://$dir/app.db" DATA_DIR="$dir" RUST_LOG=warn \
  LOGIN_CAPTCHA=never LOOKUPS_PER_MINUTE=1000000000 CAPTCHAS_PER_MINUTE=1000000000 LOCKOUT_AFTER_FAILURES=1000000 \
  TRUSTED_PROXIES=127.0.0.1 POW_BITS=4 CLIENT_TIMEOUT_SECONDS=10
"$server_binary" >"$dir/server.log" 2>&1 &
server=$!
peer=""
trap 'kill $server $peer 2>/dev/null; wait $server $peer 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "the server did not start:"; cat "$dir/server.log"; exit 1; }
"$server_binary" user create --mobile 13800000000 --password 'tangerine-Kite-42' --username benchuser >/dev/null
"$server_binary" user create --mobile 13800000001 --password 'tangerine-Kite-43' --username benchother >/dev/null
# An OpenID Connect client for the bench's code exchanges and refreshes.
client=$("$server_binary" clients create --name bench --redirect-uri https://bench.example/cb)
BENCH_CLIENT_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
BENCH_CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
export BENCH_CLIENT_ID BENCH_CLIENT_SECRET
if [ "${BENCH_PEER:-}" = 1 ]; then
  # gunicorn with the workers its documentation recommends, 2 × cores + 1;
  # no access log (its default), as ours logs at warn here.
  peer_python=$(bash bench/venv.sh peer)
  peer_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  DATA_DIR="$dir" "$peer_python" bench/peer/peer.py migrate
  DATA_DIR="$dir" "$(dirname "$peer_python")/gunicorn" --chdir bench/peer --bind "127.0.0.1:$peer_port" \
    --workers $((2 * $(nproc) + 1)) peer:application >"$dir/peer.log" 2>&1 &
  peer=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$peer_port/mobiles/13800000000/count/" >/dev/null 2>&1 && break; sleep 0.1; done
  export BENCH_PEER_URL="http://127.0.0.1:$peer_port" BENCH_PEER_PID=$peer
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; server: release, SQLite, in-process store"
BENCH_URL="http://127.0.0.1:$port" BENCH_ACCOUNT=benchuser BENCH_OTHER_ACCOUNT=benchother BENCH_SERVER_PID=$server \
  "$built/bench"
# BENCH_ONLY names the sections to run; the last two are "delivery" and
# "captchas".
runs() { [ -z "${BENCH_ONLY:-}" ] || [[ ",${BENCH_ONLY// /}," == *",$1,"* ]]; }
# The delivery queue, in-process on its own SQLite file.
runs delivery && "$built/delivery"
runs captchas || exit 0
# The captcha: drawing cost, and what a captcha-solving OCR model reads of
# it (ddddocr, pinned, in a virtualenv of its own under target/).
bench_build --bin captchas
ocr_python=$(bash bench/venv.sh ocr)
"$built/captchas" "$dir/captchas"
echo "OCR adversaries (ddddocr 1.6.1, tesseract) on 300 captchas: $("$ocr_python" bench/ocr/solve_rate.py "$dir/captchas")"

#!/usr/bin/env bash
# Every test: format, clippy (server and WASM), unit and integration tests
# (SQLite and PostgreSQL, in-process store and Redis), then Playwright in
# headless Chromium against the release build, then an OCR model against its
# captchas. Sets the machine up first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Each step's name and start (seconds since the script began): the run ends
# with a table of their times, so that a change to the build shows its cost.
step_names=()
step_starts=()
step() {
  printf '\n\033[1;34m== %s\033[0m\n' "$*"
  step_names+=("$*")
  step_starts+=("$SECONDS")
}
step_times() {
  local i end took name width=5
  for name in "${step_names[@]}"; do ((${#name} > width)) && width=${#name}; done
  printf '\n%-*s %9s\n' "$width" "step" "time"
  for i in "${!step_names[@]}"; do
    end=${step_starts[$((i + 1))]:-$SECONDS}
    took=$((end - step_starts[i]))
    printf '%-*s %5dm%02ds\n' "$width" "${step_names[$i]}" $((took / 60)) $((took % 60))
  done
  printf '%-*s %5dm%02ds\n' "$width" "total" $((SECONDS / 60)) $((SECONDS % 60))
}

step "set-up (scripts/setup.sh: tools, npm packages, browsers)"
bash scripts/setup.sh
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The same flags as `cargo leptos build` (debug), so tests reuse its artifacts.
export LEPTOS_OUTPUT_NAME=mobile_auth
export RUSTFLAGS="--cfg erase_components"
# A failing test's message, not forty lines of runtime frames: CI keeps only
# part of the output, and the message is what says what broke.
export RUST_BACKTRACE=0
# CI builds once, from nothing: incremental caches (gigabytes) would only
# fill the disk, which a shared machine may not have to spare.
# Nor is debug information read there (no debugger; a failing test's
# message carries its file and line without it), and it is much of what
# linking the test binaries costs.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=0; fi


source scripts/services.sh
server_pid=""
e2e_dir=""
# Background jobs (subshells): the release build, the venvs, the fuzzer and
# the OCR adversary with their servers.
background_pids=()
cleanup() {
  local pid
  # (Each may have ended already: nothing to kill is not a failure.)
  for pid in "${background_pids[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$e2e_dir" ] && rm -rf "$e2e_dir"
  stop_services
}
trap cleanup EXIT

step "format"
cargo fmt --all -- --check

# From here to the Playwright step the rest of the building runs beside the
# test build and the tests, at the lowest priority: the release build
# (scripts/release-build.sh: the WASM and the server side by side, in
# target/front and target/release) and clippy for the WASM (target/front;
# cargo locks each profile's folder apart, so none of them waits for the
# tests' target/debug). They get what the tests leave — the core the test
# build's serial end (our crates, the links) does not use, and most of both
# while the tests wait on the worker, windows and leases — and a test that
# needs the CPU gets it first: the tests' figures and waits do not change.
# Their output is kept in target/ (the step after the tests shows the
# release build's milestones).
mkdir -p target
release_log=target/test-release-build.log
nice -n 19 bash scripts/release-build.sh >"$release_log" 2>&1 &
release_pid=$!
background_pids+=("$release_pid")
# Clippy for the WASM is waited for last, after Playwright (whose waits
# leave a core), and runs behind the release build (SCHED_IDLE: the CPU no
# one else wants), so that it never holds up the long pole.
browser_clippy_log=target/test-browser-clippy.log
(unset RUSTFLAGS; chrt --idle 0 nice -n 19 cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir target/front -- -D warnings) \
  >"$browser_clippy_log" 2>&1 &
browser_clippy_pid=$!
background_pids+=("$browser_clippy_pid")
# The Python tools' virtualenvs (PyPI; made once into target/, so a fresh
# clone makes them), beside the builds too.
venvs_log=target/test-venvs.log
(for name in sms-sdk fuzz ocr; do bash bench/venv.sh "$name" >/dev/null || exit 1; done) >"$venvs_log" 2>&1 &
venvs_pid=$!
background_pids+=("$venvs_pid")

# Clippy is the compiler of our own crates in the test build
# (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` runs it, with -D warnings): a
# lint fails the build, and the dependencies are compiled once, for the
# tests, instead of once more for clippy's check. The release builds above
# use plain rustc (clippy's driver turns MIR optimisations off).
# The tests run with the same two variables: cargo would rebuild our crates
# without them.
with_clippy=(env RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
  CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
step "build the tests (server side, clippy's lints as errors; beside it: clippy for the browser, release build)"
if ! "${with_clippy[@]}" cargo test -p app -p server -p bench --features app/ssr --no-run; then
  echo "the test build failed: a compile error or a clippy lint (above)"
  exit 1
fi

step "unit and integration tests (beside them: the release build)"
if ! wait "$venvs_pid"; then
  echo "---- making the Python tools' virtualenvs failed ----"
  cat "$venvs_log"
  exit 1
fi
start_services
# The SMS providers' official SDKs, which the fake providers must accept.
SMS_SDK_PYTHON=$(bash bench/venv.sh sms-sdk)
export SMS_SDK_PYTHON
# The API's outside checkers: openapi-spec-validator, Schemathesis.
FUZZ_PYTHON=$(bash bench/venv.sh fuzz)
export FUZZ_PYTHON
# Tests run four at a time: most of their time is waiting, so more than the
# cores keeps them busy. A hang still fails the run in minutes, and libtest
# names any test running over a minute.
if ! REQUIRE_SERVICES=1 timeout 1200 "${with_clippy[@]}" cargo test -p app -p server -p bench --features app/ssr -- --test-threads=4; then
  echo "tests failed or timed out (see 'has been running' lines above)"
  exit 1
fi

step "the release build: what was left after the tests"
if ! wait "$release_pid"; then
  echo "---- the release build failed (last 60 lines) ----"
  tail -n 60 "$release_log" | sed 's/\x1b\[[0-9;]*m//g'
  exit 1
fi
grep -E "Finished|finished|^warning" "$release_log" | sed 's/\x1b\[[0-9;]*m//g' || true
unset RUSTFLAGS

step "Playwright (release build, headless Chromium); beside it Schemathesis and the OCR adversary"
e2e_dir=$(mktemp -d /tmp/mobile-auth-e2e.XXXXXX)
# Each of the three has a release server of its own, so that none of them
# sees another's accounts, outbox or limits. Limits that fit one client
# making many requests from one address (Playwright's tests give themselves
# an address each through X-Forwarded-For).
export APP_ENV=development LEPTOS_ENV=PROD TRUSTED_PROXIES=127.0.0.1,::1 \
  LOOKUPS_PER_MINUTE=1000 CAPTCHAS_PER_MINUTE=1000 SMS_IP_HOURLY_CAP=1000 RECOVERY_IP_HOURLY_CAP=1000
# Waits until the release server at 127.0.0.1:PORT answers; else shows the
# log LOG and fails.
await_ready() {
  local port=$1 log=$2
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { cat "$log"; return 1; }
}

# Schemathesis: the fuzzer reads the account's name from /me and tries it
# with wrong passwords, so the lockout is raised for this server (a setting;
# every other limit is as above, the captcha included: bench/fuzz/hooks.py
# answers it as a person would). Its output is shown after Playwright's.
fuzz_dir="$e2e_dir/fuzz"
fuzz_log="$e2e_dir/fuzz.log"
mkdir -p "$fuzz_dir"
(
  fuzz_port=$(free_port)
  export LEPTOS_SITE_ADDR="127.0.0.1:$fuzz_port" DATABASE_URL="sqlite://$fuzz_dir/app.db" DATA_DIR="$fuzz_dir" \
    LOCKOUT_AFTER_FAILURES=1000000
  ./target/release/server >"$fuzz_dir/server.log" 2>&1 &
  fuzz_server=$!
  trap 'kill $fuzz_server 2>/dev/null' EXIT
  await_ready "$fuzz_port" "$fuzz_dir/server.log"
  if ! bash bench/fuzz/run.sh "http://127.0.0.1:$fuzz_port" ./target/release/server 120; then
    echo "---- the fuzzed server's log (last 40 lines) ----"
    tail -n 40 "$fuzz_dir/server.log" | cut -c1-300
    exit 1
  fi
) >"$fuzz_log" 2>&1 &
fuzz_pid=$!
background_pids+=("$fuzz_pid")

# The OCR adversary: 600 captchas through the public API of a release
# server, answers from its dev outbox; fails when ddddocr reads 5 % or more
# of them whole. At the lowest priority: Playwright's waits and the
# fuzzer's time budget are theirs.
ocr_dir="$e2e_dir/ocr"
ocr_log="$e2e_dir/ocr.log"
mkdir -p "$ocr_dir"
(
  ocr_port=$(free_port)
  export LEPTOS_SITE_ADDR="127.0.0.1:$ocr_port" DATABASE_URL="sqlite://$ocr_dir/app.db" DATA_DIR="$ocr_dir"
  nice -n 19 ./target/release/server >"$ocr_dir/server.log" 2>&1 &
  ocr_server=$!
  trap 'kill $ocr_server 2>/dev/null' EXIT
  await_ready "$ocr_port" "$ocr_dir/server.log"
  nice -n 19 "$(bash bench/venv.sh ocr)" bench/ocr/solve_rate.py "http://127.0.0.1:$ocr_port" --count 600 --max 0.05
) >"$ocr_log" 2>&1 &
ocr_pid=$!
background_pids+=("$ocr_pid")

# Playwright's server; the tests' `server user ...` fixtures share its
# setup (the variables exported here).
# E-mail goes through SMTP to maildev (started with the services above): the
# tests read links from the mail it received, as a person would.
port=$(free_port)
export LEPTOS_SITE_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$e2e_dir/app.db" DATA_DIR="$e2e_dir"
EMAIL_TRANSPORT=smtp SMTP_HOST=127.0.0.1 SMTP_PORT="$TEST_SMTP_PORT" SMTP_SECURITY=plain \
  MAIL_FROM="注册服务 <noreply@example.com>" \
  ./target/release/server >"$e2e_dir/server.log" 2>&1 &
server_pid=$!
await_ready "$port" "$e2e_dir/server.log"
# The client an app team would make: TypeScript types generated from this
# server's document (openapi-typescript, pinned in end2end/), and the suite
# type-checked against them; tests/api-client.spec.ts registers and signs in
# through that client (openapi-fetch).
(cd end2end && openapi-typescript "http://127.0.0.1:$port/api/v1/openapi.json" -o generated/openapi.d.ts \
  && tsc -p tsconfig.json --noEmit)
# On failure the server's last lines come first and Playwright's summary of
# what failed last, so the end of the output (all CI may keep) names the test.
if ! (cd end2end && BASE_URL="http://127.0.0.1:$port" MAILDEV_URL="$TEST_MAILDEV_URL" npx playwright test 2>&1 | tee "$e2e_dir/playwright.log"; exit "${PIPESTATUS[0]}"); then
  echo "---- server log (last 40 lines) ----"
  tail -n 40 "$e2e_dir/server.log" | cut -c1-300
  echo "---- Playwright: what failed ----"
  sed -n '/^  [0-9]*) /,$p' "$e2e_dir/playwright.log" | head -n 120
  echo "----"
  tail -n 12 "$e2e_dir/playwright.log"
  exit 1
fi

step "Schemathesis, the OCR adversary, clippy for the browser: what was left after Playwright (pinned: bench/fuzz/, bench/ocr/)"
echo "---- Schemathesis ----"
if ! wait "$fuzz_pid"; then
  tail -n 120 "$fuzz_log"
  exit 1
fi
cat "$fuzz_log"
echo "---- the OCR adversary ----"
if ! wait "$ocr_pid"; then
  cat "$ocr_log"
  echo "---- its server's log (last 20 lines) ----"
  tail -n 20 "$ocr_dir/server.log" | cut -c1-300
  exit 1
fi
cat "$ocr_log"
echo "---- clippy for the browser ----"
if ! wait "$browser_clippy_pid"; then
  tail -n 60 "$browser_clippy_log" | sed 's/\x1b\[[0-9;]*m//g'
  exit 1
fi
grep -E "Finished|^warning" "$browser_clippy_log" | sed 's/\x1b\[[0-9;]*m//g' || true
step_times
printf '\n\033[1;34m== %s\033[0m\n' "all tests passed"

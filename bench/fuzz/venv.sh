#!/usr/bin/env bash
# Makes (once) the virtualenv of the API checkers (bench/fuzz) under
# target/fuzz-venv and prints its python. Safe to run again: reinstalls
# only when the pins change.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/fuzz-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
if ! cmp -s bench/fuzz/requirements.txt "$venv/requirements.txt"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/fuzz/requirements.txt >&2
  cp bench/fuzz/requirements.txt "$venv/requirements.txt"
fi
echo "$PWD/$venv/bin/python"

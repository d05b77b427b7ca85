#!/usr/bin/env bash
# Makes (once) the virtualenv of the OCR adversary under target/ocr-venv and
# prints its python. Safe to run again: reinstalls only when the pins change.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/ocr-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
if ! cmp -s bench/ocr/requirements.txt "$venv/requirements.txt"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/ocr/requirements.txt >&2
  cp bench/ocr/requirements.txt "$venv/requirements.txt"
fi
echo "$PWD/$venv/bin/python"

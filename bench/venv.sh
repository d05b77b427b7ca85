#!/usr/bin/env bash
# Makes (once) the virtualenv of bench/NAME/requirements.txt under
# target/NAME-venv and prints its python: NAME is ocr (the captcha's OCR
# adversaries), sms-sdk (the SMS providers' official SDKs), fuzz (the API's
# validator and fuzzer) or peer (the Django stack the lookups are measured
# against). Safe to run again: reinstalls only when the pins
# change.
#
#   bash bench/venv.sh NAME
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
requirements=bench/$name/requirements.txt
venv=target/$name-venv
[ -f "$requirements" ] || { echo "no $requirements" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi
echo "$PWD/$venv/bin/python"

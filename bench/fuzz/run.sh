#!/usr/bin/env bash
# Schemathesis (pinned in bench/fuzz/requirements.txt) against a running
# server, with the server's own OpenAPI document: every operation, valid and
# invalid input, the document's links (stateful). Fails on any 5xx, any
# status, content type, header or body the document does not describe, an
# answer slower than 5 s, or a server that stops answering.
#
#   bash bench/fuzz/run.sh BASE_URL SERVER_BINARY [SECONDS]
#
# SERVER_BINARY must share the running server's settings (DATABASE_URL):
# it makes the account whose token the authenticated operations get.
set -euo pipefail
cd "$(dirname "$0")/../.."
base=$1 server=$2 seconds=${3:-120}
python=$(bash bench/venv.sh fuzz)
mobile=13900139$(printf '%03d' $((RANDOM % 1000)))
password="Fuzz-$RANDOM-pass"
"$server" user create --mobile "$mobile" --password "$password" --username "fuzz$RANDOM" --accepted >/dev/null
# bench/fuzz/hooks.py signs in with it, again whenever the fuzzer's own
# requests ended the session.
export FUZZ_BASE_URL=$base FUZZ_ACCOUNT=$mobile FUZZ_PASSWORD=$password
# A confidential client (first party: no consent asked), whose credentials
# take the fuzzer past client authentication at the token, introspection and
# revocation endpoints, and whose access token reaches userinfo.
redirect_uri=http://127.0.0.1:9/fuzz/callback
client=$("$server" clients create --name fuzz --redirect-uri "$redirect_uri" | tail -n 1)
FUZZ_CLIENT_ID=$("$python" -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$client")
FUZZ_CLIENT_SECRET=$("$python" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")
export FUZZ_CLIENT_ID FUZZ_CLIENT_SECRET FUZZ_REDIRECT_URI=$redirect_uri
export PYTHONPATH=bench/fuzz SCHEMATHESIS_HOOKS=hooks
# One worker: Hypothesis parses lambdas' sources with `ast`, which CPython
# 3.11 can break when threads do it at once (a SystemError in the run).
"$(dirname "$python")/schemathesis" run "$base/api/v1/openapi.json" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-response-time 5 --max-time "$seconds" --workers 1 --no-color
# Still answering after all that.
curl -fsS "$base/health/ready" >/dev/null
echo "the server still answers"

#!/usr/bin/env bash
# Fuzz the HTTP API from its own OpenAPI document (issue 12: "a fuzzing run from the OpenAPI
# spec in CI for a bounded number of examples per endpoint: no 5xx, every response matches
# its schema"). Serves the bundled example with `holdco serve` on a free local port, creates
# an admin token (so the change-set routes are exercised too, on a throwaway store) and runs
# schemathesis for at most HOLDCO_FUZZ_SECONDS (default 100) with HOLDCO_FUZZ_EXAMPLES
# examples per operation (default 25). Fails on any 5xx, any response that does not match
# its documented schema, status code or content type.
#
# Usage: .ci/fuzz-api.sh [path/to/holdco]   (default: target/debug/holdco, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

holdco="${1:-target/debug/holdco}"
[ -x "$holdco" ] || cargo build --locked -q -p holdco-cli
seconds="${HOLDCO_FUZZ_SECONDS:-100}"
examples="${HOLDCO_FUZZ_EXAMPLES:-25}"

# Run as a module of the python3 on PATH (no dependence on where pip puts scripts).
if ! python3 -c 'import schemathesis' >/dev/null 2>&1; then
  python3 -m pip install --quiet schemathesis ||
    python3 -m pip install --quiet --break-system-packages schemathesis ||
    { echo "cannot install schemathesis from PyPI (python3 -m pip install schemathesis)" >&2; exit 1; }
fi
schemathesis=(python3 -m schemathesis.cli)
echo "$("${schemathesis[@]}" --version)"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db="$work/fuzz.db"
"$holdco" --db "$db" import examples/alibaba >/dev/null
token="$("$holdco" --db "$db" token create --name fuzz --role admin | grep -Eo 'hc1\.[A-Za-z0-9_.-]+' | head -n 1)"
[ -n "$token" ] || { echo "could not create a token" >&2; exit 1; }

"$holdco" --db "$db" serve --listen 127.0.0.1:0 --poll 0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
address=""
for _ in $(seq 1 120); do
  address="$(grep -Eo '127\.0\.0\.1:[0-9]+' "$work/serve.out" "$work/serve.err" 2>/dev/null | head -n 1 | sed 's/^[^:]*://')" || true
  [ -n "$address" ] && python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://$address/health" >/dev/null 2>&1 && break
  address=""
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; echo "holdco serve stopped" >&2; exit 1; }
  sleep 0.5
done
[ -n "$address" ] || { cat "$work/serve.err" >&2; echo "holdco serve did not answer" >&2; exit 1; }
echo "fuzzing http://$address/api/v1/openapi.json: $examples examples per operation, at most $seconds s"

# Scenario runs are bounded by the server (at most 1,000,000 paths); a fuzzer asking for many
# would only measure the Monte Carlo engine, so those requests get a longer timeout.
status=0
# (Run from the scratch folder: schemathesis writes a cache folder where it runs.)
(cd "$work" && "${schemathesis[@]}" run "http://$address/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" \
  --max-time "$seconds" \
  --phases examples,coverage,fuzzing \
  --workers 2 \
  --seed 2026 \
  --request-timeout 60 \
  --suppress-health-check all \
  --output-truncate true) || status=$?
if grep -q "internal error" "$work/serve.err"; then
  echo "holdco serve logged internal errors:" >&2
  grep "internal error" "$work/serve.err" | head -n 20 >&2
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# Fuzzes the REST gateway against its own OpenAPI document with schemathesis:
# starts target/debug/brigade on free loopback ports with a temporary data
# directory, waits for /readyz, runs schemathesis against /openapi.json and
# fails on any server error (5xx) or any response that disagrees with the
# document (status code, content type, headers, body schema). Stops the server
# afterwards. Exits non-zero on any failure.
#
#   bash scripts/fuzz.sh            # build, then fuzz (about 2-4 minutes)
#   FUZZ_MAX_EXAMPLES=50 FUZZ_SEED=1 bash scripts/fuzz.sh
#
# schemathesis is installed from PyPI into target/fuzz-venv (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
# A hard bound on the schemathesis run, so the whole script stays within ~5 minutes.
TIME_LIMIT="${FUZZ_TIME_LIMIT:-270}"
PYTHON="${PYTHON:-python3}"
VENV="target/fuzz-venv"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' ||
    { echo "fuzz.sh: needs Python >= 3.9 (set PYTHON=...)" >&2; exit 2; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "fuzz.sh: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet --bin brigade

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
GATEWAY_PORT="$(free_port)"
JOB_QUEUE_PORT="$(free_port)"
RECIPE_TYPES_PORT="$(free_port)"
BASE="http://127.0.0.1:$GATEWAY_PORT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/brigade-fuzz.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    if [[ -n "${FUZZ_DB:-}" ]]; then
        psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $FUZZ_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# With DATABASE_URL set (as the test script does), fuzz PostgreSQL in a fresh
# database of its own — it finds what SQLite forgives (NUL characters in text);
# otherwise the embedded SQLite default.
SERVER_DB=()
FUZZ_DB=""
if [[ -n "${DATABASE_URL:-}" ]] && command -v psql >/dev/null 2>&1; then
    FUZZ_DB="brigade_fuzz_$$"
    psql -q "$DATABASE_URL" -c "CREATE DATABASE $FUZZ_DB" >/dev/null
    SERVER_DB=(--database-url "${DATABASE_URL%/*}/$FUZZ_DB")
    echo "fuzz.sh: fuzzing on PostgreSQL database $FUZZ_DB"
fi

# Fuzzed with authentication on, as a deployment runs it: schemathesis sends an
# admin token, and its authentication checks try requests without it and with a bad one.
TOKEN="brg_$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')"
printf '{"tokens": [{"name": "fuzz", "token": "%s", "scopes": ["admin"]}]}' "$TOKEN" >"$WORK/tokens.json"

env -u DATABASE_URL RUST_LOG="${RUST_LOG:-warn}" BRIGADE_TOKENS_FILE="$WORK/tokens.json" \
    target/debug/brigade \
    --gateway-addr "127.0.0.1:$GATEWAY_PORT" \
    --job-queue-addr "127.0.0.1:$JOB_QUEUE_PORT" \
    --recipe-types-addr "127.0.0.1:$RECIPE_TYPES_PORT" \
    --data-dir "$WORK/data" \
    "${SERVER_DB[@]}" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "fuzz.sh: brigade exited during start-up:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    if "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$BASE/readyz" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
[[ -n "$ready" ]] || { echo "fuzz.sh: $BASE/readyz never answered 200" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "fuzz.sh: brigade is ready at $BASE (data in $WORK/data)"

# Every default check, positive_data_acceptance included; scripts/schemathesis.toml
# names the operations whose schema-valid requests may still be refused with 400
# by contract, and why.

# Always seeded, and the seed printed, so a failure can be replayed exactly.
SEED="${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "fuzz.sh: seed $SEED (replay with FUZZ_SEED=$SEED bash scripts/fuzz.sh)"

status=0
timeout --signal=INT --kill-after=10 "$TIME_LIMIT" \
    "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml --no-color run "$BASE/openapi.json" \
    --url "$BASE" \
    --header "Authorization: Bearer $TOKEN" \
    --checks "${FUZZ_CHECKS:-all}" \
    ${FUZZ_EXCLUDE_CHECKS:+--exclude-checks "$FUZZ_EXCLUDE_CHECKS"} \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 30 \
    --workers 2 \
    --generation-database none \
    --seed "$SEED" || status=$?

if [[ $status -eq 124 ]]; then
    echo "fuzz.sh: schemathesis did not finish within ${TIME_LIMIT}s" >&2
fi
if [[ $status -ne 0 ]]; then
    echo "fuzz.sh: schemathesis failed (exit $status); server log tail:" >&2
    tail -n 40 "$WORK/server.log" >&2
fi
exit "$status"

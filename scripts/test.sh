#!/usr/bin/env bash
# Runs the whole test suite: Rust unit, repository (SQLite and PostgreSQL),
# gRPC and end-to-end HTTP tests, the deployment checks and contract test, and
# the Python client tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The end-to-end, deployment and Python tests run the real binaries.
cargo build --workspace --bins
cargo test --workspace

echo "==> deployment manifests"
bash deploy/validate.sh

echo "==> Python client"
bash clients/python/run-tests.sh

echo "==> fuzzing the REST surface against /openapi.json"
bash scripts/fuzz.sh

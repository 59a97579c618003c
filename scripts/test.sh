#!/usr/bin/env bash
# Runs the whole test suite: Rust unit tests, the repository conformance suites
# (SQLite and PostgreSQL), the Rust and Python clients' suites on both databases,
# a small-N run of every brigade-bench scenario, the one end-to-end binary (tests/tests/e2e: REST,
# gRPC, the real processes and the deployment contract test, on ports picked at
# run time), the deployment checks, and the Python client tests.
# An unreachable PostgreSQL fails; BRIGADE_TEST_SKIP_POSTGRES=1 skips those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The end-to-end, deployment and Python tests run the real binaries.
cargo build --workspace --bins
cargo test --workspace

echo "==> brigade-bench at a small N (keeps every scenario working; its figures mean nothing here)"
bench_backend=both
[[ "${BRIGADE_TEST_SKIP_POSTGRES:-}" == 1 ]] && bench_backend=sqlite
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario lifecycle --jobs 500 --backend "$bench_backend"
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario recipes --backend "$bench_backend" \
    --chain-recipes 3 --chain-length 3 --fan-recipes 1 --fan-width 5
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario validation --backend "$bench_backend" --chain-length 20
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario footprint --backend "$bench_backend"
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario burn-down --backend "$bench_backend" --jobs 300 --batch 100
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario steady --backend "$bench_backend" --jobs 300 --batch 10
cargo run -q -p brigade-tests --bin brigade-bench -- --scenario rest --backend "$bench_backend" --jobs 200 --connections 8 --replicas 2 --json

echo "==> Rust client on PostgreSQL"
if [[ "${BRIGADE_TEST_SKIP_POSTGRES:-}" != 1 ]]; then
    BRIGADE_CLIENT_TEST_POSTGRES="$DATABASE_URL" cargo test -p brigade-client --tests
    psql -qAt "$DATABASE_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'brigade\_client\_%'" |
        while read -r db; do psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
fi

echo "==> deployment manifests"
bash deploy/validate.sh

echo "==> Python client"
bash clients/python/run-tests.sh

echo "==> fuzzing the REST surface against /openapi.json"
bash scripts/fuzz.sh

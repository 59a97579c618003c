#!/usr/bin/env bash
# Installs the Python client into a fresh virtualenv and runs its end-to-end
# tests against a real Brigade server.
#
# Needs: python3 (3.10+) with venv, access to PyPI, and the server binary at
# $BRIGADE_BIN or <repo>/target/debug/brigade (`cargo build --bin brigade`).
# Set BRIGADE_PY_VENV to reuse a virtualenv directory (default: a temporary one,
# removed afterwards). Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"

bin="${BRIGADE_BIN:-$repo/target/debug/brigade}"
if [[ ! -x "$bin" ]]; then
    echo "run-tests.sh: no brigade binary at $bin; run 'cargo build --bin brigade' first or set BRIGADE_BIN" >&2
    exit 1
fi
export BRIGADE_BIN="$bin"

if [[ -n "${BRIGADE_PY_VENV:-}" ]]; then
    venv="$BRIGADE_PY_VENV"
else
    venv="$(mktemp -d "${TMPDIR:-/tmp}/brigade-py-venv.XXXXXX")"
    trap 'rm -rf "$venv"' EXIT
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# A real (non-editable) install: the stubs are generated from ../../proto while the wheel builds.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here" "pytest>=7"
# Build leftovers from the in-tree build are not wanted in the work tree.
rm -rf "$here/build" "$here"/src/*.egg-info

cd "$here"
# Run from the tests, not the source tree, so the installed package is the one tested.
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@" tests

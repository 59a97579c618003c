#!/usr/bin/env bash
# Builds the Python client's wheel once, then runs its end-to-end tests against
# a real Brigade server twice, each in a fresh virtualenv: once with the lowest
# grpcio and protobuf that pyproject.toml allows, once with the newest. The
# newest venv also type-checks the README's examples with `mypy --strict`.
# Finally checks that nothing was written into clients/python.
#
# Needs: python3 (3.10+) with venv, access to PyPI, and the server binary at
# $BRIGADE_BIN or <repo>/target/debug/brigade (`cargo build --bin brigade`).
# The wheel is left in $BRIGADE_PY_DIST when that is set. Extra arguments go to pytest.
# With DATABASE_URL set, the newest set also runs on PostgreSQL (needs psql).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
# The lowest versions pyproject.toml allows; kept equal to its floors.
lowest=("grpcio==1.80.0" "protobuf==5.26.1")

bin="${BRIGADE_BIN:-$repo/target/debug/brigade}"
if [[ ! -x "$bin" ]]; then
    echo "run-tests.sh: no brigade binary at $bin; run 'cargo build --bin brigade' first or set BRIGADE_BIN" >&2
    exit 1
fi
export BRIGADE_BIN="$bin"
export PYTHONDONTWRITEBYTECODE=1
pip_flags=(--quiet --disable-pip-version-check)

for floor in "${lowest[@]}"; do
    if ! grep -q "\"${floor%%==*}>=${floor#*==}," "$here/pyproject.toml"; then
        echo "run-tests.sh: $floor is not the lower bound pyproject.toml declares" >&2
        exit 1
    fi
done

# What git sees under clients/python, ignored files included (build/ and the like
# are git-ignored, so a plain `git status` would not show them).
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    tree_state() { git -C "$repo" status --porcelain --ignored --untracked-files=all -- clients/python; }
else
    echo "run-tests.sh: $repo is not a git work tree; the clean-tree check compares file lists" >&2
    tree_state() { (cd "$here" && find . -path ./tests/__pycache__ -prune -o -print | sort); }
fi
before="$(tree_state)"

work="$(mktemp -d "${TMPDIR:-/tmp}/brigade-py.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "==> building the wheel"
dist="${BRIGADE_PY_DIST:-$work/dist}"
"$python" -m venv "$work/build-venv"
"$work/build-venv/bin/pip" wheel "${pip_flags[@]}" --no-deps --wheel-dir "$dist" "$here"
wheel="$(ls "$dist"/brigade_client-*.whl)"
echo "    $wheel"

# run_suite NAME PIP-ARGS...: a fresh venv with the wheel and PIP-ARGS, then pytest.
run_suite() {
    local name="$1"
    shift
    local venv="$work/venv-$name"
    echo "==> $name: installing"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install "${pip_flags[@]}" "$wheel" "pytest>=7" "$@"
    "$venv/bin/python" -c 'import grpc, google.protobuf as p; print(f"    grpcio {grpc.__version__}, protobuf {p.__version__}")'
    echo "==> $name: tests"
    # Run from the tests, not the source tree, so the installed package is the one tested.
    (cd "$here" && "$venv/bin/python" -m pytest -p no:cacheprovider -q "${pytest_args[@]}" tests)
}
pytest_args=("$@")

run_suite lowest "${lowest[@]}"
run_suite newest --upgrade --upgrade-strategy eager "mypy>=1.10" "grpc-stubs>=1.53" "types-protobuf>=5.26"

# With DATABASE_URL set (scripts/test.sh sets it), the newest set runs again on
# PostgreSQL, each server in a database of its own, dropped afterwards.
if [[ -n "${DATABASE_URL:-}" && "${BRIGADE_TEST_SKIP_POSTGRES:-}" != 1 ]]; then
    echo "==> newest: tests on PostgreSQL"
    drop_py_databases() {
        psql -qAt "$DATABASE_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'brigade\_py\_%'" |
            while read -r db; do psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
    }
    (cd "$here" && BRIGADE_PY_TEST_POSTGRES="$DATABASE_URL" "$work/venv-newest/bin/python" -m pytest \
        -p no:cacheprovider -q "${pytest_args[@]}" tests) || { drop_py_databases; exit 1; }
    drop_py_databases
fi

echo "==> README examples under mypy --strict"
"$work/venv-newest/bin/python" "$here/tests/readme_examples.py" "$here/README.md" "$work/readme"
(cd "$work/readme" && "$work/venv-newest/bin/python" -m mypy --strict --no-incremental --cache-dir=/dev/null .)

echo "==> source tree unchanged"
after="$(tree_state)"
if [[ "$before" != "$after" ]]; then
    echo "run-tests.sh: the run wrote into clients/python:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
fi
echo "clients/python: all checks passed"

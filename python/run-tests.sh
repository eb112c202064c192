#!/usr/bin/env bash
# The Python binding's test suite: makes python/.venv, installs requirements-test.txt (pytest and
# the official SDKs, pinned), builds and installs the package with `pip install ./python`
# (maturin, in-tree; cargo reuses the workspace's target/, or $CARGO_TARGET_DIR when the caller
# set it), builds the `cse` CLI for the cross-checks (unless CSE_BIN is set), then runs pytest.
# Extra arguments go to pytest. Exit status: non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" || {
        echo "python/run-tests.sh: could not create a virtualenv with $PYTHON (on Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi

# Reinstall the test requirements only when the file changed since the last successful install.
STAMP="$VENV/.requirements-test.sha256"
WANT="$(sha256sum "$HERE/requirements-test.txt" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$HERE/requirements-test.txt"
    echo "$WANT" > "$STAMP"
fi

# The package itself, as a user installs it (a release build of the extension).
(cd "$REPO" && "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --force-reinstall --no-deps ./python)

if [ -z "${CSE_BIN:-}" ]; then
    (cd "$REPO" && cargo build --quiet -p cse-cli)
    export CSE_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/cse"
fi

# Run from the tests directory, so `import oss_cse` finds the installed package, not the source.
cd "$HERE/tests"
exec "$VENV/bin/python" -m pytest -q "$@"

#!/usr/bin/env bash
# Interop suite: the `cse` CLI against the official Python SDKs (see interop/README.md).
# Makes interop/.venv, installs interop/requirements.txt, builds cse-cli (unless CSE_BIN
# is set), then runs interop/interop.py. Extra arguments go to interop.py.
# Exit status: non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" || {
        echo "interop: could not create a virtualenv with $PYTHON (on Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi

# Reinstall only when requirements.txt changed since the last successful install.
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$HERE/requirements.txt"
    echo "$WANT" > "$STAMP"
fi

if [ -z "${CSE_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -p cse-cli)
    export CSE_BIN="$REPO/target/release/cse"
fi

exec "$VENV/bin/python" "$HERE/interop.py" "$@"

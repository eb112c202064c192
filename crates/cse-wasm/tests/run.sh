#!/usr/bin/env bash
# cse-wasm's tests outside cargo: builds the module for wasm32-unknown-unknown (release), runs
# the Node tests (the Python SDK V2 vectors whole and ranged, a JavaScript callback key, the
# error paths, authenticated objects the CLI writes, the README example), then the browser test in headless Chromium. Chromium is
# installed from Debian's packages when it is missing and this runs as root (as in CI).
# Honours CARGO_TARGET_DIR. Exit status: non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
cargo build -q -p cse-wasm --release --target wasm32-unknown-unknown
export CSE_WASM="$target/wasm32-unknown-unknown/release/cse_wasm.wasm"
echo "module: $CSE_WASM ($(wc -c <"$CSE_WASM") bytes)"

# The authenticated-object tests make their objects with the CLI.
if [ -z "${CSE_BIN:-}" ]; then
    cargo build -q -p cse-cli
    export CSE_BIN="$target/debug/cse"
fi
node --test crates/cse-wasm/tests/node/
node crates/cse-wasm/tests/node/example.mjs

chromium="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
    chromium="$(command -v chromium || true)"
fi
if [ -z "$chromium" ]; then
    echo "run.sh: the browser test needs Chromium (apt-get install chromium), or CHROMIUM=path" >&2
    exit 1
fi
CHROMIUM="$chromium" node crates/cse-wasm/tests/browser/run.mjs

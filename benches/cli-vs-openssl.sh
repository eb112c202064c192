#!/usr/bin/env bash
# Whole process against whole process: `cse encrypt` / `cse decrypt` and `openssl enc -aes-256-ctr`
# on the same 1 GiB file in tmpfs, alternating, with wall, user and system time and peak RSS from
# /usr/bin/time. Output goes to /dev/null (OUT=file writes a tmpfs file instead, which adds page
# allocation to every run of both).
# Usage: bash benches/cli-vs-openssl.sh [runs]   (needs ~4 GiB free in /dev/shm)
# The timed runs reuse their outputs, so they pass --force (cse replaces a file only with it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
dir=$(mktemp -d /dev/shm/cse-vs-openssl.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cargo build --release -p cse-cli >/dev/null 2>&1
cse=target/release/cse
head -c 1G /dev/urandom >"$dir/plain"
"$cse" keygen --private-out "$dir/k.pem" --public-out "$dir/p.pem" >/dev/null
"$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$dir/cipher" --meta-out "$dir/m.json"
out=/dev/null
[ "${OUT:-}" = file ] && out="$dir/out"
t() { /usr/bin/time -f "$1 wall=%es user=%Us sys=%Ss rss=%MKiB" "${@:2}"; rm -f "$dir/out"; }
for _ in $(seq "$runs"); do
  t "openssl-enc " openssl enc -aes-256-ctr -K "$(printf '%064d' 7)" -iv "$(printf '%032d' 1)" -in "$dir/plain" -out "$out"
  t "cse-encrypt " "$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$out" --meta-out "$dir/m2.json" --force
  t "cse-decrypt " "$cse" decrypt --private-key "$dir/k.pem" --meta "$dir/m.json" --in "$dir/cipher" --out "$out" --force
done

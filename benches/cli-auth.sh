#!/usr/bin/env bash
# Authenticated against unauthenticated, whole process against whole process: `cse encrypt` and
# `cse decrypt` of the same 1 GiB file in tmpfs, with and without --authenticate / --auth, in
# alternating rounds, outputs to /dev/null (the side-car to tmpfs). Prints each run's wall, user
# and system time, then the ratio of the totals (unauthenticated / authenticated wall: the
# issue's ">= 0.7x the unauthenticated path").
# Usage: bash benches/cli-auth.sh [rounds]   (needs ~3 GiB free in /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
dir=$(mktemp -d /dev/shm/cse-auth.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cargo build --release -p cse-cli >/dev/null 2>&1
cse=target/release/cse
head -c 1G /dev/urandom >"$dir/plain"
"$cse" keygen --private-out "$dir/k.pem" --public-out "$dir/p.pem" 2>/dev/null
"$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$dir/c0" --meta-out "$dir/m0.json"
"$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$dir/c1" --meta-out "$dir/m1.json" \
  --authenticate --auth-out "$dir/t1"
log="$dir/log"
t() { /usr/bin/time -a -o "$log" -f "$1 %e %U %S" "${@:2}"; }
for _ in $(seq "$rounds"); do
  t enc-plain "$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out /dev/null --meta-out "$dir/m.json" --force
  t enc-auth "$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out /dev/null --meta-out "$dir/m.json" \
    --authenticate --auth-out "$dir/t" --force
  t dec-plain "$cse" decrypt --private-key "$dir/k.pem" --meta "$dir/m0.json" --in "$dir/c0" --out /dev/null
  t dec-auth "$cse" decrypt --private-key "$dir/k.pem" --meta "$dir/m1.json" --in "$dir/c1" --out /dev/null --auth "$dir/t1"
done
awk '{ printf "%-10s wall=%ss user=%ss sys=%ss\n", $1, $2, $3, $4; w[$1] += $2; u[$1] += $3 }
  END {
    printf "encrypt: wall ratio %.2f (user %.2f / %.2f s)\n", w["enc-plain"] / w["enc-auth"], u["enc-plain"], u["enc-auth"];
    printf "decrypt: wall ratio %.2f (user %.2f / %.2f s)\n", w["dec-plain"] / w["dec-auth"], u["dec-plain"], u["dec-auth"];
  }' "$log"

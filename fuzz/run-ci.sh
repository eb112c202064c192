#!/usr/bin/env bash
# Builds every fuzz target and runs each for FUZZ_SECONDS (default 30) from the seed corpus.
# Built with debug assertions, so an integer overflow is a crash too. Exits non-zero on the
# first crash, leaving the input in fuzz/artifacts/<target>/.
#
#   bash fuzz/run-ci.sh                                        # stable, no sanitizer
#   FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address bash fuzz/run-ci.sh
set -euo pipefail
cd "$(dirname "$0")"
toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
seconds=${FUZZ_SECONDS:-30}
start=$(date +%s)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cargo +"$toolchain" run --quiet --package cse-fuzz-seeds
cargo +"$toolchain" fuzz build --sanitizer "$sanitizer" --debug-assertions

mkdir -p logs
for target in $(cargo +"$toolchain" fuzz list); do
  log="logs/$target.log"
  if ! cargo +"$toolchain" fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "FAIL: $target crashed; reproduce with: cargo +$toolchain fuzz run -s $sanitizer $target fuzz/artifacts/$target/<file>"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1 || echo '?')
  echo "ok: $target ($runs runs, $cov)"
done
echo "fuzz: all targets ran ${seconds}s without a crash ($(( $(date +%s) - start ))s in all)"

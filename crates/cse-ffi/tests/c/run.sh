#!/usr/bin/env bash
# The C tests of cse-ffi: builds the static library (`cargo build -p cse-ffi`), then compiles
# each C program in this directory against include/cse.h and runs it, first with
# AddressSanitizer + UndefinedBehaviorSanitizer, then without sanitizers under valgrind (when it
# is installed). Each program exits nonzero on any mismatch. The Python SDK vectors' manifest is
# flattened into tab-separated lines for the C programs (python3). Run from anywhere; honours
# CARGO_TARGET_DIR (through cargo metadata).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(cd "$here/../.." && pwd)"
root="$(cd "$crate/../.." && pwd)"
cd "$root"

cargo build -p cse-ffi
target="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
lib="$target/debug/libcse_ffi.a"
out="$target/cse-ffi-c-tests"
mkdir -p "$out"

# The C tests check sealed bytes and plaintext digests with OpenSSL's libcrypto, an
# implementation independent of the library under test.
if ! printf '#include <openssl/evp.h>\n' | cc -E -x c - >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq libssl-dev >/dev/null || { apt-get update -qq && apt-get install -y -qq libssl-dev >/dev/null; }
    else
        echo "run.sh: OpenSSL development headers (libssl-dev) are needed" >&2
        exit 1
    fi
fi

vectors="$root/testvectors/python-v2"
python3 - "$vectors/manifest.json" > "$out/manifest.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print("keys\t%s\t%s" % (m["keys"]["private"], m["keys"]["public"]))
for v in m["vectors"]:
    print("\t".join(["vector", v["name"], v["kind"], str(v["plaintext_len"]), v["plaintext_sha256"],
                     v["ciphertext"], str(v.get("part_size", 0))]))
    for name, value in sorted(v["headers"].items()):
        assert "\t" not in name + value and "\n" not in name + value
        print("header\t%s\t%s" % (name, value))
    for r in v["ranges"]:
        print("\t".join(["range", r["range"], str(r["status"]), r["content_range"] or "-",
                         str(r["len"]), r["sha256"] or "-"]))
PY

native="-lpthread -ldl -lm -lrt -lutil"
cflags="-std=c11 -g -Wall -Wextra -Werror -I$crate/include"
programs=(example vectors multipart errors)
args_for() {
    case "$1" in
        example) echo "$vectors/rsa2048-private.pem" ;;
        *) echo "$out/manifest.txt $vectors $crate/../cse-testkit/keys/test-rsa2048.pem" ;;
    esac
}

passed=0
failed=0
run() {
    local label="$1"; shift
    if "$@"; then
        passed=$((passed + 1)); echo "ok: $label"
    else
        failed=$((failed + 1)); echo "FAILED: $label"
    fi
}

for p in "${programs[@]}"; do
    # shellcheck disable=SC2046
    cc $cflags -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
        "$here/$p.c" "$lib" -lcrypto $native -o "$out/$p-asan"
    run "$p (ASan+UBSan)" env ASAN_OPTIONS=detect_leaks=1 "$out/$p-asan" $(args_for "$p")
done

# Under CI, valgrind is required (ASan does not instrument the Rust library, so valgrind is
# what sees a Rust-side write past a C buffer): installed like libssl-dev when missing.
if [ -n "${CI:-}" ] && ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
    fi
    command -v valgrind >/dev/null || { echo "run.sh: valgrind is required under CI" >&2; exit 1; }
fi
if command -v valgrind >/dev/null; then
    for p in "${programs[@]}"; do
        cc $cflags -O1 "$here/$p.c" "$lib" -lcrypto $native -o "$out/$p"
        # shellcheck disable=SC2046
        # CSE_C_TESTS_LIGHT: the same paths on less data, as valgrind is about 50 times slower.
        run "$p (valgrind)" env CSE_C_TESTS_LIGHT=1 valgrind -q --error-exitcode=1 --leak-check=full "$out/$p" $(args_for "$p")
    done
else
    echo "valgrind not installed: the unsanitized runs under valgrind were skipped"
fi

echo "c-tests: $passed passed, $failed failed"
[ "$failed" = 0 ]

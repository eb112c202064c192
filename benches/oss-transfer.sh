#!/usr/bin/env bash
# `cse put` / `cse get` / `cse head` of one large file against the in-memory OSS test server on
# 127.0.0.1, both built in release, with wall, user and system time and peak RSS from
# /usr/bin/time, next to local `cse encrypt` / `cse decrypt` of the same file in the same run
# (the baseline of the loopback throughput ratios). The file and the ciphertext live in tmpfs;
# downloads go to /dev/null. The server runs with --no-md5 (ETags from the CRC-64): MD5 runs at
# a few hundred MB/s on a small machine and would make the server what is measured.
#
# Measured: a single PutObject (--part-size larger than the file), a multipart upload with
# --jobs 4 (the automatic 8 MiB parts), standard input with --size, a whole GET, a GET of the
# last 100 bytes, and a HEAD.
#
# Usage: bash benches/oss-transfer.sh [GiB]   (default 4; needs about 2 x GiB in /dev/shm, and
# up to 3 x GiB of memory for the server, which keeps objects in memory)
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
dir=$(mktemp -d /dev/shm/cse-oss-transfer.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cargo build --release -q -p cse-cli -p cse-oss-test-server
cse=target/release/cse
head -c "${gib}G" /dev/urandom >"$dir/plain"
"$cse" keygen --private-out "$dir/k.pem" --public-out "$dir/p.pem" >/dev/null
"$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$dir/cipher" --meta-out "$dir/m.json"

target/release/oss-test-server --listen 127.0.0.1:0 --access-key-id ak --access-key-secret sk --no-md5 \
  >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$dir/server.log" 2>/dev/null && break
  sleep 0.1
done
endpoint=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/server.log" | head -1)
[ -n "$endpoint" ] || { echo "the test server did not start:"; cat "$dir/server.log"; exit 1; }
export OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk
where=(--endpoint "$endpoint" --bucket bench --object big)

t() { /usr/bin/time -f "$1 wall=%es user=%Us sys=%Ss rss=%MKiB" "${@:2}" >/dev/null; }
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(date -u +%F), ${gib} GiB"
t "local-encrypt    " "$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out /dev/null --meta-out "$dir/m2.json" --force
t "local-decrypt    " "$cse" decrypt --private-key "$dir/k.pem" --meta "$dir/m.json" --in "$dir/cipher" --out /dev/null --force
rm -f "$dir/cipher" # the server keeps its own copies in memory
t "put-single       " "$cse" -q put "${where[@]}" --public-key "$dir/p.pem" --in "$dir/plain" --part-size "$((gib + 1))GiB"
t "put-multipart-j4 " "$cse" -q put "${where[@]}" --public-key "$dir/p.pem" --in "$dir/plain" --jobs 4
t "put-stdin        " sh -c "\"$cse\" -q put --endpoint $endpoint --bucket bench --object big --public-key $dir/p.pem --in - --size $((gib << 30)) <$dir/plain"
t "get-whole        " "$cse" -q get "${where[@]}" --private-key "$dir/k.pem" --out /dev/null
t "get-last-100     " "$cse" -q get "${where[@]}" --private-key "$dir/k.pem" --out /dev/null --range bytes=-100
t "head             " "$cse" head "${where[@]}"

#!/usr/bin/env bash
# `cse put` / `cse get` / `cse head` of one large file against the in-memory OSS test server on
# 127.0.0.1, both built in release, with wall, user and system time and peak RSS from
# /usr/bin/time, next to local `cse encrypt` / `cse decrypt` of the same file in the same run
# (the baseline of the loopback throughput ratios). The file and the ciphertext live in tmpfs;
# downloads go to /dev/null. The server runs with --no-md5 (ETags from the CRC-64): MD5 runs at
# a few hundred MB/s on a small machine and would make the server what is measured.
#
# Measured: a single PutObject (--part-size larger than the file), a multipart upload with
# --jobs 4 (the automatic 8 MiB parts) and standard input with --size, all to a server that keeps
# no bytes (--discard-bodies); a single PutObject to a server that keeps them; then from that
# one a whole GET, a GET of the last 100 bytes, and a HEAD.
#
# Usage: bash benches/oss-transfer.sh [GiB]   (default 4; needs about 2 x GiB in /dev/shm, and
# 1 x GiB of memory for the storing server)
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
dir=$(mktemp -d /dev/shm/cse-oss-transfer.XXXXXX)
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
cargo build --release -q -p cse-cli -p cse-oss-test-server
cse=target/release/cse
head -c "${gib}G" /dev/urandom >"$dir/plain"
"$cse" keygen --private-out "$dir/k.pem" --public-out "$dir/p.pem" >/dev/null
"$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out "$dir/cipher" --meta-out "$dir/m.json"

# Two servers: uploads are measured against one that receives, measures and digests every body
# but keeps no bytes (--discard-bodies), and downloads against one that keeps them in memory.
# Keeping gigabytes costs the server the kernel's page clearing and reclaim (perf on this VM:
# three quarters of the server's time in clear_page on a 4 GiB PutObject), which would make the
# server's memory, not the client, what the upload figures measure. The storing server's
# PutObject is measured too, and shown.
server_pids=()
start_server() { # $1: name, then extra flags; sets endpoint
  target/release/oss-test-server --listen 127.0.0.1:0 --access-key-id ak --access-key-secret sk \
    --no-md5 "${@:2}" >"$dir/$1.log" 2>&1 &
  server_pids+=($!)
  for _ in $(seq 100); do
    grep -q "listening on" "$dir/$1.log" 2>/dev/null && break
    sleep 0.1
  done
  endpoint=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/$1.log" | head -1)
  [ -n "$endpoint" ] || { echo "the test server did not start:"; cat "$dir/$1.log"; exit 1; }
}
export OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk
start_server discarding --discard-bodies
up=(--endpoint "$endpoint" --bucket bench --object big)
start_server storing
where=(--endpoint "$endpoint" --bucket bench --object big)

t() { /usr/bin/time -f "$1 wall=%es user=%Us sys=%Ss rss=%MKiB" "${@:2}" >/dev/null; }
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(date -u +%F), ${gib} GiB"
t "local-encrypt    " "$cse" encrypt --public-key "$dir/p.pem" --in "$dir/plain" --out /dev/null --meta-out "$dir/m2.json" --force
t "local-decrypt    " "$cse" decrypt --private-key "$dir/k.pem" --meta "$dir/m.json" --in "$dir/cipher" --out /dev/null --force
rm -f "$dir/cipher" # the storing server keeps its own copy in memory
t "put-single       " "$cse" -q put "${up[@]}" --public-key "$dir/p.pem" --in "$dir/plain" --part-size "$((gib + 1))GiB"
t "put-multipart-j4 " "$cse" -q put "${up[@]}" --public-key "$dir/p.pem" --in "$dir/plain" --jobs 4
t "put-stdin        " sh -c "\"$cse\" -q put ${up[*]} --public-key $dir/p.pem --in - --size $((gib << 30)) <$dir/plain"
t "put-single-stored" "$cse" -q put "${where[@]}" --public-key "$dir/p.pem" --in "$dir/plain" --part-size "$((gib + 1))GiB"
t "get-whole        " "$cse" -q get "${where[@]}" --private-key "$dir/k.pem" --out /dev/null
t "get-last-100     " "$cse" -q get "${where[@]}" --private-key "$dir/k.pem" --out /dev/null --range bytes=-100
t "head             " "$cse" head "${where[@]}"

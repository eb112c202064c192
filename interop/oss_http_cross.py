"""Cross-client interop over real HTTP: the official Python SDK V2 EncryptionClient and the Rust
cse-oss EncryptionClient, both talking (path style, V4-signed) to the Rust in-memory OSS test server.

- objects the Rust client writes (PutObject, and a parallel multipart upload) are read by the
  Python SDK, whole and over ranges;
- objects the Python SDK writes (PutObject, and multipart with parts in random order) are read by
  the Rust client, whole and over ranges.

Expected bytes come from the plaintext (``i % 251``) and RFC 9110 range rules, never from the
code under test. Multipart parts are at least 100 KiB (all but the last), as OSS and the test
server require. Usage (from the repository root; interop/.venv has alibabacloud-oss-v2):

    interop/.venv/bin/python interop/oss_http_cross.py [--bin-dir target/release]

Without --bin-dir it builds, in release, the ``oss-test-server`` binary of the
cse-oss-test-server crate and the ``oss-cse-client`` example of cse-oss. A --bin-dir is searched
for each program directly and in its ``examples/`` subdirectory (so a cargo profile directory
such as ``target/debug`` works). Prints one PASS/FAIL line per case and ends with
``oss_http_cross: N passed, M failed``; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import subprocess
import sys
import tempfile

import alibabacloud_oss_v2 as oss

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEM = ROOT / "crates" / "cse-testkit" / "keys" / "test-rsa2048.pem"
AK, SK = "cross-ak", "cross-sk"
BUCKET = "cross-bucket"
# The region all three sign for or check: the test server refuses a V4 scope for any other.
REGION = "cn-hangzhou"


def plaintext(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


def expected_range(data: bytes, first: int, last: int) -> bytes:
    return data[first:min(last, len(data) - 1) + 1]


class Suite:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = []

    def case(self, name: str, fn) -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the suite
            self.failed.append(name)
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"PASS {name}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", help="directory with oss-test-server and oss-cse-client (each directly "
                                      "or in examples/), for example target/release")
    args = ap.parse_args()
    if args.bin_dir:
        bin_dir = pathlib.Path(args.bin_dir)
    else:
        for package, target_flag in [("cse-oss-test-server", ["--bin", "oss-test-server"]),
                                     ("cse-oss", ["--example", "oss-cse-client"])]:
            subprocess.run(["cargo", "build", "-q", "--release", "-p", package, *target_flag], cwd=ROOT, check=True)
        bin_dir = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
    try:
        server_bin, client_bin = find_program(bin_dir, "oss-test-server"), find_program(bin_dir, "oss-cse-client")
    except FileNotFoundError as e:
        print(e)
        return 1

    server = subprocess.Popen(
        [str(server_bin), "--listen", "127.0.0.1:0", "--access-key-id", AK,
         "--access-key-secret", SK, "--region", REGION], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            print(f"oss-test-server did not start: {line!r}")
            return 1
        endpoint = line.removeprefix("listening on ")
        return run(client_bin, endpoint)
    finally:
        server.terminate()
        server.wait(timeout=10)


def find_program(bin_dir: pathlib.Path, name: str) -> pathlib.Path:
    """``bin_dir/name`` or ``bin_dir/examples/name``, whichever exists (a binary or an example)."""
    for candidate in (bin_dir / name, bin_dir / "examples" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {name} in {bin_dir} or {bin_dir / 'examples'}: build it with "
                            f"cargo build --release -p cse-oss-test-server --bin oss-test-server and "
                            f"cargo build --release -p cse-oss --example oss-cse-client, or run "
                            f"without --bin-dir")


def run(client_bin: pathlib.Path, endpoint: str) -> int:
    pem = PEM.read_text()
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(AK, SK)
    cfg.region = REGION
    cfg.endpoint = endpoint
    cfg.use_path_style = True
    py = oss.EncryptionClient(oss.Client(cfg), oss.crypto.MasterRsaCipher(public_key=pem, private_key=pem))
    suite = Suite()
    work = pathlib.Path(tempfile.mkdtemp(prefix="oss-http-cross-"))

    def rust(*argv: str) -> None:
        cmd = [str(client_bin), "--endpoint", endpoint, "--region", REGION,
               "--access-key-id", AK, "--access-key-secret", SK, "--key", str(PEM), *argv]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"oss-cse-client {' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")

    def py_get(key: str, rng: str | None = None) -> bytes:
        return py.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key, range_header=rng)).body.read()

    # Ranges the Python SDK reads correctly (it mishandles suffix and past-the-end ranges, spec §6).
    def py_ranges(n: int):
        return [(a, b) for a, b in [(0, 0), (1, 15), (15, 16), (17, n // 2), (n // 3, n - 1)] if a <= b < n]

    # Rust writes, Python reads.
    # Multipart: parts of 128 KiB with a short last one, and five of exactly 100 KiB (OSS's
    # minimum, a multiple of 16) ending in a 13-byte part.
    for name, size, part in [("put-0", 0, None), ("put-17", 17, None), ("put-100003", 100_003, None),
                             ("multipart-350007", 350_007, 131_072), ("multipart-409613", 409_613, 102_400)]:
        def rust_to_py(name=name, size=size, part=part) -> None:
            data = plaintext(size)
            src = work / f"{name}.src"
            src.write_bytes(data)
            key = f"rust/{name}"
            rust("put", BUCKET, key, str(src), *(["--part-size", str(part)] if part else []))
            got = py_get(key)
            assert got == data, f"whole object differs ({len(got)} bytes)"
            for a, b in py_ranges(size):
                got = py_get(key, f"bytes={a}-{b}")
                assert got == expected_range(data, a, b), f"bytes={a}-{b} differs"
        suite.case(f"rust2py/{name}", rust_to_py)

    # Python writes, Rust reads.
    for name, size, part in [("put-0", 0, None), ("put-31", 31, None), ("put-100003", 100_003, None),
                             ("multipart-350007", 350_007, 131_072), ("multipart-409613", 409_613, 102_400)]:
        def py_to_rust(name=name, size=size, part=part) -> None:
            data = plaintext(size)
            key = f"py/{name}"
            if part is None:
                py.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=data))
            else:
                init = py.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
                    bucket=BUCKET, key=key, cse_part_size=part, cse_data_size=size))
                numbers = list(range(1, (size + part - 1) // part + 1))
                random.shuffle(numbers)
                etags = {}
                for n in numbers:
                    r = py.upload_part(oss.UploadPartRequest(
                        bucket=BUCKET, key=key, upload_id=init.upload_id, part_number=n,
                        cse_multipart_context=init.cse_multipart_context,
                        body=data[(n - 1) * part:n * part]))
                    etags[n] = r.etag
                py.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
                    bucket=BUCKET, key=key, upload_id=init.upload_id,
                    complete_multipart_upload=oss.CompleteMultipartUpload(
                        parts=[oss.UploadPart(part_number=n, etag=etags[n]) for n in sorted(etags)])))
            out = work / f"{name}.out"
            rust("get", BUCKET, key, str(out))
            assert out.read_bytes() == data, "whole object differs"
            ranges = py_ranges(size) + ([(size - 5, size + 100)] if size > 5 else [])
            for a, b in ranges:
                rust("get", BUCKET, key, str(out), "--range", f"bytes={a}-{b}")
                assert out.read_bytes() == expected_range(data, a, b), f"bytes={a}-{b} differs"
            if size > 0:
                n = min(size, 40)
                rust("get", BUCKET, key, str(out), "--range", f"bytes=-{n}")
                assert out.read_bytes() == data[-n:], f"bytes=-{n} differs"
        suite.case(f"py2rust/{name}", py_to_rust)

    for f in suite.failed:
        print(f"failed: {f}")
    print(f"oss_http_cross: {suite.passed} passed, {len(suite.failed)} failed")
    return 1 if suite.failed or suite.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

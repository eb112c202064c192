#!/usr/bin/env python3
"""The Python binding (oss_cse) against the official Python SDK V2, in one run, on one machine.

1. Encrypting 1 GiB (``--gib``) of plaintext read from the same source, a file (in /dev/shm,
   so the disk is not what is measured) and then an in-memory reader that costs nothing,
   against the SDK V2's file-like encryptor (``AESCtrCipherBuilder(...).content_cipher()
   .encrypt_content(reader)``, read in 1 MiB chunks), which is what
   ``EncryptionClient.put_object`` streams a file body through. The package is measured through
   both of its streaming APIs: its own file-like encryptor (``SealingReader(sealer, source)``,
   ``readinto`` a reused 1 MiB buffer), the like-for-like comparison, and the chunk loop that a
   caller writes (``source.readinto(buf)``, then ``Sealer.update_in_place(buf)``). Both seal on
   the machine's cores (``Sealer.threads``); the reader also reads while it seals.
2. Envelope opens per second (RSA-2048): the package (``Envelope.from_headers(h).open(key)``)
   against the SDK (``content_cipher_from_env``, which unwraps the key and the counter block
   with its ``MasterRsaCipher``).

Run from the repository root, in the test venv (it has the SDK and the package):

    bash python/run-tests.sh -q            # makes python/.venv and installs ./python (release)
    nice -n 19 python/.venv/bin/python benches/python-vs-sdk.py

Prints a Markdown table with the CPU, the date and the ratios of this run.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from importlib.metadata import version
from pathlib import Path

import oss_cse
from alibabacloud_oss_v2.crypto.aes_ctr_cipher import AESCtrCipherBuilder
from alibabacloud_oss_v2.crypto.master_rsa_cipher import MasterRsaCipher
from alibabacloud_oss_v2.crypto.types import Envelope as SdkEnvelope

REPO = Path(__file__).resolve().parents[1]
PRIVATE = (REPO / "testvectors/python-v2/rsa2048-private.pem").read_text()
PUBLIC = (REPO / "testvectors/python-v2/rsa2048-public.pem").read_text()
CHUNK = 1 << 20


class Source:
    """A file-like plaintext of `size` bytes that repeats one chunk: both sides read the same
    bytes through it, and it costs next to nothing itself."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0
        self.block = bytes(range(256)) * (CHUNK // 256)

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset
        return offset

    def read(self, n: int = -1) -> bytes:
        n = min(CHUNK if n < 0 else n, self.size - self.pos, CHUNK)
        self.pos += n
        return self.block if n == CHUNK else self.block[:n]

    def readinto(self, buf) -> int:
        n = min(len(buf), self.size - self.pos, CHUNK)
        buf[:n] = self.block[:n]
        self.pos += n
        return n


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def encrypt_reader(size: int, path=None) -> float:
    key = oss_cse.RsaMasterCipher.from_pem(PUBLIC)
    src, buf = (open(path, "rb", buffering=0) if path else Source(size)), bytearray(CHUNK)
    start = time.perf_counter()
    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(key, content_length=size).sealer(), src)
    total = 0
    while n := reader.readinto(buf):
        total += n  # then send memoryview(buf)[:n]
    assert total == size
    return time.perf_counter() - start


def encrypt_package(size: int, path=None) -> float:
    key = oss_cse.RsaMasterCipher.from_pem(PUBLIC)
    src, buf = (open(path, "rb", buffering=0) if path else Source(size)), bytearray(CHUNK)
    view = memoryview(buf)
    start = time.perf_counter()
    sealer = oss_cse.SealedEnvelope(key, content_length=size).sealer()
    while n := src.readinto(buf):
        sealer.update_in_place(view[:n])  # then send view[:n]
    sealer.finish()
    return time.perf_counter() - start


def encrypt_sdk(size: int, path=None) -> float:
    master = MasterRsaCipher(public_key=PUBLIC, private_key=PRIVATE)
    src = open(path, "rb", buffering=0) if path else Source(size)
    start = time.perf_counter()
    reader = AESCtrCipherBuilder(master).content_cipher().encrypt_content(src)
    total = 0
    while chunk := reader.read(CHUNK):
        total += len(chunk)
    assert total == size
    return time.perf_counter() - start


def opens_package(seconds: float) -> float:
    key = oss_cse.RsaMasterCipher.from_pem(PRIVATE)
    headers = oss_cse.SealedEnvelope(key, content_length=1).to_headers()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        oss_cse.Envelope.from_headers(headers).open(key)
        n += 1
    return n / (time.perf_counter() - start)


def opens_sdk(seconds: float) -> float:
    master = MasterRsaCipher(public_key=PUBLIC, private_key=PRIVATE)
    builder = AESCtrCipherBuilder(master)
    cd = builder.content_cipher().get_cipher_data()
    env = SdkEnvelope(iv=cd.encrypted_iv, cipher_key=cd.encrypted_key, mat_desc="",
                      wrap_algorithm=cd.wrap_algorithm, cek_algorithm=cd.cek_algorithm)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        builder.content_cipher_from_env(env)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gib", type=float, default=1.0, help="GiB to encrypt on each side")
    ap.add_argument("--open-seconds", type=float, default=3.0)
    ap.add_argument("--file", help="plaintext file of --gib GiB to read (default: one made in "
                    "/dev/shm, deleted after)")
    args = ap.parse_args()
    size = int(args.gib * (1 << 30))
    path, made = args.file, False
    if path is None:
        import os
        import tempfile
        fd, path = tempfile.mkstemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        made = True
        with os.fdopen(fd, "wb") as f:
            block = os.urandom(CHUNK)
            for _ in range(size // CHUNK):
                f.write(block)
            f.write(block[:size % CHUNK])
    try:
        f_rdr, f_pkg, f_sdk = (encrypt_reader(size, path), encrypt_package(size, path),
                               encrypt_sdk(size, path))
    finally:
        if made:
            os.unlink(path)
    t_rdr, t_pkg, t_sdk = encrypt_reader(size), encrypt_package(size), encrypt_sdk(size)
    o_pkg, o_sdk = opens_package(args.open_seconds), opens_sdk(args.open_seconds)
    mib = size / (1 << 20)
    print(f"{cpu_name()}, {datetime.date.today().isoformat()}, Python {platform.python_version()}, "
          f"alibabacloud-oss-v2 {version('alibabacloud-oss-v2')}, "
          f"pycryptodome {version('pycryptodome')}; one run\n")
    print("| measure | oss_cse | SDK V2 | ratio |")
    print("|---|---|---|---|")

    def row(what: str, ours: float, sdk: float) -> None:
        print(f"| {what} | {ours:.2f} s ({mib / ours:.0f} MiB/s) | {sdk:.2f} s "
              f"({mib / sdk:.0f} MiB/s) | {sdk / ours:.1f}x |")

    row(f"encrypt {args.gib:g} GiB from a file: file-like encryptor", f_rdr, f_sdk)
    row(f"encrypt {args.gib:g} GiB from a file: read + update_in_place", f_pkg, f_sdk)
    row(f"encrypt {args.gib:g} GiB from memory: file-like encryptor", t_rdr, t_sdk)
    row(f"encrypt {args.gib:g} GiB from memory: read + update_in_place", t_pkg, t_sdk)
    print(f"| envelope opens per second (RSA-2048) | {o_pkg:.0f} | {o_sdk:.0f} "
          f"| {o_pkg / o_sdk:.1f}x |")


if __name__ == "__main__":
    main()

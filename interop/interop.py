#!/usr/bin/env python3
"""Byte-compatibility suite between the `cse` CLI and the official Python SDKs.

Run through interop/run.sh, which makes the virtualenv and builds the CLI. Directly:

    CSE_BIN=target/release/cse interop/.venv/bin/python interop/interop.py

Sections:
  vectors   cse decrypts the committed SDK-written vectors in testvectors/python-v2
  sdk2cse   objects written by the V2 EncryptionClient and by oss2 CryptoBucket into the
            fake OSS are dumped (body + HEAD metadata) and decrypted by `cse decrypt`,
            whole and over ranges
  cse2sdk   `cse encrypt` output is stored in the fake OSS and read back by both SDKs,
            whole and over bounded ranges
  bad       malformed or mismatching input must make `cse` fail cleanly (exit code not 0,
            not 101, a message on stderr)

Expected plaintext and range outcomes come from the plaintext formula and RFC 9110, never
from the code under test. Prints one line per case and ends with
`interop: N passed, M failed`; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import traceback
from typing import Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import fakeoss  # noqa: E402
from common import (  # noqa: E402
    CSE_PREFIX,
    expected_range,
    format_range,
    plaintext,
    range_cases,
    reference_ctr,
    reference_unwrap,
    sha256_hex,
)

BUCKET = "interop"
MATDESC = {"k1": "v1", "a": "b/c"}
CSE_TIMEOUT = 300

import alibabacloud_oss_v2 as oss  # noqa: E402
import oss2  # noqa: E402

logging.getLogger("oss2").setLevel(logging.ERROR)


class CaseFailure(Exception):
    pass


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise CaseFailure(msg)


# ---------------------------------------------------------------------------------------
# Running cases


class Tally:
    def __init__(self, only: Optional[str]) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: List[str] = []
        self.only = only

    def run(self, name: str, fn: Callable[[], Optional[str]], setup: bool = False) -> bool:
        """Run one case. ``setup`` cases (that later cases depend on) ignore --only."""
        if self.only and self.only not in name and not setup:
            return True
        try:
            note = fn()
        except CaseFailure as e:
            self._fail(name, str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a crash in a case is a failed case
            tb = traceback.format_exc(limit=3).strip().splitlines()
            self._fail(name, f"{type(e).__name__}: {e} [{' | '.join(tb[-3:])}]")
            return False
        self.passed += 1
        print(f"PASS {name}" + (f"  ({note})" if note else ""), flush=True)
        return True

    def _fail(self, name: str, msg: str) -> None:
        self.failed += 1
        line = f"FAIL {name}: {msg}"
        self.failures.append(line)
        print(line, flush=True)


class Cse:
    """Runs the CLI and checks the rules every invocation must keep."""

    def __init__(self, path: str) -> None:
        self.path = path

    def available(self) -> bool:
        return os.path.isfile(self.path) and os.access(self.path, os.X_OK)

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        expect(self.available(), f"cse binary not found at {self.path} (set CSE_BIN or build cse-cli)")
        p = subprocess.run([self.path, *args], capture_output=True, timeout=CSE_TIMEOUT)
        expect(p.returncode != 101, f"cse panicked (exit 101): {_err(p)}")
        expect(p.returncode >= 0, f"cse killed by signal {-p.returncode}: {_err(p)}")
        return p


def _err(p: subprocess.CompletedProcess) -> str:
    text = (p.stderr or b"").decode("utf-8", "replace").strip().replace("\n", " | ")
    return text[:400] if text else "<empty stderr>"


def write(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def expect_bytes(got: bytes, want: bytes, what: str) -> None:
    """Fail with where ``got`` first differs from ``want``."""
    if got == want:
        return
    if len(got) != len(want):
        raise CaseFailure(f"{what}: {len(got)} bytes, expected {len(want)}")
    first = next(i for i in range(len(got)) if got[i] != want[i])
    raise CaseFailure(f"{what}: {len(got)} bytes as expected but they differ from offset {first}")


# ---------------------------------------------------------------------------------------
# SDK clients


def v2_client(endpoint: str):
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("test-ak", "test-sk")
    cfg.region = "cn-hangzhou"
    cfg.endpoint = endpoint
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


def v2_encryption_client(client, public_pem: str, private_pem: str, matdesc: Optional[dict] = None):
    mc = oss.crypto.MasterRsaCipher(mat_desc=dict(matdesc) if matdesc else None,
                                    public_key=public_pem, private_key=private_pem)
    return oss.EncryptionClient(client, mc)


def oss2_bucket(endpoint: str, public_pem: str, private_pem: str, matdesc: Optional[dict] = None):
    provider = oss2.RsaProvider(key_pair={"public_key": public_pem, "private_key": private_pem},
                                mat_desc=dict(matdesc) if matdesc else None)
    return oss2.CryptoBucket(oss2.Auth("test-ak", "test-sk"), endpoint, BUCKET, crypto_provider=provider)


def v2_put(ec, key: str, data: bytes, **kw) -> None:
    ec.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=data, **kw))


def v2_multipart(ec, key: str, data: bytes, part_size: int, order: List[int]) -> None:
    init = ec.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=BUCKET, key=key, cse_part_size=part_size, cse_data_size=len(data)))
    etags = {}
    for n in order:
        r = ec.upload_part(oss.UploadPartRequest(
            bucket=BUCKET, key=key, upload_id=init.upload_id, part_number=n,
            cse_multipart_context=init.cse_multipart_context, body=data[(n - 1) * part_size: n * part_size]))
        etags[n] = r.etag
    ec.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key=key, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=n, etag=etags[n]) for n in sorted(etags)])))


def v2_get(ec, key: str, range_header: Optional[str] = None) -> bytes:
    return ec.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key, range_header=range_header)).body.read()


def v2_head_meta(client, key: str) -> Dict[str, str]:
    r = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=key))
    return {k: v for k, v in r.headers.items() if k.lower().startswith("x-oss-meta-")}


def oss2_multipart(bucket, key: str, data: bytes, part_size: int, order: List[int]) -> None:
    ctx = oss2.models.MultipartUploadCryptoContext(data_size=len(data), part_size=part_size)
    init = bucket.init_multipart_upload(key, upload_context=ctx)
    parts = []
    for n in order:
        r = bucket.upload_part(key, init.upload_id, n, data[(n - 1) * part_size: n * part_size],
                               upload_context=ctx)
        parts.append(oss2.models.PartInfo(n, r.etag))
    bucket.complete_multipart_upload(key, init.upload_id, sorted(parts, key=lambda p: p.part_number))


def oss2_get(bucket, key: str, byte_range=None) -> bytes:
    return bucket.get_object(key, byte_range=byte_range).read()


# ---------------------------------------------------------------------------------------
# Sections


def check_decrypt_ranges(t: Tally, cse: Cse, prefix: str, work: str, priv: str, meta: str, ct: str,
                         pt: bytes, cases=None) -> None:
    """`cse decrypt` whole and over every range case, against the RFC 9110 expectation.

    The cases share one output path: cse replaces an existing file only with --force."""
    out = os.path.join(work, "out.bin")

    def whole() -> str:
        p = cse("decrypt", "--private-key", priv, "--meta", meta, "--in", ct, "--out", out, "--force")
        expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
        expect_bytes(read(out), pt, "decrypted")
        return f"{len(pt)} bytes"

    t.run(f"{prefix}/whole", whole)

    def strict() -> None:
        p = cse("decrypt", "--strict", "--private-key", priv, "--meta", meta, "--in", ct, "--out", out, "--force")
        expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
        expect_bytes(read(out), pt, "decrypted")

    t.run(f"{prefix}/whole --strict", strict)

    for kind, first, last in (cases if cases is not None else range_cases(len(pt))):
        spec = format_range(first, last)
        status, span = expected_range(len(pt), first, last)

        def one(spec=spec, status=status, span=span) -> str:
            if os.path.exists(out):
                os.remove(out)
            p = cse("decrypt", "--private-key", priv, "--meta", meta, "--in", ct, "--out", out, "--force", "--range", spec)
            if status == 416:
                expect(p.returncode == 1, f"unsatisfiable range: expected exit 1, got {p.returncode}: {_err(p)}")
                expect(bool(p.stderr.strip()), "unsatisfiable range: no message on stderr")
                return "exit 1"
            expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
            want = pt[span[0]:span[1] + 1]
            expect_bytes(read(out), want, f"want bytes {span[0]}-{span[1]}/{len(pt)}, got")
            return f"{len(want)} bytes"

        t.run(f"{prefix}/range {spec} [{kind}]", one)


def section_vectors(t: Tally, cse: Cse, work: str) -> None:
    vdir = os.path.join(REPO, "testvectors", "python-v2")
    path = os.path.join(vdir, "manifest.json")
    if not os.path.exists(path):
        t.run("vectors/manifest", lambda: expect(False, f"{path} missing"))
        return
    with open(path) as f:
        manifest = json.load(f)
    priv = os.path.join(vdir, manifest["keys"]["private"])
    for v in manifest["vectors"]:
        name = f"vectors/{v['name']}"
        pt = plaintext(v["plaintext_len"])
        ct = os.path.join(vdir, v["ciphertext"])
        ok = t.run(f"{name}/files", lambda v=v, pt=pt, ct=ct: expect(
            sha256_hex(pt) == v["plaintext_sha256"] and sha256_hex(read(ct)) == v["ciphertext_sha256"],
            "plaintext or ciphertext hash differs from the manifest"))
        if not ok:
            continue
        vwork = os.path.join(work, "vec-" + v["name"])
        os.makedirs(vwork, exist_ok=True)
        meta = os.path.join(vwork, "meta.json")
        with open(meta, "w") as f:
            json.dump(v["headers"], f, indent=2)
        out = os.path.join(vwork, "out.bin")

        def whole(ct=ct, meta=meta, out=out, pt=pt) -> None:
            p = cse("decrypt", "--private-key", priv, "--meta", meta, "--in", ct, "--out", out, "--force")
            expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
            expect_bytes(read(out), pt, "decrypted")

        t.run(f"{name}/whole", whole)
        for r in v["ranges"]:
            def one(r=r, ct=ct, meta=meta, out=out) -> None:
                if os.path.exists(out):
                    os.remove(out)
                p = cse("decrypt", "--private-key", priv, "--meta", meta, "--in", ct, "--out", out, "--force",
                        "--range", r["range"])
                if r["status"] == 416:
                    expect(p.returncode == 1, f"expected exit 1 (416), got {p.returncode}: {_err(p)}")
                    return
                expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
                got = read(out)
                expect(len(got) == r["len"] and sha256_hex(got) == r["sha256"],
                       f"got {len(got)} bytes (sha256 {sha256_hex(got)[:16]}…), expected {r['len']} "
                       f"({r['content_range']})")

            t.run(f"{name}/range {r['range']} [{r['kind']}]", one)


def section_sdk2cse(t: Tally, cse: Cse, fake: fakeoss.FakeOSS, work: str, keys: Dict[str, str],
                    rng: random.Random) -> None:
    pub, priv = keys["public_pem"], keys["private_pem"]
    client = v2_client(fake.endpoint)
    ec = v2_encryption_client(client, pub, priv)
    ec_desc = v2_encryption_client(client, pub, priv, MATDESC)
    b2 = oss2_bucket(fake.endpoint, pub, priv)
    b2_desc = oss2_bucket(fake.endpoint, pub, priv, MATDESC)

    objects = []  # (name, plaintext, writer fn, extra checks on headers)
    for n in (0, 1, 15, 16, 17, 4096, 1048576 + 13):
        objects.append((f"v2-put-{n}", n, lambda k, d: v2_put(ec, k, d), None))
        objects.append((f"oss2-put-{n}", n, lambda k, d: b2.put_object(k, d), None))

    def mp_v2(part_size):
        def w(k, d):
            order = list(range(1, (len(d) + part_size - 1) // part_size + 1))
            rng.shuffle(order)
            v2_multipart(ec, k, d, part_size, order)
            return f"order {order if len(order) <= 12 else order[:12] + ['…']}"
        return w

    def mp_oss2(part_size):
        def w(k, d):
            order = list(range(1, (len(d) + part_size - 1) // part_size + 1))
            rng.shuffle(order)
            oss2_multipart(b2, k, d, part_size, order)
            return f"order {order}"
        return w

    def mp_headers(part_size):
        def chk(h, n):
            expect(h.get(CSE_PREFIX + "part-size") == str(part_size), f"part-size header {h.get(CSE_PREFIX + 'part-size')}")
            expect(h.get(CSE_PREFIX + "data-size") == str(n), f"data-size header {h.get(CSE_PREFIX + 'data-size')}")
        return chk

    objects += [
        ("v2-multipart-16", 333, mp_v2(16), mp_headers(16)),
        ("v2-multipart-65536", 200007, mp_v2(65536), mp_headers(65536)),
        ("oss2-multipart-102400", 350003, mp_oss2(102400), mp_headers(102400)),
    ]

    def md_chk(h, n):
        expect(json.loads(h.get(CSE_PREFIX + "matdesc", "null")) == MATDESC, "matdesc header missing or different")

    objects += [
        ("v2-matdesc", 4096, lambda k, d: v2_put(ec_desc, k, d), md_chk),
        ("oss2-matdesc", 4096, lambda k, d: b2_desc.put_object(k, d), md_chk),
    ]

    def md5_of(d):
        return base64.b64encode(hashlib.md5(d).digest()).decode()

    def md5_chk(h, n):
        expect(h.get(CSE_PREFIX + "unencrypted-content-md5") == md5_of(plaintext(n)),
               "unencrypted-content-md5 missing or wrong")

    objects += [
        ("v2-content-md5", 1000, lambda k, d: v2_put(ec, k, d, content_md5=md5_of(d), content_length=len(d)), md5_chk),
        ("oss2-content-md5", 1000, lambda k, d: b2.put_object(k, d, headers={"Content-MD5": md5_of(d)}), md5_chk),
    ]

    for name, n, writer, hchk in objects:
        pt = plaintext(n)
        owork = os.path.join(work, name)
        os.makedirs(owork, exist_ok=True)
        ct_path = os.path.join(owork, "cipher.bin")
        meta_path = os.path.join(owork, "meta.json")

        def setup(name=name, pt=pt, writer=writer, hchk=hchk, ct_path=ct_path, meta_path=meta_path) -> str:
            note = writer(name, pt)
            ct = fake.get_raw(BUCKET, name).data
            head = v2_head_meta(client, name)
            expect(len(ct) == len(pt), f"stored {len(ct)} bytes for {len(pt)} plaintext bytes")
            expect(CSE_PREFIX + "key" in head, f"no CSE headers on HEAD: {sorted(head)}")
            # independent check: the stored object is the documented format
            cek, iv = reference_unwrap(head, priv.encode())
            expect(len(cek) == 32 and len(iv) == 16 and iv[8:12] == bytes(4), "CEK/IV shape")
            expect(reference_ctr(cek, iv, ct) == pt, "reference decryption of the stored object != plaintext")
            if hchk:
                hchk(head, len(pt))
            if CSE_PREFIX + "matdesc" in head:
                note = f"matdesc header {head[CSE_PREFIX + 'matdesc']!r}"
            write(ct_path, ct)
            with open(meta_path, "w") as f:
                json.dump(dict(sorted(head.items())), f, indent=2)
            return note if isinstance(note, str) else None

        if not t.run(f"sdk2cse/{name}/write+dump", setup, setup=True):
            continue
        check_decrypt_ranges(t, cse, f"sdk2cse/{name}", owork, keys["private"], meta_path, ct_path, pt)

    def inspect() -> None:
        meta = os.path.join(work, "v2-matdesc", "meta.json")
        p = cse("inspect", "--meta", meta)
        expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
        expect(bool(p.stdout.strip()), "inspect printed nothing")
        p = cse("inspect", "--meta", meta, "--private-key", keys["private"])
        expect(p.returncode == 0, f"with --private-key: exit {p.returncode}: {_err(p)}")

    t.run("sdk2cse/v2-matdesc/inspect", inspect)


def bounded_cases(n: int):
    """Bounded ranges wholly inside an object of n bytes (what both SDKs get right)."""
    if n == 0:
        return []
    c = [(0, 0), (0, min(15, n - 1)), (n - 1, n - 1), (5, min(n - 1, 20)), (16, min(n - 1, 47)),
         (n // 2 | 1, min(n - 1, (n // 2 | 1) + 4000)), (max(0, n - 20), n - 1)]
    if n > 100:
        c.append((17, n - 2))
    out = []
    for a, b in c:
        if a <= b < n and (a, b) not in out:
            out.append((a, b))
    return out


def section_cse2sdk(t: Tally, cse: Cse, fake: fakeoss.FakeOSS, work: str) -> None:
    keysets = {}

    def keygen(bits: Optional[int]):
        label = f"rsa{bits or 'default'}"
        priv = os.path.join(work, f"cse-{label}-private.pem")
        pub = os.path.join(work, f"cse-{label}-public.pem")

        def run() -> None:
            args = ["keygen", "--private-out", priv, "--public-out", pub]
            if bits:
                args += ["--bits", str(bits)]
            p = cse(*args)
            expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
            from Crypto.PublicKey import RSA

            k = RSA.import_key(read(priv))
            expect(k.has_private(), "private key file has no private key")
            expect(RSA.import_key(read(pub)).n == k.n, "public key does not match private key")
            expect(k.size_in_bits() == (bits or 2048), f"key is {k.size_in_bits()} bits")
            keysets[label] = {"private": priv, "public": pub, "private_pem": read(priv).decode(),
                              "public_pem": read(pub).decode(), "bytes": (k.size_in_bits() + 7) // 8}

        t.run(f"cse2sdk/keygen {label}", run, setup=True)
        return label

    default = keygen(None)
    big = keygen(3072)
    if default not in keysets:
        return

    jobs = []
    for n in (0, 1, 15, 16, 17, 4096, 1048576 + 13):
        jobs.append((f"cse-{n}", default, n, None, None, False))
    jobs += [
        ("cse-part16-333", default, 333, 16, None, False),
        ("cse-part65536-200007", default, 200007, 65536, None, False),
        ("cse-part102400-350003", default, 350003, 102400, None, False),
        ("cse-matdesc-4096", default, 4096, None, MATDESC, False),
        ("cse-rsa3072-5000", big, 5000, None, None, False),
        # Authenticated objects (docs/authenticated-objects.md): the SDKs must read them exactly
        # as the unauthenticated ones; the cse-auth-* metadata is unknown to them.
        ("cse-auth-0", default, 0, None, None, True),
        ("cse-auth-200007", default, 200007, None, None, True),
        ("cse-auth-part131072-350003", default, 350003, 131072, None, True),
    ]

    clients = {}
    v2c = v2_client(fake.endpoint)
    for label, ks in keysets.items():
        clients[label] = {
            "v2": v2_encryption_client(v2c, ks["public_pem"], ks["private_pem"]),
            "oss2": oss2_bucket(fake.endpoint, ks["public_pem"], ks["private_pem"]),
            "oss2-matdesc": oss2_bucket(fake.endpoint, ks["public_pem"], ks["private_pem"], MATDESC),
        }

    for name, label, n, part_size, matdesc, auth in jobs:
        if label not in keysets:
            continue
        ks = keysets[label]
        pt = plaintext(n)
        jwork = os.path.join(work, name)
        os.makedirs(jwork, exist_ok=True)
        plain_path = write(os.path.join(jwork, "plain.bin"), pt)
        ct_path = os.path.join(jwork, "cipher.bin")
        meta_path = os.path.join(jwork, "meta.json")

        tags_path = os.path.join(jwork, "cipher.tags")

        def encrypt(pt=pt, ks=ks, part_size=part_size, matdesc=matdesc, plain_path=plain_path,
                    ct_path=ct_path, meta_path=meta_path, name=name, auth=auth,
                    tags_path=tags_path) -> Optional[str]:
            args = ["encrypt", "--public-key", ks["public"], "--in", plain_path, "--out", ct_path,
                    "--meta-out", meta_path]
            if auth:
                args += ["--authenticate", "--auth-out", tags_path, "--auth-chunk-size", "65536"]
            if part_size:
                args += ["--part-size", str(part_size)]
            if matdesc:
                args += ["--matdesc", json.dumps(matdesc)]
            p = cse(*args)
            expect(p.returncode == 0, f"exit {p.returncode}: {_err(p)}")
            ct = read(ct_path)
            expect(len(ct) == len(pt), f"ciphertext is {len(ct)} bytes for {len(pt)}")
            with open(meta_path) as f:
                meta = json.load(f)
            expect(isinstance(meta, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()),
                   "meta is not a flat JSON object of strings")
            low = {k.lower(): v for k, v in meta.items()}
            expect(all(k.startswith("x-oss-meta-") for k in low), f"non-metadata names: {sorted(low)}")
            if auth:
                expect(low.get("x-oss-meta-cse-auth-version") == "1", f"no auth marker: {sorted(low)}")
                chunks = max(1, -(-len(pt) // 65536))
                expect(os.path.getsize(tags_path) == 208 + 16 * chunks, "side-car size")
            expect(low.get(CSE_PREFIX + "cek-alg") == "AES/CTR/NoPadding", f"cek-alg {low.get(CSE_PREFIX + 'cek-alg')}")
            expect(low.get(CSE_PREFIX + "wrap-alg") == "RSA/NONE/PKCS1Padding", f"wrap-alg {low.get(CSE_PREFIX + 'wrap-alg')}")
            for h in ("key", "start"):
                raw = base64.b64decode(low.get(CSE_PREFIX + h, ""), validate=True)
                expect(len(raw) == ks["bytes"], f"{h}: {len(raw)} bytes of RSA ciphertext, expected {ks['bytes']}")
            cek, iv = reference_unwrap(low, ks["private_pem"].encode())
            expect(len(cek) == 32, f"CEK is {len(cek)} bytes")
            expect(len(iv) == 16 and iv[8:12] == bytes(4), f"IV {iv.hex()}: must be 16 bytes with bytes 8..11 zero")
            expect(reference_ctr(cek, iv, ct) == pt, "reference AES-256-CTR decryption != plaintext")
            if part_size:
                expect(low.get(CSE_PREFIX + "part-size") == str(part_size), f"part-size {low.get(CSE_PREFIX + 'part-size')}")
                # data-size is optional (Go and Java omit it when unknown) but must be right if present
                ds = low.get(CSE_PREFIX + "data-size")
                expect(ds is None or ds == str(len(pt)), f"data-size {ds}")
            if matdesc:
                expect(json.loads(low.get(CSE_PREFIX + "matdesc", "null")) == matdesc,
                       f"matdesc {low.get(CSE_PREFIX + 'matdesc')!r}")
            # upload through the plain (non-encrypting) V2 client, as a user would store it
            v2c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=name, body=ct, metadata={
                k[len("x-oss-meta-"):]: v for k, v in low.items()}))
            stored = fake.get_raw(BUCKET, name)
            expect(stored.data == ct and stored.meta == low, "fake OSS did not store the object as uploaded")
            if auth:
                # What the SDKs read back verifies with cse: the metadata OSS returns, the body.
                got_meta = write(os.path.join(jwork, "stored.meta.json"), json.dumps(stored.meta).encode())
                got_ct = write(os.path.join(jwork, "stored.bin"), stored.data)
                out = os.path.join(jwork, "verified.bin")
                p = cse("decrypt", "--private-key", ks["private"], "--meta", got_meta, "--in", got_ct,
                        "--out", out, "--auth", tags_path, "--require-auth", "--force")
                expect(p.returncode == 0 and read(out) == pt, f"cse --auth: exit {p.returncode}: {_err(p)}")
            if matdesc:
                return f"matdesc header {low[CSE_PREFIX + 'matdesc']!r}"
            return None

        if not t.run(f"cse2sdk/{name}/encrypt", encrypt, setup=True):
            continue
        c = clients[label]
        readers = [("v2", lambda k, r=None, c=c: v2_get(c["v2"], k, None if r is None else format_range(*r)))]
        b = c["oss2-matdesc"] if matdesc else c["oss2"]
        readers.append(("oss2", lambda k, r=None, b=b: oss2_get(b, k, r)))
        for rname, rd in readers:
            def whole(rd=rd, name=name, pt=pt) -> None:
                expect_bytes(rd(name), pt, "read")

            t.run(f"cse2sdk/{name}/{rname} whole", whole)
            for a, bnd in bounded_cases(n):
                def one(rd=rd, name=name, pt=pt, a=a, bnd=bnd) -> None:
                    expect_bytes(rd(name, (a, bnd)), pt[a:bnd + 1], "read")

                t.run(f"cse2sdk/{name}/{rname} range bytes={a}-{bnd}", one)

    # oss2 refuses an object whose matdesc it has no materials for; V2 falls back to its default key
    if "cse-matdesc-4096" in {k for (_, k) in fake.objects}:
        def oss2_plain_provider() -> str:
            try:
                oss2_get(clients[default]["oss2"], "cse-matdesc-4096")
            except oss2.exceptions.ClientError as e:
                m = re.search(r"There is no encryption materials[^'\"]*", str(e))
                return f"oss2 refuses as documented: {m.group(0) if m else type(e).__name__}"
            raise CaseFailure("oss2 read an object whose matdesc it has no materials for")

        t.run("cse2sdk/cse-matdesc-4096/oss2 provider without matdesc", oss2_plain_provider)


def section_bad(t: Tally, cse: Cse, fake: fakeoss.FakeOSS, work: str, keys: Dict[str, str]) -> None:
    """Each case must fail: exit code not 0 (and never 101), a message on stderr."""
    from Crypto.Cipher import PKCS1_v1_5
    from Crypto.PublicKey import RSA

    pub, priv = keys["public_pem"], keys["private_pem"]
    client = v2_client(fake.endpoint)
    ec = v2_encryption_client(client, pub, priv)
    bwork = os.path.join(work, "bad")
    os.makedirs(bwork, exist_ok=True)
    n = 4096
    pt = plaintext(n)
    v2_put(ec, "bad-base", pt)
    base_meta = dict(sorted(v2_head_meta(client, "bad-base").items()))
    ct_path = write(os.path.join(bwork, "cipher.bin"), fake.get_raw(BUCKET, "bad-base").data)
    out = os.path.join(bwork, "out.bin")
    wrap = PKCS1_v1_5.new(RSA.import_key(pub))

    def meta_file(label: str, meta) -> str:
        path = os.path.join(bwork, re.sub(r"[^A-Za-z0-9._-]+", "_", label) + ".json")
        with open(path, "w") as f:
            if isinstance(meta, str):
                f.write(meta)
            else:
                json.dump(meta, f)
        return path

    def variant(drop=(), **changes) -> Dict[str, str]:
        m = {k: v for k, v in base_meta.items() if k[len(CSE_PREFIX):] not in drop}
        for suffix, value in changes.items():
            m[CSE_PREFIX + suffix.replace("_", "-")] = value
        return m

    def must_fail(label: str, meta, extra=(), ct=None, want_code: Optional[int] = None, priv_path=None) -> None:
        def run() -> str:
            p = cse("decrypt", "--private-key", priv_path or keys["private"], "--meta",
                    meta_file(label, meta), "--in", ct or ct_path, "--out", out, "--force", *extra)
            expect(p.returncode != 0, f"exit 0 (accepted); stderr: {_err(p)}")
            if want_code is not None:
                expect(p.returncode == want_code, f"exit {p.returncode}, expected {want_code}: {_err(p)}")
            expect(bool(p.stderr.strip()), f"exit {p.returncode} but nothing on stderr")
            return f"exit {p.returncode}: {_err(p)[:120]}"

        t.run(f"bad/{label}", run)

    # sanity: the unmodified metadata decrypts, so the failures below are caused by the change
    def control() -> None:
        p = cse("decrypt", "--private-key", keys["private"], "--meta", meta_file("control", base_meta),
                "--in", ct_path, "--out", out, "--force")
        expect(p.returncode == 0 and read(out) == pt, f"control decrypt failed: exit {p.returncode}: {_err(p)}")

    t.run("bad/control (unmodified)", control)

    must_fail("missing start", variant(drop=("start",)))
    must_fail("missing cek-alg", variant(drop=("cek-alg",)))
    must_fail("missing wrap-alg", variant(drop=("wrap-alg",)))
    must_fail("missing key --strict", variant(drop=("key",)), extra=("--strict",))
    must_fail("missing all CSE headers --strict", {}, extra=("--strict",))
    must_fail("empty start", variant(start=""))
    must_fail("key not base64", variant(key="***not base64***"))
    must_fail("start not base64", variant(start="%%%%"))
    must_fail("key base64 bad padding", variant(key=base_meta[CSE_PREFIX + "key"].rstrip("=")[:-1]))
    must_fail("cek-alg AES/GCM/NoPadding", variant(cek_alg="AES/GCM/NoPadding"))
    must_fail("cek-alg lower case", variant(cek_alg="aes/ctr/nopadding"))
    must_fail("meta not JSON", "{not json")
    must_fail("meta JSON array", "[]")

    # wrong private key
    other_priv = os.path.join(bwork, "other-private.pem")
    write(other_priv, RSA.generate(2048).export_key(pkcs=1))
    must_fail("wrong private key (same size)", base_meta, priv_path=other_priv, want_code=1)
    other_small = os.path.join(bwork, "other-1024-private.pem")
    write(other_small, RSA.generate(1024).export_key(pkcs=1))
    must_fail("wrong private key (1024-bit)", base_meta, priv_path=other_small)

    # well-wrapped but wrong-sized material (checklist §5: require CEK 32 bytes, IV 16 bytes)
    cek, iv = reference_unwrap(base_meta, priv.encode())
    must_fail("wrapped CEK of 16 bytes", variant(key=base64.b64encode(wrap.encrypt(cek[:16])).decode()))
    must_fail("wrapped IV of 8 bytes", variant(start=base64.b64encode(wrap.encrypt(iv[:8])).decode()))

    # malformed range (b < a): usage error
    must_fail("range bytes=20-10", base_meta, extra=("--range", "bytes=20-10"))
    must_fail("range not a byte range", base_meta, extra=("--range", "items=0-1"))

    # length mismatch against lengths the metadata states
    short = write(os.path.join(bwork, "short.bin"), fake.get_raw(BUCKET, "bad-base").data[:-1])
    must_fail("truncated ciphertext vs unencrypted-content-length",
              variant(unencrypted_content_length=str(n)), ct=short)
    must_fail("truncated ciphertext vs data-size",
              variant(data_size=str(n), part_size="1024"), ct=short)

    # missing key without --strict: the SDKs return the bytes raw; accept that or a clean error
    def missing_key_lenient() -> str:
        p = cse("decrypt", "--private-key", keys["private"], "--meta", meta_file("nokey", variant(drop=("key",))),
                "--in", ct_path, "--out", out, "--force")
        if p.returncode == 0:
            expect(read(out) == read(ct_path), "exit 0 but output is not the input passed through")
            return "exit 0, input passed through as the SDKs do"
        expect(bool(p.stderr.strip()), f"exit {p.returncode} but nothing on stderr")
        return f"exit {p.returncode}: {_err(p)[:100]}"

    t.run("bad/missing key (not strict)", missing_key_lenient)


# ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="run only cases whose name contains this text")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--sections", default="vectors,sdk2cse,cse2sdk,bad")
    args = ap.parse_args()

    cse = Cse(os.path.abspath(os.environ.get("CSE_BIN") or os.path.join(REPO, "target", "release", "cse")))
    seed = int(os.environ.get("INTEROP_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    from importlib.metadata import version as dist_version

    print(f"interop: cse={cse.path} alibabacloud-oss-v2={dist_version('alibabacloud-oss-v2')} "
          f"oss2={dist_version('oss2')} INTEROP_SEED={seed}", flush=True)
    if not cse.available():
        print(f"interop: warning: {cse.path} does not exist; every cse case will fail", flush=True)

    t = Tally(args.only)
    work = tempfile.mkdtemp(prefix="cse-interop-")
    sections = set(args.sections.split(","))
    try:
        with fakeoss.FakeOSS() as fake:
            keys = {}
            kdir = os.path.join(REPO, "testvectors", "python-v2")
            keys["private"] = os.path.join(kdir, "rsa2048-private.pem")
            keys["public"] = os.path.join(kdir, "rsa2048-public.pem")
            keys["private_pem"] = read(keys["private"]).decode()
            keys["public_pem"] = read(keys["public"]).decode()
            if "vectors" in sections:
                section_vectors(t, cse, work)
            if "sdk2cse" in sections:
                section_sdk2cse(t, cse, fake, work, keys, rng)
            if "cse2sdk" in sections:
                section_cse2sdk(t, cse, fake, work)
            if "bad" in sections:
                section_bad(t, cse, fake, work, keys)
    finally:
        if args.keep:
            print(f"interop: work directory kept: {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)

    if t.failures:
        print("interop: failures:")
        for line in t.failures:
            print("  " + line)
    print(f"interop: {t.passed} passed, {t.failed} failed")
    if t.passed + t.failed == 0:
        print("interop: no case ran", file=sys.stderr)
        return 1
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())

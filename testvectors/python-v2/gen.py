#!/usr/bin/env python3
"""Regenerate the test vectors written by the official Python SDK V2 (alibabacloud-oss-v2).

Run inside a virtualenv that has the pinned SDK (see README.md); this script installs
nothing. It drives the SDK's real EncryptionClient + MasterRsaCipher through the SDK's
normal request path (its requests-based HTTP client) against the in-memory fake OSS in
interop/fakeoss.py, served on 127.0.0.1. No other network is used.

Every rerun produces new ciphertexts (the SDK draws a fresh CEK and IV per object), so a
rerun replaces every *.bin and manifest.json together. The RSA key files are kept; pass
--new-key to replace them too.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop"))

import fakeoss  # noqa: E402
from common import (  # noqa: E402
    CSE_PREFIX,
    expected_range,
    plaintext,
    range_cases,
    range_entry,
    reference_ctr,
    reference_unwrap,
    sha256_hex,
)

SDK_DIST = "alibabacloud-oss-v2"
SDK_VERSION_PINNED = "1.4.1"
BUCKET = "vectors"
PRIVATE_PEM = "rsa2048-private.pem"
PUBLIC_PEM = "rsa2048-public.pem"
MATDESC = {"k1": "v1", "a": "b/c"}
SHUFFLE_SEED = 20240601


def _sdk():
    import alibabacloud_oss_v2 as oss

    return oss


def make_clients(endpoint: str, public_pem: str, private_pem: str):
    oss = _sdk()
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("test-ak", "test-sk")
    cfg.region = "cn-hangzhou"
    cfg.endpoint = endpoint
    cfg.retry_max_attempts = 1
    client = oss.Client(cfg)
    plain = oss.crypto.MasterRsaCipher(public_key=public_pem, private_key=private_pem)
    with_desc = oss.crypto.MasterRsaCipher(mat_desc=dict(MATDESC), public_key=public_pem, private_key=private_pem)
    ec = oss.EncryptionClient(client, plain, decrypt_master_ciphers=[with_desc])
    ec_desc = oss.EncryptionClient(client, with_desc)
    return client, ec, ec_desc


def sdk_put(ec, key: str, pt: bytes, **kw) -> None:
    oss = _sdk()
    ec.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=pt, **kw))


def sdk_multipart(ec, key: str, pt: bytes, part_size: int, order) -> None:
    oss = _sdk()
    init = ec.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=BUCKET, key=key, cse_part_size=part_size, cse_data_size=len(pt)))
    etags = {}
    for number in order:
        chunk = pt[(number - 1) * part_size: number * part_size]
        res = ec.upload_part(oss.UploadPartRequest(
            bucket=BUCKET, key=key, upload_id=init.upload_id, part_number=number,
            cse_multipart_context=init.cse_multipart_context, body=chunk))
        etags[number] = res.etag
    ec.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key=key, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=n, etag=etags[n]) for n in sorted(etags)])))


def sdk_get(ec, key: str, range_header=None) -> bytes:
    oss = _sdk()
    res = ec.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key, range_header=range_header))
    return res.body.read()


def sdk_head_meta(client, key: str) -> dict:
    oss = _sdk()
    res = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=key))
    return {k: v for k, v in res.headers.items() if k.lower().startswith("x-oss-meta-")}


def sdk_should_agree(n: int, first, last) -> bool:
    """Cases where the SDK's ranged GET is expected to be right (spec §6).

    Suffix ranges are broken in the SDK. When the start is a multiple of 16 the SDK sends
    the range unchanged and without x-oss-range-behavior: standard, so OSS answers a range
    not wholly inside the object with 200 + the whole object, which the SDK then decrypts
    at the counter for the requested start (right only when that start is 0). An
    unsatisfiable range gives an error or an empty body rather than a 416 result. All
    other bounded and open ranges must come back right.
    """
    if first is None:
        return False
    status, _ = expected_range(n, first, last)
    if status != 206:
        return False
    return first % 16 != 0 or first == 0 or last is None or last <= n - 1


def sdk_observe(reader, key: str, entry: dict) -> str:
    """What the SDK does on a range gen.py does not assert (for the log only)."""
    try:
        got = sdk_get(reader, key, entry["range"])
    except Exception as e:  # noqa: BLE001 - informational
        return f"error {type(e).__name__}"
    if entry["sha256"] is not None and len(got) == entry["len"] and sha256_hex(got) == entry["sha256"]:
        return "right bytes"
    return f"{len(got)} wrong bytes" if got else "0 bytes"


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"gen.py: check failed: {what}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's directory)")
    ap.add_argument("--new-key", action="store_true", help="generate a new RSA-2048 test key first")
    ap.add_argument("--observe", action="store_true",
                    help="also print what the SDK returns for the ranges it is known to get wrong")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    from importlib.metadata import version as dist_version

    sdk_version = dist_version(SDK_DIST)
    if sdk_version != SDK_VERSION_PINNED:
        print(f"gen.py: warning: {SDK_DIST} {sdk_version} installed, vectors are documented for "
              f"{SDK_VERSION_PINNED}", file=sys.stderr)

    priv_path = os.path.join(out, PRIVATE_PEM)
    pub_path = os.path.join(out, PUBLIC_PEM)
    if args.new_key or not os.path.exists(priv_path):
        from Crypto.PublicKey import RSA

        k = RSA.generate(2048)
        with open(priv_path, "wb") as f:
            f.write(k.export_key(format="PEM", pkcs=1) + b"\n")
        with open(pub_path, "wb") as f:
            f.write(k.publickey().export_key(format="PEM") + b"\n")
    private_pem = open(priv_path).read()
    public_pem = open(pub_path).read()

    vectors = []
    with fakeoss.FakeOSS() as fake:
        client, ec, ec_desc = make_clients(fake.endpoint, public_pem, private_pem)

        def record(name, kind, pt, extra):
            stored = fake.get_raw(BUCKET, name)
            ct = stored.data
            check(len(ct) == len(pt), f"{name}: ciphertext length {len(ct)} != plaintext length {len(pt)}")
            head = sdk_head_meta(client, name)
            check(head == stored.meta, f"{name}: HEAD metadata differs from what the fake stored")
            headers = dict(sorted(head.items()))
            # independent check of the format, no SDK code involved
            cek, iv = reference_unwrap(headers, private_pem.encode())
            check(len(cek) == 32 and len(iv) == 16, f"{name}: CEK/IV lengths {len(cek)}/{len(iv)}")
            check(iv[8:12] == b"\0\0\0\0", f"{name}: IV bytes 8..11 not zero")
            check(reference_ctr(cek, iv, ct) == pt, f"{name}: reference decryption != plaintext")
            check(headers.get(CSE_PREFIX + "cek-alg") == "AES/CTR/NoPadding", f"{name}: cek-alg")
            check(headers.get(CSE_PREFIX + "wrap-alg") == "RSA/NONE/PKCS1Padding", f"{name}: wrap-alg")
            # the SDK reads back the whole object
            reader = ec_desc if "matdesc" in extra else ec
            check(sdk_get(reader, name) == pt, f"{name}: SDK whole-object read != plaintext")
            ranges = []
            for rkind, first, last in range_cases(len(pt)):
                entry = range_entry(pt, rkind, first, last)
                entry["sdk_checked"] = sdk_should_agree(len(pt), first, last)
                if entry["sdk_checked"]:
                    got = sdk_get(reader, name, entry["range"])
                    check(len(got) == entry["len"] and sha256_hex(got) == entry["sha256"],
                          f"{name}: SDK ranged read {entry['range']} gave {len(got)} bytes, "
                          f"expected {entry['len']}")
                elif args.observe:
                    print(f"gen.py:   {name} {entry['range']} (expected {entry['status']}, "
                          f"{entry['len']} bytes): SDK gives {sdk_observe(reader, name, entry)}")
                ranges.append(entry)
            bin_name = f"{name}.bin"
            with open(os.path.join(out, bin_name), "wb") as f:
                f.write(ct)
            v = {
                "name": name,
                "kind": kind,
                "plaintext_len": len(pt),
                "plaintext_sha256": sha256_hex(pt),
                "ciphertext": bin_name,
                "ciphertext_sha256": sha256_hex(ct),
                "object_type": stored.object_type,
            }
            v.update(extra)
            v["cek_hex"] = cek.hex()
            v["iv_hex"] = iv.hex()
            v["headers"] = headers
            v["ranges"] = ranges
            vectors.append(v)
            print(f"gen.py: {name}: {len(pt)} bytes, {len(ranges)} range cases "
                  f"({sum(r['sdk_checked'] for r in ranges)} confirmed by the SDK)")

        for n in (0, 1, 15, 16, 17, 4096, 1048576 + 13):
            name = f"put-{n}"
            pt = plaintext(n)
            sdk_put(ec, name, pt)
            record(name, "put", pt, {})

        for name, n, part_size in (("multipart-16x100", 100, 16), ("multipart-65536x200007", 200007, 65536)):
            pt = plaintext(n)
            parts = (n + part_size - 1) // part_size
            order = list(range(1, parts + 1))
            random.Random(SHUFFLE_SEED).shuffle(order)
            sdk_multipart(ec, name, pt, part_size, order)
            record(name, "multipart", pt, {"part_size": part_size, "upload_order": order,
                                           "shuffle_seed": SHUFFLE_SEED})

        name = "put-matdesc-4096"
        pt = plaintext(4096)
        sdk_put(ec_desc, name, pt)
        record(name, "put", pt, {"matdesc": dict(MATDESC)})

        name = "put-md5-length-1000"
        pt = plaintext(1000)
        md5 = base64.b64encode(hashlib.md5(pt).digest()).decode()
        sdk_put(ec, name, pt, content_md5=md5, content_length=len(pt))
        record(name, "put", pt, {"content_md5": md5, "content_length": len(pt)})
        h = vectors[-1]["headers"]
        check(h.get(CSE_PREFIX + "unencrypted-content-md5") == md5, "unencrypted-content-md5 not stored")
        check(h.get(CSE_PREFIX + "unencrypted-content-length") == "1000", "unencrypted-content-length not stored")

        # the SDK must not have sent a Content-MD5 of its own for that PutObject
        puts = [r for r in fake.requests if r.method == "PUT" and r.path == f"/{BUCKET}/{name}"]
        check(len(puts) == 1 and "content-md5" not in puts[0].headers, "SDK sent Content-MD5 on the wire")

    import Crypto

    manifest = {
        "description": "Objects written by the official Python SDK V2 EncryptionClient (RSA master key) "
                       "into an in-memory fake OSS; ciphertexts are the stored object bytes.",
        "sdk": {"name": SDK_DIST, "version": sdk_version,
                "client": "alibabacloud_oss_v2.EncryptionClient + alibabacloud_oss_v2.crypto.MasterRsaCipher"},
        "generator": {"script": "gen.py", "python": platform.python_version(), "pycryptodome": Crypto.__version__},
        "keys": {"private": PRIVATE_PEM, "private_format": "PKCS#1 PEM (RSA PRIVATE KEY)",
                 "public": PUBLIC_PEM, "public_format": "SPKI PEM (PUBLIC KEY)", "bits": 2048,
                 "test_only": True},
        "plaintext": {"formula": "plaintext[i] = i % 251", "stored": False},
        "ranges_rule": "RFC 9110 §14.1.2 computed from the plaintext; status 416 means unsatisfiable; "
                       "sdk_checked=true means gen.py also read that range through the SDK and got the "
                       "expected bytes",
        "vectors": vectors,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"gen.py: wrote {len(vectors)} vectors to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

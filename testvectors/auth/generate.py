#!/usr/bin/env python3
"""Known-answer vectors for authenticated objects, version 1 (docs/authenticated-objects.md),
computed from the design document alone: HKDF-SHA256 from the standard library (RFC 5869 over
hmac), BLAKE3 from the `blake3` package (the reference implementation's Python binding), Ed25519
from `cryptography` (OpenSSL's). Nothing here uses the engine.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install blake3==1.0.11 cryptography
    /tmp/v/bin/python testvectors/auth/generate.py > testvectors/auth/vectors.json
"""

import base64
import hashlib
import hmac
import json
import struct

import blake3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SALT = b"oss-cse/auth/v1"
HEADER = 208


def hkdf(ikm: bytes, info: bytes, n: int = 32) -> bytes:
    prk = hmac.new(SALT, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def keyed(key: bytes, data: bytes) -> bytes:
    return blake3.blake3(data, key=key).digest()


def field(fid: int, value: bytes) -> bytes:
    return bytes([fid]) + struct.pack(">I", len(value)) + value


def ciphertext(n: int) -> bytes:
    """The vectors' ciphertext: byte i is (7 i + 3) mod 256. Tags do not depend on how it was made."""
    return bytes((7 * i + 3) % 256 for i in range(n))


def case(name, key, counter, headers, chunk_size, length, bucket=None, obj=None, writer=None):
    ikm = key + counter
    commitment = hkdf(ikm, b"commitment")
    k_env, k_chunk = hkdf(ikm, b"envelope key"), hkdf(ikm, b"chunk key")
    k_final, k_bind = hkdf(ikm, b"final key"), hkdf(ikm, b"binding key")
    k_wrap = hkdf(ikm, b"wrapping key")
    p = "x-oss-meta-client-side-encryption-"
    e = b"oss-cse/auth/v1 envelope"
    e += field(1, headers[p + "cek-alg"].encode())
    if p + "unencrypted-content-length" in headers:
        e += field(6, struct.pack(">Q", int(headers[p + "unencrypted-content-length"])))
    if p + "unencrypted-content-md5" in headers:
        e += field(7, base64.b64decode(headers[p + "unencrypted-content-md5"]))
    if p + "part-size" in headers:
        e += field(8, struct.pack(">Q", int(headers[p + "part-size"])))
        if p + "data-size" in headers:
            e += field(9, struct.pack(">Q", int(headers[p + "data-size"])))
    e += field(10, b"\x01")
    e += field(11, struct.pack(">Q", chunk_size))
    e += field(12, commitment)
    e += field(13, b"\x01" if bucket is not None else b"\x00")
    digest = keyed(k_env, e)
    w = b"oss-cse/auth/v1 wrapping" + digest + field(2, headers[p + "wrap-alg"].encode())
    if headers.get(p + "matdesc"):
        w += field(3, headers[p + "matdesc"].encode())
    w += field(4, base64.b64decode(headers[p + "key"]))
    w += field(5, base64.b64decode(headers[p + "start"]))
    wrapping = keyed(k_wrap, w)[:16]
    ct = ciphertext(length)
    n = max(1, -(-length // chunk_size))
    tags = []
    for i in range(n):
        chunk = ct[i * chunk_size:(i + 1) * chunk_size]
        last = b"\x01" if i == n - 1 else b"\x00"
        tags.append(keyed(k_chunk, digest + struct.pack(">Q", i) + chunk + last)[:16])
    final = keyed(k_final, digest + b"".join(tags) + struct.pack(">QQ", n, length))[:16]
    binding = None
    if bucket is not None:
        msg = digest + struct.pack(">I", len(bucket)) + bucket + struct.pack(">I", len(obj)) + obj
        binding = keyed(k_bind, msg)[:16]
    signer = signature = None
    if writer is not None:
        sk = Ed25519PrivateKey.from_private_bytes(writer)
        signer = sk.public_key().public_bytes_raw()
        signature = sk.sign(b"oss-cse/auth/v1 signature" + digest + final)
    flags = (1 if binding else 0) | (2 if signer else 0)
    side = b"OSSCSEAT" + bytes([1, flags, 0, 0]) + struct.pack(">IQQ", chunk_size, length, n)
    side += digest + final + wrapping + (binding or bytes(16))
    side += (signer or bytes(32)) + (signature or bytes(64))
    assert len(side) == HEADER
    side += b"".join(tags)
    out = {
        "name": name,
        "key": key.hex(),
        "counter": counter.hex(),
        "headers": headers,
        "chunk_size": chunk_size,
        "ciphertext_len": length,
        "commitment": commitment.hex(),
        "commitment_header": base64.b64encode(commitment).decode(),
        "envelope_digest": digest.hex(),
        "chunk_tags": [t.hex() for t in tags],
        "final_tag": final.hex(),
        "wrapping_tag": wrapping.hex(),
        "sidecar_sha256": hashlib.sha256(side).hexdigest(),
        "sidecar_header": side[:HEADER].hex(),
    }
    if binding is not None:
        out["bucket"], out["object"], out["binding_tag"] = bucket.decode(), obj.decode(), binding.hex()
    if writer is not None:
        out["writer_seed"], out["writer_public"] = writer.hex(), signer.hex()
        out["signature"] = signature.hex()
    return out


def main():
    p = "x-oss-meta-client-side-encryption-"
    base = {
        p + "key": base64.b64encode(bytes(range(1, 129))).decode(),
        p + "start": base64.b64encode(bytes(range(200, 256)) + bytes(72)).decode(),
        p + "cek-alg": "AES/CTR/NoPadding",
        p + "wrap-alg": "RSA/NONE/PKCS1Padding",
    }
    key, counter = bytes(range(32)), bytes.fromhex("00112233445566778899aabbccddeeff")
    k64 = 1 << 16
    cases = [
        case("empty object", key, counter, dict(base), k64, 0),
        case("one byte", key, counter, {**base, p + "unencrypted-content-length": "1"}, k64, 1),
        case("exactly one chunk", key, counter, dict(base), k64, k64),
        case("two and a half chunks, matdesc and md5", bytes([0xa5] * 32), bytes([0xff] * 16),
             {**base, p + "matdesc": '{"key-id":"demo"}',
              p + "unencrypted-content-length": str(k64 * 5 // 2),
              p + "unencrypted-content-md5": base64.b64encode(bytes(range(16))).decode()},
             k64, k64 * 5 // 2),
        case("multipart, KMS wrap, bound", key, bytes(16),
             {**base, p + "wrap-alg": "KMS/ALICLOUD", p + "part-size": str(2 * k64),
              p + "data-size": str(3 * k64 + 5)},
             k64, 3 * k64 + 5, b"my-bucket", "dir/\u00e9t\u00e9.bin".encode()),
        case("default chunk size", key, counter, dict(base), 1 << 20, (1 << 20) + 1),
        case("signed by a writer", key, counter, {**base, p + "matdesc": '{"writer":"ci"}'},
             k64, k64 + 17, writer=bytes(range(100, 132))),
    ]
    print(json.dumps({"version": 1, "cases": cases}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Helpers shared by testvectors/python-v2/gen.py and interop/interop.py.

Nothing here comes from an SDK: the plaintext formula, the HTTP range rules (RFC 9110
§14.1.2, as the project's compatibility checklist states them) and an independent
reference decryption written from the wire-format facts (RSA PKCS#1 v1.5 unwrap of the
CEK and of the IV, AES-256-CTR with the IV as one 128-bit big-endian counter).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Dict, List, Optional, Tuple

CSE_PREFIX = "x-oss-meta-client-side-encryption-"

_PATTERN = bytes(range(251))


def plaintext(n: int) -> bytes:
    """plaintext[i] = i % 251."""
    reps = n // len(_PATTERN) + 1
    return (_PATTERN * reps)[:n]


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------------------
# Ranges


def format_range(first: Optional[int], last: Optional[int]) -> str:
    return f"bytes={'' if first is None else first}-{'' if last is None else last}"


def expected_range(n: int, first: Optional[int], last: Optional[int]) -> Tuple[int, Optional[Tuple[int, int]]]:
    """(status, (start, end) inclusive or None) for a range on an object of n bytes."""
    if first is None:
        assert last is not None
        if last == 0 or n == 0:
            return 416, None
        return 206, (max(0, n - last), n - 1)
    if last is not None and last < first:
        raise ValueError("malformed range")
    if first >= n:
        return 416, None
    return 206, (first, n - 1 if last is None else min(last, n - 1))


def range_cases(n: int) -> List[Tuple[str, Optional[int], Optional[int]]]:
    """(kind, first, last) range cases for an object of n bytes, deduplicated, stable order."""
    cands: List[Tuple[str, Optional[int], Optional[int]]] = []
    if n == 0:
        cands += [
            ("beyond-end", 0, 0),
            ("beyond-end-open", 0, None),
            ("suffix-empty-object", None, 1),
            ("suffix-empty-object", None, 16),
        ]
    else:
        half = n // 2
        cands += [
            ("bounded-aligned", 0, 15),
            ("bounded-aligned", 16, 47),
            ("bounded-aligned", 4096, 8191),
            ("bounded-unaligned", 5, 20),
            ("bounded-unaligned", 17, 1000),
            ("bounded-unaligned", half | 1, (half | 1) + 100),
            ("bounded-whole", 0, n - 1),
            ("bounded-end-clamped", max(0, n - 3), n + 100),
            ("bounded-end-clamped", (n - 1) // 16 * 16, n + 15),
            ("open", 0, None),
            ("open-aligned", 16, None),
            ("open-unaligned", 7, None),
            ("open-unaligned", half | 1, None),
            ("suffix", None, 1),
            ("suffix", None, min(n, 100)),
            ("suffix", None, max(1, n - 1)),
            ("suffix-whole", None, n),
            ("suffix-longer-than-object", None, n + 10),
            ("last-byte", n - 1, n - 1),
            ("last-byte-open", n - 1, None),
            ("beyond-end", n, n + 10),
            ("beyond-end-aligned", (n + 15) // 16 * 16 + 16, (n + 15) // 16 * 16 + 100),
            ("beyond-end-open", n, None),
            ("suffix-zero", None, 0),
        ]
    out = []
    seen = set()
    for kind, first, last in cands:
        if first is not None and last is not None and last < first:
            continue
        # keep cases that are meaningful for this length: starts inside the object unless the
        # kind is about being past the end
        if first is not None and first >= n and not kind.startswith("beyond-end"):
            continue
        spec = format_range(first, last)
        if spec in seen:
            continue
        seen.add(spec)
        out.append((kind, first, last))
    return out


def range_entry(pt: bytes, kind: str, first: Optional[int], last: Optional[int]) -> Dict:
    n = len(pt)
    status, span = expected_range(n, first, last)
    if span is None:
        return {"range": format_range(first, last), "kind": kind, "status": status,
                "content_range": None, "len": 0, "sha256": None}
    a, b = span
    return {"range": format_range(first, last), "kind": kind, "status": status,
            "content_range": f"bytes {a}-{b}/{n}", "len": b - a + 1, "sha256": sha256_hex(pt[a:b + 1])}


# ---------------------------------------------------------------------------------------
# Reference decryption (pycryptodome only; no SDK code)


def reference_unwrap(headers: Dict[str, str], private_pem: bytes) -> Tuple[bytes, bytes]:
    """(CEK, IV) from the key/start headers with RSA PKCS#1 v1.5."""
    from Crypto.Cipher import PKCS1_v1_5
    from Crypto.PublicKey import RSA

    h = {k.lower(): v for k, v in headers.items()}
    rsa = PKCS1_v1_5.new(RSA.import_key(private_pem))
    sentinel = object()
    cek = rsa.decrypt(base64.b64decode(h[CSE_PREFIX + "key"], validate=True), sentinel)
    iv = rsa.decrypt(base64.b64decode(h[CSE_PREFIX + "start"], validate=True), sentinel)
    if cek is sentinel or iv is sentinel:
        raise ValueError("RSA unwrap failed")
    return cek, iv


def reference_ctr(cek: bytes, iv: bytes, data: bytes, offset: int = 0) -> bytes:
    """AES-256-CTR over data that starts at byte ``offset`` (multiple of 16) of the object."""
    from Crypto.Cipher import AES
    from Crypto.Util import Counter

    assert offset % 16 == 0
    ctr = Counter.new(128, initial_value=(int.from_bytes(iv, "big") + offset // 16) % (1 << 128))
    return AES.new(cek, AES.MODE_CTR, counter=ctr).decrypt(data)

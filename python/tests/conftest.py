"""Shared fixtures. Expected values come from the SDKs, the vectors' manifest, or an independent
computation (interop/common.py: pycryptodome's RSA and AES-CTR, written from the format facts),
never from the package under test. The SDKs talk HTTP to interop/fakeoss.py on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "testvectors" / "python-v2"
sys.path.insert(0, str(REPO / "interop"))

import fakeoss  # noqa: E402
from common import plaintext, reference_ctr, reference_unwrap  # noqa: E402,F401

import alibabacloud_oss_v2 as oss  # noqa: E402
import oss2  # noqa: E402

logging.getLogger("oss2").setLevel(logging.ERROR)

BUCKET = "pytest"
PRIVATE_PEM = (VECTORS / "rsa2048-private.pem").read_text()
PUBLIC_PEM = (VECTORS / "rsa2048-public.pem").read_text()
# Another RSA-2048 key, for wrong-key cases.
OTHER_PEM = (REPO / "crates" / "cse-testkit" / "keys" / "test-rsa2048.pem").read_text()


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def manifest() -> dict:
    return json.loads((VECTORS / "manifest.json").read_text())


def bounded_cases(n: int):
    """Bounded ranges wholly inside an object of n bytes (what both SDKs read right)."""
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


@pytest.fixture(scope="session")
def fake():
    with fakeoss.FakeOSS() as f:
        yield f


@pytest.fixture(scope="session")
def v2_client(fake):
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("test-ak", "test-sk")
    cfg.region = "cn-hangzhou"
    cfg.endpoint = fake.endpoint
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


def v2_encryption_client(client, master):
    return oss.EncryptionClient(client, master)


def sdk_master(matdesc=None):
    return oss.crypto.MasterRsaCipher(mat_desc=dict(matdesc) if matdesc else None,
                                      public_key=PUBLIC_PEM, private_key=PRIVATE_PEM)


@pytest.fixture(scope="session")
def oss2_bucket(fake):
    provider = oss2.RsaProvider(key_pair={"public_key": PUBLIC_PEM, "private_key": PRIVATE_PEM})
    return oss2.CryptoBucket(oss2.Auth("test-ak", "test-sk"), fake.endpoint, BUCKET,
                             crypto_provider=provider)


@pytest.fixture(scope="session")
def cse_bin() -> str:
    path = os.environ.get("CSE_BIN", "")
    assert path and os.access(path, os.X_OK), \
        "CSE_BIN must name the built `cse` binary (python/run-tests.sh sets it)"
    return path

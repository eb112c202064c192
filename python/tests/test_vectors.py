"""The Python SDK V2's vectors (testvectors/python-v2): whole and every listed range, with the
expected outcomes from the manifest."""

import pytest

import oss_cse
from conftest import PRIVATE_PEM, VECTORS, manifest, sha256_hex

VECTORS_LIST = manifest()["vectors"]
KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)


def ids(v):
    return v["name"]


@pytest.mark.parametrize("vector", VECTORS_LIST, ids=ids)
def test_whole_in_place_in_chunks(vector):
    body = bytearray((VECTORS / vector["ciphertext"]).read_bytes())
    assert sha256_hex(bytes(body)) == vector["ciphertext_sha256"]
    envelope = oss_cse.Envelope.from_headers(vector["headers"])
    opener = envelope.whole_opener(envelope.open(KEY))
    view = memoryview(body)
    out = bytearray()
    for at in range(0, len(body), 4099):
        chunk = view[at:at + 4099]
        kept = opener.update_in_place(chunk)
        out += chunk[kept]
    assert opener.finish() == vector["plaintext_len"]
    assert sha256_hex(bytes(out)) == vector["plaintext_sha256"]


@pytest.mark.parametrize("vector", VECTORS_LIST, ids=ids)
def test_whole_from_bytes_into_one_buffer(vector):
    ct = (VECTORS / vector["ciphertext"]).read_bytes()
    envelope = oss_cse.Envelope.from_headers(vector["headers"])
    opener = envelope.whole_opener(envelope.open(KEY))
    dst = bytearray(len(ct))
    assert opener.update_into(ct, dst) == len(ct)  # bytes in, no allocation out
    opener.finish()
    assert sha256_hex(bytes(dst)) == vector["plaintext_sha256"]


@pytest.mark.parametrize("vector", VECTORS_LIST, ids=ids)
def test_every_listed_range(vector):
    ct = (VECTORS / vector["ciphertext"]).read_bytes()
    envelope = oss_cse.Envelope.from_headers(vector["headers"])
    material = envelope.open(KEY)
    assert vector["ranges"], "the manifest lists ranges for every vector"
    for case in vector["ranges"]:
        if case["status"] == 416:
            with pytest.raises(oss_cse.RangeNotSatisfiableError):
                oss_cse.plan_range(case["range"], None).on_stored(len(ct))
            continue
        # As a server honouring the planned request would answer it.
        plan = oss_cse.plan_range(case["range"], None)
        body = plan.on_stored(len(ct))
        assert body.content_range == case["content_range"], case
        piece = ct[body.body_start:body.body_start + body.body_len]
        opener = body.opener(material)
        got = opener.update(piece)
        assert opener.finish() == case["len"]
        assert sha256_hex(got) == case["sha256"], case

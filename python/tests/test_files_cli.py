"""encrypt_file / decrypt_file against the `cse` CLI: each reads what the other wrote, whole
and ranged, and the metadata files have the same shape, byte for byte apart from the random
values."""

import json
import re
import subprocess

import pytest

import oss_cse
from conftest import PRIVATE_PEM, VECTORS, plaintext, reference_ctr, reference_unwrap

KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)
PRIV = str(VECTORS / "rsa2048-private.pem")
PUB = str(VECTORS / "rsa2048-public.pem")
RANGES = ["bytes=0-0", "bytes=5-20", "bytes=17-", "bytes=-100", "bytes=1000-99999999"]


def cse(cse_bin, *args):
    p = subprocess.run([cse_bin, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p


def shape(meta_text):
    """The metadata file with its random values blanked: names, order, layout."""
    return re.sub(r'": "[A-Za-z0-9+/=]{40,}"', '": "<b64>"', meta_text)


@pytest.mark.parametrize("part_size", [None, 4096])
def test_cli_decrypts_what_encrypt_file_wrote(tmp_path, cse_bin, part_size):
    data = plaintext(100_007)
    (tmp_path / "plain").write_bytes(data)
    env = oss_cse.encrypt_file(KEY, tmp_path / "plain", tmp_path / "ct", tmp_path / "meta.json",
                               part_size=part_size)
    assert env.declared_len == len(data) and env.part_size == part_size
    # Independently: the ciphertext is AES-CTR under the wrapped material.
    headers = json.loads((tmp_path / "meta.json").read_text())
    cek, iv = reference_unwrap(headers, PRIVATE_PEM.encode())
    assert reference_ctr(cek, iv, (tmp_path / "ct").read_bytes()) == data
    cse(cse_bin, "decrypt", "--private-key", PRIV, "--meta", str(tmp_path / "meta.json"),
        "--in", str(tmp_path / "ct"), "--out", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
    for r in RANGES:
        out = tmp_path / f"r{abs(hash(r))}"
        cse(cse_bin, "decrypt", "--private-key", PRIV, "--meta", str(tmp_path / "meta.json"),
            "--in", str(tmp_path / "ct"), "--out", str(out), "--range", r)
        assert out.read_bytes() == expected_slice(data, r), r
    # The same layout as the CLI's own metadata file for the same input.
    args = ["--part-size", str(part_size)] if part_size else []
    cse(cse_bin, "encrypt", "--public-key", PUB, "--in", str(tmp_path / "plain"),
        "--out", str(tmp_path / "ct2"), "--meta-out", str(tmp_path / "meta2.json"), *args)
    assert shape((tmp_path / "meta.json").read_text()) == shape((tmp_path / "meta2.json").read_text())
    assert (tmp_path / "ct").stat().st_size == (tmp_path / "ct2").stat().st_size


def expected_slice(data, r):
    a, b = r[len("bytes="):].split("-")
    n = len(data)
    if a == "":
        return data[max(0, n - int(b)):]
    return data[int(a):(n if b == "" else min(int(b), n - 1) + 1)]


@pytest.mark.parametrize("part_size", [None, 4096])
def test_decrypt_file_reads_what_the_cli_wrote(tmp_path, cse_bin, part_size):
    data = plaintext(50_001)
    (tmp_path / "plain").write_bytes(data)
    args = ["--part-size", str(part_size)] if part_size else []
    cse(cse_bin, "encrypt", "--public-key", PUB, "--in", str(tmp_path / "plain"),
        "--out", str(tmp_path / "ct"), "--meta-out", str(tmp_path / "meta.json"), *args)
    n = oss_cse.decrypt_file(KEY, tmp_path / "ct", tmp_path / "meta.json", tmp_path / "back")
    assert n == len(data) and (tmp_path / "back").read_bytes() == data
    assert (tmp_path / "back").stat().st_mode & 0o077 == 0  # plaintext is owner-only
    for r in RANGES:
        out = tmp_path / f"r{abs(hash(r))}"
        oss_cse.decrypt_file(KEY, tmp_path / "ct", tmp_path / "meta.json", out, range=r)
        assert out.read_bytes() == expected_slice(data, r), r


def test_file_helpers_refuse_bad_inputs(tmp_path):
    data = plaintext(1000)
    (tmp_path / "plain").write_bytes(data)
    oss_cse.encrypt_file(KEY, tmp_path / "plain", tmp_path / "ct", tmp_path / "meta.json")
    with pytest.raises(FileExistsError):
        oss_cse.encrypt_file(KEY, tmp_path / "plain", tmp_path / "ct", tmp_path / "meta.json")
    ct = (tmp_path / "ct").read_bytes()
    (tmp_path / "cut").write_bytes(ct[:-1])
    with pytest.raises(oss_cse.TruncatedError):
        oss_cse.decrypt_file(KEY, tmp_path / "cut", tmp_path / "meta.json", tmp_path / "o1")
    assert not (tmp_path / "o1").exists()  # nothing half-written is left
    with pytest.raises(oss_cse.LengthError):
        oss_cse.decrypt_file(KEY, tmp_path / "cut", tmp_path / "meta.json", tmp_path / "o2",
                             range="bytes=0-9")
    with pytest.raises(oss_cse.RangeNotSatisfiableError):
        oss_cse.decrypt_file(KEY, tmp_path / "ct", tmp_path / "meta.json", tmp_path / "o3",
                             range="bytes=1000-")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(oss_cse.InvalidHeaderError):
        oss_cse.decrypt_file(KEY, tmp_path / "ct", tmp_path / "bad.json", tmp_path / "o4")
    (tmp_path / "plain.json").write_text("{}")
    with pytest.raises(oss_cse.NotEncryptedError):
        oss_cse.decrypt_file(KEY, tmp_path / "ct", tmp_path / "plain.json", tmp_path / "o5",
                             strict=True)
    with pytest.warns(RuntimeWarning):
        oss_cse.decrypt_file(KEY, tmp_path / "plain", tmp_path / "plain.json", tmp_path / "o6")
    assert (tmp_path / "o6").read_bytes() == data


@pytest.mark.parametrize("vector", ["put-matdesc-4096", "multipart-65536x200007"])
def test_decrypt_file_reads_sdk_vectors_with_their_manifest_headers(tmp_path, vector):
    from conftest import manifest, sha256_hex
    v = next(x for x in manifest()["vectors"] if x["name"] == vector)
    (tmp_path / "meta.json").write_text(json.dumps(v["headers"]))
    n = oss_cse.decrypt_file(KEY, VECTORS / v["ciphertext"], tmp_path / "meta.json",
                             tmp_path / "out")
    assert n == v["plaintext_len"]
    assert sha256_hex((tmp_path / "out").read_bytes()) == v["plaintext_sha256"]

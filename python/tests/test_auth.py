"""Authenticated objects through encrypt_file / decrypt_file (docs/authenticated-objects.md):
round trips whole and ranged, the `cse` CLI reading what Python wrote and the other way round,
each tamper class raising AuthenticationError that names the check, and nothing written."""

import json
import subprocess

import pytest

import oss_cse
from conftest import PRIVATE_PEM, VECTORS, plaintext

KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)
PRIV = str(VECTORS / "rsa2048-private.pem")
PUB = str(VECTORS / "rsa2048-public.pem")
CS = 1 << 16
LEN = 3 * CS + 1234


def cse(cse_bin, *args, ok=True):
    p = subprocess.run([cse_bin, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def written(tmp_path, name="o", n=LEN, **kw):
    data = plaintext(n)
    (tmp_path / f"{name}.plain").write_bytes(data)
    oss_cse.encrypt_file(KEY, tmp_path / f"{name}.plain", tmp_path / f"{name}.ct",
                         tmp_path / f"{name}.meta.json", auth_out=tmp_path / f"{name}.tags",
                         auth_chunk_size=CS, **kw)
    return data


def open_(tmp_path, name="o", out="out", **kw):
    return oss_cse.decrypt_file(KEY, tmp_path / f"{name}.ct", tmp_path / f"{name}.meta.json",
                                tmp_path / out, auth=tmp_path / f"{name}.tags", **kw)


@pytest.mark.parametrize("part_size", [None, 2 * CS])
def test_round_trips_whole_and_ranged_and_the_cli_agrees(tmp_path, cse_bin, part_size):
    data = written(tmp_path, part_size=part_size)
    meta = json.loads((tmp_path / "o.meta.json").read_text())
    assert meta["x-oss-meta-cse-auth-version"] == "1"
    assert (tmp_path / "o.tags").stat().st_size == 208 + 16 * 4
    assert open_(tmp_path, require_auth=True) == LEN
    assert (tmp_path / "out").read_bytes() == data
    for r, want in [("bytes=0-0", data[:1]), ("bytes=65000-70000", data[65000:70001]),
                    ("bytes=-7", data[-7:])]:
        open_(tmp_path, out="r", range=r, force=True)
        assert (tmp_path / "r").read_bytes() == want, r
    with pytest.raises(oss_cse.RangeNotSatisfiableError):
        open_(tmp_path, out="past", range="bytes=999999-")
    assert not (tmp_path / "past").exists()
    # The CLI verifies what Python wrote...
    cse(cse_bin, "decrypt", "--private-key", PRIV, "--meta", str(tmp_path / "o.meta.json"),
        "--in", str(tmp_path / "o.ct"), "--out", str(tmp_path / "cli"),
        "--auth", str(tmp_path / "o.tags"), "--require-auth")
    assert (tmp_path / "cli").read_bytes() == data
    # ...and Python what the CLI wrote.
    cse(cse_bin, "encrypt", "--public-key", PUB, "--in", str(tmp_path / "o.plain"),
        "--out", str(tmp_path / "c.ct"), "--meta-out", str(tmp_path / "c.meta.json"),
        "--authenticate", "--auth-out", str(tmp_path / "c.tags"))
    assert open_(tmp_path, name="c", out="py") == LEN
    assert (tmp_path / "py").read_bytes() == data


def test_every_tamper_is_named_and_nothing_is_written(tmp_path):
    written(tmp_path)
    good = (tmp_path / "o.ct").read_bytes()

    def refused(needle, **kw):
        with pytest.raises(oss_cse.AuthenticationError, match=needle):
            open_(tmp_path, out="bad", **kw)
        assert not (tmp_path / "bad").exists()

    bad = bytearray(good)
    bad[2 * CS + 9] ^= 1
    (tmp_path / "o.ct").write_bytes(bytes(bad))
    refused("chunk 2 failed its tag")
    refused("chunk 2 failed its tag", range="bytes=131072-131073")
    open_(tmp_path, out="elsewhere", range="bytes=0-9")
    (tmp_path / "o.ct").write_bytes(good)
    meta = json.loads((tmp_path / "o.meta.json").read_text())
    meta["x-oss-meta-client-side-encryption-matdesc"] = '{"k":"v"}'
    (tmp_path / "o.meta.json").write_text(json.dumps(meta))
    refused("wrapping tag failed")
    del meta["x-oss-meta-client-side-encryption-matdesc"]
    (tmp_path / "o.meta.json").write_text(json.dumps(meta))
    tags = (tmp_path / "o.tags").read_bytes()
    (tmp_path / "o.tags").write_bytes(tags + b"\0")
    refused("bytes follow its last tag")
    (tmp_path / "o.tags").unlink()
    refused("side-car missing")
    with pytest.raises(oss_cse.AuthenticationError, match="side-car missing"):
        oss_cse.decrypt_file(KEY, tmp_path / "o.ct", tmp_path / "o.meta.json", tmp_path / "bad")
    (tmp_path / "o.tags").write_bytes(tags)
    # Without the authentication metadata: refused with the side-car or under require_auth.
    stripped = {k: v for k, v in meta.items() if not k.startswith("x-oss-meta-cse-auth-")}
    (tmp_path / "o.meta.json").write_text(json.dumps(stripped))
    refused("no cse-auth-")
    with pytest.raises(oss_cse.AuthenticationError, match="not authenticated"):
        oss_cse.decrypt_file(KEY, tmp_path / "o.ct", tmp_path / "o.meta.json", tmp_path / "bad",
                             require_auth=True)
    assert issubclass(oss_cse.AuthenticationError, oss_cse.IntegrityError)


def test_trusted_writers_refuse_unsigned_and_foreign_objects(tmp_path):
    seed, other = bytes(range(32)), bytes(range(1, 33))
    data = written(tmp_path, name="s", writer_seed=seed)
    written(tmp_path, name="f")
    written(tmp_path, name="x", writer_seed=other)
    # The public key of a seed is in the side-car a signer wrote (offset 112).
    public = (tmp_path / "s.tags").read_bytes()[112:144]
    assert open_(tmp_path, name="s", trusted=[public]) == len(data)
    assert open_(tmp_path, name="s", out="r", trusted=[public], range="bytes=-3") == 3
    with pytest.raises(oss_cse.AuthenticationError, match="not signed"):
        open_(tmp_path, name="f", out="bad", trusted=[public])
    with pytest.raises(oss_cse.AuthenticationError, match="not trusted"):
        open_(tmp_path, name="x", out="bad", trusted=[public])
    with pytest.raises(ValueError, match="32 bytes"):
        open_(tmp_path, name="s", out="bad", trusted=[b"short"])
    with pytest.raises(ValueError, match="give auth_out"):
        oss_cse.encrypt_file(KEY, tmp_path / "s.plain", tmp_path / "n.ct", tmp_path / "n.json",
                             auth_chunk_size=CS)
    with pytest.raises(ValueError, match="not a multiple"):
        oss_cse.encrypt_file(KEY, tmp_path / "s.plain", tmp_path / "n.ct", tmp_path / "n.json",
                             auth_out=tmp_path / "n.tags", part_size=100_000)
    assert not (tmp_path / "n.ct").exists()
    # One file given as two of the paths is refused before anything is written.
    for out in ["n.ct", "n.json", "s.plain"]:
        with pytest.raises(ValueError, match="name the same file"):
            oss_cse.encrypt_file(KEY, tmp_path / "s.plain", tmp_path / "n.ct", tmp_path / "n.json",
                                 auth_out=tmp_path / out, force=True)
    assert (tmp_path / "s.plain").read_bytes() == data
    with pytest.raises(ValueError, match="name the same file"):
        oss_cse.decrypt_file(KEY, tmp_path / "s.ct", tmp_path / "s.meta.json", tmp_path / "s.tags",
                             auth=tmp_path / "s.tags", force=True)

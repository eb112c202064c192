"""SealingReader: the package's file-like encryptor. Expected ciphertexts come from
pycryptodome (interop/common.py), never from the package."""

import io
import os

import pytest

import oss_cse
from conftest import PRIVATE_PEM, plaintext, reference_ctr, reference_unwrap

KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)
MIB = 1 << 20


def reference(headers, data, offset=0):
    cek, iv = reference_unwrap(headers, PRIVATE_PEM.encode())
    return reference_ctr(cek, iv, data, offset)


def drain(reader, size):
    out, buf = bytearray(), bytearray(size)
    while n := reader.readinto(buf):
        out += memoryview(buf)[:n]
    return bytes(out)


class Trickle(io.RawIOBase):
    """A source that gives at most `most` bytes a read, as a pipe or socket does."""

    def __init__(self, data, most):
        self.data, self.at, self.most = data, 0, most

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.most, len(self.data) - self.at)
        b[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


class ReadOnly:
    """A source with `read` and no `readinto`."""

    def __init__(self, data):
        self.src = io.BytesIO(data)

    def read(self, n):
        return self.src.read(n)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("kind", ["raw file", "buffered file", "bytesio", "trickle", "read only"])
def test_any_source_and_buffer_give_the_reference_ciphertext(tmp_path, kind, threads):
    data = plaintext(2 * MIB + 12345)
    path = tmp_path / "plain"
    path.write_bytes(data)
    sources = {
        "raw file": lambda: open(path, "rb", buffering=0),
        "buffered file": lambda: open(path, "rb"),
        "bytesio": lambda: io.BytesIO(data),
        "trickle": lambda: Trickle(data, 70_001),
        "read only": lambda: ReadOnly(data),
    }
    for size in (MIB, 300_000, 4096, 3 * MIB):
        sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
        sealer = sealed.sealer()
        sealer.threads = threads
        source = sources[kind]()
        reader = oss_cse.SealingReader(sealer, source)
        assert drain(reader, size) == reference(sealed.to_headers(), data), (kind, size)
        assert reader.tell() == len(data)
        assert reader.readinto(bytearray(10)) == 0  # ended, and stays ended
        if kind in ("raw file", "buffered file", "bytesio"):
            assert source.tell() == len(data), "the source's position follows the reads"
        getattr(source, "close", lambda: None)()


def test_a_raw_file_is_read_from_its_position_and_left_after_what_was_read(tmp_path):
    # A part of a multipart upload sealed straight from its stretch of the file.
    data = plaintext(5 * MIB)
    path = tmp_path / "plain"
    path.write_bytes(data)
    upload = oss_cse.MultipartContext(KEY, 2 * MIB, len(data))
    offset, length = upload.part_range(2)
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        part = upload.part_sealer(2)
        reader = oss_cse.SealingReader(part, io.BufferedReader(Limited(f, length)))
        got = drain(reader, MIB)
    assert got == reference(upload.to_headers(), data[offset:offset + length], offset)
    with open(path, "rb", buffering=0) as f:
        f.seek(MIB)
        sealed = oss_cse.SealedEnvelope(KEY)
        reader = oss_cse.SealingReader(sealed.sealer(), f)
        buf = bytearray(MIB + 7)
        assert reader.readinto(buf) == MIB + 7
        assert f.tell() == 2 * MIB + 7
        assert bytes(buf) == reference(sealed.to_headers(), data[MIB:2 * MIB + 7])


class Limited(io.RawIOBase):
    """The next `n` bytes of a file."""

    def __init__(self, f, n):
        self.f, self.left = f, n

    def readable(self):
        return True

    def readinto(self, b):
        n = self.f.readinto(memoryview(b)[:min(len(b), self.left)])
        self.left -= n
        return n


def test_it_is_a_file_like_object():
    data = plaintext(MIB + 3)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    reader = oss_cse.SealingReader(sealed.sealer(), io.BytesIO(data))
    assert isinstance(reader, io.RawIOBase) and reader.readable() and not reader.seekable()
    want = reference(sealed.to_headers(), data)
    assert reader.read(10) == want[:10]
    assert io.BufferedReader(reader).read() == want[10:]
    reader.close()
    with pytest.raises(ValueError):
        reader.readinto(bytearray(1))


@pytest.mark.parametrize("raw", [True, False])
def test_a_short_source_is_truncated_and_a_long_one_extended(tmp_path, raw):
    path = tmp_path / "plain"
    for n, error in ((MIB - 1, oss_cse.TruncatedError), (MIB + 1, oss_cse.ExtendedError)):
        path.write_bytes(plaintext(n))
        source = open(path, "rb", buffering=0) if raw else io.BytesIO(plaintext(n))
        reader = oss_cse.SealingReader(
            oss_cse.SealedEnvelope(KEY, content_length=MIB).sealer(), source)
        with pytest.raises(error):
            drain(reader, 300_000)
        with pytest.raises(oss_cse.FinishedError, match="seal the object again"):
            reader.readinto(bytearray(10))
        source.close()
    # A part that is short is a LengthError.
    upload = oss_cse.MultipartContext(KEY, MIB, 2 * MIB)
    reader = oss_cse.SealingReader(upload.part_sealer(1), io.BytesIO(bytes(MIB - 16)))
    with pytest.raises(oss_cse.LengthError):
        drain(reader, MIB)


def test_a_file_that_shrinks_between_reads_is_truncated(tmp_path):
    path = tmp_path / "plain"
    path.write_bytes(plaintext(2 * MIB))
    with open(path, "rb", buffering=0) as f:
        reader = oss_cse.SealingReader(
            oss_cse.SealedEnvelope(KEY, content_length=2 * MIB).sealer(), f)
        assert reader.readinto(bytearray(MIB)) == MIB
        os.truncate(path, MIB + 100)
        assert reader.readinto(bytearray(MIB)) == 100
        with pytest.raises(oss_cse.TruncatedError):
            reader.readinto(bytearray(MIB))


def test_source_errors_pass_through_and_end_the_reader():
    class Failing(io.RawIOBase):
        calls = 0

        def readable(self):
            return True

        def readinto(self, b):
            Failing.calls += 1
            if Failing.calls > 2:
                raise OSError(5, "disk on fire")
            b[:10] = bytes(10)
            return 10

    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), Failing())
    with pytest.raises(OSError, match="disk on fire"):
        reader.readinto(bytearray(100))
    with pytest.raises(oss_cse.FinishedError):
        reader.readinto(bytearray(100))

    class TooMuch:
        def readinto(self, b):
            return len(b) + 1

    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), TooMuch())
    with pytest.raises(ValueError, match="returned"):
        reader.readinto(bytearray(100))


def test_a_non_blocking_source_with_nothing_yet_gives_none():
    class Empty:
        def readinto(self, b):
            return None

    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), Empty())
    assert reader.readinto(bytearray(100)) is None
    assert reader.tell() == 0


def test_the_reader_takes_the_sealer_over_and_refuses_bad_arguments():
    sealer = oss_cse.SealedEnvelope(KEY).sealer()
    oss_cse.SealingReader(sealer, io.BytesIO(b"x"))
    with pytest.raises(oss_cse.FinishedError, match="SealingReader"):
        sealer.update(b"x")
    with pytest.raises(oss_cse.FinishedError):
        oss_cse.SealingReader(sealer, io.BytesIO(b"x"))
    with pytest.raises(TypeError, match="Sealer or a PartSealer"):
        oss_cse.SealingReader(object(), io.BytesIO(b"x"))
    with pytest.raises(TypeError, match="readable"):
        oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), object())
    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), io.BytesIO(b"x"))
    with pytest.raises(TypeError):
        reader.readinto(b"immutable")

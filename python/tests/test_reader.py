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
    # A part of a multipart upload sealed straight from its stretch of the file: the reader
    # stops at the part's end, and leaves the file there.
    data = plaintext(5 * MIB)
    path = tmp_path / "plain"
    path.write_bytes(data)
    upload = oss_cse.MultipartContext(KEY, 2 * MIB, len(data))
    offset, length = upload.part_range(2)
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        reader = oss_cse.SealingReader(upload.part_sealer(2), f)
        got = drain(reader, 3 * MIB)
        assert f.tell() == offset + length
    assert got == reference(upload.to_headers(), data[offset:offset + length], offset)
    with open(path, "rb", buffering=0) as f:
        f.seek(MIB)
        sealed = oss_cse.SealedEnvelope(KEY)
        reader = oss_cse.SealingReader(sealed.sealer(), f)
        buf = bytearray(MIB + 7)
        assert reader.readinto(buf) == MIB + 7
        assert f.tell() == 2 * MIB + 7
        assert bytes(buf) == reference(sealed.to_headers(), data[MIB:2 * MIB + 7])


def test_reads_stop_at_the_declared_length_of_an_endless_source():
    # /dev/zero never ends: a part ends at its length, a whole object fails on the byte after.
    upload = oss_cse.MultipartContext(KEY, MIB, 3 * MIB)
    with open("/dev/zero", "rb", buffering=0) as zero:
        reader = oss_cse.SealingReader(upload.part_sealer(1), zero)
        got = drain(reader, 300_000)
    assert got == reference(upload.to_headers(), bytes(MIB))
    sealed = oss_cse.SealedEnvelope(KEY, content_length=MIB)
    with open("/dev/zero", "rb", buffering=0) as zero:
        reader = oss_cse.SealingReader(sealed.sealer(), zero)
        with pytest.raises(oss_cse.ExtendedError):
            drain(reader, 3 * MIB)
        assert reader.tell() == MIB


def test_a_file_whose_length_says_nothing_is_still_read():
    # Files in /proc report a length of 0.
    want = open("/proc/self/cmdline", "rb").read()
    assert want
    sealed = oss_cse.SealedEnvelope(KEY)
    with open("/proc/self/cmdline", "rb", buffering=0) as f:
        got = drain(oss_cse.SealingReader(sealed.sealer(), f), MIB)
    assert got == reference(sealed.to_headers(), want)


def test_typed_buffers_are_filled_as_bytes():
    import array
    data = plaintext(MIB)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    reader = oss_cse.SealingReader(sealed.sealer(), Trickle(data, 100_003))
    out = bytearray()
    while True:
        buf = array.array("I", bytes(300_000))
        n = reader.readinto(buf)
        if not n:
            break
        out += buf.tobytes()[:n]
    assert bytes(out) == reference(sealed.to_headers(), data)


def test_a_short_read_ends_the_call_and_nothing_now_gives_none():
    class Stutter(io.RawIOBase):
        def __init__(self, data):
            self.data, self.at, self.turn = data, 0, 0

        def readable(self):
            return True

        def readinto(self, b):
            self.turn += 1
            if self.turn % 3 == 0:
                return None
            n = min(len(b), 5000 if self.turn % 3 == 1 else len(b), len(self.data) - self.at)
            b[:n] = self.data[self.at:self.at + n]
            self.at += n
            return n

    data = plaintext(MIB + 99)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    reader = oss_cse.SealingReader(sealed.sealer(), Stutter(data))
    out, buf, nones, shorts = bytearray(), bytearray(600_000), 0, 0
    while True:
        n = reader.readinto(buf)
        if n is None:
            nones += 1
            continue
        if n == 0:
            break
        shorts += n == 5000  # the source's short read ended the call right there
        out += buf[:n]
    assert nones > 0 and shorts > 0
    assert bytes(out) == reference(sealed.to_headers(), data)


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


def test_source_errors_pass_through_and_wipe_the_buffer():
    class Failing(io.RawIOBase):
        """Fills whatever it is asked for, and fails from its `fail_at`-th call on."""

        def __init__(self, fail_at):
            self.calls, self.fail_at = 0, fail_at

        def readable(self):
            return True

        def readinto(self, b):
            self.calls += 1
            if self.calls == self.fail_at:
                raise OSError(5, "disk on fire")
            b[:] = b"p" * len(b)
            return len(b)

    # Failing after a segment was read and sealed in the same call: the bytes are lost, the
    # buffer holds no plaintext, and the reader is finished.
    reader = oss_cse.SealingReader(oss_cse.SealedEnvelope(KEY).sealer(), Failing(2))
    buf = bytearray(MIB)
    with pytest.raises(OSError, match="disk on fire"):
        reader.readinto(buf)
    assert buf == bytes(MIB)
    with pytest.raises(oss_cse.FinishedError):
        reader.readinto(bytearray(100))
    # Failing before anything was read (an interrupted first read): the reader goes on.
    sealed = oss_cse.SealedEnvelope(KEY, content_length=MIB)
    reader = oss_cse.SealingReader(sealed.sealer(), Failing(1))
    with pytest.raises(OSError, match="disk on fire"):
        reader.readinto(bytearray(MIB))
    buf = bytearray(MIB)
    assert reader.readinto(buf) == MIB
    assert bytes(buf) == reference(sealed.to_headers(), b"p" * MIB)

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


def test_the_sealing_threads_are_a_pool_that_a_forked_child_remakes():
    import multiprocessing
    sealer = oss_cse.SealedEnvelope(KEY).sealer()
    sealer.threads = 2
    sealer.update(bytes(2 * MIB))  # the parent's pool exists now
    names = {open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")}
    assert "oss_cse-seal-0" in names, names
    child = multiprocessing.get_context("fork").Process(target=_seal_in_child)
    child.start()
    child.join(60)
    assert child.exitcode == 0, "the child sealed on the parent's pool, which it has no threads of"


def _seal_in_child():
    data = plaintext(2 * MIB + 1)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    sealer = sealed.sealer()
    sealer.threads = 2
    ok = sealer.update(data) == reference(sealed.to_headers(), data)
    os._exit(0 if ok else 1)

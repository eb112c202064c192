"""Buffers, state rules and the exception types for bad inputs."""

import array
import base64

import pytest

import oss_cse
from conftest import OTHER_PEM, PRIVATE_PEM, PUBLIC_PEM, plaintext, reference_ctr, reference_unwrap

KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)


def sealed_object(n=1000):
    data = plaintext(n)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=n)
    sealer = sealed.sealer()
    ct = sealer.update(data)
    sealer.finish()
    return data, ct, sealed.to_headers()


def reference_material(headers):
    return reference_unwrap(headers, PRIVATE_PEM.encode())


def test_every_buffer_kind_gives_the_reference_ciphertext():
    data = plaintext(70_000)  # above the GIL-release threshold too
    sealed = oss_cse.SealedEnvelope(KEY)
    cek, iv = reference_material(sealed.to_headers())
    want = reference_ctr(cek, iv, data)
    # update(bytes) -> bytes
    assert sealed.sealer().update(data) == want
    # update_in_place on bytearray, memoryview slices, array('B')
    buf = bytearray(data)
    s = sealed.sealer()
    assert s.update_in_place(buf) == slice(0, len(buf), 1)
    assert bytes(buf) == want
    buf, s = bytearray(data), sealed.sealer()
    mv = memoryview(buf)
    for at in range(0, len(buf), 333):
        s.update_in_place(mv[at:at + 333])
    assert bytes(buf) == want
    arr, s = array.array("B", data), sealed.sealer()
    s.update_in_place(arr)
    assert arr.tobytes() == want
    # update_into: bytes or memoryview into a bytearray, and into itself
    dst, s = bytearray(len(data) + 10), sealed.sealer()
    assert s.update_into(memoryview(data)[:50_000], dst) == 50_000
    assert s.update_into(data[50_000:], memoryview(dst)[50_000:]) == 20_000
    assert bytes(dst[:len(data)]) == want
    same, s = bytearray(data), sealed.sealer()
    assert s.update_into(same, same) == len(data)
    assert bytes(same) == want


def test_large_chunks_seal_on_threads_to_the_reference_ciphertext():
    # Chunks of 512 KiB and more are split over `threads` threads (pieces of whole 64-byte
    # runs but the last); any thread count, chunk length and entry point gives the same bytes.
    mib = 1 << 20
    data = plaintext(3 * mib + 4097)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    cek, iv = reference_material(sealed.to_headers())
    want = reference_ctr(cek, iv, data)
    assert 1 <= sealed.sealer().threads <= 8
    cuts = [mib + 5, 2 * mib - 64 * 1024, 512 * 1024 - 1, len(data)]
    for threads in (1, 2, 3, 8):
        for entry in ("in_place", "into", "bytes"):
            s = sealed.sealer()
            s.threads = threads
            assert s.threads == threads
            out, at = bytearray(), 0
            for cut in cuts:
                chunk = data[at:at + cut]
                at += len(chunk)
                if entry == "in_place":
                    buf = bytearray(chunk)
                    s.update_in_place(memoryview(buf))
                    out += buf
                elif entry == "into":
                    dst = bytearray(len(chunk) + 3)
                    assert s.update_into(chunk, dst) == len(chunk)
                    out += dst[:len(chunk)]
                else:
                    out += s.update(chunk)
            assert s.finish() == len(data)
            assert bytes(out) == want, (threads, entry)


def test_a_threaded_chunk_past_the_length_changes_nothing():
    mib = 1 << 20
    sealed = oss_cse.SealedEnvelope(KEY, content_length=2 * mib)
    s = sealed.sealer()
    s.threads = 4
    with pytest.raises(oss_cse.ExtendedError):
        s.update_in_place(bytearray(2 * mib + 1))
    assert s.position == 0
    with pytest.raises(oss_cse.BufferTooSmallError):
        s.update_into(bytes(mib), bytearray(mib - 1))
    assert s.position == 0
    data = plaintext(2 * mib)
    buf = bytearray(data)
    s.update_in_place(buf)
    assert s.finish() == 2 * mib
    cek, iv = reference_material(sealed.to_headers())
    assert bytes(buf) == reference_ctr(cek, iv, data)
    with pytest.raises(ValueError, match="at least 1"):
        sealed.sealer().threads = 0


def test_a_part_seals_on_threads_and_keeps_its_length():
    mib = 1 << 20
    data = plaintext(3 * mib)
    upload = oss_cse.MultipartContext(KEY, 2 * mib, len(data))
    cek, iv = reference_material(upload.to_headers())
    want = reference_ctr(cek, iv, data)
    part = upload.part_sealer(2)  # 1 MiB at offset 2 MiB
    part.threads = 3
    with pytest.raises(oss_cse.LengthError):
        part.update(bytes(mib + 1))
    assert part.remaining == mib
    assert part.update(data[2 * mib:]) == want[2 * mib:]
    assert part.finish() == mib
    first = upload.part_sealer(1)
    first.threads = 2
    buf = bytearray(data[:2 * mib])
    first.update_in_place(buf)
    first.finish()
    assert bytes(buf) == want[:2 * mib]


def test_buffer_misuse_is_refused():
    s = oss_cse.SealedEnvelope(KEY).sealer()
    with pytest.raises(TypeError):
        s.update_in_place(b"immutable bytes")
    with pytest.raises(TypeError):
        s.update_in_place("text")
    with pytest.raises(TypeError):
        s.update_into(b"abc", b"xyz")
    buf = bytearray(32)
    with pytest.raises(ValueError):
        s.update_into(memoryview(buf)[:16], memoryview(buf)[8:24])
    with pytest.raises(oss_cse.BufferTooSmallError) as e:
        s.update_into(b"0123456789", bytearray(4))
    assert e.value.args[1] == 10
    assert s.position == 0  # nothing was consumed


def test_declared_length_is_enforced_both_ways():
    sealed = oss_cse.SealedEnvelope(KEY, content_length=10)
    s = sealed.sealer()
    with pytest.raises(oss_cse.ExtendedError):
        s.update(bytes(11))
    s.update(bytes(9))
    assert s.remaining == 1
    with pytest.raises(oss_cse.TruncatedError):
        s.finish()
    with pytest.raises(oss_cse.FinishedError):
        s.update(b"x")
    data, ct, headers = sealed_object(1000)
    env = oss_cse.Envelope.from_headers(headers)
    o = env.whole_opener(env.open(KEY))
    o.update(ct[:999])
    with pytest.raises(oss_cse.TruncatedError):
        o.finish()
    o = env.whole_opener(env.open(KEY))
    with pytest.raises(oss_cse.ExtendedError):
        o.update(ct + b"\0")
    assert isinstance(oss_cse.TruncatedError("x"), oss_cse.LengthError)


def test_content_md5_mismatch_is_an_integrity_error():
    import hashlib
    data = plaintext(100)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=100, content_md5=hashlib.md5(data).digest())
    ct = bytearray(sealed.sealer().update(data))
    env = oss_cse.Envelope.from_headers(sealed.to_headers())
    assert env.unencrypted_content_md5 == hashlib.md5(data).digest()
    ct[3] ^= 1  # CTR is malleable; only the MD5 notices
    o = env.whole_opener(env.open(KEY))
    o.update(bytes(ct))
    with pytest.raises(oss_cse.IntegrityError):
        o.finish()


def test_unwrap_failures_are_one_opaque_error():
    data, ct, headers = sealed_object()
    env = oss_cse.Envelope.from_headers(headers)
    with pytest.raises(oss_cse.UnwrapError) as wrong_key:
        env.open(oss_cse.RsaMasterCipher.from_pem(OTHER_PEM))
    # A damaged wrapped key: flip a byte of the value the SDK-readable dict holds for it.
    wrapped = base64.b64encode(env.wrapped_key).decode()
    name = next(k for k, v in headers.items() if v == wrapped)
    damaged = dict(headers)
    raw = bytearray(env.wrapped_key)
    raw[10] ^= 0xFF
    damaged[name] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(oss_cse.UnwrapError) as bad_header:
        oss_cse.Envelope.from_headers(damaged).open(KEY)
    assert str(wrong_key.value) == str(bad_header.value)
    with pytest.raises(oss_cse.UnwrapError):
        KEY.decrypt(b"\x01" * 256)


def test_python_master_failures_map_to_wrap_and_opaque_unwrap():
    class Failing:
        def get_wrap_algorithm(self):
            return "KMS/ALICLOUD"

        def get_mat_desc(self):
            return ""

        def encrypt(self, data):
            raise ConnectionError("kms unreachable")

        def decrypt(self, data):
            raise ConnectionError("secret detail")

    with pytest.raises(oss_cse.WrapError) as e:
        oss_cse.SealedEnvelope(Failing())
    assert isinstance(e.value.__cause__, ConnectionError)
    data, ct, headers = sealed_object()
    kms_headers = {k: ("KMS/ALICLOUD" if v == oss_cse.WRAP_ALG_RSA else v) for k, v in headers.items()}
    with pytest.raises(oss_cse.UnwrapError) as e:
        oss_cse.Envelope.from_headers(kms_headers).open(Failing())
    assert "secret detail" not in str(e.value) and e.value.__cause__ is None
    with pytest.raises(TypeError):
        oss_cse.SealedEnvelope(object())


def test_key_problems_are_invalid_key_errors():
    with pytest.raises(oss_cse.InvalidKeyError):
        oss_cse.RsaMasterCipher.from_pem("-----BEGIN NOTHING-----")
    with pytest.raises(oss_cse.InvalidKeyError):
        oss_cse.RsaMasterCipher.from_der(b"\x30\x03\x02\x01\x00")
    public = oss_cse.RsaMasterCipher.from_pem(PUBLIC_PEM)
    assert not public.has_private_key and public.bits == 2048
    data, ct, headers = sealed_object()
    with pytest.raises(oss_cse.InvalidKeyError):
        oss_cse.Envelope.from_headers(headers).open(public)


def test_header_problems_name_the_header():
    data, ct, headers = sealed_object()
    # Drop the entry whose value is the content cipher's name.
    name = next(k for k, v in headers.items() if v == oss_cse.CEK_ALG_AES_CTR)
    partial = {k: v for k, v in headers.items() if k != name}
    with pytest.raises(oss_cse.InvalidHeaderError) as e:
        oss_cse.Envelope.from_headers(partial)
    assert name[len(oss_cse.DEFAULT_PREFIX):] in str(e.value)
    with pytest.raises(oss_cse.InvalidHeaderError):
        oss_cse.Envelope.from_headers(list(headers.items()) + [(name.upper(), "x")])
    with pytest.raises(oss_cse.NotEncryptedError):
        oss_cse.Envelope.from_headers({"content-type": "text/plain"})
    assert oss_cse.Envelope.from_headers({"content-type": "text/plain"}, strict=False) is None
    assert all(oss_cse.is_envelope_header(k) for k in headers)
    assert not oss_cse.is_envelope_header("x-oss-meta-other")
    # Round trip through the dict, names in any case.
    env = oss_cse.Envelope.from_headers({k.upper(): v for k, v in headers.items()})
    assert env.to_headers() == headers


def test_range_errors():
    with pytest.raises(oss_cse.RangeError):
        oss_cse.plan_range("bytes=5-1")
    with pytest.raises(oss_cse.RangeError):
        oss_cse.plan_range("items=0-1")
    with pytest.raises(oss_cse.RangeNotSatisfiableError):
        oss_cse.plan_range("bytes=100-", 100)
    plan = oss_cse.plan_range("bytes=20-40")
    assert plan.wire_range == "bytes=16-40"
    assert plan.request_headers() == {"Range": "bytes=16-40",
                                      oss_cse.RANGE_BEHAVIOR_HEADER: "standard"}
    with pytest.raises(oss_cse.RangeError):
        plan.on_response(206, "bytes 30-40/100", 11)  # does not cover the start
    with pytest.raises(oss_cse.RangeNotSatisfiableError):
        plan.on_response(416, "bytes */10")
    assert isinstance(oss_cse.RangeNotSatisfiableError("x"), oss_cse.RangeError)


def test_multipart_errors():
    with pytest.raises(oss_cse.MultipartError):
        oss_cse.MultipartContext(KEY, 15, 100)
    with pytest.raises(oss_cse.MultipartError):
        oss_cse.MultipartContext(KEY, 16, 0)
    upload = oss_cse.MultipartContext(KEY, 16, 40)
    assert upload.part_count == 3 and upload.part_range(3) == (32, 8)
    with pytest.raises(oss_cse.MultipartError):
        upload.part_sealer(4)
    with pytest.raises(oss_cse.LengthError):
        upload.seal_part(1, bytearray(15))
    upload.seal_part(1, bytearray(16))  # the wrong length did not burn part 1
    with pytest.raises(oss_cse.MultipartError):
        upload.mark_uploaded(2)  # never sealed
    part = upload.part_sealer(2)
    assert len(part) == 16
    part.update(bytes(10))
    with pytest.raises(oss_cse.LengthError):
        part.finish()
    # Resuming: the envelope carries the sizes, and earlier parts stay claimed.
    resumed = oss_cse.MultipartContext.resume(upload.envelope, KEY, sealed_parts=[1, 2])
    assert resumed.part_count == 3
    with pytest.raises(oss_cse.MultipartError):
        resumed.part_sealer(1)
    assert len(resumed.part_sealer(3)) == 8


def test_no_secret_in_reprs():
    data, ct, headers = sealed_object()
    cek, iv = reference_material(headers)
    env = oss_cse.Envelope.from_headers(headers)
    material = env.open(KEY)
    sealed = oss_cse.SealedEnvelope(KEY)
    s_cek, s_iv = reference_material(sealed.to_headers())
    texts = [repr(material), str(material), repr(sealed), repr(KEY), repr(env),
             repr(env.whole_opener(material)), repr(sealed.sealer())]
    for secret in (cek, iv, s_cek, s_iv):
        for form in (secret.hex(), base64.b64encode(secret).decode(), repr(secret)):
            assert all(form not in t for t in texts)
    assert "secret" in repr(material)
    assert not any(hasattr(material, a) for a in ("key", "counter", "as_bytes", "__dict__"))

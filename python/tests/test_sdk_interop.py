"""Objects written by alibabacloud-oss-v2 and oss2 decrypt through the package, whole and ranged;
objects sealed by the package decrypt in both SDKs; the two master-cipher adapters work in both
directions."""

import json
import random
from concurrent.futures import ThreadPoolExecutor

import alibabacloud_oss_v2 as oss
import oss2
import pytest

import oss_cse
from conftest import (BUCKET, PRIVATE_PEM, PUBLIC_PEM, bounded_cases, plaintext,
                      reference_ctr, reference_unwrap, sdk_master)

KEY = oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM)
SIZES = [0, 1, 15, 16, 17, 4096, 100_003]


def v2_put(ec, key, data, **kw):
    ec.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=data, **kw))


def v2_get(ec, key, range_header=None):
    return ec.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key,
                                              range_header=range_header)).body.read()


def v2_multipart(ec, key, data, part_size, order):
    init = ec.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=BUCKET, key=key, cse_part_size=part_size, cse_data_size=len(data)))
    etags = {}
    for n in order:
        r = ec.upload_part(oss.UploadPartRequest(
            bucket=BUCKET, key=key, upload_id=init.upload_id, part_number=n,
            cse_multipart_context=init.cse_multipart_context,
            body=data[(n - 1) * part_size: n * part_size]))
        etags[n] = r.etag
    ec.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key=key, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=n, etag=etags[n]) for n in sorted(etags)])))


def oss2_multipart(bucket, key, data, part_size, order):
    ctx = oss2.models.MultipartUploadCryptoContext(data_size=len(data), part_size=part_size)
    init = bucket.init_multipart_upload(key, upload_context=ctx)
    parts = []
    for n in order:
        r = bucket.upload_part(key, init.upload_id, n, data[(n - 1) * part_size: n * part_size],
                               upload_context=ctx)
        parts.append(oss2.models.PartInfo(n, r.etag))
    bucket.complete_multipart_upload(key, init.upload_id, sorted(parts, key=lambda p: p.part_number))


def package_reads(stored, data, key=KEY):
    """Whole and bounded ranges of a stored object through the package, against `data`."""
    envelope = oss_cse.Envelope.from_headers(stored.meta)
    material = envelope.open(key)
    opener = envelope.whole_opener(material)
    body = bytearray(stored.data)
    kept = opener.update_in_place(body)
    assert opener.finish() == len(data)
    assert bytes(body[kept]) == data
    for a, b in bounded_cases(len(data)):
        # What a server answers to the planned request: 206 over the aligned span.
        plan = oss_cse.plan_range(f"bytes={a}-{b}", len(stored.data))
        first = int(plan.wire_range.split("=")[1].split("-")[0])
        total = len(stored.data)
        response = plan.on_response(206, f"bytes {first}-{b}/{total}", b - first + 1)
        assert response.content_range == f"bytes {a}-{b}/{total}"
        opener = response.opener(material)
        got = opener.update(stored.data[first:b + 1])
        opener.finish()
        assert got == data[a:b + 1], (a, b)


@pytest.mark.parametrize("n", SIZES)
def test_v2_put_decrypts_here(fake, v2_client, n):
    data = plaintext(n)
    v2_put(oss.EncryptionClient(v2_client, sdk_master()), f"v2-put-{n}", data)
    package_reads(fake.get_raw(BUCKET, f"v2-put-{n}"), data)


def test_v2_put_with_matdesc_picks_the_key_by_matdesc(fake, v2_client):
    data = plaintext(5000)
    v2_put(oss.EncryptionClient(v2_client, sdk_master({"k1": "v1", "a": "b/c"})), "v2-md", data)
    stored = fake.get_raw(BUCKET, "v2-md")
    assert oss_cse.Envelope.from_headers(stored.meta).matdesc  # the SDK wrote one
    # The default key is the wrong one; the keyring must pick ours by its matdesc.
    from conftest import OTHER_PEM
    ring = oss_cse.Keyring(oss_cse.RsaMasterCipher.from_pem(OTHER_PEM),
                           oss_cse.RsaMasterCipher.from_pem(PRIVATE_PEM,
                                                            matdesc={"a": "b/c", "k1": "v1"}))
    package_reads(stored, data, key=ring)


@pytest.mark.parametrize("part_size,n", [(16, 100), (65536, 200_007)])
def test_v2_multipart_decrypts_here(fake, v2_client, part_size, n):
    data = plaintext(n)
    order = list(range(1, -(-n // part_size) + 1))
    random.Random(7).shuffle(order)
    v2_multipart(oss.EncryptionClient(v2_client, sdk_master()), f"v2-mp-{n}", data, part_size, order)
    stored = fake.get_raw(BUCKET, f"v2-mp-{n}")
    assert oss_cse.Envelope.from_headers(stored.meta).part_size == part_size
    package_reads(stored, data)


@pytest.mark.parametrize("n", SIZES)
def test_oss2_put_decrypts_here(fake, oss2_bucket, n):
    data = plaintext(n)
    oss2_bucket.put_object(f"oss2-put-{n}", data)
    package_reads(fake.get_raw(BUCKET, f"oss2-put-{n}"), data)


def test_oss2_multipart_decrypts_here(fake, oss2_bucket):
    data = plaintext(300_001)
    oss2_multipart(oss2_bucket, "oss2-mp", data, 100 * 1024, [3, 1, 2])
    package_reads(fake.get_raw(BUCKET, "oss2-mp"), data)


def seal_here(data, master=KEY, chunk=7):
    sealed = oss_cse.SealedEnvelope(master, content_length=len(data))
    sealer = sealed.sealer()
    out = bytearray(data)
    view = memoryview(out)
    for at in range(0, len(out), chunk):
        sealer.update_in_place(view[at:at + chunk])
    sealer.finish()
    return bytes(out), sealed.to_headers()


@pytest.mark.parametrize("n", SIZES)
def test_sealed_here_decrypts_in_both_sdks(fake, v2_client, oss2_bucket, n):
    data = plaintext(n)
    ct, headers = seal_here(data, chunk=4099)
    # Independently of the package: unwrap with pycryptodome, decrypt AES-CTR.
    cek, iv = reference_unwrap(headers, PRIVATE_PEM.encode())
    assert len(cek) == 32 and len(iv) == 16 and iv[8:12] == bytes(4)
    assert reference_ctr(cek, iv, ct) == data
    fake.put_raw(BUCKET, f"here-{n}", ct, headers)
    ec = oss.EncryptionClient(v2_client, sdk_master())
    assert v2_get(ec, f"here-{n}") == data
    assert oss2_bucket.get_object(f"here-{n}").read() == data
    for a, b in bounded_cases(n):
        assert v2_get(ec, f"here-{n}", f"bytes={a}-{b}") == data[a:b + 1], (a, b)
        assert oss2_bucket.get_object(f"here-{n}", byte_range=(a, b)).read() == data[a:b + 1]


def test_multipart_sealed_here_from_threads_decrypts_in_both_sdks(fake, v2_client, oss2_bucket):
    part_size, data = 64 * 1024, plaintext(1_000_003)
    upload = oss_cse.MultipartContext(KEY, part_size, len(data))
    parts = {}

    def seal(n):
        offset, length = upload.part_range(n)
        buf = bytearray(data[offset:offset + length])
        upload.seal_part(n, buf)  # GIL released
        upload.mark_uploaded(n)
        return n, bytes(buf)

    with ThreadPoolExecutor(4) as pool:
        parts.update(pool.map(seal, reversed(range(1, upload.part_count + 1))))
    assert upload.is_complete() and upload.pending_parts() == []
    with pytest.raises(oss_cse.MultipartError):
        upload.part_sealer(1)  # a second sealer would reuse keystream
    ct = b"".join(parts[n] for n in sorted(parts))
    headers = upload.to_headers()
    cek, iv = reference_unwrap(headers, PRIVATE_PEM.encode())
    assert reference_ctr(cek, iv, ct) == data
    fake.put_raw(BUCKET, "here-mp", ct, headers, object_type="Multipart")
    assert v2_get(oss.EncryptionClient(v2_client, sdk_master()), "here-mp") == data
    assert oss2_bucket.get_object("here-mp", byte_range=(70_000, 200_000)).read() \
        == data[70_000:200_001]


def test_package_key_drives_the_sdk_encryption_client(fake, v2_client):
    """RsaMasterCipher satisfies alibabacloud_oss_v2.crypto.MasterCipher."""
    assert isinstance(KEY, oss.crypto.MasterCipher)
    data = plaintext(10_000)
    v2_put(oss.EncryptionClient(v2_client, KEY), "sdk-with-our-key", data)
    # Read back by the SDK with its own key, and by the SDK with ours.
    assert v2_get(oss.EncryptionClient(v2_client, sdk_master()), "sdk-with-our-key") == data
    assert v2_get(oss.EncryptionClient(v2_client, KEY), "sdk-with-our-key", "bytes=100-5000") \
        == data[100:5001]
    headers = fake.get_raw(BUCKET, "sdk-with-our-key").meta
    cek, iv = reference_unwrap(headers, PRIVATE_PEM.encode())
    assert KEY.decrypt(oss_cse.Envelope.from_headers(headers).wrapped_key) == cek
    assert KEY.decrypt(oss_cse.Envelope.from_headers(headers).wrapped_counter) == iv


def test_sdk_master_cipher_drives_the_engine(fake, v2_client):
    """A Python MasterCipher (the SDK's) seals and opens through the engine."""
    master = sdk_master({"kms": "stand-in"})
    data = plaintext(3000)
    ct, headers = seal_here(data, master=master, chunk=1000)
    assert oss_cse.Envelope.from_headers(headers).wrap_alg == master.get_wrap_algorithm()
    fake.put_raw(BUCKET, "engine-with-sdk-key", ct, headers)
    assert v2_get(oss.EncryptionClient(v2_client, sdk_master()), "engine-with-sdk-key") == data
    envelope = oss_cse.Envelope.from_headers(headers)
    opener = envelope.whole_opener(envelope.open(master))
    assert opener.update(ct) == data
    opener.finish()


def test_a_sealing_reader_is_a_body_the_sdk_uploads_and_both_sdks_decrypt(
        fake, v2_client, oss2_bucket, tmp_path):
    # The package's file-like encryptor, handed to the plain SDK V2 client as the body of a
    # PutObject with the envelope headers: the SDK streams it, and both SDKs decrypt the object.
    data = plaintext(3 * 1024 * 1024 + 5)
    path = tmp_path / "plain"
    path.write_bytes(data)
    sealed = oss_cse.SealedEnvelope(KEY, content_length=len(data))
    with open(path, "rb", buffering=0) as f:
        body = oss_cse.SealingReader(sealed.sealer(), f)
        v2_client.put_object(oss.PutObjectRequest(
            bucket=BUCKET, key="reader-body", body=body, headers=sealed.to_headers()))
    ec = oss.EncryptionClient(v2_client, sdk_master())
    assert v2_get(ec, "reader-body") == data
    assert oss2_bucket.get_object("reader-body", byte_range=(1_000_000, 2_500_000)).read() \
        == data[1_000_000:2_500_001]


@pytest.mark.parametrize("part_size", [None, 131072])
def test_authenticated_objects_written_here_read_unchanged_in_both_sdks(
        tmp_path, fake, v2_client, oss2_bucket, part_size):
    # The cse-auth-* metadata is unknown to the SDKs and the ciphertext is unchanged: both read
    # the object as any other, whole and ranged.
    data = plaintext(300_001)
    (tmp_path / "p").write_bytes(data)
    oss_cse.encrypt_file(KEY, tmp_path / "p", tmp_path / "c", tmp_path / "m.json",
                         part_size=part_size, auth_out=tmp_path / "t", auth_chunk_size=65536)
    headers = json.loads((tmp_path / "m.json").read_text())
    assert headers["x-oss-meta-cse-auth-version"] == "1"
    key = f"auth-{part_size}"
    fake.put_raw(BUCKET, key, (tmp_path / "c").read_bytes(), headers)
    ec = oss.EncryptionClient(v2_client, sdk_master())
    assert v2_get(ec, key) == data
    assert oss2_bucket.get_object(key).read() == data
    for a, b in bounded_cases(len(data)):
        assert v2_get(ec, key, f"bytes={a}-{b}") == data[a:b + 1], (a, b)
        assert oss2_bucket.get_object(key, byte_range=(a, b)).read() == data[a:b + 1]

//! The encryption client against the in-memory test server over loopback HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cloned_ref_to_slice_refs
)]

mod common;

use bytes::Bytes;
use common::*;
use cse_core::{
    ByteRange, ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Envelope, Field, Keyring, Opener,
    RsaMasterCipher, Sealer,
};
use cse_oss::{
    Credentials, DownloadOptions, EncryptionClient, Error, InitiateMultipartUploadRequest,
    OssClient, PutObjectRequest, UploadOptions,
};
use cse_oss_test_server::TestServer;
use http::HeaderMap;

fn rng() -> impl cse_core::rand_core::CryptoRng {
    cse_core::rand_core::UnwrapErr(getrandom::SysRng)
}

fn cse_header(field: Field) -> String {
    format!("{DEFAULT_PREFIX}{}", field.suffix())
}

/// Decrypts what the server stored with the engine directly, independent of the client.
fn decrypt_stored(server: &TestServer, key: &str) -> Vec<u8> {
    let stored = server.object(BUCKET, key).expect("object stored");
    let envelope = cse_core::decode_envelope(
        stored.meta.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &DecodeOptions::strict(),
    )
    .unwrap()
    .unwrap();
    let material = Keyring::new(master()).open(&envelope, &mut rng()).unwrap();
    let mut body = stored.data.to_vec();
    let mut opener = envelope.whole_opener(&material);
    let kept = opener.update_in_place(&mut body).unwrap();
    opener.finish().unwrap();
    body[kept].to_vec()
}

#[tokio::test]
async fn put_then_get_whole_and_ranged() {
    let server = server().await;
    let client = client(&server);
    for len in [0usize, 1, 15, 16, 17, 1000, 100_003] {
        let key = format!("dir/obj {len}+~.bin");
        let plain = data(len);
        client
            .put_object(
                PutObjectRequest::new(BUCKET, &key, plain.clone())
                    .header("x-oss-meta-Owner", "Tester")
                    .header("content-type", "application/x-test"),
            )
            .await
            .unwrap();
        let stored = server.object(BUCKET, &key).unwrap();
        assert_eq!(stored.data.len(), len, "CTR keeps the length");
        if len > 16 {
            assert_ne!(&stored.data[..], &plain[..], "stored in the clear");
        }
        for field in [Field::Key, Field::Start, Field::CekAlg, Field::WrapAlg] {
            assert!(
                stored.meta.iter().any(|(n, _)| *n == cse_header(field)),
                "missing {field}"
            );
        }
        let meta = |f: Field| {
            stored
                .meta
                .iter()
                .find(|(n, _)| *n == cse_header(f))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(meta(Field::CekAlg).as_deref(), Some("AES/CTR/NoPadding"));
        assert_eq!(
            meta(Field::WrapAlg).as_deref(),
            Some("RSA/NONE/PKCS1Padding")
        );
        assert_eq!(meta(Field::UnencryptedContentLength), Some(len.to_string()));
        assert!(
            stored
                .meta
                .iter()
                .any(|(n, v)| n == "x-oss-meta-owner" && v == "Tester")
        );
        assert_eq!(decrypt_stored(&server, &key), plain);

        let got = client.get_object(BUCKET, &key, None).await.unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(got.content_length, Some(len as u64));
        assert!(got.envelope.is_some());
        assert_eq!(got.body.bytes().await.unwrap(), plain);

        let head = client.head_object(BUCKET, &key).await.unwrap();
        assert_eq!(head.content_length, Some(len as u64));
        assert!(head.envelope.is_some());
        let meta = client.get_object_meta(BUCKET, &key).await.unwrap();
        assert_eq!(meta.content_length, Some(len as u64));
        assert_eq!(meta.etag, head.etag);
    }

    let key = "dir/obj 1000+~.bin";
    let plain = data(1000);
    for range in [
        "bytes=0-0",
        "bytes=0-15",
        "bytes=1-1",
        "bytes=15-16",
        "bytes=17-500",
        "bytes=990-2000",
        "bytes=999-",
        "bytes=16-",
        "bytes=-1",
        "bytes=-17",
        "bytes=-5000",
        "bytes=1000-",
        "bytes=1008-2000",
        "bytes=5000-6000",
    ] {
        match (
            cse_testkit::range::selected(&plain, range),
            client.get_object(BUCKET, key, Some(range)).await,
        ) {
            (Some(want), Ok(out)) => {
                assert_eq!(out.status, 206, "{range}");
                assert_eq!(out.content_length, Some(want.len() as u64), "{range}");
                let cr = out.content_range.unwrap();
                assert_eq!(cr.total, 1000, "{range}");
                assert_eq!(out.body.bytes().await.unwrap(), want, "{range}");
            }
            (None, Err(Error::Core(cse_core::Error::RangeNotSatisfiable { .. }))) => {}
            (want, got) => panic!("{range}: expected {:?}, got {got:?}", want.map(|w| w.len())),
        }
    }
    // Every ranged GET went out block-aligned with the standard range behaviour.
    let ranged: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.header("range").is_some())
        .collect();
    assert!(ranged.len() >= 14);
    for r in &ranged {
        assert_eq!(r.header("x-oss-range-behavior"), Some("standard"));
        let range = ByteRange::parse(r.header("range").unwrap()).unwrap();
        if let ByteRange::Bounded { first, .. } | ByteRange::From { first } = range {
            assert_eq!(first % 16, 0, "{range}");
        }
    }
    for bad in ["bytes=5-1", "bytes=a-b", "items=0-1", "bytes=0-1,5-6"] {
        assert!(
            matches!(
                client.get_object(BUCKET, key, Some(bad)).await,
                Err(Error::Core(cse_core::Error::InvalidRange(_)))
            ),
            "{bad}"
        );
    }
    // The last 0 bytes: never satisfiable, refused before any request.
    let r = client.get_object(BUCKET, key, Some("bytes=-0")).await;
    assert!(
        matches!(
            r,
            Err(Error::Core(
                cse_core::Error::InvalidRange(_) | cse_core::Error::RangeNotSatisfiable { .. }
            ))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn reads_objects_sealed_elsewhere_and_matches_keys_by_matdesc() {
    let server = server().await;
    // An object sealed by the engine directly, with a matdesc, as another SDK would store it.
    let other = RsaMasterCipher::from_pem(PEM)
        .unwrap()
        .with_matdesc(&cse_core::MatDesc::parse(br#"{"k": "v"}"#).unwrap());
    let plain = data(777);
    let material = ContentMaterial::generate(&mut rng());
    let envelope = Envelope::seal(&material, &other, &mut rng()).unwrap();
    let mut body = plain.clone();
    Sealer::new(&material).update_in_place(&mut body).unwrap();
    let headers = envelope.to_headers(DEFAULT_PREFIX).unwrap();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    server.put_raw(BUCKET, "foreign", Bytes::from(body), &pairs);
    let client = EncryptionClient::with_decrypt_master_ciphers(
        plain_client(&server),
        master(),
        vec![Box::new(other)],
    );
    let out = client
        .get_object(BUCKET, "foreign", Some("bytes=100-199"))
        .await
        .unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain[100..200]);

    // Unencrypted objects pass through, ranges included, unless the client is strict.
    server.put_raw(BUCKET, "clear", Bytes::from(plain.clone()), &[]);
    let out = client.get_object(BUCKET, "clear", None).await.unwrap();
    assert!(out.envelope.is_none());
    assert_eq!(out.body.bytes().await.unwrap(), plain);
    let out = client
        .get_object(BUCKET, "clear", Some("bytes=3-40"))
        .await
        .unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain[3..=40]);
    let strict = client.clone().strict();
    assert!(matches!(
        strict.get_object(BUCKET, "clear", None).await,
        Err(Error::Core(cse_core::Error::NotEncrypted))
    ));
}

fn plain_client(server: &TestServer) -> OssClient {
    plain(server)
}

#[tokio::test]
async fn virtual_hosted_addressing() {
    let server = server().await;
    let http = reqwest::Client::builder()
        .resolve(&format!("{BUCKET}.localhost"), server.addr())
        .build()
        .unwrap();
    let oss = OssClient::builder(format!("http://localhost:{}", server.addr().port()))
        .credentials(Credentials::new(AK, SK))
        .http_client(http)
        .build()
        .unwrap();
    assert!(!oss.is_path_style());
    let client = EncryptionClient::new(oss, master());
    client
        .put_object(PutObjectRequest::new(BUCKET, "vh/key", data(100)))
        .await
        .unwrap();
    assert_eq!(decrypt_stored(&server, "vh/key"), data(100));
    let out = client
        .get_object(BUCKET, "vh/key", Some("bytes=-10"))
        .await
        .unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), data(100)[90..]);
    let hosts: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("host").unwrap_or_default().to_owned())
        .collect();
    assert!(
        hosts
            .iter()
            .all(|h| h.starts_with(&format!("{BUCKET}.localhost")))
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_the_oss_error() {
    let server = server().await;
    let oss = OssClient::builder(server.endpoint())
        .credentials(Credentials::new(AK, "not-the-secret"))
        .build()
        .unwrap();
    let client = EncryptionClient::new(oss, master());
    let err = client
        .put_object(PutObjectRequest::new(BUCKET, "k", data(10)))
        .await
        .unwrap_err();
    let service = err.service_error().expect("a service error");
    assert_eq!(service.status, 403);
    assert_eq!(service.code, "SignatureDoesNotMatch");
    assert!(!service.request_id.is_empty());
    assert!(server.object(BUCKET, "k").is_none());
    // HEAD errors have no body: the code still comes through (x-oss-err).
    let err = client.head_object(BUCKET, "k").await.unwrap_err();
    assert_eq!(err.service_error().unwrap().code, "SignatureDoesNotMatch");
    let good = client_for(&server);
    let err = good.head_object(BUCKET, "missing").await.unwrap_err();
    assert_eq!(err.service_error().unwrap().code, "NoSuchKey");
    assert_eq!(err.service_error().unwrap().status, 404);
}

fn client_for(server: &TestServer) -> EncryptionClient {
    client(server)
}

#[tokio::test]
async fn parallel_multipart_in_random_order() {
    let server = server().await;
    let client = client(&server);
    // Ten parts of 100 KiB, the last one short (78 400 bytes).
    let plain = data(1_000_000);
    let part_size = PART as u64;
    let ctx = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(
            BUCKET,
            "mp/object",
            part_size,
            plain.len() as u64,
        ))
        .await
        .unwrap();
    assert_eq!(ctx.context().part_count(), 10);
    let mut order: Vec<u32> = (1..=10).collect();
    shuffle(&mut order);
    let mut tasks = tokio::task::JoinSet::new();
    for n in order {
        let (client, ctx) = (client.clone(), ctx.clone());
        let start = (n as usize - 1) * part_size as usize;
        let body =
            Bytes::copy_from_slice(&plain[start..(start + part_size as usize).min(plain.len())]);
        tasks.spawn(async move { client.upload_part(&ctx, n, body).await });
    }
    let mut parts = Vec::new();
    while let Some(r) = tasks.join_next().await {
        parts.push(r.unwrap().unwrap());
    }
    // Sealing a part twice would reuse keystream: refused before any request.
    let again = client
        .upload_part(&ctx, 3, Bytes::from(vec![0u8; part_size as usize]))
        .await;
    assert!(matches!(
        again,
        Err(Error::Core(cse_core::Error::PartAlreadySealed { part: 3 }))
    ));
    let listed = client
        .list_parts(BUCKET, "mp/object", &ctx.upload_id, 0)
        .await
        .unwrap();
    assert_eq!(listed.parts.len(), 10);
    assert_eq!(listed.parts.iter().map(|p| p.size).sum::<u64>(), 1_000_000);
    assert_eq!(listed.parts[9].size, 78_400);
    let env = listed.envelope.unwrap();
    assert_eq!(env.wrapped_key(), ctx.context().envelope().wrapped_key());
    assert_eq!(env.multipart(), ctx.context().envelope().multipart());
    client
        .complete_multipart_upload(&ctx, &parts)
        .await
        .unwrap();
    assert!(server.upload_ids().is_empty());
    let stored = server.object(BUCKET, "mp/object").unwrap();
    assert_eq!(stored.object_type, "Multipart");
    // The object is one continuous CTR stream: the engine's whole-object opener reads it.
    assert_eq!(decrypt_stored(&server, "mp/object"), plain);
    // A range from 4 bytes before the end of part 1 into part 3.
    let out = client
        .get_object(BUCKET, "mp/object", Some("bytes=102396-250000"))
        .await
        .unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain[102_396..=250_000]);
    // Every UploadPart repeated the Initiate envelope with its sizes; Complete carried none.
    let log = server.requests();
    for r in log.iter().filter(|r| r.has_query("partNumber")) {
        assert_eq!(r.header(&cse_header(Field::PartSize)), Some("102400"));
        assert_eq!(r.header(&cse_header(Field::DataSize)), Some("1000000"));
        assert!(r.header(&cse_header(Field::Key)).is_some());
    }
    let complete = log
        .iter()
        .find(|r| r.method == "POST" && r.has_query("uploadId"))
        .unwrap();
    assert!(
        complete
            .headers
            .iter()
            .all(|(n, _)| !n.contains("client-side-encryption"))
    );
}

/// Uploads `plain` in parts of `part_size` (the last one short) and completes the upload.
async fn multipart_put(
    client: &EncryptionClient,
    key: &str,
    plain: &[u8],
    part_size: usize,
) -> (String, Result<(), Error>) {
    let ctx = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(
            BUCKET,
            key,
            part_size as u64,
            plain.len() as u64,
        ))
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in plain.chunks(part_size).enumerate() {
        let n = u32::try_from(i + 1).unwrap();
        parts.push(
            client
                .upload_part(&ctx, n, Bytes::copy_from_slice(chunk))
                .await
                .unwrap(),
        );
    }
    let done = client.complete_multipart_upload(&ctx, &parts).await;
    (ctx.upload_id.clone(), done.map(|_| ()))
}

#[tokio::test]
async fn a_part_under_100_kib_before_the_last_is_refused_at_complete() {
    let server = server().await;
    let client = client(&server);
    // Two parts, the first of 64 KiB: every part the client sends is accepted, and Complete is
    // refused, as OSS refuses it.
    let plain = data(64 * 1024 + 10);
    let (upload_id, done) = multipart_put(&client, "small-parts", &plain, 64 * 1024).await;
    let err = done.unwrap_err();
    let e = err.service_error().expect("a service error");
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "EntityTooSmall"),
        "{e:?}"
    );
    assert!(
        e.message.contains("part 1 is 65536 bytes") && e.message.contains("102400"),
        "{}",
        e.message
    );
    assert!(server.object(BUCKET, "small-parts").is_none());
    // The upload is still there, to abort or to redo with larger parts.
    assert_eq!(server.upload_ids(), [upload_id]);
}

#[tokio::test]
async fn a_short_last_part_and_a_single_small_part_are_accepted() {
    let server = server().await;
    let client = client(&server);
    // 100 KiB exactly, then 1 byte.
    let plain = data(PART + 1);
    let (_, done) = multipart_put(&client, "short-last", &plain, PART).await;
    done.unwrap();
    let stored = server.object(BUCKET, "short-last").unwrap();
    assert_eq!(stored.object_type, "Multipart");
    assert_eq!(decrypt_stored(&server, "short-last"), plain);
    // An upload of one part: that part is the last, so it may be of any size.
    let plain = data(1000);
    let (_, done) = multipart_put(&client, "one-small-part", &plain, 1024).await;
    done.unwrap();
    assert_eq!(decrypt_stored(&server, "one-small-part"), plain);
    assert!(server.upload_ids().is_empty());
}

#[tokio::test]
async fn wrong_part_length_is_refused_client_side() {
    let server = server().await;
    let client = client(&server);
    let ctx = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "k", 32, 40))
        .await
        .unwrap();
    let r = client
        .upload_part(&ctx, 1, Bytes::from(vec![1u8; 33]))
        .await;
    assert!(matches!(
        r,
        Err(Error::Core(cse_core::Error::PartLength {
            part: 1,
            expected: 32,
            actual: 33
        }))
    ));
    let r = client.upload_part(&ctx, 3, Bytes::from(vec![1u8; 8])).await;
    assert!(matches!(
        r,
        Err(Error::Core(cse_core::Error::PartNumberOutOfRange {
            part: 3,
            parts: 2
        }))
    ));
    assert!(server.requests().iter().all(|r| !r.has_query("partNumber")));
    let bad = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "k", 15, 40))
        .await;
    assert!(matches!(
        bad,
        Err(Error::Core(cse_core::Error::InvalidPartSize))
    ));
}

#[tokio::test]
async fn resume_from_a_checkpoint() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.checkpoint");
    // Four parts, the last of 4 bytes.
    let len = 3 * PART + 4;
    let plain = data(len);
    let ctx = client
        .initiate_checkpointed_upload(
            InitiateMultipartUploadRequest::new(BUCKET, "r", PART as u64, len as u64),
            &path,
            "test data",
        )
        .await
        .unwrap();
    client
        .upload_part(&ctx, 2, Bytes::copy_from_slice(&plain[PART..2 * PART]))
        .await
        .unwrap();
    drop(ctx);
    // A restarted process resumes from the checkpoint: part 2 is done, the rest are pending.
    let resumed = client
        .resume_multipart_upload(cse_oss::UploadCheckpoint::open(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(resumed.pending_parts(), [1, 3, 4]);
    assert!(matches!(
        client
            .upload_part(&resumed, 2, Bytes::copy_from_slice(&plain[PART..2 * PART]))
            .await,
        Err(Error::Core(cse_core::Error::PartAlreadySealed { part: 2 }))
    ));
    let mut parts = resumed.completed_parts();
    for (n, range) in [(1u32, 0..PART), (3, 2 * PART..3 * PART), (4, 3 * PART..len)] {
        parts.push(
            client
                .upload_part(&resumed, n, Bytes::copy_from_slice(&plain[range]))
                .await
                .unwrap(),
        );
    }
    client
        .complete_multipart_upload(&resumed, &parts)
        .await
        .unwrap();
    assert!(!path.exists());
    assert_eq!(decrypt_stored(&server, "r"), plain);

    let ctx = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "a", 32, 100))
        .await
        .unwrap();
    client
        .upload_part(&ctx, 1, Bytes::copy_from_slice(&plain[..32]))
        .await
        .unwrap();
    // (Never completed, so its parts may be small.)
    assert_eq!(server.upload_ids(), [ctx.upload_id.clone()]);
    client.abort_multipart_upload(&ctx).await.unwrap();
    assert!(server.upload_ids().is_empty());
    let err = client
        .list_parts(BUCKET, "a", &ctx.upload_id, 0)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code, "NoSuchUpload");
}

#[tokio::test]
async fn file_helpers_round_trip() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    // Five parts of 100 KiB, the last one short.
    let plain = data(500_000);
    std::fs::write(&src, &plain).unwrap();
    let options = UploadOptions {
        part_size: PART as u64,
        concurrency: 3,
        ..UploadOptions::default()
    };
    client
        .upload_file(BUCKET, "files/big", &src, &options)
        .await
        .unwrap();
    assert_eq!(
        server.object(BUCKET, "files/big").unwrap().object_type,
        "Multipart"
    );
    assert_eq!(decrypt_stored(&server, "files/big"), plain);
    let small = dir.path().join("small.bin");
    std::fs::write(&small, &plain[..100]).unwrap();
    client
        .upload_file(BUCKET, "files/small", &small, &options)
        .await
        .unwrap();
    assert_eq!(
        server.object(BUCKET, "files/small").unwrap().object_type,
        "Normal"
    );

    let dst = dir.path().join("dst.bin");
    let n = client
        .download_file(
            BUCKET,
            "files/big",
            &dst,
            &DownloadOptions {
                part_size: 10_000,
                concurrency: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(n, 500_000);
    assert_eq!(std::fs::read(&dst).unwrap(), plain);
    let ranged_gets = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.header("range").is_some())
        .count();
    assert_eq!(ranged_gets, 50);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[tokio::test]
async fn server_applies_the_cse_checks() {
    let server = server().await;
    let oss = plain(&server);
    let mut h = HeaderMap::new();
    h.insert(
        "x-oss-meta-client-side-encryption-key",
        "QUJD".parse().unwrap(),
    );
    let err = oss
        .put_object(BUCKET, "partial", Bytes::from_static(b"x"), h)
        .await
        .unwrap_err();
    let e = err.service_error().unwrap();
    assert_eq!((e.status, e.ec.as_deref()), (400, Some("0005-00000402")));

    // Initiate with an envelope whose part-size is not an integer.
    let material = ContentMaterial::generate(&mut rng());
    let envelope = Envelope::seal(&material, master().as_ref(), &mut rng()).unwrap();
    let mut h = HeaderMap::new();
    cse_http::encode_envelope(&envelope, DEFAULT_PREFIX, &mut h).unwrap();
    let mut bad = h.clone();
    bad.insert(
        cse_header(Field::PartSize)
            .parse::<http::HeaderName>()
            .unwrap(),
        "1k".parse().unwrap(),
    );
    let err = oss.put_object(BUCKET, "k", Bytes::new(), bad).await;
    // PutObject with a part-size only checks it is an integer.
    assert_eq!(
        err.unwrap_err().service_error().unwrap().ec.as_deref(),
        Some("0005-00000408")
    );
}

#[test]
fn opener_sanity_for_helpers() {
    // The independent decryption used above reads a known engine-sealed stream.
    let material = ContentMaterial::generate(&mut rng());
    let mut body = data(64);
    Sealer::new(&material).update_in_place(&mut body).unwrap();
    let mut opener = Opener::with_len(&material, 64);
    let kept = opener.update_in_place(&mut body).unwrap();
    opener.finish().unwrap();
    assert_eq!(body[kept], data(64)[..]);
}

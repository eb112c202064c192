//! The client side of the hardening work. Each test reproduces a gap a review found in the
//! library (resume trusting the server's envelope, truncated listings, retries that burned part
//! numbers, ranged reads that accepted cut objects or a stripped envelope, no MD5 check, unchecked
//! bucket names, aborts racing parts in flight) and pins the fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use cse_oss::{
    Addressing, CancelToken, Credentials, DownloadOptions, EncryptionClient, Error,
    InitiateMultipartUploadRequest, OssClient, PutObjectRequest, UploadCheckpoint, UploadIdHook,
    UploadOptions,
};

const P: &str = "x-oss-meta-client-side-encryption-";

/// An upload of `data(len)` in parts of `part`, with parts `done` uploaded, recorded in a
/// checkpoint at `dir/name.checkpoint`.
async fn started(
    client: &EncryptionClient,
    dir: &std::path::Path,
    name: &str,
    len: usize,
    part: usize,
    done: &[u32],
) -> (std::path::PathBuf, String) {
    let path = dir.join(format!("{name}.checkpoint"));
    let plain = data(len);
    let ctx = client
        .initiate_checkpointed_upload(
            InitiateMultipartUploadRequest::new(BUCKET, name, part as u64, len as u64),
            &path,
            "test",
        )
        .await
        .unwrap();
    for &n in done {
        let start = (n as usize - 1) * part;
        let end = (start + part).min(len);
        client
            .upload_part(&ctx, n, Bytes::copy_from_slice(&plain[start..end]))
            .await
            .unwrap();
    }
    (path, ctx.upload_id.clone())
}

fn part_uploads(server: &cse_oss_test_server::TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.has_query("partNumber"))
        .count()
}

async fn resume_err(client: &EncryptionClient, path: &std::path::Path) -> Error {
    client
        .resume_multipart_upload(UploadCheckpoint::open(path).unwrap())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn resume_refuses_an_envelope_the_client_did_not_write() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    // The envelope of another object: a hostile server (or anyone with the public key) hands it
    // over so that the resumed parts reuse that object's keystream.
    let (other_path, _) = started(&client, dir.path(), "other", 100, 32, &[]).await;
    let other = UploadCheckpoint::open(&other_path)
        .unwrap()
        .state()
        .envelope;
    let other_headers = other.to_headers(cse_core::DEFAULT_PREFIX).unwrap();
    let value = |suffix: &str| {
        other_headers
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .unwrap()
            .1
            .clone()
    };
    for (suffix, field) in [
        ("-key", "client-side-encryption-key"),
        ("-start", "client-side-encryption-start"),
    ] {
        let (path, id) =
            started(&client, dir.path(), &format!("mine{suffix}"), 100, 32, &[1]).await;
        let before = part_uploads(&server);
        server.set_upload_meta(&id, &format!("{P}{}", &suffix[1..]), Some(&value(suffix)));
        let err = resume_err(&client, &path).await;
        assert!(matches!(err, Error::ResumeMismatch { .. }), "{err:?}");
        assert!(err.to_string().contains(field), "{err}");
        assert_eq!(
            part_uploads(&server),
            before,
            "a refused resume uploaded something"
        );
    }
    // Other sizes.
    let (path, id) = started(&client, dir.path(), "sizes", 100, 32, &[1]).await;
    server.set_upload_meta(&id, &format!("{P}part-size"), Some("64"));
    let err = resume_err(&client, &path).await;
    assert!(
        err.to_string().contains("client-side-encryption-part-size"),
        "{err}"
    );
    // A listing without the envelope at all.
    let (path, id) = started(&client, dir.path(), "gone", 100, 32, &[1]).await;
    for f in [
        "key",
        "start",
        "cek-alg",
        "wrap-alg",
        "part-size",
        "data-size",
    ] {
        server.set_upload_meta(&id, &format!("{P}{f}"), None);
    }
    let err = resume_err(&client, &path).await;
    assert!(matches!(err, Error::ResumeMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn resume_refuses_parts_the_checkpoint_does_not_know() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();

    type Tamper = fn(&cse_oss_test_server::TestServer, &str);
    let cases: [(&str, &[u32], Tamper, &str); 4] = [
        (
            "extra",
            &[1],
            |s, id| s.inject_part(id, 3, Bytes::from_static(&[0; 32])),
            "part 3, which this checkpoint never sealed",
        ),
        (
            "resized",
            &[1],
            |s, id| s.inject_part(id, 1, Bytes::from_static(&[0; 16])),
            "part 1 with 16 bytes; the checkpoint sealed 32",
        ),
        (
            "replaced",
            &[1],
            |s, id| s.inject_part(id, 1, Bytes::from_static(&[0; 32])),
            "part 1 with ETag",
        ),
        (
            "lost",
            &[1, 2],
            |s, id| s.remove_part(id, 2),
            "part 2 was uploaded",
        ),
    ];
    for (name, done, tamper, needle) in cases {
        let (path, id) = started(&client, dir.path(), name, 100, 32, done).await;
        tamper(&server, &id);
        let err = resume_err(&client, &path).await;
        assert!(err.to_string().contains(needle), "{name}: {err}");
    }
}

#[tokio::test]
async fn the_checkpoint_holds_no_secret_and_one_process_drives_it() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = started(&client, dir.path(), "k", 100, 32, &[2]).await;
    let text = std::fs::read_to_string(&path).unwrap();
    let checkpoint = UploadCheckpoint::open(&path).unwrap();
    let state = checkpoint.state();
    let material = state
        .envelope
        .open(
            master().as_ref(),
            &mut cse_core::rand_core::UnwrapErr(getrandom::SysRng),
        )
        .unwrap();
    use base64::Engine as _;
    for secret in [
        &material.key().as_bytes()[..],
        &material.counter().as_bytes()[..],
    ] {
        assert!(!text.contains(&hex::encode(secret)), "{text}");
        assert!(
            !text.contains(&base64::engine::general_purpose::STANDARD.encode(secret)),
            "{text}"
        );
    }
    // A second opener (another process, or a second resume) is refused while one holds it.
    let err = UploadCheckpoint::open(&path).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    drop(checkpoint);
    assert!(UploadCheckpoint::open(&path).is_ok());
}

#[tokio::test]
async fn a_truncated_listing_is_followed_to_its_end() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (path, id) = started(&client, dir.path(), "paged", 160, 32, &[1, 2, 3, 4]).await;
    server.faults().page_list_parts(2);
    let page = client.list_parts(BUCKET, "paged", &id, 0).await.unwrap();
    assert!(page.is_truncated && page.parts.len() == 2);
    let all = client.list_all_parts(BUCKET, "paged", &id).await.unwrap();
    assert_eq!(all.parts.len(), 4);
    let resumed = client
        .resume_multipart_upload(UploadCheckpoint::open(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(resumed.pending_parts(), [5]);
    for n in 1..=4 {
        assert!(resumed.context().is_sealed(n));
    }
}

#[tokio::test]
async fn a_failed_part_is_resent_as_sealed_never_resealed_from_scratch() {
    let server = server().await;
    let client = client(&server);
    let plain = data(2 * PART);
    let ctx = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(
            BUCKET,
            "p",
            PART as u64,
            2 * PART as u64,
        ))
        .await
        .unwrap();
    server.faults().refuse_next_put();
    let err = client
        .upload_part(&ctx, 1, Bytes::copy_from_slice(&plain[..PART]))
        .await
        .unwrap_err();
    let Error::PartNotUploaded { part, .. } = err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            client
                .upload_part(&ctx, 1, Bytes::copy_from_slice(&plain[..PART]))
                .await,
            Err(Error::Core(cse_core::Error::PartAlreadySealed { part: 1 }))
        ),
        "a second seal of part 1 was allowed"
    );
    let first = client.upload_sealed_part(&ctx, &part).await.unwrap();
    let second = client
        .upload_part(&ctx, 2, Bytes::copy_from_slice(&plain[PART..]))
        .await
        .unwrap();
    client
        .complete_multipart_upload(&ctx, &[first, second])
        .await
        .unwrap();
    let out = client.get_object(BUCKET, "p", None).await.unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain);
}

#[tokio::test]
async fn after_a_crash_a_part_is_resealed_only_from_the_same_plaintext() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.checkpoint");
    let plain = data(2 * PART);
    let ctx = client
        .initiate_checkpointed_upload(
            InitiateMultipartUploadRequest::new(BUCKET, "c", PART as u64, 2 * PART as u64),
            &path,
            "test",
        )
        .await
        .unwrap();
    // Part 1 is recorded as sealed, then its upload fails: the process "dies" with the
    // ciphertext.
    server.faults().refuse_next_put();
    assert!(
        client
            .upload_part(&ctx, 1, Bytes::copy_from_slice(&plain[..PART]))
            .await
            .is_err()
    );
    drop(ctx);
    let resumed = client
        .resume_multipart_upload(UploadCheckpoint::open(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(resumed.pending_parts(), [1, 2]);
    let mut changed = plain[..PART].to_vec();
    changed[0] ^= 1;
    let before = part_uploads(&server);
    assert!(matches!(
        client.upload_part(&resumed, 1, Bytes::from(changed)).await,
        Err(Error::Core(cse_core::Error::PartChanged { part: 1 }))
    ));
    assert_eq!(part_uploads(&server), before, "a changed part was sent");
    let mut parts = vec![
        client
            .upload_part(&resumed, 1, Bytes::copy_from_slice(&plain[..PART]))
            .await
            .unwrap(),
    ];
    parts.push(
        client
            .upload_part(&resumed, 2, Bytes::copy_from_slice(&plain[PART..]))
            .await
            .unwrap(),
    );
    client
        .complete_multipart_upload(&resumed, &parts)
        .await
        .unwrap();
    let out = client.get_object(BUCKET, "c", None).await.unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain);
}

/// Stores the ciphertext of `plain` under `key` cut to `keep` bytes, with its full envelope.
async fn cut_object(
    client: &EncryptionClient,
    server: &cse_oss_test_server::TestServer,
    key: &str,
    plain: &[u8],
    keep: usize,
    headers: &[(&str, &str)],
) {
    let mut request = PutObjectRequest::new(BUCKET, key, plain.to_vec());
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    client.put_object(request).await.unwrap();
    let stored = server.object(BUCKET, key).unwrap();
    let meta: Vec<(String, String)> = stored.meta.clone();
    let refs: Vec<(&str, &str)> = meta.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    server.put_raw(BUCKET, key, stored.data.slice(..keep), &refs);
}

#[tokio::test]
async fn ranged_reads_refuse_a_cut_object() {
    let server = server().await;
    let client = client(&server);
    let plain = data(5000);
    cut_object(&client, &server, "cut", &plain, 4000, &[]).await;
    for range in ["bytes=0-99", "bytes=-10", "bytes=3000-"] {
        let err = client
            .get_object(BUCKET, "cut", Some(range))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Core(cse_core::Error::StoredLength {
                    declared: 5000,
                    stored: 4000
                })
            ),
            "{range}: {err:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out");
    let err = client
        .download_file(BUCKET, "cut", &dst, &DownloadOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Core(cse_core::Error::StoredLength { .. })),
        "{err:?}"
    );
    assert!(!dst.exists());
}

#[tokio::test]
async fn a_ranged_response_without_the_envelope_is_not_plaintext() {
    let server = server().await;
    let client = client(&server);
    client
        .put_object(PutObjectRequest::new(BUCKET, "s", data(5000)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out");
    server.faults().strip_envelope_next_get();
    let err = client
        .download_file(
            BUCKET,
            "s",
            &dst,
            &DownloadOptions {
                part_size: 5000,
                concurrency: 1,
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing to return ciphertext as plaintext"),
        "{err}"
    );
    assert!(!dst.exists());
}

#[tokio::test]
async fn whole_reads_verify_the_plaintext_md5() {
    use base64::Engine as _;
    use md5::Digest as _;
    let server = server().await;
    let client = client(&server);
    let plain = data(3000);
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&plain));
    client
        .put_object(PutObjectRequest::new(BUCKET, "m", plain.clone()).header("content-md5", &md5))
        .await
        .unwrap();
    let out = client.get_object(BUCKET, "m", None).await.unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain);

    // The same object, recorded with the MD5 of other bytes: what a wrong key that unwrapped to
    // 32 bytes looks like from here.
    let stored = server.object(BUCKET, "m").unwrap();
    let other = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(b"other"));
    let meta: Vec<(String, String)> = stored
        .meta
        .iter()
        .map(|(n, v)| {
            if n.ends_with("unencrypted-content-md5") {
                (n.clone(), other.clone())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    let refs: Vec<(&str, &str)> = meta.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    server.put_raw(BUCKET, "m", stored.data.clone(), &refs);
    let out = client.get_object(BUCKET, "m", None).await.unwrap();
    assert!(matches!(
        out.body.bytes().await,
        Err(Error::Core(cse_core::Error::ContentMd5Mismatch))
    ));
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out");
    let err = client
        .download_file(
            BUCKET,
            "m",
            &dst,
            &DownloadOptions {
                part_size: 1000,
                concurrency: 2,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Core(cse_core::Error::ContentMd5Mismatch)),
        "{err:?}"
    );
    assert!(!dst.exists());
}

#[tokio::test]
async fn bucket_names_and_keys_are_checked_before_any_request() {
    // A listener standing in for another host: the request must never reach it.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let server = server().await;
    let port = server.addr().port();
    let oss = OssClient::builder(format!("http://localhost:{port}"))
        .addressing(Addressing::VirtualHosted)
        .credentials(Credentials::new(AK, SK).with_security_token("sts-token"))
        .retry(fast_retry())
        .build()
        .unwrap();
    let client = EncryptionClient::new(oss, master());
    for bucket in [
        format!("127.0.0.1:{trap_port}#"),
        "ab".to_owned(),
        "-bucket".to_owned(),
        "bucket-".to_owned(),
        "Bucket".to_owned(),
        "b".repeat(64),
        "a_b".to_owned(),
    ] {
        let err = client.get_object(&bucket, "k", None).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "bucket", .. }),
            "{bucket}: {err:?}"
        );
    }
    for key in ["a/../b", "./x", "..", "/abs", "\\x", &"k".repeat(1024)] {
        let err = client.get_object(BUCKET, key, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    name: "object key",
                    ..
                }
            ),
            "{key}: {err:?}"
        );
    }
    let reached = tokio::time::timeout(Duration::from_millis(300), trap.accept()).await;
    assert!(reached.is_err(), "a request reached the other host");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_upload_stopped_by_a_failure_aborts_only_after_its_parts_in_flight() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, data(64 * 1024)).unwrap();
    server.faults().refuse_next_put();
    let err = client
        .upload_file(
            BUCKET,
            "a",
            &src,
            &UploadOptions {
                part_size: 4096,
                concurrency: 4,
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.service_error().is_some(), "{err:?}");
    let log = server.requests();
    let abort = log
        .iter()
        .position(|r| r.method == "DELETE" && r.has_query("uploadId"))
        .expect("the upload was not aborted");
    assert!(
        log[abort..].iter().all(|r| !r.has_query("partNumber")),
        "a part reached the server after the abort"
    );
    assert!(server.upload_ids().is_empty());
}

#[tokio::test]
async fn a_cancelled_upload_is_aborted_and_a_dropped_one_too() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, data(64 * 1024)).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let err = client
        .upload_file(
            BUCKET,
            "x",
            &src,
            &UploadOptions {
                part_size: 4096,
                cancel: Some(cancel),
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Cancelled {
                kept: false,
                upload_id: Some(_)
            }
        ),
        "{err:?}"
    );
    assert!(server.upload_ids().is_empty());

    // A dropped future: the id is reported first, and an abort follows.
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = std::sync::Mutex::new(Some(tx));
    let options = UploadOptions {
        part_size: 4096,
        concurrency: 1,
        on_upload_id: Some(UploadIdHook(std::sync::Arc::new(move |id: &str| {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(id.to_owned());
            }
        }))),
        ..UploadOptions::default()
    };
    let id = tokio::select! {
        _ = client.upload_file(BUCKET, "y", &src, &options) => panic!("finished before the drop"),
        id = rx => id.unwrap(),
    };
    for _ in 0..100 {
        if !server.upload_ids().contains(&id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the dropped upload {id} was left behind");
}

#[tokio::test]
async fn a_lost_initiate_reply_says_how_to_find_the_upload() {
    let server = server().await;
    let client = client(&server);
    server.faults().lose_next_reply();
    let err = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "l", 32, 64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InitiateUncertain { .. }), "{err:?}");
    assert!(err.to_string().contains("ListMultipartUploads"), "{err}");
    assert_eq!(server.upload_ids().len(), 1);

    // With a checkpoint, the envelope is on record before the request, so the next run says
    // the same instead of starting a second upload.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.checkpoint");
    server.faults().lose_next_reply();
    assert!(
        client
            .initiate_checkpointed_upload(
                InitiateMultipartUploadRequest::new(BUCKET, "l", 32, 64),
                &path,
                "test",
            )
            .await
            .is_err()
    );
    let err = resume_err(&client, &path).await;
    assert!(err.to_string().contains("records no upload id"), "{err}");
}

#[test]
fn secrets_are_not_printed() {
    let creds = Credentials::new("AKID", "the-secret").with_security_token("the-token");
    let text = format!("{creds:?}");
    assert!(
        !text.contains("the-secret") && !text.contains("the-token"),
        "{text}"
    );
}

#[tokio::test]
async fn a_torn_or_repeated_record_does_not_break_the_checkpoint() {
    use std::io::Write as _;
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = started(&client, dir.path(), "torn", 100, 32, &[1]).await;
    // A crash mid-append leaves half a record without its newline; a retried append repeats a
    // whole one.
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    write!(file, "{last}\n{{\"sealed\":2,\"si").unwrap();
    drop(file);
    let resumed = client
        .resume_multipart_upload(UploadCheckpoint::open(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(resumed.pending_parts(), [2, 3, 4]);
    let plain = data(100);
    client
        .upload_part(&resumed, 2, Bytes::copy_from_slice(&plain[32..64]))
        .await
        .unwrap();
    drop(resumed);
    // The torn bytes were cut off: the next record started on its own line.
    let again = client
        .resume_multipart_upload(UploadCheckpoint::open(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(again.pending_parts(), [3, 4]);
}

#[tokio::test]
async fn a_checkpoint_is_refused_when_its_records_or_key_check_do_not_fit() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let edit = |path: &std::path::Path, from: &str, to: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    };
    // A key check that does not match what the key unwraps to: a wrong key that "unwrapped".
    let (path, _) = started(&client, dir.path(), "kc", 100, 32, &[1]).await;
    edit(&path, "\"key_check\":\"", "\"key_check\":\"00");
    let err = resume_err(&client, &path).await;
    assert!(err.is_unwrap(), "{err:?}");
    // A part size the upload's sizes do not allow.
    let (path, id) = started(&client, dir.path(), "sz", 100, 32, &[]).await;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        format!(
            "{{\"sealed\":4,\"size\":32,\"digest\":\"{}\"}}\n",
            "ab".repeat(32)
        )
        .as_bytes(),
    )
    .unwrap();
    drop(file);
    server.inject_part(&id, 4, Bytes::from(vec![0u8; 32]));
    let err = resume_err(&client, &path).await;
    assert!(
        err.to_string().contains("records part 4 with 32 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn an_initiate_that_surely_failed_leaves_no_checkpoint() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.checkpoint");
    server.faults().fail_next(1);
    let err = client
        .initiate_checkpointed_upload(
            InitiateMultipartUploadRequest::new(BUCKET, "f", 32, 64),
            &path,
            "test",
        )
        .await
        .unwrap_err();
    assert!(err.service_error().is_some(), "{err:?}");
    assert!(
        !path.exists(),
        "a checkpoint of an upload that does not exist was left"
    );
    assert!(server.upload_ids().is_empty());
}

#[tokio::test]
async fn a_checkpointed_file_that_shrank_to_one_part_is_not_put_whole() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, data(10_000)).unwrap();
    let checkpoint = dir.path().join("s.checkpoint");
    let options = UploadOptions {
        part_size: 1024,
        checkpoint: Some(checkpoint.clone()),
        ..UploadOptions::default()
    };
    server.faults().refuse_next_put();
    assert!(
        client
            .upload_file(BUCKET, "s", &src, &options)
            .await
            .is_err()
    );
    std::fs::write(&src, data(100)).unwrap();
    let err = client
        .upload_file(BUCKET, "s", &src, &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the file changed"), "{err}");
    assert!(server.object(BUCKET, "s").is_none());
    assert_eq!(server.upload_ids().len(), 1);
}

#[tokio::test]
async fn a_part_sealed_for_another_upload_is_refused() {
    let server = server().await;
    let client = client(&server);
    let plain = data(64);
    let a = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "a", 32, 64))
        .await
        .unwrap();
    let b = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "b", 32, 64))
        .await
        .unwrap();
    let sealed = client.seal_part(&a, 1, &plain[..32]).unwrap();
    let err = client.upload_sealed_part(&b, &sealed).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { name: "part", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_whole_download_damaged_on_the_way_fails_its_crc64_check() {
    let server = server().await;
    let client = client(&server);
    let plain = data(10_000);
    client
        .put_object(PutObjectRequest::new(BUCKET, "e", plain.clone()))
        .await
        .unwrap();
    server.put_raw(BUCKET, "p", Bytes::from(plain.clone()), &[]);
    for key in ["e", "p"] {
        server.faults().corrupt_next_get();
        let out = client.get_object(BUCKET, key, None).await.unwrap();
        let err = out.body.bytes().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::CrcMismatch {
                    operation: "GetObject",
                    ..
                }
            ),
            "{key}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains("damaged on the way, read it again"),
            "{err}"
        );
        // Undamaged, the same read passes the check.
        let out = client.get_object(BUCKET, key, None).await.unwrap();
        assert_eq!(out.body.bytes().await.unwrap(), plain);
    }
}

#[tokio::test]
async fn progress_adds_up_to_the_file_fresh_and_resumed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    // Ten parts of 100 KiB, the last one short.
    std::fs::write(&src, data(1_000_000)).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let options = UploadOptions {
        part_size: PART as u64,
        checkpoint: Some(dir.path().join("g.checkpoint")),
        on_progress: Some(cse_oss::ProgressHook(Arc::new(move |n| {
            counter.fetch_add(n, Ordering::SeqCst);
        }))),
        ..UploadOptions::default()
    };
    server.faults().refuse_next_put();
    assert!(
        client
            .upload_file(BUCKET, "g", &src, &options)
            .await
            .is_err()
    );
    seen.store(0, Ordering::SeqCst);
    client
        .upload_file(BUCKET, "g", &src, &options)
        .await
        .unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1_000_000,
        "resumed parts and new ones"
    );
    seen.store(0, Ordering::SeqCst);
    std::fs::write(&src, data(500)).unwrap();
    client
        .upload_file(BUCKET, "g2", &src, &options)
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 500, "one PutObject");
}

#[tokio::test]
async fn a_record_whose_newline_never_landed_was_never_durable() {
    use std::io::Write as _;
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = started(&client, dir.path(), "nl", 100, 32, &[1]).await;
    // A whole record but for its newline: its fsync never returned, so nothing it guarded (the
    // upload of part 2) happened. It must be ignored, not applied and then cut off.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    write!(
        file,
        "{{\"sealed\":2,\"size\":32,\"digest\":\"{}\"}}",
        "cd".repeat(32)
    )
    .unwrap();
    drop(file);
    let checkpoint = UploadCheckpoint::open(&path).unwrap();
    assert!(
        checkpoint.part(2).is_none(),
        "an undurable record was applied"
    );
    let resumed = client.resume_multipart_upload(checkpoint).await.unwrap();
    // Part 2 seals afresh (it never left the machine), and the journal stays readable.
    let plain = data(100);
    client
        .upload_part(&resumed, 2, Bytes::copy_from_slice(&plain[32..64]))
        .await
        .unwrap();
    drop(resumed);
    let again = UploadCheckpoint::open(&path).unwrap();
    assert!(again.part(2).is_some_and(|r| r.etag.is_some()));

    // A header the process never finished writing: no upload was initiated.
    let torn = dir.path().join("torn.checkpoint");
    std::fs::write(&torn, b"{\"checkpoint\":\"cse-upload/1\"").unwrap();
    let err = UploadCheckpoint::open(&torn).unwrap_err();
    assert!(
        err.to_string().contains("before any upload was initiated"),
        "{err}"
    );

    // A checkpoint of an older format: it names the upload it holds, so that it can be aborted
    // rather than left on the server unseen.
    let old = dir.path().join("old.checkpoint");
    std::fs::write(
        &old,
        "{\"checkpoint\":\"cse-upload/2\",\"bucket\":\"b-old\",\"key\":\"k/old\",\"source\":\"x\",\"envelope\":[]}\n{\"upload_id\":\"UP-OLD-1\"}\n",
    )
    .unwrap();
    let err = UploadCheckpoint::open(&old).unwrap_err().to_string();
    for what in ["cse-upload/2", "UP-OLD-1", "oss://b-old/k/old", "abort"] {
        assert!(err.contains(what), "{what} in: {err}");
    }
}

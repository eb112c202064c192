//! Failures: cut bodies, 5xx answers, a lying Content-Range, refused parts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cloned_ref_to_slice_refs
)]

mod common;

use common::*;
use cse_oss::{
    DownloadOptions, Error, InitiateMultipartUploadRequest, PutObjectRequest, UploadOptions,
};

#[tokio::test]
async fn a_body_cut_mid_stream_is_an_error_and_leaves_no_file() {
    let server = server().await;
    let client = client(&server);
    client
        .put_object(PutObjectRequest::new(BUCKET, "k", data(5000)))
        .await
        .unwrap();

    server.faults().cut_next_get_after(1000);
    let out = client.get_object(BUCKET, "k", None).await.unwrap();
    let err = out.body.bytes().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Body { .. } | Error::Core(cse_core::Error::Truncated { .. })
        ),
        "{err:?}"
    );

    server.faults().cut_next_get_after(100);
    let out = client
        .get_object(BUCKET, "k", Some("bytes=10-3000"))
        .await
        .unwrap();
    assert!(out.body.bytes().await.is_err());

    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out.bin");
    server.faults().cut_next_get_after(10);
    let err = client
        .download_file(
            BUCKET,
            "k",
            &dst,
            &DownloadOptions {
                part_size: 1024,
                concurrency: 2,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Body { .. } | Error::Core(cse_core::Error::Truncated { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "partial output left"
    );
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_requests_only() {
    let server = server().await;
    let client = client(&server);
    server.faults().fail_next(2);
    client
        .put_object(PutObjectRequest::new(BUCKET, "k", data(64)))
        .await
        .unwrap();
    let puts: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [500, 500, 200]);

    server.faults().fail_next(2);
    let out = client
        .get_object(BUCKET, "k", Some("bytes=3-9"))
        .await
        .unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), data(64)[3..=9]);

    // Three attempts in all: a fourth failure is reported, with the OSS error.
    server.faults().fail_next(3);
    let err = client.head_object(BUCKET, "k").await.unwrap_err();
    assert_eq!(err.service_error().unwrap().status, 500);

    // InitiateMultipartUpload is not idempotent: it is not sent twice.
    server.faults().fail_next(1);
    let before = server.requests().len();
    let err = client
        .initiate_multipart_upload(InitiateMultipartUploadRequest::new(BUCKET, "m", 16, 32))
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code, "InternalError");
    assert_eq!(server.requests().len(), before + 1);
    assert!(server.upload_ids().is_empty());
}

#[tokio::test]
async fn a_wrong_content_range_is_refused() {
    let server = server().await;
    let client = client(&server);
    client
        .put_object(PutObjectRequest::new(BUCKET, "k", data(1000)))
        .await
        .unwrap();
    server.faults().shift_next_content_range(1);
    let err = client
        .get_object(BUCKET, "k", Some("bytes=100-199"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(cse_core::Error::InvalidRange(
                cse_core::RangeProblem::ResponseDoesNotCover
            ))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not cover"));
}

#[tokio::test]
async fn a_failed_upload_is_aborted_or_kept_as_asked() {
    let server = server().await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    // Ten parts of 100 KiB, the last one short.
    std::fs::write(&src, data(1_000_000)).unwrap();
    let options = UploadOptions {
        part_size: PART as u64,
        concurrency: 3,
        ..UploadOptions::default()
    };

    server.faults().refuse_next_put();
    let err = client
        .upload_file(BUCKET, "f", &src, &options)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code, "InvalidArgument");
    assert!(server.upload_ids().is_empty(), "leaked upload");
    assert!(server.object(BUCKET, "f").is_none());

    // With a checkpoint the failed upload is kept, and the same call resumes it.
    server.faults().refuse_next_put();
    let checkpoint = dir.path().join("f.checkpoint");
    let keep = UploadOptions {
        checkpoint: Some(checkpoint.clone()),
        ..options.clone()
    };
    let err = client
        .upload_file(BUCKET, "f", &src, &keep)
        .await
        .unwrap_err();
    let Error::UploadKept { upload_id, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(server.upload_ids(), [upload_id.clone()]);
    assert!(checkpoint.exists());
    client.upload_file(BUCKET, "f", &src, &keep).await.unwrap();
    assert!(!checkpoint.exists(), "the checkpoint outlived its upload");
    assert!(server.upload_ids().is_empty());
    let plain = data(1_000_000);
    let out = client.get_object(BUCKET, "f", None).await.unwrap();
    assert_eq!(out.body.bytes().await.unwrap(), plain);
}

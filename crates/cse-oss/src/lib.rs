//! `cse-oss`: an Alibaba Cloud OSS client with client-side encryption, with the interface of
//! the official SDKs' `EncryptionClient`, over `reqwest` (rustls) and the `reqsign-aliyun-oss`
//! V4 signer.
//!
//! All format knowledge (header names, counters, ranges, multipart rules) lives in [`cse_core`];
//! [`cse_http`] moves it in and out of `http` types. This crate adds the OSS operations:
//!
//! 1. build an [`OssClient`] (endpoint, region, [`Credentials`], addressing, retries);
//! 2. wrap it in an [`EncryptionClient`] with a master key (RSA or any
//!    [`cse_core::MasterCipher`], or a [`KmsMasterKey`]);
//! 3. call [`EncryptionClient::put_object`] / [`EncryptionClient::get_object`] (ranges are
//!    planned by the engine and sent block-aligned with `x-oss-range-behavior: standard`), or the
//!    multipart operations, or [`EncryptionClient::upload_file`] /
//!    [`EncryptionClient::download_file`].
//!
//! ```no_run
//! use cse_oss::{Credentials, EncryptionClient, OssClient, PutObjectRequest};
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let oss = OssClient::builder("https://oss-cn-hangzhou.aliyuncs.com")
//!     .credentials(Credentials::from_env()?)
//!     .build()?;
//! let master = cse_core::RsaMasterCipher::from_pem(&std::fs::read_to_string("master-private.pem")?)?;
//! let client = EncryptionClient::new(oss, Box::new(master));
//! client.put_object(PutObjectRequest::new("my-bucket", "notes.txt", b"secret notes".to_vec())).await?;
//! let part = client.get_object("my-bucket", "notes.txt", Some("bytes=-5")).await?; // RFC 9110 suffix
//! assert_eq!(part.body.bytes().await?, &b"notes"[..]);
//! # Ok(()) }
//! ```
//!
//! # Streaming, in constant memory
//! Every body streams: uploads are sealed as they are sent and downloads opened as they arrive,
//! 256 KiB at a time, whatever the object's size (`upload_part_stream` also keeps 32 bytes of
//! digest per 64 KiB of each part it sent, for resends).
//!
//! ```no_run
//! use std::path::Path;
//! use tokio::io::AsyncWriteExt as _;
//! # async fn example(client: cse_oss::EncryptionClient) -> Result<(), Box<dyn std::error::Error>> {
//! // A file: read again (under a fresh key) if the PutObject is retried.
//! client.put_object_from_file("my-bucket", "backup.tar", Path::new("backup.tar"), &[]).await?;
//! // Any AsyncRead (or any http_body::Body with put_object_stream): of unknown length here.
//! let log = tokio::fs::File::open("app.log").await?;
//! client.put_object_reader("my-bucket", "app.log", log, None, &[]).await?;
//! // A large file in parts, 4 at a time, each streamed from the file.
//! let options = cse_oss::UploadOptions { concurrency: 4, ..Default::default() };
//! client.upload_file("my-bucket", "disk.img", "disk.img", &options).await?;
//! // A download is a stream too (an http_body::Body), here the last MiB.
//! let mut tail = client.get_object("my-bucket", "disk.img", Some("bytes=-1048576")).await?;
//! let mut out = tokio::fs::File::create("tail.bin").await?;
//! while let Some(chunk) = tail.body.chunk().await? {
//!     out.write_all(&chunk).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! # Hazmat
//! The format is unauthenticated AES-CTR: a modified ciphertext decrypts to modified plaintext
//! without any error. What is checked: lengths (a whole read against the declared length, a
//! ranged read against the object length in Content-Range), the envelope staying the same
//! across the requests of one read, and on whole reads the plaintext MD5 when the writer
//! recorded one (`unencrypted-content-md5`; the one check that catches a wrong master key that
//! implicit rejection let through). Objects written without that header can still decrypt to
//! garbage under a wrong key.
//!
//! # Multipart uploads: retries, resuming, and the one rule they keep
//! A multipart upload seals every part under one content key, part `N` from counter
//! `IV + (N-1) * part_size / 16`. Two *different* plaintexts sealed for the same part number
//! would leave two ciphertexts under one keystream, whose XOR is the XOR of the plaintexts: the
//! one thing this crate must never let happen. So:
//!
//! - each part number is sealed once per upload ([`EncryptionClient::seal_part`]); a send that
//!   fails is retried with the same ciphertext ([`EncryptionClient::upload_sealed_part`]), which
//!   [`EncryptionClient::upload_part`] hands back in [`Error::PartNotUploaded`];
//! - an upload that must survive the process records itself in a local [`UploadCheckpoint`]:
//!   the envelope before InitiateMultipartUpload is sent, each part's ciphertext digest before
//!   the part leaves, its ETag after. [`EncryptionClient::resume_multipart_upload`] trusts only
//!   that file: the server's listing (ListParts, every page) is compared with it and any
//!   difference is refused before anything is sent, since a hostile or intercepted endpoint, or
//!   anyone holding the public master key, could otherwise substitute another object's envelope
//!   (keystream reuse) or one it wrapped itself (it would read every resumed part);
//! - a part whose ciphertext was lost with the process is sealed again only if the result has
//!   the recorded digest, that is, only from the same plaintext
//!   ([`cse_core::MultipartContext::reseal_part`]); a source that changed is refused;
//! - a failed or cancelled ([`CancelToken`]) upload stops starting parts, waits for the ones in
//!   flight, then aborts (or keeps the upload with its checkpoint), so no part lands after the
//!   abort; the upload id is reported first ([`UploadOptions::on_upload_id`]), and an Initiate
//!   whose answer was lost is [`Error::InitiateUncertain`], which says how to find it.
//!
//! What this cannot cover: a second process that unwraps the same envelope (it has the private
//! key) and seals its own parts is outside any one client's control; the checkpoint file is
//! locked while open, which stops a second resume through it.
//!
//! # Build the crypto crates optimised, even in debug builds
//! AES, SHA-2, MD5 and RSA are many times slower unoptimised (about 25 times for AES, as
//! measured for this workspace's streaming work), which makes a debug build of
//! anything that moves objects look broken. Add to your workspace's `Cargo.toml`:
//!
//! ```toml
//! [profile.dev.package]
//! aes = { opt-level = 3 }
//! ctr = { opt-level = 3 }
//! sha2 = { opt-level = 3 }
//! md-5 = { opt-level = 3 }
//! rsa = { opt-level = 3 }
//! crypto-bigint = { opt-level = 3 }
//! ```
//!
//! The in-memory OSS-API server the tests run against is the unpublished
//! `cse-oss-test-server` crate of this workspace.

mod auth;
mod checkpoint;
mod client;
mod crc64;
mod encryption;
mod error;
mod kms;
mod part_body;
mod time;
mod transfer;
mod xml;

pub use auth::{Authenticate, VerifiedObject, Verify, sidecar_key};
pub use checkpoint::{CheckpointState, PartRecord, UploadCheckpoint, key_check};
pub use client::{
    Addressing, Credentials, DEFAULT_REGION, ObjectMeta, OssClient, OssClientBuilder,
    PutObjectOutput, RetryPolicy, check_bucket, check_key,
};
pub use encryption::{
    EncryptionClient, EncryptionMultipartContext, GetObjectOutput, HeadObjectOutput,
    InitiateMultipartUploadRequest, ListPartsOutput, ObjectBody, PartSummary, PutObjectRequest,
    SealedPart, UploadedPart, object_crc64,
};
pub use error::{Error, Result, ServiceError};
pub use kms::KmsMasterKey;
pub use part_body::MAX_PUT_OBJECT_LEN;
pub use transfer::{CancelToken, DownloadOptions, ProgressHook, UploadIdHook, UploadOptions};

/// The engine, re-exported so that one dependency gives the whole client: master keys
/// (`cse_oss::cse_core::RsaMasterCipher`), envelopes, errors.
pub use cse_core;
/// The HTTP client [`OssClientBuilder::http_client`] takes, re-exported at the version this
/// crate is built with.
pub use reqwest;

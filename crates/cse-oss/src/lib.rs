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
//! # Hazmat
//! The format is unauthenticated AES-CTR: a modified ciphertext decrypts to modified plaintext
//! without any error. Lengths are checked; nothing else can be.
//!
//! The `test-server` feature adds [`test_server`], an in-memory OSS-API server for tests.

mod client;
mod crc64;
mod encryption;
mod error;
mod kms;
mod time;
mod transfer;
mod xml;

pub mod sign;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use client::{
    Addressing, Credentials, DEFAULT_REGION, ObjectMeta, OssClient, OssClientBuilder,
    PutObjectOutput, RetryPolicy,
};
pub use encryption::{
    EncryptionClient, EncryptionMultipartContext, GetObjectOutput, HeadObjectOutput,
    InitiateMultipartUploadRequest, ListPartsOutput, ObjectBody, PartSummary, PutObjectRequest,
    UploadedPart, object_crc64,
};
pub use error::{Error, Result, ServiceError};
pub use kms::KmsMasterKey;
pub use transfer::{DownloadOptions, UploadOptions};

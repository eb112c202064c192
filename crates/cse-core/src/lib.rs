//! `cse-core`: the engine of Alibaba Cloud OSS client-side encryption (CSE), byte-compatible with
//! the official SDKs (Python V2, Go V2, Java, C++, oss2), with no IO of its own.
//!
//! Each object is encrypted with a fresh AES-256 key and a 16-byte counter block in CTR mode. The
//! key and the counter block are wrapped by a master key (RSA, KMS, or your own) and stored as
//! `x-oss-meta-client-side-encryption-*` metadata. This crate holds the whole format: the
//! [`Envelope`] and its header codec, the streaming [`Sealer`] and [`Opener`], the range planner
//! ([`plan_range`]) and multipart ([`MultipartContext`]). It performs no IO, reads no clock or
//! environment, and takes randomness only as a [`rand_core::CryptoRng`] argument. It is `no_std`,
//! and `alloc` and `rsa` are optional.
//!
//! # Hazmat
//! The format is unauthenticated AES-CTR: ciphertext can be modified without detection, and
//! none of the metadata is authenticated. This engine checks lengths, refuses keystream reuse in
//! multipart uploads, and unwraps keys in constant time with one opaque error, but it cannot add
//! integrity the format does not have.
//!
//! # Drive loop: sealing an object
//! ```
//! # let pem = cse_testkit::keys::RSA2048_PEM;
//! use cse_core::{RsaMasterCipher, SealedEnvelope, DEFAULT_PREFIX};
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let master = RsaMasterCipher::from_pem(pem)?;
//!
//! let plaintext = b"hello, object storage";
//! // A fresh content key and counter block, and the envelope that wraps them, as one value.
//! let sealed = SealedEnvelope::seal(&master, &mut rng)?
//!     .with_unencrypted_content_length(plaintext.len() as u64);
//! sealed.envelope().encode_headers(DEFAULT_PREFIX, |name, value| {
//!     // request.header(name, value)
//! #   let _ = (name, value);
//! })?;
//!
//! let mut sealer = sealed.sealer(); // exactly the declared 21 bytes
//! let mut body = [0u8; 21];
//! for (input, output) in plaintext.chunks(8).zip(body.chunks_mut(8)) {
//!     sealer.update(input, output)?; // send `output`
//! }
//! sealer.finish()?;
//! # Ok::<(), cse_core::Error>(())
//! ```
//!
//! # Drive loop: opening an object
//! ```
//! # let pem = cse_testkit::keys::RSA2048_PEM;
//! # use cse_core::*;
//! # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! # let master = RsaMasterCipher::from_pem(pem)?;
//! # let material = ContentMaterial::generate(&mut rng);
//! # let headers = Envelope::seal(&material, &master, &mut rng)?.with_unencrypted_content_length(5).to_headers(DEFAULT_PREFIX)?;
//! # let mut body = *b"hello"; Sealer::new(&material).update_in_place(&mut body)?;
//! let keyring = Keyring::new(Box::new(master));
//! let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
//! let envelope = decode_envelope(pairs, &DecodeOptions::strict())?.ok_or(Error::NotEncrypted)?;
//! let material = keyring.open(&envelope, &mut rng)?;
//! let mut opener = envelope.whole_opener(&material); // checks unencrypted-content-length
//! for chunk in body.chunks_mut(2) {
//!     let plain = opener.update_in_place(chunk)?; // write &chunk[plain]
//! #   let _ = plain;
//! }
//! opener.finish()?; // Error::Truncated if the body was cut short
//! # assert_eq!(&body, b"hello");
//! # Ok::<(), cse_core::Error>(())
//! ```
//!
//! # Drive loop: a ranged read
//! ```
//! # use cse_core::*;
//! # let material = ContentMaterial::new(ContentKey::from_bytes([1; 32]), CounterBlock::from_bytes([0; 16]));
//! # let mut object = [0u8; 100]; for (i, b) in object.iter_mut().enumerate() { *b = i as u8; }
//! # let plain = object; Sealer::new(&material).update_in_place(&mut object)?;
//! let plan = plan_range(ByteRange::parse("bytes=-10")?, None)?;
//! // GET with `Range: {plan.wire_range()}` and `x-oss-range-behavior: {plan.range_behavior()}`.
//! assert_eq!(plan.wire_range().to_string(), "bytes=-10");
//! // The server answers 206 with `Content-Range: bytes 90-99/100`.
//! let response = RangeResponse::from_parts(206, Some("bytes 90-99/100"), Some(10))?;
//! let body_plan = plan.on_response(response)?;
//! assert_eq!(body_plan.content_range().to_string(), "bytes 90-99/100");
//! let mut opener = body_plan.opener(&material);
//! let mut out = [0u8; 10];
//! let n = opener.update(&object[90..], &mut out)?;
//! opener.finish()?;
//! assert_eq!(&out[..n], &plain[90..]);
//! # Ok::<(), cse_core::Error>(())
//! ```
//!
//! # Drive loop: multipart, parts in any order, on any thread
//! ```
//! # let pem = cse_testkit::keys::RSA2048_PEM;
//! # use cse_core::*;
//! # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! # let master = RsaMasterCipher::from_pem(pem)?;
//! let data = [7u8; 40];
//! let sealed = SealedEnvelope::seal(&master, &mut rng)?;
//! let upload = MultipartContext::new(sealed, 16, data.len() as u64)?;
//! // InitiateMultipartUpload and every UploadPart carry upload.envelope()'s headers.
//! for part in [3, 1, 2] {
//!     let mut sealer = upload.part_sealer(part)?;
//!     let start = (part as usize - 1) * 16;
//!     let mut body = data[start..(start + sealer.len() as usize)].to_vec();
//!     sealer.update_in_place(&mut body)?;
//!     sealer.finish()?; // Error::PartLength if short
//!     // UploadPart(part, body)
//! }
//! assert_eq!(upload.part_sealer(1).unwrap_err(), Error::PartAlreadySealed { part: 1 });
//! # Ok::<(), cse_core::Error>(())
//! ```
//!
//! # A master key that needs IO (KMS)
//! [`SealedEnvelope::from_wrapped`] pairs a material with the values wrapped elsewhere from it;
//! [`Envelope::wrapped_key`] and
//! [`Envelope::wrapped_counter`] hand them out to unwrap elsewhere, and
//! [`ContentMaterial::from_unwrapped`] takes the result back. No IO enters the engine.
//!
//! # Features
//! - `alloc` (default): parsed [`MatDesc`], the [`Keyring`], owned header lists.
//! - `rsa` (default): [`RsaMasterCipher`].
//! - `ed25519` (default): writer signatures on authenticated objects (`auth::WriterKey`).
//! - `legacy`: the 2018 oss2 format, read-only.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod auth;
mod envelope;
mod error;
mod fallible_rng;
#[cfg(feature = "alloc")]
mod fingerprint;
mod fixed;
mod key;
mod master;
mod meta;
mod multipart;
mod range;
mod sealed;
mod stream;

#[cfg(feature = "alloc")]
mod matdesc;
#[cfg(feature = "alloc")]
mod meta_file;
#[cfg(feature = "rsa")]
mod rsa;

#[cfg(feature = "legacy")]
pub mod legacy;

pub use envelope::{
    CEK_ALG_AES_CTR, Envelope, MAX_MATDESC_LEN, MAX_WRAP_ALG_LEN, MAX_WRAPPED_LEN, MultipartSizes,
    WRAP_ALG_KMS, WRAP_ALG_RSA, WrappedValue,
};
pub use error::{Error, Field, KeyProblem, RangeProblem, Result, StreamError, ValueProblem};
pub use fallible_rng::FallibleRng;
#[cfg(feature = "alloc")]
pub use fingerprint::{PartFingerprint, PartFingerprinter, TrackedPartSealer};
pub use key::{
    BLOCK_LEN, CONTENT_KEY_LEN, COUNTER_BLOCK_LEN, ContentKey, ContentMaterial, CounterBlock,
};
#[cfg(feature = "alloc")]
pub use master::Keyring;
pub use master::MasterCipher;
#[cfg(feature = "alloc")]
pub use matdesc::MatDesc;
pub use meta::{
    AUTH_HEADER_STEM, DEFAULT_PREFIX, DecodeOptions, ENVELOPE_HEADER_STEM, MissingEnvelope,
    RANGE_BEHAVIOR_HEADER, RANGE_BEHAVIOR_STANDARD, decode_auth_params, decode_envelope,
    decode_list_parts_envelope, is_auth_header, is_envelope_header,
};
#[cfg(feature = "alloc")]
pub use meta_file::{MAX_META_FILE_LEN, MetaFileError, meta_file_text, parse_meta_file};
pub use multipart::{
    FINGERPRINT_CHUNK_LEN, MAX_PARTS, MultipartContext, PART_DIGEST_LEN, PartDigest, PartSealer,
};
pub use range::{BodyPlan, ByteRange, ContentRange, RangePlan, RangeResponse, plan_range};
#[cfg(feature = "rsa")]
pub use rsa::{MIN_RSA_BITS, RsaMasterCipher};
pub use sealed::SealedEnvelope;
pub use stream::{BodyTransform, ContentMd5Check, Opener, PlainWindow, Sealer};

/// Re-exported so callers name the same `CryptoRng` the engine takes.
pub use rand_core;

//! `cse-http`: Alibaba Cloud OSS client-side encryption for any stack built on the `http` 1.x
//! types and the `http-body` 1.x `Body` trait (hyper, reqwest, axum, tower).
//!
//! It moves headers and bytes between `http` types and the [`cse_core`] engine, and knows
//! nothing of the format itself: every header name, counter and range rule comes from the engine.
//! It has no async runtime dependency.
//!
//! - Headers: [`encode_envelope`] / [`decode_envelope`] between an [`Envelope`](cse_core::Envelope)
//!   and a [`HeaderMap`](http::HeaderMap); [`prepare_put_headers`] applies the write rules (the
//!   caller's Content-MD5 moves into the envelope, Content-Length is kept and declared).
//! - Ranges: [`prepare_get_headers`] turns the caller's Range into the block-aligned wire Range
//!   plus `x-oss-range-behavior: standard`; [`rewrite_range_response`] reads the server's
//!   206 / 200 / 416 and rewrites Content-Range and Content-Length for the plaintext.
//! - Bodies: [`CipherBody`] runs a body through any of the engine's streaming state machines
//!   ([`cse_core::BodyTransform`]): it encrypts a request body ([`CipherBody::seal`],
//!   [`CipherBody::part`]), decrypts a response body ([`CipherBody::whole`],
//!   [`CipherBody::ranged`]) or trims a range of an unencrypted object
//!   ([`CipherBody::passthrough`]), frame by frame, in place, in constant memory, polling the
//!   inner body only when polled. A body that arrives shorter or longer than declared ends with
//!   an error, never quietly.
//!
//! # Hazmat
//! The format is unauthenticated AES-CTR (see [`cse_core`]): the length checks are the only
//! integrity these wrappers can add.
//!
//! # Drive loop: a PutObject, then a ranged GetObject
//! ```
//! # let pem = cse_testkit::keys::RSA2048_PEM;
//! # type BoxError = Box<dyn std::error::Error + Send + Sync>;
//! use bytes::Bytes;
//! use cse_core::{DEFAULT_PREFIX, DecodeOptions, Keyring, RsaMasterCipher, SealedEnvelope};
//! use cse_http::CipherBody;
//! use http::{HeaderMap, Response, header};
//! use http_body_util::{BodyExt, Full};
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let mut rng = cse_core::rand_core::UnwrapErr(getrandom::SysRng);
//! let master = RsaMasterCipher::from_pem(pem)?;
//!
//! // PutObject: the plain request's headers become the encrypted request's ...
//! let plaintext = Bytes::from_static(b"hello, object storage");
//! let mut put = HeaderMap::new();
//! put.insert(header::CONTENT_LENGTH, plaintext.len().into());
//! let sealed = SealedEnvelope::seal(&master, &mut rng)?;
//! let sealed = cse_http::prepare_put_headers(&mut put, sealed, DEFAULT_PREFIX)?;
//! assert_eq!(sealed.envelope().unencrypted_content_length(), Some(21));
//! // ... and the body is sealed as the HTTP client polls it, to exactly that length.
//! let body = CipherBody::seal(Full::new(plaintext), sealed.sealer());
//! let stored = body.collect().await?.to_bytes(); // send `put` and `body`
//!
//! // GetObject with a range: send the block-aligned range instead of the caller's.
//! let mut get = HeaderMap::new();
//! get.insert(header::RANGE, "bytes=7-12".parse()?);
//! let plan = cse_http::prepare_get_headers(&mut get, None)?.ok_or("no Range")?;
//! assert_eq!(get[header::RANGE], "bytes=0-12");
//! assert_eq!(get["x-oss-range-behavior"], "standard");
//!
//! // The server answers 206 with the object's metadata and bytes 0-12.
//! let mut response = Response::builder()
//!     .status(206)
//!     .header(header::CONTENT_RANGE, "bytes 0-12/21")
//!     .body(Full::new(stored.slice(0..13)))?;
//! response.headers_mut().extend(put);
//! let (mut parts, body) = response.into_parts();
//! let envelope = cse_http::decode_envelope(&parts.headers, &DecodeOptions::strict())?
//!     .ok_or("not encrypted")?;
//! let material = Keyring::new(Box::new(master)).open(&envelope, &mut rng)?;
//! let body_plan = cse_http::rewrite_range_response(&plan, &mut parts)?;
//! assert_eq!(parts.headers[header::CONTENT_RANGE], "bytes 7-12/21");
//! let opened = CipherBody::ranged(body, &body_plan, &material);
//! assert_eq!(opened.collect().await?.to_bytes(), "object");
//! # Ok::<(), BoxError>(())
//! # })?;
//! # Ok::<(), BoxError>(())
//! ```
//!
//! A whole-object GET skips the range steps and wraps the body with [`CipherBody::whole`], which
//! checks the envelope's declared length. A multipart upload writes
//! [`MultipartContext::envelope`](cse_core::MultipartContext::envelope) with
//! [`encode_envelope`] on every request and seals each part with [`CipherBody::part`].

mod body;
mod error;
mod headers;
mod range;

pub use body::{CipherBody, OpenBody, SealBody};
pub use error::{BoxError, Error, Result};
pub use headers::{
    decode_auth_params, decode_envelope, encode_auth_params, encode_envelope, prepare_put_headers,
};
pub use range::{
    decode_range, decode_range_response, encode_range, prepare_get_headers, rewrite_range_response,
};

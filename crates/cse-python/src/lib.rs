//! `cse-python`: the Python binding over [`cse_core`], the engine of Alibaba Cloud OSS
//! client-side encryption, built by maturin into the extension module `oss_cse._native` (the
//! package is `python/`). Every rule of the format lives in `cse-core`; this crate only turns
//! Python arguments into engine calls and back, as `cse-ffi` does for C.
//!
//! # Drive loop (Python)
//! ```text
//! key = oss_cse.RsaMasterCipher.from_pem(pem)
//! sealed = oss_cse.SealedEnvelope(key, content_length=len(data))
//! headers = sealed.to_headers()            # PutObject metadata, a dict
//! body = bytearray(data)
//! sealer = sealed.sealer()
//! sealer.update_in_place(body)             # any chunking; no allocation
//! sealer.finish()
//!
//! envelope = oss_cse.Envelope.from_headers(headers)
//! opener = envelope.whole_opener(envelope.open(key))
//! kept = opener.update_in_place(body)      # a slice of body to deliver
//! opener.finish()                          # TruncatedError if cut short
//! ```
//!
//! # Conventions
//! - **Buffers.** `update_in_place` takes any writable contiguous buffer (`bytearray`, a
//!   `memoryview` of one, NumPy `uint8`); `update_into(src, dst)` reads any bytes-like `src`
//!   (`bytes` included) into a writable `dst`. Neither allocates. `update(data)` returns new
//!   `bytes`. See the `buffer` module for what the buffer protocol guarantees.
//! - **GIL.** Chunks of 16 KiB or more are transformed with the GIL released, and so are RSA
//!   operations and the file helpers. A sealer or opener is used by one thread at a time (a
//!   second thread gets PyO3's "already borrowed" error); a `MultipartContext` is shared.
//! - **Threads.** A sealer seals a chunk of 512 KiB or more on up to `threads` threads, each
//!   with its own stretch of the keystream (`Sealer::split_to`); `SealingReader` also reads
//!   while it seals (`reader`). The threads are one pool per process (`pool`) and never call
//!   Python.
//! - **Errors.** One exception hierarchy under `CseError`, mapped from the engine's error kinds
//!   in `error`; messages are the engine's and hold no secret. Every failure to unwrap a key is
//!   the one opaque `UnwrapError`.
//! - **Randomness.** The OS source (`getrandom`) inside the calls that need it, as in
//!   `cse-ffi`: no Python callable can hand the engine a weak generator.
//! - **Secrets.** `ContentMaterial` has no accessor and an opaque repr; the engine wipes it.

#![allow(unsafe_code)]

// The two modules with unsafe code: `buffer` turns Python buffers into slices, `fd` owns a
// descriptor from `os.dup`.
#[forbid(unsafe_code)]
mod auth;
#[allow(unsafe_code)]
mod buffer;
#[forbid(unsafe_code)]
mod envelope;
#[forbid(unsafe_code)]
mod error;
#[allow(unsafe_code)]
mod fd;
#[forbid(unsafe_code)]
mod files;
#[forbid(unsafe_code)]
mod master;
#[forbid(unsafe_code)]
mod multipart;
#[forbid(unsafe_code)]
mod pool;
#[forbid(unsafe_code)]
mod range;
#[forbid(unsafe_code)]
mod reader;
#[forbid(unsafe_code)]
mod rng;
#[forbid(unsafe_code)]
mod stream;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    error::register(m)?;
    pool::register(m)?;
    m.add_class::<master::PyRsaMasterCipher>()?;
    m.add_class::<master::PyKeyring>()?;
    m.add_class::<envelope::PyEnvelope>()?;
    m.add_class::<envelope::PyContentMaterial>()?;
    m.add_class::<envelope::PySealedEnvelope>()?;
    m.add_class::<stream::PySealer>()?;
    m.add_class::<stream::PyOpener>()?;
    m.add_class::<stream::PyPartSealer>()?;
    m.add_class::<reader::PySealingReader>()?;
    m.add_class::<range::PyRangePlan>()?;
    m.add_class::<range::PyBodyPlan>()?;
    m.add_class::<multipart::PyMultipartContext>()?;
    m.add_function(wrap_pyfunction!(envelope::is_envelope_header, m)?)?;
    m.add_function(wrap_pyfunction!(range::py_plan_range, m)?)?;
    m.add_function(wrap_pyfunction!(files::encrypt_file, m)?)?;
    m.add_function(wrap_pyfunction!(files::decrypt_file, m)?)?;
    m.add_function(wrap_pyfunction!(files::py_meta_json, m)?)?;
    m.add("DEFAULT_PREFIX", cse_core::DEFAULT_PREFIX)?;
    m.add("RANGE_BEHAVIOR_HEADER", cse_core::RANGE_BEHAVIOR_HEADER)?;
    m.add("WRAP_ALG_RSA", cse_core::WRAP_ALG_RSA)?;
    m.add("WRAP_ALG_KMS", cse_core::WRAP_ALG_KMS)?;
    m.add("CEK_ALG_AES_CTR", cse_core::CEK_ALG_AES_CTR)?;
    m.add("CHUNK_DETACH_MIN", stream::DETACH_MIN)?;
    Ok(())
}

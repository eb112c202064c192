//! `cse-wasm`: [`cse_core`] as a WebAssembly module, so that a browser or an edge worker can
//! read an object written with Alibaba Cloud OSS client-side encryption: decode the envelope from
//! the response headers, unwrap it with an RSA private key or a JavaScript callback (a KMS), and
//! open the body, whole or a range of it, chunk by chunk as `fetch()` delivers it.
//!
//! Build it with `cargo build -p cse-wasm --release --target wasm32-unknown-unknown`; the module
//! is `target/wasm32-unknown-unknown/release/cse_wasm.wasm`, and `js/cse.mjs` is the JavaScript
//! wrapper to use it through (the tests and the browser page do).
//!
//! # Why a hand-written export surface, not wasm-bindgen
//! The module exports a few dozen plain functions over integers and imports two, so it needs
//! no generated glue:
//! - nothing to install but the Rust target: wasm-bindgen needs its CLI at the exact version
//!   of the crate, which is a long build from crates.io on every fresh CI machine;
//! - the module loads with `WebAssembly.instantiate` anywhere (Node, browsers, workers), with
//!   no bundler;
//! - the ABI is small enough to read in one sitting, and the 370-line `js/cse.mjs` gives it the
//!   shape a JavaScript caller wants.
//!
//! # The ABI
//! - **Handles.** Every object (a buffer, a key, an envelope, content material, a range plan, a
//!   body plan, an opener) is a `u32` handle into a table in the module; `0` means the call
//!   failed. Handles are never reused within an instance, so a stale handle is an error, never
//!   another object. `cse_free` frees any of them.
//! - **Bytes in.** The caller asks for a buffer (`cse_buffer_new`), writes into linear memory
//!   at `cse_buffer_ptr` (re-reading `memory.buffer` after any call, which may grow it), and
//!   passes the buffer's handle. The module never reads memory it did not allocate, so its own
//!   code holds no raw pointers.
//! - **Text out** (an error message, a wire Range): the call returns its length and leaves it at
//!   `cse_text_ptr` until the next call.
//! - **Errors.** A failed call returns `0` (handles) or `-1`, and `cse_error_text` gives the
//!   engine's message, which never holds key material or plaintext. Every failure to unwrap a
//!   key is the same message, whatever the cause.
//! - **Lengths** are JavaScript numbers (`f64`): whole, non-negative, at most 2^53; `-1` means
//!   "none".
//! - **Imports** (module `cse_host`): `random_fill(ptr, len) -> i32`, which fills linear memory
//!   with random bytes (`crypto.getRandomValues`; RSA blinding needs them), and
//!   `unwrap(ctx, wrapped_ptr, wrapped_len, out_ptr, out_len) -> i32`, the callback of keys made
//!   by `cse_key_callback`, which writes exactly `out_len` bytes. Both return 0 on success.
//! - **Traps.** The engine does not panic on any input; if the module ever traps (a bug), the
//!   wrapper refuses every later call on that instance.
//!
//! Opening only: sealing and multipart uploads are not exposed, since a browser holding a
//! public key has the CLI or the other bindings for that. Authenticated objects are read with
//! `cse_auth_plan` / `cse_auth_opener` / `cse_auth_update` / `cse_auth_finish` (the engine's
//! `auth::ChunkPlan` and `auth::ChunkOpener`): plaintext of a chunk is released only after its
//! tag verified, into the `cse_released_ptr` register, wiped before it is reused.
//!
//! # Hazmat
//! The format is unauthenticated AES-CTR, as [`cse_core`] explains: for an object written
//! without authentication the length checks are the only integrity a body has.

mod api;
#[allow(unsafe_code)]
mod exports;
#[allow(unsafe_code)]
mod host;
mod table;
#[cfg(test)]
mod tests;

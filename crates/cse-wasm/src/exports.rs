//! The module's exports: each a thin shell over [`crate::api`] that stores the failure message
//! and returns `0` (a handle) or `-1` (a status) when the call fails. The only unsafe code here
//! is `#[unsafe(no_mangle)]`, which exports the symbol under its own name; no export takes or
//! dereferences a pointer.

use crate::api::{self, Failure};
use crate::table::{State, with_state};

/// Runs `f` on the state; a failure's message is kept for `cse_error_text` (a success clears
/// it).
fn call<T: Copy>(fail: T, f: impl FnOnce(&mut State) -> Result<T, Failure>) -> T {
    with_state(|state| match f(state) {
        Ok(v) => {
            state.error.clear();
            v
        }
        Err(e) => {
            state.error = e.0;
            fail
        }
    })
    .unwrap_or(fail)
}

/// A call whose result is text: it goes to the text register, and its length is returned.
fn call_text(f: impl FnOnce(&mut State) -> Result<String, Failure>) -> i32 {
    call(-1, |state| {
        let text = f(state)?;
        let len = i32::try_from(text.len()).map_err(|_| Failure("text too long".to_owned()))?;
        state.text = text;
        Ok(len)
    })
}

/// A buffer of `len` zero bytes; write into it at `cse_buffer_ptr`.
#[unsafe(no_mangle)]
pub extern "C" fn cse_buffer_new(len: u32) -> u32 {
    call(0, |s| api::buffer_new(s, len))
}

/// Where buffer `buf` starts in linear memory (0 on failure). Valid until the buffer is freed.
#[unsafe(no_mangle)]
pub extern "C" fn cse_buffer_ptr(buf: u32) -> *mut u8 {
    call(core::ptr::null_mut(), |s| api::buffer_ptr(s, buf))
}

/// The length of buffer `buf` (0 on failure, or for an empty one).
#[unsafe(no_mangle)]
pub extern "C" fn cse_buffer_len(buf: u32) -> u32 {
    call(0, |s| api::buffer_len(s, buf))
}

/// Frees any handle: 0, or -1 for one that is not live.
#[unsafe(no_mangle)]
pub extern "C" fn cse_free(handle: u32) -> i32 {
    call(-1, |s| api::free(s, handle).map(|()| 0))
}

/// Puts the last failure's message in the text register; returns its length (0: none).
#[unsafe(no_mangle)]
pub extern "C" fn cse_error_text() -> i32 {
    with_state(|s| {
        s.text = s.error.clone();
        i32::try_from(s.text.len()).unwrap_or(0)
    })
    .unwrap_or(0)
}

/// Where the text register's bytes (UTF-8) start; valid until the next call.
#[unsafe(no_mangle)]
pub extern "C" fn cse_text_ptr() -> *const u8 {
    with_state(|s| s.text.as_ptr()).unwrap_or(core::ptr::null())
}

/// The text register's length in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn cse_text_len() -> u32 {
    with_state(|s| u32::try_from(s.text.len()).unwrap_or(0)).unwrap_or(0)
}

/// An RSA master key from PEM text in buffer `pem` (PKCS#1 or PKCS#8 private, or a public key).
#[unsafe(no_mangle)]
pub extern "C" fn cse_key_rsa_pem(pem: u32) -> u32 {
    call(0, |s| api::key_rsa_pem(s, pem))
}

/// An RSA master key from DER bytes in buffer `der`.
#[unsafe(no_mangle)]
pub extern "C" fn cse_key_rsa_der(der: u32) -> u32 {
    call(0, |s| api::key_rsa_der(s, der))
}

/// A master key whose unwrap is the host's `cse_host.unwrap` import, called with `ctx`; it is
/// chosen for envelopes with the wrap-alg in buffer `wrap_alg` (and the matdesc in buffer
/// `matdesc`, or 0 for none).
#[unsafe(no_mangle)]
pub extern "C" fn cse_key_callback(ctx: u32, wrap_alg: u32, matdesc: u32) -> u32 {
    call(0, |s| api::key_callback(s, ctx, wrap_alg, matdesc))
}

/// The envelope of an object from its response headers: `name: value` lines in buffer
/// `headers`. Fails with the engine's "not encrypted" error when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_decode(headers: u32) -> u32 {
    call(0, |s| api::envelope_decode(s, headers))
}

/// Unwraps the envelope's content material with `key`; every unwrap failure is the same error.
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_open(envelope: u32, key: u32) -> u32 {
    call(0, |s| api::envelope_open(s, envelope, key))
}

/// The envelope's wrap-alg (what a callback key must be made for), in the text register.
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_wrap_alg(envelope: u32) -> i32 {
    call_text(|s| api::envelope_wrap_alg(s, envelope))
}

/// The plaintext length the envelope declares, or -1 when it declares none (or on failure).
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_declared_len(envelope: u32) -> f64 {
    call(-1.0, |s| api::envelope_declared_len(s, envelope))
}

/// Checks a stored object length (a `Content-Range` total, a `Content-Length`) against the
/// envelope: 0, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_check_stored_len(envelope: u32, len: f64) -> i32 {
    call(-1, |s| {
        api::envelope_check_stored_len(s, envelope, len).map(|()| 0)
    })
}

/// The opener of a whole object's body; `cse_opener_finish` checks the declared length.
#[unsafe(no_mangle)]
pub extern "C" fn cse_opener_whole(envelope: u32, material: u32) -> u32 {
    call(0, |s| api::opener_whole(s, envelope, material))
}

/// A range plan for the Range text in buffer `range` (e.g. `bytes=-100`), for an object of
/// `object_len` bytes, or -1 when its length is not known yet.
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_plan(range: u32, object_len: f64) -> u32 {
    call(0, |s| api::range_plan(s, range, object_len))
}

/// The Range header value to send, in the text register.
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_plan_wire_range(plan: u32) -> i32 {
    call_text(|s| api::range_plan_wire_range(s, plan))
}

/// The value of the range-behavior header to send with it, in the text register.
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_plan_range_behavior(plan: u32) -> i32 {
    call_text(|s| api::range_plan_range_behavior(s, plan))
}

/// The name of the range-behavior header, in the text register.
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_behavior_header() -> i32 {
    call_text(|_| Ok(api::range_behavior_header()))
}

/// The prefix of the envelope's header names (`x-oss-meta-`), in the text register: what to
/// keep of a response's headers for `cse_envelope_decode`.
#[unsafe(no_mangle)]
pub extern "C" fn cse_envelope_header_prefix() -> i32 {
    call_text(|_| Ok(api::envelope_header_prefix()))
}

/// The body plan for the server's answer: its `status`, its `Content-Range` in buffer
/// `content_range` (0: none) and its `Content-Length` (-1: none).
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_plan_on_response(
    plan: u32,
    status: u32,
    content_range: u32,
    content_length: f64,
) -> u32 {
    call(0, |s| {
        api::range_plan_on_response(s, plan, status, content_range, content_length)
    })
}

/// The body plan for a stored ciphertext of `stored_len` bytes read from its start (a file).
#[unsafe(no_mangle)]
pub extern "C" fn cse_range_plan_on_stored(plan: u32, stored_len: f64) -> u32 {
    call(0, |s| api::range_plan_on_stored(s, plan, stored_len))
}

/// The plaintext's `Content-Range` (`bytes first-last/total`), in the text register.
#[unsafe(no_mangle)]
pub extern "C" fn cse_body_content_range(body: u32) -> i32 {
    call_text(|s| api::body_content_range(s, body))
}

/// How many plaintext bytes the body plan delivers (-1 on failure).
#[unsafe(no_mangle)]
pub extern "C" fn cse_body_content_length(body: u32) -> f64 {
    call(-1.0, |s| api::body_content_length(s, body))
}

/// The object's length, as the server's answer gave it (-1 on failure).
#[unsafe(no_mangle)]
pub extern "C" fn cse_body_object_len(body: u32) -> f64 {
    call(-1.0, |s| api::body_object_len(s, body))
}

/// The opener of a ranged body.
#[unsafe(no_mangle)]
pub extern "C" fn cse_opener_ranged(body: u32, material: u32) -> u32 {
    call(0, |s| api::opener_ranged(s, body, material))
}

/// Opens `len` bytes of buffer `buf` from `offset`, in place: returns where, within them, the
/// plaintext to deliver starts (its length: `cse_delivered_len`), or -1.
#[unsafe(no_mangle)]
pub extern "C" fn cse_opener_update(opener: u32, buf: u32, offset: u32, len: u32) -> i32 {
    call(-1, |s| {
        let at = api::opener_update(s, opener, buf, offset, len)?;
        i32::try_from(at).map_err(|_| Failure("len: too large".to_owned()))
    })
}

/// How many bytes the last `cse_opener_update` delivered.
#[unsafe(no_mangle)]
pub extern "C" fn cse_delivered_len() -> u32 {
    with_state(|s| s.delivered).unwrap_or(0)
}

/// Ends the body (and frees the opener): the plaintext length delivered, or -1 when the body
/// was cut short, ran long or failed its MD5.
#[unsafe(no_mangle)]
pub extern "C" fn cse_opener_finish(opener: u32) -> f64 {
    call(-1.0, |s| api::opener_finish(s, opener))
}

/// 1 when the response headers `headers` announce an authenticated object (read it with
/// `cse_auth_plan`: the plain openers do not verify it), 0 when not, -1 for malformed ones.
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_announced(headers: u32) -> i32 {
    call(-1, |s| api::auth_announced(s, headers).map(i32::from))
}

/// Plans an authenticated read (docs/authenticated-objects.md) of the object with response
/// headers `headers`, `object_len` bytes: whole (`range` 0) or the range text buffer `range`;
/// `trusted` 0 or a buffer of 32-byte Ed25519 public keys.
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_plan(headers: u32, object_len: f64, range: u32, trusted: u32) -> u32 {
    call(0, |s| {
        api::auth_plan(s, headers, object_len, range, trusted)
    })
}

/// The Range of the side-car's tags to fetch, as text (the header is `bytes=0-207`).
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_plan_tags_range(plan: u32) -> i32 {
    call_text(|s| api::auth_plan_tags_range(s, plan))
}

/// The Range of the object to fetch, as text ("" when none is needed).
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_plan_body_range(plan: u32) -> i32 {
    call_text(|s| api::auth_plan_body_range(s, plan))
}

/// The opener of a planned authenticated read, once the commitment, the side-car header
/// (`header`, 208 bytes) and, when all tags are read, the final tag over `tags` checked out.
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_opener(
    plan: u32,
    envelope: u32,
    material: u32,
    header: u32,
    tags: u32,
) -> u32 {
    call(0, |s| {
        api::auth_opener(s, plan, envelope, material, header, tags)
    })
}

/// Feeds `len` bytes of `buf` from `offset`: how many were used, or -1; the plaintext of a
/// chunk that verified is at `cse_released_ptr` / `cse_released_len`.
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_update(opener: u32, buf: u32, offset: u32, len: u32) -> i32 {
    call(-1, |s| {
        let used = api::auth_update(s, opener, buf, offset, len)?;
        i32::try_from(used).map_err(|_| Failure("len: too large".to_owned()))
    })
}

/// Where the last `cse_auth_update` left the plaintext it released.
#[unsafe(no_mangle)]
pub extern "C" fn cse_released_ptr() -> *const u8 {
    with_state(|s| s.released.as_ptr()).unwrap_or(core::ptr::null())
}

/// How many bytes the last `cse_auth_update` released.
#[unsafe(no_mangle)]
pub extern "C" fn cse_released_len() -> u32 {
    with_state(|s| u32::try_from(s.released.len()).unwrap_or(0)).unwrap_or(0)
}

/// Ends an authenticated read (and frees the opener): 0, or -1 when a chunk is missing or the
/// range selects nothing.
#[unsafe(no_mangle)]
pub extern "C" fn cse_auth_finish(opener: u32) -> i32 {
    call(-1, |s| api::auth_finish(s, opener).map(|()| 0))
}

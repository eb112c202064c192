//! Envelopes: decoded from an object's header pairs, encoded into a request's, and opened with a
//! master key into the content material; and the sealed envelope of a new object.

use core::ffi::c_char;

use core::sync::atomic::{AtomicBool, Ordering};

use cse_core::{
    ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Envelope, MissingEnvelope, SealedEnvelope,
    decode_envelope,
};

use crate::args::{self, guard};
use crate::master::{CseKeyring, CseMasterKey};
use crate::rng::with_os_rng;
use crate::status::{CseStatus, Failure};
use crate::stream::{CseOpener, CseSealer};

/// One header: a name and a value, each with its length (neither needs a NUL; both are
/// compared as bytes). The input of `cse_envelope_decode` and the output of
/// `cse_envelope_encode_headers`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CseHeader {
    /// The header name (matched ignoring ASCII case).
    pub name: *const c_char,
    /// The length of `name` in bytes.
    pub name_len: usize,
    /// The header value.
    pub value: *const c_char,
    /// The length of `value` in bytes.
    pub value_len: usize,
}

/// An object's encryption metadata: the wrapped key and counter block, the algorithms, the
/// material description and the declared lengths.
#[derive(Debug)]
pub struct CseEnvelope {
    pub(crate) envelope: Envelope,
}

/// The unwrapped content material of one object (its AES-256 key and counter block): secret,
/// wiped from memory when freed, never printed. Independent of the envelope it came from.
#[derive(Debug)]
pub struct CseMaterial {
    pub(crate) material: ContentMaterial,
}

/// The metadata prefix: `prefix` (`prefix_len` bytes), or the default `x-oss-meta-` when NULL.
///
/// # Safety
/// `prefix` is NULL or points to `prefix_len` readable bytes.
unsafe fn prefix<'a>(prefix: *const c_char, prefix_len: usize) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    let prefix = unsafe { args::optional_text(prefix, prefix_len, "prefix")? };
    Ok(prefix.unwrap_or(DEFAULT_PREFIX))
}

/// Decodes the envelope from an object's headers (a HEAD or GET response's, all of them or
/// only the user metadata). `headers` holds `count` pairs; names are matched ignoring ASCII
/// case, and headers that are not part of the envelope are ignored. `prefix` is the user
/// metadata prefix, `prefix_len` bytes, or NULL for the default `x-oss-meta-`. On success
/// `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_NOT_ENCRYPTED` when no envelope header is present at all (the object
/// is stored in the clear), `CSE_STATUS_INVALID_HEADER` (the message names the header) when
/// the envelope is incomplete, repeated or malformed, `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `headers` is NULL or points to `count` readable `cse_header`s whose strings are readable for
/// their lengths; `prefix` is NULL or points to `prefix_len` readable bytes; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_decode(
    headers: *const CseHeader,
    count: usize,
    prefix: *const c_char,
    prefix_len: usize,
    out: *mut *mut CseEnvelope,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, headers, prefix) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::items(headers, count, "headers")?,
                self::prefix(prefix, prefix_len)?,
            )
        };
        let mut pairs = Vec::with_capacity(headers.len());
        for header in headers {
            // SAFETY: each header's strings are readable for their lengths, by the contract.
            let pair = unsafe {
                (
                    args::bytes(header.name.cast(), header.name_len, "headers[].name")?,
                    args::bytes(header.value.cast(), header.value_len, "headers[].value")?,
                )
            };
            pairs.push(pair);
        }
        let options = DecodeOptions {
            prefix,
            missing: MissingEnvelope::Reject,
        };
        let envelope = decode_envelope(pairs.iter().map(|&(n, v)| (n, v)), &options)?
            .ok_or_else(|| Failure::from(cse_core::Error::NotEncrypted))?;
        out.set(args::into_handle(CseEnvelope { envelope }));
        Ok(())
    })
}

/// Encodes the envelope as the header pairs to send (PutObject, or InitiateMultipartUpload and
/// UploadPart for a multipart envelope), under `prefix` (`prefix_len` bytes, or NULL for
/// `x-oss-meta-`).
///
/// The names and values are written into `text` (`text_cap` bytes), each followed by a NUL,
/// and `headers` (room for `headers_cap` entries) receives pairs pointing into `text`. On
/// success `*out_count` is the number of pairs and `*out_text_len` the bytes of `text` used.
/// When either buffer is too small, the call fails with `CSE_STATUS_BUFFER_TOO_SMALL`, writes
/// nothing but `*out_count` and `*out_text_len`, which then hold the sizes needed: call it with
/// `headers_cap = 0` and `text_cap = 0` (and NULL buffers) to learn them.
///
/// Fails with `CSE_STATUS_INVALID_HEADER` for an invalid prefix, `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `envelope` is NULL or a live handle; `headers` is NULL or writable for `headers_cap`
/// entries; `text` is NULL or writable for `text_cap` bytes; `prefix` is NULL or readable for
/// `prefix_len` bytes; `out_count` and `out_text_len` are NULL or writable. `text` must stay
/// alive as long as the pairs are used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_encode_headers(
    envelope: *const CseEnvelope,
    prefix: *const c_char,
    prefix_len: usize,
    headers: *mut CseHeader,
    headers_cap: usize,
    out_count: *mut usize,
    text: *mut c_char,
    text_cap: usize,
    out_text_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (envelope, prefix, mut out_count, mut out_text_len) = unsafe {
            (
                args::handle(envelope, "envelope")?,
                self::prefix(prefix, prefix_len)?,
                args::out(out_count, "out_count")?,
                args::out(out_text_len, "out_text_len")?,
            )
        };
        let pairs = envelope.envelope.to_headers(prefix)?;
        let text_needed: usize = pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        out_count.set(pairs.len());
        out_text_len.set(text_needed);
        if headers_cap < pairs.len() {
            return Err(Failure::too_small("headers", headers_cap, pairs.len()));
        }
        if text_cap < text_needed {
            return Err(Failure::too_small("text", text_cap, text_needed));
        }
        if args::overlap(
            headers.cast(),
            headers_cap.saturating_mul(size_of::<CseHeader>()),
            text.cast(),
            text_cap,
        ) {
            return Err(Failure::invalid("text", "overlaps `headers`"));
        }
        // SAFETY: the buffers are as this function's contract says, and do not overlap.
        let (slots, buf) = unsafe {
            (
                args::items_mut(headers, headers_cap, "headers")?,
                args::bytes_mut(text.cast::<u8>(), text_cap, "text")?,
            )
        };
        let base = text.cast_const();
        let mut at = 0;
        let mut put = |s: &str| {
            let start = at;
            buf[start..start + s.len()].copy_from_slice(s.as_bytes());
            buf[start + s.len()] = 0;
            at += s.len() + 1;
            base.wrapping_add(start)
        };
        for ((name, value), slot) in pairs.iter().zip(slots.iter_mut()) {
            *slot = CseHeader {
                name: put(name),
                name_len: name.len(),
                value: put(value),
                value_len: value.len(),
            };
        }
        Ok(())
    })
}

/// Unwraps the envelope's content material with `key` (using the OS random source for RSA
/// blinding). On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_UNWRAP` for every unwrap failure, whatever the cause (wrong key,
/// damaged headers, a failing callback), `CSE_STATUS_WRAP_ALG_MISMATCH` when the object's
/// wrap-alg is not the key's, `CSE_STATUS_MISSING_PRIVATE_KEY` for a public key,
/// `CSE_STATUS_RANDOM`, `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `envelope` and `key` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_open(
    envelope: *const CseEnvelope,
    key: *const CseMasterKey,
    out: *mut *mut CseMaterial,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, envelope, key) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(envelope, "envelope")?,
                args::handle(key, "key")?,
            )
        };
        let material = with_os_rng(|rng| Ok(envelope.envelope.open(key.cipher(), rng)?))?;
        out.set(args::into_handle(CseMaterial { material }));
        Ok(())
    })
}

/// As `cse_envelope_open`, with the key of `keyring` whose matdesc equals the object's, else
/// its default key.
///
/// # Safety
/// `envelope` and `keyring` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_keyring_open(
    keyring: *const CseKeyring,
    envelope: *const CseEnvelope,
    out: *mut *mut CseMaterial,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, keyring, envelope) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(keyring, "keyring")?,
                args::handle(envelope, "envelope")?,
            )
        };
        let keyring = keyring.keyring()?;
        let material = with_os_rng(|rng| Ok(keyring.open(&envelope.envelope, rng)?))?;
        out.set(args::into_handle(CseMaterial { material }));
        Ok(())
    })
}

/// Writes the envelope's `wrap-alg` as NUL-terminated text into `buf` (`cap` bytes). On success
/// `*out_len` is its length; on `CSE_STATUS_BUFFER_TOO_SMALL` it is the capacity needed
/// (length + 1).
///
/// # Safety
/// `envelope` is NULL or a live handle; `buf` is NULL or writable for `cap` bytes; `out_len` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_wrap_alg(
    envelope: *const CseEnvelope,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let envelope = args::handle(envelope, "envelope")?;
            args::write_text(envelope.envelope.wrap_alg(), buf, cap, out_len, "buf")
        }
    })
}

/// Writes the envelope's material description (JSON, empty when absent) as NUL-terminated text,
/// as `cse_envelope_wrap_alg` does.
///
/// # Safety
/// As `cse_envelope_wrap_alg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_matdesc(
    envelope: *const CseEnvelope,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let envelope = args::handle(envelope, "envelope")?;
            args::write_text(envelope.envelope.matdesc_text(), buf, cap, out_len, "buf")
        }
    })
}

/// The plaintext length the envelope declares (`unencrypted-content-length`, else a multipart
/// object's `data-size`): `*out_known` says whether there is one, and `*out_len` holds it (0
/// when unknown).
///
/// # Safety
/// `envelope` is NULL or a live handle; `out_known` and `out_len` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_declared_len(
    envelope: *const CseEnvelope,
    out_known: *mut bool,
    out_len: *mut u64,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (envelope, mut known, mut len) = unsafe {
            (
                args::handle(envelope, "envelope")?,
                args::out(out_known, "out_known")?,
                args::out(out_len, "out_len")?,
            )
        };
        let declared = envelope.envelope.declared_len();
        known.set(declared.is_some());
        len.set(declared.unwrap_or(0));
        Ok(())
    })
}

/// Checks the length the object has in storage (a Content-Range total, a HEAD Content-Length,
/// a local file's length) against the length the envelope declares, so a cut or extended
/// object is refused on ranged reads too. Fails with `CSE_STATUS_STORED_LENGTH`.
///
/// # Safety
/// `envelope` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_check_stored_len(
    envelope: *const CseEnvelope,
    stored_len: u64,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointer is as this function's contract says.
        let envelope = unsafe { args::handle(envelope, "envelope")? };
        Ok(envelope.envelope.check_stored_len(stored_len)?)
    })
}

/// An opener for a whole-object read of the object `envelope` describes: it checks the body
/// against the declared length, and the plaintext against `unencrypted-content-md5` when the
/// envelope records one. On success `*out` is a new handle; on failure it is NULL.
///
/// # Safety
/// `envelope` and `material` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_new_whole(
    envelope: *const CseEnvelope,
    material: *const CseMaterial,
    out: *mut *mut CseOpener,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, envelope, material) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(envelope, "envelope")?,
                args::handle(material, "material")?,
            )
        };
        let opener = envelope.envelope.whole_opener(&material.material);
        out.set(args::into_handle(CseOpener::new(opener)));
        Ok(())
    })
}

/// Frees an envelope. NULL is ignored.
///
/// # Safety
/// `envelope` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_envelope_free(envelope: *mut CseEnvelope) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(envelope) }
}

/// Frees content material, wiping the key and counter block. NULL is ignored.
///
/// # Safety
/// `material` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_material_free(material: *mut CseMaterial) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(material) }
}

/// A new object's content material (fresh from the OS random source) together with the envelope
/// that wraps it, made together so the two cannot be mismatched.
#[derive(Debug)]
pub struct CseSealedEnvelope {
    sealed: Option<SealedEnvelope>,
    /// Whether the object's one sealer was taken (the handle is shared, so an atomic).
    sealer_taken: AtomicBool,
}

/// Why a second sealer, or a setter after the sealer, is refused.
const ONE_SEALER: &str = "a sealer was already taken from this sealed envelope: a second one \
    would start at the same counter and reuse its keystream; seal each object (and each retry \
    of a changed body) with a new cse_sealed_envelope_new";

impl CseSealedEnvelope {
    fn sealed(&self) -> Result<&SealedEnvelope, Failure> {
        self.sealed.as_ref().ok_or_else(Failure::panic)
    }

    fn update(&mut self, f: impl FnOnce(SealedEnvelope) -> SealedEnvelope) -> Result<(), Failure> {
        if *self.sealer_taken.get_mut() {
            return Err(Failure::invalid("sealed", ONE_SEALER));
        }
        let sealed = self.sealed.take().ok_or_else(Failure::panic)?;
        self.sealed = Some(f(sealed));
        Ok(())
    }
}

/// Seals a new object: draws a fresh content key and counter block from the OS random source
/// and wraps both with `key`. On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_WRAP` (the key or its wrap callback failed), `CSE_STATUS_RANDOM`,
/// `CSE_STATUS_INVALID_HEADER` (a custom key's wrap-alg or wrapped value the format cannot
/// carry), `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `key` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_new(
    key: *const CseMasterKey,
    out: *mut *mut CseSealedEnvelope,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, key) = unsafe { (args::out_handle(out, "out")?, args::handle(key, "key")?) };
        let sealed = with_os_rng(|rng| Ok(SealedEnvelope::seal(key.cipher(), rng)?))?;
        out.set(args::into_handle(CseSealedEnvelope {
            sealed: Some(sealed),
            sealer_taken: AtomicBool::new(false),
        }));
        Ok(())
    })
}

/// Declares the plaintext length (`unencrypted-content-length`): sealers made afterwards
/// refuse any other length, and readers check it. Set it before taking the envelope or a
/// sealer.
///
/// # Safety
/// `sealed` is NULL or a live handle not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_set_unencrypted_content_length(
    sealed: *mut CseSealedEnvelope,
    len: u64,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointer is as this function's contract says.
        let sealed = unsafe { args::handle_mut(sealed, "sealed")? };
        sealed.update(|s| s.with_unencrypted_content_length(len))
    })
}

/// Records the plaintext's MD5 (`unencrypted-content-md5`, 16 bytes at `md5`), which whole
/// reads check. Fails with `CSE_STATUS_INVALID_ARGUMENT` unless `md5_len` is 16.
///
/// # Safety
/// `sealed` is NULL or a live handle not used by another thread during the call; `md5` is NULL
/// or readable for `md5_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_set_unencrypted_content_md5(
    sealed: *mut CseSealedEnvelope,
    md5: *const u8,
    md5_len: usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (sealed, md5) = unsafe {
            (
                args::handle_mut(sealed, "sealed")?,
                args::bytes(md5, md5_len, "md5")?,
            )
        };
        let md5: [u8; 16] = md5
            .try_into()
            .map_err(|_| Failure::invalid("md5", "is not 16 bytes long"))?;
        sealed.update(|s| s.with_unencrypted_content_md5(md5))
    })
}

/// A copy of the sealed envelope's envelope, to encode into the request headers. On success
/// `*out` is a new handle; on failure it is NULL.
///
/// # Safety
/// `sealed` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_envelope(
    sealed: *const CseSealedEnvelope,
    out: *mut *mut CseEnvelope,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, sealed) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(sealed, "sealed")?,
            )
        };
        let envelope = sealed.sealed()?.envelope().clone();
        out.set(args::into_handle(CseEnvelope { envelope }));
        Ok(())
    })
}

/// The sealer for the whole object: of exactly the declared length when one was set. There is
/// one per object: a second call fails with `CSE_STATUS_INVALID_ARGUMENT`, since a second
/// sealer would start at the same counter and reuse the keystream (a retry of a changed body
/// needs a new `cse_sealed_envelope_new`), and so do the setters once the sealer is taken. On
/// success `*out` is a new handle; on failure it is NULL.
///
/// # Safety
/// `sealed` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_sealer(
    sealed: *const CseSealedEnvelope,
    out: *mut *mut CseSealer,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, sealed) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(sealed, "sealed")?,
            )
        };
        let sealer = sealed.sealed()?.sealer();
        if sealed.sealer_taken.swap(true, Ordering::AcqRel) {
            return Err(Failure::invalid("sealed", ONE_SEALER));
        }
        out.set(args::into_handle(CseSealer::new(sealer)));
        Ok(())
    })
}

/// Frees a sealed envelope, wiping its material. NULL is ignored.
///
/// # Safety
/// `sealed` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealed_envelope_free(sealed: *mut CseSealedEnvelope) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(sealed) }
}

//! Master keys: RSA from PEM or DER, custom keys given as C callbacks (how KMS plugs in), and
//! the keyring that picks the key for an object by its material description.

use core::ffi::{c_char, c_void};
use core::fmt;

use std::sync::Arc;

use cse_core::rand_core::CryptoRng;
use cse_core::{Error, Keyring, MasterCipher, MatDesc, RsaMasterCipher};

use crate::args::{self, guard};
use crate::status::{CseStatus, Failure};

type SharedCipher = Arc<dyn MasterCipher + Send + Sync>;

/// A master key: wraps the content key and counter block of new objects, and unwraps those of
/// stored ones. Free it with `cse_master_key_free`; the handles made with it (keyrings) keep
/// what they need, so it may be freed first.
pub struct CseMasterKey {
    cipher: SharedCipher,
}

impl fmt::Debug for CseMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CseMasterKey")
            .field("wrap_alg", &self.cipher.wrap_alg())
            .finish_non_exhaustive()
    }
}

impl CseMasterKey {
    /// The key as the engine takes it.
    pub(crate) fn cipher(&self) -> &dyn MasterCipher {
        &*self.cipher
    }
}

type CseWrapFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> i32;
type CseUnwrapFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    wrapped: *const u8,
    wrapped_len: usize,
    out: *mut u8,
    out_len: usize,
) -> i32;
type CseFreeFn = unsafe extern "C" fn(ctx: *mut c_void);

/// A master key implemented by the caller, for `cse_master_key_new_custom`: a KMS client, an
/// HSM, or any key the library does not implement.
///
/// The callbacks run synchronously inside the `cse_*` call that needs them, on the calling
/// thread. If the key is used from several threads, they may run concurrently: they, and
/// `ctx`, must allow that. They must not unwind (no C++ exceptions) and must not call back into
/// the library with the same handles.
#[repr(C)]
#[derive(Debug)]
pub struct CseCustomMasterKey {
    /// Passed to every callback as is; the library never reads it.
    pub ctx: *mut c_void,
    /// The `wrap-alg` the key writes and accepts, e.g. `KMS/ALICLOUD` (UTF-8, not
    /// NUL-terminated, `wrap_alg_len` bytes; copied).
    pub wrap_alg: *const c_char,
    /// The length of `wrap_alg`.
    pub wrap_alg_len: usize,
    /// The material description the key writes and is chosen by: a JSON object of strings, or
    /// NULL for none (UTF-8, `matdesc_len` bytes; copied).
    pub matdesc: *const c_char,
    /// The length of `matdesc`.
    pub matdesc_len: usize,
    /// Wraps for sealing: wraps `plaintext_len` bytes at `plaintext` (the 32-byte content key
    /// or the 16-byte counter block) into `out`, which holds `out_cap` bytes, stores the wrapped
    /// length in `*out_len`, and returns 0; anything else is a failure, and sealing fails with
    /// `CSE_STATUS_WRAP`. A wrapped value the format cannot carry (empty, or longer than
    /// `out_cap`) fails it with `CSE_STATUS_INVALID_HEADER`. NULL for a key that only reads
    /// (sealing then fails with `CSE_STATUS_WRAP`).
    pub wrap: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            plaintext: *const u8,
            plaintext_len: usize,
            out: *mut u8,
            out_cap: usize,
            out_len: *mut usize,
        ) -> i32,
    >,
    /// Unwraps for opening: unwraps `wrapped_len` bytes at `wrapped` into exactly `out_len`
    /// bytes at `out` (32 for the content key, 16 for the counter block) and returns 0; anything
    /// else (a wrong key, a plaintext of another length, an unreachable key service) is a
    /// failure, and opening fails with the one opaque `CSE_STATUS_UNWRAP`. NULL for a key that
    /// only writes (opening then fails with `CSE_STATUS_MISSING_PRIVATE_KEY`).
    pub unwrap: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            wrapped: *const u8,
            wrapped_len: usize,
            out: *mut u8,
            out_len: usize,
        ) -> i32,
    >,
    /// Called once with `ctx` when the last handle holding the key is freed; may be NULL. Not
    /// called when `cse_master_key_new_custom` fails: `ctx` is then still the caller's.
    pub free_ctx: Option<unsafe extern "C" fn(ctx: *mut c_void)>,
}

/// A custom key: the callbacks and the copied names.
struct CallbackCipher {
    ctx: *mut c_void,
    wrap_alg: String,
    matdesc: String,
    wrap: Option<CseWrapFn>,
    unwrap: Option<CseUnwrapFn>,
    free_ctx: Option<CseFreeFn>,
}

// SAFETY: the contract of `CseCustomMasterKey` (documented in the header) requires the callbacks
// and `ctx` to be usable from any thread, concurrently; the rest of the value is owned data.
unsafe impl Send for CallbackCipher {}
// SAFETY: as for `Send`: concurrent calls through `&self` are what the contract allows.
unsafe impl Sync for CallbackCipher {}

impl MasterCipher for CallbackCipher {
    fn wrap_alg(&self) -> &str {
        &self.wrap_alg
    }

    fn matdesc(&self) -> &str {
        &self.matdesc
    }

    fn wrap(
        &self,
        plaintext: &[u8],
        out: &mut [u8],
        _: &mut dyn CryptoRng,
    ) -> Result<usize, Error> {
        let wrap = self.wrap.ok_or(Error::Wrap)?;
        let mut written = 0usize;
        // SAFETY: both buffers are live Rust slices of the lengths passed, `written` is a live
        // local, and the callback's contract is the caller's promise (`CseCustomMasterKey`).
        let rc = unsafe {
            wrap(
                self.ctx,
                plaintext.as_ptr(),
                plaintext.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut written,
            )
        };
        if rc != 0 {
            return Err(Error::Wrap);
        }
        if written > out.len() {
            // The engine reports this as the header's value being too long.
            return Err(Error::BufferTooSmall { required: written });
        }
        Ok(written)
    }

    fn unwrap(&self, wrapped: &[u8], out: &mut [u8], _: &mut dyn CryptoRng) -> Result<(), Error> {
        let unwrap = self.unwrap.ok_or(Error::MissingPrivateKey)?;
        // SAFETY: both buffers are live Rust slices of the lengths passed, and the callback's
        // contract is the caller's promise (`CseCustomMasterKey`).
        let rc = unsafe {
            unwrap(
                self.ctx,
                wrapped.as_ptr(),
                wrapped.len(),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(Error::Unwrap) }
    }
}

impl Drop for CallbackCipher {
    fn drop(&mut self) {
        if let Some(free_ctx) = self.free_ctx {
            // SAFETY: called once, when the last reference goes, as the contract says.
            unsafe { free_ctx(self.ctx) };
        }
    }
}

/// Parses an optional material description, as the engine reads it.
fn matdesc(text: Option<&str>) -> Result<Option<MatDesc>, Failure> {
    match text {
        None | Some("") => Ok(None),
        Some(json) => MatDesc::parse(json.as_bytes()).map(Some).map_err(|e| {
            Failure::new(
                CseStatus::InvalidArgument,
                format_args!("argument `matdesc`: {e}"),
            )
        }),
    }
}

fn rsa_key(
    cipher: Result<RsaMasterCipher, Error>,
    matdesc_text: Option<&str>,
    out: args::Out<*mut CseMasterKey>,
) -> Result<(), Failure> {
    let mut out = out;
    let mut cipher = cipher?;
    if let Some(matdesc) = matdesc(matdesc_text)? {
        cipher = cipher.with_matdesc(&matdesc);
    }
    out.set(args::into_handle(CseMasterKey {
        cipher: Arc::new(cipher),
    }));
    Ok(())
}

/// Loads an RSA master key from PEM text: PKCS#1 (`RSA PRIVATE KEY`, `RSA PUBLIC KEY`), PKCS#8
/// (`PRIVATE KEY`) or SPKI (`PUBLIC KEY`). A public key can seal but not open.
///
/// `pem` is `pem_len` bytes (no NUL needed). `matdesc` is the material description the key
/// writes and is chosen by in a keyring: a JSON object of strings, `matdesc_len` bytes, or NULL
/// for none. On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_INVALID_KEY` (not a key, or smaller than 1024 bits),
/// `CSE_STATUS_INVALID_ARGUMENT` (not UTF-8, a bad matdesc), `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `pem` points to `pem_len` readable bytes, `matdesc` is NULL or points to `matdesc_len`
/// readable bytes, and `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_master_key_new_rsa_pem(
    pem: *const c_char,
    pem_len: usize,
    matdesc: *const c_char,
    matdesc_len: usize,
    out: *mut *mut CseMasterKey,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (out, pem, matdesc) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::text(pem, pem_len, "pem")?,
                args::optional_text(matdesc, matdesc_len, "matdesc")?,
            )
        };
        rsa_key(RsaMasterCipher::from_pem(pem), matdesc, out)
    })
}

/// Loads an RSA master key from DER: PKCS#1 or PKCS#8 private, PKCS#1 or SPKI public. As
/// `cse_master_key_new_rsa_pem` otherwise.
///
/// # Safety
/// `der` points to `der_len` readable bytes, `matdesc` is NULL or points to `matdesc_len`
/// readable bytes, and `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_master_key_new_rsa_der(
    der: *const u8,
    der_len: usize,
    matdesc: *const c_char,
    matdesc_len: usize,
    out: *mut *mut CseMasterKey,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (out, der, matdesc) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::bytes(der, der_len, "der")?,
                args::optional_text(matdesc, matdesc_len, "matdesc")?,
            )
        };
        rsa_key(RsaMasterCipher::from_der(der), matdesc, out)
    })
}

/// Makes a master key from caller callbacks (see `cse_custom_master_key`). The names are
/// copied; `ctx` and the callbacks are kept until the key's last handle is freed, when
/// `free_ctx` (if any) is called.
///
/// Fails with `CSE_STATUS_INVALID_ARGUMENT` (a wrap-alg that is empty or not UTF-8, a bad
/// matdesc) or `CSE_STATUS_NULL_ARGUMENT`; then `free_ctx` is not called.
///
/// # Safety
/// `spec` is NULL or points to a readable `cse_custom_master_key` whose strings are readable
/// for their lengths and whose callbacks honour its contract for as long as the key lives;
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_master_key_new_custom(
    spec: *const CseCustomMasterKey,
    out: *mut *mut CseMasterKey,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, spec) =
            unsafe { (args::out_handle(out, "out")?, args::handle(spec, "spec")?) };
        // SAFETY: the strings are readable for their lengths, by the contract.
        let (wrap_alg, matdesc_text) = unsafe {
            (
                args::text(spec.wrap_alg, spec.wrap_alg_len, "spec.wrap_alg")?,
                args::optional_text(spec.matdesc, spec.matdesc_len, "spec.matdesc")?,
            )
        };
        if wrap_alg.is_empty() {
            return Err(Failure::invalid("spec.wrap_alg", "is empty"));
        }
        let matdesc = matdesc(matdesc_text)?;
        // Built last: from here on, dropping it calls `free_ctx`.
        let cipher = CallbackCipher {
            ctx: spec.ctx,
            wrap_alg: wrap_alg.to_string(),
            matdesc: matdesc.map(|m| m.to_canonical()).unwrap_or_default(),
            wrap: spec.wrap,
            unwrap: spec.unwrap,
            free_ctx: spec.free_ctx,
        };
        out.set(args::into_handle(CseMasterKey {
            cipher: Arc::new(cipher),
        }));
        Ok(())
    })
}

/// Frees a master key handle. NULL is ignored.
///
/// # Safety
/// `key` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_master_key_free(key: *mut CseMasterKey) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(key) }
}

/// The read-side set of master keys: an object is opened with the key whose matdesc equals the
/// object's, else with the default key, as the official SDKs choose.
pub struct CseKeyring {
    keyring: Option<Keyring>,
}

impl fmt::Debug for CseKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CseKeyring")
            .field("keyring", &self.keyring)
            .finish()
    }
}

impl CseKeyring {
    pub(crate) fn keyring(&self) -> Result<&Keyring, Failure> {
        self.keyring.as_ref().ok_or_else(Failure::panic)
    }
}

/// Makes a keyring whose default (fallback) key is `default_key`. The keyring holds its own
/// reference: `default_key` may be freed afterwards.
///
/// # Safety
/// `default_key` is NULL or a live master key; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_keyring_new(
    default_key: *const CseMasterKey,
    out: *mut *mut CseKeyring,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, key) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(default_key, "default_key")?,
            )
        };
        let keyring = Keyring::new(Box::new(Arc::clone(&key.cipher)));
        out.set(args::into_handle(CseKeyring {
            keyring: Some(keyring),
        }));
        Ok(())
    })
}

/// Adds `key`, chosen for objects whose matdesc equals its own. The keyring holds its own
/// reference: `key` may be freed afterwards.
///
/// # Safety
/// `keyring` is NULL or a live keyring not used by another thread during the call; `key` is
/// NULL or a live master key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_keyring_add(
    keyring: *mut CseKeyring,
    key: *const CseMasterKey,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (keyring, key) = unsafe {
            (
                args::handle_mut(keyring, "keyring")?,
                args::handle(key, "key")?,
            )
        };
        let current = keyring.keyring.take().ok_or_else(Failure::panic)?;
        keyring.keyring = Some(current.with(Box::new(Arc::clone(&key.cipher))));
        Ok(())
    })
}

/// Frees a keyring. NULL is ignored.
///
/// # Safety
/// `keyring` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_keyring_free(keyring: *mut CseKeyring) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(keyring) }
}

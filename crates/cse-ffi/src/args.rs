//! The boundary itself: turning C arguments into Rust references (NULL-checked, with explicit
//! lengths), handing out and taking back handles, writing to caller buffers, and running each
//! call under `catch_unwind` so no panic crosses into C.

use core::ffi::c_char;
use core::panic::AssertUnwindSafe;
use core::ptr::NonNull;
use std::panic::catch_unwind;

use crate::status::{CseStatus, Failure, record};

/// Runs the body of one `extern "C"` function: records its outcome in the last-error slot and
/// turns a panic into `CSE_STATUS_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> CseStatus {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| Err(Failure::panic()));
    record(outcome)
}

/// The largest length a Rust slice may have.
const MAX_LEN: usize = isize::MAX as usize;

/// `len` bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// Unless `len` is 0, `ptr` is NULL or points to `len` readable bytes that nothing writes to
/// for `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > MAX_LEN {
        return Err(Failure::invalid(name, "has a length past isize::MAX"));
    }
    // SAFETY: `ptr` is not NULL, `len` is at most isize::MAX, and the caller guarantees that
    // `len` bytes at `ptr` are readable and not written to for `'a`.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// Unless `len` is 0, `ptr` is NULL or points to `len` writable bytes that nothing else reads
/// or writes for `'a`.
pub(crate) unsafe fn bytes_mut<'a>(
    ptr: *mut u8,
    len: usize,
    name: &str,
) -> Result<&'a mut [u8], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    aligned(ptr, name)?;
    if len > MAX_LEN {
        return Err(Failure::invalid(name, "has a length past isize::MAX"));
    }
    // SAFETY: `ptr` is not NULL, `len` is at most isize::MAX, and the caller guarantees that
    // `len` bytes at `ptr` are writable and used by nothing else for `'a`.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// `len` bytes of UTF-8 text at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller; `c_char` and `u8` have the same layout.
    let raw = unsafe { bytes(ptr.cast(), len, name)? };
    core::str::from_utf8(raw).map_err(|_| Failure::invalid(name, "is not UTF-8"))
}

/// Optional text: `None` when `ptr` is NULL.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, len, name) }.map(Some)
}

/// Whether two caller buffers share any byte: a Rust `&[u8]` and `&mut [u8]` must not.
pub(crate) fn overlap(a: *const u8, a_len: usize, b: *const u8, b_len: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    a_len != 0 && b_len != 0 && a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

/// A handle the caller passes in.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from this library, not used mutably elsewhere
/// for `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    aligned(ptr, name)?;
    // SAFETY: the caller guarantees that a non-NULL `ptr` is a live handle from `into_handle`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A handle the caller passes in for mutation.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from this library, used by nothing else for `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    aligned(ptr, name)?;
    // SAFETY: the caller guarantees that a non-NULL `ptr` is a live handle used by nothing else.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A caller's out-parameter: written, never read, so it may point to uninitialised memory.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Stores `value` (without dropping what was there: out-parameters hold plain C values).
    pub(crate) fn set(&mut self, value: T) {
        // SAFETY: `out` made this from a non-NULL pointer its caller guaranteed writable and
        // aligned for the duration of the call; `write` neither reads nor drops the old value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An out-parameter.
///
/// # Safety
/// `ptr` is NULL or points to a writable, aligned `T` for the duration of the call.
pub(crate) unsafe fn out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
    aligned(ptr, name)?;
    NonNull::new(ptr)
        .map(Out)
        .ok_or_else(|| Failure::null(name))
}

/// An optional out-parameter: `None` when `ptr` is NULL.
///
/// # Safety
/// As [`out`].
pub(crate) unsafe fn optional_out<T>(ptr: *mut T, name: &str) -> Result<Option<Out<T>>, Failure> {
    aligned(ptr, name)?;
    Ok(NonNull::new(ptr).map(Out))
}

/// Refuses a pointer that is not aligned for its type: reading or writing through one is
/// undefined behaviour on the Rust side, where no sanitizer of the C caller's sees it. NULL
/// passes (each caller decides what NULL means).
fn aligned<T>(ptr: *const T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() || ptr.is_aligned() {
        Ok(())
    } else {
        Err(Failure::invalid(name, "is not aligned for its type"))
    }
}

/// Moves `value` to the heap and returns the handle the caller owns.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle; NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from [`into_handle`], not used again.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    // A panicking destructor (a custom key's) must not unwind into C; there is no status to
    // return, so only then is the last error set. A free that works leaves the last error as
    // it was: C code frees in its cleanup path, then reports the error.
    let freed = catch_unwind(AssertUnwindSafe(|| {
        if !ptr.is_null() {
            // SAFETY: the caller guarantees `ptr` came from `into_handle` and is not used again.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }));
    if freed.is_err() {
        let _ = record(Err(Failure::panic()));
    }
}

/// Writes `text` and a terminating NUL to a caller buffer.
///
/// On success `*out_len` is the text's length without the NUL. When the buffer is too small,
/// `*out_len` is the capacity needed (the length plus one) and the buffer is untouched.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes; `out_len` is NULL or writable.
pub(crate) unsafe fn write_text(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    name: &str,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let mut out_len = unsafe { out(out_len, "out_len")? };
    let needed = text.len() + 1;
    if cap < needed {
        out_len.set(needed);
        return Err(Failure::too_small(name, cap, needed));
    }
    // SAFETY: forwarded from the caller; `c_char` and `u8` have the same layout.
    let buf = unsafe { bytes_mut(buf.cast(), cap, name)? };
    buf[..text.len()].copy_from_slice(text.as_bytes());
    buf[text.len()] = 0;
    out_len.set(text.len());
    Ok(())
}

/// `len` values of `T` at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// Unless `len` is 0, `ptr` is NULL or points to `len` aligned, initialised `T`s that nothing
/// writes to for `'a`.
pub(crate) unsafe fn items<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    aligned(ptr, name)?;
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|bytes| bytes > MAX_LEN)
    {
        return Err(Failure::invalid(name, "has a length past isize::MAX bytes"));
    }
    // SAFETY: `ptr` is not NULL, the total size is at most isize::MAX, and the caller guarantees
    // `len` aligned, initialised values at `ptr`, not written to for `'a`.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable values of `T` at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// Unless `len` is 0, `ptr` is NULL or points to `len` aligned, initialised `T`s that nothing
/// else uses for `'a`.
pub(crate) unsafe fn items_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    aligned(ptr, name)?;
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|bytes| bytes > MAX_LEN)
    {
        return Err(Failure::invalid(name, "has a length past isize::MAX bytes"));
    }
    // SAFETY: as in `items`, and the caller guarantees nothing else uses the values for `'a`.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Clears a handle out-parameter, so the caller sees NULL whenever the call fails.
///
/// # Safety
/// As [`out`].
pub(crate) unsafe fn out_handle<T>(ptr: *mut *mut T, name: &str) -> Result<Out<*mut T>, Failure> {
    // SAFETY: forwarded from the caller.
    let mut slot = unsafe { out(ptr, name)? };
    slot.set(core::ptr::null_mut());
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("engine bug"));
        assert_eq!(status, CseStatus::Panic);
        assert!(crate::status::last_error().contains("panic was caught"));
        assert_eq!(guard(|| Ok(())), CseStatus::Ok);
        assert_eq!(crate::status::last_error(), "");
    }

    #[test]
    fn overlap_is_any_shared_byte() {
        let buf = [0u8; 8];
        let p = buf.as_ptr();
        assert!(overlap(p, 4, p.wrapping_add(3), 4));
        assert!(!overlap(p, 4, p.wrapping_add(4), 4));
        assert!(!overlap(p, 0, p, 4));
    }
}

//! The error side of the API: the thread-local last-error message and status names.

use core::ffi::c_char;

use crate::args::{self, guard};
use crate::status::{self, CseStatus};

/// Writes the message of the last failed call on this thread as NUL-terminated text into `buf`
/// (`cap` bytes): empty when the last call succeeded. Messages name the argument or header at
/// fault and never contain key material, plaintext or anything a callback returned.
///
/// On success `*out_len` is the message length; on `CSE_STATUS_BUFFER_TOO_SMALL` it is the
/// capacity needed (length + 1). This call never changes the last error: after any outcome,
/// including its own failures, the message is still there to read.
///
/// # Safety
/// `buf` is NULL or writable for `cap` bytes; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_last_error_message(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    let message = status::last_error();
    // SAFETY: the pointers are as this function's contract says.
    let written = guard(|| unsafe { args::write_text(&message, buf, cap, out_len, "buf") });
    // Keep the message the caller is reading, not the outcome of reading it.
    status::restore(message);
    written
}

/// The name of a status code as a static NUL-terminated string (`"CSE_STATUS_UNWRAP"`), or
/// `"CSE_STATUS_UNKNOWN"` for a value that is not one. Never fails; do not free the result.
#[unsafe(no_mangle)]
pub extern "C" fn cse_status_name(status: i32) -> *const c_char {
    CseStatus::from_code(status)
        .map_or(c"CSE_STATUS_UNKNOWN", CseStatus::name)
        .as_ptr()
}

//! Ranged reads through the engine's range planner: the request to send, then the body plan
//! from the server's answer (or from a stored file's length), then an opener for the body.

use core::ffi::c_char;

use cse_core::{BodyPlan, ByteRange, RANGE_BEHAVIOR_HEADER, RangePlan, RangeResponse, plan_range};

use crate::args::{self, guard};
use crate::envelope::CseMaterial;
use crate::status::CseStatus;
use crate::stream::CseOpener;

/// The plan of one ranged read: the request to send, and the rules to read its answer.
#[derive(Debug)]
pub struct CseRangePlan {
    plan: RangePlan,
}

/// How to turn one response body (or stored file) into the requested plaintext.
#[derive(Debug)]
pub struct CseBodyPlan {
    plan: BodyPlan,
}

/// Where a body plan's bytes lie, all in object bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CseBodyLayout {
    /// The object offset of the body's first byte: where to start reading a stored file.
    pub body_start: u64,
    /// The body length: how many bytes to read from `body_start`.
    pub body_len: u64,
    /// Body bytes dropped before the first requested byte.
    pub drop_len: u64,
    /// Plaintext bytes delivered after the dropped ones (the plaintext Content-Length).
    pub keep_len: u64,
    /// The plaintext Content-Range to report: first byte.
    pub first: u64,
    /// The plaintext Content-Range to report: last byte, inclusive.
    pub last: u64,
    /// The plaintext Content-Range to report: the object length.
    pub total: u64,
}

/// Plans a ranged read of `range` (a Range value, `range_len` bytes: `bytes=A-B`, `bytes=A-`
/// or `bytes=-N`), with the object length when `has_object_len` is true (from a HEAD). On
/// success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_INVALID_RANGE` (syntax, several ranges, a reversed range),
/// `CSE_STATUS_RANGE_NOT_SATISFIABLE` when the length is known and the range selects nothing,
/// `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `range` is NULL or readable for `range_len` bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_new(
    range: *const c_char,
    range_len: usize,
    has_object_len: bool,
    object_len: u64,
    out: *mut *mut CseRangePlan,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, range) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::text(range, range_len, "range")?,
            )
        };
        let plan = plan_range(
            ByteRange::parse(range)?,
            has_object_len.then_some(object_len),
        )?;
        out.set(args::into_handle(CseRangePlan { plan }));
        Ok(())
    })
}

/// Writes the Range value to send (`bytes=...`) as NUL-terminated text into `buf` (`cap`
/// bytes). On success `*out_len` is its length; on `CSE_STATUS_BUFFER_TOO_SMALL` it is the
/// capacity needed (length + 1).
///
/// # Safety
/// `plan` is NULL or a live handle; `buf` is NULL or writable for `cap` bytes; `out_len` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_wire_range(
    plan: *const CseRangePlan,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let plan = args::handle(plan, "plan")?;
            let text = plan.plan.wire_range().to_string();
            args::write_text(&text, buf, cap, out_len, "buf")
        }
    })
}

/// Writes the name of the range-behaviour request header to send with the Range, as
/// NUL-terminated text (as `cse_range_plan_wire_range` writes).
///
/// # Safety
/// `buf` is NULL or writable for `cap` bytes; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_behavior_header(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { args::write_text(RANGE_BEHAVIOR_HEADER, buf, cap, out_len, "buf") })
}

/// Writes the value of the range-behaviour header to send with this plan's Range, as
/// NUL-terminated text (as `cse_range_plan_wire_range` writes).
///
/// # Safety
/// As `cse_range_plan_wire_range`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_range_behavior(
    plan: *const CseRangePlan,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let plan = args::handle(plan, "plan")?;
            args::write_text(plan.plan.range_behavior(), buf, cap, out_len, "buf")
        }
    })
}

/// Reads the server's answer: its `status` (200, 206 or 416), its Content-Range
/// (`content_range_len` bytes, or NULL when absent) and its Content-Length (when
/// `has_content_length`). On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_RANGE_NOT_SATISFIABLE` for a 416 or a range the object does not
/// satisfy, `CSE_STATUS_INVALID_RANGE` for a malformed answer, one that does not cover the
/// requested bytes, or an object length other than the planned one, `CSE_STATUS_NULL_ARGUMENT`.
///
/// # Safety
/// `plan` is NULL or a live handle; `content_range` is NULL or readable for
/// `content_range_len` bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_on_response(
    plan: *const CseRangePlan,
    status: u16,
    content_range: *const c_char,
    content_range_len: usize,
    has_content_length: bool,
    content_length: u64,
    out: *mut *mut CseBodyPlan,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, plan, content_range) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(plan, "plan")?,
                args::optional_text(content_range, content_range_len, "content_range")?,
            )
        };
        let response = RangeResponse::from_parts(
            status,
            content_range,
            has_content_length.then_some(content_length),
        )?;
        let body = plan.plan.on_response(response)?;
        out.set(args::into_handle(CseBodyPlan { plan: body }));
        Ok(())
    })
}

/// The body plan of reading the range straight from storage the caller controls (a local
/// ciphertext file of `stored_len` bytes): read `body_len` bytes from `body_start`
/// (`cse_body_plan_layout`). Check `stored_len` against the envelope first
/// (`cse_envelope_check_stored_len`). On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_RANGE_NOT_SATISFIABLE`, or `CSE_STATUS_INVALID_RANGE` when the plan
/// was made for another length.
///
/// # Safety
/// `plan` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_on_stored(
    plan: *const CseRangePlan,
    stored_len: u64,
    out: *mut *mut CseBodyPlan,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, plan) =
            unsafe { (args::out_handle(out, "out")?, args::handle(plan, "plan")?) };
        let body = plan.plan.on_stored(stored_len)?;
        out.set(args::into_handle(CseBodyPlan { plan: body }));
        Ok(())
    })
}

/// Frees a range plan. NULL is ignored.
///
/// # Safety
/// `plan` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_range_plan_free(plan: *mut CseRangePlan) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(plan) }
}

/// Where the body plan's bytes lie (`cse_body_layout`).
///
/// # Safety
/// `plan` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_body_plan_layout(
    plan: *const CseBodyPlan,
    out: *mut CseBodyLayout,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, plan) = unsafe { (args::out(out, "out")?, args::handle(plan, "plan")?) };
        let plan = &plan.plan;
        let range = plan.content_range();
        out.set(CseBodyLayout {
            body_start: plan.body_start(),
            body_len: plan.body_len(),
            drop_len: plan.drop_len(),
            keep_len: plan.keep_len(),
            first: range.first,
            last: range.last,
            total: range.total,
        });
        Ok(())
    })
}

/// Writes the plaintext Content-Range to report (`bytes A-B/N`) as NUL-terminated text (as
/// `cse_range_plan_wire_range` writes).
///
/// # Safety
/// `plan` is NULL or a live handle; `buf` is NULL or writable for `cap` bytes; `out_len` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_body_plan_content_range(
    plan: *const CseBodyPlan,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let plan = args::handle(plan, "plan")?;
            let text = plan.plan.content_range().to_string();
            args::write_text(&text, buf, cap, out_len, "buf")
        }
    })
}

/// An opener that takes the body as it arrives and delivers exactly the requested plaintext,
/// refusing a body longer than the plan's and, at finish, a shorter one. On success `*out` is a
/// new handle; on failure it is NULL.
///
/// # Safety
/// `plan` and `material` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_new_ranged(
    plan: *const CseBodyPlan,
    material: *const CseMaterial,
    out: *mut *mut CseOpener,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, plan, material) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(plan, "plan")?,
                args::handle(material, "material")?,
            )
        };
        let opener = plan.plan.opener(&material.material);
        out.set(args::into_handle(CseOpener::new(opener)));
        Ok(())
    })
}

/// Frees a body plan. NULL is ignored.
///
/// # Safety
/// `plan` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_body_plan_free(plan: *mut CseBodyPlan) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(plan) }
}

//! Multipart uploads: one context per upload, a sealer per part, parts in any order and on any
//! thread, each part number sealed once.

use cse_core::{MultipartContext, PartSealer, SealedEnvelope};

use crate::args::{self, guard};
use crate::envelope::CseEnvelope;
use crate::master::CseMasterKey;
use crate::rng::with_os_rng;
use crate::status::{CseStatus, Failure};
use crate::stream::{self, Slot, StreamHandle};

/// The state of one multipart upload: its material, envelope, sizes, and which parts were
/// sealed and uploaded. Its functions may be called from several threads at once.
#[derive(Debug)]
pub struct CseMultipart {
    context: MultipartContext,
}

/// Seals exactly one part: refuses a byte beyond the part's length, and a short part at finish.
/// Made by `cse_multipart_part_sealer`; independent of the upload handle afterwards.
#[derive(Debug)]
pub struct CsePartSealer {
    slot: Slot<PartSealer>,
}

impl StreamHandle for CsePartSealer {
    const NAME: &'static str = "part_sealer";
    type State = PartSealer;
    fn slot(&mut self) -> &mut Slot<PartSealer> {
        &mut self.slot
    }
}

/// Starts a multipart upload of `data_size` plaintext bytes in parts of `part_size`: seals a
/// new object (a fresh content key and counter block from the OS random source, wrapped by
/// `key`) whose envelope also carries the part and data sizes. On success `*out` is a new
/// handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_INVALID_MULTIPART` unless `part_size` is a positive multiple of 16
/// and `data_size` is positive and needs at most 10 000 parts; as `cse_sealed_envelope_new`
/// otherwise.
///
/// # Safety
/// `key` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_new(
    key: *const CseMasterKey,
    part_size: u64,
    data_size: u64,
    out: *mut *mut CseMultipart,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, key) = unsafe { (args::out_handle(out, "out")?, args::handle(key, "key")?) };
        // The sizes are checked before any key material exists.
        MultipartContext::part_count_for(part_size, data_size)?;
        let sealed = with_os_rng(|rng| Ok(SealedEnvelope::seal(key.cipher(), rng)?))?;
        let context = MultipartContext::new(sealed, part_size, data_size)?;
        out.set(args::into_handle(CseMultipart { context }));
        Ok(())
    })
}

/// Resumes an existing upload from its envelope (which carries the part and data sizes),
/// unwrapping its material with `key`. Every part starts unclaimed: mark each part the upload
/// sealed before with `cse_multipart_mark_sealed` before sealing anything, or a fresh sealer
/// would be handed out for a part already sent. On success `*out` is a new handle; on failure
/// it is NULL.
///
/// Take `envelope` from your own record of the upload, written before it was initiated, never
/// from the server (ListParts) alone: a hostile endpoint, anyone on the path, or anyone with
/// the public master key could hand over another object's envelope (the resumed parts would
/// reuse its keystream) or one they wrapped themselves (they could then read every resumed
/// part). Compare the listing against your record instead.
///
/// Fails with `CSE_STATUS_INVALID_HEADER` for an envelope without part or data size, as
/// `cse_envelope_open` and `cse_multipart_new` otherwise.
///
/// # Safety
/// `envelope` and `key` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_resume(
    envelope: *const CseEnvelope,
    key: *const CseMasterKey,
    out: *mut *mut CseMultipart,
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
        let envelope = envelope.envelope.clone();
        let material = with_os_rng(|rng| Ok(envelope.open(key.cipher(), rng)?))?;
        let context = MultipartContext::open(envelope, material)?;
        out.set(args::into_handle(CseMultipart { context }));
        Ok(())
    })
}

/// A copy of the upload's envelope (with `part-size` and `data-size`): the headers of
/// InitiateMultipartUpload and of every UploadPart. On success `*out` is a new handle; on
/// failure it is NULL.
///
/// # Safety
/// `upload` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_envelope(
    upload: *const CseMultipart,
    out: *mut *mut CseEnvelope,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, upload) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(upload, "upload")?,
            )
        };
        let envelope = upload.context.envelope().clone();
        out.set(args::into_handle(CseEnvelope { envelope }));
        Ok(())
    })
}

/// The number of parts the sizes make.
///
/// # Safety
/// `upload` is NULL or a live handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_part_count(
    upload: *const CseMultipart,
    out_count: *mut u32,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (upload, mut count) = unsafe {
            (
                args::handle(upload, "upload")?,
                args::out(out_count, "out_count")?,
            )
        };
        count.set(upload.context.part_count());
        Ok(())
    })
}

/// Where part `part` (numbered from 1) lies in the plaintext: its offset and its exact length.
/// Fails with `CSE_STATUS_INVALID_MULTIPART` for a part number outside the upload.
///
/// # Safety
/// `upload` is NULL or a live handle; the out-parameters are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_part_range(
    upload: *const CseMultipart,
    part: u32,
    out_offset: *mut u64,
    out_len: *mut u64,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (upload, mut offset, mut len) = unsafe {
            (
                args::handle(upload, "upload")?,
                args::out(out_offset, "out_offset")?,
                args::out(out_len, "out_len")?,
            )
        };
        let (start, part_len) = upload.context.part_range(part)?;
        offset.set(start);
        len.set(part_len);
        Ok(())
    })
}

/// The sealer for part `part` (numbered from 1). Each part number is handed out once: keep the
/// ciphertext to retry an upload. On success `*out` is a new handle; on failure it is NULL.
///
/// Fails with `CSE_STATUS_PART_ALREADY_SEALED` on a second call for the same number (sealing
/// it again would reuse keystream), `CSE_STATUS_INVALID_MULTIPART` for a number outside the
/// upload.
///
/// # Safety
/// `upload` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_part_sealer(
    upload: *const CseMultipart,
    part: u32,
    out: *mut *mut CsePartSealer,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (mut out, upload) = unsafe {
            (
                args::out_handle(out, "out")?,
                args::handle(upload, "upload")?,
            )
        };
        let sealer = upload.context.part_sealer(part)?;
        out.set(args::into_handle(CsePartSealer {
            slot: Slot::new(CsePartSealer::NAME, sealer),
        }));
        Ok(())
    })
}

/// Marks part `part` as sealed without sealing it: for a resumed upload, the parts sealed
/// before. Fails with `CSE_STATUS_PART_ALREADY_SEALED` when it already is.
///
/// # Safety
/// `upload` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_mark_sealed(
    upload: *const CseMultipart,
    part: u32,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointer is as this function's contract says.
        let upload = unsafe { args::handle(upload, "upload")? };
        Ok(upload.context.mark_sealed(part)?)
    })
}

/// Records that the store accepted part `part` (UploadPart answered with its ETag). Fails with
/// `CSE_STATUS_PART_NOT_SEALED` for a part this upload never sealed.
///
/// # Safety
/// `upload` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_mark_uploaded(
    upload: *const CseMultipart,
    part: u32,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointer is as this function's contract says.
        let upload = unsafe { args::handle(upload, "upload")? };
        Ok(upload.context.mark_uploaded(part)?)
    })
}

/// Whether every part was marked uploaded, so CompleteMultipartUpload may be sent.
///
/// # Safety
/// `upload` is NULL or a live handle; `out_complete` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_is_complete(
    upload: *const CseMultipart,
    out_complete: *mut bool,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (upload, mut complete) = unsafe {
            (
                args::handle(upload, "upload")?,
                args::out(out_complete, "out_complete")?,
            )
        };
        complete.set(upload.context.is_complete());
        Ok(())
    })
}

/// The part numbers not marked uploaded yet, in order, into `parts` (room for `cap` numbers);
/// `*out_count` is how many. On `CSE_STATUS_BUFFER_TOO_SMALL`, `*out_count` is the room needed
/// and `parts` is untouched.
///
/// # Safety
/// `upload` is NULL or a live handle; `parts` is NULL or writable for `cap` numbers;
/// `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_pending_parts(
    upload: *const CseMultipart,
    parts: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (upload, mut count) = unsafe {
            (
                args::handle(upload, "upload")?,
                args::out(out_count, "out_count")?,
            )
        };
        let pending: Vec<u32> = upload.context.pending_parts().collect();
        count.set(pending.len());
        if cap < pending.len() {
            return Err(Failure::too_small("parts", cap, pending.len()));
        }
        // SAFETY: as this function's contract says.
        let slots = unsafe { args::items_mut(parts, cap, "parts")? };
        slots[..pending.len()].copy_from_slice(&pending);
        Ok(())
    })
}

/// Frees an upload, wiping its material. NULL is ignored. Part sealers made from it stay
/// usable.
///
/// # Safety
/// `upload` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_multipart_free(upload: *mut CseMultipart) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(upload) }
}

/// Encrypts `input_len` bytes of the part at `input` into `output`, as `cse_sealer_update`
/// does. Fails with `CSE_STATUS_PART_LENGTH` when the part would grow past its length (the
/// state is unchanged).
///
/// # Safety
/// As `cse_sealer_update`, for a part sealer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_part_sealer_update(
    sealer: *mut CsePartSealer,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { stream::update(sealer, input, input_len, output, output_cap, out_len) })
}

/// Encrypts `len` bytes of the part at `buf` in place, as `cse_sealer_update_in_place` does.
///
/// # Safety
/// As `cse_sealer_update_in_place`, for a part sealer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_part_sealer_update_in_place(
    sealer: *mut CsePartSealer,
    buf: *mut u8,
    len: usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { stream::update_in_place(sealer, buf, len).map(drop) })
}

/// The part's plaintext bytes still to come (`*out_known` is always true).
///
/// # Safety
/// As `cse_sealer_remaining`, for a part sealer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_part_sealer_remaining(
    sealer: *mut CsePartSealer,
    out_known: *mut bool,
    out_remaining: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { stream::remaining(sealer, out_known, out_remaining) })
}

/// Ends the part; `*out_len` (when not NULL) is its length. Fails with
/// `CSE_STATUS_PART_LENGTH` when the part is short. The sealer is finished afterwards,
/// whatever the outcome.
///
/// # Safety
/// As `cse_sealer_finish`, for a part sealer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_part_sealer_finish(
    sealer: *mut CsePartSealer,
    out_len: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { stream::finish(sealer, out_len) })
}

/// Frees a part sealer. NULL is ignored.
///
/// # Safety
/// `sealer` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_part_sealer_free(sealer: *mut CsePartSealer) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(sealer) }
}

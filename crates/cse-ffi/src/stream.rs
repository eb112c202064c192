//! The streaming handles: [`CseSealer`], [`CseOpener`] and (in `multipart`) the part sealer,
//! each driven with `update` (into a caller buffer), `update_in_place`, `remaining` and
//! `finish`, over one generic path.

use core::ops::Range;

use cse_core::{Opener, PartSealer, Sealer, StreamError};

use crate::args::{self, Out, guard};
use crate::status::{CseStatus, Failure};

/// What the three engine state machines share, as the boundary drives them.
pub(crate) trait Transform: Sized {
    fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError>;
    fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError>;
    fn finish(self) -> Result<u64, StreamError>;
    fn remaining(&self) -> Option<u64>;
}

impl Transform for Sealer {
    fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        Self::update(self, input, output)
    }
    fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        Self::update_in_place(self, buf)
    }
    fn finish(self) -> Result<u64, StreamError> {
        Self::finish(self)
    }
    fn remaining(&self) -> Option<u64> {
        Self::remaining(self)
    }
}

impl Transform for Opener {
    fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        Self::update(self, input, output)
    }
    fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        Self::update_in_place(self, buf)
    }
    fn finish(self) -> Result<u64, StreamError> {
        Self::finish(self)
    }
    fn remaining(&self) -> Option<u64> {
        Self::remaining(self)
    }
}

impl Transform for PartSealer {
    fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        Self::update(self, input, output)
    }
    fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        Self::update_in_place(self, buf)
    }
    fn finish(self) -> Result<u64, StreamError> {
        Self::finish(self)
    }
    fn remaining(&self) -> Option<u64> {
        Some(Self::remaining(self))
    }
}

/// A handle that holds one of the state machines.
pub(crate) trait StreamHandle {
    /// The handle's argument name, for messages.
    const NAME: &'static str;
    /// The state machine.
    type State: Transform;
    /// Its slot.
    fn slot(&mut self) -> &mut Slot<Self::State>;
}

/// A state machine behind a handle; `None` once finished.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    name: &'static str,
    state: Option<T>,
}

impl<T: Transform> Slot<T> {
    pub(crate) const fn new(name: &'static str, state: T) -> Self {
        Self {
            name,
            state: Some(state),
        }
    }

    fn state(&mut self) -> Result<&mut T, Failure> {
        self.state
            .as_mut()
            .ok_or_else(|| Failure::finished(self.name))
    }

    /// `update` into a caller buffer. On a too-small `output`, `out_len` gets the size needed
    /// and the state is unchanged (the engine's rule).
    pub(crate) fn update(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        mut out_len: Out<usize>,
    ) -> Result<(), Failure> {
        out_len.set(0);
        let cap = output.len();
        match self.state()?.update(input, output) {
            Ok(n) => {
                out_len.set(n);
                Ok(())
            }
            Err(StreamError::BufferTooSmall { required }) => {
                out_len.set(required);
                Err(Failure::too_small("output", cap, required))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, Failure> {
        Ok(self.state()?.update_in_place(buf)?)
    }

    pub(crate) fn remaining(&mut self) -> Result<Option<u64>, Failure> {
        Ok(self.state()?.remaining())
    }

    /// Ends the stream; the handle is finished afterwards whatever the outcome.
    pub(crate) fn finish(&mut self) -> Result<u64, Failure> {
        let state = self
            .state
            .take()
            .ok_or_else(|| Failure::finished(self.name))?;
        Ok(state.finish()?)
    }

    pub(crate) const fn get(&self) -> Option<&T> {
        self.state.as_ref()
    }
}

/// The shared body of every `*_update`: NULL checks, the overlap check, then [`Slot::update`].
///
/// # Safety
/// `slot` is NULL or live and unshared; `input` is NULL or readable for `input_len` bytes;
/// `output` is NULL or writable for `output_cap` bytes; `out_len` is NULL or writable.
pub(crate) unsafe fn update<H: StreamHandle>(
    handle: *mut H,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    out_len: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let out_len = unsafe { args::out(out_len, "out_len")? };
    if args::overlap(input, input_len, output, output_cap) {
        return Err(Failure::invalid(
            "output",
            "overlaps `input`; use *_update_in_place to transform a buffer in place",
        ));
    }
    // SAFETY: forwarded from the caller; the two buffers do not overlap.
    let (slot, input, output) = unsafe {
        (
            args::handle_mut(handle, H::NAME)?,
            args::bytes(input, input_len, "input")?,
            args::bytes_mut(output, output_cap, "output")?,
        )
    };
    slot.slot().update(input, output, out_len)
}

/// The shared body of every `*_update_in_place`; returns the range of `buf` to deliver.
///
/// # Safety
/// `slot` is NULL or live and unshared; `buf` is NULL or writable for `len` bytes.
pub(crate) unsafe fn update_in_place<H: StreamHandle>(
    handle: *mut H,
    buf: *mut u8,
    len: usize,
) -> Result<Range<usize>, Failure> {
    // SAFETY: forwarded from the caller.
    let (handle, buf) = unsafe {
        (
            args::handle_mut(handle, H::NAME)?,
            args::bytes_mut(buf, len, "buf")?,
        )
    };
    handle.slot().update_in_place(buf)
}

/// The shared body of every `*_remaining`.
///
/// # Safety
/// `slot` is NULL or live and unshared; the out-parameters are NULL or writable.
pub(crate) unsafe fn remaining<H: StreamHandle>(
    handle: *mut H,
    out_known: *mut bool,
    out_remaining: *mut u64,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let (handle, mut known, mut remaining) = unsafe {
        (
            args::handle_mut(handle, H::NAME)?,
            args::out(out_known, "out_known")?,
            args::out(out_remaining, "out_remaining")?,
        )
    };
    let left = handle.slot().remaining()?;
    known.set(left.is_some());
    remaining.set(left.unwrap_or(0));
    Ok(())
}

/// The shared body of every `*_finish`; `out_total` is optional.
///
/// # Safety
/// `slot` is NULL or live and unshared; `out_total` is NULL or writable.
pub(crate) unsafe fn finish<H: StreamHandle>(
    handle: *mut H,
    out_total: *mut u64,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let (handle, total) = unsafe {
        (
            args::handle_mut(handle, H::NAME)?,
            args::optional_out(out_total, "out_total")?,
        )
    };
    let n = handle.slot().finish()?;
    if let Some(mut total) = total {
        total.set(n);
    }
    Ok(())
}

/// Encrypts a whole object's plaintext stream, chunk by chunk, of exactly the declared length
/// when one was declared. Made by `cse_sealed_envelope_sealer`.
#[derive(Debug)]
pub struct CseSealer {
    slot: Slot<Sealer>,
}

impl StreamHandle for CseSealer {
    const NAME: &'static str = "sealer";
    type State = Sealer;
    fn slot(&mut self) -> &mut Slot<Sealer> {
        &mut self.slot
    }
}

impl CseSealer {
    pub(crate) const fn new(sealer: Sealer) -> Self {
        Self {
            slot: Slot::new("sealer", sealer),
        }
    }
}

/// Decrypts a ciphertext body, chunk by chunk, delivering exactly the plaintext to keep and
/// checking the body's length. Made by `cse_opener_new_whole` or `cse_opener_new_ranged`.
#[derive(Debug)]
pub struct CseOpener {
    slot: Slot<Opener>,
}

impl StreamHandle for CseOpener {
    const NAME: &'static str = "opener";
    type State = Opener;
    fn slot(&mut self) -> &mut Slot<Opener> {
        &mut self.slot
    }
}

impl CseOpener {
    pub(crate) const fn new(opener: Opener) -> Self {
        Self {
            slot: Slot::new("opener", opener),
        }
    }
}

/// Encrypts `input_len` bytes at `input` into `output` (`output_cap` bytes, which must not
/// overlap `input`). On success `*out_len` is `input_len`. When `output` is too small the call
/// fails with `CSE_STATUS_BUFFER_TOO_SMALL`, `*out_len` is the size needed, and nothing else
/// changed. Fails with `CSE_STATUS_EXTENDED` when the declared length would be passed (the
/// state is unchanged), `CSE_STATUS_FINISHED`.
///
/// # Safety
/// `sealer` is NULL or a live handle not used by another thread during the call; `input` is
/// NULL or readable for `input_len` bytes; `output` is NULL or writable for `output_cap` bytes;
/// `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealer_update(
    sealer: *mut CseSealer,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { update(sealer, input, input_len, output, output_cap, out_len) })
}

/// Encrypts `len` bytes at `buf` in place; all of them are to be sent. Fails as
/// `cse_sealer_update` does.
///
/// # Safety
/// `sealer` is NULL or a live handle not used by another thread during the call; `buf` is NULL
/// or writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealer_update_in_place(
    sealer: *mut CseSealer,
    buf: *mut u8,
    len: usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { update_in_place(sealer, buf, len).map(drop) })
}

/// The plaintext bytes still to come: `*out_known` is false when no length was declared.
///
/// # Safety
/// `sealer` is NULL or a live handle not used by another thread during the call; the
/// out-parameters are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealer_remaining(
    sealer: *mut CseSealer,
    out_known: *mut bool,
    out_remaining: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { remaining(sealer, out_known, out_remaining) })
}

/// Ends the stream; `*out_total` (when `out_total` is not NULL) is the plaintext length. Fails
/// with `CSE_STATUS_TRUNCATED` when the declared length was not reached. The sealer is
/// finished afterwards, whatever the outcome: only `cse_sealer_free` may follow.
///
/// # Safety
/// `sealer` is NULL or a live handle not used by another thread during the call; `out_total`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealer_finish(
    sealer: *mut CseSealer,
    out_total: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { finish(sealer, out_total) })
}

/// Frees a sealer. NULL is ignored.
///
/// # Safety
/// `sealer` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_sealer_free(sealer: *mut CseSealer) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(sealer) }
}

/// Decrypts the next `input_len` body bytes at `input`, all of which are consumed, and writes
/// the plaintext to deliver (possibly none of it, for a ranged read) to the front of `output`
/// (`output_cap` bytes, which must not overlap `input`); `*out_len` is how many bytes it wrote.
/// When `output` is too small the call fails with `CSE_STATUS_BUFFER_TOO_SMALL`, `*out_len` is
/// the size needed, and nothing else changed. Fails with `CSE_STATUS_EXTENDED` when the body
/// passes its declared length (the state is unchanged), `CSE_STATUS_FINISHED`.
///
/// # Safety
/// As `cse_sealer_update`, for an opener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_update(
    opener: *mut CseOpener,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    out_len: *mut usize,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { update(opener, input, input_len, output, output_cap, out_len) })
}

/// Decrypts `len` body bytes at `buf` in place. The plaintext to deliver is then
/// `buf[*out_offset .. *out_offset + *out_len]` (possibly empty, for a ranged read). Fails as
/// `cse_opener_update` does.
///
/// # Safety
/// `opener` is NULL or a live handle not used by another thread during the call; `buf` is NULL
/// or writable for `len` bytes; the out-parameters are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_update_in_place(
    opener: *mut CseOpener,
    buf: *mut u8,
    len: usize,
    out_offset: *mut usize,
    out_len: *mut usize,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let (mut offset, mut kept) = (
                args::out(out_offset, "out_offset")?,
                args::out(out_len, "out_len")?,
            );
            offset.set(0);
            kept.set(0);
            let range = update_in_place(opener, buf, len)?;
            offset.set(range.start);
            kept.set(range.len());
            Ok(())
        }
    })
}

/// The plaintext bytes still to deliver: `*out_known` is false for a whole read whose length
/// the envelope does not declare.
///
/// # Safety
/// As `cse_sealer_remaining`, for an opener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_remaining(
    opener: *mut CseOpener,
    out_known: *mut bool,
    out_remaining: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { remaining(opener, out_known, out_remaining) })
}

/// Whether every byte to deliver has been delivered (the rest of the body, if any, only needs
/// draining). False once the opener is finished.
///
/// # Safety
/// `opener` is NULL or a live handle not used by another thread during the call; `out_done` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_is_done(
    opener: *const CseOpener,
    out_done: *mut bool,
) -> CseStatus {
    guard(|| {
        // SAFETY: the pointers are as this function's contract says.
        let (opener, mut done) = unsafe {
            (
                args::handle(opener, "opener")?,
                args::out(out_done, "out_done")?,
            )
        };
        done.set(opener.slot.get().is_some_and(Opener::is_done));
        Ok(())
    })
}

/// Ends the body; `*out_total` (when `out_total` is not NULL) is the number of plaintext bytes
/// delivered. Fails with `CSE_STATUS_TRUNCATED` when the body ended before its declared length,
/// `CSE_STATUS_CONTENT_MD5_MISMATCH` when the plaintext does not match the envelope's MD5
/// (discard the output). The opener is finished afterwards, whatever the outcome.
///
/// # Safety
/// As `cse_sealer_finish`, for an opener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_finish(
    opener: *mut CseOpener,
    out_total: *mut u64,
) -> CseStatus {
    // SAFETY: the pointers are as this function's contract says.
    guard(|| unsafe { finish(opener, out_total) })
}

/// Frees an opener. NULL is ignored.
///
/// # Safety
/// `opener` is NULL or a live handle from this library, not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cse_opener_free(opener: *mut CseOpener) {
    // SAFETY: as this function's contract says.
    unsafe { args::free(opener) }
}

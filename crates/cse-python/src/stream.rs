//! `Sealer`, `Opener` and `PartSealer`: the engine's streaming state machines over Python
//! buffers. Each has the same four calls:
//!
//! - `update_in_place(buf)`: transforms a writable buffer in place, returns the `slice` of it to
//!   deliver (all of it when sealing; for a ranged read, possibly none). No allocation.
//! - `update_into(src, dst)`: transforms `src` (any bytes-like, `bytes` included) into the front
//!   of the writable `dst`, returns the number of bytes written. No allocation. `src` and `dst`
//!   may be the same buffer, but not partly overlapping ones.
//! - `update(data)`: the same into a new `bytes`, for convenience.
//! - `finish()`: ends the stream and returns its length; raises `TruncatedError` (or
//!   `LengthError` for a part) when it ended short, `IntegrityError` for a failed plaintext MD5.
//!
//! Every call either succeeds completely or raises and leaves the state unchanged. Chunks of at
//! least [`DETACH_MIN`] bytes are transformed with the GIL released.
//!
//! A sealer (`Sealer`, `PartSealer`) spreads a chunk of at least two [`PIECE_MIN`] over up to
//! `threads` threads (settable; by default the machine's cores, at most [`MAX_THREADS`]): it
//! splits the chunk with the engine's `split_to`, which hands each thread its own bytes of the
//! keystream, and seals the pieces at once, the calling thread sealing the last. The other
//! threads are a pool made once per process (`pool`), which a forked child remakes.

use std::ops::Range;
use std::sync::OnceLock;

use cse_core::{Opener, PartSealer, Sealer, StreamError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PySlice};

use crate::buffer::{InBuf, OutBuf, same_or_disjoint};
use crate::error::{FinishedError, IntoPy as _};

/// Chunks this long or longer are transformed with the GIL released: below it, releasing and
/// taking the GIL back costs more than other threads gain (AES-CTR runs at gigabytes a second).
pub const DETACH_MIN: usize = 16 * 1024;

/// Runs `f`, with the GIL released when it transforms `len` bytes or more.
pub fn maybe_detach<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_MIN { py.detach(f) } else { f() }
}

/// The two transforms every streaming state machine has.
pub trait Transform: Send {
    /// `update`: `input` into the front of `output`.
    fn update_buf(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError>;
    /// `update_in_place`.
    fn in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError>;
}

/// A sealer that can hand the next bytes of its stream to a piece: [`Parallel`] splits chunks
/// with it.
pub trait Split {
    /// The engine's `split_to`.
    fn split_to(&mut self, len: u64) -> Result<Sealer, StreamError>;
}

impl Split for Sealer {
    fn split_to(&mut self, len: u64) -> Result<Sealer, StreamError> {
        Sealer::split_to(self, len)
    }
}

impl Split for PartSealer {
    fn split_to(&mut self, len: u64) -> Result<Sealer, StreamError> {
        PartSealer::split_to(self, len)
    }
}

/// The least a thread is given to seal: below it, handing the piece over (waking a pool thread,
/// tens of microseconds in a VM) costs more than it saves (256 KiB seal in about sixty).
pub const PIECE_MIN: usize = 256 * 1024;

/// The most threads one call uses by default.
pub const MAX_THREADS: usize = 8;

/// The default thread count: the cores this process may use, at most [`MAX_THREADS`]. Asked
/// once: the answer reads cgroup files on Linux.
pub fn default_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    })
}

/// A thread count from Python: at least 1.
pub fn check_threads(threads: usize) -> PyResult<usize> {
    if threads == 0 {
        Err(PyValueError::new_err(
            "threads must be at least 1 (1 seals on the calling thread only)",
        ))
    } else {
        Ok(threads)
    }
}

/// One piece of a chunk that [`Parallel`] seals on a thread of its own.
pub enum Piece<'b> {
    /// Sealed in place.
    InPlace(&'b mut [u8]),
    /// Sealed from the first slice into the second, of the same length.
    Copy(&'b [u8], &'b mut [u8]),
}

impl Piece<'_> {
    const fn len(&self) -> usize {
        match self {
            Self::InPlace(buf) => buf.len(),
            Self::Copy(input, _) => input.len(),
        }
    }

    /// Seals the piece with `sealer`, which was split off for exactly its bytes.
    pub fn seal(self, mut sealer: Sealer) -> Result<(), StreamError> {
        match self {
            Self::InPlace(buf) => sealer.update_in_place(buf).map(drop),
            Self::Copy(input, output) => sealer.update(input, output).map(drop),
        }?;
        sealer.finish().map(drop)
    }
}

/// A sealer whose calls seal large chunks on up to `threads` threads.
#[derive(Debug)]
pub struct Parallel<'a, S> {
    sealer: &'a mut S,
    threads: usize,
}

impl<'a, S: Split + Transform> Parallel<'a, S> {
    pub fn new(sealer: &'a mut S, threads: usize) -> Self {
        Self { sealer, threads }
    }

    /// The length of each piece when `len` bytes are sealed, or `None` to seal them on this
    /// thread. Pieces are whole 64-byte runs (cache lines, four AES blocks) but the last.
    fn piece_len(&self, len: usize) -> Option<usize> {
        let pieces = self.threads.min(len / PIECE_MIN);
        (pieces > 1).then(|| len.div_ceil(pieces).next_multiple_of(64))
    }

    /// Seals the pieces of one chunk, front to back in the stream: all but the last on the
    /// pool's threads, the last on this one; all on this one when there is no pool.
    ///
    /// The whole chunk is split off the sealer first, in one call, so that a chunk past the
    /// declared length is refused with the state unchanged; every piece then fits.
    fn seal(&mut self, mut pieces: Vec<Piece<'_>>) -> Result<(), StreamError> {
        let len = pieces.iter().map(Piece::len).sum::<usize>() as u64;
        let mut rest = self.sealer.split_to(len)?;
        let Some(last) = pieces.pop() else {
            return rest.finish().map(drop);
        };
        let jobs = pieces
            .into_iter()
            .map(|piece| Ok((rest.split_to(piece.len() as u64)?, piece)))
            .collect::<Result<Vec<_>, StreamError>>()?;
        let Some(pool) = crate::pool::get() else {
            return jobs
                .into_iter()
                .try_for_each(|(sealer, piece)| piece.seal(sealer))
                .and_then(|()| last.seal(rest));
        };
        let mut results: Vec<Result<(), StreamError>> = jobs.iter().map(|_| Ok(())).collect();
        let mut mine = Ok(());
        // The scope's body runs on this thread and seals the last piece; a panic in a job
        // (none can: each seals exactly its own bytes) would go on here, where PyO3 turns it
        // into PanicException.
        pool.in_place_scope(|scope| {
            for ((sealer, piece), result) in jobs.into_iter().zip(results.iter_mut()) {
                scope.spawn(move |_| *result = piece.seal(sealer));
            }
            mine = last.seal(rest);
        });
        results.into_iter().try_for_each(|r| r).and(mine)
    }
}

impl<S: Split + Transform> Transform for Parallel<'_, S> {
    fn update_buf(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        let len = input.len();
        let Some(piece) = self.piece_len(len) else {
            return self.sealer.update_buf(input, output);
        };
        let output = output
            .get_mut(..len)
            .ok_or(StreamError::BufferTooSmall { required: len })?;
        let pieces = input
            .chunks(piece)
            .zip(output.chunks_mut(piece))
            .map(|(input, output)| Piece::Copy(input, output))
            .collect();
        self.seal(pieces)?;
        Ok(len)
    }

    fn in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        let len = buf.len();
        let Some(piece) = self.piece_len(len) else {
            return self.sealer.in_place(buf);
        };
        self.seal(buf.chunks_mut(piece).map(Piece::InPlace).collect())?;
        Ok(0..len)
    }
}

macro_rules! transform {
    ($($ty:ty),*) => {$(
        impl Transform for $ty {
            fn update_buf(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
                self.update(input, output)
            }
            fn in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
                self.update_in_place(buf)
            }
        }
    )*};
}

transform!(Sealer, Opener, PartSealer);

fn live<'a, T>(inner: &'a mut Option<T>, what: &str) -> PyResult<&'a mut T> {
    inner.as_mut().ok_or_else(|| {
        FinishedError::new_err(format!(
            "this {what} was already finished (or given to a SealingReader)"
        ))
    })
}

fn update_in_place<'py, T: Transform>(
    py: Python<'py>,
    t: &mut T,
    buf: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PySlice>> {
    let mut out = OutBuf::get(buf, "buf")?;
    let slice = out.as_mut_slice();
    let kept = maybe_detach(py, slice.len(), || t.in_place(slice)).py_err()?;
    Ok(PySlice::new(
        py,
        isize::try_from(kept.start)?,
        isize::try_from(kept.end)?,
        1,
    ))
}

fn update_into<T: Transform>(
    py: Python<'_>,
    t: &mut T,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let input = InBuf::get(src, "src")?;
    let mut output = OutBuf::get(dst, "dst")?;
    match same_or_disjoint(&input, &output) {
        None => Err(PyValueError::new_err(
            "src and dst overlap partly; pass the same buffer to transform in place, or two \
             separate ones",
        )),
        Some(true) => {
            let len = input.as_slice().len();
            drop(input);
            let buf = &mut output.as_mut_slice()[..len];
            let kept = maybe_detach(py, len, || t.in_place(buf)).py_err()?;
            // Delivered bytes go to the front of dst, as `update` writes them.
            buf.copy_within(kept.clone(), 0);
            Ok(kept.len())
        }
        Some(false) => {
            let src = input.as_slice();
            let dst = output.as_mut_slice();
            maybe_detach(py, src.len(), || t.update_buf(src, dst)).py_err()
        }
    }
}

fn update<'py, T: Transform>(
    py: Python<'py>,
    t: &mut T,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let input = InBuf::get(data, "data")?;
    let src = input.as_slice();
    let mut out = vec![0u8; src.len()];
    let n = maybe_detach(py, src.len(), || t.update_buf(src, &mut out)).py_err()?;
    Ok(PyBytes::new(py, &out[..n]))
}

/// Encrypts one object's plaintext stream. Made by `SealedEnvelope.sealer()`; exactly the
/// declared length when the envelope declares one.
#[pyclass(module = "oss_cse._native", name = "Sealer")]
#[derive(Debug)]
pub struct PySealer {
    inner: Option<Sealer>,
    threads: usize,
}

impl PySealer {
    pub fn new(inner: Sealer) -> Self {
        Self {
            inner: Some(inner),
            threads: default_threads(),
        }
    }

    /// The engine sealer, for `SealingReader`; this one is finished after.
    pub fn take(&mut self) -> Option<Sealer> {
        self.inner.take()
    }

    /// The thread count set on it.
    pub const fn thread_count(&self) -> usize {
        self.threads
    }
}

#[pymethods]
impl PySealer {
    /// Encrypts `buf` (writable) in place; returns `slice(0, len(buf))`.
    fn update_in_place<'py>(
        &mut self,
        py: Python<'py>,
        buf: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PySlice>> {
        update_in_place(
            py,
            &mut Parallel::new(live(&mut self.inner, "Sealer")?, self.threads),
            buf,
        )
    }

    /// Encrypts `src` into the front of `dst`; returns `len(src)`.
    fn update_into(
        &mut self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        update_into(
            py,
            &mut Parallel::new(live(&mut self.inner, "Sealer")?, self.threads),
            src,
            dst,
        )
    }

    /// Encrypts `data` into new bytes.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        update(
            py,
            &mut Parallel::new(live(&mut self.inner, "Sealer")?, self.threads),
            data,
        )
    }

    /// Ends the stream; returns the plaintext length.
    fn finish(&mut self) -> PyResult<u64> {
        live(&mut self.inner, "Sealer")?;
        self.inner.take().map_or(Ok(0), |s| s.finish().py_err())
    }

    /// Bytes still to come when a length was declared, else `None`.
    #[getter]
    fn remaining(&self) -> Option<u64> {
        self.inner.as_ref().and_then(Sealer::remaining)
    }

    /// The offset of the next plaintext byte.
    #[getter]
    fn position(&self) -> u64 {
        self.inner.as_ref().map_or(0, Sealer::position)
    }

    /// The most threads one call seals on (chunks of at least 512 KiB are split); by default
    /// the machine's cores, at most 8. Set it to 1 to seal on the calling thread only.
    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }

    #[setter]
    fn set_threads(&mut self, threads: usize) -> PyResult<()> {
        self.threads = check_threads(threads)?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            Some(s) => format!(
                "Sealer(position={}, remaining={:?})",
                s.position(),
                s.remaining()
            ),
            None => "Sealer(finished)".to_owned(),
        }
    }
}

/// Decrypts one body: a whole object (`Envelope.whole_opener`) or a ranged response
/// (`BodyPlan.opener`), checking its length against the declared one.
#[pyclass(module = "oss_cse._native", name = "Opener")]
#[derive(Debug)]
pub struct PyOpener {
    inner: Option<Opener>,
}

impl PyOpener {
    pub fn new(inner: Opener) -> Self {
        Self { inner: Some(inner) }
    }

    /// The engine opener, for the file helpers.
    pub fn take(&mut self) -> Option<Opener> {
        self.inner.take()
    }
}

#[pymethods]
impl PyOpener {
    /// Decrypts `buf` (writable) in place; returns the `slice` of `buf` holding delivered
    /// plaintext (a ranged read drops the bytes outside the range).
    fn update_in_place<'py>(
        &mut self,
        py: Python<'py>,
        buf: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PySlice>> {
        update_in_place(py, live(&mut self.inner, "Opener")?, buf)
    }

    /// Decrypts the delivered part of `src` into the front of `dst`; returns its length.
    fn update_into(
        &mut self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        update_into(py, live(&mut self.inner, "Opener")?, src, dst)
    }

    /// Decrypts the delivered part of `data` into new bytes.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        update(py, live(&mut self.inner, "Opener")?, data)
    }

    /// Ends the body; returns the number of plaintext bytes delivered.
    fn finish(&mut self) -> PyResult<u64> {
        live(&mut self.inner, "Opener")?;
        self.inner.take().map_or(Ok(0), |o| o.finish().py_err())
    }

    /// Plaintext bytes still to deliver, when known.
    #[getter]
    fn remaining(&self) -> Option<u64> {
        self.inner.as_ref().and_then(Opener::remaining)
    }

    /// Whether every byte to deliver was delivered (the rest of the body only needs draining).
    #[getter]
    fn is_done(&self) -> bool {
        self.inner.as_ref().is_none_or(Opener::is_done)
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            Some(o) => format!("Opener(remaining={:?})", o.remaining()),
            None => "Opener(finished)".to_owned(),
        }
    }
}

/// Seals exactly one part of a multipart upload. Made by `MultipartContext.part_sealer(n)`.
#[pyclass(module = "oss_cse._native", name = "PartSealer")]
#[derive(Debug)]
pub struct PyPartSealer {
    inner: Option<PartSealer>,
    part: u32,
    len: u64,
    threads: usize,
}

impl PyPartSealer {
    pub fn new(inner: PartSealer) -> Self {
        Self {
            part: inner.part(),
            len: inner.len(),
            inner: Some(inner),
            threads: default_threads(),
        }
    }

    /// The engine part sealer, for `SealingReader`; this one is finished after.
    pub fn take(&mut self) -> Option<PartSealer> {
        self.inner.take()
    }

    /// The thread count set on it.
    pub const fn thread_count(&self) -> usize {
        self.threads
    }
}

#[pymethods]
impl PyPartSealer {
    /// Encrypts `buf` (writable) in place; returns `slice(0, len(buf))`.
    fn update_in_place<'py>(
        &mut self,
        py: Python<'py>,
        buf: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PySlice>> {
        update_in_place(
            py,
            &mut Parallel::new(live(&mut self.inner, "PartSealer")?, self.threads),
            buf,
        )
    }

    /// Encrypts `src` into the front of `dst`; returns `len(src)`.
    fn update_into(
        &mut self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        update_into(
            py,
            &mut Parallel::new(live(&mut self.inner, "PartSealer")?, self.threads),
            src,
            dst,
        )
    }

    /// Encrypts `data` into new bytes.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        update(
            py,
            &mut Parallel::new(live(&mut self.inner, "PartSealer")?, self.threads),
            data,
        )
    }

    /// Ends the part; returns its length. `LengthError` when it is short.
    fn finish(&mut self) -> PyResult<u64> {
        live(&mut self.inner, "PartSealer")?;
        self.inner.take().map_or(Ok(0), |s| s.finish().py_err())
    }

    /// The part number.
    #[getter]
    fn part(&self) -> u32 {
        self.part
    }

    /// The exact plaintext length of the part.
    fn __len__(&self) -> PyResult<usize> {
        Ok(usize::try_from(self.len)?)
    }

    /// Plaintext bytes still to come.
    #[getter]
    fn remaining(&self) -> u64 {
        self.inner.as_ref().map_or(0, PartSealer::remaining)
    }

    /// The most threads one call seals on (chunks of at least 512 KiB are split); by default
    /// the machine's cores, at most 8. Set it to 1 to seal on the calling thread only.
    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }

    #[setter]
    fn set_threads(&mut self, threads: usize) -> PyResult<()> {
        self.threads = check_threads(threads)?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "PartSealer(part={}, len={}, remaining={})",
            self.part,
            self.len,
            self.remaining()
        )
    }
}

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

use std::ops::Range;

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
    inner
        .as_mut()
        .ok_or_else(|| FinishedError::new_err(format!("this {what} was already finished")))
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
}

impl PySealer {
    pub fn new(inner: Sealer) -> Self {
        Self { inner: Some(inner) }
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
        update_in_place(py, live(&mut self.inner, "Sealer")?, buf)
    }

    /// Encrypts `src` into the front of `dst`; returns `len(src)`.
    fn update_into(
        &mut self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        update_into(py, live(&mut self.inner, "Sealer")?, src, dst)
    }

    /// Encrypts `data` into new bytes.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        update(py, live(&mut self.inner, "Sealer")?, data)
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
}

impl PyPartSealer {
    pub fn new(inner: PartSealer) -> Self {
        Self {
            part: inner.part(),
            len: inner.len(),
            inner: Some(inner),
        }
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
        update_in_place(py, live(&mut self.inner, "PartSealer")?, buf)
    }

    /// Encrypts `src` into the front of `dst`; returns `len(src)`.
    fn update_into(
        &mut self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        update_into(py, live(&mut self.inner, "PartSealer")?, src, dst)
    }

    /// Encrypts `data` into new bytes.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        update(py, live(&mut self.inner, "PartSealer")?, data)
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

    fn __repr__(&self) -> String {
        format!(
            "PartSealer(part={}, len={}, remaining={})",
            self.part,
            self.len,
            self.remaining()
        )
    }
}

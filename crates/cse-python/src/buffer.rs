//! Python buffers (`bytes`, `bytearray`, `memoryview`, `array`, `mmap`, NumPy arrays) as the
//! byte slices the engine works on, without copying. The one module with unsafe code.
//!
//! It requests buffers as `hashlib` does (`PyBUF_SIMPLE`, plus `PyBUF_WRITABLE` for output):
//! the exporter must hand over one C-contiguous run of bytes, or raise `BufferError`.
//! `PyObject_GetBuffer`, `PyBuffer_Release` and `Py_buffer` are declared here rather than taken
//! from pyo3, which offers them under abi3 only from Python 3.11, the version that added them to
//! the limited API: the functions are exported by every CPython 3 (on Linux and macOS an
//! extension resolves them from the interpreter when it is loaded), and `Py_buffer` has had this
//! layout since Python 3.3 (3.11 froze it in the stable ABI). On Windows, whose `python3.dll`
//! exports them only from 3.11, the module then needs 3.11 or later.
//!
//! Soundness rests on the buffer protocol: while a view is held (an [`InBuf`] or [`OutBuf`]
//! lives), the exporter keeps the memory alive and in place (a `bytearray` with exports refuses
//! to resize). What the protocol cannot promise is that no other thread writes the memory while
//! the engine works on it with the GIL released; like `hashlib` and every C extension that
//! releases the GIL over a buffer, the API documents that a buffer is not to be touched by
//! another thread during a call.

use std::ffi::{c_char, c_int, c_void};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{Py_ssize_t, PyObject};
use pyo3::prelude::*;

/// CPython's `Py_buffer` (`Include/pybuffer.h`), unchanged since Python 3.3.
#[repr(C)]
struct RawView {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

const PYBUF_SIMPLE: c_int = 0;
const PYBUF_WRITABLE: c_int = 0x0001;

unsafe extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut RawView, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawView);
}

/// A held buffer view; released on drop.
struct View(Box<RawView>);

impl View {
    fn get(obj: &Bound<'_, PyAny>, flags: c_int) -> PyResult<Self> {
        let mut raw = Box::new(RawView {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: `obj` is a live object and the GIL is held (the `Bound` proves both); `raw`
        // points to writable memory of `Py_buffer`'s layout, which CPython fills in. On failure
        // CPython sets an exception and leaves nothing to release.
        let status = unsafe { PyObject_GetBuffer(obj.as_ptr(), &raw mut *raw, flags) };
        if status != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        Ok(Self(raw))
    }

    fn len(&self) -> usize {
        usize::try_from(self.0.len).unwrap_or(0)
    }

    fn span(&self) -> (usize, usize) {
        let start = self.0.buf as usize;
        (start, start + self.len())
    }
}

impl Drop for View {
    fn drop(&mut self) {
        Python::attach(|_| {
            // SAFETY: the view was filled by a successful `PyObject_GetBuffer` and is released
            // exactly once, here, with the GIL held.
            unsafe { PyBuffer_Release(&raw mut *self.0) }
        });
    }
}

fn type_error(obj: &Bound<'_, PyAny>, what: &str, why: &str) -> PyErr {
    let ty = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!("{what} must be {why}, not {ty}"))
}

/// A contiguous buffer of bytes to read.
pub struct InBuf(View);

/// A contiguous, writable buffer of bytes.
pub struct OutBuf(View);

impl InBuf {
    /// The buffer of `obj`, named `what` in errors.
    ///
    /// # Errors
    /// `TypeError` for an object without the buffer protocol or whose buffer is not one
    /// contiguous run of bytes.
    pub fn get(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        View::get(obj, PYBUF_SIMPLE).map(Self).map_err(|_| {
            type_error(
                obj,
                what,
                "a contiguous bytes-like object (bytes, bytearray, memoryview)",
            )
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        let len = self.0.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: the view is held for the life of `self`, so its `len` bytes at `buf` stay
        // allocated and in place; `PyBUF_SIMPLE` made the exporter give one contiguous run of
        // bytes (any alignment will do for `u8`), and `len > 0` means `buf` is a real pointer.
        // The slice borrows `self`, so it cannot outlive the view.
        unsafe { std::slice::from_raw_parts(self.0.0.buf.cast::<u8>().cast_const(), len) }
    }
}

impl OutBuf {
    /// The writable buffer of `obj`, named `what` in errors.
    ///
    /// # Errors
    /// As [`InBuf::get`], and `TypeError` for a read-only buffer such as `bytes`.
    pub fn get(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        View::get(obj, PYBUF_SIMPLE | PYBUF_WRITABLE)
            .map(Self)
            .map_err(|_| {
                type_error(
                    obj,
                    what,
                    "a writable contiguous buffer (a bytearray, or a memoryview of one; bytes \
                     are immutable)",
                )
            })
    }

    /// The bytes, to transform in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.0.len();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: as in `InBuf::as_slice`, and `PYBUF_WRITABLE` made the exporter grant write
        // access. The slice borrows `self` mutably, so this binding makes no second slice of
        // the same view while it lives; another view of the same memory in the same call is
        // ruled out by `same_or_disjoint` before both are used.
        unsafe { std::slice::from_raw_parts_mut(self.0.0.buf.cast::<u8>(), len) }
    }
}

/// Whether `input` and `output` are the same memory (`Some(true)`: transform in place) or do
/// not overlap (`Some(false)`); `None` when they overlap partly, which no transform can do.
pub fn same_or_disjoint(input: &InBuf, output: &OutBuf) -> Option<bool> {
    let ((a0, a1), (b0, b1)) = (input.0.span(), output.0.span());
    if a0 == a1 || b0 == b1 || a1 <= b0 || b1 <= a0 {
        Some(false)
    } else if a0 == b0 && a1 <= b1 {
        Some(true)
    } else {
        None
    }
}

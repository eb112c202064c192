//! Ranged reads: `plan_range` (the request to send), `RangePlan.on_response` /
//! `RangePlan.on_stored` (the body that came back) and `BodyPlan.opener`. Every rule (block
//! alignment, RFC 9110 suffixes and clamping, the counter of the first body block) is the
//! engine's.

use cse_core::{ByteRange, RANGE_BEHAVIOR_HEADER, RangePlan, RangeResponse, plan_range};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::envelope::PyContentMaterial;
use crate::error::IntoPy as _;
use crate::stream::PyOpener;

/// The request to send for one ranged read, and the rules to read its response.
#[pyclass(module = "oss_cse._native", name = "RangePlan", frozen)]
#[derive(Debug)]
pub struct PyRangePlan {
    pub inner: RangePlan,
}

/// Plans a ranged read of `range` (`bytes=A-B`, `bytes=A-` or `bytes=-N`), with the object's
/// plaintext length when it is known. Raises `RangeError` for a malformed range and
/// `RangeNotSatisfiableError` when the length is known and the range selects nothing.
#[pyfunction(name = "plan_range")]
#[pyo3(signature = (range, object_len = None))]
pub fn py_plan_range(range: &str, object_len: Option<u64>) -> PyResult<PyRangePlan> {
    let requested = ByteRange::parse(range).py_err()?;
    let inner = plan_range(requested, object_len).py_err()?;
    Ok(PyRangePlan { inner })
}

#[pymethods]
impl PyRangePlan {
    /// The range the caller asked for.
    #[getter]
    fn requested(&self) -> String {
        self.inner.requested().to_string()
    }

    /// The `Range` value to send: the start rounded down to a cipher block.
    #[getter]
    fn wire_range(&self) -> String {
        self.inner.wire_range().to_string()
    }

    /// The `x-oss-range-behavior` value to send with it.
    #[getter]
    fn range_behavior(&self) -> &'static str {
        self.inner.range_behavior()
    }

    /// The request headers to send: `Range` and `x-oss-range-behavior`.
    fn request_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("Range", self.wire_range())?;
        dict.set_item(RANGE_BEHAVIOR_HEADER, self.range_behavior())?;
        Ok(dict)
    }

    /// Reads the server's answer: its status (206, 200 or 416), `Content-Range` and
    /// `Content-Length`. Raises `RangeNotSatisfiableError` for a 416, `RangeError` for a
    /// response that does not cover the range or changed length.
    #[pyo3(signature = (status, content_range = None, content_length = None))]
    fn on_response(
        &self,
        status: u16,
        content_range: Option<&str>,
        content_length: Option<u64>,
    ) -> PyResult<PyBodyPlan> {
        let response = RangeResponse::from_parts(status, content_range, content_length).py_err()?;
        let inner = self.inner.on_response(response).py_err()?;
        Ok(PyBodyPlan { inner })
    }

    /// The body to read from storage the caller controls (a local ciphertext file of
    /// `stored_len` bytes): what a server honouring `wire_range` would send.
    fn on_stored(&self, stored_len: u64) -> PyResult<PyBodyPlan> {
        let inner = self.inner.on_stored(stored_len).py_err()?;
        Ok(PyBodyPlan { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "RangePlan(requested={:?}, wire_range={:?})",
            self.requested(),
            self.wire_range()
        )
    }
}

/// How to turn one response body into the requested plaintext.
#[pyclass(module = "oss_cse._native", name = "BodyPlan", frozen)]
#[derive(Debug)]
pub struct PyBodyPlan {
    pub inner: cse_core::BodyPlan,
}

#[pymethods]
impl PyBodyPlan {
    /// The object offset of the body's first byte.
    #[getter]
    fn body_start(&self) -> u64 {
        self.inner.body_start()
    }

    /// The body length.
    #[getter]
    fn body_len(&self) -> u64 {
        self.inner.body_len()
    }

    /// Body bytes dropped before the first requested byte.
    #[getter]
    fn drop_len(&self) -> u64 {
        self.inner.drop_len()
    }

    /// Plaintext bytes delivered.
    #[getter]
    fn keep_len(&self) -> u64 {
        self.inner.keep_len()
    }

    /// The plaintext `Content-Range` to report.
    #[getter]
    fn content_range(&self) -> String {
        self.inner.content_range().to_string()
    }

    /// The plaintext `Content-Length` to report.
    #[getter]
    fn content_length(&self) -> u64 {
        self.inner.content_length()
    }

    /// The opener that takes the body as it arrives and delivers exactly the requested
    /// plaintext.
    fn opener(&self, material: &PyContentMaterial) -> PyOpener {
        PyOpener::new(self.inner.opener(&material.inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "BodyPlan(body_start={}, body_len={}, content_range={:?})",
            self.body_start(),
            self.body_len(),
            self.content_range()
        )
    }
}

//! `MultipartContext`: one multipart upload's material, envelope and part bookkeeping. Frozen
//! and `Sync`, so its parts can be sealed from several Python threads at once, in any order;
//! each part number is handed out once (the engine refuses a second sealer, which would reuse
//! keystream).

use cse_core::{DEFAULT_PREFIX, Error, MultipartContext};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::buffer::OutBuf;
use crate::envelope::{PyEnvelope, seal};
use crate::error::{IntoPy as _, to_py};
use crate::master::{Master, Opening};
use crate::stream::{PyPartSealer, maybe_detach};

/// A multipart upload of `data_size` plaintext bytes in parts of `part_size` (a positive
/// multiple of 16): `MultipartContext(master, part_size, data_size)` seals a fresh material
/// with `master`. InitiateMultipartUpload and every UploadPart carry `to_headers()`.
#[pyclass(module = "oss_cse._native", name = "MultipartContext", frozen)]
#[derive(Debug)]
pub struct PyMultipartContext {
    inner: MultipartContext,
}

#[pymethods]
impl PyMultipartContext {
    #[new]
    fn new(
        py: Python<'_>,
        master: &Bound<'_, PyAny>,
        part_size: u64,
        data_size: u64,
    ) -> PyResult<Self> {
        // Check the sizes before anything is wrapped (a KMS call costs).
        MultipartContext::part_count_for(part_size, data_size).py_err()?;
        let master = Master::from_py(master)?;
        let sealed = seal(py, &master)?;
        let inner = MultipartContext::new(sealed, part_size, data_size).py_err()?;
        Ok(Self { inner })
    }

    /// Resumes an upload from its envelope (which carries the part and data sizes), unwrapping
    /// its material with `key`. Pass the parts the upload sealed before as `sealed_parts`
    /// (and those the store accepted as `uploaded_parts`), so no fresh sealer is handed out for
    /// them.
    #[staticmethod]
    #[pyo3(signature = (envelope, key, *, sealed_parts = Vec::new(), uploaded_parts = Vec::new()))]
    fn resume(
        py: Python<'_>,
        envelope: &PyEnvelope,
        key: &Bound<'_, PyAny>,
        sealed_parts: Vec<u32>,
        uploaded_parts: Vec<u32>,
    ) -> PyResult<Self> {
        let material = Opening::from_py(key)?.open(py, &envelope.inner)?;
        let inner = MultipartContext::open(envelope.inner.clone(), material).py_err()?;
        for part in sealed_parts {
            inner.mark_sealed(part).py_err()?;
        }
        for part in uploaded_parts {
            inner.mark_uploaded(part).py_err()?;
        }
        Ok(Self { inner })
    }

    /// The envelope, with the part and data sizes.
    #[getter]
    fn envelope(&self) -> PyEnvelope {
        PyEnvelope {
            inner: self.inner.envelope().clone(),
        }
    }

    /// The envelope's headers as a `dict`.
    #[pyo3(signature = (prefix = DEFAULT_PREFIX))]
    fn to_headers<'py>(&self, py: Python<'py>, prefix: &str) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.inner.envelope().to_headers(prefix).py_err()? {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// The part size.
    #[getter]
    fn part_size(&self) -> u64 {
        self.inner.part_size()
    }

    /// The total plaintext size.
    #[getter]
    fn data_size(&self) -> u64 {
        self.inner.data_size()
    }

    /// The number of parts.
    #[getter]
    fn part_count(&self) -> u32 {
        self.inner.part_count()
    }

    /// `(offset, length)` of part `part` in the plaintext.
    fn part_range(&self, part: u32) -> PyResult<(u64, u64)> {
        self.inner.part_range(part).py_err()
    }

    /// The sealer of part `part`; `MultipartError` on a second call for the same number.
    fn part_sealer(&self, part: u32) -> PyResult<PyPartSealer> {
        self.inner.part_sealer(part).py_err().map(PyPartSealer::new)
    }

    /// Seals the whole part `part` in place in `buf` (writable, exactly the part's length),
    /// with the GIL released: the call for a pool of threads.
    fn seal_part(&self, py: Python<'_>, part: u32, buf: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut out = OutBuf::get(buf, "buf")?;
        let slice = out.as_mut_slice();
        // Checked before the part number is claimed, so a wrong buffer does not burn it.
        let expected = self.inner.part_len(part).py_err()?;
        if slice.len() as u64 != expected {
            return Err(to_py(Error::PartLength {
                part,
                expected,
                actual: slice.len() as u64,
            }));
        }
        let mut sealer = self.inner.part_sealer(part).py_err()?;
        maybe_detach(py, slice.len(), || {
            sealer.update_in_place(slice)?;
            sealer.finish()
        })
        .py_err()?;
        Ok(())
    }

    /// Marks part `part` sealed without sealing it (a resumed upload's earlier parts).
    fn mark_sealed(&self, part: u32) -> PyResult<()> {
        self.inner.mark_sealed(part).py_err()
    }

    /// Records that the store accepted part `part`.
    fn mark_uploaded(&self, part: u32) -> PyResult<()> {
        self.inner.mark_uploaded(part).py_err()
    }

    /// Whether part `part` was sealed.
    fn is_sealed(&self, part: u32) -> bool {
        self.inner.is_sealed(part)
    }

    /// Whether part `part` was marked uploaded.
    fn is_uploaded(&self, part: u32) -> bool {
        self.inner.is_uploaded(part)
    }

    /// The part numbers not marked uploaded yet.
    fn pending_parts(&self) -> Vec<u32> {
        self.inner.pending_parts().collect()
    }

    /// Whether every part was marked uploaded.
    fn is_complete(&self) -> bool {
        self.inner.is_complete()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

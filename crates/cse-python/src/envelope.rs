//! `Envelope` (the metadata headers to and from a `dict`), `ContentMaterial` (opaque) and
//! `SealedEnvelope` (a new object's material and envelope, made together).

use cse_core::{
    ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Envelope, MissingEnvelope, SealedEnvelope,
    decode_envelope,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::error::IntoPy as _;
use crate::master::{Master, Opening};
use crate::rng::with_os_rng;
use crate::stream::{PyOpener, PySealer};

/// Header pairs from a mapping (its `items()`) or an iterable of `(name, value)` pairs, in
/// order, duplicates kept so the engine refuses them.
pub fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (name, value): (String, String) = item?.extract().map_err(|_| {
            PyTypeError::new_err(
                "headers must be a dict of str to str, or an iterable of (str, str) pairs",
            )
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// Decodes pairs by the engine's rules; `None` for an object without any envelope header when
/// not strict.
pub fn decode_pairs(
    pairs: &[(String, String)],
    strict: bool,
    prefix: &str,
) -> PyResult<Option<Envelope>> {
    let options = DecodeOptions {
        prefix,
        missing: if strict {
            MissingEnvelope::Reject
        } else {
            MissingEnvelope::PassThrough
        },
    };
    decode_envelope(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &options,
    )
    .py_err()
}

/// The envelope's headers as a `dict`, in the engine's order, names in lower case.
fn headers_dict<'py>(
    py: Python<'py>,
    envelope: &Envelope,
    prefix: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in envelope.to_headers(prefix).py_err()? {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// An object's encryption metadata. Decode it with `Envelope.from_headers`, encode it with
/// `to_headers`. Holds no secret: the key and counter block are wrapped.
#[pyclass(module = "oss_cse._native", name = "Envelope", frozen, eq)]
#[derive(Debug, PartialEq)]
pub struct PyEnvelope {
    pub inner: Envelope,
}

#[pymethods]
impl PyEnvelope {
    /// Reads the envelope from an object's headers (a `dict`, or `(name, value)` pairs; names
    /// matched ignoring case). With `strict=False`, returns `None` for an object without any
    /// envelope header (stored in the clear); with `strict=True` (the default) that raises
    /// `NotEncryptedError`. Raises `InvalidHeaderError` naming the header for anything else.
    #[staticmethod]
    #[pyo3(signature = (headers, *, strict = true, prefix = DEFAULT_PREFIX))]
    fn from_headers(
        headers: &Bound<'_, PyAny>,
        strict: bool,
        prefix: &str,
    ) -> PyResult<Option<Self>> {
        let pairs = header_pairs(headers)?;
        Ok(decode_pairs(&pairs, strict, prefix)?.map(|inner| Self { inner }))
    }

    /// The envelope as a `dict` of header name to value, to send with the object.
    #[pyo3(signature = (prefix = DEFAULT_PREFIX))]
    fn to_headers<'py>(&self, py: Python<'py>, prefix: &str) -> PyResult<Bound<'py, PyDict>> {
        headers_dict(py, &self.inner, prefix)
    }

    /// Unwraps the content material with `key`: a `Keyring`, an `RsaMasterCipher` or an object
    /// with the SDK's `MasterCipher` interface. Raises the opaque `UnwrapError` for a wrong key
    /// or damaged headers, `InvalidKeyError` for a key of another wrap-alg or a public key.
    fn open(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<PyContentMaterial> {
        let opening = Opening::from_py(key)?;
        opening
            .open(py, &self.inner)
            .map(|inner| PyContentMaterial { inner })
    }

    /// The opener of a whole-object read: checks the declared length, and the plaintext MD5
    /// when the envelope records one.
    fn whole_opener(&self, material: &PyContentMaterial) -> PyOpener {
        PyOpener::new(self.inner.whole_opener(&material.inner))
    }

    /// Checks a stored object's length against the declared one (`LengthError`).
    fn check_stored_len(&self, stored: u64) -> PyResult<()> {
        self.inner.check_stored_len(stored).py_err()
    }

    /// The key-wrap algorithm.
    #[getter]
    fn wrap_alg(&self) -> &str {
        self.inner.wrap_alg()
    }

    /// The content cipher (always AES/CTR/NoPadding).
    #[getter]
    fn cek_alg(&self) -> &'static str {
        self.inner.cek_alg()
    }

    /// The matdesc header text (empty when absent).
    #[getter]
    fn matdesc(&self) -> &str {
        self.inner.matdesc_text()
    }

    /// The wrapped content key (not secret).
    #[getter]
    fn wrapped_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.wrapped_key().as_bytes())
    }

    /// The wrapped counter block (not secret).
    #[getter]
    fn wrapped_counter<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.wrapped_counter().as_bytes())
    }

    /// The declared plaintext length (`unencrypted-content-length`), or `None`.
    #[getter]
    fn unencrypted_content_length(&self) -> Option<u64> {
        self.inner.unencrypted_content_length()
    }

    /// The recorded plaintext MD5 (16 bytes), or `None`.
    #[getter]
    fn unencrypted_content_md5<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner
            .unencrypted_content_md5()
            .map(|m| PyBytes::new(py, m))
    }

    /// The plaintext length a whole read checks: the declared length, else the multipart
    /// data size.
    #[getter]
    fn declared_len(&self) -> Option<u64> {
        self.inner.declared_len()
    }

    /// The multipart part size, for an object written by multipart upload.
    #[getter]
    fn part_size(&self) -> Option<u64> {
        self.inner.multipart().map(|m| m.part_size)
    }

    /// The multipart data size, when declared.
    #[getter]
    fn data_size(&self) -> Option<u64> {
        self.inner.multipart().and_then(|m| m.data_size)
    }

    fn __repr__(&self) -> String {
        format!(
            "Envelope(wrap_alg={:?}, matdesc={:?}, declared_len={:?})",
            self.inner.wrap_alg(),
            self.inner.matdesc_text(),
            self.inner.declared_len()
        )
    }
}

/// An object's unwrapped content key and counter block. Opaque: it has no accessor for the
/// bytes and its repr shows none; the engine wipes them when the object is freed.
#[pyclass(module = "oss_cse._native", name = "ContentMaterial", frozen)]
#[derive(Debug)]
pub struct PyContentMaterial {
    pub inner: ContentMaterial,
}

#[pymethods]
impl PyContentMaterial {
    fn __repr__(&self) -> &'static str {
        "ContentMaterial(<secret>)"
    }
}

/// A new object's content material and the envelope that wraps it, made together:
/// `SealedEnvelope(master, content_length=None, content_md5=None)` draws a fresh key and
/// counter block from the OS and wraps them with `master`. When `content_length` is given, the
/// sealer refuses any other length and readers check it.
#[pyclass(module = "oss_cse._native", name = "SealedEnvelope", frozen)]
#[derive(Debug)]
pub struct PySealedEnvelope {
    pub inner: SealedEnvelope,
}

/// Seals a fresh material with `master`.
pub fn seal(py: Python<'_>, master: &Master) -> PyResult<SealedEnvelope> {
    py.detach(|| with_os_rng(|rng| Ok(SealedEnvelope::seal(master.cipher(), rng))))?
        .map_err(|e| master.seal_error(py, e))
}

#[pymethods]
impl PySealedEnvelope {
    #[new]
    #[pyo3(signature = (master, *, content_length = None, content_md5 = None))]
    fn new(
        py: Python<'_>,
        master: &Bound<'_, PyAny>,
        content_length: Option<u64>,
        content_md5: Option<[u8; 16]>,
    ) -> PyResult<Self> {
        let master = Master::from_py(master)?;
        let mut sealed = seal(py, &master)?;
        if let Some(len) = content_length {
            sealed = sealed.with_unencrypted_content_length(len);
        }
        if let Some(md5) = content_md5 {
            sealed = sealed.with_unencrypted_content_md5(md5);
        }
        Ok(Self { inner: sealed })
    }

    /// The envelope to send with the object.
    #[getter]
    fn envelope(&self) -> PyEnvelope {
        PyEnvelope {
            inner: self.inner.envelope().clone(),
        }
    }

    /// The envelope's headers as a `dict` (as `Envelope.to_headers`).
    #[pyo3(signature = (prefix = DEFAULT_PREFIX))]
    fn to_headers<'py>(&self, py: Python<'py>, prefix: &str) -> PyResult<Bound<'py, PyDict>> {
        headers_dict(py, self.inner.envelope(), prefix)
    }

    /// The sealer of the whole object. Take one per object: a second one starts at the same
    /// counter, so use it only to seal the same bytes again.
    fn sealer(&self) -> PySealer {
        PySealer::new(self.inner.sealer())
    }

    fn __repr__(&self) -> String {
        format!(
            "SealedEnvelope(wrap_alg={:?}, declared_len={:?}, material=<secret>)",
            self.inner.envelope().wrap_alg(),
            self.inner.envelope().declared_len()
        )
    }
}

/// Whether `name` is an envelope header under `prefix` (ignoring case), for code that copies or
/// strips envelope headers without naming them.
#[pyfunction]
#[pyo3(signature = (name, prefix = DEFAULT_PREFIX))]
pub fn is_envelope_header(name: &str, prefix: &str) -> bool {
    cse_core::is_envelope_header(name.as_bytes(), prefix)
}

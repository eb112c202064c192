//! Master keys, both ways across the language boundary:
//!
//! - [`PyRsaMasterCipher`] is the engine's RSA master key as a Python object that also has the
//!   official SDK's `alibabacloud_oss_v2.crypto.MasterCipher` interface (`encrypt`, `decrypt`,
//!   `get_wrap_algorithm`, `get_mat_desc`), so the SDK's `EncryptionClient` can use it.
//! - [`PyMasterCipher`] is any Python object with that interface (the SDK's `MasterRsaCipher`,
//!   a KMS client) as the engine's [`MasterCipher`], so this package seals and opens with it.
//!
//! [`Master`] is what every call taking a master key accepts: either of them.

use std::sync::{Arc, Mutex};

use cse_core::rand_core::CryptoRng;
use cse_core::{
    ContentMaterial, Envelope, Error, Keyring, MasterCipher, MatDesc, RsaMasterCipher, WRAP_ALG_RSA,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use zeroize::Zeroizing;

use crate::buffer::InBuf;
use crate::error::{IntoPy as _, to_py};
use crate::rng::with_os_rng;

/// A matdesc argument: `None`, a `dict` of strings, or its JSON text.
pub fn matdesc_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<MatDesc>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut pairs = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            pairs.push((k.extract::<String>()?, v.extract::<String>()?));
        }
        return Ok(Some(pairs.into_iter().collect()));
    }
    let text: String = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("matdesc must be a dict of strings or its JSON text"))?;
    MatDesc::parse(text.as_bytes()).py_err().map(Some)
}

/// The engine's RSA master key (PKCS#1 v1.5 wrapping, as every SDK writes). Also satisfies the
/// official SDK's `MasterCipher` interface.
#[pyclass(module = "oss_cse._native", name = "RsaMasterCipher", frozen)]
#[derive(Debug)]
pub struct PyRsaMasterCipher {
    inner: Arc<RsaMasterCipher>,
}

#[pymethods]
impl PyRsaMasterCipher {
    /// Loads a PKCS#1, PKCS#8 or SPKI PEM key (private to read and write, public to write),
    /// with an optional material description (`dict` of strings or JSON text).
    ///
    /// Raises `InvalidKeyError` for anything that is not a usable RSA key.
    #[staticmethod]
    #[pyo3(signature = (pem, matdesc = None))]
    fn from_pem(pem: &Bound<'_, PyAny>, matdesc: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let text = if pem.is_instance_of::<PyString>() {
            Zeroizing::new(pem.extract::<String>()?)
        } else {
            let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(pem.extract()?);
            Zeroizing::new(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| to_py(Error::InvalidKey(cse_core::KeyProblem::Unrecognized)))?,
            )
        };
        Self::build(RsaMasterCipher::from_pem(&text).py_err()?, matdesc)
    }

    /// Loads a PKCS#1, PKCS#8 or SPKI DER key. Raises `InvalidKeyError`.
    #[staticmethod]
    #[pyo3(signature = (der, matdesc = None))]
    fn from_der(der: &[u8], matdesc: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::build(RsaMasterCipher::from_der(der).py_err()?, matdesc)
    }

    /// Whether the private key is present (needed to open objects).
    #[getter]
    fn has_private_key(&self) -> bool {
        self.inner.has_private_key()
    }

    /// The modulus length in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.inner.bits()
    }

    /// The wrap-alg this key writes.
    #[getter]
    fn wrap_alg(&self) -> &str {
        self.inner.wrap_alg()
    }

    /// The canonical matdesc JSON this key writes (empty for none).
    #[getter]
    fn matdesc(&self) -> &str {
        self.inner.matdesc()
    }

    /// SDK interface: wraps `data` (the content key or counter block).
    fn encrypt<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = vec![0u8; cse_core::MAX_WRAPPED_LEN];
        let n = with_os_rng(|rng| self.inner.wrap(data, &mut out, rng).py_err())?;
        Ok(PyBytes::new(py, &out[..n]))
    }

    /// SDK interface: unwraps a wrapped content key (32 bytes) or counter block (16 bytes), the
    /// two values the format wraps. Any failure is the one opaque `UnwrapError`.
    fn decrypt<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let mut key = Zeroizing::new([0u8; cse_core::CONTENT_KEY_LEN]);
        let mut counter = Zeroizing::new([0u8; cse_core::COUNTER_BLOCK_LEN]);
        with_os_rng(|rng| {
            // Both lengths are always tried, so the time taken does not say which it was.
            let as_key = self.inner.unwrap(data, &mut key[..], rng);
            let as_counter = self.inner.unwrap(data, &mut counter[..], rng);
            match (as_key, as_counter) {
                (Ok(()), _) => Ok(PyBytes::new(py, &key[..])),
                (_, Ok(())) => Ok(PyBytes::new(py, &counter[..])),
                (Err(Error::MissingPrivateKey), _) => Err(to_py(Error::MissingPrivateKey)),
                _ => Err(to_py(Error::Unwrap)),
            }
        })
    }

    /// SDK interface: the wrap-alg header value.
    fn get_wrap_algorithm(&self) -> &str {
        WRAP_ALG_RSA
    }

    /// SDK interface: the matdesc header value.
    fn get_mat_desc(&self) -> &str {
        self.inner.matdesc()
    }

    fn __repr__(&self) -> String {
        format!(
            "RsaMasterCipher(bits={}, private={}, matdesc={:?})",
            self.inner.bits(),
            if self.inner.has_private_key() {
                "True"
            } else {
                "False"
            },
            self.inner.matdesc()
        )
    }
}

impl PyRsaMasterCipher {
    fn build(key: RsaMasterCipher, matdesc: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let key = match matdesc_arg(matdesc)? {
            Some(m) => key.with_matdesc(&m),
            None => key,
        };
        Ok(Self {
            inner: Arc::new(key),
        })
    }
}

/// A Python object with the SDK's `MasterCipher` interface as the engine's master key. Its
/// wrap-alg and matdesc are read once, when it is adopted; `encrypt` and `decrypt` run with the
/// GIL taken back, inside the engine call that needs them (a KMS client makes its request
/// there). The plaintext key handed to `encrypt`, and the one `decrypt` returns, are Python
/// `bytes`, which Python does not wipe: the SDK's own master ciphers do the same.
pub struct PyMasterCipher {
    obj: Py<PyAny>,
    wrap_alg: String,
    matdesc: String,
    /// The exception `encrypt` raised, to chain to the `WrapError`.
    wrap_failure: Mutex<Option<PyErr>>,
}

impl std::fmt::Debug for PyMasterCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyMasterCipher")
            .field("wrap_alg", &self.wrap_alg)
            .finish_non_exhaustive()
    }
}

impl PyMasterCipher {
    fn adopt(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let missing = ["encrypt", "decrypt", "get_wrap_algorithm", "get_mat_desc"]
            .into_iter()
            .find(|name| !obj.hasattr(*name).unwrap_or(false));
        if let Some(name) = missing {
            return Err(PyTypeError::new_err(format!(
                "a master key must be an RsaMasterCipher, a Keyring where one is read, or an \
                 object with the SDK's MasterCipher interface (no {name} on this one)"
            )));
        }
        let text = |name: &str| -> PyResult<String> {
            let value = obj.call_method0(name)?;
            if value.is_none() {
                Ok(String::new())
            } else {
                value.extract()
            }
        };
        Ok(Self {
            wrap_alg: text("get_wrap_algorithm")?,
            matdesc: text("get_mat_desc")?,
            obj: obj.clone().unbind(),
            wrap_failure: Mutex::new(None),
        })
    }

    fn take_wrap_failure(&self) -> Option<PyErr> {
        self.wrap_failure.lock().ok().and_then(|mut f| f.take())
    }
}

impl MasterCipher for PyMasterCipher {
    fn wrap_alg(&self) -> &str {
        &self.wrap_alg
    }

    fn matdesc(&self) -> &str {
        &self.matdesc
    }

    fn wrap(
        &self,
        plaintext: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<usize, Error> {
        Python::attach(|py| {
            let result = self
                .obj
                .bind(py)
                .call_method1("encrypt", (PyBytes::new(py, plaintext),))
                .and_then(|r| Ok(InBuf::get(&r, "encrypt's result")?.as_slice().to_vec()));
            match result {
                Ok(wrapped) => {
                    let n = wrapped.len();
                    out.get_mut(..n)
                        .ok_or(Error::BufferTooSmall { required: n })?
                        .copy_from_slice(&wrapped);
                    Ok(n)
                }
                Err(e) => {
                    if let Ok(mut slot) = self.wrap_failure.lock() {
                        *slot = Some(e);
                    }
                    Err(Error::Wrap)
                }
            }
        })
    }

    fn unwrap(
        &self,
        wrapped: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> Result<(), Error> {
        Python::attach(|py| {
            // Whatever went wrong, the engine reports the one opaque Unwrap: the exception is
            // dropped, so its text (which may say why) does not leave.
            let plain = self
                .obj
                .bind(py)
                .call_method1("decrypt", (PyBytes::new(py, wrapped),))
                .and_then(|r| Ok(InBuf::get(&r, "decrypt's result")?.as_slice().to_vec()))
                .map(Zeroizing::new)
                .map_err(|_| Error::Unwrap)?;
            if plain.len() != out.len() {
                return Err(Error::Unwrap);
            }
            out.copy_from_slice(&plain);
            Ok(())
        })
    }
}

/// A master key argument: the engine's RSA key, or an adopted Python one.
#[derive(Clone, Debug)]
pub enum Master {
    /// [`PyRsaMasterCipher`]'s key.
    Rsa(Arc<RsaMasterCipher>),
    /// A Python object with the SDK interface.
    Py(Arc<PyMasterCipher>),
}

impl Master {
    /// Takes `obj` as a master key.
    ///
    /// # Errors
    /// `TypeError` when it is neither kind; whatever `get_wrap_algorithm` or `get_mat_desc`
    /// raise.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(rsa) = obj.cast::<PyRsaMasterCipher>() {
            return Ok(Self::Rsa(rsa.get().inner.clone()));
        }
        PyMasterCipher::adopt(obj).map(|m| Self::Py(Arc::new(m)))
    }

    /// The key as the engine takes it.
    pub fn cipher(&self) -> &(dyn MasterCipher + Send + Sync) {
        match self {
            Self::Rsa(k) => k.as_ref(),
            Self::Py(k) => k.as_ref(),
        }
    }

    fn boxed(&self) -> Box<dyn MasterCipher + Send + Sync> {
        match self {
            Self::Rsa(k) => Box::new(k.clone()),
            Self::Py(k) => Box::new(k.clone()),
        }
    }

    /// The exception for a failed seal: a `WrapError` is chained to what a Python key raised.
    pub fn seal_error(&self, py: Python<'_>, e: Error) -> PyErr {
        let err = to_py(e);
        if let (Error::Wrap, Self::Py(k)) = (e, self)
            && let Some(cause) = k.take_wrap_failure()
        {
            err.set_cause(py, Some(cause));
        }
        err
    }
}

/// The read-side set of master keys: an object is opened with the key whose matdesc equals the
/// object's, else with the default key, as the SDKs fall back.
#[pyclass(module = "oss_cse._native", name = "Keyring", frozen)]
#[derive(Debug)]
pub struct PyKeyring {
    inner: Arc<Keyring>,
}

#[pymethods]
impl PyKeyring {
    /// `Keyring(default, *others)`: each a master key (RsaMasterCipher or SDK-style object).
    #[new]
    #[pyo3(signature = (default, *others))]
    fn new(default: &Bound<'_, PyAny>, others: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut ring = Keyring::new(Master::from_py(default)?.boxed());
        for other in &others {
            ring = ring.with(Master::from_py(other)?.boxed());
        }
        Ok(Self {
            inner: Arc::new(ring),
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// What opens an envelope: a keyring, or one master key.
#[derive(Clone, Debug)]
pub enum Opening {
    /// A [`PyKeyring`].
    Ring(Arc<Keyring>),
    /// One key.
    One(Master),
}

impl Opening {
    /// Takes `obj` as a keyring or a master key.
    ///
    /// # Errors
    /// As [`Master::from_py`].
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(ring) = obj.cast::<PyKeyring>() {
            return Ok(Self::Ring(ring.get().inner.clone()));
        }
        Master::from_py(obj).map(Self::One)
    }

    /// Unwraps `envelope`'s content material (the GIL released for an RSA key).
    ///
    /// # Errors
    /// `InvalidKeyError` for a key of another wrap-alg or without its private part; otherwise
    /// the one opaque `UnwrapError`; `RandomError`.
    pub fn open(&self, py: Python<'_>, envelope: &Envelope) -> PyResult<ContentMaterial> {
        // An adopted Python key takes the GIL back itself, so it is released either way.
        py.detach(|| {
            with_os_rng(|rng| {
                match self {
                    Self::Ring(r) => r.open(envelope, rng),
                    Self::One(m) => envelope.open(m.cipher(), rng),
                }
                .map_err(to_py)
            })
        })
    }
}

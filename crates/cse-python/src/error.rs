//! The exception hierarchy, and the one mapping from the engine's [`Error`] to it.
//!
//! Every message is the engine's own text (which names the header or argument and never holds
//! secret bytes) or names an argument of this binding. Every failure to unwrap a key is the one
//! opaque [`UnwrapError`], whatever the master key raised.

use cse_core::{Error, StreamError};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    CseError,
    PyException,
    "The base of every error this package raises."
);
create_exception!(
    _native,
    InvalidHeaderError,
    CseError,
    "An envelope header is missing, repeated, empty or malformed (the message names it)."
);
create_exception!(
    _native,
    NotEncryptedError,
    CseError,
    "The object carries no client-side-encryption envelope, and strict reading was asked for."
);
create_exception!(
    _native,
    UnwrapError,
    CseError,
    "The content key could not be unwrapped: wrong master key or damaged key/start headers. \
     Opaque on purpose: it never says which."
);
create_exception!(
    _native,
    WrapError,
    CseError,
    "The master key failed to wrap the content key or counter block."
);
create_exception!(
    _native,
    InvalidKeyError,
    CseError,
    "The master key is unusable here: not an RSA key, too small, public-only where a private key \
     is needed, or of another wrap algorithm than the object's."
);
create_exception!(
    _native,
    RangeError,
    CseError,
    "A byte range, Content-Range or response status was refused."
);
create_exception!(
    _native,
    RangeNotSatisfiableError,
    RangeError,
    "The range selects nothing in the object (HTTP 416)."
);
create_exception!(
    _native,
    LengthError,
    CseError,
    "A body, part or stored object is not the length its envelope declares."
);
create_exception!(
    _native,
    TruncatedError,
    LengthError,
    "The ciphertext ended before the length its envelope declares."
);
create_exception!(
    _native,
    ExtendedError,
    LengthError,
    "More bytes arrived than the declared length."
);
create_exception!(
    _native,
    IntegrityError,
    CseError,
    "A check over the plaintext failed: the unencrypted-content MD5 differs, or a resealed part \
     changed."
);
create_exception!(
    _native,
    AuthenticationError,
    IntegrityError,
    "An authenticated object failed a check (key commitment, side-car, chunk N, final tag, \
     writer signature), its side-car is missing, or authentication was required and absent. \
     Nothing of a failed chunk was released."
);
create_exception!(
    _native,
    MultipartError,
    CseError,
    "A multipart size or part number was refused, or a part was sealed twice."
);
create_exception!(
    _native,
    RandomError,
    CseError,
    "The operating system's random source failed; nothing was sealed or opened."
);
create_exception!(
    _native,
    FinishedError,
    CseError,
    "The sealer or opener was already finished (or failed to finish): make a new one."
);
create_exception!(
    _native,
    BufferTooSmallError,
    CseError,
    "The output buffer is too small; nothing was consumed. `args[1]` is the size needed."
);

/// An authentication failure as the one exception that names the failed check.
pub fn auth_to_py(e: cse_core::auth::AuthError) -> PyErr {
    AuthenticationError::new_err(format!("authentication failed: {e}"))
}

/// Adds every exception type to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (name, ty) in [
        ("CseError", py.get_type::<CseError>()),
        ("InvalidHeaderError", py.get_type::<InvalidHeaderError>()),
        ("NotEncryptedError", py.get_type::<NotEncryptedError>()),
        ("UnwrapError", py.get_type::<UnwrapError>()),
        ("WrapError", py.get_type::<WrapError>()),
        ("InvalidKeyError", py.get_type::<InvalidKeyError>()),
        ("RangeError", py.get_type::<RangeError>()),
        (
            "RangeNotSatisfiableError",
            py.get_type::<RangeNotSatisfiableError>(),
        ),
        ("LengthError", py.get_type::<LengthError>()),
        ("TruncatedError", py.get_type::<TruncatedError>()),
        ("ExtendedError", py.get_type::<ExtendedError>()),
        ("IntegrityError", py.get_type::<IntegrityError>()),
        ("AuthenticationError", py.get_type::<AuthenticationError>()),
        ("MultipartError", py.get_type::<MultipartError>()),
        ("RandomError", py.get_type::<RandomError>()),
        ("FinishedError", py.get_type::<FinishedError>()),
        ("BufferTooSmallError", py.get_type::<BufferTooSmallError>()),
    ] {
        m.add(name, ty)?;
    }
    Ok(())
}

/// The exception for an engine error, with the engine's message.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::MissingHeader(_)
        | Error::EmptyHeader(_)
        | Error::DuplicateHeader(_)
        | Error::InvalidBase64(_)
        | Error::InvalidNumber(_)
        | Error::ValueTooLong { .. }
        | Error::InvalidMatDesc
        | Error::UnsupportedCekAlg
        | Error::InvalidWrapAlg
        | Error::InvalidPrefix
        | Error::InvalidValue { .. } => InvalidHeaderError::new_err(msg),
        Error::NotEncrypted => NotEncryptedError::new_err(msg),
        Error::Unwrap => UnwrapError::new_err(msg),
        Error::Wrap => WrapError::new_err(msg),
        Error::InvalidKey(_) | Error::MissingPrivateKey | Error::WrapAlgMismatch => {
            InvalidKeyError::new_err(msg)
        }
        Error::InvalidRange(_) => RangeError::new_err(msg),
        Error::RangeNotSatisfiable { .. } => RangeNotSatisfiableError::new_err(msg),
        Error::Truncated { .. } => TruncatedError::new_err(msg),
        Error::Extended { .. } => ExtendedError::new_err(msg),
        Error::StreamTooLong | Error::StoredLength { .. } | Error::PartLength { .. } => {
            LengthError::new_err(msg)
        }
        Error::ContentMd5Mismatch | Error::PartChanged { .. } => IntegrityError::new_err(msg),
        Error::InvalidPartSize
        | Error::InvalidDataSize
        | Error::PartNumberOutOfRange { .. }
        | Error::PartAlreadySealed { .. }
        | Error::PartNotSealed { .. }
        | Error::ChunkBoundary { .. }
        | Error::WrongFingerprint { .. } => MultipartError::new_err(msg),
        Error::BufferTooSmall { required } => BufferTooSmallError::new_err((msg, required)),
        _ => CseError::new_err(msg),
    }
}

/// `?` on engine results inside `#[pymethods]`.
pub trait IntoPy<T> {
    /// Maps the error to its exception.
    ///
    /// # Errors
    /// The exception of the engine's error.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

impl<T> IntoPy<T> for Result<T, StreamError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

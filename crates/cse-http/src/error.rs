//! The crate's one error type.

use std::fmt;

use http::HeaderName;

/// A boxed error from an inner body, as `http-body` users pass them around.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong between `http` types and the engine.
///
/// Display messages name the header and what is wrong with it, and say what to do next. No
/// variant ever carries key material.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The engine refused a header, a range, a response or a body length; see
    /// [`cse_core::Error`]. A truncated body is [`cse_core::Error::Truncated`], an extended one
    /// [`cse_core::Error::Extended`].
    Core(cse_core::Error),
    /// A header value that must be text (Range, Content-Range, Content-Length) is not UTF-8.
    NonUtf8Header {
        /// The header.
        name: HeaderName,
    },
    /// A header that must appear at most once (Range, Content-Range, Content-Length,
    /// Content-MD5) appears several times.
    RepeatedHeader {
        /// The header.
        name: HeaderName,
    },
    /// The Content-Length header is not a decimal number below 2^64.
    InvalidContentLength,
    /// The request's Content-MD5 header is not the standard base64 of a 16-byte MD5 digest.
    InvalidContentMd5,
    /// The request's Content-Length differs from the plaintext length the envelope declares.
    LengthMismatch {
        /// The request's Content-Length.
        content_length: u64,
        /// The envelope's `unencrypted-content-length`.
        declared: u64,
    },
    /// An envelope or range header cannot be written as an HTTP header: the metadata prefix (or a
    /// value) holds bytes HTTP forbids there.
    UnencodableHeader {
        /// The header name as the engine produced it.
        name: String,
    },
    /// The inner body failed; its error is the [`source`](std::error::Error::source).
    Body(BoxError),
    /// The inner body sent data after its trailers, which ended the data stream.
    DataAfterTrailers,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => fmt::Display::fmt(e, f),
            Self::NonUtf8Header { name } => {
                write!(f, "header {name} is not UTF-8 text; send it as ASCII")
            }
            Self::RepeatedHeader { name } => {
                write!(f, "header {name} appears more than once; keep exactly one")
            }
            Self::InvalidContentLength => {
                f.write_str("header content-length is not a decimal number between 0 and 2^64-1")
            }
            Self::InvalidContentMd5 => f.write_str(
                "header content-md5 is not the standard base64 (padded, 24 characters) of a \
                 16-byte MD5 digest; fix or remove it",
            ),
            Self::LengthMismatch {
                content_length,
                declared,
            } => write!(
                f,
                "header content-length says {content_length} bytes but the envelope declares \
                 {declared} plaintext bytes; build the envelope for the body you send"
            ),
            Self::UnencodableHeader { name } => write!(
                f,
                "header {name} cannot be written as an HTTP header; use a metadata prefix of \
                 lower-case letters, digits and '-', like x-oss-meta-"
            ),
            Self::Body(e) => write!(f, "the inner body failed: {e}"),
            Self::DataAfterTrailers => f.write_str(
                "the inner body sent data after its trailers; trailers must be its last frame",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Core(e) => Some(e),
            Self::Body(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<cse_core::Error> for Error {
    fn from(e: cse_core::Error) -> Self {
        Self::Core(e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

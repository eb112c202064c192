//! The crate's one error type.

use std::fmt;

/// An error answer from OSS (or KMS): the parsed error document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The error code (`NoSuchKey`, `SignatureDoesNotMatch`, ...); `BadErrorResponse` when the
    /// body was not an error document.
    pub code: String,
    /// The message.
    pub message: String,
    /// The request id, to quote to support.
    pub request_id: String,
    /// The detailed error code (`EC`), when the service sent one.
    pub ec: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} {}: {} (request id {}",
            self.status, self.code, self.message, self.request_id
        )?;
        if let Some(ec) = &self.ec {
            write!(f, ", EC {ec}")?;
        }
        f.write_str(")")
    }
}

/// Everything that can go wrong in this crate.
///
/// Messages name the operation, argument or header and say what to do next; none carries a
/// secret (credentials, content keys) or object data.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// OSS answered with an error document.
    Service {
        /// The operation (`PutObject`, `GetObject`, ...).
        operation: &'static str,
        /// The parsed error.
        error: ServiceError,
    },
    /// The request could not be sent or its response head not received (connection refused,
    /// reset, timeout), after the retries allowed.
    Transport {
        /// The operation.
        operation: &'static str,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// The response body failed while streaming (connection closed mid-body, or a body shorter or
    /// longer than declared).
    Body {
        /// The operation.
        operation: &'static str,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The encryption engine refused something (a header, a range, a part); see
    /// [`cse_core::Error`].
    Core(cse_core::Error),
    /// The HTTP adapter refused a header or a range; see [`cse_http::Error`].
    Http(cse_http::Error),
    /// An argument is not usable.
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is wrong with it, and what to do.
        problem: String,
    },
    /// No credentials were given and the environment has none.
    MissingCredentials,
    /// The request could not be signed.
    Signing(String),
    /// OSS answered something this client cannot read.
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// The CRC-64 OSS computed over the uploaded ciphertext differs from the client's: the data
    /// was damaged on the way.
    CrcMismatch {
        /// The operation.
        operation: &'static str,
        /// The client's CRC-64 of what it sent.
        client: u64,
        /// The CRC-64 OSS reported.
        server: u64,
    },
    /// A local file could not be read or written.
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A multipart upload failed and was left in place, as asked, to resume.
    UploadKept {
        /// The upload id to resume or abort.
        upload_id: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// A KMS call failed or answered something unusable.
    Kms(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service { operation, error } => write!(f, "{operation} failed: {error}"),
            Self::Transport { operation, source } => write!(
                f,
                "{operation} failed to reach OSS: {source}; check the endpoint and the network, \
                 then retry"
            ),
            Self::Body { operation, source } => write!(
                f,
                "{operation}: the response body failed while streaming: {source}; no complete \
                 data was returned, retry the read"
            ),
            Self::Core(e) => fmt::Display::fmt(e, f),
            Self::Http(e) => fmt::Display::fmt(e, f),
            Self::InvalidArgument { name, problem } => write!(f, "argument {name}: {problem}"),
            Self::MissingCredentials => f.write_str(
                "no OSS credentials: pass them explicitly or set OSS_ACCESS_KEY_ID and \
                 OSS_ACCESS_KEY_SECRET (and OSS_SESSION_TOKEN for STS)",
            ),
            Self::Signing(m) => write!(f, "the request could not be signed: {m}"),
            Self::UnexpectedResponse { operation, problem } => {
                write!(f, "{operation}: unexpected response from OSS: {problem}")
            }
            Self::CrcMismatch {
                operation,
                client,
                server,
            } => write!(
                f,
                "{operation}: OSS stored data whose CRC-64 ({server}) differs from what was sent \
                 ({client}); the upload was damaged on the way, upload it again"
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::UploadKept { upload_id, source } => write!(
                f,
                "multipart upload {upload_id} failed and was kept for resuming: {source}"
            ),
            Self::Kms(m) => write!(f, "KMS: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport { source, .. } => Some(source),
            Self::Body { source, .. } => Some(source.as_ref()),
            Self::Core(e) => Some(e),
            Self::Http(e) => Some(e),
            Self::Io { source, .. } => Some(source),
            Self::UploadKept { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<cse_core::Error> for Error {
    fn from(e: cse_core::Error) -> Self {
        Self::Core(e)
    }
}

impl From<cse_http::Error> for Error {
    fn from(e: cse_http::Error) -> Self {
        match e {
            cse_http::Error::Core(core) => Self::Core(core),
            other => Self::Http(other),
        }
    }
}

impl Error {
    /// The service error, when OSS answered with one.
    #[must_use]
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Service { error, .. } => Some(error),
            Self::UploadKept { source, .. } => source.service_error(),
            _ => None,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

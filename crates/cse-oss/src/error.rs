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
    /// An authenticated object failed a check (commitment, side-car, chunk N, final tag,
    /// signature), or authentication was required and absent; see
    /// [`cse_core::auth::AuthError`]. No plaintext of a failed chunk was returned.
    Auth(cse_core::auth::AuthError),
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
    /// The CRC-64 of the stored bytes (the ciphertext, for an encrypted object) differs
    /// between OSS and this client: an upload (`PutObject`, `UploadPart`) or a whole-object
    /// download (`GetObject`) was damaged on the way.
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
    /// A multipart upload's checkpoint file is unusable, or does not match the upload.
    Checkpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// A resumed upload's listing (ListParts) differs from its checkpoint: the server, a proxy,
    /// or another writer changed the upload. Nothing was uploaded.
    ResumeMismatch {
        /// The upload id.
        upload_id: String,
        /// What differs.
        problem: String,
    },
    /// A part was sealed but its upload failed after the retries allowed. The sealed ciphertext
    /// is kept here: resend it with
    /// [`EncryptionClient::upload_sealed_part`](crate::EncryptionClient::upload_sealed_part)
    /// (sealing the part again from scratch would reuse keystream and is refused).
    PartNotUploaded {
        /// The sealed part, to resend.
        part: Box<crate::SealedPart>,
        /// Why the upload failed.
        source: Box<Error>,
    },
    /// InitiateMultipartUpload failed after the request may have reached OSS: an upload may
    /// exist that nobody will complete (it is billed for its parts until aborted).
    InitiateUncertain {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// The operation was cancelled ([`CancelToken`](crate::CancelToken)): no new part was
    /// started, the parts in flight finished, and the upload was aborted, or kept for resuming.
    Cancelled {
        /// The upload id, for a multipart upload.
        upload_id: Option<String>,
        /// Whether the upload was kept (with its checkpoint) for resuming.
        kept: bool,
    },
    /// A KMS call failed (KMS could not be reached, or `Encrypt` answered something unusable).
    Kms(String),
    /// KMS did not unwrap the object's key: the same opaque failure as
    /// [`cse_core::Error::Unwrap`], whatever KMS said. What it said is kept in `diagnostic`
    /// for logs ([`Error::diagnostic`]); it names KMS's error code and request id, never key
    /// material, and is not part of the message shown for the object.
    KmsUnwrap {
        /// KMS's answer, for logs.
        diagnostic: String,
    },
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
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
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
                operation: operation @ "GetObject",
                client,
                server,
            } => write!(
                f,
                "{operation}: the data received has CRC-64 {client}, but OSS stores data with \
                 CRC-64 {server}; it was damaged on the way, read it again"
            ),
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
            Self::KmsUnwrap { .. } => fmt::Display::fmt(&cse_core::Error::Unwrap, f),
            Self::Checkpoint { path, problem } => {
                write!(f, "checkpoint {}: {problem}", path.display())
            }
            Self::ResumeMismatch { upload_id, problem } => write!(
                f,
                "refusing to resume upload {upload_id}: {problem}; nothing was uploaded. The \
                 upload was changed by someone other than this client: abort it and start a \
                 new one"
            ),
            Self::PartNotUploaded { part, source } => write!(
                f,
                "part {} was sealed but not uploaded: {source}; a retry must send these \
                 sealed bytes again, never seal the part anew",
                part.part_number()
            ),
            Self::InitiateUncertain {
                bucket,
                key,
                source,
            } => write!(
                f,
                "InitiateMultipartUpload for oss://{bucket}/{key} failed after the request \
                 may have reached OSS ({source}); an unfinished upload may now exist: list the \
                 bucket's multipart uploads with prefix {key:?} (ListMultipartUploads) and abort \
                 it, or let a lifecycle rule expire it"
            ),
            Self::Cancelled {
                upload_id: Some(id),
                kept: true,
            } => write!(
                f,
                "cancelled; multipart upload {id} was kept with its checkpoint, to resume"
            ),
            Self::Cancelled {
                upload_id: Some(id),
                kept: false,
            } => write!(f, "cancelled; multipart upload {id} was aborted"),
            Self::Cancelled {
                upload_id: None, ..
            } => f.write_str("cancelled"),
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
            Self::UploadKept { source, .. }
            | Self::PartNotUploaded { source, .. }
            | Self::InitiateUncertain { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<cse_core::Error> for Error {
    fn from(e: cse_core::Error) -> Self {
        Self::Core(e)
    }
}

impl From<cse_core::StreamError> for Error {
    fn from(e: cse_core::StreamError) -> Self {
        Self::Core(e.into())
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
    /// For a transport error: whether the request may have reached the server (anything but a
    /// failure to connect).
    pub(crate) fn transport_may_have_sent(&self) -> bool {
        match self {
            Self::Transport { source, .. } => !source.is_connect(),
            _ => false,
        }
    }

    /// Whether this is the opaque failure to unwrap an object's key (a wrong master key, a
    /// damaged envelope, a KMS key that refuses): [`cse_core::Error::Unwrap`] or
    /// [`Error::KmsUnwrap`].
    #[must_use]
    pub fn is_unwrap(&self) -> bool {
        matches!(
            self,
            Self::Core(cse_core::Error::Unwrap) | Self::KmsUnwrap { .. }
        )
    }

    /// Extra detail for logs, never shown as the error's message: what KMS answered for an
    /// [`Error::KmsUnwrap`].
    #[must_use]
    pub fn diagnostic(&self) -> Option<&str> {
        match self {
            Self::KmsUnwrap { diagnostic } => Some(diagnostic),
            _ => None,
        }
    }

    /// The service error, when OSS answered with one.
    #[must_use]
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Service { error, .. } => Some(error),
            Self::UploadKept { source, .. }
            | Self::PartNotUploaded { source, .. }
            | Self::InitiateUncertain { source, .. } => source.service_error(),
            _ => None,
        }
    }
}

/// Maps an IO error on `path` to [`Error::Io`].
pub(crate) fn io_error(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

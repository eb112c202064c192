//! Status codes, the failures behind them, and the thread-local last-error message.

use core::cell::RefCell;
use core::ffi::CStr;
use core::fmt;

use cse_core::{Error, StreamError};

/// What every `cse_*` function returns: `CSE_STATUS_OK`, or the class of the failure. The
/// message of the last failure on the calling thread says more (`cse_last_error_message`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CseStatus {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL (the message names it).
    NullArgument = 1,
    /// An argument is unusable: not UTF-8 where text is needed, of the wrong length, or
    /// overlapping another buffer (the message names it).
    InvalidArgument = 2,
    /// An output buffer is too small. The length out-parameter holds the size needed, and
    /// nothing else changed: call again with a buffer of at least that size.
    BufferTooSmall = 3,
    /// The handle was already finished (`*_finish` was called on it).
    Finished = 4,
    /// A key in PEM or DER form was refused.
    InvalidKey = 5,
    /// An envelope header is missing, repeated, empty or malformed, or the prefix is invalid
    /// (the message names the header).
    InvalidHeader = 6,
    /// The headers carry no client-side-encryption envelope at all: the object was stored in
    /// the clear (read it as is only if plaintext objects are acceptable).
    NotEncrypted = 7,
    /// The object's wrap algorithm is not the master key's.
    WrapAlgMismatch = 8,
    /// The content key could not be unwrapped. Deliberately opaque: a wrong key, damaged
    /// headers and a failing unwrap callback are the same error.
    Unwrap = 9,
    /// The master key holds only a public key (or has no unwrap callback), so it cannot unwrap.
    MissingPrivateKey = 10,
    /// The master key failed to wrap the content key or counter block (an RSA failure, or the
    /// wrap callback failed).
    Wrap = 11,
    /// The operating system's random source failed; nothing was sealed.
    Random = 12,
    /// A Range, a Content-Range or a response status was refused.
    InvalidRange = 13,
    /// The range selects no byte of the object (HTTP 416).
    RangeNotSatisfiable = 14,
    /// The body ended before its declared length.
    Truncated = 15,
    /// The body ran past its declared length (or past 2^64 - 1 bytes).
    Extended = 16,
    /// The stored object's length differs from the length its envelope declares.
    StoredLength = 17,
    /// The whole plaintext does not match the envelope's `unencrypted-content-md5`.
    ContentMd5Mismatch = 18,
    /// A multipart part size, data size or part number was refused.
    InvalidMultipart = 19,
    /// A sealer for this part was already handed out: sealing it again would reuse keystream.
    PartAlreadySealed = 20,
    /// A part's plaintext is not exactly the length its number requires.
    PartLength = 21,
    /// A part was marked uploaded that this upload never sealed.
    PartNotSealed = 22,
    /// An engine error this version of the binding does not classify (the message says what).
    Other = 98,
    /// A bug: a panic inside the library was caught at the boundary. The handles involved must
    /// not be used again, except to free them.
    Panic = 99,
}

impl CseStatus {
    /// The C name of the status.
    pub(crate) const fn name(self) -> &'static CStr {
        match self {
            Self::Ok => c"CSE_STATUS_OK",
            Self::NullArgument => c"CSE_STATUS_NULL_ARGUMENT",
            Self::InvalidArgument => c"CSE_STATUS_INVALID_ARGUMENT",
            Self::BufferTooSmall => c"CSE_STATUS_BUFFER_TOO_SMALL",
            Self::Finished => c"CSE_STATUS_FINISHED",
            Self::InvalidKey => c"CSE_STATUS_INVALID_KEY",
            Self::InvalidHeader => c"CSE_STATUS_INVALID_HEADER",
            Self::NotEncrypted => c"CSE_STATUS_NOT_ENCRYPTED",
            Self::WrapAlgMismatch => c"CSE_STATUS_WRAP_ALG_MISMATCH",
            Self::Unwrap => c"CSE_STATUS_UNWRAP",
            Self::MissingPrivateKey => c"CSE_STATUS_MISSING_PRIVATE_KEY",
            Self::Wrap => c"CSE_STATUS_WRAP",
            Self::Random => c"CSE_STATUS_RANDOM",
            Self::InvalidRange => c"CSE_STATUS_INVALID_RANGE",
            Self::RangeNotSatisfiable => c"CSE_STATUS_RANGE_NOT_SATISFIABLE",
            Self::Truncated => c"CSE_STATUS_TRUNCATED",
            Self::Extended => c"CSE_STATUS_EXTENDED",
            Self::StoredLength => c"CSE_STATUS_STORED_LENGTH",
            Self::ContentMd5Mismatch => c"CSE_STATUS_CONTENT_MD5_MISMATCH",
            Self::InvalidMultipart => c"CSE_STATUS_INVALID_MULTIPART",
            Self::PartAlreadySealed => c"CSE_STATUS_PART_ALREADY_SEALED",
            Self::PartLength => c"CSE_STATUS_PART_LENGTH",
            Self::PartNotSealed => c"CSE_STATUS_PART_NOT_SEALED",
            Self::Other => c"CSE_STATUS_OTHER",
            Self::Panic => c"CSE_STATUS_PANIC",
        }
    }

    /// The status of a C code, if it is one.
    pub(crate) fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// Every status.
    pub(crate) const ALL: [Self; 25] = [
        Self::Ok,
        Self::NullArgument,
        Self::InvalidArgument,
        Self::BufferTooSmall,
        Self::Finished,
        Self::InvalidKey,
        Self::InvalidHeader,
        Self::NotEncrypted,
        Self::WrapAlgMismatch,
        Self::Unwrap,
        Self::MissingPrivateKey,
        Self::Wrap,
        Self::Random,
        Self::InvalidRange,
        Self::RangeNotSatisfiable,
        Self::Truncated,
        Self::Extended,
        Self::StoredLength,
        Self::ContentMd5Mismatch,
        Self::InvalidMultipart,
        Self::PartAlreadySealed,
        Self::PartLength,
        Self::PartNotSealed,
        Self::Other,
        Self::Panic,
    ];
}

/// The class of an engine error. Only the engine's own error kinds decide it: the binding adds
/// no rule of its own.
const fn classify(error: &Error) -> CseStatus {
    match error {
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
        | Error::InvalidValue { .. } => CseStatus::InvalidHeader,
        Error::NotEncrypted => CseStatus::NotEncrypted,
        Error::WrapAlgMismatch => CseStatus::WrapAlgMismatch,
        Error::Unwrap => CseStatus::Unwrap,
        Error::MissingPrivateKey => CseStatus::MissingPrivateKey,
        Error::InvalidKey(_) => CseStatus::InvalidKey,
        Error::Wrap => CseStatus::Wrap,
        Error::BufferTooSmall { .. } => CseStatus::BufferTooSmall,
        Error::Extended { .. } | Error::StreamTooLong => CseStatus::Extended,
        Error::Truncated { .. } => CseStatus::Truncated,
        Error::InvalidRange(_) => CseStatus::InvalidRange,
        Error::RangeNotSatisfiable { .. } => CseStatus::RangeNotSatisfiable,
        Error::InvalidPartSize | Error::InvalidDataSize | Error::PartNumberOutOfRange { .. } => {
            CseStatus::InvalidMultipart
        }
        Error::PartAlreadySealed { .. } => CseStatus::PartAlreadySealed,
        Error::PartLength { .. } => CseStatus::PartLength,
        Error::PartNotSealed { .. } => CseStatus::PartNotSealed,
        Error::StoredLength { .. } => CseStatus::StoredLength,
        Error::ContentMd5Mismatch => CseStatus::ContentMd5Mismatch,
        _ => CseStatus::Other,
    }
}

/// A failed call: its status and the message the last-error slot will hold. Messages come from
/// the engine's `Display` (which never prints secret bytes) or name an argument; no message is
/// ever built from a key, a plaintext or a callback's output.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: CseStatus,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: CseStatus, message: impl fmt::Display) -> Self {
        Self {
            status,
            message: message.to_string(),
        }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Self::new(
            CseStatus::NullArgument,
            format_args!("argument `{argument}` is NULL"),
        )
    }

    pub(crate) fn invalid(argument: &str, problem: &str) -> Self {
        Self::new(
            CseStatus::InvalidArgument,
            format_args!("argument `{argument}` {problem}"),
        )
    }

    pub(crate) fn too_small(argument: &str, given: usize, needed: usize) -> Self {
        Self::new(
            CseStatus::BufferTooSmall,
            format_args!(
                "buffer `{argument}` holds {given} bytes, but this call needs {needed}; \
                 nothing was changed: call again with a larger buffer"
            ),
        )
    }

    pub(crate) fn finished(handle: &str) -> Self {
        Self::new(
            CseStatus::Finished,
            format_args!("`{handle}` was already finished; only `*_free` may be called on it"),
        )
    }

    pub(crate) fn random() -> Self {
        Self::new(
            CseStatus::Random,
            "the operating system's random source failed; nothing was sealed",
        )
    }

    pub(crate) fn panic() -> Self {
        Self::new(
            CseStatus::Panic,
            "internal error: a panic was caught at the C boundary (a bug in cse-ffi or \
             cse-core); do not use the handles of this call again, except to free them",
        )
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::new(classify(&error), error)
    }
}

impl From<StreamError> for Failure {
    fn from(error: StreamError) -> Self {
        Error::from(error).into()
    }
}

std::thread_local! {
    /// The message of the last failed call on this thread; empty after a call that succeeded.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records the outcome of a call in the thread's last-error slot.
/// (During thread teardown, when the slot is gone, only the status is returned.)
pub(crate) fn record(outcome: Result<(), Failure>) -> CseStatus {
    let message = match &outcome {
        Ok(()) => "",
        Err(failure) => failure.message.as_str(),
    };
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.clear();
            slot.push_str(message);
        }
    });
    match outcome {
        Ok(()) => CseStatus::Ok,
        Err(failure) => failure.status,
    }
}

/// Puts `message` back as the last error.
pub(crate) fn restore(message: String) {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = message;
        }
    });
}

/// A copy of the thread's last-error message (empty during thread teardown).
pub(crate) fn last_error() -> String {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|m| m.clone()).unwrap_or_default())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opaque_unwrap_error_stays_one_status() {
        assert_eq!(Failure::from(Error::Unwrap).status, CseStatus::Unwrap);
        assert_eq!(
            Failure::from(StreamError::BufferTooSmall { required: 3 }).status,
            CseStatus::BufferTooSmall
        );
    }

    #[test]
    fn names_are_distinct_and_match_the_discriminants_order() {
        let mut names: Vec<_> = CseStatus::ALL.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CseStatus::ALL.len());
    }
}

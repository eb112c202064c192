//! Exit codes and error messages.
//!
//! Every failure ends the process with `error: <message>` on stderr and one of these codes:
//! [`EXIT_FAILED`] when the operation itself failed, [`EXIT_USAGE`] when the command line or an
//! input file is malformed, [`EXIT_CLOSED_PIPE`] (with no message) when the reader of standard
//! output went away, 128 + the signal number when a signal interrupted it
//! ([`CliError::interrupted`]). The engine's errors are mapped deliberately in [`exit_code`].

use std::fmt;
use std::io;

use cse_core::{Error, RangeProblem};

use crate::interrupt::Signal;

/// The operation failed: wrong key, unsatisfiable range, truncated input, length mismatch.
pub const EXIT_FAILED: u8 = 1;
/// A usage error, or a malformed input file (JSON, PEM, headers, range syntax).
pub const EXIT_USAGE: u8 = 2;

/// Standard output was closed by its reader (`cse inspect ... | head -1`): the status a shell
/// reports for a process that SIGPIPE ended, 128 + 13.
pub const EXIT_CLOSED_PIPE: u8 = 141;

/// A failure with its exit code and a message that names what is wrong.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
    /// Ends the process without a message (a closed pipe: nobody is listening).
    quiet: bool,
}

/// The result type of every command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A usage error or a malformed input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
            quiet: false,
        }
    }

    /// A failed operation (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILED,
            message: message.into(),
            quiet: false,
        }
    }

    /// An engine error, prefixed with what was being done; the code comes from [`exit_code`].
    pub fn core(context: impl fmt::Display, error: Error) -> Self {
        Self {
            code: exit_code(error),
            message: format!("{context}: {error}"),
            quiet: false,
        }
    }

    /// An IO error on an input given on the command line (missing file, no permission): exit 2.
    pub fn input(context: impl fmt::Display, error: &io::Error) -> Self {
        Self::usage(format!("{context}: {error}"))
    }

    /// An IO error while the operation ran (read or write failure, disk full): exit 1.
    pub fn io(context: impl fmt::Display, error: &io::Error) -> Self {
        Self::failed(format!("{context}: {error}"))
    }

    /// The reader of standard output (or of a pipe written through) went away: the process
    /// ends quietly with [`EXIT_CLOSED_PIPE`], as a process killed by SIGPIPE would.
    pub fn closed_pipe() -> Self {
        Self {
            code: EXIT_CLOSED_PIPE,
            message: "the reader of the output closed the pipe".to_owned(),
            quiet: true,
        }
    }

    /// A write error on standard output: [`closed_pipe`](Self::closed_pipe) for a broken pipe,
    /// else exit 1.
    pub fn stdout(error: &io::Error) -> Self {
        Self::write("standard output", error)
    }

    /// A write error on the output named `what`: [`closed_pipe`](Self::closed_pipe) for a
    /// broken pipe (a FIFO or pipe whose reader left), else exit 1.
    pub fn write(what: impl fmt::Display, error: &io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Self::closed_pipe()
        } else {
            Self::io(format!("writing {what}"), error)
        }
    }

    /// The command stopped because of `signal` (see [`interrupt::cancellable`]): exit 128 + the
    /// signal number, message "interrupted by SIGINT". Add what was done about it with
    /// [`with_note`](Self::with_note).
    ///
    /// [`interrupt::cancellable`]: crate::interrupt::cancellable
    pub fn interrupted(signal: Signal) -> Self {
        Self {
            code: signal.exit_code(),
            message: format!("interrupted by {}", signal.name()),
            quiet: false,
        }
    }

    /// Appends `; note` to the message: `interrupted by SIGINT; the multipart upload was
    /// aborted`.
    #[must_use]
    pub fn with_note(mut self, note: impl fmt::Display) -> Self {
        use fmt::Write as _;
        let _ = write!(self.message, "; {note}");
        self
    }

    /// The process exit code.
    pub const fn code(&self) -> u8 {
        self.code
    }

    /// Whether the process ends without printing the message.
    pub const fn is_quiet(&self) -> bool {
        self.quiet
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The exit code of an engine error: 2 when the input (command line, META.json, key file) is
/// malformed, 1 when well-formed input could not be processed.
pub fn exit_code(error: Error) -> u8 {
    match error {
        // The metadata file's headers are malformed: a bad input file.
        Error::MissingHeader(_)
        | Error::EmptyHeader(_)
        | Error::DuplicateHeader(_)
        | Error::InvalidBase64(_)
        | Error::InvalidNumber(_)
        | Error::ValueTooLong { .. }
        | Error::InvalidMatDesc
        | Error::UnsupportedCekAlg
        | Error::InvalidWrapAlg
        | Error::InvalidValue { .. }
        | Error::InvalidPrefix => EXIT_USAGE,
        // A key file that is not an RSA key, or a public key where a private key is needed.
        Error::InvalidKey(_) | Error::MissingPrivateKey => EXIT_USAGE,
        // --part-size / data size that the format cannot express: fix the command line.
        Error::InvalidPartSize | Error::InvalidDataSize => EXIT_USAGE,
        // A --range that does not parse. `bytes=-0` parses but selects nothing in any object:
        // RFC 9110 answers it 416, so it fails like any unsatisfiable range. The response-side
        // problems cannot come from a local file; if one ever does, the operation failed.
        Error::InvalidRange(
            RangeProblem::Syntax
            | RangeProblem::Reversed
            | RangeProblem::MultipleRanges
            | RangeProblem::Overflow,
        ) => EXIT_USAGE,
        Error::InvalidRange(_) => EXIT_FAILED,
        // Well-formed input that does not decrypt: wrong key (or a key of another kind), no
        // envelope under --strict, a legacy counter that does not unwrap.
        Error::Unwrap | Error::WrapAlgMismatch | Error::NotEncrypted => EXIT_FAILED,
        // Lengths: the ciphertext does not match its declared length, or the input changed size
        // while it was read.
        Error::Truncated { .. }
        | Error::Extended { .. }
        | Error::StreamTooLong
        | Error::PartLength { .. } => EXIT_FAILED,
        Error::RangeNotSatisfiable { .. } => EXIT_FAILED,
        // The object is not what its envelope says (cut, extended, another plaintext), or a
        // resumed upload's state disagrees with its checkpoint: the operation failed.
        Error::StoredLength { .. } | Error::ContentMd5Mismatch | Error::PartChanged { .. } => {
            EXIT_FAILED
        }
        // Internal states this tool never reaches on purpose (it sizes its buffers and seals each
        // part once); if one occurs the operation failed.
        Error::BufferTooSmall { .. }
        | Error::PartNumberOutOfRange { .. }
        | Error::PartAlreadySealed { .. }
        | Error::Wrap => EXIT_FAILED,
        // `Error` is non-exhaustive: a variant added later is an operation failure until it is
        // classified here.
        _ => EXIT_FAILED,
    }
}

/// Adds what was being done to an engine error.
pub trait Context<T> {
    /// Maps the error to a [`CliError`] prefixed with `context`.
    ///
    /// # Errors
    /// When `self` is an error.
    fn ctx(self, context: impl fmt::Display) -> CliResult<T>;
}

impl<T> Context<T> for Result<T, Error> {
    fn ctx(self, context: impl fmt::Display) -> CliResult<T> {
        self.map_err(|e| CliError::core(context, e))
    }
}

impl<T> Context<T> for Result<T, cse_core::StreamError> {
    fn ctx(self, context: impl fmt::Display) -> CliResult<T> {
        self.map_err(|e| CliError::core(context, e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cse_core::{Field, KeyProblem};

    #[test]
    fn malformed_input_is_2_and_failures_are_1() {
        for e in [
            Error::MissingHeader(Field::Key),
            Error::InvalidBase64(Field::Start),
            Error::UnsupportedCekAlg,
            Error::InvalidKey(KeyProblem::Unrecognized),
            Error::InvalidRange(RangeProblem::Syntax),
            Error::InvalidRange(RangeProblem::Reversed),
            Error::InvalidPartSize,
        ] {
            assert_eq!(exit_code(e), EXIT_USAGE, "{e:?}");
        }
        for e in [
            Error::Unwrap,
            Error::WrapAlgMismatch,
            Error::NotEncrypted,
            Error::Truncated {
                expected: 2,
                actual: 1,
            },
            Error::Extended { expected: 1 },
            Error::RangeNotSatisfiable {
                object_len: Some(3),
            },
            Error::InvalidRange(RangeProblem::ResponseDoesNotCover),
        ] {
            assert_eq!(exit_code(e), EXIT_FAILED, "{e:?}");
        }
    }
}

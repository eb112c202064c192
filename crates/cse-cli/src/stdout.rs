//! Standard output and standard error without panics.
//!
//! `println!` and friends panic when the write fails, which a closed pipe makes routine
//! (`cse inspect ... | head -1`). Every report goes through [`write`] or [`write_line`] instead:
//! a reader that went away ends the command quietly with exit status 141
//! ([`CliError::closed_pipe`]), any other write error fails it (exit 1). Messages on standard
//! error go through [`stderr_line`], which ignores every error: a message that cannot be shown
//! must not change the outcome.

use std::fmt;
use std::io::{self, Write as _};

use crate::error::{CliError, CliResult};

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// [`CliError::closed_pipe`] (exit 141, no message) when the reader has gone; exit 1 for any
/// other write error.
pub fn write(text: &str) -> CliResult<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::stdout(&e))
}

/// Writes `line` and a newline to standard output and flushes it.
///
/// # Errors
/// As [`write`].
pub fn write_line(line: impl fmt::Display) -> CliResult<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::stdout(&e))
}

/// Writes `line` and a newline to standard error, ignoring any error (a closed or full stderr
/// must not fail the command, nor panic it).
pub fn stderr_line(line: impl fmt::Display) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

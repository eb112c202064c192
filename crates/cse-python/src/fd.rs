//! A file descriptor from Python as an owned Rust `File`: the one unsafe step of the sealing
//! reader's positional reads.

use std::fs::File;

/// The file behind `fd`, which the caller got from `os.dup` and hands over.
#[cfg(unix)]
pub fn own(fd: i32) -> File {
    use std::os::fd::{FromRawFd as _, OwnedFd};
    // SAFETY: `fd` comes straight from a successful `os.dup`, so it is an open descriptor that
    // nothing else owns: Python forgot it when `dup` returned it as a plain int, and it is
    // passed here once. The `OwnedFd` closes it exactly once, when the `File` drops.
    File::from(unsafe { OwnedFd::from_raw_fd(fd) })
}

//! The test kit of the oss-cse workspace: what its integration tests, proptests and fuzz targets
//! share, kept once instead of copied into each of them.
//!
//! - [`keys`]: the committed RSA test keys.
//! - [`range`]: an RFC 9110 byte-range resolver written independently of the engine.
//! - [`cli`]: runs a program with arguments, environment and stdin under a time limit, and
//!   asserts on its exit code and output.
//!
//! Test code: it panics on purpose (a failed check is a panic), and it is never published.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cli;
pub mod keys;
pub mod range;

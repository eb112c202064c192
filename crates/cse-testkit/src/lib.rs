//! The test kit of the oss-cse workspace: what its integration tests, proptests and fuzz targets
//! share, kept once instead of copied into each of them.
//!
//! - [`keys`]: the committed RSA test keys.
//! - [`range`]: an RFC 9110 byte-range resolver written independently of the engine.
//! - [`keystream`], [`chunks`], [`rng`], [`headers`]: content material from raw bytes, the
//!   reference keystream, chunkings, a deterministic RNG, header pairs from text.
//! - [`invariants`]: the engine's invariants as functions of plain inputs, shared by the
//!   proptests and the fuzz targets.
//! - [`cli`]: runs a program with arguments, environment and stdin under a time limit, and
//!   asserts on its exit code and output.
//!
//! Test code: it panics on purpose (a failed check is a panic), and it is never published.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod chunks;
pub mod cli;
pub mod headers;
pub mod invariants;
pub mod keys;
pub mod keystream;
pub mod range;
pub mod rng;

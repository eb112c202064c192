//! The engine's invariants, each a function that takes plain inputs (bytes, lengths, chunk
//! sizes, operations) and panics when the engine breaks it. The proptests and the fuzz targets
//! call the same functions: a proptest draws the inputs from a strategy, a fuzz target decodes
//! them from libFuzzer's bytes, and neither repeats the checks.
//!
//! The oracles are independent of the engine: the `ctr` crate's keystream
//! ([`crate::keystream::reference_keystream`]), the kit's own RFC 9110 resolver
//! ([`crate::range`]), and models written out here.

pub mod headers;
#[cfg(feature = "rsa")]
pub mod keys;
#[cfg(feature = "legacy")]
pub mod legacy;
pub mod matdesc;
pub mod multipart;
pub mod ranges;
pub mod stream;

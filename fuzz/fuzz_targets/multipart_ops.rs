//! Arbitrary operations on a multipart upload, checked against a model and the reference
//! keystream: `cse_testkit::invariants::multipart::operations`.
#![no_main]

use arbitrary::Arbitrary;
use cse_testkit::invariants::multipart::{Op, Sizes, operations};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 32],
    counter: [u8; 16],
    sizes: Sizes,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| operations(input.key, input.counter, input.sizes, &input.ops));

//! `MatDesc::parse` on any bytes: `cse_testkit::invariants::matdesc::parse_any`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_testkit::invariants::matdesc::parse_any(data));

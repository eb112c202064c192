//! `RsaMasterCipher::from_pem` and `from_der` on any bytes:
//! `cse_testkit::invariants::keys::load_any`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_testkit::invariants::keys::load_any(data));

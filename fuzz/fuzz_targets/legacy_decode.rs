//! The 2018 oss2 format: `cse_testkit::invariants::legacy::decode_any`. Input: header lines, then
//! a NUL, then a key-length byte, the key bytes and the counter text.
#![no_main]

use cse_testkit::headers::lines;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (headers, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let (key, counter) = match rest.split_first() {
        Some((&key_len, rest)) => rest.split_at(usize::from(key_len).min(rest.len())),
        // No key part: check the headers only, with a key and counter that are never valid.
        None => (&b""[..], &b""[..]),
    };
    cse_testkit::invariants::legacy::decode_any(&lines(headers), key, counter);
});

//! Arbitrary header pairs through `decode_envelope`: `cse_testkit::invariants::headers`.
//! Input: a flag byte (bit 0: the first line is the prefix to use; bit 1: a decoded envelope's
//! headers are decoded again upper-cased), then `name:value` lines.
#![no_main]

use cse_core::DEFAULT_PREFIX;
use cse_testkit::headers::lines;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let mut pairs = lines(body);
    let custom;
    let prefix = if flags & 1 == 1 && !pairs.is_empty() {
        custom = String::from_utf8_lossy(pairs.remove(0).0).into_owned();
        custom.as_str()
    } else {
        DEFAULT_PREFIX
    };
    cse_testkit::invariants::headers::decode_any(&pairs, prefix, flags & 2 == 2);
});

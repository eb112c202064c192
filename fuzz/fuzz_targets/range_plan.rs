//! The range planner end to end: `cse_testkit::invariants::ranges::plan_any`. Input: text lines
//! `range`, `object length` (not a number: unknown), `status` (not a number: 206),
//! `content-range` (absent line: none), `content-length` (not a number: none).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let range = lines.next().unwrap_or_default();
    let object_len = lines.next().and_then(|l| l.parse::<u64>().ok());
    let status = lines
        .next()
        .and_then(|l| l.parse::<u16>().ok())
        .unwrap_or(206);
    let content_range = lines.next();
    let content_length = lines.next().and_then(|l| l.parse::<u64>().ok());
    cse_testkit::invariants::ranges::plan_any(
        range,
        object_len,
        status,
        content_range,
        content_length,
    );
});

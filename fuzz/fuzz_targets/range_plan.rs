//! The range planner end to end: `ByteRange::parse`, `plan_range` with an optional object length,
//! `RangeResponse::from_parts` and `on_response`. Input: text lines
//! `range`, `object length` (not a number: unknown), `status`, `content-range` (absent line: none),
//! `content-length` (not a number: none).
#![no_main]

use cse_core::{BLOCK_LEN, ByteRange, ContentRange, Error, RangeResponse, plan_range};
use libfuzzer_sys::fuzz_target;

fn resolve(range: ByteRange, len: u64) -> Option<(u64, u64)> {
    // RFC 9110 §14.1.2, written out independently of the engine.
    match range {
        ByteRange::Bounded { first, last } if first < len => Some((first, last.min(len - 1))),
        ByteRange::From { first } if first < len => Some((first, len - 1)),
        ByteRange::Suffix { len: n } if len > 0 && n > 0 => Some((len - n.min(len), len - 1)),
        // Includes `bytes=-0`, which nothing satisfies.
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let Ok(requested) = ByteRange::parse(lines.next().unwrap_or_default()) else {
        return;
    };
    assert_eq!(ByteRange::parse(&requested.to_string()), Ok(requested));
    let object_len = lines.next().and_then(|l| l.parse::<u64>().ok());
    let status = lines
        .next()
        .and_then(|l| l.parse::<u16>().ok())
        .unwrap_or(206);
    let content_range = lines.next();
    let content_length = lines.next().and_then(|l| l.parse::<u64>().ok());

    let plan = match plan_range(requested, object_len) {
        Ok(plan) => plan,
        Err(e) => {
            assert_eq!(e, Error::RangeNotSatisfiable { object_len });
            match object_len {
                Some(len) => assert_eq!(resolve(requested, len), None),
                // Without a length only `bytes=-0` is known to select nothing.
                None => assert_eq!(requested, ByteRange::Suffix { len: 0 }),
            }
            return;
        }
    };
    assert_eq!(plan.requested(), requested);
    let wire = plan.wire_range();
    assert_eq!(ByteRange::parse(&wire.to_string()), Ok(wire));
    match wire {
        ByteRange::Bounded { first, .. } | ByteRange::From { first } => {
            assert_eq!(first % BLOCK_LEN, 0, "the wire range starts on a block");
        }
        ByteRange::Suffix { .. } => assert_eq!(wire, requested),
    }
    if let Some(len) = object_len {
        let want = resolve(requested, len).expect("planning checked it");
        let sent = resolve(wire, len).expect("the wire range covers the request");
        assert!(sent.0 <= want.0 && want.0 - sent.0 < BLOCK_LEN && sent.1 >= want.1);
    }

    let Ok(response) = RangeResponse::from_parts(status, content_range, content_length) else {
        return;
    };
    let body = match plan.on_response(response) {
        Ok(body) => body,
        Err(_) => return,
    };
    let (body_first, body_end, total) = match response {
        RangeResponse::Partial(cr) => (cr.first, cr.last + 1, cr.total),
        RangeResponse::Whole { len } => (0, len, len),
        RangeResponse::NotSatisfiable { .. } => panic!("a 416 produced a body plan"),
    };
    let keep = body.content_range();
    assert!(body.drop_len() + body.keep_len() <= body.body_len());
    assert!(
        keep.first <= keep.last && keep.last < keep.total,
        "{keep:?}"
    );
    assert_eq!(keep.total, total);
    assert_eq!(Some((keep.first, keep.last)), resolve(requested, total));
    assert_eq!(body.body_start(), body_first);
    assert_eq!(body.body_start() + body.body_len(), body_end);
    assert_eq!(body.body_start() + body.drop_len(), keep.first);
    assert_eq!(body.content_length(), keep.last - keep.first + 1);
    assert_eq!(body.keep_len(), body.content_length());
    assert_eq!(ContentRange::parse(&keep.to_string()), Ok(keep));
    if let Some(len) = object_len {
        assert_eq!(total, len);
    }
});

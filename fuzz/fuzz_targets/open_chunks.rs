//! Differential: sealing and opening in arbitrary chunks (with `update` and with
//! `update_in_place`) equals the one-shot result and the `ctr` crate's keystream, for whole
//! objects and for ranged reads through a `BodyPlan`.
#![no_main]

use arbitrary::Arbitrary;
use cse_core::{
    ByteRange, ContentMaterial, ContentRange, Opener, RangeResponse, Sealer, StreamError,
    plan_range,
};
use cse_fuzz::{chunk_lengths, material, reference_keystream};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum RangeIn {
    Bounded(u16, u16),
    From(u16),
    Suffix(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 32],
    counter: [u8; 16],
    /// Puts the counter this many blocks below 2^128, so the wrap is exercised.
    near_wrap: Option<u8>,
    data: Vec<u8>,
    splits: Vec<u16>,
    range: RangeIn,
    length_known: bool,
    server_sends_whole: bool,
}

/// Runs `opener` over `input` cut at `lens`, both ways, and returns what it delivered.
fn open_chunked(
    make: &dyn Fn() -> Opener,
    input: &[u8],
    lens: &[usize],
) -> (Vec<u8>, Result<u64, StreamError>) {
    let mut by_copy = make();
    let mut by_place = make();
    let mut copied = Vec::new();
    let mut placed = Vec::new();
    let mut at = 0;
    for &n in lens {
        let chunk = &input[at..at + n];
        let mut out = vec![0u8; n];
        let w = by_copy
            .update(chunk, &mut out)
            .expect("within the declared body");
        copied.extend_from_slice(&out[..w]);
        let mut buf = chunk.to_vec();
        let kept = by_place
            .update_in_place(&mut buf)
            .expect("within the declared body");
        placed.extend_from_slice(&buf[kept]);
        at += n;
    }
    assert_eq!(
        copied, placed,
        "update and update_in_place deliver the same bytes"
    );
    let finished = by_copy.finish();
    assert_eq!(finished, by_place.finish());
    (copied, finished)
}

fuzz_target!(|input: Input| {
    let mut counter = input.counter;
    if let Some(n) = input.near_wrap {
        counter = (u128::MAX - u128::from(n)).to_be_bytes();
    }
    let m: ContentMaterial = material(input.key, counter);
    let plain = &input.data;
    let len = plain.len();
    let lens = chunk_lengths(len, &input.splits);

    // One shot against the reference keystream.
    let mut sealed = vec![0u8; len];
    Sealer::new(&m).update(plain, &mut sealed).expect("fits");
    let ks = reference_keystream(&input.key, &counter, 0, len);
    let expected: Vec<u8> = plain.iter().zip(&ks).map(|(p, k)| p ^ k).collect();
    assert_eq!(
        sealed, expected,
        "one-shot sealing equals the reference keystream"
    );

    // Chunked sealing, alternating the two entry points.
    let mut sealer = Sealer::with_len(&m, len as u64);
    let mut chunked = Vec::with_capacity(len);
    let mut at = 0;
    for (i, &n) in lens.iter().enumerate() {
        let mut buf = plain[at..at + n].to_vec();
        if i % 2 == 0 {
            sealer.update_in_place(&mut buf).expect("within length");
        } else {
            let mut out = vec![0u8; n];
            sealer.update(&buf, &mut out).expect("within length");
            buf = out;
        }
        chunked.extend_from_slice(&buf);
        at += n;
    }
    assert_eq!(sealer.finish(), Ok(len as u64));
    assert_eq!(chunked, sealed);

    // Whole-object opening.
    let (opened, done) = open_chunked(&|| Opener::with_len(&m, len as u64), &sealed, &lens);
    assert_eq!(&opened, plain);
    assert_eq!(done, Ok(len as u64));
    let (opened, done) = open_chunked(&|| Opener::new(&m), &sealed, &lens);
    assert_eq!(&opened, plain);
    assert_eq!(done, Ok(len as u64));
    if len > 0 {
        let (_, done) = open_chunked(
            &|| Opener::with_len(&m, len as u64),
            &sealed[..len - 1],
            &chunk_lengths(len - 1, &input.splits),
        );
        assert_eq!(
            done,
            Err(StreamError::Truncated {
                expected: len as u64,
                actual: len as u64 - 1
            })
        );
    }
    let mut extra = Opener::with_len(&m, len as u64);
    let mut sink = vec![0u8; len + 1];
    assert_eq!(
        extra.update(&vec![0u8; len + 1], &mut sink),
        Err(StreamError::Extended {
            expected: len as u64
        })
    );

    // A ranged read through the planner, answered by an honest server.
    let requested = match input.range {
        RangeIn::Bounded(a, b) => ByteRange::Bounded {
            first: a.min(b).into(),
            last: a.max(b).into(),
        },
        RangeIn::From(a) => ByteRange::From { first: a.into() },
        RangeIn::Suffix(n) => ByteRange::Suffix {
            len: u64::from(n).max(1),
        },
    };
    let object_len = len as u64;
    let Ok((first, last)) = requested.resolve(object_len) else {
        return;
    };
    let plan =
        plan_range(requested, input.length_known.then_some(object_len)).expect("satisfiable");
    let (wire_first, wire_last) = plan
        .wire_range()
        .resolve(object_len)
        .expect("covers the request");
    let response = if input.server_sends_whole {
        RangeResponse::Whole { len: object_len }
    } else {
        RangeResponse::Partial(ContentRange {
            first: wire_first,
            last: wire_last,
            total: object_len,
        })
    };
    let body_plan = plan
        .on_response(response)
        .expect("an honest answer is accepted");
    let start = body_plan.body_start() as usize;
    let body = &sealed[start..start + body_plan.body_len() as usize];
    let body_lens = chunk_lengths(body.len(), &input.splits);
    let (opened, done) = open_chunked(&|| body_plan.opener(&m), body, &body_lens);
    assert_eq!(opened, plain[first as usize..=last as usize]);
    assert_eq!(done, Ok(last - first + 1));
});

//! Ranged reads: planning, the server's answer, and opening the body it carries.

use cse_core::{BLOCK_LEN, ByteRange, ContentRange, Error, RangeResponse, plan_range};

use crate::chunks::Cuts;
use crate::invariants::stream::open_chunked;
use crate::keystream::{material, reference_seal};
use crate::range::{self, resolve_range};

/// How the simulated server answers a ranged GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Server {
    /// As RFC 9110 says (OSS with `x-oss-range-behavior: standard`): 206 with the wire range
    /// clamped to the object, or 416.
    Standard,
    /// 200 with the whole object, ignoring the Range header (as a server may).
    Whole,
}

/// Opening any range of any object equals the plaintext slice RFC 9110 selects:
/// - `plan_range` (with the object length or without) fails exactly when the kit's resolver
///   finds the range unsatisfiable and the length is known (without it, only for `bytes=-0`),
///   with `RangeNotSatisfiable` carrying the length it was given;
/// - the server answers the planned wire range (`server`); the plan then refuses only an
///   unsatisfiable range, with `RangeNotSatisfiable` and the object's length;
/// - otherwise the body plan names the body the server sent, and its opener, fed the body cut
///   by `cuts` through `update` and through `update_in_place`, delivers exactly the selected
///   bytes, finishing at the plan's content length.
///
/// # Panics
/// When any of that does not hold.
pub fn open_range(
    key: [u8; 32],
    counter: [u8; 16],
    plain: &[u8],
    requested: ByteRange,
    length_known: bool,
    server: Server,
    cuts: Cuts<'_>,
) {
    let m = material(key, counter);
    let object = reference_seal(&key, &counter, plain);
    let len = plain.len() as u64;
    let want = resolve_range(requested, len);

    let plan = match plan_range(requested, length_known.then_some(len)) {
        Ok(plan) => plan,
        Err(e) => {
            assert_eq!(
                e,
                Error::RangeNotSatisfiable {
                    object_len: length_known.then_some(len)
                },
                "{requested} of {len}"
            );
            assert_eq!(
                want, None,
                "{requested} of {len}: a satisfiable range was refused"
            );
            if !length_known {
                assert_eq!(requested, ByteRange::Suffix { len: 0 });
            }
            return;
        }
    };
    assert!(
        !length_known || want.is_some(),
        "{requested} of {len}: planned, but RFC 9110 finds it unsatisfiable"
    );
    assert_eq!(plan.requested(), requested);

    let (response, body, body_first) = match server {
        Server::Whole => (RangeResponse::Whole { len }, &object[..], 0),
        Server::Standard => match resolve_range(plan.wire_range(), len) {
            Some((first, last)) => (
                RangeResponse::Partial(ContentRange {
                    first,
                    last,
                    total: len,
                }),
                &object[index(first)..=index(last)],
                first,
            ),
            None => (RangeResponse::NotSatisfiable { len: Some(len) }, &[][..], 0),
        },
    };
    let body_plan = match plan.on_response(response) {
        Ok(body_plan) => body_plan,
        Err(e) => {
            assert_eq!(
                e,
                Error::RangeNotSatisfiable {
                    object_len: Some(len)
                },
                "{requested} of {len}, answered {response:?}"
            );
            assert_eq!(
                want, None,
                "{requested} of {len}: an honest answer was refused"
            );
            return;
        }
    };
    let (first, last) = want.unwrap_or_else(|| {
        panic!("{requested} of {len}: served, but RFC 9110 finds it unsatisfiable")
    });
    assert_eq!(
        (body_plan.body_start(), body_plan.body_len()),
        (body_first, body.len() as u64),
        "the body plan names the body that was sent"
    );
    let (opened, done) = open_chunked(&|| body_plan.opener(&m), body, cuts);
    assert_eq!(
        opened,
        &plain[index(first)..=index(last)],
        "{requested} of {len}"
    );
    assert_eq!(done, Ok(last - first + 1));
    assert_eq!(body_plan.content_length(), last - first + 1);
}

/// The range planner end to end on any input: a Range header value, an object length (or none),
/// and a response's status, Content-Range and Content-Length.
/// - what `ByteRange::parse` accepts, the kit's parser reads the same, and it displays and
///   parses back to itself;
/// - planning fails exactly when the kit's resolver says unsatisfiable (without a length: only
///   `bytes=-0`), with `RangeNotSatisfiable` and the length given;
/// - the wire range starts on a block (or is the requested suffix), round-trips through its
///   text, and with a length covers the requested bytes from less than a block before them;
/// - whatever response `RangeResponse::from_parts` reads and the plan accepts gives a body plan
///   with `drop_len + keep_len <= body_len`, a Content-Range inside the object equal to the
///   kit's resolution of the request against the response's total, and consistent offsets.
///
/// # Panics
/// When any of that does not hold.
pub fn plan_any(
    range_text: &str,
    object_len: Option<u64>,
    status: u16,
    content_range: Option<&str>,
    content_length: Option<u64>,
) {
    let Ok(requested) = ByteRange::parse(range_text) else {
        return;
    };
    assert_eq!(
        range::parse(range_text),
        Some(requested),
        "the engine and RFC 9110 read {range_text:?} differently"
    );
    assert_eq!(ByteRange::parse(&requested.to_string()), Ok(requested));
    let resolve = resolve_range;

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
    let Ok(body) = plan.on_response(response) else {
        return;
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
}

/// A position inside an object held in memory as an index.
fn index(position: u64) -> usize {
    usize::try_from(position).expect("an object held in memory")
}

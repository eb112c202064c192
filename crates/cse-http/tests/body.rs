//! The streaming body wrappers: round trips over any chunking, length errors, ranges, hints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use common::{Driven, ScriptBody, Step, drive, envelope, material, pattern, seal_all, split};
use cse_core::{
    BodyPlan, ByteRange, ContentRange, MultipartContext, RangeResponse, Sealer, plan_range,
};
use cse_http::{CipherBody, Error, OpenBody, SealBody};
use cse_testkit::range::resolve_range;
use http::{HeaderMap, HeaderValue};
use http_body::Body;
use proptest::prelude::*;

fn script(chunks: Vec<Bytes>, pending: bool, announce_end: bool, sized: bool) -> ScriptBody {
    let mut steps = Vec::new();
    for chunk in chunks {
        if pending {
            steps.push(Step::Pending);
        }
        steps.push(Step::Data(chunk));
    }
    let mut body = ScriptBody::new(steps);
    body.announce_end = announce_end;
    body.sized = sized;
    body
}

fn core_err<T: std::fmt::Debug>(driven: &Driven<Error>, what: T) -> cse_core::Error {
    match &driven.error {
        Some(Error::Core(e)) => *e,
        other => panic!("{what:?}: expected an engine error, got {other:?}"),
    }
}

/// The body a standard server sends for `wire` over `object`: the test kit's RFC 9110
/// resolution, independent of the engine.
fn serve(wire: ByteRange, object: &[u8]) -> Option<(u64, u64)> {
    resolve_range(wire, object.len() as u64)
}

fn ranged_plan(requested: ByteRange, object: &[u8]) -> Option<(BodyPlan, u64, u64)> {
    let plan = plan_range(requested, None).unwrap();
    let (first, last) = serve(plan.wire_range(), object)?;
    let response = RangeResponse::Partial(ContentRange {
        first,
        last,
        total: object.len() as u64,
    });
    Some((plan.on_response(response).ok()?, first, last))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_then_open_over_any_chunking(
        plaintext in proptest::collection::vec(any::<u8>(), 0..1200),
        seal_cuts in proptest::collection::vec(any::<usize>(), 0..12),
        open_cuts in proptest::collection::vec(any::<usize>(), 0..12),
        pending in any::<bool>(),
        announce_end in any::<bool>(),
        sized in any::<bool>(),
        declared in any::<bool>(),
    ) {
        let material = material();
        let len = plaintext.len() as u64;
        let sealer = if declared { Sealer::with_len(&material, len) } else { Sealer::new(&material) };
        let sealed = drive(CipherBody::seal(
            script(split(&plaintext, &seal_cuts), pending, announce_end, sized),
            sealer,
        ));
        prop_assert!(sealed.error.is_none(), "{:?}", sealed.error);
        prop_assert!(sealed.ended);
        let ciphertext = sealed.data();
        prop_assert_eq!(&ciphertext, &seal_all(&material, &plaintext));

        let envelope = envelope(declared.then_some(len));
        let opened = drive(CipherBody::whole(
            script(split(&ciphertext, &open_cuts), pending, announce_end, sized),
            &envelope,
            &material,
        ));
        prop_assert!(opened.error.is_none(), "{:?}", opened.error);
        prop_assert!(opened.ended);
        prop_assert!(opened.frames.iter().all(|f| !f.is_empty()));
        prop_assert_eq!(opened.data(), plaintext);
    }

    #[test]
    fn a_ranged_body_yields_exactly_the_slice(
        object_len in 1usize..700,
        a in any::<usize>(),
        b in any::<usize>(),
        kind in 0u8..3,
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        pending in any::<bool>(),
        announce_end in any::<bool>(),
    ) {
        let material = material();
        let plaintext = pattern(object_len);
        let object = seal_all(&material, &plaintext);
        let (a, b) = (a % (object_len + 20), b % (object_len + 20));
        let requested = match kind {
            0 => ByteRange::Bounded { first: a.min(b) as u64, last: a.max(b) as u64 },
            1 => ByteRange::From { first: a as u64 },
            _ => ByteRange::Suffix { len: a as u64 + 1 },
        };
        // A range past the end gets a 416 from the server; nothing to open.
        let Some((body_plan, first, last)) = ranged_plan(requested, &object) else {
            return Ok(());
        };
        let (want_first, want_last) = resolve_range(requested, object_len as u64)
            .expect("the planner accepted the answer, so the request is satisfiable");
        let body = &object[first as usize..=last as usize];
        let opened = CipherBody::ranged(
            script(split(body, &cuts), pending, announce_end, true),
            &body_plan,
            &material,
        );
        prop_assert_eq!(opened.size_hint().exact(), Some(want_last - want_first + 1));
        let opened = drive(opened);
        prop_assert!(opened.error.is_none(), "{:?}", opened.error);
        prop_assert_eq!(
            opened.data(),
            &plaintext[want_first as usize..=want_last as usize]
        );
    }
}

#[test]
fn a_truncated_body_errors_at_its_end() {
    let material = material();
    let plaintext = pattern(100);
    let ciphertext = seal_all(&material, &plaintext);
    for announce_end in [true, false] {
        let mut inner = script(
            split(&ciphertext[..90], &[30, 60]),
            false,
            announce_end,
            true,
        );
        inner.announce_end = announce_end;
        let opened = drive(CipherBody::whole(inner, &envelope(Some(100)), &material));
        assert_eq!(
            core_err(&opened, announce_end),
            cse_core::Error::Truncated {
                expected: 100,
                actual: 90
            }
        );
        // What arrived was delivered, except that when the inner body announced its end with its
        // last frame, the error replaced that frame: a consumer that stops at the announced end
        // (hyper does) must not see a body that looks complete.
        let delivered = if announce_end { 60 } else { 90 };
        assert_eq!(opened.data(), &plaintext[..delivered]);
        assert!(opened.ended);
    }
}

#[test]
fn an_empty_body_for_a_non_empty_object_errors() {
    let opened = drive(CipherBody::whole(
        ScriptBody::new([]),
        &envelope(Some(5)),
        &material(),
    ));
    assert_eq!(
        core_err(&opened, "empty"),
        cse_core::Error::Truncated {
            expected: 5,
            actual: 0
        }
    );
    assert!(opened.frames.is_empty());
}

#[test]
fn an_extended_body_errors() {
    let material = material();
    let mut ciphertext = seal_all(&material, &pattern(100));
    ciphertext.extend_from_slice(b"appended");
    // Extra bytes in a frame of their own, or inside the frame that reaches the end: a frame
    // that passes the declared length is refused whole, and the frame that reached the length is
    // held back until the inner body confirms its end, so it is refused with it.
    for (cuts, delivered) in [([50, 100], 50), ([50, 50], 50)] {
        let opened = drive(CipherBody::whole(
            ScriptBody::chunks(split(&ciphertext, &cuts)),
            &envelope(Some(100)),
            &material,
        ));
        assert_eq!(
            core_err(&opened, cuts),
            cse_core::Error::Extended { expected: 100 }
        );
        assert_eq!(opened.data(), &pattern(100)[..delivered]);
        assert!(opened.ended);
    }
}

#[test]
fn a_truncated_ranged_body_errors() {
    let material = material();
    let object = seal_all(&material, &pattern(1000));
    let plan = plan_range(ByteRange::parse("bytes=100-199").unwrap(), None).unwrap();
    let body_plan = plan
        .on_response(RangeResponse::from_parts(206, Some("bytes 96-199/1000"), None).unwrap())
        .unwrap();
    let opened = drive(CipherBody::ranged(
        ScriptBody::chunks([Bytes::copy_from_slice(&object[96..150])]),
        &body_plan,
        &material,
    ));
    assert_eq!(
        core_err(&opened, "ranged"),
        cse_core::Error::Truncated {
            expected: 104,
            actual: 54
        }
    );
    // The one frame came with the inner body's end, so the error replaced it.
    assert!(opened.data().is_empty());
}

#[test]
fn a_ranged_body_over_a_whole_200_response() {
    let material = material();
    let plaintext = pattern(1000);
    let object = seal_all(&material, &plaintext);
    let plan = plan_range(ByteRange::parse("bytes=500-517").unwrap(), None).unwrap();
    let body_plan = plan
        .on_response(RangeResponse::from_parts(200, None, Some(1000)).unwrap())
        .unwrap();
    let opened = drive(CipherBody::ranged(
        ScriptBody::chunks(split(&object, &[10, 499, 501, 510, 900])),
        &body_plan,
        &material,
    ));
    assert!(opened.error.is_none(), "{:?}", opened.error);
    assert_eq!(opened.data(), &plaintext[500..518]);
}

#[test]
fn a_short_sealed_upload_errors() {
    let material = material();
    let sealed = drive(CipherBody::seal(
        ScriptBody::chunks([Bytes::from_static(b"only nine")]),
        Sealer::with_len(&material, 10),
    ));
    assert_eq!(
        core_err(&sealed, "short"),
        cse_core::Error::Truncated {
            expected: 10,
            actual: 9
        }
    );
    let sealed = drive(CipherBody::seal(
        ScriptBody::chunks([Bytes::from_static(b"eleven byte")]),
        Sealer::with_len(&material, 10),
    ));
    assert_eq!(
        core_err(&sealed, "long"),
        cse_core::Error::Extended { expected: 10 }
    );
    assert!(sealed.frames.is_empty());
}

#[test]
fn multipart_parts_seal_like_one_stream() {
    let material = material();
    let plaintext = pattern(40);
    let upload =
        MultipartContext::new(common::sealed(common::material(), &envelope(None)), 16, 40).unwrap();
    let mut object = vec![Vec::new(); 3];
    for part in [2u32, 3, 1] {
        let start = (part as usize - 1) * 16;
        let end = (start + 16).min(40);
        let sealed = drive(CipherBody::part(
            ScriptBody::chunks(split(&plaintext[start..end], &[5])),
            upload.part_sealer(part).unwrap(),
        ));
        assert!(sealed.error.is_none(), "{:?}", sealed.error);
        object[part as usize - 1] = sealed.data();
    }
    assert_eq!(object.concat(), seal_all(&material, &plaintext));

    let upload = MultipartContext::new(common::sealed(material, &envelope(None)), 16, 40).unwrap();
    let sealed = drive(CipherBody::part(
        ScriptBody::chunks([Bytes::from_static(b"short")]),
        upload.part_sealer(1).unwrap(),
    ));
    assert_eq!(
        core_err(&sealed, "part"),
        cse_core::Error::PartLength {
            part: 1,
            expected: 16,
            actual: 5
        }
    );
}

#[test]
fn size_hints_are_exact() {
    let material = material();
    let plaintext = pattern(300);
    let ciphertext = seal_all(&material, &plaintext);

    // Sealing preserves the inner hint, exact or not.
    let mut sealed = Box::pin(CipherBody::seal(
        ScriptBody::chunks(split(&plaintext, &[100, 200])),
        Sealer::with_len(&material, 300),
    ));
    assert_eq!(sealed.size_hint().exact(), Some(300));
    let mut unsized_inner = ScriptBody::chunks(split(&plaintext, &[100]));
    unsized_inner.sized = false;
    let unsized_seal = CipherBody::seal(unsized_inner, Sealer::new(&material));
    assert_eq!(unsized_seal.size_hint().exact(), None);
    assert_eq!(unsized_seal.size_hint().lower(), 0);

    let mut cx = Context::from_waker(Waker::noop());
    let mut seen = 0u64;
    while let Poll::Ready(Some(frame)) = sealed.as_mut().poll_frame(&mut cx) {
        seen += frame.unwrap().into_data().unwrap().len() as u64;
        assert_eq!(sealed.size_hint().exact(), Some(300 - seen));
    }
    assert_eq!(seen, 300);
    assert!(sealed.is_end_stream());

    // A whole open with a declared length is exact even over an inner body of unknown size.
    let mut inner = ScriptBody::chunks(split(&ciphertext, &[7, 150]));
    inner.sized = false;
    let opened = CipherBody::whole(inner, &envelope(Some(300)), &material);
    assert_eq!(opened.size_hint().exact(), Some(300));

    // A ranged open counts down from the range's length as frames go out.
    let plan = plan_range(ByteRange::parse("bytes=-100").unwrap(), None).unwrap();
    let body_plan = plan
        .on_response(RangeResponse::from_parts(206, Some("bytes 200-299/300"), None).unwrap())
        .unwrap();
    let mut opened = Box::pin(CipherBody::ranged(
        ScriptBody::chunks(split(&ciphertext[200..], &[33, 66])),
        &body_plan,
        &material,
    ));
    assert_eq!(opened.size_hint().exact(), Some(100));
    let mut seen = 0u64;
    while let Poll::Ready(Some(frame)) = opened.as_mut().poll_frame(&mut cx) {
        seen += frame.unwrap().into_data().unwrap().len() as u64;
        assert_eq!(opened.size_hint().exact(), Some(100 - seen));
    }
    assert_eq!(seen, 100);
}

#[test]
fn the_inner_body_is_polled_only_when_the_wrapper_is() {
    let material = material();
    let inner = ScriptBody::new([
        Step::Data(Bytes::from_static(b"abc")),
        Step::Pending,
        Step::Data(Bytes::from_static(b"def")),
    ]);
    let polls = inner.polls.clone();
    let mut sealed = Box::pin(CipherBody::seal(inner, Sealer::new(&material)));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        polls.load(Ordering::SeqCst),
        0,
        "building a wrapper polls nothing"
    );
    assert!(matches!(
        sealed.as_mut().poll_frame(&mut cx),
        Poll::Ready(Some(Ok(_)))
    ));
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    assert!(sealed.as_mut().poll_frame(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 2);
    assert!(matches!(
        sealed.as_mut().poll_frame(&mut cx),
        Poll::Ready(Some(Ok(_)))
    ));
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    // The inner body announced its end with the last frame, so the wrapper did too, and a
    // consumer that trusts it never polls again.
    assert!(sealed.is_end_stream());
    assert!(matches!(
        sealed.as_mut().poll_frame(&mut cx),
        Poll::Ready(None)
    ));
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[test]
fn a_truncation_replaces_the_last_frame_so_no_consumer_sees_a_whole_body() {
    // The inner body says it has ended with its last data frame; a consumer like hyper then
    // checks `is_end_stream` and stops. So the length error comes instead of that frame.
    let material = material();
    let ciphertext = seal_all(&material, b"0123456789");
    let mut opened = Box::pin(CipherBody::whole(
        ScriptBody::chunks([Bytes::copy_from_slice(&ciphertext[..4])]),
        &envelope(Some(10)),
        &material,
    ));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(
        opened.as_mut().poll_frame(&mut cx),
        Poll::Ready(Some(Err(Error::Core(cse_core::Error::Truncated {
            expected: 10,
            actual: 4
        }))))
    ));
    assert!(opened.is_end_stream());
    assert!(matches!(
        opened.as_mut().poll_frame(&mut cx),
        Poll::Ready(None)
    ));
}

/// The frame that reaches the declared length is held until the inner body says it ended: a
/// further frame fails the body (in its own frame the extra bytes would otherwise never be
/// polled by a consumer that stops at Content-Length), the end releases it.
#[test]
fn the_frame_that_reaches_the_length_waits_for_the_end() {
    let material = material();
    let plaintext = pattern(100);
    let ciphertext = seal_all(&material, &plaintext);
    let mut inner = script(split(&ciphertext, &[40]), false, false, true);
    inner.announce_end = false;
    let mut opened = Box::pin(CipherBody::whole(inner, &envelope(Some(100)), &material));
    let mut cx = Context::from_waker(Waker::noop());
    let mut got = Vec::new();
    while let Poll::Ready(Some(frame)) = opened.as_mut().poll_frame(&mut cx) {
        got.extend_from_slice(&frame.unwrap().into_data().unwrap());
    }
    assert_eq!(got, plaintext);
    assert!(opened.is_end_stream());
}

fn trailers() -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("x-checksum", HeaderValue::from_static("abc"));
    t
}

#[test]
fn trailers_pass_through_after_the_length_check() {
    let material = material();
    let ciphertext = seal_all(&material, b"hello");
    let opened = drive(CipherBody::whole(
        ScriptBody::new([
            Step::Data(Bytes::copy_from_slice(&ciphertext)),
            Step::Trailers(trailers()),
        ]),
        &envelope(Some(5)),
        &material,
    ));
    assert!(opened.error.is_none(), "{:?}", opened.error);
    assert_eq!(opened.data(), b"hello");
    assert_eq!(opened.trailers, [trailers()]);

    // Trailers end the data, so a short body is caught there, before the trailers go out.
    let opened = drive(CipherBody::whole(
        ScriptBody::new([
            Step::Data(Bytes::copy_from_slice(&ciphertext[..3])),
            Step::Trailers(trailers()),
        ]),
        &envelope(Some(5)),
        &material,
    ));
    assert_eq!(
        core_err(&opened, "trailers"),
        cse_core::Error::Truncated {
            expected: 5,
            actual: 3
        }
    );
    assert!(opened.trailers.is_empty());

    let sealed = drive(CipherBody::seal(
        ScriptBody::new([
            Step::Data(Bytes::from_static(b"hello")),
            Step::Trailers(trailers()),
            Step::Data(Bytes::from_static(b"late")),
        ]),
        Sealer::new(&material),
    ));
    assert_eq!(sealed.data(), ciphertext);
    assert_eq!(sealed.trailers, [trailers()]);
    assert!(matches!(sealed.error, Some(Error::DataAfterTrailers)));
}

#[test]
fn an_inner_error_is_passed_on_as_a_body_error() {
    let material = material();
    let sealed = drive(CipherBody::seal(
        ScriptBody::new([Step::Data(Bytes::from_static(b"abc")), Step::Fail("reset")]),
        Sealer::new(&material),
    ));
    assert_eq!(sealed.frames.len(), 1);
    match &sealed.error {
        Some(e @ Error::Body(inner)) => {
            assert_eq!(inner.to_string(), "reset");
            assert!(e.to_string().contains("reset"));
            assert!(std::error::Error::source(e).is_some());
        }
        other => panic!("expected a body error, got {other:?}"),
    }
    assert!(sealed.ended, "a failed body ends");
}

#[test]
fn a_uniquely_held_frame_is_transformed_without_a_copy() {
    let material = material();
    let data = Bytes::from(pattern(64));
    let address = data.as_ptr();
    let mut sealed = Box::pin(CipherBody::seal(
        ScriptBody::chunks([data]),
        Sealer::new(&material),
    ));
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Some(Ok(frame))) = sealed.as_mut().poll_frame(&mut cx) else {
        panic!("expected a data frame");
    };
    let out = frame.into_data().unwrap();
    assert_eq!(out.as_ptr(), address);
    assert_eq!(out, seal_all(&material, &pattern(64)));

    // A shared (here static) frame is copied once, and the original is left intact.
    let shared = Bytes::from_static(b"static plaintext");
    let sealed = drive(CipherBody::seal(
        ScriptBody::chunks([shared.clone()]),
        Sealer::new(&material),
    ));
    assert_eq!(sealed.data(), seal_all(&material, b"static plaintext"));
    assert_eq!(shared, "static plaintext");
}

#[test]
fn wrappers_suit_hyper_and_threads() {
    fn assert_send_sync<T: Send + Sync + Unpin + 'static>() {}
    assert_send_sync::<SealBody<http_body_util::Full<Bytes>>>();
    assert_send_sync::<OpenBody<http_body_util::Full<Bytes>>>();
    assert_send_sync::<Error>();
    let debug = format!(
        "{:?}",
        CipherBody::seal(ScriptBody::chunks([]), Sealer::new(&material()))
    );
    assert!(debug.starts_with("CipherBody"), "{debug}");
    let _: Pin<&mut OpenBody<ScriptBody>>;
}

//! Range translation on the request and Content-Range / Content-Length rewrite on the response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cse_core::{ByteRange, RangePlan, RangeProblem, RangeResponse};
use cse_http::{
    Error, decode_range, decode_range_response, prepare_get_headers, rewrite_range_response,
};
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{HeaderMap, HeaderValue, Response, StatusCode, response};

const BEHAVIOR: &str = "x-oss-range-behavior";

fn with_range(range: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(RANGE, HeaderValue::from_bytes(range).unwrap());
    headers.insert("x-oss-meta-owner", HeaderValue::from_static("alice"));
    headers
}

#[test]
fn translation_table() {
    // (user Range, known object length, wire Range)
    let table: &[(&str, Option<u64>, &str)] = &[
        ("bytes=100-199", None, "bytes=96-199"),
        ("bytes=96-199", None, "bytes=96-199"),
        ("bytes=0-0", None, "bytes=0-0"),
        ("BYTES=17-17", None, "bytes=16-17"),
        ("bytes=100-", None, "bytes=96-"),
        ("bytes=15-", None, "bytes=0-"),
        ("bytes=-10", None, "bytes=-10"),
        ("bytes=-5000", None, "bytes=-5000"),
        ("bytes=100-199", Some(1000), "bytes=96-199"),
        ("bytes=100-5000", Some(1000), "bytes=96-999"),
        ("bytes=100-", Some(1000), "bytes=96-999"),
        ("bytes=999-", Some(1000), "bytes=992-999"),
        ("bytes=-10", Some(1000), "bytes=976-999"),
        ("bytes=-16", Some(1000), "bytes=976-999"),
        ("bytes=-5000", Some(1000), "bytes=0-999"),
        ("bytes=0-", Some(1), "bytes=0-0"),
    ];
    for &(user, len, wire) in table {
        let mut headers = with_range(user.as_bytes());
        let plan = prepare_get_headers(&mut headers, len).unwrap().unwrap();
        assert_eq!(headers[RANGE], wire, "{user} with length {len:?}");
        assert_eq!(headers[BEHAVIOR], "standard", "{user} with length {len:?}");
        assert_eq!(headers["x-oss-meta-owner"], "alice");
        assert_eq!(headers.len(), 3, "{user}: one Range, one behavior header");
        assert_eq!(plan.requested(), ByteRange::parse(user).unwrap());
    }
}

#[test]
fn no_range_means_a_whole_read_and_no_change() {
    let mut headers = HeaderMap::new();
    headers.insert("x-oss-meta-owner", HeaderValue::from_static("alice"));
    let before = headers.clone();
    assert_eq!(prepare_get_headers(&mut headers, Some(10)).unwrap(), None);
    assert_eq!(headers, before);
    assert_eq!(decode_range(&headers).unwrap(), None);
}

#[test]
fn a_stale_behavior_header_is_replaced() {
    let mut headers = with_range(b"bytes=20-30");
    headers.append(BEHAVIOR, HeaderValue::from_static("legacy"));
    headers.append(BEHAVIOR, HeaderValue::from_static("other"));
    prepare_get_headers(&mut headers, None).unwrap();
    assert_eq!(
        headers.get_all(BEHAVIOR).iter().collect::<Vec<_>>(),
        ["standard"]
    );
    assert_eq!(headers[RANGE], "bytes=16-30");
}

#[test]
fn bad_ranges_are_refused_with_headers_unchanged() {
    let engine = |p| Error::Core(cse_core::Error::InvalidRange(p));
    let cases: Vec<(&[u8], Option<u64>, Error)> = vec![
        (b"bytes=0-1,5-6", None, engine(RangeProblem::MultipleRanges)),
        (
            b"bytes=-0",
            None,
            Error::Core(cse_core::Error::RangeNotSatisfiable { object_len: None }),
        ),
        (b"items=0-1", None, engine(RangeProblem::Syntax)),
        (b"bytes=5-4", None, engine(RangeProblem::Reversed)),
        (
            b"bytes=0-18446744073709551616",
            None,
            engine(RangeProblem::Overflow),
        ),
        (
            b"bytes=1000-",
            Some(1000),
            Error::Core(cse_core::Error::RangeNotSatisfiable {
                object_len: Some(1000),
            }),
        ),
        (
            b"bytes=1000-1001",
            Some(1000),
            Error::Core(cse_core::Error::RangeNotSatisfiable {
                object_len: Some(1000),
            }),
        ),
        (
            b"bytes=-1",
            Some(0),
            Error::Core(cse_core::Error::RangeNotSatisfiable {
                object_len: Some(0),
            }),
        ),
        (b"bytes=\xff-1", None, Error::NonUtf8Header { name: RANGE }),
    ];
    for (range, len, expected) in cases {
        let mut headers = with_range(range);
        let before = headers.clone();
        let err = prepare_get_headers(&mut headers, len).unwrap_err();
        assert_eq!(format!("{err:?}"), format!("{expected:?}"), "{range:?}");
        assert_eq!(headers, before);
    }
}

#[test]
fn several_range_headers_are_refused() {
    let mut headers = with_range(b"bytes=0-1");
    headers.append(RANGE, HeaderValue::from_static("bytes=5-6"));
    assert!(matches!(
        prepare_get_headers(&mut headers, None),
        Err(Error::RepeatedHeader { name }) if name == RANGE
    ));
}

fn plan(range: &str, len: Option<u64>) -> RangePlan {
    prepare_get_headers(&mut with_range(range.as_bytes()), len)
        .unwrap()
        .unwrap()
}

fn parts(status: u16, headers: &[(&str, &[u8])]) -> response::Parts {
    let mut builder = Response::builder().status(status).header("etag", "\"abc\"");
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    builder.body(()).unwrap().into_parts().0
}

#[test]
fn response_206_is_rewritten_to_the_requested_bytes() {
    let plan = plan("bytes=100-199", None);
    let mut parts = parts(
        206,
        &[
            ("content-range", b"bytes 96-199/1000"),
            ("content-length", b"104"),
        ],
    );
    let body = rewrite_range_response(&plan, &mut parts).unwrap();
    assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(parts.headers[CONTENT_RANGE], "bytes 100-199/1000");
    assert_eq!(parts.headers[CONTENT_LENGTH], "100");
    assert_eq!(parts.headers["etag"], "\"abc\"");
    assert_eq!(parts.headers.len(), 3);
    assert_eq!(body.body_start(), 96);
    assert_eq!(body.drop_len(), 4);
    assert_eq!(body.content_length(), 100);
}

#[test]
fn response_206_for_a_suffix() {
    let plan = plan("bytes=-10", None);
    let mut parts = parts(206, &[("content-range", b"bytes 990-999/1000")]);
    let body = rewrite_range_response(&plan, &mut parts).unwrap();
    assert_eq!(parts.headers[CONTENT_RANGE], "bytes 990-999/1000");
    assert_eq!(parts.headers[CONTENT_LENGTH], "10");
    assert_eq!(body.body_start(), 990);
}

#[test]
fn response_200_becomes_206_of_the_requested_bytes() {
    let plan = plan("bytes=100-199", None);
    let mut parts = parts(200, &[("content-length", b"1000")]);
    let body = rewrite_range_response(&plan, &mut parts).unwrap();
    assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(parts.headers[CONTENT_RANGE], "bytes 100-199/1000");
    assert_eq!(parts.headers[CONTENT_LENGTH], "100");
    assert_eq!(body.body_start(), 0);
    assert_eq!(body.drop_len(), 100);

    let plan = self::plan("bytes=-5000", None);
    let mut parts = self::parts(200, &[("content-length", b"1000")]);
    rewrite_range_response(&plan, &mut parts).unwrap();
    assert_eq!(parts.headers[CONTENT_RANGE], "bytes 0-999/1000");
    assert_eq!(parts.headers[CONTENT_LENGTH], "1000");
}

/// A bad response: the plan, the status and headers the server sent, and the error it must give.
type ResponseCase = (RangePlan, u16, Vec<(&'static str, &'static [u8])>, Error);

#[test]
fn bad_responses_are_refused_with_parts_unchanged() {
    let engine = |p| Error::Core(cse_core::Error::InvalidRange(p));
    let cases: Vec<ResponseCase> = vec![
        (
            plan("bytes=100-199", None),
            416,
            vec![("content-range", b"bytes */50")],
            Error::Core(cse_core::Error::RangeNotSatisfiable {
                object_len: Some(50),
            }),
        ),
        (
            plan("bytes=100-199", Some(1000)),
            416,
            vec![],
            Error::Core(cse_core::Error::RangeNotSatisfiable {
                object_len: Some(1000),
            }),
        ),
        (
            plan("bytes=100-199", None),
            206,
            vec![("content-range", b"bytes 112-199/1000")],
            engine(RangeProblem::ResponseDoesNotCover),
        ),
        (
            plan("bytes=100-199", None),
            206,
            vec![],
            engine(RangeProblem::ContentRangeSyntax),
        ),
        (
            plan("bytes=100-199", None),
            500,
            vec![("content-length", b"0")],
            engine(RangeProblem::UnexpectedStatus),
        ),
        (
            plan("bytes=100-199", Some(1000)),
            206,
            vec![("content-range", b"bytes 96-199/2000")],
            engine(RangeProblem::LengthChanged),
        ),
        (
            plan("bytes=100-199", None),
            200,
            vec![("content-length", b"abc")],
            Error::InvalidContentLength,
        ),
        (
            plan("bytes=100-199", None),
            206,
            vec![("content-range", b"bytes 96-199/1000\xfe")],
            Error::NonUtf8Header {
                name: CONTENT_RANGE,
            },
        ),
        (
            plan("bytes=100-199", None),
            206,
            vec![
                ("content-range", b"bytes 96-199/1000"),
                ("content-range", b"bytes 96-199/1000"),
            ],
            Error::RepeatedHeader {
                name: CONTENT_RANGE,
            },
        ),
    ];
    for (plan, status, headers, expected) in cases {
        let mut parts = parts(status, &headers);
        let (status_before, headers_before) = (parts.status, parts.headers.clone());
        let err = rewrite_range_response(&plan, &mut parts).unwrap_err();
        assert_eq!(
            format!("{err:?}"),
            format!("{expected:?}"),
            "{status} {headers:?}"
        );
        assert_eq!(parts.status, status_before);
        assert_eq!(parts.headers, headers_before);
    }
}

#[test]
fn decode_range_response_classifies() {
    let p = parts(206, &[("content-range", b"bytes 0-9/20")]);
    assert!(matches!(
        decode_range_response(p.status, &p.headers).unwrap(),
        RangeResponse::Partial(cr) if (cr.first, cr.last, cr.total) == (0, 9, 20)
    ));
    let p = parts(200, &[("content-length", b"20")]);
    assert_eq!(
        decode_range_response(p.status, &p.headers).unwrap(),
        RangeResponse::Whole { len: 20 }
    );
    let p = parts(416, &[("content-range", b"bytes */20")]);
    assert_eq!(
        decode_range_response(p.status, &p.headers).unwrap(),
        RangeResponse::NotSatisfiable { len: Some(20) }
    );
}

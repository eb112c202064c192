//! Range planning (parse, plan, response) and the envelope header codec.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // bench code, like tests

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use cse_core::{
    ByteRange, DEFAULT_PREFIX, DecodeOptions, Envelope, MatDesc, RangeResponse, WRAP_ALG_RSA,
    decode_envelope, plan_range,
};

fn range_planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("range_plan");
    group.bench_function("bounded, length known", |b| {
        b.iter(|| {
            let range = ByteRange::parse(black_box("bytes=1000003-7000002")).unwrap();
            let plan = plan_range(range, Some(8 << 20)).unwrap();
            let response =
                RangeResponse::from_parts(206, Some("bytes 1000000-7000002/8388608"), None)
                    .unwrap();
            plan.on_response(response).unwrap()
        });
    });
    group.bench_function("suffix, length unknown", |b| {
        b.iter(|| {
            let range = ByteRange::parse(black_box("bytes=-100")).unwrap();
            let plan = plan_range(range, None).unwrap();
            let response =
                RangeResponse::from_parts(206, Some("bytes 8388508-8388607/8388608"), None)
                    .unwrap();
            plan.on_response(response).unwrap()
        });
    });
    group.finish();
}

fn headers(c: &mut Criterion) {
    // RSA-2048-sized wrapped values and every optional field but the multipart ones.
    let envelope = Envelope::from_wrapped(
        WRAP_ALG_RSA,
        &MatDesc::new().with("key", "bench").to_canonical(),
        &[0xa5; 256],
        &[0x5a; 256],
    )
    .unwrap()
    .with_unencrypted_content_length(8 << 20)
    .with_unencrypted_content_md5([7; 16]);
    let pairs = envelope.to_headers(DEFAULT_PREFIX).unwrap();
    // A realistic response: the envelope among ordinary headers.
    let mut response: Vec<(String, String)> = [
        ("content-type", "application/octet-stream"),
        ("content-length", "8388608"),
        ("etag", "\"5B3C1A2E0D8F4B6A9C7E5D3B1A0F2E4D\""),
        ("x-oss-request-id", "65A1B2C3D4E5F60718293A4B"),
        ("last-modified", "Fri, 27 Nov 2026 10:00:00 GMT"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    response.extend(pairs.iter().cloned());

    let mut group = c.benchmark_group("headers");
    group.bench_function("encode (encode_headers, no allocation)", |b| {
        b.iter(|| {
            let mut bytes = 0;
            black_box(&envelope)
                .encode_headers(DEFAULT_PREFIX, |n, v| bytes += n.len() + v.len())
                .unwrap();
            bytes
        });
    });
    group.bench_function("encode (to_headers)", |b| {
        b.iter(|| black_box(&envelope).to_headers(DEFAULT_PREFIX).unwrap());
    });
    group.bench_function("decode (12 response headers)", |b| {
        b.iter(|| {
            decode_envelope(
                black_box(&response)
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
                &DecodeOptions::strict(),
            )
            .unwrap()
        });
    });
    group.finish();
}

/// Modest defaults (1 s warm-up, 3 s measurement); the command line overrides them.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = range_planning, headers
}
criterion_main!(benches);

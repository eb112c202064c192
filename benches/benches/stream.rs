//! Sealing and opening throughput against the raw `ctr` keystream and AWS-LC's AES-256-CTR, and
//! a ranged open of an 8 MiB object.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // bench code, like tests; 64-bit hosts only

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use cse_benches::{COUNTER, KEY, material, plaintext};
use cse_core::{ByteRange, ContentRange, Opener, RangeResponse, Sealer, plan_range};
use ctr::cipher::{KeyIvInit, StreamCipher};

const SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (64 << 10, "64KiB"), (8 << 20, "8MiB")];

fn raw_ctr(buf: &mut [u8]) {
    let mut c = ctr::Ctr128BE::<aes::Aes256>::new(&KEY.into(), &COUNTER.into());
    c.apply_keystream(buf);
}

fn awslc_ctr(buf: &mut [u8]) {
    let key = EncryptingKey::ctr(UnboundCipherKey::new(&AES_256, &KEY).unwrap()).unwrap();
    key.less_safe_encrypt(buf, EncryptionContext::Iv128(FixedLength::from(COUNTER)))
        .unwrap();
}

/// The three implementations compute the same bytes, so the comparison is fair.
fn check_baselines_agree() {
    let plain = plaintext(100_000);
    let mut a = plain.clone();
    Sealer::new(&material()).update_in_place(&mut a).unwrap();
    let mut b = plain.clone();
    raw_ctr(&mut b);
    let mut c = plain;
    awslc_ctr(&mut c);
    assert!(a == b && b == c, "baselines disagree with cse-core");
}

fn seal_and_open(c: &mut Criterion) {
    check_baselines_agree();
    let m = material();
    for (name, open) in [("seal", false), ("open", true)] {
        let mut group = c.benchmark_group(name);
        for (size, label) in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            if size >= 1 << 20 {
                group.sample_size(20);
            }
            let mut buf = plaintext(size);
            group.bench_function(BenchmarkId::new("cse-core", label), |b| {
                b.iter(|| {
                    if open {
                        let mut o = Opener::with_len(&m, size as u64);
                        o.update_in_place(black_box(&mut buf)).unwrap();
                        o.finish().unwrap();
                    } else {
                        let mut s = Sealer::with_len(&m, size as u64);
                        s.update_in_place(black_box(&mut buf)).unwrap();
                        s.finish().unwrap();
                    }
                });
            });
            group.bench_function(BenchmarkId::new("raw-ctr", label), |b| {
                b.iter(|| raw_ctr(black_box(&mut buf)));
            });
            group.bench_function(BenchmarkId::new("aws-lc-rs", label), |b| {
                b.iter(|| awslc_ctr(black_box(&mut buf)));
            });
        }
        group.finish();
    }
}

fn ranged_open(c: &mut Criterion) {
    const OBJECT: u64 = 8 << 20;
    let m = material();
    let mut object = plaintext(OBJECT as usize);
    Sealer::new(&m).update_in_place(&mut object).unwrap();
    // An unaligned range of 6 MB from the middle, answered with the block-aligned wire range.
    let requested = ByteRange::Bounded {
        first: 1_000_003,
        last: 7_000_002,
    };
    let wire = plan_range(requested, Some(OBJECT)).unwrap().wire_range();
    let (first, last) = wire.resolve(OBJECT).unwrap();
    let mut body = object[first as usize..=last as usize].to_vec();

    let mut group = c.benchmark_group("ranged_open_8MiB");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(6_000_000));
    group.bench_function("cse-core plan+BodyPlan opener", |b| {
        b.iter(|| {
            let plan = plan_range(black_box(requested), Some(OBJECT)).unwrap();
            let response = RangeResponse::Partial(ContentRange {
                first,
                last,
                total: OBJECT,
            });
            let body_plan = plan.on_response(response).unwrap();
            let mut opener = body_plan.opener(&m);
            let kept = opener.update_in_place(black_box(&mut body)).unwrap();
            opener.finish().unwrap();
            kept.len()
        });
    });
    group.bench_function("raw-ctr same body", |b| {
        b.iter(|| raw_ctr(black_box(&mut body)));
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
    targets = seal_and_open, ranged_open
}
criterion_main!(benches);

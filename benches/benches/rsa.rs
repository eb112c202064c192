//! Unwrapping with RSA-2048: one private-key operation (`MasterCipher::unwrap`) and a whole
//! envelope open (two), for the pure-Rust backend and the aws-lc one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // bench code, like tests

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use cse_awslc::AwsLcRsaMasterCipher;
use cse_benches::{RSA2048_PEM, material, rng};
use cse_core::{Envelope, MasterCipher, RsaMasterCipher};

fn rsa2048(c: &mut Criterion) {
    let pure = RsaMasterCipher::from_pem(RSA2048_PEM).unwrap();
    let awslc = AwsLcRsaMasterCipher::from_pem(RSA2048_PEM).unwrap();
    let mut rng = rng();
    let envelope = Envelope::seal(&material(), &pure, &mut rng).unwrap();
    let wrapped_key = envelope.wrapped_key().as_bytes().to_vec();

    let mut group = c.benchmark_group("rsa2048");
    group.sample_size(20);
    for (name, master) in [
        ("rsa (pure Rust)", &pure as &dyn MasterCipher),
        ("aws-lc-rs", &awslc),
    ] {
        assert_eq!(envelope.open(master, &mut rng).unwrap(), material());
        group.bench_function(format!("unwrap (1 private op)/{name}"), |b| {
            let mut out = [0u8; 32];
            b.iter(|| {
                master
                    .unwrap(black_box(&wrapped_key), &mut out, &mut rng)
                    .unwrap()
            });
        });
        group.bench_function(format!("envelope open (2 private ops)/{name}"), |b| {
            b.iter(|| black_box(&envelope).open(master, &mut rng).unwrap());
        });
    }
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
    targets = rsa2048
}
criterion_main!(benches);

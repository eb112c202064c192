//! Multipart sealing of 64 MiB in 8 MiB parts, on one thread and on every core.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // bench code, like tests

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use cse_benches::{material, plaintext};
use cse_core::{MultipartContext, SealedEnvelope, WRAP_ALG_RSA};

const DATA: usize = 64 << 20;
const PART: usize = 8 << 20;

fn context() -> MultipartContext {
    let sealed =
        SealedEnvelope::from_wrapped(material(), WRAP_ALG_RSA, "", &[1; 256], &[2; 256]).unwrap();
    MultipartContext::new(sealed, PART as u64, DATA as u64).unwrap()
}

/// Seals the parts given as (number, buffer) pairs, each once.
fn seal_parts(upload: &MultipartContext, parts: Vec<(u32, &mut [u8])>) {
    for (number, buf) in parts {
        let mut sealer = upload.part_sealer(number).unwrap();
        sealer.update_in_place(black_box(buf)).unwrap();
        sealer.finish().unwrap();
    }
}

fn numbered(buf: &mut [u8]) -> Vec<(u32, &mut [u8])> {
    (1..).zip(buf.chunks_mut(PART)).collect()
}

fn multipart(c: &mut Criterion) {
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let mut buf = plaintext(DATA);
    let mut group = c.benchmark_group("multipart_64MiB_in_8MiB_parts");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(DATA as u64));
    group.bench_function("1 thread", |b| {
        b.iter_batched(
            context,
            |upload| seal_parts(&upload, numbered(&mut buf)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function(format!("{threads} threads"), |b| {
        b.iter_batched(
            context,
            |upload| {
                // Deal the parts round-robin, one list per thread.
                let mut lists: Vec<Vec<(u32, &mut [u8])>> =
                    (0..threads).map(|_| Vec::new()).collect();
                for (i, part) in numbered(&mut buf).into_iter().enumerate() {
                    lists[i % threads].push(part);
                }
                thread::scope(|s| {
                    for list in lists {
                        let upload = &upload;
                        s.spawn(move || seal_parts(upload, list));
                    }
                });
            },
            BatchSize::PerIteration,
        );
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
    targets = multipart
}
criterion_main!(benches);

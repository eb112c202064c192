//! Authenticated objects against the unauthenticated path, on 64 MiB in 1 MiB chunks: sealing
//! and opening on one thread and on every core. Unauthenticated: `Sealer`/`Opener` over the
//! buffer (split with `Sealer::split_to` for several threads). Authenticated:
//! `auth::ChunkSealer` / `auth::ChunkCipher` (AES-256-CTR and a keyed-BLAKE3 tag per chunk;
//! open checks the tag before it decrypts), chunks dealt round-robin to the threads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // bench code, like tests

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use cse_benches::{material, plaintext};
use cse_core::auth::{
    AuthKeys, AuthParams, Binding, ChunkCipher, ChunkSealer, DEFAULT_CHUNK_SIZE, Tag,
};
use cse_core::{ContentMaterial, Opener, SealedEnvelope, Sealer, WRAP_ALG_RSA};

const DATA: usize = 64 << 20;
const CHUNK: usize = DEFAULT_CHUNK_SIZE as usize;

/// Runs `work(i, chunk)` over the chunks of `buf`, dealt round-robin to `threads` threads.
fn on_threads(buf: &mut [u8], threads: usize, work: &(dyn Fn(u64, &mut [u8]) + Sync)) {
    let mut lists: Vec<Vec<(u64, &mut [u8])>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, chunk) in buf.chunks_mut(CHUNK).enumerate() {
        lists[i % threads].push((i as u64, chunk));
    }
    thread::scope(|s| {
        for list in lists {
            s.spawn(move || {
                for (i, chunk) in list {
                    work(i, chunk);
                }
            });
        }
    });
}

/// The unauthenticated path on `n` threads: the keystream applied to `buf` in `n` slices, one
/// `Sealer::split_to` piece a thread.
fn split_keystream(material: &ContentMaterial, buf: &mut [u8], n: usize) {
    let mut sealer = Sealer::with_len(material, buf.len() as u64);
    let pieces: Vec<(Sealer, &mut [u8])> = buf
        .chunks_mut(buf.len().div_ceil(n))
        .map(|p| (sealer.split_to(p.len() as u64).unwrap(), p))
        .collect();
    thread::scope(|s| {
        for (mut piece, p) in pieces {
            s.spawn(move || piece.update_in_place(black_box(p)).unwrap());
        }
    });
}

fn auth(c: &mut Criterion) {
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let material = material();
    let sealed = || {
        SealedEnvelope::from_wrapped(
            cse_benches::material(),
            WRAP_ALG_RSA,
            "",
            &[1; 256],
            &[2; 256],
        )
        .unwrap()
    };
    let params = AuthParams {
        chunk_size: DEFAULT_CHUNK_SIZE,
        commitment: AuthKeys::derive(&material).commitment(),
        binding: Binding::None,
    };
    let envelope = sealed().envelope().clone();
    let opener = ChunkCipher::new(&material, &envelope, &params, DATA as u64).unwrap();
    let mut buf = plaintext(DATA);
    let first = ChunkSealer::new(&sealed(), &params, DATA as u64).unwrap();
    let tags: Vec<Tag> = buf
        .clone()
        .chunks_mut(CHUNK)
        .enumerate()
        .map(|(i, chunk)| first.seal_chunk(i as u64, chunk).unwrap())
        .collect();
    let mut group = c.benchmark_group("auth_64MiB_in_1MiB_chunks");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(DATA as u64));
    for n in [1, threads] {
        group.bench_function(format!("seal, unauthenticated, {n} threads"), |b| {
            b.iter(|| {
                split_keystream(&material, &mut buf, n);
            });
        });
        group.bench_function(format!("seal, authenticated, {n} threads"), |b| {
            // A sealer seals each chunk once, so each iteration takes a fresh one (not timed).
            b.iter_batched(
                || ChunkSealer::new(&sealed(), &params, DATA as u64).unwrap(),
                |sealer| {
                    on_threads(&mut buf, n, &|i, chunk| {
                        black_box(sealer.seal_chunk(i, chunk).unwrap());
                    });
                },
                BatchSize::PerIteration,
            );
        });
        group.bench_function(format!("open, unauthenticated, {n} threads"), |b| {
            // One thread per slice of the buffer, each a window of the whole-object opener's
            // keystream: the same work as sealing.
            b.iter(|| {
                if n == 1 {
                    let mut opener = Opener::with_len(&material, DATA as u64);
                    opener.update_in_place(black_box(&mut buf)).unwrap();
                } else {
                    split_keystream(&material, &mut buf, n);
                }
            });
        });
        group.bench_function(format!("open, authenticated, {n} threads"), |b| {
            // Each iteration opens a freshly sealed copy; sealing it is setup, not timed.
            b.iter_batched_ref(
                || {
                    let sealer = ChunkSealer::new(&sealed(), &params, DATA as u64).unwrap();
                    let mut ciphertext = plaintext(DATA);
                    for (i, chunk) in ciphertext.chunks_mut(CHUNK).enumerate() {
                        sealer.seal_chunk(i as u64, chunk).unwrap();
                    }
                    ciphertext
                },
                |ciphertext| {
                    on_threads(ciphertext, n, &|i, chunk| {
                        opener.open_chunk(i, chunk, &tags[i as usize]).unwrap();
                    });
                },
                BatchSize::PerIteration,
            );
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
    targets = auth
}
criterion_main!(benches);

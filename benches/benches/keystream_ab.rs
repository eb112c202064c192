//! An interleaved A/B check of the engine's keystream paths against the raw `ctr` keystream:
//! each round times one cse-core seal, one open, one ranged open and one raw keystream pass over
//! the same buffer, so slow phases of a shared machine hit all of them alike, then prints the
//! medians and their ratios. Criterion runs its benches one after another, where a noisy VM moves
//! each by ±10%; this check is what the "≥ 95% of raw ctr" target is judged by.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)] // bench code, like tests; 64-bit hosts only

use std::hint::black_box;
use std::time::Instant;

use cse_benches::{COUNTER, KEY, material, plaintext};
use cse_core::{ByteRange, ContentRange, Opener, RangeResponse, Sealer, plan_range};
use ctr::cipher::{KeyIvInit, StreamCipher};

fn median(mut v: Vec<u128>) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64
}

fn time(f: impl FnOnce()) -> u128 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos()
}

fn main() {
    // `cargo bench` passes criterion's flags to every bench; this one has none of its own.
    let m = material();
    for (size, rounds) in [(64usize << 10, 20_000), (8 << 20, 200)] {
        let mut buf = plaintext(size);
        let len = size as u64;
        // The middle three quarters of the object, unaligned at both ends.
        let requested = ByteRange::Bounded {
            first: len / 8 + 3,
            last: len - len / 8 - 3,
        };
        let (wire_first, wire_last) = plan_range(requested, Some(len))
            .unwrap()
            .wire_range()
            .resolve(len)
            .unwrap();
        let body = wire_first as usize..wire_last as usize + 1;
        let (mut seal, mut open, mut ranged, mut raw) = (vec![], vec![], vec![], vec![]);
        for _ in 0..rounds {
            seal.push(time(|| {
                let mut s = Sealer::with_len(&m, len);
                s.update_in_place(black_box(&mut buf)).unwrap();
                s.finish().unwrap();
            }));
            open.push(time(|| {
                let mut o = Opener::with_len(&m, len);
                o.update_in_place(black_box(&mut buf)).unwrap();
                o.finish().unwrap();
            }));
            ranged.push(time(|| {
                let plan = plan_range(requested, Some(len)).unwrap();
                let response = RangeResponse::Partial(ContentRange {
                    first: wire_first,
                    last: wire_last,
                    total: len,
                });
                let mut o = plan.on_response(response).unwrap().opener(&m);
                o.update_in_place(black_box(&mut buf[body.clone()]))
                    .unwrap();
                o.finish().unwrap();
            }));
            raw.push(time(|| {
                let mut c = ctr::Ctr128BE::<aes::Aes256>::new(&KEY.into(), &COUNTER.into());
                c.apply_keystream(black_box(&mut buf));
            }));
        }
        let (seal, open, ranged, raw) = (median(seal), median(open), median(ranged), median(raw));
        let gib = |bytes: usize, ns: f64| bytes as f64 / ns * 1e9 / f64::from(1u32 << 30);
        // The ranged open decrypts the body; compare it with raw ctr over as many bytes.
        let raw_body = raw * body.len() as f64 / size as f64;
        println!(
            "keystream_ab {size} B ({rounds} rounds, medians): seal {:.2} GiB/s ({:.3} of raw ctr), \
             open {:.2} GiB/s ({:.3}), ranged open {:.2} GiB/s ({:.3}), raw ctr {:.2} GiB/s",
            gib(size, seal),
            raw / seal,
            gib(size, open),
            raw / open,
            gib(body.len(), ranged),
            raw_body / ranged,
            gib(size, raw),
        );
    }
}

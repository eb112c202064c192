//! Differential: sealing and opening in arbitrary chunks equals the `ctr` crate's keystream, for
//! whole objects (`cse_testkit::invariants::stream::seal_and_open`), for pieces split off a
//! sealer and sealed in any order (`seal_split`) and for ranged reads through a `BodyPlan`
//! (`cse_testkit::invariants::ranges::open_range`).
#![no_main]

use arbitrary::Arbitrary;
use cse_core::ByteRange;
use cse_testkit::chunks::Cuts;
use cse_testkit::invariants::ranges::{Server, open_range};
use cse_testkit::invariants::stream::{seal_and_open, seal_split};
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
    server: Server,
    /// The order split pieces are sealed in.
    order_seed: u64,
}

fuzz_target!(|input: Input| {
    let counter = match input.near_wrap {
        Some(n) => (u128::MAX - u128::from(n)).to_be_bytes(),
        None => input.counter,
    };
    let cuts = Cuts::Splits(&input.splits);
    seal_and_open(input.key, counter, &input.data, cuts, cuts);
    seal_split(input.key, counter, &input.data, cuts, input.order_seed);
    let range = match input.range {
        RangeIn::Bounded(a, b) => ByteRange::Bounded {
            first: a.min(b).into(),
            last: a.max(b).into(),
        },
        RangeIn::From(a) => ByteRange::From { first: a.into() },
        RangeIn::Suffix(n) => ByteRange::Suffix { len: n.into() },
    };
    open_range(
        input.key,
        counter,
        &input.data,
        range,
        input.length_known,
        input.server,
        cuts,
    );
});

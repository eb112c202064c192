//! Property tests for the engine's invariants: strategies for the inputs of the test kit's
//! invariants, which the fuzz targets in `fuzz/` check too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use cse_core::*;
use cse_testkit::chunks::Cuts;
use cse_testkit::invariants::headers::{decode_any, round_trip};
use cse_testkit::invariants::matdesc::parse_any;
use cse_testkit::invariants::multipart::{Op, Sizes, operations, parts_in_any_order};
use cse_testkit::invariants::ranges::{Server, open_range, plan_any};
use cse_testkit::invariants::stream::{seal_and_open, seal_split};
use cse_testkit::rng::shuffle;
use proptest::prelude::*;

/// Raw content material: a key, and a counter near the carry points (the interesting ones) or
/// random.
fn any_material() -> impl Strategy<Value = ([u8; 32], [u8; 16])> {
    let counter = prop_oneof![
        any::<u128>(),
        (0u128..64).prop_map(|d| u128::MAX - d),
        (0u128..64).prop_map(|d| u128::from(u64::MAX) - d),
    ];
    (any::<[u8; 32]>(), counter).prop_map(|(k, c)| (k, c.to_be_bytes()))
}

fn any_range() -> impl Strategy<Value = ByteRange> {
    prop_oneof![
        (0u64..700, 0u64..700).prop_map(|(a, b)| ByteRange::Bounded {
            first: a.min(b),
            last: a.max(b)
        }),
        (0u64..700).prop_map(|first| ByteRange::From { first }),
        (1u64..700).prop_map(|len| ByteRange::Suffix { len }),
    ]
}

fn any_sizes() -> impl Strategy<Value = Sizes> {
    prop_oneof![
        4 => (any::<u8>(), any::<u16>()).prop_map(|(blocks, data)| Sizes::Small { blocks, data }),
        1 => (any::<u64>(), any::<u64>())
            .prop_map(|(part_size, data_size)| Sizes::Raw { part_size, data_size }),
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u16>().prop_map(Op::Open),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(sealer, len, seed, in_place, short_output)| Op::Update {
                sealer,
                len,
                seed,
                in_place,
                short_output,
            }),
        any::<u8>().prop_map(Op::Finish),
        any::<u8>().prop_map(Op::Drop),
        (
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            any::<bool>()
        )
            .prop_map(|(part, change, short)| Op::Reseal {
                part,
                change,
                short
            }),
        Just(Op::Resume),
        any::<u16>().prop_map(Op::Mark),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_then_open_at_any_chunking(
        (key, counter) in any_material(),
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        seal_cuts in proptest::collection::vec(1usize..300, 1..8),
        open_cuts in proptest::collection::vec(1usize..300, 1..8),
    ) {
        seal_and_open(key, counter, &data, Cuts::Cycle(&seal_cuts), Cuts::Cycle(&open_cuts));
    }

    #[test]
    fn split_sealing_in_any_order_equals_one_stream(
        (key, counter) in any_material(),
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(1usize..300, 1..8),
        seed in any::<u64>(),
    ) {
        seal_split(key, counter, &data, Cuts::Cycle(&cuts), seed);
    }

    #[test]
    fn any_range_is_the_matching_slice(
        (key, counter) in any_material(),
        len in 0usize..600,
        range in any_range(),
        known in any::<bool>(),
        cuts in proptest::collection::vec(1usize..100, 1..5),
    ) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        open_range(key, counter, &plain, range, known, Server::Standard, Cuts::Cycle(&cuts));
    }

    #[test]
    fn a_whole_object_answer_serves_any_satisfiable_range(
        (key, counter) in any_material(),
        len in 1usize..400,
        range in any_range(),
    ) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        open_range(key, counter, &plain, range, false, Server::Whole, Cuts::Cycle(&[len]));
    }

    #[test]
    fn any_range_header_plans_consistently(
        range in prop_oneof![
            "bytes=[0-9]{0,4}-[0-9]{0,4}",
            "(?i:bytes)=[0-9]{1,21}-",
            "[a-z]{0,6}=[0-9,-]{0,8}",
        ],
        object_len in proptest::option::of(prop_oneof![0u64..5000, any::<u64>()]),
        status in prop_oneof![Just(200u16), Just(206), Just(416), any::<u16>()],
        content_range in proptest::option::of(prop_oneof![
            "bytes [0-9]{1,4}-[0-9]{1,4}/[0-9]{1,4}",
            "bytes \\*/[0-9]{1,4}",
            "[ -~]{0,20}",
        ]),
        content_length in proptest::option::of(0u64..5000),
    ) {
        plan_any(&range, object_len, status, content_range.as_deref(), content_length);
    }

    #[test]
    fn multipart_parts_in_any_order_equal_the_single_stream(
        (key, counter) in any_material(),
        len in 1usize..700,
        blocks_per_part in 1u64..9,
        order_seed in any::<u64>(),
    ) {
        let part_size = 16 * blocks_per_part;
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let parts = (len as u64).div_ceil(part_size) as u32;
        let mut order: Vec<u32> = (1..=parts).collect();
        shuffle(&mut order, order_seed);
        parts_in_any_order(key, counter, &plain, part_size, &order);
    }

    #[test]
    fn any_multipart_operations_match_the_model(
        (key, counter) in any_material(),
        sizes in any_sizes(),
        ops in proptest::collection::vec(any_op(), 0..40),
    ) {
        operations(key, counter, sizes, &ops);
    }

    #[test]
    fn any_matdesc_bytes_canonicalise(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "\\{(\"[a-z\\\\\"]{0,4}\": ?\"[ -~]{0,4}\",? ?){0,4}\\}".prop_map(String::into_bytes),
        ],
    ) {
        parse_any(&data);
    }

    #[test]
    fn headers_round_trip(
        key in proptest::collection::vec(any::<u8>(), 1..=MAX_WRAPPED_LEN),
        start in proptest::collection::vec(any::<u8>(), 1..=512),
        wrap_alg in "[A-Za-z0-9/_.-]{1,64}",
        matdesc in proptest::collection::btree_map("\\PC{0,8}", "\\PC{0,8}", 0..4),
        plain_len in proptest::option::of(any::<u64>()),
        md5 in proptest::option::of(any::<[u8; 16]>()),
        multipart in proptest::option::of((1u64..1000, 1u64..1_000_000)),
        shout in any::<bool>(),
    ) {
        let matdesc: MatDesc = matdesc.into_iter().collect();
        let mut env = Envelope::from_wrapped(&wrap_alg, &matdesc.to_canonical(), &key, &start).unwrap();
        if let Some(n) = plain_len { env = env.with_unencrypted_content_length(n); }
        if let Some(d) = md5 { env = env.with_unencrypted_content_md5(d); }
        let env = match multipart {
            Some((blocks, data)) if data.div_ceil(blocks * 16) <= u64::from(MAX_PARTS) => {
                let m = ContentMaterial::new(ContentKey::from_bytes([0; 32]), CounterBlock::from_u128(0));
                match MultipartContext::new(sealed(m, &env.clone()), blocks * 16, data) {
                    Ok(upload) => upload.envelope().clone(),
                    // Two lengths that disagree are never written (and never read).
                    Err(e) => {
                        prop_assert!(plain_len.is_some_and(|n| n != data), "{e:?}");
                        prop_assert_eq!(e, Error::InvalidValue {
                            field: Field::DataSize,
                            problem: ValueProblem::DataSizeDisagrees,
                        });
                        env
                    }
                }
            }
            _ => env,
        };
        prop_assert_eq!(env.matdesc().unwrap(), matdesc);
        round_trip(&env, DEFAULT_PREFIX, shout);
    }

    #[test]
    fn decoding_any_header_map_never_panics(
        headers in proptest::collection::vec(
            (
                prop_oneof![
                    Just("key"), Just("start"), Just("cek-alg"), Just("wrap-alg"), Just("matdesc"),
                    Just("unencrypted-content-length"), Just("unencrypted-content-md5"),
                    Just("data-size"), Just("part-size"), Just("other"),
                ].prop_flat_map(|s| (Just(s), any::<bool>()))
                 .prop_map(|(s, up)| {
                     let n = format!("x-oss-meta-client-side-encryption-{s}");
                     if up { n.to_uppercase() } else { n }
                 }),
                proptest::collection::vec(any::<u8>(), 0..80),
            ),
            0..12,
        ),
        shout in any::<bool>(),
    ) {
        let pairs: Vec<(&[u8], &[u8])> = headers.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())).collect();
        decode_any(&pairs, DEFAULT_PREFIX, shout);
    }
}

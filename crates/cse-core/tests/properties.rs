//! Property tests for the engine's invariants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use cse_core::*;
use cse_testkit::range::Spec;
use proptest::prelude::*;

fn any_material() -> impl Strategy<Value = ContentMaterial> {
    // Counters near the carry points are the interesting ones; mix them with random ones.
    let counter = prop_oneof![
        any::<u128>(),
        (0u128..64).prop_map(|d| u128::MAX - d),
        (0u128..64).prop_map(|d| u128::from(u64::MAX) - d),
    ];
    (any::<[u8; 32]>(), counter).prop_map(|(k, c)| {
        ContentMaterial::new(ContentKey::from_bytes(k), CounterBlock::from_u128(c))
    })
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_then_open_at_any_chunking(
        m in any_material(),
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        seal_cuts in proptest::collection::vec(1usize..300, 1..8),
        open_cuts in proptest::collection::vec(1usize..300, 1..8),
        in_place in any::<bool>(),
    ) {
        let reference = seal_all(&m, &data);
        let mut sealer = Sealer::with_len(&m, data.len() as u64);
        let mut ct = Vec::new();
        for chunk in chunks(&data, &seal_cuts) {
            let mut out = vec![0u8; chunk.len()];
            if in_place {
                out.copy_from_slice(chunk);
                sealer.update_in_place(&mut out).unwrap();
            } else {
                sealer.update(chunk, &mut out).unwrap();
            }
            ct.extend_from_slice(&out);
        }
        prop_assert_eq!(sealer.finish().unwrap(), data.len() as u64);
        prop_assert_eq!(&ct, &reference);
        prop_assert!(data.len() < 32 || ct != data, "ciphertext differs from plaintext");

        let mut opener = Opener::with_len(&m, ct.len() as u64);
        let mut pt = Vec::new();
        for chunk in chunks(&ct, &open_cuts) {
            let mut out = vec![0u8; chunk.len()];
            let n = opener.update(chunk, &mut out).unwrap();
            pt.extend_from_slice(&out[..n]);
        }
        prop_assert_eq!(opener.finish().unwrap(), data.len() as u64);
        prop_assert_eq!(pt, data);
    }

    #[test]
    fn any_range_is_the_matching_slice(
        m in any_material(),
        len in 0usize..600,
        range in any_range(),
        known in any::<bool>(),
        cuts in proptest::collection::vec(1usize..100, 1..5),
    ) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        let ct = seal_all(&m, &plain);
        let want = Spec::from(range).slice(len);
        let result = plan_range(range, known.then_some(len as u64)).and_then(|plan| {
            let (resp, body) = serve(plan.wire_range(), &ct);
            let bp = plan.on_response(resp)?;
            let mut opener = bp.opener(&m);
            let mut got = Vec::new();
            for chunk in chunks(body, &cuts) {
                let mut c = chunk.to_vec();
                let kept = opener.update_in_place(&mut c)?;
                got.extend_from_slice(&c[kept]);
            }
            assert_eq!(opener.finish()?, got.len() as u64);
            assert_eq!(bp.content_length(), got.len() as u64);
            Ok(got)
        });
        match want {
            Some(r) => prop_assert_eq!(result.unwrap(), &plain[r]),
            None => prop_assert_eq!(result, Err(Error::RangeNotSatisfiable { object_len: Some(len as u64) })),
        }
    }

    #[test]
    fn a_whole_object_answer_serves_any_satisfiable_range(
        m in any_material(),
        len in 1usize..400,
        range in any_range(),
    ) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let ct = seal_all(&m, &plain);
        let plan = plan_range(range, None).unwrap();
        match (Spec::from(range).slice(len), plan.on_response(RangeResponse::Whole { len: len as u64 })) {
            (Some(r), Ok(bp)) => {
                let mut out = vec![0u8; len];
                let mut opener = bp.opener(&m);
                let n = opener.update(&ct, &mut out).unwrap();
                opener.finish().unwrap();
                prop_assert_eq!(&out[..n], &plain[r]);
            }
            (None, Err(e)) => prop_assert_eq!(e, Error::RangeNotSatisfiable { object_len: Some(len as u64) }),
            (want, got) => prop_assert!(false, "{want:?} vs {got:?}"),
        }
    }

    #[test]
    fn multipart_parts_in_any_order_equal_the_single_stream(
        m in any_material(),
        len in 1usize..700,
        blocks_per_part in 1u64..9,
        order_seed in any::<u64>(),
    ) {
        let part_size = 16 * blocks_per_part;
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let single = seal_all(&m, &plain);
        let env = Envelope::from_wrapped(WRAP_ALG_KMS, "", b"k", b"s").unwrap();
        let up = MultipartContext::new(sealed(copy(&m), &env), part_size, len as u64).unwrap();
        let mut order: Vec<u32> = (1..=up.part_count()).collect();
        // Fisher-Yates with a splitmix64 stream: any permutation is reachable.
        let mut s = order_seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            order.swap(i, (z % (i as u64 + 1)) as usize);
        }
        let mut assembled = vec![0u8; len];
        for part in order {
            let mut sealer = up.part_sealer(part).unwrap();
            let start = (u64::from(part - 1) * part_size) as usize;
            let end = start + sealer.len() as usize;
            sealer.update(&plain[start..end], &mut assembled[start..end]).unwrap();
            sealer.finish().unwrap();
        }
        prop_assert_eq!(assembled, single);
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
        let mut headers = env.to_headers(DEFAULT_PREFIX).unwrap();
        if shout {
            headers.iter_mut().for_each(|(k, _)| *k = k.to_uppercase());
        }
        headers.reverse();
        let back = decode_envelope(as_refs(&headers), &DecodeOptions::strict()).unwrap().unwrap();
        prop_assert_eq!(back.matdesc().unwrap(), matdesc);
        prop_assert_eq!(back, env);
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
        strict in any::<bool>(),
    ) {
        let opts = if strict { DecodeOptions::strict() } else { DecodeOptions::default() };
        let pairs: Vec<(&[u8], &[u8])> = headers.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())).collect();
        if let Ok(Some(env)) = decode_envelope(pairs.iter().map(|(k, v)| (*k, *v)), &opts) {
            // Whatever decodes, re-encodes to something that decodes to the same envelope.
            let again = env.to_headers(DEFAULT_PREFIX).unwrap();
            prop_assert_eq!(decode_envelope(as_refs(&again), &opts).unwrap().unwrap(), env);
        }
    }
}

//! The side-car of an authenticated object and the `cse-auth-*` headers:
//! - any bytes either decode to a side-car header that encodes back to exactly its 208 bytes,
//!   or are refused with a typed error; the tag list of a decoded header is read without a
//!   panic, and the whole check (`check_sidecar`, with and without trusted writer keys, so the
//!   signature check runs on any bytes) of any bytes returns, never panics;
//! - a ranged read's chunk plan over any range and length stays inside the object, and any
//!   tag index reads from any slice without a panic;
//! - any header lines (`name:value`) decode to parameters that encode and decode back to
//!   themselves, or to a typed error.
#![no_main]

use cse_core::auth::{
    AuthKeys, AuthParams, Binding, ChunkPlan, Commitment, EnvelopeDigest, Expected,
    SIDECAR_HEADER_LEN, SidecarHeader, chunk_count,
};
use cse_core::{
    ByteRange, ContentKey, ContentMaterial, CounterBlock, DEFAULT_PREFIX, DecodeOptions,
    decode_auth_params, decode_envelope,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = SidecarHeader::decode(data) {
        assert_eq!(&header.encode()[..], &data[..SIDECAR_HEADER_LEN]);
        match header.tags(data) {
            Ok(tags) => assert_eq!(tags.len() as u64, header.chunks()),
            Err(_) => assert_ne!(data.len() as u64, header.sidecar_len()),
        }
        let tail = &data[SIDECAR_HEADER_LEN..];
        for index in [
            0,
            1,
            header.chunks().saturating_sub(1),
            header.chunks(),
            u64::MAX,
        ] {
            let _ = header.tag_at(tail, 0, index);
            let _ = header.tag_at(tail, index, index);
        }
    }
    if data.len() >= 17 {
        let num = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let (a, len) = (num(0), num(8) >> (data[16] % 64));
        let range = match data[16] % 3 {
            0 => ByteRange::Bounded {
                first: a.min(len),
                last: a.max(len),
            },
            1 => ByteRange::From { first: a },
            _ => ByteRange::Suffix { len: a },
        };
        let plan = ChunkPlan::new(range, len, 1 << 16).unwrap();
        assert!(plan.chunks.start < plan.chunks.end);
        assert!(plan.chunks.end <= chunk_count(len, 1 << 16));
        assert!(plan.body.start <= plan.body.end && plan.body.end <= len);
        if let Some(release) = &plan.release {
            assert!(plan.body.start <= release.start && release.end <= plan.body.end);
        }
    }
    let keys = AuthKeys::derive(&ContentMaterial::new(
        ContentKey::from_bytes([1; 32]),
        CounterBlock::from_bytes([2; 16]),
    ));
    let pairs = [
        ("x-oss-meta-client-side-encryption-key", "AQID"),
        ("x-oss-meta-client-side-encryption-start", "BAUG"),
        (
            "x-oss-meta-client-side-encryption-cek-alg",
            "AES/CTR/NoPadding",
        ),
        (
            "x-oss-meta-client-side-encryption-wrap-alg",
            "RSA/NONE/PKCS1Padding",
        ),
    ];
    let envelope = decode_envelope(pairs, &DecodeOptions::default())
        .unwrap()
        .unwrap();
    let trusted = [[5u8; 32]];
    for (binding, trusted) in [(Binding::None, &[][..]), (Binding::BucketKey, &trusted[..])] {
        let params = AuthParams {
            chunk_size: 1 << 16,
            commitment: Commitment([3; 32]),
            binding,
        };
        let len = data.len() as u64;
        let expected = Expected {
            envelope: &envelope,
            params: &params,
            len,
            name: Some((b"b", b"k")),
            trusted,
        };
        let _ = keys.check_sidecar(&EnvelopeDigest([4; 32]), &expected, data);
    }

    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let refs = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    if let Ok(Some(params)) = decode_auth_params(refs, DEFAULT_PREFIX) {
        let mut again = Vec::new();
        params
            .encode_headers(DEFAULT_PREFIX, |n, v| {
                again.push((n.to_owned(), v.to_owned()))
            })
            .unwrap();
        let refs = again.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        assert_eq!(decode_auth_params(refs, DEFAULT_PREFIX), Ok(Some(params)));
    }
});

//! The side-car of an authenticated object and the `cse-auth-*` headers:
//! - any bytes either decode to a side-car header that encodes back to exactly its 208 bytes,
//!   or are refused with a typed error; the tag list of a decoded header is read without a
//!   panic, and the whole check (`check_sidecar`, with and without trusted writer keys, so the
//!   signature check runs on any bytes) of any bytes returns, never panics;
//! - a ranged read's chunk plan over any range and length stays inside the object, and any
//!   tag index reads from any slice without a panic;
//! - the verifier (`ChunkOpener`) over the data as a ciphertext with its genuine tags, one
//!   maybe corrupted, any range, any piece sizes: a clean read releases exactly its range, a
//!   corrupted chunk it reads is refused;
//! - any header lines (`name:value`) decode to parameters that encode and decode back to
//!   themselves, or to a typed error.
#![no_main]

use cse_core::auth::{
    AuthKeys, AuthParams, Binding, ChunkCipher, ChunkOpener, ChunkPlan, Commitment, EnvelopeDigest,
    Expected, SIDECAR_HEADER_LEN, SidecarHeader, Tag, chunk_count,
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

    // The verifier: `data` as an object's ciphertext with its genuine tags, one of them
    // corrupted when the first byte says so, read through a chunk opener over a range from
    // the next bytes, fed in pieces whose sizes come from the data. Never a panic; a clean
    // object releases exactly its range; a corrupted planned chunk is refused.
    if data.len() >= 6 {
        let material = ContentMaterial::new(
            ContentKey::from_bytes([1; 32]),
            CounterBlock::from_bytes([2; 16]),
        );
        let params = AuthParams {
            chunk_size: 1 << 16,
            commitment: keys.commitment(),
            binding: Binding::None,
        };
        let len = data.len() as u64;
        let digest = keys.envelope_digest(&envelope, &params);
        let n = chunk_count(len, 1 << 16);
        let mut tags: Vec<Tag> = (0..n)
            .map(|i| {
                let from = (i << 16) as usize;
                let to = (from + (1 << 16)).min(data.len());
                keys.chunk_tag(&digest, i, i + 1 == n, &data[from..to])
            })
            .collect();
        let corrupt = (data[0] & 1 == 1).then(|| u64::from(data[1]) % n);
        if let Some(i) = corrupt {
            tags[i as usize].0[0] ^= 1;
        }
        let header = SidecarHeader {
            chunk_size: 1 << 16,
            len,
            digest,
            final_tag: keys.final_tag(&digest, len, tags.iter()),
            wrapping_tag: keys.wrapping_tag(&digest, &envelope),
            binding_tag: None,
            signature: None,
        };
        let a = u64::from(u16::from_le_bytes([data[2], data[3]])) * 7;
        let range = match data[4] % 4 {
            0 => None,
            1 => Some(ByteRange::From { first: a }),
            2 => Some(ByteRange::Suffix { len: a }),
            _ => Some(ByteRange::Bounded {
                first: a,
                last: a + u64::from(data[5]) * 999,
            }),
        };
        let plan = match range {
            Some(r) => ChunkPlan::new(r, len, 1 << 16),
            None => ChunkPlan::whole(len, 1 << 16),
        }
        .unwrap();
        let tag_bytes: Vec<u8> = tags[plan.chunks.start as usize..plan.chunks.end as usize]
            .iter()
            .flat_map(|t| t.0)
            .collect();
        let cipher = ChunkCipher::new(&material, &envelope, &params, len).unwrap();
        let mut opener =
            ChunkOpener::new(cipher, header, tag_bytes, plan.chunks.start, plan.clone()).unwrap();
        let mut body = &data[plan.body.start as usize..plan.body.end as usize];
        let mut released = 0u64;
        let mut failed = false;
        let mut step = 1 + usize::from(data[5]) * 97;
        while !body.is_empty() && !failed {
            let piece = &body[..step.min(body.len())];
            match opener.update(piece) {
                Ok((used, out)) => {
                    released += out.map_or(0, |o| o.len() as u64);
                    body = &body[used..];
                }
                Err(_) => failed = true,
            }
            step = step * 3 % 70_001 + 1;
        }
        let finished = !failed && opener.finish().is_ok();
        let want = plan.release.as_ref().map_or(0, |r| r.end - r.start);
        match corrupt {
            Some(i) if plan.chunks.contains(&i) => assert!(!finished),
            _ => {
                assert!(finished);
                assert_eq!(released, want);
            }
        }
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

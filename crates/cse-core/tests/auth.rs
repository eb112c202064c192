//! Authenticated objects against `testvectors/auth/vectors.json`, which
//! `testvectors/auth/generate.py` computed from the design document alone (the standard
//! library's HMAC for HKDF, the reference BLAKE3): the commitment, the envelope digest, every
//! chunk tag, the final and binding tags, and the side-car bytes. Then the refusals of the
//! side-car parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use cse_core::auth::*;
use cse_core::{DecodeOptions, decode_envelope};
use cse_testkit::headers::as_refs;
use sha2::Digest as _;

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn tag(s: &str) -> Tag {
    Tag(hex::decode(s).unwrap().try_into().unwrap())
}

#[test]
fn the_vectors_match_the_design() {
    let text = std::fs::read_to_string(testvectors().join("auth/vectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    assert!(cases.iter().any(|c| c.get("signature").is_some()));
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let material = cse_testkit::keystream::material(
            hex32(case["key"].as_str().unwrap()),
            hex::decode(case["counter"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let pairs: Vec<(String, String)> = case["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let envelope = decode_envelope(as_refs(&pairs), &DecodeOptions::default())
            .unwrap()
            .unwrap();
        let keys = AuthKeys::derive(&material);
        let commitment = Commitment(hex32(case["commitment"].as_str().unwrap()));
        assert_eq!(keys.commitment(), commitment, "{name}");
        let mut header = None;
        AuthParams {
            chunk_size: 1 << 16,
            commitment,
            binding: Binding::None,
        }
        .encode_headers(cse_core::DEFAULT_PREFIX, |n, v| {
            if n.ends_with("commitment") {
                header = Some(v.to_owned());
            }
        })
        .unwrap();
        assert_eq!(
            header.as_deref(),
            case["commitment_header"].as_str(),
            "{name}"
        );
        keys.check_commitment(&commitment).unwrap();
        let chunk_size = check_chunk_size(case["chunk_size"].as_u64().unwrap()).unwrap();
        let bound = case.get("binding_tag").is_some();
        let params = AuthParams {
            chunk_size,
            commitment,
            binding: if bound {
                Binding::BucketKey
            } else {
                Binding::None
            },
        };
        let digest = keys.envelope_digest(&envelope, &params);
        assert_eq!(
            digest,
            EnvelopeDigest(hex32(case["envelope_digest"].as_str().unwrap())),
            "{name}"
        );

        let len = case["ciphertext_len"].as_u64().unwrap();
        let ciphertext: Vec<u8> = (0..len).map(|i| (7 * i + 3) as u8).collect();
        let want: Vec<Tag> = case["chunk_tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| tag(t.as_str().unwrap()))
            .collect();
        let n = chunk_count(len, chunk_size);
        assert_eq!(want.len() as u64, n, "{name}");
        let cs = chunk_size as usize;
        let mut tags = Vec::new();
        for i in 0..n {
            let from = (i as usize * cs).min(ciphertext.len());
            let to = (from + cs).min(ciphertext.len());
            let last = i + 1 == n;
            let whole = keys.chunk_tag(&digest, i, last, &ciphertext[from..to]);
            // The incremental tagger, fed in odd pieces, agrees.
            let mut tagger = keys.chunk_tagger(&digest, i);
            for piece in ciphertext[from..to].chunks(4099) {
                tagger.update(piece);
            }
            assert_eq!(tagger.finish(last), whole, "{name} chunk {i}");
            assert!(whole.verify(&want[i as usize]), "{name} chunk {i}");
            // The flag is bound: the same chunk tagged the other way differs.
            assert_ne!(
                keys.chunk_tag(&digest, i, !last, &ciphertext[from..to]),
                whole
            );
            tags.push(whole);
        }
        let final_tag = keys.final_tag(&digest, len, tags.iter());
        assert_eq!(
            final_tag,
            tag(case["final_tag"].as_str().unwrap()),
            "{name}"
        );

        let binding_tag = case.get("binding_tag").map(|b| {
            let got = keys.binding_tag(
                &digest,
                case["bucket"].as_str().unwrap().as_bytes(),
                case["object"].as_str().unwrap().as_bytes(),
            );
            assert_eq!(got, tag(b.as_str().unwrap()), "{name}");
            got
        });
        let wrapping_tag = keys.wrapping_tag(&digest, &envelope);
        assert_eq!(
            wrapping_tag,
            tag(case["wrapping_tag"].as_str().unwrap()),
            "{name}"
        );
        let mut header = SidecarHeader {
            chunk_size,
            len,
            digest,
            final_tag,
            wrapping_tag,
            binding_tag,
            signature: None,
        };
        if let Some(seed) = case.get("writer_seed") {
            let writer = WriterKey::from_seed(&hex32(seed.as_str().unwrap()));
            assert_eq!(
                hex::encode(writer.public()),
                case["writer_public"].as_str().unwrap()
            );
            writer.sign(&mut header);
            let (_, signature) = header.signature.unwrap();
            assert_eq!(
                hex::encode(signature),
                case["signature"].as_str().unwrap(),
                "{name}"
            );
        }
        let encoded = header.encode();
        assert_eq!(
            hex::encode(encoded),
            case["sidecar_header"].as_str().unwrap(),
            "{name}"
        );
        let mut sidecar = encoded.to_vec();
        for t in &tags {
            sidecar.extend_from_slice(&t.0);
        }
        assert_eq!(sidecar.len() as u64, header.sidecar_len());
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&sidecar)),
            case["sidecar_sha256"].as_str().unwrap(),
            "{name}"
        );
        let decoded = SidecarHeader::decode(&sidecar).unwrap();
        assert_eq!(decoded, header, "{name}");
        decoded.check_digest(&digest).unwrap();
        assert_eq!(decoded.tags(&sidecar).unwrap().collect::<Vec<_>>(), tags);
        let trusted: Vec<[u8; 32]> = header.signature.iter().map(|(k, _)| *k).collect();
        let expected = Expected {
            envelope: &envelope,
            params: &params,
            len,
            name: binding_tag.map(|_| {
                (
                    case["bucket"].as_str().unwrap().as_bytes(),
                    case["object"].as_str().unwrap().as_bytes(),
                )
            }),
            trusted: &trusted,
        };
        assert_eq!(
            keys.check_sidecar(&digest, &expected, &sidecar),
            Ok(header),
            "{name}"
        );
        for i in 0..n {
            let at = SidecarHeader::tag_offset(i) as usize;
            assert_eq!(&sidecar[at..at + TAG_LEN], &tags[i as usize].0);
        }
    }
}

#[test]
fn a_wrong_material_fails_the_commitment() {
    let right = cse_testkit::keystream::material([1; 32], [2; 16]);
    let wrong_key = cse_testkit::keystream::material([9; 32], [2; 16]);
    let wrong_counter = cse_testkit::keystream::material([1; 32], [3; 16]);
    let stored = AuthKeys::derive(&right).commitment();
    assert_eq!(AuthKeys::derive(&right).check_commitment(&stored), Ok(()));
    for m in [wrong_key, wrong_counter] {
        assert_eq!(
            AuthKeys::derive(&m).check_commitment(&stored),
            Err(AuthError::Commitment)
        );
    }
    let keys = AuthKeys::derive(&right);
    let shown = format!("{keys:?}");
    assert!(
        shown.starts_with("AuthKeys { commitment: Commitment("),
        "{shown}"
    );
    assert_eq!(
        AuthError::Commitment.to_string(),
        "commitment check failed: wrong master key, or the key or start header was replaced"
    );
}

#[test]
fn chunk_sizes_are_powers_of_two_in_range() {
    assert_eq!(check_chunk_size(1 << 16), Ok(1 << 16));
    assert_eq!(check_chunk_size(1 << 26), Ok(1 << 26));
    for bad in [0, 1 << 15, (1 << 20) + 16, 1 << 27, u64::MAX] {
        assert_eq!(
            check_chunk_size(bad),
            Err(AuthError::ChunkSize { size: bad })
        );
    }
    assert_eq!(chunk_count(0, 1 << 16), 1);
    assert_eq!(chunk_count(1 << 16, 1 << 16), 1);
    assert_eq!(chunk_count((1 << 16) + 1, 1 << 16), 2);
    assert_eq!(chunk_count(u64::MAX, 1 << 16), (u64::MAX >> 16) + 1);
}

#[test]
fn the_sidecar_parser_refuses_each_malformation() {
    let header = SidecarHeader {
        chunk_size: 1 << 16,
        len: 100_000,
        digest: EnvelopeDigest([7; 32]),
        final_tag: Tag([8; 16]),
        wrapping_tag: Tag([9; 16]),
        binding_tag: None,
        signature: None,
    };
    let good = header.encode();
    let mut sidecar = good.to_vec();
    sidecar.extend_from_slice(&[0; 32]); // two tags
    assert_eq!(SidecarHeader::decode(&sidecar), Ok(header));
    let problem = |mutate: &dyn Fn(&mut [u8; SIDECAR_HEADER_LEN])| {
        let mut h = good;
        mutate(&mut h);
        SidecarHeader::decode(&h)
    };
    use SidecarProblem as P;
    assert_eq!(
        SidecarHeader::decode(&good[..SIDECAR_HEADER_LEN - 1]),
        Err(AuthError::Sidecar(P::TooShort))
    );
    assert_eq!(problem(&|h| h[0] = b'X'), Err(AuthError::Sidecar(P::Magic)));
    assert_eq!(
        problem(&|h| h[8] = 2),
        Err(AuthError::Sidecar(P::Version(2)))
    );
    assert_eq!(problem(&|h| h[9] = 4), Err(AuthError::Sidecar(P::Reserved)));
    assert_eq!(
        problem(&|h| h[11] = 1),
        Err(AuthError::Sidecar(P::Reserved))
    );
    assert_eq!(
        problem(&|h| h[12..16].copy_from_slice(&100u32.to_be_bytes())),
        Err(AuthError::ChunkSize { size: 100 })
    );
    assert_eq!(
        problem(&|h| h[31] = 3),
        Err(AuthError::Sidecar(P::ChunkCount))
    );
    assert_eq!(
        problem(&|h| h[100] = 1),
        Err(AuthError::Sidecar(P::UnusedField)),
        "a binding tag without the flag"
    );
    assert_eq!(
        problem(&|h| h[160] = 1),
        Err(AuthError::Sidecar(P::UnusedField)),
        "a signature without the flag"
    );
    assert_eq!(
        header.tags(&sidecar[..sidecar.len() - 1]).map(|_| ()),
        Err(AuthError::Sidecar(P::TooShort))
    );
    let mut long = sidecar.clone();
    long.push(0);
    assert_eq!(
        header.tags(&long).map(|_| ()),
        Err(AuthError::Sidecar(P::TrailingBytes))
    );
    assert_eq!(
        header.check_digest(&EnvelopeDigest([6; 32])),
        Err(AuthError::SidecarOfAnotherObject)
    );
}

#[test]
fn the_auth_headers_round_trip_and_each_problem_is_named() {
    use cse_core::{DEFAULT_PREFIX, Error, Field, ValueProblem, decode_auth_params};
    let params = AuthParams {
        chunk_size: 1 << 20,
        commitment: Commitment([0xab; 32]),
        binding: Binding::BucketKey,
    };
    let mut pairs = Vec::new();
    params
        .encode_headers(DEFAULT_PREFIX, |n, v| {
            pairs.push((n.to_owned(), v.to_owned()))
        })
        .unwrap();
    assert_eq!(
        pairs,
        [
            ("x-oss-meta-cse-auth-version".to_owned(), "1".to_owned()),
            (
                "x-oss-meta-cse-auth-chunk-size".to_owned(),
                "1048576".to_owned()
            ),
            (
                "x-oss-meta-cse-auth-commitment".to_owned(),
                "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=".to_owned()
            ),
            (
                "x-oss-meta-cse-auth-binding".to_owned(),
                "bucket-key".to_owned()
            ),
        ]
    );
    let decode = |pairs: &[(String, String)]| decode_auth_params(as_refs(pairs), DEFAULT_PREFIX);
    assert_eq!(decode(&pairs), Ok(Some(params)));
    // Names in any case; other metadata is ignored; no auth header at all is "not authenticated".
    let mut shouty: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_ascii_uppercase(), v.clone()))
        .collect();
    shouty.push(("x-oss-meta-other".into(), "x".into()));
    assert_eq!(decode(&shouty), Ok(Some(params)));
    assert_eq!(decode(&[("x-oss-meta-other".into(), "x".into())]), Ok(None));

    let with = |name: &str, value: Option<&str>| {
        let mut p: Vec<(String, String)> = pairs
            .iter()
            .filter(|(n, _)| !n.ends_with(name))
            .cloned()
            .collect();
        if let Some(v) = value {
            p.push((format!("x-oss-meta-cse-auth-{name}"), v.to_owned()));
        }
        decode(&p)
    };
    let invalid = |field, problem| Err(Error::InvalidValue { field, problem });
    assert_eq!(
        with("version", None),
        Err(Error::MissingHeader(Field::AuthVersion))
    );
    assert_eq!(
        with("version", Some("2")),
        invalid(Field::AuthVersion, ValueProblem::UnsupportedAuthVersion)
    );
    assert_eq!(
        with("version", Some("1.0")),
        Err(Error::InvalidNumber(Field::AuthVersion))
    );
    assert_eq!(
        with("chunk-size", None),
        Err(Error::MissingHeader(Field::AuthChunkSize))
    );
    assert_eq!(
        with("chunk-size", Some("1000000")),
        invalid(Field::AuthChunkSize, ValueProblem::AuthChunkSize)
    );
    assert_eq!(
        with("commitment", None),
        Err(Error::MissingHeader(Field::AuthCommitment))
    );
    assert_eq!(
        with(
            "commitment",
            Some("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur")
        ),
        Err(Error::InvalidBase64(Field::AuthCommitment)),
        "30 bytes"
    );
    assert_eq!(
        with("commitment", Some("not base64!")),
        Err(Error::InvalidBase64(Field::AuthCommitment))
    );
    assert_eq!(
        with("binding", Some("bucket")),
        invalid(Field::AuthBinding, ValueProblem::UnknownBinding)
    );
    assert_eq!(
        with("binding", None).unwrap().unwrap().binding,
        Binding::None,
        "an absent binding is none"
    );
    let mut twice = pairs.clone();
    twice.push(("X-Oss-Meta-Cse-Auth-Version".into(), "1".into()));
    assert_eq!(
        decode(&twice),
        Err(Error::DuplicateHeader(Field::AuthVersion))
    );
    // A lone stray header still announces authentication, so it cannot be ignored.
    assert_eq!(
        decode(&[("x-oss-meta-cse-auth-whatever".into(), "1".into())]),
        Err(Error::MissingHeader(Field::AuthVersion))
    );
    let shown = Error::InvalidValue {
        field: Field::AuthChunkSize,
        problem: ValueProblem::AuthChunkSize,
    }
    .to_string();
    assert!(
        shown.contains("cse-auth-chunk-size") && shown.contains("power of two"),
        "{shown}"
    );
}

const CS: u32 = 1 << 16;

fn object(len: usize, seed: u8) -> Vec<u8> {
    // Not periodic, so that no two chunks are equal.
    (0..len as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8 ^ seed)
        .collect()
}

/// The reference: every chunk tagged whole with `chunk_tag`.
fn reference_tags(keys: &AuthKeys, digest: &EnvelopeDigest, ct: &[u8]) -> Vec<Tag> {
    let n = chunk_count(ct.len() as u64, CS);
    (0..n)
        .map(|i| {
            let from = (i as usize * CS as usize).min(ct.len());
            let to = (from + CS as usize).min(ct.len());
            keys.chunk_tag(digest, i, i + 1 == n, &ct[from..to])
        })
        .collect()
}

fn setup() -> (AuthKeys, EnvelopeDigest, AuthParams) {
    let (params, envelope) = setup_envelope();
    let keys = AuthKeys::derive(&cse_testkit::keystream::material([5; 32], [6; 16]));
    let digest = keys.envelope_digest(&envelope, &params);
    (keys, digest, params)
}

/// The parameters and envelope of the tests' object (material `[5; 32]`, `[6; 16]`).
fn setup_pairs() -> (AuthParams, Vec<(String, String)>) {
    let material = cse_testkit::keystream::material([5; 32], [6; 16]);
    let keys = AuthKeys::derive(&material);
    let params = AuthParams {
        chunk_size: CS,
        commitment: keys.commitment(),
        binding: Binding::None,
    };
    let pairs = vec![
        (
            "x-oss-meta-client-side-encryption-key".to_owned(),
            "AQID".to_owned(),
        ),
        (
            "x-oss-meta-client-side-encryption-start".to_owned(),
            "BAUG".to_owned(),
        ),
        (
            "x-oss-meta-client-side-encryption-cek-alg".to_owned(),
            "AES/CTR/NoPadding".to_owned(),
        ),
        (
            "x-oss-meta-client-side-encryption-wrap-alg".to_owned(),
            "RSA/NONE/PKCS1Padding".to_owned(),
        ),
    ];
    (params, pairs)
}

fn setup_envelope() -> (AuthParams, cse_core::Envelope) {
    let (params, pairs) = setup_pairs();
    let envelope = decode_envelope(as_refs(&pairs), &DecodeOptions::default())
        .unwrap()
        .unwrap();
    (params, envelope)
}

/// The whole side-car check against `setup_envelope`'s envelope, no writer keys trusted.
fn check(
    keys: &AuthKeys,
    digest: &EnvelopeDigest,
    params: &AuthParams,
    len: u64,
    name: Option<(&[u8], &[u8])>,
    sidecar: &[u8],
) -> Result<SidecarHeader, AuthError> {
    let (_, envelope) = setup_envelope();
    let expected = Expected {
        envelope: &envelope,
        params,
        len,
        name,
        trusted: &[],
    };
    keys.check_sidecar(digest, &expected, sidecar)
}

fn sidecar(keys: &AuthKeys, digest: &EnvelopeDigest, len: u64, tags: &[Tag]) -> Vec<u8> {
    let header = SidecarHeader {
        chunk_size: CS,
        len,
        digest: *digest,
        final_tag: keys.final_tag(digest, len, tags.iter()),
        wrapping_tag: keys.wrapping_tag(digest, &setup_envelope().1),
        binding_tag: None,
        signature: None,
    };
    let mut out = header.encode().to_vec();
    for t in tags {
        out.extend_from_slice(&t.0);
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    #[test]
    fn chunk_streams_in_any_pieces_and_any_part_order_give_the_reference_tags(
        len in 0usize..(4 * CS as usize + 100),
        cuts in proptest::collection::vec(1usize..100_000, 1..6),
        blocks_per_part in 1u64..4,
        seed in proptest::prelude::any::<u64>(),
    ) {
        let (keys, digest, _) = setup();
        let ct = object(len, seed as u8);
        let want = reference_tags(&keys, &digest, &ct);

        let mut got = Vec::new();
        let mut sink = |i: u64, t: Tag| got.push((i, t));
        let mut stream = ChunkStream::new(&keys, digest, CS, 0).unwrap();
        let mut rest = &ct[..];
        for &c in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(c.min(rest.len()));
            stream.update(now, &mut sink);
            rest = later;
        }
        let last = stream.finish(true, &mut sink);
        proptest::prop_assert_eq!(last + 1, want.len() as u64);
        let indexes: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
        proptest::prop_assert_eq!(indexes, (0..want.len() as u64).collect::<Vec<_>>());
        proptest::prop_assert_eq!(got.iter().map(|(_, t)| *t).collect::<Vec<_>>(), want.clone());

        // Multipart: parts of whole chunks, tagged in a shuffled order, give the same tags.
        let part_size = u64::from(CS) * blocks_per_part;
        check_part_size(part_size, CS).unwrap();
        let parts = (len as u64).div_ceil(part_size).max(1);
        let mut order: Vec<u64> = (1..=parts).collect();
        cse_testkit::rng::shuffle(&mut order, seed);
        let mut by_index = std::collections::BTreeMap::new();
        for p in order {
            let from = ((p - 1) * part_size) as usize;
            let to = (from + part_size as usize).min(len);
            let mut sink = |i: u64, t: Tag| {
                proptest::prop_assert!(by_index.insert(i, t).is_none(), "chunk {} twice", i);
                Ok(())
            };
            let mut errors = Vec::new();
            let mut record = |i, t| { if let Err(e) = sink(i, t) { errors.push(e) } };
            let mut stream =
                ChunkStream::new(&keys, digest, CS, (p - 1) * part_size / u64::from(CS)).unwrap();
            stream.update(&ct[from..to], &mut record);
            stream.finish(p == parts, &mut record);
            proptest::prop_assert!(errors.is_empty());
        }
        proptest::prop_assert_eq!(by_index.into_values().collect::<Vec<_>>(), want);
    }
}

#[test]
fn every_tamper_class_is_detected() {
    let (keys, digest, params) = setup();
    let len = 3 * CS as usize + CS as usize / 2; // 3.5 chunks
    let ct = object(len, 1);
    let tags = reference_tags(&keys, &digest, &ct);
    let good = sidecar(&keys, &digest, len as u64, &tags);
    let header = check(&keys, &digest, &params, len as u64, None, &good).unwrap();
    assert_eq!(header.chunks(), 4);
    let chunk = |ct: &[u8], i: u64| {
        let from = (i as usize * CS as usize).min(ct.len());
        ct[from..(from + CS as usize).min(ct.len())].to_vec()
    };
    let check_all = |ct: &[u8], tags: &[Tag]| -> Vec<u64> {
        let n = chunk_count(ct.len() as u64, CS);
        (0..n)
            .filter(|&i| {
                let t = tags.get(i as usize).copied().unwrap_or_default();
                keys.check_chunk(&digest, i, i + 1 == n, &chunk(ct, i), &t)
                    .is_err()
            })
            .collect()
    };
    assert!(check_all(&ct, &tags).is_empty());

    // A flipped bit in the first, a middle and the last chunk fails that chunk only.
    for (i, at) in [(0u64, 5usize), (1, CS as usize + 77), (3, len - 1)] {
        let mut bad = ct.clone();
        bad[at] ^= 0x10;
        assert_eq!(check_all(&bad, &tags), vec![i], "bit flip at {at}");
        assert_eq!(
            keys.check_chunk(&digest, i, i == 3, &chunk(&bad, i), &tags[i as usize]),
            Err(AuthError::Chunk { index: i })
        );
    }
    // Truncation and extension, by one byte and by a whole chunk: the side-car disagrees on the
    // length; a side-car rewritten for the new length fails its final tag (without the key,
    // the old tags are all an attacker has), and the new last chunk fails its tag.
    for new_len in [len - 1, len + 1, 2 * CS as usize, len + CS as usize] {
        assert_eq!(
            check(&keys, &digest, &params, new_len as u64, None, &good),
            Err(AuthError::LengthMismatch {
                sidecar: len as u64,
                object: new_len as u64
            })
        );
        let n = chunk_count(new_len as u64, CS) as usize;
        let mut forged_tags = tags.clone();
        forged_tags.resize(n, Tag::default());
        let mut forged = SidecarHeader::decode(&good).unwrap();
        forged.len = new_len as u64;
        let mut bytes = forged.encode().to_vec();
        for t in &forged_tags {
            bytes.extend_from_slice(&t.0);
        }
        assert_eq!(
            check(&keys, &digest, &params, new_len as u64, None, &bytes),
            Err(AuthError::FinalTag),
            "length {new_len}"
        );
        let mut moved = ct.clone();
        moved.resize(new_len, 0xee);
        assert!(
            !check_all(&moved, &forged_tags).is_empty(),
            "length {new_len}"
        );
    }
    // Reordering: two tags swapped in the side-car fail the final tag; two chunks swapped in
    // the object fail both chunks.
    let mut swapped = tags.clone();
    swapped.swap(0, 1);
    assert_eq!(
        check(&keys, &digest, &params, len as u64, None, &{
            let mut b = good[..SIDECAR_HEADER_LEN].to_vec();
            for t in &swapped {
                b.extend_from_slice(&t.0);
            }
            b
        }),
        Err(AuthError::FinalTag)
    );
    let mut reordered = ct.clone();
    let (a, b) = reordered.split_at_mut(CS as usize);
    a.swap_with_slice(&mut b[..CS as usize]);
    assert_eq!(check_all(&reordered, &tags), vec![0, 1]);
    // Another object's side-car, and another object's envelope.
    let other = cse_testkit::keystream::material([7; 32], [6; 16]);
    let other_keys = AuthKeys::derive(&other);
    let other_digest = EnvelopeDigest([1; 32]);
    let foreign = sidecar(&other_keys, &other_digest, len as u64, &tags);
    assert_eq!(
        check(&keys, &digest, &params, len as u64, None, &foreign),
        Err(AuthError::SidecarOfAnotherObject)
    );
    assert_eq!(
        check(
            &keys,
            &digest,
            &AuthParams {
                chunk_size: CS * 2,
                ..params
            },
            len as u64,
            None,
            &good
        ),
        Err(AuthError::ChunkSizeMismatch)
    );
    // Binding: a bound object's side-car checks its name; clearing the flag, or dropping the
    // binding header (which changes the digest), is caught; a signed side-car is refused.
    let bound_params = AuthParams {
        binding: Binding::BucketKey,
        ..params
    };
    let (_, envelope) = setup_envelope();
    let bound_digest = keys.envelope_digest(&envelope, &bound_params);
    assert_ne!(bound_digest, digest, "the binding mode is in the digest");
    let bound_tags = reference_tags(&keys, &bound_digest, &ct);
    let mut bound_header =
        SidecarHeader::decode(&sidecar(&keys, &bound_digest, len as u64, &bound_tags)).unwrap();
    bound_header.binding_tag = Some(keys.binding_tag(&bound_digest, b"bkt", b"a/b"));
    let with_tags = |h: &SidecarHeader| {
        let mut b = h.encode().to_vec();
        for t in &bound_tags {
            b.extend_from_slice(&t.0);
        }
        b
    };
    let bound_sidecar = with_tags(&bound_header);
    let name: Option<(&[u8], &[u8])> = Some((b"bkt", b"a/b"));
    check(
        &keys,
        &bound_digest,
        &bound_params,
        len as u64,
        name,
        &bound_sidecar,
    )
    .unwrap();
    assert_eq!(
        check(
            &keys,
            &bound_digest,
            &bound_params,
            len as u64,
            Some((b"bkt", b"a/c")),
            &bound_sidecar
        ),
        Err(AuthError::BindingTag)
    );
    assert_eq!(
        check(
            &keys,
            &bound_digest,
            &bound_params,
            len as u64,
            None,
            &bound_sidecar
        ),
        Err(AuthError::BindingMismatch)
    );
    let stripped = with_tags(&SidecarHeader {
        binding_tag: None,
        ..bound_header
    });
    assert_eq!(
        check(
            &keys,
            &bound_digest,
            &bound_params,
            len as u64,
            name,
            &stripped
        ),
        Err(AuthError::BindingMismatch),
        "a cleared binding flag"
    );
    assert_eq!(
        check(&keys, &digest, &params, len as u64, name, &stripped),
        Err(AuthError::SidecarOfAnotherObject),
        "a dropped cse-auth-binding header"
    );
    // The envelope's wrapping fields: a changed matdesc, wrap-alg or wrapped key fails the
    // wrapping tag, and nothing before it.
    for (header, value) in [
        ("matdesc", r#"{"k":"v"}"#),
        ("wrap-alg", "KMS/ALICLOUD"),
        ("key", "AQIE"),
        ("start", "BAUH"),
    ] {
        let (_, mut pairs) = setup_pairs();
        let name = format!("x-oss-meta-client-side-encryption-{header}");
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value.to_owned()));
        let changed = decode_envelope(as_refs(&pairs), &DecodeOptions::default())
            .unwrap()
            .unwrap();
        let expected = Expected {
            envelope: &changed,
            params: &params,
            len: len as u64,
            name: None,
            trusted: &[],
        };
        assert_eq!(
            keys.envelope_digest(&changed, &params),
            digest,
            "{header} is not in H"
        );
        assert_eq!(
            keys.check_sidecar(&digest, &expected, &good),
            Err(AuthError::WrappingTag),
            "{header}"
        );
    }
    // Signatures: checked only when writer keys are trusted; then an unsigned side-car, another
    // signer, and a changed signature or final tag are each refused.
    let writer = WriterKey::from_seed(&[42; 32]);
    let other_writer = WriterKey::from_seed(&[43; 32]);
    let mut signed_header = SidecarHeader::decode(&good).unwrap();
    writer.sign(&mut signed_header);
    let signed = |h: &SidecarHeader| {
        let mut b = h.encode().to_vec();
        b.extend_from_slice(&good[SIDECAR_HEADER_LEN..]);
        b
    };
    let (_, envelope) = setup_envelope();
    let trusting = |trusted: &[[u8; 32]], sidecar: &[u8]| {
        let expected = Expected {
            envelope: &envelope,
            params: &params,
            len: len as u64,
            name: None,
            trusted,
        };
        keys.check_sidecar(&digest, &expected, sidecar)
    };
    let me = [writer.public()];
    assert_eq!(trusting(&me, &signed(&signed_header)), Ok(signed_header));
    assert_eq!(
        trusting(
            &[other_writer.public(), writer.public()],
            &signed(&signed_header)
        ),
        Ok(signed_header)
    );
    assert_eq!(trusting(&me, &good), Err(AuthError::Unsigned));
    assert_eq!(
        trusting(&[other_writer.public()], &signed(&signed_header)),
        Err(AuthError::UntrustedSigner)
    );
    let mut bad_sig = signed_header;
    if let Some((_, sig)) = bad_sig.signature.as_mut() {
        sig[10] ^= 1;
    }
    assert_eq!(trusting(&me, &signed(&bad_sig)), Err(AuthError::Signature));
    let mut other_final = signed_header;
    other_final.final_tag.0[0] ^= 1;
    assert_eq!(
        trusting(&me, &signed(&other_final)),
        Err(AuthError::Signature)
    );
    // Untrusted, a signature is not checked (nobody to trust it for).
    assert_eq!(trusting(&[], &signed(&bad_sig)), Ok(bad_sig));
    assert!(!format!("{writer:?}").contains(&hex::encode([42u8; 32])));
    // The other object's keys cannot produce this object's tags.
    assert!(
        other_keys
            .check_chunk(&digest, 0, false, &chunk(&ct, 0), &tags[0])
            .is_err()
    );
    // Binding: the tag for one name fails for another.
    let bound = keys.binding_tag(&digest, b"bucket", b"a/b");
    assert!(bound.verify(&keys.binding_tag(&digest, b"bucket", b"a/b")));
    assert!(!bound.verify(&keys.binding_tag(&digest, b"bucket", b"a/c")));
    assert!(!bound.verify(&keys.binding_tag(&digest, b"bucke", b"ta/b")));
    assert_eq!(
        check_part_size(100_000, CS),
        Err(AuthError::PartSize {
            part_size: 100_000,
            chunk_size: CS
        })
    );
}

#[test]
fn chunks_sealed_on_threads_in_any_order_are_the_object_and_open_only_when_their_tag_holds() {
    let (key, counter) = ([5; 32], [6; 16]);
    let (keys, digest, params) = setup();
    let plain = object(3 * CS as usize + 1234, 9);
    let len = plain.len() as u64;
    let sealed = cse_core::SealedEnvelope::from_wrapped(
        cse_testkit::keystream::material(key, counter),
        cse_core::WRAP_ALG_RSA,
        "",
        &[1, 2, 3],
        &[4, 5, 6],
    )
    .unwrap();
    let sealer = ChunkSealer::new(&sealed, &params, len).unwrap();
    assert_eq!(
        sealer.digest(),
        digest,
        "the digest is computed from the envelope"
    );
    assert_eq!(sealer.chunks(), 4);
    let mut buf = plain.clone();
    let mut pieces: Vec<(u64, &mut [u8])> = (0..4).zip(buf.chunks_mut(CS as usize)).collect();
    pieces.reverse();
    let tags: Vec<(u64, Tag)> = std::thread::scope(|s| {
        let handles: Vec<_> = pieces
            .into_iter()
            .map(|(i, chunk)| {
                let sealer = &sealer;
                s.spawn(move || (i, sealer.seal_chunk(i, chunk).unwrap()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        buf,
        cse_testkit::keystream::reference_seal(&key, &counter, &plain),
        "chunks sealed apart are the object's AES-CTR ciphertext"
    );
    let mut tags = tags;
    tags.sort_by_key(|(i, _)| *i);
    let tags: Vec<Tag> = tags.into_iter().map(|(_, t)| t).collect();
    assert_eq!(tags, reference_tags(&keys, &digest, &buf));
    // The side-car of the sealed chunks checks out against the object.
    let sidecar = sealer.sidecar(&tags, None, None).unwrap();
    let expected = Expected {
        envelope: sealed.envelope(),
        params: &params,
        len,
        name: None,
        trusted: &[],
    };
    let header = keys.check_sidecar(&digest, &expected, &sidecar).unwrap();
    assert_eq!(header.tags(&sidecar).unwrap().collect::<Vec<_>>(), tags);
    assert_eq!(
        sealer.sidecar(&tags[..3], None, None),
        Err(AuthError::ChunkIndex {
            index: 3,
            chunks: 4
        })
    );
    // Each chunk is sealed once: a second seal would reuse its keystream.
    let mut again = plain[..CS as usize].to_vec();
    assert_eq!(
        sealer.seal_chunk(0, &mut again),
        Err(AuthError::ChunkAlreadySealed { index: 0 })
    );
    assert_eq!(again, &plain[..CS as usize], "nothing was sealed");

    let opener = ChunkCipher::new(
        &cse_testkit::keystream::material(key, counter),
        sealed.envelope(),
        &params,
        len,
    )
    .unwrap();
    let ciphertext = buf.clone();
    for (i, chunk) in buf.chunks_mut(CS as usize).enumerate() {
        opener.open_chunk(i as u64, chunk, &tags[i]).unwrap();
    }
    assert_eq!(buf, plain);

    // A wrong key (implicit rejection gives some other key) fails the commitment up front.
    assert_eq!(
        ChunkCipher::new(
            &cse_testkit::keystream::material([6; 32], counter),
            sealed.envelope(),
            &params,
            len
        )
        .map(|_| ()),
        Err(AuthError::Commitment)
    );
    // A tampered chunk is refused and stays ciphertext: none of its plaintext is released.
    let mut chunk = ciphertext[CS as usize..2 * CS as usize].to_vec();
    chunk[100] ^= 1;
    let tampered = chunk.clone();
    assert_eq!(
        opener.open_chunk(1, &mut chunk, &tags[1]),
        Err(AuthError::Chunk { index: 1 })
    );
    assert_eq!(chunk, tampered);
    // A chunk opened at another index fails too (it is bound to its place).
    let mut moved = ciphertext[..CS as usize].to_vec();
    assert_eq!(
        opener.open_chunk(1, &mut moved, &tags[0]),
        Err(AuthError::Chunk { index: 1 })
    );
    assert_eq!(
        opener.open_chunk(3, &mut vec![0; 1233], &tags[3]),
        Err(AuthError::ChunkLength {
            index: 3,
            expected: 1234,
            actual: 1233
        })
    );
    assert_eq!(
        sealer.seal_chunk(4, &mut [0; 1]),
        Err(AuthError::ChunkIndex {
            index: 4,
            chunks: 4
        })
    );
    let empty = ChunkSealer::new(&sealed, &params, 0).unwrap();
    let tag = empty.seal_chunk(0, &mut []).unwrap();
    assert_eq!(tag, keys.chunk_tag(&digest, 0, true, &[]));
    ChunkCipher::new(sealed.material(), sealed.envelope(), &params, 0)
        .unwrap()
        .open_chunk(0, &mut [], &tag)
        .unwrap();
    assert_eq!(
        ChunkSealer::new(&sealed, &params, u64::MAX).map(|_| ()),
        Err(AuthError::TooLong { len: u64::MAX }),
        "past 64 TiB"
    );
    assert_eq!(
        ChunkSealer::new(&sealed, &params, MAX_OBJECT_LEN + 1).map(|_| ()),
        Err(AuthError::TooLong {
            len: MAX_OBJECT_LEN + 1
        })
    );
    assert_eq!(
        ChunkStream::new(&keys, digest, 0, 0).map(|_| ()),
        Err(AuthError::ChunkSize { size: 0 }),
        "a zero chunk size would never advance"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A ranged read's plan covers exactly the whole chunks that hold the requested bytes, and
    /// an unsatisfiable range still checks the last chunk (whose flag authenticates the length).
    #[test]
    fn a_chunk_plan_covers_the_range_with_whole_chunks(
        len in 0u64..(5 << 16),
        a in 0u64..(6 << 16),
        b in 0u64..(6 << 16),
        kind in 0u8..3,
    ) {
        let range = match kind {
            0 => cse_core::ByteRange::Bounded { first: a.min(b), last: a.max(b) },
            1 => cse_core::ByteRange::From { first: a },
            _ => cse_core::ByteRange::Suffix { len: a },
        };
        let plan = ChunkPlan::new(range, len, CS).unwrap();
        let cs = u64::from(CS);
        let n = chunk_count(len, CS);
        proptest::prop_assert!(plan.chunks.start < plan.chunks.end && plan.chunks.end <= n);
        proptest::prop_assert_eq!(plan.body.start, plan.chunks.start * cs);
        proptest::prop_assert_eq!(plan.body.end, (plan.chunks.end * cs).min(len));
        proptest::prop_assert_eq!(
            plan.tags.clone(),
            SidecarHeader::tag_offset(plan.chunks.start)..SidecarHeader::tag_offset(plan.chunks.end)
        );
        match (range.resolve(len), &plan.release) {
            (Ok((first, last)), Some(release)) => {
                proptest::prop_assert_eq!(release.clone(), first..last + 1);
                // The first and last chunks hold the first and last bytes.
                proptest::prop_assert_eq!(plan.chunks.start, first / cs);
                proptest::prop_assert_eq!(plan.chunks.end - 1, last / cs);
            }
            (Err(e), None) => {
                proptest::prop_assert_eq!(e, plan.unsatisfiable());
                proptest::prop_assert_eq!(plan.chunks.clone(), n - 1..n);
            }
            (r, p) => proptest::prop_assert!(false, "resolve {:?} but plan {:?}", r, p),
        }
    }
}

#[test]
fn tags_are_read_from_a_ranged_slice_of_the_sidecar() {
    let header = SidecarHeader {
        chunk_size: CS,
        len: 5 * u64::from(CS),
        digest: EnvelopeDigest([1; 32]),
        final_tag: Tag([2; 16]),
        wrapping_tag: Tag([3; 16]),
        binding_tag: None,
        signature: None,
    };
    let slice: Vec<u8> = (2u8..5).flat_map(|i| [i; TAG_LEN]).collect(); // tags 2, 3, 4
    assert_eq!(header.tag_at(&slice, 2, 3), Ok(Tag([3; TAG_LEN])));
    assert_eq!(header.tag_at(&slice, 2, 4), Ok(Tag([4; TAG_LEN])));
    assert_eq!(
        header.tag_at(&slice, 2, 1),
        Err(AuthError::ChunkIndex {
            index: 1,
            chunks: 5
        })
    );
    assert_eq!(
        header.tag_at(&slice, 2, 5),
        Err(AuthError::ChunkIndex {
            index: 5,
            chunks: 5
        })
    );
    assert_eq!(
        header.tag_at(&slice[..40], 2, 4),
        Err(AuthError::Sidecar(SidecarProblem::TooShort))
    );
}

#[test]
fn an_unknown_cse_auth_header_beside_a_valid_set_is_refused() {
    use cse_core::{DEFAULT_PREFIX, Error, Field, ValueProblem, decode_auth_params};
    let params = AuthParams {
        chunk_size: 1 << 20,
        commitment: Commitment([0xab; 32]),
        binding: Binding::None,
    };
    let mut headers = Vec::new();
    params
        .encode_headers(DEFAULT_PREFIX, |n, v| {
            headers.push((n.to_owned(), v.to_owned()));
        })
        .unwrap();
    assert_eq!(
        decode_auth_params(as_refs(&headers), DEFAULT_PREFIX),
        Ok(Some(params))
    );
    headers.push(("X-OSS-META-CSE-AUTH-SIGNER".to_owned(), "me".to_owned()));
    assert_eq!(
        decode_auth_params(as_refs(&headers), DEFAULT_PREFIX),
        Err(Error::InvalidValue {
            field: Field::AuthVersion,
            problem: ValueProblem::UnknownAuthHeader
        })
    );
}

#[test]
fn a_sidecar_writer_fed_in_pieces_writes_a_sidecar_the_reader_accepts() {
    let (keys, _, _) = setup();
    let (_, envelope) = setup_envelope();
    let ct = object(2 * CS as usize + 999, 4);
    for binding in [Binding::None, Binding::BucketKey] {
        let mut writer = SidecarWriter::new(&keys, &envelope, CS, binding).unwrap();
        let params = *writer.params();
        assert_eq!(params.commitment, keys.commitment());
        for piece in ct.chunks(7777) {
            writer.update(piece);
        }
        let name: Option<(&[u8], &[u8])> = Some((b"bkt", b"a/b"));
        let signer = WriterKey::from_seed(&[3; 32]);
        let sidecar = writer
            .finish(name, Some(&signer as &dyn SidecarSigner))
            .unwrap();
        let digest = keys.envelope_digest(&envelope, &params);
        let trusted = [signer.public()];
        let expected = Expected {
            envelope: &envelope,
            params: &params,
            len: ct.len() as u64,
            name,
            trusted: &trusted,
        };
        let header = keys.check_sidecar(&digest, &expected, &sidecar).unwrap();
        assert_eq!(
            header.tags(&sidecar).unwrap().collect::<Vec<_>>(),
            reference_tags(&keys, &digest, &ct)
        );
        assert_eq!(header.binding_tag.is_some(), binding == Binding::BucketKey);
    }
    let bound = SidecarWriter::new(&keys, &envelope, CS, Binding::BucketKey).unwrap();
    assert_eq!(bound.finish(None, None), Err(AuthError::BindingMismatch));
}

#[test]
fn the_policy_table_of_the_design() {
    use Policy::*;
    // Writing: (asked, not asked).
    assert_eq!(Forbid.authenticates(true), Err(AuthError::Forbidden));
    assert_eq!(Forbid.authenticates(false), Ok(false));
    assert_eq!(Allow.authenticates(true), Ok(true));
    assert_eq!(Allow.authenticates(false), Ok(false));
    assert_eq!(Require.authenticates(false), Ok(true));
    // Reading: (announced, not announced).
    assert_eq!(Forbid.verifies(true), Ok(false));
    assert_eq!(Forbid.verifies(false), Ok(false));
    assert_eq!(Allow.verifies(true), Ok(true));
    assert_eq!(Allow.verifies(false), Ok(false));
    assert_eq!(Require.verifies(true), Ok(true));
    assert_eq!(Require.verifies(false), Err(AuthError::NotAuthenticated));
    assert_eq!(Policy::default(), Allow);
    assert_eq!(
        Require.missing_envelope(),
        cse_core::MissingEnvelope::Reject
    );
    assert_eq!(
        Allow.missing_envelope(),
        cse_core::MissingEnvelope::PassThrough
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A chunk opener fed the planned body in any pieces releases exactly the range's
    /// plaintext; a flipped bit in a planned chunk fails that chunk and releases nothing of it.
    #[test]
    fn a_chunk_opener_releases_exactly_the_range_in_any_pieces(
        len in 0usize..(3 * CS as usize + 500),
        a in 0u64..(4 * CS as u64),
        b in 0u64..(4 * CS as u64),
        kind in 0u8..4,
        cut in 1usize..70_000,
        flip in proptest::prelude::any::<bool>(),
    ) {
        let (key, counter) = ([5; 32], [6; 16]);
        let (keys, digest, params) = setup();
        let (_, envelope) = setup_envelope();
        let plain = object(len, 3);
        let material = cse_testkit::keystream::material(key, counter);
        let mut ct = cse_testkit::keystream::reference_seal(&key, &counter, &plain);
        let tags = reference_tags(&keys, &digest, &ct);
        let header = SidecarHeader::decode(&sidecar(&keys, &digest, len as u64, &tags)).unwrap();
        let range = match kind {
            0 => None,
            1 => Some(cse_core::ByteRange::Bounded { first: a.min(b), last: a.max(b) }),
            2 => Some(cse_core::ByteRange::From { first: a }),
            _ => Some(cse_core::ByteRange::Suffix { len: a }),
        };
        let plan = match range {
            Some(r) => ChunkPlan::new(r, len as u64, CS).unwrap(),
            None => ChunkPlan::whole(len as u64, CS).unwrap(),
        };
        let tag_bytes: Vec<u8> = tags[plan.chunks.start as usize..plan.chunks.end as usize]
            .iter()
            .flat_map(|t| t.0)
            .collect();
        let flipped = (flip && plan.body.end > plan.body.start).then(|| {
            let at = ((plan.body.start + plan.body.end) / 2) as usize;
            ct[at] ^= 4;
            at as u64 / u64::from(CS)
        });
        let cipher = ChunkCipher::new(&material, &envelope, &params, len as u64).unwrap();
        let mut opener =
            ChunkOpener::new(cipher, header, tag_bytes, plan.chunks.start, plan.clone()).unwrap();
        let mut out = Vec::new();
        let mut input = &ct[plan.body.start as usize..plan.body.end as usize];
        let mut failed = None;
        while !input.is_empty() {
            let piece = &input[..cut.min(input.len())];
            let mut rest = piece;
            while !rest.is_empty() {
                match opener.update(rest) {
                    Ok((used, released)) => {
                        if let Some(p) = released {
                            out.extend_from_slice(p);
                        }
                        rest = &rest[used..];
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if failed.is_some() {
                break;
            }
            input = &input[piece.len()..];
        }
        match flipped {
            Some(index) => {
                proptest::prop_assert_eq!(failed, Some(AuthError::Chunk { index }));
                // Only chunks before the flipped one were released.
                let released_end = (index * u64::from(CS)).max(plan.release.clone().map_or(0, |r| r.start));
                let want = plan.release.clone().map_or(0..0, |r| r.start..released_end.min(r.end).max(r.start));
                proptest::prop_assert_eq!(&out[..], &plain[want.start as usize..want.end as usize]);
            }
            None => {
                proptest::prop_assert_eq!(failed, None);
                opener.finish().unwrap();
                let want = plan.release.clone().unwrap_or(0..0);
                proptest::prop_assert_eq!(&out[..], &plain[want.start as usize..want.end as usize]);
            }
        }
    }
}

#[test]
fn a_chunk_opener_refuses_a_short_and_a_long_body() {
    let (key, counter) = ([5; 32], [6; 16]);
    let (keys, digest, params) = setup();
    let (_, envelope) = setup_envelope();
    let len = 2 * CS as usize;
    let ct = cse_testkit::keystream::reference_seal(&key, &counter, &object(len, 1));
    let tags = reference_tags(&keys, &digest, &ct);
    let header = SidecarHeader::decode(&sidecar(&keys, &digest, len as u64, &tags)).unwrap();
    let material = cse_testkit::keystream::material(key, counter);
    let opener = || {
        let cipher = ChunkCipher::new(&material, &envelope, &params, len as u64).unwrap();
        let tag_bytes = tags.iter().flat_map(|t| t.0).collect();
        ChunkOpener::new(
            cipher,
            header,
            tag_bytes,
            0,
            ChunkPlan::whole(len as u64, CS).unwrap(),
        )
        .unwrap()
    };
    let mut short = opener();
    let (used, released) = short.update(&ct[..CS as usize + 10]).unwrap();
    assert_eq!(
        (used, released.map(<[u8]>::len)),
        (CS as usize, Some(CS as usize))
    );
    assert_eq!(
        short.update(&ct[CS as usize..CS as usize + 10]).unwrap().0,
        10
    );
    assert_eq!(short.finish(), Err(AuthError::Chunk { index: 1 }));
    let mut long = opener();
    let mut input = &ct[..];
    while !input.is_empty() {
        input = &input[long.update(input).unwrap().0..];
    }
    assert_eq!(
        long.update(&[0]).map(|_| ()),
        Err(AuthError::BodyTooLong {
            planned: len as u64
        })
    );
    // A plan for another object is refused.
    let cipher = ChunkCipher::new(&material, &envelope, &params, len as u64).unwrap();
    let other_plan = ChunkPlan::whole(len as u64 + 1, CS).unwrap();
    assert_eq!(
        ChunkOpener::new(cipher, header, Vec::new(), 0, other_plan).map(|_| ()),
        Err(AuthError::PlanMismatch)
    );

    // An empty object: its one empty chunk is checked at the end, with the right tag only.
    let empty_tags = reference_tags(&keys, &digest, &[]);
    let header = SidecarHeader::decode(&sidecar(&keys, &digest, 0, &empty_tags)).unwrap();
    for (tag, ok) in [(empty_tags[0], true), (Tag([1; 16]), false)] {
        let cipher = ChunkCipher::new(&material, &envelope, &params, 0).unwrap();
        let plan = ChunkPlan::whole(0, CS).unwrap();
        let opener = ChunkOpener::new(cipher, header, tag.0.to_vec(), 0, plan).unwrap();
        assert_eq!(opener.finish().is_ok(), ok);
    }
}

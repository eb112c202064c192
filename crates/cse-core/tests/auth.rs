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
    assert!(cases.len() >= 6);
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
        let header = SidecarHeader {
            chunk_size,
            len,
            digest,
            final_tag,
            binding_tag,
            signature: None,
        };
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
        SidecarHeader::decode(&good[..191]),
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
        problem(&|h| h[90] = 1),
        Err(AuthError::Sidecar(P::UnusedField)),
        "a binding tag without the flag"
    );
    assert_eq!(
        problem(&|h| h[150] = 1),
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

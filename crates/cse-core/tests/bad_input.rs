//! Every class of bad input gives its own specific error, and never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use cse_core::*;

const P: &str = "x-oss-meta-client-side-encryption-";

/// A valid envelope's headers, wrapped with the 2048-bit test key.
fn valid() -> (Vec<(String, String)>, RsaMasterCipher, ContentMaterial) {
    let master = RsaMasterCipher::from_pem(cse_testkit::keys::RSA2048_PEM).unwrap();
    let mut rng = rng();
    let m = ContentMaterial::generate(&mut rng);
    let env = Envelope::seal(&m, &master, &mut rng).unwrap();
    (env.to_headers(DEFAULT_PREFIX).unwrap(), master, m)
}

fn with(headers: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let full = format!("{P}{name}");
    let mut out: Vec<_> = headers
        .iter()
        .filter(|(k, _)| *k != full)
        .cloned()
        .collect();
    if let Some(v) = value {
        out.push((full, v.to_owned()));
    }
    out
}

fn decode(headers: &[(String, String)]) -> Result<Option<Envelope>> {
    decode_envelope(as_refs(headers), &DecodeOptions::default())
}

#[test]
fn missing_and_empty_required_headers_are_named() {
    let (h, ..) = valid();
    for (name, field) in [
        ("key", Field::Key),
        ("start", Field::Start),
        ("cek-alg", Field::CekAlg),
        ("wrap-alg", Field::WrapAlg),
    ] {
        assert_eq!(
            decode(&with(&h, name, None)),
            Err(Error::MissingHeader(field)),
            "{name}"
        );
        assert_eq!(
            decode(&with(&h, name, Some(""))),
            Err(Error::EmptyHeader(field)),
            "{name}"
        );
        // Errors name the header by its suffix: the prefix is the reader's configuration.
        let msg = Error::MissingHeader(field).to_string();
        let suffix = P.strip_prefix(DEFAULT_PREFIX).unwrap();
        assert!(msg.contains(&format!("header {suffix}{name} ")), "{msg}");
        assert!(!msg.contains(DEFAULT_PREFIX), "{msg}");
    }
}

#[test]
fn duplicate_headers_in_any_case_are_refused() {
    let (mut h, ..) = valid();
    h.push((format!("{P}START").to_uppercase(), h[1].1.clone()));
    assert_eq!(decode(&h), Err(Error::DuplicateHeader(Field::Start)));
}

#[test]
fn names_match_case_insensitively() {
    let (h, master, m) = valid();
    let shouted: Vec<_> = h
        .iter()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    let env = decode(&shouted).unwrap().unwrap();
    assert_eq!(env.open(&master, &mut rng()).unwrap(), m);
}

#[test]
fn base64_is_strict() {
    let (h, ..) = valid();
    let good = h
        .iter()
        .find(|(k, _)| k.ends_with("-key"))
        .unwrap()
        .1
        .clone();
    let unpadded = good.trim_end_matches('=').to_owned();
    let urlsafe = good.replace('+', "-").replace('/', "_");
    let spaced = format!("{} {}", &good[..10], &good[10..]);
    let newline = format!("{}\n{}", &good[..64], &good[64..]);
    // "QQ==" is "A"; "QR==" has non-zero trailing bits: not canonical.
    for bad in [
        unpadded.as_str(),
        &urlsafe,
        &spaced,
        &newline,
        "QR==",
        "Q===",
        "***",
        "QUJD\u{e9}",
    ] {
        if bad == good {
            continue;
        }
        assert_eq!(
            decode(&with(&h, "key", Some(bad))),
            Err(Error::InvalidBase64(Field::Key)),
            "{bad:?}"
        );
    }
    let md5 = with(&h, "unencrypted-content-md5", Some("not base64!"));
    assert_eq!(
        decode(&md5),
        Err(Error::InvalidBase64(Field::UnencryptedContentMd5))
    );
    let short_md5 = with(&h, "unencrypted-content-md5", Some("QUJD"));
    assert_eq!(
        decode(&short_md5),
        Err(Error::InvalidBase64(Field::UnencryptedContentMd5))
    );
}

#[test]
fn overlong_wrapped_values_are_refused() {
    use base64::Engine as _;
    let (h, ..) = valid();
    let big = base64::engine::general_purpose::STANDARD.encode([1u8; MAX_WRAPPED_LEN + 1]);
    assert_eq!(
        decode(&with(&h, "start", Some(&big))),
        Err(Error::ValueTooLong {
            field: Field::Start,
            max: MAX_WRAPPED_LEN
        })
    );
}

#[test]
fn algorithms_are_checked() {
    let (h, ..) = valid();
    for cek in [
        "AES/GCM/NoPadding",
        "aes/ctr/nopadding",
        "AES/CTR/NoPadding ",
        "AES/CBC/PKCS5Padding",
    ] {
        assert_eq!(
            decode(&with(&h, "cek-alg", Some(cek))),
            Err(Error::UnsupportedCekAlg),
            "{cek}"
        );
    }
    assert_eq!(
        decode(&with(&h, "wrap-alg", Some("RSA NONE"))),
        Err(Error::InvalidWrapAlg)
    );
    let long = "R".repeat(MAX_WRAP_ALG_LEN + 1);
    assert_eq!(
        decode(&with(&h, "wrap-alg", Some(&long))),
        Err(Error::ValueTooLong {
            field: Field::WrapAlg,
            max: MAX_WRAP_ALG_LEN
        })
    );
}

#[test]
fn numbers_are_strict_decimal() {
    let (h, ..) = valid();
    for (name, field) in [
        (
            "unencrypted-content-length",
            Field::UnencryptedContentLength,
        ),
        ("data-size", Field::DataSize),
        ("part-size", Field::PartSize),
    ] {
        for bad in [
            "-1",
            "+1",
            "1.0",
            " 12",
            "0x10",
            "18446744073709551616",
            "",
            "1e3",
        ] {
            let h2 = with(&with(&h, "part-size", Some("16")), name, Some(bad));
            assert_eq!(
                decode(&h2),
                Err(Error::InvalidNumber(field)),
                "{name}={bad:?}"
            );
        }
    }
    assert_eq!(
        decode(&with(&h, "data-size", Some("100"))),
        Err(Error::MissingHeader(Field::PartSize))
    );
}

#[test]
fn matdesc_must_be_an_object_of_strings() {
    let (h, ..) = valid();
    for bad in ["[]", "{\"a\":1}", "{\"a\":\"b\",\"a\":\"c\"}", "{", "null"] {
        assert_eq!(
            decode(&with(&h, "matdesc", Some(bad))),
            Err(Error::InvalidMatDesc),
            "{bad}"
        );
    }
    let ok = decode(&with(&h, "matdesc", Some("{\"k\": \"v\"}")))
        .unwrap()
        .unwrap();
    assert_eq!(ok.matdesc().unwrap(), MatDesc::new().with("k", "v"));
}

#[test]
fn objects_without_an_envelope() {
    let plain = vec![
        ("content-type".to_owned(), "image/jpeg".to_owned()),
        ("x-oss-meta-owner".to_owned(), "me".to_owned()),
    ];
    assert_eq!(decode(&plain), Ok(None));
    assert_eq!(
        decode_envelope(as_refs(&plain), &DecodeOptions::strict()),
        Err(Error::NotEncrypted)
    );
    // A partly stripped envelope is never plaintext, in either mode.
    let (h, ..) = valid();
    let stripped = with(&h, "key", None);
    assert_eq!(
        decode_envelope(as_refs(&stripped), &DecodeOptions::strict()),
        Err(Error::MissingHeader(Field::Key))
    );
    assert_eq!(decode(&stripped), Err(Error::MissingHeader(Field::Key)));
    // So is an object carrying only an envelope header this engine does not know.
    let unknown = vec![(format!("{P}magic-number-hmac"), "AAAA".to_owned())];
    assert_eq!(decode(&unknown), Err(Error::MissingHeader(Field::Key)));
}

#[test]
fn a_custom_prefix_is_honoured_and_checked() {
    let (h, master, m) = valid();
    let env = decode(&h).unwrap().unwrap();
    let custom = env.to_headers("x-acme-").unwrap();
    assert!(
        custom
            .iter()
            .all(|(k, _)| k.starts_with("x-acme-client-side-encryption-"))
    );
    let opts = DecodeOptions {
        prefix: "X-ACME-",
        ..DecodeOptions::strict()
    };
    let back = decode_envelope(as_refs(&custom), &opts).unwrap().unwrap();
    assert_eq!(back.open(&master, &mut rng()).unwrap(), m);
    assert_eq!(decode(&custom), Ok(None));
    let long = "x".repeat(65);
    assert_eq!(env.to_headers(&long), Err(Error::InvalidPrefix));
}

#[test]
fn every_unwrap_failure_is_one_opaque_error() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (h, master, _) = valid();
    let mut rng = rng();
    let open = |h: &[(String, String)], rng: &mut dyn rand_core::CryptoRng| {
        decode(h).unwrap().unwrap().open(&master, rng)
    };
    // A different key of the same size.
    let other = RsaMasterCipher::from_pem(&kat_or_fresh_key()).unwrap();
    assert_eq!(
        decode(&h).unwrap().unwrap().open(&other, &mut rng),
        Err(Error::Unwrap)
    );
    // A wrapped value of the wrong length, a flipped byte, the counter where the key goes, and
    // correctly wrapped plaintexts of the wrong lengths.
    let key = b64
        .decode(&h.iter().find(|(k, _)| k.ends_with("-key")).unwrap().1)
        .unwrap();
    let start = h
        .iter()
        .find(|(k, _)| k.ends_with("-start"))
        .unwrap()
        .1
        .clone();
    let mut flipped = key.clone();
    flipped[100] ^= 1;
    let short_key = b64.encode(wrap(&master, &[7u8; 31], &mut rng));
    let long_start = b64.encode(wrap(&master, &[7u8; 17], &mut rng));
    for (name, value) in [
        ("key", b64.encode(&key[1..])),
        ("key", b64.encode(&flipped)),
        ("key", start.clone()),
        ("key", short_key),
        ("start", long_start),
        ("key", b64.encode([0u8; 256])),
    ] {
        assert_eq!(
            open(&with(&h, name, Some(&value)), &mut rng),
            Err(Error::Unwrap),
            "{name}"
        );
    }
    assert_eq!(
        Error::Unwrap.to_string(),
        "the content key could not be unwrapped: wrong master key, or damaged key/start headers"
    );
}

fn kat_or_fresh_key() -> String {
    // A second 2048-bit key, made by the test so nothing secret is assumed about it.
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::PrivateKey::new(&mut rng(), 2048).unwrap();
    key.to_pkcs8_pem(Default::default()).unwrap().to_string()
}

#[test]
fn wrap_alg_must_match_the_master_key() {
    let (h, master, _) = valid();
    let kms = decode(&with(&h, "wrap-alg", Some(WRAP_ALG_KMS)))
        .unwrap()
        .unwrap();
    assert_eq!(kms.open(&master, &mut rng()), Err(Error::WrapAlgMismatch));
    // Java compares case-insensitively, and so does this engine.
    let lower = decode(&with(&h, "wrap-alg", Some("rsa/none/pkcs1padding")))
        .unwrap()
        .unwrap();
    assert!(lower.open(&master, &mut rng()).is_ok());
}

#[test]
fn key_files_are_checked() {
    assert_eq!(
        RsaMasterCipher::from_pem("hello").unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    let wrong_label = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        RsaMasterCipher::from_pem(wrong_label).unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_eq!(
        RsaMasterCipher::from_pem(garbage).unwrap_err(),
        Error::InvalidKey(KeyProblem::Malformed)
    );
    assert_eq!(
        RsaMasterCipher::from_der(b"\x30\x03\x02\x01\x00").unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    assert_eq!(
        RsaMasterCipher::from_pem(cse_testkit::keys::RSA768_PEM).unwrap_err(),
        Error::InvalidKey(KeyProblem::TooSmall)
    );
    // DER of each structure loads.
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let key = rsa::PrivateKey::from_pkcs8_pem(cse_testkit::keys::RSA2048_PEM).unwrap();
    let pkcs1 = key.to_pkcs1_der().unwrap();
    assert!(
        RsaMasterCipher::from_der(pkcs1.as_bytes())
            .unwrap()
            .has_private_key()
    );
    let spki = rsa::PublicKey::from(&key).to_public_key_der().unwrap();
    assert!(
        !RsaMasterCipher::from_der(spki.as_bytes())
            .unwrap()
            .has_private_key()
    );
    // Debug shows no key material.
    let dbg = format!("{:?}", RsaMasterCipher::from_der(pkcs1.as_bytes()).unwrap());
    assert_eq!(
        dbg,
        "RsaMasterCipher { bits: 2048, private: true, matdesc: \"\" }"
    );
}

#[test]
fn ranges_are_parsed_strictly() {
    use RangeProblem::*;
    for (text, problem) in [
        ("bytes=", Syntax),
        ("bytes=-", Syntax),
        ("bytes 0-1", Syntax),
        ("items=0-1", Syntax),
        ("bytes= 0-1", Syntax),
        ("bytes=a-b", Syntax),
        ("bytes=1-2-3", Syntax),
        ("bytes=+1-2", Syntax),
        ("bytes=5-4", Reversed),
        ("bytes=0-1,4-5", MultipleRanges),
        ("bytes=18446744073709551616-", Overflow),
    ] {
        assert_eq!(
            ByteRange::parse(text),
            Err(Error::InvalidRange(problem)),
            "{text}"
        );
    }
    assert_eq!(
        ByteRange::parse("BYTES=1-2"),
        Ok(ByteRange::Bounded { first: 1, last: 2 })
    );
}

#[test]
fn range_responses_are_checked() {
    use RangeProblem::*;
    let plan = plan_range(
        ByteRange::Bounded {
            first: 20,
            last: 40,
        },
        None,
    )
    .unwrap();
    assert_eq!(plan.wire_range().to_string(), "bytes=16-40");
    let resp = |s, cr| RangeResponse::from_parts(s, cr, Some(100));
    assert_eq!(
        resp(206, None),
        Err(Error::InvalidRange(ContentRangeSyntax))
    );
    for bad in [
        "bytes 5-4/100",
        "bytes 0-100/100",
        "bytes 0-1/*",
        "0-1/100",
        "bytes 0-1",
    ] {
        assert_eq!(
            resp(206, Some(bad)),
            Err(Error::InvalidRange(ContentRangeSyntax)),
            "{bad}"
        );
    }
    assert_eq!(
        RangeResponse::from_parts(200, None, None),
        Err(Error::InvalidRange(UnexpectedStatus))
    );
    assert_eq!(resp(304, None), Err(Error::InvalidRange(UnexpectedStatus)));
    // A body that starts after the requested byte, or ends before the requested end.
    let late = resp(206, Some("bytes 21-40/100")).unwrap();
    assert_eq!(
        plan.on_response(late),
        Err(Error::InvalidRange(ResponseDoesNotCover))
    );
    let short = resp(206, Some("bytes 16-30/100")).unwrap();
    assert_eq!(
        plan.on_response(short),
        Err(Error::InvalidRange(ResponseDoesNotCover))
    );
    let gone = resp(416, Some("bytes */10")).unwrap();
    assert_eq!(
        plan.on_response(gone),
        Err(Error::RangeNotSatisfiable {
            object_len: Some(10)
        })
    );
    // A 200 whole object of 30 bytes still serves bytes 20..=29.
    let whole = plan.on_response(RangeResponse::Whole { len: 30 }).unwrap();
    assert_eq!(whole.content_range().to_string(), "bytes 20-29/30");
    assert_eq!((whole.drop_len(), whole.keep_len()), (20, 10));
    // With a planned length, a different total means the object changed.
    let known = plan_range(ByteRange::Suffix { len: 5 }, Some(100)).unwrap();
    assert_eq!(known.wire_range().to_string(), "bytes=80-99");
    let changed = resp(206, Some("bytes 80-99/200")).unwrap();
    assert_eq!(
        known.on_response(changed),
        Err(Error::InvalidRange(LengthChanged))
    );
    // Unsatisfiable before any request when the length is known.
    assert_eq!(
        plan_range(ByteRange::From { first: 100 }, Some(100)),
        Err(Error::RangeNotSatisfiable {
            object_len: Some(100)
        })
    );
    assert_eq!(
        plan_range(ByteRange::Suffix { len: 1 }, Some(0)),
        Err(Error::RangeNotSatisfiable {
            object_len: Some(0)
        })
    );
}

#[test]
fn streams_check_lengths_and_buffers() {
    let m = material(&[1; 32], &[2; 16]);
    let data = seal_all(&m, &[9u8; 100]);
    // Truncated.
    let mut o = Opener::with_len(&m, 100);
    let mut out = [0u8; 100];
    o.update(&data[..99], &mut out).unwrap();
    assert_eq!(
        o.finish(),
        Err(StreamError::Truncated {
            expected: 100,
            actual: 99
        })
    );
    // Extended: refused before any byte of the chunk is used, and the state is unchanged.
    let mut o = Opener::with_len(&m, 100);
    let mut longer = data.clone();
    longer.push(0);
    assert_eq!(
        o.update(&longer, &mut [0u8; 101]),
        Err(StreamError::Extended { expected: 100 })
    );
    assert_eq!(o.update(&data, &mut out), Ok(100));
    assert_eq!(
        o.update(&[0], &mut [0u8; 1]),
        Err(StreamError::Extended { expected: 100 })
    );
    assert_eq!(o.finish(), Ok(100));
    assert_eq!(out, [9u8; 100]);
    // Too small a buffer: an error naming the size, then a retry works.
    let mut o = Opener::new(&m);
    assert_eq!(
        o.update(&data, &mut [0u8; 10]),
        Err(StreamError::BufferTooSmall { required: 100 })
    );
    assert_eq!(o.update(&data, &mut out), Ok(100));
    let mut s = Sealer::with_len(&m, 4);
    assert_eq!(
        s.update(b"abcde", &mut [0u8; 8]),
        Err(StreamError::Extended { expected: 4 })
    );
    assert_eq!(
        s.update(b"abc", &mut [0u8; 2]),
        Err(StreamError::BufferTooSmall { required: 3 })
    );
    s.update(b"abc", &mut [0u8; 3]).unwrap();
    assert_eq!(
        s.finish(),
        Err(StreamError::Truncated {
            expected: 4,
            actual: 3
        })
    );
}

#[test]
fn multipart_refuses_keystream_reuse() {
    let mut rng = rng();
    let master = RsaMasterCipher::from_pem(cse_testkit::keys::RSA2048_PEM).unwrap();
    let m = ContentMaterial::generate(&mut rng);
    let env = Envelope::seal(&m, &master, &mut rng).unwrap();
    for bad in [0, 15, 17, 100] {
        assert_eq!(
            MultipartContext::new(sealed(copy(&m), &env.clone()), bad, 1000).unwrap_err(),
            Error::InvalidPartSize
        );
    }
    assert_eq!(
        MultipartContext::new(sealed(copy(&m), &env.clone()), 16, 0).unwrap_err(),
        Error::InvalidDataSize
    );
    assert_eq!(
        MultipartContext::new(sealed(copy(&m), &env.clone()), 16, 16 * 10_000 + 1).unwrap_err(),
        Error::InvalidDataSize
    );
    assert!(MultipartContext::new(sealed(copy(&m), &env.clone()), 16, 16 * 10_000).is_ok());

    // The same size rules, checked before any material exists.
    assert_eq!(MultipartContext::part_count_for(32, 80), Ok(3));
    assert_eq!(
        MultipartContext::part_count_for(24, 80),
        Err(Error::InvalidPartSize)
    );
    assert_eq!(
        MultipartContext::part_count_for(32, 0),
        Err(Error::InvalidDataSize)
    );
    assert_eq!(
        MultipartContext::part_count_for(16, 16 * 10_000 + 1),
        Err(Error::InvalidDataSize)
    );
    let up = MultipartContext::new(sealed(m, &env), 32, 80).unwrap();
    assert_eq!(up.part_count(), 3);
    assert_eq!(
        up.part_sealer(0).unwrap_err(),
        Error::PartNumberOutOfRange { part: 0, parts: 3 }
    );
    assert_eq!(
        up.part_sealer(4).unwrap_err(),
        Error::PartNumberOutOfRange { part: 4, parts: 3 }
    );
    let mut p1 = up.part_sealer(1).unwrap();
    assert_eq!(
        up.part_sealer(1).unwrap_err(),
        Error::PartAlreadySealed { part: 1 }
    );
    assert_eq!(
        p1.update(&[0; 33], &mut [0; 33]),
        Err(StreamError::PartLength {
            part: 1,
            expected: 32,
            actual: 33
        })
    );
    p1.update(&[0; 20], &mut [0; 20]).unwrap();
    assert_eq!(p1.remaining(), 12);
    assert_eq!(
        p1.finish(),
        Err(StreamError::PartLength {
            part: 1,
            expected: 32,
            actual: 20
        })
    );
    // The last part is exactly what is left of the data size.
    let mut p3 = up.part_sealer(3).unwrap();
    assert_eq!(p3.len(), 16);
    assert_eq!(
        p3.update_in_place(&mut [0; 17]),
        Err(StreamError::PartLength {
            part: 3,
            expected: 16,
            actual: 17
        })
    );
    // Pieces split off a part are bounded by the part too.
    assert_eq!(
        p3.split_to(17).map(|_| ()),
        Err(StreamError::PartLength {
            part: 3,
            expected: 16,
            actual: 17
        })
    );
    assert_eq!(
        p3.split_to(u64::MAX).map(|_| ()),
        Err(StreamError::PartLength {
            part: 3,
            expected: 16,
            actual: u64::MAX
        })
    );
    let mut piece = p3.split_to(10).unwrap();
    assert_eq!(p3.remaining(), 6, "the piece's bytes count as sealed");
    piece.update_in_place(&mut [0; 10]).unwrap();
    assert_eq!(
        piece.finish(),
        Ok(64 + 10),
        "a piece ends at its stream offset"
    );
    p3.update_in_place(&mut [0; 6]).unwrap();
    p3.finish().unwrap();
    let headers = up.envelope().to_headers(DEFAULT_PREFIX).unwrap();
    assert!(headers.contains(&(format!("{P}part-size"), "32".to_owned())));
    assert!(headers.contains(&(format!("{P}data-size"), "80".to_owned())));
}

#[test]
fn a_list_parts_answer_decodes_as_the_headers_it_stands_for() {
    let mut rng = rng();
    let master = RsaMasterCipher::from_pem(cse_testkit::keys::RSA2048_PEM).unwrap();
    let m = ContentMaterial::generate(&mut rng);
    let env = Envelope::seal(&m, &master, &mut rng).unwrap();
    let ctx = MultipartContext::new(sealed(m, &env), 1 << 20, 3 << 20).unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    ctx.envelope()
        .encode_headers(DEFAULT_PREFIX, |n, v| {
            headers.push((n.to_owned(), v.to_owned()))
        })
        .unwrap();
    // The answer's elements, by their ListParts names, among others to ignore.
    let mut elements: Vec<(&str, &str)> = vec![("UploadId", "u"), ("IsTruncated", "false")];
    for field in Field::LIST_PARTS {
        let tag = field.list_parts_element().unwrap();
        if let Some((_, v)) = headers.iter().find(|(n, _)| n.ends_with(field.suffix())) {
            elements.push((tag, v.as_str()));
        }
    }
    let decoded = decode_list_parts_envelope(elements.iter().copied()).unwrap();
    assert_eq!(decoded.as_ref(), Some(ctx.envelope()));
    // None of them: not an encrypted upload.
    assert_eq!(decode_list_parts_envelope([("UploadId", "u")]), Ok(None));
    // A damaged one is refused, naming the header it stands for.
    let damaged: Vec<(&str, &str)> = elements
        .iter()
        .map(|&(n, v)| {
            if n == "ClientEncryptionStart" {
                (n, "***")
            } else {
                (n, v)
            }
        })
        .collect();
    assert_eq!(
        decode_list_parts_envelope(damaged),
        Err(Error::InvalidBase64(Field::Start))
    );
    // A missing required one too.
    let partial: Vec<(&str, &str)> = elements
        .iter()
        .copied()
        .filter(|&(n, _)| n != "ClientEncryptionKey")
        .collect();
    assert_eq!(
        decode_list_parts_envelope(partial),
        Err(Error::MissingHeader(Field::Key))
    );
}

#[test]
fn a_wrap_alg_is_expected_ignoring_case() {
    let env = Envelope::from_wrapped("KMS/ALICLOUD", "", b"k", b"s").unwrap();
    assert_eq!(env.expect_wrap_alg("kms/alicloud"), Ok(()));
    assert_eq!(
        env.expect_wrap_alg(WRAP_ALG_RSA),
        Err(Error::WrapAlgMismatch)
    );
}

#[test]
fn a_metadata_file_is_one_json_object_with_string_envelope_values() {
    assert!(matches!(
        parse_meta_file(b"[]"),
        Err(MetaFileError::NotAnObject { detail }) if detail.contains("line 1")
    ));
    assert!(matches!(
        parse_meta_file(b"{\"a\": \"1\""),
        Err(MetaFileError::NotAnObject { .. })
    ));
    assert_eq!(
        parse_meta_file(br#"{"X-Oss-Meta-Client-Side-Encryption-Start": 5}"#),
        Err(MetaFileError::NotAString {
            name: "X-Oss-Meta-Client-Side-Encryption-Start".to_owned()
        })
    );
    assert_eq!(
        MetaFileError::NotAString { name: "n".into() }.to_string(),
        "the value of n must be a JSON string"
    );
    // Order and repeated names are kept (the header decoder refuses the repeat); a foreign
    // non-string value is left out.
    let pairs = parse_meta_file(
        br#"{"X-Oss-Meta-Client-Side-Encryption-Key":"a","x-oss-meta-client-side-encryption-key":"b","n":1}"#,
    )
    .unwrap();
    assert_eq!(
        pairs,
        [
            (
                "X-Oss-Meta-Client-Side-Encryption-Key".to_owned(),
                "a".to_owned()
            ),
            (
                "x-oss-meta-client-side-encryption-key".to_owned(),
                "b".to_owned()
            ),
        ]
    );
    assert_eq!(
        meta_file_text(&[("B-Name".into(), "1\"".into()), ("a".into(), "2".into())]),
        "{\n  \"b-name\": \"1\\\"\",\n  \"a\": \"2\"\n}\n"
    );
    assert_eq!(meta_file_text(&[]), "{}\n");
}

#[test]
fn a_split_of_a_stream_without_a_length_stops_at_two_to_the_sixty_four() {
    let m = cse_testkit::keystream::material([3; 32], [0xff; 16]);
    let mut sealer = Sealer::new(&m);
    let mut piece = sealer.split_to(u64::MAX - 5).unwrap();
    assert_eq!(sealer.position(), u64::MAX - 5);
    assert_eq!(piece.remaining(), Some(u64::MAX - 5));
    assert_eq!(
        sealer.split_to(6).map(|_| ()),
        Err(StreamError::TooLong),
        "past 2^64 - 1"
    );
    assert_eq!(
        sealer.position(),
        u64::MAX - 5,
        "a refused split changes nothing"
    );
    let mut last = sealer.split_to(5).unwrap();
    let mut five = [0u8; 5];
    last.update_in_place(&mut five).unwrap();
    assert_eq!(
        five.to_vec(),
        cse_testkit::keystream::reference_keystream(&[3; 32], &[0xff; 16], u64::MAX - 5, 5),
        "the last piece is the keystream's last bytes"
    );
    assert_eq!(last.finish(), Ok(u64::MAX));
    assert_eq!(sealer.update_in_place(&mut [0]), Err(StreamError::TooLong));
    piece.update_in_place(&mut [0; 16]).unwrap();
    assert_eq!(
        piece.finish(),
        Err(StreamError::Truncated {
            expected: u64::MAX - 5,
            actual: 16
        })
    );
}

//! The envelope to and from a `HeaderMap`, and the PutObject header rewrite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cse_core::{DEFAULT_PREFIX, DecodeOptions, Envelope, Field, RsaMasterCipher, WRAP_ALG_KMS};
use cse_http::{Error, decode_envelope, encode_envelope, prepare_put_headers};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};

const PEM: &str = cse_testkit::keys::RSA2048_PEM;
const MD5_0_TO_15: &str = "AAECAwQFBgcICQoLDA0ODw==";
const MD5_BYTES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// A bad PutObject case: request headers, the envelope, and the error it must give.
type PutCase = (
    &'static [(&'static str, &'static str)],
    cse_core::SealedEnvelope,
    fn(&Error) -> bool,
);

fn kms_envelope() -> Envelope {
    Envelope::from_wrapped(WRAP_ALG_KMS, "", b"wrapped-key", b"wrapped-counter").unwrap()
}

/// The same envelope, paired with a (test) material, as PutObject takes it.
fn kms_sealed() -> cse_core::SealedEnvelope {
    common::sealed(common::material(), &kms_envelope())
}

fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn minimal_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-oss-meta-client-side-encryption-key", "d3JhcHBlZC1rZXk="),
        (
            "x-oss-meta-client-side-encryption-start",
            "d3JhcHBlZC1jb3VudGVy",
        ),
        (
            "x-oss-meta-client-side-encryption-cek-alg",
            "AES/CTR/NoPadding",
        ),
        ("x-oss-meta-client-side-encryption-wrap-alg", "KMS/ALICLOUD"),
    ]
}

#[test]
fn encode_writes_the_expected_headers() {
    let envelope = kms_envelope()
        .with_unencrypted_content_length(1234)
        .with_unencrypted_content_md5(MD5_BYTES);
    let mut headers = map(&[("content-type", "text/plain")]);
    encode_envelope(&envelope, DEFAULT_PREFIX, &mut headers).unwrap();
    let mut expected = minimal_pairs();
    expected.push((
        "x-oss-meta-client-side-encryption-unencrypted-content-length",
        "1234",
    ));
    expected.push((
        "x-oss-meta-client-side-encryption-unencrypted-content-md5",
        MD5_0_TO_15,
    ));
    expected.push(("content-type", "text/plain"));
    assert_eq!(headers.len(), expected.len());
    for (name, value) in expected {
        assert_eq!(headers[name], value, "{name}");
    }
}

#[test]
fn round_trip_of_an_rsa_envelope() {
    let master = RsaMasterCipher::from_pem(PEM).unwrap();
    let material = cse_core::ContentMaterial::generate(&mut common::rng());
    let envelope = Envelope::seal(&material, &master, &mut common::rng())
        .unwrap()
        .with_unencrypted_content_length(u64::MAX)
        .with_unencrypted_content_md5([0xee; 16]);
    let mut headers = HeaderMap::new();
    encode_envelope(&envelope, DEFAULT_PREFIX, &mut headers).unwrap();
    let decoded = decode_envelope(&headers, &DecodeOptions::strict())
        .unwrap()
        .unwrap();
    assert_eq!(decoded, envelope);
    let opened = decoded.open(&master, &mut common::rng()).unwrap();
    assert_eq!(opened.key().as_bytes(), material.key().as_bytes());
    assert_eq!(opened.counter().as_bytes(), material.counter().as_bytes());
}

#[test]
fn round_trip_under_a_custom_prefix() {
    let envelope = kms_envelope().with_unencrypted_content_length(7);
    let mut headers = HeaderMap::new();
    encode_envelope(&envelope, "x-amz-meta-", &mut headers).unwrap();
    assert_eq!(
        headers["x-amz-meta-client-side-encryption-unencrypted-content-length"],
        "7"
    );
    let options = DecodeOptions {
        prefix: "x-amz-meta-",
        ..DecodeOptions::strict()
    };
    assert_eq!(decode_envelope(&headers, &options).unwrap(), Some(envelope));
    // Under the default prefix the same headers are no envelope at all.
    assert!(matches!(
        decode_envelope(&headers, &DecodeOptions::strict()),
        Err(Error::Core(cse_core::Error::NotEncrypted))
    ));
}

#[test]
fn encode_replaces_a_stale_envelope_and_keeps_other_metadata() {
    let mut headers = map(&[
        (
            "x-oss-meta-client-side-encryption-unencrypted-content-md5",
            MD5_0_TO_15,
        ),
        ("x-oss-meta-client-side-encryption-key", "b2xk"),
        ("x-oss-meta-client-side-encryption-key", "b2xkZXI="),
        ("x-oss-meta-owner", "alice"),
    ]);
    let envelope = kms_envelope();
    encode_envelope(&envelope, DEFAULT_PREFIX, &mut headers).unwrap();
    assert!(!headers.contains_key("x-oss-meta-client-side-encryption-unencrypted-content-md5"));
    assert_eq!(
        headers
            .get_all("x-oss-meta-client-side-encryption-key")
            .iter()
            .collect::<Vec<_>>(),
        ["d3JhcHBlZC1rZXk="]
    );
    assert_eq!(headers["x-oss-meta-owner"], "alice");
    assert_eq!(headers.len(), 5);
}

#[test]
fn encode_drops_stale_authentication_headers_and_the_new_ones_round_trip() {
    use cse_core::auth::{AuthParams, Binding, Commitment};
    let mut headers = map(&[
        ("X-Oss-Meta-Cse-Auth-Version", "1"),
        ("x-oss-meta-cse-auth-commitment", "c3RhbGU="),
        ("x-oss-meta-cse-auth-chunk-size", "65536"),
        ("x-oss-meta-owner", "alice"),
    ]);
    encode_envelope(&kms_envelope(), DEFAULT_PREFIX, &mut headers).unwrap();
    assert!(headers.keys().all(|k| !k.as_str().contains("cse-auth")));
    assert_eq!(
        cse_http::decode_auth_params(&headers, DEFAULT_PREFIX).unwrap(),
        None
    );
    let params = AuthParams {
        chunk_size: 1 << 20,
        commitment: Commitment([9; 32]),
        binding: Binding::BucketKey,
    };
    cse_http::encode_auth_params(&params, DEFAULT_PREFIX, &mut headers).unwrap();
    assert_eq!(
        cse_http::decode_auth_params(&headers, DEFAULT_PREFIX).unwrap(),
        Some(params)
    );
    assert_eq!(headers["x-oss-meta-owner"], "alice");
}

#[test]
fn decode_from_mixed_case_names() {
    let headers = map(&[
        ("X-OSS-META-CLIENT-SIDE-ENCRYPTION-KEY", "d3JhcHBlZC1rZXk="),
        (
            "X-Oss-Meta-Client-Side-Encryption-Start",
            "d3JhcHBlZC1jb3VudGVy",
        ),
        (
            "x-oss-meta-Client-Side-Encryption-Cek-Alg",
            "AES/CTR/NoPadding",
        ),
        ("X-Oss-Meta-client-side-encryption-wrap-alg", "KMS/ALICLOUD"),
        (
            "X-Oss-Meta-Client-Side-Encryption-Unencrypted-Content-Length",
            "99",
        ),
    ]);
    let envelope = decode_envelope(&headers, &DecodeOptions::strict())
        .unwrap()
        .unwrap();
    assert_eq!(envelope.wrapped_key().as_bytes(), b"wrapped-key");
    assert_eq!(envelope.wrapped_counter().as_bytes(), b"wrapped-counter");
    assert_eq!(envelope.wrap_alg(), "KMS/ALICLOUD");
    assert_eq!(envelope.unencrypted_content_length(), Some(99));
    // A mixed-case prefix in the options matches too.
    let options = DecodeOptions {
        prefix: "X-Oss-Meta-",
        ..DecodeOptions::strict()
    };
    assert_eq!(decode_envelope(&headers, &options).unwrap(), Some(envelope));
}

fn decode_err(headers: &HeaderMap) -> cse_core::Error {
    match decode_envelope(headers, &DecodeOptions::strict()) {
        Err(Error::Core(e)) => e,
        other => panic!("expected an engine error, got {other:?}"),
    }
}

fn with_replaced(name: &str, value: &[u8]) -> HeaderMap {
    let mut headers = map(&minimal_pairs());
    headers.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_bytes(value).unwrap(),
    );
    headers
}

#[test]
fn bad_headers_give_the_specific_engine_error() {
    let key = "x-oss-meta-client-side-encryption-key";
    assert_eq!(
        decode_err(&with_replaced(key, b"***")),
        cse_core::Error::InvalidBase64(Field::Key)
    );
    assert_eq!(
        decode_err(&with_replaced(key, b"")),
        cse_core::Error::EmptyHeader(Field::Key)
    );
    assert_eq!(
        decode_err(&with_replaced(
            "x-oss-meta-client-side-encryption-cek-alg",
            b"AES/GCM/NoPadding"
        )),
        cse_core::Error::UnsupportedCekAlg
    );
    assert_eq!(
        decode_err(&with_replaced(
            "x-oss-meta-client-side-encryption-unencrypted-content-length",
            b"12a"
        )),
        cse_core::Error::InvalidNumber(Field::UnencryptedContentLength)
    );
    // A value that is not UTF-8 reaches the engine as bytes and is refused by it.
    assert_eq!(
        decode_err(&with_replaced(
            "x-oss-meta-client-side-encryption-matdesc",
            b"{\"a\":\"\xff\"}"
        )),
        cse_core::Error::InvalidMatDesc
    );

    let mut missing = map(&minimal_pairs());
    missing.remove("x-oss-meta-client-side-encryption-start");
    assert_eq!(
        decode_err(&missing),
        cse_core::Error::MissingHeader(Field::Start)
    );

    let mut twice = map(&minimal_pairs());
    twice.append(
        HeaderName::from_static("x-oss-meta-client-side-encryption-key"),
        HeaderValue::from_static("d3JhcHBlZC1rZXk="),
    );
    assert_eq!(
        decode_err(&twice),
        cse_core::Error::DuplicateHeader(Field::Key)
    );
}

#[test]
fn an_object_without_an_envelope() {
    let headers = map(&[("content-length", "5"), ("x-oss-meta-owner", "alice")]);
    assert_eq!(
        decode_envelope(&headers, &DecodeOptions::default()).unwrap(),
        None
    );
    assert_eq!(decode_err(&headers), cse_core::Error::NotEncrypted);
}

#[test]
fn put_headers_move_content_md5_and_keep_content_length() {
    let mut headers = map(&[
        ("content-length", "1234"),
        ("content-md5", MD5_0_TO_15),
        ("content-type", "application/octet-stream"),
    ]);
    let envelope = prepare_put_headers(&mut headers, kms_sealed(), DEFAULT_PREFIX).unwrap();
    assert_eq!(envelope.envelope().unencrypted_content_length(), Some(1234));
    assert_eq!(
        envelope.envelope().unencrypted_content_md5(),
        Some(&MD5_BYTES)
    );
    assert!(!headers.contains_key("content-md5"));
    assert_eq!(headers[CONTENT_LENGTH], "1234");
    assert_eq!(headers[CONTENT_TYPE], "application/octet-stream");
    assert_eq!(
        headers["x-oss-meta-client-side-encryption-unencrypted-content-length"],
        "1234"
    );
    assert_eq!(
        headers["x-oss-meta-client-side-encryption-unencrypted-content-md5"],
        MD5_0_TO_15
    );
    assert_eq!(
        headers["x-oss-meta-client-side-encryption-key"],
        "d3JhcHBlZC1rZXk="
    );
    assert_eq!(headers.len(), 3 + 4 + 1);
}

#[test]
fn put_headers_without_md5_or_length() {
    let mut headers = HeaderMap::new();
    let envelope = prepare_put_headers(&mut headers, kms_sealed(), DEFAULT_PREFIX).unwrap();
    assert_eq!(envelope.envelope().unencrypted_content_length(), None);
    assert_eq!(envelope.envelope().unencrypted_content_md5(), None);
    assert_eq!(headers.len(), 4);
}

#[test]
fn put_headers_refuse_bad_input_and_leave_headers_unchanged() {
    let cases: [PutCase; 6] = [
        (&[("content-md5", "not base64!")], kms_sealed(), |e| {
            matches!(e, Error::InvalidContentMd5)
        }),
        (
            // Valid base64 of 15 bytes, not an MD5 digest.
            &[("content-md5", "AAECAwQFBgcICQoLDA0O")],
            kms_sealed(),
            |e| matches!(e, Error::InvalidContentMd5),
        ),
        (&[("content-length", "+5")], kms_sealed(), |e| {
            matches!(e, Error::InvalidContentLength)
        }),
        (
            &[("content-length", "18446744073709551616")],
            kms_sealed(),
            |e| matches!(e, Error::InvalidContentLength),
        ),
        (
            &[("content-length", "5"), ("content-length", "5")],
            kms_sealed(),
            |e| matches!(e, Error::RepeatedHeader { name } if name == CONTENT_LENGTH),
        ),
        (
            &[("content-length", "5")],
            kms_sealed().with_unencrypted_content_length(6),
            |e| {
                matches!(
                    e,
                    Error::LengthMismatch {
                        content_length: 5,
                        declared: 6
                    }
                )
            },
        ),
    ];
    for (pairs, envelope, expected) in cases {
        let mut headers = map(pairs);
        let before = headers.clone();
        let err = prepare_put_headers(&mut headers, envelope, DEFAULT_PREFIX).unwrap_err();
        assert!(expected(&err), "{pairs:?}: {err:?}");
        assert_eq!(headers, before, "{pairs:?}");
    }
}

#[test]
fn a_prefix_http_cannot_carry() {
    let mut headers = map(&[("x-oss-meta-owner", "alice")]);
    let before = headers.clone();
    match encode_envelope(&kms_envelope(), "x-oss(meta-", &mut headers) {
        Err(Error::UnencodableHeader { name }) => {
            assert_eq!(name, "x-oss(meta-client-side-encryption-key");
        }
        other => panic!("expected UnencodableHeader, got {other:?}"),
    }
    assert!(matches!(
        encode_envelope(&kms_envelope(), "x oss meta ", &mut headers),
        Err(Error::Core(cse_core::Error::InvalidPrefix))
    ));
    assert_eq!(headers, before);
}

#[test]
fn errors_name_the_header() {
    let err = decode_envelope(
        &with_replaced("x-oss-meta-client-side-encryption-key", b"***"),
        &DecodeOptions::strict(),
    )
    .unwrap_err();
    // Named by the part after the configured prefix, which every reader shares.
    assert!(
        err.to_string()
            .contains("header client-side-encryption-key "),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert!(Error::InvalidContentMd5.to_string().contains("content-md5"));
    assert!(
        Error::InvalidContentLength
            .to_string()
            .contains("content-length")
    );
}

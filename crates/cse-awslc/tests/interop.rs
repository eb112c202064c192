//! The aws-lc backend against the pure-Rust one, the SDK known-answer objects, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use cse_awslc::{AwsLcRsaMasterCipher, MIN_AWSLC_RSA_BITS};
use cse_core::{
    ContentMaterial, DecodeOptions, Envelope, Error, KeyProblem, Keyring, MasterCipher, MatDesc,
    RsaMasterCipher, WrappedValue, decode_envelope,
};

/// Wraps `plaintext` with `key` into an owned value.
fn wrap(
    key: &dyn MasterCipher,
    plaintext: &[u8],
    rng: &mut dyn rand_core::CryptoRng,
) -> WrappedValue {
    let mut out = [0u8; cse_core::MAX_WRAPPED_LEN];
    let n = key.wrap(plaintext, &mut out, rng).unwrap();
    WrappedValue::from_slice(&out[..n], cse_core::Field::Key).unwrap()
}
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap()
}

/// The Python SDK V2 test key (PKCS#1 PEM) and its public half (SPKI PEM).
fn sdk_private_pem() -> String {
    read("testvectors/python-v2/rsa2048-private.pem")
}

fn sdk_public_pem() -> String {
    read("testvectors/python-v2/rsa2048-public.pem")
}

/// A different RSA-2048 key (PKCS#8 PEM).
fn other_private_pem() -> String {
    cse_testkit::keys::RSA2048_PEM.to_owned()
}

fn headers(value: &serde_json::Value) -> Vec<(String, String)> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn decode(pairs: &[(String, String)]) -> Envelope {
    decode_envelope(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &DecodeOptions::strict(),
    )
    .unwrap()
    .unwrap()
}

#[test]
fn is_send_and_sync_for_the_keyring() {
    fn check<T: Send + Sync>() {}
    check::<AwsLcRsaMasterCipher>();
}

#[test]
fn objects_cross_between_the_two_backends() {
    let pem = sdk_private_pem();
    let pure = RsaMasterCipher::from_pem(&pem).unwrap();
    let awslc = AwsLcRsaMasterCipher::from_pem(&pem).unwrap();
    let mut rng = rng();
    for (writer, reader) in [
        (&pure as &dyn MasterCipher, &awslc as &dyn MasterCipher),
        (&awslc, &pure),
        (&awslc, &awslc),
    ] {
        let material = ContentMaterial::generate(&mut rng);
        let envelope = Envelope::seal(&material, writer, &mut rng).unwrap();
        assert_eq!(envelope.wrapped_key().as_bytes().len(), 256);
        assert_eq!(envelope.wrap_alg(), "RSA/NONE/PKCS1Padding");
        assert_eq!(envelope.open(reader, &mut rng).unwrap(), material);
    }
}

#[test]
fn python_sdk_objects_unwrap_to_the_manifest_values() {
    let manifest: serde_json::Value =
        serde_json::from_str(&read("testvectors/python-v2/manifest.json")).unwrap();
    let master = AwsLcRsaMasterCipher::from_pem(&sdk_private_pem()).unwrap();
    let vectors = manifest["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for vector in vectors {
        let envelope = decode(&headers(&vector["headers"]));
        let material = envelope.open(&master, &mut rng()).unwrap();
        let name = vector["name"].as_str().unwrap();
        assert_eq!(
            hex::encode(material.key().as_bytes()),
            vector["cek_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(material.counter().as_bytes()),
            vector["iv_hex"].as_str().unwrap(),
            "{name}"
        );
    }
}

/// `../shared/oss-cse-kat` beside the checkout, or `None` with a printed reason.
fn shared_kat() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/oss-cse-kat"
    ));
    if dir.join("compat-rsa1024-private-pkcs1.pem").is_file() {
        Some(dir)
    } else {
        println!(
            "SKIP: {} is absent; the SDK RSA-1024 known-answer vectors were not checked",
            dir.display()
        );
        None
    }
}

/// The SDK test suites' objects are wrapped with RSA-1024, which AWS-LC refuses for encryption:
/// every form of that key is `TooSmall` here, and the pure-Rust backend (the documented fallback)
/// unwraps the objects to the published values.
#[test]
fn sdk_rsa1024_vectors_need_the_pure_rust_backend() {
    let Some(dir) = shared_kat() else { return };
    for file in [
        "compat-rsa1024-private-pkcs1.pem",
        "compat-rsa1024-private-pkcs8.pem",
        "compat-rsa1024-public-pkcs1.pem",
        "compat-rsa1024-public-spki.pem",
    ] {
        let pem = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(
            AwsLcRsaMasterCipher::from_pem(&pem).unwrap_err(),
            Error::InvalidKey(KeyProblem::TooSmall),
            "{file}"
        );
    }
    let pem = std::fs::read_to_string(dir.join("compat-rsa1024-private-pkcs1.pem")).unwrap();
    let fallback = RsaMasterCipher::from_pem(&pem).unwrap();
    for (meta, cek, iv) in [
        (
            "enc-cpp-example.meta.json",
            "3e76c9c13d019b8e0356156a1dd4b285ee682c04659f058324e45d89f79708de",
            "8c3207b09a9bfa6600000000ac1992b4",
        ),
        (
            "enc-go-example.meta.json",
            "9ac3ce2ecd271fc9c88f080d05ec40ffa6e4a4d064dd86a5e55a1594a778c878",
            "5649ca0d16946d8100000000e649d194",
        ),
        (
            "enc-python-example.meta.json",
            "599c80c52670912ead1752b0f077a2c4fb52216e37ff1a18fe4fde98ece10b7b",
            "10706cb7468cd52e000000008771048a",
        ),
    ] {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(meta)).unwrap()).unwrap();
        let material = decode(&headers(&json)).open(&fallback, &mut rng()).unwrap();
        assert_eq!(hex::encode(material.key().as_bytes()), cek, "{meta}");
        assert_eq!(hex::encode(material.counter().as_bytes()), iv, "{meta}");
    }
}

#[test]
fn loads_every_key_form_and_they_interoperate() {
    let private = rsa::PrivateKey::from_pkcs1_pem(&sdk_private_pem()).unwrap();
    let public = rsa::PublicKey::from_public_key_pem(&sdk_public_pem()).unwrap();
    let pkcs8_pem = private
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string();
    let pkcs1_public_pem = public.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let private_keys = [
        AwsLcRsaMasterCipher::from_pem(&sdk_private_pem()).unwrap(),
        AwsLcRsaMasterCipher::from_pem(&pkcs8_pem).unwrap(),
        AwsLcRsaMasterCipher::from_der(private.to_pkcs1_der().unwrap().as_bytes()).unwrap(),
        AwsLcRsaMasterCipher::from_der(private.to_pkcs8_der().unwrap().as_bytes()).unwrap(),
    ];
    let public_keys = [
        AwsLcRsaMasterCipher::from_pem(&sdk_public_pem()).unwrap(),
        AwsLcRsaMasterCipher::from_pem(&pkcs1_public_pem).unwrap(),
        AwsLcRsaMasterCipher::from_der(public.to_public_key_der().unwrap().as_bytes()).unwrap(),
        AwsLcRsaMasterCipher::from_der(public.to_pkcs1_der().unwrap().as_bytes()).unwrap(),
    ];
    let mut rng = rng();
    for key in &private_keys {
        assert!(key.has_private_key());
        assert_eq!(key.bits(), 2048);
    }
    for writer in private_keys.iter().chain(&public_keys) {
        let material = ContentMaterial::generate(&mut rng);
        let envelope = Envelope::seal(&material, writer, &mut rng).unwrap();
        for reader in &private_keys {
            assert_eq!(envelope.open(reader, &mut rng).unwrap(), material);
        }
    }
    for key in &public_keys {
        assert!(!key.has_private_key());
        let material = ContentMaterial::generate(&mut rng);
        let envelope = Envelope::seal(&material, key, &mut rng).unwrap();
        assert_eq!(
            envelope.open(key, &mut rng).unwrap_err(),
            Error::MissingPrivateKey
        );
    }
}

#[test]
fn wrong_key_is_exactly_unwrap() {
    let writer = AwsLcRsaMasterCipher::from_pem(&sdk_private_pem()).unwrap();
    let mut rng = rng();
    let envelope = Envelope::seal(&ContentMaterial::generate(&mut rng), &writer, &mut rng).unwrap();
    let wrong_awslc = AwsLcRsaMasterCipher::from_pem(&other_private_pem()).unwrap();
    let wrong_pure = RsaMasterCipher::from_pem(&other_private_pem()).unwrap();
    assert_eq!(
        envelope.open(&wrong_awslc, &mut rng).unwrap_err(),
        Error::Unwrap
    );
    assert_eq!(
        envelope.open(&wrong_pure, &mut rng).unwrap_err(),
        Error::Unwrap
    );
}

#[test]
fn every_unwrap_failure_is_the_one_opaque_error() {
    let key = AwsLcRsaMasterCipher::from_pem(&sdk_private_pem()).unwrap();
    let mut rng = rng();
    let mut out = [0u8; 32];
    let good = wrap(&key, &[7u8; 32], &mut rng);
    assert_eq!(key.unwrap(good.as_bytes(), &mut out, &mut rng), Ok(()));
    assert_eq!(out, [7u8; 32]);

    // A well-padded message of another length than the slot: 31, 33 and 16 bytes for a key slot.
    for len in [31, 33, 16, 0] {
        let wrapped = wrap(&key, &vec![1u8; len], &mut rng);
        assert_eq!(
            key.unwrap(wrapped.as_bytes(), &mut out, &mut rng),
            Err(Error::Unwrap),
            "{len}-byte message"
        );
    }
    // Damaged, short, long, empty and out-of-range ciphertexts.
    let mut flipped = good.as_bytes().to_vec();
    flipped[100] ^= 1;
    let too_big = vec![0xffu8; 256];
    for bad in [
        &flipped[..],
        &good.as_bytes()[1..],
        &[good.as_bytes(), &[0][..]].concat(),
        &[],
        &too_big,
    ] {
        assert_eq!(
            key.unwrap(bad, &mut out, &mut rng),
            Err(Error::Unwrap),
            "{} bytes",
            bad.len()
        );
    }
    // The pure-Rust backend agrees on the wrong-length case.
    let pure = RsaMasterCipher::from_pem(&sdk_private_pem()).unwrap();
    let short = wrap(&key, &[1u8; 31], &mut rng);
    assert_eq!(
        pure.unwrap(short.as_bytes(), &mut out, &mut rng),
        Err(Error::Unwrap)
    );
}

#[test]
fn bad_key_files_name_the_problem() {
    assert_eq!(
        AwsLcRsaMasterCipher::from_pem("not a key").unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    assert_eq!(
        AwsLcRsaMasterCipher::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"
        )
        .unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    assert_eq!(
        AwsLcRsaMasterCipher::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        )
        .unwrap_err(),
        Error::InvalidKey(KeyProblem::Malformed)
    );
    assert_eq!(
        AwsLcRsaMasterCipher::from_der(b"\x30\x03\x02\x01\x00").unwrap_err(),
        Error::InvalidKey(KeyProblem::Unrecognized)
    );
    assert_eq!(
        AwsLcRsaMasterCipher::from_pem(cse_testkit::keys::RSA768_PEM).unwrap_err(),
        Error::InvalidKey(KeyProblem::TooSmall)
    );
    assert_eq!(MIN_AWSLC_RSA_BITS, 2048);
}

#[test]
fn debug_shows_no_key_material() {
    let key = AwsLcRsaMasterCipher::from_pem(&sdk_private_pem()).unwrap();
    assert_eq!(
        format!("{key:?}"),
        r#"AwsLcRsaMasterCipher { bits: 2048, private: true, matdesc: "" }"#
    );
    let public = AwsLcRsaMasterCipher::from_pem(&sdk_public_pem()).unwrap();
    assert_eq!(
        format!("{public:?}"),
        r#"AwsLcRsaMasterCipher { bits: 2048, private: false, matdesc: "" }"#
    );
}

#[test]
fn matdesc_is_written_canonically_and_selects_the_key() {
    let desc = MatDesc::new().with("key", "sdk").with("env", "test");
    let sdk = AwsLcRsaMasterCipher::from_pem(&sdk_private_pem())
        .unwrap()
        .with_matdesc(&desc);
    assert_eq!(sdk.matdesc(), r#"{"env":"test","key":"sdk"}"#);
    let mut rng = rng();
    let material = ContentMaterial::generate(&mut rng);
    let envelope = Envelope::seal(&material, &sdk, &mut rng).unwrap();
    assert_eq!(envelope.matdesc_text(), r#"{"env":"test","key":"sdk"}"#);
    // The default key is a different one; the matdesc picks the right one.
    let keyring = Keyring::new(Box::new(
        AwsLcRsaMasterCipher::from_pem(&other_private_pem()).unwrap(),
    ))
    .with(Box::new(
        AwsLcRsaMasterCipher::from_pem(&sdk_private_pem())
            .unwrap()
            .with_matdesc(&desc),
    ));
    assert_eq!(keyring.open(&envelope, &mut rng).unwrap(), material);
}

#[test]
fn private_key_pem_and_der_round_trip_through_rsa() {
    // The PKCS#8 input form goes through unchanged in meaning: both load the same modulus.
    let pkcs8 = other_private_pem();
    let parsed = rsa::PrivateKey::from_pkcs8_pem(&pkcs8).unwrap();
    let from_pem = AwsLcRsaMasterCipher::from_pem(&pkcs8).unwrap();
    let from_der =
        AwsLcRsaMasterCipher::from_der(parsed.to_pkcs8_der().unwrap().as_bytes()).unwrap();
    let mut rng = rng();
    let material = ContentMaterial::generate(&mut rng);
    let envelope = Envelope::seal(&material, &from_pem, &mut rng).unwrap();
    assert_eq!(envelope.open(&from_der, &mut rng).unwrap(), material);
}

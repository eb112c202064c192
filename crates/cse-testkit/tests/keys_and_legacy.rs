//! Property tests for the key-loading and legacy-format invariants, which the `key_load` and
//! `legacy_decode` fuzz targets check too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cse_testkit::invariants::keys::load_any;
use cse_testkit::invariants::legacy::decode_any;
use cse_testkit::keys::{RSA768_PEM, RSA2048_PEM};
use proptest::prelude::*;

#[test]
fn the_test_keys_load_as_the_invariant_expects() {
    load_any(RSA2048_PEM.as_bytes());
    load_any(RSA768_PEM.as_bytes());
    // Damaged in the middle of the base64 body: a key or InvalidKey, never a panic.
    let mut pem = RSA2048_PEM.as_bytes().to_vec();
    pem[200] ^= 0x01;
    load_any(&pem);
}

fn legacy_header() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let name = prop_oneof![
        Just("x-oss-meta-oss-crypto-key"),
        Just("x-oss-meta-oss-crypto-start"),
        Just("x-oss-meta-oss-cek-alg"),
        Just("x-oss-meta-oss-wrap-alg"),
        Just("x-oss-meta-oss-crypto-matdesc"),
        Just("x-oss-meta-oss-other"),
        Just("x-oss-meta-client-side-encryption-key"),
    ];
    let value = prop_oneof![
        Just(b"rsa".to_vec()),
        Just(b"kms".to_vec()),
        Just(b"AES/GCM/NoPadding".to_vec()),
        "[A-Za-z0-9+/]{0,8}={0,2}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    (name, any::<bool>(), value).prop_map(|(n, up, v)| {
        let n = if up { n.to_uppercase() } else { n.to_owned() };
        (n.into_bytes(), v)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_load_as_a_key_or_invalid_key(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            (0usize..RSA2048_PEM.len()).prop_map(|n| RSA2048_PEM.as_bytes()[..n].to_vec()),
        ],
    ) {
        load_any(&data);
    }

    #[test]
    fn any_legacy_headers_and_material_decode_as_documented(
        headers in proptest::collection::vec(legacy_header(), 0..8),
        key in prop_oneof![Just(vec![7u8; 32]), proptest::collection::vec(any::<u8>(), 0..40)],
        counter in prop_oneof![
            "[0-9]{0,41}",
            Just(u128::MAX.to_string()),
            Just("340282366920938463463374607431768211456".to_owned()),
            "[ -~]{0,6}",
        ],
    ) {
        let pairs: Vec<(&[u8], &[u8])> =
            headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
        decode_any(&pairs, &key, counter.as_bytes());
    }
}

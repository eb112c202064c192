//! The 2018 oss2 format, read only.

use cse_core::legacy::{LegacyWrap, decode_legacy_envelope, legacy_material};
use cse_core::{CounterBlock, DEFAULT_PREFIX, Error, Field};

use crate::keys::rsa2048;
use crate::rng::TestRng;

/// Decoding arbitrary headers as a legacy envelope never panics, and what it says holds:
/// - a decoded envelope has both its key headers, and `open_rsa` with the test key returns
///   material or one of the documented errors (`InvalidWrapAlg` for a KMS one);
/// - nothing decodes as "no legacy envelope" while a legacy header (the `oss-crypto-` family,
///   `oss-cek-alg`, `oss-wrap-alg`) is present; other `x-oss-meta-oss-*` headers are user
///   metadata;
/// - `legacy_material(key, counter)` accepts exactly a 32-byte key and a decimal of 1 to 39
///   digits that fits 128 bits, and the counter block is that integer; anything else is the
///   one opaque `Unwrap`.
///
/// # Panics
/// When any of that does not hold.
pub fn decode_any(pairs: &[(&[u8], &[u8])], key: &[u8], counter: &[u8]) {
    match decode_legacy_envelope(pairs.iter().map(|&(n, v)| (n, v)), DEFAULT_PREFIX) {
        Ok(Some(envelope)) => {
            assert!(!envelope.key_header().is_empty() && !envelope.start_header().is_empty());
            let opened = envelope.open_rsa(rsa2048(), &mut TestRng(7));
            match envelope.wrap() {
                LegacyWrap::Kms => assert_eq!(opened.err(), Some(Error::InvalidWrapAlg)),
                LegacyWrap::RsaOaepSha1 => match opened {
                    Ok(_)
                    | Err(
                        Error::Unwrap
                        | Error::InvalidBase64(Field::LegacyKey | Field::LegacyStart)
                        | Error::ValueTooLong {
                            field: Field::LegacyKey | Field::LegacyStart,
                            ..
                        },
                    ) => {}
                    Err(e) => panic!("open_rsa failed with {e:?}"),
                },
            }
        }
        Ok(None) => assert!(!pairs.iter().any(|(n, _)| {
            let crypto = b"x-oss-meta-oss-crypto-";
            (n.len() > crypto.len() && n[..crypto.len()].eq_ignore_ascii_case(crypto))
                || n.eq_ignore_ascii_case(b"x-oss-meta-oss-cek-alg")
                || n.eq_ignore_ascii_case(b"x-oss-meta-oss-wrap-alg")
        })),
        Err(_) => {}
    }

    let expected = std::str::from_utf8(counter)
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 39 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u128>().ok());
    match legacy_material(key, counter) {
        Ok(m) => {
            assert_eq!(key.len(), 32);
            assert_eq!(m.key().as_bytes(), key);
            let value = expected.expect("accepted counters are decimal u128 values");
            assert_eq!(m.counter(), &CounterBlock::from_u128(value));
        }
        // One opaque error, whichever of the two values is bad.
        Err(Error::Unwrap) => assert!(key.len() != 32 || expected.is_none()),
        Err(e) => panic!("legacy_material failed with {e:?}"),
    }
}

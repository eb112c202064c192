//! The 2018 oss2 format: `decode_legacy_envelope` on arbitrary header lines, `open_rsa` with the
//! test key on whatever decodes, and `legacy_material` against an independent reading of the
//! decimal counter. Input: header lines, then a NUL, then a key-length byte, the key bytes and
//! the counter text.
#![no_main]

use cse_core::legacy::{LegacyWrap, decode_legacy_envelope, legacy_material};
use cse_core::{CounterBlock, DEFAULT_PREFIX, Error, Field};
use cse_fuzz::{TestRng, header_lines, test_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (headers, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let lines = header_lines(headers);
    match decode_legacy_envelope(lines.iter().map(|&(n, v)| (n, v)), DEFAULT_PREFIX) {
        Ok(Some(envelope)) => {
            assert!(!envelope.key_header().is_empty() && !envelope.start_header().is_empty());
            let opened = envelope.open_rsa(test_key(), &mut TestRng(7));
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
        // Only the legacy names (and the `oss-crypto-` family) mark a legacy object; other
        // `x-oss-meta-oss-*` headers are user metadata.
        Ok(None) => assert!(!lines.iter().any(|(n, _)| {
            let crypto = b"x-oss-meta-oss-crypto-";
            (n.len() > crypto.len() && n[..crypto.len()].eq_ignore_ascii_case(crypto))
                || n.eq_ignore_ascii_case(b"x-oss-meta-oss-cek-alg")
                || n.eq_ignore_ascii_case(b"x-oss-meta-oss-wrap-alg")
        })),
        Err(_) => {}
    }

    let Some((&key_len, rest)) = rest.split_first() else {
        return;
    };
    let key_len = usize::from(key_len).min(rest.len());
    let (key, counter) = rest.split_at(key_len);
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
});

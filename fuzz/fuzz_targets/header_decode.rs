//! Arbitrary header pairs through `decode_envelope` in both missing-envelope modes; a decoded
//! envelope must survive `to_headers` and a second decode unchanged.
#![no_main]

use cse_core::{
    DEFAULT_PREFIX, DecodeOptions, Error, MissingEnvelope, decode_envelope, is_envelope_header,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 set means the first line is the prefix to use.
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let mut lines = cse_fuzz::header_lines(body);
    let custom;
    let prefix = if flags & 1 == 1 && !lines.is_empty() {
        custom = String::from_utf8_lossy(lines.remove(0).0).into_owned();
        custom.as_str()
    } else {
        DEFAULT_PREFIX
    };
    let decode = |missing| {
        decode_envelope(
            lines.iter().map(|&(n, v)| (n, v)),
            &DecodeOptions { prefix, missing },
        )
    };
    let lenient = decode(MissingEnvelope::PassThrough);
    let strict = decode(MissingEnvelope::Reject);
    match &lenient {
        Ok(None) => assert_eq!(strict, Err(Error::NotEncrypted)),
        other => assert_eq!(
            &strict, other,
            "the modes differ only for a missing envelope"
        ),
    }
    let Ok(Some(envelope)) = lenient else {
        return;
    };

    let headers = envelope
        .to_headers(prefix)
        .expect("the prefix was accepted by decoding");
    for (name, _) in &headers {
        assert!(
            is_envelope_header(name.as_bytes(), prefix),
            "{name} is not an envelope header"
        );
    }
    let again = decode_envelope(
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &DecodeOptions {
            prefix,
            missing: MissingEnvelope::Reject,
        },
    );
    assert_eq!(again.as_ref(), Ok(&Some(envelope.clone())));
    let headers_again = again
        .ok()
        .flatten()
        .map(|e| e.to_headers(prefix))
        .expect("decoded above");
    assert_eq!(
        headers_again.as_ref(),
        Ok(&headers),
        "encoding is deterministic"
    );
});

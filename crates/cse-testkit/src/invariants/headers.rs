//! Decoding envelope headers, and encoding them back.

use cse_core::{
    DecodeOptions, Envelope, Error, Field, MissingEnvelope, decode_envelope, is_envelope_header,
};

/// The header an error names, if it names one.
fn named_field(e: &Error) -> Option<Field> {
    match *e {
        Error::MissingHeader(f)
        | Error::EmptyHeader(f)
        | Error::DuplicateHeader(f)
        | Error::InvalidBase64(f)
        | Error::InvalidNumber(f)
        | Error::ValueTooLong { field: f, .. }
        | Error::InvalidValue { field: f, .. } => Some(f),
        Error::InvalidMatDesc => Some(Field::MatDesc),
        Error::UnsupportedCekAlg => Some(Field::CekAlg),
        Error::InvalidWrapAlg => Some(Field::WrapAlg),
        _ => None,
    }
}

/// Decoding arbitrary headers never panics, and what it says holds:
/// - the two missing-envelope modes agree, except that where `PassThrough` finds no envelope
///   (`Ok(None)`) `Reject` says `NotEncrypted`;
/// - an error is `InvalidPrefix` (the prefix was refused), or it names the header at fault, by
///   its suffix and never with the prefix, in its message;
/// - a decoded envelope passes [`round_trip`] under the same prefix (upper-cased when `shout`).
///
/// # Panics
/// When any of that does not hold.
pub fn decode_any(pairs: &[(&[u8], &[u8])], prefix: &str, shout: bool) {
    let decode = |missing| {
        decode_envelope(
            pairs.iter().map(|&(n, v)| (n, v)),
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
    match lenient {
        Ok(Some(envelope)) => round_trip(&envelope, prefix, shout),
        Ok(None) | Err(Error::InvalidPrefix) => {}
        Err(e) => {
            let field = named_field(&e)
                .unwrap_or_else(|| panic!("decoding failed with {e:?}, which names no header"));
            let message = e.to_string();
            assert!(
                message.contains(&format!("header {field} ")),
                "{e:?} does not name {field}: {message}"
            );
            assert!(
                prefix.is_empty() || !message.contains(prefix),
                "{e:?} names the prefix {prefix:?}: {message}"
            );
        }
    }
}

/// An envelope encodes to headers that decode back to it:
/// - `to_headers(prefix)` succeeds, and every header it writes is an envelope header for
///   `prefix`;
/// - those headers decode (strictly, in reverse order, and upper-cased when `shout`) to an
///   equal envelope, with the same matdesc;
/// - encoding is deterministic: the decoded envelope encodes to the same headers.
///
/// # Panics
/// When any of that does not hold, or the prefix is refused.
pub fn round_trip(envelope: &Envelope, prefix: &str, shout: bool) {
    let headers = envelope
        .to_headers(prefix)
        .expect("the prefix was accepted by decoding");
    for (name, _) in &headers {
        assert!(
            is_envelope_header(name.as_bytes(), prefix),
            "{name} is not an envelope header"
        );
    }
    let mut sent = headers.clone();
    if shout {
        for (name, _) in &mut sent {
            *name = name.to_uppercase();
        }
    }
    sent.reverse();
    let back = decode_envelope(
        sent.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &DecodeOptions {
            prefix,
            missing: MissingEnvelope::Reject,
        },
    )
    .expect("encoded headers decode")
    .expect("an envelope was encoded");
    assert_eq!(&back, envelope);
    assert_eq!(back.matdesc(), envelope.matdesc());
    assert_eq!(
        back.to_headers(prefix).as_ref(),
        Ok(&headers),
        "encoding is deterministic"
    );
}

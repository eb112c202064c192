//! The material description (`matdesc`) header.

use cse_core::{Envelope, Error, Field, MAX_MATDESC_LEN, MatDesc, WRAP_ALG_RSA};

/// Whatever `MatDesc::parse` accepts has an ASCII canonical form (empty for an empty map) that
/// parses back to the same map and is a fixed point; an envelope built from the same text stores
/// exactly that canonical form, or refuses it as too long.
///
/// # Panics
/// When any of that does not hold.
pub fn parse_any(data: &[u8]) {
    let Ok(parsed) = MatDesc::parse(data) else {
        return;
    };
    let canonical = parsed.to_canonical();
    assert!(
        canonical.is_ascii(),
        "canonical matdesc must be a valid header value"
    );
    if parsed.is_empty() {
        assert!(canonical.is_empty());
    } else {
        let back = MatDesc::parse(canonical.as_bytes()).expect("canonical form parses");
        assert_eq!(back, parsed);
        assert_eq!(
            back.to_canonical(),
            canonical,
            "canonical form is a fixed point"
        );
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Envelope::from_wrapped(WRAP_ALG_RSA, text, b"k", b"s") {
        Ok(envelope) => {
            assert_eq!(envelope.matdesc_text(), canonical);
            assert_eq!(envelope.matdesc(), Ok(parsed));
        }
        Err(Error::ValueTooLong {
            field: Field::MatDesc,
            max,
        }) => assert!(max == MAX_MATDESC_LEN && canonical.len() > MAX_MATDESC_LEN),
        Err(e) => panic!("a parsed matdesc was refused: {e:?}"),
    }
}

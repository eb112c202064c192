//! Loading RSA master keys.

use cse_core::{Error, MAX_WRAPPED_LEN, MIN_RSA_BITS, MasterCipher, RsaMasterCipher};

use crate::rng::TestRng;

/// A loaded key: at least the minimum size, and (up to 2048 bits: larger keys only cost the
/// fuzzer time) it wraps, and unwraps what it wrapped when it is private (a public one says
/// `MissingPrivateKey`).
fn check(key: &RsaMasterCipher) {
    let debug = format!("{key:?}");
    assert!(debug.contains("RsaMasterCipher"));
    assert!(key.bits() >= MIN_RSA_BITS);
    if key.bits() > 2048 {
        return;
    }
    let mut rng = TestRng(1);
    let secret = [0x5au8; 32];
    let mut wrapped = [0u8; MAX_WRAPPED_LEN];
    let n = key
        .wrap(&secret, &mut wrapped, &mut rng)
        .expect("a loaded key wraps 32 bytes");
    let mut out = [0u8; 32];
    let unwrapped = key.unwrap(&wrapped[..n], &mut out, &mut rng);
    if key.has_private_key() {
        assert_eq!(
            unwrapped,
            Ok(()),
            "a loaded private key must unwrap what it wrapped"
        );
        assert_eq!(out, secret);
    } else {
        assert_eq!(unwrapped, Err(Error::MissingPrivateKey));
    }
}

/// Any bytes, read as PEM text (lossily) and as DER, load as an RSA key or fail with
/// `InvalidKey`; a loaded key passes the checks above.
///
/// # Panics
/// When any of that does not hold.
pub fn load_any(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        RsaMasterCipher::from_pem(&text),
        RsaMasterCipher::from_der(data),
    ] {
        match loaded {
            Ok(key) => check(&key),
            Err(Error::InvalidKey(_)) => {}
            Err(e) => panic!("key loading failed with {e:?}, not InvalidKey"),
        }
    }
}

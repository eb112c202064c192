//! `RsaMasterCipher::from_pem` (input read as text, lossily) and `from_der`: any input is a key or
//! `Error::InvalidKey`, and a loaded key wraps, and unwraps when it is private.
#![no_main]

use cse_core::{Error, MIN_RSA_BITS, MasterCipher, RsaMasterCipher};
use cse_fuzz::TestRng;
use libfuzzer_sys::fuzz_target;

fn check(key: &RsaMasterCipher) {
    let debug = format!("{key:?}");
    assert!(debug.contains("RsaMasterCipher"));
    assert!(key.bits() >= MIN_RSA_BITS);
    // Keep the fuzzer fast: larger keys only cost time, not coverage.
    if key.bits() > 2048 {
        return;
    }
    let mut rng = TestRng(1);
    let secret = [0x5au8; 32];
    let mut wrapped = [0u8; cse_core::MAX_WRAPPED_LEN];
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

fuzz_target!(|data: &[u8]| {
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
});

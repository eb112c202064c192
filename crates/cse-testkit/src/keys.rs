//! The workspace's test keys: committed, generated for tests only, protecting nothing.

/// An RSA-2048 private key (PKCS#8 PEM), the key the tests and fuzz targets seal with.
pub const RSA2048_PEM: &str = include_str!("../keys/test-rsa2048.pem");

/// [`RSA2048_PEM`] as a file, for tests that hand a key path to a program.
pub const RSA2048_PEM_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/test-rsa2048.pem");

/// An RSA-768 private key (PKCS#8 PEM): well formed, but smaller than any backend accepts.
pub const RSA768_PEM: &str = include_str!("../keys/test-rsa768.pem");

/// [`RSA768_PEM`] as a file.
pub const RSA768_PEM_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/test-rsa768.pem");

/// [`RSA2048_PEM`] loaded as cse-core's pure-Rust master cipher, once per process.
#[cfg(feature = "rsa")]
#[must_use]
pub fn rsa2048() -> &'static cse_core::RsaMasterCipher {
    static KEY: std::sync::OnceLock<cse_core::RsaMasterCipher> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        cse_core::RsaMasterCipher::from_pem(RSA2048_PEM).expect("the committed test key loads")
    })
}

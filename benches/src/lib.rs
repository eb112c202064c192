//! Criterion benches live in `benches/`; this crate holds only the fixtures they share.

use cse_core::{ContentKey, ContentMaterial, CounterBlock};

/// The RSA-2048 test key of the Python SDK V2 vectors (PKCS#1 PEM), for the unwrap benches.
pub const RSA2048_PEM: &str = include_str!("../../testvectors/python-v2/rsa2048-private.pem");

/// The content key every bench uses.
pub const KEY: [u8; 32] = [0x42; 32];

/// The counter block every bench uses: canonical (bytes 8..12 zero), as the SDKs write it.
pub const COUNTER: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 9, 10, 11, 12];

/// [`KEY`] and [`COUNTER`] as content material.
#[must_use]
pub fn material() -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes(KEY),
        CounterBlock::from_bytes(COUNTER),
    )
}

/// A `len`-byte buffer of non-constant plaintext.
#[must_use]
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect()
}

/// The OS random generator as the `CryptoRng` the engine takes.
#[must_use]
pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

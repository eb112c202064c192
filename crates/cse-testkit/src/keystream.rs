//! Content material from raw bytes, the reference keystream, and sealing helpers.

use aes::Aes256;
use cse_core::{ContentKey, ContentMaterial, CounterBlock, Envelope, SealedEnvelope, Sealer};
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

/// Content material from raw parts.
#[must_use]
pub fn material(key: [u8; 32], counter: [u8; 16]) -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes(key),
        CounterBlock::from_bytes(counter),
    )
}

/// A second material with the same bytes. `ContentMaterial` is deliberately not `Clone`; tests
/// that need two contexts over one material rebuild it from its bytes, which is exactly what the
/// type cannot prevent and the multipart rules must withstand.
#[must_use]
pub fn copy(m: &ContentMaterial) -> ContentMaterial {
    material(*m.key().as_bytes(), *m.counter().as_bytes())
}

/// `len` keystream bytes starting at byte `offset` of the stream, computed with the `ctr` crate
/// directly, not with the engine: AES-256 with the 128-bit big-endian counter, as the format
/// defines it.
#[must_use]
pub fn reference_keystream(key: &[u8; 32], counter: &[u8; 16], offset: u64, len: usize) -> Vec<u8> {
    let mut cipher = ctr::Ctr128BE::<Aes256>::new(key.into(), counter.into());
    cipher.seek(offset);
    let mut out = vec![0u8; len];
    cipher.apply_keystream(&mut out);
    out
}

/// `plain` XOR the reference keystream from offset 0: the ciphertext the format defines.
#[must_use]
pub fn reference_seal(key: &[u8; 32], counter: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let ks = reference_keystream(key, counter, 0, plain.len());
    plain.iter().zip(&ks).map(|(p, k)| p ^ k).collect()
}

/// The engine's one-shot seal of the whole of `data`.
#[must_use]
pub fn seal_all(material: &ContentMaterial, data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    Sealer::new(material)
        .update_in_place(&mut out)
        .expect("an undeclared stream takes any length a test holds");
    out
}

/// `m` paired with an envelope the test made for it (the wrapped values are the test's own).
#[must_use]
pub fn sealed(m: ContentMaterial, env: &Envelope) -> SealedEnvelope {
    let sealed = SealedEnvelope::from_wrapped(
        m,
        env.wrap_alg(),
        env.matdesc_text(),
        env.wrapped_key().as_bytes(),
        env.wrapped_counter().as_bytes(),
    )
    .expect("a test envelope");
    match env.unencrypted_content_length() {
        Some(len) => sealed.with_unencrypted_content_length(len),
        None => sealed,
    }
}

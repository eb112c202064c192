//! Helpers shared by the fuzz targets: the text header format of the seeds, a deterministic RNG,
//! the test key, and a reference AES-256-CTR keystream addressed by byte offset.

use std::convert::Infallible;
use std::sync::OnceLock;

use aes::Aes256;
use cse_core::rand_core::{TryCryptoRng, TryRng};
use cse_core::{ContentKey, ContentMaterial, CounterBlock, RsaMasterCipher};
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

/// Splits `data` into header pairs: one pair per `\n`-separated line, the name before the first
/// `:` and the value after it (a line without `:` is a name with an empty value). Bytes are kept
/// as they are, so names and values need not be UTF-8, as on the wire.
pub fn header_lines(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == b'\n')
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        })
        .collect()
}

/// A deterministic generator (splitmix64) so that every fuzz run is reproducible. Only for
/// fuzzing: it claims `CryptoRng` because the engine asks for one.
pub struct TestRng(pub u64);

impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let word = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// The RSA-2048 test key of cse-core's tests, loaded once.
pub fn test_key() -> &'static RsaMasterCipher {
    static KEY: OnceLock<RsaMasterCipher> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaMasterCipher::from_pem(include_str!(
            "../../crates/cse-testkit/keys/test-rsa2048.pem"
        ))
        .expect("the checked-in test key loads")
    })
}

/// Content material from raw parts.
pub fn material(key: [u8; 32], counter: [u8; 16]) -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes(key),
        CounterBlock::from_bytes(counter),
    )
}

/// `len` keystream bytes starting at byte `offset` of the stream, computed with the `ctr` crate
/// directly: AES-256 with the 128-bit big-endian counter, as the format defines it.
pub fn reference_keystream(key: &[u8; 32], counter: &[u8; 16], offset: u64, len: usize) -> Vec<u8> {
    let mut cipher = ctr::Ctr128BE::<Aes256>::new(key.into(), counter.into());
    cipher.seek(offset);
    let mut out = vec![0u8; len];
    cipher.apply_keystream(&mut out);
    out
}

/// Cuts `len` bytes into chunks whose lengths come from `splits` (each taken modulo 97, so empty
/// and block-straddling chunks both occur); the rest is one last chunk.
pub fn chunk_lengths(len: usize, splits: &[u16]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = len;
    for &s in splits {
        if left == 0 {
            break;
        }
        let n = usize::from(s % 97).min(left);
        out.push(n);
        left -= n;
    }
    if left > 0 {
        out.push(left);
    }
    out
}

/// `m` paired with an envelope the test made for it (the wrapped values are the test's own).
pub fn sealed(m: cse_core::ContentMaterial, env: &cse_core::Envelope) -> cse_core::SealedEnvelope {
    let sealed = cse_core::SealedEnvelope::from_wrapped(
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

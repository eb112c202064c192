//! Content key material: the per-object AES-256 key and the 16-byte CTR counter block.

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Length of the content encryption key (AES-256).
pub const CONTENT_KEY_LEN: usize = 32;
/// Length of the CTR counter block.
pub const COUNTER_BLOCK_LEN: usize = 16;
/// The AES block size; CTR advances the counter once per block.
pub const BLOCK_LEN: u64 = 16;

/// The per-object AES-256 content encryption key (CEK). Zeroized on drop, never printed, and not
/// `Clone`: a copy of a key is a second place it can leak from, and a second sealer it can feed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ContentKey([u8; CONTENT_KEY_LEN]);

impl ContentKey {
    /// Wraps raw key bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; CONTENT_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for a master cipher to wrap.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; CONTENT_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey(<secret>)")
    }
}

impl PartialEq for ContentKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for ContentKey {}

/// The 16-byte CTR counter block for plaintext block 0 (the `start` header, called "IV" by the
/// SDKs). Block `i` is encrypted under `(counter + i) mod 2^128`, big-endian. Zeroized on drop,
/// not `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CounterBlock([u8; COUNTER_BLOCK_LEN]);

impl CounterBlock {
    /// Wraps a raw counter block.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; COUNTER_BLOCK_LEN]) -> Self {
        Self(bytes)
    }

    /// The counter block as the 128-bit big-endian integer it is.
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        Self(value.to_be_bytes())
    }

    /// The raw bytes, for a master cipher to wrap.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; COUNTER_BLOCK_LEN] {
        &self.0
    }

    /// The counter for block `blocks` of the stream: `(self + blocks) mod 2^128`.
    #[must_use]
    pub fn add_blocks(&self, blocks: u128) -> Self {
        Self::from_u128(u128::from_be_bytes(self.0).wrapping_add(blocks))
    }

    /// Whether bytes 8..12 are zero, as every official SDK writes them.
    ///
    /// A block that is not canonical is still read correctly here (full 128-bit arithmetic), but
    /// the Java SDK seeks it wrongly for ranged reads and multipart, and Go wraps differently on
    /// overflow. Treat `false` as a diagnostic, not an error.
    #[must_use]
    pub fn is_canonical(&self) -> bool {
        self.0[8..12] == [0; 4]
    }
}

impl fmt::Debug for CounterBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CounterBlock(<secret>)")
    }
}

impl PartialEq for CounterBlock {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for CounterBlock {}

/// The unwrapped content material of one object: its key and its counter block.
///
/// Not `Clone`, on purpose: a [`MultipartContext`](crate::MultipartContext) takes its material by
/// value, so one material backs at most one context and the context's once-per-part rule cannot
/// be sidestepped by a second context over a copy. Share it by reference (or in an `Arc`) for
/// reading. The one way to get the same material twice is to unwrap the same envelope twice; a
/// resumed upload does that, which is why resuming starts from a checkpoint that says which parts
/// were already sealed.
///
/// ```compile_fail
/// # use cse_core::{ContentMaterial, ContentKey, CounterBlock};
/// let m = ContentMaterial::new(ContentKey::from_bytes([0; 32]), CounterBlock::from_bytes([0; 16]));
/// let second = m.clone(); // error: ContentMaterial is not Clone
/// ```
#[derive(PartialEq, Eq)]
pub struct ContentMaterial {
    key: ContentKey,
    counter: CounterBlock,
}

impl ContentMaterial {
    /// Fresh material for a new object: a random 32-byte key and a random counter block whose
    /// bytes 8..12 are zero, as every official SDK writes it (Java needs it for seeking).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = [0u8; CONTENT_KEY_LEN];
        let mut counter = [0u8; COUNTER_BLOCK_LEN];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut counter);
        counter[8..12].fill(0);
        let material = Self::new(ContentKey(key), CounterBlock(counter));
        key.zeroize();
        counter.zeroize();
        material
    }

    /// Material from its parts.
    #[must_use]
    pub const fn new(key: ContentKey, counter: CounterBlock) -> Self {
        Self { key, counter }
    }

    /// Material from unwrapped bytes, for a master key that unwraps outside the engine (KMS).
    ///
    /// # Errors
    /// [`Error::Unwrap`] unless `key` is exactly 32 bytes and `counter` exactly 16. The error is
    /// the same opaque one as for any other unwrap failure.
    pub fn from_unwrapped(key: &[u8], counter: &[u8]) -> Result<Self> {
        let key: [u8; CONTENT_KEY_LEN] = key.try_into().map_err(|_| Error::Unwrap)?;
        let counter: [u8; COUNTER_BLOCK_LEN] = counter.try_into().map_err(|_| Error::Unwrap)?;
        Ok(Self::new(ContentKey(key), CounterBlock(counter)))
    }

    /// The content key.
    #[must_use]
    pub const fn key(&self) -> &ContentKey {
        &self.key
    }

    /// The counter block for plaintext block 0.
    #[must_use]
    pub const fn counter(&self) -> &CounterBlock {
        &self.counter
    }
}

impl fmt::Debug for ContentMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentMaterial(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_addition_wraps_at_2_pow_128() {
        let c = CounterBlock::from_u128(u128::MAX);
        assert_eq!(c.add_blocks(1).as_bytes(), &[0u8; 16]);
        let c = CounterBlock::from_u128(u128::from(u64::MAX));
        let mut want = [0u8; 16];
        want[7] = 1;
        assert_eq!(c.add_blocks(1).as_bytes(), &want);
    }

    #[test]
    fn canonical_means_bytes_8_to_11_zero() {
        let mut b = [0xffu8; 16];
        b[8..12].fill(0);
        assert!(CounterBlock::from_bytes(b).is_canonical());
        b[10] = 1;
        assert!(!CounterBlock::from_bytes(b).is_canonical());
    }

    #[test]
    fn debug_prints_no_secret() {
        let m = ContentMaterial::new(
            ContentKey::from_bytes([0xab; 32]),
            CounterBlock::from_bytes([0xcd; 16]),
        );
        let s = std::format!("{m:?} {:?} {:?}", m.key(), m.counter());
        assert!(!s.contains("ab") && !s.contains("171") && !s.contains("cd") && !s.contains("205"));
        assert!(s.contains("<secret>"));
    }
}

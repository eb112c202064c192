//! Deterministic randomness, so that a failing input reproduces.

use std::convert::Infallible;

use cse_core::rand_core::{TryCryptoRng, TryRng};

/// A splitmix64 generator. Only for tests: it claims `CryptoRng` because the engine asks for
/// one.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl TestRng {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(u32::try_from(self.next_u64() >> 32).unwrap_or(u32::MAX))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// Shuffles `items` (Fisher-Yates) with the generator seeded by `seed`: any permutation is
/// reachable.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = TestRng(seed);
    for i in (1..items.len()).rev() {
        let j = rng.next_u64() % (i as u64 + 1);
        items.swap(i, usize::try_from(j).expect("at most i"));
    }
}

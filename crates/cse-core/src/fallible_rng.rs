//! [`FallibleRng`]: the engine's infallible random source over one that can fail.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// An infallible [`CryptoRng`](rand_core::CryptoRng) over a random source that can fail (the
/// operating system's, a host function): what a binding passes to the engine.
///
/// The engine's interface cannot be told that a draw failed, so a failure is remembered
/// ([`failed`](Self::failed)) and the caller must then discard whatever the call produced and
/// report the failure. Meanwhile a failed draw is filled with a stand-in stream that never
/// repeats a draw and never has a zero byte: zeros, or any repeating filler, would make the RSA
/// code's rejection loops (a non-zero padding byte, an invertible blinding factor) draw the same
/// refused value forever, and the call would hang instead of failing.
///
/// ```
/// use cse_core::FallibleRng;
/// let mut rng = FallibleRng::new(|_buf: &mut [u8]| false); // a source that always fails
/// let mut key = [0u8; 32];
/// rand_core::Rng::fill_bytes(&mut rng, &mut key);
/// assert!(rng.failed()); // so whatever used `key` must be thrown away
/// assert!(key.iter().all(|&b| b != 0));
/// ```
#[derive(Debug)]
pub struct FallibleRng<F> {
    fill: F,
    failed: bool,
    stand_in: u64,
}

impl<F: FnMut(&mut [u8]) -> bool> FallibleRng<F> {
    /// A source whose `fill` writes random bytes into its argument and says whether it could.
    pub const fn new(fill: F) -> Self {
        Self {
            fill,
            failed: false,
            stand_in: 0,
        }
    }

    /// Whether any draw failed: the caller must then discard the result of the call that drew.
    #[must_use]
    pub const fn failed(&self) -> bool {
        self.failed
    }
}

impl<F: FnMut(&mut [u8]) -> bool> TryRng for FallibleRng<F> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        if !(self.fill)(dst) {
            self.failed = true;
            for b in dst {
                // splitmix64: no draw repeats an earlier one; `| 1`: no byte is zero.
                self.stand_in = self.stand_in.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = self.stand_in;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                *b = (z ^ (z >> 31)).to_le_bytes()[0] | 1;
            }
        }
        Ok(())
    }
}

impl<F: FnMut(&mut [u8]) -> bool> TryCryptoRng for FallibleRng<F> {}

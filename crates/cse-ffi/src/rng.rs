//! The random source of the sealing and unwrapping calls: the operating system's, through
//! `getrandom`.

use core::convert::Infallible;

use cse_core::rand_core::{CryptoRng, TryCryptoRng, TryRng};

use crate::status::Failure;

/// The OS random source as the engine's infallible `CryptoRng`. The engine's interface cannot
/// report a failed draw, so a failure is remembered here and the call that drew is refused as a
/// whole once the engine returns: whatever the engine made from the bytes that stand in for the
/// failed draw never leaves the call.
struct OsRng {
    failed: bool,
    filler: u64,
}

impl TryRng for OsRng {
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
        if getrandom::fill(dst).is_err() {
            self.failed = true;
            stand_in_bytes(&mut self.filler, dst);
        }
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}

/// What stands in for a failed draw: bytes that are never zero and never repeat a draw, so that
/// the RSA code's rejection loops (rsa 0.10 draws until a padding byte is non-zero, and until a
/// blinding factor is invertible) end, after which the whole call is refused. Zeros made those
/// loops spin forever, so a failing OS source hung the call instead of returning
/// `CSE_STATUS_RANDOM`.
fn stand_in_bytes(counter: &mut u64, dst: &mut [u8]) {
    // A splitmix64 stream: no draw repeats an earlier one (a repeating source could make a
    // rejection loop draw the same refused value forever), and no byte is zero.
    for b in dst {
        *counter = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *counter;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        *b = (z ^ (z >> 31)).to_le_bytes()[0] | 1;
    }
}

/// Runs `f` with the OS random source, and refuses its result if any draw failed.
pub(crate) fn with_os_rng<T>(
    f: impl FnOnce(&mut dyn CryptoRng) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut rng = OsRng {
        failed: false,
        filler: 0,
    };
    let result = f(&mut rng);
    if rng.failed {
        drop(result);
        return Err(Failure::random());
    }
    result
}

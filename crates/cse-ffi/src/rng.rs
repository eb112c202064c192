//! The random source of the sealing and unwrapping calls: the operating system's, through
//! `getrandom`.

use core::convert::Infallible;

use cse_core::rand_core::{CryptoRng, TryCryptoRng, TryRng};

use crate::status::Failure;

/// The OS random source as the engine's infallible `CryptoRng`. The engine's interface cannot
/// report a failed draw, so a failure is remembered here and the call that drew is refused as a
/// whole once the engine returns: whatever the engine made from the zeros that stand in for the
/// failed draw never leaves the call.
struct OsRng {
    failed: bool,
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
            dst.fill(0);
        }
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}

/// Runs `f` with the OS random source, and refuses its result if any draw failed.
pub(crate) fn with_os_rng<T>(
    f: impl FnOnce(&mut dyn CryptoRng) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut rng = OsRng { failed: false };
    let result = f(&mut rng);
    if rng.failed {
        drop(result);
        return Err(Failure::random());
    }
    result
}

//! The random source of the sealing and opening calls: the operating system's, through
//! `getrandom`, as cse-ffi does. No Python callable can stand in for it.

use core::convert::Infallible;

use cse_core::rand_core::{CryptoRng, TryCryptoRng, TryRng};
use pyo3::PyResult;

use crate::error::RandomError;

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
pub fn with_os_rng<T>(f: impl FnOnce(&mut dyn CryptoRng) -> PyResult<T>) -> PyResult<T> {
    let mut rng = OsRng { failed: false };
    let result = f(&mut rng);
    if rng.failed {
        drop(result);
        return Err(RandomError::new_err(
            "the operating system's random source failed; nothing was sealed or opened",
        ));
    }
    result
}

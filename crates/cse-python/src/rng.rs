//! The random source of the sealing and opening calls: the operating system's, through
//! `getrandom`, as cse-ffi does. No Python callable can stand in for it.

use cse_core::FallibleRng;
use cse_core::rand_core::CryptoRng;
use pyo3::PyResult;

use crate::error::RandomError;

/// Runs `f` with the OS random source, and refuses its result if any draw failed
/// ([`FallibleRng`] says why a failed draw cannot simply be zeros: the RSA code's rejection
/// loops would spin forever on them, and the call would hang instead of raising).
pub fn with_os_rng<T>(f: impl FnOnce(&mut dyn CryptoRng) -> PyResult<T>) -> PyResult<T> {
    let mut rng = FallibleRng::new(|buf: &mut [u8]| getrandom::fill(buf).is_ok());
    let result = f(&mut rng);
    if rng.failed() {
        drop(result);
        return Err(RandomError::new_err(
            "the operating system's random source failed; nothing was sealed or opened",
        ));
    }
    result
}

//! The random source of the sealing and unwrapping calls: the operating system's, through
//! `getrandom`.

use cse_core::FallibleRng;
use cse_core::rand_core::CryptoRng;

use crate::status::Failure;

/// Runs `f` with the OS random source, and refuses its result if any draw failed
/// ([`FallibleRng`] says why a failed draw cannot simply be zeros).
pub(crate) fn with_os_rng<T>(
    f: impl FnOnce(&mut dyn CryptoRng) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut rng = FallibleRng::new(|buf: &mut [u8]| getrandom::fill(buf).is_ok());
    let result = f(&mut rng);
    if rng.failed() {
        drop(result);
        return Err(Failure::random());
    }
    result
}

//! The two functions the module imports from JavaScript (module `cse_host`), and the engine's
//! random source over the first. On other targets (the host's unit tests) they are stand-ins
//! that a test installs.

use cse_core::FallibleRng;
use cse_core::rand_core::CryptoRng;

use crate::api::Failure;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "cse_host")]
    unsafe extern "C" {
        /// Fills `len` bytes of linear memory at `ptr` with random bytes; 0 on success.
        pub(super) fn random_fill(ptr: *mut u8, len: usize) -> i32;
        /// Unwraps `wrapped_len` bytes at `wrapped` for the key made with `ctx`, writing exactly
        /// `out_len` bytes at `out`; 0 on success.
        pub(super) fn unwrap(
            ctx: u32,
            wrapped: *const u8,
            wrapped_len: usize,
            out: *mut u8,
            out_len: usize,
        ) -> i32;
    }
}

/// Fills `buf` from the host's random source.
#[cfg(target_arch = "wasm32")]
fn fill(buf: &mut [u8]) -> bool {
    // SAFETY: the import writes at most `buf.len()` bytes at `buf`'s address, which is valid,
    // writable linear memory for that length for the duration of the call; nothing else holds
    // a reference to `buf` meanwhile.
    unsafe { imports::random_fill(buf.as_mut_ptr(), buf.len()) == 0 }
}

/// Calls the host's unwrap callback for the key `ctx`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn unwrap(ctx: u32, wrapped: &[u8], out: &mut [u8]) -> bool {
    // SAFETY: `wrapped` is readable and `out` writable for their lengths for the duration of
    // the call, and they do not overlap (one is shared, the other exclusive); the import reads
    // and writes only within them.
    unsafe {
        imports::unwrap(
            ctx,
            wrapped.as_ptr(),
            wrapped.len(),
            out.as_mut_ptr(),
            out.len(),
        ) == 0
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) use stand_in::{set_random, set_unwrap};

#[cfg(not(target_arch = "wasm32"))]
mod stand_in {
    use std::cell::RefCell;

    type Random = Box<dyn Fn(&mut [u8]) -> bool>;
    type Unwrap = Box<dyn Fn(u32, &[u8], &mut [u8]) -> bool>;

    thread_local! {
        pub(super) static RANDOM: RefCell<Option<Random>> = RefCell::new(None);
        pub(super) static UNWRAP: RefCell<Option<Unwrap>> = RefCell::new(None);
    }

    /// Installs the random source of this thread's calls (tests only).
    #[cfg(test)]
    pub(crate) fn set_random(f: impl Fn(&mut [u8]) -> bool + 'static) {
        RANDOM.with(|r| *r.borrow_mut() = Some(Box::new(f)));
    }

    /// Installs the unwrap callback of this thread's calls (tests only).
    #[cfg(test)]
    pub(crate) fn set_unwrap(f: impl Fn(u32, &[u8], &mut [u8]) -> bool + 'static) {
        UNWRAP.with(|u| *u.borrow_mut() = Some(Box::new(f)));
    }
}

/// Without a host, no randomness: a call that needs it fails.
#[cfg(not(target_arch = "wasm32"))]
fn fill(buf: &mut [u8]) -> bool {
    stand_in::RANDOM.with(|r| r.borrow().as_ref().is_some_and(|f| f(buf)))
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn unwrap(ctx: u32, wrapped: &[u8], out: &mut [u8]) -> bool {
    stand_in::UNWRAP.with(|u| u.borrow().as_ref().is_some_and(|f| f(ctx, wrapped, out)))
}

/// Runs `f` with the host's random source, and refuses its result if any draw failed
/// ([`FallibleRng`] says why a failed draw cannot simply be zeros).
pub(crate) fn with_random<T>(
    f: impl FnOnce(&mut dyn CryptoRng) -> cse_core::Result<T>,
) -> Result<T, Failure> {
    let mut rng = FallibleRng::new(fill);
    let result = f(&mut rng);
    if rng.failed() {
        drop(result);
        return Err(Failure(
            "the host's random source failed (cse_host.random_fill returned nonzero)".to_owned(),
        ));
    }
    Ok(result?)
}

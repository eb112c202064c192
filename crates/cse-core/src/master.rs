//! Master keys: the [`MasterCipher`] trait, and the read-side [`Keyring`].

use rand_core::CryptoRng;

use crate::error::Result;

/// A master key that wraps and unwraps content material synchronously: RSA, or a custom key the
/// user implements. A key that needs IO (KMS) uses the sans-IO path instead:
/// [`Envelope::from_wrapped`](crate::Envelope::from_wrapped) to write and
/// [`ContentMaterial::from_unwrapped`](crate::ContentMaterial::from_unwrapped) to read.
pub trait MasterCipher {
    /// The `wrap-alg` header value, e.g. [`WRAP_ALG_RSA`](crate::WRAP_ALG_RSA).
    fn wrap_alg(&self) -> &str;

    /// The `matdesc` header value that names this key: canonical JSON, or empty for none.
    fn matdesc(&self) -> &str;

    /// Wraps `plaintext` (the 32-byte key or the 16-byte counter block) into the front of
    /// `out`, which the engine gives [`MAX_WRAPPED_LEN`](crate::MAX_WRAPPED_LEN) bytes, and
    /// returns the wrapped length.
    ///
    /// # Errors
    /// [`Error::Wrap`](crate::Error::Wrap) when wrapping fails;
    /// [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) when the wrapped value does not
    /// fit `out` (the engine reports it as the header's
    /// [`Error::ValueTooLong`](crate::Error::ValueTooLong)).
    fn wrap(&self, plaintext: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<usize>;

    /// Unwraps `wrapped` into `out`, which has exactly the length the plaintext must have.
    ///
    /// Implementations must run in time independent of the secret, and must fail with
    /// [`Error::Unwrap`](crate::Error::Unwrap) for every problem, including a plaintext of any
    /// other length than `out.len()`. The engine maps any other error to `Unwrap` except
    /// [`Error::MissingPrivateKey`](crate::Error::MissingPrivateKey).
    ///
    /// # Errors
    /// [`Error::Unwrap`](crate::Error::Unwrap), or `MissingPrivateKey` for a public-only key.
    fn unwrap(&self, wrapped: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<()>;
}

/// Forwards every call, so a master cipher can be shared (`&T`, `Box<T>`, `Arc<T>`, and the
/// `dyn` forms of each) wherever one is taken.
macro_rules! forward_master_cipher {
    ($($ty:ty),*) => {$(
        impl<T: MasterCipher + ?Sized> MasterCipher for $ty {
            fn wrap_alg(&self) -> &str {
                (**self).wrap_alg()
            }
            fn matdesc(&self) -> &str {
                (**self).matdesc()
            }
            fn wrap(&self, plaintext: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<usize> {
                (**self).wrap(plaintext, out, rng)
            }
            fn unwrap(&self, wrapped: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<()> {
                (**self).unwrap(wrapped, out, rng)
            }
        }
    )*};
}

forward_master_cipher!(&T);
#[cfg(feature = "alloc")]
forward_master_cipher!(alloc::boxed::Box<T>);
#[cfg(all(feature = "alloc", target_has_atomic = "ptr"))]
forward_master_cipher!(alloc::sync::Arc<T>);

#[cfg(feature = "alloc")]
pub use keyring::Keyring;

#[cfg(feature = "alloc")]
mod keyring {
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use core::fmt;

    use rand_core::CryptoRng;

    use super::MasterCipher;
    use crate::envelope::Envelope;
    use crate::error::Result;
    use crate::key::ContentMaterial;
    use crate::matdesc::MatDesc;

    /// A master key plus its parsed description.
    struct Entry {
        cipher: Box<dyn MasterCipher + Send + Sync>,
        matdesc: Option<MatDesc>,
    }

    /// The read-side set of master keys. An object is opened with the key whose matdesc equals the
    /// object's (as parsed maps, so Python's and Go's spellings match), else with the default key,
    /// as the SDKs fall back.
    pub struct Keyring {
        default: Entry,
        others: Vec<Entry>,
    }

    impl fmt::Debug for Keyring {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Keyring")
                .field("keys", &(1 + self.others.len()))
                .finish()
        }
    }

    fn entry(cipher: Box<dyn MasterCipher + Send + Sync>) -> Entry {
        let text = cipher.matdesc();
        let matdesc = if text.is_empty() {
            Some(MatDesc::new())
        } else {
            MatDesc::parse(text.as_bytes()).ok()
        };
        Entry { cipher, matdesc }
    }

    impl Keyring {
        /// A keyring whose default (fallback) key is `default`.
        #[must_use]
        pub fn new(default: Box<dyn MasterCipher + Send + Sync>) -> Self {
            Self {
                default: entry(default),
                others: Vec::new(),
            }
        }

        /// Adds a key that is chosen for objects whose matdesc equals its own.
        #[must_use]
        pub fn with(mut self, cipher: Box<dyn MasterCipher + Send + Sync>) -> Self {
            self.others.push(entry(cipher));
            self
        }

        /// The key for `envelope`: the first whose matdesc map equals the object's, the default
        /// key first; else the default key.
        #[must_use]
        pub fn select(&self, envelope: &Envelope) -> &dyn MasterCipher {
            let wanted = envelope.matdesc().ok();
            core::iter::once(&self.default)
                .chain(&self.others)
                .find(|e| e.matdesc.is_some() && e.matdesc == wanted)
                .unwrap_or(&self.default)
                .cipher
                .as_ref()
        }

        /// Opens `envelope` with the key [`select`](Self::select) chooses.
        ///
        /// # Errors
        /// As [`Envelope::open`].
        pub fn open(
            &self,
            envelope: &Envelope,
            rng: &mut dyn CryptoRng,
        ) -> Result<ContentMaterial> {
            envelope.open(self.select(envelope), rng)
        }
    }
}

//! The sealing side's one value: a new object's content material together with the envelope that
//! wraps it.

use rand_core::CryptoRng;

use crate::envelope::Envelope;
use crate::error::Result;
use crate::key::ContentMaterial;
use crate::master::MasterCipher;
use crate::stream::Sealer;

/// A new object's content material and the envelope that wraps it, made together so the two
/// cannot be mismatched; the envelope's declared length (`unencrypted-content-length`) is the
/// one length the [`sealer`](Self::sealer) enforces.
///
/// Make it with [`seal`](Self::seal) (a synchronous master key), or, for a master key that needs
/// IO (KMS), with [`from_wrapped`](Self::from_wrapped) from the values the key service returned
/// for this material; that pairing is the caller's word, as it is for any key service. Not
/// `Clone`: one material backs one object, so take one [`sealer`](Self::sealer) per object (a
/// second sealer starts at the same counter: use it only to seal the same bytes again).
///
/// ```
/// # let pem = cse_testkit::keys::RSA2048_PEM;
/// use cse_core::{RsaMasterCipher, SealedEnvelope};
/// let master = RsaMasterCipher::from_pem(pem)?;
/// let mut rng = cse_core::rand_core::UnwrapErr(getrandom::SysRng);
/// let sealed = SealedEnvelope::seal(&master, &mut rng)?.with_unencrypted_content_length(5);
/// let mut body = *b"hello";
/// let mut sealer = sealed.sealer();
/// sealer.update_in_place(&mut body)?;
/// sealer.finish()?; // refuses anything but the 5 declared bytes
/// let headers = sealed.envelope().to_headers(cse_core::DEFAULT_PREFIX)?;
/// # assert!(!headers.is_empty());
/// # Ok::<(), cse_core::Error>(())
/// ```
pub struct SealedEnvelope {
    material: ContentMaterial,
    envelope: Envelope,
}

impl core::fmt::Debug for SealedEnvelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealedEnvelope")
            .field("envelope", &self.envelope)
            .finish_non_exhaustive()
    }
}

impl SealedEnvelope {
    /// A fresh content key and counter block from `rng`, wrapped by `master`.
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn seal(master: &dyn MasterCipher, rng: &mut dyn CryptoRng) -> Result<Self> {
        let material = ContentMaterial::generate(rng);
        let envelope = Envelope::seal(&material, master, rng)?;
        Ok(Self { material, envelope })
    }

    /// `material`, with the values a master key outside the engine (KMS) made of it: wrap
    /// [`ContentKey::as_bytes`](crate::ContentKey::as_bytes) and
    /// [`CounterBlock::as_bytes`](crate::CounterBlock::as_bytes) of `material` itself.
    ///
    /// # Errors
    /// As [`Envelope::from_wrapped`].
    pub fn from_wrapped(
        material: ContentMaterial,
        wrap_alg: &str,
        matdesc: &str,
        wrapped_key: &[u8],
        wrapped_counter: &[u8],
    ) -> Result<Self> {
        let envelope = Envelope::from_wrapped(wrap_alg, matdesc, wrapped_key, wrapped_counter)?;
        Ok(Self { material, envelope })
    }

    /// Declares the plaintext length (`unencrypted-content-length`): the sealer then refuses any
    /// other, and readers check it.
    #[must_use]
    pub fn with_unencrypted_content_length(mut self, len: u64) -> Self {
        self.envelope = self.envelope.with_unencrypted_content_length(len);
        self
    }

    /// Records the plaintext's MD5 (`unencrypted-content-md5`), which whole reads check.
    #[must_use]
    pub fn with_unencrypted_content_md5(mut self, md5: [u8; 16]) -> Self {
        self.envelope = self.envelope.with_unencrypted_content_md5(md5);
        self
    }

    /// Applies `f` to the envelope, for the header codecs that complete it (cse-http's
    /// `prepare_put_headers`); the material stays paired with the result.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn map_envelope<E>(
        self,
        f: impl FnOnce(Envelope) -> core::result::Result<Envelope, E>,
    ) -> core::result::Result<Self, E> {
        let envelope = f(self.envelope)?;
        Ok(Self {
            material: self.material,
            envelope,
        })
    }

    /// The envelope to send with the object.
    #[must_use]
    pub const fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The content material.
    #[must_use]
    pub const fn material(&self) -> &ContentMaterial {
        &self.material
    }

    /// The sealer for the whole object: of exactly the declared length when there is one.
    #[must_use]
    pub fn sealer(&self) -> Sealer {
        match self.envelope.unencrypted_content_length() {
            Some(len) => Sealer::with_len(&self.material, len),
            None => Sealer::new(&self.material),
        }
    }

    pub(crate) fn into_parts(self) -> (ContentMaterial, Envelope) {
        (self.material, self.envelope)
    }
}

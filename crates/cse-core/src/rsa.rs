//! The RSA master cipher: PKCS#1 v1.5 encryption (`RSA/NONE/PKCS1Padding`), as every SDK wraps.
//!
//! Unwrapping uses `rsa` 0.10's constant-time PKCS#1 v1.5 decryption with implicit rejection: a
//! bad padding yields a pseudo-random message instead of an error, so the only signal left is the
//! length, and a length other than exactly 32 (key) or 16 (counter block) is the same opaque
//! [`Error::Unwrap`] as every other failure.

use alloc::string::String;
use core::fmt;

use rand_core::CryptoRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::envelope::WRAP_ALG_RSA;
use crate::error::{Error, KeyProblem, Result};
use crate::master::MasterCipher;
use crate::matdesc::MatDesc;

/// The smallest modulus accepted, in bits. The SDK test suites use RSA-1024; use 2048 or more.
pub const MIN_RSA_BITS: usize = 1024;

/// PEM with the label `RSA PRIVATE KEY` (PKCS#1), `PRIVATE KEY` (PKCS#8), `RSA PUBLIC KEY`
/// (PKCS#1) or `PUBLIC KEY` (SPKI).
fn parse_pem(pem: &str) -> Result<(PublicKey, Option<PrivateKey>)> {
    let label = pem
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
        })
        .ok_or(Error::InvalidKey(KeyProblem::Unrecognized))?;
    let malformed = Error::InvalidKey(KeyProblem::Malformed);
    let private = match label {
        "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_pem(pem).map_err(|_| malformed)?,
        "PRIVATE KEY" => PrivateKey::from_pkcs8_pem(pem).map_err(|_| malformed)?,
        "RSA PUBLIC KEY" => {
            return PublicKey::from_pkcs1_pem(pem)
                .map(|k| (k, None))
                .map_err(|_| malformed);
        }
        "PUBLIC KEY" => {
            return PublicKey::from_public_key_pem(pem)
                .map(|k| (k, None))
                .map_err(|_| malformed);
        }
        _ => return Err(Error::InvalidKey(KeyProblem::Unrecognized)),
    };
    Ok((PublicKey::from(&private), Some(private)))
}

/// DER of any of the four structures.
fn parse_der(der: &[u8]) -> Result<(PublicKey, Option<PrivateKey>)> {
    let private = PrivateKey::from_pkcs8_der(der).or_else(|_| PrivateKey::from_pkcs1_der(der));
    if let Ok(private) = private {
        return Ok((PublicKey::from(&private), Some(private)));
    }
    PublicKey::from_public_key_der(der)
        .or_else(|_| PublicKey::from_pkcs1_der(der))
        .map(|k| (k, None))
        .map_err(|_| Error::InvalidKey(KeyProblem::Unrecognized))
}

/// The RSA master cipher of the official SDKs. Build it from the public key to write, from the
/// private key to read and write.
///
/// ```
/// # let pem = cse_testkit::keys::RSA2048_PEM;
/// use cse_core::{ContentMaterial, Envelope, RsaMasterCipher};
/// let master = RsaMasterCipher::from_pem(pem)?;
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let material = ContentMaterial::generate(&mut rng);
/// let envelope = Envelope::seal(&material, &master, &mut rng)?;
/// assert_eq!(envelope.open(&master, &mut rng)?, material);
/// # Ok::<(), cse_core::Error>(())
/// ```
#[derive(Clone)]
pub struct RsaMasterCipher {
    public: PublicKey,
    private: Option<PrivateKey>,
    matdesc: String,
}

impl fmt::Debug for RsaMasterCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaMasterCipher")
            .field("bits", &(self.public.size() * 8))
            .field("private", &self.private.is_some())
            .field("matdesc", &self.matdesc)
            .finish()
    }
}

impl RsaMasterCipher {
    fn from_parts((public, private): (PublicKey, Option<PrivateKey>)) -> Result<Self> {
        if public.size() * 8 < MIN_RSA_BITS {
            return Err(Error::InvalidKey(KeyProblem::TooSmall));
        }
        Ok(Self {
            public,
            private,
            matdesc: String::new(),
        })
    }

    fn private(&self) -> Result<&PrivateKey> {
        self.private.as_ref().ok_or(Error::MissingPrivateKey)
    }

    /// Loads a PKCS#1, PKCS#8 or SPKI PEM key, private or public.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming the problem.
    pub fn from_pem(pem: &str) -> Result<Self> {
        parse_pem(pem).and_then(Self::from_parts)
    }

    /// Loads a PKCS#1, PKCS#8 or SPKI DER key, private or public.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming the problem.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        parse_der(der).and_then(Self::from_parts)
    }

    /// Sets the material description this key writes and is chosen by.
    #[must_use]
    pub fn with_matdesc(mut self, matdesc: &MatDesc) -> Self {
        self.matdesc = matdesc.to_canonical();
        self
    }

    /// Whether the private key is present, so the key can unwrap.
    #[must_use]
    pub fn has_private_key(&self) -> bool {
        self.private.is_some()
    }

    /// The modulus length in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.public.size() * 8
    }

    /// Legacy OAEP-SHA1 unwrap of the 2018 oss2 format; the plaintext length is checked by the
    /// caller.
    #[cfg(feature = "legacy")]
    pub(crate) fn unwrap_oaep_sha1(
        &self,
        wrapped: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Zeroizing<alloc::vec::Vec<u8>>> {
        let key = self.private()?;
        key.oaep_decrypt_with_rng::<sha1::Sha1, _>(rng, wrapped)
            .map(Zeroizing::new)
            .map_err(|_| Error::Unwrap)
    }
}

impl MasterCipher for RsaMasterCipher {
    fn wrap_alg(&self) -> &str {
        WRAP_ALG_RSA
    }

    fn matdesc(&self) -> &str {
        &self.matdesc
    }

    fn wrap(&self, plaintext: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<usize> {
        let ct = self
            .public
            .pkcs1v15_encrypt_with_rng(rng, plaintext)
            .map_err(|_| Error::Wrap)?;
        out.get_mut(..ct.len())
            .ok_or(Error::BufferTooSmall { required: ct.len() })?
            .copy_from_slice(&ct);
        Ok(ct.len())
    }

    fn unwrap(&self, wrapped: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<()> {
        let key = self.private()?;
        // Implicit rejection: invalid padding gives a deterministic pseudo-random message, so the
        // exact-length check below is the only place a wrong key can surface, as the one error.
        let plain = Zeroizing::new(
            key.pkcs1v15_decrypt_with_rng(rng, wrapped)
                .map_err(|_| Error::Unwrap)?,
        );
        if plain.len() != out.len() {
            return Err(Error::Unwrap);
        }
        out.copy_from_slice(&plain);
        Ok(())
    }
}

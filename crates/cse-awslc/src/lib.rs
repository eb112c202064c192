//! An RSA master cipher for [`cse_core`] backed by AWS-LC (through `aws-lc-rs`), as an optional
//! alternative to the pure-Rust [`cse_core::RsaMasterCipher`]: same wire format (PKCS#1 v1.5
//! encryption, `wrap-alg` [`cse_core::WRAP_ALG_RSA`]), same key files, same errors, faster
//! unwrapping. Objects wrapped by either backend open with the other.
//!
//! ```
//! # let pem = cse_testkit::keys::RSA2048_PEM;
//! use cse_awslc::AwsLcRsaMasterCipher;
//! use cse_core::{ContentMaterial, Envelope};
//! let master = AwsLcRsaMasterCipher::from_pem(pem)?;
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let material = ContentMaterial::generate(&mut rng);
//! let envelope = Envelope::seal(&material, &master, &mut rng)?;
//! assert_eq!(envelope.open(&master, &mut rng)?, material);
//! # Ok::<(), cse_core::Error>(())
//! ```
//!
//! # Differences from the pure-Rust backend
//! - **Key sizes 2048 to 8192 bits only.** AWS-LC refuses smaller RSA keys for encryption, so the
//!   RSA-1024 keys of the SDK test suites fail to load with
//!   [`KeyProblem::TooSmall`]; use
//!   [`cse_core::RsaMasterCipher`] for them.
//! - **No implicit rejection.** AWS-LC's PKCS#1 v1.5 decryption (`Pkcs1PrivateDecryptingKey`)
//!   checks the padding in constant time but then reports a bad padding as an error (its own
//!   source notes that this API cannot wholly avoid Bleichenbacher's attack), where `rsa` returns
//!   a pseudo-random message instead. What a caller can observe is still only success or the one
//!   opaque [`Error::Unwrap`]: a bad padding, a message of any length
//!   other than exactly 32 (key) or 16 (counter block) bytes, a ciphertext of the wrong length and
//!   a failed RSA operation are all the same error, and [`cse_core::Envelope::open`] always runs
//!   both unwraps before reporting. So an attacker who submits forged `key`/`start` headers
//!   learns at most whether a ciphertext is PKCS#1-conforming *with a 32- or 16-byte message*, a
//!   far rarer event than conforming padding alone, which makes a Bleichenbacher-style oracle
//!   impractical, though not impossible, where the pure-Rust backend gives none beyond the length
//!   check. Do not expose unwrap results to untrusted parties at high rates.
//! - **Padding randomness.** Wrapping draws the PKCS#1 v1.5 padding from AWS-LC's own DRBG; the
//!   `rng` argument of [`MasterCipher::wrap`] is not used.
#![forbid(unsafe_code)]

use std::fmt;

use aws_lc_rs::rsa::{
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use cse_core::rand_core::CryptoRng;
use cse_core::{Error, KeyProblem, MAX_WRAPPED_LEN, MasterCipher, MatDesc, Result, WRAP_ALG_RSA};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

/// The smallest modulus AWS-LC accepts for RSA encryption, in bits.
pub const MIN_AWSLC_RSA_BITS: usize = 2048;
/// The largest modulus AWS-LC accepts for RSA encryption, in bits.
pub const MAX_AWSLC_RSA_BITS: usize = 8192;

/// A key parsed by `rsa`, before it is handed to AWS-LC.
enum Parsed {
    Private(Box<rsa::PrivateKey>),
    Public(rsa::PublicKey),
}

fn malformed<E>(_: E) -> Error {
    Error::InvalidKey(KeyProblem::Malformed)
}

/// PEM with the label `RSA PRIVATE KEY` (PKCS#1), `PRIVATE KEY` (PKCS#8), `RSA PUBLIC KEY`
/// (PKCS#1) or `PUBLIC KEY` (SPKI), as [`cse_core::RsaMasterCipher::from_pem`] reads them.
fn parse_pem(pem: &str) -> Result<Parsed> {
    let label = pem
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
        })
        .ok_or(Error::InvalidKey(KeyProblem::Unrecognized))?;
    match label {
        "RSA PRIVATE KEY" => rsa::PrivateKey::from_pkcs1_pem(pem)
            .map(|k| Parsed::Private(Box::new(k)))
            .map_err(malformed),
        "PRIVATE KEY" => rsa::PrivateKey::from_pkcs8_pem(pem)
            .map(|k| Parsed::Private(Box::new(k)))
            .map_err(malformed),
        "RSA PUBLIC KEY" => rsa::PublicKey::from_pkcs1_pem(pem)
            .map(Parsed::Public)
            .map_err(malformed),
        "PUBLIC KEY" => rsa::PublicKey::from_public_key_pem(pem)
            .map(Parsed::Public)
            .map_err(malformed),
        _ => Err(Error::InvalidKey(KeyProblem::Unrecognized)),
    }
}

/// DER of any of the four structures.
fn parse_der(der: &[u8]) -> Result<Parsed> {
    if let Ok(key) =
        rsa::PrivateKey::from_pkcs8_der(der).or_else(|_| rsa::PrivateKey::from_pkcs1_der(der))
    {
        return Ok(Parsed::Private(Box::new(key)));
    }
    rsa::PublicKey::from_public_key_der(der)
        .or_else(|_| rsa::PublicKey::from_pkcs1_der(der))
        .map(Parsed::Public)
        .map_err(|_| Error::InvalidKey(KeyProblem::Unrecognized))
}

/// The RSA master cipher of the official SDKs (PKCS#1 v1.5), computed by AWS-LC. Build it from
/// the public key to write, from the private key to read and write.
pub struct AwsLcRsaMasterCipher {
    public: Pkcs1PublicEncryptingKey,
    private: Option<Pkcs1PrivateDecryptingKey>,
    matdesc: String,
}

impl fmt::Debug for AwsLcRsaMasterCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcRsaMasterCipher")
            .field("bits", &self.bits())
            .field("private", &self.private.is_some())
            .field("matdesc", &self.matdesc)
            .finish()
    }
}

impl AwsLcRsaMasterCipher {
    fn from_parsed(parsed: Parsed) -> Result<Self> {
        let bits = match &parsed {
            Parsed::Private(k) => k.size() * 8,
            Parsed::Public(k) => k.size() * 8,
        };
        if bits < MIN_AWSLC_RSA_BITS {
            return Err(Error::InvalidKey(KeyProblem::TooSmall));
        }
        let (public, private) = match parsed {
            Parsed::Private(key) => {
                // The PKCS#8 document zeroizes itself on drop.
                let pkcs8 = key.to_pkcs8_der().map_err(malformed)?;
                let private =
                    PrivateDecryptingKey::from_pkcs8(pkcs8.as_bytes()).map_err(malformed)?;
                let public = private.public_key();
                let private = Pkcs1PrivateDecryptingKey::new(private).map_err(malformed)?;
                (public, Some(private))
            }
            Parsed::Public(key) => {
                let spki = key.to_public_key_der().map_err(malformed)?;
                let public = PublicEncryptingKey::from_der(spki.as_bytes()).map_err(malformed)?;
                (public, None)
            }
        };
        Ok(Self {
            public: Pkcs1PublicEncryptingKey::new(public).map_err(malformed)?,
            private,
            matdesc: String::new(),
        })
    }

    /// Loads a PKCS#1, PKCS#8 or SPKI PEM key, private or public.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming the problem: [`KeyProblem::Unrecognized`] for an unknown
    /// label, [`KeyProblem::Malformed`] for a body that holds no valid RSA key (or one AWS-LC
    /// refuses), [`KeyProblem::TooSmall`] below [`MIN_AWSLC_RSA_BITS`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        parse_pem(pem).and_then(Self::from_parsed)
    }

    /// Loads a PKCS#1, PKCS#8 or SPKI DER key, private or public.
    ///
    /// # Errors
    /// [`Error::InvalidKey`]: [`KeyProblem::Unrecognized`] when the bytes are none of the four
    /// structures, otherwise as [`from_pem`](Self::from_pem).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        parse_der(der).and_then(Self::from_parsed)
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
        self.public.key_size_bits()
    }
}

impl MasterCipher for AwsLcRsaMasterCipher {
    fn wrap_alg(&self) -> &str {
        WRAP_ALG_RSA
    }

    fn matdesc(&self) -> &str {
        &self.matdesc
    }

    fn wrap(&self, plaintext: &[u8], out: &mut [u8], _rng: &mut dyn CryptoRng) -> Result<usize> {
        let required = self.public.ciphertext_size();
        let out = out
            .get_mut(..required)
            .ok_or(Error::BufferTooSmall { required })?;
        let ct = self
            .public
            .encrypt(plaintext, out)
            .map_err(|_| Error::Wrap)?;
        Ok(ct.len())
    }

    fn unwrap(&self, wrapped: &[u8], out: &mut [u8], _rng: &mut dyn CryptoRng) -> Result<()> {
        let key = self.private.as_ref().ok_or(Error::MissingPrivateKey)?;
        let mut buf = Zeroizing::new([0u8; MAX_WRAPPED_LEN]);
        // Every failure, including a well-padded message of the wrong length, is the one opaque
        // error; see the crate docs on implicit rejection.
        let plain = key
            .decrypt(wrapped, &mut buf[..])
            .map_err(|_| Error::Unwrap)?;
        if plain.len() != out.len() {
            return Err(Error::Unwrap);
        }
        out.copy_from_slice(plain);
        Ok(())
    }
}

//! Read-only support for the deprecated 2018 oss2 format (feature `legacy`).
//!
//! Headers `x-oss-meta-oss-crypto-key`, `-oss-crypto-start`, `-oss-cek-alg`, `-oss-wrap-alg`.
//! The cek-alg says `AES/GCM/NoPadding` but the data is CTR. With wrap-alg `rsa` the key and the
//! counter are wrapped with RSA-OAEP-SHA1; `start` unwraps to the counter as a decimal string,
//! and the counter block is that integer. With `kms`, both headers are KMS ciphertexts: unwrap
//! them outside the engine and call [`legacy_material`].

use rand_core::CryptoRng;

use crate::error::{Error, Field, Result};
use crate::fixed::FixedBytes;
use crate::key::{ContentKey, ContentMaterial, CounterBlock};
use crate::meta::{collect, required};
use crate::rsa::RsaMasterCipher;

const MAX_LEGACY_HEADER: usize = 2048;
const FIELDS: [Field; 5] = [
    Field::LegacyKey,
    Field::LegacyStart,
    Field::LegacyCekAlg,
    Field::LegacyWrapAlg,
    Field::LegacyMatDesc,
];

/// How a legacy object's key was wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyWrap {
    /// `rsa`: RSA-OAEP with SHA-1.
    RsaOaepSha1,
    /// `kms`: Alibaba Cloud KMS ciphertext blobs.
    Kms,
}

/// The envelope of a 2018-format oss2 object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyEnvelope {
    wrap: LegacyWrap,
    key: FixedBytes<MAX_LEGACY_HEADER>,
    start: FixedBytes<MAX_LEGACY_HEADER>,
}

/// Reads a legacy envelope; `Ok(None)` when none of its headers is present.
///
/// # Errors
/// [`Error::MissingHeader`], [`Error::EmptyHeader`], [`Error::DuplicateHeader`],
/// [`Error::ValueTooLong`], [`Error::UnsupportedCekAlg`] (anything but the two AES labels),
/// [`Error::InvalidWrapAlg`] (anything but `rsa` and `kms`).
pub fn decode_legacy_envelope<'h, I, K, V>(
    headers: I,
    prefix: &str,
) -> Result<Option<LegacyEnvelope>>
where
    I: IntoIterator<Item = (&'h K, &'h V)>,
    K: AsRef<[u8]> + ?Sized + 'h,
    V: AsRef<[u8]> + ?Sized + 'h,
{
    let ([key, start, cek_alg, wrap_alg, _matdesc], any) =
        collect(headers, prefix, "oss-", &FIELDS)?;
    if !any {
        return Ok(None);
    }
    let cek_alg = required(cek_alg, Field::LegacyCekAlg)?;
    // The 2018 writer labelled its CTR data `AES/GCM/NoPadding`.
    if cek_alg != b"AES/GCM/NoPadding" && cek_alg != crate::CEK_ALG_AES_CTR.as_bytes() {
        return Err(Error::UnsupportedCekAlg);
    }
    let wrap = match required(wrap_alg, Field::LegacyWrapAlg)? {
        w if w.eq_ignore_ascii_case(b"rsa") => LegacyWrap::RsaOaepSha1,
        w if w.eq_ignore_ascii_case(b"kms") => LegacyWrap::Kms,
        _ => return Err(Error::InvalidWrapAlg),
    };
    let text = |v: Option<&[u8]>, field| {
        FixedBytes::from_slice(required(v, field)?).ok_or(Error::ValueTooLong {
            field,
            max: MAX_LEGACY_HEADER,
        })
    };
    Ok(Some(LegacyEnvelope {
        wrap,
        key: text(key, Field::LegacyKey)?,
        start: text(start, Field::LegacyStart)?,
    }))
}

impl LegacyEnvelope {
    /// How the key was wrapped.
    #[must_use]
    pub const fn wrap(&self) -> LegacyWrap {
        self.wrap
    }

    /// The `oss-crypto-key` header value as stored.
    #[must_use]
    pub fn key_header(&self) -> &[u8] {
        self.key.as_slice()
    }

    /// The `oss-crypto-start` header value as stored.
    #[must_use]
    pub fn start_header(&self) -> &[u8] {
        self.start.as_slice()
    }

    /// Unwraps an `rsa` legacy envelope with the private key.
    ///
    /// # Errors
    /// [`Error::InvalidWrapAlg`] for a `kms` envelope; [`Error::InvalidBase64`] naming the header;
    /// [`Error::Unwrap`] for any unwrap failure; [`Error::InvalidLegacyCounter`].
    pub fn open_rsa(
        &self,
        master: &RsaMasterCipher,
        rng: &mut dyn CryptoRng,
    ) -> Result<ContentMaterial> {
        if self.wrap != LegacyWrap::RsaOaepSha1 {
            return Err(Error::InvalidWrapAlg);
        }
        let decode = |v: &[u8], field| {
            crate::meta::decode_base64::<{ crate::envelope::MAX_WRAPPED_LEN }>(v, field)
        };
        let key = decode(self.key_header(), Field::LegacyKey)?;
        let start = decode(self.start_header(), Field::LegacyStart)?;
        let key = master.unwrap_oaep_sha1(key.as_slice(), rng)?;
        let counter = master.unwrap_oaep_sha1(start.as_slice(), rng)?;
        legacy_material(&key, &counter)
    }
}

/// Material from a legacy unwrapped key (32 bytes) and unwrapped `start` (a decimal counter).
///
/// # Errors
/// [`Error::Unwrap`] for a key that is not 32 bytes; [`Error::InvalidLegacyCounter`].
pub fn legacy_material(key: &[u8], decimal_counter: &[u8]) -> Result<ContentMaterial> {
    let key: [u8; 32] = key.try_into().map_err(|_| Error::Unwrap)?;
    if decimal_counter.is_empty() || decimal_counter.len() > 39 {
        return Err(Error::InvalidLegacyCounter);
    }
    let counter = decimal_counter.iter().try_fold(0u128, |acc, &c| {
        c.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u128::from(c - b'0')))
            .flatten()
    });
    let counter = counter.ok_or(Error::InvalidLegacyCounter)?;
    Ok(ContentMaterial::new(
        ContentKey::from_bytes(key),
        CounterBlock::from_u128(counter),
    ))
}

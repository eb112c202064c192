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
    // Only the legacy names themselves (and the `oss-crypto-` family) mark a legacy object: any
    // other `x-oss-meta-oss-*` header is a user's own metadata on a plain object.
    let (found, any_crypto) = collect(headers, prefix, "oss-crypto-", &FIELDS)?;
    if !any_crypto && found.iter().all(Option::is_none) {
        return Ok(None);
    }
    let [key, start, cek_alg, wrap_alg, _matdesc] = found;
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
    /// Both values are always unwrapped, and every failure after the base64 decoding of the
    /// headers (padding, lengths, a counter that is not a decimal number) is the one opaque
    /// [`Error::Unwrap`], as for the current format.
    ///
    /// # Errors
    /// [`Error::InvalidWrapAlg`] for a `kms` envelope; [`Error::InvalidBase64`] naming the header;
    /// [`Error::Unwrap`] for any unwrap failure.
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
        // Both unwraps run before either result is looked at, so the time taken does not say
        // which of the two failed.
        let key = master.unwrap_oaep_sha1(key.as_slice(), rng);
        let counter = master.unwrap_oaep_sha1(start.as_slice(), rng);
        match (key, counter) {
            (Ok(key), Ok(counter)) => legacy_material(&key, &counter),
            _ => Err(Error::Unwrap),
        }
    }
}

/// Material from a legacy unwrapped key (32 bytes) and unwrapped `start` (a decimal counter
/// below 2^128).
///
/// The counter text is secret material: it is read in full whatever it holds, and any problem
/// with either value is the opaque [`Error::Unwrap`].
///
/// # Errors
/// [`Error::Unwrap`] for a key that is not 32 bytes or a counter that is not 1 to 39 decimal
/// digits below 2^128.
pub fn legacy_material(key: &[u8], decimal_counter: &[u8]) -> Result<ContentMaterial> {
    let key: Result<[u8; 32]> = key.try_into().map_err(|_| Error::Unwrap);
    let counter = parse_counter(decimal_counter);
    match (key, counter) {
        (Ok(key), Some(counter)) => Ok(ContentMaterial::new(
            ContentKey::from_bytes(key),
            CounterBlock::from_u128(counter),
        )),
        _ => Err(Error::Unwrap),
    }
}

/// A decimal counter below 2^128, read without stopping at the first bad digit.
fn parse_counter(text: &[u8]) -> Option<u128> {
    let mut valid = !text.is_empty() && text.len() <= 39;
    let mut value = 0u128;
    for &c in text {
        let digit = c.wrapping_sub(b'0');
        valid &= digit < 10;
        let (times_ten, o1) = value.overflowing_mul(10);
        let (sum, o2) = times_ten.overflowing_add(u128::from(digit % 10));
        valid &= !(o1 | o2);
        value = sum;
    }
    valid.then_some(value)
}

/// What an object's metadata says protects it: the current envelope, the 2018 one, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // decoded once per object, never stored in bulk
pub enum Protection {
    /// The current `client-side-encryption-*` envelope.
    Current(crate::Envelope),
    /// The 2018 oss2 envelope (`oss-crypto-*`).
    Legacy(LegacyEnvelope),
    /// No envelope of either format: the object is stored in the clear.
    None,
}

/// Reads whichever envelope an object carries, the current one first, with one set of rules for
/// both formats: a header of either family that is present but incomplete is an error, never a
/// plain object. `options.missing` applies only when neither format is present.
///
/// # Errors
/// As [`decode_envelope`](crate::decode_envelope) and [`decode_legacy_envelope`];
/// [`Error::NotEncrypted`] when neither is present and `options.missing` is
/// [`MissingEnvelope::Reject`](crate::MissingEnvelope::Reject).
pub fn classify_envelope<'h, I, K, V>(
    headers: I,
    options: &crate::DecodeOptions<'_>,
) -> Result<Protection>
where
    I: IntoIterator<Item = (&'h K, &'h V)> + Clone,
    K: AsRef<[u8]> + ?Sized + 'h,
    V: AsRef<[u8]> + ?Sized + 'h,
{
    let pass = crate::DecodeOptions {
        missing: crate::MissingEnvelope::PassThrough,
        ..*options
    };
    if let Some(envelope) = crate::decode_envelope(headers.clone(), &pass)? {
        return Ok(Protection::Current(envelope));
    }
    match decode_legacy_envelope(headers, options.prefix)? {
        Some(legacy) => Ok(Protection::Legacy(legacy)),
        None if options.missing == crate::MissingEnvelope::Reject => Err(Error::NotEncrypted),
        None => Ok(Protection::None),
    }
}

/// Whether `name` is an envelope header of either format (`prefix` + `client-side-encryption-*`,
/// or a 2018 `oss-crypto-*` / `oss-cek-alg` / `oss-wrap-alg` header): what a rewrap replaces and
/// never copies.
#[must_use]
pub fn is_any_envelope_header(name: &[u8], prefix: &str) -> bool {
    crate::is_envelope_header(name, prefix)
        || crate::meta::has_stem(name, prefix, "oss-crypto-")
        || FIELDS
            .iter()
            .any(|f| crate::meta::name_is(name, prefix, f.suffix()))
}

//! The envelope: what an object's metadata says about its encryption.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::{Error, Field, Result};
use crate::fixed::{FixedBytes, FixedStr};
use crate::key::{CONTENT_KEY_LEN, COUNTER_BLOCK_LEN, ContentMaterial};
use crate::master::MasterCipher;

/// The only content cipher OSS client-side encryption defines (`cek-alg`).
pub const CEK_ALG_AES_CTR: &str = "AES/CTR/NoPadding";
/// The RSA wrap algorithm every SDK writes (`wrap-alg`): PKCS#1 v1.5 encryption.
pub const WRAP_ALG_RSA: &str = "RSA/NONE/PKCS1Padding";
/// The Alibaba Cloud KMS wrap algorithm (`wrap-alg`).
pub const WRAP_ALG_KMS: &str = "KMS/ALICLOUD";

/// The largest wrapped value accepted: an RSA-8192 ciphertext.
pub const MAX_WRAPPED_LEN: usize = 1024;
/// The largest wrap-alg name accepted.
pub const MAX_WRAP_ALG_LEN: usize = 64;
/// The largest matdesc header accepted.
pub const MAX_MATDESC_LEN: usize = 2048;

/// A wrapped (encrypted) content key or counter block, as carried base64-encoded in the `key`
/// and `start` headers. Not secret: it is public metadata.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WrappedValue(FixedBytes<MAX_WRAPPED_LEN>);

impl WrappedValue {
    /// Wraps raw ciphertext bytes.
    ///
    /// # Errors
    /// [`Error::ValueTooLong`] above [`MAX_WRAPPED_LEN`] bytes, naming `field`.
    pub fn from_slice(bytes: &[u8], field: Field) -> Result<Self> {
        FixedBytes::from_slice(bytes)
            .map(Self)
            .ok_or(Error::ValueTooLong {
                field,
                max: MAX_WRAPPED_LEN,
            })
    }

    pub(crate) fn from_fixed(bytes: FixedBytes<MAX_WRAPPED_LEN>) -> Self {
        Self(bytes)
    }

    /// The wrapped bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// The multipart fields of an envelope, present on objects written by multipart upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartSizes {
    /// `part-size`: every part but the last holds exactly this many bytes.
    pub part_size: u64,
    /// `data-size`: the whole plaintext length, when the writer declared it.
    pub data_size: Option<u64>,
}

/// An object's encryption metadata: the wrapped key and counter block, the algorithms, the
/// material description and the declared lengths. Decode it with [`crate::decode_envelope`],
/// encode it with [`Envelope::encode_headers`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    pub(crate) wrapped_key: WrappedValue,
    pub(crate) wrapped_counter: WrappedValue,
    pub(crate) wrap_alg: FixedStr<MAX_WRAP_ALG_LEN>,
    pub(crate) matdesc: FixedStr<MAX_MATDESC_LEN>,
    pub(crate) unencrypted_content_length: Option<u64>,
    pub(crate) unencrypted_content_md5: Option<[u8; 16]>,
    pub(crate) multipart: Option<MultipartSizes>,
}

/// Wraps `plaintext` into `out` and returns the wrapped bytes. A master cipher cannot tell which
/// value it wraps, so a value too long for the header is named here.
fn wrap_into<'a>(
    master: &dyn MasterCipher,
    plaintext: &[u8],
    out: &'a mut [u8; MAX_WRAPPED_LEN],
    field: Field,
    rng: &mut dyn CryptoRng,
) -> Result<&'a [u8]> {
    let too_long = Error::ValueTooLong {
        field,
        max: MAX_WRAPPED_LEN,
    };
    match master.wrap(plaintext, out, rng) {
        Ok(n) => out.get(..n).ok_or(too_long),
        Err(Error::BufferTooSmall { .. } | Error::ValueTooLong { .. }) => Err(too_long),
        Err(e) => Err(e),
    }
}

impl Envelope {
    /// Wraps `material` with `master` and builds the envelope of a new object.
    ///
    /// # Errors
    /// Whatever `master` returns from [`MasterCipher::wrap`], or [`Error::ValueTooLong`] when
    /// its wrap-alg or matdesc exceeds this engine's limits.
    pub fn seal(
        material: &ContentMaterial,
        master: &dyn MasterCipher,
        rng: &mut dyn CryptoRng,
    ) -> Result<Self> {
        // Wrapped values are not secret: the buffers need no wiping.
        let mut key = [0u8; MAX_WRAPPED_LEN];
        let mut counter = [0u8; MAX_WRAPPED_LEN];
        let key = wrap_into(master, material.key().as_bytes(), &mut key, Field::Key, rng)?;
        let counter = wrap_into(
            master,
            material.counter().as_bytes(),
            &mut counter,
            Field::Start,
            rng,
        )?;
        Self::from_wrapped(master.wrap_alg(), master.matdesc(), key, counter)
    }

    /// Builds an envelope from values wrapped outside the engine, for a master key that needs IO
    /// (KMS): wrap [`ContentKey::as_bytes`](crate::ContentKey::as_bytes) and
    /// [`CounterBlock::as_bytes`](crate::CounterBlock::as_bytes) however the key service wants,
    /// then hand the results here.
    ///
    /// `matdesc` is the material description as JSON (empty for none); with `alloc` it is
    /// written in canonical form ([`MatDesc::to_canonical`](crate::MatDesc::to_canonical)).
    ///
    /// # Errors
    /// [`Error::EmptyHeader`] for an empty wrap-alg or wrapped value, [`Error::ValueTooLong`] past
    /// the limits, [`Error::InvalidMatDesc`] for a matdesc that is not a JSON object of strings
    /// (checked with `alloc`).
    pub fn from_wrapped(
        wrap_alg: &str,
        matdesc: &str,
        wrapped_key: &[u8],
        wrapped_counter: &[u8],
    ) -> Result<Self> {
        if wrapped_key.is_empty() {
            return Err(Error::EmptyHeader(Field::Key));
        }
        if wrapped_counter.is_empty() {
            return Err(Error::EmptyHeader(Field::Start));
        }
        Ok(Self {
            wrapped_key: WrappedValue::from_slice(wrapped_key, Field::Key)?,
            wrapped_counter: WrappedValue::from_slice(wrapped_counter, Field::Start)?,
            wrap_alg: checked_wrap_alg(wrap_alg.as_bytes())?,
            matdesc: canonical_matdesc(matdesc)?,
            unencrypted_content_length: None,
            unencrypted_content_md5: None,
            multipart: None,
        })
    }

    /// Declares the plaintext length (`unencrypted-content-length`); readers check it.
    #[must_use]
    pub const fn with_unencrypted_content_length(mut self, len: u64) -> Self {
        self.unencrypted_content_length = Some(len);
        self
    }

    /// Records the caller's Content-MD5 of the plaintext (`unencrypted-content-md5`). OSS never
    /// sees a plaintext MD5 otherwise, since the ciphertext is what is uploaded.
    #[must_use]
    pub const fn with_unencrypted_content_md5(mut self, md5: [u8; 16]) -> Self {
        self.unencrypted_content_md5 = Some(md5);
        self
    }

    pub(crate) const fn with_multipart(mut self, sizes: MultipartSizes) -> Self {
        self.multipart = Some(sizes);
        self
    }

    /// Unwraps the content material with `master`.
    ///
    /// # Errors
    /// [`Error::WrapAlgMismatch`] when the object's wrap-alg is not `master`'s (compared
    /// ASCII-case-insensitively, as Java does); [`Error::MissingPrivateKey`] when `master` cannot
    /// unwrap; otherwise every failure is the opaque [`Error::Unwrap`].
    pub fn open(
        &self,
        master: &dyn MasterCipher,
        rng: &mut dyn CryptoRng,
    ) -> Result<ContentMaterial> {
        if !self.wrap_alg().eq_ignore_ascii_case(master.wrap_alg()) {
            return Err(Error::WrapAlgMismatch);
        }
        let mut key = Zeroizing::new([0u8; CONTENT_KEY_LEN]);
        let mut counter = Zeroizing::new([0u8; COUNTER_BLOCK_LEN]);
        let opaque = |e: Error| {
            if e == Error::MissingPrivateKey {
                e
            } else {
                Error::Unwrap
            }
        };
        // Both unwraps always run, so the time taken does not say which of the two failed.
        let key_result = master.unwrap(self.wrapped_key.as_bytes(), &mut key[..], rng);
        let counter_result = master.unwrap(self.wrapped_counter.as_bytes(), &mut counter[..], rng);
        key_result.and(counter_result).map_err(opaque)?;
        ContentMaterial::from_unwrapped(&key[..], &counter[..])
    }

    /// The envelope of the same object under another master key (key rotation): `material`
    /// wrapped by `master`, with `master`'s wrap-alg and matdesc, and every other field kept
    /// (declared length, plaintext MD5, multipart sizes), so the stored ciphertext stays valid.
    ///
    /// `material` must be what this envelope opens to ([`open`](Self::open), or an unwrap
    /// outside the engine); the engine cannot check that without the old master key.
    ///
    /// ```
    /// # let pem = cse_testkit::keys::RSA2048_PEM;
    /// use cse_core::{ContentMaterial, Envelope, RsaMasterCipher};
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let (old, new) = (RsaMasterCipher::from_pem(pem)?, RsaMasterCipher::from_pem(pem)?);
    /// let envelope = Envelope::seal(&ContentMaterial::generate(&mut rng), &old, &mut rng)?
    ///     .with_unencrypted_content_length(42);
    /// let material = envelope.open(&old, &mut rng)?;
    /// let rotated = envelope.rewrap(&material, &new, &mut rng)?;
    /// assert_eq!(rotated.open(&new, &mut rng)?, material);
    /// assert_eq!(rotated.unencrypted_content_length(), Some(42));
    /// # Ok::<(), cse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn rewrap(
        &self,
        material: &ContentMaterial,
        master: &dyn MasterCipher,
        rng: &mut dyn CryptoRng,
    ) -> Result<Self> {
        Ok(Self {
            unencrypted_content_length: self.unencrypted_content_length,
            unencrypted_content_md5: self.unencrypted_content_md5,
            multipart: self.multipart,
            ..Self::seal(material, master, rng)?
        })
    }

    /// The wrapped content key (`key` header), for a caller that unwraps outside the engine.
    #[must_use]
    pub const fn wrapped_key(&self) -> &WrappedValue {
        &self.wrapped_key
    }

    /// The wrapped counter block (`start` header).
    #[must_use]
    pub const fn wrapped_counter(&self) -> &WrappedValue {
        &self.wrapped_counter
    }

    /// The content cipher; always [`CEK_ALG_AES_CTR`], since decoding rejects any other.
    #[must_use]
    pub const fn cek_alg(&self) -> &'static str {
        CEK_ALG_AES_CTR
    }

    /// Checks that the envelope was wrapped by `wrap_alg` (compared ignoring ASCII case, as the
    /// SDKs compare it): what a master key that can only open its own algorithm (KMS) checks
    /// before it unwraps.
    ///
    /// # Errors
    /// [`Error::WrapAlgMismatch`].
    pub fn expect_wrap_alg(&self, wrap_alg: &str) -> Result<()> {
        if self.wrap_alg().eq_ignore_ascii_case(wrap_alg) {
            Ok(())
        } else {
            Err(Error::WrapAlgMismatch)
        }
    }

    /// The key-wrap algorithm (`wrap-alg`).
    #[must_use]
    pub fn wrap_alg(&self) -> &str {
        self.wrap_alg.as_str()
    }

    /// The matdesc header value as written (empty when absent).
    #[must_use]
    pub fn matdesc_text(&self) -> &str {
        self.matdesc.as_str()
    }

    /// The parsed material description.
    ///
    /// # Errors
    /// Never for a decoded envelope (decoding validates it); kept fallible for envelopes built
    /// without `alloc` validation.
    #[cfg(feature = "alloc")]
    pub fn matdesc(&self) -> Result<crate::MatDesc> {
        if self.matdesc.as_str().is_empty() {
            Ok(crate::MatDesc::new())
        } else {
            crate::MatDesc::parse(self.matdesc.as_str().as_bytes())
        }
    }

    /// The declared plaintext length (`unencrypted-content-length`).
    #[must_use]
    pub const fn unencrypted_content_length(&self) -> Option<u64> {
        self.unencrypted_content_length
    }

    /// The caller's plaintext MD5 (`unencrypted-content-md5`). Unkeyed, so it authenticates
    /// nothing; no SDK checks it.
    #[must_use]
    pub const fn unencrypted_content_md5(&self) -> Option<&[u8; 16]> {
        self.unencrypted_content_md5.as_ref()
    }

    /// The multipart sizes, for an object written by multipart upload.
    #[must_use]
    pub const fn multipart(&self) -> Option<MultipartSizes> {
        self.multipart
    }

    /// The plaintext length the envelope declares: `unencrypted-content-length`, else the
    /// multipart `data-size`. A whole-object read checks the ciphertext against it.
    #[must_use]
    pub fn declared_len(&self) -> Option<u64> {
        self.unencrypted_content_length
            .or_else(|| self.multipart.and_then(|m| m.data_size))
    }

    /// An [`Opener`](crate::Opener) for a whole-object read: it checks the declared length when
    /// there is one, and the plaintext's `unencrypted-content-md5` when the envelope records it
    /// ([`Error::ContentMd5Mismatch`] at [`finish`](crate::Opener::finish), the one check that
    /// catches a wrong master key that implicit rejection let through).
    #[must_use]
    pub fn whole_opener(&self, material: &ContentMaterial) -> crate::Opener {
        let opener = match self.declared_len() {
            Some(len) => crate::Opener::with_len(material, len),
            None => crate::Opener::new(material),
        };
        match self.unencrypted_content_md5 {
            Some(md5) => opener.expecting_md5(md5),
            None => opener,
        }
    }

    /// The check of a whole plaintext against `unencrypted-content-md5`, when the envelope has
    /// one, for a read that does not go through one [`whole_opener`](Self::whole_opener).
    #[must_use]
    pub fn content_md5_check(&self) -> Option<crate::ContentMd5Check> {
        self.unencrypted_content_md5
            .map(crate::ContentMd5Check::new)
    }

    /// Checks the length the object has in storage (a Content-Range total, a HEAD
    /// Content-Length, a local file's length) against the length this envelope declares, so a
    /// cut or extended object is refused on ranged reads too, not only on whole reads.
    ///
    /// # Errors
    /// [`Error::StoredLength`] when the envelope declares a length and `stored` differs.
    pub fn check_stored_len(&self, stored: u64) -> Result<()> {
        match self.declared_len() {
            Some(declared) if declared != stored => Err(Error::StoredLength { declared, stored }),
            _ => Ok(()),
        }
    }

    /// The first field in which `listed` (an upload's envelope as ListParts reports it, which
    /// carries key, start, cek-alg, wrap-alg, data-size and part-size but no matdesc) differs from
    /// this one, or `None` when they agree.
    #[must_use]
    pub fn listed_difference(&self, listed: &Self) -> Option<Field> {
        let sizes = |e: &Self| e.multipart.map(|m| (m.part_size, m.data_size));
        if self.wrapped_key != listed.wrapped_key {
            Some(Field::Key)
        } else if self.wrapped_counter != listed.wrapped_counter {
            Some(Field::Start)
        } else if !self.wrap_alg().eq_ignore_ascii_case(listed.wrap_alg()) {
            Some(Field::WrapAlg)
        } else if sizes(self).map(|s| s.0) != sizes(listed).map(|s| s.0) {
            Some(Field::PartSize)
        } else if sizes(self).map(|s| s.1) != sizes(listed).map(|s| s.1) {
            Some(Field::DataSize)
        } else {
            None
        }
    }
}

pub(crate) fn checked_wrap_alg(value: &[u8]) -> Result<FixedStr<MAX_WRAP_ALG_LEN>> {
    if value.is_empty() {
        return Err(Error::EmptyHeader(Field::WrapAlg));
    }
    let text = core::str::from_utf8(value)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(Error::InvalidWrapAlg)?;
    FixedStr::from_str(text).ok_or(Error::ValueTooLong {
        field: Field::WrapAlg,
        max: MAX_WRAP_ALG_LEN,
    })
}

/// On the write path the matdesc is written canonically (compact, sorted, ASCII) when `alloc` can
/// parse it; without `alloc` it is written as given.
fn canonical_matdesc(text: &str) -> Result<FixedStr<MAX_MATDESC_LEN>> {
    #[cfg(feature = "alloc")]
    if !text.is_empty() {
        return checked_matdesc(
            crate::MatDesc::parse(text.as_bytes())?
                .to_canonical()
                .as_bytes(),
        );
    }
    checked_matdesc(text.as_bytes())
}

pub(crate) fn checked_matdesc(value: &[u8]) -> Result<FixedStr<MAX_MATDESC_LEN>> {
    if value.is_empty() {
        return Ok(FixedStr::new());
    }
    #[cfg(feature = "alloc")]
    crate::MatDesc::parse(value)?;
    let text = core::str::from_utf8(value).map_err(|_| Error::InvalidMatDesc)?;
    FixedStr::from_str(text).ok_or(Error::ValueTooLong {
        field: Field::MatDesc,
        max: MAX_MATDESC_LEN,
    })
}

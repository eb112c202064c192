//! Multipart upload: one content material, many parts, each sealed from its own counter.
//!
//! Part `N` (1-based) is encrypted from counter `IV + (N-1) * part_size / 16`, so the finished
//! object is byte-identical to one continuous CTR stream. That is safe only if no two different
//! plaintexts ever meet the same counter. The SDKs leave it to the server; here the context
//! refuses it: every part must be exactly as long as its number requires, and each part number can
//! be sealed once per upload.
//!
//! # Retrying and resuming without reusing keystream
//! A part whose upload failed is retried by sending the ciphertext its first seal produced: keep
//! it (cse-oss hands it back in its error). When that ciphertext is gone (the process
//! stopped), the part may be sealed again only from the same plaintext: record the
//! [`PartDigest`] of each part's ciphertext before it leaves the machine, and reseal with
//! [`MultipartContext::reseal_part`], which releases the new ciphertext only if its digest
//! matches. A resumed upload marks the parts it knows were sealed with
//! [`MultipartContext::mark_sealed`], so they cannot be sealed afresh.
//!
//! A part streamed from a source too large to keep (a file) is resent by sealing it again as a
//! stream: [`MultipartContext::tracked_part_sealer`] releases each 64 KiB chunk only if it is the
//! ciphertext an earlier send released (its [`PartFingerprint`](crate::PartFingerprint)), and
//! [`MultipartContext::tracked_part_resealer`] does the same against a recorded digest.
//!
//! The threat this guards against is a source that changes between two seals of one part (a file
//! edited while an upload was interrupted): without the check, both ciphertexts would reach the
//! server under the same counters, and their XOR is the XOR of the two plaintexts.

use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::envelope::{Envelope, MultipartSizes};
use crate::error::{Error, Result, StreamError};
use crate::key::{BLOCK_LEN, ContentMaterial};
use crate::sealed::SealedEnvelope;
use crate::stream::Sealer;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

/// The most parts an OSS multipart upload may have.
pub const MAX_PARTS: u32 = 10_000;

/// The length of a [`PartDigest`].
pub const PART_DIGEST_LEN: usize = 32;

/// The digest of one part's ciphertext: what a resumable upload records before the part leaves
/// the machine, so that the part can later be sealed again only from the same plaintext
/// ([`MultipartContext::reseal_part`]).
///
/// Not secret: it is a digest of ciphertext, which the server holds anyway. Under one keystream,
/// equal ciphertexts mean equal plaintexts, so a matching digest proves the reseal exposes
/// nothing new.
///
/// It is a two-level BLAKE3: the BLAKE3 hash of the concatenated BLAKE3 hashes of the
/// ciphertext's [`FINGERPRINT_CHUNK_LEN`]-byte chunks (the last one may be shorter), so that the
/// same value comes out of a one-shot seal ([`PartDigest::of`]) and of a streamed one
/// ([`PartFingerprint::digest`](crate::PartFingerprint::digest)), whose chunk digests let a
/// resend be checked chunk by chunk before any byte of it leaves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PartDigest([u8; PART_DIGEST_LEN]);

/// The chunk length of [`PartDigest`] and [`PartFingerprint`](crate::PartFingerprint): 64 KiB
/// of a part's ciphertext, counted from the part's start.
pub const FINGERPRINT_CHUNK_LEN: usize = 64 * 1024;

/// The digest of one chunk.
///
/// BLAKE3, a collision-resistant hash like SHA-256 at about three times its speed here (where
/// SHA-256 has the CPU's SHA extensions): every byte of every part of an upload is hashed once,
/// and SHA-256 was most of a multipart upload's CPU time. Runtime selection of its vector code
/// (AVX-512, AVX2, SSE4.1) needs this crate's `std` feature; without it, only what the target
/// enables at compile time is used.
pub(crate) fn chunk_digest(chunk: &[u8]) -> [u8; PART_DIGEST_LEN] {
    *blake3::hash(chunk).as_bytes()
}

impl PartDigest {
    /// The digest of `ciphertext`, a whole part.
    #[must_use]
    pub fn of(ciphertext: &[u8]) -> Self {
        let mut outer = blake3::Hasher::new();
        for chunk in ciphertext.chunks(FINGERPRINT_CHUNK_LEN) {
            outer.update(&chunk_digest(chunk));
        }
        Self(*outer.finalize().as_bytes())
    }

    /// The digest of a part from its chunk digests, in order.
    #[cfg(feature = "alloc")]
    pub(crate) fn of_chunks(chunks: &[[u8; PART_DIGEST_LEN]]) -> Self {
        let mut outer = blake3::Hasher::new();
        for chunk in chunks {
            outer.update(chunk);
        }
        Self(*outer.finalize().as_bytes())
    }

    /// A digest recorded earlier (a checkpoint file).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; PART_DIGEST_LEN]) -> Self {
        Self(bytes)
    }

    /// The digest bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; PART_DIGEST_LEN] {
        &self.0
    }
}

const WORDS: usize = (MAX_PARTS as usize).div_ceil(32);

/// The state of one multipart upload: its material, envelope, sizes, and which parts were sealed.
///
/// `Sync`: parts can be sealed from several threads at once (`&self`), in any order.
pub struct MultipartContext {
    material: ContentMaterial,
    envelope: Envelope,
    part_size: u64,
    data_size: u64,
    parts: u32,
    sealed: [AtomicU32; WORDS],
    uploaded: [AtomicU32; WORDS],
}

impl core::fmt::Debug for MultipartContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MultipartContext")
            .field("part_size", &self.part_size)
            .field("data_size", &self.data_size)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl MultipartContext {
    /// A context for uploading `data_size` plaintext bytes in parts of `part_size`, under a
    /// new object's material and envelope ([`SealedEnvelope::seal`]); the envelope gains the
    /// `part-size` and `data-size` headers.
    ///
    /// # Errors
    /// [`Error::InvalidPartSize`] unless `part_size` is a positive multiple of 16;
    /// [`Error::InvalidDataSize`] unless `data_size` is positive and needs at most 10 000 parts;
    /// [`Error::InvalidValue`] when the envelope declares an `unencrypted-content-length` other
    /// than `data_size`.
    pub fn new(sealed: SealedEnvelope, part_size: u64, data_size: u64) -> Result<Self> {
        let (material, envelope) = sealed.into_parts();
        Self::with(material, envelope, part_size, data_size)
    }

    /// The context of an upload that already exists (a resumed one), from its envelope, which
    /// carries the part and data sizes, and the material unwrapped from that same envelope
    /// ([`Keyring::open`](crate::Keyring::open), or a key service's answer).
    ///
    /// Every part starts unclaimed: mark each part the upload sealed before with
    /// [`mark_sealed`](Self::mark_sealed) (and [`mark_uploaded`](Self::mark_uploaded)) before
    /// sealing anything, or a fresh sealer would be handed out for a part already sent.
    ///
    /// # Errors
    /// [`Error::MissingHeader`] for an envelope without `part-size` or `data-size`; as
    /// [`new`](Self::new) otherwise.
    pub fn open(envelope: Envelope, material: ContentMaterial) -> Result<Self> {
        let sizes = envelope
            .multipart()
            .ok_or(Error::MissingHeader(crate::Field::PartSize))?;
        let data_size = sizes
            .data_size
            .ok_or(Error::MissingHeader(crate::Field::DataSize))?;
        Self::with(material, envelope, sizes.part_size, data_size)
    }

    fn with(
        material: ContentMaterial,
        envelope: Envelope,
        part_size: u64,
        data_size: u64,
    ) -> Result<Self> {
        let parts = Self::part_count_for(part_size, data_size)?;
        // A reader refuses an envelope whose two lengths disagree; never write one.
        if envelope
            .unencrypted_content_length()
            .is_some_and(|len| len != data_size)
        {
            return Err(Error::InvalidValue {
                field: crate::Field::DataSize,
                problem: crate::ValueProblem::DataSizeDisagrees,
            });
        }
        let envelope = envelope.with_multipart(MultipartSizes {
            part_size,
            data_size: Some(data_size),
        });
        Ok(Self {
            material,
            envelope,
            part_size,
            data_size,
            parts,
            sealed: [const { AtomicU32::new(0) }; WORDS],
            uploaded: [const { AtomicU32::new(0) }; WORDS],
        })
    }

    /// The number of parts an upload of `data_size` bytes in parts of `part_size` makes, checking
    /// the sizes as [`new`](Self::new) does, before any material or envelope exists.
    ///
    /// # Errors
    /// [`Error::InvalidPartSize`] unless `part_size` is a positive multiple of 16;
    /// [`Error::InvalidDataSize`] unless `data_size` is positive and needs at most 10 000 parts.
    pub fn part_count_for(part_size: u64, data_size: u64) -> Result<u32> {
        if part_size == 0 || !part_size.is_multiple_of(BLOCK_LEN) {
            return Err(Error::InvalidPartSize);
        }
        u32::try_from(data_size.div_ceil(part_size))
            .ok()
            .filter(|&p| (1..=MAX_PARTS).contains(&p))
            .ok_or(Error::InvalidDataSize)
    }

    /// The envelope with `part-size` and `data-size`: the headers of InitiateMultipartUpload, and
    /// of every UploadPart (Python V2, Go V2 and oss2 repeat them; OSS checks them when present).
    /// CompleteMultipartUpload carries none.
    #[must_use]
    pub const fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The part size.
    #[must_use]
    pub const fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The total plaintext size.
    #[must_use]
    pub const fn data_size(&self) -> u64 {
        self.data_size
    }

    /// The number of parts the sizes make.
    #[must_use]
    pub const fn part_count(&self) -> u32 {
        self.parts
    }

    /// The exact plaintext length of part `part`.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`].
    pub fn part_len(&self, part: u32) -> Result<u64> {
        self.check_number(part)?;
        let offset = u64::from(part - 1) * self.part_size;
        Ok((self.data_size - offset).min(self.part_size))
    }

    /// Where part `part` lies in the plaintext: its offset (`(part-1) * part_size`) and its
    /// exact length, so a caller reads the right bytes without computing either.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`].
    pub fn part_range(&self, part: u32) -> Result<(u64, u64)> {
        let len = self.part_len(part)?;
        Ok((u64::from(part - 1) * self.part_size, len))
    }

    fn check_number(&self, part: u32) -> Result<()> {
        if (1..=self.parts).contains(&part) {
            Ok(())
        } else {
            Err(Error::PartNumberOutOfRange {
                part,
                parts: self.parts,
            })
        }
    }

    /// The sealer for part `part`, starting at counter `IV + (part-1) * part_size / 16`. Each
    /// part number is handed out once: keep the ciphertext to retry an upload, or record its
    /// [`PartDigest`] to reseal it later ([`reseal_part`](Self::reseal_part)).
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`], or [`Error::PartAlreadySealed`] on a second call for the
    /// same number.
    pub fn part_sealer(&self, part: u32) -> Result<PartSealer> {
        let len = self.part_len(part)?;
        if !self.take(part) {
            return Err(Error::PartAlreadySealed { part });
        }
        Ok(self.sealer_unclaimed(part, len))
    }

    /// A sealer for part `part` of length `len`, without claiming the part number: for the
    /// callers that release nothing unchecked (the fingerprint types).
    pub(crate) fn sealer_unclaimed(&self, part: u32, len: u64) -> PartSealer {
        let offset = u64::from(part - 1) * self.part_size;
        PartSealer {
            part,
            offset,
            len,
            sealer: Sealer::at(&self.material, offset, Some(len)),
        }
    }
}

impl MultipartContext {
    /// Marks part `part` as sealed without sealing it: for a resumed upload, the parts its
    /// checkpoint says were sealed before (whether or not they reached the server), so that no
    /// fresh [`part_sealer`](Self::part_sealer) is handed out for them.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::PartAlreadySealed`] when it is already marked.
    pub fn mark_sealed(&self, part: u32) -> Result<()> {
        self.check_number(part)?;
        if self.take(part) {
            Ok(())
        } else {
            Err(Error::PartAlreadySealed { part })
        }
    }

    /// Whether part `part` was sealed (or marked sealed) by this context.
    #[must_use]
    pub fn is_sealed(&self, part: u32) -> bool {
        if self.check_number(part).is_err() {
            return false;
        }
        let index = (part - 1) as usize;
        self.sealed[index / 32].load(Ordering::Acquire) & (1 << (index % 32)) != 0
    }

    /// Records that the store accepted part `part` (UploadPart answered with its ETag). Marking
    /// it again is harmless.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::PartNotSealed`] for a part this context never
    /// sealed nor marked sealed: its bytes did not come from this upload's keystream.
    pub fn mark_uploaded(&self, part: u32) -> Result<()> {
        if !self.is_sealed(part) {
            self.check_number(part)?;
            return Err(Error::PartNotSealed { part });
        }
        let index = (part - 1) as usize;
        self.uploaded[index / 32].fetch_or(1 << (index % 32), Ordering::AcqRel);
        Ok(())
    }

    /// Whether part `part` was marked uploaded.
    #[must_use]
    pub fn is_uploaded(&self, part: u32) -> bool {
        if self.check_number(part).is_err() {
            return false;
        }
        let index = (part - 1) as usize;
        self.uploaded[index / 32].load(Ordering::Acquire) & (1 << (index % 32)) != 0
    }

    /// The part numbers not marked uploaded yet, in order: what an upload still has to send
    /// before CompleteMultipartUpload.
    pub fn pending_parts(&self) -> impl Iterator<Item = u32> + '_ {
        (1..=self.parts).filter(|&n| !self.is_uploaded(n))
    }

    /// Whether every part was marked uploaded.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.pending_parts().next().is_none()
    }

    /// Claims part `part`'s bit; `false` when it was already claimed.
    pub(crate) fn take(&self, part: u32) -> bool {
        let index = (part - 1) as usize;
        let bit = 1u32 << (index % 32);
        self.sealed[index / 32].fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    /// Seals part `part` again, in place, from `buf` (its whole plaintext), and keeps the result
    /// only if its ciphertext has digest `expected`, the one recorded when the part was first
    /// sealed. The part need not be marked sealed; it is afterwards.
    ///
    /// This is the one way to seal a part number twice, and it exposes nothing: a matching
    /// digest means the same plaintext under the same keystream, the same bytes as before.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::PartLength`] when `buf` is not the part's exact
    /// length (`buf` is unchanged); [`Error::PartChanged`] when the digest differs, in which case
    /// `buf` is zeroed, so neither the new ciphertext nor the plaintext is left in it.
    pub fn reseal_part(&self, part: u32, buf: &mut [u8], expected: &PartDigest) -> Result<()> {
        let len = self.part_len(part)?;
        if buf.len() as u64 != len {
            return Err(Error::PartLength {
                part,
                expected: len,
                actual: buf.len() as u64,
            });
        }
        let offset = u64::from(part - 1) * self.part_size;
        Sealer::at(&self.material, offset, Some(len)).update_in_place(buf)?;
        if bool::from(PartDigest::of(buf).0.ct_eq(&expected.0)) {
            self.take(part);
            Ok(())
        } else {
            buf.zeroize();
            Err(Error::PartChanged { part })
        }
    }
}

/// Seals exactly one part: refuses a byte beyond the part's length, and a short part at
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct PartSealer {
    part: u32,
    offset: u64,
    len: u64,
    sealer: Sealer,
}

impl PartSealer {
    /// The part number.
    #[must_use]
    pub const fn part(&self) -> u32 {
        self.part
    }

    /// The exact plaintext length this part must have.
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Whether the part is empty; never, since every part holds at least one byte.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn sealed_so_far(&self) -> u64 {
        self.sealer.position() - self.offset
    }

    /// Plaintext bytes still to come.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.len - self.sealed_so_far()
    }

    fn too_long(&self, extra: usize) -> StreamError {
        StreamError::PartLength {
            part: self.part,
            expected: self.len,
            actual: self.sealed_so_far().saturating_add(extra as u64),
        }
    }

    /// Encrypts `input` into `output[..input.len()]`.
    ///
    /// # Errors
    /// [`StreamError::BufferTooSmall`]; [`StreamError::PartLength`] when the part would grow
    /// past its length. The state is unchanged on error.
    pub fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        match self.sealer.update(input, output) {
            Err(StreamError::Extended { .. }) => Err(self.too_long(input.len())),
            other => other,
        }
    }

    /// Encrypts `buf` in place and returns `0..buf.len()`, the bytes to deliver.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] when the part would grow past its length; the state is
    /// unchanged.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        match self.sealer.update_in_place(buf) {
            Err(StreamError::Extended { .. }) => Err(self.too_long(buf.len())),
            other => other,
        }
    }

    /// Takes the next `len` bytes of the part off as a sealer of their own, and moves this one
    /// past them, as [`Sealer::split_to`] does: to seal one part on several threads. Finish
    /// every piece; this part's [`finish`](Self::finish) counts the bytes handed to pieces as
    /// sealed.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] when the part would grow past its length; the state is
    /// unchanged.
    pub fn split_to(&mut self, len: u64) -> Result<Sealer, StreamError> {
        match self.sealer.split_to(len) {
            Err(StreamError::Extended { .. } | StreamError::TooLong) => {
                Err(StreamError::PartLength {
                    part: self.part,
                    expected: self.len,
                    actual: self.sealed_so_far().saturating_add(len),
                })
            }
            other => other,
        }
    }

    /// Ends the part and returns its length.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] when the part is shorter than its length.
    pub fn finish(self) -> Result<u64, StreamError> {
        let (part, expected, actual) = (self.part, self.len, self.sealed_so_far());
        self.sealer
            .finish()
            .map(|_| expected)
            .map_err(|_| StreamError::PartLength {
                part,
                expected,
                actual,
            })
    }
}

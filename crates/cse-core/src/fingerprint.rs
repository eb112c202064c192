//! Streaming a multipart part more than once without ever releasing two different ciphertexts
//! under its keystream.
//!
//! A part streamed from a file cannot be kept in memory to be resent, so a resend seals it
//! again from the source, which may have changed in between. [`PartFingerprint`] holds the
//! digest of every [`FINGERPRINT_CHUNK_LEN`]-byte chunk of ciphertext released so far for the
//! part; [`TrackedPartSealer`] seals the part as a stream and releases each chunk only after
//! checking it against the fingerprint (a chunk released before) or adding it (a chunk never
//! released). [`PartFingerprinter`] computes a fingerprint without releasing anything, for the
//! resumable case where the digest must be recorded before the first byte leaves.
//!
//! The memory is 32 bytes per 64 KiB of part (4 KiB for an 8 MiB part).

use alloc::vec::Vec;
use core::ops::Range;

use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use crate::error::{Error, Result, StreamError};
use crate::multipart::{
    FINGERPRINT_CHUNK_LEN, MultipartContext, PART_DIGEST_LEN, PartDigest, PartSealer,
};

/// The chunk digests of one part's ciphertext: what a send released so far (all of it, once
/// the part was streamed to its end), or what a [`PartFingerprinter`] computed without
/// releasing anything. Not secret: digests of ciphertext.
///
/// Not `Clone`, and a sealer's is taken only by consuming the sealer
/// ([`TrackedPartSealer::into_fingerprint`], [`TrackedPartSealer::finish`]): a part's sends form
/// one chain, so no second resend can start from a stale copy and release, unchecked, chunks a
/// later send released.
///
/// ```compile_fail
/// fn copy(f: &cse_core::PartFingerprint) -> cse_core::PartFingerprint {
///     f.clone() // a second chain of sends for one part: does not compile
/// }
/// ```
#[derive(PartialEq, Eq)]
pub struct PartFingerprint {
    part: u32,
    len: u64,
    chunks: Vec<[u8; PART_DIGEST_LEN]>,
    /// Made by a send (its chunks left the machine), not by a fingerprinter.
    released: bool,
}

impl core::fmt::Debug for PartFingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartFingerprint")
            .field("part", &self.part)
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .field("released", &self.released)
            .finish()
    }
}

fn chunk_count(len: u64) -> usize {
    usize::try_from(len.div_ceil(FINGERPRINT_CHUNK_LEN as u64)).unwrap_or(usize::MAX)
}

impl PartFingerprint {
    const fn empty(part: u32, len: u64, released: bool) -> Self {
        Self {
            part,
            len,
            chunks: Vec::new(),
            released,
        }
    }

    /// The part number.
    #[must_use]
    pub const fn part(&self) -> u32 {
        self.part
    }

    /// The part's plaintext (and ciphertext) length.
    #[must_use]
    pub const fn part_len(&self) -> u64 {
        self.len
    }

    /// Whether every chunk of the part is in the fingerprint.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.chunks.len() == chunk_count(self.len)
    }

    /// The part's [`PartDigest`], once the fingerprint is complete.
    #[must_use]
    pub fn digest(&self) -> Option<PartDigest> {
        self.is_complete()
            .then(|| PartDigest::of_chunks(&self.chunks))
    }
}

/// Hashes a stream in chunks counted from its start.
struct ChunkHasher {
    hasher: blake3::Hasher,
    filled: usize,
}

impl ChunkHasher {
    fn new() -> Self {
        Self {
            hasher: blake3::Hasher::new(),
            filled: 0,
        }
    }

    /// Adds `data`, pushing the digest of each chunk it completes.
    fn absorb(&mut self, mut data: &[u8], out: &mut Vec<[u8; PART_DIGEST_LEN]>) {
        while !data.is_empty() {
            let take = (FINGERPRINT_CHUNK_LEN - self.filled).min(data.len());
            self.hasher.update(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled == FINGERPRINT_CHUNK_LEN {
                self.flush(out);
            }
        }
    }

    /// Pushes the digest of the chunk in progress, if it holds any byte.
    fn flush(&mut self, out: &mut Vec<[u8; PART_DIGEST_LEN]>) {
        if self.filled > 0 {
            out.push(*self.hasher.finalize().as_bytes());
            self.hasher.reset();
            self.filled = 0;
        }
    }
}

impl MultipartContext {
    /// A sealer for part `part` that checks the chunks `fingerprint` holds and records the
    /// rest:
    /// - `None`: the first send; the part number is claimed, as
    ///   [`part_sealer`](Self::part_sealer) claims it.
    /// - the fingerprint the previous send left ([`TrackedPartSealer::into_fingerprint`] or
    ///   [`TrackedPartSealer::finish`]): a resend, checked against everything that send
    ///   released.
    /// - a [`PartFingerprinter`]'s, for a part not claimed yet: a first send whose digest was
    ///   computed (and recorded) before it; for a claimed part use
    ///   [`tracked_part_resealer`](Self::tracked_part_resealer), which checks the fingerprint
    ///   against the digest recorded then.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::PartAlreadySealed`] when the part was claimed
    /// and `fingerprint` is `None` or a fingerprinter's; [`Error::WrongFingerprint`] when it is
    /// for another part or length.
    pub fn tracked_part_sealer(
        &self,
        part: u32,
        fingerprint: Option<PartFingerprint>,
    ) -> Result<TrackedPartSealer> {
        let len = self.part_len(part)?;
        let fingerprint = match fingerprint {
            Some(f) if f.part != part || f.len != len => {
                return Err(Error::WrongFingerprint { part });
            }
            // A resend: the chain of one part's sends carries its claim.
            Some(f) if f.released => {
                self.take(part);
                f
            }
            // Nothing released yet: the part must not have been sealed another way.
            f => {
                if !self.take(part) {
                    return Err(Error::PartAlreadySealed { part });
                }
                f.unwrap_or(PartFingerprint::empty(part, len, true))
            }
        };
        Ok(self.tracked_from(fingerprint))
    }

    /// A sealer for part `part` that was sealed before (its number is claimed: a resumed upload
    /// marks it) and whose ciphertext digest was `recorded` then: `fingerprint`, from a
    /// [`PartFingerprinter`] over the plaintext now, must have that digest, and every chunk is
    /// then checked against it. This is the streamed form of
    /// [`reseal_part`](Self::reseal_part).
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::WrongFingerprint`]; [`Error::PartChanged`] when
    /// the fingerprint is incomplete or its digest is not `recorded` (the plaintext changed).
    pub fn tracked_part_resealer(
        &self,
        part: u32,
        fingerprint: PartFingerprint,
        recorded: &PartDigest,
    ) -> Result<TrackedPartSealer> {
        let len = self.part_len(part)?;
        if fingerprint.part != part || fingerprint.len != len {
            return Err(Error::WrongFingerprint { part });
        }
        let same = fingerprint
            .digest()
            .is_some_and(|d| bool::from(d.as_bytes().ct_eq(recorded.as_bytes())));
        if !same {
            return Err(Error::PartChanged { part });
        }
        self.take(part);
        Ok(self.tracked_from(fingerprint))
    }

    fn tracked_from(&self, fingerprint: PartFingerprint) -> TrackedPartSealer {
        let len = fingerprint.len;
        let part = fingerprint.part;
        TrackedPartSealer {
            checked: fingerprint.chunks.len(),
            changed: false,
            sealer: self.sealer_unclaimed(part, len),
            hasher: ChunkHasher::new(),
            fingerprint: PartFingerprint {
                released: true,
                ..fingerprint
            },
        }
    }

    /// A fingerprinter for part `part`: seals its plaintext into a scratch buffer and keeps
    /// only the chunk digests, so nothing is released and the part number is not claimed.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`].
    pub fn part_fingerprinter(&self, part: u32) -> Result<PartFingerprinter> {
        let len = self.part_len(part)?;
        Ok(PartFingerprinter {
            sealer: self.sealer_unclaimed(part, len),
            hasher: ChunkHasher::new(),
            fingerprint: PartFingerprint::empty(part, len, false),
            scratch: [0; SCRATCH_LEN],
        })
    }
}

/// Seals one part as a stream and releases each chunk of ciphertext only after checking it
/// against, or adding it to, the part's [`PartFingerprint`]. Made by
/// [`MultipartContext::tracked_part_sealer`].
///
/// Each piece must end on a chunk boundary or at the part's end
/// ([`StreamError::ChunkBoundary`]): a chunk is recorded or checked whole before any of it is
/// released, so a send that stops anywhere leaves a fingerprint of everything it released.
/// Feeding pieces of a multiple of [`FINGERPRINT_CHUNK_LEN`] always works.
pub struct TrackedPartSealer {
    sealer: PartSealer,
    hasher: ChunkHasher,
    fingerprint: PartFingerprint,
    /// How many of the fingerprint's chunks were there at the start, to be checked.
    checked: usize,
    /// A chunk differed: the source changed, and nothing more of this part is released.
    changed: bool,
}

impl core::fmt::Debug for TrackedPartSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrackedPartSealer")
            .field("part", &self.fingerprint.part)
            .field("checked_chunks", &self.checked)
            .finish_non_exhaustive()
    }
}

impl TrackedPartSealer {
    /// The part number.
    #[must_use]
    pub const fn part(&self) -> u32 {
        self.fingerprint.part
    }

    /// Ends this send where it stopped and returns the fingerprint of what it released: after
    /// a failed send, hand it to the resend ([`MultipartContext::tracked_part_sealer`]). Every
    /// released byte is in it, since pieces end on chunk boundaries.
    #[must_use]
    pub fn into_fingerprint(self) -> PartFingerprint {
        self.fingerprint
    }

    /// The stream offset (in the part) of the next byte.
    fn offset(&self) -> u64 {
        self.fingerprint.len - self.sealer.remaining()
    }

    /// Seals `buf` in place and returns `0..buf.len()`, the bytes to release, once each
    /// completed chunk has been checked or recorded.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] past the part's length and [`StreamError::ChunkBoundary`]
    /// (nothing consumed, `buf` unchanged); [`StreamError::PartChanged`] when a chunk differs
    /// from the one released before, in which case `buf` is zeroed and the sealer stays
    /// unusable for the rest of the part.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        if self.changed {
            buf.zeroize();
            return Err(StreamError::PartChanged {
                part: self.fingerprint.part,
            });
        }
        let start = self.offset();
        let end = start.saturating_add(buf.len() as u64);
        // A piece that runs past the part is the sealer's PartLength, below.
        if end < self.fingerprint.len && !end.is_multiple_of(FINGERPRINT_CHUNK_LEN as u64) {
            return Err(StreamError::ChunkBoundary {
                part: self.fingerprint.part,
                end,
            });
        }
        let range = self.sealer.update_in_place(buf)?;
        let before = self.fingerprint.chunks.len();
        let mut fresh = Vec::new();
        self.hasher.absorb(buf, &mut fresh);
        if end == self.fingerprint.len {
            self.hasher.flush(&mut fresh);
        }
        // Compare the chunks the fingerprint already holds, then add the new ones.
        let first = start / FINGERPRINT_CHUNK_LEN as u64;
        let mut changed = false;
        for (i, digest) in fresh.iter().enumerate() {
            let index = usize::try_from(first).unwrap_or(usize::MAX) + i;
            if index < self.checked {
                if self.fingerprint.chunks.get(index) != Some(digest) {
                    changed = true;
                }
            } else if index >= before {
                self.fingerprint.chunks.push(*digest);
            }
        }
        if changed {
            buf.zeroize();
            self.changed = true;
            return Err(StreamError::PartChanged {
                part: self.fingerprint.part,
            });
        }
        Ok(range)
    }

    /// Ends the part and returns its complete fingerprint.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] when the part is short; [`StreamError::PartChanged`] after a
    /// changed chunk.
    pub fn finish(self) -> Result<PartFingerprint, StreamError> {
        if self.changed {
            return Err(StreamError::PartChanged {
                part: self.fingerprint.part,
            });
        }
        self.sealer.finish()?;
        Ok(self.fingerprint)
    }
}

const SCRATCH_LEN: usize = 4096;

/// Computes a part's [`PartFingerprint`] from its plaintext without releasing any ciphertext.
/// Made by [`MultipartContext::part_fingerprinter`].
pub struct PartFingerprinter {
    sealer: PartSealer,
    hasher: ChunkHasher,
    fingerprint: PartFingerprint,
    /// Ciphertext only (not secret), so not zeroized.
    scratch: [u8; SCRATCH_LEN],
}

impl core::fmt::Debug for PartFingerprinter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartFingerprinter")
            .field("part", &self.fingerprint.part)
            .finish_non_exhaustive()
    }
}

impl PartFingerprinter {
    /// Adds the next plaintext bytes of the part, in any chunking.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] past the part's length; nothing of `plaintext` is consumed.
    pub fn update(&mut self, plaintext: &[u8]) -> Result<(), StreamError> {
        let remaining = self.sealer.remaining();
        if plaintext.len() as u64 > remaining {
            return Err(StreamError::PartLength {
                part: self.fingerprint.part,
                expected: self.fingerprint.len,
                actual: (self.fingerprint.len - remaining).saturating_add(plaintext.len() as u64),
            });
        }
        for piece in plaintext.chunks(SCRATCH_LEN) {
            let out = &mut self.scratch[..piece.len()];
            self.sealer.update(piece, out)?;
            self.hasher.absorb(out, &mut self.fingerprint.chunks);
        }
        Ok(())
    }

    /// Ends the part and returns its complete fingerprint.
    ///
    /// # Errors
    /// [`StreamError::PartLength`] when the part is short.
    pub fn finish(mut self) -> Result<PartFingerprint, StreamError> {
        self.sealer.finish()?;
        self.hasher.flush(&mut self.fingerprint.chunks);
        Ok(self.fingerprint)
    }
}

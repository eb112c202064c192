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

use zeroize::Zeroize as _;

use crate::error::{Error, Result, StreamError};
use crate::multipart::{
    FINGERPRINT_CHUNK_LEN, MultipartContext, PART_DIGEST_LEN, PartDigest, PartSealer,
};

/// The chunk digests of the ciphertext released so far for one part (all of it, once the part
/// was streamed to its end). Not secret: digests of ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct PartFingerprint {
    part: u32,
    len: u64,
    chunks: Vec<[u8; PART_DIGEST_LEN]>,
}

impl core::fmt::Debug for PartFingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartFingerprint")
            .field("part", &self.part)
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

fn chunk_count(len: u64) -> usize {
    usize::try_from(len.div_ceil(FINGERPRINT_CHUNK_LEN as u64)).unwrap_or(usize::MAX)
}

impl PartFingerprint {
    const fn empty(part: u32, len: u64) -> Self {
        Self {
            part,
            len,
            chunks: Vec::new(),
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
    hasher: sha2::Sha256,
    filled: usize,
}

impl ChunkHasher {
    fn new() -> Self {
        Self {
            hasher: sha2::Digest::new(),
            filled: 0,
        }
    }

    /// Adds `data`, pushing the digest of each chunk it completes.
    fn absorb(&mut self, mut data: &[u8], out: &mut Vec<[u8; PART_DIGEST_LEN]>) {
        while !data.is_empty() {
            let take = (FINGERPRINT_CHUNK_LEN - self.filled).min(data.len());
            sha2::Digest::update(&mut self.hasher, &data[..take]);
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
            let hasher = core::mem::replace(&mut self.hasher, sha2::Digest::new());
            out.push(sha2::Digest::finalize(hasher).into());
            self.filled = 0;
        }
    }
}

impl MultipartContext {
    /// A sealer for part `part` that checks the chunks `fingerprint` holds and records the
    /// rest: the first send of a part starts from `None` (the part number is then claimed, as
    /// [`part_sealer`](Self::part_sealer) claims it), a resend from the fingerprint the previous
    /// send left ([`TrackedPartSealer::fingerprint`]), or from a [`PartFingerprinter`]'s.
    ///
    /// # Errors
    /// [`Error::PartNumberOutOfRange`]; [`Error::PartAlreadySealed`] for `None` when the part was
    /// sealed before; [`Error::InvalidValue`] when `fingerprint` is for another part or length.
    pub fn tracked_part_sealer(
        &self,
        part: u32,
        fingerprint: Option<PartFingerprint>,
    ) -> Result<TrackedPartSealer> {
        let len = self.part_len(part)?;
        let fingerprint = match fingerprint {
            None => {
                if !self.take(part) {
                    return Err(Error::PartAlreadySealed { part });
                }
                PartFingerprint::empty(part, len)
            }
            Some(f) if f.part == part && f.len == len => {
                // A fingerprint made without releasing (a fingerprinter's) does not claim the
                // number; its first checked send does.
                self.take(part);
                f
            }
            Some(_) => return Err(Error::WrongFingerprint { part }),
        };
        Ok(TrackedPartSealer {
            checked: fingerprint.chunks.len(),
            changed: false,
            sealer: self.sealer_unclaimed(part, len),
            hasher: ChunkHasher::new(),
            fingerprint,
        })
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
            fingerprint: PartFingerprint::empty(part, len),
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

    /// The fingerprint of what was released so far: after a failed send, hand it to the
    /// resend ([`MultipartContext::tracked_part_sealer`]). Every released byte is in it, since
    /// pieces end on chunk boundaries.
    #[must_use]
    pub fn fingerprint(&self) -> PartFingerprint {
        self.fingerprint.clone()
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

//! Authenticated objects, version 1: key commitment, chunk tags and the side-car, as
//! `docs/authenticated-objects.md` defines them. Everything here is computed from the content
//! material, so KMS and custom master keys work unchanged; nothing in the existing envelope or
//! ciphertext changes, and the official SDKs read the objects as before.
//!
//! The pieces, in the order a reader uses them:
//! 1. [`AuthKeys::derive`] (HKDF-SHA256 over the key and counter block) gives the commitment and
//!    five MAC keys; [`AuthKeys::check_commitment`] compares the commitment with the header's.
//! 2. [`AuthKeys::envelope_digest`] binds the envelope values and the authentication parameters;
//!    [`AuthKeys::wrapping_tag`] the wrapping fields a rewrap changes.
//! 3. [`AuthKeys::chunk_tagger`] / [`AuthKeys::chunk_tag`] tag each chunk of ciphertext, with its
//!    index and whether it ends the object; [`AuthKeys::final_tag`] covers the list;
//!    [`AuthKeys::binding_tag`] binds a bucket and object name.
//! 4. [`ChunkPlan`] widens a ranged read to whole chunks; [`WriterKey`] signs a side-car.
//! 5. [`SidecarHeader`] is the side-car's fixed 208-byte header; tag `i` follows it at
//!    [`SidecarHeader::tag_offset`].
//!
//! The MAC is BLAKE3 in keyed mode, tags truncated to 128 bits (the design doc, section 11, says
//! why).

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, ZeroizeOnDrop};

use crate::envelope::Envelope;
use crate::key::ContentMaterial;
use crate::stream::Origin;

/// The version of the scheme this module implements (the `cse-auth-version` header and the
/// side-car's version byte).
pub const AUTH_VERSION: u8 = 1;
/// The default chunk size: 1 MiB.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// The smallest chunk size allowed: 64 KiB.
pub const MIN_CHUNK_SIZE: u32 = 1 << 16;
/// The largest chunk size allowed: 64 MiB.
pub const MAX_CHUNK_SIZE: u32 = 1 << 26;
/// The longest object a [`ChunkSealer`] seals: 64 TiB, above OSS's largest object (48.8 TiB).
/// Its record of sealed chunks is then at most 128 MiB (at the smallest chunk size).
pub const MAX_OBJECT_LEN: u64 = 1 << 46;
/// The length of every tag.
pub const TAG_LEN: usize = 16;
/// The length of the side-car's fixed header.
pub const SIDECAR_HEADER_LEN: usize = 208;

/// What an object's name gains to name its side-car in the same bucket: `<key>.cse-auth`.
pub const SIDECAR_SUFFIX: &str = ".cse-auth";

const SALT: &[u8] = b"oss-cse/auth/v1";
const ENVELOPE_LABEL: &[u8] = b"oss-cse/auth/v1 envelope";
const WRAPPING_LABEL: &[u8] = b"oss-cse/auth/v1 wrapping";
const SIGNATURE_LABEL: &[u8] = b"oss-cse/auth/v1 signature";
const MAGIC: &[u8; 8] = b"OSSCSEAT";

/// Why authentication data was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The content material does not match the commitment header: a wrong master key, or the
    /// `key` or `start` header was replaced.
    Commitment,
    /// A chunk size that is not a power of two from 64 KiB to 64 MiB.
    ChunkSize {
        /// The size given.
        size: u64,
    },
    /// The side-car is not a version-1 side-car: what is wrong with it.
    Sidecar(SidecarProblem),
    /// The object's metadata announces a side-car (`cse-auth-version`), and there is none.
    SidecarMissing,
    /// Authentication is required, and the object announces none (no `cse-auth-*` metadata).
    NotAuthenticated,
    /// The side-car was written for another object (its envelope digest differs).
    SidecarOfAnotherObject,
    /// The side-car's chunk size differs from the object's `cse-auth-chunk-size`.
    ChunkSizeMismatch,
    /// The side-car describes an object of another length.
    LengthMismatch {
        /// The length in the side-car.
        sidecar: u64,
        /// The object's length.
        object: u64,
    },
    /// The final tag over the chunk tags failed: a tag was changed, dropped, added or moved.
    FinalTag,
    /// A chunk's tag failed: its ciphertext was changed, or it was moved, or the object was cut
    /// or extended there.
    Chunk {
        /// The chunk index.
        index: u64,
    },
    /// The binding tag failed: the object was moved to another bucket or name.
    BindingTag,
    /// The side-car's binding does not match the object's `cse-auth-binding` (a binding
    /// flag removed or added), or a bound object was checked without its name.
    BindingMismatch,
    /// The wrapping tag failed: the envelope's `wrap-alg`, `matdesc`, wrapped key or wrapped
    /// counter block is not the one the side-car was written (or last rewrapped) for.
    WrappingTag,
    /// Trusted writer keys were given, and this build of the engine has no signature support
    /// (the `ed25519` feature): it refuses rather than pass the object unchecked.
    SignatureUnsupported,
    /// Trusted writer keys were given, and the side-car is not signed.
    Unsigned,
    /// The side-car is signed by a key that is not among the trusted writer keys.
    UntrustedSigner,
    /// The writer signature does not verify (Ed25519, strict).
    Signature,
    /// Chunk `index` was already sealed by this sealer: sealing it again would reuse its
    /// keystream.
    ChunkAlreadySealed {
        /// The chunk index.
        index: u64,
    },
    /// An object too long to keep a record of its chunks for.
    TooLong {
        /// The length given.
        len: u64,
    },
    /// A chunk buffer of the wrong length for its index.
    ChunkLength {
        /// The chunk index.
        index: u64,
        /// The length chunk `index` has.
        expected: u64,
        /// The buffer's length.
        actual: u64,
    },
    /// A chunk index past the object's last chunk.
    ChunkIndex {
        /// The index given.
        index: u64,
        /// The object's number of chunks.
        chunks: u64,
    },
    /// The policy is `forbid`, and authentication was asked for.
    Forbidden,
    /// More bytes arrived than the read planned: the object or the answer is longer than it
    /// should be.
    BodyTooLong {
        /// The bytes the read planned.
        planned: u64,
    },
    /// A chunk plan made for another object (another length or chunk size) than the cipher's.
    PlanMismatch,
    /// A multipart part size that is not a multiple of the chunk size.
    PartSize {
        /// The part size.
        part_size: u64,
        /// The chunk size.
        chunk_size: u32,
    },
}

/// What is wrong with a side-car.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SidecarProblem {
    /// Shorter than its fixed header, or than the tags it declares.
    TooShort,
    /// Not the side-car magic.
    Magic,
    /// A version this engine does not read.
    Version(u8),
    /// Flag bits or reserved bytes that version 1 does not define.
    Reserved,
    /// The chunk count does not match the length and chunk size.
    ChunkCount,
    /// Bytes after the last tag.
    TrailingBytes,
    /// An unused field (binding tag, signer, signature) that is not all zeros.
    UnusedField,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Commitment => f.write_str(
                "commitment check failed: wrong master key, or the key or start header was \
                 replaced",
            ),
            Self::ChunkSize { size } => write!(
                f,
                "authentication chunk size {size} is not a power of two from {MIN_CHUNK_SIZE} to \
                 {MAX_CHUNK_SIZE}"
            ),
            Self::Sidecar(p) => write!(f, "the side-car is malformed: {p}"),
            Self::SidecarOfAnotherObject => f.write_str("the side-car belongs to another object"),
            Self::SidecarMissing => f.write_str(
                "side-car missing: the object's metadata announces one (cse-auth-version), and \
                 without it nothing can be verified",
            ),
            Self::NotAuthenticated => f.write_str(
                "the object is not authenticated (no cse-auth-* metadata), and authentication \
                 is required",
            ),
            Self::ChunkSizeMismatch => {
                f.write_str("the side-car's chunk size differs from the object's metadata")
            }
            Self::LengthMismatch { sidecar, object } => write!(
                f,
                "the side-car is for {sidecar} bytes, and the object has {object}"
            ),
            Self::FinalTag => f.write_str(
                "final tag failed: the side-car's chunk tags were changed, dropped or reordered",
            ),
            Self::Chunk { index } => write!(
                f,
                "chunk {index} failed its tag: the object was changed, cut or reordered there"
            ),
            Self::BindingMismatch => f.write_str(
                "the side-car's binding does not match the object's cse-auth-binding header, or \
                 a bound object was read without its bucket and name",
            ),
            Self::WrappingTag => f.write_str(
                "wrapping tag failed: the wrap-alg, matdesc, key or start header was changed \
                 (a rewrapped object needs its side-car rewrapped too)",
            ),
            Self::SignatureUnsupported => f.write_str(
                "trusted writer keys were given, and this build cannot check signatures (the \
                 ed25519 feature is off)",
            ),
            Self::Unsigned => f.write_str(
                "the side-car is not signed, and trusted writer keys were given: refusing an \
                 object anyone with the public master key could have written",
            ),
            Self::UntrustedSigner => {
                f.write_str("the side-car is signed by a writer key that is not trusted")
            }
            Self::Signature => f.write_str("writer signature failed: the side-car was changed"),
            Self::Forbidden => f.write_str(
                "authentication was asked for, and the policy is forbid: allow it first",
            ),
            Self::BodyTooLong { planned } => write!(
                f,
                "more bytes arrived than the {planned} this read planned: the object or the \
                 answer is longer than it should be"
            ),
            Self::PlanMismatch => {
                f.write_str("the read was planned for another object (length or chunk size)")
            }
            Self::TooLong { len } => write!(
                f,
                "an object of {len} bytes is too long to seal chunk by chunk here"
            ),
            Self::ChunkAlreadySealed { index } => write!(
                f,
                "chunk {index} was already sealed: sealing it again would reuse its keystream"
            ),
            Self::ChunkLength {
                index,
                expected,
                actual,
            } => write!(
                f,
                "chunk {index} has {expected} bytes, and {actual} were given"
            ),
            Self::ChunkIndex { index, chunks } => {
                write!(f, "chunk {index} is past the object's {chunks} chunks")
            }
            Self::BindingTag => {
                f.write_str("binding tag failed: the object was moved to another bucket or name")
            }
            Self::PartSize {
                part_size,
                chunk_size,
            } => write!(
                f,
                "part size {part_size} is not a multiple of the authentication chunk size \
                 {chunk_size}: choose a part size that is"
            ),
        }
    }
}

impl fmt::Display for SidecarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("it is shorter than its header and tags"),
            Self::Magic => f.write_str("it does not start with OSSCSEAT"),
            Self::Version(v) => write!(f, "version {v}; this engine reads version {AUTH_VERSION}"),
            Self::Reserved => f.write_str("undefined flag bits or reserved bytes are set"),
            Self::ChunkCount => f.write_str("its chunk count does not match its length"),
            Self::TrailingBytes => f.write_str("bytes follow its last tag"),
            Self::UnusedField => f.write_str("a field its flags leave unused is not zero"),
        }
    }
}

impl core::error::Error for AuthError {}

/// Checks a chunk size: a power of two from [`MIN_CHUNK_SIZE`] to [`MAX_CHUNK_SIZE`].
///
/// # Errors
/// [`AuthError::ChunkSize`].
pub fn check_chunk_size(size: u64) -> Result<u32, AuthError> {
    u32::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two() && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(s))
        .ok_or(AuthError::ChunkSize { size })
}

/// The number of chunks of an object of `len` bytes: at least one, so that an empty object has
/// a last chunk too.
#[must_use]
pub const fn chunk_count(len: u64, chunk_size: u32) -> u64 {
    let n = len.div_ceil(chunk_size as u64);
    if n == 0 { 1 } else { n }
}

/// The key commitment: a public value, stored in the `cse-auth-commitment` header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Commitment(pub [u8; 32]);

/// The envelope digest `H`: binds every envelope value and the authentication parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EnvelopeDigest(pub [u8; 32]);

/// A 128-bit tag (chunk, final or binding). `==` compares in constant time, as
/// [`verify`](Self::verify) does.
#[derive(Clone, Copy, Eq, Debug, Default)]
pub struct Tag(pub [u8; TAG_LEN]);

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Tag {
    /// Compares in constant time.
    #[must_use]
    pub fn verify(&self, expected: &Self) -> bool {
        self.0.ct_eq(&expected.0).into()
    }
}

/// Whether the side-car's binding tag covers the bucket and object name.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Binding {
    /// Not bound (the default): copies and renames keep verifying.
    #[default]
    None,
    /// Bound to the bucket and object name: a copy needs a rebind.
    BucketKey,
}

/// The authentication parameters of an object: its metadata beside the envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AuthParams {
    /// The chunk size.
    pub chunk_size: u32,
    /// The key commitment.
    pub commitment: Commitment,
    /// The binding mode.
    pub binding: Binding,
}

/// The commitment and the five MAC keys of one object, derived from its content material.
/// Wiped on drop; `Debug` prints nothing secret.
#[derive(ZeroizeOnDrop)]
pub struct AuthKeys {
    commitment: [u8; 32],
    envelope: [u8; 32],
    chunk: [u8; 32],
    fin: [u8; 32],
    binding: [u8; 32],
    wrapping: [u8; 32],
}

impl fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKeys")
            .field("commitment", &Commitment(self.commitment))
            .finish_non_exhaustive()
    }
}

/// A BLAKE3 state that is wiped when dropped: a keyed one holds its key.
#[derive(Clone)]
struct Wiped(blake3::Hasher);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Encodes one field of the canonical envelope encoding.
fn field(h: &mut blake3::Hasher, id: u8, value: &[u8]) {
    // Every value is far below 4 GiB (headers are limited to 8 KiB).
    let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    h.update(&[id]);
    h.update(&len.to_be_bytes());
    h.update(value);
}

fn truncated(hash: &blake3::Hash) -> Tag {
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&hash.as_bytes()[..TAG_LEN]);
    Tag(tag)
}

impl AuthKeys {
    /// Derives the commitment and the MAC keys (HKDF-SHA256, salt `oss-cse/auth/v1`, over the
    /// content key followed by the counter block).
    #[must_use]
    pub fn derive(material: &ContentMaterial) -> Self {
        let mut ikm = [0u8; 48];
        ikm[..32].copy_from_slice(material.key().as_bytes());
        ikm[32..].copy_from_slice(material.counter().as_bytes());
        let hk = Hkdf::<Sha256>::new(Some(SALT), &ikm);
        ikm.zeroize();
        let mut keys = Self {
            commitment: [0; 32],
            envelope: [0; 32],
            chunk: [0; 32],
            fin: [0; 32],
            binding: [0; 32],
            wrapping: [0; 32],
        };
        for (info, out) in [
            (&b"commitment"[..], &mut keys.commitment),
            (b"envelope key", &mut keys.envelope),
            (b"chunk key", &mut keys.chunk),
            (b"final key", &mut keys.fin),
            (b"binding key", &mut keys.binding),
            (b"wrapping key", &mut keys.wrapping),
        ] {
            // 32 bytes is far below HKDF-SHA256's limit of 255 * 32.
            if hk.expand(info, out).is_err() {
                out.zeroize();
            }
        }
        keys
    }

    /// The commitment to write in the `cse-auth-commitment` header.
    #[must_use]
    pub const fn commitment(&self) -> Commitment {
        Commitment(self.commitment)
    }

    /// Compares the derived commitment with an object's, in constant time.
    ///
    /// # Errors
    /// [`AuthError::Commitment`] when they differ.
    pub fn check_commitment(&self, stored: &Commitment) -> Result<(), AuthError> {
        if bool::from(self.commitment.ct_eq(&stored.0)) {
            Ok(())
        } else {
            Err(AuthError::Commitment)
        }
    }

    /// The envelope digest `H` of `envelope` with `params` (design doc, section 5).
    #[must_use]
    pub fn envelope_digest(&self, envelope: &Envelope, params: &AuthParams) -> EnvelopeDigest {
        let mut h = Wiped(blake3::Hasher::new_keyed(&self.envelope));
        let h = &mut h.0;
        h.update(ENVELOPE_LABEL);
        // The wrapped key and counter block, wrap-alg and matdesc are not here but in the
        // wrapping tag: the commitment (field 12) binds what they unwrap to, and keeping them
        // out of H lets a rewrap to another master key keep every chunk tag and the signature.
        field(h, 1, envelope.cek_alg().as_bytes());
        if let Some(len) = envelope.unencrypted_content_length() {
            field(h, 6, &len.to_be_bytes());
        }
        if let Some(md5) = envelope.unencrypted_content_md5() {
            field(h, 7, md5);
        }
        if let Some(sizes) = envelope.multipart() {
            field(h, 8, &sizes.part_size.to_be_bytes());
            if let Some(data) = sizes.data_size {
                field(h, 9, &data.to_be_bytes());
            }
        }
        field(h, 10, &[AUTH_VERSION]);
        field(h, 11, &u64::from(params.chunk_size).to_be_bytes());
        field(h, 12, &params.commitment.0);
        field(
            h,
            13,
            &[match params.binding {
                Binding::None => 0,
                Binding::BucketKey => 1,
            }],
        );
        EnvelopeDigest(*h.finalize().as_bytes())
    }

    /// The wrapping tag `W` of `envelope` (design doc, section 5): its `wrap-alg`, `matdesc` and
    /// wrapped values, which `H` leaves out so that a rewrap changes only `W`.
    #[must_use]
    pub fn wrapping_tag(&self, digest: &EnvelopeDigest, envelope: &Envelope) -> Tag {
        let mut h = Wiped(blake3::Hasher::new_keyed(&self.wrapping));
        let h = &mut h.0;
        h.update(WRAPPING_LABEL);
        h.update(&digest.0);
        field(h, 2, envelope.wrap_alg().as_bytes());
        let matdesc = envelope.matdesc_text();
        if !matdesc.is_empty() {
            field(h, 3, matdesc.as_bytes());
        }
        field(h, 4, envelope.wrapped_key().as_bytes());
        field(h, 5, envelope.wrapped_counter().as_bytes());
        truncated(&h.finalize())
    }

    /// A tagger for chunk `index`, fed its ciphertext in any pieces.
    #[must_use]
    pub fn chunk_tagger(&self, digest: &EnvelopeDigest, index: u64) -> ChunkTagger {
        let mut h = blake3::Hasher::new_keyed(&self.chunk);
        h.update(&digest.0);
        h.update(&index.to_be_bytes());
        ChunkTagger { h: Wiped(h) }
    }

    /// The tag of chunk `index` whose whole ciphertext is `ciphertext`.
    #[must_use]
    pub fn chunk_tag(
        &self,
        digest: &EnvelopeDigest,
        index: u64,
        last: bool,
        ciphertext: &[u8],
    ) -> Tag {
        let mut t = self.chunk_tagger(digest, index);
        t.update(ciphertext);
        t.finish(last)
    }

    /// The final tag over all `chunks` tags of an object of `len` bytes.
    #[must_use]
    pub fn final_tag<'a>(
        &self,
        digest: &EnvelopeDigest,
        len: u64,
        chunks: impl ExactSizeIterator<Item = &'a Tag>,
    ) -> Tag {
        let mut f = self.final_tagger(digest);
        for tag in chunks {
            f.push(tag);
        }
        f.finish(len)
    }

    /// A final-tag computation fed the chunk tags in order, for a writer that does not keep
    /// them all (or does not know their number) in advance.
    #[must_use]
    pub fn final_tagger(&self, digest: &EnvelopeDigest) -> FinalTagger {
        let mut h = blake3::Hasher::new_keyed(&self.fin);
        h.update(&digest.0);
        FinalTagger {
            h: Wiped(h),
            count: 0,
        }
    }

    /// Checks one chunk's ciphertext against its tag.
    ///
    /// # Errors
    /// [`AuthError::Chunk`] naming the index.
    pub fn check_chunk(
        &self,
        digest: &EnvelopeDigest,
        index: u64,
        last: bool,
        ciphertext: &[u8],
        expected: &Tag,
    ) -> Result<(), AuthError> {
        if self
            .chunk_tag(digest, index, last, ciphertext)
            .verify(expected)
        {
            Ok(())
        } else {
            Err(AuthError::Chunk { index })
        }
    }

    /// Checks a side-car's header against the object it should describe, in this order: the
    /// header's encoding, the envelope digest, the chunk size and length, the wrapping tag,
    /// the binding (against `expected.name`), and, when `expected.trusted` names writer keys,
    /// the signature. The chunk tags are not read: a ranged read checks the ones it needs
    /// ([`check_chunk`](Self::check_chunk), [`SidecarHeader::tag_at`]), a whole read checks
    /// them all with [`check_tags`](Self::check_tags). `header` may be the whole side-car.
    ///
    /// # Errors
    /// The [`SidecarHeader::decode`] errors; [`AuthError::SidecarOfAnotherObject`],
    /// [`AuthError::ChunkSizeMismatch`], [`AuthError::LengthMismatch`],
    /// [`AuthError::WrappingTag`], [`AuthError::BindingMismatch`], [`AuthError::BindingTag`],
    /// [`AuthError::SignatureUnsupported`], [`AuthError::Unsigned`],
    /// [`AuthError::UntrustedSigner`], [`AuthError::Signature`], in that order.
    pub fn check_sidecar_header(
        &self,
        digest: &EnvelopeDigest,
        expected: &Expected<'_>,
        header: &[u8],
    ) -> Result<SidecarHeader, AuthError> {
        let header = SidecarHeader::decode(header)?;
        header.check_digest(digest)?;
        if header.chunk_size != expected.params.chunk_size {
            return Err(AuthError::ChunkSizeMismatch);
        }
        if header.len != expected.len {
            return Err(AuthError::LengthMismatch {
                sidecar: header.len,
                object: expected.len,
            });
        }
        if !self
            .wrapping_tag(digest, expected.envelope)
            .verify(&header.wrapping_tag)
        {
            return Err(AuthError::WrappingTag);
        }
        // The binding mode is in the digest too, so a stripped cse-auth-binding header fails
        // above; this catches a side-car whose flag was cleared or set.
        match (expected.params.binding, header.binding_tag, expected.name) {
            (Binding::None, None, _) => {}
            (Binding::BucketKey, Some(tag), Some((bucket, key))) => {
                if !self.binding_tag(digest, bucket, key).verify(&tag) {
                    return Err(AuthError::BindingTag);
                }
            }
            _ => return Err(AuthError::BindingMismatch),
        }
        if !expected.trusted.is_empty() {
            check_signature(&header, expected.trusted)?;
        }
        Ok(header)
    }

    /// Checks the final tag of `header` over all of its object's chunk tags.
    ///
    /// # Errors
    /// [`AuthError::FinalTag`]; [`AuthError::Sidecar`] when `tags` does not hold exactly the
    /// header's number of tags.
    pub fn check_tags(
        &self,
        digest: &EnvelopeDigest,
        header: &SidecarHeader,
        tags: impl Iterator<Item = Tag>,
    ) -> Result<(), AuthError> {
        let mut f = self.final_tagger(digest);
        for tag in tags {
            f.push(&tag);
        }
        if f.count() != header.chunks() {
            return Err(AuthError::Sidecar(SidecarProblem::TooShort));
        }
        if f.finish(header.len).verify(&header.final_tag) {
            Ok(())
        } else {
            Err(AuthError::FinalTag)
        }
    }

    /// Checks a whole side-car: [`check_sidecar_header`](Self::check_sidecar_header), then its
    /// length, then the final tag over its chunk tags ([`check_tags`](Self::check_tags)).
    /// Returns the header; the tags are then [`SidecarHeader::tags`] of the same bytes.
    ///
    /// # Errors
    /// Those of [`check_sidecar_header`](Self::check_sidecar_header); [`AuthError::Sidecar`]
    /// for a side-car too short for its tags or with bytes after them; [`AuthError::FinalTag`].
    pub fn check_sidecar(
        &self,
        digest: &EnvelopeDigest,
        expected: &Expected<'_>,
        sidecar: &[u8],
    ) -> Result<SidecarHeader, AuthError> {
        let header = self.check_sidecar_header(digest, expected, sidecar)?;
        self.check_tags(digest, &header, header.tags(sidecar)?)?;
        Ok(header)
    }

    /// The binding tag for `bucket` and object name `key`.
    #[must_use]
    pub fn binding_tag(&self, digest: &EnvelopeDigest, bucket: &[u8], key: &[u8]) -> Tag {
        let mut h = Wiped(blake3::Hasher::new_keyed(&self.binding));
        h.0.update(&digest.0);
        field_len(&mut h.0, bucket);
        field_len(&mut h.0, key);
        truncated(&h.0.finalize())
    }
}

fn field_len(h: &mut blake3::Hasher, value: &[u8]) {
    let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    h.update(&len.to_be_bytes());
    h.update(value);
}

/// What an authenticated read of a byte range reads and checks (design doc, section 10): the
/// request widened to whole chunks, the side-car bytes with their tags, and the plaintext to
/// release once they verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// The chunks to read and check, in order.
    pub chunks: core::ops::Range<u64>,
    /// The object bytes those chunks cover (read them, then check chunk by chunk).
    pub body: core::ops::Range<u64>,
    /// The side-car bytes holding their tags ([`SidecarHeader::tag_at`] with
    /// `first = chunks.start`).
    pub tags: core::ops::Range<u64>,
    /// The object bytes to release, or `None` when the range is not satisfiable. The plan
    /// then checks the last chunk, whose `last` flag authenticates the length, and the caller
    /// reports [`unsatisfiable`](Self::unsatisfiable) only after it verified.
    pub release: Option<core::ops::Range<u64>>,
    len: u64,
    chunk_size: u32,
}

impl ChunkPlan {
    /// Plans a read of `range` from an object of `len` bytes cut into `chunk_size` chunks.
    ///
    /// # Errors
    /// [`AuthError::ChunkSize`].
    pub fn new(range: crate::ByteRange, len: u64, chunk_size: u32) -> Result<Self, AuthError> {
        let cs = u64::from(check_chunk_size(u64::from(chunk_size))?);
        let count = chunk_count(len, chunk_size);
        let (chunks, release) = match range.resolve(len) {
            // last < len, so last / cs < count and the chunk ends are at most len.
            Ok((first, last)) => (first / cs..last / cs + 1, Some(first..last + 1)),
            Err(_) => (count - 1..count, None),
        };
        let body = chunks.start * cs..chunks.end.saturating_mul(cs).min(len);
        let tags = SidecarHeader::tag_offset(chunks.start)..SidecarHeader::tag_offset(chunks.end);
        Ok(Self {
            chunks,
            body,
            tags,
            release,
            len,
            chunk_size,
        })
    }

    /// Plans a whole read: every chunk, every byte (an empty object has one empty chunk).
    ///
    /// # Errors
    /// [`AuthError::ChunkSize`].
    pub fn whole(len: u64, chunk_size: u32) -> Result<Self, AuthError> {
        let count = chunk_count(len, check_chunk_size(u64::from(chunk_size))?);
        Ok(Self {
            chunks: 0..count,
            body: 0..len,
            tags: SidecarHeader::tag_offset(0)..SidecarHeader::tag_offset(count),
            release: Some(0..len),
            len,
            chunk_size,
        })
    }

    /// The error for a range this plan found unsatisfiable (after its chunk verified).
    #[must_use]
    pub const fn unsatisfiable(&self) -> crate::Error {
        crate::Error::RangeNotSatisfiable {
            object_len: Some(self.len),
        }
    }
}

/// A planned authenticated read ([`ChunkPlan`]) as a state machine over the ciphertext as it
/// arrives, in pieces of any size: each chunk is collected whole, checked against its tag,
/// decrypted, and only then its requested bytes are given out. The chunk buffer (the chunk
/// size, at most 64 MiB) is this opener's, wiped when it is dropped; nothing else is allocated.
///
/// ```text
/// while !input.is_empty() {
///     let (used, released) = opener.update(input)?;
///     if let Some(plaintext) = released { write(plaintext) }
///     input = &input[used..];
/// }
/// opener.finish()?;
/// ```
#[cfg(feature = "alloc")]
pub struct ChunkOpener {
    cipher: ChunkCipher,
    header: SidecarHeader,
    tags: alloc::vec::Vec<u8>,
    first: u64,
    plan: ChunkPlan,
    next: u64,
    buf: zeroize::Zeroizing<alloc::vec::Vec<u8>>,
    filled: usize,
}

#[cfg(feature = "alloc")]
impl fmt::Debug for ChunkOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkOpener")
            .field("next", &self.next)
            .field("chunks", &self.plan.chunks)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "alloc")]
impl ChunkOpener {
    /// The opener of `plan` with `cipher` (commitment checked), the side-car `header` it
    /// checked, and `tags`: the side-car bytes from tag `first` on, covering the plan's chunks
    /// (all of them, `first = 0`, for a whole read; [`ChunkPlan::tags`] for a ranged one). The
    /// ciphertext to feed is the object's bytes [`ChunkPlan::body`].
    ///
    /// # Errors
    /// [`AuthError::ChunkSizeMismatch`] when `header` has another chunk size than the cipher;
    /// [`AuthError::PlanMismatch`] when `plan` was made for another length or chunk size;
    /// [`AuthError::TooLong`] when the chunk buffer cannot be allocated.
    pub fn new(
        cipher: ChunkCipher,
        header: SidecarHeader,
        tags: alloc::vec::Vec<u8>,
        first: u64,
        plan: ChunkPlan,
    ) -> Result<Self, AuthError> {
        if header.chunk_size != cipher.chunks.chunk_size {
            return Err(AuthError::ChunkSizeMismatch);
        }
        if plan.chunk_size != cipher.chunks.chunk_size || plan.len != cipher.chunks.len {
            return Err(AuthError::PlanMismatch);
        }
        let size = header.chunk_size as usize;
        let mut buf = alloc::vec::Vec::new();
        buf.try_reserve_exact(size)
            .map_err(|_| AuthError::TooLong { len: size as u64 })?;
        buf.resize(size, 0);
        Ok(Self {
            next: plan.chunks.start,
            cipher,
            header,
            tags,
            first,
            plan,
            buf: zeroize::Zeroizing::new(buf),
            filled: 0,
        })
    }

    /// Takes ciphertext up to the end of the current chunk: returns how many bytes of
    /// `ciphertext` it used and, when that completed a chunk whose tag held, the plaintext of
    /// it to release (possibly empty, outside the range). Feed the rest again.
    ///
    /// # Errors
    /// [`AuthError::Chunk`] for a chunk whose tag fails; [`AuthError::BodyTooLong`] for
    /// bytes past the planned body. Nothing of a failed chunk is released.
    pub fn update(&mut self, ciphertext: &[u8]) -> Result<(usize, Option<&[u8]>), AuthError> {
        if self.next >= self.plan.chunks.end {
            return if ciphertext.is_empty() {
                Ok((0, None))
            } else {
                Err(AuthError::BodyTooLong {
                    planned: self.plan.body.end - self.plan.body.start,
                })
            };
        }
        let range = self.cipher.chunk_range(self.next)?;
        // A chunk is at most the chunk size, which the buffer holds.
        let want = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
        let take = (want - self.filled).min(ciphertext.len());
        self.buf[self.filled..self.filled + take].copy_from_slice(&ciphertext[..take]);
        self.filled += take;
        if self.filled < want {
            return Ok((take, None));
        }
        let index = self.next;
        let tag = self.header.tag_at(&self.tags, self.first, index)?;
        let chunk = &mut self.buf[..want];
        self.cipher.open_chunk(index, chunk, &tag)?;
        self.next += 1;
        self.filled = 0;
        let release = self.plan.release.clone().unwrap_or(0..0);
        // Both ends inside the chunk, so below its length.
        let at =
            |x: u64| usize::try_from(x.clamp(range.start, range.end) - range.start).unwrap_or(0);
        let (from, to) = (at(release.start), at(release.end));
        Ok((take, Some(&self.buf[from..to.max(from)])))
    }

    /// Ends the read: every planned chunk must have arrived and verified. It does not report
    /// an unsatisfiable range: for a plan whose [`ChunkPlan::release`] is `None`, the caller
    /// reports [`ChunkPlan::unsatisfiable`] once this succeeded (the last chunk verified).
    ///
    /// # Errors
    /// [`AuthError::Chunk`] for the first chunk that did not arrive whole (the object was cut
    /// short).
    pub fn finish(mut self) -> Result<(), AuthError> {
        // The one empty chunk of an empty object needs no bytes, only its check.
        if self.next < self.plan.chunks.end && self.cipher.chunk_range(self.next)?.is_empty() {
            self.update(&[])?;
        }
        if self.next < self.plan.chunks.end {
            return Err(AuthError::Chunk { index: self.next });
        }
        Ok(())
    }

    /// The plan this opener follows.
    #[must_use]
    pub const fn plan(&self) -> &ChunkPlan {
        &self.plan
    }
}

/// The authentication policy (design doc, section 7), one setting for writers and readers, as
/// the S3 Encryption Client's commitment policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Never authenticate, never verify: objects read as before this feature.
    Forbid,
    /// Authenticate when asked; verify every object whose metadata announces it (any failure,
    /// a missing side-car included, is an error); read the others unauthenticated. The
    /// default, since every object an SDK writes has no marker.
    #[default]
    Allow,
    /// Always authenticate; refuse every object that is not authenticated, and every object
    /// without an envelope: the only setting that stops a downgrade.
    Require,
}

impl Policy {
    /// Whether a writer authenticates, when `asked` or not.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] when asked under `forbid`.
    pub const fn authenticates(self, asked: bool) -> Result<bool, AuthError> {
        match (self, asked) {
            (Self::Forbid, true) => Err(AuthError::Forbidden),
            (Self::Forbid, false) => Ok(false),
            (Self::Allow, asked) => Ok(asked),
            (Self::Require, _) => Ok(true),
        }
    }

    /// Whether a reader verifies an object whose metadata does (`announced`) or does not
    /// announce authentication.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] for an object without the marker under `require`.
    pub const fn verifies(self, announced: bool) -> Result<bool, AuthError> {
        match (self, announced) {
            (Self::Forbid, _) => Ok(false),
            (Self::Allow, announced) => Ok(announced),
            (Self::Require, true) => Ok(true),
            (Self::Require, false) => Err(AuthError::NotAuthenticated),
        }
    }

    /// What a reader under this policy does with an object that has no envelope at all.
    #[must_use]
    pub const fn missing_envelope(self) -> crate::MissingEnvelope {
        match self {
            Self::Require => crate::MissingEnvelope::Reject,
            Self::Forbid | Self::Allow => crate::MissingEnvelope::PassThrough,
        }
    }
}

/// What a side-car is checked against: the object as the reader found it.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The object's envelope (for the wrapping tag).
    pub envelope: &'a Envelope,
    /// The object's authentication parameters.
    pub params: &'a AuthParams,
    /// The object's length.
    pub len: u64,
    /// The bucket and object name it was read from, for a bound object.
    pub name: Option<(&'a [u8], &'a [u8])>,
    /// The trusted writers' Ed25519 public keys; empty means signatures are not checked.
    pub trusted: &'a [[u8; 32]],
}

#[cfg(feature = "ed25519")]
fn check_signature(header: &SidecarHeader, trusted: &[[u8; 32]]) -> Result<(), AuthError> {
    let (signer, signature) = header.signature.as_ref().ok_or(AuthError::Unsigned)?;
    // Public values only: the comparison need not be constant-time.
    if !trusted.contains(signer) {
        return Err(AuthError::UntrustedSigner);
    }
    let key = ed25519_dalek::VerifyingKey::from_bytes(signer).map_err(|_| AuthError::Signature)?;
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(
        &signed_message(&header.digest, &header.final_tag),
        &signature,
    )
    .map_err(|_| AuthError::Signature)
}

#[cfg(not(feature = "ed25519"))]
const fn check_signature(_header: &SidecarHeader, _trusted: &[[u8; 32]]) -> Result<(), AuthError> {
    Err(AuthError::SignatureUnsupported)
}

/// A writer's Ed25519 signing key (design doc, section 9). Wiped on drop; `Debug` shows only
/// the public key.
#[cfg(feature = "ed25519")]
pub struct WriterKey(ed25519_dalek::SigningKey);

#[cfg(feature = "ed25519")]
impl fmt::Debug for WriterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "ed25519")]
impl WriterKey {
    /// The key whose 32-byte secret seed (RFC 8032) is `seed`.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// A fresh key from `rng`.
    #[must_use]
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed);
        seed.zeroize();
        key
    }

    /// The secret seed, for storing the key (the caller wipes it).
    #[must_use]
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public key, which readers list as trusted.
    #[must_use]
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `header` (its digest and final tag): sets its signer and signature.
    pub fn sign(&self, header: &mut SidecarHeader) {
        use ed25519_dalek::Signer as _;
        let signature = self
            .0
            .sign(&signed_message(&header.digest, &header.final_tag));
        header.signature = Some((self.public(), signature.to_bytes()));
    }
}

/// The message a writer signs: the label, `H` and the final tag (design doc, section 9).
#[must_use]
pub fn signed_message(digest: &EnvelopeDigest, final_tag: &Tag) -> [u8; 25 + 32 + TAG_LEN] {
    let mut m = [0u8; 25 + 32 + TAG_LEN];
    m[..25].copy_from_slice(SIGNATURE_LABEL);
    m[25..57].copy_from_slice(&digest.0);
    m[57..].copy_from_slice(&final_tag.0);
    m
}

/// The tag of one chunk, fed its ciphertext in pieces; [`finish`](Self::finish) says whether it
/// is the object's last chunk.
#[derive(Clone)]
pub struct ChunkTagger {
    h: Wiped,
}

impl fmt::Debug for ChunkTagger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkTagger").finish_non_exhaustive()
    }
}

impl ChunkTagger {
    /// Feeds the next ciphertext bytes of the chunk.
    pub fn update(&mut self, ciphertext: &[u8]) {
        self.h.0.update(ciphertext);
    }

    /// The chunk's tag; `last` when it ends the object.
    #[must_use]
    pub fn finish(mut self, last: bool) -> Tag {
        self.h.0.update(&[u8::from(last)]);
        truncated(&self.h.0.finalize())
    }
}

/// The final tag, fed the chunk tags in order ([`AuthKeys::final_tagger`]).
#[derive(Clone)]
pub struct FinalTagger {
    h: Wiped,
    count: u64,
}

impl fmt::Debug for FinalTagger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinalTagger")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl FinalTagger {
    /// Feeds the next chunk tag.
    pub fn push(&mut self, tag: &Tag) {
        self.h.0.update(&tag.0);
        self.count += 1;
    }

    /// The number of tags fed so far.
    #[must_use]
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The final tag of an object of `len` bytes.
    #[must_use]
    pub fn finish(mut self, len: u64) -> Tag {
        self.h.0.update(&self.count.to_be_bytes());
        self.h.0.update(&len.to_be_bytes());
        truncated(&self.h.0.finalize())
    }
}

/// Checks that a multipart part size holds whole chunks, so that each part's tags depend on its
/// own bytes only.
///
/// # Errors
/// [`AuthError::PartSize`].
pub const fn check_part_size(part_size: u64, chunk_size: u32) -> Result<(), AuthError> {
    if part_size != 0 && part_size.is_multiple_of(chunk_size as u64) {
        Ok(())
    } else {
        Err(AuthError::PartSize {
            part_size,
            chunk_size,
        })
    }
}

/// Tags ciphertext as it passes, in pieces of any length, chunk by chunk from chunk
/// `first_index`: a whole object from 0, or one multipart part from its first chunk. A chunk's
/// tag is given to the sink once the next byte arrives (it was not the last) or at
/// [`finish`](Self::finish), which says whether the stream ends the object.
///
/// `K` is how the stream holds the keys: `&AuthKeys`, or an owner such as `Arc<AuthKeys>` for a
/// stream that must outlive the caller's frame (a request body).
#[derive(Debug)]
pub struct ChunkStream<K: core::borrow::Borrow<AuthKeys>> {
    keys: K,
    digest: EnvelopeDigest,
    chunk_size: u32,
    index: u64,
    filled: u32,
    current: ChunkTagger,
}

impl<K: core::borrow::Borrow<AuthKeys>> ChunkStream<K> {
    /// A stream whose first byte starts chunk `first_index`. For a writer: tags are made as
    /// the ciphertext passes, and nothing here verifies anything (a reader checks whole chunks,
    /// [`ChunkCipher::open_chunk`], before it releases their plaintext).
    ///
    /// # Errors
    /// [`AuthError::ChunkSize`]; [`AuthError::ChunkIndex`] when `first_index` starts past
    /// 2^64 - 1 bytes.
    pub fn new(
        keys: K,
        digest: EnvelopeDigest,
        chunk_size: u32,
        first_index: u64,
    ) -> Result<Self, AuthError> {
        let chunk_size = check_chunk_size(u64::from(chunk_size))?;
        let chunks = u64::MAX / u64::from(chunk_size);
        if first_index > chunks {
            return Err(AuthError::ChunkIndex {
                index: first_index,
                chunks,
            });
        }
        Ok(Self {
            current: keys.borrow().chunk_tagger(&digest, first_index),
            keys,
            digest,
            chunk_size,
            index: first_index,
            filled: 0,
        })
    }

    /// Feeds ciphertext; `sink(index, tag)` receives each chunk tag that is complete.
    pub fn update(&mut self, mut ciphertext: &[u8], sink: &mut impl FnMut(u64, Tag)) {
        while !ciphertext.is_empty() {
            if self.filled == self.chunk_size {
                let next = self
                    .keys
                    .borrow()
                    .chunk_tagger(&self.digest, self.index + 1);
                let done = core::mem::replace(&mut self.current, next);
                sink(self.index, done.finish(false));
                self.index += 1;
                self.filled = 0;
            }
            let room = (self.chunk_size - self.filled) as usize;
            let (now, rest) = ciphertext.split_at(room.min(ciphertext.len()));
            self.current.update(now);
            // `now` is at most `room`, which is below 2^32.
            self.filled += u32::try_from(now.len()).unwrap_or(self.chunk_size);
            ciphertext = rest;
        }
    }

    /// Ends the stream: gives the last chunk's tag to `sink`, flagged `last` when this stream
    /// ends the object, and returns its index.
    pub fn finish(self, last: bool, sink: &mut impl FnMut(u64, Tag)) -> u64 {
        self.finish_keys(last, sink).0
    }

    /// As [`finish`](Self::finish), and gives the keys back.
    pub fn finish_keys(self, last: bool, sink: &mut impl FnMut(u64, Tag)) -> (u64, K) {
        sink(self.index, self.current.finish(last));
        (self.index, self.keys)
    }
}

/// A writer's whole side-car, made as the ciphertext passes: the chunk tags in order, then, at
/// [`finish`](Self::finish), the header with the final, wrapping and binding tags and, when a
/// writer key is given, its signature. For a stream of any length (the last chunk is known
/// only at the end); the tags cost 16 bytes a chunk of memory.
#[cfg(feature = "alloc")]
#[derive(Debug)]
pub struct SidecarWriter<K: core::borrow::Borrow<AuthKeys>> {
    stream: ChunkStream<K>,
    params: AuthParams,
    digest: EnvelopeDigest,
    wrapping_tag: Tag,
    tags: alloc::vec::Vec<Tag>,
    len: u64,
}

#[cfg(feature = "alloc")]
impl<K: core::borrow::Borrow<AuthKeys>> SidecarWriter<K> {
    /// The side-car of the object whose final envelope is `envelope`, with `keys` derived from
    /// its material, cut into `chunk_size` chunks, bound as `binding` says.
    ///
    /// # Errors
    /// [`AuthError::ChunkSize`].
    pub fn new(
        keys: K,
        envelope: &Envelope,
        chunk_size: u32,
        binding: Binding,
    ) -> Result<Self, AuthError> {
        let k = keys.borrow();
        let params = AuthParams {
            chunk_size: check_chunk_size(u64::from(chunk_size))?,
            commitment: k.commitment(),
            binding,
        };
        let digest = k.envelope_digest(envelope, &params);
        let wrapping_tag = k.wrapping_tag(&digest, envelope);
        Ok(Self {
            stream: ChunkStream::new(keys, digest, chunk_size, 0)?,
            params,
            digest,
            wrapping_tag,
            tags: alloc::vec::Vec::new(),
            len: 0,
        })
    }

    /// The parameters to write as the object's `cse-auth-*` metadata
    /// ([`AuthParams::encode_headers`]), with the envelope, before the body.
    #[must_use]
    pub const fn params(&self) -> &AuthParams {
        &self.params
    }

    /// Feeds the next ciphertext bytes.
    pub fn update(&mut self, ciphertext: &[u8]) {
        let tags = &mut self.tags;
        self.stream.update(ciphertext, &mut |_, tag| tags.push(tag));
        self.len = self.len.saturating_add(ciphertext.len() as u64);
    }

    /// The side-car's bytes. `name` (bucket, object name) is required for a bound object;
    /// `writer` signs.
    ///
    /// # Errors
    /// [`AuthError::BindingMismatch`] for a bound object without `name`.
    pub fn finish(
        self,
        name: Option<(&[u8], &[u8])>,
        writer: Option<&dyn SidecarSigner>,
    ) -> Result<alloc::vec::Vec<u8>, AuthError> {
        let Self {
            stream,
            params,
            digest,
            wrapping_tag,
            mut tags,
            len,
        } = self;
        let (_, keys) = stream.finish_keys(true, &mut |_, tag| tags.push(tag));
        let keys = keys.borrow();
        let binding_tag = match (params.binding, name) {
            (Binding::None, _) => None,
            (Binding::BucketKey, Some((bucket, key))) => {
                Some(keys.binding_tag(&digest, bucket, key))
            }
            (Binding::BucketKey, None) => return Err(AuthError::BindingMismatch),
        };
        let mut header = SidecarHeader {
            chunk_size: params.chunk_size,
            len,
            digest,
            final_tag: keys.final_tag(&digest, len, tags.iter()),
            wrapping_tag,
            binding_tag,
            signature: None,
        };
        if let Some(writer) = writer {
            writer.sign_header(&mut header);
        }
        Ok(header.with_tags(&tags))
    }
}

/// Signs a side-car header: [`WriterKey`] with the `ed25519` feature, or a signer of the
/// caller's (a key in an HSM) that sets [`SidecarHeader::signature`] over [`signed_message`].
pub trait SidecarSigner {
    /// Sets the header's signer and signature.
    fn sign_header(&self, header: &mut SidecarHeader);
}

#[cfg(feature = "ed25519")]
impl SidecarSigner for WriterKey {
    fn sign_header(&self, header: &mut SidecarHeader) {
        self.sign(header);
    }
}

/// The chunks of one authenticated object of known length: chunk `i` is the ciphertext at
/// `i * chunk_size`, tagged with its index and whether it is the last.
struct Chunks {
    origin: Origin,
    keys: AuthKeys,
    digest: EnvelopeDigest,
    chunk_size: u32,
    len: u64,
}

impl Chunks {
    /// Checks the commitment, computes the digest from the envelope, checks the chunk size.
    fn new(
        material: &ContentMaterial,
        envelope: &Envelope,
        params: &AuthParams,
        len: u64,
    ) -> Result<Self, AuthError> {
        let chunk_size = check_chunk_size(u64::from(params.chunk_size))?;
        let keys = AuthKeys::derive(material);
        keys.check_commitment(&params.commitment)?;
        Ok(Self {
            origin: Origin::of(material),
            digest: keys.envelope_digest(envelope, params),
            keys,
            chunk_size,
            len,
        })
    }

    const fn count(&self) -> u64 {
        chunk_count(self.len, self.chunk_size)
    }

    fn range(&self, index: u64) -> Result<core::ops::Range<u64>, AuthError> {
        let chunks = self.count();
        if index >= chunks {
            return Err(AuthError::ChunkIndex { index, chunks });
        }
        // index < chunks, so the start is at most the length.
        let start = index * u64::from(self.chunk_size);
        Ok(start
            ..start
                .saturating_add(u64::from(self.chunk_size))
                .min(self.len))
    }

    fn check(&self, index: u64, buf: &[u8]) -> Result<(u64, bool), AuthError> {
        let range = self.range(index)?;
        let expected = range.end - range.start;
        if buf.len() as u64 != expected {
            return Err(AuthError::ChunkLength {
                index,
                expected,
                actual: buf.len() as u64,
            });
        }
        Ok((range.start, index + 1 == self.count()))
    }
}

/// Opens an authenticated object one whole chunk at a time, each independently of the others,
/// so chunks can be opened on several threads at once and a ranged read opens only its own.
///
/// [`open_chunk`](Self::open_chunk) checks the tag *before* it decrypts: on failure the buffer
/// still holds the ciphertext, and no plaintext of that chunk exists. Made from the opened
/// content material, the envelope and the object's authentication parameters, with the
/// commitment checked and the envelope digest computed here, never taken from the side-car.
pub struct ChunkCipher {
    chunks: Chunks,
}

impl fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkCipher")
            .field("chunk_size", &self.chunks.chunk_size)
            .field("len", &self.chunks.len)
            .finish_non_exhaustive()
    }
}

impl ChunkCipher {
    /// The chunk opener of an object of `len` bytes.
    ///
    /// # Errors
    /// [`AuthError::Commitment`] when `material` is not the one the object committed to (a
    /// wrong master key, or a replaced key or start header); [`AuthError::ChunkSize`].
    pub fn new(
        material: &ContentMaterial,
        envelope: &Envelope,
        params: &AuthParams,
        len: u64,
    ) -> Result<Self, AuthError> {
        Chunks::new(material, envelope, params, len).map(|chunks| Self { chunks })
    }

    /// The envelope digest, to check the side-car with ([`AuthKeys::check_sidecar`]).
    #[must_use]
    pub const fn digest(&self) -> EnvelopeDigest {
        self.chunks.digest
    }

    /// The keys, to check the side-car with.
    #[must_use]
    pub const fn keys(&self) -> &AuthKeys {
        &self.chunks.keys
    }

    /// The object's number of chunks.
    #[must_use]
    pub const fn chunks(&self) -> u64 {
        self.chunks.count()
    }

    /// The byte range of chunk `index` in the object.
    ///
    /// # Errors
    /// [`AuthError::ChunkIndex`] past the last chunk.
    pub fn chunk_range(&self, index: u64) -> Result<core::ops::Range<u64>, AuthError> {
        self.chunks.range(index)
    }

    /// Checks chunk `index` (its whole ciphertext) against `tag`, then decrypts it in place.
    ///
    /// # Errors
    /// [`AuthError::ChunkIndex`], [`AuthError::ChunkLength`], [`AuthError::Chunk`]; `buf` is
    /// unchanged (still ciphertext).
    pub fn open_chunk(&self, index: u64, buf: &mut [u8], tag: &Tag) -> Result<(), AuthError> {
        let c = &self.chunks;
        let (offset, last) = c.check(index, buf)?;
        c.keys.check_chunk(&c.digest, index, last, buf, tag)?;
        c.origin.apply_at(offset, buf);
        Ok(())
    }
}

/// Seals an authenticated object of known length one whole chunk at a time, on any threads, in
/// any order, each chunk once: a second [`seal_chunk`](Self::seal_chunk) of one index is refused,
/// since it would reuse that chunk's keystream. Made from a [`SealedEnvelope`] (fresh material).
///
/// [`SealedEnvelope`]: crate::SealedEnvelope
#[cfg(feature = "alloc")]
pub struct ChunkSealer {
    chunks: Chunks,
    sealed: alloc::vec::Vec<core::sync::atomic::AtomicU32>,
    binding: Binding,
    wrapping_tag: Tag,
}

#[cfg(feature = "alloc")]
impl fmt::Debug for ChunkSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSealer")
            .field("chunk_size", &self.chunks.chunk_size)
            .field("len", &self.chunks.len)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "alloc")]
impl ChunkSealer {
    /// The chunk sealer of `sealed`'s object of `len` bytes, with `params` (whose commitment
    /// must be `sealed`'s: [`AuthKeys::commitment`]).
    ///
    /// # Errors
    /// [`AuthError::Commitment`], [`AuthError::ChunkSize`]; [`AuthError::TooLong`] past
    /// [`MAX_OBJECT_LEN`], or when the record of sealed chunks cannot be allocated.
    pub fn new(
        sealed: &crate::SealedEnvelope,
        params: &AuthParams,
        len: u64,
    ) -> Result<Self, AuthError> {
        let chunks = Chunks::new(sealed.material(), sealed.envelope(), params, len)?;
        let wrapping_tag = chunks.keys.wrapping_tag(&chunks.digest, sealed.envelope());
        // One bit a chunk; an allocation that cannot be made is an error, not an abort.
        let too_long = AuthError::TooLong { len };
        if len > MAX_OBJECT_LEN {
            return Err(too_long);
        }
        let words = usize::try_from(chunks.count().div_ceil(32)).map_err(|_| too_long)?;
        let mut sealed = alloc::vec::Vec::new();
        sealed.try_reserve_exact(words).map_err(|_| too_long)?;
        sealed.resize_with(words, || core::sync::atomic::AtomicU32::new(0));
        Ok(Self {
            chunks,
            sealed,
            binding: params.binding,
            wrapping_tag,
        })
    }

    /// The envelope digest (for the side-car header).
    #[must_use]
    pub const fn digest(&self) -> EnvelopeDigest {
        self.chunks.digest
    }

    /// The keys (for the final tag).
    #[must_use]
    pub const fn keys(&self) -> &AuthKeys {
        &self.chunks.keys
    }

    /// The object's number of chunks.
    #[must_use]
    pub const fn chunks(&self) -> u64 {
        self.chunks.count()
    }

    /// The side-car of the object, from the tags [`seal_chunk`](Self::seal_chunk) returned, in
    /// index order. `name` is required for a bound object; `writer` signs.
    ///
    /// # Errors
    /// [`AuthError::ChunkIndex`] when `tags` does not hold exactly one tag a chunk;
    /// [`AuthError::BindingMismatch`] for a bound object without `name`.
    pub fn sidecar(
        &self,
        tags: &[Tag],
        name: Option<(&[u8], &[u8])>,
        writer: Option<&dyn SidecarSigner>,
    ) -> Result<alloc::vec::Vec<u8>, AuthError> {
        let c = &self.chunks;
        if tags.len() as u64 != c.count() {
            return Err(AuthError::ChunkIndex {
                index: tags.len() as u64,
                chunks: c.count(),
            });
        }
        let binding_tag = match (self.binding, name) {
            (Binding::None, _) => None,
            (Binding::BucketKey, Some((bucket, key))) => {
                Some(c.keys.binding_tag(&c.digest, bucket, key))
            }
            (Binding::BucketKey, None) => return Err(AuthError::BindingMismatch),
        };
        let mut header = SidecarHeader {
            chunk_size: c.chunk_size,
            len: c.len,
            digest: c.digest,
            final_tag: c.keys.final_tag(&c.digest, c.len, tags.iter()),
            wrapping_tag: self.wrapping_tag,
            binding_tag,
            signature: None,
        };
        if let Some(writer) = writer {
            writer.sign_header(&mut header);
        }
        Ok(header.with_tags(tags))
    }

    /// Encrypts chunk `index` (its whole plaintext) in place and returns its tag.
    ///
    /// # Errors
    /// [`AuthError::ChunkIndex`], [`AuthError::ChunkLength`] (`buf` unchanged, the index
    /// still free); [`AuthError::ChunkAlreadySealed`].
    pub fn seal_chunk(&self, index: u64, buf: &mut [u8]) -> Result<Tag, AuthError> {
        use core::sync::atomic::Ordering;
        let c = &self.chunks;
        let (offset, last) = c.check(index, buf)?;
        let bit = 1u32 << (index % 32);
        let word = usize::try_from(index / 32)
            .ok()
            .and_then(|w| self.sealed.get(w))
            .ok_or(AuthError::ChunkIndex {
                index,
                chunks: c.count(),
            })?;
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(AuthError::ChunkAlreadySealed { index });
        }
        c.origin.apply_at(offset, buf);
        Ok(c.keys.chunk_tag(&c.digest, index, last, buf))
    }
}

/// The side-car's fixed header (design doc, section 6).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SidecarHeader {
    /// The chunk size.
    pub chunk_size: u32,
    /// The plaintext (and ciphertext) length.
    pub len: u64,
    /// The envelope digest of the object it belongs to.
    pub digest: EnvelopeDigest,
    /// The final tag.
    pub final_tag: Tag,
    /// The wrapping tag.
    pub wrapping_tag: Tag,
    /// The binding tag, when the object is bound.
    pub binding_tag: Option<Tag>,
    /// The writer's Ed25519 public key and signature, when signed.
    pub signature: Option<([u8; 32], [u8; 64])>,
}

impl SidecarHeader {
    /// The number of chunks, and so of tags.
    #[must_use]
    pub const fn chunks(&self) -> u64 {
        chunk_count(self.len, self.chunk_size)
    }

    /// Where tag `index` starts in the side-car.
    #[must_use]
    pub const fn tag_offset(index: u64) -> u64 {
        (TAG_LEN as u64)
            .saturating_mul(index)
            .saturating_add(SIDECAR_HEADER_LEN as u64)
    }

    /// The whole side-car's length.
    #[must_use]
    pub const fn sidecar_len(&self) -> u64 {
        Self::tag_offset(self.chunks())
    }

    /// The header's 208 bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; SIDECAR_HEADER_LEN] {
        let mut out = [0u8; SIDECAR_HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8] = AUTH_VERSION;
        out[9] = u8::from(self.binding_tag.is_some()) | (u8::from(self.signature.is_some()) << 1);
        out[12..16].copy_from_slice(&self.chunk_size.to_be_bytes());
        out[16..24].copy_from_slice(&self.len.to_be_bytes());
        out[24..32].copy_from_slice(&self.chunks().to_be_bytes());
        out[32..64].copy_from_slice(&self.digest.0);
        out[64..80].copy_from_slice(&self.final_tag.0);
        out[80..96].copy_from_slice(&self.wrapping_tag.0);
        if let Some(b) = self.binding_tag {
            out[96..112].copy_from_slice(&b.0);
        }
        if let Some((key, sig)) = &self.signature {
            out[112..144].copy_from_slice(key);
            out[144..208].copy_from_slice(sig);
        }
        out
    }

    /// The whole side-car: this header, then `tags`.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn with_tags(&self, tags: &[Tag]) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(SIDECAR_HEADER_LEN + TAG_LEN * tags.len());
        out.extend_from_slice(&self.encode());
        for tag in tags {
            out.extend_from_slice(&tag.0);
        }
        out
    }

    /// Decodes the header at the start of `bytes` (at least its 208 bytes; the tags may follow).
    ///
    /// # Errors
    /// [`AuthError::Sidecar`] naming the problem; [`AuthError::ChunkSize`].
    pub fn decode(bytes: &[u8]) -> Result<Self, AuthError> {
        let bad = AuthError::Sidecar;
        let h: &[u8; SIDECAR_HEADER_LEN] = bytes
            .get(..SIDECAR_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(bad(SidecarProblem::TooShort))?;
        if &h[..8] != MAGIC {
            return Err(bad(SidecarProblem::Magic));
        }
        if h[8] != AUTH_VERSION {
            return Err(bad(SidecarProblem::Version(h[8])));
        }
        let flags = h[9];
        if flags & !0b11 != 0 || h[10] != 0 || h[11] != 0 {
            return Err(bad(SidecarProblem::Reserved));
        }
        let be32 = |r: core::ops::Range<usize>| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&h[r]);
            u32::from_be_bytes(b)
        };
        let be64 = |r: core::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[r]);
            u64::from_be_bytes(b)
        };
        let chunk_size = check_chunk_size(u64::from(be32(12..16)))?;
        let len = be64(16..24);
        if be64(24..32) != chunk_count(len, chunk_size) {
            return Err(bad(SidecarProblem::ChunkCount));
        }
        let take = |r: core::ops::Range<usize>, out: &mut [u8]| out.copy_from_slice(&h[r]);
        let mut digest = [0u8; 32];
        take(32..64, &mut digest);
        let mut final_tag = [0u8; TAG_LEN];
        take(64..80, &mut final_tag);
        let mut wrapping_tag = [0u8; TAG_LEN];
        take(80..96, &mut wrapping_tag);
        let unused = |r: core::ops::Range<usize>| h[r].iter().all(|&b| b == 0);
        let binding_tag = if flags & 1 == 1 {
            let mut b = [0u8; TAG_LEN];
            take(96..112, &mut b);
            Some(Tag(b))
        } else if unused(96..112) {
            None
        } else {
            return Err(bad(SidecarProblem::UnusedField));
        };
        let signature = if flags & 2 == 2 {
            let mut key = [0u8; 32];
            let mut sig = [0u8; 64];
            take(112..144, &mut key);
            take(144..208, &mut sig);
            Some((key, sig))
        } else if unused(112..208) {
            None
        } else {
            return Err(bad(SidecarProblem::UnusedField));
        };
        Ok(Self {
            chunk_size,
            len,
            digest: EnvelopeDigest(digest),
            final_tag: Tag(final_tag),
            wrapping_tag: Tag(wrapping_tag),
            binding_tag,
            signature,
        })
    }

    /// Checks that a whole side-car is exactly this header's length, and returns its tags.
    ///
    /// # Errors
    /// [`AuthError::Sidecar`]: too short, or bytes after the last tag.
    pub fn tags<'a>(
        &self,
        sidecar: &'a [u8],
    ) -> Result<impl ExactSizeIterator<Item = Tag> + 'a, AuthError> {
        let want = usize::try_from(self.sidecar_len())
            .map_err(|_| AuthError::Sidecar(SidecarProblem::TooShort))?;
        match sidecar.len().cmp(&want) {
            core::cmp::Ordering::Less => Err(AuthError::Sidecar(SidecarProblem::TooShort)),
            core::cmp::Ordering::Greater => Err(AuthError::Sidecar(SidecarProblem::TrailingBytes)),
            core::cmp::Ordering::Equal => Ok(sidecar[SIDECAR_HEADER_LEN..]
                .chunks_exact(TAG_LEN)
                .map(|t| {
                    let mut tag = [0u8; TAG_LEN];
                    tag.copy_from_slice(t);
                    Tag(tag)
                })),
        }
    }

    /// Tag `index`, read from `tags`: the side-car's bytes from
    /// [`tag_offset`](Self::tag_offset)`(first)` on, as a ranged read of it returns them.
    ///
    /// # Errors
    /// [`AuthError::ChunkIndex`] for an index before `first` or past the last chunk;
    /// [`AuthError::Sidecar`] when `tags` is too short to hold it.
    pub fn tag_at(&self, tags: &[u8], first: u64, index: u64) -> Result<Tag, AuthError> {
        let chunks = self.chunks();
        if index < first || index >= chunks {
            return Err(AuthError::ChunkIndex { index, chunks });
        }
        let at = usize::try_from(index - first)
            .ok()
            .and_then(|i| i.checked_mul(TAG_LEN))
            .and_then(|at| tags.get(at..at.checked_add(TAG_LEN)?))
            .ok_or(AuthError::Sidecar(SidecarProblem::TooShort))?;
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(at);
        Ok(Tag(tag))
    }

    /// Checks that the side-car belongs to the object whose digest is `digest`.
    ///
    /// # Errors
    /// [`AuthError::SidecarOfAnotherObject`].
    pub fn check_digest(&self, digest: &EnvelopeDigest) -> Result<(), AuthError> {
        if bool::from(self.digest.0.ct_eq(&digest.0)) {
            Ok(())
        } else {
            Err(AuthError::SidecarOfAnotherObject)
        }
    }
}

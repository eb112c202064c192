//! The one error type of the engine.

use core::fmt;

/// A metadata field of the envelope, named in errors by its header suffix.
///
/// The full header name is the configured prefix (default `x-oss-meta-`) followed by
/// [`Field::suffix`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `client-side-encryption-key`: the wrapped content key.
    Key,
    /// `client-side-encryption-start`: the wrapped counter block.
    Start,
    /// `client-side-encryption-cek-alg`: the content cipher.
    CekAlg,
    /// `client-side-encryption-wrap-alg`: the key-wrap algorithm.
    WrapAlg,
    /// `client-side-encryption-matdesc`: the material description.
    MatDesc,
    /// `client-side-encryption-unencrypted-content-length`.
    UnencryptedContentLength,
    /// `client-side-encryption-unencrypted-content-md5`.
    UnencryptedContentMd5,
    /// `client-side-encryption-data-size`: the plaintext size of a multipart object.
    DataSize,
    /// `client-side-encryption-part-size`: the part size of a multipart object.
    PartSize,
    /// Legacy (2018 oss2) `oss-crypto-key`.
    LegacyKey,
    /// Legacy (2018 oss2) `oss-crypto-start`.
    LegacyStart,
    /// Legacy (2018 oss2) `oss-cek-alg`.
    LegacyCekAlg,
    /// Legacy (2018 oss2) `oss-wrap-alg`.
    LegacyWrapAlg,
    /// Legacy (2018 oss2) `oss-crypto-matdesc`.
    LegacyMatDesc,
    /// `cse-auth-version`: the authenticated-object marker and its version.
    AuthVersion,
    /// `cse-auth-chunk-size`: the size of the authenticated chunks.
    AuthChunkSize,
    /// `cse-auth-commitment`: the key commitment.
    AuthCommitment,
    /// `cse-auth-binding`: whether the side-car binds the bucket and object name.
    AuthBinding,
}

impl Field {
    /// The header name without the user-metadata prefix, as it appears after `x-oss-meta-`.
    #[must_use]
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Key => "client-side-encryption-key",
            Self::Start => "client-side-encryption-start",
            Self::CekAlg => "client-side-encryption-cek-alg",
            Self::WrapAlg => "client-side-encryption-wrap-alg",
            Self::MatDesc => "client-side-encryption-matdesc",
            Self::UnencryptedContentLength => "client-side-encryption-unencrypted-content-length",
            Self::UnencryptedContentMd5 => "client-side-encryption-unencrypted-content-md5",
            Self::DataSize => "client-side-encryption-data-size",
            Self::PartSize => "client-side-encryption-part-size",
            Self::LegacyKey => "oss-crypto-key",
            Self::LegacyStart => "oss-crypto-start",
            Self::LegacyCekAlg => "oss-cek-alg",
            Self::LegacyWrapAlg => "oss-wrap-alg",
            Self::LegacyMatDesc => "oss-crypto-matdesc",
            Self::AuthVersion => "cse-auth-version",
            Self::AuthChunkSize => "cse-auth-chunk-size",
            Self::AuthCommitment => "cse-auth-commitment",
            Self::AuthBinding => "cse-auth-binding",
        }
    }
}

impl Field {
    /// The fields OSS's ListParts reports for an encrypted multipart upload, in its order.
    /// ListParts carries no matdesc.
    pub const LIST_PARTS: [Self; 6] = [
        Self::Key,
        Self::Start,
        Self::CekAlg,
        Self::WrapAlg,
        Self::DataSize,
        Self::PartSize,
    ];

    /// The ListParts XML element that carries this field (`ClientEncryptionKey`, ...), for the
    /// fields in [`Field::LIST_PARTS`].
    #[must_use]
    pub const fn list_parts_element(self) -> Option<&'static str> {
        match self {
            Self::Key => Some("ClientEncryptionKey"),
            Self::Start => Some("ClientEncryptionStart"),
            Self::CekAlg => Some("ClientEncryptionCekAlg"),
            Self::WrapAlg => Some("ClientEncryptionWrapAlg"),
            Self::DataSize => Some("ClientEncryptionDataSize"),
            Self::PartSize => Some("ClientEncryptionPartSize"),
            _ => None,
        }
    }
}

/// Names the header by its suffix (`client-side-encryption-key`), which is what every reader
/// shares: the prefix before it is the reader's configuration (`x-oss-meta-` by default, see
/// [`DecodeOptions::prefix`](crate::DecodeOptions::prefix)), not something the error knows.
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// Why a header value that parses was still refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueProblem {
    /// `part-size` is zero or not a multiple of 16: no writer can have produced it, and a reader
    /// that seeks by it would compute counters at the wrong block.
    PartSizeNotBlockMultiple,
    /// `data-size` and `unencrypted-content-length` are both present and disagree, so the
    /// object's length cannot be checked against either.
    DataSizeDisagrees,
    /// `cse-auth-version` names a version this engine does not read.
    UnsupportedAuthVersion,
    /// `cse-auth-chunk-size` is not a power of two from 64 KiB to 64 MiB.
    AuthChunkSize,
    /// `cse-auth-binding` is neither `none` nor `bucket-key`.
    UnknownBinding,
    /// Beside `cse-auth-version`, a `cse-auth-*` header this version does not define: a field
    /// this reader would otherwise ignore unchecked.
    UnknownAuthHeader,
}

impl ValueProblem {
    const fn describe(self) -> &'static str {
        match self {
            Self::PartSizeNotBlockMultiple => "must be a positive multiple of 16",
            Self::DataSizeDisagrees => {
                "differs from client-side-encryption-unencrypted-content-length"
            }
            Self::UnsupportedAuthVersion => {
                "is not 1, the only version of authenticated objects this engine reads"
            }
            Self::AuthChunkSize => "must be a power of two from 65536 to 67108864",
            Self::UnknownBinding => "must be none or bucket-key",
            Self::UnknownAuthHeader => {
                "comes with a cse-auth-* header that version 1 does not define; the object was \
                 written by a newer version"
            }
        }
    }
}

/// Why a byte range, a Content-Range or a response status was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeProblem {
    /// The text is not `bytes=A-B`, `bytes=A-` or `bytes=-N` with decimal numbers.
    Syntax,
    /// `bytes=A-B` with `B < A`.
    Reversed,
    /// More than one range (`bytes=0-1,5-6`); OSS serves one range per request.
    MultipleRanges,
    /// A number does not fit in 64 bits.
    Overflow,
    /// The response's Content-Range is not `bytes A-B/N` with `A <= B < N`.
    ContentRangeSyntax,
    /// The response covers less than the bytes that were asked for.
    ResponseDoesNotCover,
    /// The response status is not 200, 206 or 416.
    UnexpectedStatus,
    /// The response's total length differs from the length the plan was made for.
    LengthChanged,
}

impl RangeProblem {
    const fn describe(self) -> &'static str {
        match self {
            Self::Syntax => "is not of the form bytes=A-B, bytes=A- or bytes=-N",
            Self::Reversed => "ends before it starts (bytes=A-B needs A <= B)",
            Self::MultipleRanges => "names several ranges; ask for one range per request",
            Self::Overflow => "has a number that does not fit in 64 bits",
            Self::ContentRangeSyntax => {
                "in the response is not of the form `bytes A-B/N` with A <= B < N"
            }
            Self::ResponseDoesNotCover => {
                "in the response does not cover the requested bytes; the server or a proxy \
                 answered a different range"
            }
            Self::UnexpectedStatus => "came with a status other than 200, 206 or 416",
            Self::LengthChanged => {
                "reports an object length different from the one the request was planned for; \
                 the object changed, plan the read again"
            }
        }
    }
}

/// Why a key file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Not PEM with a known label, and not DER of a known structure.
    Unrecognized,
    /// PEM or DER that parses but holds no valid RSA key.
    Malformed,
    /// A public key where a private key is needed.
    NotPrivate,
    /// The modulus is smaller than the backend accepts: 1024 bits for the pure-Rust backend,
    /// 2048 for aws-lc-rs.
    TooSmall,
}

/// Everything that can go wrong in the engine.
///
/// Display messages name the header, field or argument and say what to do next. No variant ever
/// carries secret bytes. Every failure to unwrap key material, whatever its cause, is the single
/// opaque [`Error::Unwrap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A required envelope header is absent.
    MissingHeader(Field),
    /// A required envelope header is present but empty.
    EmptyHeader(Field),
    /// The same envelope header appears twice (compared case-insensitively).
    DuplicateHeader(Field),
    /// A header value is not strict standard base64 (`+/` alphabet, `=` padded, no whitespace).
    InvalidBase64(Field),
    /// A header value is not a decimal unsigned 64-bit integer.
    InvalidNumber(Field),
    /// A header value is longer than this engine accepts.
    ValueTooLong {
        /// The header.
        field: Field,
        /// The largest accepted length, in bytes (decoded bytes for base64 values).
        max: usize,
    },
    /// The matdesc header is not a JSON object whose values are all strings, or repeats a key.
    InvalidMatDesc,
    /// The cek-alg header names a content cipher other than `AES/CTR/NoPadding`.
    UnsupportedCekAlg,
    /// The wrap-alg header is not printable ASCII without spaces.
    InvalidWrapAlg,
    /// The wrap-alg header does not match the master key chosen to open the object.
    WrapAlgMismatch,
    /// The object carries no envelope, and the reader is strict.
    NotEncrypted,
    /// The content key or counter block could not be unwrapped. Deliberately opaque: a wrong
    /// key, a corrupt header and a wrong unwrapped length are indistinguishable.
    Unwrap,
    /// The master key cannot unwrap because it holds only a public key.
    MissingPrivateKey,
    /// A key file or key bytes were refused.
    InvalidKey(KeyProblem),
    /// The master cipher failed to wrap (for example, the RNG failed).
    Wrap,
    /// The caller's output buffer is too small. Nothing was consumed and the state is unchanged.
    BufferTooSmall {
        /// The output length this call needs.
        required: usize,
    },
    /// More ciphertext arrived than the object's declared length.
    Extended {
        /// The declared plaintext length.
        expected: u64,
    },
    /// The stream ended before the object's declared length.
    Truncated {
        /// The declared plaintext length.
        expected: u64,
        /// The number of bytes that arrived.
        actual: u64,
    },
    /// The stream position would pass 2^64 - 1 bytes.
    StreamTooLong,
    /// A byte range, a Content-Range or a response status was refused.
    InvalidRange(RangeProblem),
    /// The range starts at or beyond the end of the object (HTTP 416).
    RangeNotSatisfiable {
        /// The object length, when known.
        object_len: Option<u64>,
    },
    /// The part size is zero or not a multiple of 16.
    InvalidPartSize,
    /// The data size is zero, or needs more than 10 000 parts of the part size.
    InvalidDataSize,
    /// A part number is zero or beyond the last part of the data size.
    PartNumberOutOfRange {
        /// The part number given.
        part: u32,
        /// The number of parts the data size makes.
        parts: u32,
    },
    /// A sealer for this part number was already handed out: sealing it again would reuse keystream.
    PartAlreadySealed {
        /// The part number.
        part: u32,
    },
    /// A part's plaintext is not exactly the length its number requires.
    PartLength {
        /// The part number.
        part: u32,
        /// The length the part must have.
        expected: u64,
        /// The length that was given (so far, for an overlong part).
        actual: u64,
    },
    /// The header-name prefix is longer than 64 bytes or not lower-case-insensitive ASCII.
    InvalidPrefix,
    /// A header value parses, but breaks a rule of the format.
    InvalidValue {
        /// The header.
        field: Field,
        /// The rule it breaks.
        problem: ValueProblem,
    },
    /// The stored object is not as long as its envelope declares (a Content-Range total, a
    /// HEAD Content-Length or a local file length compared with `unencrypted-content-length` or
    /// `data-size`): it was cut short or extended.
    StoredLength {
        /// The plaintext length the envelope declares.
        declared: u64,
        /// The length the object has.
        stored: u64,
    },
    /// The whole plaintext does not have the MD5 the envelope records
    /// (`unencrypted-content-md5`): wrong master key (implicit rejection lets about one wrong key
    /// header in 250 "unwrap" to a 32-byte value), or a modified ciphertext.
    ContentMd5Mismatch,
    /// A part was sealed again from a plaintext that differs from the first time (its ciphertext
    /// digest differs from the one recorded): the sealed bytes were discarded, since sending them
    /// would expose two plaintexts under one keystream.
    PartChanged {
        /// The part number.
        part: u32,
    },
    /// A part checked against its fingerprint was fed a piece that does not end on a
    /// fingerprint chunk boundary ([`FINGERPRINT_CHUNK_LEN`](crate::FINGERPRINT_CHUNK_LEN) from
    /// the part's start) or at the part's end: a chunk is checked whole, before any of it is
    /// released. Nothing was consumed.
    ChunkBoundary {
        /// The part number.
        part: u32,
        /// The offset in the part at which the piece would have ended.
        end: u64,
    },
    /// The [`PartFingerprint`](crate::PartFingerprint) given to reseal part `part` was made for
    /// another part number or length.
    WrongFingerprint {
        /// The part number.
        part: u32,
    },
    /// A part was marked uploaded that this multipart context never sealed.
    PartNotSealed {
        /// The part number.
        part: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MissingHeader(h) => write!(
                f,
                "header {h} is missing: the object's encryption metadata is incomplete; \
                 check that all client-side-encryption-* metadata headers were copied"
            ),
            Self::EmptyHeader(h) => write!(f, "header {h} is empty; it must carry a value"),
            Self::DuplicateHeader(h) => {
                write!(f, "header {h} appears more than once; keep exactly one")
            }
            Self::InvalidBase64(h) => write!(
                f,
                "header {h} is not standard base64 (A-Z a-z 0-9 + /, padded with =, no spaces)"
            ),
            Self::InvalidNumber(h) => {
                write!(f, "header {h} is not a decimal number between 0 and 2^64-1")
            }
            Self::ValueTooLong { field, max } => {
                write!(
                    f,
                    "header {field} is longer than the {max} bytes this engine accepts"
                )
            }
            Self::InvalidMatDesc => write!(
                f,
                "header {} is not a JSON object of string values with distinct keys",
                Field::MatDesc
            ),
            Self::UnsupportedCekAlg => write!(
                f,
                "header {} names a content cipher other than AES/CTR/NoPadding, the only one \
                 OSS client-side encryption defines",
                Field::CekAlg
            ),
            Self::InvalidWrapAlg => write!(
                f,
                "header {} is not an algorithm name (printable ASCII, no spaces)",
                Field::WrapAlg
            ),
            Self::WrapAlgMismatch => write!(
                f,
                "header {} does not match the master key chosen to open the object; \
                 supply the master key the object was written with",
                Field::WrapAlg
            ),
            Self::NotEncrypted => f.write_str(
                "the object carries no client-side-encryption envelope; it was stored in the \
                 clear, or its metadata was stripped (pass-through mode reads it as is)",
            ),
            Self::Unwrap => f.write_str(
                "the content key could not be unwrapped: wrong master key, or damaged \
                 key/start headers",
            ),
            Self::MissingPrivateKey => f.write_str(
                "the master key has no private part, so it can wrap but not unwrap; \
                 load the private key to decrypt",
            ),
            Self::InvalidKey(KeyProblem::Unrecognized) => {
                f.write_str("the key is not an RSA key in PKCS#1, PKCS#8 or SPKI form (PEM or DER)")
            }
            Self::InvalidKey(KeyProblem::Malformed) => {
                f.write_str("the key file parses but does not hold a valid RSA key")
            }
            Self::InvalidKey(KeyProblem::NotPrivate) => {
                f.write_str("a private key is needed here, but the key is public")
            }
            Self::InvalidKey(KeyProblem::TooSmall) => f.write_str(
                "the RSA key is smaller than this backend accepts (1024 bits for the pure-Rust \
                 backend, 2048 for aws-lc-rs); use a key of 2048 bits or more",
            ),
            Self::Wrap => f.write_str(
                "the master key failed to wrap the content key or the counter block (for \
                 example, the random source failed)",
            ),
            Self::BufferTooSmall { required } => {
                write!(
                    f,
                    "the output buffer is too small: this call needs {required} bytes"
                )
            }
            Self::Extended { expected } => write!(
                f,
                "the ciphertext is longer than the {expected} bytes the object declares; \
                 the object was extended or replaced"
            ),
            Self::Truncated { expected, actual } => write!(
                f,
                "the ciphertext ended after {actual} of the {expected} bytes the object \
                 declares; the download was cut short or the object truncated"
            ),
            Self::StreamTooLong => f.write_str("the stream would pass 2^64-1 bytes"),
            Self::InvalidRange(p) => write!(f, "the byte range {}", p.describe()),
            Self::RangeNotSatisfiable {
                object_len: Some(n),
            } => write!(
                f,
                "the range is not satisfiable: it starts at or beyond the end of the \
                 {n}-byte object (HTTP 416)"
            ),
            Self::RangeNotSatisfiable { object_len: None } => f.write_str(
                "the range is not satisfiable: it starts at or beyond the end of the object \
                 (HTTP 416)",
            ),
            Self::InvalidPartSize => {
                f.write_str("the part size must be a positive multiple of 16 bytes")
            }
            Self::InvalidDataSize => f.write_str(
                "the data size must be positive and fit in 10000 parts of the part size",
            ),
            Self::PartNumberOutOfRange { part, parts } => write!(
                f,
                "part number {part} is outside 1..={parts}, the parts the data size makes"
            ),
            Self::PartAlreadySealed { part } => write!(
                f,
                "part {part} was already sealed by this upload; sealing it again could reuse \
                 keystream: resend the ciphertext the first seal produced, or reseal the same \
                 plaintext against the part's recorded digest (MultipartContext::reseal_part)"
            ),
            Self::PartLength {
                part,
                expected,
                actual,
            } => write!(
                f,
                "part {part} must hold exactly {expected} plaintext bytes, got {actual}"
            ),
            Self::InvalidPrefix => f.write_str(
                "the metadata prefix must be at most 64 printable ASCII bytes, like x-oss-meta-",
            ),
            Self::InvalidValue { field, problem } => {
                write!(f, "header {field} {}", problem.describe())
            }
            Self::StoredLength { declared, stored } => write!(
                f,
                "the object holds {stored} bytes but its envelope declares {declared}: it was \
                 cut short, extended or replaced; nothing from it can be trusted to be complete"
            ),
            Self::ContentMd5Mismatch => write!(
                f,
                "the decrypted object does not match its {} header: the master key is wrong \
                 (it unwrapped to a key of the right length by chance) or the ciphertext was \
                 modified; discard the output",
                Field::UnencryptedContentMd5
            ),
            Self::PartChanged { part } => write!(
                f,
                "part {part} was sealed again from different plaintext than the first time; \
                 the new ciphertext was discarded (sending it would reuse keystream): the source \
                 changed since the upload began, so start a new upload"
            ),
            Self::ChunkBoundary { part, end } => write!(
                f,
                "a resend of part {part} must be fed in whole chunks of {} bytes from the \
                 part's start (or up to its end), but a piece ends at offset {end}",
                crate::FINGERPRINT_CHUNK_LEN
            ),
            Self::PartNotSealed { part } => write!(
                f,
                "part {part} was never sealed by this upload, so what was uploaded for it is not \
                 this upload's ciphertext; seal it with the upload's context"
            ),
            Self::WrongFingerprint { part } => write!(
                f,
                "the fingerprint given to resend part {part} was made for another part or part \
                 length; pass the one the part's previous send left"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// What can go wrong while a body streams through a sealer, an opener or a plain window: the
/// narrow error of every `update` and `finish` call, so a caller that matches on it needs no arm
/// for the header, key and range problems of [`Error`]. It converts into [`Error`] (the variant
/// of the same name), so `?` works in code that returns [`Result`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The caller's output buffer is too small. Nothing was consumed and the state is unchanged.
    BufferTooSmall {
        /// The output length this call needs.
        required: usize,
    },
    /// More bytes arrived than the declared length.
    Extended {
        /// The declared length.
        expected: u64,
    },
    /// The stream ended before its declared length.
    Truncated {
        /// The declared length.
        expected: u64,
        /// The number of bytes that arrived.
        actual: u64,
    },
    /// The stream position would pass 2^64 - 1 bytes.
    TooLong,
    /// A multipart part is not exactly the length its number requires.
    PartLength {
        /// The part number.
        part: u32,
        /// The length the part must have.
        expected: u64,
        /// The length that was given (so far, for an overlong part).
        actual: u64,
    },
    /// The whole plaintext does not have the MD5 the envelope records.
    ContentMd5Mismatch,
    /// A resent part's ciphertext differs from the first send's: its plaintext changed. The
    /// piece was zeroed and not released.
    PartChanged {
        /// The part number.
        part: u32,
    },
    /// A piece of a checked part does not end on a chunk boundary; nothing was consumed.
    ChunkBoundary {
        /// The part number.
        part: u32,
        /// The offset in the part at which the piece would have ended.
        end: u64,
    },
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::BufferTooSmall { required } => Self::BufferTooSmall { required },
            StreamError::Extended { expected } => Self::Extended { expected },
            StreamError::Truncated { expected, actual } => Self::Truncated { expected, actual },
            StreamError::TooLong => Self::StreamTooLong,
            StreamError::PartLength {
                part,
                expected,
                actual,
            } => Self::PartLength {
                part,
                expected,
                actual,
            },
            StreamError::ContentMd5Mismatch => Self::ContentMd5Mismatch,
            StreamError::PartChanged { part } => Self::PartChanged { part },
            StreamError::ChunkBoundary { part, end } => Self::ChunkBoundary { part, end },
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One wording for each problem, whichever type carries it.
        fmt::Display::fmt(&Error::from(*self), f)
    }
}

impl core::error::Error for StreamError {}

/// The engine's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

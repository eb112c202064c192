//! The metadata codec: an [`Envelope`] to and from `(name, value)` header pairs.
//!
//! Header names are matched ASCII-case-insensitively (OSS returns user metadata in lower case,
//! Go writes canonical case). Base64 is strict standard base64 with padding. Numbers are strict
//! decimal. Every problem names its header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::envelope::{
    Envelope, MAX_WRAPPED_LEN, MultipartSizes, WrappedValue, checked_matdesc, checked_wrap_alg,
};
use crate::error::{Error, Field, Result, ValueProblem};
use crate::fixed::{FixedBytes, FixedStr, decimal, parse_decimal};
use crate::key::BLOCK_LEN;

/// The user-metadata prefix OSS uses, and the default here.
pub const DEFAULT_PREFIX: &str = "x-oss-meta-";
/// The part of every envelope header name after the prefix.
pub const ENVELOPE_HEADER_STEM: &str = "client-side-encryption-";
/// The request header that makes OSS answer ranges by RFC 9110 (416 when unsatisfiable, a
/// clamped 206 otherwise) instead of returning the whole object.
pub const RANGE_BEHAVIOR_HEADER: &str = "x-oss-range-behavior";
/// The value of [`RANGE_BEHAVIOR_HEADER`] this engine always sends with a range.
pub const RANGE_BEHAVIOR_STANDARD: &str = "standard";

const MAX_PREFIX_LEN: usize = 64;
const MAX_NAME_LEN: usize = MAX_PREFIX_LEN + 64;
const BASE64_MAX: usize = MAX_WRAPPED_LEN.div_ceil(3) * 4;

/// What to do with an object that carries no envelope at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingEnvelope {
    /// Read it as plaintext, as every official SDK does. Beware: stripping the headers then
    /// silently turns ciphertext into "plaintext".
    #[default]
    PassThrough,
    /// Refuse it with [`Error::NotEncrypted`].
    Reject,
}

/// How to read envelope headers.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions<'a> {
    /// The user-metadata prefix, [`DEFAULT_PREFIX`] by default.
    pub prefix: &'a str,
    /// What an object without any envelope header means.
    pub missing: MissingEnvelope,
}

impl Default for DecodeOptions<'_> {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX,
            missing: MissingEnvelope::PassThrough,
        }
    }
}

impl DecodeOptions<'_> {
    /// Strict reading: an object without an envelope is an error.
    #[must_use]
    pub fn strict() -> Self {
        Self {
            missing: MissingEnvelope::Reject,
            ..Self::default()
        }
    }
}

const FIELDS: [Field; 9] = [
    Field::Key,
    Field::Start,
    Field::CekAlg,
    Field::WrapAlg,
    Field::MatDesc,
    Field::UnencryptedContentLength,
    Field::UnencryptedContentMd5,
    Field::DataSize,
    Field::PartSize,
];

fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.len() <= MAX_PREFIX_LEN && prefix.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::InvalidPrefix)
    }
}

/// The header name `prefix` + the field's suffix, for the encoders (`prefix` checked).
fn header_name(prefix: &str, field: Field) -> FixedStr<MAX_NAME_LEN> {
    let mut name = FixedStr::<MAX_NAME_LEN>::new();
    // Both parts fit: the prefix is at most 64 bytes and every suffix is shorter than 64.
    let _ = name
        .push_str(prefix)
        .and_then(|()| name.push_str(field.suffix()));
    name
}

/// Whether `name` is `prefix` + `suffix`, ignoring ASCII case.
pub(crate) fn name_is(name: &[u8], prefix: &str, suffix: &str) -> bool {
    name.len() == prefix.len() + suffix.len()
        && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        && name[prefix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Collects each field's single value from a header list, refusing duplicates, and says whether
/// any header name starts with `prefix` + `stem` (a field this engine may not even know).
pub(crate) fn collect<'h, const N: usize, I, K, V>(
    headers: I,
    prefix: &str,
    stem: &str,
    fields: &[Field; N],
) -> Result<([Option<&'h [u8]>; N], bool)>
where
    I: IntoIterator<Item = (&'h K, &'h V)>,
    K: AsRef<[u8]> + ?Sized + 'h,
    V: AsRef<[u8]> + ?Sized + 'h,
{
    let mut found = [None; N];
    let mut any = false;
    for (name, value) in headers {
        let name = name.as_ref();
        any |= has_stem(name, prefix, stem);
        for (slot, field) in found.iter_mut().zip(fields) {
            if name_is(name, prefix, field.suffix()) {
                if slot.is_some() {
                    return Err(Error::DuplicateHeader(*field));
                }
                *slot = Some(value.as_ref());
            }
        }
    }
    Ok((found, any))
}

pub(crate) fn has_stem(name: &[u8], prefix: &str, stem: &str) -> bool {
    let stem_end = prefix.len() + stem.len();
    name.len() > stem_end
        && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        && name[prefix.len()..stem_end].eq_ignore_ascii_case(stem.as_bytes())
}

pub(crate) fn required(value: Option<&[u8]>, field: Field) -> Result<&[u8]> {
    match value {
        None => Err(Error::MissingHeader(field)),
        Some([]) => Err(Error::EmptyHeader(field)),
        Some(v) => Ok(v),
    }
}

pub(crate) fn decode_base64<const N: usize>(value: &[u8], field: Field) -> Result<FixedBytes<N>> {
    let mut out = FixedBytes::<N>::new();
    if value.len() > N.div_ceil(3) * 4 {
        return Err(Error::ValueTooLong { field, max: N });
    }
    let n = STANDARD
        .decode_slice(value, out.storage_mut())
        .map_err(|e| match e {
            base64::DecodeSliceError::OutputSliceTooSmall => Error::ValueTooLong { field, max: N },
            base64::DecodeSliceError::DecodeError(_) => Error::InvalidBase64(field),
        })?;
    out.set_len(n);
    Ok(out)
}

/// Strict standard base64 of exactly 16 bytes, the form of both Content-MD5 (RFC 1864) and
/// `unencrypted-content-md5`.
fn decode_md5(value: &[u8]) -> Result<[u8; 16]> {
    let md5 = decode_base64::<16>(value, Field::UnencryptedContentMd5)?;
    md5.as_slice()
        .try_into()
        .map_err(|_| Error::InvalidBase64(Field::UnencryptedContentMd5))
}

fn number(value: Option<&[u8]>, field: Field) -> Result<Option<u64>> {
    value
        .map(|v| parse_decimal(v).ok_or(Error::InvalidNumber(field)))
        .transpose()
}

/// Reads a multipart upload's envelope from a ListParts answer, whose `ClientEncryption*`
/// elements ([`Field::list_parts_element`]) carry the envelope headers by other names.
/// `elements` yields `(element name, text)` pairs, in any order, of as many elements as the
/// caller likes: the others are ignored. `Ok(None)` when the answer has none of them (the
/// upload is not encrypted); the rules of [`decode_envelope`] otherwise, with errors naming the
/// header the element stands for.
///
/// # Errors
/// As [`decode_envelope`].
pub fn decode_list_parts_envelope<'a, I>(elements: I) -> Result<Option<Envelope>>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let headers = elements.into_iter().filter_map(|(name, text)| {
        Field::LIST_PARTS
            .iter()
            .find(|f| f.list_parts_element() == Some(name))
            .map(|f| (f.suffix(), text))
    });
    // The suffixes are the header names under an empty prefix.
    decode_envelope(
        headers,
        &DecodeOptions {
            prefix: "",
            ..DecodeOptions::default()
        },
    )
}

/// Reads an envelope from response or request headers.
///
/// Returns `Ok(None)` for an object that carries no `client-side-encryption-*` header at all
/// (known to this engine or not),
/// when `options.missing` is [`MissingEnvelope::PassThrough`]. An object that carries some of
/// them but not `key`, `start`, `cek-alg` and `wrap-alg` is an error in every mode: a partly
/// stripped envelope is never read as plaintext.
///
/// # Errors
/// [`Error::MissingHeader`], [`Error::EmptyHeader`], [`Error::DuplicateHeader`],
/// [`Error::InvalidBase64`], [`Error::InvalidNumber`], [`Error::ValueTooLong`],
/// [`Error::InvalidMatDesc`], [`Error::UnsupportedCekAlg`], [`Error::InvalidWrapAlg`],
/// [`Error::InvalidValue`] (a `part-size` that is not a positive multiple of 16, a `data-size`
/// that disagrees with `unencrypted-content-length`), each naming the header;
/// [`Error::NotEncrypted`] in strict mode; [`Error::InvalidPrefix`].
pub fn decode_envelope<'h, I, K, V>(
    headers: I,
    options: &DecodeOptions<'_>,
) -> Result<Option<Envelope>>
where
    I: IntoIterator<Item = (&'h K, &'h V)>,
    K: AsRef<[u8]> + ?Sized + 'h,
    V: AsRef<[u8]> + ?Sized + 'h,
{
    check_prefix(options.prefix)?;
    let (
        [
            key,
            start,
            cek_alg,
            wrap_alg,
            matdesc,
            plain_len,
            plain_md5,
            data_size,
            part_size,
        ],
        any,
    ) = collect(headers, options.prefix, ENVELOPE_HEADER_STEM, &FIELDS)?;
    if !any {
        return match options.missing {
            MissingEnvelope::PassThrough => Ok(None),
            MissingEnvelope::Reject => Err(Error::NotEncrypted),
        };
    }
    let key = decode_base64::<MAX_WRAPPED_LEN>(required(key, Field::Key)?, Field::Key)?;
    let start = decode_base64::<MAX_WRAPPED_LEN>(required(start, Field::Start)?, Field::Start)?;
    if required(cek_alg, Field::CekAlg)? != crate::CEK_ALG_AES_CTR.as_bytes() {
        return Err(Error::UnsupportedCekAlg);
    }
    let wrap_alg = checked_wrap_alg(required(wrap_alg, Field::WrapAlg)?)?;
    let matdesc = checked_matdesc(matdesc.unwrap_or_default())?;
    let unencrypted_content_md5 = plain_md5.map(decode_md5).transpose()?;
    let data_size = number(data_size, Field::DataSize)?;
    let multipart = match (number(part_size, Field::PartSize)?, data_size) {
        (Some(part_size), _) if part_size == 0 || !part_size.is_multiple_of(BLOCK_LEN) => {
            return Err(Error::InvalidValue {
                field: Field::PartSize,
                problem: ValueProblem::PartSizeNotBlockMultiple,
            });
        }
        (Some(part_size), data_size) => Some(MultipartSizes {
            part_size,
            data_size,
        }),
        (None, Some(_)) => return Err(Error::MissingHeader(Field::PartSize)),
        (None, None) => None,
    };
    let unencrypted_content_length = number(plain_len, Field::UnencryptedContentLength)?;
    if let (Some(len), Some(size)) = (unencrypted_content_length, data_size)
        && len != size
    {
        return Err(Error::InvalidValue {
            field: Field::DataSize,
            problem: ValueProblem::DataSizeDisagrees,
        });
    }
    Ok(Some(Envelope {
        wrapped_key: WrappedValue::from_fixed(key),
        wrapped_counter: WrappedValue::from_fixed(start),
        wrap_alg,
        matdesc,
        unencrypted_content_length,
        unencrypted_content_md5,
        multipart,
    }))
}

impl Envelope {
    /// Records a PutObject's `Content-MD5` header value (the standard base64 of the plaintext's
    /// 16-byte MD5, RFC 1864) as `unencrypted-content-md5`. The write path removes Content-MD5
    /// from the request, since OSS receives the ciphertext (format §8); this keeps the digest in
    /// the envelope, in the same strict base64 as every other envelope value.
    ///
    /// # Errors
    /// [`Error::InvalidBase64`] naming [`Field::UnencryptedContentMd5`] when `value` is not strict
    /// standard base64 of exactly 16 bytes; [`Error::ValueTooLong`] when it is longer.
    pub fn with_content_md5_header(self, value: &[u8]) -> Result<Self> {
        Ok(self.with_unencrypted_content_md5(decode_md5(value)?))
    }

    /// Writes the envelope as header pairs through `emit(name, value)`, in lower case with
    /// `prefix`, without allocating: `key`, `start`, `cek-alg`, `wrap-alg`, then `matdesc`,
    /// `unencrypted-content-length`, `unencrypted-content-md5`, `data-size`, `part-size` when set.
    ///
    /// This is the PutObject header set; a multipart context's envelope adds `data-size` and
    /// `part-size`, which InitiateMultipartUpload and every UploadPart carry.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`].
    pub fn encode_headers(&self, prefix: &str, mut emit: impl FnMut(&str, &str)) -> Result<()> {
        check_prefix(prefix)?;
        let mut put = |field: Field, value: &str| emit(header_name(prefix, field).as_str(), value);
        let mut b64 = [0u8; BASE64_MAX];
        for (field, bytes) in [
            (Field::Key, &self.wrapped_key),
            (Field::Start, &self.wrapped_counter),
        ] {
            let n = STANDARD
                .encode_slice(bytes.as_bytes(), &mut b64)
                .unwrap_or(0);
            put(field, core::str::from_utf8(&b64[..n]).unwrap_or_default());
        }
        put(Field::CekAlg, crate::CEK_ALG_AES_CTR);
        put(Field::WrapAlg, self.wrap_alg.as_str());
        if !self.matdesc.as_str().is_empty() {
            put(Field::MatDesc, self.matdesc.as_str());
        }
        let mut digits = [0u8; 20];
        if let Some(len) = self.unencrypted_content_length {
            put(Field::UnencryptedContentLength, decimal(len, &mut digits));
        }
        if let Some(md5) = &self.unencrypted_content_md5 {
            let n = STANDARD.encode_slice(md5, &mut b64).unwrap_or(0);
            put(
                Field::UnencryptedContentMd5,
                core::str::from_utf8(&b64[..n]).unwrap_or_default(),
            );
        }
        if let Some(m) = self.multipart {
            if let Some(data_size) = m.data_size {
                put(Field::DataSize, decimal(data_size, &mut digits));
            }
            put(Field::PartSize, decimal(m.part_size, &mut digits));
        }
        Ok(())
    }

    /// The envelope as owned header pairs; see [`encode_headers`](Self::encode_headers).
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`].
    #[cfg(feature = "alloc")]
    pub fn to_headers(
        &self,
        prefix: &str,
    ) -> Result<alloc::vec::Vec<(alloc::string::String, alloc::string::String)>> {
        use alloc::string::ToString;
        let mut out = alloc::vec::Vec::with_capacity(FIELDS.len());
        self.encode_headers(prefix, |n, v| out.push((n.to_string(), v.to_string())))?;
        Ok(out)
    }
}

/// Whether a header name belongs to the envelope (`prefix` + `client-side-encryption-*`), for an
/// adapter that must strip or copy envelope headers without knowing their names.
#[must_use]
pub fn is_envelope_header(name: &[u8], prefix: &str) -> bool {
    has_stem(name, prefix, ENVELOPE_HEADER_STEM)
}

/// Whether a header name is an authenticated-object header (`prefix` + `cse-auth-*`), for an
/// adapter that must strip stale ones when it writes a new envelope.
#[must_use]
pub fn is_auth_header(name: &[u8], prefix: &str) -> bool {
    has_stem(name, prefix, AUTH_HEADER_STEM)
}

/// The stem of the authenticated-object headers (`docs/authenticated-objects.md`, section 3):
/// outside the `client-side-encryption-` family, which OSS validates and the SDKs copy.
pub const AUTH_HEADER_STEM: &str = "cse-auth-";

const AUTH_FIELDS: [Field; 4] = [
    Field::AuthVersion,
    Field::AuthChunkSize,
    Field::AuthCommitment,
    Field::AuthBinding,
];

/// Reads an object's authentication parameters from its headers (names matched ignoring ASCII
/// case, after `prefix`). `Ok(None)` when it has no `cse-auth-*` header at all: the object is
/// not authenticated (the policy decides whether that is acceptable).
///
/// # Errors
/// [`Error::DuplicateHeader`]; [`Error::MissingHeader`] when any `cse-auth-*` header is present
/// but the version, chunk size or commitment is not; [`Error::InvalidNumber`]; and
/// [`Error::InvalidValue`] for an unknown version ([`ValueProblem::UnsupportedAuthVersion`]), a
/// chunk size out of range ([`ValueProblem::AuthChunkSize`]) or an unknown binding
/// ([`ValueProblem::UnknownBinding`]), or another `cse-auth-*` header beside them
/// ([`ValueProblem::UnknownAuthHeader`]); [`Error::InvalidBase64`] for a commitment that is not
/// strict base64 of 32 bytes.
pub fn decode_auth_params<'h, I, K, V>(
    headers: I,
    prefix: &str,
) -> Result<Option<crate::auth::AuthParams>>
where
    I: IntoIterator<Item = (&'h K, &'h V)>,
    K: AsRef<[u8]> + ?Sized + 'h,
    V: AsRef<[u8]> + ?Sized + 'h,
{
    use crate::auth::{AUTH_VERSION, AuthParams, Binding, Commitment, check_chunk_size};
    check_prefix(prefix)?;
    let mut known = 0usize;
    let mut stems = 0usize;
    let headers = headers.into_iter().inspect(|(name, _)| {
        let name = name.as_ref();
        if has_stem(name, prefix, AUTH_HEADER_STEM) {
            stems += 1;
            known += usize::from(
                AUTH_FIELDS
                    .iter()
                    .any(|field| name_is(name, prefix, field.suffix())),
            );
        }
    });
    let ([version, chunk_size, commitment, binding], any) =
        collect(headers, prefix, AUTH_HEADER_STEM, &AUTH_FIELDS)?;
    if !any {
        return Ok(None);
    }
    let version = number(
        Some(required(version, Field::AuthVersion)?),
        Field::AuthVersion,
    )?;
    if version != Some(u64::from(AUTH_VERSION)) {
        return Err(Error::InvalidValue {
            field: Field::AuthVersion,
            problem: ValueProblem::UnsupportedAuthVersion,
        });
    }
    if known != stems {
        return Err(Error::InvalidValue {
            field: Field::AuthVersion,
            problem: ValueProblem::UnknownAuthHeader,
        });
    }
    let size = number(
        Some(required(chunk_size, Field::AuthChunkSize)?),
        Field::AuthChunkSize,
    )?
    .unwrap_or(0);
    let chunk_size = check_chunk_size(size).map_err(|_| Error::InvalidValue {
        field: Field::AuthChunkSize,
        problem: ValueProblem::AuthChunkSize,
    })?;
    let raw = decode_base64::<32>(
        required(commitment, Field::AuthCommitment)?,
        Field::AuthCommitment,
    )?;
    let commitment: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| Error::InvalidBase64(Field::AuthCommitment))?;
    let binding = match binding {
        None | Some(b"none") => Binding::None,
        Some(b"bucket-key") => Binding::BucketKey,
        Some(_) => {
            return Err(Error::InvalidValue {
                field: Field::AuthBinding,
                problem: ValueProblem::UnknownBinding,
            });
        }
    };
    Ok(Some(AuthParams {
        chunk_size,
        commitment: Commitment(commitment),
        binding,
    }))
}

impl crate::auth::AuthParams {
    /// Encodes the parameters as `(name, value)` headers (names in lower case, after
    /// `prefix`): the version marker, the chunk size, the commitment, and the binding when it
    /// is not `none`. Sent with the envelope, on PutObject and InitiateMultipartUpload.
    ///
    /// # Errors
    /// [`Error::InvalidPrefix`].
    pub fn encode_headers(&self, prefix: &str, mut emit: impl FnMut(&str, &str)) -> Result<()> {
        check_prefix(prefix)?;
        let mut put = |field: Field, value: &str| emit(header_name(prefix, field).as_str(), value);
        let mut digits = [0u8; 20];
        put(
            Field::AuthVersion,
            decimal(u64::from(crate::auth::AUTH_VERSION), &mut digits),
        );
        put(
            Field::AuthChunkSize,
            decimal(u64::from(self.chunk_size), &mut digits),
        );
        let mut b64 = [0u8; 44];
        let n = STANDARD
            .encode_slice(self.commitment.0, &mut b64)
            .unwrap_or(0);
        put(
            Field::AuthCommitment,
            core::str::from_utf8(&b64[..n]).unwrap_or_default(),
        );
        if self.binding == crate::auth::Binding::BucketKey {
            put(Field::AuthBinding, "bucket-key");
        }
        Ok(())
    }
}

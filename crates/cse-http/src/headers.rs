//! The envelope to and from a [`HeaderMap`], and the PutObject header rewrite.

use cse_core::auth::AuthParams;
use cse_core::{DecodeOptions, Envelope, SealedEnvelope, is_auth_header, is_envelope_header};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// The Content-MD5 request header (RFC 1864), which `http` does not name.
const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// The `(name, value)` pairs an engine encoder emits, as HTTP header names and values; the
/// first one HTTP cannot carry is [`Error::UnencodableHeader`].
fn http_pairs(
    encode: impl FnOnce(&mut dyn FnMut(&str, &str)) -> cse_core::Result<()>,
) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut pairs = Vec::new();
    let mut unencodable = None;
    encode(&mut |name, value| match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(name), Ok(value)) => pairs.push((name, value)),
        _ => {
            unencodable.get_or_insert_with(|| name.to_owned());
        }
    })?;
    match unencodable {
        Some(name) => Err(Error::UnencodableHeader { name }),
        None => Ok(pairs),
    }
}

/// Writes `envelope` into `headers` under `prefix` (usually [`cse_core::DEFAULT_PREFIX`]).
///
/// Every envelope header already in `headers` is removed first, so a stale field (an old
/// `unencrypted-content-md5`, say) never survives next to the new envelope; so is every
/// authenticated-object header (`cse-auth-*`), whose commitment named the old content key (a
/// new one goes in with [`encode_auth_params`]). Other headers are left alone. On error
/// `headers` is unchanged.
///
/// # Errors
/// [`Error::Core`] with [`cse_core::Error::InvalidPrefix`] for a prefix the engine refuses;
/// [`Error::UnencodableHeader`] when a name or value is not a valid HTTP header (a prefix with
/// characters HTTP names forbid).
pub fn encode_envelope(envelope: &Envelope, prefix: &str, headers: &mut HeaderMap) -> Result<()> {
    let pairs = http_pairs(|emit| envelope.encode_headers(prefix, emit))?;
    let stale: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str().as_bytes();
            is_envelope_header(name, prefix) || is_auth_header(name, prefix)
        })
        .cloned()
        .collect();
    for name in &stale {
        headers.remove(name);
    }
    for (name, value) in pairs {
        headers.insert(name, value);
    }
    Ok(())
}

/// Writes an authenticated object's parameters (`cse-auth-*`, the marker that announces its
/// side-car) into `headers` under `prefix`, after [`encode_envelope`].
///
/// # Errors
/// As [`encode_envelope`].
pub fn encode_auth_params(
    params: &AuthParams,
    prefix: &str,
    headers: &mut HeaderMap,
) -> Result<()> {
    let pairs = http_pairs(|emit| params.encode_headers(prefix, emit))?;
    for (name, value) in pairs {
        headers.insert(name, value);
    }
    Ok(())
}

/// Reads an object's authentication parameters, as [`cse_core::decode_auth_params`] does:
/// `Ok(None)` when it announces none.
///
/// # Errors
/// [`Error::Core`] with the engine's error, which names the header.
pub fn decode_auth_params(headers: &HeaderMap, prefix: &str) -> Result<Option<AuthParams>> {
    let pairs = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    Ok(cse_core::decode_auth_params(pairs, prefix)?)
}

/// Reads an envelope from response (or request) headers, as [`cse_core::decode_envelope`]
/// does: names match ASCII-case-insensitively, each field must appear once, and an object
/// without any envelope header is `Ok(None)` or [`cse_core::Error::NotEncrypted`] depending on
/// `options.missing`.
///
/// # Errors
/// [`Error::Core`] with the engine's error, which names the header:
/// [`cse_core::Error::MissingHeader`], [`cse_core::Error::InvalidBase64`],
/// [`cse_core::Error::DuplicateHeader`] and the others listed on [`cse_core::decode_envelope`].
pub fn decode_envelope(
    headers: &HeaderMap,
    options: &DecodeOptions<'_>,
) -> Result<Option<Envelope>> {
    let pairs = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    Ok(cse_core::decode_envelope(pairs, options)?)
}

/// Turns a plain PutObject request's headers into the encrypted request's, and returns the
/// completed sealed envelope: seal the body with its [`SealedEnvelope::sealer`], which then
/// enforces the Content-Length.
///
/// By the format's write rules (spec §8): the caller's Content-MD5 describes the plaintext, which
/// OSS never receives, so it moves into the envelope's `unencrypted-content-md5` and leaves the
/// request; Content-Length stays, since AES-CTR ciphertext is exactly as long as the plaintext,
/// and is copied to `unencrypted-content-length`. The envelope is then written with
/// [`encode_envelope`]. On error `headers` is unchanged.
///
/// # Errors
/// [`Error::RepeatedHeader`] for several Content-MD5 or Content-Length headers;
/// [`Error::InvalidContentMd5`]; [`Error::InvalidContentLength`], [`Error::NonUtf8Header`];
/// [`Error::LengthMismatch`] when the envelope already declares another length; and the errors
/// of [`encode_envelope`].
pub fn prepare_put_headers(
    headers: &mut HeaderMap,
    sealed: SealedEnvelope,
    prefix: &str,
) -> Result<SealedEnvelope> {
    sealed.map_envelope(|envelope| complete_put_envelope(headers, envelope, prefix))
}

fn complete_put_envelope(
    headers: &mut HeaderMap,
    envelope: Envelope,
    prefix: &str,
) -> Result<Envelope> {
    let mut envelope = envelope;
    if let Some(md5) = single(headers, &CONTENT_MD5)? {
        envelope = envelope
            .with_content_md5_header(md5.as_bytes())
            .map_err(|_| Error::InvalidContentMd5)?;
    }
    if let Some(len) = content_length(headers)? {
        match envelope.unencrypted_content_length() {
            Some(declared) if declared != len => {
                return Err(Error::LengthMismatch {
                    content_length: len,
                    declared,
                });
            }
            _ => envelope = envelope.with_unencrypted_content_length(len),
        }
    }
    encode_envelope(&envelope, prefix, headers)?;
    headers.remove(CONTENT_MD5);
    Ok(envelope)
}

/// The one value of `name`, refusing several.
pub(crate) fn single<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h HeaderValue>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::RepeatedHeader { name: name.clone() });
    }
    Ok(first)
}

/// The one value of `name` as text.
pub(crate) fn single_text<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>> {
    single(headers, name)?
        .map(|value| {
            std::str::from_utf8(value.as_bytes())
                .map_err(|_| Error::NonUtf8Header { name: name.clone() })
        })
        .transpose()
}

/// Content-Length as strict decimal: RFC 9110 allows only digits, and `u64::from_str` would
/// also take a leading `+`.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>> {
    single_text(headers, &CONTENT_LENGTH)?
        .map(|text| {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidContentLength);
            }
            text.parse().map_err(|_| Error::InvalidContentLength)
        })
        .transpose()
}

//! Ranged GETs: the caller's Range to the wire Range, and the server's answer back to the
//! plaintext's Content-Range and Content-Length. Every rule comes from [`cse_core::plan_range`].

use cse_core::{BodyPlan, ByteRange, RANGE_BEHAVIOR_HEADER, RangePlan, RangeResponse, plan_range};
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, response};

use crate::error::{Error, Result};
use crate::headers::{content_length, single_text};

/// [`RANGE_BEHAVIOR_HEADER`] as a header name; built in a const so a name HTTP refused would fail
/// the build rather than a request.
const RANGE_BEHAVIOR: HeaderName = HeaderName::from_static(RANGE_BEHAVIOR_HEADER);

/// Reads the caller's Range header, `Ok(None)` when there is none.
///
/// # Errors
/// [`Error::RepeatedHeader`] for several Range headers, [`Error::NonUtf8Header`], and
/// [`Error::Core`] with [`cse_core::Error::InvalidRange`] naming the problem (syntax, several
/// ranges, `bytes=-0`, ...).
pub fn decode_range(headers: &HeaderMap) -> Result<Option<ByteRange>> {
    Ok(single_text(headers, &RANGE)?
        .map(ByteRange::parse)
        .transpose()?)
}

/// Writes the plan's wire Range ([`RangePlan::wire_range`]) and its `x-oss-range-behavior`
/// ([`RangePlan::range_behavior`]) into `headers`, replacing any Range already there.
///
/// # Errors
/// [`Error::UnencodableHeader`] if the engine ever produced a value HTTP forbids; it does not.
pub fn encode_range(plan: &RangePlan, headers: &mut HeaderMap) -> Result<()> {
    let range = value(RANGE.as_str(), &plan.wire_range().to_string())?;
    let behavior = value(RANGE_BEHAVIOR_HEADER, plan.range_behavior())?;
    headers.insert(RANGE, range);
    headers.insert(RANGE_BEHAVIOR, behavior);
    Ok(())
}

/// Prepares a GetObject request: when `headers` holds a Range, plans the read and replaces the
/// Range with the one to send (its start rounded down to a cipher block) plus
/// `x-oss-range-behavior: standard`. Returns the plan to read the response with, or `None` for
/// a whole-object read, which needs no change. `object_len` is the object's length when known
/// (from a HEAD); with it, an unsatisfiable range fails here, before any request. On error
/// `headers` is unchanged.
///
/// # Errors
/// The errors of [`decode_range`], and [`Error::Core`] with
/// [`cse_core::Error::RangeNotSatisfiable`] when `object_len` is known and the range selects
/// nothing.
pub fn prepare_get_headers(
    headers: &mut HeaderMap,
    object_len: Option<u64>,
) -> Result<Option<RangePlan>> {
    let Some(requested) = decode_range(headers)? else {
        return Ok(None);
    };
    let plan = plan_range(requested, object_len)?;
    encode_range(&plan, headers)?;
    Ok(Some(plan))
}

/// Classifies a ranged GET's response from its status, Content-Range and Content-Length.
///
/// # Errors
/// [`Error::RepeatedHeader`], [`Error::NonUtf8Header`], [`Error::InvalidContentLength`], and
/// [`Error::Core`] with [`cse_core::Error::InvalidRange`] for a 206 without a valid
/// Content-Range, a 200 without a Content-Length, or another status.
pub fn decode_range_response(status: StatusCode, headers: &HeaderMap) -> Result<RangeResponse> {
    let content_range = single_text(headers, &CONTENT_RANGE)?;
    let content_length = content_length(headers)?;
    Ok(RangeResponse::from_parts(
        status.as_u16(),
        content_range,
        content_length,
    )?)
}

/// Reads a ranged GET's response head into the [`BodyPlan`] for
/// [`CipherBody::ranged`](crate::CipherBody::ranged), and rewrites the head to describe the
/// plaintext the caller asked for: status 206, Content-Range of the requested bytes and
/// Content-Length of their count. A 200 (the server ignored the range) becomes the same 206, since
/// the opened body holds only the requested bytes. On error `parts` is unchanged.
///
/// # Errors
/// The errors of [`decode_range_response`]; [`Error::Core`] with
/// [`cse_core::Error::RangeNotSatisfiable`] for a 416, or with [`cse_core::Error::InvalidRange`]
/// when the body does not cover the requested bytes or the object length changed.
pub fn rewrite_range_response(plan: &RangePlan, parts: &mut response::Parts) -> Result<BodyPlan> {
    let response = decode_range_response(parts.status, &parts.headers)?;
    let body = plan.on_response(response)?;
    let content_range = value(CONTENT_RANGE.as_str(), &body.content_range().to_string())?;
    parts.status = StatusCode::PARTIAL_CONTENT;
    parts.headers.insert(CONTENT_RANGE, content_range);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.content_length()));
    Ok(body)
}

fn value(name: &str, text: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(text).map_err(|_| Error::UnencodableHeader {
        name: name.to_owned(),
    })
}

//! OSS request signatures, computed from their parts: V4 (`OSS4-HMAC-SHA256`) and V1
//! (`OSS AccessKeyId:Signature`, HMAC-SHA1).
//!
//! The client signs with the maintained `reqsign-aliyun-oss` signer; this module is the other
//! side, used by the test server to verify what any client sends, and checked against signatures
//! the official Python SDK V2 computed (`tests/data/v4_vectors.json`).
//!
//! Facts of the format (from the public OSS V4 description and the Python SDK V2 behaviour):
//! - canonical request: method, canonical URI (`/bucket/key` percent-encoded except `/`),
//!   canonical query (pairs sorted, `k=v`, or `k` alone when the value is empty), canonical
//!   headers (every `x-oss-*`, `content-type`, `content-md5`, plus the additional headers,
//!   lower-case, sorted, `name:value\n`), an empty line, the additional header names joined by
//!   `;`, and the `x-oss-content-sha256` value (`UNSIGNED-PAYLOAD`);
//! - string to sign: `OSS4-HMAC-SHA256`, the `x-oss-date` timestamp, the scope
//!   `date/region/oss/aliyun_v4_request`, and the hex SHA-256 of the canonical request;
//! - signing key: HMAC-SHA256 chained over date, region, product and `aliyun_v4_request`, keyed
//!   first by `aliyun_v4` + secret.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The V4 algorithm name, first word of the Authorization header.
pub const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
/// The last element of a V4 scope.
pub const V4_REQUEST: &str = "aliyun_v4_request";
/// The product element of a V4 scope for OSS.
pub const V4_PRODUCT: &str = "oss";
/// The payload hash V4 clients send in `x-oss-content-sha256`.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Everything but `A-Z a-z 0-9 - . _ ~` is percent-encoded (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The sub-resources a V1 canonical resource includes (the query keys OSS signs).
const V1_SUBRESOURCES: &[&str] = &[
    "acl",
    "bucketInfo",
    "location",
    "stat",
    "delete",
    "append",
    "tagging",
    "objectMeta",
    "uploads",
    "uploadId",
    "partNumber",
    "security-token",
    "position",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "restore",
    "callback",
    "callback-var",
    "versions",
    "versioning",
    "versionId",
    "sequential",
    "continuation-token",
    "regionList",
    "cloudboxes",
    "symlink",
    "resourceGroup",
];

/// One request as a signature sees it.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// The HTTP method, upper case.
    pub method: &'a str,
    /// The bucket, when the request names one.
    pub bucket: Option<&'a str>,
    /// The object key, decoded, when the request names one.
    pub key: Option<&'a str>,
    /// The query string exactly as on the URL (percent-encoded, without `?`).
    pub raw_query: &'a str,
    /// The request headers, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
}

impl RequestParts<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    fn query_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                // `+` is a space only in forms; OSS clients encode a space as %20.
                let decode = |s: &str| percent_decode_str(s).collect::<Vec<u8>>();
                (decode(k), decode(v))
            })
            .collect()
    }
}

fn encode(bytes: &[u8], set: &'static AsciiSet) -> String {
    percent_encoding::percent_encode(bytes, set).to_string()
}

/// The V4 canonical URI: `/bucket/key` (or `/bucket/`, or `/`), percent-encoded except `/`.
#[must_use]
pub fn v4_canonical_uri(bucket: Option<&str>, key: Option<&str>) -> String {
    let mut uri = String::from("/");
    if let Some(bucket) = bucket {
        uri.push_str(bucket);
        uri.push('/');
    }
    if let Some(key) = key {
        uri.push_str(key);
    }
    utf8_percent_encode(&uri, UNRESERVED_AND_SLASH).to_string()
}

/// The V4 canonical query: pairs decoded and re-encoded (so any client's escaping gives the same
/// text), sorted, `k=v` or `k` for an empty value, joined by `&`.
#[must_use]
pub fn v4_canonical_query(raw_query: &str) -> String {
    let parts = RequestParts {
        method: "",
        bucket: None,
        key: None,
        raw_query,
        headers: &[],
    };
    let mut pairs: Vec<(String, String)> = parts
        .query_pairs()
        .into_iter()
        .map(|(k, v)| (encode(&k, UNRESERVED), encode(&v, UNRESERVED)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn v4_signs_by_default(lower_name: &str) -> bool {
    lower_name.starts_with("x-oss-") || lower_name == "content-type" || lower_name == "content-md5"
}

/// The V4 canonical request. `additional_headers` are the lower-case names the Authorization
/// header lists in `AdditionalHeaders`.
#[must_use]
pub fn v4_canonical_request(parts: &RequestParts<'_>, additional_headers: &[String]) -> String {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in parts.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" {
            continue;
        }
        if v4_signs_by_default(&lower) || additional_headers.contains(&lower) {
            match headers.iter_mut().find(|(n, _)| *n == lower) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(value.trim());
                }
                None => headers.push((lower, value.trim().to_owned())),
            }
        }
    }
    headers.sort();
    let mut out = String::new();
    out.push_str(parts.method);
    out.push('\n');
    out.push_str(&v4_canonical_uri(parts.bucket, parts.key));
    out.push('\n');
    out.push_str(&v4_canonical_query(parts.raw_query));
    out.push('\n');
    for (name, value) in &headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&additional_headers.join(";"));
    out.push('\n');
    out.push_str(
        parts
            .header("x-oss-content-sha256")
            .unwrap_or(UNSIGNED_PAYLOAD),
    );
    out
}

/// The V4 scope: `date/region/product/aliyun_v4_request`.
#[must_use]
pub fn v4_scope(date: &str, region: &str, product: &str) -> String {
    format!("{date}/{region}/{product}/{V4_REQUEST}")
}

/// The V4 string to sign for a request made at `timestamp` (`YYYYMMDDTHHMMSSZ`).
#[must_use]
pub fn v4_string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{V4_ALGORITHM}\n{timestamp}\n{scope}\n{hash}")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The V4 signature (lower-case hex) of `string_to_sign`.
#[must_use]
pub fn v4_signature(
    secret: &str,
    date: &str,
    region: &str,
    product: &str,
    string_to_sign: &str,
) -> String {
    let mut key = hmac_sha256(format!("aliyun_v4{secret}").as_bytes(), date.as_bytes());
    for step in [region, product, V4_REQUEST] {
        key = hmac_sha256(&key, step.as_bytes());
    }
    hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// The parts of a V4 Authorization header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Authorization {
    /// The AccessKeyId of the Credential.
    pub access_key_id: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The scope region.
    pub region: String,
    /// The scope product (`oss`).
    pub product: String,
    /// The lower-case AdditionalHeaders names, in the order given.
    pub additional_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// The five `/`-separated elements of the `Credential=` item of a V4 Authorization header
/// (AccessKeyId, date, region, product, terminator), whatever their values, so a verifier can
/// say which element is wrong. `None` when there is no Credential item of five elements.
#[must_use]
pub fn v4_credential_elements(value: &str) -> Option<[&str; 5]> {
    let rest = value.strip_prefix(V4_ALGORITHM)?.strip_prefix(' ')?;
    let credential = rest
        .split(',')
        .find_map(|item| item.trim().strip_prefix("Credential="))?;
    let mut it = credential.rsplitn(5, '/');
    let (terminator, product, region, date, access_key_id) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    Some([access_key_id, date, region, product, terminator])
}

/// Parses `OSS4-HMAC-SHA256 Credential=AK/date/region/oss/aliyun_v4_request[,
/// AdditionalHeaders=a;b], Signature=hex` (commas with or without spaces, as the Python SDK and
/// reqsign write them). `None` when it is not that form.
#[must_use]
pub fn parse_v4_authorization(value: &str) -> Option<V4Authorization> {
    let rest = value.strip_prefix(V4_ALGORITHM)?.strip_prefix(' ')?;
    let (mut credential, mut additional, mut signature) = (None, None, None);
    for item in rest.split(',') {
        let (name, val) = item.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(val),
            "AdditionalHeaders" => additional = Some(val),
            "Signature" => signature = Some(val),
            _ => return None,
        }
    }
    let mut scope = credential?.rsplitn(5, '/');
    let request = scope.next()?;
    let product = scope.next()?;
    let region = scope.next()?;
    let date = scope.next()?;
    let access_key_id = scope.next()?;
    if request != V4_REQUEST || access_key_id.is_empty() {
        return None;
    }
    Some(V4Authorization {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        product: product.to_owned(),
        additional_headers: additional
            .map(|a| {
                a.split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default(),
        signature: signature?.to_owned(),
    })
}

/// Signs `parts` with V4 at `timestamp` (`YYYYMMDDTHHMMSSZ`, also the request's `x-oss-date`)
/// and returns the Authorization header value, in the Python SDK's spelling.
#[must_use]
pub fn v4_authorization(
    parts: &RequestParts<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    timestamp: &str,
    additional_headers: &[String],
) -> String {
    let date = timestamp.get(..8).unwrap_or_default();
    let scope = v4_scope(date, region, V4_PRODUCT);
    let canonical = v4_canonical_request(parts, additional_headers);
    let sts = v4_string_to_sign(timestamp, &scope, &canonical);
    let signature = v4_signature(secret, date, region, V4_PRODUCT, &sts);
    let mut out = format!("{V4_ALGORITHM} Credential={access_key_id}/{scope}");
    if !additional_headers.is_empty() {
        out.push_str(",AdditionalHeaders=");
        out.push_str(&additional_headers.join(";"));
    }
    out.push_str(",Signature=");
    out.push_str(&signature);
    out
}

/// The V1 string to sign: method, Content-MD5, Content-Type, date (`x-oss-date`, else `Date`),
/// the `x-oss-*` headers (lower-case, sorted), and the canonical resource
/// `/bucket/key?sub-resources`.
#[must_use]
pub fn v1_string_to_sign(parts: &RequestParts<'_>) -> String {
    let mut oss_headers: Vec<(String, &str)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .filter(|(n, _)| n.starts_with("x-oss-"))
        .collect();
    oss_headers.sort();
    let date = parts
        .header("x-oss-date")
        .filter(|d| !d.is_empty())
        .or_else(|| parts.header("date"))
        .unwrap_or_default();
    let mut out = format!(
        "{}\n{}\n{}\n{}\n",
        parts.method,
        parts.header("content-md5").unwrap_or_default(),
        parts.header("content-type").unwrap_or_default(),
        date
    );
    for (name, value) in &oss_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('/');
    if let Some(bucket) = parts.bucket {
        out.push_str(bucket);
        out.push('/');
    }
    if let Some(key) = parts.key {
        out.push_str(key);
    }
    let mut sub: Vec<(String, String)> = parts
        .query_pairs()
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .filter(|(k, _)| V1_SUBRESOURCES.contains(&k.as_str()))
        .collect();
    sub.sort();
    for (i, (k, v)) in sub.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// The V1 signature: base64 of HMAC-SHA1 keyed by the secret.
#[must_use]
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(string_to_sign.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Whether two signatures are equal, in time independent of where they differ.
#[must_use]
pub fn signatures_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

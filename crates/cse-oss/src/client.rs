//! The plain OSS client: endpoint and addressing, V4 signing (by `reqsign-aliyun-oss`), retries,
//! and OSS error documents. It knows nothing of encryption; [`EncryptionClient`](crate::EncryptionClient)
//! wraps it.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqsign_aliyun_oss::{Credential, RequestSigner, SigningVersion};
use reqsign_core::SignRequest as _;
use zeroize::{Zeroize as _, Zeroizing};

use crate::crc64::crc64;
use crate::error::{Error, Result, ServiceError};
use crate::xml;

/// The region used when none is given.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An AccessKey pair, with an STS token when temporary. Never printed; the secret and the token
/// are zeroized when the last copy is dropped.
///
/// The signer (`reqsign-aliyun-oss`) takes its own copies for each signature and derives the V4
/// signing key in buffers of its own, which this crate zeroizes where it owns them (the
/// credential it hands over) but cannot reach inside the signer.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: Zeroizing<String>,
    security_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<secret>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

impl Credentials {
    /// A long-term AccessKey pair.
    #[must_use]
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: Zeroizing::new(access_key_secret.into()),
            security_token: None,
        }
    }

    /// Adds an STS security token (sent as `x-oss-security-token`).
    #[must_use]
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(Zeroizing::new(token.into()));
        self
    }

    /// Reads `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` and, when set, `OSS_SESSION_TOKEN`.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] when either of the first two is unset or empty.
    pub fn from_env() -> Result<Self> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let (Some(id), Some(secret)) = (var("OSS_ACCESS_KEY_ID"), var("OSS_ACCESS_KEY_SECRET"))
        else {
            return Err(Error::MissingCredentials);
        };
        let creds = Self::new(id, secret);
        Ok(match var("OSS_SESSION_TOKEN") {
            Some(token) => creds.with_security_token(token),
            None => creds,
        })
    }

    /// The AccessKeyId.
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn security_token(&self) -> Option<&str> {
        self.security_token.as_ref().map(|t| t.as_str())
    }

    pub(crate) fn access_key_secret(&self) -> &str {
        self.access_key_secret.as_str()
    }
}

/// How buckets appear in URLs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Addressing {
    /// Path style for IP endpoints, virtual-hosted otherwise.
    #[default]
    Auto,
    /// `https://endpoint/bucket/key`.
    PathStyle,
    /// `https://bucket.endpoint/key`.
    VirtualHosted,
}

/// When to retry a failed request.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The delay before the first retry; each later one doubles it.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Builds an [`OssClient`].
#[derive(Debug)]
pub struct OssClientBuilder {
    endpoint: String,
    region: String,
    credentials: Option<Credentials>,
    addressing: Addressing,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl OssClientBuilder {
    /// Sets the region (default [`DEFAULT_REGION`]); V4 signatures are scoped to it.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Sets the credentials; without this, [`Credentials::from_env`] is used.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the addressing style.
    #[must_use]
    pub const fn addressing(mut self, addressing: Addressing) -> Self {
        self.addressing = addressing;
        self
    }

    /// Sets the retry policy for idempotent requests.
    #[must_use]
    pub const fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses this HTTP client (for custom TLS roots, proxies or name resolution).
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sets the timeout of one attempt's connection and response head (default 60 s).
    #[must_use]
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an endpoint that is not `[http[s]://]host[:port]`;
    /// [`Error::MissingCredentials`]; [`Error::Transport`] when the HTTP client cannot be built.
    pub fn build(self) -> Result<OssClient> {
        let bad = |problem: &str| Error::InvalidArgument {
            name: "endpoint",
            problem: format!("{:?} {problem}", self.endpoint),
        };
        let (scheme, rest) = match self.endpoint.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
                (s.to_ascii_lowercase(), r)
            }
            Some(_) => return Err(bad("must use http:// or https://")),
            None => ("https".to_owned(), self.endpoint.as_str()),
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("must be host[:port] with no path"));
        }
        let hostname = host
            .strip_prefix('[')
            .and_then(|h| h.split_once(']'))
            .map_or_else(
                || host.rsplit_once(':').map_or(host, |(h, _)| h),
                |(h, _)| h,
            );
        let is_ip = hostname.parse::<IpAddr>().is_ok();
        let path_style = match self.addressing {
            Addressing::Auto => is_ip,
            Addressing::PathStyle => true,
            Addressing::VirtualHosted => false,
        };
        let credentials = match self.credentials {
            Some(c) => c,
            None => Credentials::from_env()?,
        };
        if self.region.is_empty() {
            return Err(Error::InvalidArgument {
                name: "region",
                problem: "must not be empty (for example cn-hangzhou)".to_owned(),
            });
        }
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.timeout)
                .read_timeout(self.timeout)
                .build()
                .map_err(|source| Error::Transport {
                    operation: "build the HTTP client",
                    source,
                })?,
        };
        Ok(OssClient {
            inner: Arc::new(Inner {
                scheme,
                host: host.to_owned(),
                region: self.region,
                credentials,
                path_style,
                retry: self.retry,
                http,
                context: reqsign_core::Context::new(),
            }),
        })
    }
}

struct Inner {
    scheme: String,
    host: String,
    region: String,
    credentials: Credentials,
    path_style: bool,
    retry: RetryPolicy,
    http: reqwest::Client,
    context: reqsign_core::Context,
}

/// A plain (non-encrypting) OSS client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct OssClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for OssClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OssClient")
            .field(
                "endpoint",
                &format!("{}://{}", self.inner.scheme, self.inner.host),
            )
            .field("region", &self.inner.region)
            .field("path_style", &self.inner.path_style)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// One request to send.
#[derive(Debug)]
pub(crate) struct OssRequest {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Safe to send twice: retried on 5xx and transport errors.
    pub(crate) idempotent: bool,
}

impl OssRequest {
    pub(crate) fn new(operation: &'static str, method: Method, bucket: &str, key: &str) -> Self {
        Self {
            operation,
            method,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            idempotent: true,
        }
    }

    pub(crate) fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }
}

/// OSS's bucket naming rule: 3 to 63 bytes of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit. Checked before any URL is built: the name becomes part of the host name
/// (`bucket.endpoint`), so anything else could send a signed request, STS token included, to
/// another host.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `bucket`.
pub fn check_bucket(bucket: &str) -> Result<()> {
    let bytes = bucket.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            name: "bucket",
            problem: format!(
                "{bucket:?} is not an OSS bucket name: use 3 to 63 characters of a-z, 0-9 and \
                 '-', starting and ending with a letter or digit"
            ),
        })
    }
}

/// OSS's object key rules (1 to 1023 bytes of UTF-8, not starting with `/` or `\`), plus one of
/// this client's: no `.` or `..` path segment, since URL normalisation would resolve it and the
/// request would address another key, or in path-style addressing another bucket.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `object key`.
pub fn check_key(key: &str) -> Result<()> {
    let problem = if key.is_empty() {
        // Bucket-level requests have no key; object operations check for one themselves.
        return Ok(());
    } else if key.len() > 1023 {
        "is longer than the 1023 bytes OSS allows"
    } else if key.starts_with(['/', '\\']) {
        "starts with '/' or '\\', which OSS does not allow"
    } else if key.split('/').any(|s| s == "." || s == "..") {
        "has a '.' or '..' path segment, which URL normalisation would resolve to another key"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument {
        name: "object key",
        problem: format!("{key:?} {problem}"),
    })
}

/// Sets `name: value` from caller text, refusing what HTTP cannot carry.
pub(crate) fn set_header(headers: &mut HeaderMap, name: &str, value: &str) -> Result<()> {
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::InvalidArgument {
        name: "header name",
        problem: format!("{name:?} is not a valid HTTP header name"),
    })?;
    let v = HeaderValue::from_str(value).map_err(|_| Error::InvalidArgument {
        name: "header value",
        problem: format!("the value of {name} is not valid in an HTTP header (visible ASCII)"),
    })?;
    headers.insert(n, v);
    Ok(())
}

/// The text of response header `name`, if present and text.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request id OSS answered with.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    header_str(headers, "x-oss-request-id")
        .unwrap_or_default()
        .to_owned()
}

/// The `x-oss-hash-crc64ecma` of a response.
pub(crate) fn response_crc64(headers: &HeaderMap) -> Option<u64> {
    header_str(headers, "x-oss-hash-crc64ecma").and_then(|v| v.parse().ok())
}

/// Checks OSS's CRC-64 of stored bytes against the client's, when OSS sent one.
pub(crate) fn check_crc(operation: &'static str, headers: &HeaderMap, sent: &[u8]) -> Result<()> {
    match response_crc64(headers) {
        Some(server) => {
            let client = crc64(sent);
            if client == server {
                Ok(())
            } else {
                Err(Error::CrcMismatch {
                    operation,
                    client,
                    server,
                })
            }
        }
        None => Ok(()),
    }
}

impl OssClient {
    /// A builder for `endpoint` (`https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`,
    /// or a bare host, which means https).
    #[must_use]
    pub fn builder(endpoint: impl Into<String>) -> OssClientBuilder {
        OssClientBuilder {
            endpoint: endpoint.into(),
            region: DEFAULT_REGION.to_owned(),
            credentials: None,
            addressing: Addressing::Auto,
            retry: RetryPolicy::default(),
            http: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// The region requests are signed for.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Whether URLs are path style.
    #[must_use]
    pub fn is_path_style(&self) -> bool {
        self.inner.path_style
    }

    fn url(&self, bucket: &str, key: &str, query: &[(String, String)]) -> String {
        let key = utf8_percent_encode(key, KEY_ENCODE);
        let mut url = if self.inner.path_style {
            format!(
                "{}://{}/{}/{key}",
                self.inner.scheme, self.inner.host, bucket
            )
        } else {
            format!("{}://{bucket}.{}/{key}", self.inner.scheme, self.inner.host)
        };
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&utf8_percent_encode(k, QUERY_ENCODE).to_string());
            if !v.is_empty() {
                url.push('=');
                url.push_str(&utf8_percent_encode(v, QUERY_ENCODE).to_string());
            }
        }
        url
    }

    async fn signed(
        &self,
        req: &OssRequest,
        headers: &HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Request> {
        check_bucket(&req.bucket)?;
        check_key(&req.key)?;
        let url = self.url(&req.bucket, &req.key, &req.query);
        let (mut parts, ()) = http::Request::builder()
            .method(req.method.clone())
            .uri(&url)
            .body(())
            .map_err(|e| Error::InvalidArgument {
                name: "bucket or key",
                problem: format!("does not make a valid URL ({e})"),
            })?
            .into_parts();
        parts.headers = headers.clone();
        let creds = &self.inner.credentials;
        let mut credential = Credential {
            access_key_id: creds.access_key_id.clone(),
            access_key_secret: creds.access_key_secret.to_string(),
            security_token: creds.security_token.as_ref().map(|t| t.to_string()),
            expires_in: None,
        };
        let signed = RequestSigner::new(&req.bucket)
            .with_region(self.inner.region.clone())
            .with_signing_version(SigningVersion::V4)
            .sign_request(&self.inner.context, &mut parts, Some(&credential), None)
            .await;
        // The signer's copy of the secret is ours to wipe.
        credential.access_key_secret.zeroize();
        if let Some(token) = credential.security_token.as_mut() {
            token.zeroize();
        }
        signed.map_err(|e| Error::Signing(e.to_string()))?;
        let request = http::Request::from_parts(parts, body);
        reqwest::Request::try_from(request).map_err(|source| Error::Transport {
            operation: req.operation,
            source,
        })
    }

    /// Sends `req`, retrying idempotent requests on 5xx answers and transport errors, and turns
    /// error answers into [`Error::Service`].
    pub(crate) async fn send(&self, req: &OssRequest) -> Result<reqwest::Response> {
        self.send_with(req, || async {
            Ok((None, reqwest::Body::from(req.body.clone())))
        })
        .await
    }

    /// As [`send`](Self::send), with the body (and, when it returns some, the headers) of each
    /// attempt made by `attempt`: a streamed body is read afresh for every attempt, and an
    /// attempt that must not be made (its source changed) is refused by `attempt`'s error.
    pub(crate) async fn send_with<F, Fut>(
        &self,
        req: &OssRequest,
        mut attempt_body: F,
    ) -> Result<reqwest::Response>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Option<HeaderMap>, reqwest::Body)>>,
    {
        let retry = self.inner.retry;
        let attempts = if req.idempotent {
            retry.max_attempts.max(1)
        } else {
            1
        };
        let mut delay = retry.base_delay;
        let mut attempt = 1;
        loop {
            let (headers, body) = attempt_body().await?;
            let request = self
                .signed(req, headers.as_ref().unwrap_or(&req.headers), body)
                .await?;
            let last = attempt >= attempts;
            match self.inner.http.execute(request).await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) if resp.status().is_server_error() && !last => {}
                Ok(resp) => return Err(service_error(req.operation, resp).await),
                Err(source)
                    if last
                        || !(source.is_connect() || source.is_timeout() || source.is_request()) =>
                {
                    return Err(Error::Transport {
                        operation: req.operation,
                        source,
                    });
                }
                Err(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(retry.max_delay);
            attempt += 1;
        }
    }

    /// PutObject without encryption: stores `body` as is. `headers` may carry Content-Type,
    /// Content-MD5 and `x-oss-meta-*` user metadata.
    ///
    /// # Errors
    /// [`Error::Service`], [`Error::Transport`], [`Error::CrcMismatch`].
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        headers: HeaderMap,
    ) -> Result<PutObjectOutput> {
        let mut req = OssRequest::new("PutObject", Method::PUT, bucket, key);
        req.headers = headers;
        req.body = body;
        let resp = self.send(&req).await?;
        check_crc("PutObject", resp.headers(), &req.body)?;
        Ok(PutObjectOutput::from_headers(resp.headers()))
    }

    /// GetObject without decryption; `headers` may carry Range and `x-oss-range-behavior`.
    /// Returns the response with its body unread.
    ///
    /// # Errors
    /// [`Error::Service`] (a 416 included), [`Error::Transport`].
    pub async fn get_object_raw(
        &self,
        bucket: &str,
        key: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response> {
        let mut req = OssRequest::new("GetObject", Method::GET, bucket, key);
        req.headers = headers;
        self.send(&req).await
    }

    /// HeadObject: the object's headers, user metadata included.
    ///
    /// # Errors
    /// [`Error::Service`] (`NoSuchKey` is status 404 with no body), [`Error::Transport`].
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<HeaderMap> {
        let req = OssRequest::new("HeadObject", Method::HEAD, bucket, key);
        Ok(self.send(&req).await?.headers().clone())
    }

    /// GetObjectMeta (`?objectMeta`): length, ETag, Last-Modified and CRC-64, no user metadata.
    ///
    /// # Errors
    /// [`Error::Service`], [`Error::Transport`].
    pub async fn get_object_meta(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        let req =
            OssRequest::new("GetObjectMeta", Method::HEAD, bucket, key).query("objectMeta", "");
        let resp = self.send(&req).await?;
        let h = resp.headers();
        Ok(ObjectMeta {
            // A HEAD answer has no body, so only the header tells the length.
            content_length: header_str(h, "content-length").and_then(|v| v.parse().ok()),
            etag: header_str(h, "etag").map(str::to_owned),
            last_modified: header_str(h, "last-modified").map(str::to_owned),
            crc64: response_crc64(h),
            request_id: request_id(h),
        })
    }

    /// DeleteObject.
    ///
    /// # Errors
    /// [`Error::Service`], [`Error::Transport`].
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let req = OssRequest::new("DeleteObject", Method::DELETE, bucket, key);
        self.send(&req).await.map(drop)
    }

    /// AbortMultipartUpload.
    ///
    /// # Errors
    /// [`Error::Service`] (`NoSuchUpload` when it is already gone), [`Error::Transport`].
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        let req = OssRequest::new("AbortMultipartUpload", Method::DELETE, bucket, key)
            .query("uploadId", upload_id);
        self.send(&req).await.map(drop)
    }
}

/// What PutObject (and UploadPart, CompleteMultipartUpload) answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutObjectOutput {
    /// The ETag, quotes included, as OSS sends it.
    pub etag: Option<String>,
    /// OSS's CRC-64 of the stored (encrypted) bytes.
    pub crc64: Option<u64>,
    /// The request id.
    pub request_id: String,
}

impl PutObjectOutput {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        Self {
            etag: header_str(h, "etag").map(str::to_owned),
            crc64: response_crc64(h),
            request_id: request_id(h),
        }
    }
}

/// What GetObjectMeta answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The stored length (plaintext and ciphertext lengths are equal under AES-CTR).
    pub content_length: Option<u64>,
    /// The ETag.
    pub etag: Option<String>,
    /// Last-Modified, as sent.
    pub last_modified: Option<String>,
    /// The CRC-64 of the stored bytes.
    pub crc64: Option<u64>,
    /// The request id.
    pub request_id: String,
}

/// Reads an OSS error answer: the XML body, or for HEAD the `x-oss-err` header.
async fn service_error(operation: &'static str, resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut text = resp.text().await.unwrap_or_default();
    if text.trim().is_empty()
        && let Some(encoded) = header_str(&headers, "x-oss-err")
    {
        use base64::Engine as _;
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(encoded) {
            text = String::from_utf8_lossy(&raw).into_owned();
        }
    }
    let fields = xml::error_fields(&text);
    let code = fields.code.unwrap_or_else(|| {
        match status {
            404 => "NoSuchKey",
            403 => "AccessDenied",
            416 => "InvalidRange",
            _ => "BadErrorResponse",
        }
        .to_owned()
    });
    Error::Service {
        operation,
        error: ServiceError {
            status,
            code,
            message: fields.message.unwrap_or_default(),
            request_id: fields.request_id.unwrap_or_else(|| request_id(&headers)),
            ec: fields
                .ec
                .or_else(|| header_str(&headers, "x-oss-ec").map(str::to_owned)),
        },
    }
}

//! The encryption client: the official SDKs' `EncryptionClient` over [`OssClient`].

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cse_core::{
    ByteRange, ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Envelope, Keyring, MasterCipher,
    MissingEnvelope, MultipartContext, PartDigest, RangePlan, RangeResponse, SealedEnvelope,
    plan_range,
};
use cse_http::{CipherBody, OpenBody};
use http::{HeaderMap, Method};
use http_body_util::BodyExt as _;

use crate::checkpoint::UploadCheckpoint;
use crate::client::{
    OssClient, OssRequest, PutObjectOutput, check_bucket, check_crc, check_key, header_str,
    request_id, response_crc64, set_header,
};
use crate::crc64::CrcChecked;
use crate::error::{Error, Result, io_error};
use crate::kms::KmsMasterKey;
use crate::part_body::{
    Counted, FileBody, MAX_PUT_OBJECT_LEN, PartUpload, ReaderBody, StreamedPart, StreamedParts,
    Tally, fingerprint_file,
};
use crate::xml;

fn rng() -> impl cse_core::rand_core::CryptoRng {
    cse_core::rand_core::UnwrapErr(getrandom::SysRng)
}

enum Master {
    Local {
        sealing: Arc<dyn MasterCipher + Send + Sync>,
        keyring: Keyring,
    },
    Kms(KmsMasterKey),
}

/// An OSS client that encrypts on upload and decrypts on download, byte-compatible with the
/// official SDKs' encryption clients. Cheap to clone.
#[derive(Clone)]
pub struct EncryptionClient {
    client: OssClient,
    master: Arc<Master>,
    missing: MissingEnvelope,
}

impl fmt::Debug for EncryptionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let master = match self.master.as_ref() {
            Master::Local { sealing, .. } => sealing.wrap_alg().to_owned(),
            Master::Kms(_) => cse_core::WRAP_ALG_KMS.to_owned(),
        };
        f.debug_struct("EncryptionClient")
            .field("client", &self.client)
            .field("master", &master)
            .field("missing", &self.missing)
            .finish()
    }
}

/// A PutObject to encrypt.
#[derive(Clone, Debug)]
pub struct PutObjectRequest {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The plaintext.
    pub body: Bytes,
    /// Extra request headers (`content-type`, `content-md5` of the plaintext, `x-oss-meta-*`).
    pub headers: Vec<(String, String)>,
}

impl PutObjectRequest {
    /// A PutObject of `body` to `bucket`/`key`.
    #[must_use]
    pub fn new(bucket: impl Into<String>, key: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a request header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What HeadObject answers, with the envelope decoded.
#[derive(Clone, Debug)]
pub struct HeadObjectOutput {
    /// The object length (plaintext and ciphertext lengths are equal).
    pub content_length: Option<u64>,
    /// The ETag (of the ciphertext).
    pub etag: Option<String>,
    /// `Normal`, `Multipart` or `Appendable`.
    pub object_type: Option<String>,
    /// The envelope, `None` for an unencrypted object.
    pub envelope: Option<Envelope>,
    /// All response headers.
    pub headers: HeaderMap,
    /// The request id.
    pub request_id: String,
}

/// A decrypted GetObject.
#[derive(Debug)]
pub struct GetObjectOutput {
    /// 200 for a whole object, 206 for a range.
    pub status: u16,
    /// The plaintext bytes the body will hold.
    pub content_length: Option<u64>,
    /// For a range: the plaintext Content-Range (`bytes first-last/total`).
    pub content_range: Option<cse_core::ContentRange>,
    /// The envelope, `None` for an unencrypted object read as is.
    pub envelope: Option<Envelope>,
    /// The response headers as OSS sent them.
    pub headers: HeaderMap,
    /// The request id.
    pub request_id: String,
    /// The plaintext, streaming.
    pub body: ObjectBody,
}

enum BodyInner {
    Plain(CrcChecked<reqwest::Body>),
    /// An unencrypted object read over a widened range: the engine's window says what to keep.
    Trimmed(Box<CipherBody<reqwest::Body, cse_core::PlainWindow>>),
    Opened(Box<OpenBody<CrcChecked<reqwest::Body>>>),
}

/// A streaming plaintext body: an [`http_body::Body`] (hand it to any HTTP server or body
/// utility), or read it with [`chunk`](Self::chunk). It ends with an error, never quietly, when
/// the ciphertext is cut short or runs long.
pub struct ObjectBody {
    inner: BodyInner,
}

impl fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.inner {
            BodyInner::Plain(_) | BodyInner::Trimmed(_) => "ObjectBody(plain)",
            BodyInner::Opened(_) => "ObjectBody(decrypting)",
        })
    }
}

/// The body's error: the inner body's (a connection or CRC failure) or the engine's.
fn cipher_body_error(e: cse_http::Error) -> Error {
    match e {
        cse_http::Error::Body(source) => body_error(source),
        other => Error::from(other),
    }
}

impl http_body::Body for ObjectBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>>>> {
        use std::pin::Pin;
        match &mut self.inner {
            BodyInner::Plain(b) => Pin::new(b).poll_frame(cx).map_err(body_error),
            BodyInner::Trimmed(b) => Pin::new(b.as_mut())
                .poll_frame(cx)
                .map_err(cipher_body_error),
            BodyInner::Opened(b) => Pin::new(b.as_mut())
                .poll_frame(cx)
                .map_err(cipher_body_error),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            BodyInner::Plain(b) => b.is_end_stream(),
            BodyInner::Trimmed(b) => b.is_end_stream(),
            BodyInner::Opened(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.inner {
            BodyInner::Plain(b) => b.size_hint(),
            BodyInner::Trimmed(b) => b.size_hint(),
            BodyInner::Opened(b) => b.size_hint(),
        }
    }
}

impl ObjectBody {
    /// The next piece of plaintext, `None` at the end.
    ///
    /// # Errors
    /// [`Error::Body`] when the connection fails mid-body; [`Error::CrcMismatch`] when a whole
    /// body's CRC-64 differs from OSS's; [`Error::Core`] with [`cse_core::Error::Truncated`] or
    /// [`cse_core::Error::Extended`] when the body is shorter or longer than declared.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        while let Some(frame) = self.frame().await {
            if let Ok(data) = frame?.into_data()
                && !data.is_empty()
            {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// The whole plaintext in memory.
    ///
    /// # Errors
    /// As [`chunk`](Self::chunk).
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

/// What InitiateMultipartUpload asks.
#[derive(Clone, Debug)]
pub struct InitiateMultipartUploadRequest {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The part size: a positive multiple of 16; every part but the last holds exactly this.
    pub part_size: u64,
    /// The whole plaintext size.
    pub data_size: u64,
    /// Extra request headers (`content-type`, `x-oss-meta-*`).
    pub headers: Vec<(String, String)>,
}

impl InitiateMultipartUploadRequest {
    /// An upload of `data_size` bytes to `bucket`/`key` in parts of `part_size`.
    #[must_use]
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        part_size: u64,
        data_size: u64,
    ) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            part_size,
            data_size,
            headers: Vec::new(),
        }
    }
}

/// An encrypted multipart upload in progress: its id and its [`MultipartContext`]. Cheap to
/// clone and shareable between tasks; each part number can be sealed once.
///
/// With a checkpoint ([`EncryptionClient::initiate_checkpointed_upload`],
/// [`EncryptionClient::resume_multipart_upload`]) every part is recorded before its ciphertext
/// leaves and after OSS accepts it, and a part the checkpoint knows was sealed is sealed again
/// only from the same plaintext.
#[derive(Clone, Debug)]
pub struct EncryptionMultipartContext {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    context: Arc<MultipartContext>,
    checkpoint: Option<Arc<UploadCheckpoint>>,
    /// The parts sent from callers' bodies, with what each attempt released.
    streamed: StreamedParts,
}

impl EncryptionMultipartContext {
    /// The engine's context (part lengths, part count, envelope).
    #[must_use]
    pub fn context(&self) -> &MultipartContext {
        &self.context
    }

    /// The checkpoint this upload records into, if any.
    #[must_use]
    pub fn checkpoint(&self) -> Option<&UploadCheckpoint> {
        self.checkpoint.as_deref()
    }

    /// The parts the checkpoint records as uploaded, for CompleteMultipartUpload (empty without
    /// a checkpoint).
    #[must_use]
    pub fn completed_parts(&self) -> Vec<UploadedPart> {
        self.checkpoint.as_ref().map_or_else(Vec::new, |c| {
            c.state()
                .parts
                .into_iter()
                .filter_map(|(part_number, r)| {
                    r.etag.map(|etag| UploadedPart { part_number, etag })
                })
                .collect()
        })
    }

    /// The part numbers still to upload, in order: all of them, less those OSS accepted through
    /// this context or that the checkpoint records as uploaded
    /// ([`MultipartContext::pending_parts`]).
    #[must_use]
    pub fn pending_parts(&self) -> Vec<u32> {
        self.context.pending_parts().collect()
    }
}

/// One part, sealed: its ciphertext, ready to send, and to send again if the first send failed.
/// Not secret (it is what OSS stores), so it can be kept, cloned and logged freely.
#[derive(Clone)]
pub struct SealedPart {
    upload_id: String,
    part_number: u32,
    ciphertext: Bytes,
}

impl fmt::Debug for SealedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPart")
            .field("part_number", &self.part_number)
            .field("len", &self.ciphertext.len())
            .finish()
    }
}

impl SealedPart {
    /// The part number.
    #[must_use]
    pub const fn part_number(&self) -> u32 {
        self.part_number
    }

    /// The ciphertext.
    #[must_use]
    pub const fn ciphertext(&self) -> &Bytes {
        &self.ciphertext
    }

    /// The digest a checkpoint records for the part.
    #[must_use]
    pub fn digest(&self) -> PartDigest {
        PartDigest::of(&self.ciphertext)
    }
}

/// A part uploaded: what CompleteMultipartUpload lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag OSS answered, quotes included.
    pub etag: String,
}

/// One part as ListParts reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSummary {
    /// The part number.
    pub part_number: u32,
    /// The ETag.
    pub etag: String,
    /// The size in bytes.
    pub size: u64,
    /// The CRC-64 of the part.
    pub crc64: Option<u64>,
}

/// What ListParts answers.
#[derive(Clone, Debug)]
pub struct ListPartsOutput {
    /// The parts, by number.
    pub parts: Vec<PartSummary>,
    /// Whether more parts follow (ask again from `next_part_number_marker`).
    pub is_truncated: bool,
    /// Where the next page starts.
    pub next_part_number_marker: u32,
    /// The upload's envelope from the `ClientEncryption*` fields (which carry no matdesc), when
    /// it is an encrypted upload.
    pub envelope: Option<Envelope>,
    /// The request id.
    pub request_id: String,
}

/// An UploadPart of `part_number`, with the upload's envelope headers.
fn part_request(context: &EncryptionMultipartContext, part_number: u32) -> Result<OssRequest> {
    let mut req = OssRequest::new("UploadPart", Method::PUT, &context.bucket, &context.key)
        .query("partNumber", part_number.to_string())
        .query("uploadId", context.upload_id.clone());
    envelope_headers(context.context.envelope(), &mut req.headers)?;
    Ok(req)
}

/// What follows an UploadPart that OSS answered with success (the body's CRC already checked):
/// its ETag, recorded in the checkpoint when there is one, and the part marked uploaded.
fn accepted_part(
    context: &EncryptionMultipartContext,
    part_number: u32,
    headers: &HeaderMap,
) -> Result<UploadedPart> {
    let etag = header_str(headers, "etag")
        .map(str::to_owned)
        .ok_or_else(|| Error::UnexpectedResponse {
            operation: "UploadPart",
            problem: "the answer has no ETag".to_owned(),
        })?;
    if let Some(checkpoint) = &context.checkpoint {
        checkpoint.record_uploaded(part_number, &etag)?;
    }
    context.context.mark_uploaded(part_number)?;
    Ok(UploadedPart { part_number, etag })
}

/// The engine's error that ended a streamed request body, found under the transport error it
/// became (a body that was longer or shorter than declared, say).
fn engine_cause(e: &Error) -> Option<cse_core::Error> {
    let Error::Transport { source, .. } = e else {
        return None;
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(source);
    while let Some(err) = next {
        if let Some(cse_http::Error::Core(core)) = err.downcast_ref::<cse_http::Error>() {
            return Some(*core);
        }
        next = err.source();
    }
    None
}

/// Checks the CRC-64 OSS reports for an upload against the one computed while the body was
/// streamed; `None` when the body never reached its end, which a success answer cannot follow.
fn check_sent_crc(operation: &'static str, headers: &HeaderMap, sent: Option<u64>) -> Result<()> {
    let Some(client) = sent else {
        return Err(Error::UnexpectedResponse {
            operation,
            problem: "the server answered before the whole body was sent".to_owned(),
        });
    };
    match response_crc64(headers) {
        Some(server) if server != client => Err(Error::CrcMismatch {
            operation,
            client,
            server,
        }),
        _ => Ok(()),
    }
}

fn headers_from(pairs: &[(String, String)]) -> Result<HeaderMap> {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        set_header(&mut h, n, v)?;
    }
    Ok(h)
}

fn envelope_headers(envelope: &Envelope, headers: &mut HeaderMap) -> Result<()> {
    cse_http::encode_envelope(envelope, DEFAULT_PREFIX, headers)?;
    Ok(())
}

impl EncryptionClient {
    /// An encryption client that seals with `master` and opens with it too.
    #[must_use]
    pub fn new(client: OssClient, master: Box<dyn MasterCipher + Send + Sync>) -> Self {
        Self::with_decrypt_master_ciphers(client, master, Vec::new())
    }

    /// An encryption client that seals with `master` and opens each object with the cipher whose
    /// matdesc equals the object's (compared as parsed maps), falling back to `master`.
    #[must_use]
    pub fn with_decrypt_master_ciphers(
        client: OssClient,
        master: Box<dyn MasterCipher + Send + Sync>,
        decrypt: Vec<Box<dyn MasterCipher + Send + Sync>>,
    ) -> Self {
        let sealing: Arc<dyn MasterCipher + Send + Sync> = Arc::from(master);
        // One cipher serves both sides: `Arc<dyn MasterCipher>` is a master cipher itself.
        let mut keyring = Keyring::new(Box::new(Arc::clone(&sealing)));
        for cipher in decrypt {
            keyring = keyring.with(cipher);
        }
        Self {
            client,
            master: Arc::new(Master::Local { sealing, keyring }),
            missing: MissingEnvelope::PassThrough,
        }
    }

    /// An encryption client whose master key lives in Alibaba Cloud KMS (`KMS/ALICLOUD`).
    #[must_use]
    pub fn with_kms(client: OssClient, kms: KmsMasterKey) -> Self {
        Self {
            client,
            master: Arc::new(Master::Kms(kms)),
            missing: MissingEnvelope::PassThrough,
        }
    }

    /// Refuse objects that carry no envelope instead of returning them as stored (the SDKs'
    /// behaviour, which a stripped header silently turns into ciphertext-as-plaintext).
    #[must_use]
    pub const fn strict(mut self) -> Self {
        self.missing = MissingEnvelope::Reject;
        self
    }

    /// The plain client underneath.
    #[must_use]
    pub const fn unencrypted(&self) -> &OssClient {
        &self.client
    }

    /// Sends `req` with a body that can be read once: one attempt, whatever the retry policy.
    async fn send_once(&self, req: &OssRequest, body: reqwest::Body) -> Result<reqwest::Response> {
        // Marked by the caller, so the retry loop never asks for a second body.
        debug_assert!(
            !req.idempotent,
            "{} sent once must not be idempotent",
            req.operation
        );
        let once = std::sync::Mutex::new(Some(body));
        self.client
            .send_with(req, || {
                let body = once.lock().ok().and_then(|mut b| b.take());
                async move {
                    body.map(|b| (None, b)).ok_or(Error::UnexpectedResponse {
                        operation: req.operation,
                        problem: "a streamed body cannot be sent twice".to_owned(),
                    })
                }
            })
            .await
    }

    /// A new object's material and envelope, from a fresh key and counter block.
    async fn seal_envelope(&self) -> Result<SealedEnvelope> {
        match self.master.as_ref() {
            Master::Local { sealing, .. } => {
                Ok(SealedEnvelope::seal(sealing.as_ref(), &mut rng())?)
            }
            Master::Kms(kms) => kms.seal(ContentMaterial::generate(&mut rng())).await,
        }
    }

    pub(crate) async fn open_envelope(&self, envelope: &Envelope) -> Result<ContentMaterial> {
        match self.master.as_ref() {
            Master::Local { keyring, .. } => Ok(keyring.open(envelope, &mut rng())?),
            Master::Kms(kms) => kms.open(envelope).await,
        }
    }

    pub(crate) fn decode(&self, headers: &HeaderMap) -> Result<Option<Envelope>> {
        let options = DecodeOptions {
            missing: self.missing,
            ..DecodeOptions::default()
        };
        Ok(cse_http::decode_envelope(headers, &options)?)
    }

    /// PutObject, encrypted: a fresh content key and counter block, wrapped by the master key
    /// into the envelope headers; the caller's Content-MD5 moves into the envelope.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for bad headers, [`Error::Http`] for a bad Content-MD5, the
    /// master key's errors, then those of the request ([`Error::Service`], [`Error::Transport`],
    /// [`Error::CrcMismatch`]).
    pub async fn put_object(&self, request: PutObjectRequest) -> Result<PutObjectOutput> {
        // Before the master key is used (a KMS call is a request too).
        check_bucket(&request.bucket)?;
        check_key(&request.key)?;
        let mut headers = headers_from(&request.headers)?;
        let len = request.body.len() as u64;
        set_header(&mut headers, "content-length", &len.to_string())?;
        let sealed = self.seal_envelope().await?;
        let sealed = cse_http::prepare_put_headers(&mut headers, sealed, DEFAULT_PREFIX)?;
        // reqwest sets Content-Length from the body; a second one would be refused.
        headers.remove("content-length");
        let mut body = BytesMut::from(request.body.as_ref());
        let mut sealer = sealed.sealer();
        sealer.update_in_place(&mut body)?;
        sealer.finish()?;
        let body = body.freeze();
        self.client
            .put_object(&request.bucket, &request.key, body, headers)
            .await
    }

    /// PutObject of the file at `path`, encrypted as it is read and sent: memory stays at a few
    /// hundred KiB whatever the file's size. `headers` as for [`PutObjectRequest::header`].
    ///
    /// A retried attempt (5xx, a dropped connection) gets a fresh content key and counter block,
    /// wrapped anew, and reads the file again: a file that changed in between is sealed under
    /// another keystream, never the same one. The CRC-64 OSS reports is checked against the
    /// ciphertext sent.
    ///
    /// # Errors
    /// [`Error::Io`] for the file; [`Error::Core`] with [`cse_core::Error::Truncated`] or
    /// [`cse_core::Error::Extended`] when the file changed length while it was sent; as
    /// [`put_object`](Self::put_object) otherwise.
    pub async fn put_object_from_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        headers: &[(String, String)],
    ) -> Result<PutObjectOutput> {
        self.put_file(bucket, key, path, headers, None).await
    }

    /// As [`put_object_from_file`](Self::put_object_from_file), authenticated
    /// (`docs/authenticated-objects.md`): the `cse-auth-*` metadata goes with the envelope, the
    /// chunk tags are made as the ciphertext is sent, and once the object is stored its side-car
    /// goes up as the object `<key>.cse-auth` ([`sidecar_key`](crate::sidecar_key)). The
    /// ciphertext and the other metadata are exactly those of an unauthenticated upload, so the
    /// official SDKs read the object as before.
    ///
    /// # Errors
    /// As [`put_object_from_file`](Self::put_object_from_file); [`Error::InvalidArgument`] for
    /// a key too long to name its side-car; a failed side-car upload after the object was
    /// stored is returned as it is (the object then fails every verified read until the
    /// upload is repeated).
    pub async fn put_object_from_file_authenticated(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        headers: &[(String, String)],
        auth: &crate::Authenticate,
    ) -> Result<PutObjectOutput> {
        self.put_file(bucket, key, path, headers, Some(auth)).await
    }

    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        headers: &[(String, String)],
        auth: Option<&crate::Authenticate>,
    ) -> Result<PutObjectOutput> {
        check_bucket(bucket)?;
        check_key(key)?;
        let sidecar_key = auth.map(|_| crate::sidecar_key(key));
        if let Some(sidecar_key) = &sidecar_key {
            check_key(sidecar_key)?;
        }
        // The side-car cell of the latest attempt: a late body of an earlier attempt fills
        // only its own cell, never the one read after the answer.
        let latest = Arc::new(std::sync::Mutex::new(None));
        let len = tokio::fs::metadata(path)
            .await
            .map_err(io_error(path))?
            .len();
        let mut base = headers_from(headers)?;
        set_header(&mut base, "content-length", &len.to_string())?;
        let sent_crc = Arc::new(std::sync::Mutex::new(None));
        let req = OssRequest::new("PutObject", Method::PUT, bucket, key);
        let resp = self
            .client
            .send_with(&req, || async {
                // A fresh key per attempt: a retry never seals other bytes under used keystream.
                let sealed = self.seal_envelope().await?;
                let mut headers = base.clone();
                let sealed = cse_http::prepare_put_headers(&mut headers, sealed, DEFAULT_PREFIX)?;
                if let Ok(mut crc) = sent_crc.lock() {
                    *crc = None;
                }
                // Each attempt's own material, so its own commitment and tags.
                let writer = match auth {
                    Some(auth) => {
                        let writer = auth.writer(sealed.material(), sealed.envelope())?;
                        cse_http::encode_auth_params(
                            writer.params(),
                            DEFAULT_PREFIX,
                            &mut headers,
                        )?;
                        let cell = Arc::new(std::sync::Mutex::new(None));
                        if let Ok(mut latest) = latest.lock() {
                            *latest = Some(Arc::clone(&cell));
                        }
                        Some((writer, cell))
                    }
                    None => None,
                };
                let body =
                    FileBody::whole(path, len, sealed.sealer(), Arc::clone(&sent_crc), writer)
                        .await?;
                Ok((Some(headers), reqwest::Body::wrap(body)))
            })
            .await?;
        let sent = sent_crc.lock().ok().and_then(|crc| *crc);
        check_sent_crc("PutObject", resp.headers(), sent)?;
        let out = PutObjectOutput::from_headers(resp.headers());
        if let (Some(auth), Some(sidecar_key)) = (auth, sidecar_key) {
            let cell = latest.lock().ok().and_then(|mut latest| latest.take());
            let writer = cell
                .and_then(|cell| cell.lock().ok().and_then(|mut slot| slot.take()))
                .ok_or(Error::UnexpectedResponse {
                    operation: "PutObject",
                    problem: "the server answered before the whole body was sent".to_owned(),
                })?;
            let bytes = auth.finish(writer, bucket, key)?;
            self.client
                .put_object(bucket, &sidecar_key, bytes.into(), HeaderMap::new())
                .await?;
        }
        Ok(out)
    }

    /// PutObject of a plaintext `body` streamed as it is sealed and sent, in constant memory:
    /// `len` is its length when known (sent as Content-Length and declared in the envelope, so
    /// a body of any other length fails); without it the request is chunked and may carry up to
    /// the 5 GiB one PutObject takes.
    ///
    /// A body is read once, so the request is not retried; for a file, which can be read again,
    /// use [`put_object_from_file`](Self::put_object_from_file).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `len` or a body past 5 GiB; [`Error::Core`] with
    /// [`cse_core::Error::Truncated`] or [`cse_core::Error::Extended`] when the body is shorter
    /// or longer than `len`; as [`put_object`](Self::put_object) otherwise.
    pub async fn put_object_stream<B>(
        &self,
        bucket: &str,
        key: &str,
        body: B,
        len: Option<u64>,
        headers: &[(String, String)],
    ) -> Result<PutObjectOutput>
    where
        B: http_body::Body + Send + Sync + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        check_bucket(bucket)?;
        check_key(key)?;
        let too_long = || Error::InvalidArgument {
            name: "body",
            problem: format!(
                "is longer than {MAX_PUT_OBJECT_LEN} bytes (5 GiB), the most one PutObject \
                 carries: upload it in parts (a multipart upload)"
            ),
        };
        if len.is_some_and(|len| len > MAX_PUT_OBJECT_LEN) {
            return Err(too_long());
        }
        let mut headers = headers_from(headers)?;
        if let Some(len) = len {
            set_header(&mut headers, "content-length", &len.to_string())?;
        }
        let sealed = self.seal_envelope().await?;
        let sealed = cse_http::prepare_put_headers(&mut headers, sealed, DEFAULT_PREFIX)?;
        let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
        let body = Counted::new(
            CipherBody::seal(body, sealed.sealer()),
            len.unwrap_or(MAX_PUT_OBJECT_LEN),
            Arc::clone(&tally),
        );
        let mut req = OssRequest::new("PutObject", Method::PUT, bucket, key);
        req.headers = headers;
        // The body can be read once: one attempt.
        req.idempotent = false;
        let sent = self.send_once(&req, reqwest::Body::wrap(body)).await;
        let (over, crc) = tally
            .lock()
            .map(|t| {
                // A CRC only of a whole body: all of a declared length.
                let whole = len.is_none_or(|len| t.len == len);
                (t.over_limit, t.crc.filter(|_| whole))
            })
            .unwrap_or((false, None));
        let resp = match sent {
            Ok(resp) => resp,
            Err(_) if over => return Err(too_long()),
            Err(e) => return Err(engine_cause(&e).map_or(e, Error::Core)),
        };
        check_sent_crc("PutObject", resp.headers(), crc)?;
        Ok(PutObjectOutput::from_headers(resp.headers()))
    }

    /// As [`put_object_stream`](Self::put_object_stream), reading the plaintext from `reader`
    /// (a pipe, a socket, standard input) 256 KiB at a time.
    ///
    /// # Errors
    /// As [`put_object_stream`](Self::put_object_stream).
    pub async fn put_object_reader<R>(
        &self,
        bucket: &str,
        key: &str,
        reader: R,
        len: Option<u64>,
        headers: &[(String, String)],
    ) -> Result<PutObjectOutput>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        self.put_object_stream(bucket, key, ReaderBody::new(reader), len, headers)
            .await
    }

    /// HeadObject, with the envelope decoded.
    ///
    /// # Errors
    /// [`Error::Service`], [`Error::Transport`]; [`Error::Core`] for a damaged envelope.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<HeadObjectOutput> {
        let headers = self.client.head_object(bucket, key).await?;
        let envelope = self.decode(&headers)?;
        Ok(HeadObjectOutput {
            content_length: header_str(&headers, "content-length").and_then(|v| v.parse().ok()),
            etag: header_str(&headers, "etag").map(str::to_owned),
            object_type: header_str(&headers, "x-oss-object-type").map(str::to_owned),
            envelope,
            request_id: request_id(&headers),
            headers,
        })
    }

    /// GetObjectMeta, passed through (the length is the plaintext length too).
    ///
    /// # Errors
    /// [`Error::Service`], [`Error::Transport`].
    pub async fn get_object_meta(&self, bucket: &str, key: &str) -> Result<crate::ObjectMeta> {
        self.client.get_object_meta(bucket, key).await
    }

    /// GetObject, decrypted as it streams; `range` as `bytes=A-B`, `bytes=A-` or `bytes=-N`.
    ///
    /// A range is sent with its start rounded down to a cipher block and
    /// `x-oss-range-behavior: standard`; the keystream position comes from the response's
    /// Content-Range, so a server that answers another range is refused, not misread.
    ///
    /// # Errors
    /// [`Error::Core`] with [`cse_core::Error::InvalidRange`] for a malformed range or a response
    /// that does not cover it, [`cse_core::Error::RangeNotSatisfiable`] for a range past the end;
    /// [`Error::Service`], [`Error::Transport`]; the master key's errors.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<&str>,
    ) -> Result<GetObjectOutput> {
        let range = range.map(ByteRange::parse).transpose()?;
        self.get_object_range(bucket, key, range).await
    }

    /// As [`get_object`](Self::get_object), with a range already parsed
    /// ([`ByteRange::parse`]), so a caller that checks the range up front parses it once.
    ///
    /// # Errors
    /// As [`get_object`](Self::get_object).
    pub async fn get_object_range(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObjectOutput> {
        self.get_object_inner(bucket, key, range, None, HeaderMap::new())
            .await
    }

    pub(crate) async fn get_object_inner(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
        known: Option<(&Envelope, &ContentMaterial)>,
        mut headers: HeaderMap,
    ) -> Result<GetObjectOutput> {
        let plan: Option<RangePlan> = range.map(|r| plan_range(r, None)).transpose()?;
        if let Some(plan) = &plan {
            cse_http::encode_range(plan, &mut headers)?;
        }
        let resp = match (
            self.client.get_object_raw(bucket, key, headers).await,
            &plan,
        ) {
            // The engine reads the status: a 416 to a range is the range's failure, not OSS's.
            (Err(Error::Service { error, .. }), Some(plan)) if error.status == 416 => {
                let response = RangeResponse::from_parts(error.status, None, None)?;
                plan.on_response(response)?;
                return Err(Error::UnexpectedResponse {
                    operation: "GetObject",
                    problem: "a 416 answer was read as satisfiable".to_owned(),
                });
            }
            (other, _) => other?,
        };
        let status = resp.status();
        let response_headers = resp.headers().clone();
        let envelope = self.decode(&response_headers)?;
        match (known, envelope.as_ref()) {
            (Some((want, _)), Some(got)) if want != got => {
                return Err(Error::UnexpectedResponse {
                    operation: "GetObject",
                    problem: "the object's envelope changed between requests; it was \
                              overwritten, start the read again"
                        .to_owned(),
                });
            }
            // HeadObject said the object is encrypted: a body without the envelope is
            // ciphertext that something stripped, never plaintext.
            (Some(_), None) => {
                return Err(Error::UnexpectedResponse {
                    operation: "GetObject",
                    problem: "the response carries no client-side-encryption envelope although \
                              HeadObject reported one; a proxy or the server stripped it, or \
                              the object was replaced: refusing to return ciphertext as \
                              plaintext"
                        .to_owned(),
                });
            }
            _ => {}
        }
        // A whole object's body is checked against the CRC-64 OSS reports for it (a range's
        // cannot be: the header is the whole object's).
        let expected_crc = if plan.is_none() && status == http::StatusCode::OK {
            response_crc64(&response_headers)
        } else {
            None
        };
        let http_response: http::Response<reqwest::Body> = resp.into();
        let (mut parts, body) = http_response.into_parts();
        let body = CrcChecked::new(body, expected_crc);
        let Some(envelope) = envelope else {
            // Not encrypted, and the caller accepts that: hand the bytes over as stored.
            if let Some(plan) = &plan {
                let body_plan = cse_http::rewrite_range_response(plan, &mut parts)?;
                return Ok(GetObjectOutput {
                    status: 206,
                    content_length: Some(body_plan.content_length()),
                    content_range: Some(body_plan.content_range()),
                    envelope: None,
                    request_id: request_id(&response_headers),
                    headers: response_headers,
                    body: ObjectBody {
                        inner: BodyInner::Trimmed(Box::new(CipherBody::passthrough(
                            body.into_inner(),
                            &body_plan,
                        ))),
                    },
                });
            }
            let content_range = header_str(&parts.headers, "content-range")
                .and_then(|v| cse_core::ContentRange::parse(v).ok());
            return Ok(GetObjectOutput {
                status: status.as_u16(),
                content_length: header_str(&parts.headers, "content-length")
                    .and_then(|v| v.parse().ok()),
                content_range,
                envelope: None,
                request_id: request_id(&parts.headers),
                headers: parts.headers,
                body: ObjectBody {
                    inner: BodyInner::Plain(body),
                },
            });
        };
        let opened;
        let material = match known {
            Some((_, material)) => material,
            None => {
                opened = self.open_envelope(&envelope).await?;
                &opened
            }
        };
        let (body, content_length, content_range, status) = match &plan {
            Some(plan) => {
                let body_plan = cse_http::rewrite_range_response(plan, &mut parts)?;
                // A ranged read sees the object's length in Content-Range: a cut or extended
                // object is refused here as a whole read would refuse it.
                envelope.check_stored_len(body_plan.content_range().total)?;
                (
                    CipherBody::ranged(body, &body_plan, material),
                    Some(body_plan.content_length()),
                    Some(body_plan.content_range()),
                    206,
                )
            }
            None => (
                CipherBody::whole(body, &envelope, material),
                envelope.declared_len().or_else(|| {
                    header_str(&response_headers, "content-length").and_then(|v| v.parse().ok())
                }),
                None,
                status.as_u16(),
            ),
        };
        Ok(GetObjectOutput {
            status,
            content_length,
            content_range,
            envelope: Some(envelope),
            request_id: request_id(&response_headers),
            headers: response_headers,
            body: ObjectBody {
                inner: BodyInner::Opened(Box::new(body)),
            },
        })
    }

    /// InitiateMultipartUpload, encrypted: a fresh content key and counter block for the whole
    /// upload, and the context every UploadPart needs.
    ///
    /// # Errors
    /// [`Error::Core`] with [`cse_core::Error::InvalidPartSize`] or
    /// [`cse_core::Error::InvalidDataSize`]; [`Error::InvalidArgument`]; the master key's errors;
    /// [`Error::Service`], [`Error::UnexpectedResponse`]; [`Error::InitiateUncertain`] when the
    /// request may have reached OSS but its answer was lost (an upload may exist).
    pub async fn initiate_multipart_upload(
        &self,
        request: InitiateMultipartUploadRequest,
    ) -> Result<EncryptionMultipartContext> {
        self.initiate(request, None).await
    }

    /// As [`initiate_multipart_upload`](Self::initiate_multipart_upload), recording the upload
    /// in a new checkpoint file at `path` (see [`UploadCheckpoint`]): the envelope before the
    /// request is sent, the upload id when OSS answers, then every part. `source` describes the
    /// data (for a file: its size, modification time and inode) and is compared on resume.
    ///
    /// # Errors
    /// As [`initiate_multipart_upload`](Self::initiate_multipart_upload); [`Error::Checkpoint`]
    /// when `path` exists; [`Error::Io`].
    pub async fn initiate_checkpointed_upload(
        &self,
        request: InitiateMultipartUploadRequest,
        path: &std::path::Path,
        source: &str,
    ) -> Result<EncryptionMultipartContext> {
        self.initiate(request, Some((path, source))).await
    }

    async fn initiate(
        &self,
        request: InitiateMultipartUploadRequest,
        checkpoint: Option<(&std::path::Path, &str)>,
    ) -> Result<EncryptionMultipartContext> {
        check_bucket(&request.bucket)?;
        check_key(&request.key)?;
        MultipartContext::part_count_for(request.part_size, request.data_size)?;
        let mut headers = headers_from(&request.headers)?;
        let sealed = self.seal_envelope().await?;
        let check = checkpoint.map(|_| crate::checkpoint::key_check(sealed.material()));
        let context = MultipartContext::new(sealed, request.part_size, request.data_size)?;
        envelope_headers(context.envelope(), &mut headers)?;
        let checkpoint = match checkpoint {
            Some((path, source)) => Some(Arc::new(UploadCheckpoint::create(
                path,
                &request.bucket,
                &request.key,
                source,
                context.envelope(),
                check.as_deref().unwrap_or_default(),
            )?)),
            None => None,
        };
        let mut req = OssRequest::new(
            "InitiateMultipartUpload",
            Method::POST,
            &request.bucket,
            &request.key,
        )
        .query("uploads", "");
        req.idempotent = false;
        req.headers = headers;
        let uncertain = |e: Error| Error::InitiateUncertain {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            source: Box::new(e),
        };
        // Whether an upload may now exist: if not, its checkpoint would only mislead a resume.
        let forget = |e: Error| {
            if let (false, Some(c)) = (matches!(e, Error::InitiateUncertain { .. }), &checkpoint) {
                let _ = c.remove();
            }
            e
        };
        let resp = match self.client.send(&req).await {
            Ok(resp) => resp,
            // Refused before it was sent, or answered with an error: no upload exists.
            Err(e @ Error::Transport { .. }) if !e.transport_may_have_sent() => {
                return Err(forget(e));
            }
            Err(e @ (Error::Transport { .. } | Error::Body { .. })) => {
                return Err(forget(uncertain(e)));
            }
            Err(e) => return Err(forget(e)),
        };
        let text = resp.text().await.map_err(|e| {
            forget(uncertain(Error::Body {
                operation: "InitiateMultipartUpload",
                source: Box::new(e),
            }))
        })?;
        let upload_id = xml::initiate_upload_id(&text).map_err(|e| forget(uncertain(e)))?;
        if let Some(checkpoint) = &checkpoint
            && let Err(e) = checkpoint.record_initiated(&upload_id)
        {
            // An upload nobody can resume: abort it rather than leave it billable.
            let _ = self
                .client
                .abort_multipart_upload(&request.bucket, &request.key, &upload_id)
                .await;
            let _ = checkpoint.remove();
            return Err(e);
        }
        Ok(EncryptionMultipartContext {
            bucket: request.bucket,
            key: request.key,
            upload_id,
            context: Arc::new(context),
            checkpoint,
            streamed: StreamedParts::default(),
        })
    }

    /// Seals part `part_number` from `plaintext`, which must be exactly the part's length
    /// ([`MultipartContext::part_len`]). A part the upload's checkpoint records as sealed is
    /// sealed again only if the result is the same ciphertext (the same plaintext); any other
    /// part number is sealed once per upload.
    ///
    /// # Errors
    /// [`Error::Core`] with [`cse_core::Error::PartLength`] (nothing is sealed),
    /// [`cse_core::Error::PartAlreadySealed`], [`cse_core::Error::PartChanged`] or
    /// [`cse_core::Error::PartNumberOutOfRange`].
    pub fn seal_part(
        &self,
        context: &EncryptionMultipartContext,
        part_number: u32,
        plaintext: &[u8],
    ) -> Result<SealedPart> {
        let expected = context.context.part_len(part_number)?;
        if plaintext.len() as u64 != expected {
            return Err(Error::Core(cse_core::Error::PartLength {
                part: part_number,
                expected,
                actual: plaintext.len() as u64,
            }));
        }
        let mut cipher = BytesMut::from(plaintext);
        let recorded = context
            .checkpoint
            .as_ref()
            .and_then(|c| c.part(part_number));
        match recorded {
            Some(record) if record.etag.is_some() => {
                return Err(Error::Core(cse_core::Error::PartAlreadySealed {
                    part: part_number,
                }));
            }
            Some(record) => {
                context
                    .context
                    .reseal_part(part_number, &mut cipher, &record.digest)?;
            }
            None => {
                let mut sealer = context.context.part_sealer(part_number)?;
                sealer.update_in_place(&mut cipher)?;
                sealer.finish()?;
            }
        }
        Ok(SealedPart {
            upload_id: context.upload_id.clone(),
            part_number,
            ciphertext: cipher.freeze(),
        })
    }

    /// UploadPart of a part already sealed ([`seal_part`](Self::seal_part)): safe to call again
    /// with the same `part` after a failure, since it sends the same bytes. With a checkpoint,
    /// the part is recorded (durably) before its ciphertext leaves, and its ETag after.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] or [`Error::Io`] when the record cannot be made (nothing is
    /// sent); [`Error::Service`], [`Error::Transport`], [`Error::CrcMismatch`],
    /// [`Error::UnexpectedResponse`].
    pub async fn upload_sealed_part(
        &self,
        context: &EncryptionMultipartContext,
        part: &SealedPart,
    ) -> Result<UploadedPart> {
        let part_number = part.part_number;
        // A part sealed for another upload is under another content key.
        if part.upload_id != context.upload_id {
            return Err(Error::InvalidArgument {
                name: "part",
                problem: format!(
                    "part {part_number} was sealed for upload {}, not {}",
                    part.upload_id, context.upload_id
                ),
            });
        }
        if let Some(checkpoint) = &context.checkpoint {
            checkpoint.record_sealed(part_number, part.ciphertext.len() as u64, &part.digest())?;
        }
        let mut req = part_request(context, part_number)?;
        req.body = part.ciphertext.clone();
        let resp = self.client.send(&req).await?;
        check_crc("UploadPart", resp.headers(), &req.body)?;
        accepted_part(context, part_number, resp.headers())
    }

    /// UploadPart, encrypted from the part's own counter: [`seal_part`](Self::seal_part), then
    /// [`upload_sealed_part`](Self::upload_sealed_part) (which retries as the client's retry
    /// policy allows). If the upload still fails, the error is [`Error::PartNotUploaded`], which
    /// carries the sealed part: resend that; the part number cannot be sealed afresh.
    ///
    /// # Errors
    /// As [`seal_part`](Self::seal_part); [`Error::PartNotUploaded`].
    pub async fn upload_part(
        &self,
        context: &EncryptionMultipartContext,
        part_number: u32,
        body: Bytes,
    ) -> Result<UploadedPart> {
        let sealed = self.seal_part(context, part_number, &body)?;
        self.upload_sealed_part(context, &sealed)
            .await
            .map_err(|e| Error::PartNotUploaded {
                part: Box::new(sealed),
                source: Box::new(e),
            })
    }

    /// UploadPart of part `part_number` streamed from the file at `path`, which holds the
    /// upload's whole data (the part is read from its offset, [`MultipartContext::part_range`]),
    /// sealed as it is sent: memory stays at a few hundred KiB whatever the part size.
    ///
    /// Retries (as the client's retry policy allows) read the part again, and release each
    /// 64 KiB chunk of ciphertext that an earlier attempt released only if it is the same bytes
    /// ([`cse_core::TrackedPartSealer`]): a file that changed under a retry fails with
    /// [`cse_core::Error::PartChanged`] instead of exposing two plaintexts under one keystream.
    /// With a checkpoint, the part's digest is computed first, without sending anything, and
    /// recorded (or, for a part recorded before, compared) before the first byte leaves.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Core`] with [`cse_core::Error::PartChanged`],
    /// [`cse_core::Error::PartAlreadySealed`], [`cse_core::Error::PartNumberOutOfRange`] or a
    /// length error when the file is shorter than the part; [`Error::Checkpoint`];
    /// [`Error::Service`], [`Error::Transport`], [`Error::CrcMismatch`].
    pub async fn upload_part_from_file(
        &self,
        context: &EncryptionMultipartContext,
        part_number: u32,
        path: &std::path::Path,
    ) -> Result<UploadedPart> {
        let (offset, len) = context.context.part_range(part_number)?;
        let (mut known, mut recorded) = (None, None);
        if let Some(checkpoint) = &context.checkpoint {
            let record = checkpoint.part(part_number);
            if record.as_ref().is_some_and(|r| r.etag.is_some()) {
                return Err(Error::Core(cse_core::Error::PartAlreadySealed {
                    part: part_number,
                }));
            }
            // The digest goes into the checkpoint before any byte leaves; a part recorded in an
            // earlier run is checked against its digest by the engine (tracked_part_resealer).
            let fingerprint =
                fingerprint_file(&context.context, part_number, path, offset, len).await?;
            match record {
                Some(r) => recorded = Some(r.digest),
                None => {
                    let digest =
                        fingerprint
                            .digest()
                            .ok_or(Error::Core(cse_core::Error::PartLength {
                                part: part_number,
                                expected: len,
                                actual: 0,
                            }))?;
                    checkpoint.record_sealed(part_number, len, &digest)?;
                }
            }
            known = Some(fingerprint);
        }
        let upload = PartUpload::new(
            Arc::clone(&context.context),
            part_number,
            path,
            (offset, len),
            known,
            recorded,
        );
        let mut req = part_request(context, part_number)?;
        set_header(&mut req.headers, "content-length", &len.to_string())?;
        let sent = self
            .client
            .send_with(&req, || async {
                Ok((None, reqwest::Body::wrap(upload.attempt().await?)))
            })
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            // A changed source or a read error ended the body: that, not the transport error
            // it caused, is the cause.
            Err(e) => return Err(upload.take_failure().await.unwrap_or(e)),
        };
        let crc = upload.sent().await;
        check_sent_crc("UploadPart", resp.headers(), crc)?;
        accepted_part(context, part_number, resp.headers())
    }

    /// UploadPart of part `part_number` from a plaintext `body` of exactly the part's length
    /// ([`MultipartContext::part_len`]), sealed as it is sent in 256 KiB pieces. The context
    /// keeps the part's chunk digests (32 bytes per 64 KiB) for a resend.
    ///
    /// A body is read once, so this call does not retry. To resend the part after a failure,
    /// call again with the same plaintext: each 64 KiB chunk of ciphertext the first call
    /// released is released again only if it is the same bytes
    /// ([`cse_core::TrackedPartSealer`]), so a source that changed fails with
    /// [`cse_core::Error::PartChanged`] instead of exposing two plaintexts under one keystream.
    /// A checkpointed upload records each part's digest before the part leaves, which a body
    /// read once cannot give: use [`upload_part_from_file`](Self::upload_part_from_file) or
    /// [`upload_part`](Self::upload_part) there.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a checkpointed upload; [`Error::Core`] with
    /// [`cse_core::Error::PartChanged`], [`cse_core::Error::PartAlreadySealed`] (a part sealed
    /// another way), [`cse_core::Error::PartLength`] or [`cse_core::Error::PartNumberOutOfRange`];
    /// [`Error::Service`], [`Error::Transport`], [`Error::CrcMismatch`].
    pub async fn upload_part_stream<B>(
        &self,
        context: &EncryptionMultipartContext,
        part_number: u32,
        body: B,
    ) -> Result<UploadedPart>
    where
        B: http_body::Body + Send + Sync + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if context.checkpoint.is_some() {
            return Err(Error::InvalidArgument {
                name: "body",
                problem: "a checkpointed upload records each part's digest before the part is \
                          sent, which a body read once cannot give: upload the part with \
                          upload_part_from_file or upload_part"
                    .to_owned(),
            });
        }
        let len = context.context.part_len(part_number)?;
        let part = {
            let mut parts = context
                .streamed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(parts.entry(part_number).or_default())
        };
        let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
        let body = StreamedPart::attempt(
            &part,
            &context.context,
            part_number,
            len,
            body,
            Arc::clone(&tally),
        )?;
        let mut req = part_request(context, part_number)?;
        set_header(&mut req.headers, "content-length", &len.to_string())?;
        // The body can be read once: one attempt; the caller resends by calling again.
        req.idempotent = false;
        let sent = self.send_once(&req, reqwest::Body::wrap(body)).await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => return Err(engine_cause(&e).map_or(e, Error::Core)),
        };
        let crc = tally
            .lock()
            .ok()
            .and_then(|t| t.crc.filter(|_| t.len == len));
        check_sent_crc("UploadPart", resp.headers(), crc)?;
        // No checkpoint here (refused above), so nothing more is recorded than the mark.
        accepted_part(context, part_number, resp.headers())
    }

    /// As [`upload_part_stream`](Self::upload_part_stream), reading the part's plaintext from
    /// `reader`, which must hold exactly the part's bytes (`tokio::io::AsyncReadExt::take` cuts
    /// a longer source to size).
    ///
    /// # Errors
    /// As [`upload_part_stream`](Self::upload_part_stream).
    pub async fn upload_part_reader<R>(
        &self,
        context: &EncryptionMultipartContext,
        part_number: u32,
        reader: R,
    ) -> Result<UploadedPart>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        self.upload_part_stream(context, part_number, ReaderBody::new(reader))
            .await
    }

    /// CompleteMultipartUpload with `parts` (any order; sent sorted). No envelope headers are
    /// sent: the object keeps the Initiate metadata.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no parts or a repeated number; [`Error::Service`]
    /// (`InvalidPart`, the CSE size checks), [`Error::Transport`].
    pub async fn complete_multipart_upload(
        &self,
        context: &EncryptionMultipartContext,
        parts: &[UploadedPart],
    ) -> Result<PutObjectOutput> {
        let mut sorted = parts.to_vec();
        sorted.sort_by_key(|p| p.part_number);
        if sorted.is_empty()
            || sorted
                .windows(2)
                .any(|w| w[0].part_number == w[1].part_number)
        {
            return Err(Error::InvalidArgument {
                name: "parts",
                problem: "list each uploaded part exactly once".to_owned(),
            });
        }
        let body = xml::complete_body(&sorted)?;
        let mut req = OssRequest::new(
            "CompleteMultipartUpload",
            Method::POST,
            &context.bucket,
            &context.key,
        )
        .query("uploadId", context.upload_id.clone());
        req.idempotent = false;
        set_header(&mut req.headers, "content-type", "application/xml")?;
        req.body = Bytes::from(body);
        let resp = self.client.send(&req).await?;
        let out = PutObjectOutput::from_headers(resp.headers());
        // OSS answered 200: the object exists, whatever happens to the rest of the answer.
        let text = match resp.text().await {
            Ok(text) => text,
            Err(_) if out.etag.is_some() => String::new(),
            Err(e) => {
                return Err(Error::Body {
                    operation: "CompleteMultipartUpload",
                    source: Box::new(e),
                });
            }
        };
        // The upload is an object now: nothing is left to resume. A checkpoint that cannot be
        // removed is only stale (its upload id no longer exists), not a failure of the upload.
        if let Some(checkpoint) = &context.checkpoint {
            let _ = checkpoint.remove();
        }
        Ok(PutObjectOutput {
            etag: out.etag.or_else(|| xml::complete_etag(&text)),
            ..out
        })
    }

    /// AbortMultipartUpload.
    ///
    /// # Errors
    /// [`Error::Service`] (`NoSuchUpload`), [`Error::Transport`].
    pub async fn abort_multipart_upload(&self, context: &EncryptionMultipartContext) -> Result<()> {
        self.client
            .abort_multipart_upload(&context.bucket, &context.key, &context.upload_id)
            .await?;
        if let Some(checkpoint) = &context.checkpoint {
            checkpoint.remove()?;
        }
        Ok(())
    }

    /// ListParts, every page: asks again from `NextPartNumberMarker` while `IsTruncated`, and
    /// refuses a listing that repeats a part, does not advance, or changes its envelope between
    /// pages.
    ///
    /// # Errors
    /// As [`list_parts`](Self::list_parts); [`Error::UnexpectedResponse`] for an inconsistent
    /// listing.
    pub async fn list_all_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<ListPartsOutput> {
        let mut marker = 0;
        let mut all = self.list_parts(bucket, key, upload_id, 0).await?;
        let bad = |problem: String| Error::UnexpectedResponse {
            operation: "ListParts",
            problem,
        };
        while all.is_truncated {
            let next = all.next_part_number_marker;
            // An upload has at most 10 000 parts: a listing that goes on is not one.
            if next >= cse_core::MAX_PARTS {
                return Err(bad(format!(
                    "the listing is truncated past part {next}, beyond the {} parts an upload \
                     can have",
                    cse_core::MAX_PARTS
                )));
            }
            if next <= marker {
                return Err(bad(format!(
                    "the listing is truncated but its next marker ({next}) does not advance \
                     past {marker}"
                )));
            }
            marker = next;
            let page = self.list_parts(bucket, key, upload_id, marker).await?;
            if page.envelope != all.envelope {
                return Err(bad(
                    "the upload's ClientEncryption fields differ between pages".to_owned(),
                ));
            }
            all.parts.extend(page.parts);
            all.is_truncated = page.is_truncated;
            all.next_part_number_marker = page.next_part_number_marker;
        }
        let mut numbers: Vec<u32> = all.parts.iter().map(|p| p.part_number).collect();
        numbers.sort_unstable();
        if let Some(w) = numbers.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("part {} is listed twice", w[0])));
        }
        Ok(all)
    }

    /// ListParts, one page from after `part_number_marker` (0 for the start), with the upload's
    /// envelope read from the `ClientEncryption*` fields.
    ///
    /// # Errors
    /// [`Error::Service`] (`NoSuchUpload`), [`Error::Transport`]; [`Error::Core`] for damaged
    /// `ClientEncryption*` fields; [`Error::UnexpectedResponse`] for an answer that is not a
    /// well-formed `ListPartsResult` (a `Part` without a numeric `PartNumber` or `Size` or
    /// without an `ETag`, an element given twice, ...).
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: u32,
    ) -> Result<ListPartsOutput> {
        let mut req =
            OssRequest::new("ListParts", Method::GET, bucket, key).query("uploadId", upload_id);
        if part_number_marker > 0 {
            req = req.query("part-number-marker", part_number_marker.to_string());
        }
        let resp = self.client.send(&req).await?;
        let rid = request_id(resp.headers());
        let text = resp.text().await.map_err(|e| Error::Body {
            operation: "ListParts",
            source: Box::new(e),
        })?;
        let page = xml::list_parts(&text)?;
        // The ClientEncryption* fields are the envelope headers by another name; decoding them as
        // headers keeps every format rule in the engine.
        let envelope = cse_core::decode_list_parts_envelope(
            page.envelope_elements
                .iter()
                .map(|(tag, v)| (*tag, v.as_str())),
        )?;
        Ok(ListPartsOutput {
            parts: page.parts,
            is_truncated: page.is_truncated,
            next_part_number_marker: page.next_part_number_marker,
            envelope,
            request_id: rid,
        })
    }

    /// Resumes the upload recorded in `checkpoint` (see [`UploadCheckpoint`]).
    ///
    /// The checkpoint, which this client wrote, is what is trusted: the envelope is unwrapped
    /// from it, never from the server. Every page of ListParts is then compared with it, and
    /// any difference is [`Error::ResumeMismatch`], naming what differs, before anything is
    /// uploaded: another envelope (key, start, wrap-alg, part or data size), a part the
    /// checkpoint never sealed, a part of another size, a part recorded as uploaded that is
    /// missing or has another ETag.
    ///
    /// The context returned lists what remains ([`EncryptionMultipartContext::pending_parts`]);
    /// a pending part the checkpoint records as sealed is sealed again by
    /// [`seal_part`](Self::seal_part) only from the same plaintext.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for a checkpoint without an upload id (its Initiate answer was
    /// lost); [`Error::ResumeMismatch`]; the master key's errors; the errors of
    /// [`list_all_parts`](Self::list_all_parts).
    pub async fn resume_multipart_upload(
        &self,
        checkpoint: UploadCheckpoint,
    ) -> Result<EncryptionMultipartContext> {
        let state = checkpoint.state();
        let Some(upload_id) = state.upload_id.clone() else {
            return Err(Error::Checkpoint {
                path: checkpoint.path().to_owned(),
                problem: format!(
                    "records no upload id: InitiateMultipartUpload's answer never arrived, so \
                     an unfinished upload of oss://{}/{} may exist; list the bucket's multipart \
                     uploads (ListMultipartUploads), abort it, and remove this file",
                    state.bucket, state.key
                ),
            });
        };
        let mismatch = |problem: String| Error::ResumeMismatch {
            upload_id: upload_id.clone(),
            problem,
        };
        let listed = self
            .list_all_parts(&state.bucket, &state.key, &upload_id)
            .await?;
        let listed_envelope = listed.envelope.as_ref().ok_or_else(|| {
            mismatch("ListParts reports no ClientEncryption fields for it".to_owned())
        })?;
        if let Some(field) = state.envelope.listed_difference(listed_envelope) {
            return Err(mismatch(format!(
                "ListParts reports a {field} that differs from the checkpoint's"
            )));
        }
        for part in &listed.parts {
            let n = part.part_number;
            let Some(record) = state.parts.get(&n) else {
                return Err(mismatch(format!(
                    "ListParts lists part {n}, which this checkpoint never sealed"
                )));
            };
            if part.size != record.size {
                return Err(mismatch(format!(
                    "ListParts lists part {n} with {} bytes; the checkpoint sealed {}",
                    part.size, record.size
                )));
            }
            if let Some(etag) = &record.etag
                && !same_etag(etag, &part.etag)
            {
                return Err(mismatch(format!(
                    "ListParts lists part {n} with ETag {}; the checkpoint recorded {etag}",
                    part.etag
                )));
            }
        }
        for (n, record) in &state.parts {
            if record.etag.is_some() && !listed.parts.iter().any(|p| p.part_number == *n) {
                return Err(mismatch(format!(
                    "part {n} was uploaded (the checkpoint records its ETag) but ListParts does \
                     not list it"
                )));
            }
        }
        let sizes = state.envelope.multipart();
        let (Some(_), Some(_)) = (sizes.map(|m| m.part_size), sizes.and_then(|m| m.data_size))
        else {
            return Err(Error::Checkpoint {
                path: checkpoint.path().to_owned(),
                problem: "the envelope has no part size and data size".to_owned(),
            });
        };
        let material = self.open_envelope(&state.envelope).await?;
        // Implicit rejection lets a wrong master key "unwrap" now and then: the check value
        // recorded at initiation tells.
        if crate::checkpoint::key_check(&material) != state.key_check {
            return Err(Error::Core(cse_core::Error::Unwrap));
        }
        let context = MultipartContext::open(state.envelope.clone(), material)?;
        for (n, record) in &state.parts {
            if context.part_len(*n).ok() != Some(record.size) {
                return Err(Error::Checkpoint {
                    path: checkpoint.path().to_owned(),
                    problem: format!(
                        "records part {n} with {} bytes, which the upload's sizes do not allow",
                        record.size
                    ),
                });
            }
            context.mark_sealed(*n)?;
            if record.etag.is_some() {
                context.mark_uploaded(*n)?;
            }
        }
        Ok(EncryptionMultipartContext {
            bucket: state.bucket,
            key: state.key,
            upload_id,
            context: Arc::new(context),
            checkpoint: Some(Arc::new(checkpoint)),
            streamed: StreamedParts::default(),
        })
    }

    /// Reads the object's envelope and unwraps it once, for helpers that make many ranged reads.
    pub(crate) async fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(HeadObjectOutput, Option<ContentMaterial>)> {
        let head = self.head_object(bucket, key).await?;
        let material = match &head.envelope {
            Some(env) => Some(self.open_envelope(env).await?),
            None => None,
        };
        Ok((head, material))
    }
}

/// A body error as this crate reports it: a CRC-64 mismatch by name, anything else as a failed
/// body.
fn body_error(source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    match source.downcast::<crate::crc64::Mismatch>() {
        Ok(m) => Error::CrcMismatch {
            operation: "GetObject",
            client: m.client,
            server: m.server,
        },
        Err(source) => Error::Body {
            operation: "GetObject",
            source,
        },
    }
}

/// ETags compare without their quotes and case (OSS answers upper-case hex in quotes).
fn same_etag(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

/// The CRC-64 OSS reports for an object.
#[must_use]
pub fn object_crc64(headers: &HeaderMap) -> Option<u64> {
    response_crc64(headers)
}

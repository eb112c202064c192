//! Authenticated objects in OSS (`docs/authenticated-objects.md`): the side-car is the object
//! `<key>.cse-auth` beside the data, written after it and read by range; every rule (keys,
//! tags, layout, planning) is `cse_core::auth`'s.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use cse_core::auth::{
    AuthError, AuthKeys, Binding, ChunkCipher, ChunkOpener, ChunkPlan, DEFAULT_CHUNK_SIZE,
    Expected, Policy, SIDECAR_HEADER_LEN, SIDECAR_SUFFIX, SidecarHeader, SidecarProblem,
    SidecarSigner, SidecarWriter, WriterKey,
};
use cse_core::{ByteRange, ContentMaterial, DEFAULT_PREFIX, Envelope, plan_range};
use http::HeaderMap;

use crate::encryption::EncryptionClient;
use crate::error::{Error, Result};

/// The most tag bytes a whole read (or a read with trusted writers) holds to check the final
/// tag first: 64 MiB, the tags of a 4 TiB object at the default chunk size.
const MAX_TAGS_LEN: u64 = 64 << 20;

/// The name of `key`'s side-car in the same bucket.
#[must_use]
pub fn sidecar_key(key: &str) -> String {
    format!("{key}{SIDECAR_SUFFIX}")
}

/// How an upload is authenticated.
#[derive(Clone)]
pub struct Authenticate {
    /// The chunk size (a power of two from 64 KiB to 64 MiB).
    pub chunk_size: u32,
    /// Whether the tags bind the bucket and object name (a copy then needs a rebind).
    pub binding: Binding,
    /// The writer key that signs the side-car, if any.
    pub writer: Option<Arc<WriterKey>>,
}

impl Default for Authenticate {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            binding: Binding::None,
            writer: None,
        }
    }
}

impl std::fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticate")
            .field("chunk_size", &self.chunk_size)
            .field("binding", &self.binding)
            .field("signed", &self.writer.is_some())
            .finish()
    }
}

impl Authenticate {
    pub(crate) fn writer(
        &self,
        material: &ContentMaterial,
        envelope: &Envelope,
    ) -> Result<SidecarWriter<Arc<AuthKeys>>> {
        let keys = Arc::new(AuthKeys::derive(material));
        SidecarWriter::new(keys, envelope, self.chunk_size, self.binding).map_err(|e| {
            Error::InvalidArgument {
                name: "chunk_size",
                problem: e.to_string(),
            }
        })
    }

    pub(crate) fn finish(
        &self,
        writer: SidecarWriter<Arc<AuthKeys>>,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<u8>> {
        let signer = self.writer.as_deref().map(|w| w as &dyn SidecarSigner);
        writer
            .finish(Some((bucket.as_bytes(), key.as_bytes())), signer)
            .map_err(Error::Auth)
    }
}

/// How a download is checked.
#[derive(Clone, Debug, Default)]
pub struct Verify {
    /// The policy: `allow` (the default) verifies the objects whose metadata announces
    /// authentication and reads the others as before; `require` refuses the others; `forbid`
    /// verifies nothing.
    pub policy: Policy,
    /// The trusted writers' Ed25519 public keys: when any is given, an object not signed by
    /// one of them is refused, an unauthenticated one included.
    pub trusted: Vec<[u8; 32]>,
}

/// An authenticated object being read: [`chunk`](Self::chunk) returns plaintext only of
/// chunks whose tag verified (the engine's [`ChunkOpener`]), and ends with an error, not a
/// short read, when one does not.
pub struct VerifiedObject {
    opener: Option<ChunkOpener>,
    body: Option<reqwest::Response>,
    pending: Bytes,
    len: u64,
}

impl std::fmt::Debug for VerifiedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedObject")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl VerifiedObject {
    /// The object's length.
    #[must_use]
    pub const fn object_len(&self) -> u64 {
        self.len
    }

    /// The number of plaintext bytes the read returns (0 for an unsatisfiable range, which
    /// fails at the end instead).
    #[must_use]
    pub fn content_length(&self) -> u64 {
        self.opener
            .as_ref()
            .and_then(|o| o.plan().release.as_ref())
            .map_or(0, |r| r.end - r.start)
    }

    /// The next verified plaintext, or `None` at the end.
    ///
    /// # Errors
    /// [`Error::Auth`] with [`AuthError::Chunk`] for a chunk whose tag fails (or that the
    /// server cut short); [`Error::Core`] with [`cse_core::Error::RangeNotSatisfiable`] for a
    /// range past the end, once the last chunk verified; [`Error::Body`] when the body fails.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        use bytes::Buf as _;
        loop {
            let Some(opener) = self.opener.as_mut() else {
                return Ok(None);
            };
            if self.pending.is_empty() {
                let next = match &mut self.body {
                    Some(body) => body.chunk().await.map_err(|e| Error::Body {
                        operation: "GetObject",
                        source: Box::new(e),
                    })?,
                    None => None,
                };
                match next {
                    Some(bytes) => self.pending = bytes,
                    None => return self.end().map(|()| None),
                }
            }
            let (used, released) = opener.update(&self.pending).map_err(Error::Auth)?;
            let out = released
                .filter(|p| !p.is_empty())
                .map(Bytes::copy_from_slice);
            self.pending.advance(used);
            if out.is_some() {
                return Ok(out);
            }
        }
    }

    fn end(&mut self) -> Result<()> {
        let Some(opener) = self.opener.take() else {
            return Ok(());
        };
        let satisfiable = opener.plan().release.is_some();
        let unsatisfiable = opener.plan().unsatisfiable();
        opener.finish().map_err(Error::Auth)?;
        if satisfiable {
            Ok(())
        } else {
            Err(Error::Core(unsatisfiable))
        }
    }
}

impl EncryptionClient {
    /// GetObject with authentication checked (`docs/authenticated-objects.md`, section 10):
    /// HEAD the object; if its metadata announces a side-car, open the envelope, check the key
    /// commitment, fetch and check the side-car header from `<key>.cse-auth` (and the final
    /// tag over all tags for a whole read, or with trusted writers), then fetch the chunks the
    /// read needs. `Ok(None)` when `verify.policy` does not verify this object (no `cse-auth-*`
    /// metadata under `allow`; anything under `forbid`) and no writer is trusted: read it as
    /// usual.
    ///
    /// # Errors
    /// [`Error::Auth`] naming the failed check ([`AuthError::SidecarMissing`],
    /// [`AuthError::NotAuthenticated`] under `require`, ...); [`Error::Core`] for a damaged
    /// envelope or an unsatisfiable range; [`Error::Service`], [`Error::Transport`].
    pub async fn get_object_verified(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
        verify: &Verify,
    ) -> Result<Option<VerifiedObject>> {
        if verify.policy == Policy::Forbid && !verify.trusted.is_empty() {
            return Err(Error::InvalidArgument {
                name: "verify",
                problem: "trusted writers need a policy that verifies (allow or require), not \
                          forbid"
                    .to_owned(),
            });
        }
        let head = self.unencrypted().head_object(bucket, key).await?;
        let params = cse_http::decode_auth_params(&head, DEFAULT_PREFIX)?;
        let verifies = verify
            .policy
            .verifies(params.is_some())
            .map_err(Error::Auth)?;
        let (true, Some(params)) = (verifies, params) else {
            // Trusting writers means refusing what no trusted writer signed.
            return if verify.trusted.is_empty() {
                Ok(None)
            } else {
                Err(Error::Auth(AuthError::NotAuthenticated))
            };
        };
        let envelope = self
            .decode(&head)?
            .ok_or(Error::Auth(AuthError::NotAuthenticated))?;
        let len = content_length(&head, "HeadObject")?;
        envelope.check_stored_len(len)?;
        let material = self.open_envelope(&envelope).await?;
        let cipher = ChunkCipher::new(&material, &envelope, &params, len).map_err(Error::Auth)?;
        let (keys, digest) = (cipher.keys(), cipher.digest());
        let sidecar = sidecar_key(key);
        let (header_bytes, sidecar_total) = self
            .fetch(bucket, &sidecar, 0..SIDECAR_HEADER_LEN as u64, true)
            .await?;
        let expected = Expected {
            envelope: &envelope,
            params: &params,
            len,
            name: Some((bucket.as_bytes(), key.as_bytes())),
            trusted: &verify.trusted,
        };
        let header = keys
            .check_sidecar_header(&digest, &expected, &header_bytes)
            .map_err(Error::Auth)?;
        // The side-car's own length, from the Content-Range total: exactly its tags, as a
        // local side-car must be.
        match sidecar_total.cmp(&header.sidecar_len()) {
            std::cmp::Ordering::Less => {
                return Err(Error::Auth(AuthError::Sidecar(SidecarProblem::TooShort)));
            }
            std::cmp::Ordering::Greater => {
                return Err(Error::Auth(AuthError::Sidecar(
                    SidecarProblem::TrailingBytes,
                )));
            }
            std::cmp::Ordering::Equal => {}
        }
        let plan = match range {
            Some(range) => ChunkPlan::new(range, len, header.chunk_size),
            None => ChunkPlan::whole(len, header.chunk_size),
        }
        .map_err(Error::Auth)?;
        let (tags, first) = if range.is_none() || !verify.trusted.is_empty() {
            let all = SidecarHeader::tag_offset(0)..header.sidecar_len();
            // The whole list is held to check the final tag before any chunk: bounded, since
            // its length comes from the server's Content-Length.
            if all.end - all.start > MAX_TAGS_LEN {
                return Err(Error::InvalidArgument {
                    name: "range",
                    problem: format!(
                        "the object has {} chunks, more tags than a whole or trusted read holds \
                         ({MAX_TAGS_LEN} bytes): read it in ranges, without trusted writers",
                        header.chunks()
                    ),
                });
            }
            let (tags, _) = self.fetch(bucket, &sidecar, all, true).await?;
            let list = tags.chunks_exact(cse_core::auth::TAG_LEN).map(|t| {
                let mut tag = [0u8; cse_core::auth::TAG_LEN];
                tag.copy_from_slice(t);
                cse_core::auth::Tag(tag)
            });
            keys.check_tags(&digest, &header, list)
                .map_err(Error::Auth)?;
            (tags, 0)
        } else {
            (
                self.fetch(bucket, &sidecar, plan.tags.clone(), true)
                    .await?
                    .0,
                plan.chunks.start,
            )
        };
        let body = if plan.body.is_empty() {
            None
        } else {
            Some(
                self.fetch_body(bucket, key, plan.body.clone(), &head)
                    .await?,
            )
        };
        let opener = ChunkOpener::new(cipher, header, tags, first, plan).map_err(Error::Auth)?;
        Ok(Some(VerifiedObject {
            opener: Some(opener),
            body,
            pending: Bytes::new(),
            len,
        }))
    }

    /// The bytes `range` of the side-car `key`, all of them, and the side-car's length.
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        range: Range<u64>,
        sidecar: bool,
    ) -> Result<(Vec<u8>, u64)> {
        let want = range.end - range.start;
        if want == 0 {
            return Ok((Vec::new(), 0));
        }
        let resp = match self.ranged(bucket, key, range.clone()).await {
            Err(Error::Service { error, .. }) if sidecar && error.status == 404 => {
                return Err(Error::Auth(AuthError::SidecarMissing));
            }
            Err(Error::Service { error, .. }) if sidecar && error.status == 416 => {
                return Err(Error::Auth(AuthError::Sidecar(SidecarProblem::TooShort)));
            }
            other => other?,
        };
        let (mut resp, total) = resp;
        let mut out = Vec::new();
        while let Some(bytes) = resp.chunk().await.map_err(|e| Error::Body {
            operation: "GetObject",
            source: Box::new(e),
        })? {
            if out.len() as u64 + bytes.len() as u64 > want {
                break;
            }
            out.extend_from_slice(&bytes);
        }
        if out.len() as u64 != want {
            return Err(Error::Auth(AuthError::Sidecar(SidecarProblem::TooShort)));
        }
        Ok((out, total))
    }

    /// The object's bytes `range`, as a response to stream; it must be the object HEAD saw.
    async fn fetch_body(
        &self,
        bucket: &str,
        key: &str,
        range: Range<u64>,
        head: &HeaderMap,
    ) -> Result<reqwest::Response> {
        let (resp, _) = self.ranged(bucket, key, range).await?;
        let etag = |h: &HeaderMap| h.get("etag").map(|v| v.as_bytes().to_vec());
        if etag(head).is_some() && etag(resp.headers()) != etag(head) {
            return Err(Error::UnexpectedResponse {
                operation: "GetObject",
                problem: "the object changed between HeadObject and GetObject (another ETag); \
                          read it again"
                    .to_owned(),
            });
        }
        Ok(resp)
    }

    /// A GET of exactly `range`, its answer checked by the engine's range plan; with the
    /// object's length the answer gives.
    async fn ranged(
        &self,
        bucket: &str,
        key: &str,
        range: Range<u64>,
    ) -> Result<(reqwest::Response, u64)> {
        let plan = plan_range(
            ByteRange::Bounded {
                first: range.start,
                last: range.end - 1,
            },
            None,
        )?;
        let mut headers = HeaderMap::new();
        cse_http::encode_range(&plan, &mut headers)?;
        let resp = self
            .unencrypted()
            .get_object_raw(bucket, key, headers)
            .await?;
        let answer = cse_http::decode_range_response(resp.status(), resp.headers())?;
        let total = match answer {
            cse_core::RangeResponse::Partial(range) => range.total,
            cse_core::RangeResponse::Whole { len } => len,
            cse_core::RangeResponse::NotSatisfiable { len } => len.unwrap_or(0),
        };
        let body = plan.on_response(answer)?;
        if body.body_start() != range.start || body.body_len() != range.end - range.start {
            return Err(Error::UnexpectedResponse {
                operation: "GetObject",
                problem: format!(
                    "asked for bytes {}..{}, got {} bytes from {}",
                    range.start,
                    range.end,
                    body.body_len(),
                    body.body_start()
                ),
            });
        }
        Ok((resp, total))
    }
}

fn content_length(headers: &HeaderMap, operation: &'static str) -> Result<u64> {
    headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(Error::UnexpectedResponse {
            operation,
            problem: "no Content-Length".to_owned(),
        })
}

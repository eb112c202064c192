//! File transfer helpers: a parallel, resumable multipart upload and a parallel ranged download.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use cse_core::ByteRange;
use http::HeaderMap;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};
use tokio::task::JoinSet;

use crate::checkpoint::UploadCheckpoint;
use crate::client::{PutObjectOutput, set_header};
use crate::encryption::{
    EncryptionClient, EncryptionMultipartContext, InitiateMultipartUploadRequest, UploadedPart,
};
use crate::error::{Error, Result, io_error};

/// Cancels a transfer cooperatively: no new part is started, the parts in flight finish (so no
/// part can land after the upload is aborted), and the upload is aborted, or kept with its
/// checkpoint. Cheap to clone; every clone cancels the same transfer.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
}

impl CancelToken {
    /// A token not yet cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the transfers holding this token.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
}

/// Called with the upload id as soon as InitiateMultipartUpload answers, so that a caller can
/// record or log it before any part is sent: an upload that is never completed or aborted is
/// billed for its parts, and its id is what finds it.
#[derive(Clone)]
pub struct UploadIdHook(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for UploadIdHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadIdHook")
    }
}

/// Told, after each part is uploaded (or skipped on resume because it was uploaded before), how
/// many plaintext bytes it held: a caller's progress bar.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// How [`EncryptionClient::upload_file`] uploads.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// The part size, a positive multiple of 16 (default 8 MiB). A file no larger is sent with
    /// one PutObject.
    pub part_size: u64,
    /// Parts in flight at once (default 4).
    pub concurrency: usize,
    /// A checkpoint file ([`UploadCheckpoint`]): the upload is resumed from it when it
    /// exists, and recorded in it otherwise. On failure or cancellation the upload is kept, with
    /// the checkpoint, to resume by calling `upload_file` again with the same arguments; the
    /// file is removed when the upload completes. Without one, a failed upload is aborted.
    pub checkpoint: Option<PathBuf>,
    /// Cancels the upload.
    pub cancel: Option<CancelToken>,
    /// Told the upload id before any part is sent.
    pub on_upload_id: Option<UploadIdHook>,
    /// Told the bytes of each part done; a file sent with one PutObject is reported whole.
    pub on_progress: Option<ProgressHook>,
    /// Extra headers for PutObject / InitiateMultipartUpload (`content-type`, `x-oss-meta-*`).
    pub headers: Vec<(String, String)>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            part_size: 8 << 20,
            concurrency: 4,
            checkpoint: None,
            cancel: None,
            on_upload_id: None,
            on_progress: None,
            headers: Vec::new(),
        }
    }
}

/// How [`EncryptionClient::download_file`] downloads.
#[derive(Clone, Debug)]
pub struct DownloadOptions {
    /// Bytes per ranged read (default 8 MiB).
    pub part_size: u64,
    /// Reads in flight at once (default 4).
    pub concurrency: usize,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            part_size: 8 << 20,
            concurrency: 4,
        }
    }
}

/// What a checkpoint compares to tell that a file is still the one it began uploading: its
/// size, modification time and inode. A part sealed before is also resealed only from the same
/// bytes (its digest); a part never sealed is read as the file is now, which is why a change
/// that keeps size, time and inode (rare, and only by intent) goes unnoticed for those parts.
fn source_identity(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    format!("file size={} mtime_ns={mtime} inode={inode}", meta.len())
}

/// Aborts the upload if the future driving it is dropped before it finishes (best effort: the
/// abort is spawned on the current runtime, and cannot wait for requests the drop cancelled).
struct AbortOnDrop {
    client: Option<EncryptionClient>,
    context: EncryptionMultipartContext,
}

impl AbortOnDrop {
    fn disarm(mut self) {
        self.client = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let context = self.context.clone();
            runtime.spawn(async move {
                let _ = client.abort_multipart_upload(&context).await;
            });
        }
    }
}

impl EncryptionClient {
    /// Uploads the file at `path`, encrypted: one PutObject when it fits one part, else a
    /// multipart upload with `options.concurrency` parts in flight, in whatever order they
    /// finish.
    ///
    /// On failure the multipart upload is aborted, after the parts in flight finished. With
    /// `options.checkpoint` it is kept instead ([`Error::UploadKept`]) and the same call resumes
    /// it ([`EncryptionClient::resume_multipart_upload`]): the checkpoint is compared with the
    /// file (size, modification time, inode) and with ListParts before anything is sent, and a
    /// part sealed before is sealed again only from the same bytes. `options.cancel` stops it the
    /// same way ([`Error::Cancelled`]). If the returned future is dropped instead, an abort is
    /// spawned on the current runtime (best effort; the id was given to `options.on_upload_id`).
    ///
    /// # Errors
    /// [`Error::Io`] for the file; [`Error::InvalidArgument`] for a zero concurrency;
    /// [`Error::Checkpoint`] for a checkpoint that belongs to another object, file or part size;
    /// [`Error::UploadKept`], [`Error::Cancelled`]; the errors of the multipart operations.
    pub async fn upload_file(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let path = path.as_ref().to_owned();
        if options.concurrency == 0 {
            return Err(Error::InvalidArgument {
                name: "concurrency",
                problem: "must be at least 1".to_owned(),
            });
        }
        let meta = tokio::fs::metadata(&path).await.map_err(io_error(&path))?;
        let size = meta.len();
        // An existing checkpoint is always honoured: a file that now fits one part is a changed
        // file, which the resume check refuses, rather than a reason to leave the upload behind.
        let resuming = options.checkpoint.as_ref().is_some_and(|cp| cp.exists());
        if size <= options.part_size && !resuming {
            let out = self
                .put_object_from_file(bucket, key, &path, &options.headers)
                .await?;
            if let Some(progress) = &options.on_progress {
                (progress.0)(size);
            }
            return Ok(out);
        }
        let mut request = InitiateMultipartUploadRequest::new(bucket, key, options.part_size, size);
        request.headers.clone_from(&options.headers);
        let source = source_identity(&meta);
        let context = match &options.checkpoint {
            Some(cp) if cp.exists() => {
                let checkpoint = UploadCheckpoint::open(cp)?;
                check_resumable(&checkpoint, &request, &source)?;
                self.resume_multipart_upload(checkpoint).await?
            }
            Some(cp) => {
                self.initiate_checkpointed_upload(request, cp, &source)
                    .await?
            }
            None => self.initiate_multipart_upload(request).await?,
        };
        if let Some(hook) = &options.on_upload_id {
            (hook.0)(&context.upload_id);
        }
        if let Some(progress) = &options.on_progress {
            for part in context.completed_parts() {
                (progress.0)(context.context().part_len(part.part_number)?);
            }
        }
        let guard = AbortOnDrop {
            client: options.checkpoint.is_none().then(|| self.clone()),
            context: context.clone(),
        };
        let result = match self.upload_parts(&context, &path, options).await {
            Ok(new) => {
                let mut parts: std::collections::BTreeMap<u32, UploadedPart> = context
                    .completed_parts()
                    .into_iter()
                    .map(|p| (p.part_number, p))
                    .collect();
                parts.extend(new.into_iter().map(|p| (p.part_number, p)));
                let parts: Vec<UploadedPart> = parts.into_values().collect();
                self.complete_multipart_upload(&context, &parts).await
            }
            Err(e) => Err(e),
        };
        guard.disarm();
        match result {
            Ok(out) => Ok(out),
            Err(e) => Err(self.after_failure(&context, options, e).await),
        }
    }

    async fn after_failure(
        &self,
        context: &EncryptionMultipartContext,
        options: &UploadOptions,
        error: Error,
    ) -> Error {
        let cancelled = matches!(error, Error::Cancelled { .. });
        if options.checkpoint.is_some() {
            return if cancelled {
                Error::Cancelled {
                    upload_id: Some(context.upload_id.clone()),
                    kept: true,
                }
            } else {
                Error::UploadKept {
                    upload_id: context.upload_id.clone(),
                    source: Box::new(error),
                }
            };
        }
        // Every part in flight has finished (upload_parts waits for them), so none can land
        // after the abort. The abort is best effort: the original error is what the caller
        // needs; a failed abort leaves the upload for a lifecycle rule, and the error says which.
        match self.abort_multipart_upload(context).await {
            Ok(()) if cancelled => Error::Cancelled {
                upload_id: Some(context.upload_id.clone()),
                kept: false,
            },
            Ok(()) => error,
            Err(_) => Error::UploadKept {
                upload_id: context.upload_id.clone(),
                source: Box::new(error),
            },
        }
    }

    async fn upload_parts(
        &self,
        context: &EncryptionMultipartContext,
        path: &Path,
        options: &UploadOptions,
    ) -> Result<Vec<UploadedPart>> {
        let pending = Arc::new(context.pending_parts());
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for _ in 0..options.concurrency.min(pending.len()) {
            let (client, context, next, stop, pending, path) = (
                self.clone(),
                context.clone(),
                Arc::clone(&next),
                Arc::clone(&stop),
                Arc::clone(&pending),
                path.to_owned(),
            );
            let cancel = options.cancel.clone();
            let progress = options.on_progress.clone();
            tasks.spawn(async move {
                let mut done = Vec::new();
                loop {
                    if cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
                        return Err(Error::Cancelled {
                            upload_id: Some(context.upload_id.clone()),
                            kept: false,
                        });
                    }
                    if stop.load(Ordering::SeqCst) {
                        return Ok(done);
                    }
                    let Some(&n) = pending.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        return Ok::<_, Error>(done);
                    };
                    let len = context.context().part_len(n)?;
                    // Streamed from the file, a piece at a time; retries are checked chunk by
                    // chunk against what was sent, and a checkpointed resume against the digest.
                    let uploaded = client.upload_part_from_file(&context, n, &path).await?;
                    done.push(uploaded);
                    if let Some(progress) = &progress {
                        (progress.0)(len);
                    }
                }
            });
        }
        // On the first failure no new part starts, but the parts in flight are waited for, not
        // dropped: a dropped request can still land after the abort that follows.
        let mut parts = Vec::with_capacity(pending.len());
        let mut failure: Option<Error> = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|join| {
                Err(Error::UnexpectedResponse {
                    operation: "UploadPart",
                    problem: format!("an upload task ended abnormally: {join}"),
                })
            });
            match result {
                Ok(mut done) => parts.append(&mut done),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    // A real failure outranks the cancellation it may have raced with.
                    if failure
                        .as_ref()
                        .is_none_or(|f| matches!(f, Error::Cancelled { .. }))
                    {
                        failure = Some(e);
                    }
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(parts),
        }
    }

    /// Downloads and decrypts the object into `path` with `options.concurrency` ranged reads in
    /// flight. The data goes to a temporary file beside `path`, renamed into place only when
    /// every byte arrived and decrypted; on failure it is removed, so no partial file is left.
    ///
    /// # Errors
    /// [`Error::Io`]; the errors of [`EncryptionClient::get_object`]; [`Error::UnexpectedResponse`]
    /// when the object changed during the download.
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        options: &DownloadOptions,
    ) -> Result<u64> {
        let path = path.as_ref().to_owned();
        if options.concurrency == 0 || options.part_size == 0 {
            return Err(Error::InvalidArgument {
                name: "options",
                problem: "concurrency and part_size must be at least 1".to_owned(),
            });
        }
        let temp = temp_path(&path);
        // Partial plaintext never outlives the call: removed on failure, on a failed rename,
        // and if the future is dropped.
        let guard = RemoveOnDrop(Some(temp.clone()));
        let size = self.download_into(bucket, key, &temp, options).await?;
        tokio::fs::rename(&temp, &path)
            .await
            .map_err(io_error(&path))?;
        guard.disarm();
        Ok(size)
    }

    async fn download_into(
        &self,
        bucket: &str,
        key: &str,
        temp: &Path,
        options: &DownloadOptions,
    ) -> Result<u64> {
        let (head, material) = self.open_object(bucket, key).await?;
        let size = head
            .content_length
            .ok_or_else(|| Error::UnexpectedResponse {
                operation: "HeadObject",
                problem: "no Content-Length".to_owned(),
            })?;
        // The pieces are ranged reads: without this, a cut or extended object would download
        // "successfully" at its stored length.
        if let Some(envelope) = &head.envelope {
            envelope.check_stored_len(size)?;
        }
        let md5_check = head
            .envelope
            .as_ref()
            .and_then(cse_core::Envelope::content_md5_check);
        // The plaintext's temporary file: new (never an existing file or link), owner-only.
        let mut create = tokio::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        create.mode(0o600);
        let file = create.open(temp).await.map_err(io_error(temp))?;
        file.set_len(size).await.map_err(io_error(temp))?;
        drop(file);
        if size == 0 {
            return Ok(0);
        }
        let pieces = size.div_ceil(options.part_size);
        let next = Arc::new(AtomicU64::new(0));
        let shared = Arc::new((head, material));
        let mut tasks = JoinSet::new();
        for _ in 0..u64::try_from(options.concurrency).unwrap_or(1).min(pieces) {
            let (client, next, shared, temp) = (
                self.clone(),
                Arc::clone(&next),
                Arc::clone(&shared),
                temp.to_owned(),
            );
            let (bucket, key, part_size) = (bucket.to_owned(), key.to_owned(), options.part_size);
            tasks.spawn(async move {
                let mut file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&temp)
                    .await
                    .map_err(io_error(&temp))?;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= pieces {
                        return Ok::<_, Error>(());
                    }
                    let first = i * part_size;
                    let last = (first + part_size).min(size) - 1;
                    let (head, material) = shared.as_ref();
                    let mut headers = HeaderMap::new();
                    if let Some(etag) = &head.etag {
                        // The object must not change under a multi-request read.
                        set_header(&mut headers, "if-match", etag)?;
                    }
                    let known = head.envelope.as_ref().zip(material.as_ref());
                    let mut out = client
                        .get_object_inner(
                            &bucket,
                            &key,
                            Some(ByteRange::Bounded { first, last }),
                            known,
                            headers,
                        )
                        .await?;
                    file.seek(std::io::SeekFrom::Start(first))
                        .await
                        .map_err(io_error(&temp))?;
                    let mut written = 0u64;
                    while let Some(chunk) = out.body.chunk().await? {
                        written += chunk.len() as u64;
                        file.write_all(&chunk).await.map_err(io_error(&temp))?;
                    }
                    if written != last - first + 1 {
                        return Err(Error::UnexpectedResponse {
                            operation: "GetObject",
                            problem: format!("bytes {first}-{last} came back as {written} bytes"),
                        });
                    }
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let failed = match joined {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(join) => Some(Error::UnexpectedResponse {
                    operation: "GetObject",
                    problem: format!("a download task ended abnormally: {join}"),
                }),
            };
            if let Some(e) = failed {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return Err(e);
            }
        }
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(temp)
            .await
            .map_err(io_error(temp))?;
        file.sync_all().await.map_err(io_error(temp))?;
        // The pieces arrived in any order; the plaintext MD5 the envelope records is checked
        // over the assembled file, before it is renamed into place.
        if let Some(mut check) = md5_check {
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf).await.map_err(io_error(temp))?;
                if n == 0 {
                    break;
                }
                check.update(&buf[..n]);
            }
            check.finish()?;
        }
        Ok(size)
    }
}

/// A checkpoint resumes only the upload it was written for: the same object, the same file as it
/// was, the same part size.
fn check_resumable(
    checkpoint: &UploadCheckpoint,
    request: &InitiateMultipartUploadRequest,
    source: &str,
) -> Result<()> {
    let state = checkpoint.state();
    let sizes = state.envelope.multipart();
    let problem = if (state.bucket.as_str(), state.key.as_str())
        != (request.bucket.as_str(), request.key.as_str())
    {
        format!(
            "belongs to an upload of oss://{}/{}, not oss://{}/{}",
            state.bucket, state.key, request.bucket, request.key
        )
    } else if state.source != source {
        format!(
            "was written for the file as it was ({}); it is now {source}: the file changed \
             since the upload began, so its parts cannot be resumed. Abort upload {} and \
             remove the checkpoint to start over",
            state.source,
            state.upload_id.as_deref().unwrap_or("(no id recorded)")
        )
    } else if sizes.map(|m| m.part_size) != Some(request.part_size) {
        format!(
            "was written with part size {}, not {}; resume with the same part size",
            sizes.map_or(0, |m| m.part_size),
            request.part_size
        )
    } else {
        return Ok(());
    };
    Err(Error::Checkpoint {
        path: checkpoint.path().to_owned(),
        problem,
    })
}

/// Removes a file when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let mut tag = [0u8; 6];
    let _ = getrandom::fill(&mut tag);
    name.push(format!(".{}.cse-partial", hex::encode(tag)));
    path.with_file_name(name)
}

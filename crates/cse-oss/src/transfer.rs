//! File transfer helpers: a parallel multipart upload and a parallel ranged download.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use bytes::Bytes;
use cse_core::ByteRange;
use http::HeaderMap;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};
use tokio::task::JoinSet;

use crate::client::{PutObjectOutput, set_header};
use crate::encryption::{
    EncryptionClient, EncryptionMultipartContext, InitiateMultipartUploadRequest, PutObjectRequest,
    UploadedPart,
};
use crate::error::{Error, Result};

/// How [`EncryptionClient::upload_file`] uploads.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// The part size, a positive multiple of 16 (default 8 MiB). A file no larger is sent with
    /// one PutObject.
    pub part_size: u64,
    /// Parts in flight at once (default 4).
    pub concurrency: usize,
    /// On failure, keep the multipart upload to resume it instead of aborting it.
    pub keep_on_failure: bool,
    /// Extra headers for PutObject / InitiateMultipartUpload (`content-type`, `x-oss-meta-*`).
    pub headers: Vec<(String, String)>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            part_size: 8 << 20,
            concurrency: 4,
            keep_on_failure: false,
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

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

async fn read_at(path: &Path, offset: u64, len: u64) -> Result<Bytes> {
    let mut file = tokio::fs::File::open(path).await.map_err(io_error(path))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(io_error(path))?;
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    file.read_exact(&mut buf).await.map_err(io_error(path))?;
    Ok(Bytes::from(buf))
}

impl EncryptionClient {
    /// Uploads the file at `path`, encrypted: one PutObject when it fits one part, else a
    /// multipart upload with `options.concurrency` parts in flight, in whatever order they
    /// finish. On failure the upload is aborted, unless `options.keep_on_failure`, in which case
    /// the error is [`Error::UploadKept`] with the upload id to resume
    /// ([`EncryptionClient::resume_multipart_upload`]).
    ///
    /// The file must not change during the upload: a part re-read from a changed file would be
    /// encrypted with keystream another part already used only if resumed, which
    /// `resume_multipart_upload` refuses, but the object would mix old and new bytes.
    ///
    /// # Errors
    /// [`Error::Io`] for the file; [`Error::InvalidArgument`] for a zero concurrency; the errors
    /// of the multipart operations.
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
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(io_error(&path))?
            .len();
        if size <= options.part_size {
            let body = tokio::fs::read(&path).await.map_err(io_error(&path))?;
            let mut request = PutObjectRequest::new(bucket, key, body);
            request.headers.clone_from(&options.headers);
            return self.put_object(request).await;
        }
        let mut request = InitiateMultipartUploadRequest::new(bucket, key, options.part_size, size);
        request.headers.clone_from(&options.headers);
        let context = self.initiate_multipart_upload(request).await?;
        match self
            .upload_parts(&context, &path, options.concurrency)
            .await
        {
            Ok(parts) => match self.complete_multipart_upload(&context, &parts).await {
                Ok(out) => Ok(out),
                Err(e) => Err(self.after_failure(&context, options, e).await),
            },
            Err(e) => Err(self.after_failure(&context, options, e).await),
        }
    }

    async fn after_failure(
        &self,
        context: &EncryptionMultipartContext,
        options: &UploadOptions,
        error: Error,
    ) -> Error {
        if options.keep_on_failure {
            return Error::UploadKept {
                upload_id: context.upload_id.clone(),
                source: Box::new(error),
            };
        }
        // The abort is best effort: the original error is what the caller needs. A failed abort
        // leaves the upload for a lifecycle rule, and the error says which upload it was.
        match self.abort_multipart_upload(context).await {
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
        concurrency: usize,
    ) -> Result<Vec<UploadedPart>> {
        let count = context.context().part_count();
        let next = Arc::new(AtomicU32::new(1));
        let mut tasks = JoinSet::new();
        for _ in 0..concurrency.min(count as usize) {
            let (client, context, next, path) = (
                self.clone(),
                context.clone(),
                Arc::clone(&next),
                path.to_owned(),
            );
            tasks.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n > count {
                        return Ok::<_, Error>(done);
                    }
                    let len = context.context().part_len(n)?;
                    let offset = u64::from(n - 1) * context.context().part_size();
                    let body = read_at(&path, offset, len).await?;
                    done.push(client.upload_part(&context, n, body).await?);
                }
            });
        }
        let mut parts = Vec::with_capacity(count as usize);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(mut done)) => parts.append(&mut done),
                Ok(Err(e)) => {
                    tasks.abort_all();
                    return Err(e);
                }
                Err(join) => {
                    tasks.abort_all();
                    return Err(Error::UnexpectedResponse {
                        operation: "UploadPart",
                        problem: format!("an upload task ended abnormally: {join}"),
                    });
                }
            }
        }
        Ok(parts)
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
        let result = self.download_into(bucket, key, &temp, options).await;
        match result {
            Ok(size) => {
                tokio::fs::rename(&temp, &path)
                    .await
                    .map_err(io_error(&path))?;
                Ok(size)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(e)
            }
        }
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
        let file = tokio::fs::File::create(temp)
            .await
            .map_err(io_error(temp))?;
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
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(temp)
            .await
            .map_err(io_error(temp))?;
        file.sync_all().await.map_err(io_error(temp))?;
        Ok(size)
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let mut tag = [0u8; 6];
    let _ = getrandom::fill(&mut tag);
    name.push(format!(".{}.cse-partial", hex::encode(tag)));
    path.with_file_name(name)
}

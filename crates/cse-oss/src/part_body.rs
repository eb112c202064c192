//! Request bodies streamed from a file, sealed as they are sent, in bounded memory.
//!
//! A whole object ([`FileBody::whole`]) is sealed with a [`Sealer`]; each attempt of a PutObject
//! gets its own material, so a retry never reuses keystream whatever the file became. A part
//! ([`PartUpload`]) is sealed under the upload's one key, so each attempt goes through a
//! [`TrackedPartSealer`]: a chunk that any earlier attempt released is released again only if
//! it is the same ciphertext. Attempts of one part share one state behind a lock, and a new
//! attempt supersedes the old one under that lock, so a body the HTTP stack has not dropped yet
//! can release nothing more once its successor has taken the fingerprint.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex as SyncMutex};
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes, BytesMut};
use cse_core::{
    FINGERPRINT_CHUNK_LEN, MultipartContext, PartFingerprint, Sealer, TrackedPartSealer,
};
use http_body::{Frame, SizeHint};
use tokio::sync::Mutex;

use crate::crc64::Crc64;
use crate::error::{Error, Result, io_error};

/// The bytes read, sealed and sent at a time: four fingerprint chunks, so every piece of a part
/// ends on a chunk boundary (or at the part's end).
pub(crate) const PIECE_LEN: usize = 4 * FINGERPRINT_CHUNK_LEN;

type Piece = Option<std::result::Result<Bytes, Error>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;
type PieceFuture = Pin<Box<dyn Future<Output = (Piece, Source)> + Send>>;

/// What the next piece is read from, moved in and out of each read's future.
enum Source {
    Whole(Box<WholeState>),
    Part(PartHandle),
}

/// A piece at a time, from a [`Source`]: a request body for reqwest.
pub(crate) struct FileBody {
    /// `None` between the end of one read and the start of the next, and after the end.
    next: SyncMutex<Option<PieceFuture>>,
    idle: Option<Source>,
    remaining: u64,
}

impl fmt::Debug for FileBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBody")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl FileBody {
    fn new(source: Source, len: u64) -> Self {
        Self {
            next: SyncMutex::new(None),
            idle: Some(source),
            remaining: len,
        }
    }

    /// The file at `path`, `len` bytes from its start, sealed by `sealer` (a fresh material's).
    /// The CRC-64 of what was sent lands in `crc` at the end.
    pub(crate) async fn whole(
        path: &Path,
        len: u64,
        sealer: Sealer,
        crc: Arc<SyncMutex<Option<u64>>>,
        sidecar: Option<SidecarSlot>,
    ) -> Result<Self> {
        let file = PieceFile::open(path, 0).await?;
        let mut sidecar = sidecar;
        if len == 0 {
            // hyper sends an empty body without polling it: its CRC is known now, and so is
            // its side-car (one empty chunk).
            if let Ok(mut done) = crc.lock() {
                *done = Some(Crc64::new().value());
            }
            if let Some((writer, slot)) = sidecar.take()
                && let Ok(mut slot) = slot.lock()
            {
                *slot = Some(writer);
            }
        }
        Ok(Self::new(
            Source::Whole(Box::new(WholeState {
                file,
                sealer: Some(sealer),
                len,
                left: len,
                crc: Crc64::new(),
                done: crc,
                sidecar,
            })),
            len,
        ))
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let slot = this
            .next
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            let Some(source) = this.idle.take() else {
                return Poll::Ready(None);
            };
            *slot = Some(Box::pin(source.read()));
        }
        let Some(future) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let (piece, source) = match future.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(out) => out,
        };
        *slot = None;
        match piece {
            Some(Ok(bytes)) => {
                this.remaining = this.remaining.saturating_sub(bytes.len() as u64);
                this.idle = Some(source);
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            // An error ends the body; so does the end of the data.
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.idle.is_none()
            && self
                .next
                .lock()
                .map(|n| n.is_none())
                .unwrap_or_else(|p| p.into_inner().is_none())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Source {
    async fn read(self) -> (Piece, Self) {
        match self {
            Self::Whole(mut s) => {
                let piece = s.next().await;
                (piece, Self::Whole(s))
            }
            Self::Part(h) => {
                let piece = h.next().await;
                (piece, Self::Part(h))
            }
        }
    }
}

/// The alignment of every piece buffer: a page, which is also a multiple of every cache line.
/// The kernel copies into and out of an aligned buffer at several times the speed of one that
/// starts 16 bytes past a page, where the allocator puts a large allocation.
const PIECE_ALIGN: usize = 4096;

/// A zeroed buffer of `len` bytes whose first byte is page-aligned. Safe code: a larger
/// allocation, used from its first aligned byte (on a target where `align_offset` gives up, it
/// is merely unaligned, never wrong).
pub(crate) fn aligned_piece(len: usize) -> BytesMut {
    let mut buf = BytesMut::zeroed(len + PIECE_ALIGN);
    let skip = buf.as_ptr().align_offset(PIECE_ALIGN).min(PIECE_ALIGN);
    let mut piece = buf.split_off(skip);
    piece.truncate(len);
    piece
}

/// A file read a piece at a time on tokio's blocking pool, straight into the piece's buffer
/// (`tokio::fs::File` reads into a buffer of its own and copies out of it: a second copy of
/// every byte, and into an unaligned buffer).
pub(crate) struct PieceFile {
    file: Arc<std::fs::File>,
    path: Arc<Path>,
}

impl PieceFile {
    /// The file at `path`, positioned at `offset`.
    pub(crate) async fn open(path: &Path, offset: u64) -> Result<Self> {
        let path: Arc<Path> = Arc::from(path);
        let at = Arc::clone(&path);
        let file = blocking(&path, move || {
            use std::io::Seek as _;
            let mut file = std::fs::File::open(&at)?;
            if offset > 0 {
                file.seek(std::io::SeekFrom::Start(offset))?;
            }
            Ok(file)
        })
        .await?;
        Ok(Self {
            file: Arc::new(file),
            path,
        })
    }

    /// Reads up to `want` bytes, at most [`PIECE_LEN`] (fewer only at the end of the file), into
    /// a fresh page-aligned buffer.
    ///
    /// `&mut self`: reads of one file are one at a time, so their order is the file's. (A read
    /// still running on the pool when its body is dropped moves only this handle's offset; each
    /// attempt opens its own.)
    pub(crate) async fn read_piece(&mut self, want: u64) -> Result<BytesMut> {
        let want = usize::try_from(want).unwrap_or(PIECE_LEN).min(PIECE_LEN);
        let file = Arc::clone(&self.file);
        blocking(&self.path, move || {
            use std::io::Read as _;
            let mut buf = aligned_piece(want);
            let mut filled = 0;
            while filled < want {
                match (&*file).read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(filled);
            Ok(buf)
        })
        .await
    }

    /// Whether the file has a byte past where it was read to (it grew while it was read).
    async fn has_more(&mut self) -> Result<bool> {
        let file = Arc::clone(&self.file);
        blocking(&self.path, move || {
            use std::io::Read as _;
            let mut probe = [0u8; 1];
            loop {
                match (&*file).read(&mut probe) {
                    Ok(n) => return Ok(n > 0),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .await
    }
}

/// Runs `f` on tokio's blocking pool; an IO error names `path`.
async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(done) => done.map_err(io_error(path)),
        Err(e) => Err(io_error(path)(std::io::Error::other(e))),
    }
}

/// An authenticated upload's side-car writer, fed the ciphertext as it is sent; it lands in
/// the slot once the whole body was sealed, for the caller to finish and upload.
pub(crate) type SidecarSlot = (
    cse_core::auth::SidecarWriter<Arc<cse_core::auth::AuthKeys>>,
    Arc<SyncMutex<Option<cse_core::auth::SidecarWriter<Arc<cse_core::auth::AuthKeys>>>>>,
);

struct WholeState {
    file: PieceFile,
    sealer: Option<Sealer>,
    len: u64,
    left: u64,
    crc: Crc64,
    done: Arc<SyncMutex<Option<u64>>>,
    sidecar: Option<SidecarSlot>,
}

impl WholeState {
    async fn next(&mut self) -> Piece {
        let sealer = self.sealer.as_mut()?;
        if self.left == 0 {
            return self.finish().err().map(Err);
        }
        let mut buf = match self.file.read_piece(self.left).await {
            Ok(buf) => buf,
            Err(e) => return Some(Err(e)),
        };
        if buf.is_empty() {
            // The file shrank: the sealer's length check names it.
            return self.finish().err().map(Err);
        }
        if let Err(e) = sealer.update_in_place(&mut buf) {
            self.sealer = None;
            return Some(Err(e.into()));
        }
        self.left = self.left.saturating_sub(buf.len() as u64);
        self.crc.update(&buf);
        if let Some((writer, _)) = &mut self.sidecar {
            writer.update(&buf);
        }
        if self.left == 0 {
            // A file that grew while it was read is not the file that was measured: refused
            // before its last piece goes, as one that shrank is.
            match self.file.has_more().await {
                Ok(false) => {}
                Ok(true) => {
                    self.sealer = None;
                    return Some(Err(Error::Core(cse_core::Error::Extended {
                        expected: self.len,
                    })));
                }
                Err(e) => return Some(Err(e)),
            }
            if let Err(e) = self.finish() {
                return Some(Err(e));
            }
        }
        Some(Ok(buf.freeze()))
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(sealer) = self.sealer.take() {
            sealer.finish()?;
            if let Ok(mut done) = self.done.lock() {
                *done = Some(self.crc.value());
            }
            if let Some((writer, slot)) = self.sidecar.take()
                && let Ok(mut slot) = slot.lock()
            {
                *slot = Some(writer);
            }
        }
        Ok(())
    }
}

/// One part of a multipart upload streamed from a file, across all its attempts.
pub(crate) struct PartUpload {
    state: Arc<Mutex<PartState>>,
    context: Arc<MultipartContext>,
    part: u32,
    path: PathBuf,
    /// Where the part starts in the file.
    offset: u64,
    len: u64,
}

impl fmt::Debug for PartUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartUpload")
            .field("part", &self.part)
            .finish_non_exhaustive()
    }
}

struct PartState {
    /// The attempt allowed to release bytes; an older body finds itself superseded.
    attempt: u64,
    file: Option<PieceFile>,
    sealer: Option<TrackedPartSealer>,
    /// The fingerprint of every chunk any attempt released; complete after a whole send. Before
    /// the first attempt: a fingerprinter's (a checkpoint's digest was computed first).
    fingerprint: Option<PartFingerprint>,
    /// The digest a checkpoint recorded for the part in an earlier run, which the first
    /// attempt's fingerprint must have.
    recorded: Option<cse_core::PartDigest>,
    left: u64,
    crc: Crc64,
    /// The CRC-64 of the last attempt that sent the whole part.
    sent_crc: Option<u64>,
    /// An engine or file error: a changed source is not retried.
    failure: Option<Error>,
}

struct PartHandle {
    upload: Arc<PartUploadShared>,
    attempt: u64,
}

/// What a body of the part needs, shared with the [`PartUpload`].
struct PartUploadShared {
    state: Arc<Mutex<PartState>>,
}

impl PartUpload {
    /// A part of `len` bytes at `offset` in the file at `path`, to be sealed as part `part`.
    /// `fingerprint` is a fingerprinter's over the file now, when a checkpoint needed the digest
    /// first; `recorded` the digest an earlier run recorded for the part, which it must match.
    pub(crate) fn new(
        context: Arc<MultipartContext>,
        part: u32,
        path: &Path,
        (offset, len): (u64, u64),
        fingerprint: Option<PartFingerprint>,
        recorded: Option<cse_core::PartDigest>,
    ) -> Self {
        Self {
            state: Arc::new(Mutex::new(PartState {
                attempt: 0,
                file: None,
                sealer: None,
                fingerprint,
                recorded,
                left: 0,
                crc: Crc64::new(),
                sent_crc: None,
                failure: None,
            })),
            context,
            part,
            path: path.to_owned(),
            offset,
            len,
        }
    }

    /// A body for the next attempt: the previous attempt, if its body still exists, releases
    /// nothing more from here on.
    ///
    /// # Errors
    /// The error that ended the previous attempt inside the body (a changed source, a read
    /// error), which is not worth a retry; [`Error::Io`] opening the file; the engine's
    /// [`cse_core::Error::PartAlreadySealed`] for a part another seal claimed.
    pub(crate) async fn attempt(&self) -> Result<FileBody> {
        let mut st = self.state.lock().await;
        if let Some(e) = st.failure.take() {
            return Err(e);
        }
        // The file first: a failure to open it must not cost the fingerprint.
        let file = PieceFile::open(&self.path, self.offset).await?;
        st.attempt += 1;
        // The previous attempt ends here: what it released is the fingerprint to check.
        let sealer = match (st.sealer.take(), st.fingerprint.take(), st.recorded.take()) {
            (Some(previous), _, _) => self
                .context
                .tracked_part_sealer(self.part, Some(previous.into_fingerprint()))?,
            (None, Some(fingerprint), Some(recorded)) => {
                self.context
                    .tracked_part_resealer(self.part, fingerprint, &recorded)?
            }
            (None, fingerprint, None) => {
                self.context.tracked_part_sealer(self.part, fingerprint)?
            }
            (None, None, Some(_)) => {
                return Err(Error::UnexpectedResponse {
                    operation: "UploadPart",
                    problem: "a recorded part needs its fingerprint to be resealed".to_owned(),
                });
            }
        };
        st.file = Some(file);
        st.sealer = Some(sealer);
        st.left = self.len;
        st.crc = Crc64::new();
        st.sent_crc = None;
        let handle = PartHandle {
            upload: Arc::new(PartUploadShared {
                state: Arc::clone(&self.state),
            }),
            attempt: st.attempt,
        };
        Ok(FileBody::new(Source::Part(handle), self.len))
    }

    /// After a successful answer: the CRC-64 of the attempt that sent the whole part.
    pub(crate) async fn sent(&self) -> Option<u64> {
        let mut st = self.state.lock().await;
        let complete = st
            .fingerprint
            .as_ref()
            .is_some_and(PartFingerprint::is_complete);
        st.file = None;
        st.sent_crc.filter(|_| complete)
    }

    /// The error that ended the last attempt inside its body, if one did.
    pub(crate) async fn take_failure(&self) -> Option<Error> {
        self.state.lock().await.failure.take()
    }
}

impl PartHandle {
    async fn next(&self) -> Piece {
        let mut st = self.upload.state.lock().await;
        if st.attempt != self.attempt {
            return Some(Err(Error::UnexpectedResponse {
                operation: "UploadPart",
                problem: "this attempt was superseded by a retry".to_owned(),
            }));
        }
        st.sealer.as_ref()?;
        let st = &mut *st;
        let left = st.left;
        let read = match st.file.as_mut() {
            Some(file) => file.read_piece(left).await,
            None => return None,
        };
        let mut buf = match read {
            Ok(buf) => buf,
            Err(e) => return Some(Err(fail(st, e))),
        };
        let sealer = st.sealer.as_mut()?;
        if buf.is_empty() {
            // The file shrank under the part: the sealer's length check names it.
            let e = match st.sealer.take().map(TrackedPartSealer::finish) {
                Some(Err(e)) => Error::from(e),
                _ => Error::UnexpectedResponse {
                    operation: "UploadPart",
                    problem: "the file ended inside the part".to_owned(),
                },
            };
            return Some(Err(fail(st, e)));
        }
        if let Err(e) = sealer.update_in_place(&mut buf) {
            return Some(Err(fail(st, e.into())));
        }
        st.left = st.left.saturating_sub(buf.len() as u64);
        st.crc.update(&buf);
        if st.left == 0 {
            match st.sealer.take().map(TrackedPartSealer::finish) {
                Some(Ok(fingerprint)) => {
                    st.fingerprint = Some(fingerprint);
                    st.sent_crc = Some(st.crc.value());
                }
                Some(Err(e)) => return Some(Err(fail(st, e.into()))),
                None => {}
            }
        }
        Some(Ok(buf.freeze()))
    }
}

/// Records `e` as the end of the part's attempts and returns a copy for the body.
fn fail(st: &mut PartState, e: Error) -> Error {
    let shown = Error::UnexpectedResponse {
        operation: "UploadPart",
        problem: e.to_string(),
    };
    st.failure = Some(e);
    shown
}

/// The fingerprint of part `part`, `len` bytes at `offset` in the file at `path`, computed
/// without releasing any ciphertext: what a checkpoint records before the part leaves.
///
/// # Errors
/// [`Error::Io`]; the engine's length errors when the file is shorter than the part.
pub(crate) async fn fingerprint_file(
    context: &MultipartContext,
    part: u32,
    path: &Path,
    offset: u64,
    len: u64,
) -> Result<PartFingerprint> {
    let mut fingerprinter = context.part_fingerprinter(part)?;
    let mut file = PieceFile::open(path, offset).await?;
    let mut left = len;
    while left > 0 {
        let buf = file.read_piece(left).await?;
        if buf.is_empty() {
            break;
        }
        fingerprinter.update(&buf)?;
        left -= buf.len() as u64;
    }
    Ok(fingerprinter.finish()?)
}

/// The most one PutObject may carry: OSS's 5 GB (GiB) limit.
pub const MAX_PUT_OBJECT_LEN: u64 = 5 << 30;

/// What a [`Counted`] body saw, for the caller once the request is over.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Bytes that passed.
    pub(crate) len: u64,
    /// Their CRC-64 (the caller compares `len` with what it expected).
    pub(crate) crc: Option<u64>,
    /// The body was cut off at the limit.
    pub(crate) over_limit: bool,
}

/// A body that counts and CRCs what passes, and ends with an error past `limit` bytes.
pub(crate) struct Counted<B> {
    inner: B,
    crc: Crc64,
    limit: u64,
    tally: Arc<SyncMutex<Tally>>,
}

impl<B> Counted<B> {
    pub(crate) fn new(inner: B, limit: u64, tally: Arc<SyncMutex<Tally>>) -> Self {
        let crc = Crc64::new();
        // An empty body may never be polled at all.
        if let Ok(mut t) = tally.lock() {
            t.crc = Some(crc.value());
        }
        Self {
            inner,
            crc,
            limit,
            tally,
        }
    }
}

/// The error a [`Counted`] body ends with past its limit (the caller reports it properly).
#[derive(Debug)]
struct OverLimit(u64);

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the body passed {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

impl<B> http_body::Body for Counted<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                if let Ok(mut tally) = this.tally.lock() {
                    tally.crc = Some(this.crc.value());
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let Ok(mut tally) = this.tally.lock() else {
                        return Poll::Ready(Some(Err(Box::new(OverLimit(this.limit)))));
                    };
                    tally.len = tally.len.saturating_add(data.len() as u64);
                    if tally.len > this.limit {
                        tally.over_limit = true;
                        return Poll::Ready(Some(Err(Box::new(OverLimit(this.limit)))));
                    }
                    this.crc.update(data);
                    // hyper stops polling once a declared length is reached, so the end may
                    // never be polled: the CRC so far is kept after every frame.
                    tally.crc = Some(this.crc.value());
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A body read from an [`AsyncRead`](tokio::io::AsyncRead) a piece at a time.
pub(crate) struct ReaderBody<R> {
    /// In a mutex only to be `Sync`, as reqwest wants; reached through `&mut` without locking.
    reader: SyncMutex<R>,
    /// The piece buffer, kept across polls: a read that is not ready allocates nothing, and a
    /// short read hands out a copy of its bytes and keeps the buffer for the next one.
    spare: Option<BytesMut>,
    done: bool,
}

impl<R> ReaderBody<R> {
    pub(crate) const fn new(reader: R) -> Self {
        Self {
            reader: SyncMutex::new(reader),
            spare: None,
            done: false,
        }
    }
}

/// A read shorter than this goes out as a copy, so that its frame does not keep a whole
/// piece buffer alive while it waits to be sent.
const SHORT_READ: usize = PIECE_LEN / 4;

impl<R: tokio::io::AsyncRead + Unpin> http_body::Body for ReaderBody<R> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let reader = this
            .reader
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut buf = this
            .spare
            .take()
            .unwrap_or_else(|| aligned_piece(PIECE_LEN));
        let mut read = tokio::io::ReadBuf::new(&mut buf);
        match Pin::new(reader).poll_read(cx, &mut read) {
            Poll::Pending => {
                this.spare = Some(buf);
                Poll::Pending
            }
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    this.done = true;
                    return Poll::Ready(None);
                }
                if n < SHORT_READ {
                    let frame = Bytes::copy_from_slice(&buf[..n]);
                    this.spare = Some(buf);
                    return Poll::Ready(Some(Ok(Frame::data(frame))));
                }
                buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// The attempts of one part streamed from a caller's body, shared through the upload's context:
/// each call of `upload_part_stream` for the part is an attempt, and a new one supersedes the
/// old (whose body can then release nothing more) and checks what it releases against
/// everything the old ones released.
#[derive(Debug, Default)]
pub(crate) struct StreamedPart {
    attempt: u64,
    sealer: Option<TrackedPartSealer>,
    /// Every chunk released by a finished attempt (all of the part).
    fingerprint: Option<PartFingerprint>,
}

/// The parts of one upload streamed from callers' bodies.
pub(crate) type StreamedParts =
    Arc<SyncMutex<std::collections::HashMap<u32, Arc<SyncMutex<StreamedPart>>>>>;

/// A body that seals a caller's plaintext body as one part, gathering it into pieces that end on
/// fingerprint chunk boundaries. Made by [`StreamedPart::attempt`].
pub(crate) struct TrackedBody<B> {
    inner: B,
    part: Arc<SyncMutex<StreamedPart>>,
    attempt: u64,
    gathered: BytesMut,
    /// The part number and length.
    number: u32,
    len: u64,
    /// The part's length still to come from `inner`.
    left: u64,
    ended: bool,
    crc: Crc64,
    tally: Arc<SyncMutex<Tally>>,
}

impl StreamedPart {
    /// Starts an attempt of part `number` (of `len` bytes) with `inner` as its plaintext.
    ///
    /// # Errors
    /// [`cse_core::Error::PartAlreadySealed`] for a part number sealed another way.
    pub(crate) fn attempt<B>(
        part: &Arc<SyncMutex<Self>>,
        context: &MultipartContext,
        number: u32,
        len: u64,
        inner: B,
        tally: Arc<SyncMutex<Tally>>,
    ) -> Result<TrackedBody<B>> {
        let mut st = part
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The previous attempt ends here: what it released is the fingerprint to check. (Should
        // the engine refuse it, the part cannot be resent: that fails closed.)
        let fingerprint = match st.sealer.take() {
            Some(previous) => Some(previous.into_fingerprint()),
            None => st.fingerprint.take(),
        };
        let sealer = context.tracked_part_sealer(number, fingerprint)?;
        st.attempt += 1;
        st.sealer = Some(sealer);
        Ok(TrackedBody {
            inner,
            part: Arc::clone(part),
            attempt: st.attempt,
            gathered: BytesMut::new(),
            number,
            len,
            left: len,
            ended: false,
            crc: Crc64::new(),
            tally,
        })
    }
}

impl<B> TrackedBody<B> {
    /// Seals and releases `piece`, under the part's lock, if this attempt still holds it.
    fn release(&mut self, mut piece: BytesMut, last: bool) -> std::result::Result<Bytes, BoxError> {
        let mut st = self
            .part
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if st.attempt != self.attempt {
            return Err("this send of the part was superseded by another".into());
        }
        let Some(sealer) = st.sealer.as_mut() else {
            return Err("the part's sealer is gone".into());
        };
        sealer
            .update_in_place(&mut piece)
            .map_err(|e| Box::new(cse_http::Error::Core(e.into())) as BoxError)?;
        if last {
            let finished = st.sealer.take().map(TrackedPartSealer::finish);
            match finished {
                Some(Ok(fingerprint)) => st.fingerprint = Some(fingerprint),
                Some(Err(e)) => return Err(Box::new(cse_http::Error::Core(e.into()))),
                None => {}
            }
        }
        self.crc.update(&piece);
        if let Ok(mut tally) = self.tally.lock() {
            tally.len = tally.len.saturating_add(piece.len() as u64);
            tally.crc = Some(self.crc.value());
        }
        Ok(piece.freeze())
    }
}

impl<B> http_body::Body for TrackedBody<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            // A whole piece goes at once, unless it is the part's last: that one waits until the
            // inner body confirms it ended there, since hyper stops polling this body at the
            // Content-Length and a longer source must fail, not be cut to size.
            let complete = this.left == 0;
            let last = complete && this.gathered.len() <= PIECE_LEN;
            if this.gathered.len() >= PIECE_LEN && !last {
                let piece = this.gathered.split_to(PIECE_LEN);
                return Poll::Ready(Some(this.release(piece, false).map(Frame::data)));
            }
            if last && this.inner.is_end_stream() {
                this.ended = true;
                let piece = this.gathered.split();
                return Poll::Ready(Some(this.release(piece, true).map(Frame::data)));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(mut data) = frame.into_data() {
                        let n = data.remaining() as u64;
                        if n > this.left {
                            this.ended = true;
                            let long = cse_core::Error::PartLength {
                                part: this.number,
                                expected: this.len,
                                actual: (this.len - this.left).saturating_add(n),
                            };
                            return Poll::Ready(Some(Err(Box::new(cse_http::Error::Core(long)))));
                        }
                        this.left -= n;
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            let len = chunk.len();
                            this.gathered.extend_from_slice(chunk);
                            data.advance(len);
                        }
                    }
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    if this.left > 0 {
                        // Short: refused before the rest is sealed (it may not end on a chunk
                        // boundary, and is not the part anyway).
                        let short = cse_core::Error::PartLength {
                            part: this.number,
                            expected: this.len,
                            actual: this.len - this.left,
                        };
                        return Poll::Ready(Some(Err(Box::new(cse_http::Error::Core(short)))));
                    }
                    let piece = this.gathered.split();
                    return Poll::Ready(Some(this.release(piece, true).map(Frame::data)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left + self.gathered.len() as u64)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;
    use cse_core::{ContentKey, ContentMaterial, CounterBlock, SealedEnvelope};

    const PART: u64 = 3 * PIECE_LEN as u64;

    /// A reader that is not ready every other poll (waking itself), and otherwise gives the
    /// next of its chunks.
    struct Stuttering {
        chunks: std::collections::VecDeque<Vec<u8>>,
        ready: bool,
    }

    impl tokio::io::AsyncRead for Stuttering {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            self.ready = !self.ready;
            if !self.ready {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(chunk) = self.chunks.pop_front() {
                buf.put_slice(&chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_reader_body_delivers_every_byte_across_pending_and_short_reads() {
        let sizes = [
            1,
            7,
            PIECE_LEN,
            100,
            SHORT_READ,
            SHORT_READ - 1,
            PIECE_LEN / 2,
            3,
        ];
        let mut all = Vec::new();
        let mut chunks = std::collections::VecDeque::new();
        for (i, n) in sizes.into_iter().enumerate() {
            let chunk: Vec<u8> = (0..n).map(|j| (i * 31 + j) as u8).collect();
            all.extend_from_slice(&chunk);
            chunks.push_back(chunk);
        }
        let body = ReaderBody::new(Stuttering {
            chunks,
            ready: false,
        });
        let mut body = std::pin::pin!(body);
        let mut got = Vec::new();
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            frames.push(data.len());
            got.extend_from_slice(&data);
        }
        assert_eq!(got, all);
        assert_eq!(frames, sizes, "one frame per read, short ones too");
        assert!(http_body::Body::is_end_stream(&*body));
    }

    fn context() -> Arc<MultipartContext> {
        let material = ContentMaterial::new(
            ContentKey::from_bytes([1; 32]),
            CounterBlock::from_bytes([2; 16]),
        );
        let sealed = SealedEnvelope::from_wrapped(material, "test", "", b"k", b"s").unwrap();
        Arc::new(MultipartContext::new(sealed, PART, 2 * PART).unwrap())
    }

    /// What a plain part sealer makes of part 2 of `data` (a second context, the same key).
    fn sealed_part2(data: &[u8]) -> Vec<u8> {
        let ctx = context();
        let mut out = data[PART as usize..].to_vec();
        ctx.part_sealer(2)
            .unwrap()
            .update_in_place(&mut out)
            .unwrap();
        out
    }

    fn file(data: &[u8]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), data).unwrap();
        f
    }

    fn data() -> Vec<u8> {
        (0..2 * PART).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_part_streams_in_pieces_as_the_plain_sealer_seals_it() {
        let data = data();
        let f = file(&data);
        let upload = PartUpload::new(context(), 2, f.path(), (PART, PART), None, None);
        let mut body = upload.attempt().await.unwrap();
        let mut sent = Vec::new();
        while let Some(frame) = body.frame().await {
            let bytes = frame.unwrap().into_data().unwrap();
            assert!(bytes.len() <= PIECE_LEN, "bounded pieces");
            sent.extend_from_slice(&bytes);
        }
        assert_eq!(sent, sealed_part2(&data));
        let crc = upload.sent().await.unwrap();
        assert_eq!(crc, crate::crc64::crc64(&sent));
    }

    /// The retry after a send that released one piece: a change inside that piece is refused
    /// before any byte of it is released again; the superseded body releases nothing more.
    #[tokio::test]
    async fn a_retry_of_a_changed_file_is_refused_and_the_old_body_stops() {
        let mut data = data();
        let f = file(&data);
        let upload = PartUpload::new(context(), 2, f.path(), (PART, PART), None, None);
        let mut first = upload.attempt().await.unwrap();
        let released = first.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(released.len(), PIECE_LEN);
        // The source changes inside what was released, then the request is retried.
        data[PART as usize + 100] ^= 1;
        std::fs::write(f.path(), &data).unwrap();
        let mut second = upload.attempt().await.unwrap();
        // The first body, still alive, is superseded.
        assert!(first.frame().await.unwrap().is_err());
        let refused = second.frame().await.unwrap();
        assert!(refused.is_err(), "nothing of the changed piece is released");
        match upload.take_failure().await {
            Some(Error::Core(cse_core::Error::PartChanged { part: 2 })) => {}
            other => panic!("expected PartChanged, got {other:?}"),
        }
    }

    /// A change only beyond what the failed send released never met the keystream: the
    /// retry sends the file as it now is.
    #[tokio::test]
    async fn a_change_past_what_was_released_goes_through() {
        let mut data = data();
        let f = file(&data);
        let upload = PartUpload::new(context(), 2, f.path(), (PART, PART), None, None);
        let mut first = upload.attempt().await.unwrap();
        first.frame().await.unwrap().unwrap();
        drop(first);
        data[PART as usize + PIECE_LEN + 5] ^= 1;
        std::fs::write(f.path(), &data).unwrap();
        let body = upload.attempt().await.unwrap();
        let sent = body.collect().await.unwrap().to_bytes();
        assert_eq!(&sent[..], &sealed_part2(&data)[..]);
    }

    #[tokio::test]
    async fn a_whole_file_streams_and_reports_its_crc() {
        let data = data();
        let f = file(&data);
        let material = ContentMaterial::new(
            ContentKey::from_bytes([3; 32]),
            CounterBlock::from_bytes([4; 16]),
        );
        let crc = Arc::new(SyncMutex::new(None));
        let len = data.len() as u64;
        let body = FileBody::whole(
            f.path(),
            len,
            Sealer::with_len(&material, len),
            Arc::clone(&crc),
            None,
        )
        .await
        .unwrap();
        let sent = body.collect().await.unwrap().to_bytes();
        let mut want = data.clone();
        Sealer::new(&material).update_in_place(&mut want).unwrap();
        assert_eq!(&sent[..], &want[..]);
        assert_eq!(*crc.lock().unwrap(), Some(crate::crc64::crc64(&want)));
    }

    #[tokio::test]
    async fn a_file_that_grew_ends_the_body_with_the_length_error() {
        let data = data();
        let f = file(&data);
        let material = ContentMaterial::new(
            ContentKey::from_bytes([3; 32]),
            CounterBlock::from_bytes([4; 16]),
        );
        let len = data.len() as u64 - 1;
        let crc = Arc::new(SyncMutex::new(None));
        let body = FileBody::whole(f.path(), len, Sealer::with_len(&material, len), crc, None)
            .await
            .unwrap();
        match body.collect().await {
            Err(Error::Core(cse_core::Error::Extended { expected })) => assert_eq!(expected, len),
            other => panic!("expected Extended, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_file_that_shrank_ends_the_body_with_the_length_error() {
        let data = data();
        let f = file(&data[..1000]);
        let material = ContentMaterial::new(
            ContentKey::from_bytes([3; 32]),
            CounterBlock::from_bytes([4; 16]),
        );
        let len = data.len() as u64;
        let crc = Arc::new(SyncMutex::new(None));
        let body = FileBody::whole(f.path(), len, Sealer::with_len(&material, len), crc, None)
            .await
            .unwrap();
        match body.collect().await {
            Err(Error::Core(cse_core::Error::Truncated { expected, actual })) => {
                assert_eq!((expected, actual), (len, 1000));
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
    }
}

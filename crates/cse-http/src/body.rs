//! `http-body` wrappers that seal a request body and open a response body as they stream.
//!
//! Both wrappers poll the inner body only when they are polled, transform each data frame in
//! place, and hold no buffer of their own, so memory is constant and backpressure is the inner
//! body's. Trailers pass through. The end of the data (the inner body's end, or its trailers)
//! runs the engine's length check, and a failed check is the body's last frame, an error: a cut
//! or extended download never ends quietly.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use cse_core::{BodyPlan, ContentMaterial, Envelope, Opener, PartSealer, Sealer};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::error::{BoxError, Error};

/// What a wrapper does to each data frame and at the end of the data.
trait Transform {
    /// Rewrites `buf` in place; it may shrink to the bytes to deliver.
    fn apply(&mut self, buf: &mut BytesMut) -> cse_core::Result<()>;
    /// Ends the data and checks its length.
    fn finish(self) -> cse_core::Result<()>;
    /// The size of the rest of the transformed body, given the inner body's.
    fn size_hint(&self, inner: SizeHint) -> SizeHint;
}

/// Where a wrapper is in its body.
enum Stage<T> {
    /// Data frames are being transformed.
    Streaming(T),
    /// The data ended with trailers and the length check passed; later frames pass through.
    Trailing,
    /// The body is over.
    Done,
}

impl<T: fmt::Debug> fmt::Debug for Stage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Streaming(t) => f.debug_tuple("Streaming").field(t).finish(),
            Self::Trailing => f.write_str("Trailing"),
            Self::Done => f.write_str("Done"),
        }
    }
}

impl<T: Transform> Stage<T> {
    /// Runs the length check once, whichever end of the data comes first, and moves to `next`.
    fn finish(&mut self, next: Self) -> Result<(), Error> {
        match std::mem::replace(self, next) {
            Self::Streaming(t) => t.finish().map_err(|e| {
                *self = Self::Done;
                Error::Core(e)
            }),
            Self::Trailing => Ok(()),
            Self::Done => {
                *self = Self::Done;
                Ok(())
            }
        }
    }
}

/// A data frame as a uniquely owned buffer: no copy when the inner body hands over a `Bytes` no
/// one else holds, one copy otherwise.
fn into_bytes_mut<D: Buf>(mut data: D) -> BytesMut {
    let bytes = data.copy_to_bytes(data.remaining());
    bytes
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]))
}

type Polled = Poll<Option<Result<Frame<Bytes>, Error>>>;

/// The one frame loop both wrappers share.
fn poll_transformed<B, T>(
    mut inner: Pin<&mut B>,
    stage: &mut Stage<T>,
    pending: &mut Option<Error>,
    cx: &mut Context<'_>,
) -> Polled
where
    B: Body,
    B::Error: Into<BoxError>,
    T: Transform,
{
    if let Some(e) = pending.take() {
        *stage = Stage::Done;
        return Poll::Ready(Some(Err(e)));
    }
    loop {
        if matches!(stage, Stage::Done) {
            return Poll::Ready(None);
        }
        let frame = match ready!(inner.as_mut().poll_frame(cx)) {
            None => return Poll::Ready(stage.finish(Stage::Done).err().map(Err)),
            Some(Err(e)) => {
                *stage = Stage::Done;
                return Poll::Ready(Some(Err(Error::Body(e.into()))));
            }
            Some(Ok(frame)) => frame.map_data(into_bytes_mut),
        };
        let mut buf = match frame.into_data() {
            Ok(buf) => buf,
            Err(trailers) => {
                return Poll::Ready(Some(
                    stage
                        .finish(Stage::Trailing)
                        .map(|()| trailers.map_data(BytesMut::freeze)),
                ));
            }
        };
        let Stage::Streaming(transform) = stage else {
            *stage = Stage::Done;
            return Poll::Ready(Some(Err(Error::DataAfterTrailers)));
        };
        if let Err(e) = transform.apply(&mut buf) {
            *stage = Stage::Done;
            return Poll::Ready(Some(Err(Error::Core(e))));
        }
        // A consumer such as hyper stops polling once the body says it has ended, so the length
        // check must run before this frame goes out, not on a poll that may never come.
        if inner.is_end_stream()
            && let Err(e) = stage.finish(Stage::Done)
        {
            *pending = Some(e);
        }
        if !buf.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(buf.freeze()))));
        }
        if let Some(e) = pending.take() {
            *stage = Stage::Done;
            return Poll::Ready(Some(Err(e)));
        }
        // Nothing of this frame is delivered (bytes before or after a range): poll on, which
        // still only reads what the inner body already has or registers the waker.
    }
}

fn is_end_stream<B: Body, T>(inner: &B, stage: &Stage<T>, pending: &Option<Error>) -> bool {
    pending.is_none()
        && match stage {
            Stage::Streaming(_) => false,
            Stage::Trailing => inner.is_end_stream(),
            Stage::Done => true,
        }
}

fn size_hint<B: Body, T: Transform>(
    inner: &B,
    stage: &Stage<T>,
    pending: &Option<Error>,
) -> SizeHint {
    match (stage, pending) {
        (Stage::Streaming(t), None) => t.size_hint(inner.size_hint()),
        _ => SizeHint::with_exact(0),
    }
}

/// The encryptor a [`SealBody`] drives.
#[derive(Debug)]
enum SealCipher {
    Whole(Sealer),
    Part(PartSealer),
}

impl Transform for SealCipher {
    fn apply(&mut self, buf: &mut BytesMut) -> cse_core::Result<()> {
        match self {
            Self::Whole(s) => s.update_in_place(buf),
            Self::Part(s) => s.update_in_place(buf),
        }
    }

    fn finish(self) -> cse_core::Result<()> {
        match self {
            Self::Whole(s) => s.finish().map(drop),
            Self::Part(s) => s.finish(),
        }
    }

    fn size_hint(&self, inner: SizeHint) -> SizeHint {
        // AES-CTR ciphertext is exactly as long as its plaintext.
        inner
    }
}

pin_project! {
    /// A request body that encrypts its inner (plaintext) body as it streams.
    ///
    /// The ciphertext is exactly as long as the plaintext, so the size hint is the inner body's
    /// and a Content-Length stays valid. With a [`Sealer::with_len`] or a [`PartSealer`], a body
    /// longer than declared fails on the frame that passes the length
    /// ([`cse_core::Error::Extended`]) and a shorter one fails at its end
    /// ([`cse_core::Error::Truncated`], [`cse_core::Error::PartLength`]), so a wrong-length
    /// upload errors rather than completes.
    ///
    /// Data is [`Bytes`]; the error is [`Error`], with [`Error::Body`] for the inner body's.
    pub struct SealBody<B> {
        #[pin]
        inner: B,
        stage: Stage<SealCipher>,
        pending: Option<Error>,
    }
}

impl<B> SealBody<B> {
    /// Seals `inner` as a whole object with `sealer` (from [`Sealer::with_len`] for the length in
    /// the envelope, or [`Sealer::new`]).
    #[must_use]
    pub fn new(inner: B, sealer: Sealer) -> Self {
        Self::with(inner, SealCipher::Whole(sealer))
    }

    /// Seals `inner` as one multipart part with `sealer`, from
    /// [`MultipartContext::part_sealer`](cse_core::MultipartContext::part_sealer).
    #[must_use]
    pub fn part(inner: B, sealer: PartSealer) -> Self {
        Self::with(inner, SealCipher::Part(sealer))
    }

    fn with(inner: B, cipher: SealCipher) -> Self {
        Self {
            inner,
            stage: Stage::Streaming(cipher),
            pending: None,
        }
    }
}

impl<B> fmt::Debug for SealBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealBody")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<B> Body for SealBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.project();
        poll_transformed(this.inner, this.stage, this.pending, cx)
    }

    fn is_end_stream(&self) -> bool {
        is_end_stream(&self.inner, &self.stage, &self.pending)
    }

    fn size_hint(&self) -> SizeHint {
        size_hint(&self.inner, &self.stage, &self.pending)
    }
}

/// The decryptor an [`OpenBody`] drives, with the plaintext still to deliver when it is known.
#[derive(Debug)]
struct OpenCipher {
    opener: Opener,
    remaining: Option<u64>,
}

impl Transform for OpenCipher {
    fn apply(&mut self, buf: &mut BytesMut) -> cse_core::Result<()> {
        let kept = self.opener.update_in_place(buf)?;
        buf.truncate(kept.end);
        buf.advance(kept.start);
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(buf.len() as u64);
        }
        Ok(())
    }

    fn finish(self) -> cse_core::Result<()> {
        self.opener.finish().map(drop)
    }

    fn size_hint(&self, inner: SizeHint) -> SizeHint {
        self.remaining.map_or(inner, SizeHint::with_exact)
    }
}

pin_project! {
    /// A response body that decrypts its inner (ciphertext) body as it streams.
    ///
    /// The body ends with an error, never quietly, when the inner body is shorter than the
    /// object or range it should hold ([`cse_core::Error::Truncated`]) or longer
    /// ([`cse_core::Error::Extended`]). When the plaintext length is known (a declared length, or
    /// a ranged read) the size hint is exact.
    ///
    /// Data is [`Bytes`]; the error is [`Error`], with [`Error::Body`] for the inner body's.
    pub struct OpenBody<B> {
        #[pin]
        inner: B,
        stage: Stage<OpenCipher>,
        pending: Option<Error>,
    }
}

impl<B> OpenBody<B> {
    /// Opens a whole-object GET's body. The envelope's declared length
    /// ([`Envelope::declared_len`]), when there is one, is checked and gives the exact size hint.
    #[must_use]
    pub fn whole(inner: B, envelope: &Envelope, material: &ContentMaterial) -> Self {
        Self::with(
            inner,
            OpenCipher {
                opener: envelope.whole_opener(material),
                remaining: envelope.declared_len(),
            },
        )
    }

    /// Opens a ranged GET's body with the plan from
    /// [`rewrite_range_response`](crate::rewrite_range_response): it yields exactly the
    /// requested bytes ([`BodyPlan::content_length`] of them), whatever block-aligned or whole
    /// body the server sent.
    #[must_use]
    pub fn ranged(inner: B, plan: &BodyPlan, material: &ContentMaterial) -> Self {
        Self::with(
            inner,
            OpenCipher {
                opener: plan.opener(material),
                remaining: Some(plan.content_length()),
            },
        )
    }

    fn with(inner: B, cipher: OpenCipher) -> Self {
        Self {
            inner,
            stage: Stage::Streaming(cipher),
            pending: None,
        }
    }
}

impl<B> fmt::Debug for OpenBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenBody")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<B> Body for OpenBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.project();
        poll_transformed(this.inner, this.stage, this.pending, cx)
    }

    fn is_end_stream(&self) -> bool {
        is_end_stream(&self.inner, &self.stage, &self.pending)
    }

    fn size_hint(&self) -> SizeHint {
        size_hint(&self.inner, &self.stage, &self.pending)
    }
}

//! The `http-body` wrapper that seals a request body, opens a response body, or passes a
//! stored-in-the-clear range through, as it streams: [`CipherBody`], one type over any of the
//! engine's [`BodyTransform`]s.
//!
//! It polls the inner body only when it is polled, transforms each data frame in place, and
//! holds no buffer of its own, so memory is constant and backpressure is the inner body's.
//! Trailers pass through. The end of the data (the inner body's end, or its trailers) runs the
//! engine's length check, and a failed check is the body's last frame, an error: a cut or
//! extended download never ends quietly.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use cse_core::{
    BodyPlan, BodyTransform, ContentMaterial, Envelope, Opener, PartSealer, PlainWindow, Sealer,
};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::error::{BoxError, Error};

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

impl<T: BodyTransform> Stage<T> {
    /// Runs the length check once, whichever end of the data comes first, and moves to `next`.
    fn finish(&mut self, next: Self) -> Result<(), Error> {
        match std::mem::replace(self, next) {
            Self::Streaming(t) => t.finish().map(drop).map_err(|e| {
                *self = Self::Done;
                Error::Core(e.into())
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

/// What a body holds back between polls: the frame that reached the declared length, until the
/// inner body confirms it ended there, and trailers that came after it.
#[derive(Debug, Default)]
struct Held {
    last: Option<Bytes>,
    trailers: Option<Frame<Bytes>>,
}

/// The one frame loop every [`CipherBody`] runs.
fn poll_transformed<B, T>(
    mut inner: Pin<&mut B>,
    stage: &mut Stage<T>,
    held: &mut Held,
    cx: &mut Context<'_>,
) -> Polled
where
    B: Body,
    B::Error: Into<BoxError>,
    T: BodyTransform,
{
    if let Some(trailers) = held.trailers.take() {
        return Poll::Ready(Some(Ok(trailers)));
    }
    loop {
        if matches!(stage, Stage::Done) {
            return Poll::Ready(held.last.take().map(|b| Ok(Frame::data(b))));
        }
        let frame = match ready!(inner.as_mut().poll_frame(cx)) {
            None => {
                return Poll::Ready(match stage.finish(Stage::Done) {
                    Ok(()) => held.last.take().map(|b| Ok(Frame::data(b))),
                    Err(e) => Some(Err(e)),
                });
            }
            Some(Err(e)) => {
                *stage = Stage::Done;
                held.last = None;
                return Poll::Ready(Some(Err(Error::Body(e.into()))));
            }
            Some(Ok(frame)) => frame.map_data(into_bytes_mut),
        };
        let mut buf = match frame.into_data() {
            Ok(buf) => buf,
            Err(trailers) => {
                if let Err(e) = stage.finish(Stage::Trailing) {
                    held.last = None;
                    return Poll::Ready(Some(Err(e)));
                }
                let trailers = trailers.map_data(BytesMut::freeze);
                return Poll::Ready(Some(Ok(match held.last.take() {
                    Some(last) => {
                        held.trailers = Some(trailers);
                        Frame::data(last)
                    }
                    None => trailers,
                })));
            }
        };
        let Stage::Streaming(transform) = stage else {
            *stage = Stage::Done;
            return Poll::Ready(Some(Err(Error::DataAfterTrailers)));
        };
        match transform.update_in_place(&mut buf) {
            Ok(kept) => {
                buf.truncate(kept.end);
                buf.advance(kept.start);
            }
            Err(e) => {
                // A frame past the declared length fails the body, the held one with it.
                *stage = Stage::Done;
                held.last = None;
                return Poll::Ready(Some(Err(Error::Core(e.into()))));
            }
        }
        // A consumer such as hyper stops polling once the body says it has ended, or once a
        // Content-Length is reached: the length check must run before the last frame goes out,
        // and a failed check replaces that frame, so that a consumer never sees a complete body.
        if inner.is_end_stream() {
            if let Err(e) = stage.finish(Stage::Done) {
                held.last = None;
                return Poll::Ready(Some(Err(e)));
            }
            let last = held.last.take();
            let out = match (last, buf.is_empty()) {
                (Some(mut last), false) => {
                    let mut joined = BytesMut::from(&last[..]);
                    joined.extend_from_slice(&buf);
                    last = joined.freeze();
                    Some(last)
                }
                (Some(last), true) => Some(last),
                (None, false) => Some(buf.freeze()),
                (None, true) => None,
            };
            return Poll::Ready(out.map(|b| Ok(Frame::data(b))));
        }
        if buf.is_empty() {
            // Nothing of this frame is delivered (bytes before or after a range): poll on, which
            // still only reads what the inner body already has or registers the waker.
            continue;
        }
        if let Some(previous) = held.last.take() {
            // Held back, and more was delivered after it: it was not the last frame after all.
            held.last = Some(buf.freeze());
            return Poll::Ready(Some(Ok(Frame::data(previous))));
        }
        let reached_end = matches!(stage, Stage::Streaming(t) if t.remaining() == Some(0));
        if reached_end {
            // The declared length is reached but the inner body has not said it ended: hold the
            // frame until it does (a further byte fails it), which is the next poll for any body
            // that knows its length.
            held.last = Some(buf.freeze());
            continue;
        }
        return Poll::Ready(Some(Ok(Frame::data(buf.freeze()))));
    }
}

fn is_end_stream<B: Body, T>(inner: &B, stage: &Stage<T>, held: &Held) -> bool {
    held.last.is_none()
        && held.trailers.is_none()
        && match stage {
            Stage::Streaming(_) => false,
            Stage::Trailing => inner.is_end_stream(),
            Stage::Done => true,
        }
}

fn size_hint<B: Body, T: BodyTransform>(inner: &B, stage: &Stage<T>, held: &Held) -> SizeHint {
    let held_len = held.last.as_ref().map_or(0, |b| b.len() as u64);
    match stage {
        // AES-CTR ciphertext is exactly as long as its plaintext: without a known remainder,
        // the inner body's hint holds.
        Stage::Streaming(t) => t.remaining().map_or_else(
            || inner.size_hint(),
            |n| SizeHint::with_exact(n.saturating_add(held_len)),
        ),
        _ => SizeHint::with_exact(held_len),
    }
}

pin_project! {
    /// A body that runs its inner body through one of the engine's streaming state machines:
    /// a [`Sealer`] or [`PartSealer`] for an upload, an [`Opener`] for a download, a
    /// [`PlainWindow`] for a range of an object stored in the clear.
    ///
    /// - Sealing: the ciphertext is exactly as long as the plaintext, so the size hint is the
    ///   inner body's and a Content-Length stays valid. A body longer than declared fails on the
    ///   frame that passes the length ([`cse_core::Error::Extended`],
    ///   [`cse_core::Error::PartLength`]) and a shorter one at its end
    ///   ([`cse_core::Error::Truncated`]), so a wrong-length upload errors rather than completes.
    /// - Opening: the body ends with an error, never quietly, when the inner body is shorter
    ///   than the object or range it should hold or longer. When the length to deliver is known
    ///   (a declared length, or a ranged read) the size hint is exact.
    ///
    /// Data is [`Bytes`]; the error is [`Error`], with [`Error::Body`] for the inner body's and
    /// [`Error::Core`] for the engine's.
    pub struct CipherBody<B, T> {
        #[pin]
        inner: B,
        stage: Stage<T>,
        held: Held,
    }
}

/// A request body sealed as a whole object.
pub type SealBody<B> = CipherBody<B, Sealer>;

/// A response body opened (decrypted), whole or ranged.
pub type OpenBody<B> = CipherBody<B, Opener>;

impl<B, T: BodyTransform> CipherBody<B, T> {
    /// Runs `inner` through `transform`.
    #[must_use]
    pub const fn new(inner: B, transform: T) -> Self {
        Self {
            inner,
            stage: Stage::Streaming(transform),
            held: Held {
                last: None,
                trailers: None,
            },
        }
    }
}

impl<B> CipherBody<B, Sealer> {
    /// Seals `inner` as a whole object with `sealer` (from [`Sealer::with_len`] for the length in
    /// the envelope, or [`Sealer::new`]).
    #[must_use]
    pub const fn seal(inner: B, sealer: Sealer) -> Self {
        Self::new(inner, sealer)
    }
}

impl<B> CipherBody<B, PartSealer> {
    /// Seals `inner` as one multipart part with `sealer`, from
    /// [`MultipartContext::part_sealer`](cse_core::MultipartContext::part_sealer).
    #[must_use]
    pub const fn part(inner: B, sealer: PartSealer) -> Self {
        Self::new(inner, sealer)
    }
}

impl<B> CipherBody<B, Opener> {
    /// Opens a whole-object GET's body. The envelope's declared length
    /// ([`Envelope::declared_len`]), when there is one, is checked and gives the exact size hint;
    /// so is its plaintext MD5 when it records one.
    #[must_use]
    pub fn whole(inner: B, envelope: &Envelope, material: &ContentMaterial) -> Self {
        Self::new(inner, envelope.whole_opener(material))
    }

    /// Opens a ranged GET's body with the plan from
    /// [`rewrite_range_response`](crate::rewrite_range_response): it yields exactly the
    /// requested bytes ([`BodyPlan::content_length`] of them), whatever block-aligned or whole
    /// body the server sent.
    #[must_use]
    pub fn ranged(inner: B, plan: &BodyPlan, material: &ContentMaterial) -> Self {
        Self::new(inner, plan.opener(material))
    }
}

impl<B> CipherBody<B, PlainWindow> {
    /// Passes a ranged GET's body of an object stored in the clear through the engine's window
    /// ([`BodyPlan::passthrough`]): the same trimming and length checks as a ranged open, no
    /// decryption.
    #[must_use]
    pub fn passthrough(inner: B, plan: &BodyPlan) -> Self {
        Self::new(inner, plan.passthrough())
    }
}

impl<B, T: fmt::Debug> fmt::Debug for CipherBody<B, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherBody")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<B, T> Body for CipherBody<B, T>
where
    B: Body,
    B::Error: Into<BoxError>,
    T: BodyTransform,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.project();
        poll_transformed(this.inner, this.stage, this.held, cx)
    }

    fn is_end_stream(&self) -> bool {
        is_end_stream(&self.inner, &self.stage, &self.held)
    }

    fn size_hint(&self) -> SizeHint {
        size_hint(&self.inner, &self.stage, &self.held)
    }
}

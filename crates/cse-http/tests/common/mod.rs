//! Helpers shared by the integration tests: scripted inner bodies and a runtime-free driver.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use cse_core::{ContentKey, ContentMaterial, CounterBlock, Envelope, WRAP_ALG_KMS};
/// The reference ciphertext is the engine's one-shot seal of the whole plaintext.
pub use cse_testkit::keystream::{seal_all, sealed};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// The OS RNG as the `CryptoRng` the engine takes.
pub fn rng() -> cse_core::rand_core::UnwrapErr<getrandom::SysRng> {
    cse_core::rand_core::UnwrapErr(getrandom::SysRng)
}

/// Fixed content material: the body tests need no master key.
pub fn material() -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes([0x42; 32]),
        // Near the top of the 128-bit counter, so a stream of a few blocks wraps it.
        CounterBlock::from_bytes([
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xfd,
        ]),
    )
}

/// An envelope as a KMS-style caller builds it, declaring `len` when given.
pub fn envelope(len: Option<u64>) -> Envelope {
    let e = Envelope::from_wrapped(WRAP_ALG_KMS, "", b"wrapped-key", b"wrapped-counter").unwrap();
    match len {
        Some(len) => e.with_unencrypted_content_length(len),
        None => e,
    }
}

/// Plaintext with a recognisable pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Splits `data` at the given cut points (taken modulo its length, sorted, deduplicated).
pub fn split(data: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| if data.is_empty() { 0 } else { c % data.len() })
        .collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| Bytes::copy_from_slice(&data[w[0]..w[1]]))
        .collect()
}

/// One step of a scripted body.
#[derive(Debug, Clone)]
pub enum Step {
    /// A data frame.
    Data(Bytes),
    /// A trailers frame.
    Trailers(HeaderMap),
    /// Not ready yet: wakes the task and returns `Pending` once.
    Pending,
    /// An inner error.
    Fail(&'static str),
}

/// The inner error a scripted body reports.
#[derive(Debug)]
pub struct ScriptError(pub &'static str);

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ScriptError {}

/// A body that plays a script, counting how often it is polled.
#[derive(Debug)]
pub struct ScriptBody {
    steps: VecDeque<Step>,
    /// Whether `is_end_stream` reports the end once the script is empty (hyper's sized bodies
    /// do, chunked ones do not).
    pub announce_end: bool,
    /// Whether `size_hint` is exact (the remaining data bytes) or unknown.
    pub sized: bool,
    pub polls: Arc<AtomicUsize>,
}

impl ScriptBody {
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            announce_end: true,
            sized: true,
            polls: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn chunks(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Self::new(chunks.into_iter().map(Step::Data))
    }

    fn remaining(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Data(d) => d.len() as u64,
                _ => 0,
            })
            .sum()
    }
}

impl Body for ScriptBody {
    type Data = Bytes;
    type Error = ScriptError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ScriptError>>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        match self.steps.pop_front() {
            None => Poll::Ready(None),
            Some(Step::Data(d)) => Poll::Ready(Some(Ok(Frame::data(d)))),
            Some(Step::Trailers(t)) => Poll::Ready(Some(Ok(Frame::trailers(t)))),
            Some(Step::Fail(m)) => Poll::Ready(Some(Err(ScriptError(m)))),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.announce_end && self.steps.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.remaining())
        } else {
            SizeHint::default()
        }
    }
}

/// What a driven body produced.
#[derive(Debug)]
pub struct Driven<E> {
    /// The data frames, in order.
    pub frames: Vec<Bytes>,
    /// The trailers frames, in order.
    pub trailers: Vec<HeaderMap>,
    /// The error that ended the body, if one did.
    pub error: Option<E>,
    /// Whether the body ended with `None` (after an error too, when polled again).
    pub ended: bool,
}

impl<E> Driven<E> {
    pub fn data(&self) -> Vec<u8> {
        self.frames.concat()
    }
}

/// Polls `body` to its end without a runtime, re-polling after `Pending` (scripted bodies wake
/// themselves). Stops at the first error, then polls once more to check the body then ends.
pub fn drive<B>(body: B) -> Driven<B::Error>
where
    B: Body<Data = Bytes>,
{
    let mut body = Box::pin(body);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Driven {
        frames: Vec::new(),
        trailers: Vec::new(),
        error: None,
        ended: false,
    };
    for _ in 0..1_000_000 {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Pending => {}
            Poll::Ready(None) => {
                out.ended = true;
                return out;
            }
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(d) => out.frames.push(d),
                Err(f) => out.trailers.push(f.into_trailers().unwrap()),
            },
            Poll::Ready(Some(Err(e))) => {
                out.error = Some(e);
                out.ended = matches!(body.as_mut().poll_frame(&mut cx), Poll::Ready(None));
                return out;
            }
        }
    }
    panic!("the body never ended");
}

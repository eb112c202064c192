//! Streaming AES-256-CTR over caller-owned buffers: [`Sealer`] encrypts, [`Opener`] decrypts.
//!
//! # Hazmat
//! OSS client-side encryption is unauthenticated: CTR has no tag, so a flipped ciphertext bit
//! flips the same plaintext bit, and nothing detects it. The only integrity this engine can add is
//! the length check against the declared length ([`Opener::with_len`]).
//!
//! Both state machines share one keystream path. Each call either succeeds completely or returns
//! an error and leaves the state unchanged, so a caller can retry with a larger buffer.

use core::ops::Range;

use aes::Aes256Enc;
use ctr::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherSeek};
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use crate::error::StreamError;
use crate::key::ContentMaterial;

type Aes256Ctr = ctr::Ctr128BE<Aes256Enc>;

/// What a keystream is made from: the expanded key and the first counter block. A [`Sealer`]
/// keeps it beside its running keystream for [`Sealer::split_to`] (`ctr`'s state can neither
/// be cloned nor give its key back); an [`Opener`] does not. Wiped on drop.
pub(crate) struct Origin {
    cipher: Aes256Enc,
    counter: [u8; 16],
}

impl Drop for Origin {
    fn drop(&mut self) {
        // `cipher` wipes itself (the `zeroize` feature of `aes`).
        self.counter.zeroize();
    }
}

impl Origin {
    pub(crate) fn of(material: &ContentMaterial) -> Self {
        Self {
            cipher: Aes256Enc::new(material.key().as_bytes().into()),
            counter: *material.counter().as_bytes(),
        }
    }

    /// A copy, for a piece split off a sealer (which may be split again).
    fn copy(&self) -> Self {
        Self {
            cipher: self.cipher.clone(),
            counter: self.counter,
        }
    }

    /// Applies the keystream from byte `offset` to `buf` (sealing and opening alike).
    pub(crate) fn apply_at(&self, offset: u64, buf: &mut [u8]) {
        self.keystream_at(offset).apply_in_place(buf);
    }

    /// The keystream at byte `offset`.
    fn keystream_at(&self, offset: u64) -> Keystream {
        let mut ctr = Aes256Ctr::from_core(ctr::CtrCore::inner_iv_init(
            self.cipher.clone(),
            (&self.counter).into(),
        ));
        // The 128-bit counter never runs out from a 64-bit byte offset: `ctr` only reports an
        // exhausted keystream after 2^128 blocks, so seeking cannot fail here.
        if ctr.try_seek(offset).is_err() {
            unreachable_keystream_end();
        }
        Keystream(ctr)
    }
}

/// The keystream of one object, positioned at a byte offset.
///
/// Block `i` is `AES-256(key, (counter + i) mod 2^128)`, the big-endian 128-bit increment that
/// every SDK uses (Go `cipher.NewCTR`, JCE `AES/CTR/NoPadding`, pycryptodome `Counter.new(128)`).
struct Keystream(Aes256Ctr);

impl Keystream {
    fn at(material: &ContentMaterial, offset: u64) -> Self {
        Origin::of(material).keystream_at(offset)
    }

    fn apply(&mut self, input: &[u8], output: &mut [u8]) {
        // Every caller passes equal lengths, and a 64-bit stream never exhausts a 128-bit counter.
        if self.0.try_apply_keystream_b2b(input, output).is_err() {
            unreachable_keystream_end();
        }
    }

    fn apply_in_place(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }

    fn seek(&mut self, offset: u64) {
        if self.0.try_seek(offset).is_err() {
            unreachable_keystream_end();
        }
    }
}

#[cold]
#[inline(never)]
#[allow(clippy::panic)]
fn unreachable_keystream_end() -> ! {
    panic!("AES-CTR keystream of 2^128 blocks exhausted or buffer lengths differ: engine bug")
}

/// A step result: the narrow error of every streaming call.
type Step<T> = Result<T, StreamError>;

fn end_of(pos: u64, len: usize) -> Step<u64> {
    u64::try_from(len)
        .map_or(None, |l| pos.checked_add(l))
        .ok_or(StreamError::TooLong)
}

/// The one shape of every streaming state machine: [`Sealer`], [`PartSealer`](crate::PartSealer),
/// [`Opener`] and [`PlainWindow`]. An adapter that moves a body (an `http-body` wrapper, a file
/// copy loop) is written once against this trait and works for sealing, opening and passing
/// through alike.
///
/// Each call either succeeds completely or returns an error and leaves the state unchanged.
pub trait BodyTransform {
    /// Transforms the next bytes of the body in place and returns the range of `buf` to deliver
    /// (all of it when sealing; for a ranged read, possibly none of it).
    ///
    /// # Errors
    /// [`StreamError::Extended`] or [`StreamError::PartLength`] when the body passes its declared
    /// length, [`StreamError::TooLong`] past 2^64 - 1 bytes.
    fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>>;

    /// Ends the body and returns the number of bytes delivered in all.
    ///
    /// # Errors
    /// [`StreamError::Truncated`] or [`StreamError::PartLength`] when the body ended before its
    /// declared length; [`StreamError::ContentMd5Mismatch`] for a failed plaintext MD5 check.
    fn finish(self) -> Step<u64>;

    /// The number of bytes still to deliver, when it is known (a size hint).
    fn remaining(&self) -> Option<u64>;
}

/// Encrypts a plaintext stream, chunk by chunk, in place or into a caller buffer.
///
/// ```
/// use cse_core::{ContentMaterial, ContentKey, CounterBlock, Sealer};
/// let material = ContentMaterial::new(ContentKey::from_bytes([7; 32]), CounterBlock::from_bytes([0; 16]));
/// let mut sealer = Sealer::with_len(&material, 11);
/// let mut out = [0u8; 11];
/// sealer.update(b"hello ", &mut out[..6])?;
/// sealer.update(b"world", &mut out[6..])?;
/// assert_eq!(sealer.finish()?, 11);
/// # Ok::<(), cse_core::Error>(())
/// ```
pub struct Sealer {
    keystream: Keystream,
    origin: Origin,
    pos: u64,
    end: Option<u64>,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealer")
            .field("pos", &self.pos)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer for a whole object of unknown length.
    #[must_use]
    pub fn new(material: &ContentMaterial) -> Self {
        Self::at(material, 0, None)
    }

    /// A sealer for a whole object of exactly `len` bytes: it refuses more, and
    /// [`finish`](Self::finish) refuses less.
    #[must_use]
    pub fn with_len(material: &ContentMaterial, len: u64) -> Self {
        Self::at(material, 0, Some(len))
    }

    pub(crate) fn at(material: &ContentMaterial, offset: u64, len: Option<u64>) -> Self {
        let origin = Origin::of(material);
        Self {
            keystream: origin.keystream_at(offset),
            origin,
            pos: offset,
            end: len.map(|l| offset.saturating_add(l)),
        }
    }

    fn check(&self, len: usize) -> Step<u64> {
        self.check_end(end_of(self.pos, len))
    }

    fn check_end(&self, end: Step<u64>) -> Step<u64> {
        match self.end {
            // An end past 2^64 - 1 is past any declared length too: report the length, not the
            // overflow (found by fuzzing, a part that ends near 2^64).
            Some(limit) if !matches!(end, Ok(e) if e <= limit) => {
                Err(StreamError::Extended { expected: limit })
            }
            _ => end,
        }
    }

    /// Encrypts `input` into `output[..input.len()]` and returns `input.len()`.
    ///
    /// # Errors
    /// [`StreamError::BufferTooSmall`] when `output` is shorter than `input`;
    /// [`StreamError::Extended`] when the declared length would be passed. The state is
    /// unchanged on error.
    pub fn update(&mut self, input: &[u8], output: &mut [u8]) -> Step<usize> {
        let out = output
            .get_mut(..input.len())
            .ok_or(StreamError::BufferTooSmall {
                required: input.len(),
            })?;
        self.pos = self.check(input.len())?;
        self.keystream.apply(input, out);
        Ok(input.len())
    }

    /// Encrypts `buf` in place and returns `0..buf.len()`, the bytes to deliver.
    ///
    /// # Errors
    /// [`StreamError::Extended`] when the declared length would be passed; the state is
    /// unchanged.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>> {
        self.pos = self.check(buf.len())?;
        self.keystream.apply_in_place(buf);
        Ok(0..buf.len())
    }

    /// Takes the next `len` bytes of this stream off as a sealer of their own, and moves this
    /// one past them: the way to seal one large buffer on several threads.
    ///
    /// Split the buffer into pieces and take a sealer for each, front to back; then seal the
    /// pieces in any order, on any thread. Every keystream byte is handed out once: this sealer
    /// never goes back to the bytes it gave away, the piece seals at most `len` bytes, and its
    /// [`finish`](Self::finish) reports the bytes it did not seal. A piece that is dropped
    /// unsealed leaves a hole, and the object is then corrupt: finish every piece.
    ///
    /// ```
    /// use cse_core::{ContentMaterial, ContentKey, CounterBlock, Sealer};
    /// let material = ContentMaterial::new(ContentKey::from_bytes([7; 32]), CounterBlock::from_bytes([0; 16]));
    /// let mut whole = *b"sealed on two threads";
    /// Sealer::new(&material).update_in_place(&mut whole)?;
    ///
    /// let mut sealer = Sealer::with_len(&material, 21);
    /// let mut buf = *b"sealed on two threads";
    /// let (front, back) = buf.split_at_mut(10);
    /// let mut piece = sealer.split_to(10)?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| piece.update_in_place(front));
    ///     sealer.update_in_place(back)
    /// })?;
    /// piece.finish()?;
    /// assert_eq!(sealer.finish()?, 21);
    /// assert_eq!(buf, whole);
    /// # Ok::<(), cse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`StreamError::Extended`] when the declared length would be passed,
    /// [`StreamError::TooLong`] past 2^64 - 1 bytes; the state is unchanged.
    pub fn split_to(&mut self, len: u64) -> Step<Self> {
        let end = self.check_end(self.pos.checked_add(len).ok_or(StreamError::TooLong))?;
        // The only place a second keystream of the object is made: at bytes this sealer then
        // skips.
        let piece = Self {
            keystream: self.origin.keystream_at(self.pos),
            origin: self.origin.copy(),
            pos: self.pos,
            end: Some(end),
        };
        self.keystream.seek(end);
        self.pos = end;
        Ok(piece)
    }

    /// The number of bytes still to come, when a length was declared.
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        self.end.map(|end| end.saturating_sub(self.pos))
    }

    /// The stream offset of the next byte.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.pos
    }

    /// Ends the stream and returns its end offset (the plaintext length for a whole object).
    ///
    /// # Errors
    /// [`StreamError::Truncated`] when a declared length was not reached.
    pub fn finish(self) -> Step<u64> {
        match self.end {
            Some(end) if self.pos < end => Err(StreamError::Truncated {
                expected: end,
                actual: self.pos,
            }),
            _ => Ok(self.pos),
        }
    }
}

/// Which part of a ciphertext body to decrypt and deliver.
///
/// A whole-object read delivers everything; a ranged read ([`crate::BodyPlan`]) drops the bytes
/// before the requested start and everything after the requested end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Object offset of the first body byte.
    pub(crate) body_start: u64,
    /// Object offsets to deliver: `[keep_start, keep_end)`.
    pub(crate) keep_start: u64,
    pub(crate) keep_end: u64,
    /// Object offset one past the last body byte, when the body length is declared.
    pub(crate) body_end: Option<u64>,
}

/// Decrypts a ciphertext stream, chunk by chunk, in place or into a caller buffer, and checks
/// its length against the declared one.
///
/// ```
/// use cse_core::{ContentMaterial, ContentKey, CounterBlock, Opener, Sealer};
/// let material = ContentMaterial::new(ContentKey::from_bytes([7; 32]), CounterBlock::from_bytes([0; 16]));
/// let mut data = *b"attack at dawn";
/// Sealer::new(&material).update_in_place(&mut data)?;
/// let mut opener = Opener::with_len(&material, 14);
/// let kept = opener.update_in_place(&mut data)?;
/// assert_eq!(&data[kept], b"attack at dawn");
/// opener.finish()?;
/// # Ok::<(), cse_core::Error>(())
/// ```
pub struct Opener {
    keystream: Keystream,
    cursor: Cursor,
    /// The plaintext MD5 a whole read must end with, over what was delivered.
    md5: Option<ContentMd5Check>,
}

/// Checks a whole plaintext against the envelope's `unencrypted-content-md5`, for a read that
/// assembles the object from several ranged bodies (a parallel download) and so cannot use one
/// [`Opener`]. Feed it the plaintext in object order. Made by
/// [`Envelope::content_md5_check`](crate::Envelope::content_md5_check).
#[derive(Clone)]
pub struct ContentMd5Check {
    hasher: Md5,
    expected: [u8; 16],
}

impl core::fmt::Debug for ContentMd5Check {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ContentMd5Check").finish_non_exhaustive()
    }
}

impl ContentMd5Check {
    /// A check for a plaintext whose MD5 must be `expected`.
    #[must_use]
    pub fn new(expected: [u8; 16]) -> Self {
        Self {
            hasher: Md5::new(),
            expected,
        }
    }

    /// Adds the next plaintext bytes.
    pub fn update(&mut self, plaintext: &[u8]) {
        self.hasher.update(plaintext);
    }

    /// Ends the check.
    ///
    /// # Errors
    /// [`StreamError::ContentMd5Mismatch`] when the plaintext's MD5 differs.
    pub fn finish(self) -> Step<()> {
        let got: [u8; 16] = self.hasher.finalize().into();
        if bool::from(got.ct_eq(&self.expected)) {
            Ok(())
        } else {
            Err(StreamError::ContentMd5Mismatch)
        }
    }
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opener")
            .field("pos", &self.cursor.pos)
            .field("window", &self.cursor.window)
            .field("checks_md5", &self.md5.is_some())
            .finish_non_exhaustive()
    }
}

impl Opener {
    /// An opener for a whole object whose length is not declared. Prefer
    /// [`with_len`](Self::with_len) whenever the envelope declares a length.
    #[must_use]
    pub fn new(material: &ContentMaterial) -> Self {
        Self::for_window(
            material,
            Window {
                body_start: 0,
                keep_start: 0,
                keep_end: u64::MAX,
                body_end: None,
            },
        )
    }

    /// An opener for a whole object of `len` bytes: more ciphertext is an [`StreamError::Extended`],
    /// less is an [`StreamError::Truncated`] at [`finish`](Self::finish).
    #[must_use]
    pub fn with_len(material: &ContentMaterial, len: u64) -> Self {
        Self::for_window(
            material,
            Window {
                body_start: 0,
                keep_start: 0,
                keep_end: len,
                body_end: Some(len),
            },
        )
    }

    pub(crate) fn for_window(material: &ContentMaterial, window: Window) -> Self {
        Self {
            keystream: Keystream::at(material, window.keep_start),
            cursor: Cursor::new(window),
            md5: None,
        }
    }

    /// Also checks, at [`finish`](Self::finish), that the delivered plaintext has MD5 `md5` (the
    /// envelope's `unencrypted-content-md5`). Only meaningful for a whole-object read;
    /// [`Envelope::whole_opener`](crate::Envelope::whole_opener) sets it when the envelope has one.
    #[must_use]
    pub fn expecting_md5(mut self, md5: [u8; 16]) -> Self {
        self.md5 = Some(ContentMd5Check::new(md5));
        self
    }

    fn digest(&mut self, plaintext: &[u8]) {
        if let Some(check) = &mut self.md5 {
            check.update(plaintext);
        }
    }

    /// Decrypts the delivered part of `input` into the front of `output` and returns how many
    /// bytes it wrote. All of `input` is consumed.
    ///
    /// # Errors
    /// [`StreamError::BufferTooSmall`] when `output` cannot hold the delivered bytes;
    /// [`StreamError::Extended`] when the input passes the declared length. The state is
    /// unchanged on error.
    pub fn update(&mut self, input: &[u8], output: &mut [u8]) -> Step<usize> {
        let (end, keep) = self.cursor.plan(input.len())?;
        let local = self.cursor.local(&keep);
        let n = local.len();
        let out = output
            .get_mut(..n)
            .ok_or(StreamError::BufferTooSmall { required: n })?;
        self.keystream.apply(&input[local], out);
        self.digest(out);
        self.cursor.pos = end;
        Ok(n)
    }

    /// Decrypts `buf` in place and returns the range of `buf` that holds delivered plaintext.
    ///
    /// # Errors
    /// [`StreamError::Extended`] when the input passes the declared length; the state is
    /// unchanged.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>> {
        let (end, keep) = self.cursor.plan(buf.len())?;
        let local = self.cursor.local(&keep);
        let delivered = &mut buf[local.clone()];
        self.keystream.apply_in_place(delivered);
        self.digest(delivered);
        self.cursor.pos = end;
        Ok(local)
    }

    /// Whether every byte to deliver has been delivered. The rest of the body, if any, only
    /// needs to be drained (or the connection dropped).
    #[must_use]
    pub const fn is_done(&self) -> bool {
        self.cursor.is_done()
    }

    /// The number of plaintext bytes still to deliver, when the window's end is known.
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        self.cursor.remaining()
    }

    /// Ends the stream and returns the number of plaintext bytes delivered.
    ///
    /// # Errors
    /// [`StreamError::Truncated`] when the body ended before its declared length;
    /// [`StreamError::ContentMd5Mismatch`] when an expected MD5
    /// ([`expecting_md5`](Self::expecting_md5)) does not match the plaintext.
    pub fn finish(self) -> Step<u64> {
        let delivered = self.cursor.finish()?;
        if let Some(check) = self.md5 {
            check.finish()?;
        }
        Ok(delivered)
    }
}

/// Where a body stream is, against the window of it to deliver: shared by [`Opener`] and
/// [`PlainWindow`], so a ciphertext and a stored-in-the-clear body follow one set of rules.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    pos: u64,
    window: Window,
}

impl Cursor {
    const fn new(window: Window) -> Self {
        Self {
            pos: window.body_start,
            window,
        }
    }

    /// The part of `[pos, pos + len)` that is delivered, as object offsets, after checking the
    /// declared body length.
    fn plan(&self, len: usize) -> Step<(u64, Range<u64>)> {
        let end = end_of(self.pos, len);
        if let Some(body_end) = self.window.body_end {
            // As in `Sealer::check`: an end past 2^64 - 1 is past the declared body end.
            if !matches!(end, Ok(e) if e <= body_end) {
                return Err(StreamError::Extended {
                    expected: body_end - self.window.body_start,
                });
            }
        }
        let end = end?;
        // The delivered part lies inside this chunk, and is empty when the chunk is wholly before
        // or after the window.
        let from = self.pos.max(self.window.keep_start).min(end);
        let to = end.min(self.window.keep_end).max(from);
        Ok((end, from..to))
    }

    fn local(&self, keep: &Range<u64>) -> Range<usize> {
        // Both bounds lie within the current chunk, whose length is a usize.
        let start = usize::try_from(keep.start - self.pos).unwrap_or(usize::MAX);
        let end = usize::try_from(keep.end - self.pos).unwrap_or(usize::MAX);
        start..end
    }

    const fn is_done(&self) -> bool {
        self.pos >= self.window.keep_end
    }

    /// Bytes still to deliver; unknown for a whole read of undeclared length.
    fn remaining(&self) -> Option<u64> {
        let w = self.window;
        (w.keep_end != u64::MAX || w.body_end.is_some())
            .then(|| w.keep_end.saturating_sub(self.pos.max(w.keep_start)))
    }

    fn finish(self) -> Step<u64> {
        let w = self.window;
        if let Some(body_end) = w.body_end
            && self.pos < body_end
        {
            return Err(StreamError::Truncated {
                expected: body_end - w.body_start,
                actual: self.pos - w.body_start,
            });
        }
        let delivered_to = self.pos.min(w.keep_end);
        Ok(delivered_to.saturating_sub(w.keep_start))
    }
}

/// The byte window of a ranged read of an object stored in the clear (no envelope, read as is):
/// which bytes of each chunk of the body to keep, by the same rules as [`Opener`] (the body
/// may start before the requested range and run past it; it may not be longer or shorter than
/// declared). Made by [`BodyPlan::passthrough`](crate::BodyPlan::passthrough).
#[derive(Clone, Copy, Debug)]
pub struct PlainWindow {
    cursor: Cursor,
}

impl PlainWindow {
    pub(crate) const fn new(window: Window) -> Self {
        Self {
            cursor: Cursor::new(window),
        }
    }

    /// Takes the next `len` body bytes and returns the range of them to deliver.
    ///
    /// # Errors
    /// [`StreamError::Extended`] when the body passes its declared length; the state is
    /// unchanged.
    pub fn update(&mut self, len: usize) -> Step<Range<usize>> {
        let (end, keep) = self.cursor.plan(len)?;
        let local = self.cursor.local(&keep);
        self.cursor.pos = end;
        Ok(local)
    }

    /// Whether every byte to deliver has been delivered.
    #[must_use]
    pub const fn is_done(&self) -> bool {
        self.cursor.is_done()
    }

    /// The number of bytes still to deliver.
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        self.cursor.remaining()
    }

    /// Ends the body and returns the number of bytes delivered.
    ///
    /// # Errors
    /// [`StreamError::Truncated`] when the body ended before its declared length.
    pub fn finish(self) -> Step<u64> {
        self.cursor.finish()
    }
}

/// Forwards the trait to the inherent methods of the same names, which are the documented ones.
macro_rules! body_transform {
    ($($ty:ty),*) => {$(
        impl BodyTransform for $ty {
            fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>> {
                <$ty>::update_in_place(self, buf)
            }
            fn finish(self) -> Step<u64> {
                <$ty>::finish(self)
            }
            fn remaining(&self) -> Option<u64> {
                <$ty>::remaining(self)
            }
        }
    )*};
}

body_transform!(Sealer, Opener);

impl BodyTransform for crate::PartSealer {
    fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>> {
        Self::update_in_place(self, buf)
    }
    fn finish(self) -> Step<u64> {
        Self::finish(self)
    }
    fn remaining(&self) -> Option<u64> {
        Some(Self::remaining(self))
    }
}

impl BodyTransform for PlainWindow {
    fn update_in_place(&mut self, buf: &mut [u8]) -> Step<Range<usize>> {
        self.update(buf.len())
    }
    fn finish(self) -> Step<u64> {
        Self::finish(self)
    }
    fn remaining(&self) -> Option<u64> {
        Self::remaining(self)
    }
}

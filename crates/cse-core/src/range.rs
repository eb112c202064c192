//! The pure range planner for ranged GETs of encrypted objects.
//!
//! Request side: [`plan_range`] turns the caller's range into the range to send, with its start
//! rounded down to a block and `x-oss-range-behavior: standard`, so OSS answers 416 for an
//! unsatisfiable range instead of the whole object. Response side: [`RangePlan::on_response`]
//! takes what the server actually answered (206 with Content-Range, 200 with the whole object, or
//! 416) and yields the [`BodyPlan`]: where the keystream starts, how many body bytes to drop and
//! keep, and the plaintext Content-Range and Content-Length to report.
//!
//! The counter is derived from the response's Content-Range, never from the request, so a server
//! or proxy that ignores or changes the range is decrypted correctly or refused, never turned into
//! garbage. Suffix ranges and ranges past the end follow RFC 9110 exactly; the SDKs get both wrong.

use core::fmt;

use crate::error::{Error, RangeProblem, Result};
use crate::fixed::parse_decimal;
use crate::key::{BLOCK_LEN, ContentMaterial, CounterBlock};
use crate::meta::RANGE_BEHAVIOR_STANDARD;
use crate::stream::{Opener, PlainWindow, Window};

/// A byte range as HTTP states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteRange {
    /// `bytes=first-last`, both inclusive.
    Bounded {
        /// The first byte.
        first: u64,
        /// The last byte, inclusive.
        last: u64,
    },
    /// `bytes=first-`: from `first` to the end.
    From {
        /// The first byte.
        first: u64,
    },
    /// `bytes=-len`: the last `len` bytes.
    Suffix {
        /// How many bytes from the end.
        len: u64,
    },
}

impl ByteRange {
    /// Parses a Range header value: `bytes=A-B`, `bytes=A-` or `bytes=-N` (the unit
    /// case-insensitive, no spaces, one range).
    ///
    /// # Errors
    /// [`Error::InvalidRange`] with the problem: syntax, `B < A`, several ranges, or a number past
    /// 2^64 - 1. `bytes=-0` parses: it is well formed, and unsatisfiable whatever the object.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |p| Error::InvalidRange(p);
        let spec = text
            .get(..6)
            .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
            .and_then(|_| text.get(6..))
            .ok_or(bad(RangeProblem::Syntax))?;
        if spec.contains(',') {
            return Err(bad(RangeProblem::MultipleRanges));
        }
        let (a, b) = spec.split_once('-').ok_or(bad(RangeProblem::Syntax))?;
        let num = |s: &str| -> Result<u64> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad(RangeProblem::Syntax));
            }
            parse_decimal(s.as_bytes()).ok_or(bad(RangeProblem::Overflow))
        };
        match (a.is_empty(), b.is_empty()) {
            (true, true) => Err(bad(RangeProblem::Syntax)),
            // `bytes=-0` is well formed and never satisfiable (RFC 9110 §14.1.2): it parses, and
            // planning it fails with `RangeNotSatisfiable`.
            (true, false) => Ok(Self::Suffix { len: num(b)? }),
            (false, true) => Ok(Self::From { first: num(a)? }),
            (false, false) => {
                let (first, last) = (num(a)?, num(b)?);
                if last < first {
                    return Err(bad(RangeProblem::Reversed));
                }
                Ok(Self::Bounded { first, last })
            }
        }
    }

    /// The bytes this range selects in an object of `len` bytes, as an inclusive
    /// `(first, last)`, by RFC 9110 §14.1.2.
    ///
    /// # Errors
    /// [`Error::RangeNotSatisfiable`] when the range starts at or past the end, is a suffix of an
    /// empty object, or is `bytes=-0`.
    pub fn resolve(self, len: u64) -> Result<(u64, u64)> {
        let unsatisfiable = Error::RangeNotSatisfiable {
            object_len: Some(len),
        };
        match self {
            Self::Bounded { first, .. } | Self::From { first } if first >= len => {
                Err(unsatisfiable)
            }
            Self::Bounded { first, last } => Ok((first, last.min(len - 1))),
            Self::From { first } => Ok((first, len - 1)),
            Self::Suffix { len: n } if len == 0 || n == 0 => Err(unsatisfiable),
            Self::Suffix { len: n } => Ok((len - n.min(len), len - 1)),
        }
    }
}

impl fmt::Display for ByteRange {
    /// The Range header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Bounded { first, last } => write!(f, "bytes={first}-{last}"),
            Self::From { first } => write!(f, "bytes={first}-"),
            Self::Suffix { len } => write!(f, "bytes=-{len}"),
        }
    }
}

/// A Content-Range: bytes `first..=last` of an object of `total` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentRange {
    /// The first byte.
    pub first: u64,
    /// The last byte, inclusive.
    pub last: u64,
    /// The object length.
    pub total: u64,
}

impl ContentRange {
    /// Parses `bytes A-B/N` (the unit case-insensitive) with `A <= B < N`.
    ///
    /// # Errors
    /// [`Error::InvalidRange`] with [`RangeProblem::ContentRangeSyntax`].
    pub fn parse(text: &str) -> Result<Self> {
        let bad = Error::InvalidRange(RangeProblem::ContentRangeSyntax);
        let rest = text
            .get(..6)
            .filter(|unit| unit.eq_ignore_ascii_case("bytes "))
            .and_then(|_| text.get(6..))
            .ok_or(bad)?;
        let (span, total) = rest.split_once('/').ok_or(bad)?;
        let (first, last) = span.split_once('-').ok_or(bad)?;
        let [first, last, total] = [first, last, total].map(|s| parse_decimal(s.as_bytes()));
        match (first, last, total) {
            (Some(first), Some(last), Some(total)) if first <= last && last < total => {
                Ok(Self { first, last, total })
            }
            _ => Err(bad),
        }
    }

    /// The number of bytes covered.
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Always `false`: a Content-Range covers at least one byte.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for ContentRange {
    /// The Content-Range header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.first, self.last, self.total)
    }
}

/// What the server answered to a ranged GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeResponse {
    /// 206 Partial Content with this Content-Range.
    Partial(ContentRange),
    /// 200 OK with the whole object of this many bytes (the range was ignored).
    Whole {
        /// The object length (the Content-Length).
        len: u64,
    },
    /// 416 Range Not Satisfiable, with the object length when `Content-Range: bytes */N` said it.
    NotSatisfiable {
        /// The object length, when known.
        len: Option<u64>,
    },
}

impl RangeResponse {
    /// Classifies a response from its status and headers.
    ///
    /// # Errors
    /// [`Error::InvalidRange`]: a 206 without a valid Content-Range, a 200 without a
    /// Content-Length, or another status.
    pub fn from_parts(
        status: u16,
        content_range: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<Self> {
        match status {
            206 => ContentRange::parse(content_range.unwrap_or_default()).map(Self::Partial),
            200 => content_length
                .map(|len| Self::Whole { len })
                .ok_or(Error::InvalidRange(RangeProblem::UnexpectedStatus)),
            416 => Ok(Self::NotSatisfiable {
                len: content_range
                    .and_then(|cr| cr.strip_prefix("bytes */"))
                    .and_then(|n| parse_decimal(n.as_bytes())),
            }),
            _ => Err(Error::InvalidRange(RangeProblem::UnexpectedStatus)),
        }
    }
}

/// The request to send for one ranged read, and the rules to read its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangePlan {
    requested: ByteRange,
    object_len: Option<u64>,
}

/// Plans a ranged read of `requested`, with the object length when it is known (from a HEAD).
///
/// With the length known, an unsatisfiable range fails here, before any request; so does
/// `bytes=-0`, which nothing satisfies.
///
/// # Errors
/// [`Error::RangeNotSatisfiable`] when the length is known and the range selects nothing.
pub fn plan_range(requested: ByteRange, object_len: Option<u64>) -> Result<RangePlan> {
    match (requested, object_len) {
        (_, Some(len)) => {
            requested.resolve(len)?;
        }
        (ByteRange::Suffix { len: 0 }, None) => {
            return Err(Error::RangeNotSatisfiable { object_len: None });
        }
        _ => {}
    }
    Ok(RangePlan {
        requested,
        object_len,
    })
}

impl RangePlan {
    /// The range the caller asked for.
    #[must_use]
    pub const fn requested(&self) -> ByteRange {
        self.requested
    }

    /// The Range to send: the requested range with its start rounded down to a 16-byte block
    /// (resolved against the length when it is known). A suffix of unknown length is sent as is:
    /// the response's Content-Range says where it starts, and the keystream seeks to any byte.
    #[must_use]
    pub fn wire_range(&self) -> ByteRange {
        let align = |first: u64| first - first % BLOCK_LEN;
        match (
            self.object_len.map(|len| self.requested.resolve(len)),
            self.requested,
        ) {
            (Some(Ok((first, last))), _) => ByteRange::Bounded {
                first: align(first),
                last,
            },
            (_, ByteRange::Bounded { first, last }) => ByteRange::Bounded {
                first: align(first),
                last,
            },
            (_, ByteRange::From { first }) => ByteRange::From {
                first: align(first),
            },
            (_, suffix @ ByteRange::Suffix { .. }) => suffix,
        }
    }

    /// The `x-oss-range-behavior` value to send with [`wire_range`](Self::wire_range): always
    /// `standard`, so OSS answers 416 rather than the whole object for a start past the end.
    #[must_use]
    pub const fn range_behavior(&self) -> &'static str {
        RANGE_BEHAVIOR_STANDARD
    }

    /// The [`BodyPlan`] of reading the object straight from storage of `stored_len` bytes that
    /// the caller controls (a local ciphertext file): the body is the
    /// [`wire_range`](Self::wire_range) resolved against that length, as a server honouring it
    /// would send.
    ///
    /// # Errors
    /// As [`on_response`](Self::on_response): [`Error::RangeNotSatisfiable`] when the range
    /// selects nothing in `stored_len` bytes, [`Error::InvalidRange`] with
    /// [`RangeProblem::LengthChanged`] when the plan was made for another length.
    pub fn on_stored(&self, stored_len: u64) -> Result<BodyPlan> {
        let (first, last) = self.wire_range().resolve(stored_len).map_err(|e| match e {
            Error::RangeNotSatisfiable { .. } => Error::RangeNotSatisfiable {
                object_len: Some(stored_len),
            },
            other => other,
        })?;
        self.on_response(RangeResponse::Partial(ContentRange {
            first,
            last,
            total: stored_len,
        }))
    }

    /// Reads the server's answer into a [`BodyPlan`].
    ///
    /// # Errors
    /// [`Error::RangeNotSatisfiable`] for a 416, or when the requested range selects nothing in
    /// the object the server describes; [`Error::InvalidRange`] with
    /// [`RangeProblem::ResponseDoesNotCover`] when the body does not contain the requested bytes,
    /// or [`RangeProblem::LengthChanged`] when the object length is not the planned one.
    pub fn on_response(&self, response: RangeResponse) -> Result<BodyPlan> {
        let (body, total) = match response {
            RangeResponse::NotSatisfiable { len } => {
                return Err(Error::RangeNotSatisfiable {
                    object_len: len.or(self.object_len),
                });
            }
            RangeResponse::Whole { len } => ((0, len), len),
            RangeResponse::Partial(cr) => ((cr.first, cr.last + 1), cr.total),
        };
        if self.object_len.is_some_and(|len| len != total) {
            return Err(Error::InvalidRange(RangeProblem::LengthChanged));
        }
        let (first, last) = self.requested.resolve(total)?;
        if body.0 > first || body.1 <= last {
            return Err(Error::InvalidRange(RangeProblem::ResponseDoesNotCover));
        }
        Ok(BodyPlan {
            body_start: body.0,
            body_end: body.1,
            keep: ContentRange { first, last, total },
        })
    }
}

/// How to turn one response body into the requested plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyPlan {
    body_start: u64,
    body_end: u64,
    keep: ContentRange,
}

impl BodyPlan {
    /// The object offset of the body's first byte.
    #[must_use]
    pub const fn body_start(&self) -> u64 {
        self.body_start
    }

    /// The body length the server declared.
    #[must_use]
    pub const fn body_len(&self) -> u64 {
        self.body_end - self.body_start
    }

    /// Body bytes to drop before the first requested byte.
    #[must_use]
    pub const fn drop_len(&self) -> u64 {
        self.keep.first - self.body_start
    }

    /// Plaintext bytes to keep after the dropped ones; the rest of the body is dropped too.
    #[must_use]
    pub const fn keep_len(&self) -> u64 {
        self.keep.len()
    }

    /// The counter block of the body's first block, `IV + body_start / 16` as a 128-bit add; the
    /// body's first byte is at byte `body_start % 16` of that block.
    #[must_use]
    pub fn start_counter(&self, material: &ContentMaterial) -> CounterBlock {
        material
            .counter()
            .add_blocks(u128::from(self.body_start / BLOCK_LEN))
    }

    /// The Content-Range to report for the plaintext.
    #[must_use]
    pub const fn content_range(&self) -> ContentRange {
        self.keep
    }

    /// The Content-Length to report for the plaintext.
    #[must_use]
    pub const fn content_length(&self) -> u64 {
        self.keep.len()
    }

    /// An [`Opener`] that takes the body as it arrives and delivers exactly the requested
    /// plaintext, refusing a body longer than declared and, at `finish`, a shorter one.
    #[must_use]
    pub fn opener(&self, material: &ContentMaterial) -> Opener {
        Opener::for_window(material, self.window())
    }

    /// The same window for an object stored in the clear (no envelope): a [`PlainWindow`] that
    /// says which bytes of each chunk to keep, with the same length checks as
    /// [`opener`](Self::opener), so a plain object's range is trimmed by the engine too.
    #[must_use]
    pub const fn passthrough(&self) -> PlainWindow {
        PlainWindow::new(self.window())
    }

    const fn window(&self) -> Window {
        Window {
            body_start: self.body_start,
            keep_start: self.keep.first,
            keep_end: self.keep.last + 1,
            body_end: Some(self.body_end),
        }
    }
}

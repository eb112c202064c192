//! RFC 9110 byte ranges, resolved the way a server that honours them answers: the tests' and
//! fuzz targets' oracle for the engine's range planner.
//!
//! Written from RFC 9110 §14 alone: nothing here calls cse-core's range code (it only holds
//! ranges in [`cse_core::ByteRange`], a plain enum), so the engine and this oracle can disagree,
//! which is the point of checking one against the other.
//!
//! ```
//! use cse_testkit::range::{Answer, resolve};
//! assert_eq!(resolve("bytes=10-19", 100), Answer::Partial { first: 10, last: 19 });
//! assert_eq!(resolve("bytes=90-", 100), Answer::Partial { first: 90, last: 99 });
//! assert_eq!(resolve("bytes=-500", 100), Answer::Partial { first: 0, last: 99 });
//! assert_eq!(resolve("bytes=100-", 100), Answer::Unsatisfiable);
//! assert_eq!(resolve("bytes=-0", 100), Answer::Unsatisfiable);
//! assert_eq!(resolve("bytes=20-10", 100), Answer::Ignore);
//! ```

use core::ops::Range;

use cse_core::ByteRange;

/// What a server that honours RFC 9110 answers to a Range header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 206 Partial Content with bytes `first..=last` (`Content-Range: bytes first-last/len`).
    Partial {
        /// The first byte sent.
        first: u64,
        /// The last byte sent, inclusive.
        last: u64,
    },
    /// 416 Range Not Satisfiable: no byte of the object is selected (§14.1.1: a first-pos at or
    /// past the end, a zero suffix-length, or any range of an empty object).
    Unsatisfiable,
    /// 200 with the whole object: the header is ignored. §14.2 requires that for a unit other
    /// than `bytes` and allows it for an invalid ranges-specifier (a last-pos before the
    /// first-pos, bad syntax) and, in general, for any range request; this resolver also takes
    /// that liberty for several ranges, which it does not serve.
    Ignore,
}

/// The bytes `range` selects from an object of `len` bytes as `(first, last)` inclusive, or
/// `None` when it is unsatisfiable (§14.1.1: a first-pos at or past the end, a zero
/// suffix-length, or any range of an empty object). A bounded range whose last-pos precedes its
/// first-pos is invalid rather than unsatisfiable; here it is unsatisfiable too (a caller
/// parsing header text gets [`Answer::Ignore`] for it from [`resolve`]).
#[must_use]
pub fn resolve_range(range: ByteRange, len: u64) -> Option<(u64, u64)> {
    let end = len.checked_sub(1)?;
    match range {
        ByteRange::Bounded { first, last } if first <= last && first <= end => {
            Some((first, last.min(end)))
        }
        ByteRange::From { first } if first <= end => Some((first, end)),
        ByteRange::Suffix { len: n } if n > 0 => Some((len - n.min(len), end)),
        _ => None,
    }
}

/// [`resolve_range`] as the index range of the selected bytes in a slice of `len` bytes.
#[must_use]
pub fn slice(range: ByteRange, len: usize) -> Option<Range<usize>> {
    let (first, last) = resolve_range(range, len as u64)?;
    Some(index(first)..index(last) + 1)
}

/// Reads a Range header value holding exactly one byte-range-spec: `bytes=A-B`, `bytes=A-` or
/// `bytes=-N`, the unit compared case-insensitively (§14.1), the positions `1*DIGIT`. A number
/// too large for `u64` saturates, which keeps its meaning (a first-pos that large is past any
/// object, a last-pos or suffix-length that large covers all of it). `None` for anything else:
/// another unit, bad syntax, several ranges, or a last-pos before the first-pos.
#[must_use]
pub fn parse(value: &str) -> Option<ByteRange> {
    let (unit, set) = value.split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") || set.contains(',') {
        return None;
    }
    let (a, b) = set.split_once('-')?;
    match (digits(a), digits(b)) {
        (Some(first), Some(last)) if first <= last => Some(ByteRange::Bounded { first, last }),
        (Some(first), None) if b.is_empty() => Some(ByteRange::From { first }),
        (None, Some(len)) if a.is_empty() => Some(ByteRange::Suffix { len }),
        _ => None,
    }
}

/// What a server that honours RFC 9110 answers to the Range header `value` for an object of
/// `len` bytes.
#[must_use]
pub fn resolve(value: &str, len: u64) -> Answer {
    match parse(value) {
        None => Answer::Ignore,
        Some(range) => match resolve_range(range, len) {
            Some((first, last)) => Answer::Partial { first, last },
            None => Answer::Unsatisfiable,
        },
    }
}

/// The bytes of `object` that the Range header `value` selects, or `None` when the server
/// answers 416.
///
/// # Panics
/// When the server would ignore the header ([`Answer::Ignore`]): a test that asks for the
/// selected bytes means a range the server honours, and a typo must not pass as "the whole
/// object".
#[must_use]
pub fn selected<'a>(object: &'a [u8], value: &str) -> Option<&'a [u8]> {
    match resolve(value, object.len() as u64) {
        Answer::Partial { first, last } => Some(&object[index(first)..=index(last)]),
        Answer::Unsatisfiable => None,
        Answer::Ignore => panic!("a server ignores the Range header {value:?}"),
    }
}

/// `1*DIGIT` as a `u64`, saturating; `None` for an empty or non-digit string.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// A position inside a slice as an index (it is one: it was resolved against the slice's length).
fn index(position: u64) -> usize {
    usize::try_from(position).expect("a position inside a slice fits usize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_resolves_by_rfc_9110() {
        let cases: &[(&str, u64, Answer)] = &[
            ("bytes=0-0", 10, Answer::Partial { first: 0, last: 0 }),
            ("bytes=3-5", 10, Answer::Partial { first: 3, last: 5 }),
            ("bytes=3-500", 10, Answer::Partial { first: 3, last: 9 }),
            ("bytes=9-9", 10, Answer::Partial { first: 9, last: 9 }),
            ("bytes=10-10", 10, Answer::Unsatisfiable),
            ("bytes=7-", 10, Answer::Partial { first: 7, last: 9 }),
            ("bytes=10-", 10, Answer::Unsatisfiable),
            ("bytes=-3", 10, Answer::Partial { first: 7, last: 9 }),
            ("bytes=-10", 10, Answer::Partial { first: 0, last: 9 }),
            ("bytes=-11", 10, Answer::Partial { first: 0, last: 9 }),
            ("bytes=-0", 10, Answer::Unsatisfiable),
            ("bytes=-0", 0, Answer::Unsatisfiable),
            ("bytes=-5", 0, Answer::Unsatisfiable),
            ("bytes=0-", 0, Answer::Unsatisfiable),
            ("bytes=0-0", 0, Answer::Unsatisfiable),
            ("BYTES=1-2", 10, Answer::Partial { first: 1, last: 2 }),
            ("bytes=99999999999999999999-", 10, Answer::Unsatisfiable),
            (
                "bytes=2-99999999999999999999",
                10,
                Answer::Partial { first: 2, last: 9 },
            ),
            (
                "bytes=-99999999999999999999",
                10,
                Answer::Partial { first: 0, last: 9 },
            ),
        ];
        for &(value, len, want) in cases {
            assert_eq!(resolve(value, len), want, "{value} of {len}");
        }
    }

    #[test]
    fn what_is_not_one_bytes_range_is_ignored() {
        for value in [
            "bytes=5-4",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1--2",
            "bytes= 1-2",
            "0-1",
            "bytes=",
            "bytes=-",
            "bytes=1",
            "",
        ] {
            assert_eq!(resolve(value, 10), Answer::Ignore, "{value}");
        }
    }

    #[test]
    fn each_form_parses() {
        for (value, range) in [
            ("bytes=3-9", ByteRange::Bounded { first: 3, last: 9 }),
            ("bytes=0-", ByteRange::From { first: 0 }),
            ("bytes=-0", ByteRange::Suffix { len: 0 }),
            (
                "bytes=-18446744073709551615",
                ByteRange::Suffix { len: u64::MAX },
            ),
            (
                "bytes=-18446744073709551616",
                ByteRange::Suffix { len: u64::MAX },
            ),
        ] {
            assert_eq!(parse(value), Some(range), "{value}");
        }
    }

    #[test]
    fn selected_bytes_are_the_slice() {
        let object: Vec<u8> = (0..10).collect();
        assert_eq!(selected(&object, "bytes=2-4"), Some(&object[2..5]));
        assert_eq!(selected(&object, "bytes=-2"), Some(&object[8..]));
        assert_eq!(selected(&object, "bytes=10-"), None);
        assert_eq!(slice(ByteRange::Suffix { len: 4 }, 10), Some(6..10));
        assert_eq!(slice(ByteRange::From { first: 10 }, 10), None);
    }

    #[test]
    #[should_panic(expected = "ignores the Range header")]
    fn selected_refuses_an_ignored_header() {
        let _ = selected(&[0; 4], "bytes=3-1");
    }
}

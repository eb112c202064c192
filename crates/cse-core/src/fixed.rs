//! A fixed-capacity byte buffer, so the envelope needs no allocator.

use core::fmt;

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FixedBytes<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedBytes<N> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// `None` when `bytes` is longer than `N`.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut out = Self::new();
        out.buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        out.len = bytes.len();
        Some(out)
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The whole spare capacity, for a decoder to write into; commit with `set_len`.
    pub(crate) fn storage_mut(&mut self) -> &mut [u8; N] {
        &mut self.buf
    }

    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(N);
    }
}

impl<const N: usize> fmt::Debug for FixedBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.len)
    }
}

/// A fixed-capacity ASCII string (header names, algorithm names, canonical JSON).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FixedStr<const N: usize>(FixedBytes<N>);

impl<const N: usize> FixedStr<N> {
    pub(crate) const fn new() -> Self {
        Self(FixedBytes::new())
    }

    pub(crate) fn from_str(s: &str) -> Option<Self> {
        FixedBytes::from_slice(s.as_bytes()).map(Self)
    }

    pub(crate) fn push_str(&mut self, s: &str) -> Option<()> {
        let start = self.0.len;
        let end = start.checked_add(s.len())?;
        self.0
            .buf
            .get_mut(start..end)?
            .copy_from_slice(s.as_bytes());
        self.0.len = end;
        Some(())
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are ever pushed, so the contents are always UTF-8.
        core::str::from_utf8(self.0.as_slice()).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Formats a `u64` as decimal without allocating.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// Parses a strict decimal `u64`: ASCII digits only, no sign, no spaces.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if c.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trips() {
        for n in [0u64, 1, 9, 10, 4096, u64::MAX] {
            let mut b = [0; 20];
            assert_eq!(parse_decimal(decimal(n, &mut b).as_bytes()), Some(n));
        }
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b" 1"), None);
        assert_eq!(parse_decimal(b""), None);
    }
}

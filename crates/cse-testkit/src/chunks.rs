//! How a test cuts a stream into the chunks it feeds: the two schemes the proptests and the fuzz
//! targets use.

/// A rule for cutting `len` bytes into chunk lengths.
#[derive(Clone, Copy, Debug)]
pub enum Cuts<'a> {
    /// The lengths taken in turn and cycled, each clamped to at least 1 and at most what is left;
    /// no lengths: one chunk.
    Cycle(&'a [usize]),
    /// Each split taken modulo 97 (so empty and block-straddling chunks both occur) until the
    /// bytes run out, then the rest as one last chunk.
    Splits(&'a [u16]),
}

impl Cuts<'_> {
    /// The chunk lengths for `len` bytes; they add up to `len`.
    #[must_use]
    pub fn lengths(self, len: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut left = len;
        match self {
            Self::Cycle(cuts) => {
                let mut turn = cuts.iter().cycle();
                while left > 0 {
                    let n = turn.next().copied().unwrap_or(left).clamp(1, left);
                    out.push(n);
                    left -= n;
                }
            }
            Self::Splits(splits) => {
                for &s in splits {
                    if left == 0 {
                        break;
                    }
                    let n = usize::from(s % 97).min(left);
                    out.push(n);
                    left -= n;
                }
                if left > 0 {
                    out.push(left);
                }
            }
        }
        out
    }

    /// `data` cut into chunks by [`Cuts::lengths`].
    #[must_use]
    pub fn apply(self, data: &[u8]) -> Vec<&[u8]> {
        let mut rest = data;
        self.lengths(data.len())
            .into_iter()
            .map(|n| {
                let (head, tail) = rest.split_at(n);
                rest = tail;
                head
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_cover_the_bytes() {
        assert_eq!(Cuts::Cycle(&[3, 0, 5]).lengths(12), [3, 1, 5, 3]);
        assert_eq!(Cuts::Cycle(&[]).lengths(7), [7]);
        assert!(Cuts::Cycle(&[4]).lengths(0).is_empty());
        assert_eq!(Cuts::Splits(&[5, 97, 200]).lengths(30), [5, 0, 6, 19]);
        assert_eq!(Cuts::Splits(&[50]).lengths(10), [10]);
        assert!(Cuts::Splits(&[1]).lengths(0).is_empty());
        let data: Vec<u8> = (0..10).collect();
        assert_eq!(
            Cuts::Cycle(&[4]).apply(&data),
            [&data[..4], &data[4..8], &data[8..]]
        );
    }
}

//! CRC-64 as OSS reports it in `x-oss-hash-crc64ecma` (the catalogue's CRC-64/XZ: reflected
//! polynomial 0xC96C5795D7870F42, init and xor-out all ones). OSS computes it over the stored
//! bytes, which for an encrypted object are the ciphertext.
//!
//! The arithmetic is `crc64fast`'s (carry-less multiply where the CPU has it, tables elsewhere);
//! the tests check it against the catalogue value and a bitwise reference written here.

/// A running CRC-64/XZ.
#[derive(Clone)]
pub(crate) struct Crc64(crc64fast::Digest);

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Crc64").field(&self.0.sum64()).finish()
    }
}

impl Crc64 {
    pub(crate) fn new() -> Self {
        Self(crc64fast::Digest::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.write(data);
    }

    pub(crate) fn value(&self) -> u64 {
        self.0.sum64()
    }
}

/// A body that computes the CRC-64 of what passes through it and, when OSS reported the whole
/// object's (`x-oss-hash-crc64ecma` on a whole GetObject), ends with [`Mismatch`] instead of
/// ending cleanly if the two differ: data damaged on the way is not delivered as complete.
pub(crate) struct CrcChecked<B> {
    inner: B,
    crc: Crc64,
    expected: Option<u64>,
    ended: bool,
}

/// The error a [`CrcChecked`] body ends with.
#[derive(Debug)]
pub(crate) struct Mismatch {
    pub(crate) client: u64,
    pub(crate) server: u64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the body's CRC-64 ({}) differs from OSS's ({})",
            self.client, self.server
        )
    }
}

impl std::error::Error for Mismatch {}

impl<B> CrcChecked<B> {
    /// The body underneath, unchecked.
    pub(crate) fn into_inner(self) -> B {
        self.inner
    }

    /// Checks `inner` against `expected` (no check with `None`).
    pub(crate) fn new(inner: B, expected: Option<u64>) -> Self {
        Self {
            inner,
            crc: Crc64::new(),
            expected,
            ended: false,
        }
    }
}

impl<B> CrcChecked<B> {
    /// The end-of-body check: the CRC of what passed against OSS's, when there is one.
    fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        match self.expected {
            Some(server) if server != self.crc.value() => Err(Box::new(Mismatch {
                client: self.crc.value(),
                server,
            })),
            _ => Ok(()),
        }
    }
}

impl<B> http_body::Body for CrcChecked<B>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.crc.update(data);
                }
                // The inner body may say it ended with this frame, and a consumer then stops
                // polling: the check runs now, and a mismatch replaces the frame.
                if this.inner.is_end_stream() {
                    this.ended = true;
                    if let Err(e) = this.check() {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(this.check().err().map(Err))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream() && self.expected.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The CRC-64/XZ of `data`.
pub(crate) fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.value()
}

#[cfg(test)]
mod tests {
    /// CRC-64/XZ bit by bit, from its definition.
    fn reference(data: &[u8]) -> u64 {
        let mut crc = u64::MAX;
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xC96C_5795_D787_0F42
                } else {
                    crc >> 1
                };
            }
        }
        crc ^ u64::MAX
    }

    /// A body that announces its end with its last frame (hyper's, with a Content-Length): a
    /// wrong CRC replaces that frame, since a consumer stops polling at the announced end.
    #[tokio::test]
    async fn a_mismatch_replaces_the_last_frame() {
        use http_body::Body as _;
        use http_body_util::BodyExt as _;
        let data = bytes::Bytes::from_static(b"stored bytes");
        let good = super::crc64(&data);
        let mut ok = super::CrcChecked::new(http_body_util::Full::new(data.clone()), Some(good));
        let frame = ok.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), data);
        assert!(ok.is_end_stream());
        let mut bad = super::CrcChecked::new(http_body_util::Full::new(data), Some(good ^ 1));
        assert!(!bad.is_end_stream(), "the check has not run yet");
        let err = bad.frame().await.unwrap().unwrap_err();
        assert!(err.downcast_ref::<super::Mismatch>().is_some(), "{err}");
        assert!(bad.is_end_stream());
    }

    #[test]
    fn check_value() {
        // The catalogue check value of CRC-64/XZ.
        assert_eq!(super::crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(super::crc64(b""), 0);
    }

    #[test]
    fn matches_the_definition_at_every_length_and_split() {
        let data: Vec<u8> = (0..4099u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
            .collect();
        for len in [
            0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000, 4099,
        ] {
            let want = reference(&data[..len]);
            assert_eq!(super::crc64(&data[..len]), want, "length {len}");
            for split in [0, 1.min(len), len / 3, len / 2, len] {
                let mut c = super::Crc64::new();
                c.update(&data[..split]);
                c.update(&data[split..len]);
                assert_eq!(c.value(), want, "length {len} split at {split}");
            }
        }
    }
}

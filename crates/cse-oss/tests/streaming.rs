//! Streamed uploads against the test server: a body of known or unknown length, a reader, a
//! file (with retries), each sealed as it is sent and read back whole.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use bytes::Bytes;
use common::*;
use cse_oss::Error;
use http_body_util::{BodyExt as _, StreamBody};

/// A body of `data` in uneven frames, as a network source would give it.
fn frames(
    data: &[u8],
) -> impl http_body::Body<Data = Bytes, Error = std::io::Error> + Unpin + use<> {
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = data
        .chunks(77_777)
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    StreamBody::new(futures_stream(chunks))
}

/// A `Stream` over a vector, without a futures dependency.
fn futures_stream<T: Unpin>(items: Vec<T>) -> VecStream<T> {
    VecStream(items.into_iter())
}

struct VecStream<T>(std::vec::IntoIter<T>);

impl<T: Unpin> futures_core::Stream for VecStream<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        std::task::Poll::Ready(self.0.next())
    }
}

async fn read_back(server: &cse_oss_test_server::TestServer, key: &str) -> Vec<u8> {
    let got = client(server).get_object(BUCKET, key, None).await.unwrap();
    got.body.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_body_of_known_length_streams_and_declares_it() {
    let server = server().await;
    let data = data(3 * PART + 5);
    let out = client(&server)
        .put_object_stream(BUCKET, "known", frames(&data), Some(data.len() as u64), &[])
        .await
        .unwrap();
    assert!(out.etag.is_some());
    assert_eq!(read_back(&server, "known").await, data);
    let head = client(&server).head_object(BUCKET, "known").await.unwrap();
    let envelope = head.envelope.unwrap();
    assert_eq!(envelope.declared_len(), Some(data.len() as u64));
}

#[tokio::test]
async fn a_body_of_unknown_length_goes_chunked() {
    let server = server().await;
    let data = data(2 * PART + 11);
    client(&server)
        .put_object_stream(BUCKET, "unknown", frames(&data), None, &[])
        .await
        .unwrap();
    assert_eq!(read_back(&server, "unknown").await, data);
    let put = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.key == "unknown")
        .unwrap();
    assert!(
        !put.headers.iter().any(|(n, _)| n == "content-length"),
        "no Content-Length for a body of unknown length: {:?}",
        put.headers
    );
}

#[tokio::test]
async fn a_body_longer_or_shorter_than_declared_is_refused() {
    let server = server().await;
    let data = data(PART);
    let longer = client(&server)
        .put_object_stream(BUCKET, "long", frames(&data), Some(PART as u64 - 1), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(longer, Error::Core(cse_core::Error::Extended { .. })),
        "{longer:?}"
    );
    let shorter = client(&server)
        .put_object_stream(BUCKET, "short", frames(&data), Some(PART as u64 + 1), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(shorter, Error::Core(cse_core::Error::Truncated { .. })),
        "{shorter:?}"
    );
    assert!(server.object(BUCKET, "long").is_none());
    assert!(server.object(BUCKET, "short").is_none());
}

#[tokio::test]
async fn a_length_past_5_gib_is_refused_before_anything_is_sent() {
    let server = server().await;
    let err = client(&server)
        .put_object_stream(BUCKET, "huge", frames(b"x"), Some((5 << 30) + 1), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { name: "body", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("multipart"), "{err}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_empty_body_streams() {
    let server = server().await;
    for (key, len) in [("empty-known", Some(0)), ("empty-unknown", None)] {
        client(&server)
            .put_object_stream(BUCKET, key, frames(b""), len, &[])
            .await
            .unwrap();
        assert!(read_back(&server, key).await.is_empty(), "{key}");
    }
}

#[tokio::test]
async fn a_reader_streams() {
    let server = server().await;
    let data = data(PART + 3);
    let reader = std::io::Cursor::new(data.clone());
    client(&server)
        .put_object_reader(BUCKET, "reader", reader, None, &[])
        .await
        .unwrap();
    assert_eq!(read_back(&server, "reader").await, data);
}

/// A 5xx on the first attempt: the file is read again under a fresh content key, so the
/// stored object is whole and no keystream met two plaintexts.
#[tokio::test]
async fn a_file_put_is_retried_under_a_fresh_key() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let data = data(2 * PART + 1);
    std::fs::write(&path, &data).unwrap();
    server.faults().fail_next(1);
    client(&server)
        .put_object_from_file(BUCKET, "file", &path, &[])
        .await
        .unwrap();
    assert_eq!(read_back(&server, "file").await, data);
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.key == "file")
        .collect();
    assert_eq!(puts.len(), 2, "one failed attempt, one retry");
    let key_of = |r: &cse_oss_test_server::LoggedRequest| {
        r.headers
            .iter()
            .find(|(n, _)| n.ends_with("client-side-encryption-key"))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_ne!(
        key_of(&puts[0]),
        key_of(&puts[1]),
        "each attempt has its own key"
    );
}

#[tokio::test]
async fn a_body_that_fails_mid_way_stores_nothing() {
    let server = server().await;
    let data = data(PART);
    let mut chunks: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = vec![Ok(
        http_body::Frame::data(Bytes::copy_from_slice(&data[..1000])),
    )];
    chunks.push(Err(std::io::Error::other("the source broke")));
    let body = StreamBody::new(futures_stream(chunks));
    let err = client(&server)
        .put_object_stream(BUCKET, "broken", body, Some(PART as u64), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(server.object(BUCKET, "broken").is_none());
    // The body type collects fine when nothing breaks.
    let ok = frames(b"abc").collect().await.unwrap().to_bytes();
    assert_eq!(&ok[..], b"abc");
}

/// The plaintext body is an `http_body::Body`: it collects, and a range's size hint is exact.
#[tokio::test]
async fn a_get_body_is_an_http_body_with_an_exact_size_hint() {
    use http_body::Body as _;
    let server = server().await;
    let data = data(PART + 99);
    client(&server)
        .put_object(cse_oss::PutObjectRequest::new(BUCKET, "body", data.clone()))
        .await
        .unwrap();
    let whole = client(&server)
        .get_object(BUCKET, "body", None)
        .await
        .unwrap();
    assert_eq!(whole.body.size_hint().exact(), Some(data.len() as u64));
    let collected = whole.body.collect().await.unwrap().to_bytes();
    assert!(collected[..] == data[..]);
    let ranged = client(&server)
        .get_object(BUCKET, "body", Some("bytes=-100"))
        .await
        .unwrap();
    assert_eq!(ranged.body.size_hint().exact(), Some(100));
    let tail = ranged.body.collect().await.unwrap().to_bytes();
    assert!(tail[..] == data[data.len() - 100..]);
}

async fn upload(
    server: &cse_oss_test_server::TestServer,
    key: &str,
    len: usize,
) -> cse_oss::EncryptionMultipartContext {
    client(server)
        .initiate_multipart_upload(cse_oss::InitiateMultipartUploadRequest::new(
            BUCKET,
            key,
            2 * PART as u64,
            len as u64,
        ))
        .await
        .unwrap()
}

/// Parts streamed from bodies, in any order, make the object.
#[tokio::test]
async fn parts_stream_from_bodies_in_any_order() {
    let server = server().await;
    let data = data(5 * PART + 7);
    let ctx = upload(&server, "parts", data.len()).await;
    let c = client(&server);
    let mut done = Vec::new();
    for n in [3u32, 1, 2] {
        let (offset, len) = ctx.context().part_range(n).unwrap();
        let (offset, len) = (offset as usize, len as usize);
        let plain = data[offset..offset + len].to_vec();
        // A body for two parts, a reader for the third.
        let sent = if n == 2 {
            c.upload_part_reader(&ctx, n, std::io::Cursor::new(plain))
                .await
        } else {
            c.upload_part_stream(&ctx, n, frames(&plain)).await
        };
        done.push(sent.unwrap());
    }
    c.complete_multipart_upload(&ctx, &done).await.unwrap();
    assert_eq!(read_back(&server, "parts").await, data);
}

/// A send whose answer was lost, resent: the same plaintext goes through; a changed one is
/// refused before any of its changed chunk leaves, and the part can still be sent as it was.
#[tokio::test]
async fn a_streamed_part_is_resent_only_from_the_same_plaintext() {
    let server = server().await;
    let data = data(2 * PART + 10);
    let ctx = upload(&server, "resend", data.len()).await;
    let c = client(&server);
    let first = &data[..2 * PART];
    server.faults().lose_next_reply();
    let lost = c.upload_part_stream(&ctx, 1, frames(first)).await;
    assert!(lost.is_err(), "the reply was lost: {lost:?}");
    let mut changed = first.to_vec();
    changed[70_000] ^= 1;
    let refused = c
        .upload_part_stream(&ctx, 1, frames(&changed))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Core(cse_core::Error::PartChanged { part: 1 })
        ),
        "{refused:?}"
    );
    let one = c.upload_part_stream(&ctx, 1, frames(first)).await.unwrap();
    let two = c
        .upload_part_stream(&ctx, 2, frames(&data[2 * PART..]))
        .await
        .unwrap();
    c.complete_multipart_upload(&ctx, &[one, two])
        .await
        .unwrap();
    assert_eq!(read_back(&server, "resend").await, data);
}

#[tokio::test]
async fn a_streamed_part_of_the_wrong_length_is_refused() {
    let server = server().await;
    let data = data(2 * PART + 10);
    let ctx = upload(&server, "wrong", data.len()).await;
    let c = client(&server);
    let short = c
        .upload_part_stream(&ctx, 1, frames(&data[..2 * PART - 1]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            Error::Core(cse_core::Error::PartLength { part: 1, .. })
        ),
        "{short:?}"
    );
}

#[tokio::test]
async fn a_streamed_part_longer_than_its_length_is_refused() {
    let server = server().await;
    let data = data(2 * PART + 10);
    let ctx = upload(&server, "long", data.len()).await;
    let long = client(&server)
        .upload_part_stream(&ctx, 1, frames(&data[..2 * PART + 1]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            long,
            Error::Core(cse_core::Error::PartLength { part: 1, .. })
        ),
        "{long:?}"
    );
}

#[tokio::test]
async fn a_checkpointed_upload_takes_no_streamed_part() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = client(&server)
        .initiate_checkpointed_upload(
            cse_oss::InitiateMultipartUploadRequest::new(BUCKET, "cp", 2 * PART as u64, 100),
            &dir.path().join("cp.json"),
            "src",
        )
        .await
        .unwrap();
    let err = client(&server)
        .upload_part_stream(&ctx, 1, frames(&[0; 100]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { name: "body", .. }),
        "{err:?}"
    );
}

/// A body of exactly `parts` frames, as given.
fn exact_frames(
    parts: &[&[u8]],
) -> impl http_body::Body<Data = Bytes, Error = std::io::Error> + Unpin + use<> {
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = parts
        .iter()
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    StreamBody::new(futures_stream(chunks))
}

/// Extra bytes in a frame of their own, after exactly the declared length: hyper stops polling
/// at the Content-Length, so the last frame is held until the body's end is seen, and the extra
/// frame fails the upload instead of being cut off.
#[tokio::test]
async fn extra_bytes_in_their_own_frame_fail_the_upload() {
    let server = server().await;
    let data = data(PART);
    let whole = client(&server)
        .put_object_stream(
            BUCKET,
            "extra",
            exact_frames(&[&data, b"more"]),
            Some(PART as u64),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(whole, Error::Core(cse_core::Error::Extended { .. })),
        "{whole:?}"
    );
    assert!(server.object(BUCKET, "extra").is_none());

    let part_data = self::data(2 * PART + 10);
    let ctx = upload(&server, "extra-part", part_data.len()).await;
    let part = client(&server)
        .upload_part_stream(&ctx, 1, exact_frames(&[&part_data[..2 * PART], b"more"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            part,
            Error::Core(cse_core::Error::PartLength { part: 1, .. })
        ),
        "{part:?}"
    );
}

#[tokio::test]
async fn an_empty_file_uploads() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty");
    std::fs::write(&path, b"").unwrap();
    client(&server)
        .put_object_from_file(BUCKET, "empty-file", &path, &[])
        .await
        .unwrap();
    assert!(read_back(&server, "empty-file").await.is_empty());
}

//! OSS's multipart rules on a plain (unencrypted) upload, over raw V1-signed HTTP/1.1: no client
//! library in between, so what is checked is the server's answer itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::time::SystemTime;

use cse_oss_test_server::sign::{self, RequestParts};
use cse_oss_test_server::{MIN_PART_SIZE, TestServer, TestServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const AK: &str = "mp-ak";
const SK: &str = "mp-sk";
const BUCKET: &str = "mp-bucket";

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one V1-signed request on a fresh connection and reads the whole answer.
async fn send(server: &TestServer, method: &str, key: &str, query: &str, body: &[u8]) -> Answer {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let headers = [("date", date.as_str())];
    let sts = sign::v1_string_to_sign(&RequestParts {
        method,
        bucket: Some(BUCKET),
        key: Some(key),
        raw_query: query,
        headers: &headers,
    });
    let authorization = format!("OSS {AK}:{}", sign::v1_signature(SK, &sts));
    let target = if query.is_empty() {
        format!("/{BUCKET}/{key}")
    } else {
        format!("/{BUCKET}/{key}?{query}")
    };
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nDate: {date}\r\nAuthorization: {authorization}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn element(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).expect(tag);
    let end = xml[start..].find(&format!("</{tag}>")).expect(tag) + start;
    xml[start..end].to_owned()
}

async fn initiate(server: &TestServer, key: &str) -> String {
    let a = send(server, "POST", key, "uploads", b"").await;
    assert_eq!(a.status, 200, "{}", a.text());
    element(&a.text(), "UploadId")
}

/// Uploads part `n` and returns its ETag, quotes included.
async fn part(server: &TestServer, key: &str, id: &str, n: u32, body: &[u8]) -> String {
    let a = send(
        server,
        "PUT",
        key,
        &format!("partNumber={n}&uploadId={id}"),
        body,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    a.header("etag").expect("an ETag").to_owned()
}

async fn complete(server: &TestServer, key: &str, id: &str, etags: &[&str]) -> Answer {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        xml.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    send(
        server,
        "POST",
        key,
        &format!("uploadId={id}"),
        xml.as_bytes(),
    )
    .await
}

async fn start() -> TestServer {
    start_with(TestServerConfig::new(AK, SK)).await
}

async fn start_with(config: TestServerConfig) -> TestServer {
    TestServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// CRC-64/XZ, computed here with the crate directly (not the server's code).
fn crc64(data: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(data);
    d.sum64()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

#[test]
fn the_minimum_is_oss_100_kib_and_a_whole_number_of_blocks() {
    assert_eq!(MIN_PART_SIZE, 102_400);
    assert_eq!(MIN_PART_SIZE % 16, 0);
}

#[tokio::test]
async fn a_64_kib_first_part_is_entity_too_small_and_larger_parts_then_complete() {
    let server = start().await;
    let id = initiate(&server, "k").await;
    let small = bytes(64 * 1024, 1);
    let last = bytes(10, 2);
    let e1 = part(&server, "k", &id, 1, &small).await;
    let e2 = part(&server, "k", &id, 2, &last).await;
    let a = complete(&server, "k", &id, &[&e1, &e2]).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let xml = a.text();
    assert_eq!(element(&xml, "Code"), "EntityTooSmall", "{xml}");
    assert!(
        element(&xml, "Message").contains("part 1 is 65536 bytes"),
        "{xml}"
    );
    assert!(!element(&xml, "RequestId").is_empty(), "{xml}");
    assert_eq!(a.header("content-type"), Some("application/xml"));
    assert!(server.object(BUCKET, "k").is_none());
    assert_eq!(
        server.upload_ids(),
        std::slice::from_ref(&id),
        "the upload was dropped"
    );

    // The same upload, part 1 sent again at the minimum: now it completes.
    let first = bytes(MIN_PART_SIZE as usize, 3);
    let e1 = part(&server, "k", &id, 1, &first).await;
    let a = complete(&server, "k", &id, &[&e1, &e2]).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let stored = server.object(BUCKET, "k").unwrap();
    assert_eq!(stored.data, [first, last].concat());
    assert_eq!(stored.object_type, "Multipart");
}

#[tokio::test]
async fn only_the_last_part_may_be_small() {
    let server = start().await;
    // A middle part one byte short is refused, naming it.
    let id = initiate(&server, "m").await;
    let full = bytes(MIN_PART_SIZE as usize, 4);
    let short = bytes(MIN_PART_SIZE as usize - 1, 5);
    let e1 = part(&server, "m", &id, 1, &full).await;
    let e2 = part(&server, "m", &id, 2, &short).await;
    let e3 = part(&server, "m", &id, 3, &full).await;
    let a = complete(&server, "m", &id, &[&e1, &e2, &e3]).await;
    assert_eq!(element(&a.text(), "Code"), "EntityTooSmall", "{}", a.text());
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(
        element(&a.text(), "Message").contains("part 2 is 102399 bytes"),
        "{}",
        a.text()
    );
    // The same short part last is accepted, and so is one small part alone.
    let id = initiate(&server, "m").await;
    let e1 = part(&server, "m", &id, 1, &full).await;
    let e2 = part(&server, "m", &id, 2, &short).await;
    let a = complete(&server, "m", &id, &[&e1, &e2]).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        server.object(BUCKET, "m").unwrap().data,
        [full, short].concat()
    );
    let id = initiate(&server, "one").await;
    let e1 = part(&server, "one", &id, 1, b"tiny").await;
    let a = complete(&server, "one", &id, &[&e1]).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(server.object(BUCKET, "one").unwrap().data, &b"tiny"[..]);
}

/// A completed object's CRC-64 is combined from its parts' (not recomputed over the bytes): it
/// must be the CRC-64 of the concatenation, on a storing and on a discarding server alike.
#[tokio::test]
async fn a_completed_objects_crc64_is_that_of_its_bytes_stored_or_discarded() {
    let parts = [
        bytes(MIN_PART_SIZE as usize, 1),
        bytes(5 << 20, 2), // large enough to be gathered into a mapping
        bytes(12_345, 3),
    ];
    let whole = parts.concat();
    for discard in [false, true] {
        let mut config = TestServerConfig::new(AK, SK);
        if discard {
            config = config.discarding_bodies();
        }
        let server = start_with(config).await;
        let id = initiate(&server, "k").await;
        let mut etags = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            etags.push(part(&server, "k", &id, i as u32 + 1, p).await);
        }
        let refs: Vec<&str> = etags.iter().map(String::as_str).collect();
        let a = complete(&server, "k", &id, &refs).await;
        assert_eq!(a.status, 200, "{}", a.text());
        let expected = crc64(&whole).to_string();
        assert_eq!(a.header("x-oss-hash-crc64ecma"), Some(expected.as_str()));
        let head = send(&server, "HEAD", "k", "", b"").await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-oss-hash-crc64ecma"), Some(expected.as_str()));
        assert_eq!(
            head.header("content-length"),
            Some(whole.len().to_string().as_str())
        );
        let get = send(&server, "GET", "k", "", b"").await;
        if discard {
            assert_eq!(get.status, 501, "{}", get.text());
            assert_eq!(element(&get.text(), "Code"), "NotImplemented");
            assert!(get.text().contains("--discard-bodies"), "{}", get.text());
        } else {
            assert_eq!(get.status, 200);
            assert_eq!(get.body, whole);
        }
    }
}

/// A discarding server still measures and digests a PutObject body: HEAD gives its length and
/// CRC-64, and the ETag (an MD5 by default) is the body's.
#[tokio::test]
async fn a_discarded_put_keeps_its_length_and_digests() {
    let server = start_with(TestServerConfig::new(AK, SK).discarding_bodies()).await;
    let body = bytes(6 << 20, 9);
    let put = send(&server, "PUT", "p", "", &body).await;
    assert_eq!(put.status, 200, "{}", put.text());
    let md5 = {
        use md5::Digest as _;
        hex::encode_upper(md5::Md5::digest(&body))
    };
    assert_eq!(put.header("etag"), Some(format!("\"{md5}\"").as_str()));
    let head = send(&server, "HEAD", "p", "", b"").await;
    assert_eq!(
        head.header("x-oss-hash-crc64ecma"),
        Some(crc64(&body).to_string().as_str())
    );
    assert_eq!(
        head.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(send(&server, "GET", "p", "", b"").await.status, 501);
}

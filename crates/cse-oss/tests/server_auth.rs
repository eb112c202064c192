//! The test server checks signatures as OSS does: the request time within 15 minutes of its
//! clock (V4 `x-oss-date`, V1 `Date`), the V4 credential scope for its region, product `oss` and
//! terminator `aliyun_v4_request`, and all of it from the request head, before any body is read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use common::*;
use cse_oss::{Credentials, OssClient, ServiceError};
use cse_oss_test_server::sign::{self, RequestParts};
use cse_oss_test_server::{TestServer, TestServerConfig};
use http::HeaderMap;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const MINUTE: Duration = Duration::from_secs(60);
const SKEW_MESSAGE: &str =
    "The difference between the request time and the current time is too large.";

async fn start(config: TestServerConfig) -> TestServer {
    TestServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

fn client_in(server: &TestServer, region: &str) -> OssClient {
    OssClient::builder(server.endpoint())
        .region(region)
        .credentials(Credentials::new(AK, SK))
        .retry(fast_retry())
        .build()
        .unwrap()
}

async fn put(client: &OssClient, key: &str) -> Result<(), ServiceError> {
    client
        .put_object(BUCKET, key, Bytes::from_static(b"hello"), HeaderMap::new())
        .await
        .map(drop)
        .map_err(|e| e.service_error().expect("a service error").clone())
}

fn assert_too_skewed(e: &ServiceError) {
    assert_eq!(e.status, 403, "{e:?}");
    assert_eq!(e.code, "RequestTimeTooSkewed", "{e:?}");
    assert_eq!(e.message, SKEW_MESSAGE);
    assert_eq!(e.ec.as_deref(), Some("0002-00000504"));
}

#[tokio::test]
async fn v4_requests_more_than_15_minutes_off_the_server_clock_are_refused() {
    // The client signs with this machine's clock; the server's runs ahead (the request looks
    // old) or behind (the request looks to come from the future).
    type Skew = fn(TestServerConfig, Duration) -> TestServerConfig;
    let (ahead, behind): (Skew, Skew) = (
        TestServerConfig::clock_ahead,
        TestServerConfig::clock_behind,
    );
    for (name, config, accepted) in [
        ("16 min in the past", ahead, false),
        ("16 min in the future", behind, false),
        ("14 min in the past", ahead, true),
        ("14 min in the future", behind, true),
    ] {
        let minutes = if accepted { 14 } else { 16 };
        let server = start(config(TestServerConfig::new(AK, SK), minutes * MINUTE)).await;
        let client = client_in(&server, "cn-hangzhou");
        match put(&client, "k").await {
            Ok(()) => {
                assert!(accepted, "{name}: accepted");
                assert!(server.object(BUCKET, "k").is_some(), "{name}");
            }
            Err(e) => {
                assert!(!accepted, "{name}: refused with {e:?}");
                assert_too_skewed(&e);
                assert!(server.object(BUCKET, "k").is_none(), "{name}");
                // HEAD answers carry the error in x-oss-err; the code still comes through.
                let head = client.head_object(BUCKET, "k").await.unwrap_err();
                assert_too_skewed(head.service_error().unwrap());
            }
        }
    }
}

#[tokio::test]
async fn the_default_server_clock_is_the_machines() {
    let config = TestServerConfig::new(AK, SK);
    assert_eq!(config.clock_offset_secs, 0);
    let skew = config
        .now()
        .duration_since(SystemTime::now())
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(2), "{skew:?}");
    assert_eq!(config.clone().clock_ahead(MINUTE).clock_offset_secs, 60);
    assert_eq!(config.clock_behind(MINUTE).clock_offset_secs, -60);
}

/// A V1-signed (`OSS ak:signature`, HMAC-SHA1 over the `Date` header) PUT, sent at `date`.
async fn v1_put(server: &TestServer, key: &str, date: Option<&str>) -> (u16, String) {
    let mut headers = vec![("Content-Type", "text/plain")];
    if let Some(date) = date {
        headers.push(("Date", date));
    }
    let sts = sign::v1_string_to_sign(&RequestParts {
        method: "PUT",
        bucket: Some(BUCKET),
        key: Some(key),
        raw_query: "",
        headers: &headers,
    });
    let mut req = reqwest::Client::new()
        .put(format!("{}/{BUCKET}/{key}", server.endpoint()))
        .header(
            "authorization",
            format!("OSS {AK}:{}", sign::v1_signature(SK, &sts)),
        )
        .body("hello");
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn v1_requests_more_than_15_minutes_off_are_refused_on_their_date_header() {
    let now = httpdate::fmt_http_date(SystemTime::now());
    for (minutes, ahead, accepted) in [
        (16, true, false),
        (16, false, false),
        (14, true, true),
        (14, false, true),
    ] {
        let config = TestServerConfig::new(AK, SK);
        let config = if ahead {
            config.clock_ahead(minutes * MINUTE)
        } else {
            config.clock_behind(minutes * MINUTE)
        };
        let server = start(config).await;
        let (status, body) = v1_put(&server, "v1", Some(&now)).await;
        if accepted {
            assert_eq!(status, 200, "{minutes} min, ahead {ahead}: {body}");
            assert!(server.object(BUCKET, "v1").is_some());
        } else {
            assert_eq!(status, 403, "{minutes} min, ahead {ahead}: {body}");
            assert!(body.contains("<Code>RequestTimeTooSkewed</Code>"), "{body}");
            assert!(body.contains(SKEW_MESSAGE), "{body}");
            assert!(body.contains("<EC>0002-00000504</EC>"), "{body}");
            assert!(body.contains(&format!("<RequestTime>{now}</RequestTime>")));
            assert!(server.object(BUCKET, "v1").is_none());
        }
    }
    // No Date at all: nothing to check the time against, so nothing is accepted.
    let server = start(TestServerConfig::new(AK, SK)).await;
    let (status, body) = v1_put(&server, "v1", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<EC>0002-00000505</EC>"), "{body}");
}

#[tokio::test]
async fn a_v4_scope_for_another_region_is_refused_naming_both() {
    let server = start(TestServerConfig::new(AK, SK).region("cn-beijing")).await;
    // The client's default region, cn-hangzhou, is not the server's.
    let wrong = OssClient::builder(server.endpoint())
        .credentials(Credentials::new(AK, SK))
        .retry(fast_retry())
        .build()
        .unwrap();
    let e = put(&wrong, "k").await.unwrap_err();
    assert_eq!(e.status, 400, "{e:?}");
    assert_eq!(e.code, "InvalidArgument");
    assert_eq!(e.ec.as_deref(), Some("0002-00000228"));
    assert!(e.message.contains("\"cn-hangzhou\""), "{}", e.message);
    assert!(e.message.contains("\"cn-beijing\""), "{}", e.message);
    assert!(server.object(BUCKET, "k").is_none());

    // A client built for the server's region works.
    let right = client_in(&server, "cn-beijing");
    put(&right, "k").await.unwrap();
    assert!(server.object(BUCKET, "k").is_some());
    let got = right
        .get_object_raw(BUCKET, "k", HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap(), &b"hello"[..]);

    // And the default server is in the client's default region, not in another.
    let server = start(TestServerConfig::new(AK, SK)).await;
    put(&client_in(&server, "cn-hangzhou"), "k").await.unwrap();
    let e = put(&client_in(&server, "cn-shanghai"), "k2")
        .await
        .unwrap_err();
    assert_eq!(e.ec.as_deref(), Some("0002-00000228"), "{e:?}");
}

/// The server crate keeps its own copy of the default region (it does not depend on cse-oss):
/// the two must agree, or a default client and a default server would refuse each other.
#[test]
fn the_servers_default_region_is_the_clients() {
    assert_eq!(cse_oss_test_server::DEFAULT_REGION, cse_oss::DEFAULT_REGION);
    assert_eq!(
        TestServerConfig::new(AK, SK).region,
        cse_oss::DEFAULT_REGION
    );
}

/// The x-oss-date the crate's client sends now, read back from the server's log.
async fn a_current_x_oss_date(server: &TestServer) -> String {
    let _ = client_in(server, "cn-hangzhou")
        .head_object(BUCKET, "nothing")
        .await;
    server
        .requests()
        .last()
        .and_then(|r| r.header("x-oss-date").map(str::to_owned))
        .expect("the client sends x-oss-date")
}

/// A V4 Authorization for PUT `/BUCKET/key`, correctly signed with `product` in the scope.
fn v4_put_authorization(key: &str, timestamp: &str, product: &str) -> String {
    let headers = [
        ("x-oss-date", timestamp),
        ("x-oss-content-sha256", sign::UNSIGNED_PAYLOAD),
    ];
    let parts = RequestParts {
        method: "PUT",
        bucket: Some(BUCKET),
        key: Some(key),
        raw_query: "",
        headers: &headers,
    };
    let date = &timestamp[..8];
    let scope = sign::v4_scope(date, "cn-hangzhou", product);
    let canonical = sign::v4_canonical_request(&parts, &[]);
    let sts = sign::v4_string_to_sign(timestamp, &scope, &canonical);
    let signature = sign::v4_signature(SK, date, "cn-hangzhou", product, &sts);
    format!(
        "{} Credential={AK}/{scope},Signature={signature}",
        sign::V4_ALGORITHM
    )
}

async fn v4_put(server: &TestServer, timestamp: &str, authorization: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .put(format!("{}/{BUCKET}/scoped", server.endpoint()))
        .header("x-oss-date", timestamp)
        .header("x-oss-content-sha256", sign::UNSIGNED_PAYLOAD)
        .header("authorization", authorization)
        .body("hello")
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_scope_must_name_product_oss_and_end_with_aliyun_v4_request() {
    let server = start(TestServerConfig::new(AK, SK)).await;
    let ts = a_current_x_oss_date(&server).await;
    // Signed right: accepted (so the refusals below are for the scope alone).
    let (status, body) = v4_put(&server, &ts, &v4_put_authorization("scoped", &ts, "oss")).await;
    assert_eq!(status, 200, "{body}");
    // Signed right, but for another product.
    let (status, body) = v4_put(&server, &ts, &v4_put_authorization("scoped", &ts, "s3")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>InvalidArgument</Code>"), "{body}");
    assert!(body.contains("<EC>0002-00000213</EC>"), "{body}");
    assert!(body.contains("&quot;s3&quot;"), "{body}");
    // Another terminator.
    let auth =
        v4_put_authorization("scoped", &ts, "oss").replace("aliyun_v4_request", "aws4_request");
    let (status, body) = v4_put(&server, &ts, &auth).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<EC>0002-00000213</EC>"), "{body}");
    assert!(body.contains("&quot;aws4_request&quot;"), "{body}");
}

/// Sends a PUT head declaring a 1 GiB body, then only `body` bytes, over a raw connection; returns
/// what the server answers within `wait` (`None` if it answered nothing by then).
async fn put_declaring_1_gib(
    server: &TestServer,
    extra_headers: &str,
    body: &[u8],
    wait: Duration,
) -> Option<String> {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "PUT /{BUCKET}/big HTTP/1.1\r\nHost: {}\r\nContent-Length: 1073741824\r\n{extra_headers}\r\n",
        server.addr()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            // The server closes the connection after refusing: the whole answer is in.
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) if answer.is_empty() => return None,
            Err(_) => break,
        }
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_refused_request_is_answered_without_reading_its_body() {
    let server = start(TestServerConfig::new(AK, SK)).await;
    let ts = a_current_x_oss_date(&server).await;
    let good = v4_put_authorization("big", &ts, "oss");
    let bad_signature = format!("{}0000", &good[..good.len() - 4]);
    let other_region = good.replace("/cn-hangzhou/", "/cn-beijing/");
    let date = format!("x-oss-date: {ts}\r\nx-oss-content-sha256: UNSIGNED-PAYLOAD\r\n");
    for (name, headers, status, code) in [
        (
            "bad signature",
            format!("{date}Authorization: {bad_signature}\r\n"),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "other region",
            format!("{date}Authorization: {other_region}\r\n"),
            400,
            "InvalidArgument",
        ),
        ("no Authorization", date.clone(), 403, "AccessDenied"),
    ] {
        let started = Instant::now();
        let answer = put_declaring_1_gib(&server, &headers, b"abcd", Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{name}: no answer in 10 s: the server waits for the body"));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: answered after {:?}",
            started.elapsed()
        );
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {answer}"
        );
        assert!(
            answer.contains(&format!("<Code>{code}</Code>")),
            "{name}: {answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{name}: {answer}"
        );
    }
    assert!(server.object(BUCKET, "big").is_none());

    // The control: correctly signed, the same request gets no answer, since the server waits
    // for the gigabyte it was promised; with the body it declares, it is stored.
    let headers = format!("{date}Authorization: {good}\r\n");
    let answer = put_declaring_1_gib(&server, &headers, b"abcd", Duration::from_millis(500)).await;
    assert_eq!(answer, None, "answered before the body arrived");
    let (status, body) = v4_put(&server, &ts, &v4_put_authorization("scoped", &ts, "oss")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_large_upload_with_a_wrong_secret_gets_the_service_error() {
    // The server answers without reading the 8 MiB; the client must still see OSS's 403, not a
    // transport error from the connection closing under the unsent body.
    let server = start(TestServerConfig::new(AK, SK)).await;
    let client = OssClient::builder(server.endpoint())
        .credentials(Credentials::new(AK, "not-the-secret"))
        .retry(fast_retry())
        .build()
        .unwrap();
    for _ in 0..3 {
        let err = client
            .put_object(
                BUCKET,
                "large",
                Bytes::from(data(8 << 20)),
                HeaderMap::new(),
            )
            .await
            .unwrap_err();
        let e = err.service_error().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(e.code, "SignatureDoesNotMatch");
    }
    assert!(server.object(BUCKET, "large").is_none());
}

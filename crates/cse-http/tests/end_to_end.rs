//! End to end over real HTTP: a hyper 1 client PUTs a sealed streaming body to a tiny in-test
//! object server on 127.0.0.1, then GETs it whole and ranged and opens it through the wrappers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{pattern, seal_all};
use cse_core::{DEFAULT_PREFIX, DecodeOptions, Keyring, RsaMasterCipher, SealedEnvelope};
use cse_http::{CipherBody, Error};
use cse_testkit::range as rfc9110;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const PEM: &str = cse_testkit::keys::RSA2048_PEM;
const OBJECT_LEN: usize = 1024 * 1024 + 37;

/// What the server keeps per path: the request headers as received, and the body bytes.
type Store = Arc<Mutex<HashMap<String, (HeaderMap, Bytes)>>>;

// ---- the in-test object server -------------------------------------------------------------

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn handle(
    request: Request<Incoming>,
    store: Store,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if request.method() == Method::PUT {
        let (parts, body) = request.into_parts();
        let Ok(collected) = body.collect().await else {
            return Ok(reply(StatusCode::BAD_REQUEST, Bytes::new()));
        };
        store
            .lock()
            .unwrap()
            .insert(path, (parts.headers, collected.to_bytes()));
        return Ok(reply(StatusCode::OK, Bytes::new()));
    }
    let Some((stored, object)) = store.lock().unwrap().get(&path).cloned() else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    let headers = request.headers();
    // Test switches: serve a truncated object, or ignore the Range as an old server would.
    let cut: usize = headers
        .get("x-test-truncate")
        .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
    let object = object.slice(..object.len() - cut);
    let ignore_range = headers.contains_key("x-test-ignore-range");
    let range = headers.get(RANGE).filter(|_| !ignore_range);

    let mut response = match range {
        None => reply(StatusCode::OK, object.clone()),
        Some(range) => {
            if headers
                .get("x-oss-range-behavior")
                .is_none_or(|v| v != "standard")
            {
                return Ok(reply(
                    StatusCode::BAD_REQUEST,
                    "standard behavior only".into(),
                ));
            }
            let len = object.len() as u64;
            // The server's reading of the Range is the test kit's, independent of the engine.
            match rfc9110::resolve(range.to_str().unwrap(), len) {
                rfc9110::Answer::Partial { first, last } => {
                    let mut r = reply(
                        StatusCode::PARTIAL_CONTENT,
                        object.slice(first as usize..=last as usize),
                    );
                    r.headers_mut().insert(
                        CONTENT_RANGE,
                        format!("bytes {first}-{last}/{len}").parse().unwrap(),
                    );
                    r
                }
                rfc9110::Answer::Ignore => reply(StatusCode::OK, object.clone()),
                rfc9110::Answer::Unsatisfiable => {
                    let mut r = reply(StatusCode::RANGE_NOT_SATISFIABLE, Bytes::new());
                    r.headers_mut()
                        .insert(CONTENT_RANGE, format!("bytes */{len}").parse().unwrap());
                    r
                }
            }
        }
    };
    // Like OSS, return the user metadata as stored.
    for (name, value) in &stored {
        if name.as_str().starts_with("x-oss-meta-") {
            response.headers_mut().append(name, value.clone());
        }
    }
    Ok(response)
}

async fn start_server() -> (SocketAddr, Store) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Store::default();
    let shared = store.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(request, store.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, store)
}

// ---- the client --------------------------------------------------------------------------

async fn send<B>(addr: SocketAddr, request: Request<B>) -> Response<Incoming>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender.send_request(request).await.unwrap()
}

/// Streams `plaintext` into a channel body in uneven chunks, one at a time: the channel holds
/// one frame, so the producer only runs ahead as fast as hyper polls the sealing wrapper.
fn streaming_body(plaintext: Bytes) -> Channel<Bytes> {
    let (mut tx, body) = Channel::new(1);
    tokio::spawn(async move {
        let mut at = 0;
        let mut step = 1;
        while at < plaintext.len() {
            let end = (at + step).min(plaintext.len());
            tx.send_data(plaintext.slice(at..end)).await.unwrap();
            at = end;
            step = step * 3 % 40_000 + 1;
        }
    });
    body
}

/// GETs `path` with `headers`, reads the envelope, and returns the opened response.
async fn get_opened(
    addr: SocketAddr,
    path: &str,
    mut headers: HeaderMap,
    keyring: &Keyring,
) -> Result<(http::response::Parts, Bytes), Error> {
    let plan = cse_http::prepare_get_headers(&mut headers, None)?;
    let mut request = Request::get(path).body(Empty::<Bytes>::new()).unwrap();
    *request.headers_mut() = headers;
    let (mut parts, body) = send(addr, request).await.into_parts();
    let envelope = cse_http::decode_envelope(&parts.headers, &DecodeOptions::strict())?
        .ok_or(cse_core::Error::NotEncrypted)?;
    let material = keyring.open(&envelope, &mut common::rng())?;
    let opened = match plan {
        None => CipherBody::whole(body, &envelope, &material),
        Some(plan) => {
            let body_plan = cse_http::rewrite_range_response(&plan, &mut parts)?;
            CipherBody::ranged(body, &body_plan, &material)
        }
    };
    let size_hint = opened.size_hint().exact();
    let data = opened.collect().await?.to_bytes();
    assert_eq!(
        size_hint,
        Some(data.len() as u64),
        "the size hint was exact"
    );
    Ok((parts, data))
}

fn range(value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(RANGE, HeaderValue::from_static(value));
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_then_get_whole_and_ranged() {
    let (addr, store) = start_server().await;
    let master = RsaMasterCipher::from_pem(PEM).unwrap();
    let mut rng = common::rng();
    let plaintext = Bytes::from(pattern(OBJECT_LEN));

    // PUT: the plain request's headers, made encrypted, and a streaming sealed body.
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(OBJECT_LEN));
    let content_md5 = {
        use base64::Engine as _;
        use md5::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&plaintext))
    };
    headers.insert("content-md5", HeaderValue::from_str(&content_md5).unwrap());
    headers.insert("x-oss-meta-owner", HeaderValue::from_static("alice"));
    let sealed = SealedEnvelope::seal(&master, &mut rng).unwrap();
    let sealed = cse_http::prepare_put_headers(&mut headers, sealed, DEFAULT_PREFIX).unwrap();
    // The sealer takes its length from the envelope, which took it from Content-Length.
    let body = CipherBody::seal(streaming_body(plaintext.clone()), sealed.sealer());
    let mut request = Request::put("/obj").body(body).unwrap();
    *request.headers_mut() = headers;
    let response = send(addr, request).await;
    assert_eq!(response.status(), StatusCode::OK);

    // What the server received: the ciphertext, the plain length, no Content-MD5.
    {
        let store = store.lock().unwrap();
        let (received, object) = &store["/obj"];
        assert_eq!(object.len(), OBJECT_LEN);
        assert!(object[..] == seal_all(sealed.material(), &plaintext)[..]);
        assert_eq!(received[CONTENT_LENGTH], OBJECT_LEN.to_string().as_str());
        assert!(!received.contains_key("content-md5"));
        assert_eq!(
            received["x-oss-meta-client-side-encryption-unencrypted-content-md5"],
            content_md5.as_str()
        );
        assert_eq!(
            received["x-oss-meta-client-side-encryption-unencrypted-content-length"],
            OBJECT_LEN.to_string().as_str()
        );
        assert_eq!(received["x-oss-meta-owner"], "alice");
    }
    assert_eq!(sealed.envelope().declared_len(), Some(OBJECT_LEN as u64));

    let keyring = Keyring::new(Box::new(master));

    // Whole.
    let (parts, data) = get_opened(addr, "/obj", HeaderMap::new(), &keyring)
        .await
        .unwrap();
    assert_eq!(parts.status, StatusCode::OK);
    assert!(data == plaintext);

    // Ranged: unaligned bounded, open, suffix, past the end, the last byte.
    let n = OBJECT_LEN as u64;
    let cases: [(&'static str, u64, u64); 6] = [
        ("bytes=100-199", 100, 199),
        ("bytes=1000005-", 1_000_005, n - 1),
        ("bytes=-100", n - 100, n - 1),
        ("bytes=-5", n - 5, n - 1),
        ("bytes=65531-2000000", 65_531, n - 1),
        ("bytes=0-0", 0, 0),
    ];
    for (value, first, last) in cases {
        let (parts, data) = get_opened(addr, "/obj", range(value), &keyring)
            .await
            .unwrap();
        assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT, "{value}");
        assert_eq!(
            parts.headers[CONTENT_RANGE],
            format!("bytes {first}-{last}/{n}").as_str(),
            "{value}"
        );
        assert_eq!(
            parts.headers[CONTENT_LENGTH],
            (last - first + 1).to_string().as_str(),
            "{value}"
        );
        assert!(
            data == plaintext.slice(first as usize..=last as usize),
            "{value}"
        );
    }

    // A server that ignores the range sends 200 and the whole object; the caller still gets a
    // 206 of exactly the requested bytes.
    let mut headers = range("bytes=17-33");
    headers.insert("x-test-ignore-range", HeaderValue::from_static("1"));
    let (parts, data) = get_opened(addr, "/obj", headers, &keyring).await.unwrap();
    assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        parts.headers[CONTENT_RANGE],
        format!("bytes 17-33/{n}").as_str()
    );
    assert!(data == plaintext.slice(17..34));

    // Past the end: the server's 416 becomes the engine's error with the object length.
    let err = get_opened(addr, "/obj", range("bytes=2000000-"), &keyring)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(cse_core::Error::RangeNotSatisfiable { object_len: Some(len) }) if len == n
        ),
        "{err:?}"
    );

    // A truncated object: the download ends with an error, never with a short success.
    let mut headers = HeaderMap::new();
    headers.insert("x-test-truncate", HeaderValue::from_static("1000"));
    let err = get_opened(addr, "/obj", headers, &keyring)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(cse_core::Error::Truncated { expected, actual })
                if expected == n && actual == n - 1000
        ),
        "{err:?}"
    );
}

//! The KMS master key against a local stand-in for KMS `Encrypt` and `Decrypt` (never live KMS).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::*;
use cse_core::{DEFAULT_PREFIX, Field};
use cse_oss::{Credentials, EncryptionClient, KmsMasterKey, PutObjectRequest};
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// A stand-in KMS: `Encrypt` returns base64("blob:" + Plaintext), `Decrypt` undoes it. It logs
/// every call's form parameters.
async fn stand_in() -> (String, Arc<Mutex<Vec<Vec<(String, String)>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let calls = Arc::clone(&calls);
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let form: Vec<(String, String)> = String::from_utf8_lossy(&body)
                            .split('&')
                            .map(|p| {
                                let (k, v) = p.split_once('=').unwrap();
                                let d = |s: &str| {
                                    percent_encoding::percent_decode_str(s)
                                        .decode_utf8_lossy()
                                        .into_owned()
                                };
                                (d(k), d(v))
                            })
                            .collect();
                        calls.lock().unwrap().push(form.clone());
                        let get = |n: &str| {
                            form.iter()
                                .find(|(k, _)| k == n)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        };
                        let json = match get("Action").as_str() {
                            "Encrypt" => format!(
                                r#"{{"CiphertextBlob":"{}","KeyId":"k","RequestId":"r1"}}"#,
                                STANDARD.encode(format!("blob:{}", get("Plaintext")))
                            ),
                            "Decrypt" => {
                                let raw = STANDARD.decode(get("CiphertextBlob")).unwrap();
                                let text = String::from_utf8_lossy(&raw).into_owned();
                                match text.strip_prefix("blob:") {
                                    Some(plaintext) => format!(
                                        r#"{{"Plaintext":"{plaintext}","KeyId":"k","RequestId":"r2"}}"#
                                    ),
                                    None => {
                                        let mut response = hyper::Response::new(Full::new(
                                            Bytes::from_static(
                                                br#"{"Code":"InvalidCiphertext","Message":"the blob is not ours","RequestId":"r4"}"#,
                                            ),
                                        ));
                                        *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
                                        return Ok::<_, Infallible>(response);
                                    }
                                }
                            }
                            _ => r#"{"Code":"Forbidden.Action","Message":"no","RequestId":"r3"}"#
                                .to_owned(),
                        };
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(json))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), log)
}

#[tokio::test]
async fn kms_wraps_with_encrypt_and_unwraps_with_decrypt() {
    let server = server().await;
    let (kms_endpoint, calls) = stand_in().await;
    let kms = KmsMasterKey::new(
        &kms_endpoint,
        "key-id-1",
        Credentials::new("kms-ak", "kms-sk"),
    );
    let client = EncryptionClient::with_kms(plain(&server), kms);
    let plain_bytes = data(1000);
    client
        .put_object(PutObjectRequest::new(
            BUCKET,
            "kms-object",
            plain_bytes.clone(),
        ))
        .await
        .unwrap();
    let stored = server.object(BUCKET, "kms-object").unwrap();
    let meta = |f: Field| {
        stored
            .meta
            .iter()
            .find(|(n, _)| *n == format!("{DEFAULT_PREFIX}{}", f.suffix()))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(meta(Field::WrapAlg), "KMS/ALICLOUD");
    // The header is the CiphertextBlob string itself; the stand-in's blob wraps base64(raw).
    for (field, len) in [(Field::Key, 32), (Field::Start, 16)] {
        let blob = String::from_utf8(STANDARD.decode(meta(field)).unwrap()).unwrap();
        let raw = STANDARD
            .decode(blob.strip_prefix("blob:").unwrap())
            .unwrap();
        assert_eq!(raw.len(), len);
    }
    {
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        for call in calls.iter() {
            let has = |k: &str, v: &str| call.iter().any(|(a, b)| a == k && b == v);
            assert!(has("Action", "Encrypt") && has("KeyId", "key-id-1"));
            assert!(has("AccessKeyId", "kms-ak") && has("SignatureMethod", "HMAC-SHA1"));
            assert!(call.iter().any(|(k, v)| k == "Signature" && !v.is_empty()));
        }
    }
    let got = client
        .get_object(BUCKET, "kms-object", Some("bytes=10-500"))
        .await
        .unwrap();
    assert_eq!(got.body.bytes().await.unwrap(), plain_bytes[10..=500]);
    assert_eq!(calls.lock().unwrap().len(), 4);

    // An RSA-wrapped object is refused by a KMS client, not misread.
    let rsa = client_for_rsa(&server);
    rsa.put_object(PutObjectRequest::new(BUCKET, "rsa-object", data(10)))
        .await
        .unwrap();
    assert!(matches!(
        client.get_object(BUCKET, "rsa-object", None).await,
        Err(cse_oss::Error::Core(cse_core::Error::WrapAlgMismatch))
    ));
}

fn client_for_rsa(server: &cse_oss_test_server::TestServer) -> EncryptionClient {
    client(server)
}

#[tokio::test]
async fn a_kms_refusal_is_the_one_opaque_unwrap_error() {
    let server = server().await;
    let (kms_endpoint, calls) = stand_in().await;
    let kms = KmsMasterKey::new(
        &kms_endpoint,
        "key-id-1",
        Credentials::new("kms-ak", "kms-sk"),
    );
    let client = EncryptionClient::with_kms(plain(&server), kms);
    client
        .put_object(PutObjectRequest::new(BUCKET, "k", data(100)))
        .await
        .unwrap();
    // A key header KMS does not recognise.
    let stored = server.object(BUCKET, "k").unwrap();
    let key_header = format!("{DEFAULT_PREFIX}{}", Field::Key.suffix());
    let meta: Vec<(String, String)> = stored
        .meta
        .iter()
        .map(|(n, v)| {
            if *n == key_header {
                (n.clone(), STANDARD.encode("junk"))
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    let refs: Vec<(&str, &str)> = meta.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    server.put_raw(BUCKET, "k", stored.data.clone(), &refs);
    let before = calls.lock().unwrap().len();
    let err = client.get_object(BUCKET, "k", None).await.unwrap_err();
    assert!(err.is_unwrap(), "{err:?}");
    assert_eq!(err.to_string(), cse_core::Error::Unwrap.to_string());
    assert!(!err.to_string().contains("InvalidCiphertext"));
    let diagnostic = err.diagnostic().unwrap();
    assert!(
        diagnostic.contains("InvalidCiphertext") && diagnostic.contains("r4"),
        "{diagnostic}"
    );
    // Both values were sent to KMS, although the first already failed.
    assert_eq!(calls.lock().unwrap().len(), before + 2);
}

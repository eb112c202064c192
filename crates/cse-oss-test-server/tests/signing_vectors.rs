//! The signature code against signatures the official Python SDK V2 computed
//! (`tests/data/v4_vectors.json`, made by `tests/data/gen_v4_vectors.py`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cse_oss_test_server::sign::{
    RequestParts, parse_v4_authorization, v1_signature, v1_string_to_sign, v4_authorization,
    v4_canonical_request, v4_scope, v4_signature, v4_string_to_sign,
};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/v4_vectors.json")).unwrap()
}

struct Case {
    name: String,
    method: String,
    bucket: Option<String>,
    key: Option<String>,
    region: String,
    raw_query: String,
    v4_headers: Vec<(String, String)>,
    v1_headers: Vec<(String, String)>,
    v4_sts: String,
    v4_auth: String,
    v1_sts: String,
    v1_auth: String,
}

fn headers_of(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn cases() -> Vec<Case> {
    let v = vectors();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let url = c["url"].as_str().unwrap();
            let raw_query = url.split_once('?').map(|(_, q)| q).unwrap_or("").to_owned();
            Case {
                name: c["name"].as_str().unwrap().to_owned(),
                method: c["method"].as_str().unwrap().to_owned(),
                bucket: c["bucket"].as_str().map(str::to_owned),
                key: c["key"].as_str().map(str::to_owned),
                region: c["region"].as_str().unwrap().to_owned(),
                raw_query,
                v4_headers: headers_of(&c["v4"]["signed_headers"]),
                v1_headers: headers_of(&c["v1"]["signed_headers"]),
                v4_sts: c["v4"]["string_to_sign"].as_str().unwrap().to_owned(),
                v4_auth: c["v4"]["authorization"].as_str().unwrap().to_owned(),
                v1_sts: c["v1"]["string_to_sign"].as_str().unwrap().to_owned(),
                v1_auth: c["v1"]["authorization"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

fn parts<'a>(c: &'a Case, headers: &'a [(&'a str, &'a str)]) -> RequestParts<'a> {
    RequestParts {
        method: &c.method,
        bucket: c.bucket.as_deref(),
        key: c.key.as_deref(),
        raw_query: &c.raw_query,
        headers,
    }
}

#[test]
fn v4_matches_the_python_sdk() {
    let v = vectors();
    let (ak, sk) = (
        v["access_key_id"].as_str().unwrap(),
        v["access_key_secret"].as_str().unwrap(),
    );
    let all = cases();
    assert!(all.len() >= 10, "the vector file lost cases");
    for c in &all {
        let headers: Vec<(&str, &str)> = c
            .v4_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let p = parts(c, &headers);
        let expected = parse_v4_authorization(&c.v4_auth)
            .unwrap_or_else(|| panic!("{}: cannot parse {}", c.name, c.v4_auth));
        let timestamp = headers.iter().find(|(k, _)| *k == "x-oss-date").unwrap().1;
        let scope = v4_scope(&timestamp[..8], &c.region, "oss");
        let canonical = v4_canonical_request(&p, &expected.additional_headers);
        let sts = v4_string_to_sign(timestamp, &scope, &canonical);
        assert_eq!(sts, c.v4_sts, "{}: string to sign\n{canonical}", c.name);
        let sig = v4_signature(sk, &timestamp[..8], &c.region, "oss", &sts);
        assert_eq!(sig, expected.signature, "{}: signature", c.name);
        let auth = v4_authorization(
            &p,
            ak,
            sk,
            &c.region,
            timestamp,
            &expected.additional_headers,
        );
        assert_eq!(auth, c.v4_auth, "{}: authorization", c.name);
    }
}

#[test]
fn v4_vectors_cover_additional_headers_and_tokens() {
    let all = cases();
    let with_additional = all
        .iter()
        .filter(|c| {
            !parse_v4_authorization(&c.v4_auth)
                .unwrap()
                .additional_headers
                .is_empty()
        })
        .count();
    assert!(with_additional >= 2);
    assert!(all.iter().any(|c| {
        c.v4_headers
            .iter()
            .any(|(k, _)| k == "x-oss-security-token")
    }));
}

#[test]
fn v1_matches_the_python_sdk() {
    let v = vectors();
    let (ak, sk) = (
        v["access_key_id"].as_str().unwrap(),
        v["access_key_secret"].as_str().unwrap(),
    );
    for c in &cases() {
        let headers: Vec<(&str, &str)> = c
            .v1_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sts = v1_string_to_sign(&parts(c, &headers));
        assert_eq!(sts, c.v1_sts, "{}: V1 string to sign", c.name);
        let auth = format!("OSS {ak}:{}", v1_signature(sk, &sts));
        assert_eq!(auth, c.v1_auth, "{}: V1 authorization", c.name);
    }
}

#[test]
fn authorization_parser_accepts_both_spellings_and_refuses_others() {
    let python = "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host;range,Signature=abc";
    let reqsign = "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request, AdditionalHeaders=host;range, Signature=abc";
    let a = parse_v4_authorization(python).unwrap();
    assert_eq!(a, parse_v4_authorization(reqsign).unwrap());
    assert_eq!(a.access_key_id, "ak");
    assert_eq!(a.date, "20250101");
    assert_eq!(a.region, "cn-hangzhou");
    assert_eq!(a.product, "oss");
    assert_eq!(a.additional_headers, ["host", "range"]);
    assert_eq!(a.signature, "abc");
    for bad in [
        "",
        "OSS ak:sig",
        "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/other,Signature=abc",
        "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request",
        "OSS4-HMAC-SHA256 Credential=/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=a",
        "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,Bogus=1,Signature=a",
    ] {
        assert_eq!(parse_v4_authorization(bad), None, "{bad}");
    }
}

//! Objects written by the official SDKs decrypt to their known plaintexts, whole and ranged:
//! the C++, Go and Python samples and the 2018 oss2 format (files in ../shared/oss-cse-kat), and
//! the Python SDK V2 vectors committed in testvectors/python-v2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use cse_testkit::range::selected;

fn kat_decrypt(kat: &Path, key: &str, stem: &str, cipher: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "decrypt".to_owned(),
        "--private-key".to_owned(),
        s(&kat.join(key)).to_owned(),
        "--meta".to_owned(),
        s(&kat.join(format!("{stem}.meta.json"))).to_owned(),
        "--in".to_owned(),
        s(&kat.join(cipher)).to_owned(),
        "--out".to_owned(),
        s(out).to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    cse(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn sdk_sample_objects_decrypt_whole_and_ranged() {
    let Some(kat) = kat() else { return };
    let plain = std::fs::read(kat.join("example.jpg")).unwrap();
    assert_eq!(plain.len(), 21_839);
    let dir = tempfile::tempdir().unwrap();
    for sdk in ["cpp", "go", "python"] {
        let stem = format!("enc-{sdk}-example");
        let cipher = format!("{stem}.jpg");
        for key in [
            "compat-rsa1024-private-pkcs1.pem",
            "compat-rsa1024-private-pkcs8.pem",
        ] {
            let out = dir.path().join(format!("{sdk}.jpg"));
            kat_decrypt(&kat, key, &stem, &cipher, &out, &["--strict", "--force"]).ok();
            assert!(std::fs::read(&out).unwrap() == plain, "{sdk} with {key}");
        }
        for range in [
            "bytes=0-0",
            "bytes=100-999",
            "bytes=4097-8191",
            "bytes=21000-",
            "bytes=-100",
            "bytes=21838-21838",
            "bytes=-30000",
        ] {
            let out = dir.path().join(format!("{sdk}.part"));
            kat_decrypt(
                &kat,
                "compat-rsa1024-private-pkcs1.pem",
                &stem,
                &cipher,
                &out,
                &["--range", range, "--force"],
            )
            .ok();
            let want = selected(&plain, range).unwrap();
            assert!(std::fs::read(&out).unwrap() == want, "{sdk} {range}");
        }
        let out = dir.path().join("past-end");
        kat_decrypt(
            &kat,
            "compat-rsa1024-private-pkcs1.pem",
            &stem,
            &cipher,
            &out,
            &["--range", "bytes=21839-"],
        )
        .fails(1, &["not satisfiable"]);
    }
}

#[test]
fn deprecated_oss2_rsa_object_decrypts_to_a_mebibyte_of_a() {
    let Some(kat) = kat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.bin");
    let key = "compat-rsa1024-private-pkcs1.pem";
    kat_decrypt(
        &kat,
        key,
        "deprecated-1MB-a-rsa",
        "deprecated-1MB-a-rsa.bin",
        &out,
        &["--strict"],
    )
    .ok();
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), 1 << 20);
    assert!(got.iter().all(|&b| b == b'a'));
    kat_decrypt(
        &kat,
        key,
        "deprecated-1MB-a-rsa",
        "deprecated-1MB-a-rsa.bin",
        &out,
        &["--range", "bytes=1000-1040", "--force"],
    )
    .ok();
    assert_eq!(std::fs::read(&out).unwrap(), vec![b'a'; 41]);
}

#[test]
fn deprecated_oss2_kms_object_says_it_needs_kms() {
    let Some(kat) = kat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.bin");
    kat_decrypt(
        &kat,
        "compat-rsa1024-private-pkcs1.pem",
        "deprecated-1MB-a-kms",
        "deprecated-1MB-a-kms.bin",
        &out,
        &[],
    )
    .fails(1, &["KMS"]);
    assert!(!out.exists());
    assert_no_partial_files(dir.path());
}

/// The Python SDK V2 vectors: every object whole, and every range the manifest lists with the
/// status and bytes RFC 9110 gives.
#[test]
fn python_sdk_v2_vectors_decrypt_whole_and_ranged() {
    let vectors = repo().join("testvectors/python-v2");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vectors.join("manifest.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One thread per object: each range is a process of its own.
    let checked: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = manifest["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| scope.spawn(|| check_vector(v, &vectors, dir.path())))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert!(checked > 100, "only {checked} ranges in the manifest");
}

/// Checks one manifest vector whole and over its ranges; returns the number of ranges.
fn check_vector(v: &serde_json::Value, vectors: &Path, dir: &Path) -> usize {
    let name = v["name"].as_str().unwrap();
    let len = usize::try_from(v["plaintext_len"].as_u64().unwrap()).unwrap();
    // The manifest's plaintext formula.
    let plain: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
    let meta = dir.join(format!("{name}.json"));
    write_meta(&meta, v["headers"].as_object().unwrap());
    let cipher = vectors.join(v["ciphertext"].as_str().unwrap());
    let out = dir.join(format!("{name}.out"));
    decrypt(&meta, &cipher, &out, &["--strict"]).ok();
    assert!(std::fs::read(&out).unwrap() == plain, "{name} whole");
    let ranges = v["ranges"].as_array().unwrap();
    for r in ranges {
        let range = r["range"].as_str().unwrap();
        let run = decrypt(&meta, &cipher, &out, &["--range", range, "--force"]);
        match r["status"].as_u64().unwrap() {
            416 => {
                run.fails(1, &["satisfiable"]);
            }
            _ => {
                run.ok();
                let want = selected(&plain, range).unwrap();
                assert_eq!(
                    want.len() as u64,
                    r["len"].as_u64().unwrap(),
                    "{name} {range}"
                );
                assert!(std::fs::read(&out).unwrap() == want, "{name} {range}");
            }
        }
    }
    ranges.len()
}

//! Malformed or mismatching input: the exit code (1 operation failed, 2 malformed input), a
//! message naming the problem, never a panic, and nothing left at --out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Map, Value};

/// A label, the header changes (`None` removes), and what the message must name.
type Case<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)], &'a [&'a str]);

const PREFIX: &str = "x-oss-meta-client-side-encryption-";

struct Fixture {
    dir: tempfile::TempDir,
    plain: Vec<u8>,
    cipher: PathBuf,
    meta: Map<String, Value>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let plain = plaintext(4096);
        let (cipher, meta) = encrypt(dir.path(), "base", &plain, &[]);
        let meta = read_meta(&meta);
        Self {
            dir,
            plain,
            cipher,
            meta,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The base metadata with `suffix` set to `value` (or removed for `None`).
    fn variant(&self, changes: &[(&str, Option<&str>)]) -> Map<String, Value> {
        let mut m = self.meta.clone();
        for (suffix, value) in changes {
            let name = format!("{PREFIX}{suffix}");
            match value {
                Some(v) => m.insert(name, Value::String((*v).to_owned())),
                None => m.remove(&name),
            };
        }
        m
    }

    /// Decrypts with metadata `meta` and asserts the failure, and that --out stays absent.
    #[track_caller]
    fn must_fail(&self, label: &str, meta: &Map<String, Value>, code: i32, needles: &[&str]) {
        let meta_path = self.path(&format!("{label}.json"));
        write_meta(&meta_path, meta);
        self.must_fail_with(&meta_path, &test_keys().0, &self.cipher, &[], code, needles);
    }

    #[track_caller]
    fn must_fail_with(
        &self,
        meta: &Path,
        private: &Path,
        cipher: &Path,
        extra: &[&str],
        code: i32,
        needles: &[&str],
    ) {
        let out = self.path("out.bin");
        let mut args = vec![
            "decrypt",
            "--private-key",
            s(private),
            "--meta",
            s(meta),
            "--in",
            s(cipher),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        cse(&args).fails(code, needles);
        assert!(!out.exists(), "a failed decrypt left {}", out.display());
        assert_no_partial_files(self.dir.path());
    }
}

#[test]
fn the_unmodified_fixture_decrypts() {
    let f = Fixture::new();
    let meta = f.path("control.json");
    write_meta(&meta, &f.meta);
    let out = f.path("control.out");
    decrypt(&meta, &f.cipher, &out, &[]).ok();
    assert_eq!(std::fs::read(out).unwrap(), f.plain);
}

#[test]
fn malformed_headers_exit_2_naming_the_header() {
    let f = Fixture::new();
    let key = f.meta[&format!("{PREFIX}key")].as_str().unwrap().to_owned();
    let cases: &[Case] = &[
        (
            "missing-start",
            &[("start", None)],
            &["missing", "header client-side-encryption-start "],
        ),
        (
            "missing-key",
            &[("key", None)],
            &["missing", "header client-side-encryption-key "],
        ),
        (
            "missing-cek-alg",
            &[("cek-alg", None)],
            &["header client-side-encryption-cek-alg "],
        ),
        (
            "missing-wrap-alg",
            &[("wrap-alg", None)],
            &["header client-side-encryption-wrap-alg "],
        ),
        (
            "empty-start",
            &[("start", Some(""))],
            &["empty", "client-side-encryption-start"],
        ),
        (
            "garbage-key",
            &[("key", Some("***not base64***"))],
            &["base64", "client-side-encryption-key"],
        ),
        (
            "garbage-start",
            &[("start", Some("%%%%"))],
            &["base64", "client-side-encryption-start"],
        ),
        (
            "key-bad-padding",
            &[("key", Some(key.trim_end_matches('=')))],
            &["base64", "client-side-encryption-key"],
        ),
        (
            "cek-alg-gcm",
            &[("cek-alg", Some("AES/GCM/NoPadding"))],
            &["client-side-encryption-cek-alg", "AES/CTR/NoPadding"],
        ),
        (
            "cek-alg-lower",
            &[("cek-alg", Some("aes/ctr/nopadding"))],
            &["client-side-encryption-cek-alg"],
        ),
        (
            "length-not-number",
            &[("unencrypted-content-length", Some("12a"))],
            &[
                "client-side-encryption-unencrypted-content-length",
                "decimal",
            ],
        ),
        (
            "matdesc-not-json",
            &[("matdesc", Some("{oops"))],
            &["client-side-encryption-matdesc"],
        ),
        (
            "part-size-zero",
            &[("part-size", Some("0")), ("data-size", Some("4096"))],
            &["client-side-encryption-part-size", "multiple of 16"],
        ),
        (
            "part-size-not-block-multiple",
            &[("part-size", Some("1000")), ("data-size", Some("4096"))],
            &["client-side-encryption-part-size", "multiple of 16"],
        ),
        (
            "data-size-disagrees-with-length",
            &[("part-size", Some("1024")), ("data-size", Some("4095"))],
            &[
                "client-side-encryption-data-size",
                "unencrypted-content-length",
            ],
        ),
        (
            "data-size-without-part-size",
            &[("data-size", Some("4096"))],
            &["client-side-encryption-part-size"],
        ),
    ];
    for (label, changes, needles) in cases {
        f.must_fail(label, &f.variant(changes), 2, needles);
    }
    // The same header twice, in two spellings: refused, whichever value is right.
    let mut dup = f.meta.clone();
    dup.insert(
        format!("{PREFIX}KEY").to_ascii_uppercase(),
        Value::String(key),
    );
    f.must_fail("duplicate-key", &dup, 2, &["more than once"]);
    // A non-string envelope value.
    let mut num = f.meta.clone();
    num.insert(
        format!("{PREFIX}unencrypted-content-length"),
        Value::from(4096),
    );
    f.must_fail("numeric-value", &num, 2, &["must be a JSON string"]);
}

#[test]
fn malformed_meta_files_exit_2() {
    let f = Fixture::new();
    let (private, _) = test_keys();
    for (label, text) in [
        ("not-json", "{not json"),
        ("array", "[]"),
        ("string", "\"x\""),
        ("empty", ""),
    ] {
        let meta = f.path(&format!("{label}.json"));
        std::fs::write(&meta, text).unwrap();
        f.must_fail_with(
            &meta,
            &private,
            &f.cipher,
            &[],
            2,
            &["--meta", "JSON object"],
        );
    }
    f.must_fail_with(
        &f.path("absent.json"),
        &private,
        &f.cipher,
        &[],
        2,
        &["--meta", "absent.json"],
    );
}

#[test]
fn bad_key_files_exit_2() {
    let f = Fixture::new();
    let meta = f.path("meta.json");
    write_meta(&meta, &f.meta);
    let garbage = f.path("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    f.must_fail_with(
        &meta,
        &garbage,
        &f.cipher,
        &[],
        2,
        &["--private-key", "garbage.pem", "valid RSA key"],
    );
    let text = f.path("text.pem");
    std::fs::write(&text, "hello").unwrap();
    f.must_fail_with(
        &meta,
        &text,
        &f.cipher,
        &[],
        2,
        &["--private-key", "PKCS#1, PKCS#8 or SPKI"],
    );
    let binary = f.path("binary.pem");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    f.must_fail_with(&meta, &binary, &f.cipher, &[], 2, &["--private-key", "PEM"]);
    let (_, public) = test_keys();
    f.must_fail_with(
        &meta,
        &public,
        &f.cipher,
        &[],
        2,
        &["--private-key", "private"],
    );
    f.must_fail_with(
        &meta,
        &f.path("absent.pem"),
        &f.cipher,
        &[],
        2,
        &["--private-key", "absent.pem"],
    );
}

#[test]
fn wrong_key_exits_1() {
    let Some(kat) = kat() else { return };
    let f = Fixture::new();
    let meta = f.path("meta.json");
    write_meta(&meta, &f.meta);
    f.must_fail_with(
        &meta,
        &kat.join("compat-rsa1024-private-pkcs1.pem"),
        &f.cipher,
        &[],
        1,
        &["could not be unwrapped", "--private-key"],
    );
}

#[test]
fn other_wrap_algorithms_exit_1_naming_them() {
    let f = Fixture::new();
    f.must_fail(
        "kms",
        &f.variant(&[("wrap-alg", Some("KMS/ALICLOUD"))]),
        1,
        &["KMS"],
    );
    f.must_fail(
        "other",
        &f.variant(&[("wrap-alg", Some("RSA/OAEP"))]),
        1,
        &["RSA/OAEP", "wrap-alg"],
    );
}

#[test]
fn length_mismatches_exit_1() {
    let f = Fixture::new();
    let (private, _) = test_keys();
    let meta = f.path("meta.json");
    write_meta(&meta, &f.meta);
    let stored = std::fs::read(&f.cipher).unwrap();
    let short = f.path("short.bin");
    std::fs::write(&short, &stored[..stored.len() - 1]).unwrap();
    f.must_fail_with(&meta, &private, &short, &[], 1, &["4095 of the 4096"]);
    let long = f.path("long.bin");
    std::fs::write(&long, [&stored[..], b"x"].concat()).unwrap();
    f.must_fail_with(&meta, &private, &long, &[], 1, &["longer than the 4096"]);
    // data-size is checked like unencrypted-content-length.
    let multipart = f.variant(&[
        ("unencrypted-content-length", None),
        ("data-size", Some("4096")),
        ("part-size", Some("1024")),
    ]);
    let mp = f.path("mp.json");
    write_meta(&mp, &multipart);
    f.must_fail_with(&mp, &private, &short, &[], 1, &["4095 of the 4096"]);
}

#[test]
fn no_envelope_is_refused_with_strict_and_passed_through_without() {
    let f = Fixture::new();
    let (private, _) = test_keys();
    let meta = f.path("plain.json");
    std::fs::write(
        &meta,
        r#"{"content-type": "image/jpeg", "x-oss-meta-other": "1"}"#,
    )
    .unwrap();
    f.must_fail_with(
        &meta,
        &private,
        &f.cipher,
        &["--strict"],
        1,
        &["no client-side-encryption envelope"],
    );

    let out = f.path("passed.bin");
    let run = cse(&[
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(&meta),
        "--in",
        s(&f.cipher),
        "--out",
        s(&out),
    ])
    .ok();
    assert!(run.stderr.starts_with("warning: "), "{}", run.stderr);
    assert!(run.stderr.contains("--strict"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&f.cipher).unwrap()
    );
    // Ranges of a pass-through object are the stored bytes.
    cse(&[
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(&meta),
        "--in",
        s(&f.cipher),
        "--out",
        s(&out),
        "--range",
        "bytes=-10",
        "--force",
    ])
    .ok();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        &std::fs::read(&f.cipher).unwrap()[4086..]
    );
}

#[test]
fn a_partly_stripped_envelope_is_never_passed_through() {
    let f = Fixture::new();
    let m = f.variant(&[("key", None), ("start", None), ("wrap-alg", None)]);
    f.must_fail("partial", &m, 2, &["missing"]);
}

#[test]
fn missing_input_and_bad_output_paths_exit_2() {
    let f = Fixture::new();
    let (private, _) = test_keys();
    let meta = f.path("meta.json");
    write_meta(&meta, &f.meta);
    f.must_fail_with(
        &meta,
        &private,
        &f.path("absent.bin"),
        &[],
        2,
        &["--in", "absent.bin"],
    );
    let out = f.path("no/such/dir/out.bin");
    cse(&[
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(&meta),
        "--in",
        s(&f.cipher),
        "--out",
        s(&out),
    ])
    .fails(2, &["--out"]);
}

#[test]
fn a_failed_decrypt_keeps_an_existing_output_intact() {
    let f = Fixture::new();
    let (private, _) = test_keys();
    let meta = f.path("meta.json");
    write_meta(&meta, &f.meta);
    let out = f.path("existing.bin");
    std::fs::write(&out, b"keep me").unwrap();
    let stored = std::fs::read(&f.cipher).unwrap();
    let short = f.path("short.bin");
    std::fs::write(&short, &stored[..100]).unwrap();
    cse(&[
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(&meta),
        "--in",
        s(&short),
        "--out",
        s(&out),
        // Even with --force, a failure replaces nothing.
        "--force",
    ])
    .fails(1, &["100 of the 4096"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_no_partial_files(f.dir.path());
}

#[test]
fn usage_errors_from_clap_exit_2() {
    let run = cse(&["decrypt", "--meta", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = cse(&[
        "keygen",
        "--private-out",
        "a",
        "--public-out",
        "b",
        "--bits",
        "1024",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = cse(&["frobnicate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

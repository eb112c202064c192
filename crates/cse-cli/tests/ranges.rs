//! `cse decrypt --range`: every kind of range, against slices of the plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use cse_testkit::range::selected;

const LEN: usize = 1000;

/// Every kind of range over a 1000-byte object: bounded, open, suffix; aligned and not; the
/// first and last byte; clamped past the end; suffixes longer than the object.
const SATISFIABLE: &[&str] = &[
    "bytes=0-0",
    "bytes=0-15",
    "bytes=0-16",
    "bytes=5-20",
    "bytes=16-47",
    "bytes=17-17",
    "bytes=999-999",
    "bytes=990-5000",
    "bytes=0-999",
    "bytes=0-",
    "bytes=500-",
    "bytes=999-",
    "bytes=-1",
    "bytes=-10",
    "bytes=-16",
    "bytes=-999",
    "bytes=-1000",
    "bytes=-5000",
    "BYTES=3-4",
];

const UNSATISFIABLE: &[&str] = &["bytes=1000-1000", "bytes=1000-", "bytes=5000-6000"];

const MALFORMED: &[&str] = &[
    "bytes=20-10",
    "items=0-1",
    "bytes=0-1,5-6",
    "bytes=a-b",
    "0-1",
    "bytes=-",
    "bytes=99999999999999999999-",
];

fn check_all(extra_encrypt: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(LEN);
    let (cipher, meta) = encrypt(dir.path(), "obj", &plain, extra_encrypt);
    for (i, range) in SATISFIABLE.iter().enumerate() {
        let out = dir.path().join(format!("ok{i}"));
        decrypt(&meta, &cipher, &out, &["--range", range]).ok();
        let want = selected(&plain, &range.to_ascii_lowercase()).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), want, "{range}");
    }
    for (i, range) in UNSATISFIABLE.iter().enumerate() {
        let out = dir.path().join(format!("unsat{i}"));
        decrypt(&meta, &cipher, &out, &["--range", range])
            .fails(1, &["not satisfiable", "1000-byte"]);
        assert!(!out.exists(), "{range} left output");
    }
    // RFC 9110: a zero-length suffix selects nothing, in any object (416).
    let out = dir.path().join("suffix0");
    decrypt(&meta, &cipher, &out, &["--range", "bytes=-0"]).fails(1, &["bytes=-0", "satisfiable"]);
    assert!(!out.exists());
    for (i, range) in MALFORMED.iter().enumerate() {
        let out = dir.path().join(format!("bad{i}"));
        decrypt(&meta, &cipher, &out, &["--range", range]).fails(2, &["--range", range]);
        assert!(!out.exists(), "{range} left output");
    }
    assert_no_partial_files(dir.path());
}

#[test]
fn every_range_kind_of_a_single_put_object() {
    check_all(&[]);
}

#[test]
fn every_range_kind_of_a_multipart_object() {
    check_all(&["--part-size", "48"]);
}

#[test]
fn ranges_of_an_empty_object_are_unsatisfiable() {
    let dir = tempfile::tempdir().unwrap();
    let (cipher, meta) = encrypt(dir.path(), "empty", b"", &[]);
    for range in ["bytes=0-0", "bytes=0-", "bytes=-5"] {
        let out = dir.path().join("out");
        decrypt(&meta, &cipher, &out, &["--range", range]).fails(1, &["not satisfiable"]);
        assert!(!out.exists());
    }
}

#[test]
fn a_range_reads_only_the_blocks_it_needs() {
    // Bytes outside the range's blocks are replaced by garbage of the same length: a ranged read
    // that only reads the blocks it needs is unaffected, and the whole read sees the damage (CTR
    // has no integrity, so it decrypts to different bytes).
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(LEN);
    let (cipher, meta) = encrypt(dir.path(), "obj", &plain, &[]);
    let mut stored = std::fs::read(&cipher).unwrap();
    for (i, b) in stored.iter_mut().enumerate() {
        if !(496..528).contains(&i) {
            *b ^= 0x5a;
        }
    }
    std::fs::write(&cipher, &stored).unwrap();
    let out = dir.path().join("out");
    decrypt(&meta, &cipher, &out, &["--range", "bytes=500-520"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), &plain[500..=520]);
    decrypt(&meta, &cipher, &out, &["--force"]).ok();
    assert_ne!(std::fs::read(&out).unwrap(), plain);
}

#[test]
fn range_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(LEN);
    let (cipher, meta) = encrypt(dir.path(), "obj", &plain, &[]);
    let run = decrypt(
        &meta,
        &cipher,
        std::path::Path::new("-"),
        &["--range", "bytes=-33"],
    )
    .ok();
    assert_eq!(run.stdout, &plain[LEN - 33..]);
}

#[test]
fn range_needs_a_seekable_input() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(LEN);
    let (cipher, meta) = encrypt(dir.path(), "obj", &plain, &[]);
    let (private, _) = test_keys();
    let out = dir.path().join("out");
    cse_with_stdin(
        &[
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&meta),
            "--in",
            "-",
            "--out",
            s(&out),
            "--range",
            "bytes=0-1",
        ],
        &std::fs::read(&cipher).unwrap(),
    )
    .fails(2, &["--range", "regular file"]);
    assert!(!out.exists());
}

#[test]
fn ranged_read_of_a_file_shorter_than_declared_fails() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plaintext(LEN);
    let (cipher, meta) = encrypt(dir.path(), "obj", &plain, &[]);
    let stored = std::fs::read(&cipher).unwrap();
    std::fs::write(&cipher, &stored[..LEN - 1]).unwrap();
    let out = dir.path().join("out");
    decrypt(&meta, &cipher, &out, &["--range", "bytes=0-9"])
        .fails(1, &["holds 999 bytes but its envelope declares 1000"]);
    assert!(!out.exists());
}

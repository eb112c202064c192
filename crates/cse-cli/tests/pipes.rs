//! Closed pipes: a reader that goes away (`cse inspect | true`, `cse decrypt --out - | head -c1`)
//! ends `cse` quietly with exit status 141, never with a panic; a closed stderr is ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};

use common::*;

/// The status and stderr of `cse args` whose standard output is a pipe nobody reads: its read
/// end is closed before the process starts, so the first write fails with EPIPE.
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn assert_quiet_141(args: &[&str]) {
    let (code, stderr) = into_closed_pipe(args);
    assert!(
        !stderr.contains("panicked"),
        "cse {args:?} panicked: {stderr}"
    );
    assert_eq!(code, Some(141), "cse {args:?}: {stderr}");
    assert_eq!(
        stderr, "",
        "cse {args:?} printed a message for a closed pipe"
    );
}

#[test]
fn help_into_a_closed_pipe_exits_141_quietly() {
    assert_quiet_141(&["--help"]);
    assert_quiet_141(&["encrypt", "--help"]);
    assert_quiet_141(&["--version"]);
}

#[test]
fn inspect_into_a_closed_pipe_exits_141_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, meta) = encrypt(dir.path(), "o", &plaintext(100), &[]);
    assert_quiet_141(&["inspect", "--meta", s(&meta)]);
}

#[test]
fn demo_and_speed_into_a_closed_pipe_exit_141_quietly() {
    assert_quiet_141(&["demo"]);
    assert_quiet_141(&["speed", "--seconds", "0.01", "--buffer-kib", "64"]);
}

#[test]
fn encrypt_to_a_closed_standard_output_exits_141_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = test_keys();
    let input = dir.path().join("in");
    std::fs::write(&input, plaintext(1000)).unwrap();
    let meta = dir.path().join("m.json");
    assert_quiet_141(&[
        "encrypt",
        "--public-key",
        s(&public),
        "--in",
        s(&input),
        "--out",
        "-",
        "--meta-out",
        s(&meta),
    ]);
    // The ciphertext never arrived anywhere: its metadata is not kept either.
    assert!(!meta.exists());
    assert_no_partial_files(dir.path());
}

/// `cse decrypt --out - | head -c1`: the reader takes one byte of a large plaintext and leaves.
#[test]
fn decrypt_to_a_reader_that_leaves_after_one_byte_exits_141_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = test_keys();
    let (cipher, meta) = encrypt(dir.path(), "big", &plaintext(4 << 20), &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&meta),
            "--in",
            s(&cipher),
            "--out",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    stdout.read_exact(&mut one).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert_eq!(stderr, "");
}

/// Messages on stderr are a courtesy: a closed stderr does not fail the command.
#[test]
fn a_closed_stderr_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    let public = dir.path().join("k.pub.pem");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "keygen",
            "--private-out",
            s(&private),
            "--public-out",
            s(&public),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(private.is_file() && public.is_file());

    // An error message that cannot be printed still gives its exit status.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(["inspect", "--meta", s(&dir.path().join("absent.json"))])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

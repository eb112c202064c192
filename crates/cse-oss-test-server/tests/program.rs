//! The `oss-test-server` program as a child process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

/// `oss-test-server --help | head -0`: standard output is closed before the usage is printed.
/// That is not a panic, and not a failure of `--help`.
#[test]
fn help_into_a_closed_pipe_is_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // the reader is gone before the child starts
    let out = Command::new(env!("CARGO_BIN_EXE_oss-test-server"))
        .arg("--help")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[test]
fn help_lists_every_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_oss-test-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let usage = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--access-key-id",
        "--access-key-secret",
        "--region",
        "--no-md5",
        "--discard-bodies",
    ] {
        assert!(usage.contains(flag), "{flag} missing from:\n{usage}");
    }
}

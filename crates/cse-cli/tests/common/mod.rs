//! Helpers shared by the `cse` integration tests: run the binary, make inputs, read outputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use cse_testkit::cli::Run;

/// `cse`, to be given arguments, environment and stdin, and run.
pub fn cse_command() -> cse_testkit::cli::Command {
    cse_testkit::cli::Command::new(env!("CARGO_BIN_EXE_cse"))
}

/// Runs `cse` with `args`, feeding `stdin`.
pub fn cse_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    cse_command().args(args).stdin(stdin).run()
}

/// Starts `cse` with `args` and `stdin`, stdout discarded and stderr piped, for tests that act
/// on the running process (signals, inputs held open).
pub fn spawn(args: &[&str], stdin: Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `cse` with `args` and an empty stdin.
pub fn cse(args: &[&str]) -> Run {
    cse_with_stdin(args, &[])
}

/// A path as an argument.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed test key pair (PKCS#1 private, SPKI public; test use only).
pub fn test_keys() -> (PathBuf, PathBuf) {
    let dir = repo().join("testvectors/python-v2");
    (
        dir.join("rsa2048-private.pem"),
        dir.join("rsa2048-public.pem"),
    )
}

/// The SDK known-answer objects beside the checkout, or `None` (with a note) when absent.
pub fn kat() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/oss-cse-kat"
    ));
    if dir.join("example.jpg").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: the SDK known-answer files are not at {}",
            dir.display()
        );
        None
    }
}

/// Deterministic bytes that do not repeat with any short period.
pub fn plaintext(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24).to_le_bytes()[0]
        })
        .collect()
}

/// Encrypts `plain` with the test public key into `dir/<name>.enc` and `dir/<name>.meta.json`.
pub fn encrypt(dir: &Path, name: &str, plain: &[u8], extra: &[&str]) -> (PathBuf, PathBuf) {
    let (_, public) = test_keys();
    let input = dir.join(format!("{name}.plain"));
    let cipher = dir.join(format!("{name}.enc"));
    let meta = dir.join(format!("{name}.meta.json"));
    std::fs::write(&input, plain).unwrap();
    let mut args = vec![
        "encrypt",
        "--public-key",
        s(&public),
        "--in",
        s(&input),
        "--out",
        s(&cipher),
        "--meta-out",
        s(&meta),
    ];
    args.extend_from_slice(extra);
    cse(&args).ok();
    (cipher, meta)
}

/// Decrypts with the test private key, returning the run (not asserting success).
pub fn decrypt(meta: &Path, cipher: &Path, out: &Path, extra: &[&str]) -> Run {
    let (private, _) = test_keys();
    let mut args = vec![
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(meta),
        "--in",
        s(cipher),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    cse(&args)
}

/// A META.json as a JSON object.
pub fn read_meta(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("{} is not a JSON object: {other}", path.display()),
    }
}

/// Writes a META.json.
pub fn write_meta(path: &Path, meta: &serde_json::Map<String, serde_json::Value>) {
    std::fs::write(path, serde_json::to_vec_pretty(meta).unwrap()).unwrap();
}

/// One header of a META.json, by its name after `x-oss-meta-client-side-encryption-`.
pub fn header<'m>(
    meta: &'m serde_json::Map<String, serde_json::Value>,
    suffix: &str,
) -> Option<&'m str> {
    meta.get(&format!("x-oss-meta-client-side-encryption-{suffix}"))
        .map(|v| v.as_str().unwrap())
}

/// Asserts that no temporary output was left behind in `dir`.
#[track_caller]
pub fn assert_no_partial_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().starts_with(".cse-partial-"),
            "a temporary file was left in {}: {name:?}",
            dir.display()
        );
    }
}

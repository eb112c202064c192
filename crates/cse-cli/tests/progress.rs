//! The progress bar: drawn on a terminal (a real pseudo-terminal, by util-linux `script`), never
//! into a pipe, never with `-q`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

const CSE: &str = env!("CARGO_BIN_EXE_cse");

fn public_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/python-v2/rsa2048-public.pem")
}

/// `cse [-q] encrypt` of a 20 MiB file; what a terminal would show, when `script` is here.
fn encrypt_on_a_terminal(quiet: bool) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (a pseudo-terminal for the test) is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big");
    std::fs::write(&input, vec![7u8; 20 << 20]).unwrap();
    let command = format!(
        "{CSE} {} encrypt --public-key {} --in {} --out {} --meta-out {}",
        if quiet { "-q" } else { "" },
        public_key().display(),
        input.display(),
        dir.path().join("out").display(),
        dir.path().join("meta.json").display(),
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_terminal_shows_bytes_rate_and_eta() {
    let Some(screen) = encrypt_on_a_terminal(false) else {
        return;
    };
    assert!(
        screen.contains("eta") && screen.contains("MiB"),
        "no progress bar: {screen:?}"
    );
}

#[test]
fn quiet_shows_nothing_on_a_terminal() {
    let Some(screen) = encrypt_on_a_terminal(true) else {
        return;
    };
    assert!(!screen.contains("eta"), "a bar despite -q: {screen:?}");
}

#[test]
fn a_pipe_gets_no_bar() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big");
    std::fs::write(&input, vec![7u8; 20 << 20]).unwrap();
    let out = Command::new(CSE)
        .args(["encrypt", "--public-key"])
        .arg(public_key())
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--meta-out")
        .arg(dir.path().join("meta.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

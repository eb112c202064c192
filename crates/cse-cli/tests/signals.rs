//! SIGINT, SIGTERM and SIGHUP in the middle of a command: the partial files go, nothing appears
//! at the outputs, one line on stderr, and the exit status is 128 + the signal number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Sends `signal` (INT, TERM, HUP) to `child` with kill(1).
fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
}

/// The `.cse-partial-*` files in `dir`.
fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".cse-partial-")
        })
        .collect()
}

/// Waits until `dir` holds `count` partial files: the command is under way.
fn wait_for_partials(dir: &Path, count: usize, child: &mut Child) {
    let start = Instant::now();
    while partials(dir).len() < count {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("cse ended ({status}) before its partial files appeared");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no partial file in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to end; returns its exit code (None if a signal killed it) and stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cse did not end after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

/// The one line a signal leaves on stderr.
#[track_caller]
fn assert_one_line(stderr: &str, signal: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with(&format!("error: interrupted by {signal}")),
        "{stderr:?}"
    );
}

/// `cse encrypt --in -` with standard input still open: mid-way through when the signal comes.
fn interrupted_encrypt(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = test_keys();
    let out = dir.path().join("F.enc");
    let meta = dir.path().join("M.json");
    let mut child = spawn(
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            "-",
            "--out",
            s(&out),
            "--meta-out",
            s(&meta),
        ],
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&plaintext(300_000)).unwrap();
    stdin.flush().unwrap();
    wait_for_partials(dir.path(), 2, &mut child);
    kill(&child, signal);
    let (status, stderr) = finish(child);
    drop(stdin);
    assert_eq!(status, Some(code), "{stderr}");
    assert_one_line(&stderr, &format!("SIG{signal}"));
    assert!(
        stderr.contains(&format!("--out {}", s(&out)))
            && stderr.contains(&format!("--meta-out {}", s(&meta))),
        "the message names what was not written: {stderr}"
    );
    assert!(!out.exists() && !meta.exists());
    assert_eq!(partials(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn sigint_during_encrypt_removes_the_partial_files_and_exits_130() {
    interrupted_encrypt("INT", 130);
}

#[test]
fn sigterm_during_encrypt_removes_the_partial_files_and_exits_143() {
    interrupted_encrypt("TERM", 143);
}

#[test]
fn sighup_during_encrypt_removes_the_partial_files_and_exits_129() {
    interrupted_encrypt("HUP", 129);
}

/// The plaintext-left-behind-on-Ctrl-C bug: `cse decrypt` reading a FIFO that is still being
/// written when the signal comes.
fn interrupted_decrypt_from_a_fifo(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = test_keys();
    let (cipher, meta) = encrypt(dir.path(), "obj", &plaintext(600_000), &[]);
    let fifo = dir.path().join("cipher.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = dir.path().join("F.plain");
    let mut child = spawn(
        &[
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&meta),
            "--in",
            s(&fifo),
            "--out",
            s(&out),
        ],
        Stdio::null(),
    );
    // Opening blocks until cse opens the other end.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let stored = std::fs::read(&cipher).unwrap();
    writer.write_all(&stored[..100_000]).unwrap();
    wait_for_partials(dir.path(), 1, &mut child);
    kill(&child, signal);
    let (status, stderr) = finish(child);
    drop(writer);
    assert_eq!(status, Some(code), "{stderr}");
    assert_one_line(&stderr, &format!("SIG{signal}"));
    assert!(stderr.contains(&format!("--out {}", s(&out))), "{stderr}");
    assert!(!out.exists(), "plaintext left behind");
    assert_eq!(partials(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn sigint_during_decrypt_leaves_no_plaintext_and_exits_130() {
    interrupted_decrypt_from_a_fifo("INT", 130);
}

#[test]
fn sigterm_during_decrypt_leaves_no_plaintext_and_exits_143() {
    interrupted_decrypt_from_a_fifo("TERM", 143);
}

/// `cse decrypt --in -` from a pipe the test keeps open.
#[test]
fn sigint_during_decrypt_from_standard_input_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = test_keys();
    let (cipher, meta) = encrypt(dir.path(), "obj", &plaintext(200_000), &[]);
    let out = dir.path().join("F.plain");
    let mut child = spawn(
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
        ],
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(&cipher).unwrap()[..50_000])
        .unwrap();
    wait_for_partials(dir.path(), 1, &mut child);
    kill(&child, "INT");
    let (status, stderr) = finish(child);
    drop(stdin);
    assert_eq!(status, Some(130), "{stderr}");
    assert_one_line(&stderr, "SIGINT");
    assert!(!out.exists());
    assert_eq!(partials(dir.path()), Vec::<PathBuf>::new());
}

/// keygen prepares both outputs before it makes the key (which takes a while at 4096 bits).
#[test]
fn sigint_during_keygen_writes_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    let public = dir.path().join("k.pub.pem");
    let mut child = spawn(
        &[
            "keygen",
            "--bits",
            "4096",
            "--private-out",
            s(&private),
            "--public-out",
            s(&public),
        ],
        Stdio::null(),
    );
    wait_for_partials(dir.path(), 2, &mut child);
    kill(&child, "INT");
    let (status, stderr) = finish(child);
    assert_eq!(status, Some(130), "{stderr}");
    assert_one_line(&stderr, "SIGINT");
    assert!(!private.exists() && !public.exists());
    assert_eq!(partials(dir.path()), Vec::<PathBuf>::new());
}

/// `cse get` stops cleanly on the first signal (it holds an `interrupt::cancellable` guard while
/// it downloads): here from a server that accepts the connection and never answers.
#[test]
fn sigint_during_get_stops_the_download_and_leaves_no_file() {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = test_keys();
    let out = dir.path().join("F.plain");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "get",
            "--endpoint",
            &endpoint,
            "--bucket",
            "bkt",
            "--object",
            "k",
            "--private-key",
            s(&private),
            "--out",
            s(&out),
        ])
        .env("OSS_ACCESS_KEY_ID", "ak")
        .env("OSS_ACCESS_KEY_SECRET", "sk")
        .env_remove("OSS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_partials(dir.path(), 1, &mut child);
    kill(&child, "INT");
    let (status, stderr) = finish(child);
    assert_eq!(status, Some(130), "{stderr}");
    assert_one_line(&stderr, "SIGINT");
    assert!(
        stderr.contains(&format!("nothing was written at --out {}", s(&out))),
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(partials(dir.path()), Vec::<PathBuf>::new());
}

//! Where outputs go: symbolic links are followed and stay links, devices and FIFOs are written
//! through, existing files are replaced only with --force, modes, and two names for one file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A scratch directory with a plaintext, its encryption, and the test keys.
struct Scratch {
    dir: tempfile::TempDir,
    plain: Vec<u8>,
    input: PathBuf,
    cipher: PathBuf,
    meta: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let plain = plaintext(5000);
        let (cipher, meta) = encrypt(dir.path(), "base", &plain, &[]);
        let input = dir.path().join("base.plain");
        Self {
            dir,
            plain,
            input,
            cipher,
            meta,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cse encrypt` of the scratch plaintext into `out` and `meta_out`.
    fn encrypt_to(&self, out: &str, meta_out: &str, extra: &[&str]) -> Run {
        let (_, public) = test_keys();
        let mut args = vec![
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            s(&self.input),
            "--out",
            out,
            "--meta-out",
            meta_out,
        ];
        args.extend_from_slice(extra);
        cse_in(self.dir.path(), &args)
    }

    /// `cse decrypt` of the scratch ciphertext into `out`.
    fn decrypt_to(&self, out: &str, extra: &[&str]) -> Run {
        let (private, _) = test_keys();
        let mut args = vec![
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&self.meta),
            "--in",
            s(&self.cipher),
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        cse_in(self.dir.path(), &args)
    }
}

/// Runs `cse` in `dir` (so relative paths are relative to it), with an empty stdin.
fn cse_in(dir: &Path, args: &[&str]) -> Run {
    cse_command().args(args).current_dir(dir).run()
}

/// Runs `cse` under `umask` (through sh, which sets it), with an empty stdin.
fn cse_umask(umask: &str, args: &[&str]) -> Run {
    cse_testkit::cli::Command::new("sh")
        .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
        .args([env!("CARGO_BIN_EXE_cse")])
        .args(args)
        .run()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_symlink()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Waits for `child` to end, killing it after `limit`.
fn wait_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cse did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- symbolic links, devices, FIFOs ------------------------------------------------------------

/// `--meta-out /dev/stdout` once replaced the /dev/stdout symlink with a regular file (as root).
/// A link to a character device is written through, and stays a link.
#[test]
fn a_link_to_a_device_is_written_through_and_stays_a_link() {
    let x = Scratch::new();
    let link = x.path("null-link");
    symlink("/dev/null", &link).unwrap();
    x.encrypt_to(s(&x.path("c.enc")), s(&link), &[]).ok();
    assert!(is_symlink(&link), "the link was replaced");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
    // A device is not an existing file to protect: no --force needed, none replaced.
    x.decrypt_to(s(&link), &[]).ok();
    assert!(is_symlink(&link));
    assert_no_partial_files(x.dir.path());
}

/// A link to standard output (what /dev/stdout is) sends the output down the pipe.
#[test]
fn a_link_to_standard_output_writes_to_standard_output() {
    let x = Scratch::new();
    let link = x.path("stdout-link");
    symlink("/proc/self/fd/1", &link).unwrap();
    let run = x.decrypt_to(s(&link), &[]).ok();
    assert!(
        run.stdout == x.plain,
        "the plaintext did not arrive on stdout"
    );
    assert!(is_symlink(&link));
    assert_no_partial_files(x.dir.path());
}

#[test]
fn dev_stdout_and_dev_null_are_written_through() {
    let x = Scratch::new();
    let run = x.decrypt_to("/dev/stdout", &[]).ok();
    assert!(run.stdout == x.plain);
    let run = x.encrypt_to("/dev/stdout", s(&x.path("m.json")), &[]).ok();
    assert_eq!(run.stdout.len(), x.plain.len());
    x.decrypt_to("/dev/null", &[]).ok();
    let dev_null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(!dev_null.is_file(), "/dev/null became a regular file");
    let dev_stdout = std::fs::symlink_metadata("/dev/stdout").unwrap();
    assert!(
        dev_stdout.file_type().is_symlink(),
        "/dev/stdout was replaced"
    );
}

/// A FIFO is opened for writing and written to; it stays a FIFO.
#[test]
fn a_fifo_is_written_through() {
    use std::os::unix::fs::FileTypeExt as _;
    let x = Scratch::new();
    let fifo = x.path("plain.fifo");
    mkfifo(&fifo);
    // The reader is a process, so a FIFO that nobody ever opens for writing cannot hang the test.
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader_out = reader.stdout.take().unwrap();
    let collect = std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader_out.read_to_end(&mut got);
        got
    });
    let run = x.decrypt_to(s(&fifo), &[]);
    let status = wait_within(&mut reader, Duration::from_secs(10));
    run.ok();
    assert_eq!(status, Some(0));
    assert!(collect.join().unwrap() == x.plain);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_no_partial_files(x.dir.path());
}

/// A link to a regular file: the file it names is replaced (with --force), and the link stays.
#[test]
fn a_link_to_a_file_replaces_the_file_and_keeps_the_link() {
    let x = Scratch::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real.bin");
    std::fs::write(&target, b"old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = x.path("link.bin");
    symlink(&target, &link).unwrap();
    // A chain of links is followed to its end.
    let link2 = x.path("link2.bin");
    symlink("link.bin", &link2).unwrap();

    x.decrypt_to(s(&link2), &[]).fails(
        2,
        &[&format!(
            "--out {}: already exists; pass --force to replace it",
            s(&link2)
        )],
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"old");

    x.decrypt_to(s(&link2), &["--force"]).ok();
    assert!(
        is_symlink(&link) && is_symlink(&link2),
        "a link was replaced"
    );
    assert!(std::fs::read(&target).unwrap() == x.plain);
    // Plaintext is a private output: the replaced file's owner bits are kept, and nothing more.
    assert_eq!(mode(&target), 0o600);
    assert_no_partial_files(x.dir.path());
    assert_no_partial_files(elsewhere.path());
}

#[test]
fn a_dangling_link_is_refused_naming_it() {
    let x = Scratch::new();
    let link = x.path("dangling.bin");
    symlink(x.path("nowhere/absent.bin"), &link).unwrap();
    x.decrypt_to(s(&link), &[])
        .fails(2, &[&format!("--out {}", s(&link)), "dangling"]);
    x.decrypt_to(s(&link), &["--force"])
        .fails(2, &[&format!("--out {}", s(&link)), "dangling"]);
    assert!(is_symlink(&link));
    assert!(!x.path("nowhere").exists());
    assert_no_partial_files(x.dir.path());
}

// ---- modes -------------------------------------------------------------------------------------

/// New ciphertext and META follow the umask; new plaintext is private; a replaced file keeps
/// its mode.
#[test]
fn new_files_follow_the_umask_and_plaintext_is_private() {
    let x = Scratch::new();
    let (private, public) = test_keys();
    let cipher = x.path("u.enc");
    let meta = x.path("u.json");
    cse_umask(
        "027",
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            s(&x.input),
            "--out",
            s(&cipher),
            "--meta-out",
            s(&meta),
        ],
    )
    .ok();
    assert_eq!(mode(&cipher), 0o640);
    assert_eq!(mode(&meta), 0o640);

    let out = x.path("u.plain");
    let decrypt = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&meta),
            "--in",
            s(&cipher),
            "--out",
            s(out),
        ];
        args.extend_from_slice(extra);
        cse_umask("000", &args)
    };
    decrypt(&out, &[]).ok();
    assert_eq!(mode(&out), 0o600, "decrypted plaintext is created private");

    // Replacing keeps the mode of the file replaced (a private output never opens up to group
    // or others).
    let shared = x.path("shared.plain");
    std::fs::write(&shared, b"old").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o604)).unwrap();
    decrypt(&shared, &["--force"]).ok();
    assert_eq!(mode(&shared), 0o600);
    std::fs::set_permissions(&cipher, std::fs::Permissions::from_mode(0o604)).unwrap();
    cse_umask(
        "077",
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            s(&x.input),
            "--out",
            s(&cipher),
            "--meta-out",
            s(&x.path("u2.json")),
            "--force",
        ],
    )
    .ok();
    assert_eq!(
        mode(&cipher),
        0o604,
        "the replaced ciphertext keeps its mode"
    );
    assert_eq!(mode(&x.path("u2.json")), 0o600, "umask 077");
}

/// The partial file is owner-only while it is written, whatever the final mode will be.
#[test]
fn the_partial_file_is_private_while_it_is_written() {
    let x = Scratch::new();
    let (_, public) = test_keys();
    let out = x.path("slow.enc");
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
            s(&x.path("slow.json")),
        ],
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&x.plain).unwrap();
    let start = Instant::now();
    let partial = loop {
        let found = std::fs::read_dir(x.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".cse-partial-")
            });
        if let Some(p) = found {
            break p;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no partial file");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(mode(&partial), 0o600, "{}", partial.display());
    drop(stdin);
    assert_eq!(wait_within(&mut child, Duration::from_secs(30)), Some(0));
    assert_eq!(mode(&out), 0o644, "umask 022 at the end");
}

// ---- existing files and --force ----------------------------------------------------------------

#[test]
fn every_command_refuses_to_replace_a_file_without_force() {
    let x = Scratch::new();
    let existing = x.path("existing");
    let refused = |run: Run, flag: &str| {
        run.fails(
            2,
            &[&format!(
                "{flag} {}: already exists; pass --force to replace it",
                s(&existing)
            )],
        );
        assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    };
    std::fs::write(&existing, b"keep me").unwrap();

    refused(
        x.encrypt_to(s(&existing), s(&x.path("m1.json")), &[]),
        "--out",
    );
    assert!(!x.path("m1.json").exists());
    refused(
        x.encrypt_to(s(&x.path("c1")), s(&existing), &[]),
        "--meta-out",
    );
    assert!(!x.path("c1").exists());
    refused(x.decrypt_to(s(&existing), &[]), "--out");
    refused(
        x.decrypt_to(s(&existing), &["--range", "bytes=0-9"]),
        "--out",
    );
    let (private, public) = test_keys();
    refused(
        cse(&[
            "rewrap",
            "--private-key",
            s(&private),
            "--public-key",
            s(&public),
            "--meta",
            s(&x.meta),
            "--meta-out",
            s(&existing),
        ]),
        "--meta-out",
    );
    refused(
        cse(&[
            "keygen",
            "--private-out",
            s(&x.path("new.pem")),
            "--public-out",
            s(&existing),
        ]),
        "--public-out",
    );
    assert!(!x.path("new.pem").exists());
    assert_no_partial_files(x.dir.path());

    // --force replaces.
    x.encrypt_to(s(&existing), s(&x.path("m2.json")), &["--force"])
        .ok();
    assert_eq!(std::fs::read(&existing).unwrap().len(), x.plain.len());
    x.decrypt_to(s(&existing), &["--force"]).ok();
    assert!(std::fs::read(&existing).unwrap() == x.plain);
    cse(&[
        "rewrap",
        "--private-key",
        s(&private),
        "--public-key",
        s(&public),
        "--meta",
        s(&x.meta),
        "--meta-out",
        s(&existing),
        "--force",
    ])
    .ok();
    read_meta(&existing);
}

/// The refusal comes before any work: `cse encrypt --in -` does not wait for its input.
#[test]
fn an_existing_output_is_refused_before_reading_the_input() {
    let x = Scratch::new();
    let (_, public) = test_keys();
    let existing = x.path("existing.enc");
    std::fs::write(&existing, b"keep me").unwrap();
    let mut child = spawn(
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            "-",
            "--out",
            s(&existing),
            "--meta-out",
            s(&x.path("m.json")),
        ],
        Stdio::piped(),
    );
    // Standard input stays open: a command that read it first would never finish.
    let stdin = child.stdin.take().unwrap();
    assert_eq!(wait_within(&mut child, Duration::from_secs(30)), Some(2));
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("already exists; pass --force"), "{stderr}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}

// ---- terminals ---------------------------------------------------------------------------------

/// `cse encrypt --out -` on a terminal would fill it with binary: refused unless --force. Run in
/// a pseudo-terminal by script(1) (util-linux).
#[test]
fn ciphertext_is_not_written_to_a_terminal_without_force() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    let x = Scratch::new();
    let (_, public) = test_keys();
    let in_pty = |out: &str, extra: &str| {
        let meta = x.path("tty.json");
        let _ = std::fs::remove_file(&meta);
        let command = format!(
            "'{}' encrypt --public-key '{}' --in '{}' --out {out} --meta-out '{}' {extra}",
            env!("CARGO_BIN_EXE_cse"),
            s(&public),
            s(&x.input),
            s(&meta),
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // Only the start: a failure would otherwise print the ciphertext.
        let text: String = String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(400)
            .collect();
        (out.status.code(), text, meta.exists())
    };
    for out in ["-", "/dev/tty"] {
        let (code, text, meta_written) = in_pty(out, "");
        assert_eq!(code, Some(2), "--out {out}: {text}");
        assert!(
            text.contains("refusing to write ciphertext to a terminal") && text.contains("--force"),
            "--out {out}: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
        assert!(!meta_written, "--out {out}: META.json written");
    }
    let (code, text, meta_written) = in_pty("-", "--force");
    assert_eq!(code, Some(0), "{text}");
    assert!(meta_written);
    assert_no_partial_files(x.dir.path());
}

// ---- two names for one file --------------------------------------------------------------------

#[test]
fn two_outputs_that_are_one_file_are_refused() {
    let x = Scratch::new();
    // Neither exists yet: ./c and c are one name in the same directory.
    x.encrypt_to("./c", "c", &[])
        .fails(2, &["--out ./c", "--meta-out c", "same file"]);
    std::fs::create_dir(x.path("sub")).unwrap();
    x.encrypt_to("sub/../c", "c", &[]).fails(2, &["same file"]);
    assert!(!x.path("c").exists());
    // Existing: compared by identity, through links.
    std::fs::write(x.path("c"), b"keep me").unwrap();
    symlink("c", x.path("c-link")).unwrap();
    x.encrypt_to("c", "c-link", &["--force"])
        .fails(2, &["--out c", "--meta-out c-link", "same file"]);
    assert_eq!(std::fs::read(x.path("c")).unwrap(), b"keep me");

    // keygen --force with one file under two names would destroy the private key.
    std::fs::write(x.path("k.pem"), b"the old key").unwrap();
    cse_in(
        x.dir.path(),
        &[
            "keygen",
            "--force",
            "--private-out",
            "./k.pem",
            "--public-out",
            "k.pem",
        ],
    )
    .fails(
        2,
        &["--private-out ./k.pem", "--public-out k.pem", "same file"],
    );
    assert_eq!(std::fs::read(x.path("k.pem")).unwrap(), b"the old key");
    assert_no_partial_files(x.dir.path());
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let x = Scratch::new();
    let (private, public) = test_keys();
    let cipher = s(&x.cipher);
    let before = std::fs::read(&x.cipher).unwrap();
    let meta_out = x.path("m.json");
    // decrypt --in x --out x
    x.decrypt_to(cipher, &["--force"])
        .fails(2, &["--in", "--out", "same file"]);
    // encrypt --in x --out x, and the public key as an output
    cse(&[
        "encrypt",
        "--public-key",
        s(&public),
        "--in",
        s(&x.input),
        "--out",
        s(&x.input),
        "--meta-out",
        s(&meta_out),
        "--force",
    ])
    .fails(2, &["--in", "--out", "same file"]);
    let key_copy = x.path("pub.pem");
    std::fs::copy(&public, &key_copy).unwrap();
    cse(&[
        "encrypt",
        "--public-key",
        s(&key_copy),
        "--in",
        s(&x.input),
        "--out",
        s(&x.path("c2")),
        "--meta-out",
        s(&key_copy),
        "--force",
    ])
    .fails(2, &["--public-key", "--meta-out", "same file"]);
    // rewrap --meta x --meta-out x, even through a link
    let meta_link = x.path("meta-link.json");
    symlink(&x.meta, &meta_link).unwrap();
    for meta_out in [&x.meta, &meta_link] {
        cse(&[
            "rewrap",
            "--private-key",
            s(&private),
            "--public-key",
            s(&public),
            "--meta",
            s(&x.meta),
            "--meta-out",
            s(meta_out),
            "--force",
        ])
        .fails(2, &["--meta", "--meta-out", "same file"]);
    }
    assert_eq!(std::fs::read(&x.cipher).unwrap(), before);
    assert!(std::fs::read(&x.input).unwrap() == x.plain);
    read_meta(&x.meta);
    assert_no_partial_files(x.dir.path());
}

/// `cse encrypt --in f --out - >> f`: standard output open on the input file is the same file
/// under another name, and is refused before anything is written.
#[test]
fn standard_output_appending_to_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f");
    std::fs::write(&input, b"plaintext").unwrap();
    let (_, public) = test_keys();
    let appending = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            s(&input),
            "--out",
            "-",
            "--meta-out",
            s(&dir.path().join("m.json")),
        ])
        .stdin(Stdio::null())
        .stdout(appending)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("are the same file"), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), b"plaintext");
    // A pipe on standard output is never mistaken for the input.
    let run = cse_with_stdin(
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            "-",
            "--out",
            "-",
            "--meta-out",
            s(&dir.path().join("m2.json")),
        ],
        b"plaintext",
    );
    assert_eq!(run.ok().stdout.len(), 9);
}

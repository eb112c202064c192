//! keygen, inspect, rewrap, demo and the help texts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;

#[test]
fn keygen_writes_a_usable_pair_with_a_private_mode() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("k.pem");
    let public = dir.path().join("k.pub.pem");
    cse(&[
        "keygen",
        "--private-out",
        s(&private),
        "--public-out",
        s(&public),
    ])
    .ok();
    let private_pem = std::fs::read_to_string(&private).unwrap();
    let public_pem = std::fs::read_to_string(&public).unwrap();
    assert!(
        private_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8"
    );
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"), "SPKI");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "private key mode {mode:o}");
    }

    // The pair works: encrypt with the public half, decrypt with the private half.
    let plain = plaintext(2000);
    let input = dir.path().join("in");
    let cipher = dir.path().join("c");
    let meta = dir.path().join("m.json");
    let out = dir.path().join("out");
    std::fs::write(&input, &plain).unwrap();
    cse(&[
        "encrypt",
        "--public-key",
        s(&public),
        "--in",
        s(&input),
        "--out",
        s(&cipher),
        "--meta-out",
        s(&meta),
    ])
    .ok();
    cse(&[
        "decrypt",
        "--private-key",
        s(&private),
        "--meta",
        s(&meta),
        "--in",
        s(&cipher),
        "--out",
        s(&out),
    ])
    .ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    // 256 bytes wrapped: RSA-2048 by default.
    let run = cse(&["inspect", "--meta", s(&meta), "--private-key", s(&private)]).ok();
    assert!(
        run.stdout_text().contains("RSA-2048"),
        "{}",
        run.stdout_text()
    );

    // Existing key files are not replaced without --force.
    cse(&[
        "keygen",
        "--private-out",
        s(&private),
        "--public-out",
        s(&dir.path().join("other.pem")),
    ])
    .fails(2, &["already exists", "--force"]);
    assert_eq!(std::fs::read_to_string(&private).unwrap(), private_pem);
    assert!(!dir.path().join("other.pem").exists());
    cse(&[
        "keygen",
        "--private-out",
        s(&private),
        "--public-out",
        s(&public),
        "--force",
        "--bits",
        "3072",
    ])
    .ok();
    assert_ne!(std::fs::read_to_string(&private).unwrap(), private_pem);
    assert_no_partial_files(dir.path());
}

/// The unwrapped content keys and counter blocks of the SDK samples, from the KAT README.
const KAT_SECRETS: &[(&str, &str, &str)] = &[
    (
        "enc-cpp-example",
        "3e76c9c13d019b8e0356156a1dd4b285ee682c04659f058324e45d89f79708de",
        "8c3207b09a9bfa6600000000ac1992b4",
    ),
    (
        "enc-go-example",
        "9ac3ce2ecd271fc9c88f080d05ec40ffa6e4a4d064dd86a5e55a1594a778c878",
        "5649ca0d16946d8100000000e649d194",
    ),
    (
        "enc-python-example",
        "599c80c52670912ead1752b0f077a2c4fb52216e37ff1a18fe4fde98ece10b7b",
        "10706cb7468cd52e000000008771048a",
    ),
    (
        "deprecated-1MB-a-rsa",
        "6476c3de88ab7ee68798184b436a5c4a1a47a6b69cfceb9c11303f607d43e9a5",
        "",
    ),
];

#[track_caller]
fn assert_no_secret(text: &str, secrets: &[&str]) {
    let compact: String = text
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        // Any 8 consecutive bytes of the secret, in hex, anywhere in the hex digits printed.
        for window in secret.as_bytes().chunks(16) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(
                !compact.contains(window),
                "output contains secret bytes {window}: {text}"
            );
        }
    }
}

#[test]
fn inspect_reports_the_envelope_and_prints_no_secret() {
    let Some(kat) = kat() else { return };
    let key = kat.join("compat-rsa1024-private-pkcs1.pem");
    for (stem, cek, iv) in KAT_SECRETS {
        let meta = kat.join(format!("{stem}.meta.json"));
        let without = cse(&["inspect", "--meta", s(&meta)]).ok();
        let with = cse(&["inspect", "--meta", s(&meta), "--private-key", s(&key)]).ok();
        for run in [&without, &with] {
            assert_no_secret(&run.stdout_text(), &[cek, iv]);
            assert_no_secret(&run.stderr, &[cek, iv]);
        }
        let text = with.stdout_text();
        assert!(text.contains("opens the envelope"), "{stem}: {text}");
        assert!(text.contains("RSA-1024"), "{stem}: {text}");
        assert!(text.contains("counter block: canonical"), "{stem}: {text}");
        assert!(without.stdout_text().contains("not given"), "{stem}");
    }
    let text = cse(&[
        "inspect",
        "--meta",
        s(&kat.join("enc-go-example.meta.json")),
    ])
    .ok()
    .stdout_text();
    assert!(
        text.contains("x-oss-meta-client-side-encryption-wrap-alg: RSA/NONE/PKCS1Padding"),
        "{text}"
    );
    assert!(
        text.contains("x-oss-meta-client-side-encryption-cek-alg: AES/CTR/NoPadding"),
        "{text}"
    );
    assert!(
        text.contains("unencrypted-content-length: not declared"),
        "{text}"
    );
    let legacy = cse(&[
        "inspect",
        "--meta",
        s(&kat.join("deprecated-1MB-a-rsa.meta.json")),
    ])
    .ok()
    .stdout_text();
    assert!(legacy.contains("2018"), "{legacy}");
    let kms = cse(&[
        "inspect",
        "--meta",
        s(&kat.join("deprecated-1MB-a-kms.meta.json")),
    ])
    .ok()
    .stdout_text();
    assert!(kms.contains("kms"), "{kms}");
}

#[test]
fn inspect_shows_lengths_matdesc_and_multipart_and_exits_1_for_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = test_keys();
    let (_, meta) = encrypt(
        dir.path(),
        "mp",
        &plaintext(1000),
        &["--part-size", "160", "--matdesc", r#"{"k":"v"}"#],
    );
    let text = cse(&["inspect", "--meta", s(&meta), "--private-key", s(&private)])
        .ok()
        .stdout_text();
    for needle in [
        "x-oss-meta-client-side-encryption-part-size: 160",
        "x-oss-meta-client-side-encryption-data-size: 1000",
        r#"x-oss-meta-client-side-encryption-matdesc: {"k":"v"}"#,
        "declared plaintext length: 1000 bytes",
        "opens the envelope",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    if let Some(kat) = kat() {
        let run = cse(&[
            "inspect",
            "--meta",
            s(&meta),
            "--private-key",
            s(&kat.join("compat-rsa1024-private-pkcs1.pem")),
        ])
        .fails(1, &["could not be unwrapped"]);
        assert!(
            run.stdout_text().contains("does NOT open"),
            "{}",
            run.stdout_text()
        );
    }
    cse(&["inspect", "--meta", s(&meta), "--private-key", s(&public)]).fails(2, &["private"]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[").unwrap();
    cse(&["inspect", "--meta", s(&bad)]).fails(2, &["JSON"]);
}

fn rewrap(
    old_private: &Path,
    new_public: &Path,
    meta: &Path,
    meta_out: &Path,
    extra: &[&str],
) -> Run {
    let mut args = vec![
        "rewrap",
        "--private-key",
        s(old_private),
        "--public-key",
        s(new_public),
        "--meta",
        s(meta),
        "--meta-out",
        s(meta_out),
    ];
    args.extend_from_slice(extra);
    cse(&args)
}

#[test]
fn rewrap_then_decrypt_with_the_new_key_gives_the_same_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (old_private, _) = test_keys();
    let new_private = dir.path().join("new.pem");
    let new_public = dir.path().join("new.pub.pem");
    cse(&[
        "keygen",
        "--private-out",
        s(&new_private),
        "--public-out",
        s(&new_public),
    ])
    .ok();

    for (name, len, extra) in [
        ("single", 3000usize, &[][..]),
        ("multipart", 5000, &["--part-size", "1024"][..]),
    ] {
        let plain = plaintext(len);
        let (cipher, meta) = encrypt(dir.path(), name, &plain, extra);
        // Other metadata rides along.
        let mut m = read_meta(&meta);
        m.insert("x-oss-meta-owner".into(), "ops".into());
        write_meta(&meta, &m);

        let meta_out = dir.path().join(format!("{name}.new.json"));
        rewrap(
            &old_private,
            &new_public,
            &meta,
            &meta_out,
            &[
                "--matdesc",
                r#"{"rotated":"2024"}"#,
                "--verify-private-key",
                s(&new_private),
            ],
        )
        .ok();
        let n = read_meta(&meta_out);
        assert_ne!(header(&n, "key"), header(&m, "key"));
        assert_eq!(header(&n, "matdesc"), Some(r#"{"rotated":"2024"}"#));
        for kept in [
            "unencrypted-content-length",
            "data-size",
            "part-size",
            "cek-alg",
            "wrap-alg",
        ] {
            assert_eq!(header(&n, kept), header(&m, kept), "{name}: {kept}");
        }
        assert_eq!(
            n.get("x-oss-meta-owner").and_then(|v| v.as_str()),
            Some("ops")
        );

        let out = dir.path().join(format!("{name}.out"));
        cse(&[
            "decrypt",
            "--private-key",
            s(&new_private),
            "--meta",
            s(&meta_out),
            "--in",
            s(&cipher),
            "--out",
            s(&out),
        ])
        .ok();
        assert_eq!(std::fs::read(&out).unwrap(), plain, "{name}");
        // The old key no longer opens the new envelope.
        decrypt(&meta_out, &cipher, &out, &[]).fails(1, &["could not be unwrapped"]);
    }
}

#[test]
fn rewrap_verification_with_the_wrong_key_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (old_private, _) = test_keys();
    let new_private = dir.path().join("new.pem");
    let new_public = dir.path().join("new.pub.pem");
    cse(&[
        "keygen",
        "--private-out",
        s(&new_private),
        "--public-out",
        s(&new_public),
    ])
    .ok();
    let (_, meta) = encrypt(dir.path(), "obj", &plaintext(100), &[]);
    let meta_out = dir.path().join("new.json");
    rewrap(
        &old_private,
        &new_public,
        &meta,
        &meta_out,
        &["--verify-private-key", s(&old_private)],
    )
    .fails(1, &["--verify-private-key"]);
    assert!(!meta_out.exists());
    // Without the old private key nothing can be rewrapped.
    rewrap(&new_private, &new_public, &meta, &meta_out, &[]).fails(1, &["could not be unwrapped"]);
    assert!(!meta_out.exists());
    assert_no_partial_files(dir.path());
}

#[test]
fn rewrap_turns_a_2018_envelope_into_the_current_format() {
    let Some(kat) = kat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (new_private, new_public) = test_keys();
    let meta_out = dir.path().join("new.json");
    rewrap(
        &kat.join("compat-rsa1024-private-pkcs1.pem"),
        &new_public,
        &kat.join("deprecated-1MB-a-rsa.meta.json"),
        &meta_out,
        &[],
    )
    .ok();
    let n = read_meta(&meta_out);
    assert!(
        n.keys()
            .all(|k| !k.contains("oss-crypto") && !k.contains("oss-wrap-alg")),
        "{n:?}"
    );
    let out = dir.path().join("a.bin");
    cse(&[
        "decrypt",
        "--strict",
        "--private-key",
        s(&new_private),
        "--meta",
        s(&meta_out),
        "--in",
        s(&kat.join("deprecated-1MB-a-rsa.bin")),
        "--out",
        s(&out),
    ])
    .ok();
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), 1 << 20);
    assert!(got.iter().all(|&b| b == b'a'));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "keygen", "encrypt", "decrypt", "inspect", "rewrap", "demo", "speed",
    ] {
        let text = cse(&[sub, "--help"]).ok().stdout_text();
        assert!(
            text.contains("Example"),
            "{sub} --help has no example: {text}"
        );
        assert!(text.contains(&format!("cse {sub}")), "{sub} --help: {text}");
    }
    let text = cse(&["encrypt", "--help"]).ok().stdout_text();
    for flag in [
        "--public-key",
        "--in",
        "--out",
        "--meta-out",
        "--matdesc",
        "--part-size",
    ] {
        assert!(text.contains(flag), "encrypt --help lacks {flag}");
    }
    let text = cse(&["--help"]).ok().stdout_text();
    assert!(text.contains("Exit status"), "{text}");
}

#[test]
fn demo_runs_with_no_setup() {
    let run = cse(&["demo"]).ok();
    let text = run.stdout_text();
    for needle in [
        "x-oss-meta-client-side-encryption-key",
        "bytes=1000-1099",
        "all 5840 bytes match",
        "opens the envelope",
    ] {
        assert!(
            text.contains(needle),
            "demo output lacks {needle:?}: {text}"
        );
    }
}

#[test]
fn speed_reports_every_figure_as_json() {
    let run = cse(&["speed", "--json", "--seconds", "0.05", "--buffer-kib", "64"]).ok();
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let figures = doc["figures"].as_object().unwrap();
    for name in [
        "AES-256-CTR raw keystream (baseline), 1 thread",
        "seal, 1 thread",
        "open, 1 thread",
        "envelope open (2 x RSA-2048 unwrap), rsa (pure Rust)",
    ] {
        let value = figures[name]["value"].as_f64().unwrap();
        assert!(value > 0.0, "{name}: {value}");
    }
    assert!(figures.keys().any(|k| k.starts_with("seal, multipart on ")));
    assert!(figures.keys().any(|k| k.starts_with("open, ranged on ")));
    assert_eq!(doc["buffer_bytes"], 65536);
    cse(&["speed", "--seconds", "0"]).fails(2, &["--seconds"]);
    cse(&["speed", "--buffer-kib", "0"]).fails(2, &["--buffer-kib"]);
}

/// The help states the output rule of every command that writes files, the terminal refusal,
/// and every exit status.
#[test]
fn help_states_the_output_rule_and_every_exit_status() {
    let statuses = ["130", "143", "129", "141", "interrupted", "closed"];
    let text = cse(&["--help"]).ok().stdout_text();
    for needle in statuses.iter().chain(&["--force"]) {
        assert!(text.contains(needle), "cse --help lacks {needle:?}: {text}");
    }
    for sub in ["keygen", "encrypt", "decrypt", "rewrap", "get"] {
        let text = cse(&[sub, "--help"]).ok().stdout_text();
        for needle in statuses.iter().chain(&[
            "--force",
            "replaced only with --force",
            "symbolic link",
            "/dev/stdout",
            "same file",
            ".cse-partial-",
            "umask",
        ]) {
            assert!(
                text.contains(needle),
                "{sub} --help lacks {needle:?}: {text}"
            );
        }
    }
    let text = cse(&["encrypt", "--help"]).ok().stdout_text();
    assert!(text.contains("terminal"), "{text}");
    for sub in ["inspect", "head", "put"] {
        let text = cse(&[sub, "--help"]).ok().stdout_text();
        for needle in ["141", "130"] {
            assert!(
                text.contains(needle),
                "{sub} --help lacks {needle:?}: {text}"
            );
        }
    }
}

//! `cse put`, `cse get` and `cse head` against the in-memory OSS server of `cse-oss`, run
//! in-process on 127.0.0.1, driving the real `cse` binary with credentials in its environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_server;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Run, assert_no_partial_files, kat, plaintext, s, test_keys};
use cse_oss_test_server::StoredObject;
use cse_testkit::range::selected;
use oss_server::{AK, BUCKET, Oss, SK};

/// A private key other than the test key: opens nothing `cse put` wrote with the test key.
const OTHER_KEY: &str = cse_testkit::keys::RSA2048_PEM_PATH;

impl Oss {
    /// `cse put` of `plain` to `key` with the test public key.
    fn put(&self, key: &str, plain: &[u8], extra: &[&str]) -> Run {
        let input = self.path(&format!("{}.plain", key.replace('/', "_")));
        std::fs::write(&input, plain).unwrap();
        self.put_file(key, &input, extra)
    }

    /// `cse head` of `key`.
    fn head(&self, key: &str, extra: &[&str]) -> Run {
        self.cse_on("head", key, extra)
    }

    fn stored(&self, key: &str) -> StoredObject {
        self.server
            .object(BUCKET, key)
            .unwrap_or_else(|| panic!("{key} is not on the server"))
    }

    /// How many requests of `method` the server answered with `query` among their parameters
    /// (`""` for any).
    fn count(&self, method: &str, query: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.method == method && (query.is_empty() || r.has_query(query)))
            .count()
    }

    /// The stored ciphertext and metadata, decrypted offline by `cse decrypt`.
    fn decrypt_offline(&self, key: &str, extra: &[&str]) -> Vec<u8> {
        let object = self.stored(key);
        let stem = key.replace('/', "_");
        let cipher = self.path(&format!("{stem}.raw"));
        let meta = self.path(&format!("{stem}.raw.meta.json"));
        let out = self.path(&format!("{stem}.offline"));
        std::fs::write(&cipher, &object.data).unwrap();
        let map: serde_json::Map<String, serde_json::Value> = object
            .meta
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect();
        std::fs::write(&meta, serde_json::to_vec(&map).unwrap()).unwrap();
        let extra = [extra, &["--force"]].concat();
        common::decrypt(&meta, &cipher, &out, &extra).ok();
        std::fs::read(&out).unwrap()
    }
}

/// Runs `cse` with exactly the OSS variables given (the others removed), feeding `stdin`.
fn run(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut command = common::cse_command().args(args).stdin(stdin);
    for name in [
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
    ] {
        command = command.env_remove(name);
    }
    for (name, value) in env {
        command = command.env(name, value);
    }
    command.run()
}

#[test]
fn single_put_then_whole_and_ranged_gets() {
    let oss = Oss::start();
    let plain = plaintext(50_001);
    let run = oss.put("dir/single.bin", &plain, &[]).ok();
    let said = run.stdout_text();
    assert!(
        said.contains("oss://cli-bucket/dir/single.bin: 50001 bytes") && said.contains("PutObject"),
        "{said}"
    );
    assert_eq!(oss.count("PUT", ""), 1, "one PutObject");
    assert_eq!(oss.count("POST", "uploads"), 0, "no multipart upload");
    let stored = oss.stored("dir/single.bin");
    assert_eq!(stored.object_type, "Normal");
    assert_eq!(stored.data.len(), plain.len());
    assert_ne!(&stored.data[..], &plain[..], "stored encrypted");

    let out = oss.path("whole.out");
    oss.get("dir/single.bin", &out, &[]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);

    for range in [
        "bytes=0-0",
        "bytes=17-4113",
        "bytes=16-31",
        "bytes=49990-",
        "bytes=49000-999999",
        "bytes=-100",
        "bytes=-999999",
        "bytes=50000-50000",
    ] {
        let out = oss.path("range.out");
        oss.get("dir/single.bin", &out, &["--range", range, "--force"])
            .ok();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            selected(&plain, range).unwrap(),
            "{range}"
        );
    }
    // A ranged read asks for whole cipher blocks from the block holding the first byte, not for
    // the object.
    let ranged: Vec<String> = oss
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert!(ranged.iter().any(|r| r == "bytes=16-4113"), "{ranged:?}");

    // Standard output, too.
    let endpoint = oss.endpoint();
    let (private, _) = test_keys();
    let run = oss
        .cse(&[
            "get",
            "--endpoint",
            &endpoint,
            "--bucket",
            BUCKET,
            "--object",
            "dir/single.bin",
            "--private-key",
            s(&private),
            "--out",
            "-",
            "--range",
            "bytes=-5",
        ])
        .ok();
    assert_eq!(run.stdout, &plain[plain.len() - 5..]);
}

#[test]
fn unsatisfiable_and_malformed_ranges() {
    let oss = Oss::start();
    let plain = plaintext(1000);
    oss.put("r.bin", &plain, &[]).ok();
    let out = oss.path("r.out");
    oss.get("r.bin", &out, &["--range", "bytes=1000-"])
        .fails(1, &["not satisfiable"]);
    oss.get("r.bin", &out, &["--range", "bytes=5000-6000"])
        .fails(1, &["not satisfiable"]);
    assert!(!out.exists());
    let gets = oss.count("GET", "");
    oss.get("r.bin", &out, &["--range", "bytes=9-3"])
        .fails(2, &["--range bytes=9-3"]);
    oss.get("r.bin", &out, &["--range", "lines=1-2"])
        .fails(2, &["--range"]);
    assert_eq!(
        oss.count("GET", ""),
        gets,
        "no request for a malformed range"
    );
    assert!(!out.exists());
    assert_no_partial_files(oss.dir.path());
}

#[test]
fn multipart_put_in_parallel_reads_back_whole_and_across_parts() {
    let oss = Oss::start();
    // Six parts of 100 KiB (OSS's smallest but for the last) and a short seventh of 10 600.
    let plain = plaintext(625_000);
    let run = oss
        .put(
            "multi.bin",
            &plain,
            &["--part-size", "102400", "--jobs", "3"],
        )
        .ok();
    let said = run.stdout_text();
    assert!(
        said.contains("625000 bytes") && said.contains("7 parts"),
        "{said}"
    );
    assert_eq!(
        oss.count("POST", "uploads"),
        1,
        "one InitiateMultipartUpload"
    );
    assert_eq!(oss.count("PUT", "partNumber"), 7, "7 UploadParts");
    assert_eq!(oss.count("POST", "uploadId"), 1, "one Complete");
    assert!(oss.server.upload_ids().is_empty());
    let stored = oss.stored("multi.bin");
    assert_eq!(stored.object_type, "Multipart");
    assert_eq!(stored.data.len(), plain.len());

    let out = oss.path("multi.out");
    oss.get("multi.bin", &out, &[]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    // Across the first part boundary, from just before the last part, and a suffix a little
    // longer than the last part.
    for range in ["bytes=102396-102416", "bytes=614396-", "bytes=-10604"] {
        oss.get("multi.bin", &out, &["--range", range, "--force"])
            .ok();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            selected(&plain, range).unwrap(),
            "{range}"
        );
    }

    // The multipart envelope: head shows the sizes the upload declared.
    let report = oss.head("multi.bin", &[]).ok().stdout_text();
    for line in [
        "plaintext length: 625000 bytes",
        "object type: Multipart",
        "x-oss-meta-client-side-encryption-part-size: 102400",
        "x-oss-meta-client-side-encryption-data-size: 625000",
    ] {
        assert!(report.contains(line), "{line:?} in {report}");
    }
}

#[test]
fn a_file_that_fits_one_part_goes_as_one_put_object() {
    let oss = Oss::start();
    let plain = plaintext(5000);
    let said = oss
        .put("small.bin", &plain, &["--part-size", "16384"])
        .ok()
        .stdout_text();
    assert!(said.contains("one PutObject"), "{said}");
    assert_eq!(oss.count("POST", "uploads"), 0);
    assert_eq!(oss.stored("small.bin").object_type, "Normal");
    assert_eq!(oss.decrypt_offline("small.bin", &["--strict"]), plain);
}

/// Above 64 MiB, `cse put` without --part-size uploads in 8 MiB parts; below, one PutObject,
/// both streamed from the file.
#[test]
fn a_large_file_goes_up_in_parts_without_being_asked() {
    let oss = Oss::start();
    let plain = plaintext((64 << 20) + 1);
    let said = oss.put("large.bin", &plain, &[]).ok().stdout_text();
    assert!(said.contains("9 parts"), "{said}");
    assert_eq!(
        oss.count("POST", "uploads"),
        1,
        "one InitiateMultipartUpload"
    );
    assert_eq!(
        oss.count("PUT", "partNumber"),
        9,
        "eight 8 MiB parts and one byte"
    );
    let stored = oss.stored("large.bin");
    assert_eq!(stored.object_type, "Multipart");
    let out = oss.path("large.out");
    oss.get("large.bin", &out, &[]).ok();
    assert!(
        std::fs::read(&out).unwrap() == plain,
        "the object reads back"
    );

    let small = plaintext(64 << 20);
    let said = oss.put("edge.bin", &small, &[]).ok().stdout_text();
    assert!(said.contains("one PutObject"), "{said}");
    assert_eq!(oss.stored("edge.bin").object_type, "Normal");
    assert!(oss.decrypt_offline("edge.bin", &["--strict"]) == small);
}

#[test]
fn objects_put_by_cse_put_decrypt_offline_and_offline_objects_read_with_cse_get() {
    let oss = Oss::start();
    // Three parts: two of 100 KiB and a short one.
    let plain = plaintext(210_000);
    oss.put("one.bin", &plain, &[]).ok();
    assert_eq!(oss.decrypt_offline("one.bin", &["--strict"]), plain);
    oss.put(
        "parts.bin",
        &plain,
        &["--part-size", "102400", "--jobs", "2"],
    )
    .ok();
    assert_eq!(oss.decrypt_offline("parts.bin", &["--strict"]), plain);
    assert_eq!(
        oss.decrypt_offline("parts.bin", &["--range", "bytes=102392-102432"]),
        &plain[102_392..=102_432]
    );

    // The other way: `cse encrypt` offline, stored as is, read with `cse get`.
    let (cipher, meta) = common::encrypt(oss.dir.path(), "offline", &plain, &[]);
    let meta = common::read_meta(&meta);
    let pairs: Vec<(&str, &str)> = meta
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
        .collect();
    oss.server.put_raw(
        BUCKET,
        "offline.bin",
        std::fs::read(&cipher).unwrap().into(),
        &pairs,
    );
    let out = oss.path("offline.out");
    oss.get("offline.bin", &out, &["--strict"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    oss.get(
        "offline.bin",
        &out,
        &["--range", "bytes=100-199", "--force"],
    )
    .ok();
    assert_eq!(std::fs::read(&out).unwrap(), &plain[100..200]);
}

#[test]
fn head_reports_the_length_and_envelope_with_and_without_the_key() {
    let oss = Oss::start();
    let plain = plaintext(4097);
    oss.put("h.bin", &plain, &["--matdesc", r#"{"key":"2024"}"#])
        .ok();

    let report = oss.head("h.bin", &[]).ok().stdout_text();
    for line in [
        "object: oss://cli-bucket/h.bin",
        "plaintext length: 4097 bytes",
        "object type: Normal",
        "format: OSS client-side encryption",
        r#"x-oss-meta-client-side-encryption-matdesc: {"key":"2024"}"#,
        "x-oss-meta-client-side-encryption-unencrypted-content-length: 4097",
        "private key: not given",
    ] {
        assert!(report.contains(line), "{line:?} in {report}");
    }
    let etag = format!("etag: \"{}\"", oss.stored("h.bin").etag);
    assert!(report.contains(&etag), "{etag} in {report}");

    let (private, _) = test_keys();
    let report = oss
        .head("h.bin", &["--private-key", s(&private)])
        .ok()
        .stdout_text();
    assert!(
        report.contains("opens the envelope") && report.contains("counter block: canonical"),
        "{report}"
    );

    let other = Path::new(OTHER_KEY);
    let run = oss
        .head("h.bin", &["--private-key", s(other)])
        .fails(1, &["could not be unwrapped"]);
    assert!(
        run.stdout_text().contains("does NOT open the envelope"),
        "the report comes first: {}",
        run.stdout_text()
    );

    oss.head("absent.bin", &[])
        .fails(1, &["NoSuchKey", "--object"]);
    oss.head("h.bin", &["--private-key", "absent.pem"])
        .fails(2, &["--private-key absent.pem"]);
}

/// `cse head ... | head -1`: the reader leaves before the report is written (its read end is
/// closed before `cse` starts); `cse` ends quietly with exit status 141.
#[test]
fn head_into_a_closed_pipe_exits_141_quietly() {
    let oss = Oss::start();
    oss.put("p.bin", &plaintext(10), &[]).ok();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let endpoint = oss.endpoint();
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "head",
            "--endpoint",
            &endpoint,
            "--bucket",
            BUCKET,
            "--object",
            "p.bin",
        ])
        .env("OSS_ACCESS_KEY_ID", AK)
        .env("OSS_ACCESS_KEY_SECRET", SK)
        .env_remove("OSS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert_eq!(stderr, "");
}

/// The output rule of every command: an existing file is replaced only with --force, and the
/// plaintext, being the secret, is created owner-only.
#[test]
fn get_replaces_a_file_only_with_force_and_creates_the_plaintext_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let oss = Oss::start();
    let plain = plaintext(2000);
    oss.put("f.bin", &plain, &[]).ok();
    let out = oss.path("f.out");
    oss.get("f.bin", &out, &[]).ok();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    std::fs::write(&out, b"keep me").unwrap();
    oss.get("f.bin", &out, &[]).fails(
        2,
        &[&format!(
            "--out {}: already exists; pass --force to replace it",
            s(&out)
        )],
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_eq!(oss.count("GET", ""), 1, "refused before any request");
    oss.get("f.bin", &out, &["--force"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    assert_no_partial_files(oss.dir.path());
}

#[test]
fn wrong_private_key_on_get_fails_and_leaves_no_file() {
    let oss = Oss::start();
    oss.put("k.bin", &plaintext(3000), &[]).ok();
    let other = Path::new(OTHER_KEY);
    let out = oss.path("k.out");
    oss.get_with(other, "k.bin", &out, &[])
        .fails(1, &["--private-key", "could not be unwrapped"]);
    oss.get_with(other, "k.bin", &out, &["--range", "bytes=10-20"])
        .fails(1, &["could not be unwrapped"]);
    assert!(!out.exists());
    // An existing file is left as it was, even with --force.
    std::fs::write(&out, b"keep me").unwrap();
    oss.get_with(other, "k.bin", &out, &["--force"])
        .fails(1, &["could not be unwrapped"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_no_partial_files(oss.dir.path());
    // A public key cannot decrypt.
    let (_, public) = test_keys();
    oss.get_with(&public, "k.bin", &out, &[])
        .fails(2, &["--private-key"]);
}

#[test]
fn a_truncated_object_fails_and_leaves_no_file() {
    let oss = Oss::start();
    let plain = plaintext(5000);
    oss.put("t.bin", &plain, &[]).ok();
    let stored = oss.stored("t.bin");
    let meta: Vec<(&str, &str)> = stored
        .meta
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    oss.server
        .put_raw(BUCKET, "t.bin", stored.data.slice(..4000), &meta);
    let out = oss.path("t.out");
    oss.get("t.bin", &out, &[]).fails(1, &["5000"]);
    assert!(!out.exists());
    assert_no_partial_files(oss.dir.path());
    let report = oss.head("t.bin", &[]).ok().stdout_text();
    assert!(
        report.contains("4000 bytes stored, but the envelope declares 5000"),
        "{report}"
    );
}

#[test]
fn wrong_credentials_fail_with_the_oss_error_code() {
    let oss = Oss::start();
    oss.put("c.bin", &plaintext(100), &[]).ok();
    let (private, public) = test_keys();
    let input = oss.path("c.bin.plain");
    let out = oss.path("c.out");
    let endpoint = oss.endpoint();
    let target = [
        "--endpoint",
        &endpoint,
        "--bucket",
        BUCKET,
        "--object",
        "c.bin",
    ];
    let commands: [Vec<&str>; 3] = [
        [
            &["put"][..],
            &target,
            &["--public-key", s(&public), "--in", s(&input)],
        ]
        .concat(),
        [
            &["get"][..],
            &target,
            &["--private-key", s(&private), "--out", s(&out)],
        ]
        .concat(),
        [&["head"][..], &target].concat(),
    ];
    for args in &commands {
        let bad_secret = [
            ("OSS_ACCESS_KEY_ID", AK),
            ("OSS_ACCESS_KEY_SECRET", "wrong"),
        ];
        run(args, &bad_secret, &[]).fails(
            1,
            &[
                "SignatureDoesNotMatch",
                "OSS_ACCESS_KEY_SECRET",
                "oss://cli-bucket/c.bin",
            ],
        );
        let bad_id = [
            ("OSS_ACCESS_KEY_ID", "nobody"),
            ("OSS_ACCESS_KEY_SECRET", SK),
        ];
        run(args, &bad_id, &[]).fails(1, &["InvalidAccessKeyId"]);
    }
    assert!(!out.exists());
    assert_no_partial_files(oss.dir.path());
}

#[test]
fn missing_credentials_exit_2_naming_the_variables() {
    let oss = Oss::start();
    let (private, public) = test_keys();
    let input = oss.path("in");
    std::fs::write(&input, b"data").unwrap();
    let out = oss.path("out");
    let endpoint = oss.endpoint();
    let target = [
        "--endpoint",
        &endpoint,
        "--bucket",
        BUCKET,
        "--object",
        "m.bin",
    ];
    let commands: [Vec<&str>; 3] = [
        [
            &["put"][..],
            &target,
            &["--public-key", s(&public), "--in", s(&input)],
        ]
        .concat(),
        [
            &["get"][..],
            &target,
            &["--private-key", s(&private), "--out", s(&out)],
        ]
        .concat(),
        [&["head"][..], &target].concat(),
    ];
    for args in &commands {
        for env in [
            &[][..],
            &[("OSS_ACCESS_KEY_ID", AK)][..],
            &[("OSS_ACCESS_KEY_SECRET", SK)][..],
            &[("OSS_ACCESS_KEY_ID", ""), ("OSS_ACCESS_KEY_SECRET", SK)][..],
        ] {
            run(args, env, &[]).fails(2, &["OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"]);
        }
    }
    assert!(oss.server.requests().is_empty(), "nothing was sent");
    assert!(!out.exists());
}

#[test]
fn a_failed_multipart_upload_is_aborted() {
    let oss = Oss::start();
    oss.server.faults().refuse_next_put();
    oss.put(
        "aborted.bin",
        &plaintext(100_000),
        &["--part-size", "16384", "--jobs", "3"],
    )
    .fails(1, &["InvalidArgument", "oss://cli-bucket/aborted.bin"]);
    assert_eq!(oss.count("POST", "uploads"), 1);
    assert_eq!(oss.count("DELETE", "uploadId"), 1, "AbortMultipartUpload");
    assert!(oss.server.upload_ids().is_empty());
    assert!(oss.server.object(BUCKET, "aborted.bin").is_none());
}

#[test]
fn bad_put_arguments_exit_2_before_any_request() {
    let oss = Oss::start();
    let data = plaintext(1000);
    oss.put("p.bin", &data, &["--part-size", "100"])
        .fails(2, &["--part-size 100", "multiple of 16"]);
    // Even when the file fits one part.
    oss.put("p.bin", &data, &["--part-size", "4001"])
        .fails(2, &["multiple of 16"]);
    oss.put("p.bin", &data, &["--part-size", "0"])
        .fails(2, &["--part-size"]);
    // 10 000 parts at most.
    oss.put("p.bin", &plaintext(160_001), &["--part-size", "16"])
        .fails(2, &["10000 parts"]);
    oss.put("p.bin", &data, &["--matdesc", "[1]"])
        .fails(2, &["--matdesc"]);
    let run_jobs = oss.put("p.bin", &data, &["--part-size", "16384", "--jobs", "0"]);
    assert_eq!(run_jobs.code, 2, "{}", run_jobs.stderr);

    let (_, public) = test_keys();
    let endpoint = oss.endpoint();
    let base = [
        "put",
        "--endpoint",
        &endpoint,
        "--bucket",
        BUCKET,
        "--object",
        "p.bin",
        "--public-key",
        s(&public),
    ];
    oss.cse(&[&base[..], &["--in", "absent.bin"]].concat())
        .fails(2, &["--in absent.bin"]);
    let creds = [("OSS_ACCESS_KEY_ID", AK), ("OSS_ACCESS_KEY_SECRET", SK)];
    run(
        &[&base[..], &["--in", "-", "--part-size", "16384"]].concat(),
        &creds,
        &data,
    )
    .fails(2, &["--part-size", "regular file"]);
    oss.cse(&[
        "put",
        "--endpoint",
        "ftp://127.0.0.1:1",
        "--bucket",
        BUCKET,
        "--object",
        "p.bin",
        "--public-key",
        s(&public),
        "--in",
        s(&oss.path("p.bin.plain")),
    ])
    .fails(2, &["--endpoint", "http"]);
    oss.put("", &data, &[])
        .fails(2, &["--object must not be empty"]);
    assert!(oss.server.requests().is_empty(), "nothing was sent");

    // Standard input works for a single PutObject.
    run(&[&base[..], &["--in", "-"]].concat(), &creds, &data).ok();
    assert_eq!(oss.decrypt_offline("p.bin", &["--strict"]), data);
    // --jobs alone is fine: it serves the automatic multipart upload of a large file.
    let said = oss.put("p.bin", &data, &["--jobs", "2"]).ok().stdout_text();
    assert!(said.contains("one PutObject"), "{said}");
}

#[test]
fn an_unreachable_endpoint_fails_with_exit_1() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (private, _) = test_keys();
    let creds = [("OSS_ACCESS_KEY_ID", AK), ("OSS_ACCESS_KEY_SECRET", SK)];
    let target = ["--endpoint", &endpoint, "--bucket", BUCKET, "--object", "x"];
    run(
        &[
            &["get"][..],
            &target,
            &["--private-key", s(&private), "--out", s(&out)],
        ]
        .concat(),
        &creds,
        &[],
    )
    .fails(1, &["failed to reach OSS"]);
    run(&[&["head"][..], &target].concat(), &creds, &[]).fails(1, &["failed to reach OSS"]);
    assert!(!out.exists());
}

#[test]
fn an_object_without_envelope_is_copied_with_a_warning_or_refused_under_strict() {
    let oss = Oss::start();
    oss.server.put_raw(
        BUCKET,
        "clear.txt",
        b"stored in the clear".to_vec().into(),
        &[],
    );
    let out = oss.path("clear.out");
    let run = oss.get("clear.txt", &out, &[]).ok();
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"stored in the clear");
    oss.get("clear.txt", &out, &["--range", "bytes=7-8", "--force"])
        .ok();
    assert_eq!(std::fs::read(&out).unwrap(), b"in");
    std::fs::remove_file(&out).unwrap();
    oss.get("clear.txt", &out, &["--strict"])
        .fails(1, &["no client-side-encryption envelope"]);
    assert!(!out.exists());
    let report = oss.head("clear.txt", &[]).ok().stdout_text();
    assert!(
        report.contains("plaintext length: 19 bytes")
            && report.contains("no client-side-encryption envelope"),
        "{report}"
    );
    oss.get("absent", &out, &[]).fails(1, &["NoSuchKey"]);
}

#[test]
fn a_2018_format_object_is_described_by_head_and_refused_by_get() {
    let Some(kat) = kat() else { return };
    let oss = Oss::start();
    let meta = common::read_meta(&kat.join("deprecated-1MB-a-rsa.meta.json"));
    let pairs: Vec<(&str, &str)> = meta
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.as_str()?)))
        .filter(|(n, _)| n.starts_with("x-oss-meta-"))
        .collect();
    let data = std::fs::read(kat.join("deprecated-1MB-a-rsa.bin")).unwrap();
    oss.server.put_raw(BUCKET, "old.bin", data.into(), &pairs);
    let key = kat.join("compat-rsa1024-private-pkcs1.pem");
    let report = oss
        .head("old.bin", &["--private-key", s(&key)])
        .ok()
        .stdout_text();
    assert!(
        report.contains("2018 oss2") && report.contains("opens the envelope"),
        "{report}"
    );
    let out = oss.path("old.out");
    oss.get_with(&key, "old.bin", &out, &[])
        .fails(1, &["2018 oss2", "cse decrypt"]);
    assert!(!out.exists());
}

#[test]
fn help_has_examples_and_the_exit_codes() {
    for sub in ["put", "get", "head"] {
        let run = run(&[sub, "--help"], &[], &[]).ok();
        let text = run.stdout_text();
        for needle in [
            "Examples:",
            "Exit status:",
            "OSS_ACCESS_KEY_ID",
            "--endpoint",
            "--region",
            "[default: cn-hangzhou]",
        ] {
            assert!(text.contains(needle), "cse {sub} --help lacks {needle:?}");
        }
    }
}

/// `cse put --in -` streams standard input: chunked without --size, declared with it, and a
/// --size that the input does not match fails with nothing stored.
#[test]
fn standard_input_streams_with_or_without_a_declared_size() {
    let oss = Oss::start();
    let (_, public) = test_keys();
    let endpoint = oss.endpoint();
    let creds = [("OSS_ACCESS_KEY_ID", AK), ("OSS_ACCESS_KEY_SECRET", SK)];
    let data = plaintext(300_000);
    let put = |key: &str, extra: &[&str], stdin: &[u8]| {
        let mut args = vec![
            "put",
            "--endpoint",
            &endpoint,
            "--bucket",
            BUCKET,
            "--object",
            key,
            "--public-key",
            s(&public),
            "--in",
            "-",
        ];
        args.extend_from_slice(extra);
        run(&args, &creds, stdin)
    };
    let said = put("chunked.bin", &[], &data).ok().stdout_text();
    assert!(said.contains("300000 bytes"), "{said}");
    assert!(oss.decrypt_offline("chunked.bin", &["--strict"]) == data);

    put("sized.bin", &["--size", "300000"], &data).ok();
    assert!(oss.decrypt_offline("sized.bin", &["--strict"]) == data);
    let report = oss.head("sized.bin", &[]).ok().stdout_text();
    assert!(
        report.contains("plaintext length: 300000 bytes"),
        "{report}"
    );

    put("short.bin", &["--size", "300001"], &data).fails(1, &["ended after 300000"]);
    put("long.bin", &["--size", "299999"], &data).fails(1, &["longer than the 299999"]);
    assert!(oss.server.object(BUCKET, "short.bin").is_none());
    assert!(oss.server.object(BUCKET, "long.bin").is_none());

    // --size describes standard input only.
    oss.put("file.bin", &data, &["--size", "300000"])
        .fails(2, &["--size is for standard input"]);
}

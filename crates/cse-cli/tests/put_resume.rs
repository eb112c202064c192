//! `cse put --checkpoint`, signals during a multipart upload, and the read checks of `cse get`,
//! against the in-memory OSS server on 127.0.0.1, driving the real `cse` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{plaintext, s, test_keys};
use oss_server::{BUCKET, Oss};

const P: &str = "x-oss-meta-client-side-encryption-";

impl Oss {
    fn part_uploads(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.has_query("partNumber"))
            .count()
    }

    fn stored(&self, key: &str) -> Vec<u8> {
        let out = self.path(&format!("{key}.got"));
        let _ = std::fs::remove_file(&out);
        self.get(key, &out, &[]).ok();
        std::fs::read(out).unwrap()
    }
}

fn file(oss: &Oss, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let path = oss.path(name);
    let data = plaintext(len);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// A put that fails once part of it is uploaded, leaving its checkpoint.
fn interrupted_put(oss: &Oss, key: &str, input: &Path, checkpoint: &Path) -> String {
    let before = oss.server.upload_ids();
    oss.server.faults().refuse_next_put();
    let run = oss.put_file(
        key,
        input,
        &[
            "--part-size",
            "102400",
            "--jobs",
            "1",
            "--checkpoint",
            s(checkpoint),
        ],
    );
    run.fails(1, &["run the same command again to resume"]);
    assert!(checkpoint.exists(), "no checkpoint was left to resume from");
    let new: Vec<String> = oss
        .server
        .upload_ids()
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(new.len(), 1, "the failed upload was not kept");
    new[0].clone()
}

#[test]
fn an_interrupted_put_resumes_from_its_checkpoint() {
    let oss = Oss::start();
    let (input, data) = file(&oss, "big.bin", 700_000);
    let checkpoint = oss.path("big.checkpoint");
    interrupted_put(&oss, "big.bin", &input, &checkpoint);
    // The same part size, spelled with a unit.
    let run = oss
        .put_file(
            "big.bin",
            &input,
            &["--part-size", "100KiB", "--checkpoint", s(&checkpoint)],
        )
        .ok();
    assert!(
        run.stdout_text().contains("700000 bytes"),
        "{}",
        run.stdout_text()
    );
    assert!(!checkpoint.exists(), "the checkpoint outlived its upload");
    assert!(oss.server.upload_ids().is_empty());
    assert_eq!(oss.stored("big.bin"), data);
}

#[test]
fn a_resume_that_disagrees_with_the_checkpoint_uploads_nothing() {
    let oss = Oss::start();
    let (input, _) = file(&oss, "x.bin", 700_000);
    let resume = |checkpoint: &Path, extra: &[&str]| {
        let mut args = vec!["--part-size", "102400", "--checkpoint", s(checkpoint)];
        args.extend_from_slice(extra);
        let before = oss.part_uploads();
        let run = oss.put_file("x.bin", &input, &args);
        assert_eq!(
            oss.part_uploads(),
            before,
            "a refused resume uploaded a part"
        );
        run
    };

    // Another envelope: what a hostile server, or anyone with the public key, would hand over.
    let checkpoint = oss.path("a.checkpoint");
    let id = interrupted_put(&oss, "x.bin", &input, &checkpoint);
    oss.server
        .set_upload_meta(&id, &format!("{P}key"), Some("AAAA"));
    resume(&checkpoint, &[]).fails(1, &["refusing to resume", "client-side-encryption-key"]);

    // A part the checkpoint never sealed.
    let checkpoint = oss.path("b.checkpoint");
    let id = interrupted_put(&oss, "x.bin", &input, &checkpoint);
    oss.server
        .inject_part(&id, 5, bytes::Bytes::from(vec![0u8; 102_400]));
    resume(&checkpoint, &[]).fails(1, &["part 5, which this checkpoint never sealed"]);

    // Other part sizes on the server.
    let checkpoint = oss.path("c.checkpoint");
    let id = interrupted_put(&oss, "x.bin", &input, &checkpoint);
    oss.server
        .set_upload_meta(&id, &format!("{P}part-size"), Some("204800"));
    resume(&checkpoint, &[]).fails(1, &["client-side-encryption-part-size"]);

    // Another part size on the command line, and a changed file.
    let checkpoint = oss.path("d.checkpoint");
    interrupted_put(&oss, "x.bin", &input, &checkpoint);
    let before = oss.part_uploads();
    oss.put_file(
        "x.bin",
        &input,
        &["--part-size", "204800", "--checkpoint", s(&checkpoint)],
    )
    .fails(1, &["part size 102400"]);
    std::fs::write(&input, plaintext(700_001)).unwrap();
    resume(&checkpoint, &[]).fails(1, &["the file changed since the upload began"]);
    assert_eq!(oss.part_uploads(), before);
}

/// Starts `cse put` of a multipart upload against a slowed server and waits until the upload
/// exists.
fn put_in_flight(oss: &Oss, key: &str, input: &Path, extra: &[&str]) -> Child {
    oss.server
        .faults()
        .delay_requests(Duration::from_millis(150));
    let mut all = vec!["--part-size", "102400", "--jobs", "2"];
    all.extend_from_slice(extra);
    let args = oss.put_args(key, input, &all);
    let child = oss.spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let deadline = Instant::now() + Duration::from_secs(20);
    while oss.part_uploads() == 0 {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn ctrl_c_during_a_multipart_put_aborts_the_upload() {
    let oss = Oss::start();
    let (input, _) = file(&oss, "c.bin", 1_400_000);
    let child = put_in_flight(&oss, "c.bin", &input, &[]);
    signal(&child, "INT");
    let (code, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(stderr.contains("was aborted"), "{stderr}");
    oss.server.faults().delay_requests(Duration::ZERO);
    assert!(
        oss.server.upload_ids().is_empty(),
        "the upload was left behind"
    );
    assert!(oss.server.object(BUCKET, "c.bin").is_none());
    let log = oss.server.requests();
    let abort = log
        .iter()
        .position(|r| r.method == "DELETE")
        .expect("no abort was sent");
    assert!(log[abort..].iter().all(|r| !r.has_query("partNumber")));
}

#[test]
fn sigterm_during_a_checkpointed_put_keeps_it_for_the_next_run() {
    let oss = Oss::start();
    let (input, data) = file(&oss, "t.bin", 1_400_000);
    let checkpoint = oss.path("t.checkpoint");
    let child = put_in_flight(&oss, "t.bin", &input, &["--checkpoint", s(&checkpoint)]);
    signal(&child, "TERM");
    let (code, stderr) = finish(child);
    assert_eq!(code, 143, "{stderr}");
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    oss.server.faults().delay_requests(Duration::ZERO);
    assert_eq!(oss.server.upload_ids().len(), 1);
    assert!(checkpoint.exists());
    oss.put_file(
        "t.bin",
        &input,
        &["--part-size", "102400", "--checkpoint", s(&checkpoint)],
    )
    .ok();
    assert!(!checkpoint.exists());
    assert_eq!(oss.stored("t.bin"), data);
}

#[test]
fn a_bucket_name_that_is_not_one_sends_nothing_anywhere() {
    let oss = Oss::start();
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let (input, _) = file(&oss, "b.bin", 10);
    let bucket = format!("127.0.0.1:{}#", trap.local_addr().unwrap().port());
    let (_, public) = test_keys();
    let endpoint = format!("http://localhost:{}", oss.server.addr().port());
    oss.cse(&[
        "put",
        "--endpoint",
        &endpoint,
        "--bucket",
        &bucket,
        "--object",
        "k",
        "--public-key",
        s(&public),
        "--in",
        s(&input),
    ])
    .fails(2, &["--bucket", "is not an OSS bucket name"]);
    oss.cse(&[
        "head",
        "--endpoint",
        &endpoint,
        "--bucket",
        BUCKET,
        "--object",
        "a/../../other/k",
    ])
    .fails(2, &["--object", "'..' path segment"]);
    assert!(trap.accept().is_err(), "a request reached the other host");
    assert!(oss.server.requests().is_empty());
}

#[test]
fn get_refuses_a_cut_object_and_a_wrong_plaintext_md5() {
    let oss = Oss::start();
    let (input, data) = file(&oss, "m.bin", 50_000);
    oss.put_file("m.bin", &input, &[]).ok();
    let stored = oss.server.object(BUCKET, "m.bin").unwrap();
    let meta: Vec<(String, String)> = stored.meta.clone();
    // Cut short, with the full-length envelope: whole and ranged reads fail, and leave nothing.
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    oss.server
        .put_raw(BUCKET, "cut.bin", stored.data.slice(..40_000), &pairs);
    let out = oss.path("cut.out");
    for range in [None, Some("bytes=0-99"), Some("bytes=-100")] {
        let extra: Vec<&str> = range.map_or(vec![], |r| vec!["--range", r]);
        oss.get("cut.bin", &out, &extra)
            .fails(1, &["40000", "50000"]);
        assert!(!out.exists());
    }

    // A plaintext MD5 that does not match: what a wrong key that unwrapped by chance gives.
    use base64::Engine as _;
    let other = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    let mut with_md5 = meta.clone();
    with_md5.push((format!("{P}unencrypted-content-md5"), other));
    let pairs: Vec<(&str, &str)> = with_md5
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    oss.server
        .put_raw(BUCKET, "md5.bin", stored.data.clone(), &pairs);
    oss.get("md5.bin", &out, &[])
        .fails(1, &["client-side-encryption-unencrypted-content-md5"]);
    assert!(!out.exists());
    // Ranged reads cannot check a whole-object digest, and still work.
    oss.get("md5.bin", &out, &["--range", "bytes=0-9"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), data[..10]);
}

#[test]
fn decrypt_refuses_a_wrong_plaintext_md5_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = plaintext(3000);
    let (cipher, meta) = common::encrypt(dir.path(), "d", &data, &[]);
    let mut m = common::read_meta(&meta);
    use base64::Engine as _;
    m.insert(
        format!("{P}unencrypted-content-md5"),
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode([9u8; 16])),
    );
    common::write_meta(&meta, &m);
    let out = dir.path().join("d.out");
    common::decrypt(&meta, &cipher, &out, &[]).fails(
        1,
        &["client-side-encryption-unencrypted-content-md5", "discard"],
    );
    assert!(!out.exists());
    common::assert_no_partial_files(dir.path());
    // The right digest passes.
    use md5::Digest as _;
    m.insert(
        format!("{P}unencrypted-content-md5"),
        serde_json::Value::String(
            base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&data)),
        ),
    );
    common::write_meta(&meta, &m);
    common::decrypt(&meta, &cipher, &out, &[]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), data);
}

#[test]
fn a_checkpoint_without_the_private_key_is_refused_before_any_request() {
    let oss = Oss::start();
    let (input, _) = file(&oss, "n.bin", 700_000);
    let (_, public) = test_keys();
    let checkpoint = oss.path("n.checkpoint");
    let endpoint = oss.server.endpoint();
    oss.cse(&[
        "put",
        "--endpoint",
        &endpoint,
        "--bucket",
        BUCKET,
        "--object",
        "n.bin",
        "--public-key",
        s(&public),
        "--in",
        s(&input),
        "--part-size",
        "102400",
        "--checkpoint",
        s(&checkpoint),
    ])
    .fails(
        2,
        &["--checkpoint needs the private master key", "--private-key"],
    );
    assert!(oss.server.requests().is_empty());
    assert!(!checkpoint.exists());
}

#[test]
fn abort_gives_up_a_kept_upload_and_its_checkpoint() {
    let oss = Oss::start();
    let (input, _) = file(&oss, "ab.bin", 700_000);
    let checkpoint = oss.path("ab.checkpoint");
    let id = interrupted_put(&oss, "ab.bin", &input, &checkpoint);
    // Another object's name is refused: the checkpoint says which upload it is.
    oss.put_file(
        "other.bin",
        &input,
        &[
            "--part-size",
            "100KiB",
            "--checkpoint",
            s(&checkpoint),
            "--abort",
        ],
    )
    .fails(2, &["records an upload of oss://cli-bucket/ab.bin"]);
    let run = oss
        .put_file(
            "ab.bin",
            &input,
            &[
                "--part-size",
                "100KiB",
                "--checkpoint",
                s(&checkpoint),
                "--abort",
            ],
        )
        .ok();
    assert!(
        run.stdout_text()
            .contains(&format!("aborted multipart upload {id}"))
    );
    assert!(!oss.server.upload_ids().contains(&id));
    assert!(!checkpoint.exists());
}

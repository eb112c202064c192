//! `cse put --authenticate` and `cse get` of authenticated objects against the in-memory OSS
//! server: the side-car object beside the data, ranged reads that fetch only their tags, and a
//! hostile server that changes the object, its metadata or its side-car.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_server;

use common::{plaintext, s};
use oss_server::{BUCKET, Oss};

const CS: usize = 1 << 16;
const LEN: usize = 3 * CS + 1000;

fn setup(oss: &Oss, key: &str, extra: &[&str]) -> Vec<u8> {
    let plain = plaintext(LEN);
    let input = oss.path(&format!("{}.plain", key.replace('/', "_")));
    std::fs::write(&input, &plain).unwrap();
    let args = [&["--authenticate", "--auth-chunk-size", "64KiB"][..], extra].concat();
    let run = oss.put_file(key, &input, &args).ok();
    assert!(
        run.stdout_text().contains("authenticated"),
        "{}",
        run.stdout_text()
    );
    plain
}

/// Replaces the stored object `key` with `data` and `meta`, as a hostile server would.
fn replace(oss: &Oss, key: &str, data: Vec<u8>, meta: &[(String, String)]) {
    let meta: Vec<(String, String)> = meta
        .iter()
        .map(|(n, v)| (format!("x-oss-meta-{n}"), v.clone()))
        .collect();
    let refs: Vec<(&str, &str)> = meta.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    oss.server.put_raw(BUCKET, key, data.into(), &refs);
}

#[test]
fn an_authenticated_put_stores_the_sidecar_and_get_verifies_whole_and_ranged() {
    let oss = Oss::start();
    let plain = setup(&oss, "dir/a.bin", &[]);
    let stored = oss.server.object(BUCKET, "dir/a.bin").unwrap();
    assert_eq!(stored.data.len(), LEN);
    assert!(
        stored
            .meta
            .iter()
            .any(|(n, v)| n == "x-oss-meta-cse-auth-version" && v == "1")
    );
    let sidecar = oss.server.object(BUCKET, "dir/a.bin.cse-auth").unwrap();
    assert_eq!(sidecar.data.len(), 208 + 16 * 4);

    let out = oss.path("a.out");
    oss.get("dir/a.bin", &out, &["--require-auth"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    // The stored object decrypts offline with its side-car too (cse decrypt --auth).
    let tags = oss.path("a.tags");
    std::fs::write(&tags, &sidecar.data).unwrap();
    let (cipher, meta) = (oss.path("a.enc"), oss.path("a.meta.json"));
    std::fs::write(&cipher, &stored.data).unwrap();
    let map: serde_json::Map<String, serde_json::Value> = stored
        .meta
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    std::fs::write(&meta, serde_json::to_vec(&map).unwrap()).unwrap();
    let offline = oss.path("a.offline");
    common::decrypt(
        &meta,
        &cipher,
        &offline,
        &["--auth", s(&tags), "--require-auth"],
    )
    .ok();
    assert_eq!(std::fs::read(&offline).unwrap(), plain);
    for (range, want) in [
        ("bytes=70000-70099", 70_000..70_100),
        ("bytes=-10", LEN - 10..LEN),
        ("bytes=0-0", 0..1),
    ] {
        let before = oss.server.requests().len();
        oss.get("dir/a.bin", &out, &["--range", range, "--force"])
            .ok();
        assert_eq!(std::fs::read(&out).unwrap(), &plain[want], "{range}");
        // A HEAD, the side-car header, its tags, the chunks: no whole side-car, no whole body.
        let new = &oss.server.requests()[before..];
        let sidecar_gets: Vec<_> = new
            .iter()
            .filter(|r| r.method == "GET" && r.key.ends_with(".cse-auth"))
            .collect();
        assert_eq!(sidecar_gets.len(), 2, "{range}: {new:?}");
        assert!(sidecar_gets.iter().all(|r| r.header("range").is_some()));
    }
    oss.get("dir/a.bin", &out, &["--range", "bytes=999999-", "--force"])
        .fails(1, &["not satisfiable"]);
}

#[test]
fn a_hostile_server_is_caught_and_nothing_is_written() {
    let oss = Oss::start();
    let plain = setup(&oss, "t.bin", &[]);
    let good = oss.server.object(BUCKET, "t.bin").unwrap();
    let meta: Vec<(String, String)> = good
        .meta
        .iter()
        .map(|(n, v)| (n.trim_start_matches("x-oss-meta-").to_owned(), v.clone()))
        .collect();
    let out = oss.path("t.out");
    let refused = |needles: &[&str], extra: &[&str]| {
        oss.get("t.bin", &out, extra).fails(1, needles);
        assert!(!out.exists());
    };
    // A flipped bit in chunk 2: the whole read fails there; a ranged read elsewhere succeeds.
    let mut data = good.data.to_vec();
    data[2 * CS + 5] ^= 1;
    replace(&oss, "t.bin", data, &meta);
    refused(&["chunk 2 failed its tag"], &[]);
    refused(
        &["chunk 2 failed its tag"],
        &["--range", "bytes=131072-131100"],
    );
    oss.get("t.bin", &out, &["--range", "bytes=0-99"]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), &plain[..100]);
    std::fs::remove_file(&out).unwrap();
    // Truncated by a chunk, with the length header dropped to hide it.
    let cut: Vec<(String, String)> = meta
        .iter()
        .filter(|(n, _)| !n.ends_with("unencrypted-content-length"))
        .cloned()
        .collect();
    replace(&oss, "t.bin", good.data[..2 * CS].to_vec(), &cut);
    refused(&["the side-car belongs to another object"], &[]);
    // The matdesc changed.
    let mut md = meta.clone();
    md.push((
        "client-side-encryption-matdesc".into(),
        r#"{"k":"v"}"#.into(),
    ));
    replace(&oss, "t.bin", good.data.to_vec(), &md);
    refused(&["wrapping tag failed"], &[]);
    // The authentication metadata stripped: verified reads notice only under --require-auth.
    let stripped: Vec<(String, String)> = meta
        .iter()
        .filter(|(n, _)| !n.starts_with("cse-auth-"))
        .cloned()
        .collect();
    replace(&oss, "t.bin", good.data.to_vec(), &stripped);
    refused(&["not authenticated"], &["--require-auth"]);
    // The side-car deleted.
    replace(&oss, "t.bin", good.data.to_vec(), &meta);
    let sidecar = oss.server.object(BUCKET, "t.bin.cse-auth").unwrap();
    assert!(oss.server.remove_object(BUCKET, "t.bin.cse-auth"));
    refused(&["side-car missing"], &[]);
    refused(&["side-car missing"], &["--range", "bytes=0-9"]);
    // Another object's side-car.
    setup(&oss, "u.bin", &[]);
    let other = oss.server.object(BUCKET, "u.bin.cse-auth").unwrap();
    oss.server
        .put_raw(BUCKET, "t.bin.cse-auth", other.data.clone(), &[]);
    refused(&["the side-car belongs to another object"], &[]);
    // The genuine side-car with a byte after its tags, whole and ranged.
    let mut longer = sidecar.data.to_vec();
    longer.push(0);
    oss.server
        .put_raw(BUCKET, "t.bin.cse-auth", longer.into(), &[]);
    refused(&["bytes follow its last tag"], &[]);
    refused(&["bytes follow its last tag"], &["--range", "bytes=0-9"]);
    // Back to the genuine side-car: it reads again.
    oss.server
        .put_raw(BUCKET, "t.bin.cse-auth", sidecar.data.clone(), &[]);
    oss.get("t.bin", &out, &[]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
}

#[test]
fn bound_and_signed_uploads_check_their_name_and_their_writer() {
    let oss = Oss::start();
    let (writer, writer_pub) = (oss.path("w.pem"), oss.path("w.pub"));
    oss.cse(&[
        "keygen",
        "--signing",
        "--private-out",
        s(&writer),
        "--public-out",
        s(&writer_pub),
    ])
    .ok();
    let plain = setup(&oss, "b.bin", &["--bind", "--sign-key", s(&writer)]);
    let out = oss.path("b.out");
    oss.get("b.bin", &out, &["--trust", s(&writer_pub)]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    // Copied under another name, side-car and all: the binding tag fails.
    let object = oss.server.object(BUCKET, "b.bin").unwrap();
    let sidecar = oss.server.object(BUCKET, "b.bin.cse-auth").unwrap();
    let meta: Vec<(String, String)> = object
        .meta
        .iter()
        .map(|(n, v)| (n.trim_start_matches("x-oss-meta-").to_owned(), v.clone()))
        .collect();
    replace(&oss, "c.bin", object.data.to_vec(), &meta);
    oss.server
        .put_raw(BUCKET, "c.bin.cse-auth", sidecar.data.clone(), &[]);
    let copy = oss.path("c.out");
    oss.get("c.bin", &copy, &[])
        .fails(1, &["binding tag failed"]);
    assert!(!copy.exists());
    // Forged with the public master key (unsigned): refused under --trust.
    setup(&oss, "f.bin", &[]);
    oss.get("f.bin", &copy, &["--trust", s(&writer_pub)])
        .fails(1, &["not signed"]);
    // An unauthenticated object under --trust.
    let input = oss.path("p.plain");
    std::fs::write(&input, &plain).unwrap();
    oss.put_file("p.bin", &input, &[]).ok();
    oss.get("p.bin", &copy, &["--trust", s(&writer_pub)])
        .fails(1, &["not authenticated"]);
    // What this version cannot authenticate is refused before anything is sent.
    oss.put_file(
        "q.bin",
        &input,
        &["--authenticate", "--part-size", "100KiB"],
    )
    .fails(2, &["one PutObject"]);
    oss.put_file("q.bin", &input, &["--bind"])
        .fails(2, &["--authenticate"]);
    assert!(oss.server.object(BUCKET, "q.bin").is_none());
}

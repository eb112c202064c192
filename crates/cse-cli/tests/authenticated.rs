//! Authenticated objects through the real `cse` binary (`docs/authenticated-objects.md`):
//! `encrypt --authenticate --auth-out`, `decrypt --auth / --require-auth / --trust`,
//! `keygen --signing`. Every tamper class of the issue is made on real files and must end in
//! exit 1, a one-line error naming the failed check, and no output file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

const CS: usize = 1 << 16;
/// 3.5 chunks: a first, two middle and a short last chunk.
const LEN: usize = 3 * CS + CS / 2;

struct Object {
    plain: Vec<u8>,
    cipher: PathBuf,
    meta: PathBuf,
    tags: PathBuf,
}

fn authenticated(dir: &Path, name: &str, len: usize, extra: &[&str]) -> Object {
    let plain = plaintext(len);
    let tags = dir.join(format!("{name}.tags"));
    let mut args = vec![
        "--authenticate",
        "--auth-out",
        s(&tags),
        "--auth-chunk-size",
        "64KiB",
    ];
    args.extend_from_slice(extra);
    let (cipher, meta) = encrypt(dir, name, &plain, &args);
    Object {
        plain,
        cipher,
        meta,
        tags,
    }
}

/// Decrypts `o` (with `meta`, `cipher` and `tags` substituted where given) and returns the run.
fn open(dir: &Path, o: &Object, out: &str, extra: &[&str]) -> (Run, PathBuf) {
    let out = dir.join(out);
    let mut args = vec!["--auth", s(&o.tags)];
    args.extend_from_slice(extra);
    (decrypt(&o.meta, &o.cipher, &out, &args), out)
}

/// Asserts exit 1, the named check, and no output at all.
#[track_caller]
fn refused(run: Run, out: &Path, needles: &[&str]) {
    run.fails(1, needles);
    assert!(!out.exists(), "{} was written", out.display());
    assert_no_partial_files(out.parent().unwrap());
}

fn copy_with(dir: &Path, o: &Object, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Object {
    let cipher = dir.join(format!("{name}.enc"));
    let mut bytes = std::fs::read(&o.cipher).unwrap();
    edit(&mut bytes);
    std::fs::write(&cipher, bytes).unwrap();
    Object {
        plain: o.plain.clone(),
        cipher,
        meta: o.meta.clone(),
        tags: o.tags.clone(),
    }
}

fn meta_with(
    dir: &Path,
    o: &Object,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Object {
    let meta = dir.join(format!("{name}.meta.json"));
    let mut m = read_meta(&o.meta);
    edit(&mut m);
    write_meta(&meta, &m);
    Object {
        plain: o.plain.clone(),
        cipher: o.cipher.clone(),
        meta,
        tags: o.tags.clone(),
    }
}

const P: &str = "x-oss-meta-client-side-encryption-";

#[test]
fn authenticated_objects_round_trip_whole_and_ranged_and_carry_the_new_headers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for len in [0usize, 1, CS, LEN] {
        let o = authenticated(d, &format!("r{len}"), len, &[]);
        let m = read_meta(&o.meta);
        assert_eq!(m["x-oss-meta-cse-auth-version"], "1");
        assert_eq!(m["x-oss-meta-cse-auth-chunk-size"], "65536");
        assert_eq!(
            m["x-oss-meta-cse-auth-commitment"].as_str().unwrap().len(),
            44
        );
        // The ciphertext is the plain AES-CTR stream; the side-car is 208 bytes and a tag a
        // chunk.
        assert_eq!(std::fs::read(&o.cipher).unwrap().len(), len);
        let chunks = len.div_ceil(CS).max(1);
        assert_eq!(
            std::fs::metadata(&o.tags).unwrap().len(),
            208 + 16 * chunks as u64
        );
        let (run, out) = open(d, &o, &format!("r{len}.out"), &["--require-auth"]);
        run.ok();
        assert_eq!(std::fs::read(out).unwrap(), o.plain, "len {len}");
    }
    let o = authenticated(d, "ranged", LEN, &[]);
    for (range, want) in [
        ("bytes=0-0", 0..1),
        ("bytes=100-65535", 100..CS),
        ("bytes=65535-65536", CS - 1..CS + 1),
        ("bytes=70000-200000", 70_000..200_001),
        ("bytes=-10", LEN - 10..LEN),
        ("bytes=200000-", 200_000..LEN),
        ("bytes=0-99999999", 0..LEN),
    ] {
        let (run, out) = open(d, &o, "ranged.out", &["--range", range, "--force"]);
        run.ok();
        assert_eq!(std::fs::read(&out).unwrap(), &o.plain[want], "{range}");
    }
    let (run, out) = open(d, &o, "past.out", &["--range", "bytes=300000-"]);
    refused(run, &out, &["not satisfiable"]);
}

#[test]
fn multipart_and_streamed_authenticated_objects_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = authenticated(d, "parts", LEN, &["--part-size", "128KiB"]);
    assert_eq!(read_meta(&o.meta)[&format!("{P}part-size")], "131072");
    let (run, out) = open(d, &o, "parts.out", &[]);
    run.ok();
    assert_eq!(std::fs::read(out).unwrap(), o.plain);
    let (run, out) = open(d, &o, "parts.range", &["--range", "bytes=131000-131100"]);
    run.ok();
    assert_eq!(std::fs::read(out).unwrap(), &o.plain[131_000..131_101]);
    // A part size that splits a chunk is refused before anything is written.
    cse(&[
        "encrypt",
        "--public-key",
        s(&test_keys().1),
        "--in",
        s(&d.join("parts.plain")),
        "--out",
        s(&d.join("bad.enc")),
        "--meta-out",
        s(&d.join("bad.meta.json")),
        "--authenticate",
        "--auth-out",
        s(&d.join("bad.tags")),
        "--auth-chunk-size",
        "64KiB",
        "--part-size",
        "100000",
    ])
    .fails(
        2,
        &["part size 100000 is not a multiple of the authentication chunk size"],
    );
    assert!(!d.join("bad.enc").exists() && !d.join("bad.tags").exists());

    // Standard input: the length is not known up front, the last chunk is tagged at the end;
    // and the reader takes the ciphertext from standard input too.
    let plain = plaintext(LEN);
    let (_, public) = test_keys();
    let (cipher, meta, tags) = (d.join("in.enc"), d.join("in.meta.json"), d.join("in.tags"));
    cse_with_stdin(
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            "-",
            "--out",
            s(&cipher),
            "--meta-out",
            s(&meta),
            "--authenticate",
            "--auth-out",
            s(&tags),
        ],
        &plain,
    )
    .ok();
    let (private, _) = test_keys();
    let run = cse_command()
        .args([
            "decrypt",
            "--private-key",
            s(&private),
            "--meta",
            s(&meta),
            "--in",
            "-",
            "--out",
            "-",
            "--auth",
            s(&tags),
        ])
        .stdin(&std::fs::read(&cipher).unwrap())
        .run()
        .ok();
    assert_eq!(run.stdout, plain);
}

#[test]
fn every_tamper_class_fails_with_the_check_named_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = authenticated(d, "good", LEN, &[]);
    let other = authenticated(d, "other", LEN, &[]);

    // A flipped bit in the first, a middle and the last chunk.
    for (index, at) in [(0, 5), (1, CS + 77), (3, LEN - 1)] {
        let bad = copy_with(d, &o, &format!("flip{index}"), |b| b[at] ^= 0x10);
        let (run, out) = open(d, &bad, "flip.out", &[]);
        refused(run, &out, &[&format!("chunk {index} failed its tag")]);
        // A ranged read of that chunk fails; one of another chunk still succeeds.
        let (run, out) = open(
            d,
            &bad,
            "flip.range",
            &["--range", &format!("bytes={at}-{at}")],
        );
        refused(run, &out, &[&format!("chunk {index} failed its tag")]);
        let elsewhere = if index == 0 { 3 * CS } else { 0 };
        let (run, out) = open(
            d,
            &bad,
            "flip.elsewhere",
            &[
                "--range",
                &format!("bytes={elsewhere}-{}", elsewhere + 99),
                "--force",
            ],
        );
        run.ok();
        assert_eq!(
            std::fs::read(out).unwrap(),
            &o.plain[elsewhere..elsewhere + 100]
        );
    }
    // Truncation and extension by one byte and by a whole chunk.
    for (name, edit) in [
        (
            "cut1",
            Box::new(|b: &mut Vec<u8>| b.truncate(LEN - 1)) as Box<dyn Fn(&mut Vec<u8>)>,
        ),
        ("cutchunk", Box::new(|b: &mut Vec<u8>| b.truncate(LEN - CS))),
        ("ext1", Box::new(|b: &mut Vec<u8>| b.push(0))),
        (
            "extchunk",
            Box::new(|b: &mut Vec<u8>| b.extend_from_slice(&[7; CS])),
        ),
    ] {
        let bad = copy_with(d, &o, name, edit);
        let (run, out) = open(d, &bad, "len.out", &[]);
        refused(run, &out, &["cut short, extended or replaced"]);
        // With the length header gone too (which changes the envelope digest), the side-car
        // names the object as another one.
        let bad = meta_with(d, &bad, name, |m| {
            m.remove(&format!("{P}unencrypted-content-length"));
        });
        let (run, out) = open(d, &bad, "len.out", &[]);
        refused(run, &out, &["the side-car belongs to another object"]);
    }
    // Two chunks swapped.
    let bad = copy_with(d, &o, "swap", |b| {
        let (a, rest) = b.split_at_mut(CS);
        a.swap_with_slice(&mut rest[..CS]);
    });
    let (run, out) = open(d, &bad, "swap.out", &[]);
    refused(run, &out, &["chunk 0 failed its tag"]);
    // Another object's envelope on this ciphertext and side-car.
    let bad = Object {
        meta: other.meta.clone(),
        ..copy_with(d, &o, "envelope", |_| {})
    };
    let (run, out) = open(d, &bad, "envelope.out", &[]);
    refused(run, &out, &["the side-car belongs to another object"]);
    // Another object's side-car.
    let bad = Object {
        tags: other.tags.clone(),
        ..copy_with(d, &o, "sidecar", |_| {})
    };
    let (run, out) = open(d, &bad, "sidecar.out", &[]);
    refused(run, &out, &["the side-car belongs to another object"]);
    // A wrapped key substituted by one wrapped under the same public key (another object's),
    // with and without its counter block.
    let other_meta = read_meta(&other.meta);
    for fields in [&["key"][..], &["key", "start"]] {
        let bad = meta_with(d, &o, "wrapped", |m| {
            for f in fields {
                let name = format!("{P}{f}");
                m.insert(name.clone(), other_meta[&name].clone());
            }
        });
        let (run, out) = open(d, &bad, "wrapped.out", &[]);
        refused(run, &out, &["commitment check failed"]);
    }
    // A changed matdesc: it selects the same key here, and the wrapping tag catches it.
    let bad = meta_with(d, &o, "matdesc", |m| {
        m.insert(format!("{P}matdesc"), r#"{"who":"mallory"}"#.into());
    });
    let (run, out) = open(d, &bad, "matdesc.out", &[]);
    refused(run, &out, &["wrapping tag failed"]);
    // A changed length header, and a changed chunk size header.
    let bad = meta_with(d, &o, "length", |m| {
        m.insert(format!("{P}unencrypted-content-length"), "1000".into());
    });
    let (run, out) = open(d, &bad, "length.out", &[]);
    refused(run, &out, &["its envelope declares 1000"]);
    let bad = meta_with(d, &o, "chunk", |m| {
        m.insert("x-oss-meta-cse-auth-chunk-size".into(), "131072".into());
    });
    let (run, out) = open(d, &bad, "chunk.out", &[]);
    refused(run, &out, &["the side-car belongs to another object"]);
    // A changed commitment (the header an attacker would rewrite with a new key).
    let bad = meta_with(d, &o, "commit", |m| {
        let c = read_meta(&other.meta)["x-oss-meta-cse-auth-commitment"].clone();
        m.insert("x-oss-meta-cse-auth-commitment".into(), c);
    });
    let (run, out) = open(d, &bad, "commit.out", &[]);
    refused(run, &out, &["commitment check failed"]);
    // A changed cek-alg is refused as a malformed envelope before anything is decrypted.
    let bad = meta_with(d, &o, "cek", |m| {
        m.insert(format!("{P}cek-alg"), "AES/GCM/NoPadding".into());
    });
    let (run, out) = open(d, &bad, "cek.out", &[]);
    run.fails(2, &["cek-alg"]);
    assert!(!out.exists());
}

#[test]
fn a_missing_sidecar_or_missing_metadata_is_detected_and_require_auth_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = authenticated(d, "a", LEN, &[]);
    // The side-car deleted: the marker in the metadata says it must exist.
    let out = d.join("a.out");
    refused(
        decrypt(&o.meta, &o.cipher, &out, &[]),
        &out,
        &["side-car missing", "--auth"],
    );
    let gone = d.join("gone.tags");
    refused(
        decrypt(&o.meta, &o.cipher, &out, &["--auth", s(&gone)]),
        &out,
        &["side-car missing"],
    );
    // The side-car cut short.
    let short = d.join("short.tags");
    std::fs::write(&short, &std::fs::read(&o.tags).unwrap()[..100]).unwrap();
    refused(
        decrypt(&o.meta, &o.cipher, &out, &["--auth", s(&short)]),
        &out,
        &["side-car is malformed"],
    );
    // The authentication metadata stripped: with --auth, or under --require-auth, refused;
    // otherwise it reads as an unauthenticated object (the `allow` policy's documented gap).
    let stripped = meta_with(d, &o, "stripped", |m| {
        m.retain(|k, _| !k.starts_with("x-oss-meta-cse-auth-"));
    });
    let (run, out) = open(d, &stripped, "s.out", &[]);
    refused(run, &out, &["no cse-auth-* entries"]);
    refused(
        decrypt(&stripped.meta, &o.cipher, &out, &["--require-auth"]),
        &out,
        &["--require-auth", "not authenticated"],
    );
    decrypt(&stripped.meta, &o.cipher, &out, &[]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), o.plain);
    // An object never authenticated, under --require-auth.
    let (cipher, meta) = encrypt(d, "plain", &o.plain, &[]);
    let out = d.join("plain.out");
    refused(
        decrypt(&meta, &cipher, &out, &["--require-auth"]),
        &out,
        &["not authenticated"],
    );
    // An unknown cse-auth-* entry beside a valid set is refused, not ignored.
    let extra = meta_with(d, &o, "extra", |m| {
        m.insert("x-oss-meta-cse-auth-future".into(), "1".into());
    });
    let (run, out) = open(d, &extra, "extra.out", &[]);
    run.fails(2, &["cse-auth-version", "newer version"]);
    assert!(!out.exists());
}

#[test]
fn trusted_writers_refuse_objects_forged_with_the_public_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (writer, writer_pub) = (d.join("w.pem"), d.join("w.pub"));
    let (other, other_pub) = (d.join("x.pem"), d.join("x.pub"));
    for (private, public) in [(&writer, &writer_pub), (&other, &other_pub)] {
        cse(&[
            "keygen",
            "--signing",
            "--private-out",
            s(private),
            "--public-out",
            s(public),
        ])
        .ok();
    }
    let signed = authenticated(d, "signed", LEN, &["--sign-key", s(&writer)]);
    let (run, out) = open(d, &signed, "signed.out", &["--trust", s(&writer_pub)]);
    run.ok();
    assert_eq!(std::fs::read(out).unwrap(), signed.plain);
    let (run, out) = open(
        d,
        &signed,
        "signed.range",
        &[
            "--trust",
            s(&other_pub),
            "--trust",
            s(&writer_pub),
            "--range",
            "bytes=-5",
        ],
    );
    run.ok();
    assert_eq!(std::fs::read(out).unwrap(), &signed.plain[LEN - 5..]);

    // A complete object forged from scratch with the public master key: valid commitment,
    // valid tags, valid final tag. Only a trusted writer key tells it apart.
    let forged = authenticated(d, "forged", LEN, &[]);
    let (run, out) = open(d, &forged, "forged0.out", &[]);
    run.ok();
    std::fs::remove_file(out).unwrap();
    let (run, out) = open(d, &forged, "forged.out", &["--trust", s(&writer_pub)]);
    refused(run, &out, &["not signed"]);
    let (run, out) = open(
        d,
        &forged,
        "forged.out",
        &["--trust", s(&writer_pub), "--range", "bytes=0-9"],
    );
    refused(run, &out, &["not signed"]);
    // Forged and signed by someone else's writer key.
    let by_other = authenticated(d, "byother", LEN, &["--sign-key", s(&other)]);
    let (run, out) = open(d, &by_other, "byother.out", &["--trust", s(&writer_pub)]);
    refused(run, &out, &["not trusted"]);
    // A signed side-car whose signature was changed.
    let mut tags = std::fs::read(&signed.tags).unwrap();
    tags[200] ^= 1;
    let changed = d.join("changed.tags");
    std::fs::write(&changed, tags).unwrap();
    let bad = Object {
        tags: changed,
        ..copy_with(d, &signed, "changed", |_| {})
    };
    let (run, out) = open(d, &bad, "changed.out", &["--trust", s(&writer_pub)]);
    refused(run, &out, &["writer signature failed"]);
    // Key files of the wrong kind are usage errors.
    let (_, rsa_public) = test_keys();
    let (run, out) = open(d, &signed, "wrongkey.out", &["--trust", s(&rsa_public)]);
    run.fails(2, &["not an Ed25519 public key"]);
    assert!(!out.exists());
    cse(&[
        "keygen",
        "--signing",
        "--bits",
        "4096",
        "--private-out",
        s(&d.join("y")),
        "--public-out",
        s(&d.join("z")),
    ])
    .fails(2, &["--signing"]);
}

#[test]
fn a_rewrap_rewrites_the_wrapping_tag_and_keeps_the_chunk_tags_and_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (writer, writer_pub) = (d.join("w.pem"), d.join("w.pub"));
    cse(&[
        "keygen",
        "--signing",
        "--private-out",
        s(&writer),
        "--public-out",
        s(&writer_pub),
    ])
    .ok();
    let (new_private, new_public) = (d.join("new.pem"), d.join("new.pub"));
    cse(&[
        "keygen",
        "--private-out",
        s(&new_private),
        "--public-out",
        s(&new_public),
    ])
    .ok();
    let o = authenticated(d, "o", LEN, &["--sign-key", s(&writer)]);
    let (private, _) = test_keys();
    let (meta2, tags2) = (d.join("o2.meta.json"), d.join("o2.tags"));
    let rewrap = |extra: &[&str]| {
        let mut args = vec![
            "rewrap",
            "--private-key",
            s(&private),
            "--public-key",
            s(&new_public),
            "--meta",
            s(&o.meta),
            "--meta-out",
            s(&meta2),
            "--matdesc",
            r#"{"key":"2027"}"#,
        ];
        args.extend_from_slice(extra);
        cse(&args)
    };
    rewrap(&[]).fails(2, &["authenticated object", "--auth-out"]);
    assert!(!meta2.exists());
    rewrap(&["--auth", s(&o.tags), "--auth-out", s(&tags2)]).ok();
    let old = std::fs::read(&o.tags).unwrap();
    let new = std::fs::read(&tags2).unwrap();
    assert_eq!(old.len(), new.len());
    assert_ne!(old[80..96], new[80..96], "the wrapping tag changed");
    assert_eq!(old[..80], new[..80]);
    assert_eq!(
        old[96..],
        new[96..],
        "binding, signature and chunk tags are kept"
    );

    let out = d.join("o2.out");
    let open_new = |tags: &Path, out: &Path| {
        cse(&[
            "decrypt",
            "--private-key",
            s(&new_private),
            "--meta",
            s(&meta2),
            "--in",
            s(&o.cipher),
            "--out",
            s(out),
            "--auth",
            s(tags),
            "--trust",
            s(&writer_pub),
        ])
    };
    open_new(&tags2, &out).ok();
    assert_eq!(std::fs::read(&out).unwrap(), o.plain);
    let stale = d.join("stale.out");
    refused(open_new(&o.tags, &stale), &stale, &["wrapping tag failed"]);
}

#[test]
fn a_truncated_stream_with_a_rewritten_sidecar_fails_whole_and_past_its_end() {
    // Encrypted from standard input: no length header, so only the side-car and the chunks'
    // last flags say where the object ends (design doc, section 10.4).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = plaintext(LEN);
    let (_, public) = test_keys();
    let (cipher, meta, tags) = (d.join("s.enc"), d.join("s.meta.json"), d.join("s.tags"));
    cse_with_stdin(
        &[
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            "-",
            "--out",
            s(&cipher),
            "--meta-out",
            s(&meta),
            "--authenticate",
            "--auth-out",
            s(&tags),
            "--auth-chunk-size",
            "64KiB",
        ],
        &plain,
    )
    .ok();
    assert!(!read_meta(&meta).contains_key(&format!("{P}unencrypted-content-length")));
    // The attacker cuts the object to two whole chunks and rewrites the side-car to match:
    // length and count in the header, the tags of the dropped chunks gone. The final tag it
    // cannot recompute.
    let cut = 2 * CS;
    let mut data = std::fs::read(&cipher).unwrap();
    data.truncate(cut);
    std::fs::write(&cipher, &data).unwrap();
    let mut side = std::fs::read(&tags).unwrap();
    side[16..24].copy_from_slice(&(cut as u64).to_be_bytes());
    side[24..32].copy_from_slice(&2u64.to_be_bytes());
    side.truncate(208 + 2 * 16);
    std::fs::write(&tags, &side).unwrap();
    let o = Object {
        plain,
        cipher,
        meta,
        tags,
    };
    let (run, out) = open(d, &o, "whole.out", &[]);
    refused(run, &out, &["final tag failed"]);
    // Past the new end: the last chunk is checked before the range is called unsatisfiable,
    // and it was not the last chunk when it was tagged.
    let (run, out) = open(d, &o, "past.out", &["--range", "bytes=200000-"]);
    refused(run, &out, &["chunk 1 failed its tag"]);
    let (run, out) = open(d, &o, "suffix.out", &["--range", "bytes=-10"]);
    refused(run, &out, &["chunk 1 failed its tag"]);
    // Bytes before the cut are genuine, and a read of them succeeds.
    let (run, out) = open(d, &o, "head.out", &["--range", "bytes=0-99"]);
    run.ok();
    assert_eq!(std::fs::read(out).unwrap(), &o.plain[..100]);
}

#[test]
fn side_car_paths_are_checked_like_every_other_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = plaintext(1000);
    let input = d.join("p");
    std::fs::write(&input, &plain).unwrap();
    let (_, public) = test_keys();
    let meta = d.join("m.json");
    let enc = |auth_out: &str, extra: &[&str]| {
        let mut args = vec![
            "encrypt",
            "--public-key",
            s(&public),
            "--in",
            s(&input),
            "--out",
            "/dev/null",
            "--meta-out",
            s(&meta),
            "--authenticate",
            "--auth-out",
            auth_out,
        ];
        args.extend_from_slice(extra);
        cse(&args)
    };
    enc(s(&meta), &["--force"]).fails(2, &["--auth-out", "--meta-out"]);
    enc(s(&input), &["--force"]).fails(2, &["--auth-out", "--in"]);
    enc("-", &[]).fails(2, &["--auth-out must be a file"]);
    assert_eq!(std::fs::read(&input).unwrap(), plain);
    // A side-car with a byte after its tags is refused.
    let o = authenticated(d, "t", 1000, &[]);
    let mut side = std::fs::read(&o.tags).unwrap();
    side.push(0);
    std::fs::write(&o.tags, &side).unwrap();
    let (run, out) = open(d, &o, "t.out", &["--range", "bytes=0-9"]);
    refused(run, &out, &["bytes follow its last tag"]);
    // --out naming the side-car is refused before anything is read.
    let run = decrypt(
        &o.meta,
        &o.cipher,
        &o.tags,
        &["--auth", s(&o.tags), "--force"],
    );
    run.fails(2, &["--out", "--auth"]);
    assert_eq!(std::fs::read(&o.tags).unwrap(), side);
}

#[test]
fn inspect_reports_authentication_and_checks_the_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = authenticated(d, "i", 1000, &[]);
    let (private, _) = test_keys();
    let run = cse(&["inspect", "--meta", s(&o.meta)]).ok();
    assert!(
        run.stdout_text()
            .contains("authentication: version 1, chunks of 65536 bytes")
    );
    let run = cse(&[
        "inspect",
        "--meta",
        s(&o.meta),
        "--private-key",
        s(&private),
    ])
    .ok();
    assert!(run.stdout_text().contains("key commitment: matches"));
    let other = authenticated(d, "j", 1000, &[]);
    let bad = meta_with(d, &o, "i2", |m| {
        let c = read_meta(&other.meta)["x-oss-meta-cse-auth-commitment"].clone();
        m.insert("x-oss-meta-cse-auth-commitment".into(), c);
    });
    let run = cse(&[
        "inspect",
        "--meta",
        s(&bad.meta),
        "--private-key",
        s(&private),
    ]);
    assert!(run.stdout_text().contains("key commitment: does NOT match"));
    run.fails(1, &["commitment check failed"]);
    let (_, plain_meta) = encrypt(d, "n", b"x", &[]);
    let run = cse(&["inspect", "--meta", s(&plain_meta)]).ok();
    assert!(run.stdout_text().contains("authentication: none"));
}

//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`, from this
//! repository's own vectors only: the Python SDK V2 objects in `testvectors/python-v2/` (headers
//! and range cases), the test keys, and envelopes, matdescs and legacy headers built here.
//!
//! Run from anywhere: `cargo run --manifest-path fuzz/Cargo.toml -p cse-fuzz-seeds`.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cse_core::{ByteRange, DEFAULT_PREFIX, Envelope, MatDesc, WRAP_ALG_RSA, plan_range};
use serde_json::Value;

type Seeds = Vec<(String, Vec<u8>)>;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> Vec<u8> {
    let full = repo().join(path);
    fs::read(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// Header pairs in the targets' text format: `name:value` lines.
fn header_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    pairs
        .into_iter()
        .map(|(n, v)| format!("{n}:{v}"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn vectors() -> Vec<Value> {
    let manifest: Value = serde_json::from_slice(&read("testvectors/python-v2/manifest.json"))
        .expect("manifest is JSON");
    manifest["vectors"]
        .as_array()
        .expect("a vector list")
        .clone()
}

fn headers_of(vector: &Value) -> Vec<(String, String)> {
    vector["headers"]
        .as_object()
        .expect("a header object")
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn header_decode(vectors: &[Value]) -> Seeds {
    let mut out = Seeds::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap_or("vector");
        let pairs = headers_of(v);
        let text = header_text(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        out.push((format!("sdk-{name}"), [&[0u8][..], &text].concat()));
        // The same with an explicit prefix line and upper-case names, as Go writes them.
        let upper =
            header_text(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))).to_ascii_uppercase();
        let mut custom = vec![1u8];
        custom.extend_from_slice(DEFAULT_PREFIX.as_bytes());
        custom.push(b'\n');
        custom.extend_from_slice(&upper);
        out.push((format!("sdk-{name}-prefixed"), custom));
    }
    // Envelopes built here: every optional field, and a multipart one.
    let envelope = Envelope::from_wrapped(WRAP_ALG_RSA, r#"{"k":"v"}"#, &[7; 256], &[9; 256])
        .expect("valid")
        .with_unencrypted_content_length(1000)
        .with_unencrypted_content_md5([3; 16]);
    let pairs = envelope.to_headers(DEFAULT_PREFIX).expect("valid prefix");
    let text = header_text(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    out.push(("built-all-fields".into(), [&[0u8][..], &text].concat()));
    let mut multipart = text.clone();
    multipart.extend_from_slice(b"\nx-oss-meta-client-side-encryption-data-size:200007");
    multipart.extend_from_slice(b"\nx-oss-meta-client-side-encryption-part-size:65536");
    out.push(("built-multipart".into(), [&[0u8][..], &multipart].concat()));
    out.push((
        "plain-object".into(),
        b"\0content-type:text/plain\nx-oss-meta-owner:me".to_vec(),
    ));
    out
}

fn matdesc(vectors: &[Value]) -> Seeds {
    let mut out = Seeds::new();
    for v in vectors {
        for (n, value) in headers_of(v) {
            if n.ends_with("-matdesc") {
                out.push((
                    format!("sdk-{}", v["name"].as_str().unwrap_or("v")),
                    value.into_bytes(),
                ));
            }
        }
    }
    let built = [
        MatDesc::new().with("desc", "test key"),
        MatDesc::new().with("a", "b/c").with("k1", "v1"),
        MatDesc::new().with("ключ", "q\"\\\u{1}😀").with("<", ">&"),
    ];
    for (i, m) in built.iter().enumerate() {
        out.push((format!("canonical-{i}"), m.to_canonical().into_bytes()));
    }
    out.push((
        "python-spaces".into(),
        br#"{"k1": "v1", "a": "b/c"}"#.to_vec(),
    ));
    out.push(("empty-object".into(), b"{}".to_vec()));
    out
}

fn pem_body(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64.trim()).expect("PEM body is base64")
}

fn key_load() -> Seeds {
    let mut out = Seeds::new();
    for path in [
        "testvectors/python-v2/rsa2048-private.pem",
        "testvectors/python-v2/rsa2048-public.pem",
        "crates/cse-testkit/keys/test-rsa2048.pem",
        "crates/cse-testkit/keys/test-rsa768.pem",
    ] {
        let pem = read(path);
        let stem = Path::new(path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("key");
        out.push((format!("{stem}-der"), pem_body(&pem)));
        out.push((format!("{stem}-pem"), pem));
    }
    out
}

fn range_plan(vectors: &[Value]) -> Seeds {
    let mut out = Seeds::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap_or("v");
        let len = v["plaintext_len"].as_u64().unwrap_or(0);
        for (i, case) in v["ranges"].as_array().into_iter().flatten().enumerate() {
            let range = case["range"].as_str().unwrap_or_default();
            let status = case["status"].as_u64().unwrap_or(206);
            let mut lines = vec![range.to_owned(), len.to_string(), status.to_string()];
            if let Some(cr) = case["content_range"].as_str() {
                lines.push(cr.to_owned());
            }
            out.push((format!("sdk-{name}-{i}"), lines.join("\n").into_bytes()));
            // What an honest server answers to the block-aligned wire range, length unknown.
            let wire = ByteRange::parse(range)
                .and_then(|r| plan_range(r, None))
                .map(|p| p.wire_range());
            if let Ok((first, last)) = wire.and_then(|w| w.resolve(len)) {
                let answer = format!("{range}\n?\n206\nbytes {first}-{last}/{len}");
                out.push((format!("sdk-{name}-{i}-wire"), answer.into_bytes()));
            }
        }
        out.push((
            format!("sdk-{name}-whole"),
            format!("bytes=0-\n?\n200\n\n{len}").into_bytes(),
        ));
    }
    out.push((
        "not-satisfiable".into(),
        b"bytes=5000-\n?\n416\nbytes */4096".to_vec(),
    ));
    out
}

fn pattern(len: usize, mul: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(mul).wrapping_add(17))
        .collect()
}

fn structured() -> Seeds {
    // The `arbitrary` targets read any bytes; varied lengths and patterns give them a start.
    [(64, 3), (300, 7), (1500, 11), (4096, 13)]
        .into_iter()
        .map(|(len, mul)| (format!("pattern-{len}"), pattern(len, mul)))
        .collect()
}

fn legacy_decode() -> Seeds {
    let wrapped = STANDARD.encode([0x11u8; 256]);
    let mut out = Seeds::new();
    for (name, wrap_alg, cek_alg) in [
        ("rsa", "rsa", "AES/GCM/NoPadding"),
        ("kms", "kms", "AES/GCM/NoPadding"),
        ("rsa-ctr-label", "rsa", "AES/CTR/NoPadding"),
    ] {
        let mut seed = header_text([
            ("x-oss-meta-oss-crypto-key", wrapped.as_str()),
            ("x-oss-meta-oss-crypto-start", wrapped.as_str()),
            ("x-oss-meta-oss-cek-alg", cek_alg),
            ("x-oss-meta-oss-wrap-alg", wrap_alg),
        ]);
        seed.push(0);
        seed.push(32);
        seed.extend_from_slice(&[0x64; 32]);
        seed.extend_from_slice(b"8");
        out.push((format!("legacy-{name}"), seed));
    }
    let mut big = vec![0u8, 32];
    big.extend_from_slice(&[1; 32]);
    big.extend_from_slice(u128::MAX.to_string().as_bytes());
    out.push(("counter-max".into(), big));
    out
}

fn main() {
    let vectors = vectors();
    let corpora: [(&str, Seeds); 7] = [
        ("header_decode", header_decode(&vectors)),
        ("matdesc", matdesc(&vectors)),
        ("key_load", key_load()),
        ("range_plan", range_plan(&vectors)),
        ("open_chunks", structured()),
        ("multipart_ops", structured()),
        ("legacy_decode", legacy_decode()),
    ];
    for (target, seeds) in corpora {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus")
            .join(target);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        for (name, bytes) in &seeds {
            let path = dir.join(format!("seed-{name}"));
            fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        println!("{target}: {} seeds", seeds.len());
    }
}

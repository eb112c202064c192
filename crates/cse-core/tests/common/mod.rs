//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};

use cse_core::{ByteRange, ContentKey, ContentMaterial, CounterBlock, RangeResponse};
pub use cse_testkit::headers::as_refs;
pub use cse_testkit::keystream::{copy, seal_all, sealed};

/// The OS RNG as the `CryptoRng` the engine takes.
pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// Wraps `plaintext` with `master` into an owned value.
pub fn wrap(
    master: &dyn cse_core::MasterCipher,
    plaintext: &[u8],
    rng: &mut dyn rand_core::CryptoRng,
) -> Vec<u8> {
    let mut out = [0u8; cse_core::MAX_WRAPPED_LEN];
    let n = master.wrap(plaintext, &mut out, rng).unwrap();
    out[..n].to_vec()
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim()).unwrap()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

pub fn material(key: &[u8], counter: &[u8]) -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes(key.try_into().unwrap()),
        CounterBlock::from_bytes(counter.try_into().unwrap()),
    )
}

/// The repository's `testvectors/` directory.
pub fn testvectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testvectors")
}

/// `../shared/oss-cse-kat` beside the checkout, or `None` with a printed reason.
pub fn shared_kat() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/oss-cse-kat");
    if dir.join("example.jpg").is_file() {
        Some(dir)
    } else {
        println!(
            "SKIP: {} is absent (a fresh clone without ../shared); the SDK known-answer vectors were not checked",
            dir.display()
        );
        None
    }
}

/// Reads a `.meta.json` / manifest header object as (name, value) pairs.
pub fn header_pairs(value: &serde_json::Value) -> Vec<(String, String)> {
    value
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect()
}

/// What OSS answers to `wire` with `x-oss-range-behavior: standard`: 206 with the clamped range,
/// or 416, as the test kit's RFC 9110 resolver (not the engine's) reads it. Returns the response
/// and the body it carries.
pub fn serve(wire: ByteRange, object: &[u8]) -> (RangeResponse, &[u8]) {
    let len = object.len() as u64;
    match cse_testkit::range::resolve_range(wire, len) {
        Some((first, last)) => (
            RangeResponse::Partial(cse_core::ContentRange {
                first,
                last,
                total: len,
            }),
            &object[first as usize..=last as usize],
        ),
        None => (RangeResponse::NotSatisfiable { len: Some(len) }, &[]),
    }
}

/// Splits `data` at the given cut lengths (cycled), for any-chunking tests.
pub fn chunks<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    cse_testkit::chunks::Cuts::Cycle(cuts).apply(data)
}

/// Records `name = value` blocks separated by blank lines; `#` starts a comment line.
pub fn records(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut out = vec![];
    let mut cur = std::collections::BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (k, v) = line.split_once('=').unwrap();
        cur.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

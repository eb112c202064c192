//! The engine calls behind the exports, on the host, with stand-in imports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;

use crate::api;
use crate::host;
use crate::table::State;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/python-v2")
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(vectors().join("manifest.json")).unwrap()).unwrap()
}

fn vector(name: &str) -> serde_json::Value {
    manifest()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

fn buffer(state: &mut State, bytes: &[u8]) -> u32 {
    let h = api::buffer_new(state, u32::try_from(bytes.len()).unwrap()).unwrap();
    assert!(!api::buffer_ptr(state, h).unwrap().is_null());
    // The test writes through the table, as JavaScript writes through memory.
    if let Some(crate::table::Item::Buffer(b)) = state.table.get_mut(h) {
        b.copy_from_slice(bytes);
    }
    h
}

fn headers_text(v: &serde_json::Value) -> String {
    v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, value)| format!("{n}: {}\n", value.as_str().unwrap()))
        .collect()
}

/// A test's random source: a xorshift stream, deterministic but never repeating a draw (RSA
/// blinding draws until it finds an invertible factor, so a source that repeats itself could
/// loop forever).
fn test_random() {
    let state = std::cell::Cell::new(0x9E37_79B9_7F4A_7C15_u64);
    host::set_random(move |buf| {
        for b in buf.iter_mut() {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            state.set(x);
            *b = x.to_le_bytes()[0];
        }
        true
    });
}

fn open_whole(state: &mut State, v: &serde_json::Value, key: u32) -> api::Result<Vec<u8>> {
    let text = headers_text(v);
    let h = buffer(state, text.as_bytes());
    let env = api::envelope_decode(state, h)?;
    let material = api::envelope_open(state, env, key)?;
    let opener = api::opener_whole(state, env, material)?;
    let stored = std::fs::read(vectors().join(v["ciphertext"].as_str().unwrap())).unwrap();
    let buf = buffer(state, &stored);
    let at = api::opener_update(state, opener, buf, 0, u32::try_from(stored.len()).unwrap())?;
    api::opener_finish(state, opener)?;
    let Some(crate::table::Item::Buffer(b)) = state.table.get(buf) else {
        panic!("the buffer")
    };
    let at = usize::try_from(at).unwrap();
    let delivered = usize::try_from(state.delivered).unwrap();
    Ok(b[at..at + delivered].to_vec())
}

fn rsa_key(state: &mut State) -> u32 {
    let pem = std::fs::read(vectors().join("rsa2048-private.pem")).unwrap();
    let h = buffer(state, &pem);
    api::key_rsa_pem(state, h).unwrap()
}

#[test]
fn an_sdk_vector_opens_with_an_rsa_key_and_with_a_callback_key() {
    test_random();
    let mut state = State::default();
    let v = vector("put-4096");
    let expected: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let key = rsa_key(&mut state);
    assert_eq!(open_whole(&mut state, &v, key).unwrap(), expected);

    // The callback: every header value, base64-decoded, mapped to what the SDK recorded; the
    // length asked for says whether it is the key or the counter block.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).ok();
    let wrapped: Vec<Vec<u8>> = v["headers"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|value| b64(value.as_str().unwrap()))
        .collect();
    let cek = hex::decode(v["cek_hex"].as_str().unwrap()).unwrap();
    let iv = hex::decode(v["iv_hex"].as_str().unwrap()).unwrap();
    host::set_unwrap(move |ctx, given, out| {
        assert_eq!(ctx, 77);
        let plain = match out.len() {
            32 => &cek,
            16 => &iv,
            _ => return false,
        };
        if !wrapped.iter().any(|w| w == given) {
            return false;
        }
        out.copy_from_slice(plain);
        true
    });
    let headers = buffer(&mut state, headers_text(&v).as_bytes());
    let env = api::envelope_decode(&mut state, headers).unwrap();
    let wrap_alg = api::envelope_wrap_alg(&state, env).unwrap();
    let alg = buffer(&mut state, wrap_alg.as_bytes());
    let callback = api::key_callback(&mut state, 77, alg, 0).unwrap();
    assert_eq!(open_whole(&mut state, &v, callback).unwrap(), expected);

    // A refusing callback fails as a wrong key does: one message.
    host::set_unwrap(|_, _, _| false);
    let refused = open_whole(&mut state, &v, callback).unwrap_err();
    let other_pem = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cse-testkit/keys/test-rsa2048.pem"),
    )
    .unwrap();
    let h = buffer(&mut state, &other_pem);
    let other = api::key_rsa_pem(&mut state, h).unwrap();
    assert_eq!(open_whole(&mut state, &v, other).unwrap_err(), refused);
    assert!(!refused.0.is_empty());
}

/// With a failing random source the call fails, and ends: rsa's rejection loops (non-zero
/// padding bytes, an invertible blinding factor) spun forever on the zeros that once stood in
/// for a failed draw.
#[test]
fn a_failing_random_source_fails_the_open_and_does_not_hang() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        host::set_random(|_| false);
        let mut state = State::default();
        let key = rsa_key(&mut state);
        let result = open_whole(&mut state, &vector("put-16"), key);
        let _ = tx.send(result);
    });
    let result = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the open returned");
    let e = result.unwrap_err();
    assert!(e.0.contains("random source failed"), "{e}");
}

#[test]
fn handles_are_checked_and_never_reused() {
    let mut state = State::default();
    let a = api::buffer_new(&mut state, 4).unwrap();
    api::free(&mut state, a).unwrap();
    assert!(
        api::free(&mut state, a)
            .unwrap_err()
            .0
            .contains("not a live handle")
    );
    let b = api::buffer_new(&mut state, 4).unwrap();
    assert_ne!(a, b, "a freed handle is not handed out again");
    let e = api::opener_finish(&mut state, b).unwrap_err();
    assert!(e.0.contains("is a buffer, not an opener"), "{e}");
    // A failed finish on the wrong kind leaves the object in place.
    assert_eq!(api::buffer_len(&state, b).unwrap(), 4);
    let e = api::opener_update(&mut state, b, b, 0, 4).unwrap_err();
    assert!(e.0.contains("same handle"), "{e}");
    assert!(api::length(-2.0, "len").unwrap_err().0.contains("len: -2"));
    assert!(api::length(0.5, "len").is_err());
    assert_eq!(api::length(-1.0, "len").unwrap(), None);
    assert_eq!(api::length(4096.0, "len").unwrap(), Some(4096));
}

#[test]
fn header_lines_that_are_not_headers_are_refused() {
    let mut state = State::default();
    let h = buffer(&mut state, b"no colon here\n");
    let e = api::envelope_decode(&mut state, h).unwrap_err();
    assert!(e.0.contains("line 1 has no ':'"), "{e}");
    let h = buffer(&mut state, b"content-type: text/plain\n");
    assert!(api::envelope_decode(&mut state, h).is_err());
}

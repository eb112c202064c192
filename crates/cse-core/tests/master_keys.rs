//! Custom master keys, the sans-IO path for a network key (KMS), the keyring, and threads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use cse_core::*;
use rand_core::CryptoRng;

/// A toy keyed transform standing in for a key service: `out = nonce || (in XOR H(secret, nonce))`.
/// Not a cipher anyone should use; it only has to be a different, keyed, length-revealing wrap.
struct ToyKeyService {
    secret: [u8; 32],
}

impl ToyKeyService {
    fn pad(&self, nonce: &[u8], len: usize) -> Vec<u8> {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.secret);
        h.update(nonce);
        h.finalize().iter().cycle().take(len).copied().collect()
    }
    fn seal(&self, data: &[u8], rng: &mut dyn CryptoRng) -> Vec<u8> {
        let mut nonce = [0u8; 8];
        rng.fill_bytes(&mut nonce);
        let pad = self.pad(&nonce, data.len());
        nonce
            .iter()
            .copied()
            .chain(data.iter().zip(pad).map(|(d, p)| d ^ p))
            .collect()
    }
    fn open(&self, blob: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = blob.split_at_checked(8)?;
        Some(
            body.iter()
                .zip(self.pad(nonce, body.len()))
                .map(|(d, p)| d ^ p)
                .collect(),
        )
    }
}

/// A custom synchronous master key, the way a user brings their own.
struct ToyMasterCipher(ToyKeyService, String);

impl MasterCipher for ToyMasterCipher {
    fn wrap_alg(&self) -> &str {
        "TOY/XOR"
    }
    fn matdesc(&self) -> &str {
        &self.1
    }
    fn wrap(&self, plaintext: &[u8], out: &mut [u8], rng: &mut dyn CryptoRng) -> Result<usize> {
        let sealed = self.0.seal(plaintext, rng);
        out.get_mut(..sealed.len())
            .ok_or(Error::BufferTooSmall {
                required: sealed.len(),
            })?
            .copy_from_slice(&sealed);
        Ok(sealed.len())
    }
    fn unwrap(&self, wrapped: &[u8], out: &mut [u8], _rng: &mut dyn CryptoRng) -> Result<()> {
        let plain = self.0.open(wrapped).ok_or(Error::Unwrap)?;
        if plain.len() != out.len() {
            return Err(Error::Unwrap);
        }
        out.copy_from_slice(&plain);
        Ok(())
    }
}

#[test]
fn a_custom_master_cipher_round_trips_through_headers() {
    let mut rng = rng();
    let master = ToyMasterCipher(
        ToyKeyService { secret: [3; 32] },
        r#"{"owner":"toy"}"#.into(),
    );
    let m = ContentMaterial::generate(&mut rng);
    let headers = Envelope::seal(&m, &master, &mut rng)
        .unwrap()
        .to_headers(DEFAULT_PREFIX)
        .unwrap();
    assert!(headers.contains(&(
        "x-oss-meta-client-side-encryption-wrap-alg".into(),
        "TOY/XOR".into()
    )));
    assert!(headers.contains(&(
        "x-oss-meta-client-side-encryption-matdesc".into(),
        r#"{"owner":"toy"}"#.into()
    )));
    let env = decode_envelope(as_refs(&headers), &DecodeOptions::strict())
        .unwrap()
        .unwrap();
    assert_eq!(env.open(&master, &mut rng).unwrap(), m);
    let wrong = ToyMasterCipher(ToyKeyService { secret: [4; 32] }, String::new());
    // A wrong toy key yields the right lengths but garbage; the engine cannot tell, and the
    // material differs. Only a length or padding failure is detectable, as for RSA.
    assert_ne!(env.open(&wrong, &mut rng).unwrap(), m);
}

#[test]
fn a_network_key_goes_through_the_sans_io_path() {
    // A stand-in for KMS Encrypt/Decrypt: Plaintext is base64 of the raw bytes, and the header
    // holds the CiphertextBlob string, itself base64 (oss-cse-format §4.3).
    let kms = ToyKeyService { secret: [9; 32] };
    let kms_encrypt = |plaintext_b64: &str, rng: &mut dyn CryptoRng| {
        B64.encode(kms.seal(plaintext_b64.as_bytes(), rng))
    };
    let kms_decrypt =
        |blob: &str| String::from_utf8(kms.open(&B64.decode(blob).unwrap()).unwrap()).unwrap();

    let mut rng = rng();
    let m = ContentMaterial::generate(&mut rng);
    // Write: the engine hands out the raw material; the caller wraps it with IO.
    let key_blob = kms_encrypt(&B64.encode(m.key().as_bytes()), &mut rng);
    let start_blob = kms_encrypt(&B64.encode(m.counter().as_bytes()), &mut rng);
    let env = Envelope::from_wrapped(
        WRAP_ALG_KMS,
        "",
        &B64.decode(&key_blob).unwrap(),
        &B64.decode(&start_blob).unwrap(),
    )
    .unwrap();
    let headers = env.to_headers(DEFAULT_PREFIX).unwrap();
    assert!(headers.contains(&(
        "x-oss-meta-client-side-encryption-key".into(),
        key_blob.clone()
    )));
    assert!(headers.contains(&(
        "x-oss-meta-client-side-encryption-wrap-alg".into(),
        "KMS/ALICLOUD".into()
    )));

    // Read: the engine hands out the wrapped values; the caller unwraps them with IO.
    let env = decode_envelope(as_refs(&headers), &DecodeOptions::strict())
        .unwrap()
        .unwrap();
    assert_eq!(env.wrap_alg(), WRAP_ALG_KMS);
    let key = B64
        .decode(kms_decrypt(&B64.encode(env.wrapped_key().as_bytes())))
        .unwrap();
    let counter = B64
        .decode(kms_decrypt(&B64.encode(env.wrapped_counter().as_bytes())))
        .unwrap();
    assert_eq!(ContentMaterial::from_unwrapped(&key, &counter).unwrap(), m);
    // The exact-length rule holds on this path too, with the same opaque error.
    assert_eq!(
        ContentMaterial::from_unwrapped(&key[..16], &counter),
        Err(Error::Unwrap)
    );
    assert_eq!(
        ContentMaterial::from_unwrapped(&key, &key),
        Err(Error::Unwrap)
    );
}

fn rsa_key() -> RsaMasterCipher {
    RsaMasterCipher::from_pem(cse_testkit::keys::RSA2048_PEM).unwrap()
}

#[test]
fn the_keyring_matches_matdesc_maps_and_falls_back_to_the_default() {
    let mut rng = rng();
    let toy = |s: u8, md: &str| ToyMasterCipher(ToyKeyService { secret: [s; 32] }, md.into());
    let a = toy(1, r#"{"key":"a"}"#);
    let b_desc = MatDesc::new().with("key", "b").with("env", "prod");
    let b = rsa_key().with_matdesc(&b_desc);
    let m = ContentMaterial::generate(&mut rng);

    // Written by b, with Python's spelling of the same map.
    let mut headers = Envelope::seal(&m, &b, &mut rng)
        .unwrap()
        .to_headers(DEFAULT_PREFIX)
        .unwrap();
    for (k, v) in &mut headers {
        if k.ends_with("matdesc") {
            assert_eq!(v, r#"{"env":"prod","key":"b"}"#);
            *v = r#"{"key": "b", "env": "prod"}"#.into();
        }
    }
    let env = decode_envelope(as_refs(&headers), &DecodeOptions::strict())
        .unwrap()
        .unwrap();
    let ring = Keyring::new(Box::new(a))
        .with(Box::new(toy(2, "")))
        .with(Box::new(b));
    assert_eq!(ring.select(&env).wrap_alg(), WRAP_ALG_RSA);
    assert_eq!(ring.open(&env, &mut rng).unwrap(), m);

    // An object whose matdesc nobody claims is opened with the default key.
    let unknown = toy(1, r#"{"key":"zzz"}"#);
    let env2 = Envelope::seal(&m, &unknown, &mut rng).unwrap();
    assert_eq!(ring.select(&env2).matdesc(), r#"{"key":"a"}"#);
    assert_eq!(ring.open(&env2, &mut rng).unwrap(), m);
    // An object without matdesc picks a key without one, not the default.
    let plain = Envelope::seal(&m, &toy(2, ""), &mut rng).unwrap();
    assert_eq!(ring.select(&plain).matdesc(), "");
    assert_eq!(ring.open(&plain, &mut rng).unwrap(), m);
}

#[test]
fn parts_sealed_on_several_threads_equal_the_single_stream() {
    let mut rng = rng();
    let m = ContentMaterial::generate(&mut rng);
    let env = Envelope::seal(&m, &rsa_key(), &mut rng).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let up = MultipartContext::new(sealed(copy(&m), &env), 4096, data.len() as u64).unwrap();
    let mut out = vec![0u8; data.len()];
    std::thread::scope(|s| {
        let up = &up;
        let mut handles = vec![];
        for (i, (src, dst)) in data
            .chunks(4096)
            .zip(out.chunks_mut(4096))
            .enumerate()
            .rev()
        {
            handles.push(s.spawn(move || {
                let mut sealer = up.part_sealer(i as u32 + 1).unwrap();
                sealer.update(src, dst).unwrap();
                sealer.finish().unwrap();
            }));
        }
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(out, seal_all(&m, &data));
    // Every part was handed out once; none can be sealed again.
    for part in 1..=up.part_count() {
        assert_eq!(
            up.part_sealer(part).unwrap_err(),
            Error::PartAlreadySealed { part }
        );
    }
}

#[test]
fn a_chunk_wholly_before_the_range_is_dropped() {
    // Regression: a chunk ending before the first requested byte once sliced out of bounds.
    let m = material(&[5; 32], &[0; 16]);
    let ct = seal_all(&m, &[1u8; 64]);
    let plan = plan_range(
        ByteRange::Bounded {
            first: 40,
            last: 50,
        },
        Some(64),
    )
    .unwrap();
    let bp = plan
        .on_response(RangeResponse::Partial(ContentRange {
            first: 32,
            last: 50,
            total: 64,
        }))
        .unwrap();
    let mut opener = bp.opener(&m);
    let mut head = ct[32..39].to_vec();
    assert!(opener.update_in_place(&mut head).unwrap().is_empty());
    assert_eq!(opener.update(&ct[39..51], &mut [0u8; 12]).unwrap(), 11);
    assert!(opener.is_done());
    assert_eq!(opener.finish().unwrap(), 11);
}

#[test]
fn envelope_debug_shows_no_material() {
    let mut rng = rng();
    let m = ContentMaterial::generate(&mut rng);
    let env = Envelope::seal(&m, &rsa_key(), &mut rng).unwrap();
    let dbg = format!("{env:?} {m:?} {:?} {:?}", m.key(), m.counter());
    for secret in [
        hex::encode(m.key().as_bytes()),
        hex::encode(m.counter().as_bytes()),
    ] {
        assert!(!dbg.contains(&secret));
    }
    assert!(dbg.contains("<256 bytes>"), "{dbg}");
}

/// Sealing and opening with a random source that fails every draw end (and report the failure
/// through the wrapper): RSA's rejection loops must not spin on the stand-in bytes, as they did
/// on zeros.
#[test]
fn a_failing_random_source_ends_rsa_seal_and_open() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let key = rsa_key();
        let mut failing = FallibleRng::new(|_: &mut [u8]| false);
        let sealed = SealedEnvelope::seal(&key, &mut failing);
        assert!(failing.failed());
        let mut good = rand_core::UnwrapErr(getrandom::SysRng);
        let envelope =
            Envelope::seal(&ContentMaterial::generate(&mut good), &key, &mut good).unwrap();
        let mut failing = FallibleRng::new(|_: &mut [u8]| false);
        let opened = envelope.open(&key, &mut failing);
        assert!(failing.failed());
        let _ = tx.send((sealed.is_ok(), opened.is_ok()));
    });
    // Either outcome is fine (the caller discards it); not returning is the bug.
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("seal and open with a failing source returned");
}

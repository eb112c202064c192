//! Known-answer tests: NIST SP 800-38A, 128-bit carry vectors, the SDK-written objects in
//! `../shared/oss-cse-kat`, and the Python SDK V2 objects in `testvectors/python-v2`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use cse_core::*;

const EXAMPLE_JPG_SHA256: &str = "a2be45fe15e5b84f542a139d0f20bbc57c12ae7dc9e71e9629d85c88a06656a5";

fn ctr_records() -> Vec<std::collections::BTreeMap<String, String>> {
    let mut all = vec![];
    for file in ["nist-sp800-38a-ctr-aes256.txt", "ctr-carry.txt"] {
        let text = std::fs::read_to_string(testvectors().join(file)).unwrap();
        all.extend(records(&text));
    }
    assert_eq!(all.len(), 6, "two NIST records and four carry records");
    all
}

#[test]
fn ctr_vectors_at_every_chunk_length() {
    for r in ctr_records() {
        let m = material(&unhex(&r["key"]), &unhex(&r["counter"]));
        let (pt, ct) = (unhex(&r["plaintext"]), unhex(&r["ciphertext"]));
        for chunk in 1..=64 {
            let mut sealer = Sealer::with_len(&m, pt.len() as u64);
            let mut out = vec![0u8; pt.len()];
            for (i, o) in pt.chunks(chunk).zip(out.chunks_mut(chunk)) {
                assert_eq!(sealer.update(i, o).unwrap(), i.len());
            }
            assert_eq!(sealer.finish().unwrap(), pt.len() as u64);
            assert_eq!(out, ct, "{} seal, chunk {chunk}", r["name"]);

            let mut opener = Opener::with_len(&m, ct.len() as u64);
            let mut buf = ct.clone();
            for c in buf.chunks_mut(chunk) {
                assert_eq!(opener.update_in_place(c).unwrap(), 0..c.len());
            }
            opener.finish().unwrap();
            assert_eq!(buf, pt, "{} open, chunk {chunk}", r["name"]);
        }
    }
}

#[test]
fn ctr_vectors_at_every_seek_offset() {
    for r in ctr_records() {
        let m = material(&unhex(&r["key"]), &unhex(&r["counter"]));
        let (pt, ct) = (unhex(&r["plaintext"]), unhex(&r["ciphertext"]));
        let len = ct.len() as u64;
        for offset in 0..ct.len() {
            let plan = plan_range(
                ByteRange::From {
                    first: offset as u64,
                },
                Some(len),
            )
            .unwrap();
            // The aligned body the plan asks for, and a server that answers from the exact byte.
            for body_start in [offset - offset % 16, offset] {
                let cr = ContentRange {
                    first: body_start as u64,
                    last: len - 1,
                    total: len,
                };
                let body = plan.on_response(RangeResponse::Partial(cr)).unwrap();
                assert_eq!(body.drop_len(), (offset - body_start) as u64);
                let mut out = vec![0u8; ct.len() - offset];
                let mut opener = body.opener(&m);
                let n = opener.update(&ct[body_start..], &mut out).unwrap();
                assert_eq!(opener.finish().unwrap(), n as u64);
                assert_eq!(&out[..n], &pt[offset..], "{} offset {offset}", r["name"]);
            }
        }
    }
}

#[test]
fn counter_block_arithmetic_matches_the_carry_vectors() {
    // Five blocks from ff..fe: the third block's counter wraps to zero.
    let c = CounterBlock::from_bytes(
        unhex("fffffffffffffffffffffffffffffffe")
            .try_into()
            .unwrap(),
    );
    assert_eq!(c.add_blocks(2).as_bytes(), &[0u8; 16]);
    let c = CounterBlock::from_bytes(
        unhex("0001020304050607fffffffffffffffe")
            .try_into()
            .unwrap(),
    );
    assert_eq!(
        hex::encode(c.add_blocks(2).as_bytes()),
        "00010203040506080000000000000000"
    );
}

fn kat_key(dir: &std::path::Path, file: &str) -> RsaMasterCipher {
    RsaMasterCipher::from_pem(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

#[test]
fn sdk_written_objects_unwrap_and_decrypt() {
    let Some(dir) = shared_kat() else { return };
    let expected = std::fs::read(dir.join("example.jpg")).unwrap();
    assert_eq!(sha256_hex(&expected), EXAMPLE_JPG_SHA256);
    let cases = [
        (
            "cpp",
            "3e76c9c13d019b8e0356156a1dd4b285ee682c04659f058324e45d89f79708de",
            "8c3207b09a9bfa6600000000ac1992b4",
        ),
        (
            "go",
            "9ac3ce2ecd271fc9c88f080d05ec40ffa6e4a4d064dd86a5e55a1594a778c878",
            "5649ca0d16946d8100000000e649d194",
        ),
        (
            "python",
            "599c80c52670912ead1752b0f077a2c4fb52216e37ff1a18fe4fde98ece10b7b",
            "10706cb7468cd52e000000008771048a",
        ),
    ];
    let mut rng = rng();
    for key_file in [
        "compat-rsa1024-private-pkcs1.pem",
        "compat-rsa1024-private-pkcs8.pem",
    ] {
        let master = kat_key(&dir, key_file);
        for (who, cek, iv) in cases {
            let meta: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("enc-{who}-example.meta.json"))).unwrap(),
            )
            .unwrap();
            let pairs = header_pairs(&meta);
            let env = decode_envelope(as_refs(&pairs), &DecodeOptions::strict())
                .unwrap()
                .unwrap();
            assert_eq!(env.wrap_alg(), WRAP_ALG_RSA);
            let m = env.open(&master, &mut rng).unwrap();
            assert_eq!(hex::encode(m.key().as_bytes()), cek, "{who} CEK");
            assert_eq!(hex::encode(m.counter().as_bytes()), iv, "{who} IV");
            assert!(m.counter().is_canonical());

            let ct = std::fs::read(dir.join(format!("enc-{who}-example.jpg"))).unwrap();
            let mut pt = ct.clone();
            let mut opener = env.whole_opener(&m);
            for c in pt.chunks_mut(4093) {
                opener.update_in_place(c).unwrap();
            }
            opener.finish().unwrap();
            assert_eq!(sha256_hex(&pt), EXAMPLE_JPG_SHA256, "{who} plaintext");

            for range in [
                "bytes=0-0",
                "bytes=17-4112",
                "bytes=21838-",
                "bytes=-1000",
                "bytes=-999999",
                "bytes=16-31",
            ] {
                let plan = plan_range(ByteRange::parse(range).unwrap(), None).unwrap();
                let (resp, body) = serve(plan.wire_range(), &ct);
                let body_plan = plan.on_response(resp).unwrap();
                let mut out = vec![0u8; body.len()];
                let mut opener = body_plan.opener(&m);
                let n = opener.update(body, &mut out).unwrap();
                opener.finish().unwrap();
                let cr = body_plan.content_range();
                assert_eq!(
                    &out[..n],
                    &expected[cr.first as usize..=cr.last as usize],
                    "{who} {range}"
                );
            }
        }
    }
}

#[test]
fn sdk_test_keys_load_in_every_form() {
    let Some(dir) = shared_kat() else { return };
    let mut rng = rng();
    let private = kat_key(&dir, "compat-rsa1024-private-pkcs1.pem");
    assert_eq!(private.bits(), 1024);
    for public in [
        "compat-rsa1024-public-pkcs1.pem",
        "compat-rsa1024-public-spki.pem",
    ] {
        let public = kat_key(&dir, public);
        assert!(!public.has_private_key());
        let m = ContentMaterial::generate(&mut rng);
        let env = Envelope::seal(&m, &public, &mut rng).unwrap();
        assert_eq!(env.open(&public, &mut rng), Err(Error::MissingPrivateKey));
        assert_eq!(env.open(&private, &mut rng).unwrap(), m);
    }
}

#[cfg(feature = "legacy")]
#[test]
fn deprecated_oss2_objects_decrypt() {
    use base64::Engine as _;
    use cse_core::legacy::*;
    let Some(dir) = shared_kat() else { return };
    let mut rng = rng();
    let master = kat_key(&dir, "compat-rsa1024-private-pkcs1.pem");
    for wrap in ["rsa", "kms"] {
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("deprecated-1MB-a-{wrap}.meta.json"))).unwrap(),
        )
        .unwrap();
        let pairs = header_pairs(&meta);
        assert_eq!(
            decode_envelope(as_refs(&pairs), &DecodeOptions::default()).unwrap(),
            None
        );
        let env = decode_legacy_envelope(as_refs(&pairs), DEFAULT_PREFIX)
            .unwrap()
            .unwrap();
        let m = if wrap == "rsa" {
            assert_eq!(env.wrap(), LegacyWrap::RsaOaepSha1);
            let m = env.open_rsa(&master, &mut rng).unwrap();
            assert_eq!(
                hex::encode(m.key().as_bytes()),
                "6476c3de88ab7ee68798184b436a5c4a1a47a6b69cfceb9c11303f607d43e9a5"
            );
            m
        } else {
            // KMS unwrapping is IO: the vector gives what KMS would return.
            assert_eq!(env.wrap(), LegacyWrap::Kms);
            assert_eq!(env.open_rsa(&master, &mut rng), Err(Error::InvalidWrapAlg));
            let key = base64::engine::general_purpose::STANDARD
                .decode(meta["base64-plain-key"].as_str().unwrap())
                .unwrap();
            legacy_material(&key, meta["plain-start"].as_str().unwrap().as_bytes()).unwrap()
        };
        assert_eq!(
            m.counter().as_bytes(),
            &CounterBlock::from_u128(8).as_bytes().clone()
        );
        let mut data = std::fs::read(dir.join(format!("deprecated-1MB-a-{wrap}.bin"))).unwrap();
        let mut opener = Opener::with_len(&m, 1 << 20);
        opener.update_in_place(&mut data).unwrap();
        opener.finish().unwrap();
        assert!(
            data.len() == 1 << 20 && data.iter().all(|&b| b == b'a'),
            "{wrap}"
        );
    }
}

fn python_plaintext(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn python_sdk_v2_objects_decrypt_whole_and_ranged() {
    let dir = testvectors().join("python-v2");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let master = RsaMasterCipher::from_pem(
        &std::fs::read_to_string(dir.join("rsa2048-private.pem")).unwrap(),
    )
    .unwrap();
    // The matdesc vector's key is found by map equality, whatever the JSON spelling.
    let described = master
        .clone()
        .with_matdesc(&MatDesc::new().with("a", "b/c").with("k1", "v1"));
    let other = RsaMasterCipher::from_pem(cse_testkit::keys::RSA2048_PEM).unwrap();
    let keyring = Keyring::new(Box::new(master))
        .with(Box::new(other))
        .with(Box::new(described));
    let mut rng = rng();
    let vectors = manifest["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 11);
    let mut ranges_checked = 0;
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let len = v["plaintext_len"].as_u64().unwrap();
        let plain = python_plaintext(len);
        assert_eq!(sha256_hex(&plain), v["plaintext_sha256"].as_str().unwrap());
        let ct = std::fs::read(dir.join(v["ciphertext"].as_str().unwrap())).unwrap();
        let pairs = header_pairs(&v["headers"]);
        let env = decode_envelope(as_refs(&pairs), &DecodeOptions::strict())
            .unwrap()
            .unwrap();
        let m = keyring.open(&env, &mut rng).unwrap();
        assert_eq!(
            hex::encode(m.key().as_bytes()),
            v["cek_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(m.counter().as_bytes()),
            v["iv_hex"].as_str().unwrap(),
            "{name}"
        );
        assert!(m.counter().is_canonical(), "{name}");

        let mut pt = ct.clone();
        let mut opener = env.whole_opener(&m);
        opener.update_in_place(&mut pt).unwrap();
        opener.finish().unwrap();
        assert_eq!(
            sha256_hex(&pt),
            v["plaintext_sha256"].as_str().unwrap(),
            "{name}"
        );

        if v["kind"] == "multipart" {
            // Sealing the parts in the SDK's upload order reproduces the SDK's object.
            let sizes = env.multipart().unwrap();
            assert_eq!(sizes.part_size, v["part_size"].as_u64().unwrap());
            assert_eq!(sizes.data_size, Some(len));
            let upload =
                MultipartContext::new(sealed(copy(&m), &env.clone()), sizes.part_size, len)
                    .unwrap();
            let mut ours = vec![0u8; ct.len()];
            for part in v["upload_order"].as_array().unwrap() {
                let part = part.as_u64().unwrap() as u32;
                let mut sealer = upload.part_sealer(part).unwrap();
                let start = (u64::from(part - 1) * sizes.part_size) as usize;
                let end = start + sealer.len() as usize;
                sealer
                    .update(&plain[start..end], &mut ours[start..end])
                    .unwrap();
                sealer.finish().unwrap();
            }
            assert_eq!(ours, ct, "{name}: parts sealed here equal the SDK's");
        }
        if let Some(md5) = v.get("content_md5").and_then(|m| m.as_str()) {
            use base64::Engine as _;
            let want = base64::engine::general_purpose::STANDARD
                .decode(md5)
                .unwrap();
            assert_eq!(
                env.unencrypted_content_md5().unwrap().as_slice(),
                want.as_slice()
            );
            assert_eq!(env.unencrypted_content_length(), Some(len));
        }
        // Re-encoding the decoded envelope gives back exactly the SDK's headers (matdesc aside,
        // which is written canonically).
        let mut again = env.to_headers(DEFAULT_PREFIX).unwrap();
        again.sort();
        let mut stored = pairs.clone();
        stored.sort();
        if v.get("matdesc").is_none() {
            assert_eq!(again, stored, "{name}");
        }

        for case in v["ranges"].as_array().unwrap() {
            let text = case["range"].as_str().unwrap();
            let range = ByteRange::parse(text).unwrap();
            for known in [None, Some(len)] {
                let outcome = plan_range(range, known).and_then(|plan| {
                    let (resp, body) = serve(plan.wire_range(), &ct);
                    let bp = plan.on_response(resp)?;
                    let mut out = vec![0u8; body.len()];
                    let mut opener = bp.opener(&m);
                    let n = opener.update(body, &mut out)?;
                    opener.finish()?;
                    out.truncate(n);
                    Ok((bp.content_range().to_string(), out))
                });
                match case["status"].as_u64().unwrap() {
                    206 => {
                        let (cr, out) = outcome.unwrap();
                        assert_eq!(cr, case["content_range"].as_str().unwrap(), "{name} {text}");
                        assert_eq!(out.len() as u64, case["len"].as_u64().unwrap());
                        assert_eq!(
                            sha256_hex(&out),
                            case["sha256"].as_str().unwrap(),
                            "{name} {text}"
                        );
                    }
                    416 => assert!(
                        matches!(outcome, Err(Error::RangeNotSatisfiable { .. })),
                        "{name} {text}: {outcome:?}"
                    ),
                    s => panic!("unexpected status {s}"),
                }
                ranges_checked += 1;
            }
        }
    }
    assert!(ranges_checked > 100, "{ranges_checked}");
}

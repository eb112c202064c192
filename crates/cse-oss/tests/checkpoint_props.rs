//! Properties of the checkpoint journal: no input makes it panic, and a journal cut at any byte
//! (a crash mid-write) opens to a prefix of what was recorded, never to more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cse_core::{
    ContentKey, ContentMaterial, CounterBlock, Envelope, MultipartContext, PartDigest,
    SealedEnvelope,
};
use cse_oss::UploadCheckpoint;
use proptest::prelude::*;

fn envelope() -> Envelope {
    let material = ContentMaterial::new(
        ContentKey::from_bytes([1; 32]),
        CounterBlock::from_bytes([2; 16]),
    );
    let sealed =
        SealedEnvelope::from_wrapped(material, cse_core::WRAP_ALG_RSA, "", b"key", b"start")
            .unwrap();
    MultipartContext::new(sealed, 32, 100)
        .unwrap()
        .envelope()
        .clone()
}

/// A journal with an upload id, parts 1 and 2 sealed, part 1 uploaded.
fn journal(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("full");
    let c = UploadCheckpoint::create(&path, "bucket", "key", "src", &envelope(), "check").unwrap();
    c.record_initiated("UPLOAD").unwrap();
    c.record_sealed(1, 32, &PartDigest::from_bytes([3; 32]))
        .unwrap();
    c.record_sealed(2, 32, &PartDigest::from_bytes([4; 32]))
        .unwrap();
    c.record_uploaded(1, "\"ETAG1\"").unwrap();
    drop(c);
    std::fs::read(&path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_open_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        std::fs::write(&path, &bytes).unwrap();
        let _ = UploadCheckpoint::open(&path);
    }

    #[test]
    fn a_cut_journal_opens_to_a_prefix_of_it(cut_at in 0usize..2000) {
        let dir = tempfile::tempdir().unwrap();
        let full = journal(dir.path());
        let cut = cut_at.min(full.len());
        let path = dir.path().join("cut");
        std::fs::write(&path, &full[..cut]).unwrap();
        let header_end = full.iter().position(|&b| b == b'\n').unwrap() + 1;
        match UploadCheckpoint::open(&path) {
            Err(e) => prop_assert!(cut < header_end, "cut at {cut}: {e}"),
            Ok(c) => {
                prop_assert!(cut >= header_end);
                let state = c.state();
                // Only whole records count, and only records that were written.
                let whole = &full[..cut];
                let lines = whole.iter().filter(|&&b| b == b'\n').count();
                prop_assert_eq!(state.upload_id.is_some(), lines >= 2);
                prop_assert_eq!(state.parts.contains_key(&1), lines >= 3);
                prop_assert_eq!(state.parts.contains_key(&2), lines >= 4);
                prop_assert_eq!(
                    state.parts.get(&1).and_then(|r| r.etag.clone()).is_some(),
                    lines >= 5
                );
                prop_assert!(state.parts.keys().all(|n| *n == 1 || *n == 2));
                // What is left on disk ends on a record boundary.
                let after = std::fs::read(&path).unwrap();
                prop_assert!(after.is_empty() || after.ends_with(b"\n"));
            }
        }
    }
}

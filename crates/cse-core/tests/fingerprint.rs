//! Streaming a part twice: a resend releases only chunks equal to the first send's, and the
//! streamed digest is the one-shot digest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use cse_core::{
    Envelope, Error, FINGERPRINT_CHUNK_LEN, MultipartContext, PartDigest, PartFingerprint,
    StreamError,
};
use proptest::prelude::*;

const CHUNK: usize = FINGERPRINT_CHUNK_LEN;
/// Three and a bit chunks, so a part has whole chunks and a short one.
const PART: u64 = 3 * CHUNK as u64 + 4096;
const DATA: u64 = 2 * PART + 1000;

fn context() -> MultipartContext {
    let material = common::material(&[7; 32], &[9; 16]);
    let envelope = Envelope::from_wrapped("test", "", b"k", b"s").unwrap();
    MultipartContext::new(common::sealed(material, &envelope), PART, DATA).unwrap()
}

fn plaintext(part: u32, len: u64) -> Vec<u8> {
    (0..len).map(|i| (i as u8) ^ (part as u8) ^ 0x5a).collect()
}

/// The ciphertext a plain part sealer produces, from a second context with the same material.
fn reference(part: u32, plain: &[u8]) -> Vec<u8> {
    let ctx = context();
    let mut out = plain.to_vec();
    let mut sealer = ctx.part_sealer(part).unwrap();
    sealer.update_in_place(&mut out).unwrap();
    sealer.finish().unwrap();
    out
}

/// Streams `plain` through a tracked sealer in pieces of `pieces[i]` chunks, stopping (as a
/// failed send) after `stop_after` pieces when given. Returns the released bytes and the
/// fingerprint left behind.
fn send(
    ctx: &MultipartContext,
    part: u32,
    plain: &[u8],
    from: Option<PartFingerprint>,
    pieces: &[usize],
    stop_after: Option<usize>,
) -> Result<(Vec<u8>, PartFingerprint), StreamError> {
    let mut sealer = ctx.tracked_part_sealer(part, from).unwrap();
    let mut released = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < plain.len() {
        if stop_after == Some(i) {
            return Ok((released, sealer.into_fingerprint()));
        }
        let n = (pieces[i % pieces.len()].max(1) * CHUNK).min(plain.len() - at);
        let mut buf = plain[at..at + n].to_vec();
        let kept = sealer.update_in_place(&mut buf)?;
        released.extend_from_slice(&buf[kept]);
        at += n;
        i += 1;
    }
    Ok((released, sealer.finish()?))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any piece sizes, any part: the same ciphertext as a plain part sealer, a complete
    /// fingerprint whose digest is the one-shot digest and the fingerprinter's.
    #[test]
    fn a_tracked_send_is_the_plain_seal(part in 1u32..=3, pieces in prop::collection::vec(1usize..4, 1..4), feed in 1usize..9000) {
        let ctx = context();
        let plain = plaintext(part, ctx.part_len(part).unwrap());
        let (released, fingerprint) = send(&ctx, part, &plain, None, &pieces, None).unwrap();
        let want = reference(part, &plain);
        prop_assert_eq!(&released, &want);
        prop_assert!(fingerprint.is_complete());
        prop_assert_eq!(fingerprint.digest(), Some(PartDigest::of(&want)));
        let mut fp = ctx.part_fingerprinter(part).unwrap();
        for piece in plain.chunks(feed) {
            fp.update(piece).unwrap();
        }
        prop_assert_eq!(fp.finish().unwrap().digest(), fingerprint.digest());
    }

    /// A send that stopped after some pieces, resent from a changed plaintext: the resend
    /// fails on the first changed chunk the first send released, and releases nothing of it;
    /// a change only beyond what was released goes through (those bytes never left).
    #[test]
    fn a_resend_releases_only_what_matches(stop in 1usize..4, flip in 0usize..(PART as usize)) {
        let ctx = context();
        let plain = plaintext(1, PART);
        let (first, partial) = send(&ctx, 1, &plain, None, &[1], Some(stop)).unwrap();
        prop_assert_eq!(first.len(), stop * CHUNK);
        let mut changed = plain.clone();
        changed[flip] ^= 1;
        let result = send(&ctx, 1, &changed, Some(partial), &[1], None);
        if flip < first.len() {
            prop_assert_eq!(result.unwrap_err(), StreamError::PartChanged { part: 1 });
        } else {
            let (released, fingerprint) = result.unwrap();
            prop_assert_eq!(&released[..first.len()], &first[..]);
            prop_assert_eq!(fingerprint.digest(), Some(PartDigest::of(&reference(1, &changed))));
        }
    }
}

#[test]
fn a_resend_of_the_same_plaintext_is_the_same_ciphertext() {
    let ctx = context();
    let plain = plaintext(2, PART);
    let (first, fingerprint) = send(&ctx, 2, &plain, None, &[2], None).unwrap();
    let digest = fingerprint.digest();
    let (again, after) = send(&ctx, 2, &plain, Some(fingerprint), &[1, 3], None).unwrap();
    assert_eq!(first, again);
    assert_eq!(after.digest(), digest);
}

#[test]
fn a_changed_chunk_is_zeroed_and_the_sealer_stays_refused() {
    let ctx = context();
    let plain = plaintext(1, PART);
    let (_, fingerprint) = send(&ctx, 1, &plain, None, &[1], None).unwrap();
    let mut sealer = ctx.tracked_part_sealer(1, Some(fingerprint)).unwrap();
    let mut buf = plain[..CHUNK].to_vec();
    buf[10] ^= 0xff;
    assert_eq!(
        sealer.update_in_place(&mut buf),
        Err(StreamError::PartChanged { part: 1 })
    );
    assert!(buf.iter().all(|&b| b == 0), "the refused chunk is zeroed");
    let mut next = plain[CHUNK..2 * CHUNK].to_vec();
    assert_eq!(
        sealer.update_in_place(&mut next),
        Err(StreamError::PartChanged { part: 1 })
    );
}

#[test]
fn pieces_must_end_on_a_chunk_boundary() {
    let ctx = context();
    let mut sealer = ctx.tracked_part_sealer(1, None).unwrap();
    let mut buf = vec![0u8; CHUNK + 1];
    assert_eq!(
        sealer.update_in_place(&mut buf),
        Err(StreamError::ChunkBoundary {
            part: 1,
            end: CHUNK as u64 + 1
        })
    );
    assert!(buf.iter().all(|&b| b == 0), "nothing was consumed");
    // The state is unchanged: the whole part still goes through.
    let mut whole = vec![0u8; PART as usize];
    sealer.update_in_place(&mut whole).unwrap();
    assert_eq!(
        sealer.finish().unwrap().digest(),
        Some(PartDigest::of(&whole))
    );
    // And the error converts to the engine's error of the same name.
    assert_eq!(
        Error::from(StreamError::ChunkBoundary { part: 1, end: 3 }),
        Error::ChunkBoundary { part: 1, end: 3 }
    );
}

#[test]
fn a_first_send_claims_the_part_number() {
    let ctx = context();
    let _first = ctx.tracked_part_sealer(3, None).unwrap();
    assert_eq!(
        ctx.tracked_part_sealer(3, None).unwrap_err(),
        Error::PartAlreadySealed { part: 3 }
    );
    assert_eq!(
        ctx.part_sealer(3).unwrap_err(),
        Error::PartAlreadySealed { part: 3 }
    );
    assert!(ctx.is_sealed(3));
}

#[test]
fn a_fingerprint_only_serves_its_own_part() {
    let ctx = context();
    let fp = ctx.part_fingerprinter(1).unwrap();
    let mut fp = fp;
    fp.update(&plaintext(1, PART)).unwrap();
    let fingerprint = fp.finish().unwrap();
    assert!(
        !ctx.is_sealed(1),
        "fingerprinting releases nothing and claims nothing"
    );
    assert_eq!(
        ctx.tracked_part_sealer(2, Some(fingerprint)).unwrap_err(),
        Error::WrongFingerprint { part: 2 }
    );
}

#[test]
fn a_short_or_long_part_is_refused() {
    let ctx = context();
    let mut fp = ctx.part_fingerprinter(3).unwrap();
    let len = ctx.part_len(3).unwrap();
    assert_eq!(
        fp.update(&vec![0; len as usize + 1]),
        Err(StreamError::PartLength {
            part: 3,
            expected: len,
            actual: len + 1
        })
    );
    fp.update(&[0; 10]).unwrap();
    assert_eq!(
        fp.finish().unwrap_err(),
        StreamError::PartLength {
            part: 3,
            expected: len,
            actual: 10
        }
    );
}

#[test]
fn the_context_tracks_which_parts_were_uploaded() {
    let ctx = context();
    assert_eq!(ctx.pending_parts().collect::<Vec<_>>(), [1, 2, 3]);
    // Bytes this context never sealed cannot be recorded as its part.
    assert_eq!(ctx.mark_uploaded(2), Err(Error::PartNotSealed { part: 2 }));
    assert_eq!(
        ctx.mark_uploaded(4),
        Err(Error::PartNumberOutOfRange { part: 4, parts: 3 })
    );
    let _sealer = ctx.part_sealer(2).unwrap();
    ctx.mark_uploaded(2).unwrap();
    ctx.mark_uploaded(2).unwrap(); // again: harmless
    assert!(ctx.is_uploaded(2) && !ctx.is_uploaded(1));
    assert_eq!(ctx.pending_parts().collect::<Vec<_>>(), [1, 3]);
    ctx.mark_sealed(1).unwrap();
    ctx.mark_sealed(3).unwrap();
    ctx.mark_uploaded(1).unwrap();
    assert!(!ctx.is_complete());
    ctx.mark_uploaded(3).unwrap();
    assert!(ctx.is_complete());
}

/// A part sealed without tracking (a plain part sealer, or one marked sealed on resume) can be
/// streamed again only against the digest recorded for it, never from a fingerprinter's
/// fingerprint alone: that would release a second plaintext unchecked.
#[test]
fn a_claimed_part_is_resealed_only_against_its_recorded_digest() {
    let ctx = context();
    let plain = plaintext(1, PART);
    let recorded = PartDigest::of(&reference(1, &plain));
    let mut first = plain.clone();
    ctx.part_sealer(1)
        .unwrap()
        .update_in_place(&mut first)
        .unwrap();
    let fingerprint_of = |p: &[u8]| {
        let mut fp = ctx.part_fingerprinter(1).unwrap();
        fp.update(p).unwrap();
        fp.finish().unwrap()
    };
    let mut other = plain.clone();
    other[5] ^= 1;
    assert_eq!(
        ctx.tracked_part_sealer(1, Some(fingerprint_of(&other)))
            .unwrap_err(),
        Error::PartAlreadySealed { part: 1 }
    );
    assert_eq!(
        ctx.tracked_part_resealer(1, fingerprint_of(&other), &recorded)
            .unwrap_err(),
        Error::PartChanged { part: 1 }
    );
    let mut sealer = ctx
        .tracked_part_resealer(1, fingerprint_of(&plain), &recorded)
        .unwrap();
    let mut again = plain.clone();
    for piece in again.chunks_mut(CHUNK) {
        sealer.update_in_place(piece).unwrap();
    }
    assert_eq!(
        again, first,
        "the same ciphertext, the only one that can go"
    );
}

/// A fingerprinter's fingerprint starts a first send of an unclaimed part (the checkpoint
/// records its digest first), and the send then claims the number.
#[test]
fn a_precomputed_fingerprint_starts_a_first_send() {
    let ctx = context();
    let plain = plaintext(2, PART);
    let mut fp = ctx.part_fingerprinter(2).unwrap();
    fp.update(&plain).unwrap();
    let fingerprint = fp.finish().unwrap();
    let (sent, done) = send(&ctx, 2, &plain, Some(fingerprint), &[1], None).unwrap();
    assert_eq!(sent, reference(2, &plain));
    assert_eq!(done.digest(), Some(PartDigest::of(&sent)));
    assert!(ctx.is_sealed(2));
}

/// The digest is what `PartDigest`'s documentation says, computed here with the `blake3` crate
/// directly: BLAKE3 of the concatenated BLAKE3 hashes of the 64 KiB chunks. A checkpoint written
/// by one build must be readable by the next, so a change of this rule must fail here.
#[test]
fn the_part_digest_is_the_documented_two_level_blake3() {
    for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 4096] {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut outer = blake3::Hasher::new();
        for chunk in data.chunks(CHUNK) {
            outer.update(blake3::hash(chunk).as_bytes());
        }
        assert_eq!(
            PartDigest::of(&data).as_bytes(),
            outer.finalize().as_bytes(),
            "{len} bytes"
        );
    }
    // And the empty part's digest is BLAKE3 of nothing, a published value (no chunk at all).
    assert_eq!(
        hex::encode(PartDigest::of(&[]).as_bytes()),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
}

//! Sealing and opening whole objects in any chunking.

use cse_core::{Opener, Sealer, StreamError};

use crate::chunks::Cuts;
use crate::keystream::{material, reference_seal};

/// Runs `make()` twice over `input` cut by `cuts`, once through `update` and once through
/// `update_in_place`; asserts that both deliver the same bytes and end alike, and returns them.
///
/// # Panics
/// When an update fails (the callers only feed bodies within the declared length) or the two
/// entry points disagree.
pub fn open_chunked(
    make: &dyn Fn() -> Opener,
    input: &[u8],
    cuts: Cuts<'_>,
) -> (Vec<u8>, Result<u64, StreamError>) {
    let mut by_copy = make();
    let mut by_place = make();
    let mut copied = Vec::new();
    let mut placed = Vec::new();
    for chunk in cuts.apply(input) {
        let mut out = vec![0u8; chunk.len()];
        let w = by_copy
            .update(chunk, &mut out)
            .expect("within the declared body");
        copied.extend_from_slice(&out[..w]);
        let mut buf = chunk.to_vec();
        let kept = by_place
            .update_in_place(&mut buf)
            .expect("within the declared body");
        placed.extend_from_slice(&buf[kept]);
    }
    assert_eq!(
        copied, placed,
        "update and update_in_place deliver the same bytes"
    );
    let finished = by_copy.finish();
    assert_eq!(finished, by_place.finish());
    (copied, finished)
}

/// How a chunked sealer is fed.
#[derive(Clone, Copy, Debug)]
enum Feed {
    InPlace,
    Copy,
    Alternate,
}

/// Sealing `plain` in any chunking equals the reference keystream, and opening it in any
/// chunking gives `plain` back:
/// - one-shot sealing equals `plain` XOR the `ctr` crate's keystream (and differs from `plain`
///   from 32 bytes on);
/// - a `Sealer::with_len` fed the chunks of `seal` all through `update_in_place`, all through
///   `update`, or alternating, equals the one-shot result and finishes at the length;
/// - an `Opener::with_len` and an `Opener::new` fed the chunks of `open`, each through `update`
///   and `update_in_place`, deliver `plain` and finish at the length;
/// - one byte short is `Truncated`, one byte more is `Extended`.
///
/// # Panics
/// When any of that does not hold.
pub fn seal_and_open(
    key: [u8; 32],
    counter: [u8; 16],
    plain: &[u8],
    seal: Cuts<'_>,
    open: Cuts<'_>,
) {
    let m = material(key, counter);
    let len = plain.len();

    let mut sealed = vec![0u8; len];
    Sealer::new(&m).update(plain, &mut sealed).expect("fits");
    assert_eq!(
        sealed,
        reference_seal(&key, &counter, plain),
        "one-shot sealing equals the reference keystream"
    );
    assert!(
        len < 32 || sealed != plain,
        "ciphertext differs from plaintext"
    );

    for feed in [Feed::InPlace, Feed::Copy, Feed::Alternate] {
        let mut sealer = Sealer::with_len(&m, len as u64);
        let mut chunked = Vec::with_capacity(len);
        for (i, chunk) in seal.apply(plain).into_iter().enumerate() {
            let in_place = match feed {
                Feed::InPlace => true,
                Feed::Copy => false,
                Feed::Alternate => i % 2 == 0,
            };
            let mut buf = chunk.to_vec();
            if in_place {
                sealer.update_in_place(&mut buf).expect("within length");
            } else {
                sealer.update(chunk, &mut buf).expect("within length");
            }
            chunked.extend_from_slice(&buf);
        }
        assert_eq!(sealer.finish(), Ok(len as u64), "{feed:?}");
        assert_eq!(
            chunked, sealed,
            "chunked sealing ({feed:?}) equals one-shot sealing"
        );
    }

    let (opened, done) = open_chunked(&|| Opener::with_len(&m, len as u64), &sealed, open);
    assert_eq!(opened, plain, "Opener::with_len");
    assert_eq!(done, Ok(len as u64));
    let (opened, done) = open_chunked(&|| Opener::new(&m), &sealed, open);
    assert_eq!(opened, plain, "Opener::new");
    assert_eq!(done, Ok(len as u64));
    if len > 0 {
        let (_, done) = open_chunked(
            &|| Opener::with_len(&m, len as u64),
            &sealed[..len - 1],
            open,
        );
        assert_eq!(
            done,
            Err(StreamError::Truncated {
                expected: len as u64,
                actual: len as u64 - 1
            })
        );
    }
    let mut extra = Opener::with_len(&m, len as u64);
    let mut sink = vec![0u8; len + 1];
    assert_eq!(
        extra.update(&vec![0u8; len + 1], &mut sink),
        Err(StreamError::Extended {
            expected: len as u64
        })
    );
}

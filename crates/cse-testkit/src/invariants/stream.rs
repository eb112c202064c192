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

/// Seals `plain` through [`Sealer::split_to`]: the whole object is cut by `cuts` into pieces,
/// each piece taken off the sealer front to back (a piece of a piece, for every other one, so
/// pieces of split pieces are covered too), and the pieces sealed in the order `seed` shuffles
/// them to, half of them in place. Asserts that:
/// - the result equals the reference keystream's ciphertext;
/// - every piece and the sealer finish with the ends they were given;
/// - splitting past the declared length is `Extended` and changes nothing;
/// - a piece refuses a byte beyond its length, and a short piece is `Truncated`.
///
/// # Panics
/// When any of that does not hold.
pub fn seal_split(key: [u8; 32], counter: [u8; 16], plain: &[u8], cuts: Cuts<'_>, seed: u64) {
    let m = material(key, counter);
    let len = plain.len() as u64;
    let mut sealer = Sealer::with_len(&m, len);
    let lengths = cuts.lengths(plain.len());
    let mut pieces = Vec::with_capacity(lengths.len());
    let mut offset = 0usize;
    for (i, &n) in lengths.iter().enumerate() {
        if i % 2 == 1 && n > 1 {
            // A piece of a piece: the front half off a piece of n, then the rest of that piece.
            let mut outer = sealer.split_to(n as u64).expect("within length");
            let inner = outer.split_to((n / 2) as u64).expect("within piece");
            pieces.push((offset, n / 2, inner));
            pieces.push((offset + n / 2, n - n / 2, outer));
        } else {
            pieces.push((offset, n, sealer.split_to(n as u64).expect("within length")));
        }
        offset += n;
    }
    assert_eq!(sealer.position(), len, "the pieces took the whole stream");
    assert_eq!(
        sealer.split_to(1).map(|_| ()),
        Err(StreamError::Extended { expected: len }),
        "no piece past the declared length"
    );
    assert_eq!(sealer.position(), len, "a refused split changes nothing");

    let mut order: Vec<usize> = (0..pieces.len()).collect();
    crate::rng::shuffle(&mut order, seed);
    let mut slots: Vec<Option<(usize, usize, Sealer)>> = pieces.into_iter().map(Some).collect();
    let mut sealed = plain.to_vec();
    for (turn, i) in order.into_iter().enumerate() {
        let (at, n, mut piece) = slots[i].take().expect("each piece once");
        let end = (at + n) as u64;
        let buf = &mut sealed[at..at + n];
        if turn % 2 == 0 {
            piece.update_in_place(buf).expect("within piece");
        } else {
            let input = plain[at..at + n].to_vec();
            piece.update(&input, buf).expect("within piece");
        }
        assert_eq!(
            piece.update_in_place(&mut [0]).map(|_| ()),
            Err(StreamError::Extended { expected: end }),
            "a piece seals no byte past its end"
        );
        assert_eq!(piece.finish(), Ok(end), "a piece ends where it was cut");
    }
    assert_eq!(sealer.finish(), Ok(len), "the sealer ends at the length");
    assert_eq!(
        sealed,
        reference_seal(&key, &counter, plain),
        "split sealing equals the reference keystream"
    );

    if len > 0 {
        let mut sealer = Sealer::with_len(&m, len);
        let short = sealer.split_to(len).expect("within length");
        assert_eq!(
            short.finish(),
            Err(StreamError::Truncated {
                expected: len,
                actual: 0
            }),
            "an unsealed piece is reported"
        );
    }
}
